/* libFuzzer target for the multipart/form-data parser: the first byte
 * picks a boundary length, the rest is the body, parsed whole and then in
 * pseudo-random pieces; the parts and the verdict must be the same. Also
 * the boundary of a Content-Type made of the input, and the batch JSONL
 * checker over the body (whole and in pieces: the same first error). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchcheck.h"
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

/* The batch checker's verdict on buf, fed in pieces (seed 0: whole). */
static void batch(const char *buf, size_t len, unsigned seed, char *out, size_t outlen)
{
    struct batchcheck_opts o = {.max_lines = 20, .max_line_bytes = 300};
    struct batchcheck *b = batchcheck_new(&o);
    size_t at = 0;
    int rc = 0;
    while (at < len && rc == 0) {
        size_t n = len - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = 1 + (seed >> 16) % 13;
            if (piece < n)
                n = piece;
        }
        rc = batchcheck_feed(b, buf + at, n);
        at += n;
    }
    if (rc == 0)
        rc = batchcheck_finish(b);
    const struct batchcheck_error *e = batchcheck_error(b);
    if ((rc < 0) != (e != NULL))
        abort();
    snprintf(out, outlen, "%zu|%s|%s", e ? e->line : 0, e ? e->field : "", e ? e->message : "ok");
    batchcheck_free(b);
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

    char v1[700], v2[700];
    batch(body, len, 0, v1, sizeof v1);
    batch(body, len, (unsigned)size | 1u, v2, sizeof v2);
    if (strcmp(v1, v2) != 0)
        abort();

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
