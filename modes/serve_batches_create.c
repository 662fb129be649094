/* POST /v1/batches: checks the input file line by line against the
 * batch (every line's url is the batch's endpoint, every body passes the
 * engine's check: a routable model) and answers 400 naming the line and
 * field, or stores the batch in progress; the leading scheduler runs it
 * from there (modes/schedule_batches.c). */
#include "serve_batches_create.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchread.h"
#include "batchstore.h"
#include "config.h"
#include "db.h"
#include "filestore.h"
#include "httpd.h"
#include "llm.h"
#include "runtime.h"
#include "serve_v1.h"

#define OUT_EXPIRES_MIN 3600
#define OUT_EXPIRES_MAX 2592000

static int64_t now_s(void)
{
    return time_real_us() / 1000000;
}

struct create {
    struct v1 *c;
    struct batch_new n;
    char endpoint[32];
    char file_id[FILESTORE_ID_LEN + 1];
    char *metadata;           /* owned JSON text or NULL */
    enum llm_endpoint ep;
    unsigned lines;
    /* the first bad line */
    int status;
    char param[200], code[32], message[400];
};

static void create_free(struct create *k)
{
    free(k->metadata);
    free(k);
}

static void create_fail(struct create *k, int status, const char *param, const char *code, const char *msg)
{
    http_reply_error(k->c->r, status, status == 503 ? "server_error" : "invalid_request_error", param, code, "%s", msg);
    v1_free(k->c);
    create_free(k);
}

/* 0, or -1 with the reason (param, message) in k. */
static int check_metadata(const cJSON *m, struct create *k)
{
    if (cJSON_IsNull(m))
        return 0;
    int n = 0;
    if (!cJSON_IsObject(m)) {
        snprintf(k->message, sizeof k->message, "metadata must be an object of up to 16 string values");
        return -1;
    }
    for (const cJSON *f = m->child; f; f = f->next) {
        if (++n > BATCHSTORE_META_KEYS) {
            snprintf(k->message, sizeof k->message, "metadata has more than %d keys", BATCHSTORE_META_KEYS);
            return -1;
        }
        if (strlen(f->string) > BATCHSTORE_META_KEY_MAX) {
            snprintf(k->message, sizeof k->message, "metadata keys are at most %d characters", BATCHSTORE_META_KEY_MAX);
            return -1;
        }
        if (!cJSON_IsString(f) || strlen(f->valuestring) > BATCHSTORE_META_VALUE_MAX) {
            snprintf(k->message, sizeof k->message, "metadata.%.64s must be a string of at most %d characters",
                     f->string, BATCHSTORE_META_VALUE_MAX);
            return -1;
        }
    }
    char *t = cJSON_PrintUnformatted(m);
    k->metadata = t ? xstrdup(t) : NULL;
    cJSON_free(t);
    return 0;
}

