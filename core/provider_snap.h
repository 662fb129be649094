/* provider_snap: one immutable view of the providers, model routes and
 * tenants' keys, and the resolution rules over it. Pure (no I/O, no
 * clock): core/provider builds one from the environment and the tables and
 * swaps it in whole; tests build them by hand. Keys in it are opened
 * (plaintext) and are zeroed when it is freed. */
#ifndef INGOT_PROVIDER_SNAP_H
#define INGOT_PROVIDER_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider.h"

struct provider_snap;

/* Returns owned, empty. */
struct provider_snap *provider_snap_new(void);
void provider_snap_free(struct provider_snap *s);

/* Adds a provider (the default one first). base_url: a trailing '/' is
 * dropped. api_key: copied, NULL or "" for none. key_error: non-NULL when a
 * key is stored but cannot be used (why, never the key): then resolve
 * refuses the provider. source: a static string (provider_info.source). */
void provider_snap_add(struct provider_snap *s, const char *name, enum provider_type type,
                       const char *base_url, const char *api_key, const char *key_error,
                       const char *source);
/* upstream: NULL or "" for the model's own name. */
void provider_snap_route(struct provider_snap *s, const char *model, const char *provider,
                         const char *upstream);
/* A tenant's own key for provider (copied), or key_error when it is stored
 * but does not open. */
void provider_snap_tenant_key(struct provider_snap *s, uint64_t tenant, const char *provider,
                              const char *api_key, const char *key_error);
/* Call once after the adds: sorts for lookups. */
void provider_snap_done(struct provider_snap *s);

size_t provider_snap_count(const struct provider_snap *s);
size_t provider_snap_route_count(const struct provider_snap *s);
/* The rules of providers_resolve (provider.h). s may be NULL (nothing). */
int provider_snap_resolve(const struct provider_snap *s, uint64_t tenant, const char *model,
                                   struct provider_target *out, char *why, size_t whylen) ATTR_WUR;
/* provider_snap_resolve without base_url and api_key (left NULL). */
int provider_snap_resolve_nokey(const struct provider_snap *s, uint64_t tenant, const char *model,
                                 struct provider_target *out, char *why, size_t whylen) ATTR_WUR;
/* The provider called name with its own key (health probes). 0/-1. */
int provider_snap_get(const struct provider_snap *s, const char *name, struct provider_target *out,
                      char *why, size_t whylen) ATTR_WUR;
size_t provider_snap_list(const struct provider_snap *s, struct provider_info *out, size_t max);
void provider_snap_routes_json(const struct provider_snap *s, struct sbuf *out);
/* Calls fn with each route's model that goes to provider under upstream
 * (the upstream name, or the route's own model when it has none), until fn
 * answers true. */
typedef bool (*provider_alias_fn)(const char *model, void *arg);
void provider_snap_aliases(const struct provider_snap *s, const char *provider, const char *upstream,
                           provider_alias_fn fn, void *arg);

/* "openai" / "anthropic" / "openai-chat" and back (-1: unknown). */
const char *provider_type_name(enum provider_type t);
int provider_type_parse(const char *s, enum provider_type *out) ATTR_WUR;
/* A provider name: 1-64 of [A-Za-z0-9._-]. */
bool provider_name_valid(const char *s);

#endif
