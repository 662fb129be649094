/* httpc streaming on loopback: head runs once with the status and every
 * header before any body byte; data gets each piece as the server sends
 * it (the server sends the next piece only after the client saw the last:
 * nothing is held back); HTTPC_BUFFER keeps an error body as before;
 * data returning -1 stops the transfer; httpc_abort of a stream closes the
 * connection at once (the server sees EOF within 100 ms); a timeout says
 * timed_out; keep_headers without head. The server runs in a thread with
 * blocking sockets, the loop in main. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../testhelp.h"
#include "httpc.h"
#include "log.h"
#include "loop.h"

static int listen_fd, port;
static atomic_int seen_pieces;      /* pieces the client's data callback got */
static atomic_llong eof_after_ms;   /* /abort: ms from the abort to the server's EOF */
static atomic_llong abort_at_ms;

static long long mono_ms(void)
{
    return (long long)time_mono_ms();
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void send_chunk(int fd, const char *s)
{
    char hdr[32];
    snprintf(hdr, sizeof hdr, "%zx\r\n", strlen(s));
    send_all(fd, hdr, strlen(hdr));
    send_all(fd, s, strlen(s));
    send_all(fd, "\r\n", 2);
}

static void wait_seen(int n)
{
    for (int i = 0; i < 2000 && atomic_load(&seen_pieces) < n; i++)
        usleep(1000);
}

static const char *stream_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 "X-Ratelimit-Remaining-Requests: 7\r\nTransfer-Encoding: chunked\r\n\r\n";

static void serve_one(int fd)
{
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t r = recv(fd, req + got, sizeof req - 1 - got, 0);
        if (r <= 0)
            return;
        got += (size_t)r;
        req[got] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    if (strncmp(req, "GET /stream ", 12) == 0) {
        send_all(fd, stream_head, strlen(stream_head));
        send_chunk(fd, "data: 1\n\n");
        wait_seen(1);
        send_chunk(fd, "data: 2\n\n");
        wait_seen(2);
        send_chunk(fd, "data: 3\n\n");
        send_all(fd, "0\r\n\r\n", 5);
    } else if (strncmp(req, "GET /abort ", 11) == 0 || strncmp(req, "GET /stop ", 10) == 0) {
        send_all(fd, stream_head, strlen(stream_head));
        send_chunk(fd, "data: 1\n\n");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char b[64];
        /* Wait for the client to go away (EOF), for at most 5 s. */
        if (poll(&p, 1, 5000) == 1 && recv(fd, b, sizeof b, 0) <= 0 && atomic_load(&abort_at_ms))
            atomic_store(&eof_after_ms, mono_ms() - atomic_load(&abort_at_ms));
    } else if (strncmp(req, "GET /err ", 9) == 0) {
        const char *r = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                        "Retry-After-Ms: 250\r\nContent-Length: 11\r\n\r\n{\"error\":1}";
        send_all(fd, r, strlen(r));
    } else if (strncmp(req, "GET /hang ", 10) == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        (void)poll(&p, 1, 3000);
    } else {
        const char *r = "HTTP/1.1 200 OK\r\nX-Request-Id: abc\r\nContent-Length: 2\r\n\r\nok";
        send_all(fd, r, strlen(r));
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        serve_one(fd);
        close(fd);
    }
}

struct ctx {
    struct loop *l;
    struct httpc *c;
    int heads, head_before_data;
    long head_status;
    char ratelimit[32];
    char pieces[256];
    int stop_after;          /* data returns -1 after this many pieces (0: never) */
    int mode;                /* head's answer */
    struct httpc_response r;
    char body[256], first_hdr[64];
    size_t nheaders;
    int done;
    struct event *abort_ev;
};

static int head_cb(long status, const struct httpc_header *h, size_t n, void *arg)
{
    struct ctx *x = arg;
    x->heads++;
    x->head_status = status;
    x->head_before_data = x->pieces[0] == 0;
    for (size_t i = 0; i < n; i++)
        if (util_streq_nocase(h[i].name, "x-ratelimit-remaining-requests"))
            snprintf(x->ratelimit, sizeof x->ratelimit, "%s", h[i].value);
    return x->mode;
}

static int data_cb(const char *buf, size_t len, void *arg)
{
    struct ctx *x = arg;
    size_t have = strlen(x->pieces);
    snprintf(x->pieces + have, sizeof x->pieces - have, "%.*s|", (int)len, buf);
    atomic_fetch_add(&seen_pieces, 1);
    if (x->abort_ev) {
        struct timeval tv = loop_tv(0);
        event_add(x->abort_ev, &tv);
    }
    if (x->stop_after && atomic_load(&seen_pieces) >= x->stop_after)
        return -1;
    return 0;
}

static void done_cb(const struct httpc_response *r, void *arg)
{
    struct ctx *x = arg;
    x->done++;
    x->r = *r;
    snprintf(x->body, sizeof x->body, "%.*s", (int)r->body_len, r->body);
    x->nheaders = r->nheaders;
    if (r->nheaders)
        snprintf(x->first_hdr, sizeof x->first_hdr, "%s=%s", r->headers[0].name, r->headers[0].value);
    x->r.headers = NULL;
    loop_stop(x->l, 0);
}

static void abort_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    atomic_store(&abort_at_ms, mono_ms());
    bool ok = httpc_abort(x->c, done_cb, x);
    test_cond("httpc_abort finds the streaming transfer", ok);
    loop_stop(x->l, 0);
}

