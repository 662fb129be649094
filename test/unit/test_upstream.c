/* The upstream client against a scripted server on loopback, both on one
 * loop (upstream_srv.h): bodies by length, chunks and close; keep-alive
 * reuse and its limits; interim 1xx; streaming and stopping; headers;
 * max_body; malformed answers; the one retry of a kept connection the
 * server closed; timeouts; refused connections; abort; free with requests
 * in flight; URLs refused; the request's exact bytes. Each case has its
 * own upstream, so no connection is carried from one to the next. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "log.h"
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

static void res_free(struct res *r)
{
    free(r->body);
    r->body = NULL;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    watchdog_fired = true;
    poke();
}

/* Runs the loop until cond holds (re-checked at every poke) or ms pass. */
static bool run_until(bool (*cond)(const void *), const void *arg, long long ms)
{
    watchdog_fired = false;
    struct timeval tv = loop_tv(ms);
    evtimer_add(watchdog, &tv);
    while (!cond(arg) && !watchdog_fired)
        loop_run(L);
    evtimer_del(watchdog);
    return cond(arg);
}

static bool is_done(const void *arg)
{
    return ((const struct res *)arg)->done > 0;
}

static bool eofs_at_least(const void *arg)
{
    return srv.eofs >= *(const int *)arg;
}

static bool requests_at_least(const void *arg)
{
    return srv.requests >= *(const int *)arg;
}

static bool never(const void *arg)
{
    (void)arg;
    return false;
}

static int head_cb(long status, const struct httpc_header *h, size_t n, void *arg)
{
    (void)h;
    (void)n;
    struct res *r = arg;
    r->heads++;
    r->head_status = status;
    return r->head_ret;
}

static int data_cb(const char *buf, size_t len, void *arg)
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

static int send_req(struct res *r, const struct httpc_request *req);

static void done_cb(const struct httpc_response *resp, void *arg)
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

static int send_req(struct res *r, const struct httpc_request *req)
{
    in_send = true;
    int rc = upstream_send(U, req, done_cb, r);
    in_send = false;
    return rc;
}

static char url_buf[8][128];
static const char *url(int i, const char *path)
{
    snprintf(url_buf[i], sizeof url_buf[i], "http://127.0.0.1:%d%s", srv.port, path);
    return url_buf[i];
}

/* A GET of path, waited for (at most 5 s). */
static void get(struct res *r, const char *path, bool keep_headers)
{
    struct httpc_request req = {.method = "GET", .url = url(0, path), .timeout_ms = 5000, .keep_headers = keep_headers};
    if (send_req(r, &req) < 0)
        abort();
    run_until(is_done, r, 6000);
}

static void stream_get(struct res *r, const char *path)
{
    struct httpc_request req = {
        .method = "GET", .url = url(0, path), .timeout_ms = 5000, .head = head_cb, .data = data_cb};
    if (send_req(r, &req) < 0)
        abort();
    run_until(is_done, r, 6000);
}

static void fresh(void (*on_req)(struct sconn *c, const char *req, size_t len))
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

static void answer(struct sconn *c, const char *body)
{
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nX-Conn: %d\r\nX-Nreq: %d\r\nContent-Length: %zu\r\n\r\n", c->id,
             c->nreq, strlen(body));
    sc_puts(c, h);
    sc_puts(c, body);
}

static bool path_is(const char *req, const char *path)
{
    size_t n = strlen(path);
    const char *p = strchr(req, ' ');
    return p && strncmp(p + 1, path, n) == 0 && (p[1 + n] == ' ' || p[1 + n] == '?');
}

static void script(struct sconn *c, const char *req, size_t len)
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

static bool hdr_has(const struct res *r, const char *kv)
{
    return strstr(r->hdrs, kv) != NULL;
}

static void test_length(void)
{
    fresh(script);
    for (size_t i = 0; i < sizeof big_body; i++)
        big_body[i] = (char)('a' + i % 26);
    struct res r = {0};
    get(&r, "/big", false);
    test_cond("length: done once, from the loop", r.done == 1 && !r.cb_in_send);
    test_cond("length: 200, no error, sent", r.status == 200 && !r.has_error && r.sent);
    test_cond("length: 200000 bytes over several reads, intact",
              r.body_len == sizeof big_body && memcmp(r.body, big_body, sizeof big_body) == 0 && !r.truncated);
    test_cond("length: the body is NUL-terminated", r.body[r.body_len] == '\0');
    test_streq("length: content_type", r.ctype, "application/octet-stream");
    test_cond("length: no headers without keep_headers", r.nheaders == 0);
    test_cond("nothing in flight after", upstream_inflight(U) == 0);
    res_free(&r);
}

