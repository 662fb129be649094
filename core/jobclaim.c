#include "jobclaim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

#include "jobfair.h"
#include "log.h"
#include "queuestore.h"
#include "sql.h"

/* What a worker needs of a claimed job, in claimed_job order. */
#define DETAILS                                                                              \
    "id, tenant_id, queue, payload, callback_url, group_key, timeout_ms, backoff_base_ms, "  \
    "backoff_max_ms, attempts, max_attempts, TIMESTAMPDIFF(MICROSECOND, run_at, NOW(6)), " \
    "(SELECT CONCAT_WS(',', paused, IFNULL(rate_max, -1), IFNULL(rate_duration_ms, -1), "   \
    "IFNULL(concurrency, -1), IFNULL(group_concurrency, -1), IFNULL(group_rate_max, -1), "   \
    "IFNULL(group_rate_duration_ms, -1)) FROM queues q "                                     \
    "WHERE q.tenant_id = jobs.tenant_id AND q.name = jobs.queue), kind, key_id"
/* Paused queues are left out by the claim itself, not only by the
 * worker's cache: a pause holds from the moment the API answered. A
 * subquery (unlike a join) takes no lock on the queue row. */
#define NOT_PAUSED                                                                           \
    "NOT EXISTS (SELECT 1 FROM queues q WHERE q.tenant_id = jobs.tenant_id AND "            \
    "q.name = jobs.queue AND q.paused = 1)"

enum claim_step { STEP_BEGIN, STEP_SELECT, STEP_FAIR, STEP_UPDATE, STEP_CURSOR, STEP_DETAILS, STEP_END };

struct claim {
    struct db_pool *db;
    struct db_txn *txn;
    enum claim_step step;
    char worker_id[97];
    char token[33];
    char *exclude;            /* SQL condition excluding paused queues, or NULL */
    char *kinds;              /* SQL condition on the kinds claimed */
    int max;
    long long lease_ms;
    struct jobfair_queue *fair; /* a capped queue, or NULL: every other queue */
    char **skip;              /* fair->skip, owned */
    struct sbuf ids;          /* "1,2,3" */
    struct sbuf cursor_sql;   /* the fair path's new group cursor, or empty */
    struct claimed_job *jobs;
    size_t n;
    bool commit;
    char err[320];
    unsigned err_code;
    jobclaim_cb cb;
    void *arg;
};

void jobclaim_free_jobs(struct claimed_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].payload);
        free(jobs[i].callback_url);
        free(jobs[i].group);
    }
    free(jobs);
}

static void claim_step_cb(const struct db_result *r, void *arg);

static void claim_end(struct claim *c, bool commit, const char *err, unsigned err_code)
{
    c->step = STEP_END;
    c->commit = commit;
    if (err && !c->err[0]) {
        snprintf(c->err, sizeof c->err, "%s", err);
        c->err_code = err_code;
    }
    db_txn_end(c->txn, commit, claim_step_cb, c);
}

static void claim_finish(struct claim *c, const struct db_result *r)
{
    if (!r->ok && !c->err[0]) {
        snprintf(c->err, sizeof c->err, "%s", r->error);
        c->err_code = r->err_code;
    }
    if (c->err[0] || !c->commit) {
        jobclaim_free_jobs(c->jobs, c->n);
        c->jobs = NULL;
        c->n = 0;
    }
    c->cb(c->jobs, c->n, c->err[0] ? c->err : NULL, c->err[0] ? c->err_code : 0, c->arg);
    sbuf_deinit(&c->ids);
    sbuf_deinit(&c->cursor_sql);
    for (size_t i = 0; c->fair && i < c->fair->nskip; i++)
        free(c->skip[i]);
    free(c->skip);
    free(c->fair);
    free(c->exclude);
    free(c->kinds);
    free(c);
}

static void query(struct claim *c, enum claim_step step, struct sbuf *b)
{
    c->step = step;
    db_txn_query(c->txn, b->data, 0, claim_step_cb, c);
    sbuf_deinit(b);
}

