/* llm_msgs: Anthropic's Messages API (POST /v1/messages) on any provider.
 * Pure (JSON in, JSON out): the checks of a Messages body, its
 * translation to an OpenAI chat completions request, the chat completion
 * answer back as a Message, a chat completions stream as Messages events,
 * an Anthropic stream's usage read as it is passed through, and errors in
 * Anthropic's shape. The other direction (OpenAI clients on Anthropic
 * providers) is llm_anthropic*. */
#ifndef INGOT_LLM_MSGS_H
#define INGOT_LLM_MSGS_H

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

/* llm_msgs_resp.c */
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

/* llm_msgs_stream.c: one stream's translation or reading. */
struct msgs_stream;
/* passthrough: the provider speaks Messages (events relayed as they
 * are, usage read); else chat completions chunks are translated. model:
 * the name the client asked for (translated streams). */
struct msgs_stream *msgs_stream_new(const char *model, bool passthrough);
void msgs_stream_free(struct msgs_stream *s);
/* One provider event in (event: its SSE event name or ""), zero or more
 * "event: X\ndata: {...}\n\n" blocks out. 0; 1 when the stream ended
 * (message_stop relayed, or [DONE] translated into message_delta and
 * message_stop); 2 when the event is the provider's error (relayed or
 * translated as an `error` event: the stream is over); -1 malformed (why).
 * *deltas: text or tool-input deltas written (about a token each). */
int msgs_stream_event(struct msgs_stream *s, const char *event, const char *data, size_t len, struct sbuf *out,
                      long long *deltas, char *why, size_t whylen) ATTR_WUR;
/* Usage so far (OpenAI's accounting; -1 where not said yet). */
void msgs_stream_usage(const struct msgs_stream *s, struct llm_usage *u);
/* "event: error\ndata: {...}\n\n" for type and message into out. */
void msgs_error_event(struct sbuf *out, const char *type, const char *message);

#endif
