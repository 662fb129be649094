/* httpc: outbound HTTP with libcurl's multi interface driven by the loop
 * (socket and timer callbacks), so thousands of requests can be in flight
 * without a thread. Connections are kept alive in the multi's cache. */
#ifndef INGOT_HTTPC_H
#define INGOT_HTTPC_H

#include <stddef.h>

#include "util.h"

struct loop;
struct ssrf;
struct httpc;

struct httpc_request {
    const char *method;              /* "GET", "POST", ... */
    const char *url;
    const char *const *headers;      /* "Name: value", NULL-terminated, or NULL */
    const char *body;                /* may be NULL */
    size_t body_len;
    long long timeout_ms;            /* whole transfer */
    size_t max_body;                 /* response bytes kept (0: 1 MiB) */
    /* A job's request: the URL is parsed and validated by url_http_parse
     * and that parse is the transfer's (CURLOPT_CURLU), so the guard's
     * name rules see the host curl connects to. Every address is checked
     * before connect and again before the request goes out on a
     * connection (a reused one too); no proxy, no redirects. Or NULL. */
    const struct ssrf *ssrf;
};

struct httpc_response {
    long status;            /* 0 when the transfer failed */
    const char *error;      /* NULL on transport success */
    const char *body;       /* borrowed; NUL-terminated */
    size_t body_len;
    bool body_truncated;
    const char *content_type;   /* or NULL */
    const char *retry_after;    /* or NULL */
    bool refused;               /* the SSRF guard refused every address */
    double total_s;
};

/* Runs exactly once per request, never from inside httpc_send(). */
typedef void (*httpc_cb)(const struct httpc_response *r, void *arg);

/* ca_bundle: path or NULL/"" for the default. max_conns: idle keep-alive
 * connections kept; the most requests in flight at once is the right size
 * (0: 64). Returns owned. */
struct httpc *httpc_new(struct loop *l, const char *ca_bundle, size_t max_conns);
/* Aborts in-flight transfers (their callbacks run with an error). */
void httpc_free(struct httpc *c);
/* Everything in req is copied. 0, or -1 when the request cannot start
 * (with ssrf: also when the URL fails url_http_parse). */
int httpc_send(struct httpc *c, const struct httpc_request *req, httpc_cb cb, void *arg) ATTR_WUR;
/* Stops the transfer sent with this cb and arg at once: its connection is
 * closed and cb never runs. Call it from outside httpc's own callbacks
 * (a database or Redis answer, a timer). false: no such transfer. */
bool httpc_abort(struct httpc *c, httpc_cb cb, void *arg);
size_t httpc_inflight(const struct httpc *c);

#endif
