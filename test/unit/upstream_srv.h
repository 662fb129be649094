/* A scripted HTTP/1.1 server on 127.0.0.1 for test_upstream, driven by the
 * same event_base as the client under test (no thread, no sleep). Each
 * complete request (head and Content-Length body) goes to the test's
 * srv.on_req, which answers with sc_send / sc_pieces, closes, or keeps
 * silent. Every accept, request and client EOF breaks the loop (poke) so
 * the test's run_until re-checks its condition. With srv.tls set, new
 * connections speak TLS (OpenSSL, non-blocking, same loop). */
#ifndef TEST_UPSTREAM_SRV_H
#define TEST_UPSTREAM_SRV_H

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dlist.h"
#include "loop.h"
#include "util.h"

struct sconn {
    int fd, id;             /* id: accept order, from 1 */
    SSL *ssl;
    int nreq;               /* requests seen on this connection */
    struct event *rev, *wev, *tick;
    struct sbuf in, out;
    size_t out_off;
    const char *const *pieces; /* sent one per tick (or on demand) */
    size_t npieces, next_piece;
    bool on_demand;         /* the next piece waits for sc_next_piece */
    bool close_after;       /* close once everything queued is written */
    struct sconn *next, *prev;
};

struct srv {
    struct loop *l;
    int lfd, port;
    struct event *lev;
    int accepts, requests, eofs;
    SSL_CTX *tls;           /* NULL: plain */
    char sni[64];           /* the name the last TLS client asked for ("" none) */
    const char *greet;      /* sent on accept, then the connection is closed (or NULL) */
    struct sbuf last_req;   /* the bytes of the last complete request */
    struct sconn *conns, *cur; /* cur: the one of the last request */
    /* The test's script for a complete request: it may queue an answer and
     * set close_after; it returns nothing (the server may close c after). */
    void (*on_req)(struct sconn *c, const char *req, size_t len);
};

static struct srv srv;

static void poke(void)
{
    loop_stop(srv.l, 0);
}

static void sc_close(struct sconn *c)
{
    DLIST_REMOVE(srv.conns, c);
    if (srv.cur == c)
        srv.cur = NULL;
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->tick);
    SSL_free(c->ssl);
    close(c->fd);
    sbuf_deinit(&c->in);
    sbuf_deinit(&c->out);
    free(c);
}

/* recv/send, or their TLS forms: -1 with errno EAGAIN when nothing now
 * (write wanting a read: the read event calls sc_flush again). */
static ssize_t sc_io(struct sconn *c, char *rbuf, const char *wbuf, size_t n)
{
    if (!c->ssl)
        return rbuf ? recv(c->fd, rbuf, n, 0) : send(c->fd, wbuf, n, MSG_NOSIGNAL);
    int r = rbuf ? SSL_read(c->ssl, rbuf, (int)n) : SSL_write(c->ssl, wbuf, (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE && !rbuf)
        event_add(c->wev, NULL);
    errno = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? EAGAIN : ECONNRESET;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Writes what is queued. false: c was closed (and freed). */
static bool sc_flush(struct sconn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = sc_io(c, NULL, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!c->ssl)
                event_add(c->wev, NULL);
            return true;
        }
        if (n < 0) {
            sc_close(c);
            return false;
        }
        c->out_off += (size_t)n;
    }
    sbuf_reset(&c->out);
    c->out_off = 0;
    if (c->next_piece < c->npieces) {
        if (!c->on_demand) {
            struct timeval tv = loop_tv(2);
            evtimer_add(c->tick, &tv);
        }
        return true;
    }
    if (c->close_after) {
        sc_close(c);
        return false;
    }
    return true;
}

static void sc_send(struct sconn *c, const char *s, size_t n)
{
    sbuf_append(&c->out, s, n);
}

static void sc_puts(struct sconn *c, const char *s)
{
    sc_send(c, s, strlen(s));
}

/* Queues pieces: the first at once, each next one on a later tick (2 ms),
 * so the client reads them apart; or, on_demand, on sc_next_piece. */
static inline void sc_pieces(struct sconn *c, const char *const *pieces, size_t n, bool on_demand)
{
    c->pieces = pieces;
    c->npieces = n;
    c->next_piece = 1;
    c->on_demand = on_demand;
    if (n)
        sc_puts(c, pieces[0]);
}

