/* httpd end to end on loopback: clients that leave, and the drain.
 * - an upload abandoned mid-body during a drain: the drain ends at once,
 *   the in-flight gauge goes back to 0 and a 499 is counted;
 * - a drain closes kept-alive idle connections at once (EOF while another
 *   request is still in flight);
 * - with one connection allowed, a client that leaves while its request is
 *   held frees the slot: http_req_gone tells the handler, the next client
 *   is served, not refused;
 * - the body buffer is not sized from a huge declared Content-Length (ASan
 *   refuses allocations over 64 MB in this binary);
 * - a stream whose client stops reading ends by the write deadline; a
 *   client that half-closes after its request still gets the whole stream;
 * - httpd_free while a handler holds a request: the later reply is safe.
 * Clients run in a thread with blocking sockets; the loop in main. */

#include "httpd_drain_help.h"

/* --- 1. an upload abandoned during a drain */

static void client_abandon(struct ctx *x)
{
    int fd = dial(x->port, 0);
    say(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789");
    say(x->to_main[1], "d");
    hear(x, 5000); /* the drain began */
    close(fd);
}

static void test_abandoned_upload(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024};
    setup(&x, &o, client_abandon);
    run(&x);
    test_cond("an upload abandoned mid-body ends the drain at once", x.drain_ms < 1000);
    if (x.drain_ms >= 1000)
        fprintf(stderr, "  drain took %lld ms\n", x.drain_ms);
    test_cond("in-flight gauge back to 0", metrics_has(&x, "ingot_http_requests_in_flight 0"));
    test_cond("the abandoned request counted as 499",
              metrics_has(&x, "route=\"unmatched\",status=\"499\"} 1"));
    teardown(&x);
}

/* --- 2. a drain closes kept-alive idle connections */

static void client_idle(struct ctx *x)
{
    int idle = dial(x->port, 0);
    say(idle, "GET /p HTTP/1.1\r\nHost: a\r\n\r\n");
    read_until(x, idle, "\r\n\r\nok", 5000);
    int held = dial(x->port, 0);
    say(held, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
    hear(x, 5000); /* "h": the handler holds it */
    say(x->to_main[1], "d");
    hear(x, 5000); /* "g": the drain began */
    long long t0 = now_ms();
    read_until(x, idle, NULL, 2000);
    x->ms = x->eof_seen ? now_ms() - t0 : -1;
    say(x->to_main[1], "r"); /* now let the held request finish */
    read_until(x, held, NULL, 5000);
    close(idle);
    close(held);
}

static void test_drain_closes_idle(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024};
    setup(&x, &o, client_idle);
    run(&x);
    test_cond("a kept-alive idle connection sees EOF at once on drain", x.ms >= 0 && x.ms < 500);
    test_cond("the held request still answered, with Connection: close",
              strstr(x.out, "HTTP/1.1 200 OK") && strstr(x.out, "Connection: close") &&
                  strstr(x.out, "held"));
    teardown(&x);
}

/* --- 3. a client leaving a held request frees its slot */

