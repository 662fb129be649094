/* The harness of test_httpd_drain: a loop in main running httpd with a few
 * routes (plain, held, streamed), a client thread with blocking sockets,
 * commands between them over a pipe, and a watchdog so a scenario that goes
 * wrong ends instead of hanging. Included once, by test_httpd_drain.c. */
#ifndef TEST_HTTPD_DRAIN_HELP_H
#define TEST_HTTPD_DRAIN_HELP_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../testhelp.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

/* Allocations over 64 MB abort (ASan builds): a body buffer sized from a
 * declared Content-Length of 500 MB would. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=64";
}

struct ctx {
    struct loop *l;
    struct metrics *m;
    struct httpd *h;
    int port;
    int to_main[2], to_client[2];
    struct event *cmd_ev, *poll_ev, *tick, *watchdog;
    int timed_out;
    char cmd;                /* what the poll waits to do */
    struct http_req *held;   /* a request a handler holds */
    int held_gone_seen;      /* the hold handler saw http_req_gone */
    struct http_req *sr;     /* a stream */
    int stream_writes, stream_gone, stream_chunk;
    long long drain_t0_ms, drain_ms;
    void (*client)(struct ctx *x);
    /* what the client saw */
    char out[65536];
    long long ms;
    int eof_seen;
    int fd; /* a client socket closed after the loop */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        abort();
    return fd;
}

static void say(int fd, const char *s)
{
    (void)!write(fd, s, strlen(s));
}

/* Waits up to ms for a byte from main; 0 on timeout. */
static char hear(struct ctx *x, int ms)
{
    struct pollfd p = {x->to_client[0], POLLIN, 0};
    char c = 0;
    if (poll(&p, 1, ms) == 1)
        (void)!read(x->to_client[0], &c, 1);
    return c;
}

/* Reads into out until want appears, EOF (eof_seen) or ms pass. */
static size_t read_until(struct ctx *x, int fd, const char *want, int ms)
{
    size_t n = 0;
    long long end = now_ms() + ms;
    x->out[0] = '\0';
    x->eof_seen = 0;
    while (now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(end - now_ms())) != 1)
            continue;
        ssize_t r = read(fd, x->out + n, sizeof x->out - 1 - n);
        if (r <= 0) {
            x->eof_seen = 1;
            break;
        }
        n += (size_t)r;
        x->out[n] = '\0';
        if (want && strstr(x->out, want))
            break;
    }
    return n;
}

static void *client_main(void *arg)
{
    struct ctx *x = arg;
    x->client(x);
    say(x->to_main[1], "q");
    return NULL;
}

/* --- routes */

static void plain_route(struct http_req *r, void *arg)
{
    (void)arg;
    http_reply(r, 200, "text/plain", "ok", 2);
}

/* Answers at once and (wrongly) keeps r, for a late second reply. */
static void once_route(struct http_req *r, void *arg)
{
    struct ctx *x = arg;
    x->held = r;
    http_reply(r, 200, "text/plain", "once", 4);
}

static void hold_route(struct http_req *r, void *arg)
{
    struct ctx *x = arg;
    x->held = r;
    say(x->to_client[1], "h");
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

/* The hold handler's timer: answers once the client is gone (a long-poll). */
static void hold_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    if (!x->held)
        return;
    if (http_req_gone(x->held)) {
        x->held_gone_seen = 1;
        http_reply(x->held, 200, "text/plain", "late", 4);
        x->held = NULL;
        return;
    }
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

static void stream_gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    struct ctx *x = arg;
    x->stream_gone++;
    say(x->to_client[1], "g");
}

static void stream_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    if (!x->sr)
        return;
    if (x->stream_gone || x->stream_writes == (x->stream_chunk > 100 ? 400 : 3)) {
        http_stream_end(x->sr);
        x->sr = NULL;
        return;
    }
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    http_stream_write(x->sr, chunk, (size_t)x->stream_chunk);
    x->stream_writes++;
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

