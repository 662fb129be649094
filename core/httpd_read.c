/* A connection's input, parsed as far as it goes: the request head (copied
 * out of the input up to its end), then a body by Content-Length or
 * chunked, then the handler's dispatch. The state machine itself (states,
 * deadlines, closing) is httpd.c's. */
#include "httpd_read.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <string.h>

#include "httpd_req.h"
#include "httpd_write.h"

#define HEAD_CHUNK 2048
#define BODY_RESERVE ((uint64_t)64 * 1024)

/* Copies what the input holds into the head buffer and parses it. Returns
 * 1 when the head is complete, 0 for more, -1 when c was failed. */
static int read_head(struct conn *c, struct evbuffer *in)
{
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return 0;
        if (c->head_len == c->head_cap) {
            size_t cap = c->head_cap ? c->head_cap * 2 : HEAD_CHUNK;
            if (cap > HTTP_PARSE_MAX_HEAD + 2)
                cap = HTTP_PARSE_MAX_HEAD + 2;
            if (cap == c->head_cap) { /* the parser reports the limit first */
                httpd_fail(c, 431, "request header fields too large");
                return -1;
            }
            c->head = xrealloc(c->head, cap);
            c->head_cap = cap;
        }
        size_t take = c->head_cap - c->head_len;
        if (take > avail)
            take = avail;
        /* copied, and taken from the input only up to the head's end:
         * bytes past it (the body, the next request) stay where they are */
        evbuffer_copyout(in, c->head + c->head_len, take);
        size_t before = c->head_len;
        c->head_len += take;
        long n = http_head_parse(&c->ph, c->head, c->head_len);
        if (n < 0) {
            evbuffer_drain(in, take);
            httpd_fail(c, c->ph.status, c->ph.why);
            return -1;
        }
        if (n > 0) { /* the caller drains the head */
            c->head_drain = (size_t)n - before;
            c->head_ahead = c->head_len - (size_t)n;
            c->head_len = (size_t)n;
            return 1;
        }
        evbuffer_drain(in, take);
    }
}

/* The body's first bytes came with the head and were copied into it
 * already: taken from there (the caller drains them from the input
 * with the head: one drain, no second copy out of the input). */
static size_t body_from_head(struct conn *c)
{
    size_t take = c->head_ahead < c->body_left ? c->head_ahead : (size_t)c->body_left;
    if (take) {
        sbuf_reserve(&c->body, take);
        memcpy(c->body.data + c->body.len, c->head + c->head_len, take);
        c->body.len += take;
        c->body.data[c->body.len] = '\0';
        c->body_left -= take;
    }
    return take;
}

static int read_body(struct conn *c, struct evbuffer *in)
{
    if (c->ph.framing == HTTP_BODY_LENGTH) {
        size_t avail = evbuffer_get_length(in);
        size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
        if (take) {
            sbuf_reserve(&c->body, take);
            evbuffer_remove(in, c->body.data + c->body.len, take);
            c->body.len += take;
            c->body.data[c->body.len] = '\0';
            c->body_left -= take;
        }
        return c->body_left == 0;
    }
    struct evbuffer_iovec v[4];
    for (;;) {
        int nv = evbuffer_peek(in, -1, NULL, v, 4);
        if (nv <= 0)
            return 0;
        if (nv > 4)
            nv = 4;
        size_t used = 0;
        int rc = 0;
        for (int i = 0; i < nv && rc == 0; i++) {
            size_t consumed, produced;
            sbuf_reserve(&c->body, v[i].iov_len);
            rc = http_chunked_feed(&c->chunk, v[i].iov_base, v[i].iov_len, &consumed,
                                   c->body.data + c->body.len, v[i].iov_len, &produced,
                                   c->h->max_body);
            c->body.len += produced;
            c->body.data[c->body.len] = '\0';
            used += consumed;
        }
        evbuffer_drain(in, used);
        if (rc < 0) {
            httpd_fail(c, c->chunk.status, c->chunk.why);
            return -1;
        }
        if (rc == 1)
            return 1;
    }
}

void httpd_read_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        switch (c->state) {
        case CONN_IDLE:
            if (evbuffer_get_length(in) == 0)
                return;
            httpd_conn_enter(c, CONN_READ_HEAD, true);
            break;
        case CONN_READ_HEAD: {
            int rc = read_head(c, in);
            if (rc <= 0)
                return;
            size_t drain = c->head_drain; /* the head's bytes: out of the input before
                                             anything else looks at it */
            httpd_req_begin(c);
            bool streamed = httpd_req_stream_body(&c->req); /* the handler reads it in pieces */
            if (c->ph.framing == HTTP_BODY_NONE) {
                evbuffer_drain(in, drain);
                httpd_conn_dispatch(c);
                break;
            }
            uint64_t max = streamed ? c->req.body_max : c->h->max_body;
            if (c->ph.framing == HTTP_BODY_LENGTH && c->ph.content_length > max) {
                evbuffer_drain(in, drain);
                httpd_fail(c, 413, "request body too large");
                return;
            }
            c->body_left = c->ph.content_length;
            http_chunked_init(&c->chunk);
            if (streamed) {
                evbuffer_drain(in, drain);
                httpd_conn_dispatch(c);
                break;
            }
            /* what was declared, up to 64 KB: the rest as it arrives */
            sbuf_reserve(&c->body, c->ph.framing == HTTP_BODY_LENGTH && c->body_left < BODY_RESERVE
                                       ? (size_t)c->body_left
                                       : 0);
            httpd_conn_enter(c, CONN_READ_BODY, true);
            if (c->ph.expect_continue && evbuffer_get_length(in) == drain)
                httpd_write_continue(c);
            if (c->ph.framing == HTTP_BODY_LENGTH)
                drain += body_from_head(c);
            evbuffer_drain(in, drain);
            break;
        }
        case CONN_READ_BODY: {
            int rc = read_body(c, in);
            if (rc <= 0)
                return;
            httpd_conn_dispatch(c);
            break;
        }
        default:
            return; /* HANDLING, STREAMING, WRITING, CLOSING: no requests */
        }
    }
}
