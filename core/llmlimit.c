#include "llmlimit.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "llmlimit_admit.h"
#include "llmlimit_int.h"
#include "llmlimit_local.h"
#include "llmlimit_settle.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"

/* Guarantees (with Redis): every process admits through one Lua script
 * that checks every counter of the call (minute windows, day/month/USD
 * budgets of the tenant and of the key, the provider's hold) and adds the
 * reservation to all of them before anything else runs on Redis, so two
 * calls never both take the last unit: a counter never exceeds its limit
 * by reservations, and real usage exceeds it only by what the calls
 * admitted before it ran out used beyond their own reservation (a prompt
 * estimate too low). Settle gives back reserved - used in the periods the
 * reservation was made in. Budget counters are kept for every tenant and
 * key (limited or not, so a limit set later starts from the truth); a
 * missing one (a new period, FLUSHALL, Redis restarted empty) is rebuilt
 * from the ledger and set only if still missing, inside the script, so
 * processes rebuilding at once count the ledger once. What a rebuilt
 * counter misses: usage not yet flushed to the ledger (at most one
 * USAGE_FLUSH_INTERVAL per process) and the reservations in flight when
 * Redis lost them (their settle adds what they used, see settle_lua).
 * Windows are fixed UTC minutes (a burst may straddle two).
 * Conservative failures: a reservation whose answer was lost (deadline)
 * stays counted until its period ends; so do those of a process that
 * died mid-call (their tickets expire, the counters keep them).
 * When Redis is unreachable: see llmlimit_local.c; the usage decided
 * meanwhile is added to Redis's counters when it answers again, if it
 * kept its data (same epoch), else the ledger rebuild counts it. */

#define SETTLE_RETRY_MS 1000

/* KEYS[1] the provider's hold, KEYS[2] the ticket, KEYS[3] the epoch,
 * KEYS[3+i] counter i; ARGV[1] the ticket's ttl, ARGV[2] an epoch to set
 * when there is none (Redis lost its data or is new), then per counter:
 * limit (-1 none), amount, ttl, rebuild (-1 a window: never rebuilt; -2
 * unknown; >= 0 the ledger's value, set only when the counter is still
 * missing). Answers {0,0,0,epoch, values after...}, {1,0,pttl,epoch}
 * held, {2,i,current,epoch} refused by counter i, {3,0,0,epoch,i...}
 * budget counters missing (rebuild them and call again). */
static const char reserve_lua[] =
    "local ep = redis.call('GET', KEYS[3]) "
    "if not ep then ep = ARGV[2] redis.call('SET', KEYS[3], ep) end "
    "local pt = redis.call('PTTL', KEYS[1]) "
    "if pt > 0 then return {1, 0, pt, ep} end "
    "local n = #KEYS - 3 "
    "local miss = {} "
    "for i = 1, n do "
    "  local rb = tonumber(ARGV[4*i+2]) "
    "  if rb ~= -1 and redis.call('EXISTS', KEYS[3+i]) == 0 then "
    "    if rb >= 0 then redis.call('SET', KEYS[3+i], rb, 'PX', ARGV[4*i+1]) "
    "    else miss[#miss+1] = i end "
    "  end "
    "end "
    "if #miss > 0 then return {3, 0, 0, ep, unpack(miss)} end "
    "for i = 1, n do "
    "  local lim = tonumber(ARGV[4*i-1]) "
    "  local amt = tonumber(ARGV[4*i]) "
    "  local cur = tonumber(redis.call('GET', KEYS[3+i]) or '0') "
    "  if lim >= 0 and (cur >= lim or cur + amt > lim) then return {2, i, cur, ep} end "
    "end "
    "local out = {0, 0, 0, ep} "
    "for i = 1, n do "
    "  local v = redis.call('INCRBY', KEYS[3+i], ARGV[4*i]) "
    "  if v == tonumber(ARGV[4*i]) then redis.call('PEXPIRE', KEYS[3+i], ARGV[4*i+1]) end "
    "  out[4+i] = v "
    "end "
    "redis.call('SET', KEYS[2], '1', 'PX', ARGV[1]) "
    "return out";

