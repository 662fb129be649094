/* serve_session_v1: the session cookie on /v1 instead of a bearer key
 * (serve_v1.c asks; the session and its tenants are serve_session's). */
#ifndef INGOT_SERVE_SESSION_V1_H
#define INGOT_SERVE_SESSION_V1_H

#include <stdbool.h>
#include <stdint.h>

struct http_req;
struct serve_session;

/* The session answer for /v1: tenant 0 means refused, and the reply is
 * made (status, error) by the callback's caller from status/code/message. */
struct session_v1_result {
    uint64_t tenant, key_id;
    int status;          /* 0 when tenant is set, else 400/401/403/503 */
    const char *param;   /* the field a 400/403 names, or NULL */
    const char *code;
    const char *message;
};
typedef void (*session_v1_cb)(const struct session_v1_result *res, void *arg);
/* Whether r carries the session cookie (and no Authorization header). */
bool serve_session_applies(const struct serve_session *s, struct http_req *r);
/* Checks the access cookie, the CSRF token on a state change, and that
 * the session may see the tenant the Ingot-Tenant header names (an API-key
 * session: its own, header optional). cb may run before this returns. */
void serve_session_v1(struct serve_session *s, struct http_req *r, session_v1_cb cb, void *arg);

#endif
