/* httpd streamed request bodies (httpd_route_stream) end to end on
 * loopback: every byte reaches the handler in order through pauses and
 * resumes (Content-Length and chunked), keep-alive after it, the route's
 * own limit (413 declared and 413 counted), HTTP_MAX_BODY unchanged for
 * other routes, a client leaving mid-body (499 told once, nothing left in
 * flight), "100 Continue", the progress deadline (408), and an early
 * reply closing the connection. And the other way: a streamed reply that
 * produces only as the client reads (http_stream_on_drain), and one cut
 * short (http_stream_abort). The client runs in a thread. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
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
    struct event *done_ev;
    int port;
    int pipefd[2];
    int errors_499, ended, empty_pieces;
    char out[9][4096];
    char reuse[2][4096]; /* 100-continue on a kept-alive connection */
    bool reuse_prompt[2];
    /* the download: bytes the client got, in order, and the most queued */
    size_t dl_got, dl_max_queued;
    bool dl_in_order, dl_terminated;
    char cut[4096];
    bool cut_eof;
};

/* GET /dl: 4 MB in 64 KiB writes, more only as the client reads
 * (http_stream_on_drain); GET /cut: some bytes, then cut. */
#define DL_TOTAL ((size_t)4 << 20)
#define DL_PIECE ((size_t)64 * 1024)
#define DL_LOW ((size_t)128 * 1024)
struct dl {
    struct ctx *x;
    struct http_req *r;
    size_t sent;
};

static void dl_more(struct dl *d)
{
    static char piece[DL_PIECE];
    for (;;) {
        if (d->sent == DL_TOTAL) {
            http_stream_end(d->r);
            free(d);
            return;
        }
        for (size_t i = 0; i < DL_PIECE; i++)
            piece[i] = (char)(((d->sent + i) * 13) & 255);
        size_t q = http_stream_write(d->r, piece, DL_PIECE);
        d->sent += DL_PIECE;
        if (q > d->x->dl_max_queued)
            d->x->dl_max_queued = q;
        if (q > DL_LOW)
            return; /* the drain callback asks for more */
    }
}

static void dl_drain_cb(struct http_req *r, void *arg)
{
    (void)r;
    dl_more(arg);
}

static void dl_route(struct http_req *r, void *arg)
{
    struct dl *d = calloc(1, sizeof *d);
    d->x = arg;
    d->r = r;
    http_stream_begin(r, 200, "application/octet-stream", NULL, NULL);
    http_stream_on_drain(r, DL_LOW, dl_drain_cb, d);
    dl_more(d);
}

static void cut_route(struct http_req *r, void *arg)
{
    (void)arg;
    http_stream_begin(r, 200, "application/octet-stream", NULL, NULL);
    http_stream_write(r, "partial", 7);
    http_stream_abort(r);
}

struct up {
    struct ctx *x;
    struct http_req *r;
    struct event *resume;
    size_t bytes, pieces;
    uint64_t hash;
    bool early;
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void up_free(struct up *u)
{
    event_free(u->resume);
    free(u);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct up *u = arg;
    http_body_resume(u->r);
}

static void body_cb(struct http_req *r, enum http_body_event ev, const char *data, size_t len, int status,
                    void *arg)
{
    struct up *u = arg;
    if (ev == HTTP_BODY_DATA) {
        if (len == 0)
            u->x->empty_pieces++;
        u->bytes += len;
        u->hash = fnv(u->hash, data, len);
        if (u->early) {
            http_reply(r, 400, "text/plain", "early", 5);
            up_free(u);
            return;
        }
        if (++u->pieces % 3 == 0) { /* every third piece: wait a little (a database write) */
            http_body_pause(r);
            struct timeval tv = loop_tv(1);
            evtimer_add(u->resume, &tv);
        }
        return;
    }
    if (ev == HTTP_BODY_END) {
        u->x->ended++;
        char b[96];
        int n = snprintf(b, sizeof b, "n=%zu h=%llx", u->bytes, (unsigned long long)u->hash);
        http_reply(r, 200, "text/plain", b, (size_t)n);
    } else {
        if (status == 499)
            u->x->errors_499++;
        char b[160];
        int n = snprintf(b, sizeof b, "error %d: %.*s", status, (int)len, data);
        http_reply(r, status, "text/plain", b, (size_t)n);
    }
    up_free(u);
}

static void start(struct http_req *r, struct ctx *x, bool early)
{
    struct up *u = calloc(1, sizeof *u);
    u->x = x;
    u->r = r;
    u->early = early;
    u->hash = 14695981039346656037ULL;
    u->resume = evtimer_new(loop_base(x->l), resume_cb, u);
    if (http_body_read(r, body_cb, u) < 0)
        abort(); /* the client is there */
}

static void up_route(struct http_req *r, void *arg)
{
    start(r, arg, false);
}

static void early_route(struct http_req *r, void *arg)
{
    start(r, arg, true);
}

static void small_route(struct http_req *r, void *arg)
{
    (void)arg;
    size_t n;
    (void)http_req_body(r, &n);
    char b[32];
    int k = snprintf(b, sizeof b, "small %zu", n);
    http_reply(r, 200, "text/plain", b, (size_t)k);
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

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return; /* the server closed (an early answer) */
        p += w;
        n -= (size_t)w;
    }
}

