/* util: allocation that aborts on OOM, a growable byte buffer, clocks. */
#ifndef INGOT_UTIL_H
#define INGOT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ATTR_WUR __attribute__((warn_unused_result))
#define ATTR_FMT(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Process exit codes: sysexits.h values, one meaning each (listed by
 * `ingot help` and the README). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,        /* doctor only: a check failed */
    EXIT_USAGE = 64,      /* bad command line: unknown flag, missing or extra argument */
    EXIT_DATAERR = 65,    /* the data refuses it: no such tenant/key, exists already, changed migration */
    EXIT_UNAVAILABLE = 69, /* the database is unreachable (or failed mid-command) */
    EXIT_SOFTWARE = 70,   /* internal error */
    EXIT_OSERR = 71,      /* the system refused: cannot listen on HOST:PORT */
    EXIT_CANTCREAT = 73,  /* cannot create the output file (init) */
    EXIT_IOERR = 74,      /* cannot write the output (init) */
    EXIT_CONFIG = 78      /* bad configuration, or a schema older than this binary (run migrate) */
};

/* Out of memory is not recoverable here: these abort with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);               /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_FMT(1, 2);
/* a followed by b, newly allocated: xasprintf("%s%s") without printf. */
char *xstrcat(const char *a, const char *b);

/* A growable, always NUL-terminated byte buffer; owns its storage. */
struct sbuf {
    char *data;
    size_t len;
    size_t cap;
};
void sbuf_init(struct sbuf *b);
void sbuf_deinit(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_append(struct sbuf *b, const void *p, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
/* snprintf(dst, n, "%s", src) without printf's cost: src cut to fit, NUL
 * always (n > 0); returns strlen(src). */
size_t util_strcpy(char *dst, size_t n, const char *src);
/* snprintf(dst, n, "%s%c%s", a, sep, b) likewise ("provider/model"). */
void util_join(char *dst, size_t n, const char *a, char sep, const char *b);
/* Decimal integers, without printf's cost (per-request paths). */
void sbuf_append_u64(struct sbuf *b, uint64_t v);
void sbuf_append_i64(struct sbuf *b, int64_t v);
/* sbuf_printf(b, "%.*f", dec, v) for 0 <= dec <= 9, without printf for
 * 0 <= v < 9e9 (per-call usage rows): the same text except that an exact
 * half rounds up where printf rounds to even; printf for anything else. */
void sbuf_append_fixed(struct sbuf *b, double v, int dec);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) ATTR_FMT(2, 3);
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap) ATTR_FMT(2, 0);
/* Appends s as a JSON string literal, quotes included; bytes that are not
 * UTF-8 become U+FFFD, so the result is valid JSON for any input. */
void sbuf_json_str(struct sbuf *b, const char *s);
void sbuf_json_strn(struct sbuf *b, const char *s, size_t n);
/* Hands the storage to the caller (who frees it) and leaves b empty. */
char *sbuf_steal(struct sbuf *b);

int64_t time_mono_us(void);
int64_t time_mono_ms(void);
int64_t time_real_us(void);
/* ISO-8601 UTC with milliseconds into out (>= 32 bytes). */
void time_iso8601(int64_t real_us, char *out, size_t outlen);
/* v in decimal at p, at least width digits (zero-padded, as "%0*u"); returns
 * the end (no NUL). Dates and times without printf. */
char *util_put_uint(char *p, unsigned v, int width);
/* "YYYY-MM-DD" sep "HH:MM:SS" of tm (a year of 0..9999) at p, no NUL;
 * returns the end. */
struct tm;
char *util_put_datetime(char *p, const struct tm *tm, char sep);

/* Fills out with n random bytes from OpenSSL; 0/-1. */
int util_random_bytes(void *out, size_t n) ATTR_WUR;
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void util_hex(const unsigned char *in, size_t n, char *out);
/* The value of a hex digit (either case), -1 for any other byte. */
static inline int util_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'..'F' to 'a'..'f'; no other byte lands there */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
/* Four hex digits at p (JSON's \uXXXX) into *v: 0, or -1 (v untouched). */
static inline int util_hex4(const unsigned char *p, unsigned *v)
{
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        int d = util_hexval(p[k]);
        if (d < 0)
            return -1;
        x = x << 4 | (unsigned)d;
    }
    *v = x;
    return 0;
}
/* Constant-time comparison of two strings (lengths included). */
bool util_secure_streq(const char *a, const char *b);
bool util_streq_nocase(const char *a, const char *b);
/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t util_utf8_seq(const char *s, size_t n);
bool util_utf8_valid(const char *s, size_t n);
/* The first index in [i, n) holding a or b; n if none. Past its first
 * sixteen bytes a span is searched eight bytes at a time (long JSON
 * strings: a model's answer); short ones are faster byte by byte. */
static inline size_t util_find2(const char *s, size_t i, size_t n, char a, char b)
{
    for (size_t stop = n - i > 16 ? i + 16 : n; i < stop; i++)
        if (s[i] == a || s[i] == b)
            return i;
    const uint64_t ones = 0x0101010101010101ULL, tops = 0x8080808080808080ULL;
    const uint64_t ma = ones * (unsigned char)a, mb = ones * (unsigned char)b;
    while (n - i >= 8) {
        uint64_t w, x, y;
        memcpy(&w, s + i, 8);
        x = w ^ ma;
        y = w ^ mb;
        /* a zero byte of x or y sets a top bit (exact up to the first) */
        if (((x - ones) & ~x & tops) | ((y - ones) & ~y & tops))
            break;
        i += 8;
    }
    while (i < n && s[i] != a && s[i] != b)
        i++;
    return i;
}
/* Raises the soft RLIMIT_NOFILE to the hard limit (the default soft 1024
 * is too few for a server). 0/-1; msg says what changed, or is empty. */
int util_raise_nofile(char *msg, size_t msglen);

#endif
