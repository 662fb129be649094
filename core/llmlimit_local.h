/* llmlimit_local: llmlimit's per-process fallback while Redis is
 * disabled or unreachable (its guarantee is in llmlimit_local.c).
 * Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_LOCAL_H
#define INGOT_LLMLIMIT_LOCAL_H

#include "llmlimit_int.h"

struct llmlimit_local;
struct llmlimit_local *llmlimit_local_new(struct llmlimit *ll);
void llmlimit_local_free(struct llmlimit_local *lc);
/* Decides req in this process; cb as llmlimit_reserve's. */
void llmlimit_local_reserve(struct llmlimit_local *lc, const struct llmlimit_req *req, const struct lim *lt,
                            const struct lim *lk, long long nano, llmlimit_cb cb, void *arg);
/* What Redis answered for a per-minute counter (CK_RPM, CK_TPM) of this
 * minute: if Redis stops answering within it, this process counts on from
 * the shared count, not from zero. Other kinds are ignored. */
void llmlimit_local_seen(struct llmlimit_local *lc, uint64_t tenant, uint64_t key, enum ck kind, long long minute,
                         long long value);
void llmlimit_local_settle(struct llmlimit_local *lc, struct llmlimit_ticket *t, long long used_tokens,
                           long long used_nano);

#endif
