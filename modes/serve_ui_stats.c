/* GET /v1/stats/queues (serve_ui_stats.h). */
#include "serve_ui_stats.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "httpd.h"
#include "job.h"
#include "runtime.h"
#include "serve_v1.h"
#include "sql.h"

#define BUCKETS (STATS_WINDOW_S / STATS_BUCKET_S)

struct qstat {
    char name[JOB_QUEUE_MAX + 1];
    bool paused;
    unsigned ok[BUCKETS], failed[BUCKETS];
    long long *waits;     /* ms, for the p95 */
    size_t nwaits, capwaits;
};

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The index of queue name's entry (added when new), or -1 past STATS_QUEUES_MAX. */
static long qstat_find(struct qstat *qs, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(qs[i].name, name) == 0)
            return (long)i;
    if (*n == STATS_QUEUES_MAX)
        return -1;
    snprintf(qs[*n].name, sizeof qs[*n].name, "%s", name);
    return (long)(*n)++;
}

/* One request across its two reads: the queues, then the hour's sample. */
struct stats_req {
    struct v1 *c;
    struct qstat *qs;
    size_t nq;
};

static void stats_free(struct stats_req *q)
{
    for (size_t i = 0; i < q->nq; i++)
        free(q->qs[i].waits);
    free(q->qs);
    v1_free(q->c);
    free(q);
}

/* The depth snapshot's figures of queue name (serve_queues.c). */
static void depth_json(struct sbuf *b, const struct serve_jobs *sj, uint64_t tenant, const char *name)
{
    long long queued = 0, running = 0, age_us = -1;
    for (size_t i = 0; i < sj->depth_n; i++) {
        const struct depth_row *d = &sj->depth_rows[i];
        if (d->tenant != tenant || strcmp(d->queue, name) != 0)
            continue;
        if (d->state == JOB_QUEUED) {
            queued += d->count;
            if (d->count > 0 && d->age_us > age_us)
                age_us = d->age_us;
        } else {
            running += d->count;
        }
    }
    if (!sj->depth_at_us) {
        sbuf_puts(b, ",\"queued\":null,\"running\":null,\"oldest_queued_age_ms\":null");
        return;
    }
    sbuf_printf(b, ",\"queued\":%lld,\"running\":%lld,\"oldest_queued_age_ms\":", queued, running);
    if (queued > 0 && age_us > 0)
        sbuf_printf(b, "%lld", age_us / 1000);
    else
        sbuf_puts(b, "null");
}

static void sample_cb(const struct db_result *res, void *arg)
{
    struct stats_req *sq = arg;
    struct v1 *c = sq->c;
    if (!res->ok) {
        reply_db_error(c->r, res->error);
        stats_free(sq);
        return;
    }
    struct qstat *qs = sq->qs;
    size_t rows = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res->res))) {
        rows++;
        long qi = qstat_find(qs, &sq->nq, db_row_str(row, 0));
        long long ago = db_row_ll(row, 2);
        if (qi < 0 || ago < 0 || ago >= STATS_WINDOW_S)
            continue;
        struct qstat *q = &qs[qi];
        size_t b = BUCKETS - 1 - (size_t)(ago / STATS_BUCKET_S); /* oldest first */
        int state = (int)db_row_ll(row, 1);
        if (state == JOB_SUCCEEDED)
            q->ok[b]++;
        else if (state == JOB_FAILED)
            q->failed[b]++;
        if (row[3]) {
            if (q->nwaits == q->capwaits) {
                q->capwaits = q->capwaits ? q->capwaits * 2 : 64;
                q->waits = xrealloc(q->waits, q->capwaits * sizeof *q->waits);
            }
            long long w = db_row_ll(row, 3) / 1000;
            q->waits[q->nwaits++] = w < 0 ? 0 : w;
        }
    }
    const struct serve_jobs *sj = c->sj;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "{\"object\":\"queue_stats\",\"window_s\":%d,\"bucket_s\":%d,\"sampled\":%zu,\"truncated\":%s,"
                    "\"depth_age_ms\":",
                STATS_WINDOW_S, STATS_BUCKET_S, rows, rows >= STATS_SAMPLE_MAX ? "true" : "false");
    if (sj->depth_at_us)
        sbuf_printf(&b, "%lld", (long long)(time_real_us() - sj->depth_at_us) / 1000);
    else
        sbuf_puts(&b, "null");
    sbuf_puts(&b, ",\"data\":[");
    for (size_t i = 0; i < sq->nq; i++) {
        struct qstat *q = &qs[i];
        sbuf_puts(&b, i ? ",{\"queue\":" : "{\"queue\":");
        sbuf_json_str(&b, q->name);
        sbuf_printf(&b, ",\"paused\":%s", q->paused ? "true" : "false");
        depth_json(&b, sj, c->tenant, q->name);
        const char *names[2] = {"succeeded", "failed"};
        unsigned *arrs[2] = {q->ok, q->failed};
        for (int k = 0; k < 2; k++) {
            sbuf_printf(&b, ",\"%s\":[", names[k]);
            for (size_t j = 0; j < BUCKETS; j++)
                sbuf_printf(&b, "%s%u", j ? "," : "", arrs[k][j]);
            sbuf_puts(&b, "]");
        }
        if (q->nwaits) {
            qsort(q->waits, q->nwaits, sizeof *q->waits, cmp_ll);
            size_t k = (q->nwaits * 95 + 99) / 100; /* nearest rank */
            sbuf_printf(&b, ",\"wait_p95_ms\":%lld}", q->waits[k ? k - 1 : 0]);
        } else {
            sbuf_puts(&b, ",\"wait_p95_ms\":null}");
        }
    }
    sbuf_puts(&b, "]}");
    http_add_header(c->r, "Cache-Control", "no-store");
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    stats_free(sq);
}

