/* The response head parser of the upstream client: status lines, header
 * lines, the body's framing by RFC 9112 6.3, keep-alive, the same verdict
 * whether the head comes at once or byte by byte, the 64 KiB head limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "http_resp.h"

static struct http_resp_head H;

/* Parses the whole of s at once (a GET unless head_request). */
static long parse_as(const char *s, bool head_request)
{
    http_resp_init(&H, head_request);
    return http_resp_parse(&H, s, strlen(s));
}

static long parse(const char *s)
{
    return parse_as(s, false);
}

/* Whether s is refused, and why mentions part. */
static bool refused(const char *s, const char *part)
{
    if (parse(s) != -1 || !H.why)
        return false;
    if (!strstr(H.why, part)) {
        printf("  why '%s', want '%s'\n", H.why, part);
        return false;
    }
    return true;
}

/* Feeds s one byte more each call, as a trickling server would: the result
 * must be the same as at once (and never complete before the last byte). */
static bool same_trickled(const char *s, size_t n, bool head_request)
{
    static struct http_resp_head a, b;
    http_resp_init(&a, head_request);
    long whole = http_resp_parse(&a, s, n);
    http_resp_init(&b, head_request);
    long rc = 0;
    size_t i;
    for (i = 1; i <= n; i++) {
        rc = http_resp_parse(&b, s, i);
        if (rc != 0)
            break;
    }
    if (rc != whole)
        return false;
    if (rc > 0 && ((size_t)rc != i || a.status != b.status || a.framing != b.framing ||
                   a.keep_alive != b.keep_alive || a.content_length != b.content_length ||
                   a.nheaders != b.nheaders || a.minor != b.minor))
        return false;
    if (rc < 0 && (!a.why || !b.why || strcmp(a.why, b.why) != 0))
        return false;
    return true;
}

static bool trickle_ok(const char *s)
{
    return same_trickled(s, strlen(s), false);
}

static bool hdr_is(size_t i, const char *buf, const char *name, const char *value)
{
    const struct http_header *h = &H.headers[i];
    return i < H.nheaders && h->name.len == strlen(name) && memcmp(buf + h->name.off, name, h->name.len) == 0 &&
           h->value.len == strlen(value) && memcmp(buf + h->value.off, value, h->value.len) == 0;
}

static void test_status_line(void)
{
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    test_cond("a 1.1 head is complete at the blank line", parse(ok) == (long)strlen(ok) - 2);
    test_cond("status 200, minor 1", H.status == 200 && H.minor == 1);
    test_cond("HTTP/1.0 parses", parse("HTTP/1.0 404 Not Found\r\n\r\n") > 0 && H.status == 404 && H.minor == 0);
    test_cond("no reason phrase", parse("HTTP/1.1 204\r\n\r\n") > 0 && H.status == 204);
    test_cond("an empty reason phrase", parse("HTTP/1.1 204 \r\n\r\n") > 0 && H.status == 204);
    test_cond("a reason with spaces", parse("HTTP/1.1 503 Service Unavailable Now\r\n\r\n") > 0 && H.status == 503);
    test_cond("status 999 is three digits", parse("HTTP/1.1 999 X\r\n\r\n") > 0 && H.status == 999);
    test_cond("HTTP/1.2 refused", refused("HTTP/1.2 200 OK\r\n\r\n", "HTTP/1.0 or HTTP/1.1"));
    test_cond("HTTP/2 refused", refused("HTTP/2 200 OK\r\n\r\n", "HTTP/1.0 or HTTP/1.1"));
    test_cond("HTTP/2.0 refused", refused("HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.0 or HTTP/1.1"));
    test_cond("lower-case http refused", refused("http/1.1 200 OK\r\n\r\n", "HTTP/1.0 or HTTP/1.1"));
    test_cond("two spaces before the code refused", refused("HTTP/1.1  200 OK\r\n\r\n", "three digits"));
    test_cond("a letter in the code refused", refused("HTTP/1.1 2x0 OK\r\n\r\n", "three digits"));
    test_cond("a two-digit code refused", refused("HTTP/1.1 20 OK\r\n\r\n", "three digits"));
    test_cond("a four-digit code refused", refused("HTTP/1.1 2000 OK\r\n\r\n", "three digits"));
    test_cond("a code below 100 refused", refused("HTTP/1.1 099 X\r\n\r\n", "three digits"));
    test_cond("a sign in the code refused", refused("HTTP/1.1 +20 X\r\n\r\n", "three digits"));
    test_cond("an empty status line refused", refused("\r\nHTTP/1.1 200 OK\r\n\r\n", "HTTP/1.0"));
    test_cond("not HTTP at all refused", refused("SSH-2.0-OpenSSH_9.6\r\n", "HTTP/1.0"));
    test_cond("an incomplete status line asks for more", parse("HTTP/1.1 200 O") == 0 && !H.why);
    test_cond("an incomplete head asks for more", parse("HTTP/1.1 200 OK\r\nA: b\r\n") == 0);
    test_cond("a second parse after DONE is refused", parse(ok) > 0 && http_resp_parse(&H, ok, strlen(ok)) == -1);
}

