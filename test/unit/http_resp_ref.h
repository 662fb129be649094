/* The response head parser as it was before its one-pass header line scan
 * (core/http_resp.c at 7998a70), kept verbatim as the reference the
 * differential tests hold the fast parser to: same verdict, same reason,
 * same spans, for any input. Test-only. */
#ifndef INGOT_TEST_HTTP_RESP_REF_H
#define INGOT_TEST_HTTP_RESP_REF_H

#include <string.h>

#include "http_resp.h"

static bool ref_span_ieq(const char *buf, struct http_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[s.off + i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/* Whether the comma-separated list in s has the token lit (any case). */
static bool ref_list_has(const char *buf, struct http_span s, const char *lit)
{
    size_t i = s.off, end = (size_t)s.off + s.len;
    while (i < end) {
        while (i < end && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == ','))
            i++;
        size_t b = i;
        while (i < end && buf[i] != ',')
            i++;
        size_t e = i;
        while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
            e--;
        if (ref_span_ieq(buf, (struct http_span){(uint32_t)b, (uint32_t)(e - b)}, lit))
            return true;
    }
    return false;
}

/* The last token of a comma-separated list. */
static struct http_span ref_list_last(const char *buf, struct http_span s)
{
    size_t end = (size_t)s.off + s.len, b = end;
    while (b > s.off && buf[b - 1] != ',')
        b--;
    while (b < end && (buf[b] == ' ' || buf[b] == '\t'))
        b++;
    while (end > b && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
        end--;
    return (struct http_span){(uint32_t)b, (uint32_t)(end - b)};
}

static long ref_fail(struct http_resp_head *h, const char *why)
{
    h->why = why;
    return -1;
}

static void ref_http_resp_init(struct http_resp_head *h, bool head_request)
{
    /* Only the fields read before being written: the header array is not
     * cleared (it is most of the struct and filled in order). */
    h->step = HTTP_PARSE_LINE;
    h->pos = h->scan = 0;
    h->minor = 1;
    h->status = 0;
    h->nheaders = 0;
    h->framing = HTTP_RESP_CLOSE;
    h->content_length = 0;
    h->keep_alive = false;
    h->head_request = head_request;
    h->why = NULL;
}

static long ref_status_line(struct http_resp_head *h, const char *buf, size_t b, size_t e)
{
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (e - b < 12 || memcmp(buf + b, "HTTP/1.", 7) != 0 || (buf[b + 7] != '0' && buf[b + 7] != '1') ||
        buf[b + 8] != ' ')
        return ref_fail(h, "the status line is not HTTP/1.0 or HTTP/1.1");
    h->minor = buf[b + 7] - '0';
    int st = 0;
    for (size_t i = b + 9; i < b + 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return ref_fail(h, "the status code is not three digits");
        st = st * 10 + (buf[i] - '0');
    }
    if (st < 100 || (e > b + 12 && buf[b + 12] != ' '))
        return ref_fail(h, "the status code is not three digits");
    h->status = st;
    return 0;
}

static long ref_header_line(struct http_resp_head *h, const char *buf, size_t b, size_t e)
{
    if (buf[b] == ' ' || buf[b] == '\t')
        return ref_fail(h, "a header is folded over lines (obs-fold)");
    size_t i = b;
    while (i < e && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == b || i == e || buf[i] != ':')
        return ref_fail(h, "a header line is not name: value");
    if (h->nheaders == HTTP_RESP_MAX_HEADERS)
        return ref_fail(h, "too many headers");
    size_t v = i + 1, ve = e;
    while (v < ve && (buf[v] == ' ' || buf[v] == '\t'))
        v++;
    while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
        ve--;
    if (http_value_bad(buf, v, ve) < ve)
        return ref_fail(h, "a header value has a control character");
    struct http_header *hd = &h->headers[h->nheaders++];
    hd->name = (struct http_span){(uint32_t)b, (uint32_t)(i - b)};
    hd->value = (struct http_span){(uint32_t)v, (uint32_t)(ve - v)};
    return 0;
}

/* RFC 9112 6.3, once every header is in. */
static long ref_framing(struct http_resp_head *h, const char *buf)
{
    bool have_len = false, chunked = false, te = false, conn_close = false, conn_keep = false;
    uint64_t len = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        if (ref_span_ieq(buf, hd->name, "content-length")) {
            uint64_t v = 0;
            if (hd->value.len == 0 || hd->value.len > 19)
                return ref_fail(h, "Content-Length is not a number");
            for (size_t k = 0; k < hd->value.len; k++) {
                char c = buf[hd->value.off + k];
                if (c < '0' || c > '9')
                    return ref_fail(h, "Content-Length is not a number");
                v = v * 10 + (uint64_t)(c - '0');
            }
            if (have_len && v != len)
                return ref_fail(h, "two Content-Length headers differ");
            have_len = true;
            len = v;
        } else if (ref_span_ieq(buf, hd->name, "transfer-encoding")) {
            te = true;
            chunked = ref_span_ieq(buf, ref_list_last(buf, hd->value), "chunked");
        } else if (ref_span_ieq(buf, hd->name, "connection")) {
            conn_close = conn_close || ref_list_has(buf, hd->value, "close");
            conn_keep = conn_keep || ref_list_has(buf, hd->value, "keep-alive");
        }
    }
    h->keep_alive = h->minor == 1 ? !conn_close : conn_keep && !conn_close;
    if (h->head_request || (h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
        h->framing = HTTP_RESP_NONE;
        return 0;
    }
    if (te && have_len)
        return ref_fail(h, "both Transfer-Encoding and Content-Length");
    if (te) {
        h->framing = chunked ? HTTP_RESP_CHUNKED : HTTP_RESP_CLOSE;
    } else if (have_len) {
        h->framing = len ? HTTP_RESP_LENGTH : HTTP_RESP_NONE;
        h->content_length = len;
    } else {
        h->framing = HTTP_RESP_CLOSE;
    }
    /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty
     * framing; the connection is closed after it, whatever it says. */
    if (h->framing == HTTP_RESP_CLOSE || (te && h->minor == 0))
        h->keep_alive = false;
    return 0;
}

static long ref_http_resp_parse(struct http_resp_head *h, const char *buf, size_t len)
{
    if (h->step == HTTP_PARSE_DONE)
        return ref_fail(h, "the head was already parsed");
    for (;;) {
        const char *lf = h->scan < len ? memchr(buf + h->scan, '\n', len - h->scan) : NULL;
        if (!lf) {
            h->scan = len;
            if (len > HTTP_RESP_MAX_HEAD)
                return ref_fail(h, "the response head is larger than 64 KiB");
            return 0;
        }
        size_t b = h->pos, end = (size_t)(lf - buf), e = end;
        if (end + 1 > HTTP_RESP_MAX_HEAD)
            return ref_fail(h, "the response head is larger than 64 KiB");
        if (e > b && buf[e - 1] == '\r')
            e--;
        h->pos = h->scan = end + 1;
        if (memchr(buf + b, '\r', e - b))
            return ref_fail(h, "a line has a bare CR");
        if (h->step == HTTP_PARSE_LINE) {
            if (ref_status_line(h, buf, b, e) < 0)
                return -1;
            h->step = HTTP_PARSE_HEADERS;
        } else if (e == b) {
            if (ref_framing(h, buf) < 0)
                return -1;
            h->step = HTTP_PARSE_DONE;
            return (long)h->pos;
        } else if (ref_header_line(h, buf, b, e) < 0) {
            return -1;
        }
    }
}

#endif
