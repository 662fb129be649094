/* health: the dependency checks behind /health and /health/ready
 * (database, Redis, LLM provider), run concurrently under one time budget
 * so the answer comes in time even when a dependency hangs. */
#ifndef INGOT_HEALTH_H
#define INGOT_HEALTH_H

#include <stdbool.h>

#include "llm_types.h"
#include "util.h"

struct loop;
struct db_pool;
struct redis_client;
struct httpc;
struct health;
struct providers;

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

/* A named LLM provider's probe, listed inside checks.llm. */
struct health_provider_check {
    char name[PROVIDER_NAME_MAX + 1];
    struct health_check c;
};
#define HEALTH_MAX_PROVIDERS 32

struct health_report {
    struct health_check database, redis, llm;
    /* The named providers (not the default: it is llm itself); they never
     * change up/down. Owned by the run, valid during the callback. */
    struct health_provider_check *providers;
    size_t nproviders;
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
/* The llm check also probes each named provider of ps (GET base_url/models
 * with its own key, cached like the default's) and lists them; the
 * default provider's adapter type picks its probe's headers. Borrows ps
 * until health_free or a later call (NULL: none). */
void health_set_providers(struct health *h, struct providers *ps);
/* Runs the checks in which; cb runs once, within budget_ms. */
void health_run(struct health *h, unsigned which, long long budget_ms, health_cb cb, void *arg);
const char *health_status_text(enum health_status s);
/* {"status":..,"checks":{..},"version":..} */
void health_report_json(const struct health_report *r, const char *version, struct sbuf *out);

#endif
