/* The connections: our own HTTP/1.1 server on libevent bufferevents
 * (evhttp had no per-request deadline, no connection cap, no accept
 * back-off and lax framing). Requests are parsed by http_parse.c and read
 * from the input by httpd_read.c; routing and replies live in httpd_req.c;
 * the listener in httpd_listen.c. */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dlist.h"
#include "httpd_body.h"
#include "httpd_listen.h"
#include "httpd_read.h"
#include "httpd_req.h"
#include "httpd_write.h"
#include "loop.h"
#include "metrics.h"

#define LINGER_MS 2000                    /* CLOSING: how long to drop input */
#define LINGER_MAX_BYTES ((size_t)1024 * 1024) /* ... and how much of it */
#define HTTPD_INPUT_HIGH ((size_t)64 * 1024) /* unparsed input kept while a request is in hand */

static const char *const state_names[CONN_NSTATES] = {
    "idle", "reading_head", "reading_body", "handling", "streaming", "writing", "closing"};

const char *conn_state_name(enum conn_state s)
{
    return s < CONN_NSTATES ? state_names[s] : "?";
}

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_process(struct conn *c);

static void conn_arm(struct conn *c, long long ms)
{
    struct timeval tv = loop_tv(ms);
    event_add(c->timer, &tv);
}

static void conn_timer_apply(struct conn *c, long long ms)
{
    if (ms >= 0)
        conn_arm(c, ms);
    else
        event_del(c->timer);
}

/* A deadline change conn_process deferred: applied before a handler runs
 * and when conn_process returns, so a request read in one go (IDLE, head,
 * body, HANDLING) costs one event_del, not three changes. The deadline is
 * the same: event_add counts from the loop's cached time either way. */
static void conn_timer_sync(struct conn *c)
{
    if (!c->timer_pending)
        return;
    c->timer_pending = false;
    if (c->timer)
        conn_timer_apply(c, c->timer_ms);
}

/* Reading is on in every state but a half-closed one: turning it on again
 * is a libevent call per request for nothing. */
static void conn_read_on(struct conn *c)
{
    if (!(bufferevent_get_enabled(c->bev) & EV_READ))
        bufferevent_enable(c->bev, EV_READ);
}

/* The one place a connection changes state: counts, timers, read/write
 * interest. Deadlines are set on entry and never extended by traffic;
 * lazy: the timer change waits for conn_timer_sync. */
void httpd_conn_enter(struct conn *c, enum conn_state to, bool lazy)
{
    struct httpd *h = c->h;
    enum conn_state from = c->state;
    if (from == to)
        return;
    h->nstate[from]--;
    h->nstate[to]++;
    metrics_set(h->state_series[from], (double)h->nstate[from]);
    metrics_set(h->state_series[to], (double)h->nstate[to]);
    c->state = to;
    long long ms = -1;
    switch (to) {
    case CONN_IDLE:
        ms = h->idle_ms;
        conn_read_on(c);
        break;
    case CONN_READ_HEAD:
        ms = h->header_ms;
        conn_read_on(c);
        break;
    case CONN_READ_BODY:
        ms = h->body_ms;
        break;
    case CONN_HANDLING:
        /* One request at a time. Reading stays on (no epoll change per
         * request): pipelined bytes wait in the input, bounded by its
         * high watermark, and an EOF says the client left. */
        break;
    case CONN_STREAMING: {
        /* no overall deadline: the handler paces the stream; but the
         * client must keep reading (a write-progress deadline) */
        struct timeval wtv = loop_tv(h->idle_ms);
        bufferevent_set_timeouts(c->bev, NULL, &wtv);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        break;
    }
    case CONN_WRITING:
        ms = h->idle_ms;
        break;
    case CONN_CLOSING:
        ms = LINGER_MS;
        conn_read_on(c);
        break;
    case CONN_NSTATES:
        abort();
    }
    c->timer_pending = lazy;
    if (lazy)
        c->timer_ms = ms;
    else
        conn_timer_apply(c, ms);
    if (from == CONN_STREAMING)
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    if (from == CONN_WRITING || from == CONN_HANDLING || from == CONN_STREAMING)
        loop_work_done(h->loop);
}

static void conn_set_state(struct conn *c, enum conn_state to)
{
    httpd_conn_enter(c, to, false);
}