static void test_header_lines(void)
{
    const char *crlf = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Empty:\r\nX-Pad: \t v a \t\r\n\r\n";
    test_cond("CRLF headers", parse(crlf) == (long)strlen(crlf) && H.nheaders == 3);
    test_cond("name and value spans", hdr_is(0, crlf, "Content-Type", "text/plain"));
    test_cond("an empty value", hdr_is(1, crlf, "X-Empty", ""));
    test_cond("the value trimmed of spaces and tabs, inner space kept", hdr_is(2, crlf, "X-Pad", "v a"));
    const char *lf = "HTTP/1.1 200 OK\nContent-Length: 3\nX-A: 1\n\nabc";
    test_cond("bare LF lines", parse(lf) == (long)strlen(lf) - 3 && H.nheaders == 2 && hdr_is(1, lf, "X-A", "1"));
    test_cond("bare LF: the length is read", H.framing == HTTP_RESP_LENGTH && H.content_length == 3);
    const char *mixed = "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\n";
    test_cond("mixed CRLF and LF lines", parse(mixed) == (long)strlen(mixed) && H.nheaders == 2);
    test_cond("obs-fold refused (space)",
              refused("HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\n\r\n", "obs-fold"));
    test_cond("obs-fold refused (tab)", refused("HTTP/1.1 200 OK\r\nX-A: 1\r\n\tcontinued\r\n\r\n", "obs-fold"));
    test_cond("a space before the colon refused", refused("HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", "name: value"));
    test_cond("no colon refused", refused("HTTP/1.1 200 OK\r\nX-A 1\r\n\r\n", "name: value"));
    test_cond("an empty name refused", refused("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", "name: value"));
    test_cond("a non-token name refused", refused("HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n", "name: value"));
    test_cond("a bare CR in a value refused", refused("HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n", "bare CR"));
    test_cond("a bare CR in the status line refused", refused("HTTP/1.1 200 O\rK\r\n\r\n", "bare CR"));
    test_cond("CR CR LF refused", refused("HTTP/1.1 200 OK\r\nX-A: 1\r\r\n\r\n", "bare CR"));
    test_cond("a control character in a value refused",
              refused("HTTP/1.1 200 OK\r\nX-A: a\x01z\r\n\r\n", "control character"));
    test_cond("DEL in a value refused", refused("HTTP/1.1 200 OK\r\nX-A: a\x7fz\r\n\r\n", "control character"));
    const char nul[] = "HTTP/1.1 200 OK\r\nX-A: a\0z\r\n\r\n";
    http_resp_init(&H, false);
    test_cond("a NUL in a value refused (the client writes NULs into the head)",
              http_resp_parse(&H, nul, sizeof nul - 1) == -1 && strstr(H.why, "control character"));
    test_cond("a tab inside a value is fine", parse("HTTP/1.1 200 OK\r\nX-A: a\tb\r\n\r\n") > 0);
    test_cond("obs-text (bytes >= 0x80) in a value is fine", parse("HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9\r\n\r\n") > 0);

    /* 200 headers are fine, 201 are too many. */
    char *big = malloc(64 * 1024);
    size_t n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < HTTP_RESP_MAX_HEADERS; i++)
        n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
    strcpy(big + n, "\r\n");
    test_cond("200 headers accepted", parse(big) > 0 && H.nheaders == HTTP_RESP_MAX_HEADERS);
    strcpy(big + n, "X-Last: 1\r\n\r\n");
    test_cond("201 headers refused", refused(big, "too many headers"));
    test_cond("201 headers, trickled: the same", trickle_ok(big));
    free(big);
}