static void read_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 31 + (i >> 10)) & 255);
    return p;
}

static void head(int fd, const char *path, const char *extra)
{
    char h[512];
    snprintf(h, sizeof h, "POST %s HTTP/1.1\r\nHost: a\r\n%s\r\n", path, extra);
    send_all(fd, h, strlen(h));
}

/* Reads one reply whose body ends with want (a kept-alive connection:
 * no EOF to wait for). */
static void read_until(int fd, char *out, size_t cap, const char *want)
{
    size_t n = 0;
    out[0] = '\0';
    while (n < cap - 1 && !strstr(out, want)) {
        ssize_t r = read(fd, out + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = '\0';
    }
}

/* "100 Continue" within a deadline (under the body's, 300 ms): it must
 * not wait for something else to enable writing (a reused connection
 * stalled until the client gave up waiting, curl's 1 s). */
static bool continue_within(int fd, int ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, ms) != 1)
        return false;
    char cont[26] = "";
    size_t n = 0;
    while (n < 25) {
        ssize_t r = read(fd, cont + n, 25 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
    }
    /* alone: not flushed out by the 408 the body deadline (300 ms) sends */
    return strcmp(cont, "HTTP/1.1 100 Continue\r\n\r\n") == 0 && poll(&pf, 1, 0) == 0;
}

