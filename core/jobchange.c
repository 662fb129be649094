#include "jobchange.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "job.h"
#include "jobfinish.h"
#include "util.h"

/* cancel/retry: a compare-and-set UPDATE, then (when it changed nothing)
 * a read to tell "not found" from "wrong state". */
struct change {
    struct db_pool *db;
    uint64_t tenant, id;
    int new_state;
    jobchange_cb cb;
    void *arg;
};

static void change_read_cb(const struct db_result *r, void *arg)
{
    struct change *c = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok)
        c->cb(JOBCHANGE_ERROR, -1, r->err_code, r->error, c->arg);
    else if (!row)
        c->cb(JOBCHANGE_NOT_FOUND, -1, 0, NULL, c->arg);
    else
        c->cb(JOBCHANGE_CONFLICT, (int)db_row_ll(row, 0), 0, NULL, c->arg);
    free(c);
}

static void change_cb(const struct db_result *r, void *arg)
{
    struct change *c = arg;
    if (!r->ok) {
        c->cb(JOBCHANGE_ERROR, -1, r->err_code, r->error, c->arg);
        free(c);
        return;
    }
    if (r->affected_rows > 0) {
        c->cb(JOBCHANGE_OK, c->new_state, 0, NULL, c->arg);
        free(c);
        return;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT state FROM jobs WHERE id = %llu AND tenant_id = %llu",
             (unsigned long long)c->id, (unsigned long long)c->tenant);
    db_query(c->db, sql, 0, change_read_cb, c);
}

static void change(struct db_pool *db, uint64_t tenant, uint64_t id, int new_state, const char *sql,
                   jobchange_cb cb, void *arg)
{
    struct change *c = xcalloc(1, sizeof *c);
    c->db = db;
    c->tenant = tenant;
    c->id = id;
    c->new_state = new_state;
    c->cb = cb;
    c->arg = arg;
    if (new_state == JOB_CANCELLED) /* its callback commits with it */
        jobfinish_terminal(db, sql, id, change_cb, c);
    else
        db_query(db, sql, 0, change_cb, c);
}

/* The one place that says what a cancel and a retry do, for one job and
 * for a bulk change alike: the states each applies to and its
 * compare-and-set UPDATE. */
bool jobchange_allowed(bool cancel, int state)
{
    return cancel ? state == JOB_QUEUED || state == JOB_RUNNING
                  : state == JOB_FAILED || state == JOB_CANCELLED;
}

void jobchange_states_sql(struct sbuf *b, bool cancel)
{
    if (cancel)
        sbuf_printf(b, "state IN (%d, %d)", JOB_QUEUED, JOB_RUNNING);
    else
        sbuf_printf(b, "state IN (%d, %d)", JOB_FAILED, JOB_CANCELLED);
}

void jobchange_update_sql(struct sbuf *b, bool cancel, uint64_t tenant, const char *ids_sql)
{
    if (cancel)
        /* A running job loses its lease: the worker's completion no longer
         * matches and is discarded. */
        sbuf_printf(b, "UPDATE jobs SET state = %d, lease_token = NULL, lease_expires_at = NULL, "
                       "finished_at = NOW(6), last_error = COALESCE(last_error, 'cancelled') ",
                    JOB_CANCELLED);
    else
        /* attempts keep counting (numbers, jti); the retry grants max_attempts more */
        sbuf_printf(b, "UPDATE jobs SET state = %d, max_attempts = attempts + LEAST(max_attempts, 100), "
                       "run_at = NOW(6), started_at = NULL, "
                       "finished_at = NULL, last_error = NULL, result = NULL, lease_token = NULL, "
                       "lease_expires_at = NULL ",
                    JOB_QUEUED);
    sbuf_printf(b, "WHERE id IN (%s) AND tenant_id = %llu AND ", ids_sql, (unsigned long long)tenant);
    jobchange_states_sql(b, cancel);
}

static void change_one(struct db_pool *db, uint64_t tenant, uint64_t id, bool cancel, jobchange_cb cb,
                       void *arg)
{
    char ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
    struct sbuf b;
    sbuf_init(&b);
    jobchange_update_sql(&b, cancel, tenant, ids);
    change(db, tenant, id, cancel ? JOB_CANCELLED : JOB_QUEUED, b.data, cb, arg);
    sbuf_deinit(&b);
}

void jobchange_cancel(struct db_pool *db, uint64_t tenant, uint64_t id, jobchange_cb cb, void *arg)
{
    change_one(db, tenant, id, true, cb, arg);
}

void jobchange_retry(struct db_pool *db, uint64_t tenant, uint64_t id, jobchange_cb cb, void *arg)
{
    change_one(db, tenant, id, false, cb, arg);
}
