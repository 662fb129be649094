#include "db.h"

#include <event2/event.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "db_conn.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

static void req_fail_later(struct db_pool *p, struct db_req *r, const char *msg);

/* A request made while the pool is being freed (by a callback db_pool_free
 * fired) fails with DB_ERR_SHUTDOWN from db_pool_free's drain, never from
 * inside the caller's db_query. */
static bool req_late(struct db_pool *p, struct db_req *r)
{
    if (!p->closing)
        return false;
    r->next = p->late;
    p->late = r;
    return true;
}

const char *db_row_str(MYSQL_ROW row, unsigned col)
{
    return row[col] ? row[col] : "";
}

long long db_row_ll(MYSQL_ROW row, unsigned col)
{
    return row[col] ? strtoll(row[col], NULL, 10) : 0;
}

static void queue_remove(struct db_pool *p, struct db_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        p->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        p->tail = r->prev;
    r->next = r->prev = NULL;
    p->waiting--;
}

static void req_free(struct db_req *r)
{
    event_free(r->timer);
    free(r->sql);
    free(r);
}

void db_req_finish(struct db_req *r, const struct db_result *res)
{
    struct db_txn *t = r->txn_end ? r->txn : NULL;
    r->cb(res, r->arg);
    req_free(r);
    free(t); /* the end of a transaction is its last callback */
}

static void req_fail_now(struct db_req *r, unsigned code, const char *msg)
{
    struct db_result res = {.ok = false, .err_code = code, .error = msg};
    db_req_finish(r, &res);
}

static void doomed_remove(struct db_pool *p, struct db_req *r)
{
    DLIST_REMOVE(p->doomed, r);
}

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_req *r = arg;
    struct db_pool *p = r->pool;
    if (r->failed) { /* a failure decided earlier, delivered off the caller's stack */
        doomed_remove(p, r);
        db_req_finish(r, &r->fail);
        return;
    }
    if (p->m_timeouts)
        metrics_add(p->m_timeouts, 1);
    bool sent = r->conn != NULL;
    if (r->conn) {
        struct db_conn *c = r->conn;
        c->req = NULL;
        log_warn("database query abandoned after its deadline; closing connection %d (%s)",
                 c->index, db_conn_state_text(c->state));
        db_conn_close(c);
        db_conn_start_connect(c);
    } else if (r->txn && r->txn->conn && r->txn->conn->pinned_req == r) {
        r->txn->conn->pinned_req = NULL;
    } else {
        queue_remove(p, r);
    }
    /* Only a query that was sent may have run (callers must not assume
     * an INSERT that timed out did nothing); one still waiting did not. */
    if (sent)
        req_fail_now(r, DB_ERR_TIMEOUT, "database query timed out");
    else
        req_fail_now(r, DB_ERR_UNAVAILABLE, "timed out waiting for a database connection");
    db_pool_pump(p);
}

static void pool_update_metrics(struct db_pool *p)
{
    if (!p->m_open)
        return;
    struct db_pool_stats s;
    db_pool_stats(p, &s);
    metrics_set(p->m_open, s.open);
    metrics_set(p->m_in_use, s.in_use);
    metrics_set(p->m_waiting, s.waiting);
    /* Down: the last connect attempt failed and no connection is left.
     * An idle connection to a dead server counts as up until a query
     * finds it lost (workers and the depth refresh query every few s). */
    metrics_set(p->m_up, p->failing && s.open == 0 ? 0 : 1);
}

void db_pool_pump(struct db_pool *p)
{
    for (int i = 0; i < p->max; i++) {
        struct db_conn *c = &p->conns[i];
        if (c->state == DBC_PINNED && c->pinned_req) {
            struct db_req *r = c->pinned_req;
            c->pinned_req = NULL;
            db_conn_run(c, r);
        }
    }
    while (p->head) {
        struct db_conn *idle = NULL;
        for (int i = 0; i < p->max && !idle; i++)
            if (p->conns[i].state == DBC_IDLE)
                idle = &p->conns[i];
        if (!idle)
            break;
        struct db_req *r = p->head;
        queue_remove(p, r);
        db_conn_run(idle, r);
    }
    if (p->head) {
        int pending = 0;
        for (int i = 0; i < p->max; i++)
            if (p->conns[i].state == DBC_CONNECTING || p->conns[i].state == DBC_RESOLVING)
                pending++;
        for (int i = 0; i < p->max && pending < p->waiting; i++) {
            struct db_conn *c = &p->conns[i];
            if (c->state == DBC_DOWN && !c->in_backoff) {
                db_conn_start_connect(c);
                pending++;
            }
        }
        bool any_hope = false;
        for (int i = 0; i < p->max; i++)
            if (p->conns[i].state != DBC_DOWN)
                any_hope = true;
        /* Nothing connected or connecting and the last attempt failed:
         * fail fast rather than letting every caller wait its deadline. */
        if (!any_hope && p->failing) {
            while (p->head) {
                struct db_req *r = p->head;
                queue_remove(p, r);
                char msg[300];
                snprintf(msg, sizeof msg, "database unavailable: %s", p->last_error);
                req_fail_later(p, r, msg);
            }
        }
    }
    pool_update_metrics(p);
}

