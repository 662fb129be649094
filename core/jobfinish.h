/* jobfinish: records job outcomes in batches. Outcomes that arrive while
 * earlier ones are being written are gathered and written together in one
 * transaction: the rows still leased to us are locked and read first
 * (compare-and-set on state and lease token), the outcomes of those are
 * applied, every attempt is recorded, and each caller then learns whether
 * its outcome counted. */
#ifndef INGOT_JOBFINISH_H
#define INGOT_JOBFINISH_H

#include <stddef.h>

#include "db.h"
#include "jobclaim.h"
#include "util.h"

struct loop;
struct db_pool;
struct jobfinish;

enum jobclaim_outcome { OUTCOME_SUCCEEDED, OUTCOME_RETRY, OUTCOME_FAILED };

struct jobclaim_result {
    enum jobclaim_outcome outcome;
    const char *result_json;   /* stored as the job's result, or NULL */
    const char *usage_json;    /* stored as the job's usage (llm.*), or NULL: left as it is */
    const char *error;         /* last_error, or NULL */
    long long retry_delay_ms;  /* OUTCOME_RETRY */
    int http_status;           /* 0: none */
    const char *worker_id;
    int64_t started_real_us;   /* for the attempt row */
};

/* applied: false when the lease no longer matched (outcome discarded);
 * err: the write failed (the lease will expire and the job runs again),
 * err_code its MariaDB error number or DB_ERR_* (db.h). */
typedef void (*jobfinish_cb)(bool applied, const char *err, unsigned err_code, void *arg);

struct jobfinish *jobfinish_new(struct loop *l, struct db_pool *db, int max_batch, int max_inflight);
/* Outcomes not yet written are reported as failed writes. */
void jobfinish_free(struct jobfinish *f);
/* Copies what it needs from j and r. cb runs later, never inside. */
void jobfinish_add(struct jobfinish *f, const struct claimed_job *j, const struct jobclaim_result *r,
                   jobfinish_cb cb, void *arg);
/* Outcomes queued or being written. */
size_t jobfinish_pending(const struct jobfinish *f);

/* A change made outside a worker that ends job id (a cancel): runs
 * update_sql, a compare-and-set UPDATE of that one job, in a transaction
 * that also enqueues the job's callback when it has one (and, for a
 * background response, its response.cancelled webhook event), so the
 * callback exists if and only if the change committed. cb gets the UPDATE's result
 * (affected_rows 0: nothing changed, no callback) after the commit, or the
 * failure (res is always NULL). Lost lock conflicts are tried again. */
void jobfinish_terminal(struct db_pool *db, const char *update_sql, uint64_t id, db_query_cb cb,
                        void *arg);

#endif
