/* serve_llm: the OpenAI-compatible sync edge of the serve role, with the
 * tenant's API key as the bearer: POST /v1/chat/completions (plain, or
 * relayed event by event when the body says "stream": true),
 * POST /v1/embeddings, GET /v1/models and GET /v1/models/{id}. The calls
 * themselves are core/llm's (the same as work's llm.* jobs). */
#ifndef INGOT_SERVE_LLM_H
#define INGOT_SERVE_LLM_H

#include "llm_types.h"

struct httpd;
struct serve_jobs;

/* Adds the routes (borrows both). */
void serve_llm_routes(struct httpd *h, struct serve_jobs *sj);

/* The sync call of c's body to endpoint ep (plain, or streamed when the
 * body says so), answered on c (which it frees). For another route of the
 * same edge (serve_responses: POST /v1/responses without background). */
struct v1;
void serve_llm_sync(struct v1 *c, enum llm_endpoint ep);

#endif
