#include "jobfinish.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "dberr.h"
#include "log.h"
#include "loop.h"
#include "queuestore.h"
#include "respjob.h"
#include "sql.h"

struct item {
    uint64_t id, tenant;
    bool announce;           /* a background response: its end is a webhook event */
    char token[33];
    int attempt;
    enum jobclaim_outcome outcome;
    char *result_json, *usage_json, *error, *worker_id;
    long long retry_delay_ms;
    int http_status;
    int64_t started_real_us;
    bool applied;
    bool callback;           /* the job has a callback_url */
    int tries;               /* transactions that failed on a lock */
    jobfinish_cb cb;
    void *arg;
    struct item *next;
};

/* One transaction writing a batch of outcomes. */
struct flush {
    struct jobfinish *f;
    struct db_txn *txn;
    struct item **items;
    size_t n;
    char **sql;          /* statements after the locking read */
    size_t nsql, next;
    bool ending, ok;
    bool retry;          /* a deadlock or lock wait timeout: write it again */
    char err[320];
    unsigned err_code;
};

struct jobfinish {
    struct loop *loop;
    struct db_pool *db;
    struct item *head, *tail;
    size_t queued, writing;
    int max_batch, max_inflight, inflight;
    struct event *flush_ev;
};

static void flush_step_cb(const struct db_result *r, void *arg);

static void item_free(struct item *it)
{
    free(it->result_json);
    free(it->usage_json);
    free(it->error);
    free(it->worker_id);
    free(it);
}

/* Lock conflicts with concurrent claims are expected under load: InnoDB
 * rolls one transaction back, and its outcomes are simply written again
 * (a few times) rather than left to the lease expiry, which would run the
 * jobs a second time. */
#define LOCK_RETRIES 5

static void flush_done(struct flush *fl)
{
    struct jobfinish *f = fl->f;
    f->inflight--;
    f->writing -= fl->n;
    for (size_t i = 0; i < fl->n; i++) {
        struct item *it = fl->items[i];
        if (!fl->ok && fl->retry && it->tries < LOCK_RETRIES) {
            it->tries++;
            it->applied = false;
            it->next = f->head; /* first in line again */
            f->head = it;
            if (!f->tail)
                f->tail = it;
            f->queued++;
            continue;
        }
        it->cb(fl->ok && it->applied, fl->ok ? NULL : fl->err, fl->ok ? 0 : fl->err_code, it->arg);
        item_free(it);
    }
    for (size_t i = 0; i < fl->nsql; i++)
        free(fl->sql[i]);
    free(fl->sql);
    free(fl->items);
    free(fl);
    if (f->head)
        event_active(f->flush_ev, EV_TIMEOUT, 0);
    loop_work_done(f->loop);
}

static void flush_end(struct flush *fl, bool commit, const char *err, unsigned err_code)
{
    fl->ending = true;
    fl->ok = commit;
    if (err && !fl->err[0]) {
        snprintf(fl->err, sizeof fl->err, "%s", err);
        fl->err_code = err_code;
    }
    db_txn_end(fl->txn, commit, flush_step_cb, fl);
}

static void add_sql(struct flush *fl, struct sbuf *b)
{
    fl->sql = xrealloc(fl->sql, (fl->nsql + 1) * sizeof *fl->sql);
    fl->sql[fl->nsql++] = sbuf_steal(b);
}

/* "%04d-%02d-%02d %02d:%02d:%02d.%06d" of us (UTC), without printf: once
 * per job finished (musl's printf costs). */
static void fmt_time(int64_t us, char *out, size_t n)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (us < 0 || tm.tm_year + 1900 > 9999 || n < 27) { /* never for a clock reading */
        snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
        return;
    }
    char *p = util_put_datetime(out, &tm, ' ');
    *p++ = '.';
    p = util_put_uint(p, (unsigned)(us % 1000000), 6);
    *p = '\0';
}

/* ",id" or "id": the id lists of the statements below. */
static void put_id(struct sbuf *b, uint64_t id)
{
    if (b->len)
        sbuf_putc(b, ',');
    sbuf_append_u64(b, id);
}

