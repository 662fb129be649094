/* httpd_req: what httpd.c (connections as a state machine), httpd_read.c
 * (their input), httpd_req.c (routes, request accessors, access log) and
 * the other core/httpd_*.c share. Not a public face: nothing outside
 * core/httpd*.c includes it. */
#ifndef INGOT_HTTPD_REQ_H
#define INGOT_HTTPD_REQ_H

#include <event2/util.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "cidr.h"
#include "http_parse.h"
#include "httpd.h"
#include "log.h"

struct bufferevent;
struct event;
struct evconnlistener;

#define HTTPD_MAX_PARAMS 4
#define HTTPD_MAX_QUERY 32
#define HTTPD_MAX_STATUS_SERIES 16

/* A connection is in exactly one state; conn_set_state() alone changes it
 * and keeps the per-state counts (the drain waits on HANDLING requests and
 * WRITING replies, nothing else). */
enum conn_state {
    CONN_IDLE = 0,  /* keep-alive, no byte of the next request yet */
    CONN_READ_HEAD, /* request line and headers, under the header deadline */
    CONN_READ_BODY, /* body, under the body deadline */
    CONN_HANDLING,  /* dispatched to a handler, no reply yet */
    CONN_STREAMING, /* a streamed reply under way: the handler writes */
    CONN_WRITING,   /* reply in the output buffer, under the idle deadline */
    CONN_CLOSING,   /* final reply written: reading and dropping until EOF */
    CONN_NSTATES
};

struct status_series {
    int status;
    struct metric_series *count;
};

struct route {
    unsigned methods;
    uint64_t max_body; /* HTTPD_ROUTE_STREAM_BODY: the route's own limit */
    const char *pattern;
    /* what route_try checks before walking the pattern (httpd_route sets
     * them): the literal bytes before the first '{', whether the pattern
     * has none (then a path matches only at its exact length), and the
     * shortest path that can match */
    size_t prefix_len, pat_len, min_len;
    bool literal;
    size_t len_lo, len_span; /* path lengths that may match: [lo, lo + span] */
    unsigned flags;
    httpd_handler_fn fn;
    void *arg;
    struct metric_series *latency;
    struct status_series statuses[HTTPD_MAX_STATUS_SERIES];
    size_t nstatuses;
    struct route *next;
    struct route *next_stream; /* the next HTTPD_ROUTE_STREAM_BODY route */
};

struct http_req {
    struct conn *c;
    struct route *route;
    unsigned method; /* HTTP_M_*; 0 for others */
    bool active;     /* begun and not yet replied */
    int64_t start_us;
    char id[40];
    const char *path;  /* raw (percent-encoded), NUL-terminated; NULL if unparsed */
    size_t path_len;
    const char *query; /* raw, without '?'; NULL if none */
    const char *param_names[HTTPD_MAX_PARAMS];
    size_t param_name_lens[HTTPD_MAX_PARAMS];
    const char *param_raw[HTTPD_MAX_PARAMS];
    size_t param_raw_lens[HTTPD_MAX_PARAMS];
    const char *param_values[HTTPD_MAX_PARAMS]; /* decoded, in scratch */
    size_t nparams;
    const char *qk[HTTPD_MAX_QUERY], *qv[HTTPD_MAX_QUERY]; /* decoded, in scratch */
    size_t nq;
    struct sbuf scratch; /* decoded params and query */
    struct sbuf hdrs;    /* extra reply headers, "Name: value\r\n" each */
    char client[64];     /* http_req_client's answer, once computed */
    /* a streamed reply */
    int stream_status;
    bool stream_chunked;
    size_t stream_bytes;
    http_stream_gone_fn gone;
    void *gone_arg;
    bool stream_eof_gone;  /* the client's EOF ends the stream (no half-close) */
    http_stream_gone_fn drain_fn; /* http_stream_on_drain */
    void *drain_arg;
    /* a streamed body (HTTPD_ROUTE_STREAM_BODY) */
    bool body_stream;   /* its route reads the body in pieces */
    bool body_reading;  /* http_body_read was called */
    bool body_paused;
    bool body_done;     /* END or ERROR was told */
    bool continue_sent; /* "100 Continue" */
    uint64_t body_max;
    http_body_fn body_fn;
    void *body_arg;
};

