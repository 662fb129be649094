/* serve_responses: OpenAI's Responses API on the serve role's edge.
 * POST /v1/responses runs at once (serve_llm's sync call: passed through
 * or translated by the engine, plain or streamed), or, with "background":
 * true, becomes a durable llm.response job answered at once with the
 * Response object in status queued (id "resp_" + the job's id);
 * GET /v1/responses/{id} shows it (queued, in_progress, completed,
 * incomplete, failed, cancelled) and POST /v1/responses/{id}/cancel
 * cancels it (a running call is stopped). A tenant sees only its own. */
#ifndef INGOT_SERVE_RESPONSES_H
#define INGOT_SERVE_RESPONSES_H

struct httpd;
struct serve_jobs;

/* Adds the routes (borrows both). */
void serve_responses_routes(struct httpd *h, struct serve_jobs *sj);

#endif
