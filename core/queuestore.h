/* queuestore: the queues SQL: settings (rate limit, concurrency, paused,
 * per-group limits) and counts per state. */
#ifndef INGOT_QUEUESTORE_H
#define INGOT_QUEUESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;
struct cJSON;

struct queue_settings {
    long long rate_max, rate_duration_ms;          /* -1: the defaults */
    long long concurrency;                          /* -1: no cap */
    long long group_concurrency;                    /* -1: no cap */
    long long group_rate_max, group_rate_duration_ms; /* -1: none */
    bool paused;
};

/* Parses a PUT /v1/queues/{name} body; 0, or -1 with param and why. */
int queue_settings_parse(const struct cJSON *body, struct queue_settings *out, char *param,
                         size_t plen, char *why, size_t wlen) ATTR_WUR;

/* json: the queue objects as a JSON array text, or NULL with err. */
typedef void (*queuestore_cb)(const char *json, const char *err, void *arg);
/* limiter_max/duration: the process defaults shown for unset limits. */
void queuestore_list(struct db_pool *db, uint64_t tenant, const char *name_or_null,
                     long long limiter_max, long long limiter_ms, queuestore_cb cb, void *arg);
/* Upserts, then answers with the queue as queuestore_list would. */
void queuestore_put(struct db_pool *db, uint64_t tenant, const char *name,
                    const struct queue_settings *s, long long limiter_max, long long limiter_ms,
                    queuestore_cb cb, void *arg);

#endif