static void test_chunked(void)
{
    fresh(script);
    struct res r = {0};
    get(&r, "/chunked", true);
    test_cond("chunked: 200, no error", r.done == 1 && r.status == 200 && !r.has_error);
    test_streq("chunked: odd chunk sizes split across reads, extension and trailer skipped", r.body,
               "a0123456789abcdefghijklmnopqxyz");
    test_cond("chunked: a trailer is no header", !hdr_has(&r, "X-Trailer"));
    struct res r2 = {0};
    get(&r2, "/plain", true);
    test_cond("chunked: the connection is reused after the last chunk",
              r2.status == 200 && srv.accepts == 1 && hdr_has(&r2, "X-Nreq=2|"));
    struct res r3 = {0};
    get(&r3, "/bigchunk", false);
    test_cond("chunked: a 40000-byte chunk (more than the decode buffer) intact",
              r3.status == 200 && r3.body_len == 40001 && memcmp(r3.body, big_body, 40000) == 0 &&
                  r3.body[40000] == '!');
    test_cond("chunked: still one connection", srv.accepts == 1);
    res_free(&r);
    res_free(&r2);
    res_free(&r3);
}

static void test_close_delimited(void)
{
    fresh(script);
    struct res r = {0};
    get(&r, "/close", false);
    test_cond("close-delimited: 200, no error", r.done == 1 && r.status == 200 && !r.has_error);
    test_streq("close-delimited: the body is what came before the close", r.body, "hello");
    struct res r2 = {0};
    get(&r2, "/plain", true);
    test_cond("close-delimited: the next request opens a new connection", r2.status == 200 && srv.accepts == 2);
    struct res r3 = {0};
    get(&r3, "/short", false);
    test_cond("a length cut short by a close is an error", r3.done == 1 && r3.has_error && r3.status == 0 &&
                                                                strstr(r3.error, "middle of the answer"));
    res_free(&r);
    res_free(&r2);
    res_free(&r3);
}

static void test_keep_alive(void)
{
    fresh(script);
    struct res r = {0}, r2 = {0};
    r.then_url = url(1, "/second");
    r.then_res = &r2;
    get(&r, "/first", true);
    run_until(is_done, &r2, 6000);
    test_cond("keep-alive: both answered", r.status == 200 && r2.status == 200 && !r2.has_error);
    test_cond("keep-alive: a request sent from the callback reuses the connection",
              srv.accepts == 1 && hdr_has(&r2, "X-Conn=1|") && hdr_has(&r2, "X-Nreq=2|"));
    test_cond("keep-alive: the reused request answers from the loop", !r2.cb_in_send);
    struct res r3 = {0};
    get(&r3, "/third", true);
    test_cond("keep-alive: and again from outside", srv.accepts == 1 && hdr_has(&r3, "X-Nreq=3|"));

    /* Connection: close from the server: not reused (the client closes). */
    struct res c1 = {0}, c2 = {0};
    get(&c1, "/says-close", false);
    int one = 1;
    run_until(eofs_at_least, &one, 2000);
    test_cond("Connection: close: the client closes the connection", c1.status == 200 && srv.eofs == 1);
    get(&c2, "/plain", true);
    test_cond("Connection: close: the next request uses a new connection", c2.status == 200 && srv.accepts == 2);

    /* HTTP/1.0 without keep-alive: not reused either. */
    struct res d1 = {0}, d2 = {0};
    get(&d1, "/http10", false);
    get(&d2, "/plain", true);
    test_cond("HTTP/1.0: the next request uses a new connection", d1.status == 200 && d2.status == 200 &&
                                                                      srv.accepts == 3);

    /* A server closing an idle kept connection: the next request is fine. */
    struct res e1 = {0}, e2 = {0};
    get(&e1, "/answer-then-close", false);
    get(&e2, "/plain", true);
    test_cond("a kept connection the server closed while idle: the next request succeeds on a new one",
              e1.status == 200 && e2.status == 200 && !e2.has_error && srv.accepts == 4);
    test_cond("keep-alive: nothing in flight", upstream_inflight(U) == 0);
    res_free(&r);
    res_free(&r2);
    res_free(&r3);
    res_free(&c1);
    res_free(&c2);
    res_free(&d1);
    res_free(&d2);
    res_free(&e1);
    res_free(&e2);
}

