#include "upstream.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "loop.h"
#include "tlsca.h"
#include "upstream_int.h"
#include "upstream_read.h"
#include "upstream_url.h"

static const struct upc_ops conn_ops;

static void req_destroy(struct up_req *r)
{
    event_free(r->timer);
    sbuf_deinit(&r->out);
    sbuf_deinit(&r->in);
    sbuf_deinit(&r->body);
    free(r->hdrs_buf);
    free(r);
}

/* Emptied for the next request; storage beyond UPSTREAM_SPARE_BUF freed. */
static void spare_buf(struct sbuf *b)
{
    if (b->cap > UPSTREAM_SPARE_BUF)
        sbuf_deinit(b);
    else
        sbuf_reset(b);
}

/* r is done with: kept for the next upstream_send (its timer, never
 * pending here, and its buffers spare it an allocation each), or freed. */
static void req_free(struct up_req *r)
{
    struct upstream *u = r->u;
    /* The request's head carries the provider's key: not left in a spare
     * (or freed) buffer for whatever reads that memory next. */
    if (r->out.data)
        OPENSSL_cleanse(r->out.data, r->out.len);
    if (u->nspare >= UPSTREAM_SPARE_MAX) {
        req_destroy(r);
        return;
    }
    spare_buf(&r->out);
    spare_buf(&r->in);
    spare_buf(&r->body);
    if (r->hdrs_cap * sizeof *r->hdrs_buf > UPSTREAM_SPARE_BUF) {
        free(r->hdrs_buf);
        r->hdrs_buf = NULL;
        r->hdrs_cap = 0;
    }
    r->next = u->spare;
    u->spare = r;
    u->nspare++;
}

/* The answer (or failure) to the caller: r leaves the list first, so the
 * callback may send, abort others, or free what it likes. */
static void req_deliver(struct up_req *r)
{
    struct upstream *u = r->u;
    DLIST_REMOVE(u->reqs, r);
    u->inflight--;
    bool ok = !r->error[0];
    struct httpc_response resp = {
        .status = ok ? r->rh.status : 0,
        .error = ok ? NULL : r->error,
        .body = r->body.data ? r->body.data : "",
        .body_len = r->body.len,
        .body_truncated = r->truncated,
        .content_type = r->content_type,
        .retry_after = r->retry_after,
        .timed_out = r->timed_out,
        .stopped = r->stopped,
        .sent = r->sent,
        .total_s = (double)(time_mono_us() - r->start_us) / 1e6,
        .headers = r->keep_headers || r->head ? r->hdrs : NULL,
        .nheaders = r->keep_headers || r->head ? r->nhdrs : 0,
    };
    r->cb(&resp, r->arg);
    req_free(r);
    loop_work_done(u->loop);
}

static void conn_drop(struct upstream *u, struct upc *c)
{
    DLIST_REMOVE(u->busy, c);
    upc_close(c);
}

/* Fails r now, or from the loop when inside upstream_send (cb never runs
 * from there). Its connection is closed: its state is unknown. */
void upstream_req_fail(struct up_req *r, const char *why)
{
    if (!r->error[0])
        snprintf(r->error, sizeof r->error, "%s", why);
    if (r->conn) {
        conn_drop(r->u, r->conn);
        r->conn = NULL;
    }
    if (r->in_send) {
        r->deferred = true;
        event_active(r->timer, EV_TIMEOUT, 1);
        return;
    }
    event_del(r->timer);
    req_deliver(r);
}

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct up_req *r = arg;
    if (r->deferred) {
        req_deliver(r);
        return;
    }
    r->timed_out = true;
    snprintf(r->error, sizeof r->error, "no complete answer within %lld ms", r->timeout_ms);
    upstream_req_fail(r, r->error);
}

static struct upc *idle_take(struct upstream *u, struct origin *o)
{
    int64_t now = time_mono_ms();
    while (o->idle) {
        struct upc *c = o->idle;
        DLIST_REMOVE(o->idle, c);
        u->nidle--;
        if (now - c->idle_since_ms < UPSTREAM_IDLE_MS)
            return c;
        upc_close(c);
    }
    return NULL;
}

static void req_write(struct up_req *r);

