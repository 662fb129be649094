/* Replies: status line and headers, bodies, streamed replies, the access
 * log and the request metrics, and the check that a handler answers once. */
#include "httpd_reply.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_req.h"
#include "httpd_write.h"
#include "loop.h"
#include "metrics.h"

/* 499 (nginx's): the client closed the connection before the reply. */
#define STATUS_CLIENT_CLOSED 499

static struct metric_series *status_series(struct httpd *h, struct route *rt, int status)
{
    for (size_t i = 0; i < rt->nstatuses; i++)
        if (rt->statuses[i].status == status)
            return rt->statuses[i].count;
    char labels[256];
    snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", rt->pattern, status);
    struct metric_series *s = metrics_series(h->req_family, labels);
    if (rt->nstatuses < HTTPD_MAX_STATUS_SERIES)
        rt->statuses[rt->nstatuses++] = (struct status_series){status, s};
    return s;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    /* a CR or LF would split the reply: such a value is cleaned */
    sbuf_puts(&r->hdrs, name);
    sbuf_puts(&r->hdrs, ": ");
    for (const char *p = value; *p; p++)
        sbuf_putc(&r->hdrs, *p == '\r' || *p == '\n' ? ' ' : *p);
    sbuf_puts(&r->hdrs, "\r\n");
}

/* us: the time taken (as ms with 3 decimals, what "%.3f" of us / 1000.0
 * prints; no printf: with LOG_LEVEL=info, every request) */
static void access_log(struct http_req *r, int status, size_t bytes, int64_t us)
{
    enum log_level lvl = (r->route->flags & HTTPD_ROUTE_QUIET) ? LOG_DEBUG : LOG_INFO;
    if (status >= 500 || status == STATUS_CLIENT_CLOSED)
        lvl = status >= 500 ? LOG_WARN : LOG_INFO;
    if (!log_enabled(lvl))
        return;
    struct sbuf f;
    sbuf_init(&f);
    sbuf_puts(&f, "\"method\":");
    sbuf_json_str(&f, httpd_req_method_text(r));
    sbuf_puts(&f, ",\"path\":");
    sbuf_json_str(&f, r->path);
    sbuf_puts(&f, ",\"route\":\"");
    sbuf_puts(&f, r->route->pattern);
    sbuf_puts(&f, "\",\"status\":");
    sbuf_append_i64(&f, status);
    sbuf_puts(&f, ",\"bytes\":");
    sbuf_append_u64(&f, bytes);
    sbuf_puts(&f, ",\"ms\":");
    if (us < 0) { /* not from a monotonic clock */
        sbuf_printf(&f, "%.3f", (double)us / 1000.0);
    } else {
        sbuf_append_u64(&f, (uint64_t)us / 1000);
        char frac[5] = ".";
        *util_put_uint(frac + 1, (unsigned)(us % 1000), 3) = '\0';
        sbuf_puts(&f, frac);
    }
    sbuf_puts(&f, ",\"client\":");
    sbuf_json_str(&f, http_req_client(r));
    log_write(lvl, r->id, f.data, "request");
    sbuf_deinit(&f);
}