static void sample_read(struct stats_req *sq, const char *queue)
{
    struct v1 *c = sq->c;
    struct sbuf b;
    sbuf_init(&b);
    /* finished_at's index, newest first, bounded: never the whole table */
    sbuf_printf(&b,
                "SELECT queue, state, TIMESTAMPDIFF(SECOND, finished_at, NOW(6)), "
                "TIMESTAMPDIFF(MICROSECOND, run_at, started_at) FROM jobs FORCE INDEX (jobs_finished_at) "
                "WHERE finished_at >= NOW(6) - INTERVAL %d SECOND AND tenant_id = %llu",
                STATS_WINDOW_S, (unsigned long long)c->tenant);
    if (queue) {
        sbuf_puts(&b, " AND queue = ");
        sql_cstr(&b, queue);
    }
    sbuf_printf(&b, " ORDER BY finished_at DESC LIMIT %d", STATS_SAMPLE_MAX);
    db_query(c->sj->rt->db, b.data, 0, sample_cb, sq);
    sbuf_deinit(&b);
}

static void queues_cb(const struct db_result *res, void *arg)
{
    struct stats_req *sq = arg;
    if (!res->ok) {
        reply_db_error(sq->c->r, res->error);
        stats_free(sq);
        return;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res->res))) {
        long qi = qstat_find(sq->qs, &sq->nq, db_row_str(row, 0));
        if (qi >= 0)
            sq->qs[qi].paused = db_row_ll(row, 1) != 0;
    }
    const char *queue = http_req_query(sq->c->r, "queue");
    sample_read(sq, queue);
}

static void queue_stats(struct v1 *c)
{
    const char *queue = http_req_query(c->r, "queue");
    if (queue && !job_name_valid(queue, JOB_QUEUE_MAX)) {
        v1_reply_invalid(c, 400, "queue", "queue names are 1-128 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    struct stats_req *sq = xcalloc(1, sizeof *sq);
    sq->c = c;
    sq->qs = xcalloc(STATS_QUEUES_MAX, sizeof *sq->qs);
    struct sbuf b;
    sbuf_init(&b);
    /* the queues by primary key (tenant_id, name): their names and whether paused */
    sbuf_printf(&b, "SELECT name, paused FROM queues WHERE tenant_id = %llu", (unsigned long long)c->tenant);
    if (queue) {
        sbuf_puts(&b, " AND name = ");
        sql_cstr(&b, queue);
    }
    sbuf_printf(&b, " ORDER BY name LIMIT %d", STATS_QUEUES_MAX);
    db_query(c->sj->rt->db, b.data, 0, queues_cb, sq);
    sbuf_deinit(&b);
}

V1_ROUTE(queue_stats)

void serve_ui_stats_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/stats/queues", 0, queue_stats_route, sj);
}
