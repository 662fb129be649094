/* llm_anthropic: OpenAI chat completions <-> Anthropic Messages. Pure
 * (JSON in, JSON out), so it is unit-tested and fuzzed on its own.
 * Requests: system/developer messages hoisted to `system`, consecutive
 * same-role turns merged, max_tokens (or max_completion_tokens, else the
 * default), stop -> stop_sequences, tools, tool_choice, tool calls and
 * role:tool results. Responses, stream events and errors back to OpenAI's
 * shapes; usage with cache tokens counted into prompt_tokens. */
#ifndef INGOT_LLM_ANTHROPIC_H
#define INGOT_LLM_ANTHROPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;

#define ANTHROPIC_VERSION "2023-06-01"

/* The Messages request for an OpenAI chat body, with model set to
 * upstream_model and stream as the body says. -1 with param (the OpenAI
 * field, e.g. "messages[2].content") and why when it cannot be
 * translated (an unsupported content part, n > 1, ...); out untouched.
 * Fields Anthropic has no equivalent for (seed, logit_bias, stream_options,
 * a user message's name, ...) are dropped; `user` becomes
 * metadata.user_id; tool_choice without tools is dropped (Anthropic
 * refuses it); empty text parts are dropped (Anthropic refuses those). */
int anth_request(const struct cJSON *openai_body, const char *upstream_model, long long default_max_tokens,
                 struct sbuf *out, char *param, size_t paramlen, char *why, size_t whylen) ATTR_WUR;

/* A Messages response (200) as a chat.completion; model: the name the
 * client asked for; created: Unix seconds. usage filled. -1 when body is
 * not a Messages response (why). */
int anth_response(const char *body, size_t len, const char *model, long long created, struct sbuf *out,
                  struct llm_usage *usage, char *why, size_t whylen) ATTR_WUR;

/* Anthropic's stop_reason as OpenAI's finish_reason (end_turn,
 * stop_sequence, pause_turn -> stop; max_tokens,
 * model_context_window_exceeded -> length; tool_use -> tool_calls;
 * refusal -> content_filter; NULL or anything else -> stop). */
const char *anth_finish_reason(const char *stop_reason);

/* An Anthropic error answer (any status, body possibly not JSON) as
 * OpenAI's {"error":{message,type,param,code}}; *status_out: the status
 * for the client (529 overloaded -> 503, others kept). */
void anth_error(int status, const char *body, size_t len, struct sbuf *out, int *status_out);

/* Stream translation: one Anthropic SSE event in, zero or more
 * "data: {chat.completion.chunk}\n\n" out (an `error` event becomes
 * "data: {\"error\":...}\n\n"). The final usage chunk (choices: [] and
 * usage) is emitted at message_stop only when include_usage. */
struct anth_stream;
struct anth_stream *anth_stream_new(const char *model, long long created, bool include_usage);
void anth_stream_free(struct anth_stream *s);
/* 0; 1 when the stream ended (message_stop, or an error event; later
 * events give 1 and nothing); -1 on a malformed event (why): data not a
 * JSON object, a block index outside [0, 4095], a block started twice,
 * a delta for a block never started. ping, content_block_stop, thinking
 * blocks and event types Anthropic adds later write nothing. event may be
 * "" (the data's "type" is used). */
int anth_stream_event(struct anth_stream *s, const char *event, const char *data, size_t len,
                      struct sbuf *out, char *why, size_t whylen) ATTR_WUR;
/* Usage so far (message_start's input and cache counts, message_delta's
 * cumulative output): valid after a disconnect too. */
void anth_stream_usage(const struct anth_stream *s, struct llm_usage *u);

#endif