static void run(struct ctx *x, const char *path, long long timeout_ms, bool streaming)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct httpc_request req = {.method = "GET",
                                .url = url,
                                .timeout_ms = timeout_ms,
                                .head = streaming ? head_cb : NULL,
                                .data = streaming ? data_cb : NULL,
                                .keep_headers = !streaming};
    atomic_store(&seen_pieces, 0);
    if (httpc_send(x->c, &req, done_cb, x) < 0)
        abort();
    loop_run(x->l);
}

int main(void)
{
    log_setup(LOG_ERROR, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(listen_fd, 8) < 0 ||
        getsockname(listen_fd, (struct sockaddr *)&a, &al) < 0)
        abort();
    port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, server_main, NULL);
    char err[128];
    struct loop *l = loop_new(err, sizeof err);
    struct httpc *c = httpc_new(l, NULL, 4);

    struct ctx x = {.l = l, .c = c, .mode = HTTPC_STREAM};
    run(&x, "/stream", 5000, true);
    test_cond("head ran once", x.heads == 1);
    test_cond("head has the status", x.head_status == 200);
    test_cond("head ran before any body byte", x.head_before_data);
    test_streq("head sees the rate-limit header", x.ratelimit, "7");
    test_streq("each piece arrives as sent (the next is sent only after it was seen)", x.pieces,
               "data: 1\n\n|data: 2\n\n|data: 3\n\n|");
    test_cond("done once, no error", x.done == 1 && !x.r.error && x.r.status == 200);
    test_cond("a streamed body is not kept", x.r.body_len == 0);

    struct ctx y = {.l = l, .c = c, .mode = HTTPC_BUFFER};
    run(&y, "/err", 5000, true);
    test_cond("HTTPC_BUFFER: head saw 429", y.head_status == 429);
    test_streq("HTTPC_BUFFER: the body is kept", y.body, "{\"error\":1}");
    test_cond("HTTPC_BUFFER: nothing went to data", y.pieces[0] == 0);

    struct ctx z = {.l = l, .c = c, .mode = HTTPC_STREAM, .stop_after = 1};
    run(&z, "/stop", 5000, true);
    test_cond("data -1: the transfer ends stopped", z.done == 1 && z.r.stopped && z.r.error);

    struct ctx w = {.l = l, .c = c, .mode = HTTPC_STREAM};
    w.abort_ev = evtimer_new(loop_base(l), abort_cb, &w);
    atomic_store(&eof_after_ms, -1);
    run(&w, "/abort", 5000, true);
    test_cond("an aborted stream never calls done", w.done == 0);
    test_cond("nothing in flight after the abort", httpc_inflight(c) == 0);
    for (int i = 0; i < 200 && atomic_load(&eof_after_ms) < 0; i++)
        usleep(1000);
    long long eof = atomic_load(&eof_after_ms);
    if (eof < 0 || eof > 100)
        printf("  eof after %lld ms\n", eof);
    test_cond("the server sees the connection closed within 100 ms of httpc_abort", eof >= 0 && eof <= 100);
    event_free(w.abort_ev);

    struct ctx v = {.l = l, .c = c, .mode = HTTPC_STREAM};
    run(&v, "/hang", 200, true);
    test_cond("a timeout says timed_out", v.done == 1 && v.r.timed_out && v.r.status == 0);

    struct ctx u = {.l = l, .c = c};
    run(&u, "/plain", 5000, false);
    test_cond("keep_headers: the response lists its headers", u.nheaders >= 2);
    test_streq("keep_headers: the first header, trimmed", u.first_hdr, "X-Request-Id=abc");
    test_streq("the body as before", u.body, "ok");

    httpc_free(c);
    loop_free(l);
    shutdown(listen_fd, SHUT_RDWR);
    close(listen_fd);
    pthread_join(th, NULL);
    curl_global_cleanup();
    test_report();
}
