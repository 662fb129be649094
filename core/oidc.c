#include "oidc.h"

#include <cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "log.h"

#define OIDC_MAX_KEYS 16
#define OIDC_MAX_DOC ((size_t)256 * 1024)

struct oidc_key {
    char kid[128];
    EVP_PKEY *key;
};

struct waiter {
    oidc_ready_cb ready;     /* a discovery waiter, or */
    oidc_key_cb keyed;       /* a key waiter */
    char kid[128];
    enum jwt_alg alg;
    unsigned want_gen;       /* answered "unknown" only after this JWKS fetch */
    void *arg;
    struct waiter *next;
};

enum fetch { FETCH_NONE = 0, FETCH_DISCOVERY, FETCH_JWKS };

struct oidc {
    struct httpc *h;
    char *server_url;        /* without a trailing '/' */
    char *issuer, *authz, *token, *jwks_uri;
    bool discovered;
    unsigned jwks_gen;       /* JWKS fetches completed */
    enum fetch fetching;
    struct oidc_key keys[OIDC_MAX_KEYS];
    size_t nkeys;
    unsigned jwks_fetches;
    struct waiter *waiters;  /* in the order they came */
};

static char *strip_slash(const char *s)
{
    char *c = xstrdup(s);
    size_t n = strlen(c);
    while (n > 0 && c[n - 1] == '/')
        c[--n] = '\0';
    return c;
}

struct oidc *oidc_new(struct httpc *h, const char *server_url)
{
    struct oidc *o = xcalloc(1, sizeof *o);
    o->h = h;
    o->server_url = strip_slash(server_url);
    o->issuer = xstrdup("");
    o->authz = xstrdup("");
    o->token = xstrdup("");
    o->jwks_uri = xstrdup("");
    return o;
}

static void clear_keys(struct oidc *o)
{
    for (size_t i = 0; i < o->nkeys; i++)
        EVP_PKEY_free(o->keys[i].key);
    o->nkeys = 0;
}

static void fetch_cb(const struct httpc_response *r, void *arg);

static void fail_all(struct oidc *o, const char *err)
{
    struct waiter *w = o->waiters;
    o->waiters = NULL;
    while (w) {
        struct waiter *next = w->next;
        if (w->ready)
            w->ready(err, w->arg);
        else
            w->keyed(NULL, err, w->arg);
        free(w);
        w = next;
    }
}

void oidc_free(struct oidc *o)
{
    if (!o)
        return;
    if (o->fetching)
        (void)httpc_abort(o->h, fetch_cb, o);
    o->fetching = FETCH_NONE;
    fail_all(o, "shutting down");
    clear_keys(o);
    free(o->server_url);
    free(o->issuer);
    free(o->authz);
    free(o->token);
    free(o->jwks_uri);
    free(o);
}

const char *oidc_issuer(const struct oidc *o) { return o->issuer; }
const char *oidc_authorization_endpoint(const struct oidc *o) { return o->authz; }
const char *oidc_token_endpoint(const struct oidc *o) { return o->token; }
unsigned oidc_jwks_fetches(const struct oidc *o) { return o->jwks_fetches; }

static void start_fetch(struct oidc *o, enum fetch what)
{
    char *url = what == FETCH_DISCOVERY ? xasprintf("%s/.well-known/openid-configuration", o->server_url)
                                        : xstrdup(o->jwks_uri);
    static const char *const hdrs[] = {"Accept: application/json", NULL};
    struct httpc_request rq = {.method = "GET", .url = url, .headers = hdrs,
                               .timeout_ms = OIDC_FETCH_TIMEOUT_MS, .max_body = OIDC_MAX_DOC};
    o->fetching = what;
    if (what == FETCH_JWKS)
        o->jwks_fetches++;
    if (httpc_send(o->h, &rq, fetch_cb, o) < 0) {
        o->fetching = FETCH_NONE;
        fail_all(o, "the OIDC request could not start");
    }
    free(url);
}

