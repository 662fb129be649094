/* The /v1/webhook_endpoints routes but the test delivery. */
#include "serve_webhooks.h"

#include <cJSON.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypt.h"
#include "db.h"
#include "dberr.h"
#include "httpd.h"
#include "queuestore.h"
#include "runtime.h"
#include "serve_v1.h"
#include "serve_webhooks_int.h"
#include "serve_webhooks_list.h"
#include "serve_webhooks_test.h"
#include "sql.h"
#include "webhook.h"

#define ENDPOINTS_MAX 100      /* per tenant: each event fans out to every subscriber */
#define KEEP_OLD_S 86400
/* A create locks its tenant's row first, so one tenant's creates take
 * turns and the cap's count cannot deadlock among them (it did, 1 to 41
 * times in 150 concurrent creates, and 5 retries were not always enough);
 * a conflict with anything else is tried again rather than answered 503. */
#define CREATE_TRIES 5

static long long now_s(void)
{
    return (long long)(time_real_us() / 1000000);
}

const char *webhooks_id_param(struct v1 *c)
{
    const char *id = http_req_param(c->r, "id");
    if (!id || !webhook_endpoint_id_valid(id)) {
        v1_reply_invalid(c, 400, "id", "webhook endpoint ids look like whe_ and 24 hex digits (as creating it answered)");
        return NULL;
    }
    return id;
}

void webhooks_not_found(struct v1 *c, const char *id)
{
    http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "No such webhook endpoint: %s", id);
    v1_free(c);
}

/* One request's state across its queries. */
struct wq {
    struct v1 *c;
    struct serve_webhooks *sw;
    char id[WEBHOOK_ID_MAX];
    char secret[WEBHOOK_SECRET_MAX];  /* answered once, then cleansed */
    char *sql;                        /* the next statement, or NULL */
    bool with_secret;
    int tries;                        /* of the create's transaction */
    struct db_txn *txn;               /* the create's, while it runs */
    unsigned long long inserted;      /* rows the create's INSERT wrote */
    unsigned err_code;                /* the create's failure, if any */
    char err[256];
};

static struct wq *wq_new(struct v1 *c)
{
    struct wq *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->sw = c->route_arg;
    return q;
}

static void wq_free(struct wq *q)
{
    free(q->sql);
    memset(q->secret, 0, sizeof q->secret);
    free(q);
}

static void reply_db(struct wq *q, const struct db_result *r)
{
    v1_reply_db_error(q->c->r, r->err_code, r->error, "");
    v1_free(q->c);
    wq_free(q);
}

/* Answers the endpoint row (with the secret when q says so), 404 without one. */
static void row_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        reply_db(q, r);
        return;
    }
    MYSQL_ROW row = r->res ? mysql_fetch_row(r->res) : NULL;
    if (!row) {
        webhooks_not_found(q->c, q->id);
        wq_free(q);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    webhook_row_json(&b, row, q->with_secret ? q->secret : NULL);
    http_reply_json(q->c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(q->c);
    wq_free(q);
}

static void select_row(struct wq *q)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT " WEBHOOK_COLUMNS " FROM webhook_endpoints WHERE tenant_id = %llu AND id = '%s'",
                (unsigned long long)q->c->tenant, q->id);
    db_query(q->sw->sj->rt->db, b.data, 0, row_cb, q);
    sbuf_deinit(&b);
}

/* The fields a create or an update may give. */
struct spec {
    const char *url, *name;
    struct sbuf types;    /* csv, empty when not given */
    int enabled;          /* -1: not given */
};

