#include "db_conn.h"

#include <errmsg.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"

static void conn_wait(struct db_conn *c, int status);

const char *db_conn_state_text(enum dbc_state s)
{
    static const char *const names[] = {"down",    "resolving", "connecting", "idle",     "querying",
                                        "storing", "pinned",    "preparing",  "executing"};
    return names[s];
}

bool db_conn_busy(enum dbc_state s)
{
    return s == DBC_QUERYING || s == DBC_STORING || s == DBC_PINNED || s == DBC_PREPARING || s == DBC_EXECUTING;
}

/* Statements die with their connection: after mysql_close a statement is
 * detached and closing it only frees memory (no COM_STMT_CLOSE). Never
 * closed on a live connection: that is the connector's blocking API. */
static void stmt_forget(struct db_conn *c)
{
    if (c->stmt) {
        mysql_stmt_close(c->stmt);
        c->stmt = NULL;
    }
    free(c->stmt_sql);
    c->stmt_sql = NULL;
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

/* Tears the connection down without blocking: shutting the socket first
 * makes mysql_close's COM_QUIT fail at once instead of waiting. */
void db_conn_close(struct db_conn *c)
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
    stmt_forget(c);
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
    struct timeval tv = loop_tv(wait);
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
    db_conn_close(c);
    conn_backoff(c);
    db_pool_pump(p);
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
    event_assign(c->io, c->pool->base, (evutil_socket_t)mysql_get_socket(c->m), flags, db_conn_io_cb,
                 c);
    if (status & MYSQL_WAIT_TIMEOUT) {
        struct timeval tv = loop_tv(mysql_get_timeout_value_ms(c->m));
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
    db_pool_pump(p);
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

/* code/msg: the failure (ok false); a client-side code means the link is
 * broken. affected: rows changed (ok true). */
static void conn_stmt_done(struct db_conn *c, bool ok, unsigned code, const char *msg,
                           unsigned long long affected, unsigned long long insert_id)
{
    struct db_pool *p = c->pool;
    struct db_req *r = c->req;
    struct db_result res = {.ok = ok, .error = ""};
    MYSQL_RES *rows = c->res;
    c->res = NULL;
    c->req = NULL;
    if (!ok) {
        snprintf(r->errbuf, sizeof r->errbuf, "%s", msg);
        res.err_code = code;
        res.error = r->errbuf;
        /* A lost connection is not reused; the next query gets a new one. */
        if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) { /* client-side: link broken */
            db_conn_close(c);
            db_conn_start_connect(c);
        } else {
            conn_after(c, r, false);
        }
    } else {
        res.res = rows;
        res.affected_rows = affected;
        res.insert_id = insert_id;
        conn_after(c, r, true);
    }
    evtimer_del(r->timer);
    r->conn = NULL;
    db_req_finish(r, &res);
    if (rows)
        mysql_free_result(rows);
    db_pool_pump(p);
}

static void conn_query_done(struct db_conn *c, bool ok)
{
    if (ok)
        conn_stmt_done(c, true, 0, "", mysql_affected_rows(c->m), mysql_insert_id(c->m));
    else
        conn_stmt_done(c, false, mysql_errno(c->m), mysql_error(c->m), 0, 0);
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

/* The statement must be prepared again (on the same handle: the connector
 * closes the old one on the server inside the non-blocking prepare). */
static void stmt_unprepared(struct db_conn *c)
{
    free(c->stmt_sql);
    c->stmt_sql = NULL;
}

/* A bulk statement failed. The connector keeps a non-blocking layer's own
 * failure on the connection, not the statement; no code at all leaves the
 * link in an unknown state, which closes it like a client-side error. */
static void bulk_failed(struct db_conn *c)
{
    char msg[MYSQL_ERRMSG_SIZE];
    unsigned code = mysql_stmt_errno(c->stmt);
    snprintf(msg, sizeof msg, "%s", mysql_stmt_error(c->stmt));
    if (!code) {
        code = mysql_errno(c->m);
        snprintf(msg, sizeof msg, "%s", mysql_error(c->m));
    }
    if (!code) {
        code = CR_UNKNOWN_ERROR;
        snprintf(msg, sizeof msg, "the bulk statement failed without an error code");
    }
    /* The server lost the statement (or wants it prepared again); other
     * server errors (a refused row) leave it usable. */
    if (code == 1243 /* ER_UNKNOWN_STMT_HANDLER */ || code == 1615 /* ER_NEED_REPREPARE */ ||
        c->state == DBC_PREPARING)
        stmt_unprepared(c);
    conn_stmt_done(c, false, code, msg, 0, 0);
}

static void bulk_step(struct db_conn *c, int status, int err);

static void bulk_execute(struct db_conn *c)
{
    struct db_bulk *b = &c->req->bulk;
    unsigned rows = b->rows;
    size_t row_size = b->row_size;
    if (mysql_stmt_param_count(c->stmt) != b->nparams || mysql_stmt_attr_set(c->stmt, STMT_ATTR_ARRAY_SIZE, &rows) ||
        mysql_stmt_attr_set(c->stmt, STMT_ATTR_ROW_SIZE, &row_size) || mysql_stmt_bind_param(c->stmt, b->binds)) {
        char msg[MYSQL_ERRMSG_SIZE + 64];
        snprintf(msg, sizeof msg, "binding %u parameters to a statement of %lu: %s", b->nparams,
                 mysql_stmt_param_count(c->stmt), mysql_stmt_error(c->stmt));
        c->state = DBC_IDLE;
        conn_stmt_done(c, false, DB_ERR_BIND, msg, 0, 0); /* the caller's mistake: the link is fine */
        return;
    }
    c->state = DBC_EXECUTING;
    int err = 0;
    int status = mysql_stmt_execute_start(&err, c->stmt);
    bulk_step(c, status, err);
}

/* Where a prepare or an execute leaves us: wait for the socket again,
 * fail, or go on (a prepared statement is executed; an executed one is
 * done). */
static void bulk_step(struct db_conn *c, int status, int err)
{
    if (status) {
        conn_wait(c, status);
        return;
    }
    if (err) {
        bulk_failed(c);
        return;
    }
    if (c->state == DBC_PREPARING) {
        c->stmt_sql = xstrdup(c->req->bulk.sql);
        bulk_execute(c);
        return;
    }
    conn_stmt_done(c, true, 0, "", mysql_stmt_affected_rows(c->stmt), mysql_stmt_insert_id(c->stmt));
}

static void bulk_run(struct db_conn *c)
{
    struct db_req *r = c->req;
    unsigned long caps = 0;
    mariadb_get_infov(c->m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &caps);
    if (c->pool->no_bulk || !(caps & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32))) {
        c->state = DBC_IDLE;
        conn_stmt_done(c, false, DB_ERR_UNSUPPORTED, "the database server does not offer bulk execution", 0, 0);
        return;
    }
    if (r->bulk.rows == 0) { /* an array size of 0 is a plain execute: its indicators ignored */
        c->state = DBC_IDLE;
        conn_stmt_done(c, false, DB_ERR_BIND, "a bulk statement needs at least one row", 0, 0);
        return;
    }
    if (c->stmt && c->stmt_sql && strcmp(c->stmt_sql, r->bulk.sql) == 0) {
        bulk_execute(c);
        return;
    }
    stmt_unprepared(c);
    if (!c->stmt)
        c->stmt = mysql_stmt_init(c->m);
    if (!c->stmt)
        abort();
    c->state = DBC_PREPARING;
    int err = 0;
    int status = mysql_stmt_prepare_start(&err, c->stmt, r->bulk.sql, (unsigned long)strlen(r->bulk.sql));
    bulk_step(c, status, err);
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
    case DBC_PREPARING: {
        int err = 0;
        status = mysql_stmt_prepare_cont(&err, c->stmt, status);
        bulk_step(c, status, err);
        return;
    }
    case DBC_EXECUTING: {
        int err = 0;
        status = mysql_stmt_execute_cont(&err, c->stmt, status);
        bulk_step(c, status, err);
        return;
    }
    default:
        log_error("database connection %d: unexpected io in state %s", c->index,
                  db_conn_state_text(c->state));
        return;
    }
}

void db_conn_io_cb(evutil_socket_t fd, short what, void *arg)
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

void db_conn_start_connect(struct db_conn *c)
{
    struct db_pool *p = c->pool;
    c->in_backoff = false;
    struct timeval tv = loop_tv(p->connect_timeout_ms);
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
void db_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_conn *c = arg;
    if (c->in_backoff) {
        c->in_backoff = false;
        if (c->pool->head)
            db_conn_start_connect(c);
        return;
    }
    if (c->state == DBC_CONNECTING || c->state == DBC_RESOLVING) {
        char msg[64];
        snprintf(msg, sizeof msg, "timed out after %lldms", c->pool->connect_timeout_ms);
        conn_failed(c, "connect", msg);
    }
}

void db_conn_run(struct db_conn *c, struct db_req *r)
{
    c->req = r;
    r->conn = c;
    if (r->bulk.binds) {
        bulk_run(c);
        return;
    }
    c->state = DBC_QUERYING;
    int err = 0;
    int status = mysql_real_query_start(&err, c->m, r->sql, (unsigned long)r->len);
    query_step(c, status, err);
}
