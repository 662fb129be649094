/* OIDC login: the authorization code flow with PKCE (serve_auth.h). */
#include "serve_auth.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "httpd.h"
#include "jwt.h"
#include "log.h"
#include "oidc.h"
#include "runtime.h"
#include "serve_session.h"
#include "session.h"

#define RETURN_TO_MAX 512
#define ID_TOKEN_LEEWAY_S 60

struct login {
    struct serve_session *s;
    struct http_req *r;
    char ret[RETURN_TO_MAX + 1];
    char state[64], nonce[64], verifier[96];
    char code[1024];
    struct jwt idt;
};

static const struct config *cfg_of(struct serve_session *s)
{
    return serve_session_rt(s)->cfg;
}

static void login_free(struct login *lg)
{
    jwt_deinit(&lg->idt);
    free(lg);
}

/* Percent-encodes s for a query or a form body. */
static void pct(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            sbuf_putc(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sbuf_append(b, e, 3);
        }
    }
}

static void redirect_uri(struct serve_session *s, struct sbuf *b)
{
    const char *pu = cfg_of(s)->public_url;
    size_t n = strlen(pu);
    while (n > 0 && pu[n - 1] == '/')
        n--;
    sbuf_append(b, pu, n);
    sbuf_puts(b, "/auth/callback");
}

/* A failed login: counted, and answered 401 with what went wrong. */
static void refuse(struct login *lg, const char *code, const char *fmt, ...) ATTR_FMT(3, 4);
static void refuse(struct login *lg, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    serve_session_failed(lg->s, lg->r);
    log_info("login refused (%s): %s", code, msg);
    http_reply_error(lg->r, 401, "invalid_request_error", NULL, code, "%s", msg);
    login_free(lg);
}

static bool oidc_on(struct serve_session *s, struct http_req *r)
{
    if (serve_session_oidc(s))
        return true;
    http_reply_error(r, 404, "invalid_request_error", NULL, "login_method_off",
                     "OIDC login is off (OAUTH_SERVER_URL is not set): POST /auth/login/key with an API key");
    return false;
}

/* --- GET /auth/login --- */

/* The OIDC server did not answer (discovery, JWKS or the token endpoint). */
static void login_unavailable(struct login *lg, const char *err)
{
    http_add_header(lg->r, "Retry-After", "5");
    http_reply_error(lg->r, 503, "server_error", NULL, "oidc_unavailable",
                     "the OIDC server cannot be reached (%s); retry shortly", err);
    login_free(lg);
}

