#include "httpc.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dlist.h"
#include "log.h"
#include "loop.h"
#include "netname.h"
#include "ssrf.h"
#include "tlsca.h"
#include "url.h"

struct transfer {
    struct httpc *c;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct sbuf resp;
    size_t max_body;
    bool truncated, stop_at_max, cut;
    httpc_cb cb;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
    const struct ssrf *ssrf;
    struct url_http url;        /* with ssrf: the parse the transfer uses */
    bool opened;                /* the guard let a socket open */
    bool prereq_refused;        /* the guard stopped the request itself */
    char refused[320];          /* why the guard refused, "" if it did not */
    char *content_type, *retry_after;
    httpc_head_cb head;
    httpc_data_cb data;
    bool keep_headers, head_called, streaming, stopped;
    struct httpc_header *hdrs;  /* owned names and values */
    size_t nhdrs, caphdrs;
    struct transfer *next, *prev;
};

/* Easy handles kept (curl_easy_reset) instead of made per request: the
 * connections are the multi's, so reuse is unchanged. */
#define HTTPC_POOL 64

struct sock_ctx {
    struct event *ev;
    curl_socket_t fd;
};

struct httpc {
    struct loop *loop;
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    char *ca_bundle;
    struct transfer *head;
    size_t inflight;
    long max_conns;
    CURL *pool[HTTPC_POOL];     /* easy handles reset for the next transfer */
    size_t npool;
};

static void headers_clear(struct transfer *t)
{
    for (size_t i = 0; i < t->nhdrs; i++) {
        free((char *)(uintptr_t)t->hdrs[i].name);
        free((char *)(uintptr_t)t->hdrs[i].value);
    }
    t->nhdrs = 0;
}

static void transfer_free(struct transfer *t)
{
    headers_clear(t);
    free(t->hdrs);
    /* Before the CURLU it reads: a reset handle forgets every option. */
    if (t->easy && t->c->npool < HTTPC_POOL) {
        curl_easy_reset(t->easy);
        t->c->pool[t->c->npool++] = t->easy;
    } else {
        curl_easy_cleanup(t->easy);
    }
    url_http_deinit(&t->url);
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t->content_type);
    free(t->retry_after);
    sbuf_deinit(&t->resp);
    free(t);
}

static void check_done(struct httpc *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode rc = msg->data.result;
        if (rc == CURLE_WRITE_ERROR && t->cut)
            rc = CURLE_OK; /* stopped at max_body, as asked */
        curl_multi_remove_handle(c->multi, t->easy);
        struct httpc_response r = {0};
        if (rc == CURLE_OK) {
            curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
        } else {
            r.error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
            if (rc == CURLE_UNSUPPORTED_PROTOCOL && !c->ca_bundle)
                r.error = TLSCA_OFF_MSG;
            if (rc == CURLE_COULDNT_RESOLVE_HOST && !netname_have_resolv_conf()) {
                char what[CURL_ERROR_SIZE];
                snprintf(what, sizeof what, "%s", r.error);
                snprintf(t->errbuf, sizeof t->errbuf,
                         "%.120s (no nameserver: %.40s does not exist; use an IP address or give "
                         "the container a resolv.conf)", what, netname_resolv_conf());
                r.error = t->errbuf;
            }
        }
        curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &r.total_s);
        r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        long reqsize = 0;
        curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &reqsize);
        r.sent = reqsize > 0 || r.status > 0;
        r.stopped = t->stopped;
        if (t->stopped)
            r.error = "stopped by the caller";
        r.headers = t->hdrs;
        r.nheaders = t->nhdrs;
        r.body = t->resp.data ? t->resp.data : "";
        r.body_len = t->resp.len;
        r.body_truncated = t->truncated;
        r.content_type = t->content_type;
        r.retry_after = t->retry_after;
        /* A refused address only explains a failure when no allowed one was
         * tried instead (happy eyeballs opens several). */
        if (rc != CURLE_OK && t->refused[0] && (t->prereq_refused || !t->opened)) {
            r.refused = true;
            r.error = t->refused;
            r.status = 0;
        }
        DLIST_REMOVE(c->head, t);
        c->inflight--;
        t->cb(&r, t->arg);
        transfer_free(t);
        loop_work_done(c->loop);
    }
}

