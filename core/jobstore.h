/* jobstore: the API's writes of jobs (enqueue, batch, cancel, retry, the
 * queues a job creates); jobread has the reads. Concurrent enqueues are coalesced
 * into multi-row INSERTs while earlier ones are in flight; each caller is
 * answered only after its row is committed. */
#ifndef INGOT_JOBSTORE_H
#define INGOT_JOBSTORE_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

struct loop;
struct db_pool;
struct metrics;
struct jobstore;

enum js_outcome { JS_OK, JS_NOT_FOUND, JS_CONFLICT, JS_ERROR };

/* id of the job; existing: an idempotent repeat returned an earlier job. */
typedef void (*jobstore_enqueue_cb)(uint64_t id, bool existing, const char *err, void *arg);
/* ids (borrowed): the new jobs in request order; or replay_first: an
 * Idempotency-Key repeat, the first id of the earlier batch; or err. */
typedef void (*jobstore_batch_cb)(const uint64_t *ids, uint64_t replay_first, const char *err, void *arg);
/* state: the job's state after (JS_OK) or as found (JS_CONFLICT). */
typedef void (*jobstore_change_cb)(enum js_outcome o, int state, const char *err, void *arg);

/* max_batch: rows per coalesced INSERT; batches_inflight: such INSERTs at
 * once; singles_inflight: one-row INSERTs of idempotent jobs at once. */
struct jobstore *jobstore_new(struct db_pool *db, struct metrics *m, int max_batch, int batches_inflight,
                              int singles_inflight);
void jobstore_free(struct jobstore *js);

/* Takes ownership of spec's allocations (spec itself is copied). */
void jobstore_enqueue(struct jobstore *js, uint64_t tenant, struct job_spec *spec,
                      jobstore_enqueue_cb cb, void *arg);
/* All or nothing, one statement; takes the specs' allocations. key
 * (borrowed, or NULL): the request's Idempotency-Key (at most
 * JOB_BATCH_IDEM_MAX characters); a repeat within 24 h inserts nothing and
 * answers the earlier batch's first id. */
void jobstore_enqueue_batch(struct jobstore *js, uint64_t tenant, struct job_spec *specs, size_t n,
                            const char *key, jobstore_batch_cb cb, void *arg);
void jobstore_cancel(struct jobstore *js, uint64_t tenant, uint64_t id, jobstore_change_cb cb, void *arg);
/* failed or cancelled -> queued, with a fresh set of attempts. */
void jobstore_retry(struct jobstore *js, uint64_t tenant, uint64_t id, jobstore_change_cb cb, void *arg);

/* Appends the INSERT of one job (for callers running their own
 * transaction, e.g. the scheduler). */
void jobstore_insert_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *s);

#endif
