/* The multipart/form-data state machine. The delimiter is CRLF "--"
 * boundary; the body is treated as if a CRLF came first, so a boundary at
 * the very start is found like any other. A boundary holds no CR (RFC 2046
 * bchars), so a failed match can only restart at a new CR: the bytes held
 * back are a prefix of the delimiter itself and are handed on from it. */
#include "multipart.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

enum mp_state {
    MP_PREAMBLE = 0,
    MP_AFTER_DELIM, /* "--" (the end), padding, or CRLF (a part's headers) */
    MP_AFTER_DASH,
    MP_AFTER_CR,
    MP_AFTER_PAD,   /* transport padding seen: only more of it or CRLF */
    MP_HEADERS,
    MP_BODY,
    MP_EPILOGUE,
    MP_FAILED
};

struct multipart {
    const struct multipart_cbs *cbs;
    void *arg;
    enum mp_state state;
    char delim[MULTIPART_BOUNDARY_MAX + 5];
    size_t dlen;
    size_t match; /* delimiter bytes matched and held back */
    const char *error;
    size_t hlen;
    char hbuf[MULTIPART_MAX_HEADER];
    char name[MULTIPART_MAX_NAME + 1];
    char filename[MULTIPART_MAX_FILENAME + 1];
    char ctype[256];
    bool has_filename, has_disposition;
};

static bool is_bchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("'()+_,-./:=? ", c));
}

/* A parameter value at *p: a quoted-string (backslash escapes) or a token,
 * into out. Returns the length, or -1 (malformed or longer than cap). */
static long param_value(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (n >= cap)
                return -1;
            out[n++] = *s++;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        while (http_is_tchar((unsigned char)*s)) {
            if (n >= cap)
                return -1;
            out[n++] = *s++;
        }
        if (n == 0)
            return -1;
    }
    out[n] = '\0';
    *p = s;
    return (long)n;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "; name=value" pairs after a media type or disposition type. fn sees
 * each (name lowercased not needed: compared without case). 0 or -1. */
static int each_param(const char *s, int (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    char name[64], value[MULTIPART_MAX_FILENAME + 1];
    for (;;) {
        s = skip_ows(s);
        if (!*s)
            return 0;
        if (*s++ != ';')
            return -1;
        s = skip_ows(s);
        size_t n = 0;
        while (http_is_tchar((unsigned char)*s) && n < sizeof name - 1)
            name[n++] = *s++;
        name[n] = '\0';
        s = skip_ows(s);
        if (n == 0 || *s++ != '=')
            return -1;
        s = skip_ows(s);
        if (param_value(&s, value, sizeof value - 1) < 0 || fn(arg, name, value) < 0)
            return -1;
    }
}

static int boundary_param(void *arg, const char *name, const char *value)
{
    char *out = arg;
    if (strcasecmp(name, "boundary") == 0) {
        if (out[0])
            return -1; /* twice: which one? */
        size_t n = strlen(value);
        if (n == 0 || n > MULTIPART_BOUNDARY_MAX || value[n - 1] == ' ')
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!is_bchar((unsigned char)value[i]))
                return -1;
        memcpy(out, value, n + 1);
    }
    return 0;
}

int multipart_boundary(const char *ct, char *out, size_t outlen, char *why, size_t whylen)
{
    static const char type[] = "multipart/form-data";
    char b[MULTIPART_BOUNDARY_MAX + 1] = "";
    if (!ct || strncasecmp(ct, type, sizeof type - 1) != 0 ||
        (ct[sizeof type - 1] && ct[sizeof type - 1] != ';' && ct[sizeof type - 1] != ' ' &&
         ct[sizeof type - 1] != '\t')) {
        util_strcpy(why, whylen, "Content-Type must be multipart/form-data (with a boundary)");
        return -1;
    }
    if (each_param(ct + sizeof type - 1, boundary_param, b) < 0 || !b[0] || outlen <= strlen(b)) {
        util_strcpy(why, whylen, "Content-Type needs one boundary parameter of 1-70 characters "
                                 "(letters, digits, '()+_,-./:=? )");
        return -1;
    }
    util_strcpy(out, outlen, b);
    return 0;
}

