/* auth: API keys. A key is "ik_" + 40 hex characters, shown once; the
 * database keeps HMAC-SHA256(API_KEY_HASH_SECRET, key) and a visible
 * prefix. Look-ups are cached briefly in a bounded table, so a revoked key
 * stops working within AUTH_CACHE_MS. */
#ifndef INGOT_AUTH_H
#define INGOT_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;
struct auth;

#define AUTH_KEY_LEN 43      /* "ik_" + 40 hex */
#define AUTH_PREFIX_LEN 11   /* "ik_" + 8 hex, shown in listings */
#define AUTH_CACHE_MS 30000

/* A fresh key into key (>= AUTH_KEY_LEN + 1) and its prefix. 0/-1. */
int auth_key_generate(char *key, char *prefix) ATTR_WUR;
/* HMAC-SHA256(secret, key) as 64 lower-case hex characters into hex. */
void auth_key_hash(const char *secret, const char *key, char hex[65]);
/* Whether s looks like a key (length and alphabet), before any look-up. */
bool auth_key_wellformed(const char *s);

/* tenant_id 0: unknown or revoked key; key_id: api_keys.id of the key
 * (per-key limits and usage); err set when the look-up failed (database
 * unavailable), in which case the caller answers 503. */
typedef void (*auth_cb)(uint64_t tenant_id, uint64_t key_id, const char *err, void *arg);

struct auth *auth_new(struct db_pool *db, const char *secret);
void auth_free(struct auth *a);
/* Resolves an Authorization header value ("Bearer ik_..."). May call cb
 * before returning (cache hit, malformed key). */
void auth_check(struct auth *a, const char *authorization, auth_cb cb, void *arg);
/* The same for the bare key (an x-api-key header's value). */
void auth_check_key(struct auth *a, const char *key, auth_cb cb, void *arg);

#endif
