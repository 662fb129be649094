#include "http_parse.h"

#include <stddef.h>
#include <string.h>

#include "util.h"

/* tchar from RFC 9110 5.6.2 (a switch, not strchr: every byte of every
 * header name passes here) */
/* field-vchar, SP, HTAB and obs-text: everything but other controls and DEL */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}


static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool span_ieq(const char *buf, struct http_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)buf[s.off + i]) != lit[i])
            return false;
    return true;
}

static long fail(struct http_head *h, int status, const char *why)
{
    h->status = status;
    h->why = why;
    return -1;
}

void http_head_init(struct http_head *h)
{
    /* all but the header slots (1.6 KB, every request): nheaders says
     * how many of them hold anything */
    memset(h, 0, offsetof(struct http_head, headers));
    memset(&h->nheaders, 0, sizeof *h - offsetof(struct http_head, nheaders));
}

static enum http_method method_of(const char *m, size_t n)
{
    /* by length, then constant-size compares (every request) */
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0)
            return HTTP_METHOD_GET;
        if (memcmp(m, "PUT", 3) == 0)
            return HTTP_METHOD_PUT;
        break;
    case 4:
        if (memcmp(m, "POST", 4) == 0)
            return HTTP_METHOD_POST;
        if (memcmp(m, "HEAD", 4) == 0)
            return HTTP_METHOD_HEAD;
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0)
            return HTTP_METHOD_PATCH;
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0)
            return HTTP_METHOD_DELETE;
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0)
            return HTTP_METHOD_OPTIONS;
        break;
    default:
        break;
    }
    return HTTP_METHOD_OTHER;
}

/* request-line = method SP request-target SP HTTP-version */
static long parse_request_line(struct http_head *h, const char *buf, size_t start, size_t end)
{
    size_t i = start;
    while (i < end && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == start || i >= end || buf[i] != ' ')
        return fail(h, 400, "malformed request line");
    h->method_name = (struct http_span){(uint32_t)start, (uint32_t)(i - start)};
    h->method = method_of(buf + start, i - start);
    size_t t = ++i;
    /* Bytes above 0x7f are not allowed by the grammar but are let through
     * to routing (a 404), which must then never echo them raw. */
    while (i < end && (unsigned char)buf[i] > 0x20 && buf[i] != 0x7f)
        i++;
    if (i == t || i >= end || buf[i] != ' ')
        return fail(h, 400, "malformed request line");
    h->target = (struct http_span){(uint32_t)t, (uint32_t)(i - t)};
    i++;
    if (end - i != 8 || memcmp(buf + i, "HTTP/", 5) != 0 || buf[i + 6] != '.' ||
        buf[i + 5] < '0' || buf[i + 5] > '9' || buf[i + 7] < '0' || buf[i + 7] > '9')
        return fail(h, 400, "malformed HTTP version");
    if (buf[i + 5] != '1')
        return fail(h, 505, "only HTTP/1.x is supported");
    h->minor = buf[i + 7] == '0' ? 0 : 1;
    if (buf[t] != '/' && !(buf[t] == '*' && h->target.len == 1) &&
        !(h->target.len > 7 && (memcmp(buf + t, "http://", 7) == 0 ||
                                memcmp(buf + t, "https://", 8) == 0)))
        return fail(h, 400, "malformed request target");
    return 0;
}

static long parse_header_line(struct http_head *h, const char *buf, size_t start, size_t end)
{
    if (buf[start] == ' ' || buf[start] == '\t')
        return fail(h, 400, "obsolete line folding in a header");
    size_t i = start;
    while (i < end && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i >= end || buf[i] != ':')
        return fail(h, 400, buf[i] == ' ' || buf[i] == '\t' ? "whitespace before a header's colon"
                                                            : "malformed header name");
    if (i == start)
        return fail(h, 400, "empty header name");
    if (h->nheaders >= HTTP_PARSE_MAX_HEADERS)
        return fail(h, 431, "too many header fields");
    struct http_header *f = &h->headers[h->nheaders++];
    f->name = (struct http_span){(uint32_t)start, (uint32_t)(i - start)};
    i++;
    while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    size_t v = i, last = end;
    if (http_value_has_bad(buf, v, end))
        return fail(h, 400, "control character in a header value");
    while (last > v && (buf[last - 1] == ' ' || buf[last - 1] == '\t'))
        last--;
    f->value = (struct http_span){(uint32_t)v, (uint32_t)(last - v)};
    return 0;
}

