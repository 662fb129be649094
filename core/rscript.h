/* rscript: a Lua script run on Redis by EVALSHA (only the 40-byte digest
 * travels), re-sent once by EVAL when Redis answers NOSCRIPT (restarted,
 * SCRIPT FLUSH, a failover to a replica that never saw it). The script
 * runs atomically, which is what llmlimit's admission relies on. */
#ifndef INGOT_RSCRIPT_H
#define INGOT_RSCRIPT_H

#include <stddef.h>

#include "redis.h"
#include "util.h"

struct rscript {
    const char *text;   /* borrowed: a string literal */
    char sha[41];
};

/* Computes the digest once. */
void rscript_init(struct rscript *s, const char *text);
/* Runs the script with nkeys keys then the other arguments (copied).
 * Returns -1, without calling cb, when Redis is not ready; otherwise cb
 * runs exactly once with the script's reply (an error reply included,
 * NOSCRIPT excepted) or NULL and err. */
int rscript_run(struct redis_client *rc, const struct rscript *s, int nkeys, int nargs,
                const char *const *args, long long timeout_ms, redis_reply_cb cb, void *arg) ATTR_WUR;

#endif
