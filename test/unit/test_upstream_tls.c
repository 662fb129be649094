/* The upstream client over TLS on loopback: the server of upstream_srv.h
 * speaking TLS with self-signed certificates made here (the CA bundle is
 * the certificate itself). A verified IP SAN and DNS SAN (with SNI only
 * for a name), keep-alive reuse, a body in many records, the retry of a
 * closed kept connection; refused: a name the certificate lacks, an
 * untrusted certificate, a server that speaks no TLS, one that never
 * answers the handshake (timeout). */
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "log.h"
#include "loop.h"
#include "upstream.h"
#include "upstream_srv.h"

static struct loop *L;
static struct upstream *U;
static struct event *watchdog;
static bool watchdog_fired;

struct res {
    int done;
    long status;
    bool has_error, timed_out;
    char error[400];
    char hdrs[512];
    char *body;
    size_t body_len;
};

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    watchdog_fired = true;
    poke();
}

static void done_cb(const struct httpc_response *resp, void *arg)
{
    struct res *r = arg;
    r->done++;
    r->status = resp->status;
    r->has_error = resp->error != NULL;
    r->timed_out = resp->timed_out;
    snprintf(r->error, sizeof r->error, "%s", resp->error ? resp->error : "");
    r->hdrs[0] = 0;
    for (size_t i = 0; i < resp->nheaders; i++) {
        size_t have = strlen(r->hdrs);
        snprintf(r->hdrs + have, sizeof r->hdrs - have, "%s=%s|", resp->headers[i].name, resp->headers[i].value);
    }
    free(r->body);
    r->body = malloc(resp->body_len + 1);
    memcpy(r->body, resp->body, resp->body_len + 1);
    r->body_len = resp->body_len;
    poke();
}

/* GETs url and waits (at most timeout + 3 s). */
static void get(struct res *r, const char *host, const char *path, long long timeout_ms)
{
    char u[128];
    snprintf(u, sizeof u, "https://%s:%d%s", host, srv.port, path);
    struct httpc_request req = {.method = "GET", .url = u, .timeout_ms = timeout_ms, .keep_headers = true};
    if (upstream_send(U, &req, done_cb, r) < 0)
        abort();
    watchdog_fired = false;
    struct timeval tv = loop_tv(timeout_ms + 3000);
    evtimer_add(watchdog, &tv);
    while (!r->done && !watchdog_fired)
        loop_run(L);
    evtimer_del(watchdog);
}

static char big_body[300000];

static void answer(struct sconn *c, const char *body, size_t n)
{
    char h[200];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nX-Conn: %d\r\nX-Nreq: %d\r\nContent-Length: %zu\r\n\r\n", c->id,
             c->nreq, n);
    sc_puts(c, h);
    sc_send(c, body, n);
}

static void script(struct sconn *c, const char *req, size_t len)
{
    (void)len;
    if (strncmp(req, "GET /big ", 9) == 0) {
        answer(c, big_body, sizeof big_body);
    } else if (strncmp(req, "GET /hang ", 10) == 0) {
        /* never answers */
    } else if (strncmp(req, "GET /flaky ", 11) == 0 && c->nreq % 2 == 0) {
        c->close_after = true; /* the second request on a connection: closed unanswered */
    } else {
        answer(c, "ok", 2);
    }
}

/* A self-signed certificate (its own CA) for san, with a key of its own. */
static X509 *make_cert(const char *cn, const char *san, EVP_PKEY **keyp)
{
    static long serial = 1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !x)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const char *exts[][2] = {{"subjectAltName", san}, {"basicConstraints", "critical,CA:TRUE"}};
    for (size_t i = 0; i < 2; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
        if (!e)
            abort();
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (!X509_sign(x, key, EVP_sha256()))
        abort();
    *keyp = key;
    return x;
}

static SSL_CTX *server_ctx(X509 *cert, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
        abort();
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    if (!f || PEM_write_X509(f, x) != 1)
        abort();
    fclose(f);
}

static void fresh(SSL_CTX *server, const char *ca)
{
    upstream_free(U);
    srv_reset(script);
    srv.tls = server;
    srv.sni[0] = 0;
    U = upstream_new(L, ca, 4);
}

