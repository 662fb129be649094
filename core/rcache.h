/* rcache: the LLM response cache (the Ingot-Cache request header, or a
 * tenant's opt-in: `ingot admin tenant cache`). Only deterministic
 * requests are cached; the key is the SHA-256 of the installation, the
 * tenant, the provider the model routes to (name, type, URL, upstream
 * model) and the body normalised (keys sorted; stream and stream_options
 * left out: they change the framing, not the answer), so one tenant can
 * never receive another's answer. Answers live in Redis with a TTL, or
 * under CACHE_PATH on disk when that is set, or in this process's memory
 * (bounded by CACHE_MEMORY_MAX) when there is no Redis. A cache that
 * fails is a miss, never an error. */
#ifndef INGOT_RCACHE_H
#define INGOT_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"

struct cJSON;
struct runtime;
struct rcache;
struct rcache_get;

enum rcache_mode {
    RCACHE_DEFAULT, /* no header: the tenant's setting (use when opted in, else skip) */
    RCACHE_USE,     /* answer from the cache when there, store a fresh answer */
    RCACHE_REFRESH, /* always ask the provider, store its answer */
    RCACHE_SKIP     /* neither read nor store */
};
enum rcache_backend { RCACHE_MEMORY, RCACHE_REDIS, RCACHE_DISK };

/* Returns owned, or NULL with err (CACHE_PATH not usable). */
struct rcache *rcache_new(struct runtime *rt, char *err, size_t errlen);
void rcache_free(struct rcache *rc);
enum rcache_backend rcache_backend(const struct rcache *rc);
const char *rcache_backend_name(enum rcache_backend b);

/* An Ingot-Cache header value (case-insensitive use|refresh|skip); -1 for
 * anything else. NULL: RCACHE_DEFAULT. */
int rcache_mode_parse(const char *v, enum rcache_mode *out);
/* The tenant's opt-in TTL in seconds, 0 when it has not opted in (read
 * from llm_tenant_cache every few seconds). */
long long rcache_tenant_ttl(const struct rcache *rc, uint64_t tenant);
/* CACHE_TTL in seconds: an Ingot-Cache request of a tenant not opted in. */
long long rcache_default_ttl(const struct rcache *rc);

/* Whether the answer to body is reproducible: embeddings always; chat
 * with temperature 0 or a seed. */
bool rcache_deterministic(enum llm_endpoint ep, const struct cJSON *body);
/* The key (64 hex characters and a NUL into out) of body under the
 * installation id (meta.installation_id: installations sharing a Redis
 * never share entries) and the route parts; -1 when body cannot be
 * normalised. */
int rcache_key(const char *installation, uint64_t tenant, const char *const route[4], enum llm_endpoint ep,
               const struct cJSON *body, char out[65]);

/* val NULL: a miss (or the backend failed). val is borrowed for the call. */
typedef void (*rcache_get_cb)(const char *val, size_t len, void *arg);
/* Looks key up; cb runs later, exactly once, unless cancelled first. */
struct rcache_get *rcache_get(struct rcache *rc, const char *key, rcache_get_cb cb, void *arg);
/* cb will not run (the client left). */
void rcache_get_cancel(struct rcache_get *g);
/* Stores val under key for ttl_s seconds (an answer over CACHE_ENTRY_MAX
 * is not stored). Returns whether it was stored or sent to be. */
bool rcache_put(struct rcache *rc, const char *key, const char *val, size_t len, long long ttl_s);

/* Counts a request in ingot_llm_cache_requests_total{result}: "hit",
 * "miss" or "skip" (asked for, but not deterministic). */
void rcache_count(struct rcache *rc, const char *result);

#endif
