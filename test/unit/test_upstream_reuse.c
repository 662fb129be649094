/* What the upstream client keeps from one request for the next: finished
 * requests (their timer and buffers) and split URLs. A kept request must
 * carry nothing into the next one (headers, body, error, content type); an
 * aborted one's timer must never fire; URLs beyond the kept ones, URLs too
 * long to keep and two origins must each go where they say, with their own
 * Host line. Against the scripted server of test_upstream. */
#include "log.h"
#include "upstream_cli.h"
#include "upstream_int.h"

/* The callback of a request whose headers pointer is looked at. */
static bool saw_headers_ptr;
static void ptr_cb(const struct httpc_response *resp, void *arg)
{
    saw_headers_ptr = resp->headers != NULL;
    done_cb(resp, arg);
}

static void test_nothing_carried(void)
{
    fresh(script);
    /* many headers, a content type and a retry-after, kept headers */
    struct res a = {0};
    get(&a, "/headers", true);
    test_cond("first: 429 with its 5 headers", a.status == 429 && a.nheaders == 5 && !strcmp(a.retry, "7"));
    /* the kept request again: no headers asked, none of the first's */
    struct res b = {0};
    get(&b, "/ten", false);
    test_cond("second: its own body, no headers, no content type or retry-after carried",
              b.status == 200 && !strcmp(b.body, "0123456789") && b.nheaders == 0 && !strcmp(b.ctype, "(null)") &&
                  !strcmp(b.retry, "(null)") && !b.has_error && !b.truncated);
    /* a failure before any head: no headers pointer, though the kept request had an array */
    struct res c = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/garbage"), .timeout_ms = 5000, .keep_headers = true};
    saw_headers_ptr = true;
    if (upstream_send(U, &req, ptr_cb, &c) < 0)
        abort();
    run_until(is_done, &c, 6000);
    test_cond("a head refused: an error, status 0", c.done == 1 && c.has_error && c.status == 0);
    test_cond("a head refused: no headers (NULL, as before any was kept)", !saw_headers_ptr && c.nheaders == 0);
    /* then a chunked body and a HEAD-less 204 on kept requests */
    struct res d = {0}, e = {0}, f = {0};
    get(&d, "/chunked", true);
    req.url = url(0, "/204");
    saw_headers_ptr = false;
    if (upstream_send(U, &req, ptr_cb, &e) < 0)
        abort();
    run_until(is_done, &e, 6000);
    get(&f, "/plain", true);
    test_streq("chunked after a failure: its body", d.body, "a0123456789abcdefghijklmnopqxyz");
    test_cond("204 after it: no body, no error, its one header none", e.status == 204 && e.body_len == 0 &&
                                                                       e.nheaders == 0 && !e.has_error);
    test_cond("and a plain one: its own headers only", f.status == 200 && !strcmp(f.body, "ok") && f.nheaders == 3 &&
                                                           !hdr_has(&f, "Transfer-Encoding"));
    test_cond("a 204 with no header: a headers pointer still (an empty list, not NULL)", saw_headers_ptr);
    res_free(&a);
    res_free(&b);
    res_free(&c);
    res_free(&d);
    res_free(&e);
    res_free(&f);
}

/* An aborted request with its timeout armed is kept: its timer must not
 * fire later, on the kept struct or on the request that reuses it. */
static void test_abort_then_wait(void)
{
    fresh(script);
    struct res h = {0};
    struct httpc_request req = {.method = "GET", .url = url(0, "/hang"), .timeout_ms = 150};
    if (send_req(&h, &req) < 0)
        abort();
    int one = 1;
    run_until(requests_at_least, &one, 2000);
    test_cond("abort: the hanging request is stopped", upstream_abort(U, done_cb, &h));
    run_until(never, NULL, 400);
    test_cond("abort: its timeout never fires (no callback) after 400 ms", h.done == 0);
    struct res n = {0};
    req = (struct httpc_request){.method = "GET", .url = url(0, "/hang"), .timeout_ms = 200};
    if (send_req(&n, &req) < 0)
        abort();
    run_until(is_done, &n, 2000);
    test_cond("the kept struct's next request times out on its own timeout, once",
              n.done == 1 && n.timed_out && strstr(n.error, "200 ms"));
    struct res p = {0};
    get(&p, "/plain", true);
    run_until(never, NULL, 300);
    test_cond("and the one after answers, once", p.done == 1 && p.status == 200 && !p.has_error);
    test_cond("nothing in flight", upstream_inflight(U) == 0);
    res_free(&h);
    res_free(&n);
    res_free(&p);
}

/* More URLs than are kept, over two origins (127.0.0.1 and localhost), in
 * rounds: each request line and Host as its URL says. */
