/* The per-process fallback of llmlimit, used while Redis is disabled or
 * down (or failed one admission).
 *
 * Guarantee, looser than with Redis: requests and tokens per minute hold
 * per process (N processes admit up to N times the limit); in the minute
 * Redis went away, each goes on from the shared counts it saw last. A budget (day,
 * month, USD) is checked against the ledger's sums (read at most
 * LEDGER_CACHE_MS before), plus this process's own calls in flight
 * (reserved) and those it settled whose usage rows were not written before
 * that read. What it cannot see: the other processes' calls in flight and
 * their usage not flushed to the ledger yet (at most one
 * USAGE_FLUSH_INTERVAL of their traffic), so the overshoot is bounded by
 * those. When the ledger cannot
 * be read, a cached sum up to LEDGER_STALE_OK_MS old is used; older than
 * that, calls of a scope with a budget are refused with LLMLIMIT_ERROR
 * (503) rather than admitted blind. Scopes without a budget never wait on
 * the database. */
#include "llmlimit_local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmlimit_int.h"
#include "llmlimit_admit.h"
#include "log.h"
#include "usage.h"

#define LEDGER_CACHE_MS 2000
#define LEDGER_STALE_OK_MS 60000
#define BUCKETS 1024
#define PEND_MAX 32

struct lwait {
    struct lwait *next;
    struct llmlimit_req req;
    char *provider, *model;
    struct lim lt, lk;
    long long nano;
    llmlimit_cb cb;
    void *arg;
};

struct lscope {
    struct lscope *next; /* hash chain */
    uint64_t tenant, key;
    long long minute, rpm, tpm;
    bool loaded, loading;
    int64_t loaded_ms, failed_ms;   /* monotonic */
    char day[40], month[32];        /* the periods l[] is for */
    long long l[3];                 /* the ledger: day tokens, month tokens, month nano-USD */
    long long infl[3];              /* reserved by calls in flight here */
    long long settled[3];           /* settled here and not in l[]: the sum of pend */
    /* Calls settled here by the usage row that records them (the next one
     * when settled: llm_settle records right after): dropped from settled
     * once a ledger read begun after that row was written. Past PEND_MAX
     * the newest absorbs the rest (kept until the newest row is in). */
    struct pend {
        uint64_t seq;
        long long amt[3];
    } pend[PEND_MAX];
    int npend;
    struct lwait *waiters;
};

struct llmlimit_local {
    struct llmlimit *ll;
    struct lscope *b[BUCKETS];
};

struct llmlimit_local *llmlimit_local_new(struct llmlimit *ll)
{
    struct llmlimit_local *lc = xcalloc(1, sizeof *lc);
    lc->ll = ll;
    return lc;
}

static void lwait_free(struct lwait *w)
{
    free(w->provider);
    free(w->model);
    free(w);
}

void llmlimit_local_free(struct llmlimit_local *lc)
{
    if (!lc)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        struct lscope *s = lc->b[i];
        while (s) {
            struct lscope *next = s->next;
            while (s->waiters) {
                struct lwait *w = s->waiters;
                s->waiters = w->next;
                lwait_free(w); /* freed with the limiter: its owner is going too, no callback */
            }
            free(s);
            s = next;
        }
    }
    free(lc);
}

static struct lscope *scope_get(struct llmlimit_local *lc, uint64_t tenant, uint64_t key)
{
    size_t h = (size_t)((tenant * 0x9E3779B97F4A7C15ULL) ^ key) % BUCKETS;
    for (struct lscope *s = lc->b[h]; s; s = s->next)
        if (s->tenant == tenant && s->key == key)
            return s;
    struct lscope *s = xcalloc(1, sizeof *s);
    s->tenant = tenant;
    s->key = key;
    s->next = lc->b[h];
    lc->b[h] = s;
    return s;
}

static bool has_budget(const struct lim *l)
{
    return l->v[CK_DAY] >= 0 || l->v[CK_MON] >= 0 || l->v[CK_USD] >= 0;
}

static bool has_any(const struct lim *l)
{
    for (int i = 0; i < CK_N; i++)
        if (l->v[i] >= 0)
            return true;
    return false;
}

