#include "util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "ingot: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    struct sbuf b;
    va_list ap;
    sbuf_init(&b);
    va_start(ap, fmt);
    sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    return sbuf_steal(&b);
}

char *xstrcat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = xmalloc(na + nb + 1);
    memcpy(s, a, na + 1); /* its NUL is where b starts */
    memcpy(s + na, b, nb + 1);
    return s;
}

void sbuf_init(struct sbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sbuf_deinit(struct sbuf *b)
{
    free(b->data);
    sbuf_init(b);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sbuf_reserve(struct sbuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void sbuf_append(struct sbuf *b, const void *p, size_t n)
{
    sbuf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

void sbuf_putc(struct sbuf *b, char c)
{
    sbuf_append(b, &c, 1);
}

/* Whether fmt uses only %%, %s, %c and %d %i %u with no length, l, ll or
 * z: what the per-job and per-request statements and documents use. Any
 * flag, width, precision or other conversion goes to vsnprintf. */
static bool fmt_plain(const char *fmt)
{
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL;) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        bool len = false;
        if (*p == 'l') {
            len = true;
            p += p[1] == 'l' ? 2 : 1;
        } else if (*p == 'z') {
            len = true;
            p++;
        }
        if (*p == 'd' || *p == 'i' || *p == 'u' || (!len && (*p == 's' || *p == 'c')))
            p++;
        else
            return false;
    }
    return true;
}

/* printf's output for a format fmt_plain accepted, without printf (musl's
 * costs about 1,000 instructions a call). A NULL %s prints "(null)", as
 * glibc does. */
static void fmt_plain_out(struct sbuf *b, const char *fmt, va_list ap)
{
    for (const char *p = fmt;;) {
        const char *q = strchr(p, '%');
        if (!q) {
            sbuf_puts(b, p);
            return;
        }
        sbuf_append(b, p, (size_t)(q - p));
        q++;
        int len = 0; /* 1 l, 2 ll, 3 z */
        if (*q == 'l') {
            len = q[1] == 'l' ? 2 : 1;
            q += len;
        } else if (*q == 'z') {
            len = 3;
            q++;
        }
        switch (*q) {
        case '%':
            sbuf_putc(b, '%');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            sbuf_puts(b, s ? s : "(null)");
            break;
        }
        case 'c':
            sbuf_putc(b, (char)(unsigned char)va_arg(ap, int));
            break;
        case 'u':
            sbuf_append_u64(b, len == 0   ? va_arg(ap, unsigned)
                               : len == 1 ? va_arg(ap, unsigned long)
                               : len == 2 ? va_arg(ap, unsigned long long)
                                          : va_arg(ap, size_t));
            break;
        default: /* d, i */
            sbuf_append_i64(b, len == 0   ? va_arg(ap, int)
                               : len == 1 ? va_arg(ap, long)
                               : len == 2 ? va_arg(ap, long long)
                                          : va_arg(ap, ssize_t));
            break;
        }
        p = q + 1;
    }
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
    if (fmt_plain(fmt)) {
        va_list cp;
        va_copy(cp, ap);
        fmt_plain_out(b, fmt, cp);
        va_end(cp);
        return;
    }
    /* Formatted straight into the room there is; measured and formatted
     * again only when it does not fit (most calls: once, not twice). */
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_list cp;
    va_copy(cp, ap);
    int n = room ? vsnprintf(b->data + b->len, room, fmt, cp) : vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) {
        if (room) /* room means storage */
            b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        sbuf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

size_t util_strcpy(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (n) {
        size_t k = l < n - 1 ? l : n - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return l;
}

void util_join(char *dst, size_t n, const char *a, char sep, const char *b)
{
    size_t l = util_strcpy(dst, n, a);
    if (l + 1 < n) {
        dst[l] = sep;
        util_strcpy(dst + l + 1, n - l - 1, b);
    }
}

void sbuf_append_u64(struct sbuf *b, uint64_t v)
{
    char t[20];
    size_t i = sizeof t;
    do
        t[--i] = (char)('0' + v % 10);
    while (v /= 10);
    sbuf_append(b, t + i, sizeof t - i);
}

void sbuf_append_i64(struct sbuf *b, int64_t v)
{
    if (v < 0) {
        sbuf_putc(b, '-');
        sbuf_append_u64(b, 0 - (uint64_t)v); /* INT64_MIN too */
        return;
    }
    sbuf_append_u64(b, (uint64_t)v);
}

void sbuf_append_fixed(struct sbuf *b, double v, int dec)
{
    static const long long p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    if (dec < 0 || dec > 9 || !(v >= 0 && v < 9e9)) {
        sbuf_printf(b, "%.*f", dec, v);
        return;
    }
    /* The whole part apart, then the fraction (exact in a double) scaled:
     * the rounding error stays far below the last digit. */
    long long ip = (long long)v;
    long long f = (long long)((v - (double)ip) * (double)p10[dec] + 0.5);
    if (f >= p10[dec]) {
        ip++;
        f -= p10[dec];
    }
    sbuf_append_i64(b, ip);
    if (!dec)
        return;
    char frac[10];
    for (int i = dec - 1; i >= 0; i--, f /= 10)
        frac[i] = (char)('0' + f % 10);
    sbuf_putc(b, '.');
    sbuf_append(b, frac, (size_t)dec);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

size_t util_utf8_seq(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    if (len == 2 && c < 0xC2)
        return 0;
    if (len == 3) {
        unsigned cp = (c & 15u) << 12 | (p[1] & 63u) << 6 | (p[2] & 63u);
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    if (len == 4) {
        unsigned cp = (c & 7u) << 18 | (p[1] & 63u) << 12 | (p[2] & 63u) << 6 | (p[3] & 63u);
        if (cp < 0x10000 || cp > 0x10FFFF)
            return 0;
    }
    return len;
}

bool util_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        /* ASCII (most of any answer) eight bytes at a time */
        uint64_t w;
        if (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8;
            continue;
        }
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = util_utf8_seq(s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

void sbuf_json_strn(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_reserve(b, n + 2);
    sbuf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        if (c >= 0x80) {
            /* JSON must be UTF-8: a bad sequence becomes U+FFFD, byte by byte */
            size_t k = util_utf8_seq(s + i, n - i);
            if (k) {
                run += k;
                i += k - 1;
                continue;
            }
            sbuf_append(b, s + i - run, run);
            run = 0;
            sbuf_append(b, "\xEF\xBF\xBD", 3);
            continue;
        }
        sbuf_append(b, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': sbuf_append(b, "\\\"", 2); break;
        case '\\': sbuf_append(b, "\\\\", 2); break;
        case '\n': sbuf_append(b, "\\n", 2); break;
        case '\r': sbuf_append(b, "\\r", 2); break;
        case '\t': sbuf_append(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_append(b, u, 6);
        }
        }
    }
    sbuf_append(b, s + n - run, run);
    sbuf_putc(b, '"');
}

void sbuf_json_str(struct sbuf *b, const char *s)
{
    if (!s) {
        sbuf_puts(b, "null");
        return;
    }
    sbuf_json_strn(b, s, strlen(s));
}

char *sbuf_steal(struct sbuf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    sbuf_init(b);
    return p;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
    return time_mono_us() / 1000;
}

int64_t time_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *util_put_uint(char *p, unsigned v, int width)
{
    char t[16];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    while (n < width && n < (int)sizeof t)
        t[n++] = '0';
    while (n)
        *p++ = t[--n];
    return p;
}

char *util_put_datetime(char *p, const struct tm *tm, char sep)
{
    p = util_put_uint(p, (unsigned)(tm->tm_year + 1900), 4);
    *p++ = '-';
    p = util_put_uint(p, (unsigned)(tm->tm_mon + 1), 2);
    *p++ = '-';
    p = util_put_uint(p, (unsigned)tm->tm_mday, 2);
    *p++ = sep;
    p = util_put_uint(p, (unsigned)tm->tm_hour, 2);
    *p++ = ':';
    p = util_put_uint(p, (unsigned)tm->tm_min, 2);
    *p++ = ':';
    return util_put_uint(p, (unsigned)tm->tm_sec, 2);
}

/* Every log line has one: no printf (musl's costs ~4,000 instructions). */
void time_iso8601(int64_t real_us, char *out, size_t outlen)
{
    time_t secs = (time_t)(real_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (real_us < 0 || tm.tm_year + 1900 > 9999 || outlen < 25) { /* never for a clock reading */
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)((real_us / 1000) % 1000));
        return;
    }
    char *p = util_put_datetime(out, &tm, 'T');
    *p++ = '.';
    p = util_put_uint(p, (unsigned)((real_us / 1000) % 1000), 3);
    *p++ = 'Z';
    *p = '\0';
}

int util_random_bytes(void *out, size_t n)
{
    return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

void util_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool util_secure_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}

bool util_streq_nocase(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int util_raise_nofile(char *msg, size_t msglen)
{
    struct rlimit rl;
    msg[0] = '\0';
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur == rl.rlim_max)
        return 0;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    snprintf(msg, msglen, "raised the open-file limit from %llu to %llu",
             (unsigned long long)was, (unsigned long long)rl.rlim_max);
    return 0;
}
