/* Login sessions: creation, the access and refresh cookies, refresh with
 * rotation, log out (one session or everywhere), who is logged in, the
 * failed-login limit, and the session path of /v1 (serve_session.h). */
#include "serve_session.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "check_json.h"
#include "db.h"
#include "httpd.h"
#include "job.h"
#include "log.h"
#include "oidc.h"
#include "ratelimit.h"
#include "runtime.h"
#include "serve_auth.h"
#include "serve_session_int.h"
#include "serve_session_refresh.h"
#include "session.h"
#include "sql.h"

#define ME_TENANTS_MAX 1000

struct ss_req *ss_req_new(struct serve_session *s, struct http_req *r)
{
    struct ss_req *q = xcalloc(1, sizeof *q);
    q->s = s;
    q->r = r;
    return q;
}

void ss_req_free(struct ss_req *q)
{
    free(q->redirect);
    free(q);
}

struct runtime *serve_session_rt(struct serve_session *s) { return s->rt; }
struct oidc *serve_session_oidc(struct serve_session *s) { return s->oidc; }

int64_t ss_now_s(void) { return time_real_us() / 1000000; }

/* --- failed logins --- */

static struct fail_slot *fail_slot(struct serve_session *s, const char *client)
{
    unsigned long h = 5381;
    for (const char *p = client; *p; p++)
        h = h * 33 + (unsigned char)*p;
    struct fail_slot *f = &s->fails[h % FAIL_SLOTS];
    int64_t w = time_real_us() / 1000 / LOGIN_FAIL_WINDOW_MS;
    if (strcmp(f->client, client) != 0 || f->window != w) {
        snprintf(f->client, sizeof f->client, "%s", client);
        f->window = w;
        f->count = 0;
        f->shared_block = false;
    }
    return f;
}

bool serve_session_blocked(struct serve_session *s, struct http_req *r)
{
    struct fail_slot *f = fail_slot(s, http_req_client(r));
    if (f->count < LOGIN_FAIL_MAX && !f->shared_block)
        return false;
    long long now_ms = time_real_us() / 1000;
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", ((f->window + 1) * LOGIN_FAIL_WINDOW_MS - now_ms + 999) / 1000);
    http_add_header(r, "Retry-After", ra);
    http_reply_error(r, 429, "rate_limit_error", NULL, "too_many_failed_logins",
                     "too many failed logins from this address; retry after %s s", ra);
    return true;
}

struct fail_take {
    struct serve_session *s;
    char client[64];
};

static void shared_count_cb(int granted, long long reset_ms, bool shared, void *arg)
{
    struct fail_take *t = arg;
    (void)reset_ms;
    if (shared && granted == 0) /* the limit is reached across processes */
        fail_slot(t->s, t->client)->shared_block = true;
    free(t);
}

void serve_session_failed(struct serve_session *s, struct http_req *r)
{
    struct fail_slot *f = fail_slot(s, http_req_client(r));
    f->count++;
    log_info("failed login from %s (%d in this window here)", http_req_client(r), f->count);
    /* Counted in Redis too, so N processes together allow about
     * LOGIN_FAIL_MAX, not N times it: granted 0 once the shared count
     * reaches it (max LOGIN_FAIL_MAX - 1 grants). */
    struct fail_take *t = xcalloc(1, sizeof *t);
    t->s = s;
    snprintf(t->client, sizeof t->client, "%s", f->client);
    char key[96];
    snprintf(key, sizeof key, "loginfail:%s", f->client);
    ratelimit_take(s->rl, key, 1, LOGIN_FAIL_MAX - 1, LOGIN_FAIL_WINDOW_MS, shared_count_cb, t);
}

/* --- cookies and CSRF --- */

static bool loopback_client(const char *c)
{
    return strncmp(c, "127.", 4) == 0 || strcmp(c, "::1") == 0 || strncmp(c, "::ffff:127.", 11) == 0;
}

bool serve_session_secure(const struct serve_session *s, struct http_req *r)
{
    return s->https || !loopback_client(http_req_client(r));
}

