/* httpd: our HTTP/1.1 server on libevent (strict parsing in http_parse.c)
 * with a route table, JSON and OpenAI-shaped error replies (the server's
 * own errors included), request ids, access logs, request metrics, a body
 * size limit, whole-request deadlines for the head and the body, a cap on
 * connections, accept back-off when descriptors run out, and a drain that
 * stops accepting and lets in-flight requests and replies finish. Handlers
 * may reply later (after async work): the request stays valid until a
 * reply function is called, even if the client went away. A route may
 * take its body in pieces instead (httpd_route_stream: uploads). */
#ifndef INGOT_HTTPD_H
#define INGOT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct loop;
struct metrics;
struct httpd;
struct http_req;

enum {
    HTTP_M_GET = 1,
    HTTP_M_POST = 2,
    HTTP_M_PUT = 4,
    HTTP_M_DELETE = 8,
    HTTP_M_HEAD = 16,
    HTTP_M_PATCH = 32
};

/* Route flag: access log at debug (probes and scrapes would flood info). */
#define HTTPD_ROUTE_QUIET 1u
/* Route flag (set by httpd_route_stream): the body is not read before the
 * handler runs; the handler takes it in pieces (http_body_read). */
#define HTTPD_ROUTE_STREAM_BODY 2u

typedef void (*httpd_handler_fn)(struct http_req *r, void *arg);

/* Zero fields take defaults (10 s head, 60 s body and idle, 4096 conns). */
struct httpd_opts {
    size_t max_body;
    long long idle_timeout_ms;   /* keep-alive idle, and writing one reply */
    long long header_timeout_ms; /* request line + headers, not extended by trickling */
    long long body_timeout_ms;   /* the whole body, from the end of the headers */
    size_t max_connections;      /* beyond: 503 with Retry-After, then close */
    const char *trusted_proxies; /* CIDR list whose X-Forwarded-For is believed */
};

/* Returns owned. Borrows loop and metrics (they outlive the server). */
struct httpd *httpd_new(struct loop *l, struct metrics *m, const struct httpd_opts *o);
void httpd_free(struct httpd *h);
/* pattern: "/v1/jobs/{id}"; each {name} matches one path segment.
 * name and pattern are kept by pointer (string literals). */
void httpd_route(struct httpd *h, unsigned methods, const char *pattern, unsigned flags,
                 httpd_handler_fn fn, void *arg);
/* A route whose body may be far larger than max_body (an upload): it is
 * handed to the handler in pieces as it arrives, with back-pressure, up to
 * this route's own limit (413 beyond). Every other route keeps max_body. */
void httpd_route_stream(struct httpd *h, unsigned methods, const char *pattern, uint64_t max_body,
                        httpd_handler_fn fn, void *arg);
int httpd_listen(struct httpd *h, const char *host, int port, char *err, size_t errlen) ATTR_WUR;
int httpd_port(const struct httpd *h);
/* Stops accepting; replies from now on say Connection: close. */
void httpd_stop_accepting(struct httpd *h);
size_t httpd_inflight(const struct httpd *h);

const char *http_req_id(const struct http_req *r);
unsigned http_req_method(const struct http_req *r);
const char *http_req_path(const struct http_req *r);
/* Borrowed; valid until the reply. NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);
/* Decoded path parameter and query value (never NUL inside, always UTF-8:
 * the server answered 400 otherwise). Borrowed; valid until the reply. */
const char *http_req_param(const struct http_req *r, const char *name);
const char *http_req_query(struct http_req *r, const char *name);
/* The query's parameters in order (repeats included): how many, and the
 * decoded name of the i-th. */
size_t http_req_query_count(const struct http_req *r);
const char *http_req_query_name(const struct http_req *r, size_t i);
/* The pattern of the route that matched (e.g. "/v1/jobs/{id}"), or "". */
const char *http_req_route(const struct http_req *r);
/* The client's address: the peer, or, only when the peer is in
 * TRUSTED_PROXIES, the rightmost X-Forwarded-For entry that is not itself a
 * trusted proxy. Borrowed; valid until the reply. */