/* KEYS[1] the ticket, KEYS[1+i] counter i; ARGV[2i-1] reserved - used,
 * ARGV[2i] used, ARGV[2n+1] "1" on the first attempt. With the ticket:
 * give back what was not used. Without it on a first attempt (Redis lost
 * the reservation: flushed or restarted empty, and the counters that
 * exist were rebuilt from a ledger this call is not in yet, since it is
 * recorded after settling): add what was used. Without it on a re-sent
 * one: nothing, as an earlier attempt may have been applied (its answer
 * lost) or the ledger may already hold the call. */
static const char settle_lua[] =
    "local n = #KEYS - 1 "
    "if redis.call('DEL', KEYS[1]) == 1 then "
    "  for i = 1, n do "
    "    if redis.call('EXISTS', KEYS[1+i]) == 1 then redis.call('DECRBY', KEYS[1+i], ARGV[2*i-1]) end "
    "  end "
    "  return 1 "
    "end "
    "if ARGV[2*n+1] ~= '1' then return 0 end "
    "for i = 1, n do "
    "  if redis.call('EXISTS', KEYS[1+i]) == 1 then redis.call('INCRBY', KEYS[1+i], ARGV[2*i]) end "
    "end "
    "return 0";

/* Usage of calls decided in this process (Redis was unreachable) added
 * to the counters once Redis answers again, but only if it kept its data
 * since (the epoch is the one seen before): counters rebuilt from the
 * ledger since already hold that usage. Applied once (KEYS[2], set if
 * new, is its id: a re-sent one whose first answer was lost does nothing).
 * KEYS[1] the epoch, KEYS[2] the id, KEYS[2+i] counter i; ARGV[1] the
 * epoch, ARGV[1+i] what was used. */
static const char catchup_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', 86400000) then return 0 end "
    "for i = 1, #KEYS - 2 do "
    "  if redis.call('EXISTS', KEYS[2+i]) == 1 then redis.call('INCRBY', KEYS[2+i], ARGV[1+i]) end "
    "end "
    "return 1";


static const char *const llmlimit_ck_key[CK_N] = {"rpm", "tpm", "day", "mon", "usd"};
static const char *const ck_text[CK_N] = {"requests per minute", "tokens per minute", "tokens per day",
                                          "tokens per month", "USD per month"};

void llmlimit_epoch(const struct llmlimit *ll, char *out, size_t n)
{
    snprintf(out, n, "%s", ll->epoch);
}

void llmlimit_ctr_key(const struct llmlimit *ll, char *out, size_t n, uint64_t tenant, uint64_t key, const char *gen,
                      enum ck kind, const struct period *p)
{
    char scope[64];
    if (key)
        snprintf(scope, sizeof scope, "k%llu.%llu", (unsigned long long)tenant, (unsigned long long)key);
    else
        snprintf(scope, sizeof scope, "t%llu", (unsigned long long)tenant);
    if (kind == CK_RPM || kind == CK_TPM)
        snprintf(out, n, "%s:%s:%s:%lld", ll->ns, scope, llmlimit_ck_key[kind], p->minute);
    else
        snprintf(out, n, "%s:%s:g%s:%s:%s", ll->ns, scope, gen ? gen : "", llmlimit_ck_key[kind],
                 kind == CK_DAY ? p->day : p->month);
}

const char *llmlimit_ck_text(enum ck k)
{
    return ck_text[k];
}

struct runtime *llmlimit_rt(struct llmlimit *ll)
{
    return ll->rt;
}

