#include "jobidem.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "job.h"
#include "sql.h"

void jobidem_sql_hash(struct sbuf *b, const unsigned char *hash)
{
    if (!hash) {
        sbuf_puts(b, "NULL");
        return;
    }
    char hex[2 * JOB_HASH_LEN + 1];
    util_hex(hash, JOB_HASH_LEN, hex);
    sbuf_printf(b, "X'%s'", hex);
}

struct idem {
    struct db_pool *db;
    int tries;               /* inserts already sent again for this request */
    jobidem_done_fn done;
    void *arg;
};

static void idem_cleared_cb(const struct db_result *r, void *arg)
{
    struct idem *q = arg;
    q->done(r->ok ? JOBIDEM_CLEARED : JOBIDEM_ERROR, 0, r->err_code, r->ok ? NULL : r->error, q->arg);
    free(q);
}

static void idem_found_cb(const struct db_result *r, void *arg)
{
    struct idem *q = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    bool again = q->tries < JOBIDEM_TRIES;
    if (r->ok && !row && again) {
        /* Another request cleared the expired key between our INSERT and
         * this SELECT (or an uncertain INSERT did not commit): insert
         * again; the unique key still keeps it to one job. */
        q->done(JOBIDEM_CLEARED, 0, 0, NULL, q->arg);
        free(q);
        return;
    }
    if (!row || db_row_ll(row, 1) == 0 || !again) {
        if (row)
            q->done(db_row_ll(row, 2) ? JOBIDEM_SAME : JOBIDEM_OTHER, (uint64_t)db_row_ll(row, 0), 0, NULL, q->arg);
        else
            q->done(JOBIDEM_ERROR, 0, r->err_code,
                    r->ok ? "idempotency key vanished; retry the request" : r->error, q->arg);
        free(q);
        return;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE jobs SET idempotency_key = NULL WHERE id = %llu",
             (unsigned long long)db_row_ll(row, 0));
    db_query(q->db, sql, 0, idem_cleared_cb, q);
}

void jobidem_resolve(struct db_pool *db, uint64_t tenant, const char *key, const unsigned char *hash,
                     int tries, jobidem_done_fn done, void *arg)
{
    struct idem *q = xcalloc(1, sizeof *q);
    q->db = db;
    q->tries = tries;
    q->done = done;
    q->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT id, created_at < NOW(6) - INTERVAL 1 DAY, request_hash IS NULL OR request_hash = ");
    jobidem_sql_hash(&b, hash);
    sbuf_printf(&b, " FROM jobs WHERE tenant_id = %llu AND idempotency_key = ", (unsigned long long)tenant);
    sql_cstr(&b, key);
    db_query(db, b.data, 0, idem_found_cb, q);
    sbuf_deinit(&b);
}
