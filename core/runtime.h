/* runtime: the one struct a long-running process owns, holding every
 * shared component, built from the config in dependency order and torn
 * down in the reverse (HTTP client, Redis, MariaDB, then the loop). */
#ifndef INGOT_RUNTIME_H
#define INGOT_RUNTIME_H

#include "config.h"
#include "util.h"

struct loop;
struct metrics;
struct db_pool;
struct redis_client;
struct httpc;
struct health;
struct llm;

struct runtime {
    const struct config *cfg;   /* borrowed */
    struct loop *loop;
    struct metrics *metrics;
    struct db_pool *db;
    struct redis_client *redis; /* present even when disabled */
    struct httpc *httpc;
    struct health *health;
    struct llm *llm;            /* providers, LLM limits, usage: serve and work share it */
    int64_t started_real_us;
    /* meta.installation_id (migration 0001), "" until read (llmlimit reads
     * it with the limits): every Redis key of the limiters is prefixed by
     * it, so installations sharing one Redis share no counters. */
    char installation_id[64];
};

/* Fills rt; on failure writes a message and returns -1 (rt is cleaned). */
int runtime_init(struct runtime *rt, const struct config *cfg, char *err, size_t errlen) ATTR_WUR;
/* Closes the clients (health, the LLM calls in flight, HTTP client, Redis,
 * MariaDB): their pending callbacks run now, while the roles' objects are
 * still alive. */
void runtime_close(struct runtime *rt);
/* Frees the rest (llm, metrics, loop); runs runtime_close if needed. */
void runtime_deinit(struct runtime *rt);

#endif
