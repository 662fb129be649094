/* llmlimit_settle: a call's reservation settled to its real usage through
 * the Redis script, settlements re-sent when Redis is back, and the usage
 * of local decisions caught up (llmlimit_settle of llmlimit.h lives here).
 * Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_SETTLE_H
#define INGOT_LLMLIMIT_SETTLE_H

#include "llmlimit_int.h"

/* After a local settle: the usage goes to Redis's counters when it answers. */
void llmlimit_catchup(struct llmlimit *ll, const struct llmlimit_ticket *t, long long used_tokens,
                      long long used_nano);
void llmlimit_settle_op_free(struct settle_op *op);
/* Re-sends the settlements Redis could not take (a timer). */
void llmlimit_retry_cb(int fd, short what, void *arg);

#endif