static void *client(void *arg)
{
    struct ctx *x = arg;
    char hdr[128];
    /* 0: 3 MB with Content-Length, through pauses */
    size_t n0 = (size_t)3 << 20;
    char *p0 = pattern(n0);
    int fd = dial(x->port);
    snprintf(hdr, sizeof hdr, "Content-Length: %zu\r\nConnection: close\r\n", n0);
    head(fd, "/up", hdr);
    send_all(fd, p0, n0);
    read_all(fd, x->out[0], sizeof x->out[0]);
    close(fd);
    /* 1: 1 MB chunked in odd pieces, then a plain request on the same connection */
    size_t n1 = (size_t)1 << 20;
    fd = dial(x->port);
    head(fd, "/up", "Transfer-Encoding: chunked\r\n");
    for (size_t at = 0; at < n1;) {
        size_t k = n1 - at < 777 ? n1 - at : 777;
        char line[32];
        snprintf(line, sizeof line, "%zx;ext=1\r\n", k);
        send_all(fd, line, strlen(line));
        send_all(fd, p0 + at, k);
        send_all(fd, "\r\n", 2);
        at += k;
    }
    send_all(fd, "0\r\n\r\n", 5);
    head(fd, "/small", "Content-Length: 5\r\nConnection: close\r\n");
    send_all(fd, "hello", 5);
    read_all(fd, x->out[1], sizeof x->out[1]);
    close(fd);
    /* 2: over the route's limit, declared */
    fd = dial(x->port);
    head(fd, "/up", "Content-Length: 5000000\r\n");
    read_all(fd, x->out[2], sizeof x->out[2]);
    close(fd);
    /* 3: over the route's limit, chunked (counted as it comes) */
    fd = dial(x->port);
    head(fd, "/up", "Transfer-Encoding: chunked\r\n");
    for (int i = 0; i < 80; i++) {
        send_all(fd, "10000\r\n", 7);
        send_all(fd, p0, 0x10000);
        send_all(fd, "\r\n", 2);
    }
    read_all(fd, x->out[3], sizeof x->out[3]);
    close(fd);
    /* 4: another route keeps max_body */
    fd = dial(x->port);
    head(fd, "/small", "Content-Length: 2000\r\n");
    send_all(fd, p0, 2000);
    read_all(fd, x->out[4], sizeof x->out[4]);
    close(fd);
    /* 5: Expect: 100-continue, the body only after the interim answer */
    fd = dial(x->port);
    head(fd, "/up", "Content-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n");
    char cont[64] = "";
    ssize_t k = read(fd, cont, sizeof cont - 1);
    if (k > 0)
        cont[k] = '\0';
    util_strcpy(x->out[5], sizeof x->out[5], cont);
    send_all(fd, "0123456789", 10);
    read_all(fd, x->out[5] + strlen(x->out[5]), sizeof x->out[5] - strlen(x->out[5]));
    close(fd);
    /* 6: no progress: the deadline (300 ms here) */
    fd = dial(x->port);
    head(fd, "/up", "Content-Length: 100\r\n");
    send_all(fd, "0123456789", 10);
    read_all(fd, x->out[6], sizeof x->out[6]);
    close(fd);
    /* 7: an early answer closes the connection */
    fd = dial(x->port);
    head(fd, "/early", "Content-Length: 200000\r\n");
    send_all(fd, p0, 100000);
    read_all(fd, x->out[7], sizeof x->out[7]);
    close(fd);
    /* 9: a slow download, decoded from its chunks */
    fd = dial(x->port);
    const char *g = "GET /dl HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    send_all(fd, g, strlen(g));
    static char resp[(size_t)5 << 20];
    size_t rn = 0;
    ssize_t rr;
    int reads = 0;
    while (rn < sizeof resp && (rr = read(fd, resp + rn, 16384 < sizeof resp - rn ? 16384 : sizeof resp - rn)) > 0) {
        rn += (size_t)rr;
        if (++reads % 16 == 0)
            usleep(2000); /* a slow reader */
    }
    close(fd);
    const char *q = strstr(resp, "\r\n\r\n");
    x->dl_in_order = q != NULL;
    size_t at = q ? (size_t)(q + 4 - resp) : rn;
    while (at < rn) {
        char *end;
        unsigned long sz = strtoul(resp + at, &end, 16);
        at = (size_t)(end - resp) + 2;
        if (sz == 0) {
            x->dl_terminated = true;
            break;
        }
        for (unsigned long i = 0; i < sz && at + i < rn; i++)
            if (resp[at + i] != (char)(((x->dl_got + i) * 13) & 255))
                x->dl_in_order = false;
        x->dl_got += sz;
        at += sz + 2;
    }
    /* 10: a cut stream: no final chunk, then EOF */
    fd = dial(x->port);
    struct timeval rto = {.tv_sec = 3}; /* a kept-alive connection fails the test, not hangs it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rto, sizeof rto);
    g = "GET /cut HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(fd, g, strlen(g));
    read_all(fd, x->cut, sizeof x->cut);
    x->cut_eof = read(fd, hdr, 1) == 0; /* EOF, not the receive timeout */
    close(fd);
    /* 11: Expect: 100-continue on a reused connection, for a body read
     * whole (/small) and a streamed one (/up) */
    for (int i = 0; i < 2; i++) {
        fd = dial(x->port);
        head(fd, "/small", "Content-Length: 5\r\n");
        send_all(fd, "hello", 5);
        read_until(fd, x->reuse[i], sizeof x->reuse[i], "small 5");
        head(fd, i == 0 ? "/small" : "/up",
             "Content-Length: 1000\r\nExpect: 100-continue\r\nConnection: close\r\n");
        x->reuse_prompt[i] = continue_within(fd, 250);
        send_all(fd, p0, 1000);
        size_t used = strlen(x->reuse[i]);
        read_all(fd, x->reuse[i] + used, sizeof x->reuse[i] - used);
        close(fd);
    }
    /* 8: the client leaves mid-body */
    fd = dial(x->port);
    head(fd, "/up", "Content-Length: 1000000\r\n");
    send_all(fd, p0, 100000);
    usleep(50000);
    close(fd);
    free(p0);
    (void)!write(x->pipefd[1], "x", 1);
    return NULL;
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctx *x = arg;
    if (httpd_inflight(x->h) != 0 || x->errors_499 == 0) {
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
    log_setup(LOG_ERROR, true);
    x.l = loop_new(err, sizeof err);
    struct metrics *m = metrics_new();
    struct httpd_opts o = {.max_body = 1024, .body_timeout_ms = 300};
    x.h = httpd_new(x.l, m, &o);
    httpd_route_stream(x.h, HTTP_M_POST, "/up", (uint64_t)4 << 20, up_route, &x);
    httpd_route_stream(x.h, HTTP_M_POST, "/early", (uint64_t)4 << 20, early_route, &x);
    httpd_route(x.h, HTTP_M_POST, "/small", 0, small_route, &x);
    httpd_route(x.h, HTTP_M_GET, "/dl", 0, dl_route, &x);
    httpd_route(x.h, HTTP_M_GET, "/cut", 0, cut_route, &x);
    test_cond("listening", httpd_listen(x.h, "127.0.0.1", 0, err, sizeof err) == 0);
    x.port = httpd_port(x.h);
    if (pipe(x.pipefd) < 0)
        abort();
    x.done_ev = event_new(loop_base(x.l), x.pipefd[0], EV_READ, done_cb, &x);
    event_add(x.done_ev, NULL);
    pthread_t t;
    pthread_create(&t, NULL, client, &x);
    loop_run(x.l);
    pthread_join(t, NULL);

    char *p = pattern((size_t)3 << 20), want[96];
    snprintf(want, sizeof want, "n=%d h=%llx", 3 << 20,
             (unsigned long long)fnv(14695981039346656037ULL, p, (size_t)3 << 20));
    test_cond("3 MB, Content-Length: every byte in order", strstr(x.out[0], want) != NULL);
    snprintf(want, sizeof want, "n=%d h=%llx", 1 << 20,
             (unsigned long long)fnv(14695981039346656037ULL, p, (size_t)1 << 20));
    test_cond("1 MB chunked: every byte in order", strstr(x.out[1], want) != NULL);
    test_cond("100 Continue at once on a reused connection (body read whole)", x.reuse_prompt[0]);
    if (!strstr(x.reuse[0], "small 1000") || !strstr(x.reuse[1], "n=1000 "))
        printf("  reuse: '%s'\n  '%s'\n", x.reuse[0], x.reuse[1]);
    test_cond("... then the answer", strstr(x.reuse[0], "small 1000") != NULL);
    test_cond("100 Continue at once on a reused connection (streamed body)", x.reuse_prompt[1]);
    snprintf(want, sizeof want, "n=1000 h=%llx",
             (unsigned long long)fnv(14695981039346656037ULL, p, 1000));
    test_cond("... then the answer", strstr(x.reuse[1], want) != NULL);
    free(p);
    test_cond("keep-alive after a streamed body", strstr(x.out[1], "small 5") != NULL);
    test_cond("declared over the route's limit: 413", strncmp(x.out[2], "HTTP/1.1 413", 12) == 0);
    test_cond("chunked over the route's limit: 413 to the handler",
              strncmp(x.out[3], "HTTP/1.1 413", 12) == 0 && strstr(x.out[3], "error 413"));
    test_cond("other routes keep max_body", strncmp(x.out[4], "HTTP/1.1 413", 12) == 0);
    test_cond("100 Continue, then the answer",
              strncmp(x.out[5], "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0 && strstr(x.out[5], "n=10 "));
    test_cond("no progress: 408", strncmp(x.out[6], "HTTP/1.1 408", 12) == 0 && strstr(x.out[6], "error 408"));
    test_cond("early answer, connection closed",
              strncmp(x.out[7], "HTTP/1.1 400", 12) == 0 && strstr(x.out[7], "Connection: close"));
    test_cond("client left mid-body: 499 told once", x.errors_499 == 1);
    test_cond("bodies ended: 4", x.ended == 4);
    test_cond("no piece was empty", x.empty_pieces == 0);
    test_cond("nothing left in flight", httpd_inflight(x.h) == 0);
    test_cond("download: every byte in order", x.dl_in_order && x.dl_got == DL_TOTAL);
    test_cond("download: ended with the final chunk", x.dl_terminated);
    if (x.dl_max_queued > DL_LOW + DL_PIECE)
        printf("  queued up to %zu\n", x.dl_max_queued);
    test_cond("download: never more than one piece over the low mark queued",
              x.dl_max_queued <= DL_LOW + DL_PIECE);
    /* what follows the one chunk: nothing (no "0" chunk; a request id may end in 0) */
    static const char one[] = "\r\n\r\n7\r\npartial\r\n";
    const char *after = strstr(x.cut, one);
    if (!after || after[sizeof one - 1] != '\0')
        printf("  cut: '%s'\n", x.cut);
    test_cond("cut stream: the bytes, no final chunk", after && after[sizeof one - 1] == '\0');
    test_cond("cut stream: then the close", x.cut_eof);
    event_free(x.done_ev);
    close(x.pipefd[0]);
    close(x.pipefd[1]);
    httpd_free(x.h);
    loop_free(x.l);
    metrics_free(m);
    test_report();
}
