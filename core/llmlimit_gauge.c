#include "llmlimit_gauge.h"

#include <stdio.h>
#include <stdlib.h>

#include "llmlimit_int.h"
#include "metrics.h"
#include "util.h"

/* A budget gauge shown, until the end of the period it was seen in. */
struct budget_shown {
    uint64_t tenant;
    int kind;
    int64_t end_ms;
};

static const char *const budget_names[CK_N] = {NULL, NULL, "tokens_day", "tokens_month", "usd_month"};

void llmlimit_gauge_init(struct llmlimit *ll, struct metrics *m)
{
    ll->f_remaining = metrics_family(m, METRIC_GAUGE, "ingot_llm_budget_remaining",
                                     "What is left of a tenant's budget (tokens, or USD), as last seen this period.");
    /* Beside remaining, so an alert can say "90% spent" whatever the size. */
    ll->f_limit = metrics_family(m, METRIC_GAUGE, "ingot_llm_budget_limit",
                                 "A tenant's budget (tokens, or USD), as last seen this period.");
    ll->f_throttled = metrics_family(m, METRIC_COUNTER, "ingot_llm_throttled_total",
                                     "LLM calls held back: by our limits or a provider's announced rate limit.");
}

void llmlimit_gauge_free(struct llmlimit *ll)
{
    free(ll->shown);
    ll->shown = NULL;
    ll->nshown = ll->capshown = 0;
}

static void budget_labels(uint64_t tenant, int kind, char *out, size_t n)
{
    snprintf(out, n, "tenant=\"%llu\",budget=\"%s\"", (unsigned long long)tenant, budget_names[kind]);
}

static void hide(struct llmlimit *ll, uint64_t tenant, int kind)
{
    char labels[96];
    budget_labels(tenant, kind, labels, sizeof labels);
    metrics_hide(ll->f_remaining, labels);
    metrics_hide(ll->f_limit, labels);
}

static struct budget_shown *shown_find(struct llmlimit *ll, uint64_t tenant, int kind)
{
    for (size_t i = 0; i < ll->nshown; i++)
        if (ll->shown[i].tenant == tenant && ll->shown[i].kind == kind)
            return &ll->shown[i];
    return NULL;
}

static void shown_remove(struct llmlimit *ll, struct budget_shown *s)
{
    *s = ll->shown[--ll->nshown];
}

void llmlimit_set_remaining(struct llmlimit *ll, uint64_t tenant, int kind, long long lim, long long used)
{
    if (kind < 0 || kind >= CK_N || !budget_names[kind] || (lim < 0 && lim != -2))
        return;
    struct budget_shown *s = shown_find(ll, tenant, kind);
    if (lim == -2) { /* the budget is gone */
        hide(ll, tenant, kind);
        if (s)
            shown_remove(ll, s);
        return;
    }
    /* A late answer (an admission or a describe sent before the limits
     * were re-read) must not bring back the gauge of a budget removed
     * since. */
    struct lim now;
    if (!llmlimit_lim_find(ll, tenant, 0, &now) || now.v[kind] < 0)
        return;
    char labels[96];
    budget_labels(tenant, kind, labels, sizeof labels);
    double left = (double)(lim - used), scale = kind == CK_USD ? 1e9 : 1;
    if (left < 0)
        left = 0;
    metrics_set(metrics_series(ll->f_remaining, labels), left / scale);
    metrics_set(metrics_series(ll->f_limit, labels), (double)lim / scale);
    if (!s) {
        if (ll->nshown == ll->capshown) {
            ll->capshown = ll->capshown ? ll->capshown * 2 : 16;
            ll->shown = xrealloc(ll->shown, ll->capshown * sizeof *ll->shown);
        }
        s = &ll->shown[ll->nshown++];
        s->tenant = tenant;
        s->kind = kind;
    }
    struct period p;
    llmlimit_period(&p, time_real_us() / 1000);
    s->end_ms = kind == CK_DAY ? p.day_end_ms : p.month_end_ms;
}

void llmlimit_gauge_expire(struct llmlimit *ll, int64_t now_ms)
{
    for (size_t i = 0; i < ll->nshown;) {
        struct budget_shown *s = &ll->shown[i];
        if (now_ms < s->end_ms) {
            i++;
            continue;
        }
        hide(ll, s->tenant, s->kind);
        shown_remove(ll, s); /* the last one moves here: look at i again */
    }
}

void llmlimit_count_throttled(struct llmlimit *ll, const char *provider, const char *reason)
{
    char p[160], labels[220];
    metrics_label_escape(provider ? provider : "", p, sizeof p);
    snprintf(labels, sizeof labels, "provider=\"%s\",reason=\"%s\"", p, reason);
    metrics_add(metrics_series(ll->f_throttled, labels), 1);
}