/* The jobs are chosen (ids): lease them, or end when there are none. */
static void lease(struct claim *c)
{
    if (!c->ids.len) {
        if (c->cursor_sql.len) { /* the rotation moved past groups with nothing due */
            struct sbuf b;
            sbuf_init(&b);
            sbuf_puts(&b, c->cursor_sql.data);
            sbuf_reset(&c->cursor_sql);
            query(c, STEP_CURSOR, &b);
            return;
        }
        claim_end(c, false, NULL, 0);
        return;
    }
    /* state = queued: the fair path reads without row locks (its queue
     * lock serialises it), so the update itself is the compare-and-set. */
    struct sbuf b;
    sbuf_init(&b);
    /* puts, not printf, on the claim path (musl's printf costs) */
    sbuf_puts(&b, "UPDATE jobs SET state = ");
    sbuf_append_i64(&b, JOB_RUNNING);
    sbuf_puts(&b, ", attempts = attempts + 1, lease_token = '");
    sbuf_puts(&b, c->token);
    sbuf_puts(&b, "', lease_expires_at = TIMESTAMPADD(MICROSECOND, ");
    sbuf_append_i64(&b, (int64_t)(c->lease_ms * 1000));
    sbuf_puts(&b, ", NOW(6)), worker_id = ");
    sql_cstr(&b, c->worker_id);
    sbuf_puts(&b, ", started_at = COALESCE(started_at, NOW(6)) WHERE id IN (");
    sbuf_puts(&b, c->ids.data);
    sbuf_puts(&b, ") AND state = ");
    sbuf_append_i64(&b, JOB_QUEUED);
    query(c, STEP_UPDATE, &b);
}

static void details(struct claim *c)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT " DETAILS " FROM jobs WHERE id IN (");
    sbuf_puts(&b, c->ids.data);
    sbuf_puts(&b, ") AND lease_token = '");
    sbuf_puts(&b, c->token);
    sbuf_putc(&b, '\'');
    query(c, STEP_DETAILS, &b);
}

static void fair_cb(const char *err, unsigned err_code, void *arg)
{
    struct claim *c = arg;
    if (err)
        claim_end(c, false, err, err_code);
    else
        lease(c);
}

/* "paused,rate_max,rate_ms,concurrency,group_concurrency,group_rate_max,
 * group_rate_ms" (-1: not set), or NULL: the queue has no row. */
static void settings_parse(struct queue_row *q, uint64_t tenant, const char *queue, const char *s)
{
    q->tenant = tenant;
    util_strcpy(q->name, sizeof q->name, queue);
    long long v[7] = {0, -1, -1, -1, -1, -1, -1};
    for (int i = 0; s && i < 7; i++) {
        char *end;
        v[i] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
    q->paused = v[0] != 0;
    q->rate_max = v[1];
    q->rate_ms = v[2];
    q->concurrency = v[3];
    q->group_concurrency = v[4];
    q->group_rate_max = v[5];
    q->group_rate_ms = v[6];
}

/* added: 1 when read before the update that counts the attempt. */
static void read_details(struct claim *c, const struct db_result *r, int added)
{
    size_t rows = (size_t)mysql_num_rows(r->res);
    c->jobs = xcalloc(rows ? rows : 1, sizeof *c->jobs);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && c->n < rows) {
        struct claimed_job *j = &c->jobs[c->n++];
        j->id = (uint64_t)db_row_ll(row, 0);
        j->tenant = (uint64_t)db_row_ll(row, 1);
        util_strcpy(j->queue, sizeof j->queue, db_row_str(row, 2));
        j->payload = xstrdup(db_row_str(row, 3));
        j->callback_url = row[4] ? xstrdup(row[4]) : NULL;
        j->group = row[5] ? xstrdup(row[5]) : NULL;
        j->timeout_ms = db_row_ll(row, 6);
        j->backoff_base_ms = db_row_ll(row, 7);
        j->backoff_max_ms = db_row_ll(row, 8);
        j->attempt = (int)db_row_ll(row, 9) + added;
        j->max_attempts = (int)db_row_ll(row, 10);
        j->wait_s = (double)db_row_ll(row, 11) / 1e6;
        settings_parse(&j->settings, j->tenant, j->queue, row[12]);
        int kind = job_kind_parse(row[13]);
        j->kind = kind < 0 ? JOB_HTTP : (enum job_kind)kind; /* only claimed kinds come back */
        j->key_id = row[14] ? (uint64_t)db_row_ll(row, 14) : 0;
        memcpy(j->token, c->token, sizeof j->token);
    }
}

