#include "usage_query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "db.h"
#include "llm_hdr.h"

int usage_parse_group(const char *s, enum usage_group *g)
{
    if (!s || !*s || strcmp(s, "model") == 0)
        *g = USAGE_BY_MODEL;
    else if (strcmp(s, "day") == 0)
        *g = USAGE_BY_DAY;
    else if (strcmp(s, "key") == 0)
        *g = USAGE_BY_KEY;
    else
        return -1;
    return 0;
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int usage_parse_time(const char *s, bool end, int64_t *out_ms)
{
    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1970 || y > 9999 || !check_date(y, mo, d))
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
    int64_t days_ms = (int64_t)timegm(&tm) * 1000;
    if (s[10] == 0) {
        *out_ms = end ? days_ms + 86400000LL : days_ms;
        return 0;
    }
    /* A date and time: the one RFC 3339 parser (llm_hdr), which also
     * refuses a time before the epoch by its offset (the SQL takes
     * seconds.millis >= 0). */
    long long v = llm_hdr_rfc3339_ms(s);
    if (v < 0)
        return -1;
    *out_ms = v;
    return 0;
}

int usage_range(const char *from, const char *to, int64_t now_ms, int64_t *from_ms, int64_t *to_ms,
                const char **param, char *why, size_t whylen)
{
    static const char fmt[] = "must be a date (YYYY-MM-DD, UTC) or an RFC 3339 time";
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    struct tm first = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = 1};
    struct tm tomorrow = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday + 1};
    *from_ms = (int64_t)timegm(&first) * 1000;
    *to_ms = (int64_t)timegm(&tomorrow) * 1000;
    if (from && *from && usage_parse_time(from, false, from_ms) < 0) {
        *param = "from";
        snprintf(why, whylen, "%s", fmt);
        return -1;
    }
    if (to && *to && usage_parse_time(to, true, to_ms) < 0) {
        *param = "to";
        snprintf(why, whylen, "%s", fmt);
        return -1;
    }
    if (*to_ms <= *from_ms) {
        *param = "to";
        snprintf(why, whylen, "must be after from");
        return -1;
    }
    if (*to_ms - *from_ms > USAGE_RANGE_MAX_DAYS * 86400000LL) {
        *param = "to";
        snprintf(why, whylen, "the range may span at most %d days", USAGE_RANGE_MAX_DAYS);
        return -1;
    }
    return 0;
}

void usage_query_sql(struct sbuf *b, uint64_t tenant, int64_t from_ms, int64_t to_ms, enum usage_group g)
{
    static const char *const cols[] = {"u.model AS model", "DATE_FORMAT(u.at, '%Y-%m-%d') AS day",
                                       "u.key_id AS key_id, COALESCE(MAX(k.prefix), '') AS key_prefix"};
    static const char *const by[] = {"u.model", "DATE_FORMAT(u.at, '%Y-%m-%d')", "u.key_id"};
    sbuf_puts(b, "SELECT ");
    if (!tenant)
        sbuf_puts(b, "MAX(t.name) AS tenant, ");
    sbuf_printf(b,
                "%s, COUNT(*) AS requests, SUM(u.prompt_tokens) AS prompt_tokens, "
                "SUM(u.completion_tokens) AS completion_tokens, SUM(u.cached_tokens) AS cached_tokens, "
                "SUM(u.reasoning_tokens) AS reasoning_tokens, "
                "SUM(u.prompt_tokens + u.completion_tokens) AS total_tokens, "
                "CAST(SUM(u.cost_usd) AS CHAR) AS cost_usd FROM llm_usage u ",
                cols[g]);
    if (g == USAGE_BY_KEY)
        sbuf_puts(b, "LEFT JOIN api_keys k ON k.id = u.key_id ");
    if (!tenant)
        sbuf_puts(b, "JOIN tenants t ON t.id = u.tenant_id ");
    sbuf_printf(b, "WHERE u.at >= FROM_UNIXTIME(%lld.%03lld) AND u.at < FROM_UNIXTIME(%lld.%03lld)",
                (long long)(from_ms / 1000), (long long)(from_ms % 1000), (long long)(to_ms / 1000),
                (long long)(to_ms % 1000));
    if (tenant)
        sbuf_printf(b, " AND u.tenant_id = %llu", (unsigned long long)tenant);
    sbuf_printf(b, " GROUP BY %s%s ORDER BY %s%s LIMIT %d", tenant ? "" : "u.tenant_id, ", by[g],
                tenant ? "" : "u.tenant_id, ", by[g], USAGE_ROWS_MAX);
}

void usage_rows_json(MYSQL_RES *res, enum usage_group g, struct sbuf *out)
{
    static const char *const nums[] = {"requests",         "prompt_tokens",    "completion_tokens", "cached_tokens",
                                       "reasoning_tokens", "total_tokens"};
    sbuf_puts(out, "{\"object\":\"list\",\"data\":[");
    MYSQL_ROW row;
    bool first = true;
    unsigned c0 = g == USAGE_BY_KEY ? 2 : 1;
    while (res && (row = mysql_fetch_row(res))) {
        sbuf_puts(out, first ? "{" : ",{");
        first = false;
        if (g == USAGE_BY_KEY) {
            sbuf_printf(out, "\"key_id\":%llu,\"key_prefix\":", (unsigned long long)db_row_ll(row, 0));
            sbuf_json_str(out, db_row_str(row, 1));
        } else {
            sbuf_puts(out, g == USAGE_BY_MODEL ? "\"model\":" : "\"day\":");
            sbuf_json_str(out, db_row_str(row, 0));
        }
        for (unsigned i = 0; i < ARRAY_LEN(nums); i++)
            sbuf_printf(out, ",\"%s\":%lld", nums[i], db_row_ll(row, c0 + i));
        const char *cost = db_row_str(row, c0 + 6);
        sbuf_printf(out, ",\"cost_usd\":%s}", *cost ? cost : "0");
    }
    sbuf_puts(out, "]}");
}
