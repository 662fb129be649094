/* llm_resp_out: Responses API answers: a chat completion translated into
 * a Response object (for providers that speak chat completions only), and
 * the Responses usage object read and written. Pure. */
#ifndef INGOT_LLM_RESP_OUT_H
#define INGOT_LLM_RESP_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;

/* A chat completion (OpenAI's shape: what an openai-chat provider answers,
 * or what llm_anthropic made of a Message) into a Response object in out:
 * id "resp_" + the completion's id, status completed (incomplete with
 * incomplete_details.reason max_output_tokens or content_filter when the
 * answer was cut), output a message with output_text (and refusal) and one
 * function_call item per tool call, usage in the Responses shape, and the
 * request's instructions, tools, tool_choice, text, metadata and model (as
 * the client sent it) echoed. req: the client's Responses body. -1 with
 * why when chat is not a completion. */
int resp_from_chat(const char *chat, size_t len, const struct cJSON *req, const char *model, long long now_s,
                   struct sbuf *out, char *why, size_t whylen) ATTR_WUR;

/* The id of an item made from chat completion chat_id: "prefix_" + the
 * id without its "chatcmpl-" (+ "_n" when n > 0); a response's is
 * "resp_chat_" + digits when those are all digits (never a background
 * response's "resp_N"). Returns owned. Plain answers and streams name
 * their items alike with it. */
char *resp_item_id(const char *prefix, const char *chat_id, int n);

/* The Responses usage object {input_tokens, input_tokens_details
 * {cached_tokens}, output_tokens, output_tokens_details
 * {reasoning_tokens}} into out (false when it is not one). */
bool resp_usage_parse(const struct cJSON *usage, struct llm_usage *out);
/* u as a Responses usage object, appended to out. */
void resp_usage_json(const struct llm_usage *u, struct sbuf *out);

#endif