struct multipart *multipart_new(const char *boundary, const struct multipart_cbs *cbs, void *arg)
{
    struct multipart *m = xcalloc(1, sizeof *m);
    m->cbs = cbs;
    m->arg = arg;
    size_t n = strlen(boundary);
    if (n > MULTIPART_BOUNDARY_MAX)
        n = MULTIPART_BOUNDARY_MAX;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, n);
    m->dlen = 4 + n;
    m->match = 2; /* as if the body began with CRLF */
    m->error = "";
    return m;
}

void multipart_free(struct multipart *m)
{
    free(m);
}

const char *multipart_error(const struct multipart *m)
{
    return m->error;
}

static int fail(struct multipart *m, const char *why)
{
    m->state = MP_FAILED;
    m->error = why;
    return -1;
}

static int disposition_param(void *arg, const char *name, const char *value)
{
    struct multipart *m = arg;
    size_t n = strlen(value);
    if (strcasecmp(name, "name") == 0) {
        if (n == 0 || n > MULTIPART_MAX_NAME || m->name[0])
            return -1;
        memcpy(m->name, value, n + 1);
    } else if (strcasecmp(name, "filename") == 0) {
        if (n > MULTIPART_MAX_FILENAME || m->has_filename)
            return -1;
        memcpy(m->filename, value, n + 1);
        m->has_filename = true;
    }
    return 0; /* filename* and others: not ours to read */
}

/* One header line (NUL-terminated, no CRLF). */
static int header_line(struct multipart *m, char *line)
{
    char *colon = line;
    while (http_is_tchar((unsigned char)*colon))
        colon++;
    if (colon == line || *colon != ':')
        return fail(m, "a part's header line is malformed (want Name: value)");
    *colon = '\0';
    char *v = (char *)skip_ows(colon + 1);
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
            return fail(m, "a part's header value holds a control character");
    if (strcasecmp(line, "content-disposition") == 0) {
        static const char fd[] = "form-data";
        if (m->has_disposition)
            return fail(m, "a part has two Content-Disposition headers");
        m->has_disposition = true;
        if (strncasecmp(v, fd, sizeof fd - 1) != 0 || http_is_tchar((unsigned char)v[sizeof fd - 1]))
            return fail(m, "a part's Content-Disposition must be form-data");
        if (each_param(v + sizeof fd - 1, disposition_param, m) < 0)
            return fail(m, "a part's Content-Disposition is malformed (name, filename: one each, "
                           "quoted, not too long)");
    } else if (strcasecmp(line, "content-type") == 0) {
        if (n >= sizeof m->ctype || m->ctype[0])
            return fail(m, "a part's Content-Type is repeated or too long");
        memcpy(m->ctype, v, n + 1);
    }
    return 0;
}

/* The header block is complete in hbuf (it ends with an empty line). */
static int headers_done(struct multipart *m)
{
    m->name[0] = m->ctype[0] = '\0';
    m->has_filename = m->has_disposition = false;
    m->hbuf[m->hlen - 2] = '\0'; /* the empty line's CRLF */
    char *line = m->hbuf;
    while (*line) {
        char *end = strstr(line, "\r\n"); /* every line ends so: checked as read */
        *end = '\0';
        if (header_line(m, line) < 0)
            return -1;
        line = end + 2;
    }
    if (!m->name[0])
        return fail(m, "a part has no Content-Disposition: form-data with a name");
    m->state = MP_BODY;
    m->match = 0;
    if (m->cbs->part_begin(m->arg, m->name, m->has_filename ? m->filename : NULL, m->ctype) < 0)
        return fail(m, "stopped");
    return 0;
}

