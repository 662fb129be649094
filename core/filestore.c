#include "filestore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sql.h"

#define PURGE_BATCH 8 /* chunks per DELETE: ~4 MiB, a short statement */

int filestore_new_id(char *out)
{
    unsigned char r[12];
    if (util_random_bytes(r, sizeof r) < 0)
        return -1;
    memcpy(out, "file-", 5);
    util_hex(r, sizeof r, out + 5);
    out[FILESTORE_ID_LEN] = '\0';
    return 0;
}

bool filestore_id_valid(const char *id)
{
    if (strncmp(id, "file-", 5) != 0 || strlen(id) != FILESTORE_ID_LEN)
        return false;
    for (const char *p = id + 5; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

void filestore_sql_insert(struct sbuf *b, const char *id, uint64_t tenant, int64_t now)
{
    sbuf_printf(b, "INSERT INTO files (id, tenant_id, state, created_at) VALUES ('%s', %llu, %d, %lld)", id,
                (unsigned long long)tenant, FILE_UPLOADING, (long long)now);
}

void filestore_sql_chunk(struct sbuf *b, uint64_t seq, unsigned n, const char *data, size_t len)
{
    sbuf_reserve(b, 2 * len + 96);
    sbuf_printf(b, "INSERT INTO file_chunks (file_seq, n, data) VALUES (%llu, %u, ", (unsigned long long)seq, n);
    sql_str(b, data, len);
    sbuf_puts(b, ")");
}

void filestore_sql_ready(struct sbuf *b, uint64_t seq, const char *purpose, const char *filename,
                         uint64_t bytes, unsigned chunks, unsigned lines, int64_t expires_at)
{
    sbuf_printf(b, "UPDATE files SET state = %d, purpose = ", FILE_READY);
    sql_cstr(b, purpose);
    sbuf_puts(b, ", filename = ");
    sql_cstr(b, filename);
    sbuf_printf(b, ", bytes = %llu, chunks = %u, line_count = %u, expires_at = ", (unsigned long long)bytes, chunks,
                lines);
    if (expires_at < 0)
        sbuf_puts(b, "NULL");
    else
        sbuf_printf(b, "created_at + %lld", (long long)expires_at);
    sbuf_printf(b, " WHERE seq = %llu AND state = %d", (unsigned long long)seq, FILE_UPLOADING);
}

/* Ready and not expired (retention may not have purged it yet). */
static void visible(struct sbuf *b, uint64_t tenant, int64_t now)
{
    sbuf_printf(b, "tenant_id = %llu AND state = %d AND (expires_at IS NULL OR expires_at > %lld)",
                (unsigned long long)tenant, FILE_READY, (long long)now);
}

void filestore_sql_get(struct sbuf *b, uint64_t tenant, const char *id, int64_t now)
{
    sbuf_puts(b, "SELECT " FILESTORE_COLS " FROM files WHERE id = ");
    sql_cstr(b, id);
    sbuf_puts(b, " AND ");
    visible(b, tenant, now);
}

void filestore_sql_list(struct sbuf *b, uint64_t tenant, const char *purpose, const char *after,
                        bool asc, long limit, int64_t now)
{
    /* the index (tenant_id[, purpose], state, seq) serves the order */
    sbuf_puts(b, "SELECT " FILESTORE_COLS " FROM files WHERE ");
    visible(b, tenant, now);
    if (purpose) {
        sbuf_puts(b, " AND purpose = ");
        sql_cstr(b, purpose);
    }
    if (after) {
        sbuf_printf(b, " AND seq %c COALESCE((SELECT a.seq FROM files a WHERE a.tenant_id = %llu AND a.id = ",
                    asc ? '>' : '<', (unsigned long long)tenant);
        sql_cstr(b, after);
        sbuf_puts(b, "), 0)");
    }
    sbuf_printf(b, " ORDER BY seq %s LIMIT %ld", asc ? "ASC" : "DESC", limit + 1);
}

void filestore_sql_chunk_get(struct sbuf *b, uint64_t seq, unsigned n)
{
    sbuf_printf(b, "SELECT data FROM file_chunks WHERE file_seq = %llu AND n = %u", (unsigned long long)seq, n);
}

void filestore_sql_delete(struct sbuf *b, uint64_t tenant, const char *id)
{
    sbuf_printf(b, "UPDATE files SET state = %d WHERE tenant_id = %llu AND state = %d AND id = ", FILE_DELETED,
                (unsigned long long)tenant, FILE_READY);
    sql_cstr(b, id);
}

void filestore_row_json(struct sbuf *b, MYSQL_ROW row)
{
    sbuf_puts(b, "{\"object\":\"file\",\"id\":");
    sbuf_json_str(b, db_row_str(row, 0));
    sbuf_printf(b, ",\"bytes\":%lld,\"created_at\":%lld,\"filename\":", db_row_ll(row, 1), db_row_ll(row, 2));
    sbuf_json_str(b, db_row_str(row, 3));
    sbuf_puts(b, ",\"purpose\":");
    sbuf_json_str(b, db_row_str(row, 4));
    sbuf_puts(b, ",\"status\":\"processed\",\"expires_at\":");
    if (row[5])
        sbuf_printf(b, "%lld", db_row_ll(row, 5));
    else
        sbuf_puts(b, "null");
    sbuf_puts(b, ",\"status_details\":null}");
}

/* One file's purge: chunks in batches, then the row. */
struct purge {
    struct db_pool *db;
    uint64_t seq;
    bool row;
    filestore_done_fn done;
    void *arg;
};

static void purge_cb(const struct db_result *r, void *arg)
{
    struct purge *p = arg;
    char sql[160];
    if (!r->ok || p->row) {
        p->done(r->ok ? NULL : r->error, p->arg);
        free(p);
        return;
    }
    if (r->affected_rows >= PURGE_BATCH) {
        snprintf(sql, sizeof sql, "DELETE FROM file_chunks WHERE file_seq = %llu LIMIT %d",
                 (unsigned long long)p->seq, PURGE_BATCH);
    } else {
        p->row = true;
        snprintf(sql, sizeof sql, "DELETE FROM files WHERE seq = %llu AND state <> %d", (unsigned long long)p->seq,
                 FILE_READY);
    }
    db_query(p->db, sql, 0, purge_cb, p);
}

void filestore_purge(struct db_pool *db, uint64_t seq, filestore_done_fn done, void *arg)
{
    struct purge *p = xcalloc(1, sizeof *p);
    p->db = db;
    p->seq = seq;
    p->done = done;
    p->arg = arg;
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM file_chunks WHERE file_seq = %llu LIMIT %d", (unsigned long long)seq,
             PURGE_BATCH);
    db_query(db, sql, 0, purge_cb, p);
}

/* Retention: the files due, then each purged in turn. A ready file that
 * expired is marked deleted first, so the row-delete guard holds. */
struct due {
    struct db_pool *db;
    uint64_t *seqs;
    size_t n, at;
    unsigned long long purged;
    filestore_due_fn done;
    void *arg;
};

static void due_next(struct due *d);

static void due_one_cb(const char *err, void *arg)
{
    struct due *d = arg;
    if (err) {
        d->done(d->purged, err, d->arg);
        free(d->seqs);
        free(d);
        return;
    }
    d->purged++;
    d->at++;
    due_next(d);
}

static void due_mark_cb(const struct db_result *r, void *arg)
{
    struct due *d = arg;
    if (!r->ok) {
        d->done(d->purged, r->error, d->arg);
        free(d->seqs);
        free(d);
        return;
    }
    filestore_purge(d->db, d->seqs[d->at], due_one_cb, d);
}

static void due_next(struct due *d)
{
    if (d->at == d->n) {
        d->done(d->purged, NULL, d->arg);
        free(d->seqs);
        free(d);
        return;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE files SET state = %d WHERE seq = %llu AND state = %d", FILE_DELETED,
             (unsigned long long)d->seqs[d->at], FILE_READY);
    db_query(d->db, sql, 0, due_mark_cb, d);
}

static void due_select_cb(const struct db_result *r, void *arg)
{
    struct due *d = arg;
    if (!r->ok) {
        d->done(0, r->error, d->arg);
        free(d);
        return;
    }
    size_t rows = (size_t)mysql_num_rows(r->res);
    d->seqs = xcalloc(rows ? rows : 1, sizeof *d->seqs);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && d->n < rows)
        d->seqs[d->n++] = (uint64_t)db_row_ll(row, 0);
    due_next(d);
}

void filestore_purge_due(struct db_pool *db, int max_files, filestore_due_fn done, void *arg)
{
    struct due *d = xcalloc(1, sizeof *d);
    d->db = db;
    d->done = done;
    d->arg = arg;
    int64_t now = time_real_us() / 1000000;
    char sql[400];
    /* each arm has its index: files_expires, files_state */
    snprintf(sql, sizeof sql,
             "(SELECT seq FROM files WHERE expires_at <= %lld LIMIT %d) UNION "
             "(SELECT seq FROM files WHERE state = %d LIMIT %d) UNION "
             "(SELECT seq FROM files WHERE state = %d AND updated_at < NOW(6) - INTERVAL 1 DAY LIMIT %d)",
             (long long)now, max_files, FILE_DELETED, max_files, FILE_UPLOADING, max_files);
    db_query(db, sql, 0, due_select_cb, d);
}
