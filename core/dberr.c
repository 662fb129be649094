#include "dberr.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "util.h"

/* MariaDB refusing a value is the request's fault: retrying cannot help.
 * (With the checks at the edge these should not happen; a column that
 * checks stricter than we do still gets a 400, never a 503.) */
bool dberr_is_value(unsigned code)
{
    switch (code) {
    case 1264: /* ER_WARN_DATA_OUT_OF_RANGE */
    case 1292: /* ER_TRUNCATED_WRONG_VALUE */
    case 1300: /* ER_INVALID_CHARACTER_STRING */
    case 1366: /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (incorrect string value) */
    case 1367: /* ER_ILLEGAL_VALUE_FOR_TYPE */
    case 1406: /* ER_DATA_TOO_LONG */
    case 1411: /* ER_WRONG_VALUE_FOR_TYPE */
    case 4025: /* ER_CONSTRAINT_FAILED */
        return true;
    }
    return false;
}

bool dberr_is_too_large(unsigned code)
{
    return code == 1153 || code == 1301;
}

bool dberr_is_lost_lock(unsigned code)
{
    return code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT;
}

/* The API field behind "... for column 'x' at row N" or column
 * `db`.`table`.`x` (the value itself is never echoed: it may be binary). */
void dberr_param(const char *err, const char *prefix, char *out, size_t outlen)
{
    static const struct { const char *column, *field; } names[] = {
        {"group_key", "group"}, {"payload", "payload"}, {"metadata", "metadata"},
        {"callback_url", "callback_url"}, {"idempotency_key", "idempotency_key"},
        {"queue", "queue"}, {"run_at", "run_at"}, {"priority", "priority"},
        {"max_attempts", "max_attempts"}, {"timeout_ms", "timeout_ms"}, {"kind", "kind"},
        {"backoff_base_ms", "backoff.base_ms"}, {"backoff_max_ms", "backoff.max_ms"},
        {"cron", "cron"}, {"timezone", "timezone"}, {"job", "job"}, {"name", "name"}};
    char col[64] = "";
    const char *p = err ? strstr(err, "column ") : NULL;
    if (p) {
        p += 7;
        while (*p == '`' || *p == '\'') { /* the last quoted part is the column */
            char q = *p++;
            const char *e = strchr(p, q);
            if (!e)
                break;
            snprintf(col, sizeof col, "%.*s", (int)(e - p < 63 ? e - p : 63), p);
            p = e + 1;
            if (*p != '.')
                break;
            p++;
        }
    }
    const char *field = "";
    for (size_t i = 0; *col && i < ARRAY_LEN(names); i++)
        if (strcmp(col, names[i].column) == 0)
            field = names[i].field;
    long long row = 0;
    const char *at = err ? strstr(err, " at row ") : NULL;
    if (prefix && prefix[0] == '[' && at && check_parse_ll_sat(at + 8, 1, 100000, &row) == 0)
        snprintf(out, outlen, "jobs[%lld]%s%s", row - 1, *field ? "." : "", field);
    else
        snprintf(out, outlen, "%s%s%s", prefix && prefix[0] != '[' ? prefix : "",
                 prefix && prefix[0] && prefix[0] != '[' && *field ? "." : "", field);
}

