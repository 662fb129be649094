#include "httpd.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"

#define MAX_PARAMS 4
#define MAX_STATUS_SERIES 16

struct status_series {
    int status;
    struct metric_series *count;
};

struct route {
    unsigned methods;
    const char *pattern;
    unsigned flags;
    httpd_handler_fn fn;
    void *arg;
    struct metric_series *latency;
    struct status_series statuses[MAX_STATUS_SERIES];
    size_t nstatuses;
    struct route *next;
};

struct httpd {
    struct loop *loop;
    struct metrics *metrics;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct route *routes, *routes_tail;
    struct route unmatched; /* metrics bucket for 404/405 */
    struct metric_family *req_family, *lat_family, *inflight_family;
    struct metric_series *inflight_series;
    size_t inflight;
    size_t flushing; /* replies handed to evhttp, not yet on the wire */
    int port;
    bool draining;
    uint64_t rng; /* request ids: splitmix64 seeded from OpenSSL */
};

struct http_req {
    struct httpd *h;
    struct evhttp_request *ev;
    struct route *route;
    unsigned method;
    int64_t start_us;
    char id[40];
    const char *param_names[MAX_PARAMS];
    size_t param_name_lens[MAX_PARAMS];
    char *param_values[MAX_PARAMS];
    size_t nparams;
    struct evkeyvalq query;
    bool query_parsed;
};

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned method_of(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return HTTP_M_GET;
    case EVHTTP_REQ_POST: return HTTP_M_POST;
    case EVHTTP_REQ_PUT: return HTTP_M_PUT;
    case EVHTTP_REQ_DELETE: return HTTP_M_DELETE;
    case EVHTTP_REQ_HEAD: return HTTP_M_HEAD;
    case EVHTTP_REQ_PATCH: return HTTP_M_PATCH;
    default: return 0;
    }
}

static const char *method_name(unsigned m)
{
    switch (m) {
    case HTTP_M_GET: return "GET";
    case HTTP_M_POST: return "POST";
    case HTTP_M_PUT: return "PUT";
    case HTTP_M_DELETE: return "DELETE";
    case HTTP_M_HEAD: return "HEAD";
    case HTTP_M_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

/* Matches path against pattern, filling params on success. */
static bool route_match(const char *pattern, const char *path, struct http_req *r)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seg = strcspn(s, "/");
            if (!close || seg == 0 || n >= MAX_PARAMS)
                goto nomatch;
            r->param_names[n] = p + 1;
            r->param_name_lens[n] = (size_t)(close - p - 1);
            char *raw = xstrndup(s, seg);
            r->param_values[n] = evhttp_uridecode(raw, 0, NULL);
            free(raw);
            n++;
            p = close + 1;
            s += seg;
            continue;
        }
        if (*p != *s)
            goto nomatch;
        p++;
        s++;
    }
    if (*p || *s)
        goto nomatch;
    r->nparams = n;
    return true;
nomatch:
    for (size_t i = 0; i < n; i++) {
        free(r->param_values[i]);
        r->param_values[i] = NULL;
    }
    return false;
}

static void req_free(struct http_req *r)
{
    for (size_t i = 0; i < r->nparams; i++)
        free(r->param_values[i]);
    if (r->query_parsed)
        evhttp_clear_headers(&r->query);
    free(r);
}

static struct metric_series *status_series(struct httpd *h, struct route *rt, int status)
{
    for (size_t i = 0; i < rt->nstatuses; i++)
        if (rt->statuses[i].status == status)
            return rt->statuses[i].count;
    char labels[256];
    snprintf(labels, sizeof labels, "route=\"%s\",status=\"%d\"", rt->pattern, status);
    struct metric_series *s = metrics_series(h->req_family, labels);
    if (rt->nstatuses < MAX_STATUS_SERIES)
        rt->statuses[rt->nstatuses++] = (struct status_series){status, s};
    return s;
}

static void route_metrics_init(struct httpd *h, struct route *rt)
{
    char labels[256];
    snprintf(labels, sizeof labels, "route=\"%s\"", rt->pattern);
    rt->latency = metrics_series(h->lat_family, labels);
}