static void add_cookie(struct serve_session *s, struct http_req *r, const char *name, const char *value,
                       const char *path, long long max_age_s, bool http_only)
{
    struct sbuf b;
    sbuf_init(&b);
    session_set_cookie(&b, name, value, path, max_age_s, http_only, serve_session_secure(s, r));
    http_add_header(r, "Set-Cookie", b.data);
    sbuf_deinit(&b);
}

void ss_clear_cookies(struct serve_session *s, struct http_req *r)
{
    add_cookie(s, r, SESSION_ACCESS_COOKIE, "", "/", 0, true);
    add_cookie(s, r, SESSION_REFRESH_COOKIE, "", "/auth", 0, true);
    add_cookie(s, r, SESSION_CSRF_COOKIE, "", "/", 0, false);
}

/* The access, refresh and CSRF cookies of a session. */
static void session_cookies(struct ss_req *q)
{
    struct serve_session *s = q->s;
    struct sbuf tok;
    sbuf_init(&tok);
    session_access_make(s->cfg->jwt_secret, &q->cl, ss_now_s(), s->cfg->jwt_expiry_ms, &tok);
    add_cookie(s, q->r, SESSION_ACCESS_COOKIE, tok.data, "/", s->cfg->jwt_expiry_ms / 1000, true);
    add_cookie(s, q->r, SESSION_REFRESH_COOKIE, q->refresh, "/auth", s->cfg->refresh_token_expiry_ms / 1000, true);
    char csrf[44];
    session_csrf_token(s->cfg->jwt_secret, q->cl.sid, csrf);
    add_cookie(s, q->r, SESSION_CSRF_COOKIE, csrf, "/", s->cfg->refresh_token_expiry_ms / 1000, false);
    sbuf_deinit(&tok);
}

/* Origin, when the browser sent one, is this service's: PUBLIC_URL's
 * origin, or without PUBLIC_URL the Host the browser used. */
static bool origin_ok(const struct serve_session *s, struct http_req *r)
{
    const char *origin = http_req_header(r, "Origin");
    if (!origin)
        return true;
    if (s->origin[0])
        return strcmp(origin, s->origin) == 0;
    const char *host = http_req_header(r, "Host"), *p = strstr(origin, "://");
    return host && p && strcmp(p + 3, host) == 0;
}

const char *ss_csrf_problem(struct serve_session *s, struct http_req *r, uint64_t sid, const char **param)
{
    if (!origin_ok(s, r)) {
        *param = "Origin";
        return "cross-site request refused: Origin is not this service's (PUBLIC_URL)";
    }
    if (!session_csrf_ok(s->cfg->jwt_secret, sid, http_req_header(r, SESSION_CSRF_HEADER))) {
        *param = SESSION_CSRF_HEADER;
        return "a request that changes state with the session cookie needs the " SESSION_CSRF_HEADER
               " header equal to the " SESSION_CSRF_COOKIE " cookie";
    }
    return NULL;
}

int ss_csrf_check(struct serve_session *s, struct http_req *r, uint64_t sid)
{
    const char *param = NULL, *why = ss_csrf_problem(s, r, sid, &param);
    if (!why)
        return 0;
    http_reply_error(r, 403, "invalid_request_error", param, "csrf_failed", "%s", why);
    return -1;
}

bool ss_state_changing(struct http_req *r)
{
    unsigned m = http_req_method(r);
    return m != HTTP_M_GET && m != HTTP_M_HEAD;
}

/* The access cookie's claims: 0, or -1 after answering 401. */
int ss_access_claims(struct serve_session *s, struct http_req *r, struct session_claims *cl)
{
    char tok[4096], err[160];
    if (!session_cookie(http_req_header(r, "Cookie"), SESSION_ACCESS_COOKIE, tok, sizeof tok)) {
        http_reply_error(r, 401, "invalid_request_error", NULL, "not_logged_in",
                         "not logged in: %s", s->oidc ? "start at GET /auth/login"
                                                      : "POST /auth/login/key with {\"api_key\": \"ik_...\"}");
        return -1;
    }
    if (session_access_verify(s->cfg->jwt_secret, tok, ss_now_s(), cl, err, sizeof err) < 0) {
        bool expired = strncmp(err, "exp", 3) == 0;
        http_reply_error(r, 401, "invalid_request_error", NULL, expired ? "session_expired" : "invalid_session",
                         "%s: %s", expired ? "the access token expired" : "the access token is not valid",
                         expired ? "POST /auth/refresh renews it" : "log in again");
        return -1;
    }
    return 0;
}