struct load {
    struct llmlimit_local *lc;
    struct lscope *s;
    uint64_t written; /* usage rows in the ledger when the read began */
};

/* Forgets what the ledger read now holds: rows up to `written`. */
static void pend_drop(struct lscope *s, uint64_t written)
{
    int k = 0;
    for (int i = 0; i < 3; i++)
        s->settled[i] = 0;
    for (int j = 0; j < s->npend; j++) {
        if (s->pend[j].seq <= written)
            continue;
        s->pend[k] = s->pend[j];
        for (int i = 0; i < 3; i++)
            s->settled[i] += s->pend[k].amt[i];
        k++;
    }
    s->npend = k;
}

static void loaded_cb(bool ok, const long long out[6], void *arg)
{
    struct load *ld = arg;
    struct lscope *s = ld->s;
    struct llmlimit_local *lc = ld->lc;
    uint64_t written = ld->written;
    free(ld);
    s->loading = false;
    if (ok) {
        struct period p;
        llmlimit_period(&p, time_real_us() / 1000);
        const long long *v = out + (s->key ? 3 : 0);
        for (int i = 0; i < 3; i++)
            s->l[i] = v[i];
        pend_drop(s, written);
        memcpy(s->day, p.day, sizeof s->day);
        memcpy(s->month, p.month, sizeof s->month);
        s->loaded = true;
        s->loaded_ms = time_mono_ms();
    } else {
        s->failed_ms = time_mono_ms();
    }
    struct lwait *w = s->waiters;
    s->waiters = NULL;
    while (w) {
        struct lwait *next = w->next;
        llmlimit_local_reserve(lc, &w->req, &w->lt, &w->lk, w->nano, w->cb, w->arg);
        lwait_free(w);
        w = next;
    }
}

/* 1: the scope's ledger sums may be used; 0: caller waits (queued);
 * -1: they cannot be had (answer an error). */
static int ledger_ready(struct llmlimit_local *lc, struct lscope *s, const struct period *p,
                        const struct llmlimit_req *req, const struct lim *lt, const struct lim *lk, long long nano,
                        llmlimit_cb cb, void *arg)
{
    int64_t now = time_mono_ms();
    bool same = s->loaded && strcmp(s->day, p->day) == 0 && strcmp(s->month, p->month) == 0;
    if (same && now - s->loaded_ms <= LEDGER_CACHE_MS)
        return 1;
    if (s->failed_ms && now - s->failed_ms < LEDGER_CACHE_MS && !s->loading)
        return same && now - s->loaded_ms <= LEDGER_STALE_OK_MS ? 1 : -1;
    struct lwait *w = xcalloc(1, sizeof *w);
    w->req = *req;
    w->provider = xstrdup(req->provider);
    w->model = xstrdup(req->model);
    w->req.provider = w->provider;
    w->req.model = w->model;
    w->req.upstream = w->req.hold = NULL; /* the reservation's copies are gone by then; used already */
    w->lt = *lt;
    w->lk = *lk;
    w->nano = nano;
    w->cb = cb;
    w->arg = arg;
    w->next = s->waiters;
    s->waiters = w;
    if (!s->loading) {
        s->loading = true;
        struct load *ld = xcalloc(1, sizeof *ld);
        ld->lc = lc;
        ld->s = s;
        ld->written = usage_seq_written(lc->ll->usage);
        llmlimit_ledger(lc->ll, s->tenant, s->key, p, loaded_cb, ld);
    }
    return 0;
}

