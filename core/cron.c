#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_parse.h"

static const char *const MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const DAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i */
    int nnames;
};

static const struct field SEC = {"seconds", 0, 59, NULL, 0}, MIN = {"minute", 0, 59, NULL, 0},
                          HOUR = {"hour", 0, 23, NULL, 0}, DOM = {"day-of-month", 1, 31, NULL, 0},
                          MON = {"month", 1, 12, MONTHS, 12}, DOW = {"day-of-week", 0, 7, DAYS, 7};

static int bad(char *why, size_t whylen, const struct field *f, const char *item, const char *what)
{
    snprintf(why, whylen, "%s field: \"%.40s\" %s (%d-%d%s)", f->name, item, what, f->lo, f->hi,
             f->names ? " or names" : "");
    return -1;
}

static int value(const struct field *f, const char *s, size_t n, int *out)
{
    if (!n)
        return -1;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]) || v > 1000)
                return -1;
            v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return v >= f->lo && v <= f->hi ? 0 : -1;
    }
    for (int i = 0; i < f->nnames; i++) {
        if (n == 3 && strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->lo + i;
            return 0;
        }
    }
    return -1;
}

/* One field: a list of *, a, a-b, each with an optional /step. */
static int field(const struct field *f, const char *s, uint64_t *out, bool *star, char *why,
                 size_t whylen)
{
    *out = 0;
    *star = strcmp(s, "*") == 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        char item[64];
        if (n == 0 || n >= sizeof item)
            return bad(why, whylen, f, s, "has an empty or overlong item");
        memcpy(item, p, n);
        item[n] = '\0';
        int lo, hi, step = 1;
        char *slash = strchr(item, '/');
        if (slash) {
            *slash = '\0';
            int st = 0;
            const char *q = slash + 1;
            if (!*q)
                return bad(why, whylen, f, s, "has an empty step");
            for (; *q; q++) {
                if (!isdigit((unsigned char)*q) || st > 1000)
                    return bad(why, whylen, f, s, "has a bad step");
                st = st * 10 + (*q - '0');
            }
            if (st < 1 || st > f->hi)
                return bad(why, whylen, f, s, "has a step out of range");
            step = st;
        }
        char *dash = strchr(item, '-');
        if (strcmp(item, "*") == 0) {
            lo = f->lo;
            hi = f->hi;
        } else if (dash) {
            if (value(f, item, (size_t)(dash - item), &lo) < 0 ||
                value(f, dash + 1, strlen(dash + 1), &hi) < 0)
                return bad(why, whylen, f, s, "has a value out of range");
            if (lo > hi)
                return bad(why, whylen, f, s, "has a range that runs backwards");
        } else {
            if (value(f, item, strlen(item), &lo) < 0)
                return bad(why, whylen, f, s, "has a value out of range");
            hi = slash ? f->hi : lo; /* a/n: from a to the end */
        }
        for (int v = lo; v <= hi; v += step)
            *out |= 1ULL << v;
        p += n;
        if (*p == ',' && !*++p)
            return bad(why, whylen, f, s, "ends with a comma");
    }
    if (!*out)
        return bad(why, whylen, f, s, "is empty");
    return 0;
}