static void sc_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sconn *c = arg;
    if (c->next_piece < c->npieces)
        sc_puts(c, c->pieces[c->next_piece++]);
    (void)sc_flush(c);
}

/* From the client's data callback: the server sends its next piece. */
static inline void sc_next_piece(void)
{
    if (srv.cur && srv.cur->next_piece < srv.cur->npieces)
        event_active(srv.cur->tick, EV_TIMEOUT, 1);
}

static void sc_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)sc_flush(arg);
}

/* The length of the first complete request in buf, or 0. */
static size_t req_len(const char *buf, size_t len)
{
    (void)len;
    const char *end = strstr(buf, "\r\n\r\n"); /* sbuf: NUL-terminated, requests have no NUL */
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4, body = 0;
    for (const char *p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            body = strtoul(p + 15, NULL, 10);
            break;
        }
    }
    return len >= head + body ? head + body : 0;
}

static void sc_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sconn *c = arg;
    do {
        char buf[16384];
        ssize_t n = sc_io(c, buf, NULL, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return (void)sc_flush(c); /* a TLS write may have waited for this read */
        if (n <= 0) {
            srv.eofs++;
            sc_close(c);
            poke();
            return;
        }
        if (c->ssl && c->id == srv.accepts) {
            const char *sn = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
            snprintf(srv.sni, sizeof srv.sni, "%s", sn ? sn : "");
        }
        sbuf_append(&c->in, buf, (size_t)n);
        size_t rl;
        while ((rl = req_len(c->in.data, c->in.len)) > 0) {
            c->nreq++;
            srv.requests++;
            srv.cur = c;
            sbuf_reset(&srv.last_req);
            sbuf_append(&srv.last_req, c->in.data, rl);
            memmove(c->in.data, c->in.data + rl, c->in.len - rl);
            c->in.len -= rl;
            poke();
            if (srv.on_req)
                srv.on_req(c, srv.last_req.data, rl);
            if (!sc_flush(c))
                return;
        }
    } while (c->ssl && SSL_pending(c->ssl) > 0);
}

static void srv_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    int s = accept(fd, NULL, NULL);
    if (s < 0)
        return;
    evutil_make_socket_nonblocking(s);
    struct sconn *c = xcalloc(1, sizeof *c);
    c->fd = s;
    c->id = ++srv.accepts;
    sbuf_init(&c->in);
    sbuf_init(&c->out);
    struct event_base *b = loop_base(srv.l);
    c->rev = event_new(b, s, EV_READ | EV_PERSIST, sc_read_cb, c);
    c->wev = event_new(b, s, EV_WRITE, sc_write_cb, c);
    c->tick = evtimer_new(b, sc_tick_cb, c);
    if (srv.tls) {
        c->ssl = SSL_new(srv.tls);
        SSL_set_fd(c->ssl, s);
        SSL_set_accept_state(c->ssl);
    }
    event_add(c->rev, NULL);
    DLIST_PUSH(srv.conns, c);
    poke();
    if (srv.greet) {
        sc_puts(c, srv.greet);
        c->close_after = true;
        (void)sc_flush(c);
    }
}

/* Listens on 127.0.0.1 (or ::1 when v6) on an ephemeral port. */
static int srv_start(struct loop *l, bool v6)
{
    srv.l = l;
    sbuf_init(&srv.last_req);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    }
    srv.lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&ss, sl) < 0 || listen(srv.lfd, 256) < 0 ||
        getsockname(srv.lfd, (struct sockaddr *)&ss, &sl) < 0) {
        if (srv.lfd >= 0)
            close(srv.lfd);
        return -1;
    }
    srv.port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    srv.lev = event_new(loop_base(l), srv.lfd, EV_READ | EV_PERSIST, srv_accept_cb, NULL);
    event_add(srv.lev, NULL);
    return 0;
}

static void srv_stop(void)
{
    while (srv.conns)
        sc_close(srv.conns);
    event_free(srv.lev);
    close(srv.lfd);
    sbuf_deinit(&srv.last_req);
}

/* Between cases: no connection kept, counters back to zero. */
static void srv_reset(void (*on_req)(struct sconn *c, const char *req, size_t len))
{
    while (srv.conns)
        sc_close(srv.conns);
    srv.accepts = srv.requests = srv.eofs = 0;
    srv.on_req = on_req;
    srv.greet = NULL;
    sbuf_reset(&srv.last_req);
}

#endif
