/* llmlimit_admit: reserve through the Redis script (the guarantees are in
 * llmlimit.c; settling is llmlimit_settle.c), and the ledger sums counters
 * are rebuilt from. */
#include "llmlimit_admit.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "llmlimit_int.h"
#include "llmlimit_local.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"
#include "sql.h"

#define TICKET_TTL_MS (6LL * 3600 * 1000) /* longer than any call (LLM_TIMEOUT <= 1 h) */
#define WINDOW_TTL_MS 120000LL
#define DAY_TTL_EXTRA_MS (2LL * 86400 * 1000)
#define MONTH_TTL_EXTRA_MS (7LL * 86400 * 1000)
#define REBUILD_TRIES 3
/* After a reconnect, decide in this process for this long: every process
 * reconnects within the client's longest backoff (5 s) and sends its
 * catch-ups within a second after, so a restarted Redis's counters
 * (reloaded from before the outage) have them all when it ends. */
#define REDIS_BACK_GRACE_MS 7000

/* ---- the ledger: the truth counters are rebuilt from ---- */

struct ledger_q {
    llmlimit_ledger_cb cb;
    void *arg;
};

static void ledger_cb(const struct db_result *r, void *arg)
{
    struct ledger_q *q = arg;
    long long out[6] = {0};
    bool ok = r->ok;
    MYSQL_ROW row = ok ? mysql_fetch_row(r->res) : NULL;
    if (row) {
        for (unsigned i = 0; i < 6; i++)
            out[i] = db_row_ll(row, i);
    } else {
        ok = false;
    }
    q->cb(ok, out, q->arg);
    free(q);
}

void llmlimit_ledger(struct llmlimit *ll, uint64_t tenant, uint64_t key, const struct period *p,
                     llmlimit_ledger_cb cb, void *arg)
{
    struct ledger_q *q = xcalloc(1, sizeof *q);
    q->cb = cb;
    q->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b,
                "SELECT COALESCE(SUM(IF(at >= %s, prompt_tokens + completion_tokens, 0)), 0), "
                "COALESCE(SUM(prompt_tokens + completion_tokens), 0), "
                "COALESCE(CAST(CEIL(SUM(cost_usd) * 1000000000) AS SIGNED), 0), "
                "COALESCE(SUM(IF(key_id = %llu AND at >= %s, prompt_tokens + completion_tokens, 0)), 0), "
                "COALESCE(SUM(IF(key_id = %llu, prompt_tokens + completion_tokens, 0)), 0), "
                "COALESCE(CAST(CEIL(SUM(IF(key_id = %llu, cost_usd, 0)) * 1000000000) AS SIGNED), 0) "
                "FROM llm_usage WHERE tenant_id = %llu AND at >= %s AND at < %s",
                p->day_sql, (unsigned long long)key, p->day_sql, (unsigned long long)key, (unsigned long long)key,
                (unsigned long long)tenant, p->month_sql, p->next_month_sql);
    db_query(ll->rt->db, b.data, 0, ledger_cb, q);
    sbuf_deinit(&b);
}

/* ---- admission ---- */

struct rsv {
    struct rsv *next;            /* pending list */
    struct llmlimit *ll;
    struct llmlimit_req req;     /* strings: copies below */
    char *provider, *model, *upstream, *hold;
    llmlimit_cb cb;
    void *arg;
    struct lim lt, lk;
    struct period per;
    long long nano;
    struct llmlimit_ticket *t;
    long long lim[TK_MAX], rebuild[TK_MAX];
    bool key_scope[TK_MAX];
    bool missing[TK_MAX];        /* the script found these budget counters missing */
    int tries;
};

/* The ticket of every call without a limit: shared, nothing in it changes. */
static struct llmlimit_ticket none_ticket = {.none = true};

static void rsv_free(struct rsv *r)
{
    if (r->t && r->t != &none_ticket) {
        free(r->t->model);
        free(r->t);
    }
    free(r->provider);
    free(r->model);
    free(r->upstream);
    free(r->hold);
    free(r);
}

static void answer(struct rsv *r, enum llmlimit_verdict v, long long retry_ms, const char *why)
{
    struct llmlimit_ticket *t = NULL;
    if (v == LLMLIMIT_OK) {
        t = r->t;
        r->t = NULL;
    } else if (v == LLMLIMIT_THROTTLED) {
        llmlimit_count_throttled(r->ll, r->provider, "provider");
    }
    r->cb(v, retry_ms, why, t, r->arg);
    rsv_free(r);
}

