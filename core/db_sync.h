/* db_sync: blocking MariaDB helpers for one-shot commands (migrate,
 * doctor, admin), which may block; long-running roles use db.h. */
#ifndef INGOT_DB_SYNC_H
#define INGOT_DB_SYNC_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Returns an open connection (caller closes with mysql_close) or NULL with
 * a message that never contains the password. */
MYSQL *db_sync_connect(const char *url, long long timeout_ms, char *err, size_t errlen);
/* Runs sql (several statements allowed), discarding results. 0/-1. */
int db_sync_exec(MYSQL *m, const char *sql, char *err, size_t errlen) ATTR_WUR;
/* Runs one statement and returns its stored rows (caller frees), or NULL
 * with err set. */
MYSQL_RES *db_sync_query(MYSQL *m, const char *sql, char *err, size_t errlen);
/* First column of the first row as a number, or -1 with err set. */
long long db_sync_scalar(MYSQL *m, const char *sql, char *err, size_t errlen);

#endif