static void claim_step_cb(const struct db_result *r, void *arg)
{
    struct claim *c = arg;
    if (c->step == STEP_END) {
        claim_finish(c, r);
        return;
    }
    if (!r->ok) {
        claim_end(c, false, r->error, r->err_code);
        return;
    }
    struct sbuf b;
    switch (c->step) {
    case STEP_BEGIN:
        if (c->fair) {
            c->step = STEP_FAIR;
            jobfair_select(c->txn, c->fair, c->max, &c->ids, &c->cursor_sql, fair_cb, c);
            break;
        }
        /* The details come with the locking read: no second read after
         * the update (attempt is then attempts + 1). */
        sbuf_init(&b);
        sbuf_puts(&b, "SELECT " DETAILS " FROM jobs WHERE state = ");
        sbuf_append_i64(&b, JOB_QUEUED);
        sbuf_puts(&b, " AND run_at <= NOW(6) AND ");
        sbuf_puts(&b, c->kinds);
        sbuf_puts(&b, " AND " NOT_PAUSED);
        if (c->exclude) {
            sbuf_puts(&b, " AND ");
            sbuf_puts(&b, c->exclude);
        }
        sbuf_puts(&b, " ORDER BY priority DESC, run_at, id LIMIT ");
        sbuf_append_i64(&b, c->max);
        sbuf_puts(&b, " FOR UPDATE SKIP LOCKED");
        query(c, STEP_SELECT, &b);
        break;
    case STEP_SELECT:
        read_details(c, r, 1);
        for (size_t i = 0; i < c->n; i++) {
            if (c->ids.len)
                sbuf_putc(&c->ids, ',');
            sbuf_append_u64(&c->ids, c->jobs[i].id);
        }
        lease(c);
        break;
    case STEP_UPDATE:
        if (!c->fair) { /* read before the update, under lock: all ours */
            claim_end(c, true, NULL, 0);
            break;
        }
        if (c->cursor_sql.len) {
            sbuf_init(&b);
            sbuf_puts(&b, c->cursor_sql.data);
            sbuf_reset(&c->cursor_sql);
            query(c, STEP_CURSOR, &b);
            break;
        }
        details(c);
        break;
    case STEP_CURSOR:
        if (c->ids.len)
            details(c);
        else
            claim_end(c, true, NULL, 0);
        break;
    case STEP_DETAILS:
        read_details(c, r, 0);
        claim_end(c, true, NULL, 0);
        break;
    default:
        break;
    }
}

void jobclaim_kinds_sql(struct sbuf *b, unsigned kinds)
{
    size_t n = 0;
    for (int k = 0; k < JOB_KIND_COUNT; k++) {
        if (!(kinds & (1u << k)))
            continue;
        sbuf_puts(b, n++ ? "," : "kind IN (");
        sql_cstr(b, job_kind_name((enum job_kind)k));
    }
    sbuf_puts(b, n ? ")" : "FALSE");
}

void jobclaim_claim(struct db_pool *db, const char *worker_id, int max, long long lease_ms,
                    unsigned kinds, const char *exclude, const struct jobfair_queue *fair,
                    jobclaim_cb cb, void *arg)
{
    struct claim *c = xcalloc(1, sizeof *c);
    struct sbuf k;
    sbuf_init(&k);
    jobclaim_kinds_sql(&k, kinds);
    c->kinds = sbuf_steal(&k);
    if (fair) {
        c->fair = xcalloc(1, sizeof *c->fair);
        *c->fair = *fair;
        c->skip = xcalloc(fair->nskip + 1, sizeof *c->skip);
        for (size_t i = 0; i < fair->nskip; i++)
            c->skip[i] = xstrdup(fair->skip[i]);
        c->fair->skip = (const char *const *)c->skip;
        c->fair->kinds = c->kinds;
    }
    c->exclude = exclude && *exclude ? xstrdup(exclude) : NULL;
    c->db = db;
    c->max = max;
    c->lease_ms = lease_ms;
    c->cb = cb;
    c->arg = arg;
    snprintf(c->worker_id, sizeof c->worker_id, "%s", worker_id);
    unsigned char rnd[16];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        abort(); /* leases must not collide */
    util_hex(rnd, sizeof rnd, c->token);
    sbuf_init(&c->ids);
    sbuf_init(&c->cursor_sql);
    c->step = STEP_BEGIN;
    c->txn = db_txn_begin(db, 0, claim_step_cb, c);
}