static void login_ready_cb(const char *err, void *arg)
{
    struct login *lg = arg;
    struct serve_session *s = lg->s;
    const struct config *cfg = cfg_of(s);
    if (err) {
        login_unavailable(lg, err);
        return;
    }
    struct sbuf st, no, ve;
    sbuf_init(&st);
    sbuf_init(&no);
    sbuf_init(&ve);
    if (session_random_b64(24, &st) < 0 || session_random_b64(24, &no) < 0 || session_random_b64(48, &ve) < 0) {
        http_reply_error(lg->r, 500, "server_error", NULL, "no_randomness", "no randomness available");
    } else {
        /* The secrets of this login, signed, in a cookie only /auth reads. */
        struct sbuf cl, tok, loc;
        sbuf_init(&cl);
        sbuf_init(&tok);
        sbuf_init(&loc);
        sbuf_printf(&cl, "{\"iss\":\"ingot\",\"typ\":\"login\",\"state\":\"%s\",\"nonce\":\"%s\",\"v\":\"%s\",\"ret\":",
                    st.data, no.data, ve.data);
        sbuf_json_str(&cl, lg->ret);
        sbuf_printf(&cl, ",\"exp\":%lld}", (long long)time_real_us() / 1000000 + AUTH_LOGIN_TTL_S);
        jwt_hs256_sign(cfg->jwt_secret, cl.data, &tok);
        struct sbuf ck;
        sbuf_init(&ck);
        session_set_cookie(&ck, SESSION_LOGIN_COOKIE, tok.data, "/auth", AUTH_LOGIN_TTL_S, true,
                           serve_session_secure(s, lg->r));
        http_add_header(lg->r, "Set-Cookie", ck.data);
        sbuf_deinit(&ck);

        const char *authz = oidc_authorization_endpoint(serve_session_oidc(s));
        sbuf_puts(&loc, authz);
        sbuf_putc(&loc, strchr(authz, '?') ? '&' : '?');
        sbuf_puts(&loc, "response_type=code&scope=openid&client_id=");
        pct(&loc, cfg->oauth_client_id);
        sbuf_puts(&loc, "&redirect_uri=");
        struct sbuf ru;
        sbuf_init(&ru);
        redirect_uri(s, &ru);
        pct(&loc, ru.data);
        sbuf_deinit(&ru);
        sbuf_printf(&loc, "&state=%s&nonce=%s&code_challenge=", st.data, no.data);
        session_pkce_challenge(ve.data, &loc);
        sbuf_puts(&loc, "&code_challenge_method=S256");
        http_add_header(lg->r, "Location", loc.data);
        http_add_header(lg->r, "Cache-Control", "no-store");
        http_reply(lg->r, 302, "text/plain", "", 0);
        sbuf_deinit(&cl);
        sbuf_deinit(&tok);
        sbuf_deinit(&loc);
    }
    sbuf_deinit(&st);
    sbuf_deinit(&no);
    sbuf_deinit(&ve);
    login_free(lg);
}

/* Only a path on this service: no scheme, no host, no "//" (which a
 * browser reads as another host), no backslash, no control character. */
static bool return_to_ok(const char *v)
{
    if (v[0] != '/' || v[1] == '/' || v[1] == '\\' || strlen(v) > RETURN_TO_MAX)
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
            return false;
    return true;
}

/* Only the named query parameters; false after answering 400. */
static bool query_only(struct http_req *r, const char *const *names)
{
    for (size_t i = 0; i < http_req_query_count(r); i++) {
        const char *n = http_req_query_name(r, i);
        bool known = false;
        for (const char *const *k = names; *k; k++)
            known |= strcmp(*k, n) == 0;
        if (!known) {
            http_reply_error(r, 400, "invalid_request_error", n, "unknown_parameter",
                             "%s: not a parameter of this route", n);
            return false;
        }
    }
    return true;
}

static void login_route(struct http_req *r, void *arg)
{
    struct serve_session *s = arg;
    static const char *const names[] = {"return_to", NULL};
    if (!oidc_on(s, r) || !query_only(r, names) || serve_session_blocked(s, r))
        return;
    const char *ret = http_req_query(r, "return_to");
    if (ret && !return_to_ok(ret)) {
        http_reply_error(r, 400, "invalid_request_error", "return_to", "invalid_value",
                         "return_to: a path on this service starting with one '/' (at most %d characters)",
                         RETURN_TO_MAX);
        return;
    }
    struct login *lg = xcalloc(1, sizeof *lg);
    lg->s = s;
    lg->r = r;
    snprintf(lg->ret, sizeof lg->ret, "%s", ret ? ret : "/ui/");
    oidc_discover(serve_session_oidc(s), login_ready_cb, lg);
}

/* --- GET /auth/callback --- */

