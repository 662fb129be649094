#include "db.h"

#include <errmsg.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "url.h"

enum dbc_state {
    DBC_DOWN,       /* no connection; may wait in backoff */
    DBC_RESOLVING,  /* async DNS for the host */
    DBC_CONNECTING, /* mysql_real_connect_start/_cont */
    DBC_IDLE,       /* connected, free */
    DBC_QUERYING,   /* mysql_real_query_start/_cont */
    DBC_STORING,    /* mysql_store_result_start/_cont */
    DBC_PINNED      /* connected, reserved by an open transaction */
};

static const char *dbc_state_text(enum dbc_state s)
{
    static const char *const names[] = {"down",    "resolving", "connecting", "idle",
                                        "querying", "storing",  "pinned"};
    return names[s];
}

struct db_req {
    char *sql;
    size_t len;
    db_query_cb cb;
    void *arg;
    struct db_pool *pool;
    struct db_conn *conn;   /* set while running */
    struct event *timer;    /* deadline; also used to fail without reentry */
    struct db_result fail;  /* pending failure delivered by timer_cb */
    char errbuf[320];
    bool failed;
    struct db_txn *txn;     /* runs inside this transaction */
    bool txn_end;           /* COMMIT/ROLLBACK: releases the connection */
    struct db_req *next, *prev;
};

struct db_conn {
    struct db_pool *pool;
    int index;
    enum dbc_state state;
    MYSQL *m;
    struct event *io;
    struct event *timer;    /* connect deadline, or backoff */
    struct loop_resolve *dns_req;
    bool in_backoff;
    long long backoff_ms;
    struct db_req *req;
    MYSQL_RES *res;
    struct db_txn *txn;       /* open transaction holding this connection */
    struct db_req *pinned_req; /* its next statement, dispatched by the pump */
};

struct db_txn {
    struct db_pool *pool;
    struct db_conn *conn;     /* NULL until begun, or once lost */
    bool broken;
};

struct db_pool {
    struct loop *loop;
    struct event_base *base;
    struct db_dsn dsn;
    struct db_conn *conns;
    int max;
    long long connect_timeout_ms, query_timeout_ms;
    struct db_req *head, *tail; /* queued requests */
    struct db_req *doomed;      /* failed, callback pending on their timer */
    struct event *pump_ev;      /* dispatches new queries from the loop */
    int waiting;
    char last_error[256];
    bool failing;               /* the last connect attempt failed */
    struct metric_series *m_open, *m_in_use, *m_waiting, *m_max, *m_errors, *m_timeouts;
};

static void pool_pump(struct db_pool *p);
static void req_fail_later(struct db_pool *p, struct db_req *r, const char *msg);
static void conn_start_connect(struct db_conn *c);
static void conn_io_cb(evutil_socket_t fd, short what, void *arg);