/* After the locking read: the statements that apply what is still ours. */
static void build_statements(struct flush *fl)
{
    static const char *const names[] = {"succeeded", "retry", "failed"};
    struct sbuf b;
    sbuf_init(&b);
    size_t ok = 0, ok_usage = 0;
    for (size_t i = 0; i < fl->n; i++) {
        bool success = fl->items[i]->applied && fl->items[i]->outcome == OUTCOME_SUCCEEDED;
        ok += success;
        ok_usage += success && fl->items[i]->usage_json;
    }
    if (ok) { /* every success in one statement */
        sbuf_puts(&b, "UPDATE jobs SET state = ");
        sbuf_append_i64(&b, JOB_SUCCEEDED);
        sbuf_puts(&b, ", finished_at = NOW(6), last_error = NULL, "
                      "lease_token = NULL, lease_expires_at = NULL, result = CASE id");
        for (size_t i = 0; i < fl->n; i++) {
            struct item *it = fl->items[i];
            if (!it->applied || it->outcome != OUTCOME_SUCCEEDED)
                continue;
            sbuf_puts(&b, " WHEN ");
            sbuf_append_u64(&b, it->id);
            sbuf_puts(&b, " THEN ");
            sql_cstr(&b, it->result_json);
        }
        sbuf_puts(&b, " END");
        if (ok_usage) { /* `usage` is a reserved word */
            sbuf_puts(&b, ", `usage` = CASE id");
            for (size_t i = 0; i < fl->n; i++) {
                struct item *it = fl->items[i];
                if (!it->applied || it->outcome != OUTCOME_SUCCEEDED)
                    continue;
                sbuf_puts(&b, " WHEN ");
                sbuf_append_u64(&b, it->id);
                sbuf_puts(&b, " THEN ");
                sql_cstr(&b, it->usage_json);
            }
            sbuf_puts(&b, " ELSE `usage` END");
        }
        sbuf_puts(&b, " WHERE id IN (");
        bool first = true;
        for (size_t i = 0; i < fl->n; i++)
            if (fl->items[i]->applied && fl->items[i]->outcome == OUTCOME_SUCCEEDED) {
                if (!first)
                    sbuf_putc(&b, ',');
                first = false;
                sbuf_append_u64(&b, fl->items[i]->id);
            }
        sbuf_putc(&b, ')');
        add_sql(fl, &b);
    }
    for (size_t i = 0; i < fl->n; i++) {
        struct item *it = fl->items[i];
        if (!it->applied || it->outcome == OUTCOME_SUCCEEDED)
            continue;
        sbuf_puts(&b, "UPDATE jobs SET state = ");
        if (it->outcome == OUTCOME_RETRY) {
            sbuf_append_i64(&b, JOB_QUEUED);
            sbuf_puts(&b, ", run_at = TIMESTAMPADD(MICROSECOND, ");
            sbuf_append_i64(&b, (int64_t)(it->retry_delay_ms * 1000));
            sbuf_puts(&b, ", NOW(6)), ");
        } else {
            sbuf_append_i64(&b, JOB_FAILED);
            sbuf_puts(&b, ", finished_at = NOW(6), ");
        }
        sbuf_puts(&b, "result = ");
        sql_cstr(&b, it->result_json);
        sbuf_puts(&b, ", last_error = ");
        sql_cstr(&b, it->error);
        if (it->usage_json) {
            sbuf_puts(&b, ", `usage` = ");
            sql_cstr(&b, it->usage_json);
        }
        sbuf_puts(&b, ", lease_token = NULL, lease_expires_at = NULL WHERE id = ");
        sbuf_append_u64(&b, it->id);
        add_sql(fl, &b);
    }
    /* Terminal outcomes with a callback_url enqueue their callback in the
     * same transaction (only those: the statement reads the jobs again). */
    struct sbuf ids;
    sbuf_init(&ids);
    for (size_t i = 0; i < fl->n; i++) {
        struct item *it = fl->items[i];
        if (it->applied && it->callback && it->outcome != OUTCOME_RETRY)
            put_id(&ids, it->id);
    }
    if (ids.len) {
        queuestore_ensure_callbacks_sql(&b, ids.data);
        add_sql(fl, &b);
        jobclaim_callback_sql(&b, ids.data);
        add_sql(fl, &b);
    }
    sbuf_deinit(&ids);
    /* A background response's end announces itself in the same
     * transaction (webhook_event.h). */
    for (size_t i = 0; i < fl->n; i++) {
        struct item *it = fl->items[i];
        if (it->applied && it->announce && it->outcome != OUTCOME_RETRY) {
            respjob_event_sql(&b, it->tenant, it->id,
                              it->outcome == OUTCOME_SUCCEEDED ? "response.completed" : "response.failed");
            add_sql(fl, &b);
        }
    }
    /* Every attempt is recorded, counted or not. */
    sbuf_puts(&b, "INSERT INTO job_attempts (job_id, attempt, worker_id, started_at, finished_at, "
                  "outcome, http_status, error) VALUES ");
    for (size_t i = 0; i < fl->n; i++) {
        struct item *it = fl->items[i];
        char started[64];
        fmt_time(it->started_real_us, started, sizeof started);
        sbuf_puts(&b, i ? ",(" : "(");
        sbuf_append_u64(&b, it->id);
        sbuf_putc(&b, ',');
        sbuf_append_i64(&b, it->attempt);
        sbuf_putc(&b, ',');
        sql_cstr(&b, it->worker_id);
        sbuf_puts(&b, ",'");
        sbuf_puts(&b, started);
        sbuf_puts(&b, "',NOW(6),'");
        sbuf_puts(&b, it->applied ? names[it->outcome] : "discarded");
        sbuf_puts(&b, "',");
        if (it->http_status) {
            sbuf_append_i64(&b, it->http_status);
            sbuf_putc(&b, ',');
        } else
            sbuf_puts(&b, "NULL,");
        sql_cstr(&b, it->error);
        sbuf_putc(&b, ')');
    }
    add_sql(fl, &b);
    sbuf_deinit(&b);
}

