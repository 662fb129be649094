/* libFuzzer target for the multipart/form-data parser: the first byte
 * picks a boundary length, the rest is the body, parsed whole and then in
 * pseudo-random pieces; the parts and the verdict must be the same. Also
 * the boundary of a Content-Type made of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int begin_cb(void *arg, const char *name, const char *filename, const char *ctype)
{
    sbuf_printf(arg, "[%s|%s|%s]", name, filename ? filename : "-", ctype);
    return 0;
}

static int data_cb(void *arg, const char *d, size_t len)
{
    if (len == 0)
        abort(); /* never an empty piece */
    sbuf_append(arg, d, len);
    return 0;
}

static int end_cb(void *arg)
{
    sbuf_puts(arg, "<end>");
    return 0;
}

static const struct multipart_cbs cbs = {begin_cb, data_cb, end_cb};

static int parse(const char *boundary, const char *buf, size_t len, unsigned seed, struct sbuf *rec)
{
    struct multipart *m = multipart_new(boundary, &cbs, rec);
    size_t at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        size_t n = len - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = 1 + (seed >> 16) % 9;
            if (piece < n)
                n = piece;
        }
        rc = multipart_feed(m, buf + at, n);
        at += n;
    }
    if (rc == 0)
        rc = multipart_finish(m) == 0 ? 1 : -1;
    multipart_free(m);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t blen = 1 + data[0] % 8;
    char boundary[16];
    memcpy(boundary, "ab-=:.xy", blen);
    boundary[blen] = '\0';
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct sbuf a, b;
    sbuf_init(&a);
    sbuf_init(&b);
    int ra = parse(boundary, body, len, 0, &a);
    int rb = parse(boundary, body, len, (unsigned)size * 2654435761u | 1u, &b);
    if (ra != rb || (ra == 1 && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))))
        abort();
    sbuf_deinit(&a);
    sbuf_deinit(&b);

    char *ct = malloc(size + 1);
    memcpy(ct, data, size);
    ct[size] = '\0';
    char out[MULTIPART_BOUNDARY_MAX + 1], why[256];
    if (multipart_boundary(ct, out, sizeof out, why, sizeof why) == 0 &&
        (strlen(out) == 0 || strlen(out) > MULTIPART_BOUNDARY_MAX))
        abort();
    free(ct);
    return 0;
}
