/* migrate: the embedded sql/NNNN_name.sql migrations, applied forward-only
 * under a database lock, each recorded with its SHA-256. */
#ifndef INGOT_MIGRATE_H
#define INGOT_MIGRATE_H

#include <mysql.h>
#include <stdio.h>

#include "util.h"

struct migration {
    int version;
    const char *name;
    const char *sql;
};

/* Generated at build time from sql/ (build/sql_embed.c). */
extern const struct migration migrate_embedded[];
extern const size_t migrate_embedded_count;

/* Highest version this binary needs. */
int migrate_required_version(void);

/* Applies what is missing; prints one line per migration to out. 0/-1. */
int migrate_up(MYSQL *m, FILE *out, char *err, size_t errlen) ATTR_WUR;
/* Prints version, name, state (applied/pending/changed/unknown). Returns
 * the number of problems (changed checksums), or -1 on error. */
int migrate_status(MYSQL *m, FILE *out, char *err, size_t errlen);
/* Version applied in the database (0 for none) and how many applied
 * migrations' checksums differ from the embedded ones; 0/-1. */
int migrate_inspect(MYSQL *m, int *applied, int *changed, char *err, size_t errlen) ATTR_WUR;

/* SQL for the async schema check of long-running roles: one row, the
 * highest applied version. */
#define MIGRATE_VERSION_SQL "SELECT COALESCE(MAX(version),0) FROM schema_migrations"

#endif
