/* llmlimit_int: what llmlimit.c (limits and prices cache, the Redis
 * admission) and llmlimit_local.c (the per-process fallback) share.
 * Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_INT_H
#define INGOT_LLMLIMIT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "llmlimit.h"
#include "log.h"
#include "rscript.h"

/* The counters a scope (a tenant, or one of its keys) has. A scope with
 * a llm_limits row keeps its budgets (day, month, usd) whichever are set,
 * and its windows when limited; a scope without a row keeps none (no Redis
 * call at all when neither the tenant nor the key has one). Budget
 * counters are keyed by the row's generation (its updated_at), so a limit
 * set or changed later starts from counters rebuilt from the ledger. */
enum ck { CK_RPM, CK_TPM, CK_DAY, CK_MON, CK_USD, CK_N };

/* A scope's limits; -1: none. USD in nano-dollars (1e-9), as counted. */
struct lim {
    long long v[CK_N];
    char gen[24];   /* the row's updated_at as digits; "" without a row */
};

/* Now, cut into the periods counters live in (UTC calendar). */
struct period {
    int64_t now_ms;
    long long minute;             /* minutes since the epoch */
    char day[40], month[32];      /* YYYYMMDD, YYYYMM: key suffixes */
    char day_sql[48], month_sql[48], next_month_sql[48]; /* 'YYYY-MM-DD 00:00:00' */
    int64_t minute_end_ms, day_end_ms, month_end_ms;
};

#define TK_MAX (2 * CK_N)

struct lscope;

/* One reservation: the counters it added to, so settle takes back exactly
 * that (in the periods it was made in, even after midnight). */
struct llmlimit_ticket {
    bool redis;              /* made in Redis (else in this process) */
    char id[160];            /* its Redis key: present until settled */
    int n;
    struct {
        char key[192];
        enum ck kind;
        long long amt;
    } c[TK_MAX];
    char *model;
    long long est_tokens, est_nano;
    struct lscope *ls[2];    /* local: tenant and key scopes (or NULL) */
    long long day_idx, month_idx;
    uint64_t tenant, key_id;  /* local: for the catch-up in Redis */
    struct period per;
    char epoch[40];
    bool none;               /* no limit anywhere: nothing counted, nothing to settle */
    char gen[2][24];         /* local: the scopes' generations (catch-up keys) */
};

#define REDIS_TIMEOUT_MS 500
#define HOLDS_MAX 64

struct lim_row {
    uint64_t tenant, key;
    struct lim l;
};

struct price_row {
    char *model;
    double in, out; /* USD per million tokens */
};

struct hold {
    char provider[LLMLIMIT_HOLD_MAX + 1]; /* a scope: llmlimit_hold_scope */
    int64_t until_ms; /* monotonic */
};

struct settle_op {
    const struct rscript *script; /* settle or catch-up */
    int64_t since_ms;
    int argc;
    char **args; /* keys then args */
    int nkeys;
    struct settle_op *next;
};

struct rsv;

struct llmlimit {
    struct runtime *rt;
    struct usage *usage;          /* the ledger's writer (its row numbers), or NULL */
    long long refresh_ms;
    struct event *refresh_timer, *retry_timer;
    struct lim_row *lims;
    size_t nlims;
    struct price_row *prices;
    size_t nprices;
    bool lims_loading, prices_loading, lims_read, prices_read, loaded;
    struct rsv *pending;          /* waiting for the first load of the limits */
    struct rscript s_reserve, s_settle, s_hold, s_catchup;
    char epoch[40];               /* Redis's data epoch last seen ("" none yet) */
    char ns[96];                  /* "ingot:ll:<installation id>", "" until read */
    bool inst_loading, holds_reading;
    struct event *holds_timer;    /* reads the holds other processes set */
    struct redis_client *holds_sub; /* their messages (a client of its own) */
    struct hold holds[HOLDS_MAX];
    int nholds;                   /* slots ever used: holds[nholds..] are all empty */
    struct settle_op *retry_head, *retry_tail;
    size_t nretry;
    size_t inflight;              /* settlements and holds sent, not answered */
    size_t ncatchup;              /* catch-ups (usage decided without Redis) not yet applied */
    unsigned long ready_seen;     /* redis_ready_count when last looked */
    int64_t back_ms;              /* when Redis came back after an outage (0: never) */
    struct llmlimit_local *local;
    struct metric_family *f_remaining, *f_limit, *f_throttled; /* llmlimit_gauge.c */
    struct budget_shown *shown;   /* budget gauges shown, with their period's end */
    size_t nshown, capshown;
    struct log_limit warn_log;
    unsigned long long warn_dropped;
};

/* Shared helpers (llmlimit.c); llmlimit_admit.h and llmlimit_local.h
 * have the other files' own. */
void llmlimit_period(struct period *p, int64_t now_ms);
struct runtime *llmlimit_rt(struct llmlimit *ll);
/* Counts a refusal in ingot_llm_throttled_total and answers it. cur:
 * what the counter holds (used and reserved); amt: this call's
 * reservation. */
void llmlimit_refuse(struct llmlimit *ll, const char *provider, enum ck kind, bool key_scope, long long lim,
                     long long cur, long long amt, const struct period *p, llmlimit_cb cb, void *arg);
const char *llmlimit_ck_text(enum ck k);
/* Redis's data epoch as last seen ("" when never). */
void llmlimit_epoch(const struct llmlimit *ll, char *out, size_t n);
/* The Redis key of a counter (key 0: the tenant's) of the scope's
 * generation gen (budgets only). */
void llmlimit_ctr_key(const struct llmlimit *ll, char *out, size_t n, uint64_t tenant, uint64_t key, const char *gen,
                      enum ck kind, const struct period *p);
/* The limits of (tenant, key), all -1 without a row; true when a row. */
bool llmlimit_lim_find(const struct llmlimit *ll, uint64_t tenant, uint64_t key, struct lim *out);
const struct price_row *llmlimit_price_find(const struct llmlimit *ll, const char *model);
/* A reservation's cost in nano-USD. */
long long llmlimit_est_nano(const struct llmlimit *ll, const char *model, long long tokens);
#include "llmlimit_hold.h"
#include "llmlimit_gauge.h"
/* Reads llm_limits and llm_prices now (unless being read). */
void llmlimit_refresh(struct llmlimit *ll);

#endif
