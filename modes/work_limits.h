/* work_limits: what the worker knows about queues: which are paused, which
 * have their own rate limit, which are capped (a concurrency cap or group
 * limits: claimed one queue at a time through jobfair), and which queues
 * and groups are throttled until their rate window resets. */
#ifndef INGOT_WORK_LIMITS_H
#define INGOT_WORK_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct queue_row;
struct jobfair_queue;
struct work_limits;

/* The defaults: QUEUE_LIMITER_MAX per QUEUE_LIMITER_DURATION_MS. */
struct work_limits *work_limits_new(long long default_max, long long default_ms);
void work_limits_free(struct work_limits *l);
/* Replaces the known queue settings (from jobclaim_queues). */
void work_limits_set(struct work_limits *l, const struct queue_row *rows, size_t n);
bool work_limits_loaded(const struct work_limits *l);
/* The settings are stale (a claimed job showed others): no claim until the
 * next work_limits_set. */
void work_limits_invalidate(struct work_limits *l);
/* Whether the known settings of q's queue are those q holds (a queue not
 * known must have none). */
bool work_limits_current(const struct work_limits *l, const struct queue_row *q);
/* The queue's rate limit (its own, else QUEUE_LIMITER_*); false when it
 * has none (QUEUE_LIMITER_MAX=0 and no rate_limit of its own). */
bool work_limits_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                      long long *max, long long *ms);
/* The queue's per-group rate limit; false when it has none. */
bool work_limits_group_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                            long long *max, long long *ms);
/* No claims from this queue (group NULL) or group until until_ms (monotonic). */
void work_limits_throttle(struct work_limits *l, uint64_t tenant, const char *queue,
                          const char *group, int64_t until_ms);
/* The claim condition leaving out paused, throttled and capped queues, or
 * NULL. Borrowed: valid until the next call. */
const char *work_limits_exclude(struct work_limits *l);

/* The next capped queue to claim from (round-robin over those not paused,
 * not throttled and not backing off after an empty claim), with its
 * throttled groups; false when none is due. q borrows from l until the
 * next call. */
bool work_limits_next_fair(struct work_limits *l, struct jobfair_queue *q);
/* A claim of that queue returned n jobs: an empty one backs off (up to 1 s). */
void work_limits_fair_claimed(struct work_limits *l, uint64_t tenant, const char *queue, size_t n);
/* Claim that queue (or every capped queue: queue NULL) at the next chance:
 * one of its jobs finished, or an enqueue woke us. */
void work_limits_fair_kick(struct work_limits *l, uint64_t tenant, const char *queue);

#endif
