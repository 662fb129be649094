/* httpd_listen: the HTTP server's listener (internal to httpd). The public
 * httpd_listen() and httpd_port() of httpd.h are defined there too. */
#ifndef INGOT_HTTPD_LISTEN_H
#define INGOT_HTTPD_LISTEN_H

#include <stdbool.h>

struct httpd;

/* The accept back-off timer and the log limits; called by httpd_new. */
void httpd_listen_init(struct httpd *h);
/* Stops accepting: frees the listener and stops the back-off timer (frees
 * it too with free_timer, from httpd_free). */
void httpd_listen_close(struct httpd *h, bool free_timer);

#endif
