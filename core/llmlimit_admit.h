/* llmlimit_admit: reserve through the Redis script, and the ledger sums
 * counters are rebuilt from (llmlimit_reserve of llmlimit.h lives here
 * too). Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_ADMIT_H
#define INGOT_LLMLIMIT_ADMIT_H

#include "llmlimit_int.h"

/* The ledger's sums for tenant (and key, 0: none) over the period:
 * out[0..2] tenant day, month tokens and month nano-USD, out[3..5] the
 * key's. ok false: the database could not answer. */
typedef void (*llmlimit_ledger_cb)(bool ok, const long long out[6], void *arg);
void llmlimit_ledger(struct llmlimit *ll, uint64_t tenant, uint64_t key, const struct period *p,
                     llmlimit_ledger_cb cb, void *arg);
/* Reservations that waited for the first read of the limits. */
void llmlimit_run_pending(struct llmlimit *ll);
void llmlimit_fail_pending(struct llmlimit *ll);
void llmlimit_drop_pending(struct llmlimit *ll);

#endif