static void test_interim(void)
{
    fresh(script);
    struct res r = {0};
    r.head_ret = HTTPC_BUFFER;
    struct httpc_request req = {.method = "POST", .url = url(0, "/interim"), .body = "{}", .body_len = 2,
                                .timeout_ms = 5000, .head = head_cb, .data = data_cb};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    test_cond("interim: 100 and 103 skipped, the final answer delivered",
              r.done == 1 && r.status == 200 && !r.has_error);
    test_cond("interim: head ran once, with the final status", r.heads == 1 && r.head_status == 200);
    test_cond("interim: the final head's headers only", hdr_has(&r, "X-Final=1|") && !hdr_has(&r, "Link"));
    test_streq("interim: the body", r.body, "ok");
    struct res r2 = {0};
    get(&r2, "/interim1", false);
    test_cond("interim and final head in one read", r2.status == 201 && !strcmp(r2.body, "k"));
    test_cond("interim: the connection is still reused", srv.accepts == 1);
    res_free(&r);
    res_free(&r2);
}

static void test_streaming(void)
{
    fresh(script);
    struct res r = {.head_ret = HTTPC_STREAM, .demand = true};
    stream_get(&r, "/stream");
    test_cond("stream: done once, 200, no error", r.done == 1 && r.status == 200 && !r.has_error);
    test_cond("stream: head once, before any data", r.heads == 1 && r.head_status == 200 && !r.data_before_head);
    test_streq("stream: each piece as the server sent it (the next is sent when the last was seen)", r.pieces,
               "data: 1\n\n|data: 2\n\n|data: 3\n\n|");
    test_cond("stream: a streamed body is not kept", r.body_len == 0);
    test_cond("stream: head implies the headers", r.nheaders == 1 && hdr_has(&r, "Transfer-Encoding=chunked|"));
    struct res l = {.head_ret = HTTPC_STREAM, .demand = true};
    stream_get(&l, "/streamlen");
    test_streq("stream: a Content-Length body in pieces", l.pieces, "ab|cd|ef|");
    test_cond("stream: the connection is reused after a stream", l.status == 200 && srv.accepts == 1);

    struct res b = {.head_ret = HTTPC_BUFFER};
    stream_get(&b, "/headers");
    test_cond("HTTPC_BUFFER: head saw 429, the body is kept, data never ran",
              b.head_status == 429 && b.status == 429 && !strcmp(b.body, "{}") && b.datas == 0);

    fresh(script);
    struct res s = {.head_ret = HTTPC_STOP};
    stream_get(&s, "/stream");
    int one = 1;
    run_until(eofs_at_least, &one, 2000);
    test_cond("HTTPC_STOP: done once, stopped, with an error, status 0",
              s.done == 1 && s.stopped && s.has_error && s.status == 0);
    test_cond("HTTPC_STOP: data never ran", s.datas == 0);
    test_cond("HTTPC_STOP: the connection is closed (the server sees EOF)", srv.eofs == 1);

    fresh(script);
    struct res d = {.head_ret = HTTPC_STREAM, .demand = true, .data_stop_after = 2};
    stream_get(&d, "/stream");
    run_until(eofs_at_least, &one, 2000);
    test_cond("data -1: done once, stopped, with an error", d.done == 1 && d.stopped && d.has_error);
    test_cond("data -1: no data after the stop", d.datas == 2);
    test_cond("data -1: the connection is closed", srv.eofs == 1);
    res_free(&r);
    res_free(&l);
    res_free(&b);
    res_free(&s);
    res_free(&d);
}

static void test_headers(void)
{
    fresh(script);
    struct res r = {0};
    get(&r, "/headers", true);
    test_cond("headers: 429 is an answer, not an error", r.status == 429 && !r.has_error);
    test_streq("headers: every header, in order, trimmed, each NUL-terminated", r.hdrs,
               "Content-Type=application/json|Retry-After=7|X-Empty=|x-multi=a, b|Content-Length=2|");
    test_cond("headers: the count", r.nheaders == 5);
    test_streq("headers: content_type", r.ctype, "application/json");
    test_streq("headers: retry_after", r.retry, "7");
    struct res r2 = {0};
    get(&r2, "/headers", false);
    test_cond("without keep_headers: no list", r2.nheaders == 0);
    test_streq("without keep_headers: content_type still set", r2.ctype, "application/json");
    test_streq("without keep_headers: retry_after still set", r2.retry, "7");
    res_free(&r);
    res_free(&r2);
}