int cron_parse(const char *expr, struct cron *c, char *why, size_t whylen)
{
    memset(c, 0, sizeof *c);
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                  {"@weekly", "0 0 * * 0"},  {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                  {"@hourly", "0 * * * *"}};
    while (*expr == ' ')
        expr++;
    if (strncmp(expr, "@every", 6) == 0 && (expr[6] == ' ' || !expr[6])) {
        const char *d = expr + 6;
        while (*d == ' ')
            d++;
        long long ms;
        if (config_parse_duration_ms(d, &ms) < 0 || ms < 1000 || ms % 1000 || ms > 31LL * 86400000) {
            snprintf(why, whylen, "@every takes a whole number of seconds from 1s to 31d, e.g. @every 10s or @every 1h30m");
            return -1;
        }
        c->every_s = ms / 1000;
        return 0;
    }
    if (*expr == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strcmp(expr, macros[i].name) == 0)
                return cron_parse(macros[i].expr, c, why, whylen);
        snprintf(why, whylen, "unknown macro \"%.20s\" (allowed: @yearly @annually @monthly @weekly @daily @midnight @hourly @every)", expr);
        return -1;
    }
    char buf[256], *parts[7];
    int n = 0;
    if (strlen(expr) >= sizeof buf) {
        snprintf(why, whylen, "expression longer than %zu characters", sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", expr);
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 6) {
            n = 7;
            break;
        }
        parts[n++] = t;
    }
    if (n != 5 && n != 6) {
        snprintf(why, whylen, "needs 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)");
        return -1;
    }
    int i = 0;
    bool star;
    uint64_t v;
    if (n == 6) {
        if (field(&SEC, parts[i++], &c->sec, &star, why, whylen) < 0)
            return -1;
    } else {
        c->sec = 1; /* second 0 */
    }
    if (field(&MIN, parts[i++], &c->min, &star, why, whylen) < 0 ||
        field(&HOUR, parts[i++], &v, &c->hour_star, why, whylen) < 0)
        return -1;
    c->hour = (uint32_t)v;
    if (field(&DOM, parts[i++], &v, &c->dom_star, why, whylen) < 0)
        return -1;
    c->dom = (uint32_t)v;
    if (field(&MON, parts[i++], &v, &star, why, whylen) < 0)
        return -1;
    c->mon = (uint32_t)v;
    if (field(&DOW, parts[i], &v, &c->dow_star, why, whylen) < 0)
        return -1;
    if (v & 1ULL << 7)
        v |= 1; /* 7 is Sunday too */
    c->dow = (uint8_t)(v & 0x7f);
    return 0;
}

/* Set once at start, before any zone is loaded. */
static char zoneinfo_dir[256] = CRON_ZONEINFO_DEFAULT;
/* The zone TZ holds now (use_tz), "" for none of ours. */
static char tz_current[80];

void cron_use_zoneinfo(const char *dir)
{
    snprintf(zoneinfo_dir, sizeof zoneinfo_dir, "%s", dir && *dir ? dir : CRON_ZONEINFO_DEFAULT);
    size_t n = strlen(zoneinfo_dir);
    while (n > 1 && zoneinfo_dir[n - 1] == '/')
        zoneinfo_dir[--n] = '\0';
    tz_current[0] = '\0'; /* the same name may now be another file */
}

const char *cron_zoneinfo_dir(void)
{
    return zoneinfo_dir;
}

