/* serve_session_op: whether a request comes from the operator's login
 * session (the OIDC subject equal to OWNER_OPEN_ID), for the operator-only
 * routes (serve_admin.c). API keys never are: they belong to a tenant. */
#ifndef INGOT_SERVE_SESSION_OP_H
#define INGOT_SERVE_SESSION_OP_H

#include <stdbool.h>

struct http_req;
struct serve_session;

/* ok: the request may go on. When not ok the reply is made (401 not
 * logged in or the session ended, 403 not the operator or the CSRF check
 * failed, 404 sessions off, 503 database) and r is gone. */
typedef void (*session_op_cb)(bool ok, void *arg);
/* Checks the access cookie, that its subject is the operator, the CSRF
 * token on a state change, and that the session is alive. cb may run
 * before this returns. */
void serve_session_operator(struct serve_session *s, struct http_req *r, session_op_cb cb, void *arg);

#endif
