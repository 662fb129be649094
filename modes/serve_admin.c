/* The operator's routes: tenants, their keys and LLM limits (serve_admin.h). */
#include "serve_admin.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "check.h"
#include "config.h"
#include "db.h"
#include "httpd.h"
#include "job.h"
#include "runtime.h"
#include "serve_session_op.h"
#include "sql.h"

#define LIMIT_MAX 1000000000000000LL /* tokens or requests: 1e15, as `ingot admin limits` */
#define KEY_LABEL_MAX 128

struct serve_admin {
    struct runtime *rt;
    struct serve_session *sess;
};

struct adm;
typedef void (*adm_fn)(struct adm *q);

/* One request: its route's step, the tenant it names, the SQL to run next. */
struct adm {
    struct serve_admin *a;
    struct http_req *r;
    adm_fn fn;
    char tenant[65];
    unsigned long long key_id;
    int status;              /* of the final answer: 200 or 201 */
    char key[AUTH_KEY_LEN + 1]; /* a new key, answered once */
    struct sbuf after;       /* limits: the clean-up statement */
};

static void adm_free(struct adm *q)
{
    sbuf_deinit(&q->after);
    free(q);
}

static void reply_400(struct adm *q, const char *param, const char *why)
{
    http_reply_error(q->r, 400, "invalid_request_error", param, "invalid_value", "%s: %s", param, why);
    adm_free(q);
}

static bool db_failed(struct adm *q, const struct db_result *res)
{
    if (res->ok)
        return false;
    http_add_header(q->r, "Retry-After", "1");
    http_reply_error(q->r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
    adm_free(q);
    return true;
}

static void put_num(struct sbuf *b, const char *k, const char *v)
{
    sbuf_printf(b, ",\"%s\":%s", k, v ? v : "null");
}

/* --- tenants --- */

static void tenants_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    struct sbuf b;
    sbuf_init(&b);
    MYSQL_ROW row;
    size_t n = 0;
    while ((row = mysql_fetch_row(res->res))) {
        sbuf_puts(&b, n++ ? ",{\"object\":\"tenant\",\"id\":" : "{\"object\":\"tenant\",\"id\":");
        sbuf_puts(&b, db_row_str(row, 0));
        sbuf_puts(&b, ",\"name\":");
        sbuf_json_str(&b, db_row_str(row, 1));
        sbuf_puts(&b, ",\"created_at\":");
        sbuf_json_str(&b, db_row_str(row, 2));
        sbuf_printf(&b, ",\"active_keys\":%s,\"limits\":{\"rpm\":%s", db_row_str(row, 3), row[4] ? row[4] : "null");
        put_num(&b, "tpm", row[5]);
        put_num(&b, "tokens_per_day", row[6]);
        put_num(&b, "tokens_per_month", row[7]);
        put_num(&b, "usd_per_month", row[8]);
        sbuf_puts(&b, "}}");
    }
    if (q->tenant[0] && n == 0) {
        http_reply_error(q->r, 404, "invalid_request_error", "name", "not_found", "no such tenant");
    } else if (q->tenant[0]) {
        http_reply_json(q->r, q->status ? q->status : 200, b.data, b.len);
    } else {
        struct sbuf o;
        sbuf_init(&o);
        sbuf_printf(&o, "{\"object\":\"list\",\"data\":[%s]}", b.data ? b.data : "");
        http_reply_json(q->r, 200, o.data, o.len);
        sbuf_deinit(&o);
    }
    sbuf_deinit(&b);
    adm_free(q);
}

/* Answers the tenant q->tenant names ("" : all of them). */
static void tenants_read(struct adm *q)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT t.id, t.name, DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ'), "
                  "(SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = t.id AND k.revoked_at IS NULL), "
                  "l.rpm, l.tpm, l.tokens_per_day, l.tokens_per_month, CAST(l.usd_per_month AS CHAR) "
                  "FROM tenants t LEFT JOIN llm_limits l ON l.tenant_id = t.id AND l.key_id = 0");
    if (q->tenant[0]) {
        sbuf_puts(&b, " WHERE t.name = ");
        sql_cstr(&b, q->tenant);
    }
    sbuf_printf(&b, " ORDER BY t.id LIMIT %d", ADMIN_TENANTS_MAX);
    db_query(q->a->rt->db, b.data, 0, tenants_cb, q);
    sbuf_deinit(&b);
}

static void created_tenant_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (!res->ok && res->err_code == 1062) {
        http_reply_error(q->r, 409, "invalid_request_error", "name", "tenant_exists", "name: tenant %s exists already",
                         q->tenant);
        adm_free(q);
        return;
    }
    if (db_failed(q, res))
        return;
    q->status = 201;
    tenants_read(q);
}

