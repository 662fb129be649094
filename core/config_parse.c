#include "config_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int config_parse_int(const char *s, long long *out)
{
    char *end;
    errno = 0;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Reads a run of digits with an optional fraction into *val; returns the
 * position after it or NULL. */
static const char *read_number(const char *p, double *val)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    char *end;
    errno = 0;
    *val = strtod(p, &end);
    if (errno || end == p)
        return NULL;
    return end;
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
