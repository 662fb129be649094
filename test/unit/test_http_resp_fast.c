/* The response head parser's one-pass header line scan against the parser
 * it replaced (http_resp_ref.h): for heads like the providers' and for
 * every single-byte change of them (each byte value at each position), byte
 * deletions, truncations and seeded random splices, both give the same
 * verdict, the same reason, the same spans and framing, whether the bytes
 * come at once, byte by byte or in random pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "http_resp_ref.h"

static struct http_resp_head A, B;
static unsigned long compared;

static bool same_head(const struct http_resp_head *a, const struct http_resp_head *b)
{
    return a->step == b->step && a->pos == b->pos && a->scan == b->scan && a->status == b->status &&
           a->minor == b->minor && a->framing == b->framing && a->content_length == b->content_length &&
           a->keep_alive == b->keep_alive && a->nheaders == b->nheaders &&
           memcmp(a->headers, b->headers, a->nheaders * sizeof *a->headers) == 0 &&
           (a->why == b->why || (a->why && b->why && strcmp(a->why, b->why) == 0));
}

/* Feeds s[0..n) to both in pieces of at most piece bytes (0: at once; a
 * seed above 1000 picks random piece sizes); every call's result and the
 * parsers' states must match. */
/* The names the parser knows while parsing (copied from trained for each
 * feed), or none. */
static struct http_resp_known trained, K;
static bool use_known;
static char zbuf[2 * HTTP_RESP_MAX_HEAD];

static bool same_fed(const char *s, size_t n, bool head_request, size_t piece)
{
    K = trained;
    http_resp_init(&A, head_request);
    ref_http_resp_init(&B, head_request);
    size_t have = 0;
    unsigned seed = (unsigned)piece * 2654435761u;
    for (;;) {
        size_t step = piece == 0 ? n : piece > 1000 ? 1 + ((seed = seed * 1103515245u + 12345u) >> 16) % 37 : piece;
        have = have + step < n ? have + step : n;
        long a;
        if (use_known) { /* as upstream calls it: a NUL after what came */
            memcpy(zbuf, s, have);
            zbuf[have] = '\0';
            a = http_resp_parse_known(&A, zbuf, have, &K);
        } else {
            a = http_resp_parse(&A, s, have);
        }
        long b = ref_http_resp_parse(&B, s, have);
        compared++;
        if (a != b || !same_head(&A, &B)) {
            printf("  differ at %zu of %zu (piece %zu): %ld '%s' vs %ld '%s'\n", have, n, piece, a,
                   A.why ? A.why : "", b, B.why ? B.why : "");
            return false;
        }
        if (a != 0 || have == n)
            return true;
    }
}

static bool same_all_ways(const char *s, size_t n)
{
    for (int hr = 0; hr < 2; hr++)
        if (!same_fed(s, n, hr, 0) || !same_fed(s, n, hr, 1) || !same_fed(s, n, hr, 7) || !same_fed(s, n, hr, 1001))
            return false;
    return true;
}

static const char *const heads[] = {
    /* the fake provider's, as the gateway benchmark sees it */
    "HTTP/1.1 200 OK\r\nx-request-id: req_fake_1\r\nx-ratelimit-limit-requests: 10000\r\n"
    "x-ratelimit-remaining-requests: 9999\r\nx-ratelimit-reset-requests: 20ms\r\n"
    "x-ratelimit-limit-tokens: 2000000\r\nx-ratelimit-remaining-tokens: 1999000\r\n"
    "x-ratelimit-reset-tokens: 20ms\r\nContent-Type: application/json\r\n"
    "Date: Wed, 02 Dec 2026 11:00:00 GMT\r\nContent-Length: 12\r\n\r\n{\"ok\":true}\n",
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    "Connection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.0 200 OK\nConnection: keep-alive, Upgrade\nContent-Length: 3\n\nabc",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nretry-after:  7 \t\r\n"
    "anthropic-ratelimit-tokens-reset:\t2026-12-01T17:00:00Z\r\nX-Empty:\r\nX-Ws:   \r\n\r\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nA: b\r\n\r\n",
};

static void heads_as_they_come(void)
{
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++)
        test_cond(heads[i], same_all_ways(heads[i], strlen(heads[i])));
}

/* Every byte value at every position of a head: names, colons, OWS,
 * values, line ends (CR, LF, NUL, DEL, obs-text, tab all go through). */