static void test_routes(void)
{
    fresh(script);
    bool ok = true;
    char u[128], want[256];
    for (int round = 0; round < 3 && ok; round++) {
        for (int i = 0; i < 21 && ok; i++) {
            const char *host = i % 3 == 0 ? "localhost" : "127.0.0.1";
            snprintf(u, sizeof u, "http://%s:%d/p%d?r=%d", host, srv.port, i, i % 2 ? round : 0);
            struct res r = {0};
            struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = 5000};
            if (send_req(&r, &req) < 0)
                abort();
            run_until(is_done, &r, 6000);
            snprintf(want, sizeof want, "GET /p%d?r=%d HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: ingot\r\n\r\n", i,
                     i % 2 ? round : 0, host, srv.port);
            ok = r.status == 200 && srv.last_req.data && !strcmp(srv.last_req.data, want);
            if (!ok)
                printf("  got '%s'\n  want '%s'\n", srv.last_req.data ? srv.last_req.data : "", want);
            res_free(&r);
        }
    }
    test_cond("21 URLs over two origins, 3 rounds: each request's line and Host its own", ok);

    /* too long to keep: split every time, still right */
    static char longu[2600], longwant[2800];
    int n = snprintf(longu, sizeof longu, "http://127.0.0.1:%d/", srv.port);
    memset(longu + n, 'a', 2300);
    longu[n + 2300] = '\0';
    for (int k = 0; k < 2; k++) {
        struct res r = {0};
        struct httpc_request req = {.method = "GET", .url = longu, .timeout_ms = 5000};
        if (send_req(&r, &req) < 0)
            abort();
        run_until(is_done, &r, 6000);
        snprintf(longwant, sizeof longwant, "GET %s HTTP/1.1\r\n", longu + n - 1);
        test_cond("a URL too long to keep: sent as it says", r.status == 200 && srv.last_req.data &&
                                                                 !strncmp(srv.last_req.data, longwant, strlen(longwant)));
        res_free(&r);
    }

    /* a URL refused is not kept, and does not disturb the kept ones */
    struct res x = {0};
    struct httpc_request bad = {.method = "GET", .url = "ftp://127.0.0.1/x", .timeout_ms = 5000};
    test_cond("a URL upstream cannot call: -1", upstream_send(U, &bad, done_cb, &x) < 0);
    bad.url = "http://127.0.0.1:0/x";
    test_cond("port 0: -1, also the second time", upstream_send(U, &bad, done_cb, &x) < 0 &&
                                                       upstream_send(U, &bad, done_cb, &x) < 0);
    struct res y = {0};
    get(&y, "/p1?r=2", true);
    test_cond("a kept URL after them: answered", y.status == 200 && x.done == 0);
    res_free(&y);
}

/* A URL's bytes change between calls at the same address (the caller
 * builds each in a fresh buffer, or reuses one): the path sent is always
 * the one of this call's URL. */
static void test_same_buffer(void)
{
    fresh(script);
    static char buf[128];
    bool ok = true;
    for (int i = 0; i < 12 && ok; i++) {
        snprintf(buf, sizeof buf, "http://127.0.0.1:%d/%s%d", srv.port, i % 2 ? "odd" : "even", i);
        struct res r = {0};
        struct httpc_request req = {.method = "POST", .url = buf, .body = "x", .body_len = 1, .timeout_ms = 5000};
        if (send_req(&r, &req) < 0)
            abort();
        run_until(is_done, &r, 6000);
        char want[64];
        snprintf(want, sizeof want, "POST /%s%d HTTP/1.1\r\n", i % 2 ? "odd" : "even", i);
        ok = r.status == 200 && !strncmp(srv.last_req.data, want, strlen(want));
        res_free(&r);
    }
    test_cond("one URL buffer rewritten between calls: each call's own path", ok);
}

/* A kept request's buffer held the provider's key in its head: wiped when
 * the request finishes, not left for the next reader of that memory.
 * Looked for in the bytes the request filled (len of them: what the
 * server received); past them the buffer was never written. */
static bool spare_holds(const char *needle, size_t len)
{
    size_t n = strlen(needle);
    for (const struct up_req *r = U->spare; r; r = r->next)
        for (size_t i = 0; r->out.data && i + n <= len && i + n <= r->out.cap; i++)
            if (memcmp(r->out.data + i, needle, n) == 0)
                return true;
    return false;
}

static void test_key_wiped(void)
{
    fresh(script);
    const char *hdrs[] = {"Authorization: Bearer sk-WIPE-me-4711", NULL};
    struct res r = {0};
    struct httpc_request req = {.method = "POST", .url = url(0, "/ten"), .headers = hdrs, .body = "{}",
                                .body_len = 2, .timeout_ms = 5000};
    if (send_req(&r, &req) < 0)
        abort();
    run_until(is_done, &r, 6000);
    test_cond("key sent", r.status == 200 && srv.last_req.data && strstr(srv.last_req.data, "sk-WIPE-me-4711"));
    test_cond("finished: kept for reuse", U->spare != NULL);
    test_cond("finished: no kept buffer holds the key",
              !spare_holds("sk-WIPE-me-4711", srv.last_req.data ? srv.last_req.len : 0));
    res_free(&r);
}

int main(void)
{
    log_setup(LOG_ERROR, false);
    harness_start();
    test_nothing_carried();
    test_abort_then_wait();
    test_routes();
    test_same_buffer();
    test_key_wiped();
    harness_end();
    test_report();
}