static void test_max_body(void)
{
    fresh(script);
    struct res r = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/ten"), .timeout_ms = 5000, .max_body = 4};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    test_cond("max_body: truncated, no error", r.done == 1 && r.status == 200 && !r.has_error && r.truncated);
    test_streq("max_body: the first 4 bytes kept", r.body, "0123");
    struct res c = {0};
    req.url = url(0, "/tenchunked");
    if (send_req(&c, &req) < 0)
        abort();
    run_until(is_done, &c, 6000);
    test_cond("max_body, chunked: truncated", c.status == 200 && c.truncated && !strcmp(c.body, "0123"));
    struct res r2 = {0};
    get(&r2, "/plain", true);
    test_cond("max_body: the rest was read and dropped, the connection is reused",
              r2.status == 200 && !strcmp(r2.body, "ok") && srv.accepts == 1 && hdr_has(&r2, "X-Nreq=3|"));
    struct res e = {0};
    req.url = url(0, "/ten");
    req.max_body = 10;
    if (send_req(&e, &req) < 0)
        abort();
    run_until(is_done, &e, 6000);
    test_cond("max_body equal to the body: not truncated", e.body_len == 10 && !e.truncated);
    res_free(&r);
    res_free(&c);
    res_free(&r2);
    res_free(&e);
}

static void test_malformed(void)
{
    fresh(script);
    struct res r = {0};
    get(&r, "/badstatus", false);
    test_cond("a malformed status line: an error, status 0", r.done == 1 && r.has_error && r.status == 0);
    test_cond("the error says why", strstr(r.error, "three digits") != NULL);
    struct res g = {0};
    get(&g, "/garbage", false);
    test_cond("not HTTP: an error, status 0", g.done == 1 && g.has_error && g.status == 0);
    struct res n = {0};
    get(&n, "/nothing", false);
    test_cond("a fresh connection closed without an answer: an error, no retry",
              n.done == 1 && n.has_error && n.status == 0 && srv.accepts == 3 &&
                  strstr(n.error, "closed before an answer"));
    res_free(&r);
    res_free(&g);
    res_free(&n);
}

static int wave_left;

static bool wave_done(const void *arg)
{
    (void)arg;
    return wave_left == 0;
}

static void wave_cb(const struct httpc_response *resp, void *arg)
{
    struct res *r = arg;
    r->done++;
    r->status = resp->status;
    r->has_error = resp->error != NULL;
    snprintf(r->pieces, sizeof r->pieces, "%.*s", (int)resp->body_len, resp->body);
    wave_left--;
    poke();
}

/* Many at once, of every framing, twice: each answered once with its body;
 * at most max_idle connections are kept between the waves. */
static void test_many(void)
{
    fresh(script);
    upstream_free(U);
    U = upstream_new(L, NULL, 8);
    static const char *const paths[][2] = {
        {"/plain", "ok"}, {"/chunked", "a0123456789abcdefghijklmnopqxyz"}, {"/close", "hello"}, {"/ten", "0123456789"},
        {"/interim1", "k"}, {"/204", ""}};
    enum { N = 96 };
    static struct res rs[N];
    bool all = true;
    for (int wave = 0; wave < 2; wave++) {
        memset(rs, 0, sizeof rs);
        wave_left = N;
        for (int i = 0; i < N; i++) {
            struct httpc_request req = {.method = "GET", .url = url(0, paths[i % 6][0]), .timeout_ms = 10000};
            if (upstream_send(U, &req, wave_cb, &rs[i]) < 0)
                abort();
        }
        run_until(wave_done, NULL, 12000);
        for (int i = 0; i < N; i++)
            if (rs[i].done != 1 || rs[i].has_error || strcmp(rs[i].pieces, paths[i % 6][1]) != 0)
                all = false;
    }
    test_cond("many: 2 x 96 at once, every framing: each answered once, its own body", all);
    test_cond("many: nothing in flight", upstream_inflight(U) == 0);
    test_cond("many: the second wave reused kept connections", srv.accepts < 2 * N && srv.accepts >= N);
}

static struct res *victim;
static char refused_url[64];
static struct res refused_res;

static void aborting_cb(const struct httpc_response *resp, void *arg)
{
    struct res *r = arg;
    r->done++;
    r->status = resp->status;
    /* the callback may abort another request and send a new one */
    test_cond("a callback aborts another request", upstream_abort(U, done_cb, victim));
    struct httpc_request req = {.method = "GET", .url = refused_url, .timeout_ms = 5000};
    in_send = true;
    test_cond("a callback sends a new request", upstream_send(U, &req, done_cb, &refused_res) == 0);
    in_send = false;
    test_cond("that request's failure is not delivered inside the callback", refused_res.done == 0);
    poke();
}