static struct db_req *req_new(struct db_pool *p, const char *sql, long long timeout_ms,
                              db_query_cb cb, void *arg)
{
    struct db_req *r = xcalloc(1, sizeof *r);
    r->len = strlen(sql);
    r->sql = xstrndup(sql, r->len);
    r->cb = cb;
    r->arg = arg;
    r->pool = p;
    r->timer = evtimer_new(p->base, req_timer_cb, r);
    if (!r->timer)
        abort();
    struct timeval tv = loop_tv(timeout_ms > 0 ? timeout_ms : p->query_timeout_ms);
    evtimer_add(r->timer, &tv);
    return r;
}

static void req_enqueue(struct db_pool *p, struct db_req *r)
{
    if (req_late(p, r))
        return;
    r->prev = p->tail;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->waiting++;
    /* Dispatch from the loop, not from here: a query can complete inside
     * mysql_real_query_start, and its callback must never run inside the
     * caller's function. */
    event_active(p->pump_ev, EV_TIMEOUT, 0);
}

/* Fails r from the loop (never inside the caller). */
static void req_fail_later(struct db_pool *p, struct db_req *r, const char *msg)
{
    if (req_late(p, r))
        return;
    DLIST_PUSH(p->doomed, r);
    snprintf(r->errbuf, sizeof r->errbuf, "%s", msg);
    r->failed = true;
    r->fail = (struct db_result){.ok = false, .err_code = DB_ERR_UNAVAILABLE, .error = r->errbuf};
    evtimer_del(r->timer);
    event_active(r->timer, EV_TIMEOUT, 0);
}

void db_query(struct db_pool *p, const char *sql, long long timeout_ms, db_query_cb cb, void *arg)
{
    req_enqueue(p, req_new(p, sql, timeout_ms, cb, arg));
}

void db_bulk(struct db_pool *p, const struct db_bulk *b, long long timeout_ms, db_query_cb cb, void *arg)
{
    struct db_req *r = req_new(p, b->sql, timeout_ms, cb, arg);
    r->bulk = *b;
    r->bulk.sql = r->sql;
    req_enqueue(p, r);
}

void db_pool_set_no_bulk(struct db_pool *p, bool on)
{
    p->no_bulk = on;
}

struct db_txn *db_session_begin(struct db_pool *p, const char *first_sql, long long timeout_ms,
                                db_query_cb cb, void *arg)
{
    struct db_txn *t = xcalloc(1, sizeof *t);
    t->pool = p;
    struct db_req *r = req_new(p, first_sql, timeout_ms, cb, arg);
    r->txn = t;
    req_enqueue(p, r);
    return t;
}

struct db_txn *db_txn_begin(struct db_pool *p, long long timeout_ms, db_query_cb cb, void *arg)
{
    return db_session_begin(p, "START TRANSACTION", timeout_ms, cb, arg);
}

static void txn_statement(struct db_txn *t, struct db_req *r)
{
    struct db_pool *p = t->pool;
    r->txn = t;
    if (req_late(p, r))
        return;
    if (t->broken || !t->conn || t->conn->pinned_req || t->conn->req) {
        req_fail_later(p, r, t->broken || !t->conn ? "transaction lost (connection closed)"
                                                   : "transaction busy: one statement at a time");
        return;
    }
    t->conn->pinned_req = r;
    event_active(p->pump_ev, EV_TIMEOUT, 0);
}

void db_txn_query(struct db_txn *t, const char *sql, long long timeout_ms, db_query_cb cb, void *arg)
{
    txn_statement(t, req_new(t->pool, sql, timeout_ms, cb, arg));
}

void db_session_end(struct db_txn *t, const char *last_sql, db_query_cb cb, void *arg)
{
    struct db_req *r = req_new(t->pool, last_sql, 0, cb, arg);
    r->txn_end = true;
    txn_statement(t, r);
}

void db_txn_end(struct db_txn *t, bool commit, db_query_cb cb, void *arg)
{
    db_session_end(t, commit ? "COMMIT" : "ROLLBACK", cb, arg);
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    db_pool_pump(arg);
}

