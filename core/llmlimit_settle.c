#include "llmlimit_settle.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmlimit_int.h"
#include "llmlimit_local.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"

#define SETTLE_RETRY_MAX 100000
#define SETTLE_GIVEUP_MS (10LL * 60 * 1000)

static void settle_send(struct llmlimit *ll, struct settle_op *op);

void llmlimit_settle_op_free(struct settle_op *op)
{
    for (int i = 0; i < op->argc; i++)
        free(op->args[i]);
    free(op->args);
    free(op);
}

/* An op answered (or given up): a catch-up no longer holds admissions
 * in this process. */
static void op_done(struct llmlimit *ll, struct settle_op *op)
{
    if (op->script == &ll->s_catchup && ll->ncatchup)
        ll->ncatchup--;
    llmlimit_settle_op_free(op);
}

static void settle_queue(struct llmlimit *ll, struct settle_op *op)
{
    if (op->script == &ll->s_settle) { /* the last argument says "first attempt": no more */
        free(op->args[op->argc - 1]);
        op->args[op->argc - 1] = xstrdup("0");
    }
    if (ll->nretry >= SETTLE_RETRY_MAX) {
        if (log_limit_allow(&ll->warn_log, &ll->warn_dropped))
            log_warn("llm limits: too many settlements waiting for redis: one dropped (its reservation stays "
                     "counted until its period ends)");
        op_done(ll, op);
        return;
    }
    op->next = NULL;
    if (ll->retry_tail)
        ll->retry_tail->next = op;
    else
        ll->retry_head = op;
    ll->retry_tail = op;
    ll->nretry++;
}

struct settle_call {
    struct llmlimit *ll;
    struct settle_op *op;
};

static void settle_cb(struct redisReply *reply, const char *err, void *arg)
{
    struct settle_call *c = arg;
    (void)err;
    c->ll->inflight--;
    loop_work_done(c->ll->rt->loop);
    if (reply && reply->type == REDIS_REPLY_INTEGER)
        op_done(c->ll, c->op);
    else
        settle_queue(c->ll, c->op); /* maybe applied, maybe not: the ticket decides when it runs again */
    free(c);
}

static void settle_send(struct llmlimit *ll, struct settle_op *op)
{
    struct settle_call *c = xcalloc(1, sizeof *c);
    c->ll = ll;
    c->op = op;
    if (rscript_run(ll->rt->redis, op->script, op->nkeys, op->argc, (const char *const *)op->args,
                    REDIS_TIMEOUT_MS, settle_cb, c) < 0) {
        free(c);
        settle_queue(ll, op);
        return;
    }
    ll->inflight++;
}

/* Settlements Redis could not take are re-sent when it is back: the
 * ticket key makes a re-sent one apply once (DEL answers 0 the second
 * time, and what was used is then only added to counters rebuilt since). */
void llmlimit_retry_cb(int fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct llmlimit *ll = arg;
    if (!ll->retry_head || redis_state(ll->rt->redis) != REDIS_READY)
        return;
    struct settle_op *list = ll->retry_head;
    ll->retry_head = ll->retry_tail = NULL;
    ll->nretry = 0;
    int64_t now = time_mono_ms();
    while (list) {
        struct settle_op *next = list->next;
        if (now - list->since_ms > SETTLE_GIVEUP_MS)
            op_done(ll, list);
        else
            settle_send(ll, list);
        list = next;
    }
}

void llmlimit_catchup(struct llmlimit *ll, const struct llmlimit_ticket *t, long long used_tokens,
                      long long used_nano)
{
    if (!t->epoch[0] || !ll->ns[0] || (used_tokens <= 0 && used_nano <= 0) || (!t->gen[0][0] && !t->gen[1][0]))
        return; /* never saw Redis (counters made later are rebuilt from the ledger), or no counters */
    struct settle_op *op = xcalloc(1, sizeof *op);
    op->script = &ll->s_catchup;
    op->since_ms = time_mono_ms();
    int scopes = t->key_id ? 2 : 1; /* a scope without a row has no counters: its keys match none */
    op->nkeys = 2 + 3 * scopes;
    op->argc = op->nkeys + 1 + 3 * scopes;
    op->args = xcalloc((size_t)op->argc, sizeof *op->args);
    int a = 0;
    op->args[a++] = xasprintf("%s:epoch", ll->ns);
    unsigned char rnd[12];
    char hex[25];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        memset(rnd, 2, sizeof rnd);
    util_hex(rnd, sizeof rnd, hex);
    op->args[a++] = xasprintf("%s:cu:%s", ll->ns, hex);
    for (int s = 0; s < scopes; s++)
        for (int k = CK_DAY; k <= CK_USD; k++) {
            char key[192];
            llmlimit_ctr_key(ll, key, sizeof key, t->tenant, s ? t->key_id : 0, t->gen[s], (enum ck)k, &t->per);
            op->args[a++] = xstrdup(key);
        }
    op->args[a++] = xstrdup(t->epoch);
    for (int s = 0; s < scopes; s++)
        for (int k = CK_DAY; k <= CK_USD; k++)
            op->args[a++] = xasprintf("%lld", k == CK_USD ? used_nano : used_tokens);
    ll->ncatchup++;
    settle_send(ll, op);
}

void llmlimit_settle(struct llmlimit *ll, struct llmlimit_ticket *t, const struct llm_usage *used)
{
    if (!t)
        return;
    if (t->none)
        return; /* none_ticket */
    long long tokens = 0;
    if (used)
        tokens = (used->prompt > 0 ? used->prompt : 0) + (used->completion > 0 ? used->completion : 0);
    double cost = llmlimit_cost(ll, t->model, used);
    long long nano = cost > 0 && cost < 9e6 ? (long long)(cost * 1e9 + 0.5) : 0;
    if (!t->redis) {
        llmlimit_local_settle(ll->local, t, tokens, nano);
        llmlimit_catchup(ll, t, tokens, nano);
    } else {
        struct settle_op *op = xcalloc(1, sizeof *op);
        op->script = &ll->s_settle;
        op->since_ms = time_mono_ms();
        op->nkeys = 1 + t->n;
        op->argc = op->nkeys + 2 * t->n + 1;
        op->args = xcalloc((size_t)op->argc, sizeof *op->args);
        int a = 0;
        op->args[a++] = xstrdup(t->id);
        for (int i = 0; i < t->n; i++)
            op->args[a++] = xstrdup(t->c[i].key);
        for (int i = 0; i < t->n; i++) {
            long long u = t->c[i].kind == CK_RPM ? 1 : t->c[i].kind == CK_USD ? nano : tokens;
            op->args[a++] = xasprintf("%lld", t->c[i].amt - u);
            op->args[a++] = xasprintf("%lld", t->c[i].kind == CK_RPM ? 0 : u);
        }
        op->args[a++] = xstrdup("1");
        settle_send(ll, op);
    }
    free(t->model);
    free(t);
}

