/* check: the one place where input from outside (headers, JSON, env,
 * query strings) becomes numbers, dates and trusted text. Every converter
 * takes an explicit range and never has undefined behaviour on overflow:
 * it refuses, or (the _sat forms) saturates to the range. */
#ifndef INGOT_CHECK_H
#define INGOT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A decimal integer: optional sign, digits, nothing else (no spaces, no
 * trailing junk). 0 with *out in [lo, hi], -1 when malformed or out of
 * range (*out untouched). */
int check_parse_ll(const char *s, long long lo, long long hi, long long *out) ATTR_WUR;
/* The same syntax, but a value beyond the range (however many digits)
 * gives the nearest bound. -1 only when malformed. */
int check_parse_ll_sat(const char *s, long long lo, long long hi, long long *out) ATTR_WUR;
/* Digits only (no sign) as an unsigned value; -1 when malformed or above
 * hi. base 10 or 16. */
int check_parse_ull(const char *s, int base, unsigned long long hi, unsigned long long *out) ATTR_WUR;
/* A JSON number that must be a whole number in [lo, hi] (range checked
 * before any conversion, NaN refused). */
bool check_double_ll(double d, long long lo, long long hi, long long *out) ATTR_WUR;

/* Saturating millisecond arithmetic (results within [LLONG_MIN, LLONG_MAX]). */
long long check_ms_add(long long a, long long b);
long long check_ms_mul(long long a, long long b);

/* UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
bool check_utf8(const char *s, size_t len);
/* Text that may be used as a C string: valid UTF-8 and no NUL. */
bool check_text(const char *s, size_t len);

/* Calendar: days in month m (1-12) of year y (Gregorian, leap years);
 * 0 for a month out of range. */
int check_days_in_month(int y, int m);
bool check_date(int y, int m, int d);

#endif