void llmlimit_fail_pending(struct llmlimit *ll)
{
    struct rsv *p = ll->pending;
    ll->pending = NULL;
    while (p) {
        struct rsv *next = p->next;
        answer(p, LLMLIMIT_ERROR, 1000, "the limits could not be read (database unavailable)");
        p = next;
    }
}

static void start(struct rsv *r);

void llmlimit_run_pending(struct llmlimit *ll)
{
    struct rsv *p = ll->pending;
    ll->pending = NULL;
    while (p) {
        struct rsv *next = p->next;
        start(p);
        p = next;
    }
}

void llmlimit_drop_pending(struct llmlimit *ll)
{
    while (ll->pending) {
        struct rsv *next = ll->pending->next;
        rsv_free(ll->pending);
        ll->pending = next;
    }
}

static void go_local(struct rsv *r)
{
    llmlimit_local_reserve(r->ll->local, &r->req, &r->lt, &r->lk, r->nano, r->cb, r->arg);
    rsv_free(r);
}

static void add_ctr(struct rsv *r, bool key_scope, enum ck kind, long long lim, long long amt)
{
    struct llmlimit_ticket *t = r->t;
    int i = t->n++;
    llmlimit_ctr_key(r->ll, t->c[i].key, sizeof t->c[i].key, r->req.tenant, key_scope ? r->req.key_id : 0,
                     key_scope ? r->lk.gen : r->lt.gen, kind, &r->per);
    t->c[i].kind = kind;
    t->c[i].amt = amt;
    r->lim[i] = lim;
    r->key_scope[i] = key_scope;
    r->rebuild[i] = kind == CK_RPM || kind == CK_TPM ? -1 : -2;
}

static long long ctr_ttl(const struct rsv *r, enum ck kind)
{
    if (kind == CK_DAY)
        return r->per.day_end_ms - r->per.now_ms + DAY_TTL_EXTRA_MS;
    if (kind == CK_MON || kind == CK_USD)
        return r->per.month_end_ms - r->per.now_ms + MONTH_TTL_EXTRA_MS;
    return WINDOW_TTL_MS;
}

static void run_script(struct rsv *r);

static void rebuilt_cb(bool ok, const long long out[6], void *arg)
{
    struct rsv *r = arg;
    struct llmlimit_ticket *t = r->t;
    int w = 0;
    for (int i = 0; i < t->n; i++) {
        enum ck k = t->c[i].kind;
        bool budget = k != CK_RPM && k != CK_TPM;
        if (budget && ok) {
            r->rebuild[i] = out[(r->key_scope[i] ? 3 : 0) + (k - CK_DAY)];
        } else if (budget && r->missing[i]) {
            if (r->lim[i] >= 0) {
                answer(r, LLMLIMIT_ERROR, 1000, "the usage ledger is unavailable to rebuild the budget counters");
                return;
            }
            continue; /* unlimited: not counted this once rather than counted wrong for the period */
        } /* else kept: a window, or a budget counter that exists */
        if (w != i) {
            t->c[w] = t->c[i];
            r->lim[w] = r->lim[i];
            r->rebuild[w] = r->rebuild[i];
            r->key_scope[w] = r->key_scope[i];
            r->missing[w] = r->missing[i];
        }
        w++;
    }
    t->n = w;
    run_script(r);
}