static void flush_step_cb(const struct db_result *r, void *arg)
{
    struct flush *fl = arg;
    if (fl->ending) {
        if (!r->ok) {
            fl->ok = false;
            if (!fl->err[0]) {
                snprintf(fl->err, sizeof fl->err, "%s", r->error);
                fl->err_code = r->err_code;
            }
        }
        flush_done(fl);
        return;
    }
    if (!r->ok) {
        fl->retry = dberr_is_lost_lock(r->err_code);
        flush_end(fl, false, r->error, r->err_code);
        return;
    }
    if (fl->next == 0 && fl->nsql == 0 && !fl->sql) {
        if (r->res) { /* the locking read: which rows are still ours */
            MYSQL_ROW row;
            while ((row = mysql_fetch_row(r->res))) {
                uint64_t id = (uint64_t)db_row_ll(row, 0);
                for (size_t i = 0; i < fl->n; i++)
                    if (fl->items[i]->id == id && strcmp(fl->items[i]->token, db_row_str(row, 1)) == 0)
                        fl->items[i]->applied = true;
            }
            build_statements(fl);
        } else { /* START TRANSACTION done: lock and read */
            struct sbuf b;
            sbuf_init(&b);
            sbuf_puts(&b, "SELECT id, lease_token FROM jobs WHERE state = ");
            sbuf_append_i64(&b, JOB_RUNNING);
            sbuf_puts(&b, " AND id IN (");
            for (size_t i = 0; i < fl->n; i++) {
                if (i)
                    sbuf_putc(&b, ',');
                sbuf_append_u64(&b, fl->items[i]->id);
            }
            sbuf_puts(&b, ") FOR UPDATE");
            db_txn_query(fl->txn, b.data, 0, flush_step_cb, fl);
            sbuf_deinit(&b);
            return;
        }
    }
    if (fl->next < fl->nsql) {
        db_txn_query(fl->txn, fl->sql[fl->next++], 0, flush_step_cb, fl);
        return;
    }
    flush_end(fl, true, NULL, 0);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct jobfinish *f = arg;
    while (f->head && f->inflight < f->max_inflight) {
        struct flush *fl = xcalloc(1, sizeof *fl);
        fl->f = f;
        size_t n = f->queued < (size_t)f->max_batch ? f->queued : (size_t)f->max_batch;
        fl->items = xcalloc(n, sizeof(struct item *));
        for (size_t i = 0; i < n; i++) {
            struct item *it = f->head;
            f->head = it->next;
            it->next = NULL;
            fl->items[fl->n++] = it;
        }
        if (!f->head)
            f->tail = NULL;
        f->queued -= n;
        f->writing += n;
        f->inflight++;
        fl->txn = db_txn_begin(f->db, 0, flush_step_cb, fl);
    }
}

struct jobfinish *jobfinish_new(struct loop *l, struct db_pool *db, int max_batch, int max_inflight)
{
    struct jobfinish *f = xcalloc(1, sizeof *f);
    f->loop = l;
    f->db = db;
    f->max_batch = max_batch > 0 ? max_batch : 100;
    f->max_inflight = max_inflight > 0 ? max_inflight : 2;
    f->flush_ev = event_new(loop_base(l), -1, 0, flush_cb, f);
    if (!f->flush_ev)
        abort();
    return f;
}

void jobfinish_free(struct jobfinish *f)
{
    if (!f)
        return;
    while (f->head) {
        struct item *it = f->head;
        f->head = it->next;
        it->cb(false, "shutting down", DB_ERR_SHUTDOWN, it->arg);
        item_free(it);
    }
    event_free(f->flush_ev);
    free(f);
}

void jobfinish_add(struct jobfinish *f, const struct claimed_job *j, const struct jobclaim_result *r,
                   jobfinish_cb cb, void *arg)
{
    struct item *it = xcalloc(1, sizeof *it);
    it->id = j->id;
    it->tenant = j->tenant;
    it->announce = respjob_is_background(j->kind, j->queue);
    memcpy(it->token, j->token, sizeof it->token);
    it->attempt = j->attempt;
    it->callback = j->callback_url != NULL;
    it->outcome = r->outcome;
    it->result_json = xstrdup(r->result_json);
    it->usage_json = xstrdup(r->usage_json);
    it->error = xstrdup(r->error);
    it->worker_id = xstrdup(r->worker_id);
    it->retry_delay_ms = r->retry_delay_ms;
    it->http_status = r->http_status;
    it->started_real_us = r->started_real_us;
    it->cb = cb;
    it->arg = arg;
    if (f->tail)
        f->tail->next = it;
    else
        f->head = it;
    f->tail = it;
    f->queued++;
    event_active(f->flush_ev, EV_TIMEOUT, 0);
}

