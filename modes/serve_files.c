/* GET /v1/files[/{id}], GET /v1/files/{id}/content, DELETE /v1/files/{id}
 * and the routes (the upload is serve_files_upload.c). */
#include "serve_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "dberr.h"
#include "filestore.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"
#include "serve_files_int.h"
#include "serve_files_upload.h"
#include "serve_olist.h"
#include "serve_v1.h"

static int64_t now_s(void)
{
    return time_real_us() / 1000000;
}

static void reply_not_found(struct v1 *c, const char *id)
{
    http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "No such File object: %s", id);
    v1_free(c);
}

/* The {id} of the route, or NULL after answering 400. */
static const char *id_param(struct v1 *c)
{
    const char *id = http_req_param(c->r, "id");
    if (!id || !filestore_id_valid(id)) {
        v1_reply_invalid(c, 400, "id", "file ids look like file- and 24 hex digits (as POST /v1/files answered)");
        return NULL;
    }
    return id;
}

/* GET /v1/files/{id} */
static void get_cb(const struct db_result *r, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
        return;
    }
    if (!row) {
        reply_not_found(c, http_req_param(c->r, "id"));
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    filestore_row_json(&b, row);
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
}

static void get_file(struct v1 *c)
{
    const char *id = id_param(c);
    if (!id)
        return;
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_get(&b, c->tenant, id, now_s());
    db_query(c->sj->rt->db, b.data, 0, get_cb, c);
    sbuf_deinit(&b);
}

/* GET /v1/files: a cursor page, newest first unless order=asc. */
static const struct serve_olist_spec list_spec = {
    .limit_max = 10000, /* OpenAI's range and default */
    .limit_default = 10000,
    .order = true,
    .id_valid = filestore_id_valid,
    .after_why = "must be a file id (file- and 24 hex digits) from an earlier page",
};

static void list_files(struct v1 *c)
{
    const char *purpose = http_req_query(c->r, "purpose");
    struct serve_olist p;
    if (!serve_olist_params(c, &list_spec, &p))
        return;
    if (purpose && (!purpose[0] || strlen(purpose) > FILESTORE_PURPOSE_MAX)) {
        v1_reply_invalid(c, 400, "purpose", "must be a purpose such as batch (1-32 bytes)");
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_list(&b, c->tenant, purpose, p.after, p.asc, p.limit, now_s());
    serve_olist_query(c, b.data, p.limit, filestore_row_json);
    sbuf_deinit(&b);
}

/* DELETE /v1/files/{id}: invisible at once; the chunks go in the background
 * (retention finishes the job if this process dies first). */
struct del_q {
    struct v1 *c;
    int tries;
    char id[FILESTORE_ID_LEN + 1];
};

/* A DELETE of a file being purged can deadlock with the purge's row delete
 * (this UPDATE locks files_id then the row, the purge the row then
 * files_id) and lose: rolled back whole, it is sent again, so a second
 * DELETE answers 404 every time, never a 503. */
#define DEL_TRIES 4

static void purged_cb(const char *err, void *arg)
{
    char *id = arg;
    if (err)
        log_warn("file %s: purging after delete failed: %s (retention will)", id, err);
    free(id);
}

static void seq_cb(const struct db_result *r, void *arg)
{
    struct runtime *rt = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (row)
        filestore_purge(rt->db, (uint64_t)db_row_ll(row, 0), purged_cb, xstrdup(db_row_str(row, 1)));
}

static void del_send(struct del_q *q);

static void del_cb(const struct db_result *r, void *arg)
{
    struct del_q *q = arg;
    struct v1 *c = q->c;
    if (!r->ok && dberr_is_lost_lock(r->err_code) && ++q->tries < DEL_TRIES) {
        log_debug("file %s: delete lost a lock conflict, sending it again: %s", q->id, r->error);
        del_send(q);
        return;
    }
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
    } else if (r->affected_rows == 0) {
        reply_not_found(c, q->id);
    } else {
        char body[128];
        int n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"object\":\"file\",\"deleted\":true}", q->id);
        http_reply_json(c->r, 200, body, (size_t)n);
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT seq, id FROM files WHERE id = '%s' AND state = %d", q->id, FILE_DELETED);
        db_query(c->sj->rt->db, sql, 0, seq_cb, c->sj->rt);
        v1_free(c);
    }
    free(q);
}

static void del_send(struct del_q *q)
{
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_delete(&b, q->c->tenant, q->id);
    db_query(q->c->sj->rt->db, b.data, 0, del_cb, q);
    sbuf_deinit(&b);
}

static void delete_file(struct v1 *c)
{
    const char *id = id_param(c);
    if (!id)
        return;
    struct del_q *q = xcalloc(1, sizeof *q);
    q->c = c;
    util_strcpy(q->id, sizeof q->id, id);
    del_send(q);
}

/* GET /v1/files/{id}/content: a chunk is fetched only once the client has
 * read all but about one chunk (http_stream_on_drain), so a slow reader
 * holds at most ~two chunks here. */
struct dl {
    struct serve_files *sf;
    struct v1 *c;
    uint64_t seq;
    unsigned chunks, next;
    bool fetching, gone;
};

static void dl_end(struct dl *d, bool complete)
{
    if (complete)
        http_stream_end(d->c->r);
    else
        http_stream_abort(d->c->r);
    v1_free(d->c);
    free(d);
}