struct httpd *httpd_new(struct loop *l, struct metrics *m, const struct httpd_opts *o)
{
    struct httpd *h = xcalloc(1, sizeof *h);
    h->loop = l;
    h->metrics = m;
    h->http = evhttp_new(loop_base(l));
    if (!h->http)
        abort();
    if (util_random_bytes(&h->rng, sizeof h->rng) < 0)
        h->rng = (uint64_t)time_real_us();
    evhttp_set_max_body_size(h->http, (ev_ssize_t)o->max_body);
    evhttp_set_max_headers_size(h->http, (ev_ssize_t)64 * 1024);
    struct timeval tv = loop_tv(o->idle_timeout_ms);
    evhttp_set_timeout_tv(h->http, &tv);
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    h->req_family = metrics_family(m, METRIC_COUNTER, "ingot_http_requests_total",
                                   "HTTP requests answered, by route and status.");
    h->lat_family = metrics_family(m, METRIC_HISTOGRAM, "ingot_http_request_duration_seconds",
                                   "HTTP request latency, by route.");
    h->inflight_family = metrics_family(m, METRIC_GAUGE, "ingot_http_requests_in_flight",
                                        "HTTP requests being handled.");
    h->inflight_series = metrics_series(h->inflight_family, "");
    h->unmatched.pattern = "unmatched";
    route_metrics_init(h, &h->unmatched);
    return h;
}

void httpd_free(struct httpd *h)
{
    if (!h)
        return;
    evhttp_free(h->http);
    struct route *rt = h->routes;
    while (rt) {
        struct route *n = rt->next;
        free(rt);
        rt = n;
    }
    free(h);
}

void httpd_route(struct httpd *h, unsigned methods, const char *pattern, unsigned flags,
                 httpd_handler_fn fn, void *arg)
{
    struct route *rt = xcalloc(1, sizeof *rt);
    rt->methods = methods;
    rt->pattern = pattern;
    rt->flags = flags;
    rt->fn = fn;
    rt->arg = arg;
    route_metrics_init(h, rt);
    if (h->routes_tail)
        h->routes_tail->next = rt;
    else
        h->routes = rt;
    h->routes_tail = rt;
}

static void make_request_id(struct httpd *h, struct http_req *r)
{
    const char *in = evhttp_find_header(evhttp_request_get_input_headers(r->ev), "X-Request-Id");
    if (in) {
        size_t n = strlen(in);
        bool ok = n > 0 && n < sizeof r->id;
        for (size_t i = 0; ok && i < n; i++) {
            char c = in[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == ':';
        }
        if (ok) {
            memcpy(r->id, in, n + 1);
            return;
        }
    }
    uint64_t v = splitmix64(&h->rng);
    snprintf(r->id, sizeof r->id, "req_%016llx", (unsigned long long)v);
}

static void dispatch_cb(struct evhttp_request *ev, void *arg)
{
    struct httpd *h = arg;
    struct http_req *r = xcalloc(1, sizeof *r);
    r->h = h;
    r->ev = ev;
    r->start_us = time_mono_us();
    r->method = method_of(evhttp_request_get_command(ev));
    make_request_id(h, r);
    h->inflight++;
    metrics_set(h->inflight_series, (double)h->inflight);

    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
    if (!path || !*path)
        path = "/";
    bool path_matched = false;
    for (struct route *rt = h->routes; rt; rt = rt->next) {
        if (!route_match(rt->pattern, path, r))
            continue;
        path_matched = true;
        unsigned m = r->method == HTTP_M_HEAD ? HTTP_M_GET : r->method;
        if (rt->methods & m) {
            r->route = rt;
            rt->fn(r, rt->arg);
            return;
        }
        for (size_t i = 0; i < r->nparams; i++) {
            free(r->param_values[i]);
            r->param_values[i] = NULL;
        }
        r->nparams = 0;
    }
    r->route = &h->unmatched;
    if (path_matched)
        http_reply_error(r, 405, "invalid_request_error", NULL, "method_not_allowed",
                         "method %s is not allowed on %s", method_name(r->method), path);
    else
        http_reply_error(r, 404, "invalid_request_error", NULL, "not_found",
                         "no route for %s", path);
}

int httpd_listen(struct httpd *h, const char *host, int port, char *err, size_t errlen)
{
    evhttp_set_gencb(h->http, dispatch_cb, h);
    h->bound = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
    if (!h->bound) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(h->bound);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_stop_accepting(struct httpd *h)
{
    h->draining = true;
    if (h->bound) {
        evhttp_del_accept_socket(h->http, h->bound);
        h->bound = NULL;
    }
}

size_t httpd_inflight(const struct httpd *h)
{
    return h->inflight + h->flushing;
}

static void reply_flushed_cb(struct evhttp_request *ev, void *arg)
{
    (void)ev;
    struct httpd *h = arg;
    h->flushing--;
    loop_work_done(h->loop);
}

const char *http_req_id(const struct http_req *r)
{
    return r->id;
}

unsigned http_req_method(const struct http_req *r)
{
    return r->method;
}

const char *http_req_path(const struct http_req *r)
{
    const char *p = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->ev));
    return p && *p ? p : "/";
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *http_req_param(const struct http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nparams; i++)
        if (r->param_name_lens[i] == n && strncmp(r->param_names[i], name, n) == 0)
            return r->param_values[i];
    return NULL;
}

