/* llmlimit_gauge: the budget gauges (remaining beside the limit, USD
 * scaled, other counters ignored, a removed budget hidden) and their end
 * with the period they were seen in, so an idle process does not report
 * yesterday's nearly spent budget. */
#include <stdlib.h>

#include "llmlimit_int.h"
#include "metrics.h"
#include "util.h"
#include "../testhelp.h"

static char *render(struct metrics *m)
{
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(m, &b);
    return b.data; /* owned by the caller */
}

static int has(struct metrics *m, const char *line)
{
    char *s = render(m);
    int r = strstr(s, line) != NULL;
    free(s);
    return r;
}

int main(void)
{
    struct metrics *m = metrics_new();
    struct llmlimit ll = {0};
    llmlimit_gauge_init(&ll, m);
    /* The limits as read: tenants 0-39 have day, month and USD budgets
     * (sorted by tenant, key 0: the tenant's own), tenant 9 none. */
    struct lim_row rows[40] = {{0}};
    for (int t = 0; t < 40; t++) {
        rows[t].tenant = (uint64_t)t;
        for (int k = 0; k < CK_N; k++)
            rows[t].l.v[k] = k >= CK_DAY && t != 9 ? 1 : -1;
    }
    ll.lims = rows;
    ll.nlims = 40;
    int64_t now = time_real_us() / 1000;

    llmlimit_set_remaining(&ll, 7, CK_DAY, 100000, 95000);
    test_cond("remaining", has(m, "ingot_llm_budget_remaining{tenant=\"7\",budget=\"tokens_day\"} 5000\n"));
    test_cond("limit beside it", has(m, "ingot_llm_budget_limit{tenant=\"7\",budget=\"tokens_day\"} 100000\n"));
    llmlimit_set_remaining(&ll, 7, CK_DAY, 100000, 120000);
    test_cond("overspent: 0 left", has(m, "ingot_llm_budget_remaining{tenant=\"7\",budget=\"tokens_day\"} 0\n"));
    llmlimit_set_remaining(&ll, 7, CK_USD, 12500000000LL, 2500000000LL);
    test_cond("USD scaled", has(m, "ingot_llm_budget_remaining{tenant=\"7\",budget=\"usd_month\"} 10\n"));
    test_cond("USD limit scaled", has(m, "ingot_llm_budget_limit{tenant=\"7\",budget=\"usd_month\"} 12.5\n"));
    llmlimit_set_remaining(&ll, 8, CK_MON, 1000, 10);
    llmlimit_set_remaining(&ll, 9, CK_RPM, 10, 1);
    llmlimit_set_remaining(&ll, 9, CK_DAY, -1, 1);
    test_cond("rate windows and unlimited budgets are not gauges", !has(m, "tenant=\"9\""));
    llmlimit_set_remaining(&ll, 9, CK_MON, 1000, 1);
    llmlimit_set_remaining(&ll, 50, CK_DAY, 1000, 1);
    test_cond("a late answer for a budget removed since shows nothing", !has(m, "tenant=\"9\"") &&
              !has(m, "tenant=\"50\""));
    test_cond("three budgets tracked", ll.nshown == 3);

    llmlimit_gauge_expire(&ll, now);
    test_cond("still shown within the period", has(m, "ingot_llm_budget_remaining{tenant=\"7\",budget=\"tokens_day\"}"));
    /* Two days on: the day budget's period is over, the months maybe not
     * (a month ends at least a day later than the day it was seen). */
    struct period p;
    llmlimit_period(&p, now);
    llmlimit_gauge_expire(&ll, p.day_end_ms);
    test_cond("the day's gauges hidden at the day's end",
              !has(m, "budget=\"tokens_day\"") && ll.nshown == (p.month_end_ms == p.day_end_ms ? 0u : 2u));
    test_cond("the month's kept until the month's end", p.month_end_ms == p.day_end_ms ||
              has(m, "ingot_llm_budget_remaining{tenant=\"8\",budget=\"tokens_month\"} 990\n"));
    llmlimit_gauge_expire(&ll, p.month_end_ms);
    test_cond("every gauge hidden at the month's end", !has(m, "ingot_llm_budget_remaining{") &&
              !has(m, "ingot_llm_budget_limit{") && ll.nshown == 0);
    llmlimit_set_remaining(&ll, 7, CK_DAY, 100000, 1);
    test_cond("seen again: shown again", has(m, "ingot_llm_budget_remaining{tenant=\"7\",budget=\"tokens_day\"} 99999\n"));
    llmlimit_set_remaining(&ll, 7, CK_DAY, -2, 0);
    test_cond("a removed budget is hidden and forgotten", !has(m, "ingot_llm_budget_limit{") && ll.nshown == 0);

    for (int t = 0; t < 40; t++) /* the table grows */
        llmlimit_set_remaining(&ll, (uint64_t)t, CK_DAY, 10, 1);
    test_cond("the 39 with a budget tracked", ll.nshown == 39);
    llmlimit_gauge_expire(&ll, p.day_end_ms + 86400000);
    test_cond("all expire", ll.nshown == 0 && !has(m, "ingot_llm_budget_remaining{"));

    llmlimit_count_throttled(&ll, "a\"b", "limit");
    test_cond("throttled, provider escaped", has(m, "ingot_llm_throttled_total{provider=\"a\\\"b\",reason=\"limit\"} 1\n"));
    llmlimit_gauge_free(&ll);
    ll.lims = NULL; /* on the stack */
    metrics_free(m);
    test_report();
}
