/* httpd end to end on loopback: a streamed reply (chunked for HTTP/1.1,
 * close-delimited for HTTP/1.0), a client leaving mid-stream (gone is
 * called, nothing stays in flight), and keep-alive after a stream. The
 * client runs in a thread with blocking sockets; the loop in main. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../testhelp.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

struct ctx {
    struct loop *l;
    struct httpd *h;
    struct event *tick, *done_ev;
    struct http_req *sr;
    int sent, gone;
    int port;
    int pipefd[2];
    char r11[8192], r10[8192], rka[8192];
    size_t inflight_after_gone;
};

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    if (!x->sr)
        return;
    if (x->gone || x->sent == 3) {
        http_stream_end(x->sr);
        x->sr = NULL;
        return;
    }
    http_stream_write(x->sr, "data: x\n\n", 9);
    x->sent++;
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

static void gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    ((struct ctx *)arg)->gone++;
}

static void stream_route(struct http_req *r, void *arg)
{
    struct ctx *x = arg;
    x->sr = r;
    x->sent = 0;
    x->gone = 0;
    http_stream_begin(r, 200, "text/event-stream", gone_cb, x);
    struct timeval tv = loop_tv(5);
    evtimer_add(x->tick, &tv);
}

static void plain_route(struct http_req *r, void *arg)
{
    (void)arg;
    http_reply(r, 200, "text/plain", "ok", 2);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        abort();
    return fd;
}

/* Sends req, reads until EOF (or until want appears) into out. */
static void exchange(int port, const char *req, char *out, size_t cap, const char *want)
{
    int fd = dial(port);
    (void)!write(fd, req, strlen(req));
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, out + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = '\0';
        if (want && strstr(out, want))
            break;
    }
    out[n] = '\0';
    close(fd);
}

static void *client(void *arg)
{
    struct ctx *x = arg;
    exchange(x->port, "GET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", x->r11,
             sizeof x->r11, NULL);
    exchange(x->port, "GET /s HTTP/1.0\r\n\r\n", x->r10, sizeof x->r10, NULL);
    /* keep-alive: a stream, then a plain request on the same connection */
    exchange(x->port, "GET /s HTTP/1.1\r\nHost: a\r\n\r\nGET /p HTTP/1.1\r\nHost: a\r\n\r\n",
             x->rka, sizeof x->rka, "\r\n\r\nok");
    /* leave mid-stream: read the head, then close */
    char buf[4096];
    int fd = dial(x->port);
    const char *req = "GET /s HTTP/1.1\r\nHost: a\r\n\r\n";
    (void)!write(fd, req, strlen(req));
    (void)!read(fd, buf, sizeof buf);
    close(fd);
    (void)!write(x->pipefd[1], "x", 1);
    return NULL;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    /* the client left; wait until the handler saw it and ended */
    if (x->sr || httpd_inflight(x->h) != 0) {
        struct timeval tv = loop_tv(5);
        event_add(x->done_ev, &tv);
        return;
    }
    loop_stop(x->l, 0);
}

int main(void)
{
    char err[256];
    struct ctx x = {0};
    log_setup(LOG_WARN, true);
    x.l = loop_new(err, sizeof err);
    struct metrics *m = metrics_new();
    struct httpd_opts o = {.max_body = 1024};
    x.h = httpd_new(x.l, m, &o);
    httpd_route(x.h, HTTP_M_GET, "/s", 0, stream_route, &x);
    httpd_route(x.h, HTTP_M_GET, "/p", 0, plain_route, &x);
    test_cond("listening", httpd_listen(x.h, "127.0.0.1", 0, err, sizeof err) == 0);
    x.port = httpd_port(x.h);
    x.tick = evtimer_new(loop_base(x.l), tick_cb, &x);
    if (pipe(x.pipefd) < 0)
        abort();
    x.done_ev = event_new(loop_base(x.l), x.pipefd[0], EV_READ, done_cb, &x);
    event_add(x.done_ev, NULL);
    pthread_t t;
    pthread_create(&t, NULL, client, &x);
    loop_run(x.l);
    pthread_join(t, NULL);

    test_cond("chunked stream head", strstr(x.r11, "HTTP/1.1 200 OK\r\n") &&
                                         strstr(x.r11, "Transfer-Encoding: chunked\r\n") &&
                                         strstr(x.r11, "Content-Type: text/event-stream\r\n") &&
                                         !strstr(x.r11, "Content-Length"));
    test_cond("three chunks and the last one",
              strstr(x.r11, "\r\n\r\n9\r\ndata: x\n\n\r\n9\r\ndata: x\n\n\r\n9\r\ndata: x\n\n\r\n0\r\n\r\n"));
    test_cond("HTTP/1.0: no chunks, ends with the close",
              strstr(x.r10, "\r\n\r\ndata: x\n\ndata: x\n\ndata: x\n\n") &&
                  !strstr(x.r10, "chunked") && strstr(x.r10, "Connection: close"));
    test_cond("keep-alive after a stream", strstr(x.rka, "0\r\n\r\nHTTP/1.1 200 OK") &&
                                               strstr(x.rka, "\r\n\r\nok"));
    test_cond("client leaving mid-stream: gone called once", x.gone == 1);
    test_cond("nothing left in flight", httpd_inflight(x.h) == 0);
    event_free(x.tick);
    event_free(x.done_ev);
    close(x.pipefd[0]);
    close(x.pipefd[1]);
    httpd_free(x.h);
    loop_free(x.l);
    metrics_free(m);
    test_report();
}