bool ss_is_owner(const struct serve_session *s, const struct session_claims *cl)
{
    return !cl->key && s->cfg->owner_open_id[0] && strcmp(cl->sub, s->cfg->owner_open_id) == 0;
}

/* SQL: the session sid, alive (and its key not revoked). */
void serve_session_sql_alive(struct sbuf *b)
{
    sbuf_puts(b, " s.revoked_at IS NULL AND s.expires_at > NOW(6) AND "
                 "(s.kind = 'oidc' OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = s.key_id AND "
                 "k.revoked_at IS NULL))");
}

void ss_sql_alive(struct sbuf *b, uint64_t sid)
{
    sbuf_printf(b, " WHERE s.id = %llu AND", (unsigned long long)sid);
    serve_session_sql_alive(b);
}

/* --- GET /auth/me --- */

static void me_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    struct serve_session *s = q->s;
    if (!res->ok) {
        log_warn("session read: %s", res->error);
        http_add_header(q->r, "Retry-After", "1");
        http_reply_error(q->r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
        ss_req_free(q);
        return;
    }
    if (mysql_num_rows(res->res) == 0) {
        ss_clear_cookies(s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", NULL, "session_revoked",
                         "the session ended (logged out, revoked or expired): log in again");
        ss_req_free(q);
        return;
    }
    if (q->redirect) { /* a new login */
        session_cookies(q);
        http_add_header(q->r, "Location", q->redirect);
        http_reply(q->r, 302, "text/plain", "", 0);
        ss_req_free(q);
        return;
    }
    if (q->refresh[0])
        session_cookies(q);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "subject", q->cl.sub);
    cJSON_AddStringToObject(o, "kind", q->cl.key ? "api_key" : "oidc");
    cJSON_AddBoolToObject(o, "operator", ss_is_owner(s, &q->cl));
    cJSON *ts = cJSON_AddArrayToObject(o, "tenants");
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res->res)))
        if (row[0]) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddNumberToObject(t, "id", (double)db_row_ll(row, 0));
            cJSON_AddStringToObject(t, "name", db_row_str(row, 1));
            cJSON_AddItemToArray(ts, t);
        }
    char csrf[44];
    session_csrf_token(s->cfg->jwt_secret, q->cl.sid, csrf);
    cJSON_AddStringToObject(o, "csrf_token", csrf);
    cJSON_AddNumberToObject(o, "access_expires_at", (double)(q->refresh[0] ? ss_now_s() + s->cfg->jwt_expiry_ms / 1000 : q->cl.exp));
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    http_add_header(q->r, "Cache-Control", "no-store");
    http_reply_json(q->r, 200, json, strlen(json));
    free(json);
    ss_req_free(q);
}

/* Reads the session's tenants and answers /auth/me's body (or the
 * redirect of a new login). */
void ss_me_load(struct ss_req *q)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT t.id, t.name FROM auth_sessions s ");
    if (q->cl.key)
        sbuf_puts(&b, "LEFT JOIN tenants t ON t.id = s.tenant_id");
    else if (ss_is_owner(q->s, &q->cl))
        sbuf_puts(&b, "LEFT JOIN tenants t ON 1 = 1");
    else
        sbuf_puts(&b, "LEFT JOIN tenant_members m ON m.subject = s.subject LEFT JOIN tenants t ON t.id = m.tenant_id");
    ss_sql_alive(&b, q->cl.sid);
    sbuf_printf(&b, " ORDER BY t.id LIMIT %d", ME_TENANTS_MAX);
    db_query(q->s->rt->db, b.data, 0, me_cb, q);
    sbuf_deinit(&b);
}