static int header_byte(struct multipart *m, char c)
{
    if (m->hlen == sizeof m->hbuf)
        return fail(m, "a part's headers are too large (8 KiB at most)");
    char prev = m->hlen ? m->hbuf[m->hlen - 1] : '\0';
    if (c == '\n' && prev != '\r')
        return fail(m, "a part's header lines must end in CRLF (bare LF)");
    if (prev == '\r' && c != '\n')
        return fail(m, "a part's header holds a CR not followed by LF");
    if (c == '\0')
        return fail(m, "a part's header holds a NUL byte");
    m->hbuf[m->hlen++] = c;
    if (c == '\n' && (m->hlen == 2 || (m->hlen >= 4 && m->hbuf[m->hlen - 3] == '\n')))
        return headers_done(m);
    return 0;
}

/* Scans for the delimiter, handing on the bytes that are not (emit).
 * Returns 1 with *used when it completed, 0 when p ran out, -1 stopped. */
static int scan(struct multipart *m, const char *p, size_t n, size_t *used, bool emit)
{
    size_t i = 0;
    while (i < n) {
        if (m->match == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            size_t stop = cr ? (size_t)(cr - p) : n;
            if (stop > i && emit && m->cbs->part_data(m->arg, p + i, stop - i) < 0)
                return fail(m, "stopped");
            i = stop;
            if (!cr)
                break;
            m->match = 1;
            i++;
            continue;
        }
        if (p[i] == m->delim[m->match]) {
            i++;
            if (++m->match == m->dlen) {
                m->match = 0;
                *used = i;
                return 1;
            }
            continue;
        }
        /* not the delimiter: what was held back is data; p[i] is looked at again */
        if (emit && m->cbs->part_data(m->arg, m->delim, m->match) < 0)
            return fail(m, "stopped");
        m->match = 0;
    }
    *used = n;
    return 0;
}

int multipart_feed(struct multipart *m, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        switch (m->state) {
        case MP_PREAMBLE:
        case MP_BODY: {
            size_t used;
            bool body = m->state == MP_BODY;
            int rc = scan(m, p + i, n - i, &used, body);
            if (rc < 0)
                return -1;
            i += used;
            if (rc == 1) {
                if (body && m->cbs->part_end(m->arg) < 0)
                    return fail(m, "stopped");
                m->state = MP_AFTER_DELIM;
            }
            break;
        }
        case MP_AFTER_DELIM:
        case MP_AFTER_PAD:
            i++;
            if (c == '-' && m->state == MP_AFTER_DELIM)
                m->state = MP_AFTER_DASH;
            else if (c == '\r')
                m->state = MP_AFTER_CR;
            else if (c == ' ' || c == '\t')
                m->state = MP_AFTER_PAD;
            else
                return fail(m, "a boundary line is malformed (want CRLF or \"--\" after it)");
            break;
        case MP_AFTER_DASH:
            i++;
            if (c != '-')
                return fail(m, "a boundary line is malformed (want CRLF or \"--\" after it)");
            m->state = MP_EPILOGUE;
            break;
        case MP_AFTER_CR:
            i++;
            if (c != '\n')
                return fail(m, "a boundary line must end in CRLF");
            m->state = MP_HEADERS;
            m->hlen = 0;
            break;
        case MP_HEADERS:
            i++;
            if (header_byte(m, c) < 0)
                return -1;
            break;
        case MP_EPILOGUE:
            return 1;
        case MP_FAILED:
            return -1;
        }
    }
    return m->state == MP_EPILOGUE ? 1 : m->state == MP_FAILED ? -1 : 0;
}

int multipart_finish(struct multipart *m)
{
    if (m->state == MP_EPILOGUE)
        return 0;
    if (m->state != MP_FAILED)
        fail(m, m->state == MP_PREAMBLE ? "the body holds no boundary line: no parts"
                                        : "the body ended before the closing boundary");
    return -1;
}
