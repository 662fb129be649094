/* serve_bulk: POST /v1/jobs/cancel and POST /v1/jobs/retry, a filter's
 * jobs changed in batches (jobbulk) with the single-job rules, answered
 * with the counts once done. Internal to serve. */
#ifndef INGOT_SERVE_BULK_H
#define INGOT_SERVE_BULK_H

#include <stddef.h>

struct httpd;
struct serve_jobs;

void serve_bulk_routes(struct httpd *h, struct serve_jobs *sj);
/* Stops the bulk changes running: each answers after its batch in flight. */
void serve_bulk_drain(struct serve_jobs *sj);
#endif