static void script_cb(struct redisReply *reply, const char *err, void *arg)
{
    struct rsv *r = arg;
    struct llmlimit *ll = r->ll;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        if (log_limit_allow(&ll->warn_log, &ll->warn_dropped))
            log_warn("llm limits: redis admission failed (%s): deciding in this process",
                     err ? err : reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        go_local(r);
        return;
    }
    long long code = reply->element[0]->integer, idx = reply->element[1]->integer,
              val = reply->element[2]->integer;
    if (reply->element[3]->type == REDIS_REPLY_STRING)
        snprintf(ll->epoch, sizeof ll->epoch, "%s", reply->element[3]->str);
    if (code == 0) {
        for (int i = 0; i < r->t->n && (size_t)i + 4 < reply->elements; i++) {
            long long v = reply->element[4 + i]->integer;
            if (!r->key_scope[i])
                llmlimit_set_remaining(ll, r->req.tenant, r->t->c[i].kind, r->lim[i], v);
            llmlimit_local_seen(ll->local, r->req.tenant, r->key_scope[i] ? r->req.key_id : 0, r->t->c[i].kind,
                                r->per.minute, v);
        }
        answer(r, LLMLIMIT_OK, 0, NULL);
    } else if (code == 1) {
        llmlimit_hold_local(ll, r->hold, val);
        answer(r, LLMLIMIT_THROTTLED, val, "the provider announced its rate limit is spent");
    } else if (code == 2 && idx >= 1 && idx <= r->t->n) {
        int i = (int)idx - 1;
        if (!r->key_scope[i])
            llmlimit_set_remaining(ll, r->req.tenant, r->t->c[i].kind, r->lim[i], val);
        llmlimit_local_seen(ll->local, r->req.tenant, r->key_scope[i] ? r->req.key_id : 0, r->t->c[i].kind,
                            r->per.minute, val);
        llmlimit_refuse(ll, r->provider, r->t->c[i].kind, r->key_scope[i], r->lim[i], val, r->t->c[i].amt,
                        &r->per, r->cb, r->arg);
        rsv_free(r);
    } else if (code == 3 && ++r->tries < REBUILD_TRIES) {
        memset(r->missing, 0, sizeof r->missing);
        for (size_t e = 4; e < reply->elements; e++) {
            long long i = reply->element[e]->type == REDIS_REPLY_INTEGER ? reply->element[e]->integer : 0;
            if (i >= 1 && i <= r->t->n)
                r->missing[i - 1] = true;
        }
        llmlimit_ledger(ll, r->req.tenant, r->req.key_id, &r->per, rebuilt_cb, r);
    } else {
        answer(r, LLMLIMIT_ERROR, 1000, "the budget counters could not be rebuilt");
    }
}

static void run_script(struct rsv *r)
{
    struct llmlimit_ticket *t = r->t;
    int nargs = 3 + t->n + 2 + 4 * t->n;
    const char **args = xcalloc((size_t)nargs, sizeof *args);
    char (*num)[24] = xcalloc(1 + 4 * (size_t)t->n, sizeof *num);
    char hold[LLMLIMIT_HOLD_MAX + 160], epoch[40], epoch_key[128];
    snprintf(hold, sizeof hold, "%s:hold:%s", r->ll->ns, r->hold);
    snprintf(epoch_key, sizeof epoch_key, "%s:epoch", r->ll->ns);
    unsigned char rnd[12];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        memset(rnd, 1, sizeof rnd);
    util_hex(rnd, sizeof rnd, epoch);
    int a = 0, k = 0;
    args[a++] = hold;
    args[a++] = t->id;
    args[a++] = epoch_key;
    for (int i = 0; i < t->n; i++)
        args[a++] = t->c[i].key;
    snprintf(num[k], sizeof num[k], "%lld", TICKET_TTL_MS);
    args[a++] = num[k++];
    args[a++] = epoch;
    for (int i = 0; i < t->n; i++) {
        long long v[4] = {r->lim[i], t->c[i].amt, ctr_ttl(r, t->c[i].kind), r->rebuild[i]};
        for (int j = 0; j < 4; j++) {
            snprintf(num[k], sizeof num[k], "%lld", v[j]);
            args[a++] = num[k++];
        }
    }
    int rc = rscript_run(r->ll->rt->redis, &r->ll->s_reserve, 3 + t->n, a, args, REDIS_TIMEOUT_MS,
                         script_cb, r);
    free(args);
    free(num);
    if (rc < 0) {
        t->redis = false;
        go_local(r);
    }
}

