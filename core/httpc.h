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

/* One response header, name and value trimmed (borrowed by callbacks). */
struct httpc_header {
    const char *name, *value;
};

/* Streaming (optional, per request). head runs once when the final
 * response's header block has arrived, before any body byte: status and
 * every header. It returns HTTPC_STREAM to have the body handed to data as
 * it arrives (the response's body is then empty), HTTPC_BUFFER to keep it
 * as usual, or HTTPC_STOP to end the transfer now (cb then runs with an
 * error). data returns 0 to go on, -1 to stop the same way. Both run
 * inside libcurl: they may not call httpc (httpc_abort included). */
enum { HTTPC_STREAM = 0, HTTPC_BUFFER = 1, HTTPC_STOP = -1 };
typedef int (*httpc_head_cb)(long status, const struct httpc_header *h, size_t n, void *arg);
typedef int (*httpc_data_cb)(const char *buf, size_t len, void *arg);

struct httpc_request {
    const char *method;              /* "GET", "POST", ... */
    const char *url;
    const char *const *headers;      /* "Name: value", NULL-terminated, or NULL */
    const char *body;                /* may be NULL */
    size_t body_len;
    long long timeout_ms;            /* whole transfer */
    size_t max_body;                 /* response bytes kept (0: 1 MiB) */
    /* Stop reading at max_body (the answer as received so far, status and
     * all, is the result; the connection is closed) rather than read the
     * rest away: for callers that need only the status (a webhook
     * receiver's endless body cannot hold the attempt to its timeout). */
    bool stop_at_max;
    /* A job's request: the URL is parsed and validated by url_http_parse
     * and that parse is the transfer's (CURLOPT_CURLU), so the guard's
     * name rules see the host curl connects to. Every address is checked
     * before connect and again before the request goes out on a
     * connection (a reused one too); no proxy, no redirects. Or NULL. */
    const struct ssrf *ssrf;
    /* Streaming, or NULL: both get the same arg as the request's cb. */
    httpc_head_cb head;
    httpc_data_cb data;
    /* Keep every response header for the response's headers (implied by head). */
    bool keep_headers;
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
    bool timed_out;             /* the transfer ran out of time */
    bool stopped;               /* head or data asked to stop */
    bool sent;                  /* the request was written to the peer (it may have acted on it) */
    double total_s;
    /* With keep_headers or head: the final response's headers, else none. */
    const struct httpc_header *headers;
    size_t nheaders;
};

/* Runs exactly once per request, never from inside httpc_send(). */
typedef void (*httpc_cb)(const struct httpc_response *r, void *arg);

/* ca_bundle: CA_BUNDLE's value (tlsca.h: a path, ""/NULL for the default
 * file, "none" for no https). max_conns: idle keep-alive
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
