/* serve: the HTTP API role. Routes, handlers and the start-up schema
 * check; the server itself is core/httpd. */
#ifndef INGOT_SERVE_H
#define INGOT_SERVE_H

#include "util.h"

struct runtime;
struct serve;

/* Registers routes, starts listening and the schema check. Borrows rt.
 * Returns owned, or NULL with err set. */
struct serve *serve_start(struct runtime *rt, char *err, size_t errlen);
void serve_free(struct serve *s);
int serve_port(const struct serve *s);

#endif
