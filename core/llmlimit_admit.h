/* llmlimit_admit: reserve and settle through the Redis script, settlements
 * re-sent when Redis is back, the usage of local decisions caught up, and
 * the ledger sums counters are rebuilt from (llmlimit_reserve and
 * llmlimit_settle of llmlimit.h live here too). Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_ADMIT_H
#define INGOT_LLMLIMIT_ADMIT_H

#include "llmlimit_int.h"

/* The ledger's sums for tenant (and key, 0: none) over the period:
 * out[0..2] tenant day, month tokens and month nano-USD, out[3..5] the
 * key's. ok false: the database could not answer. */
typedef void (*llmlimit_ledger_cb)(bool ok, const long long out[6], void *arg);
void llmlimit_ledger(struct llmlimit *ll, uint64_t tenant, uint64_t key, const struct period *p,
                     llmlimit_ledger_cb cb, void *arg);
/* After a local settle: the usage goes to Redis's counters when it answers. */
void llmlimit_catchup(struct llmlimit *ll, const struct llmlimit_ticket *t, long long used_tokens,
                      long long used_nano);
/* Reservations that waited for the first read of the limits. */
void llmlimit_run_pending(struct llmlimit *ll);
void llmlimit_fail_pending(struct llmlimit *ll);
void llmlimit_drop_pending(struct llmlimit *ll);
void llmlimit_settle_op_free(struct settle_op *op);
/* Re-sends the settlements Redis could not take (a timer). */
void llmlimit_retry_cb(int fd, short what, void *arg);

#endif