struct db_pool *db_pool_new(struct loop *l, struct metrics *m, const struct db_pool_opts *o,
                            char *err, size_t errlen)
{
    struct db_pool *p = xcalloc(1, sizeof *p);
    if (db_dsn_parse(o->url, &p->dsn, err, errlen) < 0) {
        free(p);
        return NULL;
    }
    p->loop = l;
    p->base = loop_base(l);
    p->max = o->max_connections > 0 ? o->max_connections : 1;
    p->connect_timeout_ms = o->connect_timeout_ms;
    p->query_timeout_ms = o->query_timeout_ms;
    p->conns = xcalloc((size_t)p->max, sizeof *p->conns);
    p->pump_ev = event_new(p->base, -1, 0, pump_cb, p);
    if (!p->pump_ev)
        abort();
    for (int i = 0; i < p->max; i++) {
        struct db_conn *c = &p->conns[i];
        c->pool = p;
        c->index = i;
        c->io = event_new(p->base, -1, 0, db_conn_io_cb, c);
        c->timer = evtimer_new(p->base, db_conn_timer_cb, c);
        if (!c->io || !c->timer)
            abort();
    }
    if (m) {
        struct metric_family *f = metrics_family(m, METRIC_GAUGE, "ingot_db_pool_connections",
                                                 "MariaDB pool connections by state.");
        p->m_open = metrics_series(f, "state=\"open\"");
        p->m_in_use = metrics_series(f, "state=\"in_use\"");
        p->m_waiting = metrics_series(f, "state=\"waiting\"");
        p->m_max = metrics_series(f, "state=\"max\"");
        metrics_set(p->m_max, p->max);
        p->m_errors = metrics_series(metrics_family(m, METRIC_COUNTER,
                                                    "ingot_db_connect_errors_total",
                                                    "Failed MariaDB connection attempts."),
                                     "");
        p->m_timeouts = metrics_series(metrics_family(m, METRIC_COUNTER,
                                                      "ingot_db_query_timeouts_total",
                                                      "MariaDB queries that hit their deadline."),
                                       "");
        p->m_up = metrics_series(metrics_family(m, METRIC_GAUGE, "ingot_db_up",
                                                "0 when the last MariaDB connect attempt failed and no "
                                                "connection is open, else 1."),
                                 "");
        metrics_set(p->m_up, 1);
    }
    return p;
}

void db_pool_warm(struct db_pool *p)
{
    if (p->conns[0].state == DBC_DOWN && !p->conns[0].in_backoff)
        db_conn_start_connect(&p->conns[0]);
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    /* Detach every request first, then call back: a callback then sees a
     * pool with nothing left in it, and what it queues fails below. */
    p->closing = true;
    struct db_req *fail = NULL;
    for (int i = 0; i < p->max; i++) {
        struct db_conn *c = &p->conns[i];
        struct db_req *r = c->req;
        c->req = NULL;
        if (c->pinned_req) {
            c->pinned_req->next = fail;
            fail = c->pinned_req;
            c->pinned_req = NULL;
        }
        db_conn_close(c);
        event_free(c->io);
        event_free(c->timer);
        if (r) {
            r->failed = false;
            r->next = fail;
            fail = r;
        }
    }
    while (p->head) {
        struct db_req *r = p->head;
        queue_remove(p, r);
        r->next = fail;
        fail = r;
    }
    while (p->doomed) {
        struct db_req *r = p->doomed;
        doomed_remove(p, r);
        r->next = fail;
        fail = r;
    }
    while (fail) {
        struct db_req *r = fail;
        /* Each request is on exactly one of the lists above, so no node
         * is seen twice; the analyzer cannot know that. */
        fail = r->next; // NOLINT(clang-analyzer-unix.Malloc)
        if (r->failed)
            db_req_finish(r, &r->fail);
        else
            req_fail_now(r, DB_ERR_SHUTDOWN, "shutting down");
    }
    while (p->late) { /* their callbacks may queue more: until none */
        struct db_req *r = p->late;
        p->late = r->next;
        req_fail_now(r, DB_ERR_SHUTDOWN, "shutting down");
    }
    event_free(p->pump_ev);
    free(p->conns);
    db_dsn_deinit(&p->dsn);
    free(p);
}

void db_pool_stats(const struct db_pool *p, struct db_pool_stats *s)
{
    memset(s, 0, sizeof *s);
    s->max = p->max;
    s->waiting = p->waiting;
    for (int i = 0; i < p->max; i++) {
        enum dbc_state st = p->conns[i].state;
        if (st == DBC_IDLE || db_conn_busy(st))
            s->open++;
        if (db_conn_busy(st))
            s->in_use++;
    }
}

const char *db_pool_last_error(const struct db_pool *p)
{
    return p->last_error;
}
