#include "provider_snap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "llm_anthropic.h"

struct snap_provider {
    char name[PROVIDER_NAME_MAX + 1];
    enum provider_type type;
    char *base_url;
    char *api_key;           /* opened, NULL for none */
    char *key_error;         /* stored but unusable, or NULL */
    const char *source;
    uint64_t tag;            /* provider_info.tag */
};

struct snap_route {
    char *model;
    char provider[PROVIDER_NAME_MAX + 1];
    char *upstream;          /* NULL: the model's own name */
};

struct snap_tkey {
    uint64_t tenant;
    char provider[PROVIDER_NAME_MAX + 1];
    char *api_key;
    char *key_error;
};

struct provider_snap {
    struct snap_provider *p;
    size_t np, capp;
    struct snap_route *r;
    size_t nr, capr;
    struct snap_tkey *k;
    size_t nk, capk;
};

#define GROW(arr, n, cap)                                                      \
    do {                                                                       \
        if ((n) == (cap)) {                                                    \
            (cap) = (cap) ? (cap) * 2 : 8;                                     \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                    \
        }                                                                      \
    } while (0)

const char *provider_type_name(enum provider_type t)
{
    return t == PROVIDER_ANTHROPIC ? "anthropic" : t == PROVIDER_OPENAI_CHAT ? "openai-chat" : "openai";
}

int provider_type_parse(const char *s, enum provider_type *out)
{
    if (s && strcmp(s, "openai") == 0)
        *out = PROVIDER_OPENAI;
    else if (s && strcmp(s, "anthropic") == 0)
        *out = PROVIDER_ANTHROPIC;
    else if (s && strcmp(s, "openai-chat") == 0)
        *out = PROVIDER_OPENAI_CHAT;
    else
        return -1;
    return 0;
}

bool provider_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > PROVIDER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

struct provider_snap *provider_snap_new(void)
{
    return xcalloc(1, sizeof(struct provider_snap));
}

void provider_snap_free(struct provider_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->np; i++) {
        free(s->p[i].base_url);
        crypt_secret_free(s->p[i].api_key);
        free(s->p[i].key_error);
    }
    for (size_t i = 0; i < s->nr; i++) {
        free(s->r[i].model);
        free(s->r[i].upstream);
    }
    for (size_t i = 0; i < s->nk; i++) {
        crypt_secret_free(s->k[i].api_key);
        free(s->k[i].key_error);
    }
    free(s->p);
    free(s->r);
    free(s->k);
    free(s);
}

static char *url_trimmed(const char *u)
{
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
        n--;
    return xstrndup(u, n);
}

/* FNV-1a over every field a request uses, each ended by a byte no field
 * holds, so moving a byte from one field to the next changes it. */
