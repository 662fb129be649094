/* Cron expressions and next fire times, DST included (Europe/Berlin and
 * America/New_York, 2026), leap days and short months. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../testhelp.h"
#include "cron.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (int64_t)timegm(&tm);
}

static const char *show(int64_t u)
{
    static char buf[4][32];
    static int i;
    i = (i + 1) % 4;
    if (u < 0)
        return "none";
    time_t t = (time_t)u;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf[i], sizeof buf[i], "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf[i];
}

/* next(expr, tz, after) as text, "bad" when the expression is refused. */
static const char *next(const char *expr, const char *tz, int64_t after)
{
    struct cron c;
    char why[200];
    if (cron_parse(expr, &c, why, sizeof why) < 0)
        return "bad";
    return show(cron_next(&c, tz, after));
}

static void refused(const char *expr, const char *names)
{
    struct cron c;
    char why[200] = "";
    char d[160];
    snprintf(d, sizeof d, "refused: %s (names %s)", expr, names);
    test_cond(d, cron_parse(expr, &c, why, sizeof why) < 0 && strstr(why, names));
}

static void test_parse(void)
{
    refused("61 * * * *", "minute");
    refused("* 24 * * *", "hour");
    refused("* * 0 * *", "day-of-month");
    refused("* * * 13 *", "month");
    refused("* * * * 8", "day-of-week");
    refused("* * * FOO *", "month");
    refused("5-1 * * * *", "backwards");
    refused("*/0 * * * *", "step");
    refused("1, * * * *", "minute");
    refused("* * * *", "5 fields");
    refused("* * * * * * *", "5 fields");
    refused("60 * * * * *", "seconds");
    refused("@sometimes", "unknown macro");
    refused("@every 0s", "@every");
    refused("@every 1500ms", "@every");
    refused("@every soon", "@every");
    test_cond("zone known", cron_tz_valid("Europe/Berlin") && cron_tz_valid("UTC"));
    test_cond("zone unknown", !cron_tz_valid("Mars/Olympus") && !cron_tz_valid("../etc/passwd") &&
                                  !cron_tz_valid("") && !cron_tz_valid("/etc/localtime"));
    /* files in zoneinfo that are not zones */
    test_cond("not zones", !cron_tz_valid("leapseconds") && !cron_tz_valid("localtime") &&
                               !cron_tz_valid("posixrules") && !cron_tz_valid("zone1970.tab"));
}

static void test_next(void)
{
    int64_t t = utc(2026, 5, 4, 12, 7, 30); /* a Monday */
    test_streq("every 15 minutes", next("*/15 * * * *", "UTC", t), "2026-05-04T12:15:00Z");
    test_streq("strictly after", next("*/15 * * * *", "UTC", utc(2026, 5, 4, 12, 15, 0)), "2026-05-04T12:30:00Z");
    test_streq("list and range", next("5,10-12 9 * * *", "UTC", t), "2026-05-05T09:05:00Z");
    test_streq("a/n", next("50/5 * * * *", "UTC", t), "2026-05-04T12:50:00Z");
    test_streq("weekday names in a zone", next("0 9 * * MON-FRI", "Europe/Berlin", t), "2026-05-05T07:00:00Z");
    test_streq("Saturday", next("0 9 * * sat", "UTC", t), "2026-05-09T09:00:00Z");
    test_streq("7 is Sunday", next("0 0 * * 7", "UTC", t), "2026-05-10T00:00:00Z");
    test_streq("month names", next("0 0 1 JUN *", "UTC", t), "2026-06-01T00:00:00Z");
    test_streq("day-of-month or day-of-week", next("0 0 13 * FRI", "UTC", t), "2026-05-08T00:00:00Z");
    test_streq("seconds field", next("*/20 * * * * *", "UTC", t), "2026-05-04T12:07:40Z");
    test_streq("@hourly", next("@hourly", "UTC", t), "2026-05-04T13:00:00Z");
    test_streq("@daily in New York", next("@daily", "America/New_York", t), "2026-05-05T04:00:00Z");
    test_streq("@weekly", next("@weekly", "UTC", t), "2026-05-10T00:00:00Z");
    test_streq("@monthly", next("@monthly", "UTC", t), "2026-06-01T00:00:00Z");
    test_streq("@yearly", next("@yearly", "UTC", t), "2027-01-01T00:00:00Z");
    test_streq("@every 10s", next("@every 10s", "UTC", 1005), "1970-01-01T00:16:50Z");
    test_streq("@every is epoch aligned", next("@every 1h30m", "UTC", t), "2026-05-04T13:30:00Z");
    /* Leap days and short months. */
    test_streq("Feb 29 waits for a leap year", next("0 0 29 2 *", "UTC", t), "2028-02-29T00:00:00Z");
    test_streq("Feb 29 in Berlin", next("0 0 29 2 *", "Europe/Berlin", t), "2028-02-28T23:00:00Z");
    test_streq("the 31st skips short months", next("0 0 31 * *", "UTC", utc(2026, 4, 1, 0, 0, 0)), "2026-05-31T00:00:00Z");
    test_streq("last day of February (28-29 filtered by month)", next("0 12 28,29 2 *", "UTC", utc(2027, 2, 28, 13, 0, 0)), "2028-02-28T12:00:00Z");
    test_streq("30 February never comes", next("0 0 30 2 *", "UTC", t), "none");
    test_streq("year end rolls over", next("0 0 * * *", "UTC", utc(2026, 12, 31, 23, 59, 59)), "2027-01-01T00:00:00Z");
}

