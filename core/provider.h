/* provider: where a model goes. The default provider comes from the
 * environment (LLM_PROVIDER, LLM_BASE_URL or BUILT_IN_FORGE_API_URL,
 * LLM_API_KEY or BUILT_IN_FORGE_API_KEY); named providers, model routes and
 * tenants' own keys from the database (sql/0007), read at start and again
 * every few seconds off the loop's critical path, so a resolve never waits.
 * Keys are stored sealed (core/crypt) and held opened in memory only. */
#ifndef INGOT_PROVIDER_H
#define INGOT_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"
#include "util.h"

struct runtime;
struct providers;

/* A resolved route, copied out (valid however the tables change). */
struct provider_target {
    char provider[PROVIDER_NAME_MAX + 1];
    enum provider_type type;
    char *base_url;          /* owned, no trailing slash, e.g. "http://127.0.0.1:9/v1" */
    char *api_key;           /* owned, "" for none; never logged */
    char upstream_model[LLM_MODEL_MAX + 1];
    bool tenant_key;         /* the tenant's own key */
};
void provider_target_deinit(struct provider_target *t);

/* The authentication headers of a request to t, as "Name: value":
 * openai "Authorization: Bearer KEY"; anthropic "x-api-key: KEY" and
 * "anthropic-version: ..." (sent without a key too). out[] gets owned
 * strings (free each with provider_header_free) and a NULL after them;
 * returns their count (at most 2). */
size_t provider_auth_headers(const struct provider_target *t, char *out[3]);
void provider_header_free(char *out[3]);
/* provider_auth_headers without an allocation when they fit in buf (n
 * bytes): out[] (NULL after the last) points into buf or at constants;
 * a key too long for buf is copied as provider_auth_headers copies it,
 * into own[] (else own[0] NULL). Returns their count. After use: wipe buf
 * (crypt_secret_wipe; "" when unused) and provider_header_free(own). */
size_t provider_auth_headers_in(const struct provider_target *t, char *buf, size_t n, const char *out[3],
                                char *own[3]);

/* For listings (doctor, health, /v1/models): no key in it. */
struct provider_info {
    char name[PROVIDER_NAME_MAX + 1];
    enum provider_type type;
    char base_url[2049];
    bool has_key;
    const char *source;      /* "LLM_BASE_URL", "BUILT_IN_FORGE_API_URL" or "admin" */
    /* Changes when anything a request to it uses changes (type, URL, key,
     * the key's error), so a cached probe of the old one is not reused.
     * A hash that covers the key: compared, never printed. */
    uint64_t tag;
};

/* Reads the tables at once (the first resolve may precede the answer: only
 * the default provider is known until then) and every refresh_ms. NULL with
 * err when ENCRYPTION_KEY is needed and wrong. Returns owned. */
struct providers *providers_new(struct runtime *rt, long long refresh_ms, char *err, size_t errlen);
void providers_free(struct providers *ps);
/* Any provider configured at all (else the LLM routes answer 400/503). */
bool providers_any(const struct providers *ps);
/* model: as the client sent it. In order: a route row for the whole
 * string; "name/model" when name is a provider (upstream "model"; a prefix
 * that names no provider is part of the model's name); else the default
 * provider, if configured. The tenant's own key for that provider replaces
 * the provider's (tenant 0: none). A provider or tenant key that is stored
 * but does not open refuses rather than falling back. 0, or -1 with why
 * (the message of a 400 naming `model`; no key in it), or
 * PROVIDERS_KEY_UNUSABLE when a key does not open (the operator's fault:
 * why is for the log, not the tenant; still no key in it), or
 * PROVIDERS_NOT_READY. */
int providers_resolve(struct providers *ps, uint64_t tenant, const char *model, struct provider_target *out,
                      char *why, size_t whylen) ATTR_WUR;
/* providers_resolve for a check: the same answer and why, without the
 * base URL and key (left NULL; provider_target_deinit is still fine). */
int providers_resolve_nokey(struct providers *ps, uint64_t tenant, const char *model,
                            struct provider_target *out, char *why, size_t whylen) ATTR_WUR;
/* providers_resolve before the tables were read once: a model routed to
 * a named provider would go to the default one. Not an error of the
 * request: 503 with retry-after (a job is put back). */
#define PROVIDERS_NOT_READY (-2)
#define PROVIDERS_KEY_UNUSABLE (-3)
/* The tables were read once (always true without a database). */
bool providers_ready(const struct providers *ps);
/* The provider called name (PROVIDER_DEFAULT included) with its own key,
 * not a tenant's (health probes). 0, or -1 with why. */
int providers_get(struct providers *ps, const char *name, struct provider_target *out, char *why,
                  size_t whylen) ATTR_WUR;
/* The providers known now, default first. */
size_t providers_list(const struct providers *ps, struct provider_info *out, size_t max);
/* Model routes as JSON [{"model","provider","upstream_model"}] (for /v1/models). */
void providers_routes_json(const struct providers *ps, struct sbuf *out);
/* The routes to provider's upstream model, one by one (provider_snap.h). */
void providers_aliases(const struct providers *ps, const char *provider, const char *upstream,
                       bool (*fn)(const char *model, void *arg), void *arg);

#endif