static void every_byte_everywhere(void)
{
    /* short names and values (byte loops only), then long ones (the
     * eight-byte steps, the tail after them, a value ending at a step) */
    static const char *const bases[] = {
        "HTTP/1.1 200 OK\r\nX-Rl: a b\t\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 200 OK\r\nx-ratelimit-remaining-requests:  Wed, 02 Dec 2026 11:00:00 GMT \r\n"
        "Content-Type-Options-X: abcdefgh\r\nABCDEFGHIJKLMNOP-0123456789:12345678abcdefgh\n\r\n",
    };
    bool ok = true;
    for (size_t k = 0; k < 2 * sizeof bases / sizeof *bases; k++) {
        const char *base = bases[k / 2];
        size_t n = strlen(base);
        char s[256];
        /* odd rounds: the names of the unchanged head known */
        use_known = k % 2;
        memset(&trained, 0, sizeof trained);
        http_resp_init(&A, false);
        if (use_known && http_resp_parse_known(&A, base, n, &trained) <= 0)
            ok = false;
        for (size_t pos = 0; pos < n && ok; pos++) {
            for (int c = 0; c < 256 && ok; c++) {
                memcpy(s, base, n);
                s[pos] = (char)c;
                ok = same_fed(s, n, false, 0) && same_fed(s, n, false, 1) && same_fed(s, n, true, 5);
            }
        }
    }
    use_known = false;
    test_cond("every byte value at every position, names known or not", ok);
}

/* Deletions and truncations of the benchmark head, and lines spliced from
 * pieces of odd ones: the slow path's refusals with their reasons. */
static void deletions_and_splices(void)
{
    const char *base = heads[0];
    size_t n = strlen(base);
    char s[1024];
    bool ok = true;
    for (size_t pos = 0; pos < n && ok; pos++) {
        memcpy(s, base, pos);
        memcpy(s + pos, base + pos + 1, n - pos - 1);
        ok = same_all_ways(s, n - 1) && same_fed(base, pos, false, 0);
    }
    test_cond("each byte deleted, each truncation", ok);
    static const char *const bits[] = {"\r\n", "\n", "\r", ":", " ", "\t", "X-A", "content-length", "transfer-encoding",
                                       "connection", "chunked", "close", "keep-alive", "12", "x", "\x7f", "\x01",
                                       "\x80", "HTTP/1.1 200 OK", "HTTP/1.0 101 S", " 0", ","};
    unsigned seed = 12345;
    for (int round = 0; round < 20000 && ok; round++) {
        size_t len = 0;
        const char *start = (seed & 1) ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\n";
        memcpy(s, start, strlen(start));
        len = strlen(start);
        int parts = 1 + (int)((seed >> 3) % 24);
        for (int k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *b = bits[(seed >> 16) % (sizeof bits / sizeof *bits)];
            size_t bl = strlen(b);
            if (len + bl + 4 >= sizeof s)
                break;
            memcpy(s + len, b, bl);
            len += bl;
        }
        memcpy(s + len, "\r\n\r\n", 4);
        len += (seed >> 20) % 5;
        ok = same_all_ways(s, len);
        /* and with the names of an earlier splice, or of the benchmark head, known */
        use_known = true;
        ok = ok && same_all_ways(s, len);
        use_known = false;
        http_resp_init(&A, false);
        const char *t = round % 3 ? s : heads[0];
        size_t tl = round % 3 ? len : strlen(heads[0]);
        memcpy(zbuf, t, tl);
        zbuf[tl] = '\0';
        (void)http_resp_parse_known(&A, zbuf, tl, &trained);
        seed = seed * 1103515245u + 12345u;
    }
    test_cond("random splices, names known or not", ok);
}

/* The header limit: the 200th header is kept, the 201st refused, both
 * ways, with the fast path doing the counting. */
static void header_limit(void)
{
    static char s[HTTP_RESP_MAX_HEADERS * 8 + 64];
    for (size_t extra = 0; extra < 2; extra++) {
        size_t len = 0;
        len += (size_t)sprintf(s + len, "HTTP/1.1 200 OK\r\n");
        for (size_t i = 0; i < HTTP_RESP_MAX_HEADERS + extra; i++)
            len += (size_t)sprintf(s + len, "A: %zu\r\n", i % 10);
        len += (size_t)sprintf(s + len, "\r\n");
        test_cond("the header limit, as the reference", same_all_ways(s, len));
        http_resp_init(&A, false);
        test_cond("200 headers kept, 201 refused", http_resp_parse(&A, s, len) == (extra ? -1 : (long)len));
    }
}

