#include "jobfilter.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sql.h"

#define TIME_RULES "an RFC 3339 time (2026-01-02T03:04:05Z) or whole Unix seconds"
/* 9999-12-31T23:59:59Z: the last second DATETIME holds. */
#define UNIX_MAX 253402300799LL

void jobfilter_init(struct jobfilter *f)
{
    memset(f, 0, sizeof *f);
    f->state = -1;
    f->kind = -1;
}

int jobfilter_parse_time(const char *s, char *out, size_t outlen)
{
    if (!s || !*s || outlen < JOBFILTER_TIME_LEN + 1)
        return -1;
    if (strchr(s, '-') || strchr(s, 'T') || strchr(s, 't')) {
        long long ignored;
        return job_parse_time(s, out, outlen, &ignored) == 0 ? 0 : -1;
    }
    long long secs;
    if (check_parse_ll(s, 0, UNIX_MAX, &secs) < 0)
        return -1;
    time_t t = (time_t)secs;
    struct tm u;
    if (!gmtime_r(&t, &u))
        return -1;
    snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.000000", u.tm_year + 1900, u.tm_mon + 1,
             u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec);
    return 0;
}

int jobfilter_set(struct jobfilter *f, const char *name, const char *value, char *why, size_t whylen)
{
    if (strcmp(name, "queue") == 0) {
        if (!job_name_valid(value, JOB_QUEUE_MAX)) {
            snprintf(why, whylen, "queue must be 1-%d characters of A-Z a-z 0-9 . _ : -", JOB_QUEUE_MAX);
            return -1;
        }
        f->has_queue = true;
        snprintf(f->queue, sizeof f->queue, "%s", value);
    } else if (strcmp(name, "group") == 0) {
        if (!job_name_valid(value, JOB_GROUP_MAX)) {
            snprintf(why, whylen, "group must be 1-%d characters of A-Z a-z 0-9 . _ : -", JOB_GROUP_MAX);
            return -1;
        }
        f->has_group = true;
        snprintf(f->group, sizeof f->group, "%s", value);
    } else if (strcmp(name, "status") == 0) {
        if ((f->state = job_state_parse(value)) < 0) {
            snprintf(why, whylen, "status must be queued, running, succeeded, failed or cancelled");
            return -1;
        }
    } else if (strcmp(name, "kind") == 0) {
        if ((f->kind = job_kind_parse(value)) < 0) {
            snprintf(why, whylen, "kind must be http, llm.chat, llm.embed, llm.response or webhook");
            return -1;
        }
    } else if (strcmp(name, "created_after") == 0 || strcmp(name, "created_before") == 0) {
        bool after = name[8] == 'a';
        char *out = after ? f->after : f->before;
        if (jobfilter_parse_time(value, out, JOBFILTER_TIME_LEN + 1) < 0) {
            snprintf(why, whylen, "%s must be " TIME_RULES ", between 1970 and 9999", name);
            return -1;
        }
        if (after)
            f->has_after = true;
        else
            f->has_before = true;
    } else {
        return 0;
    }
    return 1;
}

int jobfilter_check(const struct jobfilter *f, const char **param, char *why, size_t whylen)
{
    if (f->has_after && f->has_before && strcmp(f->after, f->before) > 0) {
        *param = "created_after";
        snprintf(why, whylen, "created_after must not be later than created_before");
        return -1;
    }
    return 0;
}

void jobfilter_sql(struct sbuf *b, const struct jobfilter *f)
{
    if (f->has_queue) {
        sbuf_puts(b, " AND queue = ");
        sql_cstr(b, f->queue);
    }
    if (f->state >= 0)
        sbuf_printf(b, " AND state = %d", f->state);
    if (f->kind >= 0)
        sbuf_printf(b, " AND kind = '%s'", job_kind_name((enum job_kind)f->kind));
    if (f->has_group) {
        sbuf_puts(b, " AND group_key = ");
        sql_cstr(b, f->group);
    }
    /* our own digits: safe to quote as they are */
    if (f->has_after)
        sbuf_printf(b, " AND created_at >= '%s'", f->after);
    if (f->has_before)
        sbuf_printf(b, " AND created_at < '%s'", f->before);
}

void jobfilter_sql_expr(struct sbuf *b, const struct jobfilter *f)
{
    sbuf_puts(b, "(1");
    jobfilter_sql(b, f);
    sbuf_putc(b, ')');
}

/* Cursors hide the id (xor) so clients treat them as opaque. */
#define CURSOR_MASK 0x5bd1e995ULL

bool jobfilter_by_time(const struct jobfilter *f)
{
    return f->has_after || f->has_before;
}

void jobfilter_cursor(const struct jobfilter *f, const char *id, const char *created, char *out, size_t outlen)
{
    unsigned long long v = strtoull(id, NULL, 10) ^ CURSOR_MASK; /* our own id column */
    if (!jobfilter_by_time(f)) {
        snprintf(out, outlen, "c%llx", v);
        return;
    }
    /* "t" YYYYMMDDHHMMSSffffff "." hex: the digits of created_at */
    char digits[21];
    size_t n = 0;
    for (const char *p = created ? created : ""; *p && n < 20; p++)
        if (isdigit((unsigned char)*p))
            digits[n++] = *p;
    digits[n] = '\0';
    snprintf(out, outlen, "t%s.%llx", digits, v);
}

int jobfilter_cursor_parse(const struct jobfilter *f, const char *s, struct jobfilter_pos *pos)
{
    memset(pos, 0, sizeof *pos);
    unsigned long long v = 0;
    const char *hex = NULL;
    if (!jobfilter_by_time(f)) {
        if (s[0] != 'c')
            return -1;
        hex = s + 1;
    } else {
        if (s[0] != 't' || strlen(s) < 23 || s[21] != '.')
            return -1;
        for (int i = 1; i < 21; i++)
            if (!isdigit((unsigned char)s[i]))
                return -1;
        char rfc[40];
        snprintf(rfc, sizeof rfc, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.6sZ", s + 1, s + 5, s + 7, s + 9, s + 11,
                 s + 13, s + 15);
        if (jobfilter_parse_time(rfc, pos->created, sizeof pos->created) < 0)
            return -1;
        hex = s + 22;
    }
    if (check_parse_ull(hex, 16, ULLONG_MAX, &v) < 0 || (v ^ CURSOR_MASK) == 0)
        return -1;
    pos->id = (uint64_t)(v ^ CURSOR_MASK);
    return 0;
}

void jobfilter_page_sql(struct sbuf *b, const struct jobfilter *f, const struct jobfilter_pos *pos)
{
    if (!jobfilter_by_time(f)) {
        if (pos->id)
            sbuf_printf(b, " AND id < %llu", (unsigned long long)pos->id);
        sbuf_puts(b, " ORDER BY id DESC");
        return;
    }
    if (pos->id)
        sbuf_printf(b, " AND (created_at < '%s' OR (created_at = '%s' AND id < %llu))", pos->created,
                    pos->created, (unsigned long long)pos->id);
    sbuf_puts(b, " ORDER BY created_at DESC, id DESC");
}
