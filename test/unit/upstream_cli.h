/* The client side of the upstream tests (test_upstream, _fail): one loop,
 * one upstream per case (fresh), a result per request, run_until to wait on
 * the loop for a condition (every callback pokes), and the scripted
 * server's answers by path. */
#ifndef TEST_UPSTREAM_CLI_H
#define TEST_UPSTREAM_CLI_H

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "loop.h"
#include "upstream.h"
#include "upstream_srv.h"

static struct loop *L;
static struct upstream *U;
static struct event *watchdog;
static bool watchdog_fired;
static bool in_send;

struct res {
    int done, heads, datas;
    bool cb_in_send;
    long status, head_status;
    bool has_error, timed_out, stopped, truncated, sent;
    char error[400];
    char *body;
    size_t body_len;
    char hdrs[1024];          /* "name=value|" for each header */
    size_t nheaders;
    char ctype[64], retry[64];
    char pieces[512];         /* "piece|" for each data call */
    bool data_before_head;
    /* what the callbacks do */
    int head_ret;             /* HTTPC_STREAM, HTTPC_BUFFER, HTTPC_STOP */
    int data_stop_after;      /* data returns -1 at this call (0: never) */
    bool demand;              /* data asks the server for its next piece */
    struct event *abort_ev;   /* data arms it */
    /* chained: done sends this request next (from inside the callback) */
    const char *then_url;
    struct res *then_res;
};

static inline void res_free(struct res *r)
{
    free(r->body);
    r->body = NULL;
}

static inline void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    watchdog_fired = true;
    poke();
}

/* Runs the loop until cond holds (re-checked at every poke) or ms pass. */
static inline bool run_until(bool (*cond)(const void *), const void *arg, long long ms)
{
    watchdog_fired = false;
    struct timeval tv = loop_tv(ms);
    evtimer_add(watchdog, &tv);
    while (!cond(arg) && !watchdog_fired)
        loop_run(L);
    evtimer_del(watchdog);
    return cond(arg);
}

static inline bool is_done(const void *arg)
{
    return ((const struct res *)arg)->done > 0;
}

static inline bool eofs_at_least(const void *arg)
{
    return srv.eofs >= *(const int *)arg;
}

static inline bool requests_at_least(const void *arg)
{
    return srv.requests >= *(const int *)arg;
}

static inline bool never(const void *arg)
{
    (void)arg;
    return false;
}

static inline int head_cb(long status, const struct httpc_header *h, size_t n, void *arg)
{
    (void)h;
    (void)n;
    struct res *r = arg;
    r->heads++;
    r->head_status = status;
    return r->head_ret;
}

static inline int data_cb(const char *buf, size_t len, void *arg)
{
    struct res *r = arg;
    if (!r->heads)
        r->data_before_head = true;
    r->datas++;
    size_t have = strlen(r->pieces);
    snprintf(r->pieces + have, sizeof r->pieces - have, "%.*s|", (int)len, buf);
    if (r->abort_ev) {
        struct timeval tv = loop_tv(0);
        event_add(r->abort_ev, &tv);
    }
    if (r->data_stop_after && r->datas >= r->data_stop_after)
        return -1;
    if (r->demand)
        sc_next_piece();
    return 0;
}

static inline int send_req(struct res *r, const struct httpc_request *req);

