/* ops: what every long-running role serves on PORT so it can be probed and
 * scraped: GET / , /health/live, /health/ready, /health and /metrics; the
 * start-up schema check (refuse to run on a schema older than the binary
 * needs); and the HTTP side of the drain (stop accepting, answer what is in
 * flight). Roles add their own routes to ops_httpd(). */
#ifndef INGOT_OPS_H
#define INGOT_OPS_H

#include "util.h"

struct runtime;
struct httpd;
struct ops;

/* Listens on HOST:PORT. Borrows rt. Returns owned, or NULL with err. */
struct ops *ops_start(struct runtime *rt, char *err, size_t errlen);
struct httpd *ops_httpd(struct ops *s);
int ops_port(const struct ops *s);
void ops_free(struct ops *s);
/* A role's own part of GET /health: fn appends `,"name":{...}` to the
 * report object. */
typedef void (*ops_health_extra_fn)(struct sbuf *out, void *arg);
void ops_health_extra(struct ops *s, ops_health_extra_fn fn, void *arg);

#endif