static void test_cb_reentry(void)
{
    fresh(script);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        abort();
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    close(fd);
    struct res first = {0}, hang = {0};
    memset(&refused_res, 0, sizeof refused_res);
    victim = &hang;
    struct httpc_request h = {.method = "GET", .url = url(0, "/hang"), .timeout_ms = 5000};
    if (send_req(&hang, &h) < 0)
        abort();
    int one = 1;
    run_until(requests_at_least, &one, 3000);
    struct httpc_request p = {.method = "GET", .url = url(0, "/plain"), .timeout_ms = 5000};
    in_send = true;
    if (upstream_send(U, &p, aborting_cb, &first) < 0)
        abort();
    in_send = false;
    run_until(is_done, &first, 6000);
    run_until(eofs_at_least, &one, 3000);
    test_cond("the aborted request's connection is closed", srv.eofs == 1);
    run_until(is_done, &refused_res, 3000);
    test_cond("the new request fails from the loop", refused_res.done == 1 && refused_res.has_error &&
                                                       !refused_res.cb_in_send);
    test_cond("the aborted request's cb never ran", hang.done == 0);
    test_cond("nothing in flight", upstream_inflight(U) == 0);
    res_free(&first);
    res_free(&refused_res);
}

/* A body larger than the socket buffers: written as the socket drains. */
static void test_upload(void)
{
    fresh(script);
    size_t n = (size_t)3 * 1024 * 1024;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('A' + i % 23);
    struct res r = {0}, r2 = {0};
    struct httpc_request req = {.method = "POST", .url = url(0, "/upload"), .body = body, .body_len = n,
                                .timeout_ms = 10000};
    if (send_req(&r, &req) < 0)
        abort();
    free(body); /* copied */
    run_until(is_done, &r, 11000);
    test_streq("upload: 3 MiB arrive intact", r.body, "3145728 intact");
    get(&r2, "/plain", true);
    test_cond("upload: the connection is reused after", r2.status == 200 && srv.accepts == 1);
    res_free(&r);
    res_free(&r2);
}

static void test_no_body(void)
{
    fresh(script);
    struct res h = {0};
    struct httpc_request req = {.method = "HEAD", .url = url(0, "/head"), .timeout_ms = 5000};
    if (send_req(&h, &req) < 0)
        abort();
    run_until(is_done, &h, 6000);
    test_cond("HEAD: the answer ends at its head despite Content-Length", h.done == 1 && h.status == 200 &&
                                                                            !h.has_error && h.body_len == 0);
    struct res a = {0}, b = {0}, c = {0};
    get(&a, "/204", false);
    get(&b, "/304", false);
    get(&c, "/plain", true);
    test_cond("204 and 304: no body", a.status == 204 && b.status == 304 && a.body_len == 0 && b.body_len == 0);
    test_cond("HEAD, 204, 304: the connection is reused for each", c.status == 200 && srv.accepts == 1 &&
                                                                     hdr_has(&c, "X-Nreq=4|"));
    struct res x = {0}, y = {0};
    get(&x, "/extra", false);
    get(&y, "/plain", true);
    test_cond("bytes past the answer: the answer is fine", x.status == 200 && !strcmp(x.body, "ok"));
    test_cond("bytes past the answer: that connection is not reused", y.status == 200 && srv.accepts == 2);
    struct res z = {0};
    get(&z, "/badchunk", false);
    test_cond("a malformed chunk: an error, status 0", z.done == 1 && z.has_error && z.status == 0 &&
                                                         strstr(z.error, "chunked"));
    res_free(&h);
    res_free(&a);
    res_free(&b);
    res_free(&c);
    res_free(&x);
    res_free(&y);
    res_free(&z);
}

/* max_idle: connections beyond it are closed, not kept. */
static void test_max_idle(void)
{
    fresh(script);
    upstream_free(U);
    U = upstream_new(L, NULL, 1);
    struct res a = {0}, b = {0}, c = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/plain"), .timeout_ms = 5000};
    if (send_req(&a, &req) < 0 || send_req(&b, &req) < 0)
        abort();
    run_until(is_done, &a, 6000);
    run_until(is_done, &b, 6000);
    int one = 1;
    run_until(eofs_at_least, &one, 2000);
    test_cond("max_idle 1: two at once use two connections", a.status == 200 && b.status == 200 && srv.accepts == 2);
    test_cond("max_idle 1: one of them is closed after its answer", srv.eofs == 1);
    req.url = url(0, "/again");
    req.keep_headers = true;
    if (send_req(&c, &req) < 0)
        abort();
    run_until(is_done, &c, 6000);
    test_cond("max_idle 1: the kept one is reused", c.status == 200 && srv.accepts == 2 && hdr_has(&c, "X-Nreq=2|"));
    res_free(&a);
    res_free(&b);
    res_free(&c);
}