static void event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct httpc *c = arg;
    int action = 0, running;
    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, action, &running);
    check_done(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct httpc *c = arg;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: only arms our one timer, never calls libcurl. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct httpc *c = userp;
    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    struct timeval tv = loop_tv(timeout_ms);
    evtimer_add(c->timer, &tv);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: maps curl's interest to a persistent event. */
static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct httpc *c = userp;
    struct sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            event_free(sc->ev);
            free(sc);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    short flags = EV_PERSIST;
    if (what & CURL_POLL_IN)
        flags |= EV_READ;
    if (what & CURL_POLL_OUT)
        flags |= EV_WRITE;
    if (!sc) {
        sc = xcalloc(1, sizeof *sc);
        sc->fd = s;
        sc->ev = event_new(c->base, s, flags, event_cb, c);
        if (!sc->ev)
            abort();
        curl_multi_assign(c->multi, s, sc);
    } else {
        event_del(sc->ev);
        event_assign(sc->ev, c->base, s, flags, event_cb, c);
    }
    event_add(sc->ev, NULL);
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->streaming) {
        if (t->data(ptr, n, t->arg) < 0) {
            t->stopped = true;
            return 0; /* not n: curl ends the transfer with a write error */
        }
        return n;
    }
    size_t room = t->resp.len < t->max_body ? t->max_body - t->resp.len : 0;
    if (n > room) {
        t->truncated = true;
        sbuf_append(&t->resp, ptr, room);
        if (t->stop_at_max) {
            t->cut = true;
            return 0; /* curl ends the transfer (a write error, made OK below) */
        }
    } else {
        sbuf_append(&t->resp, ptr, n);
    }
    return n; /* keep reading so the connection stays reusable */
}

/* Trims a header value (leading blanks, trailing CR/LF/blanks). */
static void header_value(const char *v, size_t vl, const char **out, size_t *outl)
{
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    *out = v;
    *outl = vl;
}

/* The whole header list, for head and keep_headers: a status line starts
 * a new response (an interim 1xx is forgotten), the empty line ends it. */
static bool header_collect(struct transfer *t, const char *buf, size_t len)
{
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        headers_clear(t);
        return true;
    }
    if (len <= 2 && (len == 0 || buf[0] == '\r' || buf[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status < 200 || !t->head || t->head_called)
            return true;
        t->head_called = true;
        int rc = t->head(status, t->hdrs, t->nhdrs, t->arg);
        if (rc == HTTPC_STOP) {
            t->stopped = true;
            return false;
        }
        t->streaming = rc == HTTPC_STREAM && t->data;
        return true;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon || t->nhdrs >= 200)
        return true;
    const char *v;
    size_t vl;
    header_value(colon + 1, len - (size_t)(colon + 1 - buf), &v, &vl);
    if (t->nhdrs == t->caphdrs) {
        t->caphdrs = t->caphdrs ? t->caphdrs * 2 : 16;
        t->hdrs = xrealloc(t->hdrs, t->caphdrs * sizeof *t->hdrs);
    }
    t->hdrs[t->nhdrs].name = xstrndup(buf, (size_t)(colon - buf));
    t->hdrs[t->nhdrs].value = xstrndup(v, vl < 1024 ? vl : 1024);
    t->nhdrs++;
    return true;
}

/* Keeps the response headers the caller asks about. */
static size_t header_cb(char *buf, size_t size, size_t n, void *userdata)
{
    struct transfer *t = userdata;
    size_t len = size * n;
    if ((t->keep_headers || t->head) && !header_collect(t, buf, len))
        return 0; /* not len: curl ends the transfer */
    static const struct {
        const char *name;
        size_t off;
    } keep[] = {{"content-type:", offsetof(struct transfer, content_type)},
                {"retry-after:", offsetof(struct transfer, retry_after)}};
    for (size_t i = 0; i < ARRAY_LEN(keep); i++) {
        size_t nl = strlen(keep[i].name);
        if (len > nl && strncasecmp(buf, keep[i].name, nl) == 0) {
            const char *v;
            size_t vl;
            header_value(buf + nl, len - nl, &v, &vl);
            char **slot = (char **)(void *)((char *)t + keep[i].off);
            free(*slot);
            *slot = xstrndup(v, vl < 256 ? vl : 256);
        }
    }
    return len;
}

/* CURLOPT_OPENSOCKETFUNCTION: the address is final here (after DNS and
 * curl's own numeric normalisation), so the guard refuses before a single
 * packet leaves. */
static curl_socket_t opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = clientp;
    (void)purpose;
    if (!ssrf_allowed(t->ssrf, &a->addr, t->url.host, t->refused, sizeof t->refused))
        return CURL_SOCKET_BAD;
    t->opened = true;
    return socket(a->family, a->socktype, a->protocol);
}

/* CURLOPT_PREREQFUNCTION: runs on the connection the request will use,
 * also when it is a kept-alive one opened by another transfer (possibly
 * one without the guard), where opensocket_cb never ran. */
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    struct transfer *t = clientp;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    if (ssrf_allowed_ip(t->ssrf, primary_ip, t->url.host, t->refused, sizeof t->refused))
        return CURL_PREREQFUNC_OK;
    t->prereq_refused = true;
    return CURL_PREREQFUNC_ABORT;
}

