/* serve_usage: the tenant's LLM limits and usage over /v1:
 * GET /v1/limits (limits, what is left, resets) and
 * GET /v1/usage?from=&to=&group_by=model|day|key (the ledger, grouped). */
#ifndef INGOT_SERVE_USAGE_H
#define INGOT_SERVE_USAGE_H

struct httpd;
struct serve_jobs;

void serve_usage_routes(struct httpd *h, struct serve_jobs *sj);

#endif
