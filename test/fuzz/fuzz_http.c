/* libFuzzer target for the HTTP/1.1 request parser: the head parsed at once
 * and byte by byte must agree, offsets stay inside the input, and the
 * chunked decoder never writes past its output or produces more than it
 * consumed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spans(const struct http_head *h, size_t len)
{
    if (h->target.off + h->target.len > len || h->method_name.off + h->method_name.len > len)
        abort();
    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name.off + h->headers[i].name.len > len ||
            h->headers[i].value.off + h->headers[i].value.len > len)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static struct http_head a, b;
    http_head_init(&a);
    long whole = http_head_parse(&a, s, size);
    http_head_init(&b);
    long step = 0;
    for (size_t i = 1; i <= size; i++) {
        step = http_head_parse(&b, s, i);
        if (step != 0)
            break;
    }
    /* the same verdict whether the bytes come at once or one by one (a
     * complete head is found at the same place either way) */
    if ((whole > 0) != (step > 0) || (whole > 0 && whole != step))
        abort();
    if (whole < 0 && step < 0 && a.status != b.status)
        abort();
    if (whole > 0) {
        if ((size_t)whole > size)
            abort();
        check_spans(&a, size);
        if (a.framing == HTTP_BODY_CHUNKED) {
            struct http_chunked c;
            http_chunked_init(&c);
            size_t off = (size_t)whole;
            char *out = malloc(size + 1);
            size_t produced_total = 0;
            while (off < size) {
                size_t used, made;
                size_t cap = (off % 3) + 1; /* small and varying output room */
                int rc = http_chunked_feed(&c, s + off, size - off, &used, out, cap, &made, 1 << 20);
                if (made > cap || used > size - off || made > used)
                    abort();
                produced_total += made;
                off += used;
                if (rc != 0 || used == 0)
                    break;
            }
            if (produced_total > size)
                abort();
            free(out);
        }
    }
    struct sbuf j;
    sbuf_init(&j);
    sbuf_json_strn(&j, s, size);
    if (!util_utf8_valid(j.data, j.len))
        abort();
    sbuf_deinit(&j);
    char *dec = malloc(size + 1);
    long k = http_pct_decode(s, size, dec, true);
    if (k > (long)size)
        abort();
    free(dec);
    return 0;
}
