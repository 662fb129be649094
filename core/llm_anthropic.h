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

/* llm_anthropic_resp.c: responses and errors; llm_anthropic_stream.c:
 * stream events. Their headers are part of this family's face. */
#include "llm_anthropic_resp.h"
#include "llm_anthropic_stream.h"

#endif