const char *http_req_client(const struct http_req *r);
/* The client left (EOF or an error while its request was handled): the
 * reply will go nowhere, so a handler that waits (a long-poll) may answer
 * now. The request stays valid until that reply. */
bool http_req_gone(const struct http_req *r);
/* Borrowed body bytes (not NUL-terminated) and their length. */
const char *http_req_body(struct http_req *r, size_t *len);
/* The body of a streamed-body route (httpd_route_stream), in pieces:
 * fn gets each piece (DATA: data, len > 0, valid for the call), then END
 * once, or ERROR once (status: 400 malformed chunking, 408 no progress for
 * HTTP_BODY_TIMEOUT while reading, 413 over the route's limit, 499 the
 * client left; data is why, NUL-terminated), after which the handler
 * replies (the connection closes after a reply that comes before END).
 * fn never runs inside http_body_read. Pause stops reading (the socket
 * then stops too: back-pressure, and the progress deadline waits);
 * resume goes on. Returns 0, or -1 when the client already left (reply
 * now: 499). A reply may come at any time, from fn too; no call to fn
 * follows it. */
enum http_body_event { HTTP_BODY_DATA, HTTP_BODY_END, HTTP_BODY_ERROR };
typedef void (*http_body_fn)(struct http_req *r, enum http_body_event ev, const char *data, size_t len,
                             int status, void *arg);
int http_body_read(struct http_req *r, http_body_fn fn, void *arg) ATTR_WUR;
void http_body_pause(struct http_req *r);
void http_body_resume(struct http_req *r);
/* Microseconds (monotonic) when the request was dispatched. */
int64_t http_req_start_us(const struct http_req *r);

void http_add_header(struct http_req *r, const char *name, const char *value);
/* Each reply ends the request: r is freed. A HEAD or a 304 sends the
 * head alone, Content-Length still len (the 200's, RFC 9110 8.6). */
void http_reply(struct http_req *r, int status, const char *content_type, const char *body,
                size_t len);
void http_reply_json(struct http_req *r, int status, const char *json, size_t len);
/* Streaming replies (server-sent events, long generations): begin sends
 * the status and headers (HTTP/1.1: Transfer-Encoding: chunked; HTTP/1.0:
 * no length, closed at the end), each write sends its bytes at once, end
 * finishes the reply and frees r. The request stays counted in flight until
 * the end, so a drain waits for it. If the client goes away first, gone
 * (may be NULL) is called once; writes then do nothing and the handler
 * still calls http_stream_end. http_stream_write returns the bytes queued
 * and not yet written, for back-pressure. */
typedef void (*http_stream_gone_fn)(struct http_req *r, void *arg);
void http_stream_begin(struct http_req *r, int status, const char *content_type,
                       http_stream_gone_fn gone, void *arg);
size_t http_stream_write(struct http_req *r, const char *data, size_t len);
/* For a stream whose clients never half-close (server-sent events): an
 * EOF from the client means it left, so gone runs at once rather than at
 * the next write that fails (a long pause between events). Call after
 * http_stream_begin. */
void http_stream_eof_gone(struct http_req *r);
void http_stream_end(struct http_req *r);
/* Ends a streamed reply that cannot be completed (what it relays failed):
 * no final chunk, and the connection closes, so the client sees a cut
 * body rather than a complete-looking short one. Frees r. */
void http_stream_abort(struct http_req *r);
/* Back-pressure for a long streamed reply (a download): fn runs each time
 * a write brings the bytes queued down to low or below, so the handler
 * produces more only as the client reads. Until the end. */
void http_stream_on_drain(struct http_req *r, size_t low, http_stream_gone_fn fn, void *arg);

/* {"error":{"message","type","param","code"}}; param and code may be NULL. */
void http_reply_error(struct http_req *r, int status, const char *type, const char *param,
                      const char *code, const char *fmt, ...) ATTR_FMT(6, 7);

#endif
