#include "jobstore_sql.h"

#include <stdlib.h>

#include "check.h"
#include "dberr.h"
#include "jobidem.h"
#include "jobstore.h"
#include "sql.h"

/* The server refused the statement itself (its error number, not ours or
 * the client library's): nothing was stored, and rows sent alone may pass.
 * A lost link or a timeout may have committed: never sent again. */
bool jobstore_sql_server_refused(const struct db_result *r)
{
    return !dberr_is_lost_lock(r->err_code) && r->err_code > 0 && r->err_code < 10000 &&
           !(r->err_code >= 2000 && r->err_code < 3000);
}

/* The INSERT may have committed: it was sent and then timed out, or the
 * link broke. Never sent again as is; a keyed request resolves its key. */
bool jobstore_sql_maybe_committed(const struct db_result *r)
{
    return r->err_code == DB_ERR_TIMEOUT || (r->err_code >= 2000 && r->err_code < 3000);
}

/* key: the idempotency key the row holds as stored ("K", or "batch:K" on
 * a batch's first row) or NULL, with its request's hash; batch_key: K on
 * every row of a keyed batch, else NULL. */
void jobstore_sql_values_row(struct sbuf *b, uint64_t tenant, const struct job_spec *s, const char *key,
                       const unsigned char *hash, const char *batch_key)
{
    sbuf_printf(b, "(%llu,", (unsigned long long)tenant);
    sql_cstr(b, s->queue);
    sbuf_printf(b, ",'%s',%d,", job_kind_name(s->kind), s->priority);
    if (s->has_run_at)
        sbuf_printf(b, "'%s'", s->run_at);
    else if (s->delay_ms)
        sbuf_printf(b, "TIMESTAMPADD(MICROSECOND,%lld,NOW(6))", check_ms_mul(s->delay_ms, 1000));
    else
        sbuf_puts(b, "NOW(6)");
    sbuf_putc(b, ',');
    sql_cstr(b, s->group);
    sbuf_printf(b, ",%d,%lld,%lld,%lld,", s->max_attempts, s->backoff_base_ms, s->backoff_max_ms,
                s->timeout_ms);
    sql_cstr(b, s->payload);
    sbuf_putc(b, ',');
    sql_cstr(b, s->metadata);
    sbuf_putc(b, ',');
    sql_cstr(b, s->callback_url);
    sbuf_putc(b, ',');
    sql_cstr(b, key);
    sbuf_putc(b, ',');
    jobidem_sql_hash(b, key ? hash : NULL);
    sbuf_putc(b, ',');
    sql_cstr(b, batch_key);
    if (s->key_id)
        sbuf_printf(b, ",%llu)", (unsigned long long)s->key_id);
    else
        sbuf_puts(b, ",NULL)");
}

void jobstore_insert_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *s)
{
    sbuf_puts(b, JOBSTORE_SQL_INSERT_HEAD);
    jobstore_sql_values_row(b, tenant, s, s->idempotency_key, NULL, NULL);
}

void jobstore_insert_rows_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *specs, size_t n)
{
    sbuf_puts(b, JOBSTORE_SQL_INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(b, ',');
        jobstore_sql_values_row(b, tenant, &specs[i], NULL, NULL, NULL);
    }
}

/* The RETURNING rows of an INSERT: ids[i] and the JSON of each in
 * json[i] (owned); false unless exactly n rows. */
bool jobstore_sql_returned_rows(const struct db_result *r, uint64_t *ids, char **json, size_t n)
{
    size_t i = 0;
    MYSQL_ROW row;
    while (r->res && (row = mysql_fetch_row(r->res))) {
        if (i == n)
            return false;
        struct sbuf b;
        sbuf_init(&b);
        jobread_json(row, mysql_fetch_lengths(r->res), &b);
        ids[i] = (uint64_t)db_row_ll(row, 0); /* our own id column */
        json[i++] = sbuf_steal(&b);
    }
    return i == n;
}

void jobstore_sql_free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