/* "localhost" resolves inline; a CA bundle that cannot be read fails an
 * https request from the loop, never inside upstream_send. */
static void test_localhost_and_tls_ctx(void)
{
    fresh(script);
    char u[64];
    snprintf(u, sizeof u, "http://localhost:%d/lh", srv.port);
    struct res r = {0};
    struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 5000};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    char want[128];
    snprintf(want, sizeof want, "GET /lh HTTP/1.1\r\nHost: localhost:%d\r\nUser-Agent: ingot\r\n\r\n", srv.port);
    test_cond("localhost: answered", r.status == 200 && !r.has_error);
    test_streq("localhost: Host names the URL's host", srv.last_req.data, want);

    upstream_free(U);
    U = upstream_new(L, "/nonexistent/ingot-test-ca.pem", 4);
    snprintf(u, sizeof u, "https://127.0.0.1:%d/tls", srv.port);
    struct res t = {0}, t2 = {0};
    req.url = u;
    if (send_req(&t, &req) < 0 || send_req(&t2, &req) < 0)
        abort();
    test_cond("TLS context failure: no cb inside upstream_send", t.done == 0 && t2.done == 0);
    run_until(is_done, &t, 3000);
    run_until(is_done, &t2, 3000);
    test_cond("TLS context failure: each cb once, from the loop, status 0",
              t.done == 1 && !t.cb_in_send && t.status == 0 && t2.done == 1 && !t2.sent);
    test_cond("TLS context failure: the error names the bundle", strstr(t.error, "/nonexistent/ingot-test-ca.pem") &&
                                                                   strstr(t2.error, "could not be read"));
    test_cond("TLS context failure: no connection made", srv.accepts == 1);
    res_free(&r);
    res_free(&t);
    res_free(&t2);
}

static void test_retry(void)
{
    fresh(script);
    struct res a = {0}, b = {0}, c = {0};
    get(&a, "/flaky", true);
    test_cond("retry: the first request answered", a.status == 200 && srv.accepts == 1);
    get(&b, "/flaky", true);
    test_cond("retry: the kept connection closed unanswered, the request went again on a new one",
              b.done == 1 && b.status == 200 && !b.has_error && srv.accepts == 2 && hdr_has(&b, "X-Conn=2|"));
    test_cond("retry: the server saw the request twice", srv.requests == 3);
    get(&c, "/flaky", true);
    test_cond("retry: once per request (this one went again too)", c.status == 200 && srv.accepts == 3);

    fresh(script);
    struct res f = {0}, g = {0};
    get(&f, "/flaky-rst", true);
    get(&g, "/flaky-rst", true);
    test_cond("retry: a kept connection reset unanswered: the request went again", f.status == 200 &&
                                                                                 g.status == 200 && !g.has_error &&
                                                                                 srv.accepts == 2);
    res_free(&f);
    res_free(&g);

    fresh(script);
    struct res d = {0}, e = {0};
    get(&d, "/flaky-always", true);
    get(&e, "/flaky-always", true);
    test_cond("retry: only once: a second close is an error", d.status == 200 && e.done == 1 && e.has_error &&
                                                                   e.status == 0 && srv.accepts == 2);
    res_free(&a);
    res_free(&b);
    res_free(&c);
    res_free(&d);
    res_free(&e);
}

static void test_timeout(void)
{
    fresh(script);
    struct res r = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/hang"), .timeout_ms = 200};
    int64_t t0 = time_mono_ms();
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 3000);
    int64_t took = time_mono_ms() - t0;
    test_cond("timeout: done once, timed_out, status 0, an error", r.done == 1 && r.timed_out && r.status == 0 &&
                                                                      r.has_error && strstr(r.error, "200 ms"));
    if (took < 190 || took > 1000)
        printf("  took %lld ms\n", (long long)took);
    test_cond("timeout: within the time (200 ms, not before)", took >= 190 && took <= 1000);
    test_cond("timeout: the request had been sent", r.sent);
    int one = 1;
    run_until(eofs_at_least, &one, 2000);
    test_cond("timeout: the connection is closed", srv.eofs == 1);
    res_free(&r);
}