/* CURLOPT_RESOLVER_START_FUNCTION: with neither resolv.conf nor hosts a
 * name can only fail, and the C library would first wait out its timeout
 * (5 s with musl) asking 127.0.0.1: fail at once (check_done says why). */
static int resolver_start_cb(void *resolver_state, void *reserved, void *userdata)
{
    (void)resolver_state;
    (void)reserved;
    const struct transfer *t = userdata;
    const char *h = t->url.host;
    if (!h || h[0] == '[' || url_host_is_ip(h) || netname_is_localhost(h)) /* [v6] */
        return 0;
    return netname_have_resolv_conf() || netname_have_hosts() ? 0 : 1;
}

struct httpc *httpc_new(struct loop *l, const char *ca_bundle, size_t max_conns)
{
    struct httpc *c = xcalloc(1, sizeof *c);
    c->max_conns = max_conns ? (long)max_conns : 64;
    c->loop = l;
    c->base = loop_base(l);
    c->multi = curl_multi_init();
    c->timer = evtimer_new(c->base, timer_cb, c);
    if (!c->multi || !c->timer)
        abort();
    const char *ca = tlsca_file(ca_bundle);
    c->ca_bundle = ca ? xstrdup(ca) : NULL;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* Keep one idle connection per possible transfer: curl's default (4 x
     * the handles added at the moment) shrinks whenever fewer jobs are in
     * flight and closed keep-alive connections that the next claim needed,
     * (measured at concurrency 1000: a new connection per five jobs or so). */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_conns);
    return c;
}

int httpc_send(struct httpc *c, const struct httpc_request *req, httpc_cb cb, void *arg)
{
    struct transfer *t = xcalloc(1, sizeof *t);
    t->c = c;
    t->cb = cb;
    t->arg = arg;
    t->max_body = req->max_body ? req->max_body : (size_t)1024 * 1024;
    t->stop_at_max = req->stop_at_max;
    t->head = req->head;
    t->data = req->data;
    t->keep_headers = req->keep_headers;
    sbuf_init(&t->resp);
    t->easy = c->npool ? c->pool[--c->npool] : curl_easy_init();
    if (!t->easy) {
        free(t);
        return -1;
    }
    CURL *e = t->easy;
    if (req->ssrf) {
        char why[200];
        if (url_http_parse(req->url, &t->url, why, sizeof why) < 0) {
            log_warn("httpc: refusing a request whose URL fails validation: %s", why);
            transfer_free(t);
            return -1;
        }
        t->ssrf = req->ssrf;
        curl_easy_setopt(e, CURLOPT_CURLU, t->url.curlu);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
        curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
        curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
        curl_easy_setopt(e, CURLOPT_RESOLVER_START_FUNCTION, resolver_start_cb);
        curl_easy_setopt(e, CURLOPT_RESOLVER_START_DATA, t);
        /* A proxy from the environment (http_proxy...) would make the
         * address checked the proxy's, not the target's. */
        curl_easy_setopt(e, CURLOPT_PROXY, "");
    } else {
        curl_easy_setopt(e, CURLOPT_URL, req->url);
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    /* No CA file (CA_BUNDLE=none): no https at all, not an unverified one. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->ca_bundle ? "http,https" : "http");
    /* Never follow: a redirect is the target's answer (3xx), and a hop
     * elsewhere would be a URL nobody validated. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ingot");
    if (c->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);
    else
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL); /* not even curl's built-in path */
    if (req->method && strcmp(req->method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        t->body = xstrndup(req->body, req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    for (const char *const *h = req->headers; h && *h; h++)
        t->headers = curl_slist_append(t->headers, *h);
    if (t->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        transfer_free(t);
        return -1;
    }
    DLIST_PUSH(c->head, t);
    c->inflight++;
    return 0;
}

bool httpc_abort(struct httpc *c, httpc_cb cb, void *arg)
{
    struct transfer *t = c->head;
    while (t && !(t->cb == cb && t->arg == arg))
        t = t->next;
    if (!t)
        return false;
    /* An unfinished transfer's connection cannot be reused: curl closes it. */
    curl_multi_remove_handle(c->multi, t->easy);
    DLIST_REMOVE(c->head, t);
    c->inflight--;
    transfer_free(t);
    loop_work_done(c->loop);
    return true;
}

size_t httpc_inflight(const struct httpc *c)
{
    return c->inflight;
}

void httpc_free(struct httpc *c)
{
    if (!c)
        return;
    while (c->head) {
        struct transfer *t = c->head;
        c->head = t->next;
        curl_multi_remove_handle(c->multi, t->easy);
        struct httpc_response r = {.error = "shutting down", .body = ""};
        t->cb(&r, t->arg);
        transfer_free(t);
    }
    while (c->npool)
        curl_easy_cleanup(c->pool[--c->npool]);
    curl_multi_cleanup(c->multi);
    event_free(c->timer);
    free(c->ca_bundle);
    free(c);
}
