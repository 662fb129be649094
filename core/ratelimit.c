#include "ratelimit.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

#define LOCAL_SLOTS 1024

/* INCRBY the window's counter, expire it with the window, return the new
 * count: atomic, so concurrent workers never both get the last unit. */
static const char script[] =
    "local c = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if c == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return c";

struct local_slot {
    char key[320];
    long long window;
    long long used;
};

struct ratelimit {
    struct redis_client *redis;
    const char *ns;
    struct local_slot *slots;
};

struct take {
    struct ratelimit *rl;
    char key[320];
    int want;
    long long max, window_ms, window, reset_ms;
    bool asked_again;
    ratelimit_cb cb;
    void *arg;
};

struct ratelimit *ratelimit_new(struct redis_client *redis, const char *ns)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->redis = redis;
    rl->ns = ns;
    rl->slots = xcalloc(LOCAL_SLOTS, sizeof *rl->slots);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    free(rl->slots);
    free(rl);
}

static int grant(long long used_after, int want, long long max)
{
    long long before = used_after - want;
    long long left = max - before;
    if (left <= 0)
        return 0;
    return left >= want ? want : (int)left;
}

/* key's slot for this window (emptied when it held another key or window). */
static struct local_slot *slot_of(struct ratelimit *rl, const char *key, long long window)
{
    unsigned long h = 5381;
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    struct local_slot *s = &rl->slots[h % LOCAL_SLOTS];
    if (strcmp(s->key, key) != 0 || s->window != window) {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->window = window;
        s->used = 0;
    }
    return s;
}

static void take_local(struct take *t)
{
    struct local_slot *s = slot_of(t->rl, t->key, t->window);
    s->used += t->want;
    t->cb(grant(s->used, t->want, t->max), t->reset_ms, false, t->arg);
}

static void set_window(struct take *t)
{
    long long now = time_real_us() / 1000;
    t->window = now / t->window_ms;
    t->reset_ms = (t->window + 1) * t->window_ms - now;
}

static void redis_cb(struct redisReply *reply, const char *err, void *arg);

/* 0: asked Redis (redis_cb answers); -1: Redis cannot be asked now. */
static int ask_redis(struct take *t)
{
    struct ratelimit *rl = t->rl;
    if (!rl->redis || !rl->ns || !rl->ns[0] || redis_state(rl->redis) != REDIS_READY)
        return -1;
    char rkey[448], n[24], ttl[24];
    snprintf(rkey, sizeof rkey, "ingot:rl:%s:%s:%lld", rl->ns, t->key, t->window);
    snprintf(n, sizeof n, "%d", t->want);
    snprintf(ttl, sizeof ttl, "%lld", t->window_ms + 1000);
    const char *argv[] = {"EVAL", script, "1", rkey, n, ttl};
    /* The client's deadline (500 ms): a timeout resets the connection and
     * every process counts alone until it is back, so a tighter one than
     * the other callers' would turn a slow Redis into that sooner. */
    return redis_cmd(rl->redis, 6, argv, NULL, 0, redis_cb, t);
}

static void redis_cb(struct redisReply *reply, const char *err, void *arg)
{
    struct take *t = arg;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        (void)err;
        take_local(t); /* Redis failed mid-way: decide here */
    } else if (!t->asked_again && (time_real_us() / 1000) / t->window_ms != t->window) {
        /* The answer came after its window ended (a slow round trip):
         * units granted now would be sent in a window that did not count
         * them, so ask once more in the current one. The units spent in
         * the old window expire with it. */
        t->asked_again = true;
        set_window(t);
        if (ask_redis(t) == 0)
            return;
        take_local(t);
    } else {
        /* The shared count seen last: if Redis stops answering within this
         * window, this process counts on from it, not from zero (which
         * would grant a whole window again on top of the shared one). */
        struct local_slot *s = slot_of(t->rl, t->key, t->window);
        if (reply->integer > s->used)
            s->used = reply->integer;
        t->cb(grant(reply->integer, t->want, t->max), t->reset_ms, true, t->arg);
    }
    free(t);
}

void ratelimit_take(struct ratelimit *rl, const char *key, int want, long long max,
                    long long window_ms, ratelimit_cb cb, void *arg)
{
    struct take *t = xcalloc(1, sizeof *t);
    t->rl = rl;
    snprintf(t->key, sizeof t->key, "%s", key);
    t->want = want;
    t->max = max;
    t->window_ms = window_ms > 0 ? window_ms : 1000;
    set_window(t);
    t->cb = cb;
    t->arg = arg;
    if (ask_redis(t) == 0)
        return;
    take_local(t);
    free(t);
}
