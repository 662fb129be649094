#include "sse.h"

#include <stdlib.h>
#include <string.h>

/* One parser per stream. line: the line being read (without its end);
 * data: the event's data lines so far, each followed by \n; event: the
 * event name. The bound covers line + data, so a provider cannot make us
 * hold more than max_event bytes of one event whatever it sends. */
struct sse_parser {
    size_t max_event;
    struct sbuf line, data, event;
    bool cr_seen;    /* the last byte fed was CR: a following LF ends nothing */
    bool first_line; /* a UTF-8 BOM may start the first line only */
    bool failed;     /* too large, or the callback said stop: every feed fails */
};

struct sse_parser *sse_new(size_t max_event)
{
    struct sse_parser *p = xcalloc(1, sizeof *p);
    p->max_event = max_event;
    sbuf_init(&p->line);
    sbuf_init(&p->data);
    sbuf_init(&p->event);
    p->first_line = true;
    return p;
}

void sse_free(struct sse_parser *p)
{
    if (!p)
        return;
    sbuf_deinit(&p->line);
    sbuf_deinit(&p->data);
    sbuf_deinit(&p->event);
    free(p);
}

static int dispatch(struct sse_parser *p, sse_event_cb cb, void *arg)
{
    int rc = 0;
    if (p->data.len > 0) {
        p->data.len--; /* the \n after the last data line is not part of it */
        p->data.data[p->data.len] = '\0';
        rc = cb(p->event.len ? p->event.data : "", p->data.data, p->data.len, arg);
    }
    sbuf_reset(&p->data);
    sbuf_reset(&p->event);
    return rc;
}

/* One complete line (the WHATWG "process the field" step). */
static int line_done(struct sse_parser *p, sse_event_cb cb, void *arg)
{
    const char *s = p->line.data ? p->line.data : "";
    size_t n = p->line.len;
    if (p->first_line) {
        p->first_line = false;
        if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
            s += 3;
            n -= 3;
        }
    }
    int rc = 0;
    if (n == 0) {
        rc = dispatch(p, cb, arg);
    } else if (s[0] != ':') { /* a colon first: a comment */
        const char *colon = memchr(s, ':', n);
        size_t flen = colon ? (size_t)(colon - s) : n;
        const char *v = colon ? colon + 1 : s + n;
        size_t vlen = (size_t)(s + n - v);
        if (vlen > 0 && *v == ' ') {
            v++;
            vlen--;
        }
        if (flen == 4 && memcmp(s, "data", 4) == 0) {
            sbuf_append(&p->data, v, vlen);
            sbuf_putc(&p->data, '\n');
        } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
            sbuf_reset(&p->event);
            sbuf_append(&p->event, v, vlen);
        }
        /* id, retry and unknown fields: nothing here needs them. */
    }
    sbuf_reset(&p->line);
    return rc;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_cb cb, void *arg)
{
    if (p->failed)
        return -1;
    size_t i = 0;
    while (i < len) {
        if (p->cr_seen) {
            p->cr_seen = false;
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        /* The run up to the next line end joins the current line. */
        /* (two memchr: a provider's bytes go through here one by one otherwise) */
        const char *lf = memchr(buf + i, '\n', len - i);
        size_t j = lf ? (size_t)(lf - buf) : len;
        const char *cr = memchr(buf + i, '\r', j - i);
        if (cr)
            j = (size_t)(cr - buf);
        if (p->line.len + (j - i) + p->data.len + p->event.len > p->max_event) {
            p->failed = true;
            return -1;
        }
        sbuf_append(&p->line, buf + i, j - i);
        if (j == len)
            break;
        p->cr_seen = buf[j] == '\r';
        i = j + 1;
        if (line_done(p, cb, arg) < 0) {
            p->failed = true;
            return -1;
        }
    }
    return 0;
}
