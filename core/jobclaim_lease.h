/* jobclaim_lease: the worker's leases after the claim (jobclaim.h):
 * extended while jobs run, checked, handed back, and recovered when a
 * worker died. Part of jobclaim's face (jobclaim.h includes it). */
#ifndef INGOT_JOBCLAIM_LEASE_H
#define INGOT_JOBCLAIM_LEASE_H

#include <stddef.h>
#include <stdint.h>

struct db_pool;
struct claimed_job;

/* Pushes the lease of every running job holding one of tokens. cb (or
 * NULL) gets how many jobs it extended: fewer than the caller holds means
 * some lease was lost (cancelled, recovered); ULLONG_MAX when the update
 * failed (nothing is known). cb always runs once. */
typedef void (*jobclaim_extended_cb)(unsigned long long n, void *arg);
void jobclaim_extend(struct db_pool *db, const char *const *tokens, size_t n, long long lease_ms,
                     jobclaim_extended_cb cb, void *arg);
/* Which of these (id, token) leases are still held: cb gets the ids whose
 * job is running under that token (err set and held NULL on failure). */
typedef void (*jobclaim_held_cb)(const uint64_t *held, size_t n, const char *err, void *arg);
void jobclaim_held(struct db_pool *db, const uint64_t *ids, const char (*tokens)[33], size_t n,
                   jobclaim_held_cb cb, void *arg);
/* n: rows changed; err and err_code (as jobclaim_cb) when it failed. */
typedef void (*jobclaim_count_cb)(unsigned long long n, const char *err, unsigned err_code, void *arg);
/* Expired leases back to queued, or failed when out of attempts: those
 * with a callback_url get their callback in the same transaction, like any
 * other failure. Rows locked by a worker recording an outcome are left for
 * the next pass. cb gets how many changed. */
void jobclaim_recover(struct db_pool *db, int limit, jobclaim_count_cb cb, void *arg);
/* Hands jobs back (shutdown, rate limit): queued again after delay_ms,
 * this attempt not counted. */
void jobclaim_release(struct db_pool *db, const struct claimed_job *const *jobs, size_t n,
                      long long delay_ms, jobclaim_count_cb cb, void *arg);

#endif