static struct timeval ms_tv(long long ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
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

static void req_finish(struct db_req *r, const struct db_result *res)
{
    struct db_txn *t = r->txn_end ? r->txn : NULL;
    r->cb(res, r->arg);
    req_free(r);
    free(t); /* the end of a transaction is its last callback */
}

/* The connection under a transaction is gone: its later statements fail. */
static void txn_lose(struct db_conn *c)
{
    if (c->txn) {
        c->txn->broken = true;
        c->txn->conn = NULL;
        c->txn = NULL;
    }
}

static void req_fail_now(struct db_req *r, unsigned code, const char *msg)
{
    struct db_result res = {.ok = false, .err_code = code, .error = msg};
    req_finish(r, &res);
}

/* Tears the connection down without blocking: shutting the socket first
 * makes mysql_close's COM_QUIT fail at once instead of waiting. */
static void conn_close(struct db_conn *c)
{
    txn_lose(c);
    if (c->io)
        event_del(c->io);
    if (c->dns_req) {
        loop_resolve_cancel(c->dns_req);
        c->dns_req = NULL;
    }
    if (c->res) {
        mysql_free_result(c->res);
        c->res = NULL;
    }
    if (c->m) {
        int fd = (int)mysql_get_socket(c->m);
        if (fd >= 0 && c->state != DBC_IDLE && c->state != DBC_PINNED)
            shutdown(fd, SHUT_RDWR);
        mysql_close(c->m);
        c->m = NULL;
    }
    c->state = DBC_DOWN;
}

static void conn_backoff(struct db_conn *c)
{
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
    if (c->backoff_ms > 5000)
        c->backoff_ms = 5000;
    unsigned char j;
    if (util_random_bytes(&j, 1) < 0)
        j = 128;
    long long wait = c->backoff_ms / 2 + (c->backoff_ms / 2) * j / 255;
    c->in_backoff = true;
    struct timeval tv = ms_tv(wait);
    evtimer_add(c->timer, &tv);
}

static void conn_failed(struct db_conn *c, const char *what, const char *msg)
{
    struct db_pool *p = c->pool;
    snprintf(p->last_error, sizeof p->last_error, "%s: %s", what, msg);
    p->failing = true;
    if (p->m_errors)
        metrics_add(p->m_errors, 1);
    log_warn("database connection %d: %s", c->index, p->last_error);
    conn_close(c);
    conn_backoff(c);
    pool_pump(p);
}

/* Re-arms the io event on the connection's current socket. */
static void conn_wait(struct db_conn *c, int status)
{
    short flags = 0;
    if (status & MYSQL_WAIT_READ)
        flags |= EV_READ;
    if (status & MYSQL_WAIT_WRITE)
        flags |= EV_WRITE;
    if (status & MYSQL_WAIT_EXCEPT)
        flags |= EV_READ;
    event_del(c->io);
    event_assign(c->io, c->pool->base, (evutil_socket_t)mysql_get_socket(c->m), flags, conn_io_cb,
                 c);
    if (status & MYSQL_WAIT_TIMEOUT) {
        struct timeval tv = ms_tv(mysql_get_timeout_value_ms(c->m));
        event_add(c->io, &tv);
    } else {
        event_add(c->io, NULL);
    }
}

static void conn_connected(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    evtimer_del(c->timer);
    c->state = DBC_IDLE;
    c->backoff_ms = 0;
    if (p->failing)
        log_info("database connection %d established again", c->index);
    p->failing = false;
    p->last_error[0] = '\0';
    pool_pump(p);
}

/* Where a connection goes after a statement: back to the pool, or held
 * by its transaction until COMMIT/ROLLBACK. */
static void conn_after(struct db_conn *c, struct db_req *r, bool ok)
{
    struct db_txn *t = r->txn;
    if (!t || r->txn_end) {
        c->txn = NULL;
        if (t)
            t->conn = NULL;
        c->state = DBC_IDLE;
    } else if (!ok && !t->conn) {
        /* START TRANSACTION itself failed: nothing is held. */
        t->broken = true;
        c->state = DBC_IDLE;
    } else {
        t->conn = c;
        c->txn = t;
        c->state = DBC_PINNED;
    }
}

static void conn_query_done(struct db_conn *c, bool ok)
{
    struct db_pool *p = c->pool;
    struct db_req *r = c->req;
    struct db_result res = {.ok = ok, .error = ""};
    MYSQL_RES *rows = c->res;
    c->res = NULL;
    c->req = NULL;
    if (!ok) {
        unsigned code = mysql_errno(c->m);
        snprintf(r->errbuf, sizeof r->errbuf, "%s", mysql_error(c->m));
        res.err_code = code;
        res.error = r->errbuf;
        /* A lost connection is not reused; the next query gets a new one. */
        if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) { /* client-side: link broken */
            conn_close(c);
            conn_start_connect(c);
        } else {
            conn_after(c, r, false);
        }
    } else {
        res.res = rows;
        res.affected_rows = mysql_affected_rows(c->m);
        res.insert_id = mysql_insert_id(c->m);
        conn_after(c, r, true);
    }
    evtimer_del(r->timer);
    r->conn = NULL;
    req_finish(r, &res);
    if (rows)
        mysql_free_result(rows);
    pool_pump(p);
}

/* Where each non-blocking call leaves us: wait for the socket again, or
 * move on to the next stage. Shared by the _start and _cont paths. */