static void conn_free_cb(void *p)
{
    struct conn *c = p;
    httpd_req_deinit(&c->req);
    sbuf_deinit(&c->body);
    sbuf_deinit(&c->reply);
    free(c->head);
    free(c);
}

static void httpd_destroy(struct httpd *h);

/* Gives back the socket, the timers and the connection slot; the struct
 * stays. A closed connection is counted in no state (it stays CONN_CLOSING,
 * so callers up the stack may still read c->state). */

static void conn_release(struct conn *c)
{
    struct httpd *h = c->h;
    httpd_write_forget(c);
    h->nstate[c->state]--;
    metrics_set(h->state_series[c->state], (double)h->nstate[c->state]);
    bool was_busy = c->state == CONN_WRITING || c->state == CONN_HANDLING ||
                    c->state == CONN_STREAMING;
    c->state = CONN_CLOSING;
    c->timer_pending = false;
    event_free(c->timer);
    c->timer = NULL;
    bufferevent_free(c->bev);
    c->bev = NULL;
    DLIST_REMOVE(h->conns, c);
    h->nconns--;
    if (was_busy)
        loop_work_done(h->loop);
}

/* The client left while a handler holds the request: the slot is free
 * now (a gone long-poll must not keep new clients out), the request stays
 * valid and counted in flight until the handler replies (http_req_gone
 * tells it to hurry). */
static void conn_detach(struct conn *c)
{
    c->peer_gone = true;
    c->h->nheld++;
    conn_release(c);
}

/* Closes the socket now; the struct is freed after this loop pass (or now
 * when !defer). A request a handler holds keeps its struct (detached). */
static void conn_close(struct conn *c, bool defer)
{
    struct httpd *h = c->h;
    if (!c->bev)
        return;
    if (c->req.active) {
        if (c->state == CONN_HANDLING || c->state == CONN_STREAMING) {
            conn_detach(c);
            return;
        }
        httpd_req_abort(&c->req); /* reading its body: the client left */
    }
    conn_release(c);
    if (defer)
        loop_defer_free(h->loop, conn_free_cb, c);
    else
        conn_free_cb(c);
}

/* The client went away (EOF or an error while a handler held the request,
 * or a stream it stopped reading): detach, and tell a stream's handler. */
static void conn_gone(struct conn *c)
{
    bool tell = c->state == CONN_STREAMING && c->req.gone;
    conn_detach(c);
    if (tell)
        c->req.gone(&c->req, c->req.gone_arg); /* may end the stream: c unusable */
    else
        (void)httpd_body_abort(c, 499, "the client closed the connection mid-body");
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    switch (c->state) {
    case CONN_READ_HEAD:
        if (c->head_len > 0) { /* a partial request: say why it ends */
            httpd_fail(c, 408, "the request head was not received in time");
            return;
        }
        break;
    case CONN_READ_BODY:
        httpd_fail(c, 408, "the request body was not received in time");
        return;
    case CONN_HANDLING: /* armed only while a streamed body is read */
        if (httpd_body_abort(c, 408, "the request body made no progress in time"))
            return;
        break;
    default:
        break;
    }
    conn_close(c, true);
}

/* The server answered a request it will not read further: write, then
 * drop input for a while so the client sees the answer and not a reset. */
static void conn_linger(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    conn_set_state(c, CONN_CLOSING);
    conn_read_cb(c->bev, c);
}

void httpd_conn_replied(struct conn *c)
{
    conn_set_state(c, CONN_WRITING);
    httpd_write_queue(c);
}

void httpd_conn_abandon(struct conn *c)
{
    struct httpd *h = c->h;
    if (c->bev) { /* not detached: cannot happen, but closing is right */
        conn_close(c, true);
        return;
    }
    h->nheld--;
    if (!h->closed) {
        loop_defer_free(h->loop, conn_free_cb, c);
        return;
    }
    conn_free_cb(c); /* the loop may be gone: the caller does not touch r again */
    if (h->nheld == 0)
        httpd_destroy(h);
}

void httpd_conn_streaming(struct conn *c)
{
    conn_set_state(c, CONN_STREAMING);
}