static void me_route(struct http_req *r, void *arg)
{
    struct serve_session *s = arg;
    struct ss_req *q = ss_req_new(s, r);
    if (ss_access_claims(s, r, &q->cl) < 0) {
        ss_req_free(q);
        return;
    }
    ss_me_load(q);
}

/* --- creating a session --- */

static void created_cb(const struct db_result *res, void *arg)
{
    struct ss_req *q = arg;
    if (!res->ok || !res->insert_id) {
        log_warn("session insert: %s", res->error);
        http_add_header(q->r, "Retry-After", "1");
        http_reply_error(q->r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
        ss_req_free(q);
        return;
    }
    q->cl.sid = res->insert_id;
    log_info("login: session %llu for %s", (unsigned long long)q->cl.sid, q->cl.sub);
    ss_me_load(q);
}

void serve_session_create(struct serve_session *s, struct http_req *r, bool key, const char *subject,
                          uint64_t tenant, uint64_t key_id, const char *redirect)
{
    struct ss_req *q = ss_req_new(s, r);
    q->cl.key = key;
    q->cl.tenant = tenant;
    q->cl.key_id = key_id;
    snprintf(q->cl.sub, sizeof q->cl.sub, "%s", subject);
    q->redirect = xstrdup(redirect);
    if (session_refresh_new(q->refresh) < 0) {
        http_reply_error(r, 500, "server_error", NULL, "no_randomness", "no randomness available");
        ss_req_free(q);
        return;
    }
    session_token_hash(s->cfg->jwt_secret, q->refresh, q->new_hash);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO auth_sessions (kind, subject, tenant_id, key_id, refresh_hash, expires_at) "
                    "VALUES ('%s', ", key ? "key" : "oidc");
    sql_cstr(&b, subject);
    if (key)
        sbuf_printf(&b, ", %llu, %llu", (unsigned long long)tenant, (unsigned long long)key_id);
    else
        sbuf_puts(&b, ", NULL, NULL");
    sbuf_printf(&b, ", UNHEX('%s'), NOW(6) + INTERVAL %lld SECOND)", q->new_hash,
                s->cfg->refresh_token_expiry_ms / 1000);
    db_query(s->rt->db, b.data, 0, created_cb, q);
    sbuf_deinit(&b);
}

/* --- POST /auth/login/key --- */

