/* serve_session_refresh: POST /auth/refresh (rotation; a used token
 * presented again revokes its session), POST /auth/logout and
 * POST /auth/logout-all; serve_session.c registers them (arg: the
 * struct serve_session). */
#ifndef INGOT_SERVE_SESSION_REFRESH_H
#define INGOT_SERVE_SESSION_REFRESH_H

struct http_req;

void serve_session_refresh_route(struct http_req *r, void *arg);
void serve_session_logout_route(struct http_req *r, void *arg);
void serve_session_logout_all_route(struct http_req *r, void *arg);

#endif
