/* oidc: what serve needs of an OpenID Connect provider, fetched on the
 * loop through httpc (never blocking it): the discovery document
 * (OAUTH_SERVER_URL/.well-known/openid-configuration, whose issuer must be
 * OAUTH_SERVER_URL) and the JWKS it names. Keys are cached; a token whose
 * kid is not in the cache makes one new JWKS fetch (concurrent asks share
 * it), which is how a provider's key rotation is followed. ID tokens come
 * from the token endpoint over the back channel, never from the browser,
 * so an unknown kid cannot be sent by a client to make ingot fetch. */
#ifndef INGOT_OIDC_H
#define INGOT_OIDC_H

#include <openssl/types.h>
#include <stdbool.h>

#include "jwt.h"

struct httpc;
struct oidc;

#define OIDC_FETCH_TIMEOUT_MS 5000

/* server_url: OAUTH_SERVER_URL (borrowed copy made). Returns owned; no
 * fetch starts until something is asked. */
struct oidc *oidc_new(struct httpc *h, const char *server_url);
/* Aborts a fetch in flight; waiters get an error first. NULL is fine. */
void oidc_free(struct oidc *o);

/* err NULL: the discovery document is loaded (the accessors answer). */
typedef void (*oidc_ready_cb)(const char *err, void *arg);
/* Loads the discovery document unless loaded (a failed load is tried
 * again at the next ask). cb may run before this returns. */
void oidc_discover(struct oidc *o, oidc_ready_cb cb, void *arg);
/* From the discovery document (borrowed; "" before it loaded). */
const char *oidc_issuer(const struct oidc *o);
const char *oidc_authorization_endpoint(const struct oidc *o);
const char *oidc_token_endpoint(const struct oidc *o);

/* key: borrowed, valid only during the callback; NULL with err. */
typedef void (*oidc_key_cb)(EVP_PKEY *key, const char *err, void *arg);
/* The verification key for a token signed with alg and kid ("" picks the
 * only key of alg's type). Fetches the JWKS when it is not loaded or kid
 * is unknown. cb may run before this returns. */
void oidc_key(struct oidc *o, const char *kid, enum jwt_alg alg, oidc_key_cb cb, void *arg);
/* JWKS fetches so far (for tests and logs). */
unsigned oidc_jwks_fetches(const struct oidc *o);

#endif