static void test_framing(void)
{
    test_cond("Content-Length: LENGTH", parse("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n") > 0 &&
                                            H.framing == HTTP_RESP_LENGTH && H.content_length == 42);
    test_cond("content-length in any case", parse("HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 7\r\n\r\n") > 0 &&
                                                H.framing == HTTP_RESP_LENGTH && H.content_length == 7);
    test_cond("Content-Length: 0 is NONE and keeps alive",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") > 0 && H.framing == HTTP_RESP_NONE &&
                  H.keep_alive);
    test_cond("Content-Length: 000 is NONE", parse("HTTP/1.1 200 OK\r\nContent-Length: 000\r\n\r\n") > 0 &&
                                                 H.framing == HTTP_RESP_NONE);
    test_cond("19 digits fit",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n") > 0 &&
                  H.content_length == 9999999999999999999ull);
    test_cond("20 digits refused", refused("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
                                           "Content-Length is not a number"));
    test_cond("an empty Content-Length refused",
              refused("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length is not a number"));
    test_cond("a non-digit Content-Length refused",
              refused("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "Content-Length is not a number"));
    test_cond("a signed Content-Length refused",
              refused("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", "Content-Length is not a number"));
    test_cond("a Content-Length list refused",
              refused("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "Content-Length is not a number"));
    test_cond("two equal Content-Length headers accepted",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\nContent-Length: 5\r\n\r\n") > 0 &&
                  H.framing == HTTP_RESP_LENGTH && H.content_length == 5);
    test_cond("two differing Content-Length headers refused",
              refused("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "differ"));
    test_cond("Transfer-Encoding: chunked",
              parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") > 0 && H.framing == HTTP_RESP_CHUNKED &&
                  H.keep_alive);
    test_cond("chunked last of a list", parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip , CHUNKED \r\n\r\n") > 0 &&
                                            H.framing == HTTP_RESP_CHUNKED);
    test_cond("chunked not last: read to close, not kept",
              parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") > 0 &&
                  H.framing == HTTP_RESP_CLOSE && !H.keep_alive);
    test_cond("a later Transfer-Encoding header without chunked: close",
              parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n") > 0 &&
                  H.framing == HTTP_RESP_CLOSE && !H.keep_alive);
    test_cond("an empty Transfer-Encoding: close",
              parse("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n") > 0 && H.framing == HTTP_RESP_CLOSE);
    test_cond("Transfer-Encoding with Content-Length refused",
              refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                      "both Transfer-Encoding and Content-Length"));
    test_cond("Content-Length before Transfer-Encoding refused too",
              refused("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "both"));
    test_cond("neither: read to close, not kept",
              parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n") > 0 && H.framing == HTTP_RESP_CLOSE &&
                  !H.keep_alive);

    /* No body whatever the headers say. */
    test_cond("HEAD: NONE despite Content-Length",
              parse_as("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true) > 0 && H.framing == HTTP_RESP_NONE &&
                  H.keep_alive);
    test_cond("HEAD: NONE despite chunked", parse_as("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true) > 0 &&
                                                H.framing == HTTP_RESP_NONE);
    test_cond("HEAD: no header at all is NONE and kept",
              parse_as("HTTP/1.1 200 OK\r\n\r\n", true) > 0 && H.framing == HTTP_RESP_NONE && H.keep_alive);
    test_cond("100 Continue: NONE", parse("HTTP/1.1 100 Continue\r\n\r\n") > 0 && H.status == 100 &&
                                        H.framing == HTTP_RESP_NONE);
    test_cond("103 with a Content-Length: NONE",
              parse("HTTP/1.1 103 Early Hints\r\nContent-Length: 4\r\n\r\n") > 0 && H.framing == HTTP_RESP_NONE);
    test_cond("204: NONE, kept", parse("HTTP/1.1 204 No Content\r\n\r\n") > 0 && H.framing == HTTP_RESP_NONE &&
                                     H.keep_alive);
    test_cond("204 with a Content-Length: still NONE",
              parse("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n") > 0 && H.framing == HTTP_RESP_NONE);
    test_cond("304: NONE despite Content-Length",
              parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n") > 0 && H.framing == HTTP_RESP_NONE &&
                  H.keep_alive);
    test_cond("205 is not special (has a length)",
              parse("HTTP/1.1 205 Reset\r\nContent-Length: 3\r\n\r\n") > 0 && H.framing == HTTP_RESP_LENGTH);
}

static void test_keep_alive(void)
{
    test_cond("1.1 keeps alive by default", parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n") > 0 && H.keep_alive);
    test_cond("1.1 Connection: close",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n") > 0 && !H.keep_alive);
    test_cond("close in a list, any case",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: Upgrade, CLOSE\r\n\r\n") > 0 && !H.keep_alive);
    test_cond("a token merely containing close is not close",
              parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: closed, x-close\r\n\r\n") > 0 && H.keep_alive);
    test_cond("1.0 closes by default", parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n") > 0 && !H.keep_alive);
    test_cond("1.0 with keep-alive is kept",
              parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n") > 0 && H.keep_alive);
    test_cond("1.0 with keep-alive and close is not kept",
              parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n") >
                      0 &&
                  !H.keep_alive);
    test_cond("1.0 keep-alive but read to close: not kept",
              parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n") > 0 && H.framing == HTTP_RESP_CLOSE &&
                  !H.keep_alive);
    test_cond("1.0 with Transfer-Encoding and keep-alive: not kept (RFC 9112 6.1)",
              parse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n") > 0 &&
                  H.framing == HTTP_RESP_CHUNKED && !H.keep_alive);
    test_cond("1.1 with Transfer-Encoding: kept",
              parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") > 0 && H.keep_alive);
    test_cond("1.0 204 with keep-alive kept",
              parse("HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n") > 0 && H.keep_alive);
}

static void test_trickle(void)
{
    const char *cases[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"a\":\"b\"}   ",
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nConnection: keep-alive\n\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n", /* incomplete: both 0 */
        "",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char d[64];
        snprintf(d, sizeof d, "byte by byte = at once (case %zu)", i);
        test_cond(d, trickle_ok(cases[i]));
    }
    /* Fed in two halves at each split point: same as at once. */
    const char *s = "HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\nno";
    size_t n = strlen(s);
    bool all = true;
    for (size_t k = 0; k <= n; k++) {
        http_resp_init(&H, false);
        long a = http_resp_parse(&H, s, k);
        long b = a == 0 ? http_resp_parse(&H, s, n) : a;
        if (b != (long)n - 2 || H.status != 429 || H.content_length != 2 || H.nheaders != 2)
            all = false;
    }
    test_cond("split in two at every point: the same head", all);
}

static void test_limits(void)
{
    size_t cap = HTTP_RESP_MAX_HEAD + 64;
    char *b = malloc(cap + 1);
    /* A head of exactly 64 KiB (through the blank line) is fine. */
    const char *pre = "HTTP/1.1 200 OK\r\nX-Big: ";
    size_t pl = strlen(pre);
    memcpy(b, pre, pl);
    size_t fill = HTTP_RESP_MAX_HEAD - pl - 4;
    memset(b + pl, 'a', fill);
    memcpy(b + pl + fill, "\r\n\r\n", 5);
    test_cond("a head of exactly 64 KiB is accepted", parse(b) == (long)HTTP_RESP_MAX_HEAD);
    test_cond("exactly 64 KiB, trickled: the same", trickle_ok(b));
    /* One byte more is refused. */
    memset(b + pl, 'a', fill + 1);
    memcpy(b + pl + fill + 1, "\r\n\r\n", 5);
    test_cond("a head of 64 KiB + 1 is refused", refused(b, "larger than 64 KiB"));
    test_cond("64 KiB + 1, trickled: the same", trickle_ok(b));
    /* Without any line end: refused once past the limit, not before. */
    memset(b, 'a', cap);
    b[cap] = 0;
    http_resp_init(&H, false);
    test_cond("64 KiB with no line end asks for more", http_resp_parse(&H, b, HTTP_RESP_MAX_HEAD) == 0);
    test_cond("one byte more with no line end is refused",
              http_resp_parse(&H, b, HTTP_RESP_MAX_HEAD + 1) == -1 && strstr(H.why, "64 KiB"));
    /* A small head followed by a large body: the body does not count. */
    const char *small = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n";
    memcpy(b, small, strlen(small));
    http_resp_init(&H, false);
    test_cond("body bytes after the head do not count toward the limit",
              http_resp_parse(&H, b, cap) == (long)strlen(small) && H.content_length == 70000);
    free(b);
}

int main(void)
{
    test_status_line();
    test_header_lines();
    test_framing();
    test_keep_alive();
    test_trickle();
    test_limits();
    test_report();
}
