/* jobclaim: the worker side of the jobs SQL. Claims due jobs with
 * SELECT ... FOR UPDATE SKIP LOCKED inside a transaction and leases them
 * (token + expiry); every later change is a compare-and-set on state and
 * lease token, so a worker whose lease was lost can never overwrite an
 * outcome. */
#ifndef INGOT_JOBCLAIM_H
#define INGOT_JOBCLAIM_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

struct db_pool;

/* Queues with settings the worker acts on: paused, their own rate limit, a
 * concurrency cap or group limits. -1: not set (rate: the default). */
struct queue_row {
    uint64_t tenant;
    char name[JOB_QUEUE_MAX + 1];
    bool paused;
    long long rate_max, rate_ms;
    long long concurrency, group_concurrency, group_rate_max, group_rate_ms;
};
struct claimed_job {
    uint64_t id, tenant;
    uint64_t key_id;        /* the key that enqueued it (0: none) */
    enum job_kind kind;
    char queue[JOB_QUEUE_MAX + 1];
    char *payload;          /* owned */
    char *callback_url;     /* owned or NULL */
    char *group;            /* owned or NULL */
    long long timeout_ms, backoff_base_ms, backoff_max_ms;
    int attempt;            /* this attempt, 1-based */
    double wait_s;          /* from due (run_at) to claimed */
    int max_attempts;
    char token[33];
    /* Its queue's settings as the claim read them (all -1, not paused,
     * when the queue has no row): the worker compares them with its cache
     * and runs nothing under settings it has not loaded yet. */
    struct queue_row settings;
};

/* jobs: owned by the callee (jobclaim_free_jobs), n may be 0. err_code:
 * the MariaDB error number with err (e.g. ER_LOCK_DEADLOCK), or a DB_ERR_*
 * of db.h; decide by it, never by the message (lc_messages translates
 * those). */
typedef void (*jobclaim_cb)(struct claimed_job *jobs, size_t n, const char *err, unsigned err_code,
                            void *arg);

/* Claims up to max due jobs of the kinds in the mask (bit 1u << kind: the
 * kinds the worker executes; others wait queued). fair NULL: from every
 * queue but those the exclude condition (SQL, or NULL) leaves out, in
 * priority order. fair set: from that capped queue only, under its caps,
 * groups round-robin (jobfair.h). */
struct jobfair_queue;
void jobclaim_claim(struct db_pool *db, const char *worker_id, int max, long long lease_ms,
                    unsigned kinds, const char *exclude, const struct jobfair_queue *fair,
                    jobclaim_cb cb, void *arg);
/* The SQL condition "kind IN (...)" of a kinds mask (as jobclaim_claim's);
 * "FALSE" for none. Appends to b. */
void jobclaim_kinds_sql(struct sbuf *b, unsigned kinds);
typedef void (*jobclaim_queues_cb)(struct queue_row *rows, size_t n, const char *err, void *arg);
void jobclaim_queues(struct db_pool *db, jobclaim_queues_cb cb, void *arg);
void jobclaim_free_jobs(struct claimed_job *jobs, size_t n);

/* SQL that enqueues, for each job of ids_sql (e.g. "1,2") now terminal and
 * with a callback_url, a signed POST of the job to that URL: an http job
 * in queue "callbacks" with retries. Appends to b. Run it in the
 * transaction of the outcome, after queuestore_ensure_callbacks_sql. */
void jobclaim_callback_sql(struct sbuf *b, const char *ids_sql);

/* Leases after the claim (extend, held, recover, release): jobclaim_lease.h. */
#include "jobclaim_lease.h"

#endif
