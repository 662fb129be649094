/* serve_batches: OpenAI's Batch API: POST /v1/batches, GET /v1/batches,
 * GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. A tenant sees only
 * its own batches. The lines run in the work role as llm.* jobs released
 * and finalized by the leading scheduler (schedule_batches.h). */
#ifndef INGOT_SERVE_BATCHES_H
#define INGOT_SERVE_BATCHES_H

struct httpd;
struct serve_jobs;

/* Adds the routes (their context is sj). */
void serve_batches_routes(struct httpd *h, struct serve_jobs *sj);

#endif
