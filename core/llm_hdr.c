#include "llm_hdr.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"

/* Longest value looked at; a longer one is ignored (no header we read
 * needs more, and a 30-digit number fits). */
#define HDR_VALUE_MAX 128

void llm_ratehdr_init(struct llm_ratehdr *h)
{
    h->remaining_requests = -1;
    h->remaining_tokens = -1;
    h->reset_requests_ms = -1;
    h->reset_tokens_ms = -1;
    h->retry_after_ms = h->ra_ms = h->ra_s = -1;
    h->should_retry = -1;
}

/* [digits][.digits] with at least one digit, as a double; large values
 * stop growing past 1e30 (the caller saturates far below that). */
static int read_number(const char **pp, double *out)
{
    const char *p = *pp;
    double v = 0, scale = 1;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if (v < 1e30)
            v = v * 10 + (*p - '0');
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, digits++)
            if (scale > 1e-18) {
                scale /= 10;
                v += (*p - '0') * scale;
            }
    }
    if (digits == 0)
        return -1;
    *pp = p;
    *out = v;
    return 0;
}

/* A non-negative ms amount, rounded up and saturated. */
static long long ms_bounded(double ms)
{
    if (!(ms >= 0))
        return -1;
    if (ms >= (double)LLM_HDR_MAX_MS)
        return LLM_HDR_MAX_MS;
    long long v = (long long)ms; /* rounded up by hand: no libm in the link */
    return (double)v < ms ? v + 1 : v;
}

/* The Go duration unit at p (the longest that matches, as Go reads them:
 * "ms" before "m"): its length, and *ms its size; 0 if none. */
static size_t go_unit(const char *p, double *ms)
{
    switch ((unsigned char)p[0]) {
    case 'n':
        *ms = 1e-6;
        return p[1] == 's' ? 2 : 0;
    case 'u':
        *ms = 1e-3;
        return p[1] == 's' ? 2 : 0;
    case 0xc2: /* U+00B5 MICRO SIGN */
        *ms = 1e-3;
        return (unsigned char)p[1] == 0xb5 && p[2] == 's' ? 3 : 0;
    case 0xce: /* U+03BC GREEK SMALL LETTER MU */
        *ms = 1e-3;
        return (unsigned char)p[1] == 0xbc && p[2] == 's' ? 3 : 0;
    case 'm':
        *ms = p[1] == 's' ? 1 : 60000;
        return p[1] == 's' ? 2 : 1;
    case 's':
        *ms = 1000;
        return 1;
    case 'h':
        *ms = 3600000;
        return 1;
    default:
        return 0;
    }
}

long long llm_hdr_go_duration_ms(const char *s)
{
    if (!s)
        return -1;
    const char *p = s;
    if (*p == '+')
        p++;
    if (strcmp(p, "0") == 0)
        return 0;
    if (!*p)
        return -1;
    double total = 0;
    while (*p) {
        double v;
        if (read_number(&p, &v) < 0)
            return -1;
        double unit = 0;
        size_t len = go_unit(p, &unit);
        if (len == 0)
            return -1;
        p += len;
        if (total < 1e30)
            total += v * unit;
    }
    return ms_bounded(total);
}