/* The body: a JSON object with only the fields allowed (NULL after 400). */
static cJSON *adm_body(struct adm *q, const char *const *allowed, bool required)
{
    size_t len;
    const char *body = http_req_body(q->r, &len);
    if (!required && len == 0)
        return cJSON_CreateObject();
    cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        http_reply_error(q->r, 400, "invalid_request_error", NULL, "invalid_json", "the body must be a JSON object");
        adm_free(q);
        return NULL;
    }
    for (const cJSON *f = j->child; f; f = f->next) {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(f->string, allowed[i]) == 0;
        if (!known) {
            char p[64];
            snprintf(p, sizeof p, "%.60s", f->string);
            cJSON_Delete(j);
            http_reply_error(q->r, 400, "invalid_request_error", p, "invalid_value", "%s: unknown field", p);
            adm_free(q);
            return NULL;
        }
    }
    return j;
}

static void create_tenant(struct adm *q)
{
    static const char *const allowed[] = {"name", NULL};
    cJSON *j = adm_body(q, allowed, true);
    if (!j)
        return;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    bool ok = cJSON_IsString(n) && job_name_valid(n->valuestring, 64);
    if (ok)
        snprintf(q->tenant, sizeof q->tenant, "%s", n->valuestring);
    cJSON_Delete(j);
    if (!ok) {
        reply_400(q, "name", "required: 1-64 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO tenants (name) VALUES (");
    sql_cstr(&b, q->tenant);
    sbuf_putc(&b, ')');
    db_query(q->a->rt->db, b.data, 0, created_tenant_cb, q);
    sbuf_deinit(&b);
}

/* --- limits --- */

static void limits_cleaned_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    tenants_read(q);
}

static void limits_set_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    /* a row that limits nothing any more goes, as `ingot admin limits` does */
    db_query(q->a->rt->db, q->after.data, 0, limits_cleaned_cb, q);
}

static void patch_tenant(struct adm *q)
{
    static const char *const allowed[] = {"limits", NULL};
    static const char *const cols[] = {"rpm", "tpm", "tokens_per_day", "tokens_per_month", "usd_per_month"};
    cJSON *j = adm_body(q, allowed, true);
    if (!j)
        return;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "limits");
    if (!cJSON_IsObject(l)) {
        cJSON_Delete(j);
        reply_400(q, "limits", "required: an object of rpm, tpm, tokens_per_day, tokens_per_month, usd_per_month");
        return;
    }
    char vals[5][40];
    bool given[5] = {false};
    for (const cJSON *f = l->child; f; f = f->next) {
        int i = 0;
        while (i < 5 && strcmp(f->string, cols[i]) != 0)
            i++;
        char p[80];
        snprintf(p, sizeof p, "limits.%.60s", f->string);
        long long x;
        if (i == 5) {
            cJSON_Delete(j);
            reply_400(q, p, "unknown field (allowed: rpm, tpm, tokens_per_day, tokens_per_month, usd_per_month)");
            return;
        }
        given[i] = true;
        if (cJSON_IsNull(f)) {
            snprintf(vals[i], sizeof vals[i], "NULL");
        } else if (i < 4 && cJSON_IsNumber(f) && check_double_ll(f->valuedouble, 1, LIMIT_MAX, &x)) {
            snprintf(vals[i], sizeof vals[i], "%lld", x);
        } else if (i == 4 && cJSON_IsNumber(f) && f->valuedouble > 0 && f->valuedouble < 1e10 &&
                   isfinite(f->valuedouble)) {
            snprintf(vals[i], sizeof vals[i], "%.6f", f->valuedouble);
        } else {
            cJSON_Delete(j);
            reply_400(q, p, i < 4 ? "a whole number from 1 to 1000000000000000, or null (no limit)"
                                  : "an amount in USD above 0 (at most 6 decimals), or null (no limit)");
            return;
        }
    }
    cJSON_Delete(j);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "INSERT INTO llm_limits (tenant_id, key_id");
    for (int i = 0; i < 5; i++)
        if (given[i])
            sbuf_printf(&b, ", %s", cols[i]);
    sbuf_puts(&b, ") SELECT id, 0");
    for (int i = 0; i < 5; i++)
        if (given[i])
            sbuf_printf(&b, ", %s", vals[i]);
    sbuf_puts(&b, " FROM tenants WHERE name = ");
    sql_cstr(&b, q->tenant);
    sbuf_puts(&b, " ON DUPLICATE KEY UPDATE updated_at = NOW(6)");
    for (int i = 0; i < 5; i++)
        if (given[i])
            sbuf_printf(&b, ", %s = VALUES(%s)", cols[i], cols[i]);
    sbuf_puts(&q->after, "DELETE l FROM llm_limits l JOIN tenants t ON t.id = l.tenant_id WHERE t.name = ");
    sql_cstr(&q->after, q->tenant);
    sbuf_puts(&q->after, " AND l.key_id = 0 AND l.rpm IS NULL AND l.tpm IS NULL AND l.tokens_per_day IS NULL "
                         "AND l.tokens_per_month IS NULL AND l.usd_per_month IS NULL");
    db_query(q->a->rt->db, b.data, 0, limits_set_cb, q);
    sbuf_deinit(&b);
}

