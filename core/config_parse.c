#include "config_parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int config_parse_int(const char *s, long long *out)
{
    return check_parse_ll(s, LLONG_MIN, LLONG_MAX, out);
}

/* Reads digits with an optional fraction ("1", "1.5"; no sign, exponent,
 * hex, inf or nan as strtod would take) into *val; returns the position
 * after it or NULL. Huge values stay finite doubles that the callers'
 * range checks refuse. */
static const char *read_number(const char *p, double *val)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    double v = 0;
    for (; isdigit((unsigned char)*p); p++)
        v = v < 1e300 ? v * 10 + (*p - '0') : v;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        double scale = 0.1;
        for (; isdigit((unsigned char)*p); p++) {
            v += (*p - '0') * scale;
            scale /= 10;
        }
    }
    *val = v;
    return p;
}

int config_parse_duration_ms(const char *s, long long *out)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    double total = 0;
    const char *p = s;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*p)
        return -1;
    while (*p) {
        double v;
        const char *q = read_number(p, &v);
        if (!q)
            return -1;
        size_t ulen = 0;
        while (isalpha((unsigned char)q[ulen]))
            ulen++;
        bool found = false;
        for (size_t i = 0; i < ARRAY_LEN(units); i++) {
            if (ulen == strlen(units[i].unit) && strncmp(q, units[i].unit, ulen) == 0) {
                total += v * units[i].ms;
                found = true;
            }
        }
        if (!found)
            return -1;
        p = q + ulen;
    }
    if (total > 9.0e15)
        return -1;
    *out = (long long)(total + 0.5);
    return 0;
}

int config_parse_size(const char *s, long long *out)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1}, {"b", 1}, {"k", 1024}, {"kb", 1024}, {"kib", 1024},
                 {"m", 1048576}, {"mb", 1048576}, {"mib", 1048576},
                 {"g", 1073741824.0}, {"gb", 1073741824.0}, {"gib", 1073741824.0}};
    double v;
    const char *q = read_number(s, &v);
    if (!q)
        return -1;
    char unit[8];
    size_t ulen = strlen(q);
    if (ulen >= sizeof unit)
        return -1;
    for (size_t i = 0; i <= ulen; i++)
        unit[i] = (char)tolower((unsigned char)q[i]);
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            double bytes = v * units[i].mult;
            if (bytes > 9.0e18)
                return -1;
            *out = (long long)bytes;
            return 0;
        }
    }
    return -1;
}