static void start(struct rsv *r)
{
    struct llmlimit *ll = r->ll;
    long long held = llmlimit_held_ms(ll, r->hold);
    if (held > 0) {
        answer(r, LLMLIMIT_THROTTLED, held, "the provider announced its rate limit is spent");
        return;
    }
    bool lt_row = llmlimit_lim_find(ll, r->req.tenant, 0, &r->lt), lk_row = false;
    if (r->req.key_id) {
        lk_row = llmlimit_lim_find(ll, r->req.tenant, r->req.key_id, &r->lk);
    } else {
        for (int i = 0; i < CK_N; i++)
            r->lk.v[i] = -1;
        r->lk.gen[0] = 0;
    }
    /* Priced by what is really called: a client's alias of a priced model
     * is not free. Unpriced under a USD budget would run uncounted. */
    char pm[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    if (!llmlimit_price_name(ll, r->provider, r->upstream, r->model, pm, sizeof pm) &&
        (r->lt.v[CK_USD] >= 0 || r->lk.v[CK_USD] >= 0)) {
        answer(r, LLMLIMIT_UNPRICED, 0, "this model has no price and a USD budget applies: the operator must set "
                                        "its price (ingot admin model price)");
        return;
    }
    free(r->model);
    r->req.model = r->model = xstrdup(pm);
    long long tok = r->req.est_tokens > 0 ? r->req.est_tokens : 0;
    if (!lt_row && !lk_row) {
        /* No limit for the tenant nor the key: nothing to count, no Redis
         * call (a limit set later starts from the ledger: its counters are
         * of the row's generation). The provider's hold was checked above,
         * from this process's copy (kept by the holds' messages). */
        r->t = &none_ticket;
        answer(r, LLMLIMIT_OK, 0, NULL);
        return;
    }
    llmlimit_period(&r->per, time_real_us() / 1000);
    r->nano = llmlimit_est_nano(ll, r->model, tok);
    /* Redis back after an outage may hold counters from before it (a
     * reload) that miss what was admitted meanwhile: decide here, against
     * the ledger and this process's own calls, until this process's
     * catch-ups are applied and the others' have had time to be. */
    unsigned long readies = redis_ready_count(ll->rt->redis);
    if (readies != ll->ready_seen) {
        if (ll->ready_seen) /* a reconnect, not the first connection */
            ll->back_ms = time_mono_ms();
        ll->ready_seen = readies;
    }
    bool back = ll->back_ms && time_mono_ms() - ll->back_ms < REDIS_BACK_GRACE_MS;
    if (redis_state(ll->rt->redis) != REDIS_READY || ll->ncatchup || back) {
        go_local(r);
        return;
    }
    unsigned char rnd[12];
    char hex[25];
    if (util_random_bytes(rnd, sizeof rnd) < 0) {
        /* Every ticket would share one id: settling one would take back
         * another's reservation. */
        answer(r, LLMLIMIT_ERROR, 1000, "no random source for the reservation's id");
        return;
    }
    struct llmlimit_ticket *t = r->t = xcalloc(1, sizeof *t);
    t->redis = true;
    t->model = xstrdup(r->model);
    t->est_tokens = tok;
    t->est_nano = r->nano;
    util_hex(rnd, sizeof rnd, hex);
    snprintf(t->id, sizeof t->id, "%s:tk:%s", ll->ns, hex);
    for (int s = 0; s < 2; s++) {
        if (!(s ? lk_row : lt_row))
            continue; /* a scope without a row keeps no counters */
        const struct lim *l = s ? &r->lk : &r->lt;
        if (l->v[CK_RPM] >= 0)
            add_ctr(r, s, CK_RPM, l->v[CK_RPM], 1);
        if (l->v[CK_TPM] >= 0)
            add_ctr(r, s, CK_TPM, l->v[CK_TPM], tok);
        add_ctr(r, s, CK_DAY, l->v[CK_DAY], tok);
        add_ctr(r, s, CK_MON, l->v[CK_MON], tok);
        add_ctr(r, s, CK_USD, l->v[CK_USD], r->nano);
    }
    run_script(r);
}

/* Most calls: the provider not held and no limit row for the tenant nor
 * the key. start would find the same and answer the same (the shared
 * ticket; with no row no USD budget applies, so the price is not looked
 * up): answered here with nothing copied or allocated. */
static bool reserve_none(struct llmlimit *ll, const struct llmlimit_req *req, llmlimit_cb cb, void *arg)
{
    const char *provider = req->provider ? req->provider : PROVIDER_DEFAULT;
    struct lim l;
    if (llmlimit_held_ms(ll, req->hold ? req->hold : provider) > 0 || llmlimit_lim_find(ll, req->tenant, 0, &l) ||
        (req->key_id && llmlimit_lim_find(ll, req->tenant, req->key_id, &l)))
        return false;
    cb(LLMLIMIT_OK, 0, NULL, &none_ticket, arg);
    return true;
}

void llmlimit_reserve(struct llmlimit *ll, const struct llmlimit_req *req, llmlimit_cb cb, void *arg)
{
    if (ll->loaded && reserve_none(ll, req, cb, arg))
        return;
    struct rsv *r = xcalloc(1, sizeof *r);
    r->ll = ll;
    r->req = *req;
    r->provider = xstrdup(req->provider ? req->provider : PROVIDER_DEFAULT);
    r->model = xstrdup(req->model ? req->model : "");
    r->req.provider = r->provider;
    r->req.model = r->model;
    r->upstream = req->upstream ? xstrdup(req->upstream) : NULL;
    r->req.upstream = r->upstream;
    r->hold = xstrdup(req->hold ? req->hold : r->provider);
    r->req.hold = r->hold;
    r->cb = cb;
    r->arg = arg;
    if (!ll->loaded) {
        r->next = ll->pending;
        ll->pending = r;
        llmlimit_refresh(ll);
        return;
    }
    start(r);
}