static uint64_t tag_mix(uint64_t h, const char *v)
{
    for (const unsigned char *c = (const unsigned char *)(v ? v : ""); *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return (h ^ (v ? 0xffu : 0xfeu)) * 1099511628211ULL;
}

static uint64_t tag_of(const struct snap_provider *p)
{
    uint64_t h = 14695981039346656037ULL;
    h = (h ^ (unsigned)p->type) * 1099511628211ULL;
    h = tag_mix(h, p->base_url);
    h = tag_mix(h, p->api_key);
    return tag_mix(h, p->key_error);
}

void provider_snap_add(struct provider_snap *s, const char *name, enum provider_type type,
                       const char *base_url, const char *api_key, const char *key_error,
                       const char *source)
{
    GROW(s->p, s->np, s->capp);
    struct snap_provider *p = &s->p[s->np++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->type = type;
    p->base_url = url_trimmed(base_url ? base_url : "");
    p->api_key = api_key && *api_key ? xstrdup(api_key) : NULL;
    p->key_error = key_error ? xstrdup(key_error) : NULL;
    p->source = source ? source : "admin";
    p->tag = tag_of(p);
}

void provider_snap_route(struct provider_snap *s, const char *model, const char *provider,
                         const char *upstream)
{
    GROW(s->r, s->nr, s->capr);
    struct snap_route *r = &s->r[s->nr++];
    r->model = xstrdup(model);
    snprintf(r->provider, sizeof r->provider, "%s", provider);
    r->upstream = upstream && *upstream ? xstrdup(upstream) : NULL;
}

void provider_snap_tenant_key(struct provider_snap *s, uint64_t tenant, const char *provider,
                              const char *api_key, const char *key_error)
{
    GROW(s->k, s->nk, s->capk);
    struct snap_tkey *k = &s->k[s->nk++];
    k->tenant = tenant;
    snprintf(k->provider, sizeof k->provider, "%s", provider);
    k->api_key = api_key && *api_key ? xstrdup(api_key) : NULL;
    k->key_error = key_error ? xstrdup(key_error) : (k->api_key ? NULL : xstrdup("empty key"));
}

static int route_cmp(const void *a, const void *b)
{
    return strcmp(((const struct snap_route *)a)->model, ((const struct snap_route *)b)->model);
}

static int tkey_cmp(const void *a, const void *b)
{
    const struct snap_tkey *x = a, *y = b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    return strcmp(x->provider, y->provider);
}

void provider_snap_done(struct provider_snap *s)
{
    if (s->nr)
        qsort(s->r, s->nr, sizeof *s->r, route_cmp);
    if (s->nk)
        qsort(s->k, s->nk, sizeof *s->k, tkey_cmp);
}

size_t provider_snap_count(const struct provider_snap *s)
{
    return s ? s->np : 0;
}

size_t provider_snap_route_count(const struct provider_snap *s)
{
    return s ? s->nr : 0;
}

static const struct snap_provider *find_provider(const struct provider_snap *s, const char *name,
                                                 size_t len)
{
    for (size_t i = 0; s && i < s->np; i++)
        if (strlen(s->p[i].name) == len && strncmp(s->p[i].name, name, len) == 0)
            return &s->p[i];
    return NULL;
}

static const struct snap_route *find_route(const struct provider_snap *s, const char *model)
{
    if (!s || !s->nr)
        return NULL;
    struct snap_route key = {.model = (char *)model};
    return bsearch(&key, s->r, s->nr, sizeof *s->r, route_cmp);
}

static const struct snap_tkey *find_tkey(const struct provider_snap *s, uint64_t tenant,
                                         const char *provider)
{
    if (!s || !s->nk || !tenant)
        return NULL;
    struct snap_tkey key = {.tenant = tenant};
    snprintf(key.provider, sizeof key.provider, "%s", provider);
    return bsearch(&key, s->k, s->nk, sizeof *s->k, tkey_cmp);
}

/* Fills out from p; the key is the tenant's when it has one. */
/* secrets: base_url and api_key copied (else left NULL: a check needs
 * neither, and copying the key costs an allocation and a wipe). */
static int target(const struct provider_snap *s, const struct snap_provider *p, uint64_t tenant,
                  const char *upstream, struct provider_target *out, char *why, size_t whylen, bool secrets)
{
    const struct snap_tkey *k = find_tkey(s, tenant, p->name);
    /* PROVIDERS_KEY_UNUSABLE: the operator's fault; why is for the operator's log */
    if (k && k->key_error) {
        snprintf(why, whylen, "tenant %llu's own key for provider '%s' does not open (%s): restore the "
                              "ENCRYPTION_KEY it was sealed with, or set it again",
                 (unsigned long long)tenant, p->name, k->key_error);
        return PROVIDERS_KEY_UNUSABLE;
    }
    if (!k && p->key_error) {
        snprintf(why, whylen, "the key of provider '%s' does not open (%s): restore the ENCRYPTION_KEY it "
                              "was sealed with, or set it again", p->name, p->key_error);
        return PROVIDERS_KEY_UNUSABLE;
    }
    if (strlen(upstream) > LLM_MODEL_MAX) {
        snprintf(why, whylen, "model is longer than %d characters", LLM_MODEL_MAX);
        return -1;
    }
    memset(out, 0, sizeof *out);
    util_strcpy(out->provider, sizeof out->provider, p->name);
    out->type = p->type;
    if (secrets) {
        out->base_url = xstrdup(p->base_url);
        const char *key = k ? k->api_key : p->api_key;
        out->api_key = xstrdup(key ? key : "");
    }
    util_strcpy(out->upstream_model, sizeof out->upstream_model, upstream);
    out->tenant_key = k != NULL;
    return 0;
}

static int resolve(const struct provider_snap *s, uint64_t tenant, const char *model,
                   struct provider_target *out, char *why, size_t whylen, bool secrets)
{
    if (!model || !*model) {
        snprintf(why, whylen, "model is required");
        return -1;
    }
    size_t mlen = strlen(model);
    if (mlen > LLM_MODEL_MAX) {
        snprintf(why, whylen, "model is longer than %d characters", LLM_MODEL_MAX);
        return -1;
    }
    /* 1. A route for the whole string. */
    const struct snap_route *r = find_route(s, model);
    if (r) {
        const struct snap_provider *p = find_provider(s, r->provider, strlen(r->provider));
        if (!p) {
            snprintf(why, whylen, "model '%s' is routed to provider '%s', which is not configured",
                     model, r->provider);
            return -1;
        }
        return target(s, p, tenant, r->upstream ? r->upstream : model, out, why, whylen, secrets);
    }
    /* 2. "provider/model", when the part before the first '/' names a
     * provider (else the slash belongs to the model's own name, as in
     * "meta-llama/Llama-3-8b", and the default provider gets it whole). */
    const char *slash = strchr(model, '/');
    if (slash) {
        const struct snap_provider *p = find_provider(s, model, (size_t)(slash - model));
        if (p) {
            if (!slash[1]) {
                snprintf(why, whylen, "model '%s' names provider '%s' but no model after the '/'",
                         model, p->name);
                return -1;
            }
            return target(s, p, tenant, slash + 1, out, why, whylen, secrets);
        }
    }
    /* 3. The default provider. */
    const struct snap_provider *d = find_provider(s, PROVIDER_DEFAULT, strlen(PROVIDER_DEFAULT));
    if (d)
        return target(s, d, tenant, model, out, why, whylen, secrets);
    if (slash)
        snprintf(why, whylen, "model '%s' is not available: no provider named %.*s (and no default provider)",
                 model, (int)(slash - model), model);
    else
        snprintf(why, whylen, "model '%s' is not available: no route matches it and no default provider "
                              "is configured", model);
    return -1;
}

int provider_snap_resolve(const struct provider_snap *s, uint64_t tenant, const char *model,
                          struct provider_target *out, char *why, size_t whylen)
{
    return resolve(s, tenant, model, out, why, whylen, true);
}

int provider_snap_resolve_nokey(const struct provider_snap *s, uint64_t tenant, const char *model,
                                 struct provider_target *out, char *why, size_t whylen)
{
    return resolve(s, tenant, model, out, why, whylen, false);
}

int provider_snap_get(const struct provider_snap *s, const char *name, struct provider_target *out,
                      char *why, size_t whylen)
{
    const struct snap_provider *p = find_provider(s, name, strlen(name));
    if (!p) {
        snprintf(why, whylen, "no provider '%s'", name);
        return -1;
    }
    if (target(s, p, 0, "", out, why, whylen, true) == 0)
        return 0;
    /* /health shows this unauthenticated: no detail beyond the name */
    snprintf(why, whylen, "provider '%s' is unavailable: its API key cannot be used", p->name);
    return -1;
}

size_t provider_snap_list(const struct provider_snap *s, struct provider_info *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->np && n < max; i++, n++) {
        const struct snap_provider *p = &s->p[i];
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "%s", p->name);
        out[n].type = p->type;
        snprintf(out[n].base_url, sizeof out[n].base_url, "%s", p->base_url);
        out[n].has_key = p->api_key != NULL || p->key_error != NULL;
        out[n].source = p->source;
        out[n].tag = p->tag;
    }
    return n;
}

