/* What a worker does with leases after the claim: extend them, check
 * which are still held, hand jobs back, and recover expired ones (the
 * claim itself: jobclaim.c). Every change is a compare-and-set on state
 * and lease token. */
#include "jobclaim_lease.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "jobclaim.h"
#include "log.h"
#include "queuestore.h"
#include "respjob.h"

struct extend {
    jobclaim_extended_cb cb;
    void *arg;
};

static void extended_cb(const struct db_result *r, void *arg)
{
    struct extend *x = arg;
    if (!r->ok && r->err_code != DB_ERR_SHUTDOWN)
        log_warn("lease extension failed: %s", r->error);
    if (x->cb) /* also on failure: the caller may own arg */
        x->cb(r->ok ? r->affected_rows : ULLONG_MAX, x->arg);
    free(x);
}

void jobclaim_extend(struct db_pool *db, const char *const *tokens, size_t n, long long lease_ms,
                     jobclaim_extended_cb cb, void *arg)
{
    if (!n)
        return;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "UPDATE jobs SET lease_expires_at = TIMESTAMPADD(MICROSECOND, %lld, NOW(6)) "
                    "WHERE state = %d AND lease_token IN (",
                lease_ms * 1000, JOB_RUNNING);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&b, "%s'%s'", i ? "," : "", tokens[i]);
    sbuf_putc(&b, ')');
    struct extend *x = xcalloc(1, sizeof *x);
    x->cb = cb;
    x->arg = arg;
    db_query(db, b.data, 0, extended_cb, x);
    sbuf_deinit(&b);
}

struct held {
    jobclaim_held_cb cb;
    void *arg;
};

static void held_cb(const struct db_result *r, void *arg)
{
    struct held *h = arg;
    if (!r->ok) {
        h->cb(NULL, 0, r->error, h->arg);
        free(h);
        return;
    }
    size_t rows = (size_t)mysql_num_rows(r->res), n = 0;
    uint64_t *ids = xcalloc(rows ? rows : 1, sizeof *ids);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && n < rows)
        ids[n++] = (uint64_t)db_row_ll(row, 0);
    h->cb(ids, n, NULL, h->arg);
    free(ids);
    free(h);
}

void jobclaim_held(struct db_pool *db, const uint64_t *ids, const char (*tokens)[33], size_t n,
                   jobclaim_held_cb cb, void *arg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT id FROM jobs WHERE state = %d AND (", JOB_RUNNING);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&b, "%s(id = %llu AND lease_token = '%s')", i ? " OR " : "",
                    (unsigned long long)ids[i], tokens[i]);
    sbuf_puts(&b, n ? ")" : "0)");
    struct held *h = xcalloc(1, sizeof *h);
    h->cb = cb;
    h->arg = arg;
    db_query(db, b.data, 0, held_cb, h);
    sbuf_deinit(&b);
}

struct count {
    jobclaim_count_cb cb;
    void *arg;
};

static void count_cb(const struct db_result *r, void *arg)
{
    struct count *c = arg;
    c->cb(r->ok ? r->affected_rows : 0, r->ok ? NULL : r->error, r->ok ? 0 : r->err_code, c->arg);
    free(c);
}

static void count_query(struct db_pool *db, const char *sql, jobclaim_count_cb cb, void *arg)
{
    struct count *c = xcalloc(1, sizeof *c);
    c->cb = cb;
    c->arg = arg;
    db_query(db, sql, 0, count_cb, c);
}

/* Recovery: lock the expired leases (skipping rows a worker is recording
 * an outcome for right now), put them back or fail them, and enqueue the
 * callbacks of those failed, all in one transaction. */
enum recover_step { R_BEGIN, R_SELECT, R_UPDATE, R_QUEUE, R_CALLBACKS, R_EVENTS, R_END };

struct recover {
    struct db_txn *txn;
    enum recover_step step;
    int limit;
    struct sbuf ids, cb_ids;  /* every row; failed rows with a callback_url */
    struct respjob_events events; /* failed rows that are background responses */
    unsigned long long n;
    bool commit;
    char err[320];
    unsigned err_code;
    jobclaim_count_cb cb;
    void *arg;
};

static void recover_step_cb(const struct db_result *r, void *arg);

static void recover_end(struct recover *rc, bool commit, const struct db_result *r)
{
    if (r && !r->ok && !rc->err[0]) {
        snprintf(rc->err, sizeof rc->err, "%s", r->error);
        rc->err_code = r->err_code;
    }
    rc->commit = commit;
    rc->step = R_END;
    db_txn_end(rc->txn, commit, recover_step_cb, rc);
}

static void recover_query(struct recover *rc, enum recover_step step, struct sbuf *b)
{
    rc->step = step;
    db_txn_query(rc->txn, b->data, 0, recover_step_cb, rc);
    sbuf_reset(b);
}