/* The body into k: 0, or -1 after answering 400. */
static int create_parse(struct create *k, const cJSON *j)
{
    static const char *const known[] = {"input_file_id", "endpoint", "completion_window", "metadata",
                                        "output_expires_after"};
    if (!cJSON_IsObject(j)) {
        create_fail(k, 400, NULL, "invalid_value", "the body must be a JSON object");
        return -1;
    }
    for (const cJSON *f = j->child; f; f = f->next) {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_LEN(known); i++)
            ok = ok || strcmp(f->string, known[i]) == 0;
        if (!ok) {
            snprintf(k->message, sizeof k->message,
                     "unknown field %.64s (fields: input_file_id, endpoint, completion_window, metadata, "
                     "output_expires_after)", f->string);
            create_fail(k, 400, f->string, "unknown_parameter", k->message);
            return -1;
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "input_file_id");
    if (!cJSON_IsString(v) || !filestore_id_valid(v->valuestring)) {
        create_fail(k, 400, "input_file_id", v ? "invalid_value" : "missing_required_parameter",
                    "input_file_id must be the id of a file uploaded with purpose batch (file- and 24 hex digits)");
        return -1;
    }
    util_strcpy(k->file_id, sizeof k->file_id, v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "endpoint");
    if (!cJSON_IsString(v)) {
        create_fail(k, 400, "endpoint", v ? "invalid_value" : "missing_required_parameter",
                    "endpoint must be /v1/chat/completions, /v1/embeddings or /v1/responses");
        return -1;
    }
    if (strcmp(v->valuestring, "/v1/chat/completions") == 0) {
        k->ep = LLM_EP_CHAT;
    } else if (strcmp(v->valuestring, "/v1/embeddings") == 0) {
        k->ep = LLM_EP_EMBED;
    } else if (strcmp(v->valuestring, "/v1/responses") == 0) {
        k->ep = LLM_EP_RESPONSES;
    } else {
        create_fail(k, 400, "endpoint", "invalid_value",
                    "endpoint must be /v1/chat/completions, /v1/embeddings or /v1/responses");
        return -1;
    }
    util_strcpy(k->endpoint, sizeof k->endpoint, v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(j, "completion_window");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "24h") != 0) {
        create_fail(k, 400, "completion_window", v ? "invalid_value" : "missing_required_parameter",
                    "completion_window must be 24h");
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    if (v && check_metadata(v, k) < 0) {
        create_fail(k, 400, "metadata", "invalid_value", k->message);
        return -1;
    }
    k->n.output_expires_s = -1;
    v = cJSON_GetObjectItemCaseSensitive(j, "output_expires_after");
    if (v && !cJSON_IsNull(v)) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "anchor"),
                    *s = cJSON_GetObjectItemCaseSensitive(v, "seconds");
        if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsString(a) ||
            strcmp(a->valuestring, "created_at") != 0) {
            create_fail(k, 400, "output_expires_after", "invalid_value",
                        "output_expires_after must be {\"anchor\": \"created_at\", \"seconds\": 3600-2592000}");
            return -1;
        }
        if (!cJSON_IsNumber(s) || s->valuedouble != (double)(long long)s->valuedouble ||
            s->valuedouble < OUT_EXPIRES_MIN || s->valuedouble > OUT_EXPIRES_MAX) {
            create_fail(k, 400, "output_expires_after.seconds", "invalid_value",
                        "output_expires_after.seconds must be a whole number from 3600 to 2592000");
            return -1;
        }
        k->n.output_expires_s = (long long)s->valuedouble;
    }
    return 0;
}

static void created_cb(const struct db_result *r, void *arg)
{
    struct create *k = arg;
    struct v1 *c = k->c;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!row) {
        v1_reply_db_error(c->r, r->err_code, r->ok ? "the batch vanished after it was stored" : r->error, "");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        batchstore_row_json(&b, row);
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    v1_free(c);
    create_free(k);
}

