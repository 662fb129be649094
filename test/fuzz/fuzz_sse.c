/* libFuzzer target for provider text: the SSE parser fed the input whole
 * and then in pseudo-random pieces (the events, and where it fails, must
 * be the same), and the rate-limit/retry header parsers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_hdr.h"
#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rec_cb(const char *event, const char *d, size_t len, void *arg)
{
    struct sbuf *b = arg;
    if (d[len] != '\0')
        abort(); /* data must be NUL-terminated */
    sbuf_printf(b, "[%zu:%s]", strlen(event), event);
    sbuf_printf(b, "%zu:", len);
    sbuf_append(b, d, len);
    return 0;
}

/* Parses buf in pieces whose lengths come from seed (0: whole). */
static int parse(const char *buf, size_t len, unsigned seed, size_t max, struct sbuf *rec)
{
    struct sse_parser *p = sse_new(max);
    size_t at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        size_t n = len - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = 1 + (seed >> 16) % 7;
            if (piece < n)
                n = piece;
        }
        rc = sse_feed(p, buf + at, n, rec_cb, rec);
        at += n;
    }
    sse_free(p);
    return rc;
}

static void headers(const uint8_t *data, size_t size)
{
    static const char *const names[] = {
        "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-output-tokens-reset", "retry-after-ms",
        "retry-after", "x-should-retry"};
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct llm_ratehdr h;
    llm_ratehdr_init(&h);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        llm_ratehdr_feed(&h, names[i], s, 1796144400000LL);
    if (h.reset_requests_ms > LLM_HDR_MAX_MS || h.reset_tokens_ms > LLM_HDR_MAX_MS ||
        h.retry_after_ms > LLM_HDR_MAX_MS || h.remaining_tokens < -1 || h.remaining_requests < -1)
        abort();
    long long d = llm_hdr_go_duration_ms(s);
    if (d < -1 || d > LLM_HDR_MAX_MS)
        abort();
    (void)llm_hdr_rfc3339_ms(s);
    (void)llm_hdr_http_date_ms(s);
    d = llm_hdr_retry_after_ms(s, -1);
    if (d < -1 || d > LLM_HDR_MAX_MS)
        abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    headers(data, size);
    if (size < 2)
        return 0;
    /* The first two bytes choose the split and the bound. */
    unsigned seed = data[0] | 1u;
    size_t max = data[1] < 128 ? 64 + data[1] * 8 : 1 << 16;
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;
    struct sbuf whole, split;
    sbuf_init(&whole);
    sbuf_init(&split);
    sbuf_puts(&whole, "");
    sbuf_puts(&split, "");
    int rw = parse(buf, len, 0, max, &whole);
    int rs = parse(buf, len, seed, max, &split);
    if (rw != rs || whole.len != split.len || memcmp(whole.data, split.data, whole.len) != 0)
        abort();
    sbuf_deinit(&whole);
    sbuf_deinit(&split);
    return 0;
}