void llmlimit_period(struct period *p, int64_t now_ms)
{
    memset(p, 0, sizeof *p);
    p->now_ms = now_ms;
    p->minute = now_ms / 60000;
    p->minute_end_ms = (p->minute + 1) * 60000;
    time_t s = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
    snprintf(p->day, sizeof p->day, "%04d%02d%02d", y % 10000, m, tm.tm_mday);
    snprintf(p->month, sizeof p->month, "%04d%02d", y % 10000, m);
    snprintf(p->day_sql, sizeof p->day_sql, "'%04d-%02d-%02d 00:00:00'", y % 10000, m, tm.tm_mday);
    snprintf(p->month_sql, sizeof p->month_sql, "'%04d-%02d-01 00:00:00'", y % 10000, m);
    int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
    snprintf(p->next_month_sql, sizeof p->next_month_sql, "'%04d-%02d-01 00:00:00'", ny % 10000, nm);
    struct tm d = {.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday + 1};
    p->day_end_ms = (int64_t)timegm(&d) * 1000;
    struct tm mo = {.tm_year = ny - 1900, .tm_mon = nm - 1, .tm_mday = 1};
    p->month_end_ms = (int64_t)timegm(&mo) * 1000;
}

/* ---- limits and prices, re-read every refresh_ms ---- */

static int lim_cmp(const void *a, const void *b)
{
    const struct lim_row *x = a, *y = b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return 0;
}

/* The limits of (tenant, key); all -1 without a row. */
bool llmlimit_lim_find(const struct llmlimit *ll, uint64_t tenant, uint64_t key, struct lim *out)
{
    struct lim_row k = {.tenant = tenant, .key = key};
    const struct lim_row *r = ll->nlims ? bsearch(&k, ll->lims, ll->nlims, sizeof *ll->lims, lim_cmp) : NULL;
    for (int i = 0; i < CK_N; i++)
        out->v[i] = r ? r->l.v[i] : -1;
    util_strcpy(out->gen, sizeof out->gen, r ? r->l.gen : "");
    return r != NULL;
}

const struct price_row *llmlimit_price_find(const struct llmlimit *ll, const char *model)
{
    size_t lo = 0, hi = ll->nprices;
    while (lo < hi && model) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(model, ll->prices[mid].model);
        if (c == 0)
            return &ll->prices[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}


static long long col_ll(MYSQL_ROW row, unsigned i)
{
    return row[i] ? db_row_ll(row, i) : -1;
}

/* Admission starts once both limits and prices were read (a USD budget
 * needs the price of what it reserves). */
static void loaded_check(struct llmlimit *ll)
{
    if (!ll->loaded && ll->lims_read && ll->prices_read && ll->ns[0]) {
        ll->loaded = true;
        llmlimit_run_pending(ll);
    }
}

static void limits_cb(const struct db_result *r, void *arg)
{
    struct llmlimit *ll = arg;
    ll->lims_loading = false;
    if (!r->ok) {
        if (r->err_code != DB_ERR_SHUTDOWN && log_limit_allow(&ll->warn_log, &ll->warn_dropped))
            log_warn("llm limits: cannot read llm_limits: %s", r->error);
        if (!ll->loaded)
            llmlimit_fail_pending(ll);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res);
    struct lim_row *rows = xcalloc(n ? n : 1, sizeof *rows);
    size_t i = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && i < n) {
        rows[i].tenant = (uint64_t)db_row_ll(row, 0);
        rows[i].key = (uint64_t)db_row_ll(row, 1);
        for (int k = 0; k < CK_N; k++)
            rows[i].l.v[k] = col_ll(row, 2 + (unsigned)k);
        snprintf(rows[i].l.gen, sizeof rows[i].l.gen, "%s", db_row_str(row, 2 + CK_N));
        i++;
    }
    qsort(rows, i, sizeof *rows, lim_cmp);
    struct lim_row *old = ll->lims;
    size_t nold = ll->nlims;
    ll->lims = rows;
    ll->nlims = i;
    ll->lims_read = true;
    /* A budget removed (set to none, or its row gone) has nothing left to
     * show: its gauge would keep its last value forever. */
    for (size_t o = 0; o < nold; o++) {
        struct lim now;
        if (old[o].key)
            continue; /* the gauge is the tenant's */
        bool has = llmlimit_lim_find(ll, old[o].tenant, 0, &now);
        for (int k = CK_DAY; k < CK_N; k++)
            if (old[o].l.v[k] >= 0 && (!has || now.v[k] < 0))
                llmlimit_set_remaining(ll, old[o].tenant, (enum ck)k, -2, 0);
    }
    free(old);
    loaded_check(ll);
}