static void connect_step(struct db_conn *c, int status, MYSQL *ret)
{
    if (status) {
        conn_wait(c, status);
        return;
    }
    if (!ret) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", mysql_error(c->m));
        conn_failed(c, "connect", msg);
        return;
    }
    conn_connected(c);
}

static void store_step(struct db_conn *c, int status)
{
    if (status) {
        conn_wait(c, status);
        return;
    }
    conn_query_done(c, c->res || mysql_field_count(c->m) == 0);
}

static void query_step(struct db_conn *c, int status, int err)
{
    if (status) {
        conn_wait(c, status);
        return;
    }
    if (err) {
        conn_query_done(c, false);
        return;
    }
    c->state = DBC_STORING;
    store_step(c, mysql_store_result_start(&c->res, c->m));
}

static void conn_step(struct db_conn *c, int status)
{
    switch (c->state) {
    case DBC_CONNECTING: {
        MYSQL *ret = NULL;
        status = mysql_real_connect_cont(&ret, c->m, status);
        connect_step(c, status, ret);
        return;
    }
    case DBC_QUERYING: {
        int err = 0;
        status = mysql_real_query_cont(&err, c->m, status);
        query_step(c, status, err);
        return;
    }
    case DBC_STORING:
        store_step(c, mysql_store_result_cont(&c->res, c->m, status));
        return;
    default:
        log_error("database connection %d: unexpected io in state %s", c->index,
                  dbc_state_text(c->state));
        return;
    }
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    int status = 0;
    if (what & EV_READ)
        status |= MYSQL_WAIT_READ;
    if (what & EV_WRITE)
        status |= MYSQL_WAIT_WRITE;
    if (what & EV_TIMEOUT)
        status |= MYSQL_WAIT_TIMEOUT;
    conn_step(arg, status);
}