static void key_cb(EVP_PKEY *key, const char *err, void *arg)
{
    struct login *lg = arg;
    const struct config *cfg = cfg_of(lg->s);
    char why[200];
    if (!key) {
        refuse(lg, "invalid_id_token", "the ID token cannot be verified: %s", err);
        return;
    }
    if (jwt_verify_pkey(&lg->idt, key, why, sizeof why) < 0) {
        refuse(lg, "invalid_id_token", "the ID token's signature is not valid: %s", why);
        return;
    }
    struct jwt_expect e = {.iss = oidc_issuer(serve_session_oidc(lg->s)), .aud = cfg->oauth_client_id,
                           .nonce = lg->nonce, .leeway_s = ID_TOKEN_LEEWAY_S};
    if (jwt_check_claims(&lg->idt, &e, time_real_us() / 1000000, why, sizeof why) < 0) {
        refuse(lg, "invalid_id_token", "the ID token is refused: %s", why);
        return;
    }
    const char *sub = jwt_claim_str(&lg->idt, "sub");
    if (!sub || !*sub || strlen(sub) > SESSION_SUBJECT_MAX) {
        refuse(lg, "invalid_id_token", "the ID token is refused: %s", "sub: missing or longer than 255");
        return;
    }
    struct sbuf ck;
    sbuf_init(&ck);
    session_set_cookie(&ck, SESSION_LOGIN_COOKIE, "", "/auth", 0, true, serve_session_secure(lg->s, lg->r));
    http_add_header(lg->r, "Set-Cookie", ck.data);
    sbuf_deinit(&ck);
    serve_session_create(lg->s, lg->r, false, sub, 0, 0, lg->ret);
    login_free(lg);
}

static void token_cb(const struct httpc_response *res, void *arg)
{
    struct login *lg = arg;
    char why[200];
    cJSON *j = res->error ? NULL : cJSON_ParseWithLength(res->body, res->body_len);
    const cJSON *idt = cJSON_GetObjectItemCaseSensitive(j, "id_token");
    const cJSON *perr = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (res->error || res->status >= 500) {
        log_warn("oidc token endpoint: %s (status %ld)", res->error ? res->error : "server error", res->status);
        http_add_header(lg->r, "Retry-After", "5");
        http_reply_error(lg->r, 503, "server_error", NULL, "oidc_unavailable",
                         "the OIDC token endpoint failed; start again at GET /auth/login");
        login_free(lg);
    } else if (res->status != 200) {
        snprintf(why, sizeof why, "%.80s", cJSON_IsString(perr) ? perr->valuestring : "no error code");
        refuse(lg, "code_refused", "the OIDC server refused the code (%s): start again at GET /auth/login", why);
    } else if (!cJSON_IsString(idt)) {
        refuse(lg, "invalid_id_token", "%s", "the token endpoint answered no id_token");
    } else if (jwt_parse(idt->valuestring, &lg->idt, why, sizeof why) < 0) {
        refuse(lg, "invalid_id_token", "the ID token is not valid: %s", why);
    } else {
        cJSON_Delete(j);
        oidc_key(serve_session_oidc(lg->s), lg->idt.kid, lg->idt.alg, key_cb, lg);
        return;
    }
    cJSON_Delete(j);
}

/* The login cookie's secrets into lg: 0, or -1. */
static int login_state(struct login *lg)
{
    char tok[2048], err[160];
    struct jwt j;
    if (!session_cookie(http_req_header(lg->r, "Cookie"), SESSION_LOGIN_COOKIE, tok, sizeof tok))
        return -1;
    int rc = -1;
    struct jwt_expect e = {.iss = "ingot"};
    if (jwt_parse(tok, &j, err, sizeof err) == 0 && jwt_verify_hs256(&j, cfg_of(lg->s)->jwt_secret, err, sizeof err) == 0 &&
        jwt_check_claims(&j, &e, time_real_us() / 1000000, err, sizeof err) == 0) {
        const char *typ = jwt_claim_str(&j, "typ"), *st = jwt_claim_str(&j, "state");
        const char *no = jwt_claim_str(&j, "nonce"), *v = jwt_claim_str(&j, "v"), *ret = jwt_claim_str(&j, "ret");
        if (typ && strcmp(typ, "login") == 0 && st && no && v && ret) {
            snprintf(lg->state, sizeof lg->state, "%s", st);
            snprintf(lg->nonce, sizeof lg->nonce, "%s", no);
            snprintf(lg->verifier, sizeof lg->verifier, "%s", v);
            snprintf(lg->ret, sizeof lg->ret, "%s", ret);
            rc = 0;
        }
    }
    jwt_deinit(&j);
    return rc;
}