static int price_cmp(const void *a, const void *b)
{
    return strcmp(((const struct price_row *)a)->model, ((const struct price_row *)b)->model);
}

static void prices_cb(const struct db_result *r, void *arg)
{
    struct llmlimit *ll = arg;
    ll->prices_loading = false;
    if (!r->ok) {
        if (r->err_code != DB_ERR_SHUTDOWN && log_limit_allow(&ll->warn_log, &ll->warn_dropped))
            log_warn("llm limits: cannot read llm_prices: %s", r->error);
        if (!ll->loaded)
            llmlimit_fail_pending(ll);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res), i = 0;
    struct price_row *rows = xcalloc(n ? n : 1, sizeof *rows);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && i < n) {
        rows[i].model = xstrdup(db_row_str(row, 0));
        rows[i].in = strtod(db_row_str(row, 1), NULL);
        rows[i].out = strtod(db_row_str(row, 2), NULL);
        i++;
    }
    /* The column's collation does not order as strcmp, which the binary
     * search uses. */
    qsort(rows, i, sizeof *rows, price_cmp);
    for (size_t k = 0; k < ll->nprices; k++)
        free(ll->prices[k].model);
    free(ll->prices);
    ll->prices = rows;
    ll->nprices = i;
    ll->prices_read = true;
    loaded_check(ll);
}


static void inst_cb(const struct db_result *r, void *arg)
{
    struct llmlimit *ll = arg;
    ll->inst_loading = false;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    const char *id = row ? db_row_str(row, 0) : "";
    if (!id[0] || strlen(id) >= sizeof ll->rt->installation_id) {
        if ((r->ok || r->err_code != DB_ERR_SHUTDOWN) && log_limit_allow(&ll->warn_log, &ll->warn_dropped))
            log_warn("llm limits: cannot read meta.installation_id: %s", r->ok ? "no row" : r->error);
        if (!ll->loaded)
            llmlimit_fail_pending(ll);
        return;
    }
    snprintf(ll->rt->installation_id, sizeof ll->rt->installation_id, "%s", id);
    snprintf(ll->ns, sizeof ll->ns, "ingot:ll:%s", id);
    if (ll->holds_sub) {
        char ch[160];
        snprintf(ch, sizeof ch, "%s:holds", ll->ns);
        redis_subscribe(ll->holds_sub, ch, llmlimit_holds_msg_cb, ll);
    }
    loaded_check(ll);
}

void llmlimit_refresh(struct llmlimit *ll)
{
    if (!ll->ns[0] && !ll->inst_loading) {
        ll->inst_loading = true;
        db_query(ll->rt->db, "SELECT value FROM meta WHERE name = 'installation_id'", 0, inst_cb, ll);
    }
    if (!ll->lims_loading) {
        ll->lims_loading = true;
        db_query(ll->rt->db,
                 "SELECT tenant_id, key_id, rpm, tpm, tokens_per_day, tokens_per_month, "
                 "CAST(CEIL(usd_per_month * 1000000000) AS SIGNED), "
                 "DATE_FORMAT(updated_at, '%Y%m%d%H%i%s%f') FROM llm_limits LIMIT 1000000",
                 0, limits_cb, ll);
    }
    if (!ll->prices_loading) {
        ll->prices_loading = true;
        db_query(ll->rt->db,
                 "SELECT model, input_per_mtok, output_per_mtok FROM llm_prices ORDER BY model LIMIT 1000000", 0,
                 prices_cb, ll);
    }
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    llmlimit_gauge_expire(arg, time_real_us() / 1000);
    llmlimit_refresh(arg);
}

/* ---- prices ---- */

bool llmlimit_priced_any(const struct llmlimit *ll)
{
    return ll && ll->nprices > 0;
}

