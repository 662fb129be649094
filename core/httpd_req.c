/* Routes, dispatch and the request accessors; replies are in httpd_reply.c. */
#include "httpd_req.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop.h"
#include "metrics.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned method_bit(enum http_method m)
{
    switch (m) {
    case HTTP_METHOD_GET: return HTTP_M_GET;
    case HTTP_METHOD_POST: return HTTP_M_POST;
    case HTTP_METHOD_PUT: return HTTP_M_PUT;
    case HTTP_METHOD_DELETE: return HTTP_M_DELETE;
    case HTTP_METHOD_HEAD: return HTTP_M_HEAD;
    case HTTP_METHOD_PATCH: return HTTP_M_PATCH;
    default: return 0;
    }
}


void httpd_route_metrics_init(struct httpd *h, struct route *rt)
{
    char labels[256];
    snprintf(labels, sizeof labels, "route=\"%s\"", rt->pattern);
    rt->latency = metrics_series(h->lat_family, labels);
}

/* The refusals route_try makes before walking the pattern. A pattern
 * route_match never matches (a '{' without '}', too many params) keeps
 * the prefix as its bound: any lower bound is right there. */
static void route_prepare(struct route *rt)
{
    const char *p = rt->pattern;
    const char *brace = strchr(p, '{');
    rt->pat_len = strlen(p);
    rt->literal = !brace;
    rt->prefix_len = brace ? (size_t)(brace - p) : rt->pat_len;
    rt->min_len = rt->prefix_len;
    rt->len_lo = rt->pat_len;
    rt->len_span = 0;
    if (!brace)
        return;
    rt->len_lo = rt->prefix_len;
    rt->len_span = SIZE_MAX - rt->len_lo;
    size_t min = 0, params = 0;
    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close || ++params > HTTPD_MAX_PARAMS)
                return;
            min++; /* a segment of one byte at least */
            p = close + 1;
            continue;
        }
        min++;
        p++;
    }
    rt->min_len = min;
    rt->len_lo = min;
    rt->len_span = SIZE_MAX - min;
}

void httpd_route(struct httpd *h, unsigned methods, const char *pattern, unsigned flags,
                 httpd_handler_fn fn, void *arg)
{
    struct route *rt = xcalloc(1, sizeof *rt);
    rt->methods = methods;
    rt->pattern = pattern;
    route_prepare(rt);
    rt->flags = flags;
    rt->fn = fn;
    rt->arg = arg;
    httpd_route_metrics_init(h, rt);
    if (h->routes_tail)
        h->routes_tail->next = rt;
    else
        h->routes = rt;
    h->routes_tail = rt;
    if (flags & HTTPD_ROUTE_STREAM_BODY) { /* looked through for every request with a body */
        if (h->stream_tail)
            h->stream_tail->next_stream = rt;
        else
            h->stream_routes = rt;
        h->stream_tail = rt;
    }
}

void httpd_route_stream(struct httpd *h, unsigned methods, const char *pattern, uint64_t max_body,
                        httpd_handler_fn fn, void *arg)
{
    httpd_route(h, methods, pattern, HTTPD_ROUTE_STREAM_BODY, fn, arg);
    h->routes_tail->max_body = max_body;
}

const char *httpd_head_value(const struct conn *c, const char *name)
{
    if (c->ph.step != HTTP_PARSE_DONE)
        return NULL;
    const struct http_header *x = http_head_find(&c->ph, c->head, name);
    return x ? c->head + x->value.off : NULL;
}

static void make_request_id(struct httpd *h, struct http_req *r)
{
    const char *in = httpd_head_value(r->c, "X-Request-Id");
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
    /* "req_" and 16 hex digits, as %016llx (every request: no printf),
     * a byte (two digits) at a time */
    static const char hex[] = "0123456789abcdef";
    _Static_assert(sizeof r->id >= 21, "request id room");
    memcpy(r->id, "req_", 4);
    for (int i = 14; i >= 0; i -= 2, v >>= 8) {
        r->id[4 + i] = hex[(v >> 4) & 15];
        r->id[5 + i] = hex[v & 15];
    }
    r->id[20] = '\0';
}

/* NUL-terminates the head's pieces in place so accessors hand out C
 * strings, and splits the target into path and query. */
