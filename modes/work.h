/* work: the worker role. Claims due jobs in batches under a lease, runs
 * up to QUEUE_WORKER_CONCURRENCY of them at once on the curl multi loop,
 * extends their leases, records each attempt and the outcome with a
 * compare-and-set, retries with exponential backoff and jitter (honouring
 * Retry-After), recovers expired leases, and on SIGTERM stops claiming,
 * lets in-flight jobs finish within SHUTDOWN_GRACE and hands back the
 * rest. */
#ifndef INGOT_WORK_H
#define INGOT_WORK_H

#include "util.h"

struct runtime;
struct work;

/* Borrows rt. Returns owned, or NULL with err set. */
struct work *work_start(struct runtime *rt, char *err, size_t errlen);
void work_free(struct work *w);

#endif
