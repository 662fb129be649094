/* POST /v1/files: the multipart body is parsed as it arrives; the file's
 * bytes gather into a chunk and each full chunk is written to MariaDB
 * while the next one fills; when that one is full too the body pauses
 * (back-pressure to the client), so an upload costs about two chunks of
 * memory whatever its size. The row is inserted
 * first, invisible; it becomes ready only once every chunk is stored and
 * every field is valid. A refused, failed or abandoned upload is purged
 * before the answer, so nothing of it remains. With purpose=batch the
 * JSONL is checked line by line on the way (batchcheck), and a bad line
 * stops the upload at once when the purpose is already known. */
#include "serve_files_upload.h"

#include "serve_files_int.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchcheck.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "httpd.h"
#include "job.h"
#include "llm.h"
#include "log.h"
#include "metrics.h"
#include "multipart.h"
#include "runtime.h"
#include "serve_v1.h"

#define FIELD_MAX 64 /* a form field's value other than the file */
#define EXPIRES_MIN 3600LL
#define EXPIRES_MAX 2592000LL /* 30 days, OpenAI's range */

enum part { P_NONE, P_FILE, P_PURPOSE, P_ANCHOR, P_SECONDS };

struct upload {
    struct serve_files *sf;
    struct v1 *c;
    struct runtime *rt;
    struct multipart *mp;
    struct batchcheck *bc;
    char id[FILESTORE_ID_LEN + 1];
    uint64_t seq; /* the row, once inserted */
    int64_t created;
    long long expires; /* seconds after created; -1: never */
    enum part part;
    bool seen[5];
    char purpose[FILESTORE_PURPOSE_MAX + 1], anchor[FIELD_MAX + 1], seconds[FIELD_MAX + 1];
    char filename[FILESTORE_FILENAME_MAX + 1];
    struct sbuf val;
    struct sbuf chunk;
    unsigned nchunks;
    uint64_t bytes;
    bool writing; /* a statement in flight */
    bool ended;   /* the whole body was read */
    bool failing;
    int fail_status;
    char fail_param[200], fail_msg[520], fail_code[40];
};

static const char *const purposes[] = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"};

static void count(struct upload *u, const char *outcome)
{
    char labels[64];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    metrics_add(metrics_series(u->sf->f_uploads, labels), 1);
}

static void upload_free(struct upload *u)
{
    multipart_free(u->mp);
    batchcheck_free(u->bc);
    sbuf_deinit(&u->val);
    sbuf_deinit(&u->chunk);
    metrics_add(u->sf->m_uploading, -1);
    u->sf->uploading--;
    free(u);
}

static void reply_fail(struct upload *u)
{
    struct v1 *c = u->c;
    if (u->fail_status == 503) {
        http_add_header(c->r, "retry-after", "1");
        http_add_header(c->r, "retry-after-ms", "1000");
    }
    count(u, u->fail_status == 499 ? "aborted" : u->fail_status >= 500 ? "failed" : "refused");
    http_reply_error(c->r, u->fail_status, u->fail_status >= 500 ? "server_error" : "invalid_request_error",
                     u->fail_param[0] ? u->fail_param : NULL, u->fail_code, "%s", u->fail_msg);
    v1_free(c);
    upload_free(u);
}

static void purged_cb(const char *err, void *arg)
{
    struct upload *u = arg;
    if (err) /* retention purges it later (state uploading) */
        log_warn("file %s: purging a failed upload failed: %s (retention will)", u->id, err);
    reply_fail(u);
}

/* Nothing in flight: purge what was stored, then answer. */
static void fail_now(struct upload *u)
{
    if (u->seq)
        filestore_purge(u->rt->db, u->seq, purged_cb, u);
    else
        reply_fail(u);
}

static void fail(struct upload *u, int status, const char *param, const char *code, const char *fmt, ...)
    ATTR_FMT(5, 6);
static void fail(struct upload *u, int status, const char *param, const char *code, const char *fmt, ...)
{
    if (u->failing)
        return;
    u->failing = true;
    u->fail_status = status;
    util_strcpy(u->fail_param, sizeof u->fail_param, param ? param : "");
    util_strcpy(u->fail_code, sizeof u->fail_code, code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->fail_msg, sizeof u->fail_msg, fmt, ap);
    va_end(ap);
    http_body_pause(u->c->r);
    if (!u->writing)
        fail_now(u);
}

static void fail_db(struct upload *u, const char *err)
{
    log_warn("file %s: database error: %s", u->id, err ? err : "unknown");
    fail(u, 503, NULL, "database_unavailable", "the database is unavailable; retry the upload shortly");
}