/* Next request on a kept-alive connection. */
static void conn_next(struct conn *c)
{
    if (c->h->draining && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
        conn_close(c, true); /* no next request while draining */
        return;
    }
    httpd_req_reset(&c->req);
    c->head_len = 0;
    if (c->head_cap > (size_t)8 * 1024) { /* nor a big head buffer */
        free(c->head);
        c->head = NULL;
        c->head_cap = 0;
    }
    http_head_init(&c->ph);
    if (c->body.cap > (size_t)64 * 1024) { /* idle connections do not keep big buffers */
        sbuf_deinit(&c->body);
        sbuf_init(&c->body);
    }
    sbuf_reset(&c->body);
    c->body_left = 0;
    httpd_conn_enter(c, CONN_IDLE, true); /* conn_process applies the deadline */
    conn_process(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->state == CONN_STREAMING && c->req.drain_fn) {
        c->req.drain_fn(&c->req, c->req.drain_arg); /* the client read: more may come */
        return;
    }
    if (c->state != CONN_WRITING)
        return; /* e.g. "100 Continue" left while the body is read */
    if (c->close_after)
        conn_linger(c);
    else
        conn_next(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->state == CONN_STREAMING && (what & BEV_EVENT_EOF) && !c->req.stream_eof_gone) {
        /* a half-close: the client may still read the stream; a write
         * that fails (it left for good) or the write deadline ends it */
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if (c->state == CONN_HANDLING || c->state == CONN_STREAMING) {
        conn_gone(c); /* the handler still holds the request (a half-close counts: nginx's 499) */
        return;
    }
    if (c->state == CONN_WRITING && what == (BEV_EVENT_EOF | BEV_EVENT_READING)) {
        /* a half-close after the request: the answer still goes out */
        bufferevent_disable(c->bev, EV_READ);
        c->close_after = true;
        return;
    }
    conn_close(c, true);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->state == CONN_STREAMING) {
        /* a request sent during a stream is not answered: close after it */
        struct evbuffer *in = bufferevent_get_input(bev);
        if (evbuffer_get_length(in))
            c->close_after = true;
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->state == CONN_HANDLING && c->req.body_stream) {
        httpd_body_feed(c); /* a streamed body: the handler takes it as it comes */
        return;
    }
    if (c->state == CONN_HANDLING || c->state == CONN_WRITING)
        return; /* the next request waits in the input */
    if (c->state == CONN_CLOSING) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->dropped += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->dropped > LINGER_MAX_BYTES)
            conn_close(c, true);
        return;
    }
    conn_process(c);
}

void httpd_conn_dispatch(struct conn *c)
{
    httpd_conn_enter(c, CONN_HANDLING, true);
    conn_timer_sync(c); /* the handler sees its deadlines in place */
    httpd_dispatch(&c->req);
}

/* Reads what the input holds as far as it goes; the deadline of the state
 * it stops in is set on the way out. */
static void conn_process(struct conn *c)
{
    httpd_read_input(c);
    conn_timer_sync(c);
}

/* A connection accepted under the cap: its struct, reading its head. */
void httpd_conn_open(struct httpd *h, evutil_socket_t fd, const struct sockaddr *sa)
{
    struct conn *c = xcalloc(1, sizeof *c);
    c->h = h;
    c->bev = bufferevent_socket_new(loop_base(h->loop), fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(loop_base(h->loop), conn_timer_cb, c);
    c->fd = fd;
    if (!c->bev || !c->timer)
        abort();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer, sizeof c->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->peer, sizeof c->peer);
    else
        snprintf(c->peer, sizeof c->peer, "unix");
    sbuf_init(&c->body);
    sbuf_init(&c->reply);
    sbuf_init(&c->req.scratch);
    sbuf_init(&c->req.hdrs);
    c->req.c = c;
    http_head_init(&c->ph);
    DLIST_PUSH(h->conns, c);
    h->nconns++;
    c->state = CONN_READ_HEAD; /* a new connection gets the header deadline */
    h->nstate[CONN_READ_HEAD]++;
    metrics_set(h->state_series[CONN_READ_HEAD], (double)h->nstate[CONN_READ_HEAD]);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* Bytes read but not parsed (pipelined behind a request in hand) stop
     * the reading at this much. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, HTTPD_INPUT_HIGH);
    conn_arm(c, h->header_ms);
    bufferevent_enable(c->bev, EV_READ);
}

