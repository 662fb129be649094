/* schedule_batches_fin: a batch's finalization (its output and error
 * files written, then one transaction that makes them ready, ends the batch
 * and enqueues its webhook event). Internal to the schedule role's batch
 * pass (schedule_batches.c). */
#ifndef INGOT_SCHEDULE_BATCHES_FIN_H
#define INGOT_SCHEDULE_BATCHES_FIN_H

struct bpump;
struct brow;

/* Writes the batch's files and ends it; bpump_next when done. */
void bpump_finalize(struct bpump *p, struct brow *b);

#endif
