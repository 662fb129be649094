#include "upstream_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "tlsca.h"
#include "url.h"
#include "util.h"

static void fail(struct upc *c, const char *why)
{
    c->ops->failed(c, why);
}

/* A failure found before upc_open returned: reported from the loop. */
static void fail_later_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upc *c = arg;
    fail(c, c->fail_why);
}

static void fail_later(struct upc *c, const char *why)
{
    snprintf(c->fail_why, sizeof c->fail_why, "%s", why);
    event_active(c->fail_ev, EV_TIMEOUT, 1);
}

static void tls_why(struct upc *c, const char *what, int ret, char *why, size_t whylen)
{
    unsigned long e = ERR_peek_last_error();
    long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
    if (vr != X509_V_OK) {
        snprintf(why, whylen, "the TLS certificate of %s was refused: %s", c->host,
                 X509_verify_cert_error_string(vr));
    } else if (e) {
        char buf[160];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(why, whylen, "TLS %s with %s:%d failed: %s", what, c->host, c->port, buf);
    } else {
        snprintf(why, whylen, "TLS %s with %s:%d failed: %s", what, c->host, c->port,
                 ret == 0 || errno == 0 ? "the connection closed" : strerror(errno));
    }
    ERR_clear_error();
}

static void handshake(struct upc *c)
{
    ERR_clear_error();
    int rc = SSL_connect(c->ssl);
    if (rc == 1) {
        c->state = UPC_READY;
        c->ops->ready(c);
        return;
    }
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return; /* the read event is armed */
    if (e == SSL_ERROR_WANT_WRITE) {
        event_add(c->wev, NULL);
        return;
    }
    char why[320];
    tls_why(c, "handshake", rc, why, sizeof why);
    fail(c, why);
}

static void tls_start(struct upc *c)
{
    c->ssl = SSL_new(c->tls);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        fail(c, "TLS could not start (out of memory?)");
        return;
    }
    /* The name in the URL is what the certificate must carry: an IP
     * literal is checked against the IP SANs and sends no SNI. */
    if (url_host_is_ip(c->host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
    } else {
        SSL_set_tlsext_host_name(c->ssl, c->host);
        SSL_set1_host(c->ssl, c->host);
    }
    SSL_set_connect_state(c->ssl);
    c->state = UPC_HANDSHAKE;
    handshake(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upc *c = arg;
    if (c->state == UPC_HANDSHAKE) {
        handshake(c);
        return;
    }
    if (c->write_wants_read) {
        c->write_wants_read = false;
        c->ops->writable(c);
        return; /* level-triggered: a read still due comes next pass */
    }
    c->ops->readable(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct upc *c = arg;
    if (c->state == UPC_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
        if (err) {
            char why[320];
            snprintf(why, sizeof why, "could not connect to %s:%d: %s", c->host, c->port, strerror(err));
            fail(c, why);
            return;
        }
        event_add(c->rev, NULL);
        if (c->tls) {
            tls_start(c);
        } else {
            c->state = UPC_READY;
            c->ops->ready(c);
        }
        return;
    }
    if (c->state == UPC_HANDSHAKE) {
        handshake(c);
        return;
    }
    if (c->read_wants_write) {
        c->read_wants_write = false;
        c->ops->readable(c);
        return;
    }
    c->ops->writable(c);
}

static void connect_ip(struct upc *c, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)c->port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)c->port);
        sl = sizeof *s6;
    } else {
        char why[320];
        snprintf(why, sizeof why, "could not connect to %s: the resolver gave no usable address", c->host);
        fail_later(c, why);
        return;
    }
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        char why[320];
        snprintf(why, sizeof why, "could not open a socket to %s:%d: %s", c->host, c->port, strerror(errno));
        fail_later(c, why);
        return;
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct event_base *base = loop_base(c->loop);
    c->rev = event_new(base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
    c->wev = event_new(base, c->fd, EV_WRITE, write_cb, c);
    if (!c->rev || !c->wev)
        abort();
    c->state = UPC_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        char why[320];
        snprintf(why, sizeof why, "could not connect to %s:%d: %s", c->host, c->port, strerror(errno));
        fail_later(c, why);
        return;
    }
    event_add(c->wev, NULL); /* connected or not, the write event says so */
}

static void resolved_cb(const char *ip, const char *err, void *arg)
{
    struct upc *c = arg;
    c->res = NULL;
    if (!ip) {
        char why[320];
        snprintf(why, sizeof why, "%s", err ? err : "the resolver gave no address"); /* names the host */
        fail_later(c, why);
        return;
    }
    connect_ip(c, ip);
}

struct upc *upc_open(struct loop *l, const struct upc_ops *ops, void *owner, const char *host, int port,
                     struct ssl_ctx_st *tls, void *req)
{
    struct upc *c = xcalloc(1, sizeof *c);
    c->ops = ops;
    c->owner = owner;
    c->loop = l;
    c->host = host;
    c->port = port;
    c->tls = tls;
    c->req = req;
    c->fd = -1;
    c->state = UPC_RESOLVING;
    c->fail_ev = event_new(loop_base(l), -1, 0, fail_later_cb, c);
    if (!c->fail_ev)
        abort();
    /* loop_resolve answers IP literals and localhost inline (then it
     * returns NULL), names from the loop. */
    struct loop_resolve *h = loop_resolve(l, host, resolved_cb, c);
    if (h)
        c->res = h;
    return c;
}

void upc_close(struct upc *c)
{
    if (!c)
        return;
    if (c->res)
        loop_resolve_cancel(c->res);
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    event_free(c->fail_ev);
    if (c->ssl) {
        /* No close_notify: the connection is dropped, not ended cleanly,
         * and a write here could block on a full socket. */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

long upc_recv(struct upc *c, char *buf, size_t cap, char *why, size_t whylen)
{
    if (!c->ssl) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n >= 0)
            return (long)n;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return -1;
        snprintf(why, whylen, "reading from %s:%d failed: %s", c->host, c->port, strerror(errno));
        return -2;
    }
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        return -1;
    case SSL_ERROR_WANT_WRITE:
        c->read_wants_write = true;
        event_add(c->wev, NULL);
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        tls_why(c, "read", n, why, whylen);
        return -2;
    }
}

long upc_send(struct upc *c, const char *buf, size_t len, char *why, size_t whylen)
{
    if (!c->ssl) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (long)n;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            event_add(c->wev, NULL);
            return -1;
        }
        snprintf(why, whylen, "writing to %s:%d failed: %s", c->host, c->port, strerror(errno));
        return -2;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_WRITE:
        event_add(c->wev, NULL);
        return -1;
    case SSL_ERROR_WANT_READ:
        c->write_wants_read = true;
        return -1;
    default:
        tls_why(c, "write", n, why, whylen);
        return -2;
    }
}

bool upc_pending(const struct upc *c)
{
    return c->ssl && SSL_pending(c->ssl) > 0;
}

struct ssl_ctx_st *upc_tls_ctx(const char *ca_bundle, char *why, size_t whylen)
{
    if (!ca_bundle) {
        snprintf(why, whylen, "%s", TLSCA_OFF_MSG);
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(why, whylen, "TLS is unavailable (OpenSSL could not make a context)");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Partial writes keep a large body from needing one huge record;
     * released buffers keep 1000 idle streams from holding 2 x 16 KiB each;
     * a peer that closes without close_notify ends a body read to close. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
    /* One explicit file, the same curl is given (tlsca.h). */
    if (!SSL_CTX_load_verify_locations(ctx, ca_bundle, NULL)) {
        snprintf(why, whylen, "the CA certificates in %s could not be read (CA_BUNDLE)", ca_bundle);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