/* --- keys --- */

static void keys_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    struct sbuf b;
    sbuf_init(&b);
    MYSQL_ROW row;
    size_t n = 0;
    bool tenant_found = !q->tenant[0];
    while ((row = mysql_fetch_row(res->res))) {
        tenant_found = true;
        if (!row[0])
            continue; /* the tenant, without keys */
        sbuf_puts(&b, n++ ? ",{\"object\":\"api_key\",\"id\":" : "{\"object\":\"api_key\",\"id\":");
        sbuf_puts(&b, db_row_str(row, 0));
        sbuf_puts(&b, ",\"prefix\":");
        sbuf_json_str(&b, db_row_str(row, 1));
        sbuf_puts(&b, ",\"name\":");
        sbuf_json_str(&b, db_row_str(row, 2));
        sbuf_puts(&b, ",\"tenant\":");
        sbuf_json_str(&b, db_row_str(row, 5));
        sbuf_puts(&b, ",\"created_at\":");
        sbuf_json_str(&b, db_row_str(row, 3));
        sbuf_puts(&b, ",\"revoked_at\":");
        if (row[4])
            sbuf_json_str(&b, row[4]);
        else
            sbuf_puts(&b, "null");
        if (q->key[0]) { /* a new key: shown this once */
            sbuf_puts(&b, ",\"key\":");
            sbuf_json_str(&b, q->key);
        }
        sbuf_putc(&b, '}');
    }
    if (!tenant_found || (q->key_id && n == 0)) {
        http_reply_error(q->r, 404, "invalid_request_error", q->key_id ? "id" : "name", "not_found",
                         q->key_id ? "no such key" : "no such tenant");
    } else if (q->key_id) {
        http_add_header(q->r, "Cache-Control", "no-store");
        http_reply_json(q->r, q->status ? q->status : 200, b.data, b.len);
    } else {
        struct sbuf o;
        sbuf_init(&o);
        sbuf_printf(&o, "{\"object\":\"list\",\"data\":[%s]}", b.data ? b.data : "");
        http_reply_json(q->r, 200, o.data, o.len);
        sbuf_deinit(&o);
    }
    sbuf_deinit(&b);
    adm_free(q);
}

/* Answers key q->key_id, or q->tenant's keys (its row alone, with NULL
 * key columns, when it has none: 404 only for no tenant). */
static void keys_read(struct adm *q)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT k.id, k.prefix, k.name, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), "
                  "DATE_FORMAT(k.revoked_at, '%Y-%m-%dT%H:%i:%sZ'), t.name FROM tenants t ");
    if (q->key_id) {
        sbuf_printf(&b, "JOIN api_keys k ON k.tenant_id = t.id WHERE k.id = %llu", q->key_id);
    } else {
        sbuf_puts(&b, "LEFT JOIN api_keys k ON k.tenant_id = t.id WHERE t.name = ");
        sql_cstr(&b, q->tenant);
        sbuf_printf(&b, " ORDER BY k.id DESC LIMIT %d", ADMIN_KEYS_MAX);
    }
    db_query(q->a->rt->db, b.data, 0, keys_cb, q);
    sbuf_deinit(&b);
}

static void key_stored_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    if (res->affected_rows == 0) {
        http_reply_error(q->r, 404, "invalid_request_error", "name", "not_found", "no such tenant");
        adm_free(q);
        return;
    }
    q->key_id = res->insert_id;
    q->status = 201;
    keys_read(q);
}

