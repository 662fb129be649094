/* The SSE parser: WHATWG field rules, every line ending, any split of
 * the input, the size bound and stopping from the callback. */
#include <stdlib.h>

#include "../testhelp.h"
#include "sse.h"

/* Each event as "[name]data|" (data bytes as given, NULs shown as \0). */
struct rec {
    struct sbuf out;
    int n, stop_after;
};

static int rec_cb(const char *event, const char *data, size_t len, void *arg)
{
    struct rec *r = arg;
    sbuf_printf(&r->out, "[%s]", event);
    if (data[len] != '\0')
        sbuf_puts(&r->out, "(not NUL-terminated)");
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\0')
            sbuf_puts(&r->out, "\\0");
        else
            sbuf_putc(&r->out, data[i]);
    sbuf_putc(&r->out, '|');
    r->n++;
    return r->stop_after && r->n >= r->stop_after ? -1 : 0;
}

/* Parses s in pieces cut at cuts[] (ascending, within len); the record. */
static char *parse_split(const char *s, size_t len, const size_t *cuts, size_t ncuts, size_t max, int *rc)
{
    struct rec r = {.n = 0, .stop_after = 0};
    sbuf_init(&r.out);
    sbuf_puts(&r.out, "");
    struct sse_parser *p = sse_new(max);
    size_t at = 0;
    *rc = 0;
    for (size_t i = 0; i <= ncuts && *rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        *rc = sse_feed(p, s + at, end - at, rec_cb, &r);
        at = end;
    }
    sse_free(p);
    return sbuf_steal(&r.out);
}

static const char sample[] =
    "\xef\xbb\xbf: a comment first\r\n"
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\"}\r\n"
    "\r\n"
    "data:no space\n"
    "data:  two spaces\n"
    "data\n"
    "id: 7\n"
    "retry: 1000\n"
    "unknown: field\n"
    "\n"
    "event: ping\r"
    "data: cr only\r"
    "\r"
    "event: lonely\n"
    "\n"
    ": keepalive\n"
    "data: \n"
    "\n"
    "event: x\n"
    "event: y\n"
    "data: a:b: c\r\n"
    "data: {\"nul\":\"\0\"}\n"
    "\n"
    "data: not finished";

static const char sample_want[] = "[message_start]{\"type\":\"message_start\"}|"
                                  "[]no space\n two spaces\n|"
                                  "[ping]cr only|"
                                  "[]|"
                                  "[y]a:b: c\n{\"nul\":\"\\0\"}|";

static void test_sample(void)
{
    size_t len = sizeof sample - 1;
    int rc;
    char *whole = parse_split(sample, len, NULL, 0, 1 << 16, &rc);
    test_cond("whole feed ok", rc == 0);
    test_streq("whole feed events", whole, sample_want);

    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        char *got = parse_split(sample, len, &cut, 1, 1 << 16, &rc);
        if (rc != 0 || strcmp(got, whole) != 0) {
            if (!bad)
                printf("  split at %zu: '%s'\n", cut, got);
            bad++;
        }
        free(got);
    }
    test_cond("every split point gives the same events", bad == 0);

    size_t *cuts = malloc(len * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    char *bytes = parse_split(sample, len, cuts, len - 1, 1 << 16, &rc);
    test_cond("byte by byte ok", rc == 0);
    test_streq("byte by byte gives the same events", bytes, whole);
    free(bytes);

    /* Every pair of cut points too (three pieces). */
    bad = 0;
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b++) {
            size_t two[2] = {a, b};
            char *got = parse_split(sample, len, two, 2, 1 << 16, &rc);
            if (rc != 0 || strcmp(got, whole) != 0)
                bad++;
            free(got);
        }
    test_cond("every pair of split points gives the same events", bad == 0);
    free(cuts);
    free(whole);
}

static void test_crlf_across_feeds(void)
{
    /* CR at the end of one feed, LF at the start of the next: one line end. */
    struct rec r = {.n = 0, .stop_after = 0};
    sbuf_init(&r.out);
    struct sse_parser *p = sse_new(1024);
    test_cond("feed 1", sse_feed(p, "data: a\r", 8, rec_cb, &r) == 0);
    test_cond("feed 2", sse_feed(p, "\n\r", 2, rec_cb, &r) == 0);
    test_cond("feed 3", sse_feed(p, "\n", 1, rec_cb, &r) == 0);
    test_streq("CR LF | CR LF is two line ends", r.out.data ? r.out.data : "", "[]a|");
    test_cond("empty feed", sse_feed(p, "", 0, rec_cb, &r) == 0);
    sse_free(p);
    sbuf_deinit(&r.out);

    /* A BOM only counts at the start of the stream. */
    sbuf_init(&r.out);
    r.n = 0;
    p = sse_new(1024);
    test_cond("bom later", sse_feed(p, "data: a\n\n\xef\xbb\xbf" "data: b\n\n", 21, rec_cb, &r) == 0);
    test_streq("a later BOM makes an unknown field", r.out.data, "[]a|");
    sse_free(p);
    sbuf_deinit(&r.out);
}

static void test_bounds(void)
{
    struct rec r = {.n = 0, .stop_after = 0};
    sbuf_init(&r.out);
    struct sse_parser *p = sse_new(16);
    test_cond("small event fits", sse_feed(p, "data: 0123456789\n\n", 18, rec_cb, &r) == 0 && r.n == 1);
    test_cond("long line refused", sse_feed(p, "data: 0123456789abcdef", 22, rec_cb, &r) < 0);
    test_cond("stays failed", sse_feed(p, "\n\n", 2, rec_cb, &r) < 0 && r.n == 1);
    sse_free(p);

    /* Many short data lines add up to the bound too. */
    p = sse_new(16);
    r.n = 0;
    int rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = sse_feed(p, "data: ab\n", 9, rec_cb, &r);
    test_cond("accumulated data refused", rc < 0 && r.n == 0);
    sse_free(p);

    /* Comments and blank lines alone never grow anything. */
    p = sse_new(16);
    rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        rc = sse_feed(p, ": keep-alive\n\n", 14, rec_cb, &r);
    test_cond("comments do not accumulate", rc == 0 && r.n == 0);
    sse_free(p);
    sbuf_deinit(&r.out);

    /* The callback stops the parser. */
    sbuf_init(&r.out);
    r.n = 0;
    r.stop_after = 1;
    p = sse_new(1024);
    test_cond("stop", sse_feed(p, "data: 1\n\ndata: 2\n\n", 18, rec_cb, &r) < 0);
    test_cond("stopped after one", r.n == 1);
    test_cond("stays stopped", sse_feed(p, "data: 3\n\n", 9, rec_cb, &r) < 0 && r.n == 1);
    sse_free(p);
    sbuf_deinit(&r.out);
    sse_free(NULL);
}

int main(void)
{
    test_sample();
    test_crlf_across_feeds();
    test_bounds();
    test_report();
}
