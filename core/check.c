#include "check.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads [sign]digits into a magnitude; saturates the magnitude at
 * ULLONG_MAX (how many digits follow does not matter). */
static int read_decimal(const char *s, bool allow_sign, bool *neg, unsigned long long *mag)
{
    *neg = false;
    *mag = 0;
    if (!s)
        return -1;
    if (allow_sign && (*s == '-' || *s == '+')) {
        *neg = *s == '-';
        s++;
    }
    if (*s < '0' || *s > '9')
        return -1;
    bool over = false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (*mag > (ULLONG_MAX - d) / 10)
            over = true;
        else
            *mag = *mag * 10 + d;
    }
    if (*s)
        return -1;
    if (over)
        *mag = ULLONG_MAX;
    return 0;
}

/* The magnitude as a value clamped to [lo, hi]; *clamped tells. */
static long long clamp_signed(bool neg, unsigned long long mag, long long lo, long long hi, bool *clamped)
{
    *clamped = false;
    if (neg) {
        /* -mag >= lo  <=>  mag <= -lo (computed without overflow) */
        unsigned long long lim = lo >= 0 ? 0 : (unsigned long long)(-(lo + 1)) + 1;
        if (mag > lim) {
            *clamped = true;
            return lo;
        }
        long long v = mag == 0 ? 0 : -(long long)(mag - 1) - 1;
        if (v > hi) {
            *clamped = true;
            return hi;
        }
        return v;
    }
    if (hi < 0 || mag > (unsigned long long)hi) {
        *clamped = true;
        return hi;
    }
    long long v = (long long)mag;
    if (v < lo) {
        *clamped = true;
        return lo;
    }
    return v;
}

int check_parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    bool neg, clamped;
    unsigned long long mag;
    if (lo > hi || read_decimal(s, true, &neg, &mag) < 0)
        return -1;
    long long v = clamp_signed(neg, mag, lo, hi, &clamped);
    if (clamped)
        return -1;
    *out = v;
    return 0;
}

int check_parse_ll_sat(const char *s, long long lo, long long hi, long long *out)
{
    bool neg, clamped;
    unsigned long long mag;
    if (lo > hi || read_decimal(s, true, &neg, &mag) < 0)
        return -1;
    *out = clamp_signed(neg, mag, lo, hi, &clamped);
    return 0;
}

int check_parse_ull(const char *s, int base, unsigned long long hi, unsigned long long *out)
{
    if (!s || !*s || (base != 10 && base != 16))
        return -1;
    unsigned long long v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        if (v > (ULLONG_MAX - d) / (unsigned)base)
            return -1;
        v = v * (unsigned)base + d;
    }
    if (v > hi)
        return -1;
    *out = v;
    return 0;
}

bool check_double_ll(double d, long long lo, long long hi, long long *out)
{
    /* Range first: converting an out-of-range double is undefined; the
     * comparison is false for NaN. 2^63 is exact as a double. */
    if (!(d >= (double)lo && d <= (double)hi) || d >= 9223372036854775808.0)
        return false;
    long long v = (long long)d;
    if ((double)v != d || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

long long check_ms_add(long long a, long long b)
{
    if (b > 0 && a > LLONG_MAX - b)
        return LLONG_MAX;
    if (b < 0 && a < LLONG_MIN - b)
        return LLONG_MIN;
    return a + b;
}

long long check_ms_mul(long long a, long long b)
{
    if (a == 0 || b == 0)
        return 0;
    bool neg = (a < 0) != (b < 0);
    unsigned long long ua = a < 0 ? (unsigned long long)(-(a + 1)) + 1 : (unsigned long long)a;
    unsigned long long ub = b < 0 ? (unsigned long long)(-(b + 1)) + 1 : (unsigned long long)b;
    /* ub > 0: b == 0 returned above (cppcheck cannot see it through the ?:) */
    // cppcheck-suppress zerodivcond
    if (ua > (unsigned long long)LLONG_MAX / ub)
        return neg ? LLONG_MIN : LLONG_MAX;
    long long v = (long long)(ua * ub);
    return neg ? -v : v;
}

bool check_utf8(const char *s, size_t len)
{
    return util_utf8_valid(s, len);
}

bool check_text(const char *s, size_t len)
{
    return memchr(s, 0, len) == NULL && check_utf8(s, len);
}

int check_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

bool check_date(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && d >= 1 && d <= check_days_in_month(y, m);
}
