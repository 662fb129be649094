/* llmlimit_gauge: the LLM limits' metrics. ingot_llm_budget_remaining and
 * ingot_llm_budget_limit per tenant budget, as this process last saw them,
 * hidden once the period they were seen in has ended (an idle process
 * would otherwise show yesterday's nearly spent budget all day), and
 * ingot_llm_throttled_total. Internal to llmlimit. */
#ifndef INGOT_LLMLIMIT_GAUGE_H
#define INGOT_LLMLIMIT_GAUGE_H

#include <stdint.h>

struct llmlimit;
struct metrics;

void llmlimit_gauge_init(struct llmlimit *ll, struct metrics *m);
void llmlimit_gauge_free(struct llmlimit *ll);
/* A budget counter's value (kind CK_DAY, CK_MON or CK_USD; others are
 * ignored); lim -1: no budget (ignored), -2: the budget is gone (hidden). */
void llmlimit_set_remaining(struct llmlimit *ll, uint64_t tenant, int kind, long long lim, long long used);
/* Hides the gauges of periods that have ended (called every refresh). */
void llmlimit_gauge_expire(struct llmlimit *ll, int64_t now_ms);
void llmlimit_count_throttled(struct llmlimit *ll, const char *provider, const char *reason);

#endif
