/* GET /v1/stats/queues (serve_ui_stats.h). */
#include "serve_ui_stats.h"

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
#define QUEUES_MAX 200

struct qstat {
    char name[JOB_QUEUE_MAX + 1];
    unsigned ok[BUCKETS], failed[BUCKETS];
    long long *waits;     /* ms, for the p95 */
    size_t nwaits, capwaits;
};

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static struct qstat *qstat_find(struct qstat *qs, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(qs[i].name, name) == 0)
            return &qs[i];
    if (*n == QUEUES_MAX)
        return NULL;
    struct qstat *q = &qs[(*n)++];
    snprintf(q->name, sizeof q->name, "%s", name);
    return q;
}

static void sample_cb(const struct db_result *res, void *arg)
{
    struct v1 *c = arg;
    if (!res->ok) {
        reply_db_error(c->r, res->error);
        v1_free(c);
        return;
    }
    struct qstat *qs = xcalloc(QUEUES_MAX, sizeof *qs);
    size_t nq = 0, rows = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res->res))) {
        rows++;
        struct qstat *q = qstat_find(qs, &nq, db_row_str(row, 0));
        long long ago = db_row_ll(row, 2);
        if (!q || ago < 0 || ago >= STATS_WINDOW_S)
            continue;
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
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "{\"object\":\"queue_stats\",\"window_s\":%d,\"bucket_s\":%d,\"sampled\":%zu,\"truncated\":%s,\"data\":[",
                STATS_WINDOW_S, STATS_BUCKET_S, rows, rows >= STATS_SAMPLE_MAX ? "true" : "false");
    for (size_t i = 0; i < nq; i++) {
        struct qstat *q = &qs[i];
        sbuf_puts(&b, i ? ",{\"queue\":" : "{\"queue\":");
        sbuf_json_str(&b, q->name);
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
        free(q->waits);
    }
    sbuf_puts(&b, "]}");
    free(qs);
    http_add_header(c->r, "Cache-Control", "no-store");
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
}

static void queue_stats(struct v1 *c)
{
    const char *queue = http_req_query(c->r, "queue");
    if (queue && !job_name_valid(queue, JOB_QUEUE_MAX)) {
        v1_reply_invalid(c, 400, "queue", "queue names are 1-128 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
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
    db_query(c->sj->rt->db, b.data, 0, sample_cb, c);
    sbuf_deinit(&b);
}

V1_ROUTE(queue_stats)

void serve_ui_stats_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/stats/queues", 0, queue_stats_route, sj);
}