static void exchange_cb(const char *err, void *arg)
{
    struct login *lg = arg;
    struct serve_session *s = lg->s;
    const struct config *cfg = cfg_of(s);
    if (err) {
        login_unavailable(lg, err);
        return;
    }
    struct sbuf body;
    sbuf_init(&body);
    sbuf_puts(&body, "grant_type=authorization_code&code=");
    pct(&body, lg->code);
    sbuf_puts(&body, "&redirect_uri=");
    struct sbuf ru;
    sbuf_init(&ru);
    redirect_uri(s, &ru);
    pct(&body, ru.data);
    sbuf_deinit(&ru);
    sbuf_puts(&body, "&client_id=");
    pct(&body, cfg->oauth_client_id);
    sbuf_puts(&body, "&code_verifier=");
    pct(&body, lg->verifier);
    if (cfg->oauth_client_secret[0]) {
        sbuf_puts(&body, "&client_secret=");
        pct(&body, cfg->oauth_client_secret);
    }
    static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                                       "Accept: application/json", NULL};
    struct httpc_request rq = {.method = "POST", .url = oidc_token_endpoint(serve_session_oidc(s)),
                               .headers = hdrs, .body = body.data, .body_len = body.len,
                               .timeout_ms = OIDC_FETCH_TIMEOUT_MS, .max_body = (size_t)64 * 1024};
    if (httpc_send(serve_session_rt(s)->httpc, &rq, token_cb, lg) < 0) {
        http_reply_error(lg->r, 503, "server_error", NULL, "oidc_unavailable", "the token request could not start");
        login_free(lg);
    }
    sbuf_deinit(&body);
}

static bool token_chars(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return false;
    return true;
}

static void callback_route(struct http_req *r, void *arg)
{
    struct serve_session *s = arg;
    static const char *const names[] = {"code", "state", "error", "error_description", "iss", "session_state", NULL};
    if (!oidc_on(s, r) || !query_only(r, names) || serve_session_blocked(s, r))
        return;
    struct login *lg = xcalloc(1, sizeof *lg);
    lg->s = s;
    lg->r = r;
    const char *perr = http_req_query(r, "error"), *code = http_req_query(r, "code");
    const char *state = http_req_query(r, "state");
    if (perr) {
        char e[64];
        snprintf(e, sizeof e, "%.40s", token_chars(perr) ? perr : "?");
        refuse(lg, "oidc_refused", "the OIDC server answered error=%s: start again at GET /auth/login", e);
        return;
    }
    if (!code || !*code || strlen(code) >= sizeof lg->code || !token_chars(code) || !state) {
        serve_session_failed(s, r);
        http_reply_error(r, 400, "invalid_request_error", !code || !*code ? "code" : "state", "invalid_value",
                         "%s: missing or not valid; this is the OIDC server's redirect target, start at GET /auth/login",
                         !code || !*code ? "code" : "state");
        login_free(lg);
        return;
    }
    if (login_state(lg) < 0) {
        refuse(lg, "login_state_missing", "%s",
               "no login under way in this browser (the ingot_login cookie is missing, altered or older than 10 min): start at GET /auth/login");
        return;
    }
    if (!util_secure_streq(state, lg->state)) {
        refuse(lg, "state_mismatch", "%s", "state: does not match the login this browser started; start again at GET /auth/login");
        return;
    }
    snprintf(lg->code, sizeof lg->code, "%s", code);
    oidc_discover(serve_session_oidc(s), exchange_cb, lg);
}

void serve_auth_routes(struct serve_session *s, struct httpd *h)
{
    httpd_route(h, HTTP_M_GET, "/auth/login", 0, login_route, s);
    httpd_route(h, HTTP_M_GET, "/auth/callback", 0, callback_route, s);
}
