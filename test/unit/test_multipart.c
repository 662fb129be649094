/* multipart: the same parts whatever the piece sizes (every split point,
 * one byte at a time), CRLF edge cases, missing and malformed parts, the
 * header limit, the boundary of a Content-Type. */
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "multipart.h"

struct rec {
    struct sbuf out; /* "[name|filename|ctype]data<end>" per part */
    int stop_at_begin;
};

static int begin_cb(void *arg, const char *name, const char *filename, const char *ctype)
{
    struct rec *r = arg;
    sbuf_printf(&r->out, "[%s|%s|%s]", name, filename ? filename : "-", ctype);
    return r->stop_at_begin ? -1 : 0;
}

static int data_cb(void *arg, const char *data, size_t len)
{
    struct rec *r = arg;
    if (len == 0)
        sbuf_puts(&r->out, "<EMPTY PIECE>");
    sbuf_append(&r->out, data, len);
    return 0;
}

static int end_cb(void *arg)
{
    struct rec *r = arg;
    sbuf_puts(&r->out, "<end>");
    return 0;
}

static const struct multipart_cbs cbs = {begin_cb, data_cb, end_cb};

/* Parses body in pieces of at most step bytes (0: split once at split).
 * Returns the final status: 0 complete, -1 failed; the record in out. */
static int parse(const char *boundary, const char *body, size_t len, size_t split, size_t step,
                 char *out, size_t outlen, char *err, size_t errlen)
{
    struct rec r = {.stop_at_begin = 0};
    sbuf_init(&r.out);
    struct multipart *m = multipart_new(boundary, &cbs, &r);
    int rc = 0;
    size_t at = 0;
    while (at < len && rc == 0) {
        size_t n = len - at;
        if (step)
            n = n < step ? n : step;
        else if (at < split && split - at < n)
            n = split - at;
        rc = multipart_feed(m, body + at, n);
        at += n;
    }
    int fin = rc < 0 ? -1 : multipart_finish(m);
    util_strcpy(out, outlen, r.out.len ? r.out.data : "");
    util_strcpy(err, errlen, multipart_error(m));
    multipart_free(m);
    sbuf_deinit(&r.out);
    return fin;
}

static const char form[] =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"purpose\"\r\n"
    "\r\n"
    "batch\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"in \\\"q\\\".jsonl\"\r\n"
    "Content-Type: application/jsonl\r\n"
    "\r\n"
    "line1\r\n\r\n-- --X --Xy\r\r\n--XYZ\nend\r\n"
    "--XyZ--\r\n"
    "epilogue --XyZ junk";
static const char want[] =
    "[purpose|-|]batch<end>"
    "[file|in \"q\".jsonl|application/jsonl]line1\r\n\r\n-- --X --Xy\r\r\n--XYZ\nend<end>";

static void test_splits(void)
{
    char out[1024], err[256];
    size_t len = sizeof form - 1;
    int bad = 0;
    for (size_t split = 0; split <= len; split++) {
        int rc = parse("XyZ", form, len, split, 0, out, sizeof out, err, sizeof err);
        if (rc != 0 || strcmp(out, want) != 0) {
            if (!bad++)
                printf("  split %zu: rc %d err '%s' got '%s'\n", split, rc, err, out);
        }
    }
    test_cond("the same parts at every split position", bad == 0);
    for (size_t step = 1; step <= 7; step++) {
        int rc = parse("XyZ", form, len, 0, step, out, sizeof out, err, sizeof err);
        test_cond("the same parts fed in small pieces", rc == 0);
        test_streq("the parts, pieces", out, want);
    }
}

