/* work_limits: what the worker knows about queues: which are paused, which
 * have their own rate limit, and which are throttled until their rate
 * window resets; and the claim condition that leaves those out. */
#ifndef INGOT_WORK_LIMITS_H
#define INGOT_WORK_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct queue_row;
struct work_limits;

/* The defaults: QUEUE_LIMITER_MAX per QUEUE_LIMITER_DURATION_MS. */
struct work_limits *work_limits_new(long long default_max, long long default_ms);
void work_limits_free(struct work_limits *l);
/* Replaces the known queue settings (from jobclaim_queues). */
void work_limits_set(struct work_limits *l, const struct queue_row *rows, size_t n);
bool work_limits_loaded(const struct work_limits *l);
void work_limits_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                      long long *max, long long *ms);
/* No claims from this queue until until_ms (monotonic). */
void work_limits_throttle(struct work_limits *l, uint64_t tenant, const char *queue, int64_t until_ms);
/* The claim condition leaving out paused and throttled queues, or NULL.
 * Borrowed: valid until the next call. */
const char *work_limits_exclude(struct work_limits *l);

#endif