/* The batch checker's verdict, as the 400 (or 503) it is. */
static void fail_batch(struct upload *u)
{
    const struct batchcheck_error *e = batchcheck_error(u->bc);
    char param[200];
    if (e->line)
        snprintf(param, sizeof param, "line[%zu]%s%s", e->line, e->field[0] ? "." : "", e->field);
    else
        snprintf(param, sizeof param, "file");
    fail(u, e->status, param, e->status == 503 ? "llm_not_ready" : "invalid_batch_file", "%s", e->message);
}

static bool batch_checked(const struct upload *u)
{
    return u->bc && (!u->seen[P_PURPOSE] || strcmp(u->purpose, "batch") == 0);
}

static int part_begin_cb(void *arg, const char *name, const char *filename, const char *ctype)
{
    (void)ctype; /* OpenAI goes by purpose, not by the part's type */
    struct upload *u = arg;
    static const char *const names[] = {NULL, "file", "purpose", "expires_after[anchor]", "expires_after[seconds]"};
    enum part p = P_NONE;
    for (int i = 1; i < 5 && p == P_NONE; i++)
        if (strcmp(name, names[i]) == 0)
            p = (enum part)i;
    if (p == P_NONE) {
        bool text = util_utf8_valid(name, strlen(name));
        fail(u, 400, text ? name : NULL, "unknown_parameter",
             "%s%sunknown form field; send file, purpose and optionally expires_after[anchor] and "
             "expires_after[seconds]", text ? name : "", text ? ": " : "");
        return -1;
    }
    if (u->seen[p]) {
        fail(u, 400, name, "invalid_value", "%s: given more than once", name);
        return -1;
    }
    u->seen[p] = true;
    u->part = p;
    sbuf_reset(&u->val);
    if (p != P_FILE)
        return 0;
    if (!filename || !filename[0] || strlen(filename) > FILESTORE_FILENAME_MAX ||
        !util_utf8_valid(filename, strlen(filename))) {
        fail(u, 400, "file", "invalid_value",
             "file: must be a file part with a filename of 1-%d bytes of UTF-8 text", FILESTORE_FILENAME_MAX);
        return -1;
    }
    util_strcpy(u->filename, sizeof u->filename, filename);
    return 0;
}

static int part_data_cb(void *arg, const char *data, size_t len)
{
    struct upload *u = arg;
    if (u->part != P_FILE) {
        if (u->val.len + len > FIELD_MAX) {
            static const char *const names[] = {"", "file", "purpose", "expires_after[anchor]", "expires_after[seconds]"};
            fail(u, 400, names[u->part], "invalid_value", "%s: too long (at most %d bytes)", names[u->part], FIELD_MAX);
            return -1;
        }
        sbuf_append(&u->val, data, len);
        return 0;
    }
    u->bytes += len;
    if (u->bytes > (uint64_t)u->rt->cfg->files_max_bytes) {
        fail(u, 413, "file", "file_too_large", "file: larger than %lld bytes (FILES_MAX_BYTES)",
             u->rt->cfg->files_max_bytes);
        return -1;
    }
    sbuf_append(&u->chunk, data, len);
    if (batch_checked(u) && batchcheck_feed(u->bc, data, len) < 0 && u->seen[P_PURPOSE]) {
        fail_batch(u); /* known to be a batch file: no need to read the rest */
        return -1;
    }
    return 0;
}

static int part_end_cb(void *arg)
{
    struct upload *u = arg;
    const char *v = u->val.len ? u->val.data : "";
    switch (u->part) {
    case P_PURPOSE:
        util_strcpy(u->purpose, sizeof u->purpose, v);
        break;
    case P_ANCHOR:
        util_strcpy(u->anchor, sizeof u->anchor, v);
        break;
    case P_SECONDS:
        util_strcpy(u->seconds, sizeof u->seconds, v);
        break;
    default:
        break;
    }
    /* a batch whose checker already failed stops now that we know */
    if (u->part == P_PURPOSE && u->bc && strcmp(u->purpose, "batch") == 0 && batchcheck_error(u->bc)) {
        fail_batch(u);
        return -1;
    }
    u->part = P_NONE;
    return 0;
}

static const struct multipart_cbs mp_cbs = {part_begin_cb, part_data_cb, part_end_cb};

static void write_chunk(struct upload *u);