static void terminate_head(struct conn *c, struct http_req *r)
{
    char *b = c->head;
    struct http_head *p = &c->ph;
    for (size_t i = 0; i < p->nheaders; i++) {
        b[p->headers[i].name.off + p->headers[i].name.len] = '\0';
        b[p->headers[i].value.off + p->headers[i].value.len] = '\0';
    }
    b[p->method_name.off + p->method_name.len] = '\0';
    char *t = b + p->target.off;
    t[p->target.len] = '\0';
    char *q = NULL;
    if (*t != '/' && *t != '*') {
        /* absolute-form: drop scheme and authority. The authority ends at
         * the first '/', '?' or '#' (RFC 3986 3.2): "http://a?x=/health"
         * is the path "/" with a query, not the path "/health". */
        static char root[] = "/";
        char *s = strstr(t, "://");
        char *a = s ? s + 3 : t;
        a += strcspn(a, "/?#");
        if (*a == '/') {
            t = a;
        } else {
            if (*a == '?')
                q = a + 1;
            t = root;
        }
    }
    if (!q) {
        q = strchr(t, '?');
        if (q)
            *q++ = '\0';
    }
    char *frag = strchr(q ? q : t, '#');
    if (frag)
        *frag = '\0';
    r->path = t;
    r->path_len = strlen(t);
    r->query = q;
}

void httpd_req_begin(struct conn *c)
{
    struct httpd *h = c->h;
    struct http_req *r = &c->req;
    httpd_req_reset(r);
    r->active = true;
    r->start_us = time_mono_us();
    r->route = &h->unmatched;
    if (c->ph.step == HTTP_PARSE_DONE) {
        terminate_head(c, r);
        r->method = method_bit(c->ph.method);
    }
    make_request_id(h, r);
    h->inflight++;
    metrics_set(h->inflight_series, (double)h->inflight);
}

void httpd_req_reset(struct http_req *r)
{
    r->route = NULL;
    r->method = 0;
    r->active = false;
    r->path = r->query = NULL;
    r->path_len = 0;
    r->nparams = 0;
    r->nq = 0;
    r->client[0] = '\0';
    r->drain_fn = NULL;
    r->body_stream = r->body_reading = r->body_paused = r->body_done = r->continue_sent = false;
    r->body_fn = NULL;
    sbuf_reset(&r->scratch);
    sbuf_reset(&r->hdrs);
}

void httpd_req_deinit(struct http_req *r)
{
    sbuf_deinit(&r->scratch);
    sbuf_deinit(&r->hdrs);
}

const char *httpd_req_method_text(const struct http_req *r)
{
    const struct conn *c = r->c;
    return c->ph.step == HTTP_PARSE_DONE ? c->head + c->ph.method_name.off : "-";
}

/* Matches path against pattern, recording the raw {name} segments. */
static bool route_match(const char *pattern, const char *path, struct http_req *r)
{
    const char *p = pattern, *s = path;
    size_t n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seg = strcspn(s, "/");
            if (!close || seg == 0 || n >= HTTPD_MAX_PARAMS)
                return false;
            r->param_names[n] = p + 1;
            r->param_name_lens[n] = (size_t)(close - p - 1);
            r->param_raw[n] = s;
            r->param_raw_lens[n] = seg;
            n++;
            p = close + 1;
            s += seg;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    r->nparams = n;
    return true;
}

/* Inlined in the dispatch loop: a route that does not match costs a
 * length check, and for most the last byte of its prefix. */
static inline bool route_try(const struct route *rt, const char *path, size_t path_len,
                             struct http_req *r)
{
    /* literal: exactly pat_len; with params: min_len or more */
    if (path_len - rt->len_lo > rt->len_span)
        return false;
    /* from the end of the prefix back: routes share their start ("/v1/") */
    for (size_t i = rt->prefix_len; i-- > 0;)
        if (path[i] != rt->pattern[i])
            return false;
    if (rt->literal) {
        r->nparams = 0;
        return true;
    }
    return route_match(rt->pattern + rt->prefix_len, path + rt->prefix_len, r);
}

bool httpd_route_try(const struct route *rt, const char *path, size_t path_len, struct http_req *r)
{
    return route_try(rt, path, path_len, r);
}

/* Decodes into scratch (reserved beforehand, so pointers stay put). A value
 * used as a C string must not hide a NUL, and must be UTF-8. */
