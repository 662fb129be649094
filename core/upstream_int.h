/* upstream_int: the upstream client's private structs, shared by
 * upstream.c (requests, the idle pool, connections), upstream_url.c (where
 * a request goes, its bytes) and upstream_read.c (the answer: head,
 * framing, body). Not a public face. */
#ifndef INGOT_UPSTREAM_INT_H
#define INGOT_UPSTREAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_resp.h"
#include "httpc.h"
#include "upstream_conn.h"
#include "util.h"

/* A kept connection idle longer than this is closed instead of reused:
 * servers drop idle ones after a minute or so, and a request sent as the
 * server closes is the one retry we can afford. */
#define UPSTREAM_IDLE_MS 30000

/* Where requests go: connections are kept per origin. */
struct origin {
    bool tls;
    int port;
    char host[256];    /* name or IP, no brackets */
    /* "Host: host[:port]\r\nUser-Agent: ingot\r\n", made once: every
     * request to the origin starts its headers with it */
    char host_lines[320];
    size_t host_lines_len;
    struct http_resp_known known; /* the names its last answer's head had */
    struct upc *idle;  /* most recently used first */
    struct origin *next;
};

enum req_state {
    REQ_CONNECTING = 0, /* waiting for its connection */
    REQ_SENDING,
    REQ_HEAD,           /* request sent, the answer's head not complete */
    REQ_BODY
};

struct up_req {
    struct upstream *u;
    struct origin *o;
    struct upc *conn;
    enum req_state state;
    httpc_cb cb;
    void *arg;
    httpc_head_cb head;
    httpc_data_cb data;
    bool keep_headers, head_request, streaming;
    size_t out_off;
    struct http_chunked ch;
    uint64_t body_left;
    size_t max_body;
    bool truncated;
    struct httpc_header *hdrs;   /* hdrs_buf once the head is in, else NULL */
    size_t nhdrs;
    const char *content_type, *retry_after;
    long long timeout_ms;
    int64_t start_us;
    size_t resp_bytes;
    bool sent, timed_out, stopped, retried, in_send, deferred;
    char error[320];
    struct up_req *next, *prev;
    /* From here on not zeroed by upstream_send: a finished request is kept
     * for the next (upstream.c: req_free) with its timer event and its
     * buffers' storage, emptied. */
    struct event *timer;
    struct sbuf out;             /* the request's bytes */
    struct sbuf in;              /* the answer's head (header values point into it) */
    struct sbuf body;
    struct httpc_header *hdrs_buf;
    size_t hdrs_cap;
    /* Last: most of the struct is rh's header array, which is filled in
     * order and not cleared. */
    struct http_resp_head rh;
};

/* Finished requests kept for reuse, and the largest buffer a kept one
 * keeps (a larger one is freed): at most ~UPSTREAM_SPARE_MAX x 60 KiB. */
#define UPSTREAM_SPARE_MAX 32
#define UPSTREAM_SPARE_BUF ((size_t)16 * 1024)

/* A request URL already split: the origin and where its path is. Kept for
 * the few URLs a gateway calls (its providers' endpoints). */
#define UPSTREAM_ROUTES 8
#define UPSTREAM_ROUTE_URL_MAX 2048
struct up_route {
    char *url;                   /* owned; NULL: unused */
    struct origin *o;
    size_t path_off, path_len;
};

struct upstream {
    struct loop *loop;
    char *ca_bundle;
    struct ssl_ctx_st *tls;      /* OpenSSL's SSL_CTX, made at the first https call (or warmed) */
    char tls_why[256];
    struct origin *origins;
    struct upc *busy;            /* connecting, or carrying a request */
    struct up_req *reqs;
    size_t inflight, nidle, max_idle;
    struct up_req *spare;        /* finished requests for reuse (next links them) */
    size_t nspare;
    struct up_route routes[UPSTREAM_ROUTES];
    size_t route_next;           /* the slot a new URL takes (round robin) */
    char rbuf[64 * 1024];        /* one read at a time on this thread */
    char cbuf[16 * 1024];        /* decoded chunks */
};

/* upstream.c: r fails (its connection closed), or is complete (its
 * connection kept when reusable); both hand r to its caller. */
void upstream_req_fail(struct up_req *r, const char *why);
void upstream_req_complete(struct up_req *r, bool reusable);

#endif
