/* serve_messages: POST /v1/messages, Anthropic's Messages API for clients
 * on the Anthropic SDK (or any tool that takes an Anthropic base URL),
 * plain or streamed, with the same keys (x-api-key or Authorization:
 * Bearer), admission, budgets, usage and provider throttling as the
 * OpenAI edge. Passed through to anthropic providers, translated for
 * openai ones (core/llm_msgs*). Errors in Anthropic's shape. */
#ifndef INGOT_SERVE_MESSAGES_H
#define INGOT_SERVE_MESSAGES_H

struct httpd;
struct serve_jobs;

/* Adds the route (borrows both). */
void serve_messages_routes(struct httpd *h, struct serve_jobs *sj);

#endif