/* 0, or -1 after answering 400 (c freed). */
static int parse_spec(struct v1 *c, const cJSON *j, bool create, struct spec *s)
{
    static const char *const fields[] = {"url", "event_types", "name", "enabled"};
    memset(s, 0, sizeof *s);
    sbuf_init(&s->types);
    s->enabled = -1;
    char param[64], why[300];
    if (!cJSON_IsObject(j)) {
        v1_reply_invalid(c, 400, "", "the body must be a JSON object");
        return -1;
    }
    for (const cJSON *f = j->child; f; f = f->next) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(fields); i++)
            known = known || strcmp(f->string, fields[i]) == 0;
        if (!known) {
            snprintf(param, sizeof param, "%.60s", f->string);
            v1_reply_invalid(c, 400, param, "unknown field (allowed: url, event_types, name, enabled)");
            return -1;
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "url");
    if (v || create) {
        if (!cJSON_IsString(v)) {
            v1_reply_invalid(c, 400, "url", "url is required: the http or https URL that receives deliveries");
            return -1;
        }
        if (webhook_url_check(v->valuestring, why, sizeof why) < 0) {
            v1_reply_invalid(c, 400, "url", why);
            return -1;
        }
        s->url = v->valuestring;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "event_types");
    if (v && webhook_types_parse(v, &s->types, param, sizeof param, why, sizeof why) < 0) {
        v1_reply_invalid(c, 400, param, why);
        return -1;
    }
    if (!v && create) /* every type ingot sends */
        for (size_t i = 0; webhook_event_types[i]; i++)
            sbuf_printf(&s->types, "%s%s", i ? "," : "", webhook_event_types[i]);
    v = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (v) {
        if (!cJSON_IsString(v) || !webhook_name_valid(v->valuestring)) {
            v1_reply_invalid(c, 400, "name", "name must be text of at most 128 bytes without control characters");
            return -1;
        }
        s->name = v->valuestring;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "enabled");
    if (v) {
        if (!cJSON_IsBool(v)) {
            v1_reply_invalid(c, 400, "enabled", "enabled must be true or false");
            return -1;
        }
        s->enabled = cJSON_IsTrue(v);
    }
    if (!create && !s->url && !s->name && !s->types.len && s->enabled < 0) {
        v1_reply_invalid(c, 400, "", "give at least one of url, event_types, name, enabled");
        return -1;
    }
    return 0;
}

static bool crypt_or_503(struct v1 *c, struct serve_webhooks *sw)
{
    if (crypt_ready(sw->crypt))
        return true;
    http_reply_error(c->r, 503, "server_error", "", "unavailable",
                     "webhook endpoints need ENCRYPTION_KEY (their signing secrets are stored sealed under it): "
                     "the operator sets it (ingot init generates one)");
    v1_free(c);
    return false;
}

/* A fresh secret into q->secret, sealed (owned) with its hint; NULL after
 * answering 500 (c freed). */
static char *new_secret(struct wq *q, char hint[WEBHOOK_HINT_MAX])
{
    char err[200], aad[CRYPT_AAD_MAX];
    if (webhook_secret_new(q->secret) < 0) {
        http_reply_error(q->c->r, 500, "server_error", "", "internal_error", "no randomness for a secret; try again");
        v1_free(q->c);
        return NULL;
    }
    webhook_secret_aad(q->id, aad, sizeof aad);
    char *sealed = crypt_seal(q->sw->crypt, aad, q->secret, strlen(q->secret), err, sizeof err);
    if (!sealed) {
        http_reply_error(q->c->r, 500, "server_error", "", "internal_error", "cannot seal the secret: %s", err);
        v1_free(q->c);
        return NULL;
    }
    webhook_secret_hint(q->secret, hint);
    return sealed;
}

/* POST /v1/webhook_endpoints */
static void create_txn(struct wq *q);

static void create_ended_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    q->txn = NULL;
    if (q->err_code == 0 && !r->ok) { /* the COMMIT itself failed */
        q->err_code = r->err_code ? r->err_code : DB_ERR_UNAVAILABLE;
        util_strcpy(q->err, sizeof q->err, r->error ? r->error : "");
    }
    if (q->err_code) {
        bool conflict = dberr_is_lost_lock(q->err_code) || q->err_code == ER_AUTOINC_READ_FAILED;
        if (conflict && ++q->tries < CREATE_TRIES) {
            create_txn(q);
            return;
        }
        struct db_result fr = {.ok = false, .err_code = q->err_code, .error = q->err};
        reply_db(q, &fr);
        return;
    }
    if (q->inserted == 0) {
        http_reply_error(q->c->r, 409, "invalid_request_error", "", "limit_reached",
                         "a tenant has at most %d webhook endpoints: delete one first", ENDPOINTS_MAX);
        v1_free(q->c);
        wq_free(q);
        return;
    }
    q->with_secret = true;
    select_row(q);
}