static void conn_connect_ip(struct db_conn *c, const char *host)
{
    struct db_pool *p = c->pool;
    c->m = mysql_init(NULL);
    if (!c->m)
        abort();
    mysql_options(c->m, MYSQL_OPT_NONBLOCK, 0);
    mysql_options(c->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(c->m, MYSQL_INIT_COMMAND,
                  "SET time_zone='+00:00', sql_mode='STRICT_ALL_TABLES,NO_ZERO_DATE,"
                  "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
    unsigned proto = p->dsn.socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options(c->m, MYSQL_OPT_PROTOCOL, &proto);
    c->state = DBC_CONNECTING;
    MYSQL *ret = NULL;
    int status = mysql_real_connect_start(&ret, c->m, host, p->dsn.user, p->dsn.password,
                                          p->dsn.database, (unsigned)p->dsn.port, p->dsn.socket,
                                          CLIENT_FOUND_ROWS);
    connect_step(c, status, ret);
}

static void conn_resolved_cb(const char *ip, const char *err, void *arg)
{
    struct db_conn *c = arg;
    c->dns_req = NULL;
    if (!ip)
        conn_failed(c, "resolve", err);
    else
        conn_connect_ip(c, ip);
}

static void conn_start_connect(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    c->in_backoff = false;
    struct timeval tv = ms_tv(p->connect_timeout_ms);
    evtimer_add(c->timer, &tv);
    if (p->dsn.socket) {
        conn_connect_ip(c, "localhost");
        return;
    }
    /* "localhost" means TCP to 127.0.0.1 here, not the client's default socket. */
    c->state = DBC_RESOLVING;
    c->dns_req = loop_resolve(p->loop, p->dsn.host, conn_resolved_cb, c);
}

/* Connect deadline or end of backoff. */
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_conn *c = arg;
    if (c->in_backoff) {
        c->in_backoff = false;
        if (c->pool->head)
            conn_start_connect(c);
        return;
    }
    if (c->state == DBC_CONNECTING || c->state == DBC_RESOLVING) {
        char msg[64];
        snprintf(msg, sizeof msg, "timed out after %lldms", c->pool->connect_timeout_ms);
        conn_failed(c, "connect", msg);
    }
}

static void doomed_remove(struct db_pool *p, struct db_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        p->doomed = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_req *r = arg;
    struct db_pool *p = r->pool;
    if (r->failed) { /* a failure decided earlier, delivered off the caller's stack */
        doomed_remove(p, r);
        req_finish(r, &r->fail);
        return;
    }
    if (p->m_timeouts)
        metrics_add(p->m_timeouts, 1);
    if (r->conn) {
        struct db_conn *c = r->conn;
        c->req = NULL;
        log_warn("database query abandoned after its deadline; closing connection %d (%s)",
                 c->index, dbc_state_text(c->state));
        conn_close(c);
        conn_start_connect(c);
    } else if (r->txn && r->txn->conn && r->txn->conn->pinned_req == r) {
        r->txn->conn->pinned_req = NULL;
    } else {
        queue_remove(p, r);
    }
    req_fail_now(r, DB_ERR_TIMEOUT, "database query timed out");
    pool_pump(p);
}

static void conn_run(struct db_conn *c, struct db_req *r)
{
    c->req = r;
    r->conn = c;
    c->state = DBC_QUERYING;
    int err = 0;
    int status = mysql_real_query_start(&err, c->m, r->sql, (unsigned long)r->len);
    query_step(c, status, err);
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
}

static void pool_pump(struct db_pool *p)
{
    for (int i = 0; i < p->max; i++) {
        struct db_conn *c = &p->conns[i];
        if (c->state == DBC_PINNED && c->pinned_req) {
            struct db_req *r = c->pinned_req;
            c->pinned_req = NULL;
            conn_run(c, r);
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
        conn_run(idle, r);
    }
    if (p->head) {
        int pending = 0;
        for (int i = 0; i < p->max; i++)
            if (p->conns[i].state == DBC_CONNECTING || p->conns[i].state == DBC_RESOLVING)
                pending++;
        for (int i = 0; i < p->max && pending < p->waiting; i++) {
            struct db_conn *c = &p->conns[i];
            if (c->state == DBC_DOWN && !c->in_backoff) {
                conn_start_connect(c);
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
    struct timeval tv = ms_tv(timeout_ms > 0 ? timeout_ms : p->query_timeout_ms);
    evtimer_add(r->timer, &tv);
    return r;
}

static void req_enqueue(struct db_pool *p, struct db_req *r)
{
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
    r->next = p->doomed;
    if (p->doomed)
        p->doomed->prev = r;
    p->doomed = r;
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

struct db_txn *db_txn_begin(struct db_pool *p, long long timeout_ms, db_query_cb cb, void *arg)
{
    struct db_txn *t = xcalloc(1, sizeof *t);
    t->pool = p;
    struct db_req *r = req_new(p, "START TRANSACTION", timeout_ms, cb, arg);
    r->txn = t;
    req_enqueue(p, r);
    return t;
}

static void txn_statement(struct db_txn *t, struct db_req *r)
{
    struct db_pool *p = t->pool;
    r->txn = t;
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

void db_txn_end(struct db_txn *t, bool commit, db_query_cb cb, void *arg)
{
    struct db_req *r = req_new(t->pool, commit ? "COMMIT" : "ROLLBACK", 0, cb, arg);
    r->txn_end = true;
    txn_statement(t, r);
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pool_pump(arg);
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
        c->io = event_new(p->base, -1, 0, conn_io_cb, c);
        c->timer = evtimer_new(p->base, conn_timer_cb, c);
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
    }
    return p;
}

void db_pool_warm(struct db_pool *p)
{
    if (p->conns[0].state == DBC_DOWN && !p->conns[0].in_backoff)
        conn_start_connect(&p->conns[0]);
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    /* Detach every request first, then call back: a callback then sees a
     * pool with nothing left in it. */
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
        conn_close(c);
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
            req_finish(r, &r->fail);
        else
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
        if (st == DBC_IDLE || st == DBC_QUERYING || st == DBC_STORING || st == DBC_PINNED)
            s->open++;
        if (st == DBC_QUERYING || st == DBC_STORING || st == DBC_PINNED)
            s->in_use++;
    }
}

const char *db_pool_last_error(const struct db_pool *p)
{
    return p->last_error;
}