static void stream_route(struct http_req *r, void *arg)
{
    struct ctx *x = arg;
    x->sr = r;
    x->stream_writes = 0;
    x->stream_gone = 0;
    http_stream_begin(r, 200, "text/plain", stream_gone_cb, x);
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

/* --- main side: commands from the client */

static void drain_hook(void *arg)
{
    httpd_stop_accepting(((struct ctx *)arg)->h);
}

static size_t busy(void *arg)
{
    return httpd_inflight(((struct ctx *)arg)->h);
}

/* Polls until exactly one request is in flight, then acts on x->cmd. */
static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    size_t want = x->cmd == 'z' ? 0 : 1;
    if (httpd_inflight(x->h) != want) {
        struct timeval tv = loop_tv(2);
        evtimer_add(x->poll_ev, &tv);
        return;
    }
    switch (x->cmd) {
    case 'd': /* drain now */
        x->drain_t0_ms = now_ms();
        loop_begin_drain(x->l);
        say(x->to_client[1], "g");
        break;
    case 'z': /* nothing in flight: done */
        loop_stop(x->l, 0);
        break;
    case 'f': /* held: stop the loop, the test frees the server */
        loop_stop(x->l, 0);
        break;
    case 'l': /* the next request is being read: a late second reply */
        http_reply(x->held, 200, "text/plain", "late", 4);
        loop_stop(x->l, 0); /* not reached once the guard works */
        break;
    }
}

static void cmd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct ctx *x = arg;
    char c;
    if (read(fd, &c, 1) != 1)
        return;
    if (c == 'r' && x->held) { /* release the held request */
        http_reply(x->held, 200, "text/plain", "held", 4);
        x->held = NULL;
        return;
    }
    if (c == 'q') /* the client is done: wait for the loop to drain or stop */
        return;
    x->cmd = c;
    event_active(x->poll_ev, EV_TIMEOUT, 0);
}

/* A scenario that goes wrong ends here, not in a hang. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    x->timed_out = 1;
    fprintf(stderr, "  scenario timed out\n");
    loop_stop(x->l, 1);
}

static void setup(struct ctx *x, const struct httpd_opts *o, void (*client)(struct ctx *))
{
    char err[256];
    memset(x, 0, sizeof *x);
    x->l = loop_new(err, sizeof err);
    loop_set_grace(x->l, 3000);
    x->m = metrics_new();
    x->h = httpd_new(x->l, x->m, o);
    httpd_route(x->h, HTTP_M_GET, "/p", 0, plain_route, x);
    httpd_route(x->h, HTTP_M_POST, "/up", 0, plain_route, x);
    httpd_route(x->h, HTTP_M_GET, "/hold", 0, hold_route, x);
    httpd_route(x->h, HTTP_M_GET, "/s", 0, stream_route, x);
    httpd_route(x->h, HTTP_M_GET, "/once", 0, once_route, x);
    if (httpd_listen(x->h, "127.0.0.1", 0, err, sizeof err) < 0)
        abort();
    x->port = httpd_port(x->h);
    loop_on_drain(x->l, drain_hook, x);
    loop_add_busy(x->l, busy, x);
    if (pipe(x->to_main) < 0 || pipe(x->to_client) < 0)
        abort();
    x->cmd_ev = event_new(loop_base(x->l), x->to_main[0], EV_READ | EV_PERSIST, cmd_cb, x);
    event_add(x->cmd_ev, NULL);
    x->poll_ev = evtimer_new(loop_base(x->l), poll_cb, x);
    x->tick = evtimer_new(loop_base(x->l), hold_tick_cb, x);
    x->client = client;
    x->watchdog = evtimer_new(loop_base(x->l), watchdog_cb, x);
    struct timeval tv = loop_tv(8000);
    evtimer_add(x->watchdog, &tv);
}

static void run(struct ctx *x)
{
    pthread_t t;
    pthread_create(&t, NULL, client_main, x);
    loop_run(x->l);
    if (x->drain_t0_ms)
        x->drain_ms = now_ms() - x->drain_t0_ms;
    pthread_join(t, NULL);
}

static void teardown(struct ctx *x)
{
    event_free(x->cmd_ev);
    event_free(x->poll_ev);
    event_free(x->tick);
    event_free(x->watchdog);
    for (int i = 0; i < 2; i++) {
        close(x->to_main[i]);
        close(x->to_client[i]);
    }
    httpd_free(x->h);
    loop_free(x->l);
    metrics_free(x->m);
}

static bool metrics_has(struct ctx *x, const char *s)
{
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(x->m, &b);
    bool yes = b.data && strstr(b.data, s);
    if (!yes)
        fprintf(stderr, "  metrics lack '%s'\n", s);
    sbuf_deinit(&b);
    return yes;
}

#endif