static void test_edges(void)
{
    char out[1024], err[256];
    /* the boundary at the very start, an empty part, a part that ends in CR */
    const char *b1 = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
                     "Content-Disposition: form-data; name=\"c\"\r\n\r\nx\r\r\n--b--";
    test_cond("boundary at the start", parse("b", b1, strlen(b1), 0, 1, out, sizeof out, err, sizeof err) == 0);
    test_streq("empty part and trailing CR", out, "[a|-|]<end>[c|-|]x\r<end>");
    /* transport padding after a boundary */
    const char *b2 = "--b  \t\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--\r\n";
    test_cond("padding after the boundary", parse("b", b2, strlen(b2), 0, 0, out, sizeof out, err, sizeof err) == 0);
    test_streq("padding: the part", out, "[a|-|]v<end>");
    /* bare LF in headers */
    const char *b3 = "--b\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--b--";
    test_cond("bare LF refused", parse("b", b3, strlen(b3), 0, 0, out, sizeof out, err, sizeof err) < 0);
    test_cond("bare LF: says so", strstr(err, "CRLF") != NULL);
    /* the boundary line ending in LF only */
    const char *b4 = "--b\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--";
    test_cond("boundary line with LF refused", parse("b", b4, strlen(b4), 0, 0, out, sizeof out, err, sizeof err) < 0);
    /* no closing boundary */
    const char *b5 = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b";
    test_cond("unterminated refused", parse("b", b5, strlen(b5), 0, 0, out, sizeof out, err, sizeof err) < 0);
    test_cond("unterminated: says so", strstr(err, "closing boundary") != NULL);
    /* nothing at all */
    test_cond("empty body refused", parse("b", "", 0, 0, 0, out, sizeof out, err, sizeof err) < 0);
    test_cond("no boundary: says so", strstr(err, "no boundary") != NULL);
    /* a part without a name, without a disposition, not form-data */
    const char *b6 = "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\nv\r\n--b--";
    test_cond("part without name refused", parse("b", b6, strlen(b6), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b7 = "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--";
    test_cond("part without disposition refused", parse("b", b7, strlen(b7), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b8 = "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b--";
    test_cond("not form-data refused", parse("b", b8, strlen(b8), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b9 = "--b\r\n\r\nv\r\n--b--";
    test_cond("part without headers refused", parse("b", b9, strlen(b9), 0, 0, out, sizeof out, err, sizeof err) < 0);
    /* bad headers */
    const char *b10 = "--b\r\nContent Disposition: form-data; name=a\r\n\r\nv\r\n--b--";
    test_cond("header name with space refused", parse("b", b10, strlen(b10), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b11 = "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--b--";
    test_cond("unclosed quote refused", parse("b", b11, strlen(b11), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b12 = "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nv\r\n--b--";
    test_cond("two names refused", parse("b", b12, strlen(b12), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b13 = "--b\r\nX: a\rb\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--";
    test_cond("lone CR in a header refused", parse("b", b13, strlen(b13), 0, 0, out, sizeof out, err, sizeof err) < 0);
    const char *b14 = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--bx\r\n";
    test_cond("junk after a boundary refused", parse("b", b14, strlen(b14), 0, 0, out, sizeof out, err, sizeof err) < 0);
    /* oversize header block */
    struct sbuf big;
    sbuf_init(&big);
    sbuf_puts(&big, "--b\r\nContent-Disposition: form-data; name=a\r\n");
    for (int i = 0; i < 300; i++)
        sbuf_puts(&big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    sbuf_puts(&big, "\r\nv\r\n--b--");
    test_cond("oversize headers refused", parse("b", big.data, big.len, 0, 0, out, sizeof out, err, sizeof err) < 0);
    test_cond("oversize: says so", strstr(err, "too large") != NULL);
    sbuf_deinit(&big);
    /* a file with binary bytes, NUL and CRs included */
    const char bin[] = "--b\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n\r\n\0\r\0\r\n-\r\n--\r\n--b--";
    test_cond("binary part", parse("b", bin, sizeof bin - 1, 0, 1, out, sizeof out, err, sizeof err) == 0);
    test_cond("binary part: empty filename", strncmp(out, "[f||]", 5) == 0);
}

static void test_stop(void)
{
    struct rec r = {.stop_at_begin = 1};
    sbuf_init(&r.out);
    struct multipart *m = multipart_new("b", &cbs, &r);
    const char *b = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--";
    test_cond("a callback stops the parse", multipart_feed(m, b, strlen(b)) == -1);
    test_cond("and nothing more is taken", multipart_feed(m, "x", 1) == -1);
    test_streq("stop: says so", multipart_error(m), "stopped");
    multipart_free(m);
    sbuf_deinit(&r.out);
}

static void test_boundary(void)
{
    char b[MULTIPART_BOUNDARY_MAX + 1], why[200];
    test_cond("plain", multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b, why, sizeof why) == 0);
    test_streq("plain: value", b, "abc");
    test_cond("quoted, case", multipart_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"", b, sizeof b, why, sizeof why) == 0);
    test_streq("quoted: value", b, "a b:c");
    test_cond("no boundary", multipart_boundary("multipart/form-data", b, sizeof b, why, sizeof why) < 0);
    test_cond("wrong type", multipart_boundary("application/json; boundary=x", b, sizeof b, why, sizeof why) < 0);
    test_cond("type prefix only", multipart_boundary("multipart/form-datax; boundary=x", b, sizeof b, why, sizeof why) < 0);
    test_cond("NULL", multipart_boundary(NULL, b, sizeof b, why, sizeof why) < 0);
    test_cond("empty", multipart_boundary("multipart/form-data; boundary=\"\"", b, sizeof b, why, sizeof why) < 0);
    test_cond("bad char", multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"", b, sizeof b, why, sizeof why) < 0);
    test_cond("too long", multipart_boundary("multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901", b, sizeof b, why, sizeof why) < 0);
    test_cond("trailing space", multipart_boundary("multipart/form-data; boundary=\"ab \"", b, sizeof b, why, sizeof why) < 0);
    test_cond("twice", multipart_boundary("multipart/form-data; boundary=a; boundary=b", b, sizeof b, why, sizeof why) < 0);
    test_cond("says what to do", strstr(why, "boundary") != NULL);
}

int main(void)
{
    test_splits();
    test_edges();
    test_stop();
    test_boundary();
    test_report();
}
