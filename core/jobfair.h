/* jobfair: picks the jobs of one capped queue (a concurrency cap or group
 * limits) inside a claim transaction. The queue's row is locked first, so
 * the claims of that queue are serialised across every worker and the caps
 * hold: running jobs are counted, groups are walked in key order starting
 * after the queue's group_cursor (the last group served), and the jobs are
 * taken round-robin, one per group per round. A job without a group is in
 * the group "" (first in the rotation). */
#ifndef INGOT_JOBFAIR_H
#define INGOT_JOBFAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

struct db_txn;

#define JOBFAIR_GROUPS_MAX 16 /* groups served by one claim */

struct jobfair_queue {
    uint64_t tenant;
    char name[JOB_QUEUE_MAX + 1];
    long long concurrency;        /* running jobs in the queue; -1: no cap */
    long long group_concurrency;  /* running jobs per group; -1: no cap */
    const char *const *skip;      /* groups waiting for their rate window */
    size_t nskip;
    const char *kinds;            /* SQL condition on the kinds claimed (jobclaim sets it) */
};

/* Fills ids ("1,2,3", empty when nothing is due or the caps are reached)
 * and, when the rotation moved, cursor_sql with the statement that stores
 * it. done(err, err_code) runs once; err NULL on success, err_code the
 * MariaDB error number (db.h) of a failed statement. */
typedef void (*jobfair_done_cb)(const char *err, unsigned err_code, void *arg);
void jobfair_select(struct db_txn *txn, const struct jobfair_queue *q, int max,
                               struct sbuf *ids, struct sbuf *cursor_sql, jobfair_done_cb done,
                               void *arg);

/* The round-robin itself: groups in rotation order, avail[g] candidates
 * each (already capped to the group's room). Writes, for each pick in order,
 * its group to out_group and its rank within the group to out_rank; returns
 * how many (at most budget). */
size_t jobfair_pick(const size_t *avail, size_t ngroups, size_t budget, size_t *out_group,
                    size_t *out_rank);

#endif