static void key_auth_cb(uint64_t tenant, uint64_t key_id, const char *err, void *arg)
{
    struct ss_req *q = arg;
    if (err) {
        http_add_header(q->r, "Retry-After", "1");
        http_reply_error(q->r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
    } else if (!tenant) {
        serve_session_failed(q->s, q->r);
        http_reply_error(q->r, 401, "invalid_request_error", "api_key", "invalid_api_key",
                         "api_key: unknown or revoked API key");
    } else {
        char sub[40];
        snprintf(sub, sizeof sub, "key:%llu", (unsigned long long)key_id);
        serve_session_create(q->s, q->r, true, sub, tenant, key_id, NULL);
    }
    ss_req_free(q);
}

static void login_key_route(struct http_req *r, void *arg)
{
    struct serve_session *s = arg;
    if (s->oidc) {
        http_reply_error(r, 404, "invalid_request_error", NULL, "login_method_off",
                         "API-key login is off while OAUTH_SERVER_URL is set: log in at GET /auth/login");
        return;
    }
    const char *ct = http_req_header(r, "Content-Type");
    if (!ct || strncmp(ct, "application/json", 16) != 0) { /* a form post from another site cannot send this */
        http_reply_error(r, 415, "invalid_request_error", "Content-Type", "invalid_value",
                         "Content-Type must be application/json");
        return;
    }
    if (!origin_ok(s, r)) {
        http_reply_error(r, 403, "invalid_request_error", "Origin", "csrf_failed",
                         "cross-site request refused: Origin is not this service's (PUBLIC_URL)");
        return;
    }
    if (serve_session_blocked(s, r))
        return;
    size_t len;
    const char *body = http_req_body(r, &len);
    cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
    char path[64], why[96];
    if (j && check_json_text(body, len, path, sizeof path, why, sizeof why) != 0) {
        /* names of unknown fields are echoed below: text first */
        cJSON_Delete(j);
        serve_session_failed(s, r);
        http_reply_error(r, 400, "invalid_request_error", path, "invalid_value", "%s: %s", path, why);
        return;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "api_key");
    if (!j || !cJSON_IsObject(j) || !cJSON_IsString(k) || !auth_key_wellformed(k->valuestring)) {
        cJSON_Delete(j);
        serve_session_failed(s, r);
        http_reply_error(r, 400, "invalid_request_error", "api_key", "invalid_value",
                         "api_key: send {\"api_key\": \"ik_...\"} with a key from `ingot admin key create`");
        return;
    }
    for (const cJSON *f = j->child; f; f = f->next)
        if (strcmp(f->string, "api_key") != 0) {
            http_reply_error(r, 400, "invalid_request_error", f->string, "unknown_parameter",
                             "unknown field %.60s; the body is {\"api_key\": \"ik_...\"}", f->string);
            cJSON_Delete(j);
            return;
        }
    char hdr[80];
    snprintf(hdr, sizeof hdr, "Bearer %s", k->valuestring);
    cJSON_Delete(j);
    auth_check(s->auth, hdr, key_auth_cb, ss_req_new(s, r));
}

/* --- setup --- */

static void off_route(struct http_req *r, void *arg)
{
    (void)arg;
    http_reply_error(r, 404, "invalid_request_error", NULL, "login_method_off",
                     "login sessions are off: JWT_SECRET is not set (`ingot init` generates one)");
}

int serve_session_check(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->oauth_server_url[0]) {
        const char *missing = !cfg->oauth_client_id[0] ? "OAUTH_CLIENT_ID"
                              : !cfg->public_url[0]    ? "PUBLIC_URL"
                              : !cfg->jwt_secret[0]    ? "JWT_SECRET"
                                                       : NULL;
        if (missing) {
            snprintf(err, errlen, "%s: required when OAUTH_SERVER_URL is set (OIDC login)", missing);
            return -1;
        }
    }
    return 0;
}

struct serve_session *serve_session_new(struct runtime *rt, struct httpd *h, struct auth *a)
{
    const struct config *cfg = rt->cfg;
    struct serve_session *s = xcalloc(1, sizeof *s);
    s->rt = rt;
    s->cfg = cfg;
    s->auth = a;
    if (cfg->public_url[0]) {
        const char *p = strstr(cfg->public_url, "://");
        size_t n = p ? strcspn(p + 3, "/") + (size_t)(p + 3 - cfg->public_url) : strlen(cfg->public_url);
        snprintf(s->origin, sizeof s->origin, "%.*s", (int)n, cfg->public_url);
        s->https = strncmp(cfg->public_url, "https://", 8) == 0;
    }
    if (cfg->oauth_server_url[0])
        s->oidc = oidc_new(rt->httpc, cfg->oauth_server_url);
    s->rl = ratelimit_new(rt->redis, rt->installation_id);
    /* The routes exist either way (the same surface whatever the settings);
     * without JWT_SECRET no session can be signed, so they say so. */
    bool on = cfg->jwt_secret[0] != '\0';
    if (!on)
        log_info("JWT_SECRET is not set: login sessions are off");
    httpd_route(h, HTTP_M_GET, "/auth/me", 0, on ? me_route : off_route, s);
    httpd_route(h, HTTP_M_POST, "/auth/login/key", 0, on ? login_key_route : off_route, s);
    httpd_route(h, HTTP_M_POST, "/auth/refresh", 0, on ? serve_session_refresh_route : off_route, s);
    httpd_route(h, HTTP_M_POST, "/auth/logout", 0, on ? serve_session_logout_route : off_route, s);
    httpd_route(h, HTTP_M_POST, "/auth/logout-all", 0, on ? serve_session_logout_all_route : off_route, s);
    serve_auth_routes(s, h);
    return s;
}

void serve_session_free(struct serve_session *s)
{
    if (!s)
        return;
    oidc_free(s->oidc);
    ratelimit_free(s->rl);
    free(s);
}