/* Heads around the 64 KiB limit, the limit falling on a header line's
 * LF, just after it and just before it, names known or not. */
static void big_heads(void)
{
    static char big[HTTP_RESP_MAX_HEAD + 64];
    bool ok = true;
    for (int known = 0; known < 2; known++) {
        use_known = known;
        memset(&trained, 0, sizeof trained);
        if (known) {
            http_resp_init(&A, false);
            static const char t[] = "HTTP/1.1 200 OK\r\nX-Big: 1\r\nContent-Length: 0\r\n\r\n";
            ok = http_resp_parse_known(&A, t, sizeof t - 1, &trained) > 0;
        }
        for (long d = -3; d <= 3 && ok; d++) {
            /* "X-Big: " + value + "\r\n" ends at HTTP_RESP_MAX_HEAD + d */
            size_t start = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX-Big: ");
            size_t vlen = (size_t)((long)HTTP_RESP_MAX_HEAD + d) - start - 2;
            memset(big + start, 'v', vlen);
            size_t len = start + vlen;
            len += (size_t)sprintf(big + len, "\r\nContent-Length: 0\r\n\r\n");
            ok = same_fed(big, len, false, 0) && same_fed(big, len, false, 4096) && same_fed(big, len, false, 1001);
        }
    }
    use_known = false;
    test_cond("heads around the 64 KiB limit, names known or not", ok);
}

/* What the known names learn: a head's names in order, not again while
 * they stay the same, again when they change; more names than fit. */
static void learning(void)
{
    struct http_resp_known k;
    memset(&k, 0, sizeof k);
    const char *h1 = "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n";
    http_resp_init(&A, false);
    test_cond("learn: the first head completes", http_resp_parse_known(&A, h1, strlen(h1), &k) == (long)strlen(h1));
    test_cond("learn: its two names, in order", k.n == 2 && k.len[0] == 3 && !memcmp(k.bytes + k.off[0], "X-A", 3) &&
                                                    k.len[1] == 14 && !memcmp(k.bytes + k.off[1], "Content-Length", 14));
    http_resp_init(&A, false);
    (void)http_resp_parse_known(&A, h1, strlen(h1), &k);
    test_cond("learn: the same names again: all known", !A.known_miss && k.n == 2);
    const char *h2 = "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n";
    http_resp_init(&A, false);
    (void)http_resp_parse_known(&A, h2, strlen(h2), &k);
    test_cond("learn: a name changed: learnt", A.known_miss && k.n == 3 && !memcmp(k.bytes + k.off[1], "X-B", 3));
    http_resp_init(&A, false);
    test_cond("learn: a refused head teaches nothing",
              http_resp_parse_known(&A, "HTTP/1.1 200 OK\r\nY: 1\r\nbad\r\n\r\n", 30, &k) == -1 && k.n == 3);
    static char many[HTTP_RESP_KNOWN_NAMES * 16 + 64];
    size_t len = (size_t)sprintf(many, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < HTTP_RESP_KNOWN_NAMES + 5; i++)
        len += (size_t)sprintf(many + len, "X-N%d: v\r\n", i);
    len += (size_t)sprintf(many + len, "\r\n");
    http_resp_init(&A, false);
    (void)http_resp_parse_known(&A, many, len, &k);
    test_cond("learn: more names than fit: the first ones, full", k.n == HTTP_RESP_KNOWN_NAMES && k.full);
    http_resp_init(&A, false);
    (void)http_resp_parse_known(&A, many, len, &k);
    test_cond("learn: and the same head again is no miss", !A.known_miss && A.nheaders == HTTP_RESP_KNOWN_NAMES + 5);
}

static void counted(void)
{
    printf("  %lu parser calls compared\n", compared);
    test_cond("enough compared", compared > 100000);
}

int main(void)
{
    heads_as_they_come();
    every_byte_everywhere();
    deletions_and_splices();
    header_limit();
    big_heads();
    learning();
    counted();
    test_report();
}
