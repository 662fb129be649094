/* health: the dependency checks behind /health and /health/ready
 * (database, Redis, LLM provider), run concurrently under one time budget
 * so the answer comes in time even when a dependency hangs. */
#ifndef INGOT_HEALTH_H
#define INGOT_HEALTH_H

#include <stdbool.h>

#include "util.h"

struct loop;
struct db_pool;
struct redis_client;
struct httpc;
struct health;

enum health_status { HEALTH_UP, HEALTH_DOWN, HEALTH_DISABLED };

#define HEALTH_CHECK_DB 1u
#define HEALTH_CHECK_REDIS 2u
#define HEALTH_CHECK_LLM 4u
#define HEALTH_CHECK_ALL 7u

struct health_check {
    enum health_status status;
    double latency_ms;
    char message[320];
};

struct health_report {
    struct health_check database, redis, llm;
    const char *status;   /* "up", "degraded" or "down" */
    int http_status;      /* 200 or 503 */
};

typedef void (*health_cb)(const struct health_report *rep, void *arg);

struct health_deps {
    struct loop *loop;
    struct db_pool *db;          /* may be NULL: check reports down */
    struct redis_client *redis;  /* may be NULL: disabled */
    struct httpc *httpc;
    const char *llm_base_url;    /* "" = LLM disabled */
    const char *llm_api_key;
};

/* Borrows deps' members for its lifetime. Returns owned. */
struct health *health_new(const struct health_deps *d);
/* In-flight checks finish into the void after this. */
void health_free(struct health *h);
/* Runs the checks in which; cb runs once, within budget_ms. */
void health_run(struct health *h, unsigned which, long long budget_ms, health_cb cb, void *arg);
const char *health_status_text(enum health_status s);
/* {"status":..,"checks":{..},"version":..} */
void health_report_json(const struct health_report *r, const char *version, struct sbuf *out);

#endif
