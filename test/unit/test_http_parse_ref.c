/* The request head parser's fast paths (a value checked eight bytes at a
 * time, the bare-CR scan made only for a refused line) answer as the
 * parser did before them (http_parse_ref.inc, a copy): the same length or
 * refusal (status and why), the same spans, framing and flags, for heads
 * mutated at random with the bytes that matter (CR, LF, tab, DEL, NUL,
 * obs-text, colons, commas), given whole and byte by byte; and the same
 * header found by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "http_parse.h"
#include "util.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "http_parse_ref.inc"
#pragma GCC diagnostic pop

static long runs, differ;

static bool same_head(const struct http_head *a, const struct http_head *b, long ra, long rb)
{
    if (ra != rb)
        return false;
    if (ra < 0)
        return a->status == b->status && strcmp(a->why, b->why) == 0;
    if (ra == 0)
        return true;
    if (a->method != b->method || a->method_name.off != b->method_name.off ||
        a->method_name.len != b->method_name.len || a->target.off != b->target.off ||
        a->target.len != b->target.len || a->minor != b->minor || a->nheaders != b->nheaders ||
        a->framing != b->framing || a->content_length != b->content_length ||
        a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue)
        return false;
    for (size_t i = 0; i < a->nheaders; i++)
        if (memcmp(&a->headers[i], &b->headers[i], sizeof a->headers[i]) != 0)
            return false;
    return true;
}

static void compare(const char *s, size_t n)
{
    static struct http_head a, b;
    http_head_init(&a);
    ref_head_init(&b);
    long ra = http_head_parse(&a, s, n), rb = ref_head_parse(&b, s, n);
    bool ok = same_head(&a, &b, ra, rb);
    if (ok && ra > 0) { /* lookups: the same header found */
        static const char *const names[] = {"host", "HOST", "X", "x-tab", "Content-Length", "",
                                            "x-request-id", "Connection", "Authorization"};
        for (size_t i = 0; i < ARRAY_LEN(names); i++) {
            const struct http_header *x = http_head_find(&a, s, names[i]);
            const struct http_header *y = ref_head_find(&b, s, names[i]);
            ok = ok && (x ? x - a.headers : -1) == (y ? y - b.headers : -1);
        }
    }
    /* byte by byte: the incremental path too */
    http_head_init(&a);
    ref_head_init(&b);
    for (size_t i = 1; ok && i <= n; i++) {
        ra = http_head_parse(&a, s, i);
        rb = ref_head_parse(&b, s, i);
        ok = same_head(&a, &b, ra, rb);
        if (ra != 0)
            break;
    }
    runs++;
    if (!ok && differ++ < 5)
        printf("  differ on '%.*s' (%ld vs %ld)\n", (int)n, s, ra, rb);
}

static const char *const bases[] = {
    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:19110\r\nAuthorization: Bearer "
    "ik_live_0123456789abcdef0123456789abcdef\r\nContent-Type: application/json\r\nContent-Length: "
    "84\r\n\r\n",
    "GET /health HTTP/1.0\r\nConnection: keep-alive\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    "\r\nGET http://a/b?c HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\nConnection: close\r\n\r\n",
    "DELETE * HTTP/1.1\r\nHost: a\r\nX-Tab:\tv\tw \t\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9 \xff\r\n\r\n",
};

int main(void)
{
    static const char special[] = "\r\n\t \x7f\x00\x80\xff:,;aZ0\x1f\x01";
    char buf[512];
    srand(21);
    for (size_t b = 0; b < ARRAY_LEN(bases); b++)
        compare(bases[b], strlen(bases[b]));
    for (int it = 0; it < 200000; it++) {
        const char *base = bases[(size_t)rand() % ARRAY_LEN(bases)];
        size_t n = strlen(base);
        memcpy(buf, base, n);
        int muts = 1 + rand() % 3;
        for (int m = 0; m < muts; m++) {
            size_t at = (size_t)rand() % (n + 1);
            char ch = special[(size_t)rand() % (sizeof special - 1)];
            int op = rand() % 3;
            if (op == 0 && at < n) {
                buf[at] = ch; /* replace */
            } else if (op == 1 && n + 1 < sizeof buf) {
                memmove(buf + at + 1, buf + at, n - at); /* insert */
                buf[at] = ch;
                n++;
            } else if (at < n) {
                memmove(buf + at, buf + at + 1, n - at - 1); /* delete */
                n--;
            }
        }
        compare(buf, n);
    }
    /* values of every length 0..40 with one odd byte at every place */
    for (size_t len = 0; len <= 40; len++)
        for (size_t at = 0; at <= len; at++)
            for (size_t k = 0; k < sizeof special - 1; k++) {
                int n = snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
                for (size_t i = 0; i < len; i++)
                    buf[n + (int)i] = (char)('a' + i % 26);
                if (at < len)
                    buf[n + (int)at] = special[k];
                memcpy(buf + n + len, "\r\n\r\n", 4);
                compare(buf, (size_t)n + len + 4);
            }
    printf("  %ld heads compared\n", runs);
    test_cond("compared many", runs > 200000);
    test_cond("the parser answers as it did before its fast paths", differ == 0);
    test_report();
}
