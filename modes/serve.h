/* serve: the HTTP API role: the authenticated /v1 routes, added to the
 * process's ops server (core/ops). */
#ifndef INGOT_SERVE_H
#define INGOT_SERVE_H

#include "util.h"

struct runtime;
struct httpd;
struct serve;

/* Borrows rt and httpd. Returns owned, or NULL with err set. */
struct serve *serve_start(struct runtime *rt, struct httpd *h, char *err, size_t errlen);
void serve_free(struct serve *s);

#endif
