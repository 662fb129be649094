#include "migrate.h"

#include <mysqld_error.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "db_sync.h"

/* Per database, as the scheduler's: lock names are server-wide, and two
 * installations sharing a server migrate without waiting on each other. */
#define LOCK_NAME "CONCAT('ingot.migrate.', MD5(DATABASE()))"
#define LOCK_WAIT_S 300

static const char *const create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " checksum CHAR(64) NOT NULL,"
    " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
    " duration_ms INT NOT NULL DEFAULT 0"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

int migrate_required_version(void)
{
    int v = 0;
    for (size_t i = 0; i < migrate_embedded_count; i++)
        if (migrate_embedded[i].version > v)
            v = migrate_embedded[i].version;
    return v;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    util_hex(md, 32, out);
}

struct applied {
    int version;
    char name[256];
    char checksum[65];
};

static int read_applied(MYSQL *m, struct applied **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    MYSQL_RES *res = db_sync_query(m, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                                   err, errlen);
    if (!res) {
        if (mysql_errno(m) == ER_NO_SUCH_TABLE)
            return 0;
        return -1;
    }
    size_t rows = (size_t)mysql_num_rows(res);
    *out = xcalloc(rows ? rows : 1, sizeof **out);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        struct applied *a = &(*out)[(*n)++];
        a->version = atoi(row[0]);
        snprintf(a->name, sizeof a->name, "%s", row[1] ? row[1] : "");
        snprintf(a->checksum, sizeof a->checksum, "%s", row[2] ? row[2] : "");
    }
    mysql_free_result(res);
    return 0;
}

static const struct applied *find_applied(const struct applied *a, size_t n, int version)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].version == version)
            return &a[i];
    return NULL;
}

static const struct migration *find_embedded(int version)
{
    for (size_t i = 0; i < migrate_embedded_count; i++)
        if (migrate_embedded[i].version == version)
            return &migrate_embedded[i];
    return NULL;
}

int migrate_inspect(MYSQL *m, int *applied_version, int *changed, char *err, size_t errlen)
{
    struct applied *a;
    size_t n;
    *applied_version = 0;
    *changed = 0;
    if (read_applied(m, &a, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (a[i].version > *applied_version)
            *applied_version = a[i].version;
        const struct migration *e = find_embedded(a[i].version);
        char sum[65];
        if (e) {
            sha256_hex(e->sql, sum);
            if (strcmp(sum, a[i].checksum) != 0)
                (*changed)++;
        }
    }
    free(a);
    return 0;
}

int migrate_up(MYSQL *m, FILE *out, char *err, size_t errlen)
{
    char sub[512];
    if (db_sync_exec(m, create_table_sql, sub, sizeof sub) < 0) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", sub);
        return -1;
    }
    char lock_sql[128];
    snprintf(lock_sql, sizeof lock_sql, "SELECT GET_LOCK(%s, %d)", LOCK_NAME, LOCK_WAIT_S);
    long long got = db_sync_scalar(m, lock_sql, sub, sizeof sub);
    if (got != 1) {
        snprintf(err, errlen, "could not take the migration lock within %ds (another migrate running?)%s%s",
                 LOCK_WAIT_S, got < 0 ? ": " : "", got < 0 ? sub : "");
        return -1;
    }
    struct applied *a = NULL;
    size_t n = 0;
    int rc = -1, count = 0;
    if (read_applied(m, &a, &n, sub, sizeof sub) < 0) {
        snprintf(err, errlen, "cannot read schema_migrations: %s", sub);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct migration *e = find_embedded(a[i].version);
        char sum[65];
        if (!e) {
            fprintf(out, "note: database has migration %04d_%s, unknown to this binary (a newer release applied it)\n",
                    a[i].version, a[i].name);
            continue;
        }
        sha256_hex(e->sql, sum);
        if (strcmp(sum, a[i].checksum) != 0) {
            snprintf(err, errlen,
                     "migration %04d_%s was changed after it was applied (checksum %.12s… in the "
                     "database, %.12s… in this binary); migrations are forward-only: restore it "
                     "and add a new one",
                     e->version, e->name, a[i].checksum, sum);
            goto out;
        }
    }
    for (size_t i = 0; i < migrate_embedded_count; i++) {
        const struct migration *e = &migrate_embedded[i];
        if (find_applied(a, n, e->version))
            continue;
        int64_t t0 = time_mono_ms();
        if (db_sync_exec(m, e->sql, sub, sizeof sub) < 0) {
            snprintf(err, errlen, "migration %04d_%s failed: %s (MariaDB DDL is not transactional: "
                                  "inspect the schema before re-running)",
                     e->version, e->name, sub);
            goto out;
        }
        long long ms = (long long)(time_mono_ms() - t0);
        char sum[65], rec[512];
        sha256_hex(e->sql, sum);
        snprintf(rec, sizeof rec,
                 "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES (%d, '%s', '%s', %lld)",
                 e->version, e->name, sum, ms);
        if (db_sync_exec(m, rec, sub, sizeof sub) < 0) {
            snprintf(err, errlen, "cannot record migration %04d_%s: %s", e->version, e->name, sub);
            goto out;
        }
        fprintf(out, "applied %04d_%s (%lld ms)\n", e->version, e->name, ms);
        count++;
    }
    if (count == 0)
        fprintf(out, "schema is up to date at version %d\n", migrate_required_version());
    else
        fprintf(out, "applied %d migration%s; schema at version %d\n", count, count == 1 ? "" : "s",
                migrate_required_version());
    rc = 0;
out:
    free(a);
    if (db_sync_exec(m, "DO RELEASE_LOCK(" LOCK_NAME ")", sub, sizeof sub) < 0 && rc == 0) {
        snprintf(err, errlen, "cannot release the migration lock: %s", sub);
        rc = -1;
    }
    return rc;
}

int migrate_status(MYSQL *m, FILE *out, char *err, size_t errlen)
{
    struct applied *a;
    size_t n;
    if (read_applied(m, &a, &n, err, errlen) < 0)
        return -1;
    int problems = 0;
    fprintf(out, "%-8s %-32s %s\n", "VERSION", "NAME", "STATE");
    for (size_t i = 0; i < migrate_embedded_count; i++) {
        const struct migration *e = &migrate_embedded[i];
        const struct applied *ap = find_applied(a, n, e->version);
        const char *state = "pending";
        if (ap) {
            char sum[65];
            sha256_hex(e->sql, sum);
            state = strcmp(sum, ap->checksum) == 0 ? "applied" : "CHANGED";
            if (*state == 'C')
                problems++;
        }
        fprintf(out, "%04d     %-32s %s\n", e->version, e->name, state);
    }
    for (size_t i = 0; i < n; i++)
        if (!find_embedded(a[i].version))
            fprintf(out, "%04d     %-32s %s\n", a[i].version, a[i].name, "applied (unknown to this binary)");
    free(a);
    return problems;
}