/* Each step of the create's transaction: on a failure the rest is skipped
 * and the transaction rolled back; after the INSERT, committed. */
static void create_locked_cb(const struct db_result *r, void *arg);

static void create_fail(struct wq *q, const struct db_result *r)
{
    q->err_code = r->err_code ? r->err_code : DB_ERR_UNAVAILABLE;
    util_strcpy(q->err, sizeof q->err, r->error ? r->error : "");
    db_txn_end(q->txn, false, create_ended_cb, q);
}

static void create_inserted_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        create_fail(q, r);
        return;
    }
    q->inserted = r->affected_rows;
    db_txn_end(q->txn, true, create_ended_cb, q);
}

static void create_locked_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        create_fail(q, r);
        return;
    }
    db_txn_query(q->txn, q->sql, 0, create_inserted_cb, q);
}

static void create_begun_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        create_fail(q, r);
        return;
    }
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT id FROM tenants WHERE id = %llu FOR UPDATE",
             (unsigned long long)q->c->tenant);
    db_txn_query(q->txn, lock, 0, create_locked_cb, q);
}

static void create_txn(struct wq *q)
{
    q->err_code = 0;
    q->err[0] = '\0';
    q->inserted = 0;
    q->txn = db_txn_begin(q->sw->sj->rt->db, 0, create_begun_cb, q);
}

static void queue_ready_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        reply_db(q, r);
        return;
    }
    create_txn(q); /* q->sql kept: written again on a conflict */
}

static void create_endpoint(struct v1 *c)
{
    struct serve_webhooks *sw = c->route_arg;
    if (!crypt_or_503(c, sw))
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct spec s;
    if (parse_spec(c, j, true, &s) < 0) {
        sbuf_deinit(&s.types);
        cJSON_Delete(j);
        return;
    }
    struct wq *q = wq_new(c);
    char hint[WEBHOOK_HINT_MAX];
    char *sealed = NULL;
    if (webhook_endpoint_id_new(q->id) < 0) {
        http_reply_error(c->r, 500, "server_error", "", "internal_error", "no randomness for an id; try again");
        v1_free(c);
    } else {
        sealed = new_secret(q, hint); /* NULL: answered */
    }
    if (!sealed) {
        sbuf_deinit(&s.types);
        cJSON_Delete(j);
        wq_free(q);
        return;
    }
    unsigned long long t = (unsigned long long)c->tenant;
    long long now = now_s();
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO webhook_endpoints (id, tenant_id, name, url, event_types, enabled, secret, "
                    "secret_hint, created_at, updated_at) SELECT '%s', %llu, ", q->id, t);
    sql_cstr(&b, s.name ? s.name : "");
    sbuf_putc(&b, ',');
    sql_cstr(&b, s.url);
    sbuf_putc(&b, ',');
    sql_cstr(&b, s.types.data);
    sbuf_printf(&b, ", %d, ", s.enabled == 0 ? 0 : 1);
    sql_cstr(&b, sealed);
    sbuf_putc(&b, ',');
    sql_cstr(&b, hint);
    sbuf_printf(&b, ", %lld, %lld FROM DUAL WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = %llu) < %d",
                now, now, t, ENDPOINTS_MAX);
    q->sql = sbuf_steal(&b);
    crypt_secret_free(sealed);
    sbuf_deinit(&s.types);
    cJSON_Delete(j);
    /* Deliveries run in the tenant's queue "webhooks": it exists before
     * the first event can need it. */
    sbuf_init(&b);
    queuestore_ensure_sql(&b, t, WEBHOOK_QUEUE);
    db_query(sw->sj->rt->db, b.data, 0, queue_ready_cb, q);
    sbuf_deinit(&b);
}

