/* The rate-limit header reader as it was before names were dispatched by
 * length and first byte (core/llm_hdr.c at 7998a70), symbols prefixed ref_:
 * the reference test_llm_hdr_fast holds the new one to. Test-only. */
#ifndef INGOT_TEST_LLM_HDR_REF_H
#define INGOT_TEST_LLM_HDR_REF_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "llm_hdr.h"

/* Longest value looked at; a longer one is ignored (no header we read
 * needs more, and a 30-digit number fits). */
#define REF_HDR_VALUE_MAX 128

static void ref_llm_ratehdr_init(struct llm_ratehdr *h)
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
static int ref_read_number(const char **pp, double *out)
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
static long long ref_ms_bounded(double ms)
{
    if (!(ms >= 0))
        return -1;
    if (ms >= (double)LLM_HDR_MAX_MS)
        return LLM_HDR_MAX_MS;
    long long v = (long long)ms; /* rounded up by hand: no libm in the link */
    return (double)v < ms ? v + 1 : v;
}

static long long ref_llm_hdr_go_duration_ms(const char *s)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"\xce\xbcs", 1e-3},
                 {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
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
        if (ref_read_number(&p, &v) < 0)
            return -1;
        size_t best = 0;
        double unit = 0;
        for (size_t i = 0; i < ARRAY_LEN(units); i++) {
            size_t n = strlen(units[i].name);
            if (n > best && strncmp(p, units[i].name, n) == 0) {
                best = n;
                unit = units[i].ms;
            }
        }
        if (best == 0)
            return -1;
        p += best;
        if (total < 1e30)
            total += v * unit;
    }
    return ref_ms_bounded(total);
}

static int ref_digits_n(const char *p, int n)
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
 * Hinnant's ref_days_from_civil: no timegm, no time zone, no time_t range). */
static long long ref_days_from_civil(int y, int m, int d)
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
static long long ref_unix_ms(int y, int mo, int d, int h, int mi, int se, int ms)
{
    long long days = ref_days_from_civil(y, mo, d);
    return (((days * 24 + h) * 60 + mi) * 60 + se) * 1000 + ms;
}

static long long ref_llm_hdr_rfc3339_ms(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
    if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -1;
    int y = ref_digits_n(s, 4), mo = ref_digits_n(s + 5, 2), d = ref_digits_n(s + 8, 2), h = ref_digits_n(s + 11, 2),
        mi = ref_digits_n(s + 14, 2), se = ref_digits_n(s + 17, 2);
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
        int oh = ref_digits_n(p + 1, 2), om = p[1] && p[2] && p[3] == ':' ? ref_digits_n(p + 4, 2) : -1;
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_ms = (oh * 3600LL + om * 60LL) * 1000 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    long long t = ref_unix_ms(y, mo, d, h, mi, se, ms) - offset_ms;
    return t < 0 ? -1 : t;
}

