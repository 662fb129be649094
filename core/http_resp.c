#include "http_resp.h"

#include <string.h>

/* Bytes by class, for the one-pass header line scan: RC_TCHAR a header
 * name's (RFC 9110 token, as http_is_tchar), RC_VALUE a value's (anything
 * but a control other than HTAB, or DEL: as http_value_bad). CR and LF are
 * neither, so both scans stop at the line's end. */
enum { RC_TCHAR = 1, RC_VALUE = 2 };
static const unsigned char rclass[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,
    2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static bool span_ieq(const char *buf, struct http_span s, const char *lit)
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
static bool list_has(const char *buf, struct http_span s, const char *lit)
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
        if (span_ieq(buf, (struct http_span){(uint32_t)b, (uint32_t)(e - b)}, lit))
            return true;
    }
    return false;
}

/* The last token of a comma-separated list. */
static struct http_span list_last(const char *buf, struct http_span s)
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

static long fail(struct http_resp_head *h, const char *why)
{
    h->why = why;
    return -1;
}

void http_resp_init(struct http_resp_head *h, bool head_request)
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
    h->known_miss = false;
    h->why = NULL;
}

static long status_line(struct http_resp_head *h, const char *buf, size_t b, size_t e)
{
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (e - b < 12 || memcmp(buf + b, "HTTP/1.", 7) != 0 || (buf[b + 7] != '0' && buf[b + 7] != '1') ||
        buf[b + 8] != ' ')
        return fail(h, "the status line is not HTTP/1.0 or HTTP/1.1");
    h->minor = buf[b + 7] - '0';
    int st = 0;
    for (size_t i = b + 9; i < b + 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return fail(h, "the status code is not three digits");
        st = st * 10 + (buf[i] - '0');
    }
    if (st < 100 || (e > b + 12 && buf[b + 12] != ' '))
        return fail(h, "the status code is not three digits");
    h->status = st;
    return 0;
}

static long header_line(struct http_resp_head *h, const char *buf, size_t b, size_t e)
{
    if (buf[b] == ' ' || buf[b] == '\t')
        return fail(h, "a header is folded over lines (obs-fold)");
    size_t i = b;
    while (i < e && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == b || i == e || buf[i] != ':')
        return fail(h, "a header line is not name: value");
    if (h->nheaders == HTTP_RESP_MAX_HEADERS)
        return fail(h, "too many headers");
    size_t v = i + 1, ve = e;
    while (v < ve && (buf[v] == ' ' || buf[v] == '\t'))
        v++;
    while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
        ve--;
    if (http_value_has_bad(buf, v, ve))
        return fail(h, "a header value has a control character");
    struct http_header *hd = &h->headers[h->nheaders++];
    hd->name = (struct http_span){(uint32_t)b, (uint32_t)(i - b)};
    hd->value = (struct http_span){(uint32_t)v, (uint32_t)(ve - v)};
    return 0;
}

/* Inlined into both callers: a call per line costs what it saves. */
#define HR_INLINE static inline __attribute__((always_inline))

/* The name at b (k's name for this index when it is there byte for byte,
 * else scanned), its colon, the OWS and the value's bytes, scanning up to
 * a byte that ends them: a LF (or a NUL) must come before limit. 0 if the
 * line does not start with a name and a colon, else the colon's index,
 * with *v the value's start and *stop where its scan stopped (a CR, LF,
 * control or NUL). */
HR_INLINE size_t name_value(struct http_resp_head *h, const unsigned char *s, size_t b, size_t limit,
                            const struct http_resp_known *k, size_t *v, size_t *stop)
{
    size_t i = b, x = h->nheaders;
    size_t kl = k && x < k->n ? k->len[x] : 0;
    if (kl && kl < limit - b && s[b + kl] == ':' && memcmp(s + b, k->bytes + k->off[x], kl) == 0) {
        i = b + kl; /* the tchar scan would stop right there, at the colon */
    } else {
        if (k && (x < k->n || !k->full))
            h->known_miss = true;
        while (rclass[s[i]] & RC_TCHAR)
            i++;
    }
    if (i == b || s[i] != ':')
        return 0;
    size_t j = i + 1;
    while (s[j] == ' ' || s[j] == '\t')
        j++;
    *v = j;
    while (rclass[s[j]] & RC_VALUE)
        j++;
    *stop = j;
    return i;
}

/* The header [b, colon): [v, ve) trimmed, unless the limit is reached. */
HR_INLINE bool header_add(struct http_resp_head *h, const unsigned char *s, size_t b, size_t colon, size_t v,
                          size_t ve)
{
    if (h->nheaders == HTTP_RESP_MAX_HEADERS)
        return false;
    while (ve > v && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
        ve--;
    struct http_header *hd = &h->headers[h->nheaders++];
    hd->name = (struct http_span){(uint32_t)b, (uint32_t)(colon - b)};
    hd->value = (struct http_span){(uint32_t)v, (uint32_t)(ve - v)};
    return true;
}

/* A well-formed header line [b, e) in one pass over its bytes (its LF,
 * at e or e + 1, stops every scan). false: anything else (a bare CR, a
 * control in the value, no colon, the header limit), which header_line
 * then reads and refuses with its own reason, as if this had not run. */
static bool header_fast(struct http_resp_head *h, const char *buf, size_t b, size_t e,
                        const struct http_resp_known *k)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t v, stop, colon = name_value(h, s, b, e, k, &v, &stop);
    /* stop short of e: a CR or control inside, or a CR not before the LF */
    return colon && stop == e && header_add(h, s, b, colon, v, stop);
}

