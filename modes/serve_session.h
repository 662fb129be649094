/* serve_session: login sessions in the serve role (internal to serve).
 * Routes: POST /auth/login/key (an API key's login, when no OIDC server
 * is configured), POST /auth/refresh, POST /auth/logout,
 * POST /auth/logout-all, GET /auth/me; serve_auth.c adds the OIDC routes
 * (GET /auth/login, GET /auth/callback) through the functions below.
 * /v1 accepts the session cookie in place of a bearer key
 * (serve_session_v1.h). Sessions live in auth_sessions (migration 0012). */
#ifndef INGOT_SERVE_SESSION_H
#define INGOT_SERVE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct auth;
struct httpd;
struct http_req;
struct runtime;
struct oidc;
struct serve_session;

/* Failed logins per client address: at most LOGIN_FAIL_MAX in a window of
 * LOGIN_FAIL_WINDOW_MS (aligned to the epoch), then 429 until the window
 * ends. Counted in each process (immediate) and in Redis (every process
 * together; a process learns it at its next failure from that address). */
#define LOGIN_FAIL_MAX 10
#define LOGIN_FAIL_WINDOW_MS (15LL * 60 * 1000)

/* -1 with err when the login settings cannot work together
 * (OAUTH_SERVER_URL without OAUTH_CLIENT_ID, PUBLIC_URL or JWT_SECRET). */
struct config;
int serve_session_check(const struct config *cfg, char *err, size_t errlen) ATTR_WUR;
/* Registers the routes (answering 404 login_method_off without JWT_SECRET). Borrows rt and a (the
 * API-key look-up /v1 uses). Returns owned. */
struct serve_session *serve_session_new(struct runtime *rt, struct httpd *h, struct auth *a);
void serve_session_free(struct serve_session *s);

/* --- shared with serve_auth.c --- */
struct runtime *serve_session_rt(struct serve_session *s);
struct oidc *serve_session_oidc(struct serve_session *s);
/* Whether r's client is over its failed-login budget (then 429 is made). */
bool serve_session_blocked(struct serve_session *s, struct http_req *r);
/* Counts a failed login of r's client. */
void serve_session_failed(struct serve_session *s, struct http_req *r);
/* Cookies: Secure unless PUBLIC_URL is http and the client is on loopback. */
bool serve_session_secure(const struct serve_session *s, struct http_req *r);
/* Stores a new session for subject and answers: 302 to redirect (when not
 * NULL) or 200 with /auth/me's body, setting the cookies. Frees nothing
 * but r (the reply). */
void serve_session_create(struct serve_session *s, struct http_req *r, bool key, const char *subject,
                          uint64_t tenant, uint64_t key_id, const char *redirect);
/* Appends the SQL condition "the session row aliased s is alive": not
 * revoked or expired, and its API key (key logins) not revoked. */
void serve_session_sql_alive(struct sbuf *b);

#endif