static inline void done_cb(const struct httpc_response *resp, void *arg)
{
    struct res *r = arg;
    r->done++;
    r->cb_in_send = in_send;
    r->status = resp->status;
    r->has_error = resp->error != NULL;
    snprintf(r->error, sizeof r->error, "%s", resp->error ? resp->error : "");
    r->timed_out = resp->timed_out;
    r->stopped = resp->stopped;
    r->truncated = resp->body_truncated;
    r->sent = resp->sent;
    free(r->body);
    r->body = malloc(resp->body_len + 1);
    memcpy(r->body, resp->body, resp->body_len + 1); /* the NUL too: body is NUL-terminated */
    r->body_len = resp->body_len;
    r->nheaders = resp->nheaders;
    r->hdrs[0] = 0;
    for (size_t i = 0; i < resp->nheaders; i++) {
        size_t have = strlen(r->hdrs);
        snprintf(r->hdrs + have, sizeof r->hdrs - have, "%s=%s|", resp->headers[i].name, resp->headers[i].value);
    }
    if (resp->nheaders && !resp->headers)
        r->nheaders = 999;
    snprintf(r->ctype, sizeof r->ctype, "%s", resp->content_type ? resp->content_type : "(null)");
    snprintf(r->retry, sizeof r->retry, "%s", resp->retry_after ? resp->retry_after : "(null)");
    if (r->then_url) {
        struct httpc_request next = {.method = "GET", .url = r->then_url, .timeout_ms = 5000, .keep_headers = true};
        r->then_url = NULL;
        if (send_req(r->then_res, &next) < 0)
            r->then_res->done = -1;
    }
    poke();
}

static inline int send_req(struct res *r, const struct httpc_request *req)
{
    in_send = true;
    int rc = upstream_send(U, req, done_cb, r);
    in_send = false;
    return rc;
}

static char url_buf[8][128];
static inline const char *url(int i, const char *path)
{
    snprintf(url_buf[i], sizeof url_buf[i], "http://127.0.0.1:%d%s", srv.port, path);
    return url_buf[i];
}

/* A GET of path, waited for (at most 5 s). */
static inline void get(struct res *r, const char *path, bool keep_headers)
{
    struct httpc_request req = {.method = "GET", .url = url(0, path), .timeout_ms = 5000, .keep_headers = keep_headers};
    if (send_req(r, &req) < 0)
        abort();
    run_until(is_done, r, 6000);
}

static inline void stream_get(struct res *r, const char *path)
{
    struct httpc_request req = {
        .method = "GET", .url = url(0, path), .timeout_ms = 5000, .head = head_cb, .data = data_cb};
    if (send_req(r, &req) < 0)
        abort();
    run_until(is_done, r, 6000);
}

static inline void fresh(void (*on_req)(struct sconn *c, const char *req, size_t len))
{
    upstream_free(U);
    srv_reset(on_req);
    U = upstream_new(L, NULL, 4);
}