struct conn {
    struct httpd *h;
    struct bufferevent *bev;
    struct event *timer;
    evutil_socket_t fd;
    enum conn_state state;
    /* a deadline change conn_process made, applied when it returns */
    bool timer_pending;
    long long timer_ms; /* < 0: no deadline */
    bool close_after; /* close once the reply is written */
    /* The client left while a handler held the request: the socket and
     * the connection slot are released at once (conn_detach), the struct
     * stays until the handler's reply frees it. */
    bool peer_gone;
    bool server_reply;   /* httpd_fail answers, in a reading state */
    char peer[64];
    char *head; /* the request head; the parser's offsets point here */
    size_t head_len, head_cap;
    /* the head just parsed: its bytes still in the input (drained with
     * the body's first bytes), and how many input bytes past it were
     * copied into head too */
    size_t head_drain, head_ahead;
    struct http_head ph;
    struct http_chunked chunk;
    struct sbuf body;
    uint64_t body_left; /* Content-Length bytes still to read */
    size_t dropped;     /* bytes read and dropped while CLOSING */
    struct http_req req; /* one request at a time per connection */
    struct conn *prev, *next;
    bool write_queued;          /* on h->wqueue: written with the pass's other replies */
    struct sbuf reply; /* a small reply whole, held for the flush (httpd_write_hold) */
    struct conn *wprev, *wnext;
};

struct httpd {
    struct loop *loop;
    struct metrics *metrics;
    size_t max_body;
    long long idle_ms, header_ms, body_ms;
    size_t max_conns;
    struct cidr_list trusted;
    struct evconnlistener *listener;
    struct event *accept_timer; /* re-enables accepting after EMFILE */
    long long accept_backoff_ms;
    struct log_limit accept_log, reject_log;
    struct route *routes, *routes_tail;
    struct route *stream_routes, *stream_tail; /* HTTPD_ROUTE_STREAM_BODY ones, in order */
    struct route unmatched; /* metrics bucket for the server's own errors */
    struct metric_family *req_family, *lat_family, *inflight_family;
    struct metric_series *inflight_series, *rejected_series, *paused_series;
    struct metric_series *state_series[CONN_NSTATES];
    size_t inflight; /* requests begun and not replied */
    size_t nheld;    /* detached connections whose handler still holds the request */
    bool closed;     /* httpd_free ran with nheld > 0: the last reply frees h */
    size_t nconns;
    size_t nstate[CONN_NSTATES];
    struct conn *conns;
    struct conn *wqueue; /* replied, to be written by wflush */
    struct event *wflush; /* runs after the loop pass's other ready callbacks */
    int port;
    bool draining;
    uint64_t rng; /* request ids: splitmix64 seeded from OpenSSL */
    time_t date_sec;
    char date[40]; /* the Date header, formatted once a second */
};

/* httpd.c */
const char *conn_state_name(enum conn_state s);
/* Takes fd (accepted under the cap) into a new connection reading its head. */
void httpd_conn_open(struct httpd *h, evutil_socket_t fd, const struct sockaddr *sa);
/* The reply is in c's output buffer: write it, then keep-alive or close. */
void httpd_conn_replied(struct conn *c);
/* The reply to a request whose client left (peer_gone): frees c, and h
 * too when it was freed meanwhile. */
void httpd_conn_abandon(struct conn *c);
/* The status and headers of a streamed reply are in the output buffer. */
void httpd_conn_streaming(struct conn *c);
/* The one place a connection changes state (counts, deadlines, read
 * interest); lazy: the deadline is applied when conn_process returns. */
void httpd_conn_enter(struct conn *c, enum conn_state to, bool lazy);
/* A request is read (its head, and its body unless streamed): HANDLING,
 * deadlines in place, then its handler. */
void httpd_conn_dispatch(struct conn *c);

/* httpd_req.c */
void httpd_req_begin(struct conn *c);
/* The request line's method as sent, or "-" before it parsed. */
const char *httpd_req_method_text(const struct http_req *r);
void httpd_req_reset(struct http_req *r);
void httpd_req_deinit(struct http_req *r);
/* The client left before its request reached a handler (mid-body, or the
 * "100 Continue" could not be written): counted and logged as 499. */
void httpd_req_abort(struct http_req *r);
/* The head is parsed (and its body read): route it to a handler. */
void httpd_dispatch(struct http_req *r);
/* An error the server itself answers (malformed request, timeout, body
 * too large): JSON, Connection: close. */
void httpd_fail(struct conn *c, int status, const char *why);
void httpd_route_metrics_init(struct httpd *h, struct route *rt);
/* Whether r's method and path match a streamed-body route: sets
 * r->body_stream and r->body_max. */
bool httpd_req_stream_body(struct http_req *r);
/* Whether rt matches path (path_len bytes, no NUL inside), recording the
 * raw {name} segments in r: route_match's answer, with cheap refusals
 * first. */
bool httpd_route_try(const struct route *rt, const char *path, size_t path_len, struct http_req *r);
/* The first header called name (case-insensitive), NUL-terminated. */
const char *httpd_head_value(const struct conn *c, const char *name);

#endif