/* Every field present and valid: 0 (u->expires set), or -1 after fail(). */
static int check_fields(struct upload *u)
{
    u->expires = -1;
    if (!u->seen[P_FILE]) {
        fail(u, 400, "file", "missing_required_parameter",
             "file is required: the file's bytes as a multipart part named file, with a filename");
        return -1;
    }
    if (!u->seen[P_PURPOSE]) {
        fail(u, 400, "purpose", "missing_required_parameter",
             "purpose is required: assistants, batch, fine-tune, vision, user_data or evals");
        return -1;
    }
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(purposes) && !known; i++)
        known = strcmp(u->purpose, purposes[i]) == 0;
    if (!known) {
        fail(u, 400, "purpose", "invalid_value",
             "purpose: must be assistants, batch, fine-tune, vision, user_data or evals");
        return -1;
    }
    if (u->seen[P_ANCHOR] != u->seen[P_SECONDS]) {
        const char *missing = u->seen[P_ANCHOR] ? "expires_after[seconds]" : "expires_after[anchor]";
        fail(u, 400, missing, "missing_required_parameter",
             "%s is required with the other expires_after field", missing);
        return -1;
    }
    if (u->seen[P_ANCHOR]) {
        if (strcmp(u->anchor, "created_at") != 0) {
            fail(u, 400, "expires_after[anchor]", "invalid_value", "expires_after[anchor]: must be created_at");
            return -1;
        }
        char *end;
        long long s = strtoll(u->seconds, &end, 10);
        if (!u->seconds[0] || *end || u->seconds[0] == '+' || u->seconds[0] == ' ' || s < EXPIRES_MIN ||
            s > EXPIRES_MAX) {
            fail(u, 400, "expires_after[seconds]", "invalid_value",
                 "expires_after[seconds]: must be a whole number from %lld (1 hour) to %lld (30 days)",
                 EXPIRES_MIN, EXPIRES_MAX);
            return -1;
        }
        u->expires = s;
    }
    if (strcmp(u->purpose, "batch") == 0 && u->bc && batchcheck_finish(u->bc) < 0) {
        fail_batch(u);
        return -1;
    }
    return 0;
}

static void ready_cb(const struct db_result *r, void *arg)
{
    struct upload *u = arg;
    u->writing = false;
    if (!r->ok) {
        fail_db(u, r->error);
        return;
    }
    if (r->affected_rows != 1) { /* purged meanwhile (stalled a day): no file */
        fail(u, 500, NULL, "upload_lost", "the upload was purged before it completed; upload the file again");
        return;
    }
    long long expires = u->expires;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"object\":\"file\",\"id\":");
    sbuf_json_str(&b, u->id);
    sbuf_printf(&b, ",\"bytes\":%llu,\"created_at\":%lld,\"filename\":", (unsigned long long)u->bytes,
                (long long)u->created);
    sbuf_json_str(&b, u->filename);
    sbuf_puts(&b, ",\"purpose\":");
    sbuf_json_str(&b, u->purpose);
    sbuf_puts(&b, ",\"status\":\"processed\",\"expires_at\":");
    if (expires >= 0)
        sbuf_printf(&b, "%lld", (long long)u->created + expires);
    else
        sbuf_puts(&b, "null");
    sbuf_puts(&b, ",\"status_details\":null}");
    count(u, "stored");
    metrics_add(u->sf->m_up_bytes, (double)u->bytes);
    http_reply_json(u->c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(u->c);
    upload_free(u);
}

