/* The upstream client against a scripted server on loopback, both on one
 * loop (upstream_srv.h, upstream_cli.h): bodies by length, chunks and
 * close; keep-alive reuse and when a connection is not kept; interim 1xx;
 * streaming; headers; max_body; HEAD, 204, 304; a large upload; many at
 * once; max_idle; the request's exact bytes; IPv6. Failures and the retry:
 * test_upstream_fail. Each case has its own upstream, so no connection is
 * carried from one to the next. */
#include "log.h"
#include "upstream_cli.h"

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
    harness_start();
    test_length();
    test_chunked();
    test_close_delimited();
    test_keep_alive();
    test_interim();
    test_streaming();
    test_headers();
    test_max_body();
    test_no_body();
    test_upload();
    test_many();
    test_max_idle();
    test_request_bytes();
    test_ipv6();
    harness_end();
    test_report();
}