/* GET /v1/webhook_endpoints/{id} */
static void get_endpoint(struct v1 *c)
{
    const char *id = webhooks_id_param(c);
    if (!id)
        return;
    struct wq *q = wq_new(c);
    util_strcpy(q->id, sizeof q->id, id);
    select_row(q);
}

/* POST /v1/webhook_endpoints/{id}: the fields given change. */
static void updated_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        reply_db(q, r);
        return;
    }
    select_row(q); /* 404 there when there is none */
}

static void update_endpoint(struct v1 *c)
{
    const char *id = webhooks_id_param(c);
    if (!id)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct spec s;
    if (parse_spec(c, j, false, &s) < 0) {
        sbuf_deinit(&s.types);
        cJSON_Delete(j);
        return;
    }
    struct wq *q = wq_new(c);
    util_strcpy(q->id, sizeof q->id, id);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "UPDATE webhook_endpoints SET updated_at = %lld", now_s());
    if (s.url) {
        sbuf_puts(&b, ", url = ");
        sql_cstr(&b, s.url);
    }
    if (s.name) {
        sbuf_puts(&b, ", name = ");
        sql_cstr(&b, s.name);
    }
    if (s.types.len) {
        sbuf_puts(&b, ", event_types = ");
        sql_cstr(&b, s.types.data);
    }
    if (s.enabled >= 0)
        sbuf_printf(&b, ", enabled = %d", s.enabled);
    sbuf_printf(&b, " WHERE tenant_id = %llu AND id = '%s'", (unsigned long long)c->tenant, q->id);
    sbuf_deinit(&s.types);
    cJSON_Delete(j);
    db_query(c->sj->rt->db, b.data, 0, updated_cb, q);
    sbuf_deinit(&b);
}

/* DELETE /v1/webhook_endpoints/{id}: deliveries still queued for it fail
 * at their next attempt ("no longer exists"). */
static void deleted_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        reply_db(q, r);
        return;
    }
    if (r->affected_rows == 0) {
        webhooks_not_found(q->c, q->id);
    } else {
        char body[128];
        int n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"object\":\"webhook_endpoint.deleted\",\"deleted\":true}",
                         q->id);
        http_reply_json(q->c->r, 200, body, (size_t)n);
        v1_free(q->c);
    }
    wq_free(q);
}

static void delete_endpoint(struct v1 *c)
{
    const char *id = webhooks_id_param(c);
    if (!id)
        return;
    struct wq *q = wq_new(c);
    util_strcpy(q->id, sizeof q->id, id);
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM webhook_endpoints WHERE tenant_id = %llu AND id = '%s'",
             (unsigned long long)c->tenant, q->id);
    db_query(c->sj->rt->db, sql, 0, deleted_cb, q);
}

/* POST /v1/webhook_endpoints/{id}/rotate_secret: a new secret, answered
 * once; with keep_old_secret_active_for_24_hours the old one signs too
 * (a second signature) for a day, so receivers can switch without losing
 * a delivery. */
static void rotated_cb(const struct db_result *r, void *arg)
{
    struct wq *q = arg;
    if (!r->ok) {
        reply_db(q, r);
        return;
    }
    if (r->affected_rows == 0) {
        webhooks_not_found(q->c, q->id);
        wq_free(q);
        return;
    }
    q->with_secret = true;
    select_row(q);
}

