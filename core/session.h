/* session: the tokens of a login session, without I/O.
 *  - access token: an HS256 JWT signed with JWT_SECRET, lasting JWT_EXPIRY,
 *    claims {iss:"ingot", typ:"access", sid, sub, knd:"oidc"|"key", tid, kid, iat, exp}
 *    (tid/kid: the tenant and api_keys.id of an API-key login, else 0);
 *  - refresh token: "ir_" + 43 base64url characters (256 random bits),
 *    stored as HMAC-SHA256(JWT_SECRET, token);
 *  - CSRF token: base64url HMAC-SHA256(JWT_SECRET, "csrf:" sid), the
 *    double-submit value (the readable ingot_csrf cookie, echoed by the UI
 *    in X-CSRF-Token), bound to the session so a value planted from a
 *    sibling domain does not fit another session;
 *  - login state: an HS256 JWT {typ:"login", state, nonce, verifier, ret, exp}
 *    kept in the ingot_login cookie between /auth/login and /auth/callback. */
#ifndef INGOT_SESSION_H
#define INGOT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SESSION_ACCESS_COOKIE "ingot_access"
#define SESSION_REFRESH_COOKIE "ingot_refresh"
#define SESSION_CSRF_COOKIE "ingot_csrf"
#define SESSION_LOGIN_COOKIE "ingot_login"
#define SESSION_CSRF_HEADER "X-CSRF-Token"
#define SESSION_REFRESH_LEN 46 /* "ir_" + 43 */
#define SESSION_SUBJECT_MAX 255

struct session_claims {
    uint64_t sid;
    char sub[SESSION_SUBJECT_MAX + 1];
    bool key;          /* an API-key login */
    uint64_t tenant;   /* key logins: the key's tenant */
    uint64_t key_id;   /* key logins: api_keys.id */
    int64_t exp;
};

/* Appends the access token to out. */
void session_access_make(const char *secret, const struct session_claims *c, int64_t now_s,
                         long long ttl_ms, struct sbuf *out);
/* Signature, typ, iss and exp. 0, or -1 with err ("expired", "bad signature"...). */
int session_access_verify(const char *secret, const char *token, int64_t now_s,
                          struct session_claims *c, char *err, size_t errlen) ATTR_WUR;

/* A fresh refresh token into tok (SESSION_REFRESH_LEN + 1). 0/-1. */
int session_refresh_new(char *tok) ATTR_WUR;
bool session_refresh_wellformed(const char *tok);
/* HMAC-SHA256(secret, tok) as 64 hex characters. */
void session_token_hash(const char *secret, const char *tok, char hex[65]);
/* The CSRF token of session sid into out (44 bytes). */
void session_csrf_token(const char *secret, uint64_t sid, char out[44]);
bool session_csrf_ok(const char *secret, uint64_t sid, const char *given);

/* n random bytes as base64url into out (state, nonce, PKCE verifier). 0/-1. */
int session_random_b64(size_t n, struct sbuf *out) ATTR_WUR;
/* The PKCE S256 challenge of verifier: base64url(SHA-256(verifier)). */
void session_pkce_challenge(const char *verifier, struct sbuf *out);

/* The value of cookie name in a Cookie header, into out (NUL-terminated).
 * false when absent or longer than outlen - 1. */
bool session_cookie(const char *header, const char *name, char *out, size_t outlen);
/* A Set-Cookie value: name=value; Path=path; Max-Age=..; HttpOnly (when
 * http_only); SameSite=Lax; Secure (when secure). max_age_s 0 deletes. */
void session_set_cookie(struct sbuf *out, const char *name, const char *value, const char *path,
                        long long max_age_s, bool http_only, bool secure);

#endif
