/* queuestore: the queues SQL: settings (rate limit, concurrency, paused,
 * per-group limits) and counts per state. */
#ifndef INGOT_QUEUESTORE_H
#define INGOT_QUEUESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;
struct cJSON;

/* The queue that callback jobs go to (one per tenant). */
#define QUEUESTORE_CALLBACKS "callbacks"

/* Which settings a body gave (PATCH changes only those). */
enum {
    QS_RATE = 1,
    QS_CONCURRENCY = 2,
    QS_PAUSED = 4,
    QS_GROUP_CONCURRENCY = 8,
    QS_GROUP_RATE = 16,
    QS_ALL = 31
};

struct queue_settings {
    long long rate_max, rate_duration_ms;          /* -1: the defaults */
    long long concurrency;                          /* -1: no cap */
    long long group_concurrency;                    /* -1: no cap */
    long long group_rate_max, group_rate_duration_ms; /* -1: none */
    bool paused;
    unsigned given;                                 /* QS_* present in the body */
};

/* Parses a PUT or PATCH /v1/queues/{name} body (fields absent keep their
 * defaults and are left out of given); 0, or -1 with param and why. */
int queue_settings_parse(const struct cJSON *body, struct queue_settings *out, char *param,
                         size_t plen, char *why, size_t wlen) ATTR_WUR;
/* The names of the settings a PUT with s reset to their defaults (those
 * not given), as a JSON array text appended to b. */
void queue_settings_reset_json(const struct queue_settings *s, struct sbuf *b);

/* Queue rows have one owner: every statement that creates one comes from
 * here. Appends the statement creating (tenant, name) if missing. */
void queuestore_ensure_sql(struct sbuf *b, uint64_t tenant, const char *name);
/* Appends the statement creating the QUEUESTORE_CALLBACKS queue of every
 * tenant owning one of the jobs ids_sql ("1,2") that has a callback_url
 * (run in the transaction that enqueues their callbacks). */
void queuestore_ensure_callbacks_sql(struct sbuf *b, const char *ids_sql);

/* json: the queue objects as a JSON array text, or NULL with err. */
typedef void (*queuestore_cb)(const char *json, const char *err, void *arg);

/* Counting reads at most cap + 1 jobs per queue and state (an index range,
 * cheap with a million jobs): a state with more shows cap and is named in
 * "counts_capped". The oldest due queued job's age is exact when at most
 * cap are due; else oldest() gives it from a snapshot (true: age_ms and
 * how old the snapshot is, snap_age_ms), shown with "depth_age_ms". */
#define QUEUESTORE_COUNT_CAP_ONE 10000   /* GET /v1/queues/{name} */
#define QUEUESTORE_COUNT_CAP_LIST 1000   /* GET /v1/queues */
#define QUEUESTORE_COUNT_QUEUES_MAX 100  /* queues counted per list; the rest "counts": null */
typedef bool (*queuestore_oldest_fn)(void *arg, uint64_t tenant, const char *queue, long long *age_ms,
                                     long long *snap_age_ms);
struct queuestore_count {
    long long cap;                /* 0: no job is read (the settings alone) */
    queuestore_oldest_fn oldest;  /* may be NULL */
    void *arg;
};
/* limiter_max/duration: the process defaults shown for unset limits.
 * count NULL or its cap 0 reads no job ("counts", "oldest_queued_age_ms"
 * and the rest null): the settings alone. */
void queuestore_list_opt(struct db_pool *db, uint64_t tenant, const char *name_or_null,
                         const struct queuestore_count *count, long long limiter_max, long long limiter_ms,
                         queuestore_cb cb, void *arg);
/* Upserts, then answers with the queue as queuestore_list_opt would. Only the
 * settings in s->given change on an existing queue (PUT gives QS_ALL: a
 * full replace; PATCH what its body named); a new queue gets s as parsed. */
void queuestore_put(struct db_pool *db, uint64_t tenant, const char *name,
                    const struct queue_settings *s, const struct queuestore_count *count, long long limiter_max,
                    long long limiter_ms, queuestore_cb cb, void *arg);

#endif