/* The body was read: check the form, store the last chunk, make it ready. */
static void complete(struct upload *u)
{
    if (multipart_finish(u->mp) < 0) {
        fail(u, 400, "file", "invalid_multipart", "the multipart/form-data body is malformed: %s",
             multipart_error(u->mp));
        return;
    }
    if (check_fields(u) < 0)
        return;
    if (u->chunk.len) {
        write_chunk(u);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    size_t lines = u->bc && strcmp(u->purpose, "batch") == 0 ? batchcheck_lines(u->bc) : 0;
    filestore_sql_ready(&b, u->seq, u->purpose, u->filename, u->bytes, u->nchunks, (unsigned)lines, u->expires);
    u->writing = true;
    db_query(u->rt->db, b.data, 0, ready_cb, u);
    sbuf_deinit(&b);
}

static void chunk_cb(const struct db_result *r, void *arg)
{
    struct upload *u = arg;
    u->writing = false;
    if (u->failing) { /* failed while the chunk was written: purge now */
        fail_now(u);
        return;
    }
    if (!r->ok) {
        fail_db(u, r->error);
        return;
    }
    if (u->ended) {
        complete(u);
        return;
    }
    if (u->chunk.len >= FILESTORE_CHUNK) /* the next one filled meanwhile */
        write_chunk(u);
    http_body_resume(u->c->r); /* reading paused only when it had filled */
}

/* The chunk goes out (its bytes are copied into the statement) and the
 * next one fills while it is written: the body pauses only when that one
 * is full too, so reading and writing overlap with two chunks at most. */
static void write_chunk(struct upload *u)
{
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_chunk(&b, u->seq, u->nchunks++, u->chunk.data, u->chunk.len);
    sbuf_reset(&u->chunk);
    u->writing = true;
    db_query(u->rt->db, b.data, 0, chunk_cb, u);
    sbuf_deinit(&b);
}

static void body_cb(struct http_req *r, enum http_body_event ev, const char *data, size_t len, int status,
                    void *arg)
{
    struct upload *u = arg;
    if (u->failing)
        return;
    if (ev == HTTP_BODY_ERROR) {
        fail(u, status, status == 413 ? "file" : NULL, status == 499 ? "client_closed" : "invalid_request",
             "%.*s%s", (int)len, data,
             status == 413 ? " (FILES_MAX_BYTES)" : status == 499 ? "; nothing was stored" : "");
        return;
    }
    if (ev == HTTP_BODY_END) {
        u->ended = true;
        if (!u->writing) /* else the chunk's callback completes */
            complete(u);
        return;
    }
    if (multipart_feed(u->mp, data, len) < 0) {
        fail(u, 400, "file", "invalid_multipart", "the multipart/form-data body is malformed: %s",
             multipart_error(u->mp));
        return;
    }
    if (u->failing || u->chunk.len < FILESTORE_CHUNK)
        return;
    if (u->writing)
        http_body_pause(r); /* back-pressure: two chunks in hand */
    else
        write_chunk(u);
}

static void insert_cb(const struct db_result *r, void *arg)
{
    struct upload *u = arg;
    if (!r->ok) {
        fail_db(u, r->error);
        return;
    }
    u->seq = r->insert_id;
    if (http_body_read(u->c->r, body_cb, u) < 0)
        fail(u, 499, NULL, "client_closed", "the client closed the connection; nothing was stored");
}

static int batch_body_cb(void *arg, const char *url, const cJSON *body, struct job_error *e)
{
    struct upload *u = arg;
    struct llm *l = u->rt->llm;
    if (!l) {
        memset(e, 0, sizeof *e);
        e->status = 400;
        snprintf(e->param, sizeof e->param, "model");
        snprintf(e->message, sizeof e->message, "no LLM provider is available to run the model");
        return -1;
    }
    if (strcmp(url, "/v1/chat/completions") == 0)
        return llm_check(l, u->c->tenant, LLM_EP_CHAT, body, true, e);
    if (strcmp(url, "/v1/embeddings") == 0)
        return llm_check(l, u->c->tenant, LLM_EP_EMBED, body, true, e);
    if (strcmp(url, "/v1/responses") == 0)
        return llm_check(l, u->c->tenant, LLM_EP_RESPONSES, body, true, e);
    return llm_check_model(l, u->c->tenant, body, e);
}

void files_upload(struct serve_files *sf, struct v1 *c)
{
    char boundary[MULTIPART_BOUNDARY_MAX + 1], why[160];
    if (multipart_boundary(http_req_header(c->r, "Content-Type"), boundary, sizeof boundary, why, sizeof why) < 0) {
        http_reply_error(c->r, 400, "invalid_request_error", "Content-Type", "invalid_value", "%s", why);
        v1_free(c);
        return;
    }
    if (sf->uploading >= c->sj->rt->cfg->files_uploads_max) {
        /* bounded memory and connections: the SDKs retry a 503 */
        metrics_add(metrics_series(sf->f_uploads, "outcome=\"busy\""), 1);
        http_add_header(c->r, "retry-after", "1");
        http_add_header(c->r, "retry-after-ms", "1000");
        http_reply_error(c->r, 503, "server_error", NULL, "uploads_busy",
                         "this serve is taking %lld uploads already (FILES_UPLOADS_MAX); retry shortly",
                         c->sj->rt->cfg->files_uploads_max);
        v1_free(c);
        return;
    }
    struct upload *u = xcalloc(1, sizeof *u);
    u->sf = sf;
    u->c = c;
    u->rt = c->sj->rt;
    sf->uploading++;
    metrics_add(sf->m_uploading, 1);
    sbuf_init(&u->val);
    sbuf_init(&u->chunk);
    /* a chunk is cut once it reaches FILESTORE_CHUNK: one body piece (64
     * KiB, and a held-back boundary prefix) may come on top */
    sbuf_reserve(&u->chunk, FILESTORE_CHUNK + (size_t)65 * 1024);
    u->mp = multipart_new(boundary, &mp_cbs, u);
    struct batchcheck_opts bo = {.max_lines = (size_t)u->rt->cfg->files_batch_max_lines,
                                 .max_line_bytes = (size_t)u->rt->cfg->http_max_body,
                                 .body = batch_body_cb,
                                 .arg = u};
    u->bc = batchcheck_new(&bo);
    u->created = time_real_us() / 1000000;
    if (filestore_new_id(u->id) < 0) {
        fail(u, 503, NULL, "server_error", "no random bytes for a file id; retry shortly");
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_insert(&b, u->id, c->tenant, u->created);
    db_query(u->rt->db, b.data, 0, insert_cb, u);
    sbuf_deinit(&b);
}
