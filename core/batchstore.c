#include "batchstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "job.h"
#include "sql.h"

static const char *const status_names[BATCH_STATUS_COUNT] = {
    "validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"};

const char *batch_status_name(enum batch_status s)
{
    return (unsigned)s < BATCH_STATUS_COUNT ? status_names[s] : "failed";
}

int batchstore_new_id(char *out)
{
    unsigned char r[12];
    if (util_random_bytes(r, sizeof r) < 0)
        return -1;
    memcpy(out, "batch_", 6);
    util_hex(r, sizeof r, out + 6);
    out[BATCHSTORE_ID_LEN] = '\0';
    return 0;
}

bool batchstore_id_valid(const char *id)
{
    if (strncmp(id, "batch_", 6) != 0 || strlen(id) != BATCHSTORE_ID_LEN)
        return false;
    for (const char *p = id + 6; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

void batchstore_sql_insert(struct sbuf *b, const struct batch_new *n)
{
    sbuf_puts(b, "INSERT INTO batches (id, tenant_id, key_id, status, endpoint, input_file_id, input_file_seq, "
                 "input_chunks, metadata, output_expires_s, total, created_at, in_progress_at, expires_at) VALUES (");
    sql_cstr(b, n->id);
    sbuf_printf(b, ", %llu, ", (unsigned long long)n->tenant);
    if (n->key_id)
        sbuf_printf(b, "%llu", (unsigned long long)n->key_id);
    else
        sbuf_puts(b, "NULL");
    sbuf_printf(b, ", %d, ", BATCH_IN_PROGRESS);
    sql_cstr(b, n->endpoint);
    sbuf_puts(b, ", ");
    sql_cstr(b, n->input_file_id);
    sbuf_printf(b, ", %llu, %u, ", (unsigned long long)n->input_file_seq, n->input_chunks);
    sql_cstr(b, n->metadata);
    if (n->output_expires_s < 0)
        sbuf_puts(b, ", NULL");
    else
        sbuf_printf(b, ", %lld", n->output_expires_s);
    sbuf_printf(b, ", %u, %lld, %lld, %lld)", n->total, (long long)n->created_at, (long long)n->in_progress_at,
                (long long)n->expires_at);
}

void batchstore_sql_get(struct sbuf *b, uint64_t tenant, const char *id)
{
    sbuf_puts(b, "SELECT " BATCHSTORE_COLS " FROM batches WHERE id = ");
    sql_cstr(b, id);
    sbuf_printf(b, " AND tenant_id = %llu", (unsigned long long)tenant);
}

void batchstore_sql_list(struct sbuf *b, uint64_t tenant, const char *after, long limit)
{
    sbuf_printf(b, "SELECT " BATCHSTORE_COLS " FROM batches WHERE tenant_id = %llu", (unsigned long long)tenant);
    if (after) {
        /* an id that is not (or no longer) the tenant's starts nowhere */
        sbuf_printf(b, " AND seq < COALESCE((SELECT seq FROM batches WHERE tenant_id = %llu AND id = ",
                    (unsigned long long)tenant);
        sql_cstr(b, after);
        sbuf_puts(b, "), 0)");
    }
    sbuf_printf(b, " ORDER BY seq DESC LIMIT %ld", limit + 1);
}

static void num_or_null(struct sbuf *b, const char *name, const char *v)
{
    sbuf_printf(b, ",\"%s\":%s", name, v ? v : "null");
}

static void str_or_null(struct sbuf *b, const char *name, const char *v)
{
    sbuf_printf(b, ",\"%s\":", name);
    if (v)
        sbuf_json_str(b, v);
    else
        sbuf_puts(b, "null");
}

void batchstore_row_json(struct sbuf *b, MYSQL_ROW row)
{
    sbuf_puts(b, "{\"id\":");
    sbuf_json_str(b, db_row_str(row, 0));
    sbuf_puts(b, ",\"object\":\"batch\",\"endpoint\":");
    sbuf_json_str(b, db_row_str(row, 2));
    /* errors: only validation errors ({object: list, data}) or null */
    sbuf_printf(b, ",\"errors\":%s", row[22] ? row[22] : "null");
    sbuf_puts(b, ",\"input_file_id\":");
    sbuf_json_str(b, db_row_str(row, 3));
    sbuf_puts(b, ",\"completion_window\":");
    sbuf_json_str(b, db_row_str(row, 4));
    sbuf_printf(b, ",\"status\":\"%s\"", batch_status_name((enum batch_status)atoi(db_row_str(row, 1))));
    str_or_null(b, "output_file_id", row[23]);
    str_or_null(b, "error_file_id", row[24]);
    static const char *const times[] = {"created_at",   "in_progress_at", "expires_at",    "finalizing_at",
                                        "completed_at", "failed_at",      "expired_at",    "cancelling_at",
                                        "cancelled_at"};
    for (unsigned i = 0; i < ARRAY_LEN(times); i++)
        num_or_null(b, times[i], row[6 + i]);
    sbuf_printf(b, ",\"request_counts\":{\"total\":%s,\"completed\":%s,\"failed\":%s}", db_row_str(row, 15),
                db_row_str(row, 16), db_row_str(row, 17));
    long long in = atoll(db_row_str(row, 18)), out = atoll(db_row_str(row, 19));
    sbuf_printf(b,
                ",\"usage\":{\"input_tokens\":%lld,\"input_tokens_details\":{\"cached_tokens\":%s},"
                "\"output_tokens\":%lld,\"output_tokens_details\":{\"reasoning_tokens\":%s},\"total_tokens\":%lld}",
                in, db_row_str(row, 20), out, db_row_str(row, 21), in + out);
    sbuf_printf(b, ",\"metadata\":%s}", row[5] ? row[5] : "null");
}

void batchstore_sql_cancel(struct sbuf *b, uint64_t tenant, const char *id, int64_t now)
{
    sbuf_printf(b, "UPDATE batches SET status = %d, end_reason = %d, cancelling_at = %lld WHERE id = ", BATCH_CANCELLING,
                BATCH_END_CANCEL, (long long)now);
    sql_cstr(b, id);
    sbuf_printf(b, " AND tenant_id = %llu AND status IN (%d, %d)", (unsigned long long)tenant, BATCH_VALIDATING,
                BATCH_IN_PROGRESS);
}

void batchstore_sql_cancel_lines(struct sbuf *b, uint64_t tenant, const char *id)
{
    /* jobchange's cancel, for the queued lines of one batch (the index
     * jobs_queue_group has tenant, queue, state, group_key) */
    sbuf_printf(b,
                "UPDATE jobs SET state = %d, lease_token = NULL, lease_expires_at = NULL, finished_at = NOW(6), "
                "last_error = COALESCE(last_error, 'cancelled') WHERE tenant_id = %llu AND queue = '" BATCHSTORE_QUEUE
                "' AND state = %d AND group_key = ",
                JOB_CANCELLED, (unsigned long long)tenant, JOB_QUEUED);
    sql_cstr(b, id);
}