/* Calls fn for each non-empty element of a comma list (OWS trimmed). */
typedef long (*elem_fn)(struct http_head *h, const char *e, size_t n, void *arg);
static long each_elem(struct http_head *h, const char *s, size_t n, elem_fn fn, void *arg)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a && fn(h, s + a, b - a, arg) < 0)
            return -1;
        i = j + 1;
    }
    return 0;
}

struct framing_scan {
    bool have_cl;
    size_t cl_elems;
    uint64_t cl;
    size_t te_codings;
    bool te_chunked_last, te_chunked_early;
};

static long cl_elem(struct http_head *h, const char *e, size_t n, void *arg)
{
    struct framing_scan *f = arg;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i] < '0' || e[i] > '9')
            return fail(h, 400, "Content-Length is not a number");
        /* saturate: anything this large is over every body limit */
        v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(e[i] - '0');
    }
    if (f->have_cl && f->cl != v)
        return fail(h, 400, "conflicting Content-Length values");
    f->have_cl = true;
    f->cl = v;
    f->cl_elems++;
    return 0;
}

static long te_elem(struct http_head *h, const char *e, size_t n, void *arg)
{
    (void)h;
    struct framing_scan *f = arg;
    if (f->te_chunked_last)
        f->te_chunked_early = true;
    f->te_codings++;
    f->te_chunked_last = n == 7 && span_ieq(e, (struct http_span){0, 7}, "chunked");
    return 0;
}

static long conn_elem(struct http_head *h, const char *e, size_t n, void *arg)
{
    (void)arg;
    if (span_ieq(e, (struct http_span){0, (uint32_t)n}, "close"))
        h->keep_alive = false;
    else if (h->minor == 0 && span_ieq(e, (struct http_span){0, (uint32_t)n}, "keep-alive"))
        h->keep_alive = true;
    return 0;
}

static long finish_head(struct http_head *h, const char *buf)
{
    struct framing_scan f = {0};
    bool have_te = false;
    size_t hosts = 0;
    h->keep_alive = h->minor >= 1;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *x = &h->headers[i];
        const char *v = buf + x->value.off;
        if (span_ieq(buf, x->name, "content-length")) {
            size_t before = f.cl_elems;
            if (each_elem(h, v, x->value.len, cl_elem, &f) < 0)
                return -1;
            if (f.cl_elems == before) /* empty, or only commas */
                return fail(h, 400, "Content-Length is not a number");
        } else if (span_ieq(buf, x->name, "transfer-encoding")) {
            have_te = true;
            if (each_elem(h, v, x->value.len, te_elem, &f) < 0)
                return -1;
        } else if (span_ieq(buf, x->name, "host")) {
            hosts++;
        } else if (span_ieq(buf, x->name, "connection")) {
            (void)each_elem(h, v, x->value.len, conn_elem, NULL);
        } else if (span_ieq(buf, x->name, "expect")) {
            if (!span_ieq(buf, x->value, "100-continue"))
                return fail(h, 417, "only Expect: 100-continue is supported");
            h->expect_continue = h->minor >= 1;
        }
    }
    if (hosts > 1 || (h->minor >= 1 && hosts == 0))
        return fail(h, 400, hosts ? "several Host headers" : "an HTTP/1.1 request needs Host");
    if (have_te) {
        if (f.have_cl)
            return fail(h, 400, "both Transfer-Encoding and Content-Length");
        if (h->minor == 0)
            return fail(h, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (!f.te_chunked_last || f.te_chunked_early)
            return fail(h, 400, "chunked must be the final transfer coding, once");
        if (f.te_codings > 1)
            return fail(h, 501, "transfer codings other than chunked are not supported");
        h->framing = HTTP_BODY_CHUNKED;
    } else if (f.have_cl && f.cl > 0) {
        h->framing = HTTP_BODY_LENGTH;
        h->content_length = f.cl;
    }
    if (h->framing == HTTP_BODY_NONE)
        h->expect_continue = false;
    h->step = HTTP_PARSE_DONE;
    return 0;
}

/* The refusal of a line with a bare CR (it overrides the line's other
 * refusal). Returns whether there was one. */