static void dl_fetch(struct dl *d);

static void dl_chunk_cb(const struct db_result *r, void *arg)
{
    struct dl *d = arg;
    d->fetching = false;
    if (d->gone) {
        dl_end(d, true);
        return;
    }
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    unsigned long *lens = row ? mysql_fetch_lengths(r->res) : NULL;
    if (!row || !lens) {
        /* the reply has begun: cut it, so the client knows it is short
         * (a file deleted meanwhile, or the database failing) */
        LOG_AT(LOG_WARN, http_req_id(d->c->r), NULL, "file content: chunk %u of %u unavailable: %s", d->next,
               d->chunks, r->ok ? "missing (deleted meanwhile?)" : r->error);
        dl_end(d, false);
        return;
    }
    size_t queued = http_stream_write(d->c->r, row[0], lens[0]);
    metrics_add(d->sf->m_down_bytes, (double)lens[0]);
    d->next++;
    if (d->next == d->chunks) {
        dl_end(d, true);
        return;
    }
    if (queued <= FILESTORE_CHUNK)
        dl_fetch(d); /* else the drain callback asks */
}

static void dl_fetch(struct dl *d)
{
    char sql[128];
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_chunk_get(&b, d->seq, d->next);
    util_strcpy(sql, sizeof sql, b.data);
    sbuf_deinit(&b);
    d->fetching = true;
    db_query(d->c->sj->rt->db, sql, 0, dl_chunk_cb, d);
}

static void dl_drain_cb(struct http_req *r, void *arg)
{
    (void)r;
    struct dl *d = arg;
    if (!d->fetching && !d->gone && d->next < d->chunks)
        dl_fetch(d);
}

static void dl_gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    struct dl *d = arg;
    d->gone = true;
    if (!d->fetching)
        dl_end(d, true);
}

static void content_cb(const struct db_result *r, void *arg)
{
    struct dl *d = arg;
    struct v1 *c = d->c;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok || !row) {
        free(d);
        if (!r->ok) {
            v1_reply_db_error(c->r, r->err_code, r->error, "");
            v1_free(c);
        } else {
            reply_not_found(c, http_req_param(c->r, "id"));
        }
        return;
    }
    d->seq = (uint64_t)db_row_ll(row, 6);
    d->chunks = (unsigned)db_row_ll(row, 7);
    http_stream_begin(c->r, 200, "application/octet-stream", dl_gone_cb, d);
    if (http_req_gone(c->r) || d->chunks == 0) {
        dl_end(d, true);
        return;
    }
    http_stream_on_drain(c->r, FILESTORE_CHUNK, dl_drain_cb, d);
    dl_fetch(d);
}

static void get_content(struct v1 *c)
{
    const char *id = id_param(c);
    if (!id)
        return;
    struct dl *d = xcalloc(1, sizeof *d);
    d->sf = c->route_arg;
    d->c = c;
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_get(&b, c->tenant, id, now_s());
    db_query(c->sj->rt->db, b.data, 0, content_cb, d);
    sbuf_deinit(&b);
}

static void upload(struct v1 *c)
{
    files_upload(c->route_arg, c);
}

#define FILES_ROUTE(fn)                                                                      \
    static void fn##_route(struct http_req *r, void *arg)                                   \
    {                                                                                        \
        struct serve_files *sf = arg;                                                        \
        v1_start_arg(sf->sj, r, fn, sf);                                                     \
    }
FILES_ROUTE(upload)
FILES_ROUTE(list_files)
FILES_ROUTE(get_file)
FILES_ROUTE(delete_file)
FILES_ROUTE(get_content)

struct serve_files *serve_files_routes(struct httpd *h, struct serve_jobs *sj)
{
    struct serve_files *sf = xcalloc(1, sizeof *sf);
    struct metrics *m = sj->rt->metrics;
    sf->sj = sj;
    sf->f_uploads = metrics_family(m, METRIC_COUNTER, "ingot_file_uploads_total",
                                   "POST /v1/files by outcome: stored, refused (4xx), aborted (client left), failed (5xx).");
    sf->m_up_bytes = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_file_upload_bytes_total",
                                                   "File bytes stored by POST /v1/files."), "");
    sf->m_down_bytes = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_file_download_bytes_total",
                                                     "File bytes sent by GET /v1/files/{id}/content."), "");
    sf->m_uploading = metrics_series(metrics_family(m, METRIC_GAUGE, "ingot_file_uploads_in_progress",
                                                    "Uploads being received now."), "");
    /* the body limit: the file plus room for the form around it */
    uint64_t max = (uint64_t)sj->rt->cfg->files_max_bytes + (uint64_t)1024 * 1024;
    httpd_route_stream(h, HTTP_M_POST, "/v1/files", max, upload_route, sf);
    httpd_route(h, HTTP_M_GET, "/v1/files", 0, list_files_route, sf);
    httpd_route(h, HTTP_M_GET, "/v1/files/{id}", 0, get_file_route, sf);
    httpd_route(h, HTTP_M_DELETE, "/v1/files/{id}", 0, delete_file_route, sf);
    httpd_route(h, HTTP_M_GET, "/v1/files/{id}/content", 0, get_content_route, sf);
    return sf;
}

void serve_files_free(struct serve_files *f)
{
    free(f);
}
