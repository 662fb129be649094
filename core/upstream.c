#include "upstream.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlist.h"
#include "loop.h"
#include "tlsca.h"
#include "upstream_int.h"
#include "upstream_read.h"

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

/* http(s)://host[:port][/path][?query]: no user info, no fragment sent. */
static int url_split(const char *url, bool *tls, char *host, size_t hostlen, int *port, const char **path,
                     size_t *pathlen)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
    } else {
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen))
        return -1;
    const char *hb = p, *he;
    const char *rest = p + alen;
    const char *colon;
    if (*p == '[') {
        hb = p + 1;
        he = memchr(hb, ']', alen - 1);
        if (!he)
            return -1;
        colon = he + 1 < rest && he[1] == ':' ? he + 1 : NULL;
        if (he + 1 < rest && !colon)
            return -1;
    } else {
        colon = memchr(p, ':', alen);
        he = colon ? colon : rest;
    }
    size_t hl = (size_t)(he - hb);
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, hb, hl);
    host[hl] = '\0';
    *port = *tls ? 443 : 80;
    if (colon) {
        long v = 0;
        const char *q = colon + 1;
        if (q == rest)
            return -1;
        for (; q < rest; q++) {
            if (*q < '0' || *q > '9' || (v = v * 10 + (*q - '0')) > 65535)
                return -1;
        }
        if (v < 1)
            return -1;
        *port = (int)v;
    }
    size_t pl = strcspn(rest, "#");
    for (size_t i = 0; i < pl; i++) {
        unsigned char ch = (unsigned char)rest[i];
        if (ch <= 0x20 || ch == 0x7f)
            return -1;
    }
    *path = rest;
    *pathlen = pl;
    return 0;
}

/* n bytes onto b, growing it only when they do not fit (the caller puts
 * the NUL after the last). */
static inline void put(struct sbuf *b, const char *p, size_t n)
{
    if (b->len + n >= b->cap)
        sbuf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_num(struct sbuf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b, tmp + i, sizeof tmp - i);
}

static struct origin *origin_get(struct upstream *u, bool tls, const char *host, int port)
{
    for (struct origin *o = u->origins; o; o = o->next)
        if (o->tls == tls && o->port == port && strcmp(o->host, host) == 0)
            return o;
    struct origin *o = xcalloc(1, sizeof *o);
    o->tls = tls;
    o->port = port;
    snprintf(o->host, sizeof o->host, "%s", host);
    bool v6 = strchr(o->host, ':') != NULL;
    char port_part[8] = "";
    if (port != (tls ? 443 : 80))
        snprintf(port_part, sizeof port_part, ":%d", port);
    int n = snprintf(o->host_lines, sizeof o->host_lines, "Host: %s%s%s%s\r\nUser-Agent: ingot\r\n", v6 ? "[" : "",
                     o->host, v6 ? "]" : "", port_part);
    o->host_lines_len = n > 0 && (size_t)n < sizeof o->host_lines ? (size_t)n : 0; /* host < 256: always fits */
    o->next = u->origins;
    u->origins = o;
    return o;
}

static void request_bytes(struct up_req *r, const struct httpc_request *req, const char *path, size_t pathlen)
{
    struct sbuf *b = &r->out;
    const char *method = req->method ? req->method : "GET";
    size_t mlen = strlen(method);
    sbuf_reserve(b, 256 + mlen + pathlen + r->o->host_lines_len + req->body_len);
    put(b, method, mlen);
    put(b, " ", 1);
    if (!pathlen || *path == '?')
        put(b, "/", 1);
    put(b, path, pathlen);
    put(b, " HTTP/1.1\r\n", 11);
    put(b, r->o->host_lines, r->o->host_lines_len);
    for (const char *const *h = req->headers; h && *h; h++) {
        size_t hl = strlen(*h);
        const char *colon = memchr(*h, ':', hl);
        if (!colon)
            continue;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!*v)
            continue; /* "Name:" asks for no such header, as with curl */
        put(b, *h, hl);
        put(b, "\r\n", 2);
    }
    if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        put(b, "Content-Length: ", 16);
        put_num(b, (unsigned long long)(req->body ? req->body_len : 0));
        put(b, "\r\n", 2);
    }
    put(b, "\r\n", 2);
    if (req->body)
        put(b, req->body, req->body_len);
    b->data[b->len] = '\0';
}

/* The origin and path of url: split once per URL (url_split, origin_get)
 * and kept in u->routes, as the same few endpoints are called every time.
 * -1 when url is not one upstream can call. */
static int route_get(struct upstream *u, const char *url, struct origin **o, const char **path, size_t *pathlen)
{
    for (size_t i = 0; i < UPSTREAM_ROUTES && u->routes[i].url; i++) {
        const struct up_route *rt = &u->routes[i];
        if (strcmp(rt->url, url) == 0) {
            *o = rt->o;
            *path = url + rt->path_off;
            *pathlen = rt->path_len;
            return 0;
        }
    }
    bool tls;
    char host[256];
    int port;
    if (url_split(url, &tls, host, sizeof host, &port, path, pathlen) < 0)
        return -1;
    *o = origin_get(u, tls, host, port);
    size_t len = strlen(url);
    if (len <= UPSTREAM_ROUTE_URL_MAX) {
        struct up_route *rt = &u->routes[u->route_next];
        u->route_next = (u->route_next + 1) % UPSTREAM_ROUTES;
        free(rt->url);
        rt->url = xstrdup(url);
        rt->o = *o;
        rt->path_off = (size_t)(*path - url);
        rt->path_len = *pathlen;
    }
    return 0;
}

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
    if (req->ssrf || route_get(u, req->url, &o, &path, &pathlen) < 0)
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
    request_bytes(r, req, path, pathlen);
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
