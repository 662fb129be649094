/* llmlimit_hold: providers' announced rate limits. A provider's answer
 * saying it is spent holds its traffic in this process at once, in Redis
 * (the hold key every reservation script checks, and a hash of every
 * hold), and in the other processes by a message on the installation's
 * channel, so those admitting without a script (no limit anywhere) hold it
 * too; the hash, read every HOLDS_READ_MS, covers messages missed while a
 * subscriber reconnected. Internal to llmlimit. */
#include "llmlimit_hold.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmlimit_int.h"
#include "loop.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"

#define HOLD_MAX_MS 600000LL              /* a header never holds a provider longer */
#define HOLD_DEFAULT_MS 1000LL            /* remaining 0 without a reset */

/* KEYS[1] the hold, KEYS[2] the hash of every hold (provider: until, in
 * real ms) read by processes that admit without a script; ARGV[1] ms,
 * ARGV[2] the provider, ARGV[3] until: extends a hold, never shortens it. */
const char llmlimit_hold_lua[] =
    "local t = redis.call('PTTL', KEYS[1]) "
    "if t < tonumber(ARGV[1]) then "
    "  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) "
    "  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) "
    "  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end "
    "end "
    "return t";

/* ---- provider holds ---- */

static struct hold *hold_slot(struct llmlimit *ll, const char *provider, bool create)
{
    if (!create) { /* every admission asks: the used slots, the first byte first */
        for (int i = 0; i < ll->nholds; i++) {
            struct hold *h = &ll->holds[i];
            if (h->provider[0] == provider[0] && h->provider[0] && strcmp(h->provider, provider) == 0)
                return h;
        }
        return NULL;
    }
    struct hold *free_slot = NULL;
    int64_t now = time_mono_ms();
    for (int i = 0; i < HOLDS_MAX; i++) {
        struct hold *h = &ll->holds[i];
        if (h->provider[0] && strcmp(h->provider, provider) == 0)
            return h;
        if (!free_slot && (!h->provider[0] || h->until_ms <= now))
            free_slot = h;
    }
    if (!create || !free_slot)
        return NULL;
    if (free_slot - ll->holds >= ll->nholds)
        ll->nholds = (int)(free_slot - ll->holds) + 1;
    snprintf(free_slot->provider, sizeof free_slot->provider, "%s", provider);
    free_slot->until_ms = 0;
    return free_slot;
}

void llmlimit_hold_local(struct llmlimit *ll, const char *provider, long long ms)
{
    struct hold *h = hold_slot(ll, provider, true);
    int64_t until = time_mono_ms() + ms;
    if (h && h->until_ms < until)
        h->until_ms = until;
}

long long llmlimit_held_ms(struct llmlimit *ll, const char *provider)
{
    struct hold *h = hold_slot(ll, provider, false);
    long long left = h ? h->until_ms - time_mono_ms() : 0;
    return left > 0 ? left : 0;
}

static void hold_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)reply;
    (void)err;
    struct llmlimit *ll = arg;
    ll->inflight--;
    loop_work_done(ll->rt->loop);
}


void llmlimit_hold_scope(char *out, size_t n, const char *provider, bool tenant_key, uint64_t tenant)
{
    /* "provider@tTENANT" or "provider", cut as snprintf (every call: no printf) */
    size_t l = util_strcpy(out, n, provider);
    if (!tenant_key || l + 1 >= n)
        return;
    char t[24];
    size_t i = sizeof t;
    t[--i] = '\0';
    do
        t[--i] = (char)('0' + tenant % 10);
    while (tenant /= 10);
    t[--i] = 't';
    t[--i] = '@';
    util_strcpy(out + l, n - l, t + i);
}

/* provider: a hold's scope (llmlimit_hold_scope). */
void llmlimit_provider_seen(struct llmlimit *ll, const char *provider, const struct llm_ratehdr *h)
{
    if (!h || !provider)
        return;
    long long ms = -1;
    if (h->remaining_requests == 0)
        ms = h->reset_requests_ms > 0 ? h->reset_requests_ms : HOLD_DEFAULT_MS;
    if (h->remaining_tokens >= 0 && h->remaining_tokens < LLMLIMIT_TOKENS_LOW) {
        long long t = h->reset_tokens_ms > 0 ? h->reset_tokens_ms : HOLD_DEFAULT_MS;
        if (t > ms)
            ms = t;
    }
    if (ms < 0)
        return;
    if (h->retry_after_ms > ms)
        ms = h->retry_after_ms;
    if (ms > HOLD_MAX_MS)
        ms = HOLD_MAX_MS;
    llmlimit_hold_local(ll, provider, ms);
    if (!ll->ns[0])
        return; /* before the first read: this process holds it; the others learn it from their answers */
    char key[LLMLIMIT_HOLD_MAX + 160], hash[160], v[24], until[24], msg[LLMLIMIT_HOLD_MAX + 32];
    snprintf(key, sizeof key, "%s:hold:%s", ll->ns, provider);
    snprintf(hash, sizeof hash, "%s:holds", ll->ns);
    long long until_real = time_real_us() / 1000 + ms;
    snprintf(v, sizeof v, "%lld", ms);
    snprintf(until, sizeof until, "%lld", until_real);
    const char *args[] = {key, hash, v, provider, until};
    if (rscript_run(ll->rt->redis, &ll->s_hold, 2, 5, args, REDIS_TIMEOUT_MS, hold_cb, ll) == 0)
        ll->inflight++; /* else this process holds it; the others learn it from their own answers */
    /* Processes admitting calls without a script (no limit anywhere) hold
     * it at once: the message, or within HOLDS_READ_MS by the hash. */
    snprintf(msg, sizeof msg, "%lld %s", until_real, provider);
    redis_publish(ll->rt->redis, hash, msg);
}

/* "until_real_ms provider": a hold another process learnt. */
static void hold_apply(struct llmlimit *ll, const char *provider, long long until_real)
{
    long long left = until_real - time_real_us() / 1000;
    if (left > HOLD_MAX_MS)
        left = HOLD_MAX_MS;
    if (left > 0 && provider[0] && strlen(provider) <= LLMLIMIT_HOLD_MAX)
        llmlimit_hold_local(ll, provider, left);
}

void llmlimit_holds_msg_cb(const char *payload, size_t len, void *arg)
{
    char buf[LLMLIMIT_HOLD_MAX + 32];
    if (len >= sizeof buf)
        return;
    memcpy(buf, payload, len);
    buf[len] = 0;
    char *sp = strchr(buf, ' ');
    if (sp)
        hold_apply(arg, sp + 1, strtoll(buf, NULL, 10));
}

static void holds_read_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)err;
    struct llmlimit *ll = arg;
    ll->holds_reading = false;
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
        if (reply->element[i]->type == REDIS_REPLY_STRING && reply->element[i + 1]->type == REDIS_REPLY_STRING)
            hold_apply(ll, reply->element[i]->str, strtoll(reply->element[i + 1]->str, NULL, 10));
}

/* The safety net of the messages (missed while this process's subscriber
 * reconnected): the hash of every hold, now and then. */
void llmlimit_holds_timer_cb(int fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct llmlimit *ll = arg;
    if (!ll->ns[0] || ll->holds_reading || redis_state(ll->rt->redis) != REDIS_READY)
        return;
    char hash[160];
    snprintf(hash, sizeof hash, "%s:holds", ll->ns);
    const char *argv[] = {"HGETALL", hash};
    if (redis_cmd(ll->rt->redis, 2, argv, NULL, REDIS_TIMEOUT_MS, holds_read_cb, ll) == 0)
        ll->holds_reading = true;
}

