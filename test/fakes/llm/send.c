/* fakellm's sending: a reply now, or one that waits (events one per tick,
 * a delayed body, a stall or a hang) with the client's close noticed at
 * once. */
#include "../fakellm.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <sys/socket.h>

/* ---- a reply that waits: events sent one per tick, or a delayed body ---- */
struct pending {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *timer, *watch;
    struct evbuffer *evs;   /* the events (or the delayed body) */
    size_t *sizes;          /* each event's length */
    int nev, next, stall_at; /* stall_at: stop after this many events, -1 never */
    int status, delay_ms;
    long long seq;
    bool stream, in_cb, dead;
};

static void pending_free(struct pending *p)
{
    if (p->timer)
        event_free(p->timer);
    if (p->watch)
        event_free(p->watch);
    evbuffer_free(p->evs);
    free(p->sizes);
    free(p);
}

/* The connection goes down (client closed, or a write failed): the request
 * is freed by libevent, never touch it again. */
static void close_cb(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    struct pending *p = arg;
    fl_rec_closed(p->seq);
    if (p->in_cb)
        p->dead = true;
    else
        pending_free(p);
}

/* evhttp does not read while a reply is pending: watch the socket ourselves
 * (readable and recv() == 0: the client closed). */
static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct pending *p = arg;
    char ch;
    ssize_t n = recv(fd, &ch, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) { /* the client sent more (pipelining): stop watching */
        event_del(p->watch);
        return;
    }
    evhttp_connection_free(p->evcon); /* runs close_cb, which frees p */
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    p->in_cb = true;
    if (!p->stream) {
        struct evbuffer *b = p->evs;
        evhttp_connection_set_closecb(p->evcon, NULL, NULL);
        fl_rec_status(p->seq, p->status);
        evhttp_send_reply(p->req, p->status, p->status == 200 ? "OK" : "Error", b);
        fl_rec_done(p->seq);
        pending_free(p);
        return;
    }
    struct evbuffer *chunk = evbuffer_new();
    evbuffer_remove_buffer(p->evs, chunk, p->sizes[p->next++]);
    evhttp_send_reply_chunk(p->req, chunk);
    evbuffer_free(chunk);
    p->in_cb = false;
    if (p->dead) {
        pending_free(p);
        return;
    }
    if (p->next == p->stall_at)
        return; /* never ends: the watch notices when the client gives up */
    if (p->next >= p->nev) {
        evhttp_connection_set_closecb(p->evcon, NULL, NULL);
        evhttp_send_reply_end(p->req);
        fl_rec_done(p->seq);
        pending_free(p);
        return;
    }
    struct timeval tv = {p->delay_ms / 1000, (long)(p->delay_ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

static struct pending *pending_new(const struct fl_ctx *c, struct evbuffer *evs)
{
    struct pending *p = calloc(1, sizeof *p);
    p->req = c->req;
    p->evcon = evhttp_request_get_connection(c->req);
    p->evs = evs;
    p->seq = c->seq;
    p->stall_at = -1;
    p->delay_ms = c->beh.delay_ms;
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(p->evcon));
    p->watch = event_new(fl_base, fd, EV_READ | EV_PERSIST, watch_cb, p);
    event_add(p->watch, NULL);
    evhttp_connection_set_closecb(p->evcon, close_cb, p);
    return p;
}

/* ---- events ---- */
void fl_ev_end(struct evlist *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->sizes = realloc(l->sizes, (size_t)l->cap * sizeof *l->sizes);
    }
    size_t len = evbuffer_get_length(l->b);
    l->sizes[l->n++] = len - l->mark;
    l->mark = len;
}

/* Sends a stream: the head now, then every event (at once, or one per
 * delay), stalling or not. Takes l. */
void fl_stream_send(const struct fl_ctx *c, struct evlist *l, int stall_at, bool spent)
{
    struct evkeyvalq *o = evhttp_request_get_output_headers(c->req);
    fl_headers(c->req, c, spent);
    evhttp_add_header(o, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(o, "Cache-Control", "no-cache");
    fl_rec_status(c->seq, 200);
    evhttp_send_reply_start(c->req, 200, "OK");
    if (c->beh.delay_ms == 0 && stall_at < 0) {
        evhttp_send_reply_chunk(c->req, l->b);
        evhttp_send_reply_end(c->req);
        fl_rec_done(c->seq);
        evbuffer_free(l->b);
        free(l->sizes);
        return;
    }
    struct pending *p = pending_new(c, l->b);
    p->stream = true;
    p->sizes = l->sizes;
    p->nev = l->n;
    p->stall_at = stall_at;
    p->timer = evtimer_new(fl_base, tick_cb, p);
    struct timeval now = {0, 0};
    evtimer_add(p->timer, &now);
}

/* A non-streamed body: now, or after the delay (or never: hang). */
void fl_plain_send(const struct fl_ctx *c, int status, struct evbuffer *b, bool spent)
{
    fl_headers(c->req, c, spent);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type", "application/json");
    if (c->beh.delay_ms == 0 && !c->beh.hang) {
        fl_rec_status(c->seq, status);
        evhttp_send_reply(c->req, status, "OK", b);
        evbuffer_free(b);
        fl_rec_done(c->seq);
        return;
    }
    struct pending *p = pending_new(c, b);
    p->status = status;
    if (c->beh.hang)
        return;
    p->timer = evtimer_new(fl_base, tick_cb, p);
    struct timeval tv = {c->beh.delay_ms / 1000, (long)(c->beh.delay_ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}