int main(void)
{
    log_setup(LOG_ERROR, false);
    char err[128];
    L = loop_new(err, sizeof err);
    if (!L || srv_start(L, false) < 0)
        abort();
    watchdog = evtimer_new(loop_base(L), watchdog_cb, NULL);
    for (size_t i = 0; i < sizeof big_body; i++)
        big_body[i] = (char)('a' + i % 26);

    EVP_PKEY *ka, *kb;
    X509 *a = make_cert("ingot test a", "IP:127.0.0.1,DNS:localhost", &ka);
    X509 *b = make_cert("ingot test b", "DNS:other.example", &kb);
    char ca_a[] = "/tmp/ingot-uptls-a-XXXXXX", ca_b[] = "/tmp/ingot-uptls-b-XXXXXX";
    int fa = mkstemp(ca_a), fb = mkstemp(ca_b);
    if (fa < 0 || fb < 0)
        abort();
    close(fa);
    close(fb);
    write_pem(ca_a, a);
    write_pem(ca_b, b);
    SSL_CTX *sa = server_ctx(a, ka), *sb = server_ctx(b, kb);

    fresh(sa, ca_a);
    struct res r1 = {0}, r2 = {0}, r3 = {0};
    get(&r1, "127.0.0.1", "/one", 5000);
    if (r1.has_error)
        printf("  error: %s\n", r1.error);
    test_cond("TLS to an IP in the certificate's SANs: 200", r1.done == 1 && r1.status == 200 && !r1.has_error);
    test_streq("TLS: the body", r1.body, "ok");
    test_streq("TLS to an IP: no SNI", srv.sni, "");
    get(&r2, "127.0.0.1", "/two", 5000);
    test_cond("TLS: the connection is kept and reused", r2.status == 200 && srv.accepts == 1 &&
                                                           strstr(r2.hdrs, "X-Nreq=2|"));
    get(&r3, "127.0.0.1", "/big", 5000);
    test_cond("TLS: 300000 bytes in many records, intact", r3.status == 200 && r3.body_len == sizeof big_body &&
                                                              memcmp(r3.body, big_body, sizeof big_body) == 0);
    test_cond("TLS: still one connection", srv.accepts == 1);

    struct res n = {0};
    get(&n, "localhost", "/name", 5000);
    test_cond("TLS to a name in the certificate's SANs: 200", n.status == 200 && !n.has_error);
    test_streq("TLS to a name: SNI sent", srv.sni, "localhost");

    fresh(sa, ca_a);
    struct res f1 = {0}, f2 = {0};
    get(&f1, "127.0.0.1", "/flaky", 5000);
    get(&f2, "127.0.0.1", "/flaky", 5000);
    test_cond("TLS: a kept connection closed unanswered is retried on a new one",
              f1.status == 200 && f2.status == 200 && !f2.has_error && srv.accepts == 2);

    fresh(sb, ca_b);
    struct res w = {0};
    get(&w, "127.0.0.1", "/x", 5000);
    if (!strstr(w.error, "certificate of 127.0.0.1 was refused"))
        printf("  error: %s\n", w.error);
    test_cond("TLS: a certificate without the host's IP is refused", w.done == 1 && w.status == 0 &&
                                                                        strstr(w.error, "certificate of 127.0.0.1 was refused"));
    test_cond("TLS: no request reached the server", srv.requests == 0);
    struct res wn = {0};
    get(&wn, "localhost", "/x", 5000);
    test_cond("TLS: a certificate without the host's name is refused",
              wn.done == 1 && wn.status == 0 && strstr(wn.error, "certificate of localhost was refused"));
    free(wn.body);

    fresh(sa, ca_b);
    struct res t = {0};
    get(&t, "127.0.0.1", "/x", 5000);
    if (!strstr(t.error, "refused"))
        printf("  error: %s\n", t.error);
    test_cond("TLS: an untrusted certificate is refused", t.done == 1 && t.status == 0 && strstr(t.error, "refused"));

    fresh(NULL, ca_a); /* a plain HTTP server: it answers the ClientHello with a 400 */
    srv.greet = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    struct res p = {0};
    get(&p, "127.0.0.1", "/x", 5000);
    if (!strstr(p.error, "TLS handshake"))
        printf("  error: %s\n", p.error);
    test_cond("TLS to a plain HTTP server: a handshake error", p.done == 1 && p.status == 0 &&
                                                                 strstr(p.error, "TLS handshake") && !p.timed_out);

    fresh(NULL, ca_a);
    srv.on_req = NULL; /* reads the ClientHello, never answers it */
    struct res h = {0};
    get(&h, "127.0.0.1", "/x", 300);
    test_cond("TLS: a handshake never answered times out", h.done == 1 && h.timed_out && h.status == 0);

    free(r1.body);
    free(r2.body);
    free(r3.body);
    free(n.body);
    free(f1.body);
    free(f2.body);
    free(w.body);
    free(t.body);
    free(p.body);
    free(h.body);
    upstream_free(U);
    srv.tls = NULL;
    srv_stop();
    SSL_CTX_free(sa);
    SSL_CTX_free(sb);
    X509_free(a);
    X509_free(b);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    unlink(ca_a);
    unlink(ca_b);
    event_free(watchdog);
    loop_free(L);
    test_report();
}