static void test_refused(void)
{
    fresh(script);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        abort();
    int port = ntohs(a.sin_port);
    close(fd); /* nobody listens there now */
    char u[64], hp[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/x", port);
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    struct res r = {0};
    struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 5000};
    if (send_req(&r, &req) < 0)
        abort();
    test_cond("refused: cb not run inside upstream_send", r.done == 0);
    run_until(is_done, &r, 3000);
    test_cond("refused: done once, from the loop", r.done == 1 && !r.cb_in_send);
    test_cond("refused: an error, status 0, not sent", r.has_error && r.status == 0 && !r.sent && !r.timed_out);
    if (!strstr(r.error, hp))
        printf("  error: %s\n", r.error);
    test_cond("refused: the error names host:port", strstr(r.error, hp) != NULL);
    test_cond("refused: nothing in flight", upstream_inflight(U) == 0);
    res_free(&r);
}

static void abort_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct res *r = arg;
    test_cond("abort: upstream_abort finds the request", upstream_abort(U, done_cb, r));
    test_cond("abort: a second abort finds nothing", !upstream_abort(U, done_cb, r));
}

static void test_abort(void)
{
    fresh(script);
    struct res r = {.head_ret = HTTPC_STREAM};
    r.abort_ev = evtimer_new(loop_base(L), abort_cb, &r);
    struct httpc_request req = {
        .method = "GET", .url = url(0, "/stream-hold"), .timeout_ms = 5000, .head = head_cb, .data = data_cb};
    if (send_req(&r, &req) < 0)
        abort();
    int one = 1;
    run_until(eofs_at_least, &one, 3000);
    test_cond("abort mid-stream: the server sees EOF", srv.eofs == 1);
    test_cond("abort mid-stream: cb never ran", r.done == 0 && r.datas == 1);
    test_cond("abort: nothing in flight", upstream_inflight(U) == 0);
    event_free(r.abort_ev);

    /* Before any answer byte. */
    struct res h = {0};
    req = (struct httpc_request){.method = "GET", .url = url(0, "/hang"), .timeout_ms = 300};
    if (send_req(&h, &req) < 0)
        abort();
    int two = 2;
    run_until(requests_at_least, &two, 3000);
    test_cond("abort while waiting for the head", upstream_abort(U, done_cb, &h));
    run_until(eofs_at_least, &two, 3000);
    test_cond("abort while waiting: the server sees EOF", srv.eofs == 2);
    run_until(never, NULL, 400); /* past the request's timeout: its timer is gone too */
    test_cond("abort while waiting: cb never ran, not even at the timeout", h.done == 0);
    res_free(&r);
    res_free(&h);
}

static void test_free_inflight(void)
{
    fresh(script);
    struct res a = {0}, b = {0}, c = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/hang"), .timeout_ms = 5000};
    if (send_req(&a, &req) < 0 || send_req(&b, &req) < 0)
        abort();
    int two = 2;
    run_until(requests_at_least, &two, 3000);
    /* one still connecting: sent, never run on the loop */
    if (send_req(&c, &req) < 0)
        abort();
    test_cond("free: three in flight", upstream_inflight(U) == 3);
    upstream_free(U);
    U = NULL;
    test_cond("free: each cb exactly once", a.done == 1 && b.done == 1 && c.done == 1);
    test_streq("free: the error says shutting down", a.error, "shutting down");
    test_cond("free: each one failed, status 0",
              a.status == 0 && b.status == 0 && c.status == 0 && !strcmp(b.error, "shutting down") &&
                  !strcmp(c.error, "shutting down"));
    run_until(eofs_at_least, &two, 3000);
    test_cond("free: the connections are closed", srv.eofs >= 2);
    run_until(never, NULL, 50);
    test_cond("free: no callback later", a.done == 1 && b.done == 1 && c.done == 1);
    U = upstream_new(L, NULL, 4);
    res_free(&a);
    res_free(&b);
    res_free(&c);
}

static void test_refused_urls(void)
{
    fresh(script);
    const char *bad[] = {
        "http://user@127.0.0.1:PORT/",
        "http://user:pw@127.0.0.1:PORT/",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:65536/",
        "http://127.0.0.1:99999999999999999999/",
        "http://127.0.0.1:/",
        "http://127.0.0.1:8x/",
        "http://127.0.0.1:-1/",
        "http://127.0.0.1:PORT/a b",
        "http:///x",
        "http://[::1/",
        "http://[::1]x/",
        "ftp://127.0.0.1:PORT/",
        "127.0.0.1:PORT/",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char u[128], d[200], port[16];
        snprintf(port, sizeof port, "%d", srv.port);
        const char *at = strstr(bad[i], "PORT");
        if (at)
            snprintf(u, sizeof u, "%.*s%s%s", (int)(at - bad[i]), bad[i], port, at + 4);
        else
            snprintf(u, sizeof u, "%s", bad[i]);
        struct res r = {0};
        struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 1000};
        snprintf(d, sizeof d, "refused URL: %s", u);
        test_cond(d, send_req(&r, &req) == -1);
    }
    struct res r = {0};
    int dummy;
    struct httpc_request req = {
        .method = "GET", .url = url(0, "/plain"), .timeout_ms = 1000, .ssrf = (const struct ssrf *)(void *)&dummy};
    test_cond("req.ssrf set: refused", send_req(&r, &req) == -1);
    test_cond("refused: nothing in flight, no connection tried", upstream_inflight(U) == 0);
    run_until(never, NULL, 30);
    test_cond("refused: no connection made, no callback", srv.accepts == 0 && r.done == 0);
}

