/* serve_batch: POST /v1/jobs/batch, all or nothing, idempotent under an
 * Idempotency-Key. */
#ifndef INGOT_SERVE_BATCH_H
#define INGOT_SERVE_BATCH_H

struct httpd;
struct serve_jobs;

void serve_batch_routes(struct httpd *h, struct serve_jobs *sj);

#endif
