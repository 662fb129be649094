/* llm_msgs_req: Anthropic's Messages API (POST /v1/messages) on any
 * provider, the request side: the checks of a Messages body and its
 * translation to an OpenAI chat completions request. Pure (JSON in, JSON
 * out). The answers: llm_msgs_resp; streams: llm_msgs_stream; the other
 * direction (OpenAI clients on Anthropic providers): llm_anthropic*. */
#ifndef INGOT_LLM_MSGS_REQ_H
#define INGOT_LLM_MSGS_REQ_H

#include <stdbool.h>
#include <stddef.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;

/* Anthropic's max_tokens is an int32. */
#define MSGS_MAX_TOKENS_CAP 2147483647LL

/* Checks a Messages body beyond its model (llm_check routes that):
 * max_tokens a whole number >= 1, messages a non-empty array of user and
 * assistant turns whose content is a string or blocks of the known
 * types, system a string or text blocks, stream a boolean, temperature,
 * top_p and top_k numbers, stop_sequences strings, tools named with an
 * input_schema object, tool_choice auto|any|tool(name)|none, metadata an
 * object. -1 with param (Anthropic's spelling: "messages.0.content.1.type")
 * and why. */
int msgs_check(const struct cJSON *body, char *param, size_t paramlen, char *why, size_t whylen) ATTR_WUR;

/* The chat completions request for a (checked) Messages body, its model
 * set to upstream_model: system -> a system message, text/image/tool_use/
 * tool_result blocks -> content parts, tool_calls and role:tool messages,
 * tools -> functions, tool_choice, stop_sequences -> stop, max_tokens,
 * temperature, top_p, metadata.user_id -> user, stream with
 * stream_options.include_usage. top_k, thinking and cache_control have no
 * equivalent and are dropped. -1 with param and why when a block cannot
 * be translated (documents, server tools). */
int msgs_to_chat(const struct cJSON *body, const char *upstream_model, struct sbuf *out, char *param, size_t paramlen,
                 char *why, size_t whylen) ATTR_WUR;

#endif
