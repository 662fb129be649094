/* llm_resp_req: a Responses API request (POST /v1/responses) checked, and
 * translated to a chat completions request for providers that do not
 * speak the Responses API (openai-chat, and anthropic through the
 * chat -> Messages translation after this one). Only the stateless subset
 * translates: input (text, messages, function_call and
 * function_call_output items), instructions, function tools, tool_choice,
 * max_output_tokens, text.format, temperature, top_p, user, store. What
 * needs OpenAI's own state or tools (previous_response_id, conversation,
 * built-in tools) is refused naming the field and why. Pure. */
#ifndef INGOT_LLM_RESP_REQ_H
#define INGOT_LLM_RESP_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;

/* What every Responses body must be, whatever the provider: input given
 * (a string or an array), stream and background booleans,
 * max_output_tokens a whole number >= 16 (OpenAI's floor), metadata an
 * object. -1 with param and why (a 400). */
int resp_check(const struct cJSON *body, char *param, size_t paramlen, char *why, size_t whylen) ATTR_WUR;

/* The chat completions request for body (an object resp_check passed), the
 * model set to upstream_model, never streamed. Returns owned, or NULL with
 * param and why (a 400: what cannot be translated and why). */
struct cJSON *resp_to_chat(const struct cJSON *body, const char *upstream_model, char *param, size_t paramlen,
                           char *why, size_t whylen);

#endif