static const char *decode(struct http_req *r, const char *s, size_t n, bool plus)
{
    char *out = r->scratch.data + r->scratch.len;
    long k = http_pct_decode(s, n, out, plus);
    if (k < 0 || strlen(out) != (size_t)k || !util_utf8_valid(out, (size_t)k))
        return NULL;
    r->scratch.len += (size_t)k + 1;
    return out;
}

static bool decode_params(struct http_req *r)
{
    size_t need = strlen(r->path) + (r->query ? strlen(r->query) : 0) + (size_t)2 * HTTPD_MAX_QUERY + 16;
    sbuf_reset(&r->scratch);
    sbuf_reserve(&r->scratch, need);
    for (size_t i = 0; i < r->nparams; i++) {
        r->param_values[i] = decode(r, r->param_raw[i], r->param_raw_lens[i], false);
        if (!r->param_values[i]) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)r->param_name_lens[i], r->param_names[i]);
            http_reply_error(r, 400, "invalid_request_error", name, "invalid_value",
                             "path parameter %s is malformed, contains NUL or is not UTF-8", name);
            return false;
        }
    }
    for (const char *q = r->query; q && *q;) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        if (len > 0) {
            if (r->nq >= HTTPD_MAX_QUERY) {
                http_reply_error(r, 400, "invalid_request_error", NULL, "invalid_value",
                                 "more than %d query parameters", HTTPD_MAX_QUERY);
                return false;
            }
            const char *k = decode(r, q, klen, true);
            const char *v = k ? decode(r, eq ? eq + 1 : q + len, eq ? len - klen - 1 : 0, true)
                              : NULL;
            if (!v) {
                http_reply_error(r, 400, "invalid_request_error", k, "invalid_value",
                                 "a query parameter is malformed, contains NUL or is not UTF-8");
                return false;
            }
            r->qk[r->nq] = k;
            r->qv[r->nq++] = v;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return true;
}

bool httpd_req_stream_body(struct http_req *r)
{
    unsigned m = r->method == HTTP_M_HEAD ? HTTP_M_GET : r->method;
    if (!r->path)
        return false;
    for (struct route *rt = r->c->h->stream_routes; rt; rt = rt->next_stream) {
        if ((rt->methods & m) &&
            route_try(rt, r->path, r->path_len, r)) {
            r->nparams = 0; /* dispatch matches again */
            r->body_stream = true;
            r->body_max = rt->max_body;
            return true;
        }
    }
    return false;
}

static void allow_header(unsigned methods, char *out, size_t n)
{
    static const struct {
        unsigned bit;
        const char *name;
    } t[] = {{HTTP_M_GET, "GET"},     {HTTP_M_GET, "HEAD"},     {HTTP_M_POST, "POST"},
             {HTTP_M_PUT, "PUT"},     {HTTP_M_PATCH, "PATCH"},  {HTTP_M_DELETE, "DELETE"}};
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(t); i++)
        if (methods & t[i].bit)
            o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "", t[i].name);
}

/* s[0..n) equals lower (lower case) ignoring ASCII case. */
static bool name_ieq(const char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch + 32);
        if (ch != (unsigned char)lower[i])
            return false;
    }
    return true;
}

/* Headers that say one thing: repeated, one party may take the first and
 * another the last (a proxy's key check against ours), so refuse them.
 * The length first: most names are refused by it alone. */
static const char *repeated_header(const struct conn *c)
{
    static const char *const once[] = {"host", "authorization", "content-type",
                                       "idempotency-key", "x-request-id"};
    unsigned seen[ARRAY_LEN(once)] = {0};
    const struct http_head *p = &c->ph;
    for (size_t i = 0; i < p->nheaders; i++) {
        const char *n = c->head + p->headers[i].name.off;
        size_t k;
        switch (p->headers[i].name.len) { /* the one name of that length */
        case 4: k = 0; break;
        case 13: k = 1; break;
        case 12: k = (n[0] | 0x20) == 'c' ? 2 : 4; break;
        case 15: k = 3; break;
        default: continue;
        }
        if (name_ieq(n, once[k], p->headers[i].name.len) && ++seen[k] > 1)
            return once[k];
    }
    return NULL;
}

