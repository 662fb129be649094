/* work_kinds: the job kinds the worker executes, one row each: how an
 * attempt is sent and how it is stopped. Everything else (the claim, the
 * lease, the rate limits, the outcome and its retries) is shared and lives
 * in work.c; a kind ends every attempt it sent with work_outcome. Only the
 * kinds of the table are claimed. Private to the work role. */
#ifndef INGOT_WORK_KINDS_H
#define INGOT_WORK_KINDS_H

#include <stdbool.h>

#include "job.h"

struct work;
struct run;

struct work_kind {
    enum job_kind kind;
    /* Sends r's attempt (started_us is set); it ends with one
     * work_outcome, which may run inside (a payload that cannot be sent). */
    void (*execute)(struct work *w, struct run *r);
    /* Stops r's attempt in flight now: work_outcome will not run for it.
     * false: nothing of r was in flight. Never from inside the kind's own
     * callbacks. */
    bool (*stop)(struct work *w, struct run *r);
    /* Handed back while in flight (shutdown): stop the attempt rather
     * than let it run on unheard (an LLM call spends tokens). */
    bool stop_on_release;
    /* Whether this worker can run the kind now (NULL: always): a kind it
     * cannot run is not claimed, so another worker takes its jobs. */
    bool (*ready)(struct work *w);
};

/* The row of kind k, or NULL when this worker does not execute it. */
const struct work_kind *work_kind_of(enum job_kind k);
/* The kinds of the table this worker can run now, as jobclaim_claim's
 * mask (1u << kind). */
unsigned work_kinds_mask(struct work *w);


#endif
