/* schedule_batches: the leading scheduler runs the Batch API's batches
 * (serve_batches.c stores them). A pass every few tens of milliseconds
 * walks the active batches: it counts each one's line jobs (queued,
 * running, failed), releases up to BATCH_WINDOW_LINES of its lines as
 * llm.* jobs (a window: a batch started later waits behind at most that
 * many lines of an earlier one, whoever owns it), expires batches past
 * their window, cancels the queued lines of cancelled ones, and finalizes
 * a batch once none of its lines is queued or running: the output and
 * error files are written to the filestore, then one transaction makes
 * them ready, ends the batch and enqueues its webhook event. A pass that
 * dies half way changes nothing that the next pass would not redo:
 * every release and every ending is a compare-and-set on the batch row. */
#ifndef INGOT_SCHEDULE_BATCHES_H
#define INGOT_SCHEDULE_BATCHES_H

#include <stdbool.h>

struct runtime;
struct bpump;

/* leading(arg): whether this scheduler leads now (passes run only then). */
struct bpump *bpump_new(struct runtime *rt, bool (*leading)(void *arg), void *arg);
void bpump_free(struct bpump *p);
/* A pass runs (the drain waits for it). */
bool bpump_busy(const struct bpump *p);
/* Stops arming passes (draining); the one running ends on its own. */
void bpump_stop(struct bpump *p);

#endif