static long long ref_llm_hdr_http_date_ms(const char *s)
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
    int d = ref_digits_n(s + 5, 2), y = ref_digits_n(s + 12, 4), h = ref_digits_n(s + 17, 2), mi = ref_digits_n(s + 20, 2),
        se = ref_digits_n(s + 23, 2);
    if (y < 1970 || !check_date(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
        return -1;
    return ref_unix_ms(y, mo, d, h, mi, se, 0);
}

/* An absolute instant as ms from now, in [0, LLM_HDR_MAX_MS]. */
static long long ref_until(long long at_ms, long long now_ms)
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
static long long ref_decimal_ms(const char *s, double unit_ms)
{
    const char *p = s;
    double v;
    if (ref_read_number(&p, &v) < 0 || *p)
        return -1;
    return ref_ms_bounded(v * unit_ms);
}

static long long ref_llm_hdr_retry_after_ms(const char *s, long long now_real_ms)
{
    if (!s)
        return -1;
    if (*s >= '0' && *s <= '9')
        return ref_decimal_ms(s, 1000);
    long long at = ref_llm_hdr_http_date_ms(s);
    return at < 0 ? -1 : ref_until(at, now_real_ms);
}

/* A ref_count: digits only (a sign, even "-0", is refused), saturated. */
static long long ref_count(const char *s)
{
    long long v;
    if (*s < '0' || *s > '9' || check_parse_ll_sat(s, 0, (long long)1 << 62, &v) < 0)
        return -1;
    return v;
}

static void ref_keep_min(long long *field, long long v)
{
    if (v >= 0 && (*field < 0 || v < *field))
        *field = v;
}

static void ref_keep_max(long long *field, long long v)
{
    if (v >= 0 && v > *field)
        *field = v;
}

/* The longest of the two; retry-after has whole seconds, so one less than
 * a second above retry-after-ms is its rounding, not a longer wait. */
static long long ref_retry_combined(const struct llm_ratehdr *h)
{
    if (h->ra_ms >= 0 && h->ra_s > h->ra_ms && h->ra_s - h->ra_ms < 1000)
        return h->ra_ms;
    return h->ra_ms > h->ra_s ? h->ra_ms : h->ra_s;
}

static long long ref_llm_ratehdr_retry_ms(const struct llm_ratehdr *h, long status)
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

static void ref_llm_ratehdr_feed(struct llm_ratehdr *h, const char *name, const char *value, long long now_real_ms)
{
    if (!name || !value)
        return;
    /* Only these names are read: any other goes before its value is
     * trimmed and copied (content-type, date, x-request-id, ...). */
    char c0 = (char)(name[0] | 0x20);
    if (!(c0 == 'x' && (strncasecmp(name, "x-ratelimit-", 12) == 0 || strcasecmp(name, "x-should-retry") == 0)) &&
        !(c0 == 'a' && strncasecmp(name, "anthropic-ratelimit-", 20) == 0) &&
        !(c0 == 'r' && strncasecmp(name, "retry-after", 11) == 0))
        return;
    /* The value without surrounding whitespace (curl hands the raw line). */
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' || value[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= REF_HDR_VALUE_MAX)
        return;
    char v[REF_HDR_VALUE_MAX];
    memcpy(v, value, n);
    v[n] = '\0';

    if (strncasecmp(name, "x-ratelimit-", 12) == 0) {
        const char *k = name + 12;
        if (strcasecmp(k, "remaining-requests") == 0)
            ref_keep_min(&h->remaining_requests, ref_count(v));
        else if (strcasecmp(k, "remaining-tokens") == 0)
            ref_keep_min(&h->remaining_tokens, ref_count(v));
        else if (strcasecmp(k, "reset-requests") == 0)
            ref_keep_max(&h->reset_requests_ms, ref_llm_hdr_go_duration_ms(v));
        else if (strcasecmp(k, "reset-tokens") == 0)
            ref_keep_max(&h->reset_tokens_ms, ref_llm_hdr_go_duration_ms(v));
        return;
    }
    if (strncasecmp(name, "anthropic-ratelimit-", 20) == 0) {
        const char *k = name + 20;
        bool requests = strncasecmp(k, "requests-", 9) == 0;
        if (requests) {
            k += 9;
        } else if (strncasecmp(k, "tokens-", 7) == 0) {
            k += 7;
        } else if (strncasecmp(k, "input-tokens-", 13) == 0) {
            k += 13;
        } else if (strncasecmp(k, "output-tokens-", 14) == 0) {
            k += 14;
        } else {
            return;
        }
        if (strcasecmp(k, "remaining") == 0) {
            ref_keep_min(requests ? &h->remaining_requests : &h->remaining_tokens, ref_count(v));
        } else if (strcasecmp(k, "reset") == 0) {
            long long at = ref_llm_hdr_rfc3339_ms(v);
            if (at >= 0)
                ref_keep_max(requests ? &h->reset_requests_ms : &h->reset_tokens_ms, ref_until(at, now_real_ms));
        }
        return;
    }
    if (strcasecmp(name, "retry-after-ms") == 0) {
        long long ms = ref_decimal_ms(v, 1);
        ref_keep_max(&h->ra_ms, ms);
        h->retry_after_ms = ref_retry_combined(h);
    } else if (strcasecmp(name, "retry-after") == 0) {
        ref_keep_max(&h->ra_s, ref_llm_hdr_retry_after_ms(v, now_real_ms));
        h->retry_after_ms = ref_retry_combined(h);
    } else if (strcasecmp(name, "x-should-retry") == 0) {
        if (strcasecmp(v, "true") == 0)
            h->should_retry = 1;
        else if (strcasecmp(v, "false") == 0)
            h->should_retry = 0;
    }
}

#endif
