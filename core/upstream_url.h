/* upstream_url: where an upstream request goes (its URL split into an
 * origin and a path, cached per URL) and the request's bytes. Private to
 * the upstream client (upstream.c calls it). */
#ifndef INGOT_UPSTREAM_URL_H
#define INGOT_UPSTREAM_URL_H

#include <stddef.h>

struct httpc_request;
struct origin;
struct up_req;
struct upstream;

/* The origin and path of url: split once per URL and kept in u->routes,
 * as the same few endpoints are called every time. -1 when url is not one
 * upstream can call. */
int upstream_url_route(struct upstream *u, const char *url, struct origin **o, const char **path, size_t *pathlen);
/* req's bytes (request line to path, r's origin's Host, req's headers,
 * the body) into r->out. */
void upstream_url_request_bytes(struct up_req *r, const struct httpc_request *req, const char *path,
                                size_t pathlen);

#endif
