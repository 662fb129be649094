/* serve_session_int: what the serve_session files share (serve_session.c:
 * setup, /auth/me, creation, API-key login, cookies, the failed-login
 * limit; serve_session_refresh.c: refresh and log out;
 * serve_session_v1.c: the cookie on /v1). Internal to them. */
#ifndef INGOT_SERVE_SESSION_INT_H
#define INGOT_SERVE_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "serve_session.h"
#include "serve_session_v1.h"
#include "session.h"
#include "util.h"

struct config;

#define FAIL_SLOTS 512

struct fail_slot {
    char client[64];
    int64_t window;
    int count;           /* failures seen by this process */
    bool shared_block;   /* every process together saw LOGIN_FAIL_MAX (Redis) */
};

struct serve_session {
    struct runtime *rt;
    const struct config *cfg;
    struct auth *auth;
    struct oidc *oidc;       /* NULL without OAUTH_SERVER_URL */
    char origin[300];        /* PUBLIC_URL's scheme://host[:port], or "" */
    bool https;              /* PUBLIC_URL is https */
    struct fail_slot fails[FAIL_SLOTS];
    struct ratelimit *rl;    /* the failures counted for every process (Redis) */
};

/* One request's work across database answers. */
struct ss_req {
    struct serve_session *s;
    struct http_req *r;
    struct session_claims cl;
    char refresh[SESSION_REFRESH_LEN + 1];
    char old_hash[65], new_hash[65];
    char *redirect;
    session_v1_cb v1cb;
    void *v1arg;
    bool everywhere;        /* log out: every session of the subject */
};

struct ss_req *ss_req_new(struct serve_session *s, struct http_req *r);
void ss_req_free(struct ss_req *q);
int64_t ss_now_s(void);
void ss_reply_503(struct http_req *r, const char *what, const char *err);
/* Max-Age=0 for the access, refresh and CSRF cookies. */
void ss_clear_cookies(struct serve_session *s, struct http_req *r);
/* Why r fails the CSRF rules for session sid (param: the header to blame),
 * or NULL: Origin, when sent, is this service's, and X-CSRF-Token is the
 * session's double-submit token. */
const char *ss_csrf_problem(struct serve_session *s, struct http_req *r, uint64_t sid, const char **param);
/* The same, answering 403: 0/-1. */
int ss_csrf_check(struct serve_session *s, struct http_req *r, uint64_t sid);
bool ss_state_changing(struct http_req *r);
/* The access cookie's claims: 0, or -1 after answering 401. */
int ss_access_claims(struct serve_session *s, struct http_req *r, struct session_claims *cl);
bool ss_is_owner(const struct serve_session *s, const struct session_claims *cl);
/* SQL: " WHERE" the session sid is alive (and its key not revoked). */
void ss_sql_alive(struct sbuf *b, uint64_t sid);
/* Reads the session's tenants and answers /auth/me's body (with new
 * cookies when q->refresh is set, or the redirect of a new login). */
void ss_me_load(struct ss_req *q);

#endif