static int digits_n(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
 * Hinnant's days_from_civil: no timegm, no time zone, no time_t range). */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153LL * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Unix ms of a date and time already range-checked (the second may be
 * 60: a leap second counts as the next one's start). */
static long long unix_ms(int y, int mo, int d, int h, int mi, int se, int ms)
{
    long long days = days_from_civil(y, mo, d);
    return (((days * 24 + h) * 60 + mi) * 60 + se) * 1000 + ms;
}

long long llm_hdr_rfc3339_ms(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
    if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits_n(s, 4), mo = digits_n(s + 5, 2), d = digits_n(s + 8, 2), h = digits_n(s + 11, 2),
        mi = digits_n(s + 14, 2), se = digits_n(s + 17, 2);
    if (y < 1970 || !check_date(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }
    long long offset_ms = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits_n(p + 1, 2), om = p[1] && p[2] && p[3] == ':' ? digits_n(p + 4, 2) : -1;
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_ms = (oh * 3600LL + om * 60LL) * 1000 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    long long t = unix_ms(y, mo, d, h, mi, se, ms) - offset_ms;
    return t < 0 ? -1 : t;
}

long long llm_hdr_http_date_ms(const char *s)
{
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes exactly). */
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return -1;
    int mo = 0;
    for (int i = 0; i < 12; i++)
        if (strncmp(s + 8, mons[i], 3) == 0)
            mo = i + 1;
    int d = digits_n(s + 5, 2), y = digits_n(s + 12, 4), h = digits_n(s + 17, 2), mi = digits_n(s + 20, 2),
        se = digits_n(s + 23, 2);
    if (y < 1970 || !check_date(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    return unix_ms(y, mo, d, h, mi, se, 0);
}

/* An absolute instant as ms from now, in [0, LLM_HDR_MAX_MS]. */
static long long until(long long at_ms, long long now_ms)
{
    if (at_ms <= now_ms)
        return 0;
    /* at_ms - now_ms without overflow: at_ms >= 0 here, now_ms may be anything. */
    if (now_ms < 0 && at_ms - LLM_HDR_MAX_MS > now_ms)
        return LLM_HDR_MAX_MS;
    long long ms = at_ms - now_ms;
    return ms > LLM_HDR_MAX_MS ? LLM_HDR_MAX_MS : ms;
}

/* A plain non-negative decimal (fractions allowed) scaled by unit_ms. */
static long long decimal_ms(const char *s, double unit_ms)
{
    const char *p = s;
    double v;
    if (read_number(&p, &v) < 0 || *p)
        return -1;
    return ms_bounded(v * unit_ms);
}

long long llm_hdr_retry_after_ms(const char *s, long long now_real_ms)
{
    if (!s)
        return -1;
    if (*s >= '0' && *s <= '9')
        return decimal_ms(s, 1000);
    long long at = llm_hdr_http_date_ms(s);
    return at < 0 ? -1 : until(at, now_real_ms);
}

/* A count: digits only (a sign, even "-0", is refused), saturated. */
static long long count(const char *s)
{
    /* Up to 18 digits stay below 2^62, the bound: read here; anything
     * else as check_parse_ll_sat reads it. */
    long long v = 0;
    size_t i = 0;
    for (; i < 18 && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    if (i > 0 && s[i] == '\0')
        return v;
    if (*s < '0' || *s > '9' || check_parse_ll_sat(s, 0, (long long)1 << 62, &v) < 0)
        return -1;
    return v;
}

static void keep_min(long long *field, long long v)
{
    if (v >= 0 && (*field < 0 || v < *field))
        *field = v;
}

static void keep_max(long long *field, long long v)
{
    if (v >= 0 && v > *field)
        *field = v;
}

/* The longest of the two; retry-after has whole seconds, so one less than
 * a second above retry-after-ms is its rounding, not a longer wait. */
static long long retry_combined(const struct llm_ratehdr *h)
{
    if (h->ra_ms >= 0 && h->ra_s > h->ra_ms && h->ra_s - h->ra_ms < 1000)
        return h->ra_ms;
    return h->ra_ms > h->ra_s ? h->ra_ms : h->ra_s;
}

long long llm_ratehdr_retry_ms(const struct llm_ratehdr *h, long status)
{
    long long r = h->retry_after_ms;
    if (h->remaining_requests == 0 && h->reset_requests_ms > r)
        r = h->reset_requests_ms;
    if (h->remaining_tokens == 0 && h->reset_tokens_ms > r)
        r = h->reset_tokens_ms;
    if (r < 0 && status == 429) { /* a 429 that says nothing else: the sooner reset */
        r = h->reset_requests_ms;
        if (h->reset_tokens_ms >= 0 && (r < 0 || h->reset_tokens_ms < r))
            r = h->reset_tokens_ms;
    }
    return r;
}

/* What a header name means here: only these are read. */
enum rh_kind {
    RH_NONE = 0,
    RH_REMAINING_REQUESTS,
    RH_REMAINING_TOKENS,
    RH_RESET_REQUESTS, /* OpenAI: a Go duration */
    RH_RESET_TOKENS,
    RH_A_RESET_REQUESTS, /* Anthropic: an RFC 3339 instant */
    RH_A_RESET_TOKENS,
    RH_RETRY_AFTER_MS,
    RH_RETRY_AFTER,
    RH_SHOULD_RETRY
};

static uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* 8 bytes of name against 8 of lit (lowercase): a byte where lit has a
 * letter matches it in either case (b | 0x20 is that letter only for the
 * letter and its capital), any other byte only itself. */
static inline bool ieq8(const char *s, const char *lit)
{
    uint64_t l = load8(lit);
    /* 0x20 in each byte of l that is 'a'..'z' (l's bytes are ASCII: no carry) */
    uint64_t letters = ((l + 0x1f1f1f1f1f1f1f1fULL) & ~(l + 0x0505050505050505ULL) & 0x8080808080808080ULL) >> 2;
    return (load8(s) | letters) == l;
}

/* s[0..n) is lit (lowercase ASCII, n bytes) in any case, as strcasecmp
 * compares in the C locale; n >= 8 and s has n bytes (its strlen is n or
 * more): eight at a time, the last eight overlapping. */
static inline bool ieq(const char *s, const char *lit, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (!ieq8(s + i, lit + i))
            return false;
    return i == n || ieq8(s + n - 8, lit + n - 8);
}

/* The kind if name (n bytes) is lit in any case, else none. */
static inline enum rh_kind is(const char *name, size_t n, const char *lit, enum rh_kind kind)
{
    return ieq(name, lit, n) ? kind : RH_NONE;
}

/* By first byte and length before any comparison, a name with only those
 * of its length: most headers an answer carries (content-type, date,
 * x-request-id, the limits not read) are gone without one. The names are
 * OpenAI's, Anthropic's anthropic-ratelimit-{requests,tokens,input-tokens,
 * output-tokens}-{remaining,reset} and the retry hints. */
static enum rh_kind kind_of(const char *name)
{
    char first = (char)(name[0] | 0x20);
    if (first != 'x' && first != 'r' && first != 'a')
        return RH_NONE;
    size_t n = strlen(name);
    if (first == 'x') {
        switch (n) {
        case 30:
            return is(name, n, "x-ratelimit-remaining-requests", RH_REMAINING_REQUESTS);
        case 28:
            return is(name, n, "x-ratelimit-remaining-tokens", RH_REMAINING_TOKENS);
        case 26:
            return is(name, n, "x-ratelimit-reset-requests", RH_RESET_REQUESTS);
        case 24:
            return is(name, n, "x-ratelimit-reset-tokens", RH_RESET_TOKENS);
        case 14:
            return is(name, n, "x-should-retry", RH_SHOULD_RETRY);
        default:
            return RH_NONE;
        }
    }
    if (first == 'r') {
        switch (n) {
        case 11:
            return is(name, n, "retry-after", RH_RETRY_AFTER);
        case 14:
            return is(name, n, "retry-after-ms", RH_RETRY_AFTER_MS);
        default:
            return RH_NONE;
        }
    }
    switch (n) {
    case 38:
        return ieq(name, "anthropic-ratelimit-requests-remaining", n)
                   ? RH_REMAINING_REQUESTS
                   : is(name, n, "anthropic-ratelimit-input-tokens-reset", RH_A_RESET_TOKENS);
    case 34:
        return is(name, n, "anthropic-ratelimit-requests-reset", RH_A_RESET_REQUESTS);
    case 36:
        return is(name, n, "anthropic-ratelimit-tokens-remaining", RH_REMAINING_TOKENS);
    case 32:
        return is(name, n, "anthropic-ratelimit-tokens-reset", RH_A_RESET_TOKENS);
    case 42:
        return is(name, n, "anthropic-ratelimit-input-tokens-remaining", RH_REMAINING_TOKENS);
    case 43:
        return is(name, n, "anthropic-ratelimit-output-tokens-remaining", RH_REMAINING_TOKENS);
    case 39:
        return is(name, n, "anthropic-ratelimit-output-tokens-reset", RH_A_RESET_TOKENS);
    default:
        return RH_NONE;
    }
}

void llm_ratehdr_feed(struct llm_ratehdr *h, const char *name, const char *value, long long now_real_ms)
{
    if (!name || !value)
        return;
    /* Any other name goes before its value is trimmed and copied. */
    enum rh_kind kind = kind_of(name);
    if (kind == RH_NONE)
        return;
    /* The value without surrounding whitespace (curl hands the raw line). */
    while (*value == ' ' || *value == '\t')
        value++;
    size_t all = strlen(value), n = all;
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' || value[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= HDR_VALUE_MAX)
        return;
    char copy[HDR_VALUE_MAX];
    const char *v = value; /* already ends there: read in place */
    if (n < all) {
        memcpy(copy, value, n);
        copy[n] = '\0';
        v = copy;
    }

    switch (kind) {
    case RH_REMAINING_REQUESTS:
        keep_min(&h->remaining_requests, count(v));
        break;
    case RH_REMAINING_TOKENS:
        keep_min(&h->remaining_tokens, count(v));
        break;
    case RH_RESET_REQUESTS:
        keep_max(&h->reset_requests_ms, llm_hdr_go_duration_ms(v));
        break;
    case RH_RESET_TOKENS:
        keep_max(&h->reset_tokens_ms, llm_hdr_go_duration_ms(v));
        break;
    case RH_A_RESET_REQUESTS:
    case RH_A_RESET_TOKENS: {
        long long at = llm_hdr_rfc3339_ms(v);
        if (at >= 0)
            keep_max(kind == RH_A_RESET_REQUESTS ? &h->reset_requests_ms : &h->reset_tokens_ms,
                     until(at, now_real_ms));
        break;
    }
    case RH_RETRY_AFTER_MS:
        keep_max(&h->ra_ms, decimal_ms(v, 1));
        h->retry_after_ms = retry_combined(h);
        break;
    case RH_RETRY_AFTER:
        keep_max(&h->ra_s, llm_hdr_retry_after_ms(v, now_real_ms));
        h->retry_after_ms = retry_combined(h);
        break;
    case RH_SHOULD_RETRY:
        if (strcasecmp(v, "true") == 0)
            h->should_retry = 1;
        else if (strcasecmp(v, "false") == 0)
            h->should_retry = 0;
        break;
    case RH_NONE:
        break;
    }
}