void provider_snap_aliases(const struct provider_snap *s, const char *provider, const char *upstream,
                           provider_alias_fn fn, void *arg)
{
    for (size_t i = 0; s && i < s->nr; i++) {
        const struct snap_route *r = &s->r[i];
        if (strcmp(r->provider, provider) == 0 && strcmp(r->upstream ? r->upstream : r->model, upstream) == 0 &&
            fn(r->model, arg))
            return;
    }
}

void provider_snap_routes_json(const struct provider_snap *s, struct sbuf *out)
{
    sbuf_putc(out, '[');
    for (size_t i = 0; s && i < s->nr; i++) {
        const struct snap_route *r = &s->r[i];
        sbuf_puts(out, i ? ",{\"model\":" : "{\"model\":");
        sbuf_json_str(out, r->model);
        sbuf_puts(out, ",\"provider\":");
        sbuf_json_str(out, r->provider);
        sbuf_puts(out, ",\"upstream_model\":");
        sbuf_json_str(out, r->upstream ? r->upstream : r->model);
        sbuf_putc(out, '}');
    }
    sbuf_putc(out, ']');
}

void provider_target_deinit(struct provider_target *t)
{
    if (!t)
        return;
    free(t->base_url);
    crypt_secret_free(t->api_key);
    t->base_url = NULL;
    t->api_key = NULL;
}

size_t provider_auth_headers(const struct provider_target *t, char *out[3])
{
    size_t n = 0;
    bool key = t->api_key && *t->api_key;
    if (t->type == PROVIDER_ANTHROPIC) {
        if (key)
            out[n++] = xstrcat("x-api-key: ", t->api_key);
        out[n++] = xstrdup("anthropic-version: " ANTHROPIC_VERSION);
    } else if (key) {
        out[n++] = xstrcat("Authorization: Bearer ", t->api_key);
    }
    out[n] = NULL;
    return n;
}

size_t provider_auth_headers_in(const struct provider_target *t, char *buf, size_t n, const char *out[3],
                                char *own[3])
{
    size_t k = 0;
    own[0] = NULL;
    if (n)
        buf[0] = '\0';
    if (t->api_key && *t->api_key) {
        /* the same names as provider_auth_headers */
        const char *name = t->type == PROVIDER_ANTHROPIC ? "x-api-key: " : "Authorization: Bearer ";
        size_t nl = strlen(name), kl = strlen(t->api_key);
        if (nl + kl + 1 > n) {
            k = provider_auth_headers(t, own);
            for (size_t i = 0; i <= k; i++)
                out[i] = own[i];
            return k;
        }
        memcpy(buf, name, nl);
        memcpy(buf + nl, t->api_key, kl + 1);
        out[k++] = buf;
    }
    if (t->type == PROVIDER_ANTHROPIC)
        out[k++] = "anthropic-version: " ANTHROPIC_VERSION;
    out[k] = NULL;
    return k;
}

void provider_header_free(char *out[3])
{
    for (size_t i = 0; i < 3 && out[i]; i++) {
        crypt_secret_free(out[i]);
        out[i] = NULL;
    }
}