struct httpd *httpd_new(struct loop *l, struct metrics *m, const struct httpd_opts *o)
{
    struct httpd *h = xcalloc(1, sizeof *h);
    h->loop = l;
    h->metrics = m;
    h->max_body = o->max_body;
    h->idle_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 60000;
    h->header_ms = o->header_timeout_ms > 0 ? o->header_timeout_ms : 10000;
    h->body_ms = o->body_timeout_ms > 0 ? o->body_timeout_ms : 60000;
    h->max_conns = o->max_connections > 0 ? o->max_connections : 4096;
    char err[256];
    if (cidr_list_parse(&h->trusted, o->trusted_proxies, err, sizeof err) < 0)
        log_warn("TRUSTED_PROXIES: %s; trusting no proxy", err); /* config validated it */
    if (util_random_bytes(&h->rng, sizeof h->rng) < 0)
        h->rng = (uint64_t)time_real_us();
    httpd_listen_init(h);
    httpd_write_start(h);
    h->req_family = metrics_family(m, METRIC_COUNTER, "ingot_http_requests_total",
                                   "HTTP requests answered, by route and status.");
    h->lat_family = metrics_family(m, METRIC_HISTOGRAM, "ingot_http_request_duration_seconds",
                                   "HTTP request latency, by route.");
    h->inflight_family = metrics_family(m, METRIC_GAUGE, "ingot_http_requests_in_flight",
                                        "HTTP requests being handled.");
    h->inflight_series = metrics_series(h->inflight_family, "");
    struct metric_family *cf = metrics_family(m, METRIC_GAUGE, "ingot_http_connections",
                                              "Open HTTP connections, by state.");
    for (int s = 0; s < CONN_NSTATES; s++) {
        char labels[64];
        snprintf(labels, sizeof labels, "state=\"%s\"", state_names[s]);
        h->state_series[s] = metrics_series(cf, labels);
    }
    h->rejected_series = metrics_series(
        metrics_family(m, METRIC_COUNTER, "ingot_http_connections_refused_total",
                       "Connections answered 503 and closed: HTTP_MAX_CONNECTIONS reached."),
        "");
    h->paused_series = metrics_series(
        metrics_family(m, METRIC_COUNTER, "ingot_http_accept_paused_total",
                       "Times accepting paused because file descriptors ran out."),
        "");
    h->unmatched.pattern = "unmatched";
    httpd_route_metrics_init(h, &h->unmatched);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)h->max_conns + 64 > rl.rlim_cur)
        log_warn("HTTP_MAX_CONNECTIONS is %zu but the open-file limit is %llu: beyond it accepts "
                 "pause instead of answering 503; raise the limit (ulimit -n)",
                 h->max_conns, (unsigned long long)rl.rlim_cur);
    return h;
}

/* Connections whose handler still holds the request are detached, not
 * freed: the handler may reply later (after runtime_close failed its async
 * work, or never when the grace ran out); the last such reply frees h,
 * touching neither the loop nor the metrics (they may be gone by then). */
void httpd_free(struct httpd *h)
{
    if (!h)
        return;
    httpd_write_flush(h); /* replies of the last pass leave before their connections close */
    for (struct conn *c = h->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c, false);
    }
    httpd_write_stop(h);
    httpd_listen_close(h, true);
    if (h->nheld > 0) {
        h->closed = true;
        return;
    }
    httpd_destroy(h);
}

static void httpd_destroy(struct httpd *h)
{
    struct route *rt = h->routes;
    while (rt) {
        struct route *n = rt->next;
        free(rt);
        rt = n;
    }
    cidr_list_deinit(&h->trusted);
    free(h);
}

void httpd_stop_accepting(struct httpd *h)
{
    h->draining = true;
    httpd_listen_close(h, false);
    /* Connections with no byte of a request (kept-alive idle ones, new
     * ones silent so far) are closed now: the client sees EOF at once
     * rather than a reset at exit. Requests under way finish, and their
     * replies say Connection: close. */
    for (struct conn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_IDLE ||
            (c->state == CONN_READ_HEAD && c->head_len == 0 &&
             evbuffer_get_length(bufferevent_get_input(c->bev)) == 0))
            conn_close(c, true);
    }
}

size_t httpd_inflight(const struct httpd *h)
{
    return h->inflight + h->nstate[CONN_WRITING];
}
