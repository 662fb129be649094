/* libFuzzer target for the upstream client's response head parser: the
 * first input byte picks HEAD or not and seeds the split points; the rest
 * is the response. Parsed at once, byte by byte, and in random pieces, the
 * verdict, the head's length and what was read from it must agree; every
 * span lies inside the head; the framing is consistent with the status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_resp_head whole, step, split;

static void check_head(const struct http_resp_head *h, const char *s, long hl)
{
    if (hl <= 0 || (size_t)hl > HTTP_RESP_MAX_HEAD)
        abort();
    if (h->status < 100 || h->status > 999 || (h->minor != 0 && h->minor != 1))
        abort();
    if (h->nheaders > HTTP_RESP_MAX_HEADERS)
        abort();
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        if (hd->name.len == 0 || (size_t)hd->name.off + hd->name.len >= (size_t)hl ||
            (size_t)hd->value.off + hd->value.len >= (size_t)hl)
            abort();
        /* the client writes a NUL just past the name and the value: both
         * must be inside the head and not over another header's bytes */
        if (s[hd->name.off + hd->name.len] != ':')
            abort();
        for (size_t k = 0; k < hd->value.len; k++) {
            unsigned char c = (unsigned char)s[hd->value.off + k];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                abort();
        }
        if (hd->value.len && (s[hd->value.off] == ' ' || s[hd->value.off] == '\t' ||
                              s[hd->value.off + hd->value.len - 1] == ' ' ||
                              s[hd->value.off + hd->value.len - 1] == '\t'))
            abort();
    }
    bool no_body = h->head_request || h->status < 200 || h->status == 204 || h->status == 304;
    if (no_body && h->framing != HTTP_RESP_NONE)
        abort();
    if (h->framing == HTTP_RESP_LENGTH && h->content_length == 0)
        abort();
    if (h->framing == HTTP_RESP_CLOSE && h->keep_alive)
        abort();
    if (h->minor == 0 && h->keep_alive && !h->nheaders)
        abort();
}

static bool same(const struct http_resp_head *a, const struct http_resp_head *b)
{
    return a->status == b->status && a->minor == b->minor && a->framing == b->framing &&
           a->content_length == b->content_length && a->keep_alive == b->keep_alive && a->nheaders == b->nheaders &&
           memcmp(a->headers, b->headers, a->nheaders * sizeof *a->headers) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool head_request = data[0] & 1;
    uint32_t seed = data[0] | 0x9e3779b9u;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;

    http_resp_init(&whole, head_request);
    long a = http_resp_parse(&whole, s, n);

    http_resp_init(&step, head_request);
    long b = 0;
    size_t i;
    for (i = 1; i <= n; i++) {
        b = http_resp_parse(&step, s, i);
        if (b != 0)
            break;
    }

    http_resp_init(&split, head_request);
    long c = 0;
    size_t have = 0;
    while (have < n) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + (seed >> 16) % 64;
        have = have + piece < n ? have + piece : n;
        c = http_resp_parse(&split, s, have);
        if (c != 0)
            break;
    }

    /* one verdict, whichever way the bytes came */
    if (a != b || a != c)
        abort();
    if (a > 0) {
        /* complete exactly at the head's last byte, not before */
        if ((size_t)a != i || (size_t)a > n)
            abort();
        check_head(&whole, s, a);
        if (!same(&whole, &step) || !same(&whole, &split))
            abort();
        /* a finished parser refuses to go on */
        if (http_resp_parse(&whole, s, n) != -1)
            abort();
    } else if (a < 0) {
        if (!whole.why || !step.why || !split.why || strcmp(whole.why, step.why) != 0 ||
            strcmp(whole.why, split.why) != 0)
            abort();
    }
    return 0;
}
