/* jobbulk: cancel or retry every job of a tenant that a filter matches,
 * in short transactions. The tenant's jobs that exist when it starts are
 * walked in id order, rows_per_batch at a time, by a plain read (no
 * locks) that says which match; only those whose state allows the change
 * (jobchange's rules) are then locked by primary key, changed by
 * jobchange's own UPDATE and, for a cancel, given their callbacks, and
 * committed. A transaction thus holds at most rows_per_batch row locks
 * and no gap locks, for a few statements; a worker's claim (SKIP LOCKED)
 * passes the rows it holds. Jobs created after the start are not
 * touched. */
#ifndef INGOT_JOBBULK_H
#define INGOT_JOBBULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobfilter.h"
#include "util.h"

struct cJSON;
struct db_pool;
struct jobbulk;

#define JOBBULK_ROWS 500
/* A request answers after this long at the latest (time_limit_ms), with
 * a resume token when it has not reached the end: below the 30-60 s a
 * proxy commonly allows. */
#define JOBBULK_TIME_DEFAULT_MS 20000
#define JOBBULK_TIME_MAX_MS 60000
#define JOBBULK_RESUME_MAX 48

/* What to change: the filter, and where to start (a resume token). */
struct jobbulk_spec {
    struct jobfilter f;
    uint64_t after_id;      /* ids up to it were walked by an earlier request */
    uint64_t max_id;        /* the end fixed by the first request; 0: read it now */
    long long time_limit_ms;
};

struct jobbulk_result {
    unsigned long long matched;  /* jobs the filter matched, in any state, when read */
    unsigned long long changed;  /* jobs cancelled / retried */
    unsigned long long batches;  /* transactions that changed jobs */
    bool complete;               /* every job was looked at (not stopped, no error) */
    char resume[JOBBULK_RESUME_MAX + 1]; /* not complete, no error: the token to go on */
    unsigned err_code;           /* when it failed: MariaDB errno or DB_ERR_*, else 0 */
    const char *err;             /* "" unless it failed; jobs of earlier batches stay changed */
};
/* After each committed batch: the ids it changed (borrowed). */
typedef void (*jobbulk_batch_cb)(const uint64_t *ids, size_t n, void *arg);
/* Once, at the end; the jobbulk is freed after it returns. */
typedef void (*jobbulk_done_cb)(const struct jobbulk_result *r, void *arg);

/* Starts at once; spec is copied. It ends at the end of the walk, after
 * the batch in flight once spec->time_limit_ms has passed (at least one
 * batch is read), on jobbulk_stop, or on an error. Returns the running
 * operation (owned by itself until done_cb), for jobbulk_stop. */
struct jobbulk *jobbulk_start(struct db_pool *db, uint64_t tenant, bool cancel, const struct jobbulk_spec *spec,
                              int rows_per_batch, jobbulk_batch_cb batch_cb, jobbulk_done_cb done_cb,
                              void *arg);
/* Ends after the batch in flight (complete: false, with a resume token). */
void jobbulk_stop(struct jobbulk *b);

/* A bulk request's body (a JSON object) into spec: 0, or -1 with *param
 * (the offending field: borrowed from j, or static) and why. Fields:
 * queue, status, kind, group (strings), created_after, created_before
 * (RFC 3339 strings or whole Unix seconds, string or number), all
 * (boolean), resume (a token from an earlier answer), time_limit_ms
 * (100-60000). status must be a state the change applies to; queue,
 * status or "all": true is required, so an empty body changes nothing. */
int jobbulk_parse(const struct cJSON *j, bool cancel, struct jobbulk_spec *spec, const char **param, char *why,
                  size_t whylen) ATTR_WUR;

#endif