static const char *date_header(struct httpd *h)
{
    time_t now = time(NULL);
    if (now != h->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(h->date, sizeof h->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        h->date_sec = now;
    }
    return h->date;
}

/* A reply's head gathered on the stack and handed to the output once
 * (each evbuffer_add runs the buffer's callbacks); a small body joins it. */
struct head_buf {
    struct evbuffer *out;
    size_t n;
    bool spilled; /* some of it went to the output already */
    char b[1024];
};

/* Inlined: most pieces are literals of a known length, copied as such. */
static inline void head_add(struct head_buf *h, const char *s, size_t n)
{
    if (h->n + n > sizeof h->b) {
        h->spilled = true;
        evbuffer_add(h->out, h->b, h->n);
        h->n = 0;
        if (n > sizeof h->b) {
            evbuffer_add(h->out, s, n);
            return;
        }
    }
    memcpy(h->b + h->n, s, n);
    h->n += n;
}

#define HEAD_LIT(h, lit) head_add((h), (lit), sizeof(lit) - 1)

static void head_put(struct head_buf *h, const char *s)
{
    head_add(h, s, strlen(s));
}

/* v in decimal (no printf: every reply). */
static void head_num(struct head_buf *h, unsigned long long v)
{
    char t[24];
    size_t i = sizeof t;
    do
        t[--i] = (char)('0' + v % 10);
    while (v /= 10);
    head_add(h, t + i, sizeof t - i);
}

/* Status line and headers (and body, when given) into c's output; decides
 * keep-alive. content_length >= 0: a Content-Length header, else framing. */
static void write_head(struct http_req *r, int status, const char *content_type, long long content_length,
                       const char *framing, const char *body, size_t len)
{
    struct conn *c = r->c;
    struct httpd *h = c->h;
    /* a streamed body not read to its end: what is left cannot be skipped */
    bool unread = r->body_stream && !r->body_done;
    bool keep = c->ph.keep_alive && !h->draining && !c->close_after && !c->peer_gone && !unread;
    c->close_after = !keep;
    if (c->peer_gone)
        return;
    struct head_buf hb;
    hb.out = bufferevent_get_output(c->bev);
    hb.n = 0;
    hb.spilled = false;
    HEAD_LIT(&hb, "HTTP/1.1 ");
    head_num(&hb, (unsigned long long)(status > 0 ? status : 0));
    HEAD_LIT(&hb, " ");
    head_put(&hb, http_reason(status));
    HEAD_LIT(&hb, "\r\nDate: ");
    head_put(&hb, date_header(h));
    HEAD_LIT(&hb, "\r\n");
    if (content_type) {
        HEAD_LIT(&hb, "Content-Type: ");
        head_put(&hb, content_type);
        HEAD_LIT(&hb, "\r\n");
    }
    if (content_length >= 0) {
        HEAD_LIT(&hb, "Content-Length: ");
        head_num(&hb, (unsigned long long)content_length);
        HEAD_LIT(&hb, "\r\n");
    } else {
        head_put(&hb, framing);
    }
    HEAD_LIT(&hb, "X-Request-Id: ");
    head_put(&hb, r->id);
    if (!keep)
        HEAD_LIT(&hb, "\r\nConnection: close\r\n");
    else if (c->ph.minor == 0)
        HEAD_LIT(&hb, "\r\nConnection: keep-alive\r\n");
    else
        HEAD_LIT(&hb, "\r\n");
    if (r->hdrs.len)
        head_add(&hb, r->hdrs.data, r->hdrs.len);
    HEAD_LIT(&hb, "\r\n");
    if (len && hb.n + len <= sizeof hb.b) {
        head_add(&hb, body, len);
        len = 0;
    }
    if (content_length >= 0 && !len && !hb.spilled && c->reply.len == 0 &&
        evbuffer_get_length(hb.out) == 0) {
        httpd_write_hold(c, hb.b, hb.n); /* the whole reply: the flush writes it */
        return;
    }
    evbuffer_add(hb.out, hb.b, hb.n);
    if (len)
        evbuffer_add(hb.out, body, len);
}

static void req_record(struct http_req *r, int status, size_t bytes)
{
    struct httpd *h = r->c->h;
    int64_t us = time_mono_us() - r->start_us;
    metrics_add(status_series(h, r->route, status), 1);
    metrics_observe(r->route->latency, (double)us / 1e6);
    access_log(r, status, bytes, us);
}

/* The request is answered: metrics, access log, and the connection goes on
 * writing (WRITING is counted before the request stops counting, so a
 * drain never sees zero while the reply is still to be written). */
static void req_finish(struct http_req *r, int status, size_t bytes)
{
    struct conn *c = r->c;
    struct httpd *h = c->h;
    r->active = false;
    h->inflight--;
    if (h->closed) { /* httpd_free ran: no loop, no metrics to speak to */
        httpd_conn_abandon(c);
        return;
    }
    req_record(r, c->peer_gone ? STATUS_CLIENT_CLOSED : status, bytes);
    if (c->peer_gone)
        httpd_conn_abandon(c);
    else
        httpd_conn_replied(c);
    metrics_set(h->inflight_series, (double)h->inflight);
    loop_work_done(h->loop);
}

void httpd_req_abort(struct http_req *r)
{
    struct httpd *h = r->c->h;
    req_record(r, STATUS_CLIENT_CLOSED, 0);
    r->active = false;
    h->inflight--;
    metrics_set(h->inflight_series, (double)h->inflight);
    loop_work_done(h->loop);
}

bool http_req_gone(const struct http_req *r)
{
    return r->c->peer_gone;
}

/* A handler answers the request it was given, once, while the connection
 * waits for it (HANDLING, or STREAMING once begun; detached if the client
 * left). The struct is reused by the connection's next request, so a late
 * second reply must not pass for the next request's answer: one that comes
 * while the next request is still being read aborts here. (One that comes
 * after the next request was dispatched cannot be told apart without a
 * handle the handler keeps.) */
static void check_reply(const struct http_req *r, bool streaming)
{
    const struct conn *c = r->c;
    bool ok = r->active &&
              (c->peer_gone || c->server_reply ||
               c->state == (streaming ? CONN_STREAMING : CONN_HANDLING));
    if (!ok)
        abort(); /* a second or late reply */
}

void http_reply(struct http_req *r, int status, const char *content_type, const char *body,
                size_t len)
{
    check_reply(r, false);
    bool head_only = r->method == HTTP_M_HEAD || status == 304; /* 304: never a body */
    write_head(r, status, content_type, (long long)len, NULL, body, head_only ? 0 : len);
    req_finish(r, status, len);
}

void http_stream_begin(struct http_req *r, int status, const char *content_type,
                       http_stream_gone_fn gone, void *arg)
{
    struct conn *c = r->c;
    check_reply(r, false);
    /* HTTP/1.0 has no chunks: the end of the stream is the close */
    r->stream_chunked = c->ph.minor >= 1;
    if (!r->stream_chunked)
        c->close_after = true;
    r->stream_status = status;
    r->stream_bytes = 0;
    r->gone = gone;
    r->gone_arg = arg;
    r->stream_eof_gone = false;
    write_head(r, status, content_type, -1,
               r->stream_chunked ? "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n"
                                 : "Cache-Control: no-cache\r\n",
               NULL, 0);
    if (c->peer_gone)
        return; /* detached: the end frees it */
    httpd_conn_streaming(c);
}

size_t http_stream_write(struct http_req *r, const char *data, size_t len)
{
    struct conn *c = r->c;
    check_reply(r, true);
    if (c->peer_gone || !c->bev)
        return 0;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (len && r->method != HTTP_M_HEAD) {
        if (!r->stream_chunked) {
            evbuffer_add(out, data, len);
        } else {
            /* size in hex, CRLF, data, CRLF: one evbuffer_add for an event
             * that fits (each add runs the buffer's callbacks), no printf */
            char t[1024];
            size_t i = 24;
            t[i] = '\r', t[i + 1] = '\n';
            for (size_t v = len; v; v >>= 4)
                t[--i] = "0123456789abcdef"[v & 15];
            size_t n = 26;
            if (n + len + 2 <= sizeof t) {
                memcpy(t + n, data, len);
                t[n + len] = '\r';
                t[n + len + 1] = '\n';
                evbuffer_add(out, t + i, n + len + 2 - i);
            } else {
                evbuffer_add(out, t + i, n - i);
                evbuffer_add(out, data, len);
                evbuffer_add(out, "\r\n", 2);
            }
        }
        r->stream_bytes += len;
    }
    return evbuffer_get_length(out);
}

void http_stream_eof_gone(struct http_req *r)
{
    r->stream_eof_gone = true;
}

void http_stream_on_drain(struct http_req *r, size_t low, http_stream_gone_fn fn, void *arg)
{
    struct conn *c = r->c;
    check_reply(r, true);
    r->drain_fn = fn;
    r->drain_arg = arg;
    if (c->bev)
        bufferevent_setwatermark(c->bev, EV_WRITE, low, 0);
}

void http_stream_end(struct http_req *r)
{
    struct conn *c = r->c;
    check_reply(r, true);
    if (r->drain_fn && c->bev) /* WRITING waits for the whole reply again */
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    r->drain_fn = NULL;
    if (!c->peer_gone && r->stream_chunked && r->method != HTTP_M_HEAD)
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    req_finish(r, r->stream_status, r->stream_bytes);
}

void http_stream_abort(struct http_req *r)
{
    struct conn *c = r->c;
    check_reply(r, true);
    if (r->drain_fn && c->bev)
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    r->drain_fn = NULL;
    c->close_after = true; /* what was queued goes out, then the close */
    req_finish(r, r->stream_status, r->stream_bytes);
}

void http_reply_json(struct http_req *r, int status, const char *json, size_t len)
{
    http_reply(r, status, "application/json", json, len);
}

void http_reply_error(struct http_req *r, int status, const char *type, const char *param,
                      const char *code, const char *fmt, ...)
{
    struct sbuf msg, body;
    va_list ap;
    sbuf_init(&msg);
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sbuf_init(&body);
    sbuf_puts(&body, "{\"error\":{\"message\":");
    sbuf_json_str(&body, msg.data ? msg.data : "");
    sbuf_puts(&body, ",\"type\":");
    sbuf_json_str(&body, type);
    sbuf_puts(&body, ",\"param\":");
    sbuf_json_str(&body, param);
    sbuf_puts(&body, ",\"code\":");
    sbuf_json_str(&body, code);
    sbuf_puts(&body, "}}");
    http_reply_json(r, status, body.data, body.len);
    sbuf_deinit(&body);
    sbuf_deinit(&msg);
}
