/* serve_llm: the OpenAI-compatible sync edge of the serve role, with the
 * tenant's API key as the bearer: POST /v1/chat/completions (plain, or
 * relayed event by event when the body says "stream": true),
 * POST /v1/embeddings, GET /v1/models and GET /v1/models/{id}. The calls
 * themselves are core/llm's (the same as work's llm.* jobs). */
#ifndef INGOT_SERVE_LLM_H
#define INGOT_SERVE_LLM_H

struct httpd;
struct serve_jobs;

/* Adds the routes (borrows both). */
void serve_llm_routes(struct httpd *h, struct serve_jobs *sj);

#endif