size_t jobfinish_pending(const struct jobfinish *f)
{
    return f->queued + f->writing;
}

/* jobfinish_terminal: BEGIN; the UPDATE; when it changed the job, its
 * queue row and callback; COMMIT. */
enum term_step { T_BEGIN, T_UPDATE, T_QUEUE, T_CALLBACK, T_KIND, T_EVENT, T_END };

struct term {
    struct db_pool *db;
    struct db_txn *txn;
    enum term_step step;
    char *sql;
    char id[24];
    int tries;
    bool commit;
    unsigned long long affected;
    char err[320];
    unsigned err_code;
    db_query_cb cb;
    void *arg;
};

static void term_step_cb(const struct db_result *r, void *arg);

static void term_end(struct term *t, bool commit, const struct db_result *r)
{
    if (r && !r->ok && !t->err[0]) {
        snprintf(t->err, sizeof t->err, "%s", r->error);
        t->err_code = r->err_code;
    }
    t->commit = commit;
    t->step = T_END;
    db_txn_end(t->txn, commit, term_step_cb, t);
}

static void term_begin(struct term *t)
{
    t->step = T_BEGIN;
    t->commit = false;
    t->affected = 0;
    t->err[0] = '\0';
    t->err_code = 0;
    t->txn = db_txn_begin(t->db, 0, term_step_cb, t);
}

static void term_step_cb(const struct db_result *r, void *arg)
{
    struct term *t = arg;
    if (t->step == T_END) {
        if (!r->ok && !t->err[0]) {
            snprintf(t->err, sizeof t->err, "%s", r->error);
            t->err_code = r->err_code;
        }
        if (t->err[0] && dberr_is_lost_lock(t->err_code) && ++t->tries < LOCK_RETRIES) {
            log_debug("job_%s: a terminal change lost a lock conflict (%u), trying again", t->id,
                      t->err_code);
            term_begin(t); /* rolled back whole: nothing of it stayed */
            return;
        }
        struct db_result out = {.ok = !t->err[0], .err_code = t->err_code,
                                .error = t->err[0] ? t->err : "", .affected_rows = t->affected};
        t->cb(&out, t->arg);
        free(t->sql);
        free(t);
        return;
    }
    if (!r->ok) {
        term_end(t, false, r);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    switch (t->step) {
    case T_BEGIN:
        t->step = T_UPDATE;
        db_txn_query(t->txn, t->sql, 0, term_step_cb, t);
        break;
    case T_UPDATE:
        t->affected = r->affected_rows;
        if (!t->affected) { /* nothing changed: nothing to announce */
            term_end(t, true, NULL);
            break;
        }
        queuestore_ensure_callbacks_sql(&b, t->id);
        t->step = T_QUEUE;
        db_txn_query(t->txn, b.data, 0, term_step_cb, t);
        break;
    case T_QUEUE:
        jobclaim_callback_sql(&b, t->id);
        t->step = T_CALLBACK;
        db_txn_query(t->txn, b.data, 0, term_step_cb, t);
        break;
    case T_CALLBACK: /* a background response announces its end (webhook_event.h) */
        sbuf_printf(&b, "SELECT tenant_id FROM jobs WHERE id = %s AND " RESPJOB_KIND_SQL, t->id);
        t->step = T_KIND;
        db_txn_query(t->txn, b.data, 0, term_step_cb, t);
        break;
    case T_KIND: {
        MYSQL_ROW row = r->res ? mysql_fetch_row(r->res) : NULL;
        if (!row) {
            term_end(t, true, NULL);
            break;
        }
        respjob_event_sql(&b, (uint64_t)db_row_ll(row, 0), strtoull(t->id, NULL, 10), "response.cancelled");
        t->step = T_EVENT;
        db_txn_query(t->txn, b.data, 0, term_step_cb, t);
        break;
    }
    case T_EVENT:
        term_end(t, true, NULL);
        break;
    default:
        break;
    }
    sbuf_deinit(&b);
}

void jobfinish_terminal(struct db_pool *db, const char *update_sql, uint64_t id, db_query_cb cb,
                        void *arg)
{
    struct term *t = xcalloc(1, sizeof *t);
    t->db = db;
    t->sql = xstrdup(update_sql);
    snprintf(t->id, sizeof t->id, "%llu", (unsigned long long)id);
    t->cb = cb;
    t->arg = arg;
    term_begin(t);
}
