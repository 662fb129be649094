#include "jobread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "job.h"
#include "jobfilter.h"
#include "sql.h"

enum {
    C_ID, C_QUEUE, C_KIND, C_STATE, C_PRIORITY, C_ATTEMPTS, C_MAX_ATTEMPTS, C_RUN_AT, C_GROUP,
    C_PAYLOAD, C_METADATA, C_CALLBACK, C_IDEM, C_RESULT, C_ERROR, C_CREATED, C_STARTED,
    C_FINISHED, C_TIMEOUT, C_BACKOFF_BASE, C_BACKOFF_MAX, C_USAGE
};

_Static_assert(C_ID == JOBREAD_COL_ID && C_CREATED == JOBREAD_COL_CREATED, "JOBREAD_COL_* follow the columns");
_Static_assert(C_KIND == JOBREAD_COL_KIND && C_STATE == JOBREAD_COL_STATE && C_PAYLOAD == JOBREAD_COL_PAYLOAD &&
                   C_RESULT == JOBREAD_COL_RESULT && C_ERROR == JOBREAD_COL_ERROR && C_FINISHED == JOBREAD_COL_FINISHED,
               "JOBREAD_COL_* follow the columns");

uint64_t jobread_parse_id(const char *s)
{
    /* 20 digits can exceed 64 bits: checked, not wrapped onto another id */
    unsigned long long v;
    if (!s || strncmp(s, "job_", 4) != 0 || check_parse_ull(s + 4, 10, UINT64_MAX, &v) < 0)
        return 0;
    return (uint64_t)v;
}

struct rows {
    jobread_rows_cb cb;
    void *arg;
};

static void rows_cb(const struct db_result *r, void *arg)
{
    struct rows *q = arg;
    q->cb(r->ok ? r->res : NULL, r->err_code, r->ok ? NULL : r->error, q->arg);
    free(q);
}

static void rows_query(struct db_pool *db, const char *sql, jobread_rows_cb cb, void *arg)
{
    struct rows *q = xmalloc(sizeof *q);
    q->cb = cb;
    q->arg = arg;
    db_query(db, sql, 0, rows_cb, q);
}

void jobread_get(struct db_pool *db, uint64_t tenant, uint64_t id, jobread_rows_cb cb, void *arg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT " JOBREAD_COLUMNS " FROM jobs");
    sbuf_printf(&b, " WHERE id = %llu AND tenant_id = %llu", (unsigned long long)id,
                (unsigned long long)tenant);
    rows_query(db, b.data, cb, arg);
    sbuf_deinit(&b);
}

/* The rows of one INSERT share its created_at, and a keyed batch's rows
 * carry the key: both together find exactly them (another row of the
 * tenant created in the same microsecond has another idempotency_batch). */
struct batch_read {
    struct db_pool *db;
    uint64_t tenant, first_id;
    size_t n;
    jobread_rows_cb cb;
    void *arg;
};

static void batch_legacy_query(struct batch_read *q);

static void batch_keyed_cb(const struct db_result *r, void *arg)
{
    struct batch_read *q = arg;
    if (r->ok && mysql_num_rows(r->res) == 0) {
        batch_legacy_query(q); /* the holder has no idempotency_batch */
        return;
    }
    q->cb(r->ok ? r->res : NULL, r->err_code, r->ok ? NULL : r->error, q->arg);
    free(q);
}

/* A batch of the previous release: the rows of the statement that began
 * at first_id (their ids are consecutive unless innodb_autoinc_lock_mode
 * = 2 interleaved other statements: the window allows for that). */
static void batch_legacy_query(struct batch_read *q)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT " JOBREAD_COLUMNS " FROM jobs");
    sbuf_printf(&b, " WHERE tenant_id = %llu AND id BETWEEN %llu AND %llu AND idempotency_batch IS NULL "
                    "AND created_at = (SELECT created_at FROM jobs WHERE id = %llu) ORDER BY id",
                (unsigned long long)q->tenant, (unsigned long long)q->first_id,
                (unsigned long long)q->first_id + q->n + 1000, (unsigned long long)q->first_id);
    rows_query(q->db, b.data, q->cb, q->arg);
    sbuf_deinit(&b);
    free(q);
}

void jobread_batch(struct db_pool *db, uint64_t tenant, const char *key, uint64_t first_id, size_t n,
                   jobread_rows_cb cb, void *arg)
{
    struct batch_read *q = xcalloc(1, sizeof *q);
    q->db = db;
    q->tenant = tenant;
    q->first_id = first_id;
    q->n = n;
    q->cb = cb;
    q->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT " JOBREAD_COLUMNS " FROM jobs");
    sbuf_printf(&b, " WHERE tenant_id = %llu AND idempotency_batch = ", (unsigned long long)tenant);
    sql_cstr(&b, key);
    sbuf_printf(&b, " AND created_at = (SELECT created_at FROM jobs WHERE id = %llu AND tenant_id = %llu) "
                    "ORDER BY id",
                (unsigned long long)first_id, (unsigned long long)tenant);
    db_query(db, b.data, 0, batch_keyed_cb, q);
    sbuf_deinit(&b);
}

