/* cron: schedule expressions and their next fire times in an IANA time
 * zone, read from the TZif files under ZONEINFO_DIR (cron_use_zoneinfo;
 * default /usr/share/zoneinfo). "UTC" needs no file. A zone whose file is
 * missing is unknown, never silently UTC (which the C library would do).
 *
 * Expressions: 5 fields (minute hour day-of-month month day-of-week) or 6
 * (a leading seconds field), each `*`, a value, a range `a-b`, a step
 * `*\/n` or `a-b/n` or `a/n`, or a list of those; months JAN-DEC and days
 * SUN-SAT by name, day-of-week 0-7 (0 and 7: Sunday). When both days are
 * restricted a day matching either fires (as in Vixie cron). Macros:
 * @yearly @annually @monthly @weekly @daily @midnight @hourly, and
 * `@every D` (D a duration, 1s to 31d: fires at every multiple of D since
 * the epoch, so every scheduler agrees on the ticks).
 *
 * Daylight saving time: a wall time that does not exist (spring forward)
 * fires once at the first instant after the gap; a wall time that happens
 * twice (fall back) fires once, at its first occurrence, unless the hour
 * field is `*` (the schedule follows the clock, so it fires in both). */
#ifndef INGOT_CRON_H
#define INGOT_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

struct cron {
    uint64_t sec, min;        /* bit i: value i matches */
    uint32_t hour, dom, mon;  /* dom 1-31, mon 1-12 */
    uint8_t dow;              /* 0-6, Sunday 0 */
    bool dom_star, dow_star, hour_star;
    long long every_s;        /* @every: interval in seconds, else 0 */
};

/* 0, or -1 with why set to a message naming the part at fault. */
int cron_parse(const char *expr, struct cron *c, char *why, size_t whylen) ATTR_WUR;
#define CRON_ZONEINFO_DEFAULT "/usr/share/zoneinfo"
/* The zoneinfo directory every zone is loaded from ("" or NULL: the
 * default). Process-wide: call at start, before any zone is used. */
void cron_use_zoneinfo(const char *dir);
const char *cron_zoneinfo_dir(void);
/* Whether that directory exists. */
bool cron_zoneinfo_present(void);
/* Whether tz names a zone this system knows ("UTC" always does). */
bool cron_tz_valid(const char *tz);
/* The same; on false why says which: a name that is no zone, or a missing
 * ZONEINFO_DIR (then only UTC works). */
bool cron_tz_check(const char *tz, char *why, size_t whylen);
/* The first fire time strictly after `after` (UTC seconds) in zone tz, or
 * -1 when there is none within 10 years (e.g. 30 FEB) or tz cannot be
 * loaded (check cron_tz_valid first to tell the two apart). */
int64_t cron_next(const struct cron *c, const char *tz, int64_t after);

#endif
