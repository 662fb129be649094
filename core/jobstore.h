/* jobstore: the API's inserts of jobs (enqueue, batch, the queues a job
 * creates); jobchange has cancel and retry, jobread the reads. Concurrent
 * enqueues are coalesced into multi-row INSERTs while earlier ones are in
 * flight; each caller is answered only after its row is committed. */
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

/* What an enqueue (one job, or a batch) came to. */
enum js_enqueued {
    JS_NEW,         /* inserted: id and json */
    JS_REPLAY,      /* the idempotency key's earlier request, same body: id */
    JS_KEY_REUSED,  /* the idempotency key's earlier request had another body */
    JS_FAILED,      /* err_code and err: nothing was stored */
    JS_UNKNOWN      /* the INSERT may have committed (timed out, link broken,
                     * or stored with its id unknown): err. Never with a key:
                     * then the key is resolved again first. */
};
struct js_reply {
    enum js_enqueued what;
    uint64_t id;         /* NEW/REPLAY: the job, or the first of the batch */
    const char *json;    /* NEW: the job(s) as jobread_json shows them,
                          * comma-separated for a batch (borrowed) */
    unsigned err_code;   /* FAILED: MariaDB errno or DB_ERR_* */
    const char *err;     /* FAILED: message (no secrets) */
};
typedef void (*jobstore_enqueue_cb)(const struct js_reply *r, void *arg);

/* max_batch: rows per coalesced INSERT; batches_inflight: such INSERTs at
 * once; singles_inflight: one-row INSERTs of idempotent jobs at once. */
struct jobstore *jobstore_new(struct db_pool *db, struct metrics *m, int max_batch, int batches_inflight,
                              int singles_inflight);
void jobstore_free(struct jobstore *js);

/* Takes ownership of spec's allocations (spec itself is copied). */
void jobstore_enqueue(struct jobstore *js, uint64_t tenant, struct job_spec *spec,
                      jobstore_enqueue_cb cb, void *arg);
/* A job with an idempotency key: a repeat within 24 h inserts nothing (no
 * queue row either) and answers JS_REPLAY, or JS_KEY_REUSED when the
 * request differs (job_spec_hash). Keys of single jobs and of batches
 * never collide. */
/* All or nothing, one statement; takes the specs' allocations. key
 * (borrowed, or NULL): the request's Idempotency-Key (at most
 * JOB_BATCH_IDEM_MAX characters), shown on every job of the batch; a
 * repeat within 24 h answers as for one job, id being the earlier batch's
 * first job. */
void jobstore_enqueue_batch(struct jobstore *js, uint64_t tenant, struct job_spec *specs, size_t n,
                            const char *key, jobstore_enqueue_cb cb, void *arg);

/* Appends the INSERT of one job (for callers running their own
 * transaction, e.g. the scheduler). */
void jobstore_insert_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *s);
/* One multi-row INSERT of n jobs without idempotency keys (n >= 1; a
 * batch's lines, a window at a time). */
void jobstore_insert_rows_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *specs, size_t n);

#endif