static void test_request_bytes(void)
{
    fresh(script);
    const char *hdrs[] = {"Authorization: Bearer k", "Expect:", "Content-Type: application/json", "X-Blank:  \t",
                          "Accept: */*", NULL};
    struct res r = {0};
    struct httpc_request req = {.method = "POST",
                                .url = url(0, "/v1/chat?x=1#frag"),
                                .headers = hdrs,
                                .body = "{\"a\":1}",
                                .body_len = 7,
                                .timeout_ms = 5000};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    char want[512];
    snprintf(want, sizeof want,
             "POST /v1/chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: ingot\r\n"
             "Authorization: Bearer k\r\nContent-Type: application/json\r\nAccept: */*\r\n"
             "Content-Length: 7\r\n\r\n{\"a\":1}",
             srv.port);
    test_streq("POST: the bytes exactly (port in Host, empty headers dropped, no fragment)", srv.last_req.data, want);
    struct res g = {0};
    req = (struct httpc_request){.method = "GET", .url = url(0, "?q=1"), .timeout_ms = 5000};
    if (send_req(&g, &req) < 0)
        abort();
    run_until(is_done, &g, 6000);
    snprintf(want, sizeof want, "GET /?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: ingot\r\n\r\n", srv.port);
    test_streq("GET with no path: / and no Content-Length", srv.last_req.data, want);
    struct res p = {0};
    req = (struct httpc_request){.method = "POST", .url = url(0, ""), .timeout_ms = 5000};
    if (send_req(&p, &req) < 0)
        abort();
    run_until(is_done, &p, 6000);
    snprintf(want, sizeof want,
             "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: ingot\r\nContent-Length: 0\r\n\r\n", srv.port);
    test_streq("POST without a body: Content-Length: 0", srv.last_req.data, want);
    test_cond("all three on one connection", r.status == 200 && g.status == 200 && p.status == 200 && srv.accepts == 1);
    res_free(&r);
    res_free(&g);
    res_free(&p);
}

/* The same over ::1, when the machine has IPv6 loopback. */
static void test_ipv6(void)
{
    upstream_free(U);
    srv_reset(NULL);
    srv_stop();
    if (srv_start(L, true) < 0) {
        printf("  (no IPv6 loopback: skipped)\n");
        if (srv_start(L, false) < 0)
            abort();
        U = upstream_new(L, NULL, 4);
        return;
    }
    U = upstream_new(L, NULL, 4);
    srv.on_req = script;
    char u[64], want[256];
    snprintf(u, sizeof u, "http://[::1]:%d/six", srv.port);
    struct res r = {0};
    struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 5000};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    snprintf(want, sizeof want, "GET /six HTTP/1.1\r\nHost: [::1]:%d\r\nUser-Agent: ingot\r\n\r\n", srv.port);
    test_cond("IPv6: answered", r.status == 200 && !r.has_error);
    test_streq("IPv6: Host in brackets with the port", srv.last_req.data, want);
    res_free(&r);
}

int main(void)
{
    log_setup(LOG_ERROR, false);
    char err[128];
    L = loop_new(err, sizeof err);
    if (!L || srv_start(L, false) < 0)
        abort();
    watchdog = evtimer_new(loop_base(L), watchdog_cb, NULL);
    U = upstream_new(L, NULL, 4);

    test_length();
    test_chunked();
    test_close_delimited();
    test_keep_alive();
    test_interim();
    test_streaming();
    test_headers();
    test_max_body();
    test_malformed();
    test_no_body();
    test_upload();
    test_many();
    test_cb_reentry();
    test_max_idle();
    test_localhost_and_tls_ctx();
    test_retry();
    test_timeout();
    test_refused();
    test_abort();
    test_free_inflight();
    test_refused_urls();
    test_request_bytes();
    test_ipv6();

    upstream_free(U);
    srv_stop();
    event_free(watchdog);
    loop_free(L);
    test_report();
}
