/* llmlimit_describe: GET /v1/limits. */
#include "llmlimit_describe.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "llmlimit_int.h"
#include "llmlimit_admit.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"

/* ---- GET /v1/limits ---- */

struct desc {
    struct llmlimit *ll;
    uint64_t tenant, key;
    struct lim l[2];
    struct period per;
    long long v[6];
    bool have[6];
    bool from_redis;
    llmlimit_json_cb cb;
    void *arg;
};

static void json_num(struct sbuf *b, long long v, bool usd)
{
    if (v < 0)
        sbuf_puts(b, "null");
    else if (usd)
        sbuf_printf(b, "%.9g", (double)v / 1e9);
    else
        sbuf_printf(b, "%lld", v);
}

static void desc_scope(struct sbuf *b, const struct lim *l, const long long *used)
{
    static const char *const names[CK_N] = {"rpm", "tpm", "tokens_per_day", "tokens_per_month", "usd_per_month"};
    static const char *const bnames[3] = {"tokens_day", "tokens_month", "usd_month"};
    sbuf_puts(b, "{\"limits\":{");
    for (int i = 0; i < CK_N; i++) {
        sbuf_printf(b, "%s\"%s\":", i ? "," : "", names[i]);
        json_num(b, l->v[i], i == CK_USD);
    }
    sbuf_puts(b, "},\"used\":{");
    for (int i = 0; i < 3; i++) {
        sbuf_printf(b, "%s\"%s\":", i ? "," : "", bnames[i]);
        json_num(b, used[i] > 0 ? used[i] : 0, i == 2);
    }
    sbuf_puts(b, "},\"remaining\":{");
    for (int i = 0; i < 3; i++) {
        long long lim = l->v[CK_DAY + i], left = lim < 0 ? -1 : lim - (used[i] > 0 ? used[i] : 0);
        sbuf_printf(b, "%s\"%s\":", i ? "," : "", bnames[i]);
        json_num(b, lim < 0 ? -1 : left > 0 ? left : 0, i == 2);
    }
    sbuf_puts(b, "}}");
}

static void desc_finish(struct desc *d)
{
    struct sbuf b;
    sbuf_init(&b);
    char day[40], month[40];
    time_iso8601(d->per.day_end_ms * 1000, day, sizeof day);
    time_iso8601(d->per.month_end_ms * 1000, month, sizeof month);
    sbuf_puts(&b, "{\"object\":\"limits\",\"tenant\":");
    desc_scope(&b, &d->l[0], d->v);
    for (int i = 0; i < 3; i++)
        llmlimit_set_remaining(d->ll, d->tenant, (enum ck)(CK_DAY + i), d->l[0].v[CK_DAY + i], d->v[i]);
    sbuf_puts(&b, ",\"key\":");
    if (d->key)
        desc_scope(&b, &d->l[1], d->v + 3);
    else
        sbuf_puts(&b, "null");
    sbuf_printf(&b, ",\"resets\":{\"day\":\"%s\",\"month\":\"%s\"},\"source\":\"%s\"}", day, month,
                d->from_redis ? "redis" : "ledger");
    d->cb(b.data, NULL, d->arg);
    sbuf_deinit(&b);
    free(d);
}

static void desc_ledger_cb(bool ok, const long long out[6], void *arg)
{
    struct desc *d = arg;
    if (!ok) {
        d->cb(NULL, "the usage ledger is unavailable", d->arg);
        free(d);
        return;
    }
    for (int i = 0; i < 6; i++)
        if (!d->have[i])
            d->v[i] = out[i];
    desc_finish(d);
}

static void desc_mget_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)err;
    struct desc *d = arg;
    bool all = true;
    for (int i = 0; i < (d->key ? 6 : 3); i++) {
        struct redisReply *e = reply && reply->type == REDIS_REPLY_ARRAY && (size_t)i < reply->elements
                                   ? reply->element[i]
                                   : NULL;
        d->have[i] = e && e->type == REDIS_REPLY_STRING;
        if (d->have[i])
            d->v[i] = strtoll(e->str, NULL, 10);
        else
            all = false;
    }
    d->from_redis = all;
    if (all)
        desc_finish(d);
    else
        llmlimit_ledger(d->ll, d->tenant, d->key, &d->per, desc_ledger_cb, d);
}

void llmlimit_describe(struct llmlimit *ll, uint64_t tenant, uint64_t key_id, llmlimit_json_cb cb, void *arg)
{
    if (!ll->loaded) {
        llmlimit_refresh(ll);
        cb(NULL, "the limits have not been read yet", arg);
        return;
    }
    struct desc *d = xcalloc(1, sizeof *d);
    d->ll = ll;
    d->tenant = tenant;
    d->key = key_id;
    d->cb = cb;
    d->arg = arg;
    bool rows = llmlimit_lim_find(ll, tenant, 0, &d->l[0]);
    rows = llmlimit_lim_find(ll, tenant, key_id, &d->l[1]) && rows;
    llmlimit_period(&d->per, time_real_us() / 1000);
    char keys[6][192];
    const char *argv[7] = {"MGET"};
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++) {
            llmlimit_ctr_key(ll, keys[s * 3 + k], sizeof keys[0], tenant, s ? key_id : 0, d->l[s].gen,
                             (enum ck)(CK_DAY + k), &d->per);
            argv[1 + s * 3 + k] = keys[s * 3 + k];
        }
    /* A scope without a limits row keeps no counters: the ledger says. */
    if ((rows || !key_id) && d->l[0].gen[0] &&
        redis_cmd(ll->rt->redis, key_id ? 7 : 4, argv, NULL, REDIS_TIMEOUT_MS, desc_mget_cb, d) == 0)
        return;
    llmlimit_ledger(ll, tenant, key_id, &d->per, desc_ledger_cb, d);
}
