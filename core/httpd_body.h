/* httpd_body: streamed request bodies, for the routes that opt in
 * (httpd_route_stream): the body handed to the route's handler in pieces
 * as it arrives, with pause and resume (http_body_read, http_body_pause,
 * http_body_resume in httpd.h are the handlers' side). This header is the
 * server's side, internal to core/httpd*.c. */
#ifndef INGOT_HTTPD_BODY_H
#define INGOT_HTTPD_BODY_H

#include <stdbool.h>

struct conn;

/* Hands a streamed body's buffered bytes to its handler. */
void httpd_body_feed(struct conn *c);
/* Tells a streamed body's handler it ended in error (status, why): true
 * when one was being read, else false (nothing done). */
bool httpd_body_abort(struct conn *c, int status, const char *why);

#endif
