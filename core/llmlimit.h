/* llmlimit: LLM admission shared by every serve and work. A call first
 * reserves (one atomic Redis script: requests/min, tokens/min, tokens per
 * day and month, USD per month, for the tenant and, when set, the key;
 * and the provider's learnt throttle) and settles to the real usage
 * after, so no check-then-increment anywhere. Counters are rebuilt from the
 * MariaDB usage ledger (sql/0007 llm_usage) when Redis lost them. Without
 * Redis: per-process windows, budgets checked against the ledger. Limits
 * and prices are read from the database every few seconds. */
#ifndef INGOT_LLMLIMIT_H
#define INGOT_LLMLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"
#include "util.h"

struct runtime;
struct llmlimit;

struct llmlimit_req {
    uint64_t tenant, key_id;
    const char *provider;       /* provider_target.provider */
    const char *hold;           /* its throttle scope (llmlimit_hold_scope); NULL: provider */
    const char *model;          /* as the client sent it */
    const char *upstream;       /* provider_target.upstream_model: priced first (may be NULL) */
    long long est_tokens;       /* estimated prompt + max_tokens (or the default) */
};

enum llmlimit_verdict {
    LLMLIMIT_OK,
    LLMLIMIT_RATE,       /* rpm/tpm window full: come back after retry_after_ms */
    LLMLIMIT_THROTTLED,  /* the provider said it is nearly spent: after retry_after_ms */
    LLMLIMIT_BUDGET,     /* a day/month budget is spent: not before its reset, retry_after_ms away */
    LLMLIMIT_ERROR,      /* could not decide (database down without Redis): 503 */
    LLMLIMIT_UNPRICED,   /* a USD budget applies and the model has no price: 400 naming model */
    LLMLIMIT_TOO_LARGE   /* the reservation exceeds a whole limit: it can never fit (lower max_tokens) */
};

/* What was reserved; the caller owns it until llmlimit_settle. */
struct llmlimit_ticket;

/* ticket: set only on LLMLIMIT_OK. why: for the error message (never a
 * secret). May run before llmlimit_reserve returns. */
typedef void (*llmlimit_cb)(enum llmlimit_verdict v, long long retry_after_ms, const char *why,
                            struct llmlimit_ticket *ticket, void *arg);

/* A provider's remaining tokens under this hold its traffic until the reset. */
#define LLMLIMIT_TOKENS_LOW 1000

/* Returns owned; reads llm_limits and llm_prices now and every
 * refresh_ms (<= 0: 5 s). Reservations made before the first read wait
 * for it. */
struct llmlimit *llmlimit_new(struct runtime *rt, long long refresh_ms);
/* After runtime_close (so the database's and Redis's pending callbacks
 * have run). Settlements still waiting for Redis are dropped, and
 * reservations still waiting get no callback. */
void llmlimit_free(struct llmlimit *ll);
/* The limits have been read once (reservations before wait for it). */
bool llmlimit_ready(const struct llmlimit *ll);
/* Redis calls not answered yet (settlements, holds), and those waiting
 * to be re-sent while Redis is up: a drain may wait for 0. */
size_t llmlimit_busy(const struct llmlimit *ll);
void llmlimit_reserve(struct llmlimit *ll, const struct llmlimit_req *req, llmlimit_cb cb, void *arg);
/* Replaces the reservation with the real usage (NULL: nothing was used,
 * e.g. the provider refused) and frees the ticket. */
/* The usage ledger this process writes: without Redis, a budget counts
 * this process's settled calls until their rows are in the ledger. */
struct usage;
void llmlimit_set_usage(struct llmlimit *ll, struct usage *u);
void llmlimit_settle(struct llmlimit *ll, struct llmlimit_ticket *t, const struct llm_usage *used);
/* Any price set at all (a call's other spellings are worth looking up). */
bool llmlimit_priced_any(const struct llmlimit *ll);
/* Cost in USD of usage for model by the price table (0 without a price). */
double llmlimit_cost(const struct llmlimit *ll, const char *model, const struct llm_usage *u);
/* The name a call is priced by: the upstream model actually called, then
 * "provider/upstream", then the client's model; the first with a price
 * (else the client's model, unpriced). Returns whether one has a price. */
bool llmlimit_price_name(const struct llmlimit *ll, const char *provider, const char *upstream, const char *model,
                         char *out, size_t n);
/* A provider's limits belong to the key they were announced for: the
 * scope of a hold is the provider and whose key was used ("NAME" for the
 * operator's, "NAME@tTENANT" for a tenant's own key), so a tenant's spent
 * key holds only that tenant. */
#define LLMLIMIT_HOLD_MAX (PROVIDER_NAME_MAX + 24)
void llmlimit_hold_scope(char *out, size_t n, const char *provider, bool tenant_key, uint64_t tenant);
/* A provider's answer headers: when remaining requests are 0 or remaining
 * tokens are nearly spent, every process holds that scope's traffic
 * until the reset (shared through Redis). */
void llmlimit_provider_seen(struct llmlimit *ll, const char *scope, const struct llm_ratehdr *h);
/* The tenant's limits and what is left, as the JSON of GET /v1/limits. */
typedef void (*llmlimit_json_cb)(const char *json, const char *err, void *arg);
void llmlimit_describe(struct llmlimit *ll, uint64_t tenant, uint64_t key_id, llmlimit_json_cb cb, void *arg);

#endif
