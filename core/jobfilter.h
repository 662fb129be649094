/* jobfilter: which jobs of a tenant a list or a bulk change means: queue,
 * status, kind, group and a created_at window. Parsed from query
 * parameters (GET /v1/jobs) or a JSON body (POST /v1/jobs/retry|cancel)
 * with the same rules, and rendered as SQL conditions. */
#ifndef INGOT_JOBFILTER_H
#define INGOT_JOBFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

/* Times as SQL UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (fixed width, so they
 * compare as strings). created_after is inclusive, created_before
 * exclusive: adjacent windows tile without overlap. */
#define JOBFILTER_TIME_LEN 27

struct jobfilter {
    bool has_queue, has_group, has_after, has_before;
    char queue[JOB_QUEUE_MAX + 1];
    char group[JOB_GROUP_MAX + 1];
    int state;   /* -1: any */
    int kind;    /* -1: any (enum job_kind otherwise) */
    char after[JOBFILTER_TIME_LEN + 1], before[JOBFILTER_TIME_LEN + 1];
};

/* No condition. */
void jobfilter_init(struct jobfilter *f);
/* Sets field name ("queue", "status", "kind", "group", "created_after",
 * "created_before") from its text: 1 when set, 0 when name is not a
 * filter field, -1 when the value is invalid (why says what is allowed). */
int jobfilter_set(struct jobfilter *f, const char *name, const char *value, char *why, size_t whylen) ATTR_WUR;
/* Checks the fields together: 0, or -1 with *param and why
 * (created_after later than created_before). */
int jobfilter_check(const struct jobfilter *f, const char **param, char *why, size_t whylen) ATTR_WUR;
/* A time: RFC 3339 ("2026-01-02T03:04:05Z", fractions and offsets
 * allowed) or whole Unix seconds ("1767323045"), 1970-9999 UTC, to SQL UTC
 * text in out (JOBFILTER_TIME_LEN + 1 bytes). 0 or -1. */
int jobfilter_parse_time(const char *s, char *out, size_t outlen) ATTR_WUR;
/* Appends " AND cond" for every condition set (columns of jobs, no alias). */
void jobfilter_sql(struct sbuf *b, const struct jobfilter *f);
/* Appends the conditions as one SQL expression, "1" when none. */
void jobfilter_sql_expr(struct sbuf *b, const struct jobfilter *f);

/* Where a page of GET /v1/jobs starts: after the row a next_cursor names. */
struct jobfilter_pos {
    uint64_t id;                            /* 0: from the newest */
    char created[JOBFILTER_TIME_LEN + 1];   /* with a time window: that row's created_at */
};

/* A list with a created_at window is ordered by created_at (then id),
 * newest first, so it reads jobs_tenant_created in order; without one, by
 * id. Either way newest first. */
bool jobfilter_by_time(const struct jobfilter *f);
/* next_cursor for a page whose last row has id (decimal text) and
 * created (the API's "YYYY-MM-DDTHH:MM:SS.ffffffZ"): opaque text, at most
 * JOBFILTER_CURSOR_MAX characters. */
#define JOBFILTER_CURSOR_MAX 48
void jobfilter_cursor(const struct jobfilter *f, const char *id, const char *created, char *out, size_t outlen);
/* A cursor back into pos: 0, or -1 when it is no cursor of a list with
 * f's ordering (a cursor from a list with a time window is refused
 * without one, and the other way round). */
int jobfilter_cursor_parse(const struct jobfilter *f, const char *s, struct jobfilter_pos *pos) ATTR_WUR;
/* Appends the condition pos sets (if any) and the ORDER BY of f's list. */
void jobfilter_page_sql(struct sbuf *b, const struct jobfilter *f, const struct jobfilter_pos *pos);

#endif
