/* ratelimit: fixed windows aligned to the epoch (window = now / duration),
 * counted in Redis by one atomic script so every worker shares them, and
 * per process when Redis is absent or down (each process then enforces the
 * limit on its own, so N workers may together reach N times it). When Redis
 * stops answering within a window, a process counts on from the shared
 * count it saw last. */
#ifndef INGOT_RATELIMIT_H
#define INGOT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct redis_client;
struct ratelimit;

/* granted: how many of the wanted units may go now (0..want);
 * reset_ms: when the current window ends, from now. */
typedef void (*ratelimit_cb)(int granted, long long reset_ms, bool shared, void *arg);

/* ns: the installation id (borrowed, may fill later): until it is known
 * ("") every window is counted in this process, never under a bare key. */
struct ratelimit *ratelimit_new(struct redis_client *redis, const char *ns);
void ratelimit_free(struct ratelimit *rl);
/* key: what is limited (e.g. "7:emails"). cb may run before this returns
 * (per-process answer) or later (Redis). */
void ratelimit_take(struct ratelimit *rl, const char *key, int want, long long max,
                    long long window_ms, ratelimit_cb cb, void *arg);

#endif
