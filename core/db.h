/* db: a pool of MariaDB connections driven by the non-blocking client API
 * on the loop. One query in flight per connection; callers queue. Every
 * query has a deadline (waiting included); a query abandoned by its
 * deadline closes its connection. Connections reconnect explicitly with
 * backoff (never MYSQL_OPT_RECONNECT). Host names resolve through the
 * loop's async resolver. */
#ifndef INGOT_DB_H
#define INGOT_DB_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct loop;
struct metrics;
struct db_pool;

/* err_code values beyond MariaDB's own. */
#define DB_ERR_TIMEOUT 10001
#define DB_ERR_UNAVAILABLE 10002
#define DB_ERR_SHUTDOWN 10003
#define DB_ERR_UNSUPPORTED 10004 /* db_bulk: the server (or a proxy) has no bulk execution */
#define DB_ERR_BIND 10005        /* db_bulk: the parameters do not fit the statement */

struct db_result {
    bool ok;
    unsigned err_code;     /* MariaDB errno, DB_ERR_*, or 0 */
    const char *error;     /* message, no secrets; "" when ok */
    MYSQL_RES *res;        /* rows (borrowed; freed after the callback) or NULL */
    unsigned long long affected_rows;
    unsigned long long insert_id;
};

/* Runs exactly once per query, never from inside db_query(). */
typedef void (*db_query_cb)(const struct db_result *r, void *arg);

struct db_pool_opts {
    const char *url;               /* DATABASE_URL (validated) */
    int max_connections;
    long long connect_timeout_ms;
    long long query_timeout_ms;    /* default deadline */
};

struct db_pool_stats {
    int open;     /* connected */
    int in_use;   /* running a query */
    int waiting;  /* queries queued for a connection */
    int max;
};

/* Returns owned; borrows loop and metrics (may be NULL). */
struct db_pool *db_pool_new(struct loop *l, struct metrics *m, const struct db_pool_opts *o,
                            char *err, size_t errlen);
/* Fails queued queries with DB_ERR_SHUTDOWN, closes every connection.
 * Queries their callbacks make fail the same way before it returns. */
void db_pool_free(struct db_pool *p);
/* Queues sql (copied). timeout_ms 0: the pool's default. */
void db_query(struct db_pool *p, const char *sql, long long timeout_ms, db_query_cb cb, void *arg);
/* A bulk INSERT: one statement with `?` placeholders run for many rows in
 * one round trip (MariaDB's array binding). The server skips the per-row
 * parse of a multi-row INSERT text: ~40% less of its CPU per row.
 * binds[] describe row 0 of an array of `rows` rows of row_size bytes
 * (row-wise binding); the caller keeps binds and rows unchanged until cb
 * runs. The statement is prepared once per connection and kept (another
 * text prepares the same handle again). DB_ERR_UNSUPPORTED when the
 * connection does not offer bulk execution; DB_ERR_BIND for parameters
 * that do not fit the statement, or no rows. */
struct db_bulk {
    const char *sql; /* copied */
    MYSQL_BIND *binds;
    unsigned nparams, rows;
    size_t row_size;
};
void db_bulk(struct db_pool *p, const struct db_bulk *b, long long timeout_ms, db_query_cb cb, void *arg);
/* Tests: the pool answers db_bulk as if the server had no bulk execution. */
void db_pool_set_no_bulk(struct db_pool *p, bool on);

/* Transactions hold one connection from START TRANSACTION to COMMIT or
 * ROLLBACK, one statement at a time. Every begun transaction is ended
 * exactly once (also after an error); the end's callback is its last and
 * frees it. A lost connection fails the later statements. */
struct db_txn;
struct db_txn *db_txn_begin(struct db_pool *p, long long timeout_ms, db_query_cb cb, void *arg);
void db_txn_query(struct db_txn *t, const char *sql, long long timeout_ms, db_query_cb cb, void *arg);
void db_txn_end(struct db_txn *t, bool commit, db_query_cb cb, void *arg);
/* A session: one connection held from first_sql to last_sql (for session
 * state such as a named lock, which must not go back to the pool). Same
 * rules as a transaction; db_txn_query runs statements in it. */
struct db_txn *db_session_begin(struct db_pool *p, const char *first_sql, long long timeout_ms,
                                db_query_cb cb, void *arg);
void db_session_end(struct db_txn *t, const char *last_sql, db_query_cb cb, void *arg);

void db_pool_stats(const struct db_pool *p, struct db_pool_stats *s);
/* Message of the last connection failure ("" if none). */
const char *db_pool_last_error(const struct db_pool *p);
/* Opens one connection now so the first request does not pay for it. */
void db_pool_warm(struct db_pool *p);

/* Row helpers for callbacks. */
const char *db_row_str(MYSQL_ROW row, unsigned col); /* "" for NULL */
long long db_row_ll(MYSQL_ROW row, unsigned col);    /* 0 for NULL */

#endif