bool cron_zoneinfo_present(void)
{
    struct stat st;
    return stat(zoneinfo_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

bool cron_tz_check(const char *tz, char *why, size_t whylen)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    bool named = *tz && strlen(tz) <= 64 && tz[0] != '/' && !strstr(tz, "..");
    for (const char *p = tz; named && *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
            named = false;
    /* Not zones, though zoneinfo holds files of those names: the host's
     * own zone (which differs between machines) and the POSIX default. */
    if (!named || strcmp(tz, "localtime") == 0 || strcmp(tz, "posixrules") == 0) {
        snprintf(why, whylen, "not an IANA time zone name");
        return false;
    }
    char path[352];
    snprintf(path, sizeof path, "%s/%s", zoneinfo_dir, tz);
    /* A zone is a TZif file; zoneinfo also holds tables such as
     * leapseconds, iso3166.tab and tzdata.zi, which are not zones. */
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool ok = f && fread(magic, 1, sizeof magic, f) == sizeof magic && memcmp(magic, "TZif", 4) == 0;
    if (f)
        fclose(f);
    if (!ok && !cron_zoneinfo_present())
        snprintf(why, whylen,
                 "no zoneinfo on this server (ZONEINFO_DIR %s does not exist): only UTC works "
                 "until the operator ships zoneinfo or sets ZONEINFO_DIR",
                 zoneinfo_dir);
    else if (!ok)
        snprintf(why, whylen, "unknown time zone (no zone file %s)", path);
    return ok;
}

bool cron_tz_valid(const char *tz)
{
    char why[8];
    return cron_tz_check(tz, why, sizeof why);
}

/* The C library reads zones through TZ, here as an absolute path (glibc
 * and musl both take one; musl has no TZDIR). UTC is the POSIX string, no
 * file. Replacing an existing TZ only swaps one pointer in environ (no
 * reallocation), so threads that read the environment meanwhile (curl's
 * resolver) see the old or the new value. false: the zone has no file (the
 * C library would silently use UTC). */
static bool use_tz(const char *tz)
{
    if (strcmp(tz_current, tz) == 0)
        return true;
    if (!cron_tz_valid(tz))
        return false;
    char v[360];
    if (strcmp(tz, "UTC") == 0)
        snprintf(v, sizeof v, "UTC0");
    else
        snprintf(v, sizeof v, ":%s/%s", zoneinfo_dir, tz);
    setenv("TZ", v, 1);
    tzset();
    snprintf(tz_current, sizeof tz_current, "%s", tz);
    return true;
}

static bool match_day(const struct cron *c, const struct tm *tm)
{
    bool dom = c->dom >> tm->tm_mday & 1, dow = c->dow >> tm->tm_wday & 1;
    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

static bool match(const struct cron *c, const struct tm *tm)
{
    return (c->sec >> tm->tm_sec & 1) && (c->min >> tm->tm_min & 1) && (c->hour >> tm->tm_hour & 1) &&
           (c->mon >> (tm->tm_mon + 1) & 1) && match_day(c, tm);
}

static long gmtoff(int64_t u)
{
    time_t t = (time_t)u;
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

/* A wall time the clock showed earlier too (after a fall back). */
static bool second_occurrence(int64_t u, long off)
{
    long before = gmtoff(u - 4LL * 3600);
    if (before <= off)
        return false;
    return gmtoff(u - (before - off)) == before;
}

/* Wall times skipped by a spring forward between two instants: does the
 * schedule match one of them? (wall seconds as UTC fields) */
static bool gap_matches(const struct cron *c, int64_t from_wall, int64_t to_wall)
{
    int64_t step = c->sec == 1 ? 60 : 1;
    for (int64_t w = (from_wall + step - 1) / step * step; w < to_wall; w += step) {
        time_t t = (time_t)w;
        struct tm tm;
        gmtime_r(&t, &tm);
        if (match(c, &tm))
            return true;
    }
    return false;
}

/* The instant a local date starts (mktime picks the first valid instant
 * when midnight itself is skipped). */
static int64_t local_midnight(int year, int mon, int mday)
{
    struct tm tm = {.tm_year = year, .tm_mon = mon, .tm_mday = mday, .tm_isdst = -1};
    return (int64_t)mktime(&tm);
}

int64_t cron_next(const struct cron *c, const char *tz, int64_t after)
{
    if (c->every_s > 0)
        return (after >= 0 ? after / c->every_s + 1 : 0) * c->every_s;
    if (!use_tz(tz))
        return -1;
    int64_t limit = after + 10LL * 366 * 86400;
    int64_t prev = after, u = after + 1;
    long prev_off = gmtoff(after);
    for (int iter = 0; iter < 200000 && u <= limit; iter++) {
        time_t t = (time_t)u;
        struct tm tm;
        localtime_r(&t, &tm);
        if (tm.tm_gmtoff > prev_off && gap_matches(c, u + prev_off, u + tm.tm_gmtoff))
            return u; /* a wall time that never happened: fire right after the gap */
        prev = u;
        prev_off = tm.tm_gmtoff;
        int64_t next;
        if (!(c->mon >> (tm.tm_mon + 1) & 1))
            next = local_midnight(tm.tm_year, tm.tm_mon + 1, 1);
        else if (!match_day(c, &tm))
            next = local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday + 1);
        else if (!(c->hour >> tm.tm_hour & 1))
            next = u + 3600 - (tm.tm_min * 60 + tm.tm_sec);
        else if (!(c->min >> tm.tm_min & 1))
            next = u + 60 - tm.tm_sec;
        else if (!(c->sec >> tm.tm_sec & 1))
            next = c->sec == 1 ? u + 60 - tm.tm_sec : u + 1;
        else if (!c->hour_star && second_occurrence(u, tm.tm_gmtoff))
            next = u + (c->sec == 1 ? 60 - tm.tm_sec : 1); /* fired at the first one */
        else
            return u;
        u = next > prev ? next : prev + 1;
    }
    return -1;
}