static bool bare_cr(struct http_head *h, const char *buf, size_t start, size_t stop)
{
    if (!memchr(buf + start, '\r', stop - start))
        return false;
    (void)fail(h, 400, "a bare CR in the request head");
    return true;
}

long http_head_parse(struct http_head *h, const char *buf, size_t len)
{
    if (h->step == HTTP_PARSE_DONE)
        return (long)h->pos;
    if (h->status)
        return -1;
    for (;;) {
        const char *lf = h->scan < len ? memchr(buf + h->scan, '\n', len - h->scan) : NULL;
        if (!lf) {
            h->scan = len;
            /* the line's CR may be here without its LF: not content */
            if (h->step == HTTP_PARSE_LINE && len - h->pos > HTTP_PARSE_MAX_LINE + 1)
                return fail(h, 414, "request line too long");
            if (len > HTTP_PARSE_MAX_HEAD)
                return fail(h, 431, "request header fields too large");
            return 0;
        }
        size_t end = (size_t)(lf - buf); /* index of LF */
        if (end + 1 > HTTP_PARSE_MAX_HEAD)
            return fail(h, h->step == HTTP_PARSE_LINE ? 414 : 431,
                        h->step == HTTP_PARSE_LINE ? "request line too long"
                                                   : "request header fields too large");
        if (end == h->pos || buf[end - 1] != '\r')
            return fail(h, 400, "a line ends in a bare LF");
        size_t start = h->pos, stop = end - 1; /* content is [start, stop) */
        /* A bare CR is looked for only when the line is refused: a line
         * the grammar takes holds none (no CR is a tchar, in a target, in
         * the version or in a value), and it is the refusal that line
         * gets, as if looked for first. An empty line holds none. */
        h->pos = h->scan = end + 1;
        if (h->step == HTTP_PARSE_LINE) {
            if (stop == start) { /* RFC 9112 2.2: ignore empty lines before the request */
                if (++h->blank_lines > HTTP_PARSE_MAX_BLANK_LINES)
                    return fail(h, 400, "too many empty lines before the request line");
                continue;
            }
            if (stop - start > HTTP_PARSE_MAX_LINE)
                return bare_cr(h, buf, start, stop) ? -1 : fail(h, 414, "request line too long");
            if (parse_request_line(h, buf, start, stop) < 0) {
                (void)bare_cr(h, buf, start, stop);
                return -1;
            }
            h->step = HTTP_PARSE_HEADERS;
            continue;
        }
        if (stop == start) {
            if (finish_head(h, buf) < 0)
                return -1;
            return (long)h->pos;
        }
        if (parse_header_line(h, buf, start, stop) < 0) {
            (void)bare_cr(h, buf, start, stop);
            return -1;
        }
    }
}

const struct http_header *http_head_find(const struct http_head *h, const char *buf,
                                         const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return NULL; /* no header has an empty name */
    int first = lower((unsigned char)name[0]);
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *x = &h->headers[i];
        if (x->name.len != n || lower((unsigned char)buf[x->name.off]) != first)
            continue;
        size_t k = 1;
        while (k < n && lower((unsigned char)buf[x->name.off + k]) == lower((unsigned char)name[k]))
            k++;
        if (k == n)
            return x;
    }
    return NULL;
}

void http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof *c);
}

static int cfail(struct http_chunked *c, int status, const char *why)
{
    c->status = status;
    c->why = why;
    return -1;
}