static void insert_cb(const struct db_result *r, void *arg)
{
    struct create *k = arg;
    if (!r->ok) {
        v1_reply_db_error(k->c->r, r->err_code, r->error, "");
        v1_free(k->c);
        create_free(k);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    batchstore_sql_get(&b, k->c->tenant, k->n.id);
    db_query(k->c->sj->rt->db, b.data, 0, created_cb, k);
    sbuf_deinit(&b);
}

static int line_cb(void *arg, const char *line, size_t len, struct batchread_pos next)
{
    (void)next;
    struct create *k = arg;
    k->lines++;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url"),
                *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    int rc = 0;
    if (!cJSON_IsObject(j) || !cJSON_IsObject(body)) { /* checked on upload: the file changed since? */
        k->status = 400;
        snprintf(k->param, sizeof k->param, "line[%u]", k->lines);
        snprintf(k->message, sizeof k->message, "line %u is not a request object {custom_id, method, url, body}",
                 k->lines);
        rc = 1;
    } else if (!cJSON_IsString(url) || strcmp(url->valuestring, k->endpoint) != 0) {
        k->status = 400;
        snprintf(k->param, sizeof k->param, "line[%u].url", k->lines);
        snprintf(k->message, sizeof k->message,
                 "line %u has url %.100s but the batch's endpoint is %s: every line must use the batch's endpoint",
                 k->lines, cJSON_IsString(url) ? url->valuestring : "(none)", k->endpoint);
        rc = 1;
    } else {
        struct llm *l = k->c->sj->rt->llm;
        struct job_error e;
        memset(&e, 0, sizeof e);
        if (!l) {
            e.status = 503;
            snprintf(e.param, sizeof e.param, "model");
            snprintf(e.message, sizeof e.message, "no LLM provider is available to run the model");
        }
        if (!l || llm_check(l, k->c->tenant, k->ep, body, true, &e) < 0) {
            k->status = e.status ? e.status : 400;
            snprintf(k->param, sizeof k->param, "line[%u].body%s%.120s", k->lines, e.param[0] ? "." : "", e.param);
            snprintf(k->message, sizeof k->message, "line %u: %s", k->lines, e.message);
            util_strcpy(k->code, sizeof k->code, e.status == 503 ? "llm_not_ready" : "invalid_batch_file");
            rc = 1;
        }
    }
    cJSON_Delete(j);
    return rc;
}

static void lines_done_cb(void *arg, const char *err, bool eof)
{
    (void)eof;
    struct create *k = arg;
    if (k->status) {
        create_fail(k, k->status, k->param, k->code[0] ? k->code : "invalid_batch_file", k->message);
        return;
    }
    if (err) {
        snprintf(k->message, sizeof k->message, "reading the input file failed: %.300s; retry", err);
        create_fail(k, 503, NULL, "server_error", k->message);
        return;
    }
    if (!k->lines) {
        create_fail(k, 400, "input_file_id", "empty_file", "the input file has no lines");
        return;
    }
    struct runtime *rt = k->c->sj->rt;
    if (batchstore_new_id(k->n.id) < 0) {
        create_fail(k, 503, NULL, "server_error", "no random bytes for a batch id; retry shortly");
        return;
    }
    k->n.tenant = k->c->tenant;
    k->n.key_id = k->c->key;
    k->n.endpoint = k->endpoint;
    k->n.input_file_id = k->file_id;
    k->n.metadata = k->metadata;
    k->n.total = k->lines;
    k->n.in_progress_at = now_s();
    k->n.expires_at = k->n.created_at + rt->cfg->batch_completion_window_ms / 1000;
    struct sbuf b;
    sbuf_init(&b);
    batchstore_sql_insert(&b, &k->n);
    db_query(rt->db, b.data, 0, insert_cb, k);
    sbuf_deinit(&b);
}

static void file_cb(const struct db_result *r, void *arg)
{
    struct create *k = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok) {
        v1_reply_db_error(k->c->r, r->err_code, r->error, "");
        v1_free(k->c);
        create_free(k);
        return;
    }
    /* FILESTORE_COLS: id, bytes, created_at, filename, purpose, expires_at, seq, chunks */
    if (!row) {
        snprintf(k->message, sizeof k->message, "no file %s of yours (it may have expired or been deleted)",
                 k->file_id);
        create_fail(k, 400, "input_file_id", "invalid_value", k->message);
        return;
    }
    if (strcmp(db_row_str(row, 4), "batch") != 0) {
        snprintf(k->message, sizeof k->message, "file %s was uploaded with purpose %.32s; a batch needs purpose batch",
                 k->file_id, db_row_str(row, 4));
        create_fail(k, 400, "input_file_id", "invalid_value", k->message);
        return;
    }
    k->n.input_file_seq = (uint64_t)db_row_ll(row, 6);
    k->n.input_chunks = (unsigned)db_row_ll(row, 7);
    batchread_start(k->c->sj->rt->db, k->n.input_file_seq, k->n.input_chunks, (struct batchread_pos){0, 0}, NULL,
                    line_cb, lines_done_cb, k);
}

void batches_create(struct v1 *c)
{
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct create *k = xcalloc(1, sizeof *k);
    k->c = c;
    k->n.created_at = now_s();
    int rc = create_parse(k, j);
    cJSON_Delete(j);
    if (rc < 0)
        return;
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_get(&b, c->tenant, k->file_id, k->n.created_at);
    db_query(c->sj->rt->db, b.data, 0, file_cb, k);
    sbuf_deinit(&b);
}

