/* A fake HTTP target for job tests, on 127.0.0.1 only.
 *   target PORT SECRET
 * First line on stdout: "port N". Then one line per request received:
 *   REQ job=<Ingot-Job-Id> attempt=<n> method=<m> path=<p> sig=<valid|invalid|missing> t=<ms>
 *       busy=<slow requests open, this one included> qbusy=<those with the same query>
 * Behaviour by path:
 *   /ok                      200
 *   /status/503,503,200      the n-th request of a job gets the n-th status
 *                            (the last one repeats)
 *   /retry-after/S           429 with Retry-After: S the first time, then 200
 *   /slow/MS                 200 after MS milliseconds
 *   /hang                    never answers; "CLOSED path=<p> job=<id>" when the
 *                            client closes the connection
 *   /echo                    200 with the request body */
#include <cJSON.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *secret;
static int port;
static struct event_base *base;

struct seen {
    char key[160];
    int count;
};
static struct seen seen[8192];
static int nseen;

static int bump(const char *job, const char *path)
{
    char key[160];
    snprintf(key, sizeof key, "%.40s %.110s", job, path);
    for (int i = 0; i < nseen; i++)
        if (strcmp(seen[i].key, key) == 0)
            return ++seen[i].count;
    if (nseen < 8192) {
        snprintf(seen[nseen].key, sizeof seen[nseen].key, "%s", key);
        seen[nseen].count = 1;
        nseen++;
    }
    return 1;
}

static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(tbl, in[i]);
        if (!p || !in[i])
            return -1;
        v = v << 6 | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return (int)o;
}

static const char *verify(const char *jwt, const char *url, const unsigned char *body, size_t blen)
{
    if (!jwt)
        return "missing";
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return "invalid";
    unsigned char mac[32], given[64];
    unsigned int mn = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)jwt, (size_t)(d2 - jwt), mac, &mn);
    int gl = b64url_decode(d2 + 1, strlen(d2 + 1), given, sizeof given);
    if (gl != 32 || memcmp(mac, given, 32) != 0)
        return "invalid";
    unsigned char claims[4096];
    int cl = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), claims, sizeof claims - 1);
    if (cl < 0)
        return "invalid";
    claims[cl] = 0;
    cJSON *c = cJSON_Parse((const char *)claims);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "url");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "body_sha256");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
    unsigned char md[32];
    unsigned int dn = 0;
    EVP_Digest(body, blen, md, &dn, EVP_sha256(), NULL);
    char hex[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *verdict = "valid";
    if (!cJSON_IsString(u) || strcmp(u->valuestring, url) != 0)
        verdict = "invalid-url";
    else if (!cJSON_IsString(h) || strcmp(h->valuestring, hex) != 0)
        verdict = "invalid-body";
    else if (!cJSON_IsNumber(exp) || exp->valuedouble < (double)time(NULL))
        verdict = "expired";
    cJSON_Delete(c);
    return verdict;
}

struct delayed {
    struct evhttp_request *req;
    struct event *ev;
    int slot;
};

/* Open /slow/ requests, in all and by query string (e.g. ?g=a): what a
 * concurrency cap test counts. */
static int busy;
static struct {
    char query[128];
    int open;
} qbusy[256];

static int query_slot(const char *uri)
{
    const char *q = strchr(uri, '?');
    q = q ? q : "";
    for (int i = 0; i < 256; i++) {
        if (!qbusy[i].query[0] && !qbusy[i].open) {
            snprintf(qbusy[i].query, sizeof qbusy[i].query, "%s", *q ? q : "-");
            return i;
        }
        if (strcmp(qbusy[i].query, *q ? q : "-") == 0)
            return i;
    }
    return 255;
}

static void reply(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Status", b);
    evbuffer_free(b);
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct delayed *d = arg;
    reply(d->req, 200, "slow ok");
    busy--;
    qbusy[d->slot].open--;
    event_free(d->ev);
    free(d);
}

/* evhttp does not notice a client that closes while its request waits:
 * watch the socket ourselves (readable and recv() == 0: closed). */
struct hang {
    struct event *ev;
    char *job;
};

static void hang_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct hang *h = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    printf("CLOSED path=/hang job=%s\n", h->job);
    fflush(stdout);
    event_free(h->ev);
    free(h->job);
    free(h);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void handle(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *job = evhttp_find_header(in, "Ingot-Job-Id");
    const char *attempt = evhttp_find_header(in, "Ingot-Attempt");
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(ib);
    unsigned char *body = evbuffer_pullup(ib, -1);
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, uri);
    const char *sig = verify(evhttp_find_header(in, "Ingot-Signature"), url, body ? body : (unsigned char *)"", blen);
    const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    int mi = 0;
    for (int c = evhttp_request_get_command(req); c > 1; c >>= 1)
        mi++;
    int slot = query_slot(uri);
    bool slow = strncmp(uri, "/slow/", 6) == 0;
    if (slow) {
        busy++;
        qbusy[slot].open++;
    }
    printf("REQ job=%s attempt=%s method=%s path=%s sig=%s t=%lld busy=%d qbusy=%d\n", job ? job : "-",
           attempt ? attempt : "-", methods[mi < 9 ? mi : 0], uri, sig, now_ms(), busy, qbusy[slot].open);
    fflush(stdout);
    char path[1024];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(uri, "?"), uri); /* routes ignore the query */
    int n = bump(job ? job : "-", path);
    if (strcmp(path, "/ok") == 0) {
        reply(req, 200, "ok");
    } else if (strncmp(path, "/status/", 8) == 0) {
        const char *p = path + 8;
        int status = 200;
        for (int i = 1; *p; i++) {
            status = atoi(p);
            const char *comma = strchr(p, ',');
            if (i == n || !comma)
                break;
            p = comma + 1;
        }
        reply(req, status, "status");
    } else if (strncmp(path, "/retry-after/", 13) == 0) {
        if (n == 1) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", path + 13);
            reply(req, 429, "slow down");
        } else {
            reply(req, 200, "ok after wait");
        }
    } else if (strncmp(path, "/slow/", 6) == 0) {
        struct delayed *d = calloc(1, sizeof *d);
        d->req = req;
        d->slot = slot;
        d->ev = evtimer_new(base, delayed_cb, d);
        long ms = atol(path + 6);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(d->ev, &tv);
    } else if (strcmp(path, "/hang") == 0) {
        /* never answered; says when the client gives up */
        struct hang *h = calloc(1, sizeof *h);
        h->job = strdup(job ? job : "-");
        evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evhttp_request_get_connection(req)));
        h->ev = event_new(base, fd, EV_READ | EV_PERSIST, hang_read_cb, h);
        event_add(h->ev, NULL);
    } else if (strcmp(path, "/echo") == 0) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add(b, body ? (const char *)body : "", blen);
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else {
        reply(req, 404, "no such path");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: target PORT SECRET\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    secret = argv[2];
    base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http, handle, NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1]));
    if (!bs) {
        perror("target: bind");
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("port %d\n", port);
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