static void test_dst(void)
{
    /* Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC). */
    int64_t before = utc(2026, 3, 28, 12, 0, 0);
    test_streq("Berlin gap: 02:30 fires once right after the gap",
               next("30 2 * * *", "Europe/Berlin", before), "2026-03-29T01:00:00Z");
    test_streq("Berlin gap: then the next day at 02:30 CEST",
               next("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 1, 0, 0)), "2026-03-30T00:30:00Z");
    test_streq("Berlin gap: 03:00 is 01:00 UTC, once",
               next("0 3 * * *", "Europe/Berlin", before), "2026-03-29T01:00:00Z");
    test_streq("Berlin gap: hourly skips the missing hour",
               next("0 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 0, 0)), "2026-03-29T01:00:00Z");
    test_streq("Berlin gap: 01:30 CET unaffected",
               next("30 1 * * *", "Europe/Berlin", before), "2026-03-29T00:30:00Z");
    /* Berlin, 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC). */
    int64_t autumn = utc(2026, 10, 24, 12, 0, 0);
    test_streq("Berlin overlap: 02:30 fires at its first occurrence",
               next("30 2 * * *", "Europe/Berlin", autumn), "2026-10-25T00:30:00Z");
    test_streq("Berlin overlap: not again an hour later",
               next("30 2 * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 30, 0)), "2026-10-26T01:30:00Z");
    test_streq("Berlin overlap: every 30 min follows the clock (CEST 02:30)",
               next("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 15, 0)), "2026-10-25T00:30:00Z");
    test_streq("Berlin overlap: ... then CET 02:00",
               next("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 30, 0)), "2026-10-25T01:00:00Z");
    test_streq("Berlin overlap: ... then CET 02:30",
               next("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 0, 0)), "2026-10-25T01:30:00Z");
    /* New York, 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC). */
    test_streq("New York gap: 02:30 fires at 03:00 EDT",
               next("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12, 0, 0)), "2026-03-08T07:00:00Z");
    test_streq("New York gap: daily 09:00 keeps its local time",
               next("0 9 * * *", "America/New_York", utc(2026, 3, 8, 12, 0, 0)), "2026-03-08T13:00:00Z");
    /* New York, 1 November 2026: 02:00 EDT goes back to 01:00 EST (06:00 UTC). */
    test_streq("New York overlap: 01:30 once, in EDT",
               next("30 1 * * *", "America/New_York", utc(2026, 10, 31, 12, 0, 0)), "2026-11-01T05:30:00Z");
    test_streq("New York overlap: next day 01:30 EST",
               next("30 1 * * *", "America/New_York", utc(2026, 11, 1, 5, 30, 0)), "2026-11-02T06:30:00Z");
    test_streq("New York overlap: hourly fires in both 01:00s",
               next("0 * * * *", "America/New_York", utc(2026, 11, 1, 5, 0, 0)), "2026-11-01T06:00:00Z");
}

/* ZONEINFO_DIR: zones load from the configured directory; without one
 * UTC still works, and a zone is refused (never silently UTC). */
static void test_zoneinfo_dir(void)
{
    int64_t t = utc(2026, 5, 4, 12, 7, 30);
    char why[400] = "";
    cron_use_zoneinfo("/nonexistent/zoneinfo");
    test_cond("no zoneinfo: absent", !cron_zoneinfo_present());
    test_cond("no zoneinfo: UTC still valid", cron_tz_valid("UTC"));
    test_streq("no zoneinfo: UTC still fires", next("0 9 * * *", "UTC", t), "2026-05-05T09:00:00Z");
    test_cond("no zoneinfo: Europe/Berlin refused, naming ZONEINFO_DIR and the directory",
              !cron_tz_check("Europe/Berlin", why, sizeof why) && strstr(why, "ZONEINFO_DIR") &&
                  strstr(why, "/nonexistent/zoneinfo") && strstr(why, "only UTC"));
    test_streq("no zoneinfo: no fire time rather than a UTC one", next("0 9 * * *", "Europe/Berlin", t), "none");
    test_cond("no zoneinfo: a bad name is still a bad name",
              !cron_tz_check("../x", why, sizeof why) && strstr(why, "not an IANA"));

    /* A directory of our own holding one zone (the layout the image ships). */
    char dir[] = "/tmp/ingot-zi-XXXXXX", path[128], cmd[400];
    test_cond("temp dir", mkdtemp(dir) != NULL);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/Europe && cp %s/Europe/Berlin %s/Europe/Berlin", dir,
             CRON_ZONEINFO_DEFAULT, dir);
    test_cond("zone copied", system(cmd) == 0);
    cron_use_zoneinfo(dir);
    test_streq("the directory is used", cron_zoneinfo_dir(), dir);
    test_cond("copied zone valid", cron_tz_valid("Europe/Berlin"));
    test_cond("a zone not copied: unknown, not a missing directory",
              !cron_tz_check("America/New_York", why, sizeof why) && strstr(why, "unknown time zone"));
    test_streq("copied zone: CEST", next("0 9 * * MON-FRI", "Europe/Berlin", t), "2026-05-05T07:00:00Z");
    snprintf(path, sizeof path, "%s/", dir);
    cron_use_zoneinfo(path);
    test_streq("a trailing slash is dropped", cron_zoneinfo_dir(), dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    test_cond("cleaned", system(cmd) == 0);
    cron_use_zoneinfo(NULL);
    test_streq("NULL: the default", cron_zoneinfo_dir(), CRON_ZONEINFO_DEFAULT);
}

int main(void)
{
    test_parse();
    test_next();
    test_dst();
    test_zoneinfo_dir();
    test_report();
}