/* The next background response's end event, or the commit. */
static void recover_events(struct recover *rc, struct sbuf *b)
{
    if (respjob_events_next(&rc->events, "response.failed", b))
        recover_query(rc, R_EVENTS, b);
    else
        recover_end(rc, true, NULL);
}

static void recover_step_cb(const struct db_result *r, void *arg)
{
    struct recover *rc = arg;
    if (rc->step == R_END) {
        if (!r->ok && !rc->err[0]) {
            snprintf(rc->err, sizeof rc->err, "%s", r->error);
            rc->err_code = r->err_code;
        }
        bool ok = !rc->err[0] && rc->commit;
        rc->cb(ok ? rc->n : 0, rc->err[0] ? rc->err : NULL, rc->err[0] ? rc->err_code : 0, rc->arg);
        sbuf_deinit(&rc->ids);
        sbuf_deinit(&rc->cb_ids);
        respjob_events_deinit(&rc->events);
        free(rc);
        return;
    }
    if (!r->ok) {
        recover_end(rc, false, r);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    MYSQL_ROW row;
    switch (rc->step) {
    case R_BEGIN:
        sbuf_printf(&b, "SELECT id, attempts >= max_attempts AND callback_url IS NOT NULL, tenant_id, "
                        "attempts >= max_attempts AND " RESPJOB_KIND_SQL " FROM jobs "
                        "WHERE state = %d AND lease_expires_at < NOW(6) ORDER BY lease_expires_at "
                        "LIMIT %d FOR UPDATE SKIP LOCKED",
                    JOB_RUNNING, rc->limit);
        recover_query(rc, R_SELECT, &b);
        break;
    case R_SELECT:
        while ((row = mysql_fetch_row(r->res))) {
            sbuf_printf(&rc->ids, "%s%s", rc->ids.len ? "," : "", row[0]);
            if (db_row_ll(row, 1))
                sbuf_printf(&rc->cb_ids, "%s%s", rc->cb_ids.len ? "," : "", row[0]);
            if (db_row_ll(row, 3)) /* a background response that fails now: its end event */
                respjob_events_add(&rc->events, (uint64_t)db_row_ll(row, 2), (uint64_t)db_row_ll(row, 0));
        }
        if (!rc->ids.len) {
            recover_end(rc, false, NULL);
            break;
        }
        /* The attempt that died was counted at claim time. */
        sbuf_printf(&b, "UPDATE jobs SET state = IF(attempts >= max_attempts, %d, %d), "
                        "finished_at = IF(attempts >= max_attempts, NOW(6), NULL), "
                        "last_error = 'lease expired (worker died or stalled)', run_at = NOW(6), "
                        "lease_token = NULL, lease_expires_at = NULL WHERE id IN (%s) AND state = %d",
                    JOB_FAILED, JOB_QUEUED, rc->ids.data, JOB_RUNNING);
        recover_query(rc, R_UPDATE, &b);
        break;
    case R_UPDATE:
        rc->n = r->affected_rows;
        if (rc->cb_ids.len) {
            queuestore_ensure_callbacks_sql(&b, rc->cb_ids.data);
            recover_query(rc, R_QUEUE, &b);
        } else {
            recover_events(rc, &b);
        }
        break;
    case R_CALLBACKS:
    case R_EVENTS:
        recover_events(rc, &b);
        break;
    case R_QUEUE:
        jobclaim_callback_sql(&b, rc->cb_ids.data);
        recover_query(rc, R_CALLBACKS, &b);
        break;
    default:
        break;
    }
    sbuf_deinit(&b);
}

void jobclaim_recover(struct db_pool *db, int limit, jobclaim_count_cb cb, void *arg)
{
    struct recover *rc = xcalloc(1, sizeof *rc);
    rc->limit = limit;
    rc->cb = cb;
    rc->arg = arg;
    sbuf_init(&rc->ids);
    sbuf_init(&rc->cb_ids);
    respjob_events_init(&rc->events);
    rc->step = R_BEGIN;
    rc->txn = db_txn_begin(db, 0, recover_step_cb, rc);
}

void jobclaim_release(struct db_pool *db, const struct claimed_job *const *jobs, size_t n,
                      long long delay_ms, jobclaim_count_cb cb, void *arg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "UPDATE jobs SET state = %d, attempts = GREATEST(attempts, 1) - 1, "
                    "run_at = TIMESTAMPADD(MICROSECOND, %lld, NOW(6)), "
                    "lease_token = NULL, lease_expires_at = NULL WHERE state = %d AND (",
                JOB_QUEUED, delay_ms * 1000, JOB_RUNNING);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&b, "%s(id = %llu AND lease_token = '%s')", i ? " OR " : "",
                    (unsigned long long)jobs[i]->id, jobs[i]->token);
    sbuf_putc(&b, ')');
    count_query(db, b.data, cb, arg);
    sbuf_deinit(&b);
}