void llmlimit_local_reserve(struct llmlimit_local *lc, const struct llmlimit_req *req, const struct lim *lt,
                            const struct lim *lk, long long nano, llmlimit_cb cb, void *arg)
{
    struct period p;
    llmlimit_period(&p, time_real_us() / 1000);
    long long tok = req->est_tokens > 0 ? req->est_tokens : 0;
    struct lscope *sc[2] = {scope_get(lc, req->tenant, 0), NULL};
    const struct lim *lims[2] = {lt, lk};
    if (req->key_id && has_any(lk))
        sc[1] = scope_get(lc, req->tenant, req->key_id);
    for (int i = 0; i < 2; i++) {
        if (!sc[i] || !has_budget(lims[i]))
            continue;
        int rc = ledger_ready(lc, sc[i], &p, req, lt, lk, nano, cb, arg);
        if (rc == 0)
            return;
        if (rc < 0) {
            cb(LLMLIMIT_ERROR, LEDGER_CACHE_MS, "the usage ledger is unavailable and redis is down", NULL, arg);
            return;
        }
    }
    long long amt[CK_N] = {1, tok, tok, tok, nano};
    for (int i = 0; i < 2; i++) {
        struct lscope *s = sc[i];
        const struct lim *l = lims[i];
        if (!s)
            continue;
        if (s->minute != p.minute) {
            s->minute = p.minute;
            s->rpm = s->tpm = 0;
        }
        long long cur[CK_N] = {s->rpm, s->tpm, 0, 0, 0};
        for (int k = 0; k < 3; k++)
            cur[CK_DAY + k] = s->l[k] + s->infl[k] + s->settled[k];
        for (int k = 0; k < CK_N; k++) {
            if (l->v[k] < 0)
                continue;
            if (cur[k] >= l->v[k] || cur[k] + amt[k] > l->v[k]) {
                llmlimit_refuse(lc->ll, req->provider, (enum ck)k, i == 1, l->v[k], cur[k], amt[k], &p, cb, arg);
                return;
            }
        }
    }
    struct llmlimit_ticket *t = xcalloc(1, sizeof *t);
    t->model = xstrdup(req->model);
    t->est_tokens = tok;
    t->est_nano = nano;
    t->day_idx = p.minute; /* the window the tokens went to */
    t->tenant = req->tenant;
    t->key_id = req->key_id;
    t->per = p;
    snprintf(t->gen[0], sizeof t->gen[0], "%s", lt->gen);
    snprintf(t->gen[1], sizeof t->gen[1], "%s", req->key_id ? lk->gen : "");
    llmlimit_epoch(lc->ll, t->epoch, sizeof t->epoch);
    for (int i = 0; i < 2; i++) {
        struct lscope *s = sc[i];
        t->ls[i] = s;
        if (!s)
            continue;
        s->rpm++;
        s->tpm += tok;
        s->infl[0] += tok;
        s->infl[1] += tok;
        s->infl[2] += nano;
    }
    cb(LLMLIMIT_OK, 0, NULL, t, arg);
}

void llmlimit_local_seen(struct llmlimit_local *lc, uint64_t tenant, uint64_t key, enum ck kind, long long minute,
                         long long value)
{
    if (kind != CK_RPM && kind != CK_TPM)
        return;
    struct lscope *s = scope_get(lc, tenant, key);
    if (s->minute != minute) {
        if (minute < s->minute)
            return; /* a late answer of a minute gone */
        s->minute = minute;
        s->rpm = s->tpm = 0;
    }
    long long *c = kind == CK_RPM ? &s->rpm : &s->tpm;
    if (value > *c)
        *c = value;
}

void llmlimit_local_settle(struct llmlimit_local *lc, struct llmlimit_ticket *t, long long used_tokens,
                           long long used_nano)
{
    for (int i = 0; i < 2; i++) {
        struct lscope *s = t->ls[i];
        if (!s)
            continue;
        if (s->minute == t->day_idx)
            s->tpm -= t->est_tokens - used_tokens;
        s->infl[0] -= t->est_tokens;
        s->infl[1] -= t->est_tokens;
        s->infl[2] -= t->est_nano;
        long long amt[3] = {used_tokens, used_tokens, used_nano};
        if (amt[0] <= 0 && amt[2] <= 0)
            continue;
        /* Without a usage writer (tests), the next read takes it back. */
        uint64_t seq = lc->ll->usage ? usage_seq_recorded(lc->ll->usage) + 1 : 0;
        if (s->npend == PEND_MAX) { /* the newest takes the rest: it is written last */
            s->npend--;
            for (int k = 0; k < 3; k++)
                amt[k] += s->pend[s->npend].amt[k];
        }
        s->pend[s->npend].seq = seq;
        memcpy(s->pend[s->npend].amt, amt, sizeof amt);
        s->npend++;
        for (int k = 0; k < 3; k++)
            s->settled[k] += k == 2 ? used_nano : used_tokens;
    }
}
