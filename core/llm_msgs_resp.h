/* llm_msgs_resp: a chat completion answer as an Anthropic Message, an
 * Anthropic answer's usage, and errors in Anthropic's shape. Pure. */
#ifndef INGOT_LLM_MSGS_RESP_H
#define INGOT_LLM_MSGS_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;

/* A chat.completion (200) as a Message; model: the name the client asked
 * for. usage filled (OpenAI's accounting). -1 when body is not a chat
 * completion (why). */
int msgs_from_chat(const char *body, size_t len, const char *model, struct sbuf *out, struct llm_usage *usage,
                   char *why, size_t whylen) ATTR_WUR;
/* OpenAI's finish_reason as Anthropic's stop_reason (stop -> end_turn,
 * length -> max_tokens, tool_calls/function_call -> tool_use,
 * content_filter -> refusal; NULL or anything else -> end_turn). */
const char *msgs_stop_reason(const char *finish_reason);
/* The usage of an Anthropic Messages answer's `usage` object, in
 * OpenAI's accounting (cache reads and writes counted into prompt). */
void msgs_anth_usage(const struct cJSON *usage, struct llm_usage *u);
/* Anthropic's error type for an HTTP status (400 invalid_request_error,
 * 401 authentication_error, 403 permission_error, 404 not_found_error,
 * 413 request_too_large, 429 rate_limit_error, 503/529 overloaded_error,
 * other 5xx api_error). */
const char *msgs_error_type(int status);
/* {"type":"error","error":{"type":type,"message":message}} into out. */
void msgs_error_json(struct sbuf *out, const char *type, const char *message);
/* Any error body (OpenAI's {"error":{message,param,...}}, Anthropic's own,
 * or not JSON) in Anthropic's shape for status: an Anthropic error is
 * kept, an OpenAI one's message is prefixed with its param when it does
 * not name it already. */
void msgs_error_from(int status, const char *body, size_t len, struct sbuf *out);

#endif
