/* The upstream client when things go wrong, against the scripted server
 * of upstream_srv.h: malformed answers, the one retry of a kept connection
 * the server closed, timeouts, refused connections, abort, free with
 * requests in flight, URLs refused, a TLS context that cannot be made,
 * callbacks that abort and send. */
#include "log.h"
#include "upstream_cli.h"

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

int main(void)
{
    log_setup(LOG_ERROR, false);
    harness_start();
    test_malformed();
    test_retry();
    test_timeout();
    test_refused();
    test_abort();
    test_free_inflight();
    test_refused_urls();
    test_localhost_and_tls_ctx();
    test_cb_reentry();
    harness_end();
    test_report();
}
