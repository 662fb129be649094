/* db_conn: one MariaDB connection of the pool (core/db.c) as a state
 * machine on the non-blocking client API: resolve, connect with a
 * deadline, run one statement (query, then store the result), close
 * without blocking, back off and reconnect. Internal to the db module: the
 * pool and its connections share these structures. */
#ifndef INGOT_DB_CONN_H
#define INGOT_DB_CONN_H

#include <event2/util.h>
#include <mysql.h>
#include <stdbool.h>
#include <sys/time.h>

#include "db.h"
#include "url.h"

struct loop_resolve;
struct metric_series;

enum dbc_state {
    DBC_DOWN,       /* no connection; may wait in backoff */
    DBC_RESOLVING,  /* async DNS for the host */
    DBC_CONNECTING, /* mysql_real_connect_start/_cont */
    DBC_IDLE,       /* connected, free */
    DBC_QUERYING,   /* mysql_real_query_start/_cont */
    DBC_STORING,    /* mysql_store_result_start/_cont */
    DBC_PINNED,     /* connected, reserved by an open transaction */
    DBC_PREPARING,  /* db_bulk: mysql_stmt_prepare_start/_cont */
    DBC_EXECUTING   /* db_bulk: mysql_stmt_execute_start/_cont */
};

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
    struct db_bulk bulk;    /* binds set: a db_bulk, sql is bulk.sql */
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
    MYSQL_STMT *stmt;         /* db_bulk's statement, prepared on this connection */
    char *stmt_sql;           /* its text */
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
    bool closing;               /* in db_pool_free: new requests go to late */
    bool no_bulk;               /* db_pool_set_no_bulk */
    struct db_req *late;        /* queued while closing; failed by db_pool_free */
    struct metric_series *m_open, *m_in_use, *m_waiting, *m_max, *m_errors, *m_timeouts, *m_up;
};

const char *db_conn_state_text(enum dbc_state s);
/* Starts connecting (or resolving) now. */
void db_conn_start_connect(struct db_conn *c);
/* In use: a statement of a request is running. */
bool db_conn_busy(enum dbc_state s);
/* Runs r on an idle (or pinned) connection. */
void db_conn_run(struct db_conn *c, struct db_req *r);
/* Tears the connection down without blocking; loses its transaction. */
void db_conn_close(struct db_conn *c);
void db_conn_io_cb(evutil_socket_t fd, short what, void *arg);
void db_conn_timer_cb(evutil_socket_t fd, short what, void *arg);

/* The pool side, called by connections. */
void db_pool_pump(struct db_pool *p);
void db_req_finish(struct db_req *r, const struct db_result *res);

#endif