void jobread_list(struct db_pool *db, uint64_t tenant, const struct jobfilter *f,
                  const struct jobfilter_pos *pos, int limit, jobread_rows_cb cb, void *arg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT " JOBREAD_COLUMNS " FROM jobs");
    sbuf_printf(&b, " WHERE tenant_id = %llu", (unsigned long long)tenant);
    jobfilter_sql(&b, f);
    jobfilter_page_sql(&b, f, pos);
    sbuf_printf(&b, " LIMIT %d", limit);
    rows_query(db, b.data, cb, arg);
    sbuf_deinit(&b);
}

/* ,"name": — puts, not printf: a batch renders a hundred jobs of fifteen
 * fields each, and formatting was a quarter of serve's time on it. */
static void json_key(struct sbuf *b, const char *name)
{
    sbuf_puts(b, ",\"");
    sbuf_puts(b, name);
    sbuf_puts(b, "\":");
}

static void json_field_str(struct sbuf *b, const char *name, const char *v, unsigned long len)
{
    json_key(b, name);
    if (v)
        sbuf_json_strn(b, v, len);
    else
        sbuf_puts(b, "null");
}

static void json_field_raw(struct sbuf *b, const char *name, const char *v, unsigned long len)
{
    json_key(b, name);
    if (v && len)
        sbuf_append(b, v, len); /* JSON we serialized ourselves */
    else
        sbuf_puts(b, "null");
}

/* A number column of our own (never NULL in these columns). */
static void json_field_num(struct sbuf *b, const char *name, const char *v)
{
    json_key(b, name);
    sbuf_puts(b, v ? v : "null");
}

void jobread_json(MYSQL_ROW row, const unsigned long *len, struct sbuf *b)
{
    sbuf_puts(b, "{\"id\":\"job_");
    sbuf_puts(b, row[C_ID]);
    sbuf_puts(b, "\",\"object\":\"job\"");
    json_field_str(b, "queue", row[C_QUEUE], len[C_QUEUE]);
    json_field_str(b, "kind", row[C_KIND], len[C_KIND]);
    json_key(b, "status");
    sbuf_putc(b, '"');
    sbuf_puts(b, job_state_name(atoi(row[C_STATE]))); /* our own TINYINT column */
    sbuf_putc(b, '"');
    json_field_num(b, "priority", row[C_PRIORITY]);
    json_field_num(b, "attempts", row[C_ATTEMPTS]);
    json_field_num(b, "max_attempts", row[C_MAX_ATTEMPTS]);
    json_field_str(b, "run_at", row[C_RUN_AT], len[C_RUN_AT]);
    json_field_str(b, "group", row[C_GROUP], len[C_GROUP]);
    json_field_num(b, "timeout_ms", row[C_TIMEOUT]);
    json_key(b, "backoff");
    sbuf_puts(b, "{\"base_ms\":");
    sbuf_puts(b, row[C_BACKOFF_BASE] ? row[C_BACKOFF_BASE] : "null");
    sbuf_puts(b, ",\"max_ms\":");
    sbuf_puts(b, row[C_BACKOFF_MAX] ? row[C_BACKOFF_MAX] : "null");
    sbuf_putc(b, '}');
    json_field_raw(b, "payload", row[C_PAYLOAD], len[C_PAYLOAD]);
    json_field_raw(b, "metadata", row[C_METADATA], len[C_METADATA]);
    json_field_str(b, "callback_url", row[C_CALLBACK], len[C_CALLBACK]);
    json_field_str(b, "idempotency_key", row[C_IDEM], len[C_IDEM]);
    json_field_raw(b, "result", row[C_RESULT], len[C_RESULT]);
    json_field_str(b, "last_error", row[C_ERROR], len[C_ERROR]);
    if (row[C_KIND] && strncmp(row[C_KIND], "llm.", 4) == 0) /* OpenAI's usage object, or null */
        json_field_raw(b, "usage", row[C_USAGE], len[C_USAGE]);
    json_field_str(b, "created_at", row[C_CREATED], len[C_CREATED]);
    json_field_str(b, "started_at", row[C_STARTED], len[C_STARTED]);
    json_field_str(b, "finished_at", row[C_FINISHED], len[C_FINISHED]);
    sbuf_putc(b, '}');
}