/* The answers by path. */
static char big_body[200000];
static const char *const chunked_pieces[] = {
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n1",
    "\r\na\r",
    "\n1b;ext=\"x\"\r\n0123456789abcdefghijklmnopq",
    "\r\n",
    "3\r\nxyz\r\n0\r\nX-Trailer: t\r\n",
    "\r\n",
};
static const char *const close_pieces[] = {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhel", "lo"};
static const char *const interim_pieces[] = {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n",
                                             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: 1\r\n\r\nok"};
static const char *const stream_pieces[] = {
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n", "9\r\ndata: 2\n\n\r\n",
    "9\r\ndata: 3\n\n\r\n0\r\n\r\n"};
static const char *const stream_len_pieces[] = {"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab", "cd", "ef"};

static inline void answer(struct sconn *c, const char *body)
{
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nX-Conn: %d\r\nX-Nreq: %d\r\nContent-Length: %zu\r\n\r\n", c->id,
             c->nreq, strlen(body));
    sc_puts(c, h);
    sc_puts(c, body);
}

static inline bool path_is(const char *req, const char *path)
{
    size_t n = strlen(path);
    const char *p = strchr(req, ' ');
    return p && strncmp(p + 1, path, n) == 0 && (p[1 + n] == ' ' || p[1 + n] == '?');
}

static inline void script(struct sconn *c, const char *req, size_t len)
{
    (void)len;
    if (path_is(req, "/big")) {
        char h[128];
        snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
                 sizeof big_body);
        sc_puts(c, h);
        sc_send(c, big_body, sizeof big_body);
    } else if (path_is(req, "/chunked")) {
        sc_pieces(c, chunked_pieces, sizeof chunked_pieces / sizeof *chunked_pieces, false);
    } else if (path_is(req, "/bigchunk")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9c40\r\n");
        sc_send(c, big_body, 40000);
        sc_puts(c, "\r\n1\r\n!\r\n0\r\n\r\n");
    } else if (path_is(req, "/close")) {
        sc_pieces(c, close_pieces, 2, false);
        c->close_after = true;
    } else if (path_is(req, "/says-close")) {
        /* says close but keeps the connection open: the client must close it */
        sc_puts(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    } else if (path_is(req, "/http10")) {
        sc_puts(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else if (path_is(req, "/interim")) {
        sc_pieces(c, interim_pieces, 3, false);
    } else if (path_is(req, "/interim1")) {
        sc_puts(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nk");
    } else if (path_is(req, "/stream")) {
        sc_pieces(c, stream_pieces, 3, true);
    } else if (path_is(req, "/streamlen")) {
        sc_pieces(c, stream_len_pieces, 3, true);
    } else if (path_is(req, "/stream-hold")) {
        sc_pieces(c, stream_pieces, 3, true); /* the client asks for nothing more: never the end */
    } else if (path_is(req, "/headers")) {
        sc_puts(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After:  7 \r\n"
                   "X-Empty:\r\nx-multi: a, b\r\nContent-Length: 2\r\n\r\n{}");
    } else if (path_is(req, "/ten")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    } else if (path_is(req, "/tenchunked")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n4\r\n6789\r\n0\r\n\r\n");
    } else if (path_is(req, "/badstatus")) {
        sc_puts(c, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
    } else if (path_is(req, "/garbage")) {
        sc_puts(c, "hello there\r\n\r\n");
    } else if (path_is(req, "/head")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"); /* a HEAD answer: no body */
    } else if (path_is(req, "/204")) {
        sc_puts(c, "HTTP/1.1 204 No Content\r\n\r\n");
    } else if (path_is(req, "/304")) {
        sc_puts(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
    } else if (path_is(req, "/extra")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n");
    } else if (path_is(req, "/badchunk")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    } else if (path_is(req, "/hang")) {
        /* never answers */
    } else if (path_is(req, "/nothing")) {
        c->close_after = true; /* closes without a byte */
    } else if (path_is(req, "/short")) {
        sc_puts(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
        c->close_after = true;
    } else if (path_is(req, "/answer-then-close")) {
        answer(c, "ok");
        c->close_after = true;
    } else if (path_is(req, "/flaky")) {
        /* every second request on a connection: closed unanswered */
        if (c->nreq % 2 == 0)
            c->close_after = true;
        else
            answer(c, "ok");
    } else if (path_is(req, "/flaky-rst")) {
        /* the second request on a connection: reset (RST), unanswered */
        if (c->nreq % 2 == 0) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            c->close_after = true;
        } else {
            answer(c, "ok");
        }
    } else if (path_is(req, "/upload")) {
        const char *body = strstr(req, "\r\n\r\n") + 4;
        size_t blen = len - (size_t)(body - req);
        bool intact = true;
        for (size_t i = 0; i < blen && intact; i++)
            intact = body[i] == (char)('A' + i % 23);
        char n[64];
        snprintf(n, sizeof n, "%zu %s", blen, intact ? "intact" : "damaged");
        answer(c, n);
    } else if (path_is(req, "/flaky-always")) {
        /* answers only the first request of the first connection */
        if (c->id == 1 && c->nreq == 1)
            answer(c, "ok");
        else
            c->close_after = true;
    } else {
        answer(c, "ok");
    }
}

static inline bool hdr_has(const struct res *r, const char *kv)
{
    return strstr(r->hdrs, kv) != NULL;
}

/* One loop, the server on 127.0.0.1, an upstream. */
static inline void harness_start(void)
{
    char err[128];
    L = loop_new(err, sizeof err);
    if (!L || srv_start(L, false) < 0)
        abort();
    watchdog = evtimer_new(loop_base(L), watchdog_cb, NULL);
    U = upstream_new(L, NULL, 4);
}

static inline void harness_end(void)
{
    upstream_free(U);
    srv_stop();
    event_free(watchdog);
    loop_free(L);
}

#endif
