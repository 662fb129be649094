/* schedule_maint: the leader's maintenance, in small batches so no lock
 * is held for long: purge finished jobs (and their attempts) and fired
 * ticks older than RETENTION_DAYS, clear idempotency keys older than 24 h,
 * put back jobs whose lease expired, and purge files that expired, were
 * deleted, or whose upload stalled a day. One pass at a time. */
#ifndef INGOT_SCHEDULE_MAINT_H
#define INGOT_SCHEDULE_MAINT_H

#include <stdbool.h>

struct runtime;
struct maint;

struct maint *maint_new(struct runtime *rt);
void maint_free(struct maint *m);
/* Starts a pass unless one runs; done(arg) when it ends. */
void maint_run(struct maint *m, void (*done)(void *arg), void *arg);
bool maint_running(const struct maint *m);
/* Forget where the idempotency walk was (a new leader starts over). */
void maint_reset(struct maint *m);

#endif