/* Puts r on a connection: a kept one unless fresh, else a new one. */
static void req_attach(struct up_req *r, bool fresh)
{
    struct upstream *u = r->u;
    struct upc *c = fresh ? NULL : idle_take(u, r->o);
    r->state = REQ_CONNECTING;
    if (c) {
        DLIST_PUSH(u->busy, c);
        c->req = r;
        r->conn = c;
        req_write(r);
        return;
    }
    if (r->o->tls && !u->tls) {
        u->tls = upc_tls_ctx(u->ca_bundle, u->tls_why, sizeof u->tls_why);
        if (!u->tls) {
            upstream_req_fail(r, u->tls_why);
            return;
        }
    }
    c = upc_open(u->loop, &conn_ops, u, r->o->host, r->o->port, r->o->tls ? u->tls : NULL, r);
    DLIST_PUSH(u->busy, c);
    r->conn = c;
}

/* A connection failed under r: once, a kept connection that had not
 * answered a byte is replaced by a new one (the server closed it as we
 * sent); otherwise r fails. */
static void conn_failed(struct upc *c, const char *why)
{
    struct upstream *u = c->owner;
    struct up_req *r = c->req;
    if (!r) {
        conn_drop(u, c);
        return;
    }
    if (c->uses > 0 && !r->retried && r->resp_bytes == 0) {
        r->retried = true;
        r->out_off = 0; /* sent stays: the bytes did leave (budgets charge what may have been done) */
        r->conn = NULL;
        conn_drop(u, c);
        req_attach(r, true);
        return;
    }
    upstream_req_fail(r, why);
}

static void req_write(struct up_req *r)
{
    struct upc *c = r->conn;
    r->state = r->state == REQ_CONNECTING ? REQ_SENDING : r->state;
    while (r->out_off < r->out.len) {
        char why[320];
        long n = upc_send(c, r->out.data + r->out_off, r->out.len - r->out_off, why, sizeof why);
        if (n == -1)
            return;
        if (n < 0) {
            conn_failed(c, why);
            return;
        }
        r->out_off += (size_t)n;
        r->sent = true;
    }
    if (r->state == REQ_SENDING)
        r->state = REQ_HEAD;
}

/* The answer is complete: the connection goes back to the idle list if
 * both sides are done with it, and r to its caller. */
void upstream_req_complete(struct up_req *r, bool reusable)
{
    struct upstream *u = r->u;
    struct upc *c = r->conn;
    r->conn = NULL;
    DLIST_REMOVE(u->busy, c);
    c->req = NULL;
    if (reusable && r->rh.keep_alive && r->out_off == r->out.len && !upc_pending(c) && u->nidle < u->max_idle) {
        c->uses++;
        c->idle_since_ms = time_mono_ms();
        c->origin = r->o;
        DLIST_PUSH(r->o->idle, c);
        u->nidle++;
    } else {
        upc_close(c);
    }
    event_del(r->timer);
    req_deliver(r);
}

static void conn_readable(struct upc *c)
{
    struct upstream *u = c->owner;
    struct up_req *r = c->req;
    for (;;) {
        char why[320];
        long n = upc_recv(c, u->rbuf, sizeof u->rbuf, why, sizeof why);
        if (n == -1)
            return;
        if (!r) { /* idle: the server closed it, or sent what nobody asked */
            struct origin *o = c->origin;
            DLIST_REMOVE(o->idle, c);
            u->nidle--;
            upc_close(c);
            return;
        }
        if (n == -2) {
            conn_failed(c, why);
            return;
        }
        if (n == 0) {
            if (r->state == REQ_BODY && r->rh.framing == HTTP_RESP_CLOSE) {
                upstream_req_complete(r, false);
            } else if (r->resp_bytes == 0) {
                conn_failed(c, "the connection closed before an answer");
            } else {
                upstream_req_fail(r, "the connection closed in the middle of the answer");
            }
            return;
        }
        if (!upstream_req_feed(r, u->rbuf, (size_t)n))
            return;
        if ((size_t)n < sizeof u->rbuf && !upc_pending(c))
            return; /* level-triggered: the rest comes next pass */
    }
}

static void conn_ready(struct upc *c)
{
    if (c->req)
        req_write(c->req);
}

static void conn_writable(struct upc *c)
{
    struct up_req *r = c->req;
    if (r && r->out_off < r->out.len)
        req_write(r);
}

static const struct upc_ops conn_ops = {
    .ready = conn_ready,
    .readable = conn_readable,
    .writable = conn_writable,
    .failed = conn_failed,
};