void httpd_dispatch(struct http_req *r)
{
    struct httpd *h = r->c->h;
    const char *dup = repeated_header(r->c);
    if (dup) {
        r->c->close_after = true;
        http_reply_error(r, 400, "invalid_request_error", dup, "duplicate_header",
                         "the %s header is given more than once", dup);
        return;
    }
    if (r->c->ph.method == HTTP_METHOD_OTHER) {
        http_reply_error(r, 501, "invalid_request_error", NULL, "not_implemented",
                         "this method is not implemented");
        return;
    }
    unsigned m = r->method == HTTP_M_HEAD ? HTTP_M_GET : r->method;
    unsigned allowed = 0;
    bool path_matched = false;
    for (struct route *rt = h->routes; rt; rt = rt->next) {
        if (!route_try(rt, r->path, r->path_len, r))
            continue;
        path_matched = true;
        allowed |= rt->methods;
        if (rt->methods & m) {
            r->route = rt;
            if (decode_params(r))
                rt->fn(r, rt->arg);
            return;
        }
        r->nparams = 0;
    }
    r->route = &h->unmatched;
    if (path_matched) {
        char allow[80];
        allow_header(allowed, allow, sizeof allow);
        http_add_header(r, "Allow", allow);
        http_reply_error(r, 405, "invalid_request_error", NULL, "method_not_allowed",
                         "method %s is not allowed here; allowed: %s", httpd_req_method_text(r), allow);
    } else {
        /* never echo the path: it may hold bytes that are not text */
        http_reply_error(r, 404, "invalid_request_error", NULL, "not_found",
                         "no route matches this path");
    }
}

void httpd_fail(struct conn *c, int status, const char *why)
{
    static const struct {
        int status;
        const char *code;
    } codes[] = {{400, "malformed_request"},      {408, "request_timeout"},
                 {413, "payload_too_large"},      {414, "uri_too_long"},
                 {417, "expectation_failed"},     {431, "headers_too_large"},
                 {501, "not_implemented"},        {505, "http_version_not_supported"}};
    const char *code = "malformed_request";
    for (size_t i = 0; i < ARRAY_LEN(codes); i++)
        if (codes[i].status == status)
            code = codes[i].code;
    if (!c->req.active)
        httpd_req_begin(c);
    c->close_after = true;
    c->server_reply = true;
    http_reply_error(&c->req, status, "invalid_request_error", NULL, code, "%s",
                     why ? why : http_reason(status));
    c->server_reply = false;
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
    return r->path ? r->path : "/";
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    return httpd_head_value(r->c, name);
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
    for (size_t i = 0; i < r->nq; i++)
        if (strcasecmp(r->qk[i], name) == 0)
            return r->qv[i];
    return NULL;
}

size_t http_req_query_count(const struct http_req *r)
{
    return r->nq;
}

const char *http_req_query_name(const struct http_req *r, size_t i)
{
    return i < r->nq ? r->qk[i] : NULL;
}

const char *http_req_route(const struct http_req *r)
{
    return r->route && r->route->pattern ? r->route->pattern : "";
}

const char *http_req_body(struct http_req *r, size_t *len)
{
    *len = r->c->body.len;
    return r->c->body.data ? r->c->body.data : "";
}

int64_t http_req_start_us(const struct http_req *r)
{
    return r->start_us;
}

static bool ip_valid(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

const char *http_req_client(const struct http_req *r)
{
    struct http_req *w = (struct http_req *)r; /* a cache, not a visible change */
    if (w->client[0])
        return w->client;
    const struct conn *c = r->c;
    const struct httpd *h = c->h;
    util_strcpy(w->client, sizeof w->client, c->peer);
    if (!cidr_list_has(&h->trusted, c->peer) || c->ph.step != HTTP_PARSE_DONE)
        return w->client;
    /* X-Forwarded-For from right to left (later headers are nearer hops):
     * the first address that is not a trusted proxy is the client. */
    for (size_t i = c->ph.nheaders; i-- > 0;) {
        const struct http_header *x = &c->ph.headers[i];
        if (strcasecmp(c->head + x->name.off, "x-forwarded-for") != 0)
            continue;
        const char *v = c->head + x->value.off;
        size_t end = x->value.len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            size_t a = start, b = end;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            end = start ? start - 1 : 0;
            if (a == b)
                continue;
            char ip[64];
            if (b - a >= sizeof ip)
                return w->client; /* garbage from the hop we trust last */
            memcpy(ip, v + a, b - a);
            ip[b - a] = '\0';
            if (!ip_valid(ip))
                return w->client;
            memcpy(w->client, ip, b - a + 1);
            if (!cidr_list_has(&h->trusted, ip))
                return w->client;
        }
    }
    return w->client;
}