struct queues {
    jobclaim_queues_cb cb;
    void *arg;
};

static void queues_cb(const struct db_result *r, void *arg)
{
    struct queues *q = arg;
    if (!r->ok) {
        q->cb(NULL, 0, r->error, q->arg);
        free(q);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res), i = 0;
    struct queue_row *rows = xcalloc(n ? n : 1, sizeof *rows);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && i < n) {
        rows[i].tenant = (uint64_t)db_row_ll(row, 0);
        snprintf(rows[i].name, sizeof rows[i].name, "%s", db_row_str(row, 1));
        rows[i].paused = db_row_ll(row, 2) != 0;
        rows[i].rate_max = row[3] ? db_row_ll(row, 3) : -1;
        rows[i].rate_ms = row[4] ? db_row_ll(row, 4) : -1;
        rows[i].concurrency = row[5] ? db_row_ll(row, 5) : -1;
        rows[i].group_concurrency = row[6] ? db_row_ll(row, 6) : -1;
        rows[i].group_rate_max = row[7] ? db_row_ll(row, 7) : -1;
        rows[i].group_rate_ms = row[8] ? db_row_ll(row, 8) : -1;
        i++;
    }
    q->cb(rows, i, NULL, q->arg);
    free(rows);
    free(q);
}

void jobclaim_queues(struct db_pool *db, jobclaim_queues_cb cb, void *arg)
{
    /* Read apart from the claim so the claim locks no queue rows. */
    struct queues *q = xcalloc(1, sizeof *q);
    q->cb = cb;
    q->arg = arg;
    db_query(db, "SELECT tenant_id, name, paused, rate_max, rate_duration_ms, concurrency, "
                 "group_concurrency, group_rate_max, group_rate_duration_ms FROM queues "
                 "WHERE paused = 1 OR rate_max IS NOT NULL OR concurrency IS NOT NULL "
                 "OR group_concurrency IS NOT NULL OR group_rate_max IS NOT NULL LIMIT 10000",
             0, queues_cb, q);
}

void jobclaim_callback_sql(struct sbuf *b, const char *ids_sql)
{
    /* Built in SQL so it commits with the outcome it reports. */
    sbuf_printf(b,
                "INSERT INTO jobs (tenant_id, queue, kind, priority, run_at, max_attempts, "
                "backoff_base_ms, backoff_max_ms, timeout_ms, payload) "
                "SELECT tenant_id, '" QUEUESTORE_CALLBACKS "', 'http', 0, NOW(6), 10, 1000, 3600000, 30000, "
                "JSON_OBJECT('method', 'POST', 'url', callback_url, 'body', JSON_OBJECT("
                "'id', CONCAT('job_', id), 'object', 'job', 'status', "
                "CASE state WHEN %d THEN 'succeeded' WHEN %d THEN 'failed' ELSE 'cancelled' END, "
                "'queue', queue, 'kind', kind, 'attempts', attempts, "
                "'result', JSON_QUERY(result, '$'), 'last_error', last_error, "
                "'metadata', JSON_QUERY(metadata, '$'), "
                "'finished_at', DATE_FORMAT(finished_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'))) "
                "FROM jobs WHERE id IN (%s) AND state IN (%d, %d, %d) AND callback_url IS NOT NULL",
                JOB_SUCCEEDED, JOB_FAILED, ids_sql, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED);
}