static const char *str_field(const cJSON *doc, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* 0, or -1 with err. */
static int load_discovery(struct oidc *o, const cJSON *doc, char *err, size_t errlen)
{
    const char *iss = str_field(doc, "issuer"), *authz = str_field(doc, "authorization_endpoint");
    const char *tok = str_field(doc, "token_endpoint"), *jwks = str_field(doc, "jwks_uri");
    if (!iss || !authz || !tok || !jwks) {
        snprintf(err, errlen, "the discovery document lacks %s",
                 !iss ? "issuer" : !authz ? "authorization_endpoint" : !tok ? "token_endpoint" : "jwks_uri");
        return -1;
    }
    char *is = strip_slash(iss);
    bool same = strcmp(is, o->server_url) == 0;
    free(is);
    if (!same) {
        snprintf(err, errlen, "the discovery document's issuer is not OAUTH_SERVER_URL");
        return -1;
    }
    free(o->issuer);
    free(o->authz);
    free(o->token);
    free(o->jwks_uri);
    o->issuer = xstrdup(iss);
    o->authz = xstrdup(authz);
    o->token = xstrdup(tok);
    o->jwks_uri = xstrdup(jwks);
    o->discovered = true;
    return 0;
}

static int load_jwks(struct oidc *o, const cJSON *doc, char *err, size_t errlen)
{
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys"), *k;
    if (!cJSON_IsArray(keys)) {
        snprintf(err, errlen, "the JWKS has no keys array");
        return -1;
    }
    clear_keys(o);
    cJSON_ArrayForEach(k, keys)
    {
        char why[160];
        if (o->nkeys == OIDC_MAX_KEYS)
            break;
        EVP_PKEY *pk = jwt_jwk_key(k, why, sizeof why);
        if (!pk) { /* an encryption key or another curve: not ours to use */
            log_debug("oidc: a JWKS key skipped: %s", why);
            continue;
        }
        const char *kid = str_field(k, "kid");
        snprintf(o->keys[o->nkeys].kid, sizeof o->keys[0].kid, "%s", kid ? kid : "");
        o->keys[o->nkeys++].key = pk;
    }
    log_info("oidc: %zu signing keys loaded from the JWKS", o->nkeys);
    return 0;
}

static EVP_PKEY *find_key(const struct oidc *o, const char *kid, enum jwt_alg alg)
{
    int want = alg == JWT_ALG_RS256 ? EVP_PKEY_RSA : EVP_PKEY_EC;
    EVP_PKEY *only = NULL;
    int n = 0;
    for (size_t i = 0; i < o->nkeys; i++) {
        if (EVP_PKEY_get_base_id(o->keys[i].key) != want)
            continue;
        if (*kid && strcmp(o->keys[i].kid, kid) == 0)
            return o->keys[i].key;
        only = o->keys[i].key;
        n++;
    }
    return !*kid && n == 1 ? only : NULL;
}

/* Answers what can be answered now; starts the next fetch if one is due. */
static void serve_waiters(struct oidc *o)
{
    struct waiter **pw = &o->waiters;
    bool need_jwks = false;
    while (*pw) {
        struct waiter *w = *pw;
        EVP_PKEY *k = w->keyed && o->discovered && o->jwks_gen ? find_key(o, w->kid, w->alg) : NULL;
        if (w->ready && o->discovered) {
            *pw = w->next;
            w->ready(NULL, w->arg);
            free(w);
        } else if (k || (w->keyed && o->jwks_gen >= w->want_gen)) {
            *pw = w->next;
            if (k)
                w->keyed(k, NULL, w->arg);
            else
                w->keyed(NULL, "kid: no key of the provider's JWKS matches the token's", w->arg);
            free(w);
        } else {
            need_jwks |= w->keyed && o->discovered;
            pw = &w->next;
        }
    }
    if (o->fetching)
        return;
    if (o->waiters && !o->discovered)
        start_fetch(o, FETCH_DISCOVERY);
    else if (need_jwks)
        start_fetch(o, FETCH_JWKS);
}

static void fetch_cb(const struct httpc_response *r, void *arg)
{
    struct oidc *o = arg;
    enum fetch what = o->fetching;
    o->fetching = FETCH_NONE;
    const char *name = what == FETCH_DISCOVERY ? "discovery document" : "JWKS";
    char err[256] = "";
    cJSON *doc = NULL;
    if (r->error || r->status != 200)
        snprintf(err, sizeof err, "the OIDC %s could not be fetched (%s%ld)", name,
                 r->error ? "transport error; status " : "status ", r->status);
    else if (!(doc = cJSON_ParseWithLength(r->body, r->body_len)) || !cJSON_IsObject(doc))
        snprintf(err, sizeof err, "the OIDC %s is not a JSON object", name);
    else if (what == FETCH_DISCOVERY)
        (void)load_discovery(o, doc, err, sizeof err);
    else
        (void)load_jwks(o, doc, err, sizeof err);
    cJSON_Delete(doc);
    if (err[0]) {
        log_warn("oidc: %s", err);
        fail_all(o, err);
        return;
    }
    if (what == FETCH_JWKS)
        o->jwks_gen++;
    serve_waiters(o);
}

static void add_waiter(struct oidc *o, struct waiter *w)
{
    struct waiter **pw = &o->waiters;
    while (*pw)
        pw = &(*pw)->next;
    *pw = w;
    serve_waiters(o);
}

void oidc_discover(struct oidc *o, oidc_ready_cb cb, void *arg)
{
    if (o->discovered) {
        cb(NULL, arg);
        return;
    }
    struct waiter *w = xcalloc(1, sizeof *w);
    w->ready = cb;
    w->arg = arg;
    add_waiter(o, w);
}

void oidc_key(struct oidc *o, const char *kid, enum jwt_alg alg, oidc_key_cb cb, void *arg)
{
    if (alg != JWT_ALG_RS256 && alg != JWT_ALG_ES256) {
        cb(NULL, "alg: ID tokens must be signed with RS256 or ES256", arg);
        return;
    }
    EVP_PKEY *k = o->discovered && o->jwks_gen ? find_key(o, kid, alg) : NULL;
    if (k) {
        cb(k, NULL, arg);
        return;
    }
    struct waiter *w = xcalloc(1, sizeof *w);
    w->keyed = cb;
    w->arg = arg;
    w->alg = alg;
    w->want_gen = o->jwks_gen + 1; /* unknown now: a JWKS fetched from now on decides */
    snprintf(w->kid, sizeof w->kid, "%s", kid);
    add_waiter(o, w);
}
