/* Streamed request bodies (HTTPD_ROUTE_STREAM_BODY): the handler runs once
 * the head is read and takes the body in pieces straight from the
 * connection's input buffer. While it pauses nothing is taken, the input
 * fills to its high watermark and libevent stops reading the socket: the
 * client is slowed by TCP itself, and memory stays one buffer per upload.
 * The deadline is one of progress (HTTP_BODY_TIMEOUT without a byte while
 * reading), not of the whole body: a 200 MB upload takes longer than any
 * whole-body deadline a small request should have. */
#include "httpd_body.h"

#include "httpd_req.h"
#include "httpd_write.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

#define BODY_PIECE ((size_t)64 * 1024) /* the most handed over at once */

static void arm(struct conn *c)
{
    struct timeval tv = loop_tv(c->h->body_ms);
    event_add(c->timer, &tv);
}

static void told(struct conn *c)
{
    c->req.body_done = true;
    if (c->timer)
        event_del(c->timer);
}

static void body_error(struct conn *c, int status, const char *why)
{
    struct http_req *r = &c->req;
    told(c);
    c->close_after = true; /* the rest of the body is not read */
    r->body_fn(r, HTTP_BODY_ERROR, why, strlen(why), status, r->body_arg);
}

/* The next piece of a chunked body, decoded into c->body. Returns its
 * length (0: need more input), or -1 after telling an error; *end when
 * the last chunk was read. */
static long chunked_piece(struct conn *c, struct evbuffer *in, bool *end)
{
    struct evbuffer_iovec v;
    *end = false;
    while (evbuffer_peek(in, -1, NULL, &v, 1) >= 1 && v.iov_len > 0) {
        size_t take = v.iov_len < BODY_PIECE ? v.iov_len : BODY_PIECE;
        size_t consumed = 0, produced = 0;
        sbuf_reset(&c->body);
        sbuf_reserve(&c->body, BODY_PIECE);
        int rc = http_chunked_feed(&c->chunk, v.iov_base, take, &consumed, c->body.data, BODY_PIECE,
                                   &produced, c->req.body_max);
        evbuffer_drain(in, consumed);
        if (rc < 0) {
            body_error(c, c->chunk.status, c->chunk.why ? c->chunk.why : "malformed chunked body");
            return -1;
        }
        *end = rc == 1;
        if (produced || *end)
            return (long)produced;
    }
    return 0;
}

void httpd_body_feed(struct conn *c)
{
    struct http_req *r = &c->req;
    if (!c->bev || !r->body_reading)
        return;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    bool progressed = false;
    while (c->bev && r->active && c->state == CONN_HANDLING && !r->body_paused && !r->body_done) {
        if (c->ph.framing == HTTP_BODY_NONE || (c->ph.framing == HTTP_BODY_LENGTH && c->body_left == 0)) {
            told(c);
            r->body_fn(r, HTTP_BODY_END, NULL, 0, 0, r->body_arg);
            return;
        }
        if (c->ph.framing == HTTP_BODY_LENGTH) {
            struct evbuffer_iovec v;
            if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
                break;
            size_t n = v.iov_len < BODY_PIECE ? v.iov_len : BODY_PIECE;
            if (n > c->body_left)
                n = (size_t)c->body_left;
            c->body_left -= n;
            progressed = true;
            r->body_fn(r, HTTP_BODY_DATA, v.iov_base, n, 0, r->body_arg);
            if (c->bev) /* a reply from fn leaves the input in place */
                evbuffer_drain(in, n);
            continue;
        }
        bool end;
        long n = chunked_piece(c, in, &end);
        if (n < 0)
            return;
        if (n > 0) {
            progressed = true;
            r->body_fn(r, HTTP_BODY_DATA, c->body.data, (size_t)n, 0, r->body_arg);
        }
        if (end && c->bev && r->active && !r->body_done) {
            told(c);
            r->body_fn(r, HTTP_BODY_END, NULL, 0, 0, r->body_arg);
            return;
        }
        if (n == 0)
            break;
    }
    if (progressed && c->bev && r->active && c->state == CONN_HANDLING && !r->body_done &&
        !r->body_paused)
        arm(c);
}

/* Runs httpd_body_feed from the loop (never inside the caller). */
static void kick(struct conn *c)
{
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

int http_body_read(struct http_req *r, http_body_fn fn, void *arg)
{
    struct conn *c = r->c;
    if (!r->body_stream || r->body_reading)
        abort(); /* not a streamed-body route, or read twice */
    if (c->peer_gone)
        return -1;
    r->body_fn = fn;
    r->body_arg = arg;
    r->body_reading = true;
    if (c->ph.expect_continue && !r->continue_sent &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
        r->continue_sent = true;
        httpd_write_continue(c);
    }
    arm(c);
    kick(c);
    return 0;
}

void http_body_pause(struct http_req *r)
{
    struct conn *c = r->c;
    if (r->body_paused || r->body_done)
        return;
    r->body_paused = true;
    if (c->timer)
        event_del(c->timer);
}

void http_body_resume(struct http_req *r)
{
    struct conn *c = r->c;
    if (!r->body_paused)
        return;
    r->body_paused = false;
    if (!c->bev || r->body_done)
        return;
    arm(c);
    kick(c);
}

/* The connection's deadline passed while a streamed body was read (the
 * timer runs only then) or its client left: tell the handler once. */
bool httpd_body_abort(struct conn *c, int status, const char *why)
{
    struct http_req *r = &c->req;
    if (!r->body_stream || !r->body_reading || r->body_done || !r->active)
        return false;
    body_error(c, status, why);
    return true;
}