int http_chunked_feed(struct http_chunked *c, const char *in, size_t len, size_t *consumed,
                      char *out, size_t out_cap, size_t *produced, uint64_t max_body)
{
    size_t i = 0, o = 0;
    int rc = 0;
    if (c->status) {
        rc = -1;
        goto out;
    }
    while (i < len && c->state != HTTP_CHUNK_DONE) {
        unsigned char ch = (unsigned char)in[i];
        if (c->state == HTTP_CHUNK_DATA) {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (n > out_cap - o)
                n = out_cap - o;
            if (n == 0)
                break; /* no room: the caller makes some */
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = HTTP_CHUNK_DATA_CR;
            continue;
        }
        i++;
        if (c->state != HTTP_CHUNK_DATA_CR && c->state != HTTP_CHUNK_DATA_LF &&
            c->state < HTTP_CHUNK_TRAILER && ++c->line > HTTP_PARSE_MAX_CHUNK_LINE) {
            rc = cfail(c, 400, "chunk-size line too long");
            goto out;
        }
        switch (c->state) {
        case HTTP_CHUNK_SIZE: {
            int v = util_hexval(ch);
            if (v >= 0) {
                if (++c->digits > 15) {
                    rc = cfail(c, 400, "chunk size too large");
                    goto out;
                }
                c->remaining = c->remaining * 16 + (uint64_t)v;
            } else if (c->digits > 0 && ch == ';') {
                c->state = HTTP_CHUNK_EXT;
            } else if (c->digits > 0 && (ch == ' ' || ch == '\t')) {
                c->state = HTTP_CHUNK_SIZE_OWS;
            } else if (c->digits > 0 && ch == '\r') {
                c->state = HTTP_CHUNK_SIZE_LF;
            } else {
                rc = cfail(c, 400, "malformed chunk size");
                goto out;
            }
            break;
        }
        case HTTP_CHUNK_SIZE_OWS: /* only whitespace, then ';' or the CR */
            if (ch == ';')
                c->state = HTTP_CHUNK_EXT;
            else if (ch == '\r')
                c->state = HTTP_CHUNK_SIZE_LF;
            else if (ch != ' ' && ch != '\t') {
                rc = cfail(c, 400, "malformed chunk size");
                goto out;
            }
            break;
        case HTTP_CHUNK_EXT:
            if (ch == '\r')
                c->state = HTTP_CHUNK_SIZE_LF;
            else if (!is_field_char(ch)) {
                rc = cfail(c, 400, "malformed chunk extension");
                goto out;
            }
            break;
        case HTTP_CHUNK_SIZE_LF:
            if (ch != '\n') {
                rc = cfail(c, 400, "chunk size line not ended by CRLF");
                goto out;
            }
            c->line = 0;
            c->digits = 0;
            if (c->remaining == 0) {
                c->state = HTTP_CHUNK_TRAILER;
                c->trailer_empty = true;
                break;
            }
            if (c->remaining > max_body || c->total + c->remaining > max_body) {
                rc = cfail(c, 413, "request body too large");
                goto out;
            }
            c->total += c->remaining;
            c->state = HTTP_CHUNK_DATA;
            break;
        case HTTP_CHUNK_DATA_CR:
            if (ch != '\r') {
                rc = cfail(c, 400, "chunk data not ended by CRLF");
                goto out;
            }
            c->state = HTTP_CHUNK_DATA_LF;
            break;
        case HTTP_CHUNK_DATA_LF:
            if (ch != '\n') {
                rc = cfail(c, 400, "chunk data not ended by CRLF");
                goto out;
            }
            c->state = HTTP_CHUNK_SIZE;
            break;
        case HTTP_CHUNK_TRAILER:
            /* a trailer line is a header line: token, ':', field chars */
            if (ch == '\r') {
                if (!c->trailer_empty && !c->trailer_value) {
                    rc = cfail(c, 400, "a trailer line without a colon");
                    goto out;
                }
                c->state = HTTP_CHUNK_TRAILER_LF;
            } else if (++c->trailer_bytes > HTTP_PARSE_MAX_HEAD ||
                       (c->trailer_value ? !is_field_char(ch)
                                         : ch == ':' ? c->trailer_empty : !http_is_tchar(ch))) {
                rc = cfail(c, 400, "malformed trailer section");
                goto out;
            } else {
                if (!c->trailer_value && ch == ':')
                    c->trailer_value = true;
                c->trailer_empty = false;
            }
            break;
        case HTTP_CHUNK_TRAILER_LF:
            if (ch != '\n') {
                rc = cfail(c, 400, "trailer line not ended by CRLF");
                goto out;
            }
            if (c->trailer_empty)
                c->state = HTTP_CHUNK_DONE;
            else
                c->state = HTTP_CHUNK_TRAILER, c->trailer_empty = true, c->trailer_value = false;
            break;
        case HTTP_CHUNK_DATA:
        case HTTP_CHUNK_DONE:
            break;
        }
    }
    rc = c->state == HTTP_CHUNK_DONE ? 1 : 0;
out:
    *consumed = i;
    *produced = o;
    return rc;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 425: return "Too Early";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

long http_pct_decode(const char *s, size_t n, char *out, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = util_hexval((unsigned char)s[i + 1]), lo = util_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}