static void client_leaves_hold(struct ctx *x)
{
    int a = dial(x->port, 0);
    say(a, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
    hear(x, 5000); /* "h" */
    close(a);
    long long t0 = now_ms();
    /* B: a 503 can only come before the server saw A's close: retry then */
    for (;;) {
        int b = dial(x->port, 0);
        say(b, "GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        read_until(x, b, NULL, 2000);
        close(b);
        if (strncmp(x->out, "HTTP/1.1 200", 12) == 0 || now_ms() - t0 > 1000)
            break;
        struct pollfd none;
        poll(&none, 0, 20);
    }
    x->ms = now_ms() - t0;
    say(x->to_main[1], "z");
}

static void test_gone_frees_slot(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024, .max_connections = 1};
    setup(&x, &o, client_leaves_hold);
    run(&x);
    test_cond("with one connection allowed, B is served after A left a held request",
              strncmp(x.out, "HTTP/1.1 200", 12) == 0 && x.ms < 1000);
    if (strncmp(x.out, "HTTP/1.1 200", 12) != 0)
        fprintf(stderr, "  B got: %.40s\n", x.out);
    test_cond("the handler saw http_req_gone and answered", x.held_gone_seen == 1);
    test_cond("the gone request counted as 499", metrics_has(&x, "route=\"/hold\",status=\"499\"} 1"));
    test_cond("nothing left in flight", httpd_inflight(x.h) == 0);
    teardown(&x);
}

/* --- 7. a huge declared Content-Length reserves no huge buffer */

static void client_huge_cl(struct ctx *x)
{
    int fd = dial(x->port, 0);
    say(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 500000000\r\n\r\n0123456789");
    say(x->to_main[1], "d");
    hear(x, 5000);
    close(fd);
}

static void test_huge_content_length(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = (size_t)1 << 30};
    setup(&x, &o, client_huge_cl);
    run(&x);
    test_cond("a 500 MB Content-Length: no 500 MB buffer up front (we got here)", 1);
    teardown(&x);
}

/* --- 8. streams: the write deadline; a half-close is not a leave */

static void client_stops_reading(struct ctx *x)
{
    int fd = dial(x->port, 4096);
    say(fd, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    long long t0 = now_ms();
    x->ms = hear(x, 5000) == 'g' ? now_ms() - t0 : -1; /* gone, without our reading */
    close(fd);
    say(x->to_main[1], "z");
}

static void test_stream_write_deadline(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024, .idle_timeout_ms = 300};
    setup(&x, &o, client_stops_reading);
    event_free(x.tick);
    x.tick = evtimer_new(loop_base(x.l), stream_tick_cb, &x);
    x.stream_chunk = 65536;
    run(&x);
    test_cond("a stream nobody reads ends by the write deadline", x.ms >= 200 && x.ms < 3000);
    if (x.ms < 200 || x.ms >= 3000)
        fprintf(stderr, "  gone after %lld ms (%d writes)\n", x.ms, x.stream_writes);
    teardown(&x);
}

static void client_half_close(struct ctx *x)
{
    int fd = dial(x->port, 0);
    say(fd, "GET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    shutdown(fd, SHUT_WR);
    read_until(x, fd, NULL, 5000);
    close(fd);
    say(x->to_main[1], "z");
}

static void test_stream_half_close(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024};
    setup(&x, &o, client_half_close);
    event_free(x.tick);
    x.tick = evtimer_new(loop_base(x.l), stream_tick_cb, &x);
    x.stream_chunk = 4;
    run(&x);
    test_cond("a client that half-closed gets the whole stream",
              strstr(x.out, "4\r\nxxxx\r\n4\r\nxxxx\r\n4\r\nxxxx\r\n0\r\n\r\n") != NULL);
    test_cond("...and is not told gone", x.stream_gone == 0);
    teardown(&x);
}

/* --- 6. httpd_free while a handler holds a request */

static void client_held_at_exit(struct ctx *x)
{
    int fd = dial(x->port, 0);
    say(fd, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
    hear(x, 5000); /* "h" */
    x->fd = fd; /* closed after httpd_free */
    say(x->to_main[1], "f");
}

static void test_free_with_held_request(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024};
    setup(&x, &o, client_held_at_exit);
    run(&x);
    event_del(x.tick); /* the hold handler polls no more */
    struct http_req *r = x.held;
    x.held = NULL;
    test_cond("a request was held at the free", r != NULL);
    httpd_free(x.h);
    x.h = NULL;
    if (r) /* as a handler would after runtime_close failed its work */
        http_reply(r, 503, "text/plain", "bye", 3);
    test_cond("a reply after httpd_free is safe (ASan says so)", 1);
    teardown(&x); /* libevent closes the socket when the loop is freed */
    struct timeval rt = {2, 0};
    setsockopt(x.fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
    char b[64];
    test_cond("the held client's connection was closed", read(x.fd, b, sizeof b) == 0);
    close(x.fd);
}

/* --- 9. a late second reply does not answer the next request */

static void client_late(struct ctx *x)
{
    int fd = dial(x->port, 0);
    /* pipelined: the next request's body is still to come */
    say(fd, "GET /once HTTP/1.1\r\nHost: a\r\n\r\n"
            "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
    read_until(x, fd, "once", 5000);
    say(x->to_main[1], "l");
    read_until(x, fd, "late", 2000);
    close(fd);
}

/* In a child process (it must abort): exits 0 if the late reply went out. */
static void late_reply_child(void)
{
    struct ctx x;
    struct httpd_opts o = {.max_body = 1024};
    setup(&x, &o, client_late);
    run(&x);
    exit(0);
}

static void test_late_second_reply(const char *self)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2); /* the abort's report is expected */
        execl(self, self, "late_reply_child", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    test_cond("a late second reply while the next request is read aborts",
              WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

/* One scenario by name (argv[1]), or all. */
#define RUN(t)                                                                 \
    do {                                                                       \
        if (argc < 2 || strcmp(argv[1], #t) == 0)                              \
            t();                                                               \
    } while (0)

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    log_setup(LOG_WARN, true);
    RUN(test_abandoned_upload);
    RUN(test_drain_closes_idle);
    RUN(test_gone_frees_slot);
    RUN(test_huge_content_length);
    RUN(test_stream_write_deadline);
    RUN(test_stream_half_close);
    RUN(test_free_with_held_request);
    if (argc >= 2 && strcmp(argv[1], "late_reply_child") == 0)
        late_reply_child();
    if (argc < 2 || strcmp(argv[1], "test_late_second_reply") == 0)
        test_late_second_reply(argv[0]);
    test_report();
}
