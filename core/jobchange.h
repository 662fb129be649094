/* jobchange: the API's cancel and retry of one job, each a compare-and-set
 * UPDATE of its state (then a read to tell "not found" from "wrong
 * state"). */
#ifndef INGOT_JOBCHANGE_H
#define INGOT_JOBCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

enum jobchange_outcome { JOBCHANGE_OK, JOBCHANGE_NOT_FOUND, JOBCHANGE_CONFLICT, JOBCHANGE_ERROR };
/* state: the job's state after (JOBCHANGE_OK) or as found (JOBCHANGE_CONFLICT). */
typedef void (*jobchange_cb)(enum jobchange_outcome o, int state, unsigned err_code, const char *err,
                             void *arg);

/* queued or running -> cancelled (a running job loses its lease). */
void jobchange_cancel(struct db_pool *db, uint64_t tenant, uint64_t id, jobchange_cb cb, void *arg);
/* failed or cancelled -> queued, with a fresh set of attempts and no trace
 * of the last run (last_error, result, started_at, finished_at). */
void jobchange_retry(struct db_pool *db, uint64_t tenant, uint64_t id, jobchange_cb cb, void *arg);

/* The rules both the single-job and the bulk change follow (jobbulk):
 * whether a job in state may be cancelled (queued, running) or retried
 * (failed, cancelled); "state IN (...)" for those states; and the
 * compare-and-set UPDATE of the jobs ids_sql lists ("1,2,3") of tenant
 * that are in those states. */
bool jobchange_allowed(bool cancel, int state);
void jobchange_states_sql(struct sbuf *b, bool cancel);
void jobchange_update_sql(struct sbuf *b, bool cancel, uint64_t tenant, const char *ids_sql);

#endif