/* The header line at h->pos without looking for its LF first: buf[len]
 * is a NUL, which stops the scans. Taken when the line is complete and
 * well-formed, the same as the memchr path makes of it (no LF before
 * the one found, no CR but the one before it); false leaves h as it was
 * for that path. */
static bool line_fast(struct http_resp_head *h, const char *buf, size_t len, const struct http_resp_known *k)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t b = h->pos, v, stop;
    if (b >= len || !(rclass[s[b]] & RC_TCHAR)) /* the blank line ending the head, or odd */
        return false;
    size_t colon = name_value(h, s, b, len, k, &v, &stop);
    if (!colon)
        return false;
    size_t end = stop + (s[stop] == '\r'); /* stop < len at a CR: end <= len */
    if (s[end] != '\n' || end + 1 > HTTP_RESP_MAX_HEAD || !header_add(h, s, b, colon, v, stop))
        return false;
    h->pos = h->scan = end + 1;
    return true;
}

/* RFC 9112 6.3, once every header is in. */
static long framing(struct http_resp_head *h, const char *buf)
{
    bool have_len = false, chunked = false, te = false, conn_close = false, conn_keep = false;
    uint64_t len = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        /* by length first: most headers are none of the three */
        size_t nl = hd->name.len;
        if (nl != 14 && nl != 17 && nl != 10)
            continue;
        if (span_ieq(buf, hd->name, "content-length")) {
            uint64_t v = 0;
            if (hd->value.len == 0 || hd->value.len > 19)
                return fail(h, "Content-Length is not a number");
            for (size_t k = 0; k < hd->value.len; k++) {
                char c = buf[hd->value.off + k];
                if (c < '0' || c > '9')
                    return fail(h, "Content-Length is not a number");
                v = v * 10 + (uint64_t)(c - '0');
            }
            if (have_len && v != len)
                return fail(h, "two Content-Length headers differ");
            have_len = true;
            len = v;
        } else if (span_ieq(buf, hd->name, "transfer-encoding")) {
            te = true;
            chunked = span_ieq(buf, list_last(buf, hd->value), "chunked");
        } else if (span_ieq(buf, hd->name, "connection")) {
            conn_close = conn_close || list_has(buf, hd->value, "close");
            conn_keep = conn_keep || list_has(buf, hd->value, "keep-alive");
        }
    }
    h->keep_alive = h->minor == 1 ? !conn_close : conn_keep && !conn_close;
    if (h->head_request || (h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
        h->framing = HTTP_RESP_NONE;
        return 0;
    }
    if (te && have_len)
        return fail(h, "both Transfer-Encoding and Content-Length");
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

/* k learns the names of h's completed head (as many as fit). */
static void known_learn(struct http_resp_known *k, const struct http_resp_head *h, const char *buf)
{
    size_t used = 0, n = 0;
    for (; n < h->nheaders && n < HTTP_RESP_KNOWN_NAMES; n++) {
        const struct http_span *nm = &h->headers[n].name;
        if (nm->len > HTTP_RESP_KNOWN_BYTES - used)
            break;
        memcpy(k->bytes + used, buf + nm->off, nm->len);
        k->off[n] = (uint16_t)used;
        k->len[n] = (uint16_t)nm->len;
        used += nm->len;
    }
    k->n = n;
    k->full = n < h->nheaders;
}

long http_resp_parse(struct http_resp_head *h, const char *buf, size_t len)
{
    return http_resp_parse_known(h, buf, len, NULL);
}

long http_resp_parse_known(struct http_resp_head *h, const char *buf, size_t len, struct http_resp_known *k)
{
    if (h->step == HTTP_PARSE_DONE)
        return fail(h, "the head was already parsed");
    for (;;) {
        if (k && h->step == HTTP_PARSE_HEADERS && line_fast(h, buf, len, k))
            continue;
        const char *lf = h->scan < len ? memchr(buf + h->scan, '\n', len - h->scan) : NULL;
        if (!lf) {
            h->scan = len;
            if (len > HTTP_RESP_MAX_HEAD)
                return fail(h, "the response head is larger than 64 KiB");
            return 0;
        }
        size_t b = h->pos, end = (size_t)(lf - buf), e = end;
        if (end + 1 > HTTP_RESP_MAX_HEAD)
            return fail(h, "the response head is larger than 64 KiB");
        if (e > b && buf[e - 1] == '\r')
            e--;
        h->pos = h->scan = end + 1;
        if (h->step == HTTP_PARSE_HEADERS && e > b && header_fast(h, buf, b, e, k))
            continue;
        if (memchr(buf + b, '\r', e - b))
            return fail(h, "a line has a bare CR");
        if (h->step == HTTP_PARSE_LINE) {
            if (status_line(h, buf, b, e) < 0)
                return -1;
            h->step = HTTP_PARSE_HEADERS;
        } else if (e == b) {
            if (framing(h, buf) < 0)
                return -1;
            h->step = HTTP_PARSE_DONE;
            if (k && h->known_miss)
                known_learn(k, h, buf);
            return (long)h->pos;
        } else if (header_line(h, buf, b, e) < 0) {
            return -1;
        } else {
            h->known_miss = true; /* read the slow way: learn it */
        }
    }
}