static void create_key(struct adm *q)
{
    static const char *const allowed[] = {"name", NULL};
    const struct config *cfg = q->a->rt->cfg;
    cJSON *j = adm_body(q, allowed, false);
    if (!j)
        return;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (n && (!cJSON_IsString(n) || strlen(n->valuestring) > KEY_LABEL_MAX ||
              !check_text(n->valuestring, strlen(n->valuestring)))) {
        cJSON_Delete(j);
        reply_400(q, "name", "a label of at most 128 characters of text");
        return;
    }
    char prefix[AUTH_PREFIX_LEN + 1], hash[65];
    if (auth_key_generate(q->key, prefix) < 0) {
        cJSON_Delete(j);
        http_reply_error(q->r, 500, "server_error", NULL, "no_randomness", "no randomness available");
        adm_free(q);
        return;
    }
    auth_key_hash(cfg->api_key_hash_secret, q->key, hash);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO api_keys (tenant_id, prefix, hash, name) SELECT id, '%s', UNHEX('%s'), ", prefix, hash);
    sql_cstr(&b, n ? n->valuestring : "");
    sbuf_puts(&b, " FROM tenants WHERE name = ");
    sql_cstr(&b, q->tenant);
    cJSON_Delete(j);
    db_query(q->a->rt->db, b.data, 0, key_stored_cb, q);
    sbuf_deinit(&b);
}

static void revoked_cb(const struct db_result *res, void *arg)
{
    struct adm *q = arg;
    if (db_failed(q, res))
        return;
    keys_read(q); /* revoked now or before: its revoked_at; 404 for no such key */
}

static void revoke_key(struct adm *q)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE api_keys SET revoked_at = NOW(6) WHERE id = %llu AND revoked_at IS NULL",
             q->key_id);
    db_query(q->a->rt->db, sql, 0, revoked_cb, q);
}

/* --- routing --- */

static void op_cb(bool ok, void *arg)
{
    struct adm *q = arg;
    if (!ok) {
        adm_free(q);
        return;
    }
    q->fn(q);
}

static void start(struct http_req *r, struct serve_admin *a, adm_fn fn)
{
    struct adm *q = xcalloc(1, sizeof *q);
    q->a = a;
    q->r = r;
    q->fn = fn;
    sbuf_init(&q->after);
    if (http_req_query_count(r) > 0) {
        char p[64];
        snprintf(p, sizeof p, "%.60s", http_req_query_name(r, 0));
        http_reply_error(r, 400, "invalid_request_error", p, "unknown_parameter", "unknown query parameter %s", p);
        adm_free(q);
        return;
    }
    const char *name = http_req_param(r, "name");
    if (name) {
        if (!job_name_valid(name, 64)) {
            reply_400(q, "name", "a tenant name: 1-64 characters of A-Z a-z 0-9 . _ : -");
            return;
        }
        snprintf(q->tenant, sizeof q->tenant, "%s", name);
    }
    const char *id = http_req_param(r, "id");
    if (id) {
        long long v;
        if (check_parse_ll(id, 1, (long long)1 << 62, &v) < 0) {
            http_reply_error(r, 404, "invalid_request_error", "id", "not_found", "no such key");
            adm_free(q);
            return;
        }
        q->key_id = (unsigned long long)v;
    }
    serve_session_operator(a->sess, r, op_cb, q);
}

#define ADM_ROUTE(fn)                                                                        \
    static void fn##_route(struct http_req *r, void *arg)                                   \
    {                                                                                        \
        start(r, arg, fn);                                                                   \
    }
ADM_ROUTE(tenants_read)
ADM_ROUTE(create_tenant)
ADM_ROUTE(patch_tenant)
ADM_ROUTE(keys_read)
ADM_ROUTE(create_key)
ADM_ROUTE(revoke_key)

struct serve_admin *serve_admin_new(struct httpd *h, struct runtime *rt, struct serve_session *sess)
{
    struct serve_admin *a = xcalloc(1, sizeof *a);
    a->rt = rt;
    a->sess = sess;
    httpd_route(h, HTTP_M_GET, "/v1/admin/tenants", 0, tenants_read_route, a);
    httpd_route(h, HTTP_M_POST, "/v1/admin/tenants", 0, create_tenant_route, a);
    httpd_route(h, HTTP_M_GET, "/v1/admin/tenants/{name}", 0, tenants_read_route, a);
    httpd_route(h, HTTP_M_PATCH, "/v1/admin/tenants/{name}", 0, patch_tenant_route, a);
    httpd_route(h, HTTP_M_GET, "/v1/admin/tenants/{name}/keys", 0, keys_read_route, a);
    httpd_route(h, HTTP_M_POST, "/v1/admin/tenants/{name}/keys", 0, create_key_route, a);
    httpd_route(h, HTTP_M_POST, "/v1/admin/keys/{id}/revoke", 0, revoke_key_route, a);
    return a;
}

void serve_admin_free(struct serve_admin *a)
{
    free(a);
}