struct upstream *upstream_new(struct loop *l, const char *ca_bundle, size_t max_idle)
{
    struct upstream *u = xcalloc(1, sizeof *u);
    u->loop = l;
    const char *ca = tlsca_file(ca_bundle);
    u->ca_bundle = ca ? xstrdup(ca) : NULL;
    u->max_idle = max_idle ? max_idle : 64;
    return u;
}

int upstream_send(struct upstream *u, const struct httpc_request *req, httpc_cb cb, void *arg)
{
    struct origin *o;
    const char *path;
    size_t pathlen;
    if (req->ssrf || upstream_url_route(u, req->url, &o, &path, &pathlen) < 0)
        return -1;
    struct up_req *r = u->spare;
    if (r) {
        u->spare = r->next;
        u->nspare--;
    } else {
        r = xmalloc(sizeof *r);
        r->timer = evtimer_new(loop_base(u->loop), req_timer_cb, r);
        if (!r->timer)
            abort();
        sbuf_init(&r->out);
        sbuf_init(&r->in);
        sbuf_init(&r->body);
        r->hdrs_buf = NULL;
        r->hdrs_cap = 0;
    }
    memset(r, 0, offsetof(struct up_req, timer));
    r->u = u;
    r->o = o;
    r->cb = cb;
    r->arg = arg;
    r->head = req->head;
    r->data = req->data;
    r->keep_headers = req->keep_headers;
    r->head_request = req->method && strcmp(req->method, "HEAD") == 0;
    r->max_body = req->max_body ? req->max_body : (size_t)1024 * 1024;
    r->timeout_ms = req->timeout_ms;
    r->start_us = time_mono_us();
    http_resp_init(&r->rh, r->head_request);
    upstream_url_request_bytes(r, req, path, pathlen);
    if (req->timeout_ms > 0) {
        struct timeval tv = loop_tv(req->timeout_ms);
        evtimer_add(r->timer, &tv);
    }
    DLIST_PUSH(u->reqs, r);
    u->inflight++;
    r->in_send = true;
    req_attach(r, false);
    /* Inside upstream_send req_fail only defers (in_send): r is alive here,
     * which the analyzer cannot follow through the flag. */
    r->in_send = false; // NOLINT(clang-analyzer-unix.Malloc)
    return 0;
}

bool upstream_abort(struct upstream *u, httpc_cb cb, void *arg)
{
    struct up_req *r = u->reqs;
    while (r && !(r->cb == cb && r->arg == arg))
        r = r->next;
    if (!r)
        return false;
    if (r->conn)
        conn_drop(u, r->conn); /* mid-answer: not reusable */
    DLIST_REMOVE(u->reqs, r);
    u->inflight--;
    event_del(r->timer); /* pending still: kept for reuse, it must not fire */
    req_free(r);
    loop_work_done(u->loop);
    return true;
}

int upstream_tls_warm(struct upstream *u, char *why, size_t whylen)
{
    if (!u->tls)
        u->tls = upc_tls_ctx(u->ca_bundle, u->tls_why, sizeof u->tls_why);
    if (u->tls)
        return 0;
    snprintf(why, whylen, "%s", u->tls_why);
    return -1;
}

size_t upstream_inflight(const struct upstream *u)
{
    return u->inflight;
}

void upstream_free(struct upstream *u)
{
    if (!u)
        return;
    while (u->reqs) {
        struct up_req *r = u->reqs;
        if (r->conn) { // NOLINT(clang-analyzer-unix.Malloc): req_deliver unlinked the one freed before
            conn_drop(u, r->conn);
            r->conn = NULL;
        }
        if (!r->error[0])
            snprintf(r->error, sizeof r->error, "shutting down");
        event_del(r->timer);
        req_deliver(r);
    }
    while (u->busy)
        conn_drop(u, u->busy);
    while (u->origins) {
        struct origin *o = u->origins;
        u->origins = o->next;
        while (o->idle) {
            struct upc *c = o->idle;
            DLIST_REMOVE(o->idle, c);
            upc_close(c);
        }
        free(o);
    }
    while (u->spare) {
        struct up_req *r = u->spare;
        u->spare = r->next;
        req_destroy(r);
    }
    for (size_t i = 0; i < UPSTREAM_ROUTES; i++)
        free(u->routes[i].url);
    SSL_CTX_free(u->tls);
    free(u->ca_bundle);
    free(u);
}

bool upstream_proxy_in_env(void)
{
    static const char *const names[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                        "ALL_PROXY"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    return false;
}