static void rotate_secret(struct v1 *c)
{
    struct serve_webhooks *sw = c->route_arg;
    const char *id = webhooks_id_param(c);
    if (!id || !crypt_or_503(c, sw))
        return;
    size_t len = 0;
    http_req_body(c->r, &len);
    bool keep = false;
    if (len) {
        cJSON *j = parse_body(c->r);
        if (!j) {
            v1_free(c);
            return;
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "keep_old_secret_active_for_24_hours");
        const cJSON *f = cJSON_IsObject(j) ? j->child : NULL;
        bool bad = !cJSON_IsObject(j) || (k && !cJSON_IsBool(k)) || (f && (f != k || f->next));
        keep = cJSON_IsTrue(k);
        cJSON_Delete(j);
        if (bad) {
            v1_reply_invalid(c, 400, "keep_old_secret_active_for_24_hours",
                             "the body may only hold keep_old_secret_active_for_24_hours (true or false)");
            return;
        }
    }
    struct wq *q = wq_new(c);
    util_strcpy(q->id, sizeof q->id, id);
    char hint[WEBHOOK_HINT_MAX];
    char *sealed = new_secret(q, hint);
    if (!sealed) {
        wq_free(q);
        return;
    }
    long long now = now_s();
    struct sbuf b;
    sbuf_init(&b);
    /* MariaDB assigns left to right: secret_prev takes the old secret. */
    if (keep)
        sbuf_printf(&b, "UPDATE webhook_endpoints SET secret_prev = secret, secret_prev_until = %lld, secret = ",
                    now + KEEP_OLD_S);
    else
        sbuf_puts(&b, "UPDATE webhook_endpoints SET secret_prev = NULL, secret_prev_until = NULL, secret = ");
    sql_cstr(&b, sealed);
    sbuf_puts(&b, ", secret_hint = ");
    sql_cstr(&b, hint);
    sbuf_printf(&b, ", updated_at = %lld WHERE tenant_id = %llu AND id = '%s'", now, (unsigned long long)c->tenant,
                q->id);
    crypt_secret_free(sealed);
    db_query(c->sj->rt->db, b.data, 0, rotated_cb, q);
    sbuf_deinit(&b);
}

#define WH_ROUTE(fn)                                                                         \
    static void fn##_route(struct http_req *r, void *arg)                                   \
    {                                                                                        \
        struct serve_webhooks *sw = arg;                                                     \
        v1_start_arg(sw->sj, r, fn, sw);                                                     \
    }
WH_ROUTE(create_endpoint)
WH_ROUTE(webhooks_list)
WH_ROUTE(get_endpoint)
WH_ROUTE(update_endpoint)
WH_ROUTE(delete_endpoint)
WH_ROUTE(rotate_secret)
WH_ROUTE(webhooks_test)
WH_ROUTE(webhooks_event_types)

struct serve_webhooks *serve_webhooks_routes(struct httpd *h, struct serve_jobs *sj, char *err, size_t errlen)
{
    const struct config *cfg = sj->rt->cfg;
    struct crypt *cr = crypt_new(cfg->encryption_key, cfg->encryption_key_previous, err, errlen);
    if (!cr)
        return NULL;
    struct serve_webhooks *sw = xcalloc(1, sizeof *sw);
    sw->sj = sj;
    sw->crypt = cr;
    httpd_route(h, HTTP_M_POST, "/v1/webhook_endpoints", 0, create_endpoint_route, sw);
    httpd_route(h, HTTP_M_GET, "/v1/webhook_endpoints", 0, webhooks_list_route, sw);
    httpd_route(h, HTTP_M_GET, "/v1/webhook_endpoints/{id}", 0, get_endpoint_route, sw);
    httpd_route(h, HTTP_M_POST, "/v1/webhook_endpoints/{id}", 0, update_endpoint_route, sw);
    httpd_route(h, HTTP_M_DELETE, "/v1/webhook_endpoints/{id}", 0, delete_endpoint_route, sw);
    httpd_route(h, HTTP_M_POST, "/v1/webhook_endpoints/{id}/rotate_secret", 0, rotate_secret_route, sw);
    httpd_route(h, HTTP_M_POST, "/v1/webhook_endpoints/{id}/test", 0, webhooks_test_route, sw);
    httpd_route(h, HTTP_M_GET, "/v1/webhook_event_types", 0, webhooks_event_types_route, sw);
    return sw;
}

void serve_webhooks_free(struct serve_webhooks *sw)
{
    if (!sw)
        return;
    crypt_free(sw->crypt);
    free(sw);
}