const char *http_req_query(struct http_req *r, const char *name)
{
    if (!r->query_parsed) {
        TAILQ_INIT(&r->query);
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev));
        if (q)
            evhttp_parse_query_str(q, &r->query);
        r->query_parsed = true;
    }
    return evhttp_find_header(&r->query, name);
}

const char *http_req_body(struct http_req *r, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(r->ev);
    *len = evbuffer_get_length(b);
    return *len ? (const char *)evbuffer_pullup(b, -1) : "";
}

int64_t http_req_start_us(const struct http_req *r)
{
    return r->start_us;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

static void access_log(struct http_req *r, int status, size_t bytes, double secs)
{
    enum log_level lvl = (r->route->flags & HTTPD_ROUTE_QUIET) ? LOG_DEBUG : LOG_INFO;
    if (status >= 500)
        lvl = LOG_WARN;
    if (!log_enabled(lvl))
        return;
    struct sbuf f;
    sbuf_init(&f);
    sbuf_printf(&f, "\"method\":\"%s\",\"path\":", method_name(r->method));
    sbuf_json_str(&f, http_req_path(r));
    sbuf_printf(&f, ",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,\"ms\":%.3f",
                r->route->pattern, status, bytes, secs * 1000.0);
    log_write(lvl, r->id, f.data, "request");
    sbuf_deinit(&f);
}

void http_reply(struct http_req *r, int status, const char *content_type, const char *body,
                size_t len)
{
    struct httpd *h = r->h;
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
    if (content_type)
        evhttp_add_header(out, "Content-Type", content_type);
    evhttp_add_header(out, "X-Request-Id", r->id);
    if (h->draining)
        evhttp_add_header(out, "Connection", "close");
    if (r->method != HTTP_M_HEAD && len)
        evbuffer_add(evhttp_request_get_output_buffer(r->ev), body, len);
    /* A drain must not exit before the reply left: count it until evhttp
     * says it was written (a client already gone gets nothing). */
    if (evhttp_request_get_connection(r->ev)) {
        h->flushing++;
        evhttp_request_set_on_complete_cb(r->ev, reply_flushed_cb, h);
    }
    evhttp_send_reply(r->ev, status, NULL, NULL);

    double secs = (double)(time_mono_us() - r->start_us) / 1e6;
    metrics_add(status_series(h, r->route, status), 1);
    metrics_observe(r->route->latency, secs);
    access_log(r, status, len, secs);
    h->inflight--;
    metrics_set(h->inflight_series, (double)h->inflight);
    req_free(r);
    loop_work_done(h->loop);
}

void http_reply_json(struct http_req *r, int status, const char *json, size_t len)
{
    http_reply(r, status, "application/json", json, len);
}

void http_reply_error(struct http_req *r, int status, const char *type, const char *param,
                      const char *code, const char *fmt, ...)
{
    struct sbuf msg, body;
    va_list ap;
    sbuf_init(&msg);
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sbuf_init(&body);
    sbuf_puts(&body, "{\"error\":{\"message\":");
    sbuf_json_str(&body, msg.data ? msg.data : "");
    sbuf_puts(&body, ",\"type\":");
    sbuf_json_str(&body, type);
    sbuf_puts(&body, ",\"param\":");
    sbuf_json_str(&body, param);
    sbuf_puts(&body, ",\"code\":");
    sbuf_json_str(&body, code);
    sbuf_puts(&body, "}}");
    http_reply_json(r, status, body.data, body.len);
    sbuf_deinit(&body);
    sbuf_deinit(&msg);
}