double llmlimit_cost(const struct llmlimit *ll, const char *model, const struct llm_usage *u)
{
    const struct price_row *p = llmlimit_price_find(ll, model);
    if (!p || !u)
        return 0;
    double in = u->prompt > 0 ? (double)u->prompt : 0, out = u->completion > 0 ? (double)u->completion : 0;
    return (in * p->in + out * p->out) / 1e6;
}

bool llmlimit_price_name(const struct llmlimit *ll, const char *provider, const char *upstream, const char *model,
                         char *out, size_t n)
{
    char pu[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    pu[0] = '\0'; /* not = "": that clears all of it, on every admit and settle */
    if (provider && upstream && upstream[0])
        util_join(pu, sizeof pu, provider, '/', upstream);
    const char *cand[] = {upstream, pu, model};
    for (size_t i = 0; i < ARRAY_LEN(cand); i++)
        if (cand[i] && cand[i][0] && llmlimit_price_find(ll, cand[i])) {
            util_strcpy(out, n, cand[i]);
            return true;
        }
    util_strcpy(out, n, model ? model : "");
    return false;
}

/* A reservation's cost: est tokens at the dearer of the two prices (the
 * split between prompt and completion is not known yet). */
long long llmlimit_est_nano(const struct llmlimit *ll, const char *model, long long tokens)
{
    const struct price_row *p = llmlimit_price_find(ll, model);
    if (!p || tokens <= 0)
        return 0;
    double per = p->in > p->out ? p->in : p->out; /* USD per 1e6 tokens = nano-USD per 1e-3 token */
    double v = (double)tokens * per * 1000.0;
    if (!(v < 9e15)) /* NaN too */
        return (long long)9e15;
    long long n = (long long)v;
    return (double)n < v ? n + 1 : n; /* rounded up, without libm */
}

bool llmlimit_ready(const struct llmlimit *ll)
{
    return ll->loaded;
}

size_t llmlimit_busy(const struct llmlimit *ll)
{
    /* Those waiting to be re-sent count only while Redis can take them
     * (the retry timer sends them within SETTLE_RETRY_MS): a drain with
     * Redis down does not wait out its grace for them. */
    return ll->inflight + (redis_state(ll->rt->redis) == REDIS_READY ? ll->nretry : 0);
}

/* ---- refusals (their metrics: llmlimit_gauge.c) ---- */

void llmlimit_refuse(struct llmlimit *ll, const char *provider, enum ck kind, bool key_scope, long long lim,
                     long long cur, long long amt, const struct period *p, llmlimit_cb cb, void *arg)
{
    llmlimit_count_throttled(ll, provider, "limit");
    char why[400];
    const char *who = key_scope ? "the API key's" : "the tenant's";
    const char *rsv = "the reservation is the prompt estimate plus max_tokens (or LLM_DEFAULT_MAX_TOKENS)";
    enum llmlimit_verdict v = LLMLIMIT_BUDGET;
    long long retry = 0;
    bool usd = kind == CK_USD;
    double scale = usd ? 1e9 : 1;
    long long left = lim - cur > 0 ? lim - cur : 0;
    if (kind == CK_RPM && amt > lim) { /* a limit of 0 requests, set before 0 was refused */
        v = LLMLIMIT_TOO_LARGE;
        snprintf(why, sizeof why, "%s %s limit (%lld) admits no request", who, ck_text[kind], lim);
    } else if (kind == CK_RPM || (kind == CK_TPM && amt <= lim)) {
        v = LLMLIMIT_RATE;
        retry = p->minute_end_ms - p->now_ms;
        snprintf(why, sizeof why, "%s %s limit (%lld) is reached", who, ck_text[kind], lim);
    } else if (amt > lim) { /* can never fit, whatever is used */
        v = LLMLIMIT_TOO_LARGE;
        if (usd)
            snprintf(why, sizeof why,
                     "this call reserves %.6f USD, more than %s whole budget of %.6f %s (%s): lower max_tokens",
                     (double)amt / scale, who, (double)lim / scale, ck_text[kind], rsv);
        else if (kind == CK_TPM)
            snprintf(why, sizeof why, "this call reserves %lld tokens, more than %s %s limit (%lld) (%s): lower "
                     "max_tokens", amt, who, ck_text[kind], lim, rsv);
        else
            snprintf(why, sizeof why, "this call reserves %lld tokens, more than %s whole budget of %lld %s (%s): "
                     "lower max_tokens", amt, who, lim, ck_text[kind], rsv);
    } else {
        retry = (kind == CK_DAY ? p->day_end_ms : p->month_end_ms) - p->now_ms;
        if (usd)
            snprintf(why, sizeof why,
                     "%s budget of %.6f %s has %.6f USD left and this call reserves %.6f USD (%s): lower "
                     "max_tokens, or wait for the budget's reset",
                     who, (double)lim / scale, ck_text[kind], (double)left / scale, (double)amt / scale, rsv);
        else if (left == 0)
            snprintf(why, sizeof why, "%s budget of %lld %s is spent", who, lim, ck_text[kind]);
        else
            snprintf(why, sizeof why,
                     "%s budget of %lld %s has %lld tokens left and this call reserves %lld (%s): lower "
                     "max_tokens, or wait for the budget's reset",
                     who, lim, ck_text[kind], left, amt, rsv);
    }
    cb(v, retry > 0 ? retry : v == LLMLIMIT_TOO_LARGE ? 0 : 1, why, NULL, arg);
}

/* ---- life ---- */

struct llmlimit *llmlimit_new(struct runtime *rt, long long refresh_ms)
{
    struct llmlimit *ll = xcalloc(1, sizeof *ll);
    ll->rt = rt;
    ll->refresh_ms = refresh_ms > 0 ? refresh_ms : 5000;
    ll->warn_log = (struct log_limit)LOG_LIMIT_INIT(10000, 5);
    rscript_init(&ll->s_reserve, reserve_lua);
    rscript_init(&ll->s_settle, settle_lua);
    rscript_init(&ll->s_hold, llmlimit_hold_lua);
    rscript_init(&ll->s_catchup, catchup_lua);
    llmlimit_gauge_init(ll, rt->metrics);
    ll->local = llmlimit_local_new(ll);
    struct event_base *base = loop_base(rt->loop);
    ll->refresh_timer = event_new(base, -1, EV_PERSIST, refresh_cb, ll);
    ll->retry_timer = event_new(base, -1, EV_PERSIST, llmlimit_retry_cb, ll);
    if (!ll->refresh_timer || !ll->retry_timer)
        abort();
    ll->holds_timer = event_new(base, -1, EV_PERSIST, llmlimit_holds_timer_cb, ll);
    if (!ll->holds_timer)
        abort();
    struct timeval every = loop_tv(ll->refresh_ms), retry = loop_tv(SETTLE_RETRY_MS), hr = loop_tv(HOLDS_READ_MS);
    event_add(ll->refresh_timer, &every);
    event_add(ll->retry_timer, &retry);
    event_add(ll->holds_timer, &hr);
    if (rt->cfg && rt->cfg->redis_url && rt->cfg->redis_url[0]) {
        char err[256];
        ll->holds_sub = redis_client_new(rt->loop, NULL, rt->cfg->redis_url, REDIS_TIMEOUT_MS, err, sizeof err);
    }
    llmlimit_refresh(ll);
    return ll;
}

void llmlimit_free(struct llmlimit *ll)
{
    if (!ll)
        return;
    event_free(ll->refresh_timer);
    event_free(ll->retry_timer);
    event_free(ll->holds_timer);
    redis_client_free(ll->holds_sub);
    llmlimit_drop_pending(ll); /* their owners are being freed too: no callback */
    while (ll->retry_head) {
        struct settle_op *next = ll->retry_head->next;
        llmlimit_settle_op_free(ll->retry_head);
        ll->retry_head = next;
    }
    llmlimit_local_free(ll->local);
    for (size_t i = 0; i < ll->nprices; i++)
        free(ll->prices[i].model);
    free(ll->prices);
    free(ll->lims);
    llmlimit_gauge_free(ll);
    free(ll);
}

void llmlimit_set_usage(struct llmlimit *ll, struct usage *u)
{
    ll->usage = u;
}
