/* llm_anthropic_resp: Anthropic Messages responses and errors in OpenAI's
 * shapes, and the usage/id helpers the stream translation shares. Pure. */
#ifndef INGOT_LLM_ANTHROPIC_RESP_H
#define INGOT_LLM_ANTHROPIC_RESP_H

#include <stddef.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;
struct anth_counts; /* llm_anthropic_int.h */

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

/* For the llm_anthropic*.c family (struct anth_counts: llm_anthropic_int.h). */
/* Updates c with the counts present in an Anthropic usage object (the
 * absent ones keep their value: message_delta's usage is cumulative and
 * may name only output_tokens). Counts beyond 10^15 or not whole are
 * ignored. */
void anth_counts_read(const struct cJSON *usage, struct anth_counts *c);
/* OpenAI's view: prompt = input + cache reads + cache writes, cached =
 * cache reads, completion = output, reasoning not reported (-1). prompt
 * and completion are -1 while input/output are unknown. */
void anth_counts_usage(const struct anth_counts *c, struct llm_usage *u);
/* Appends OpenAI's usage object (unknowns as 0). */
void anth_usage_json(struct sbuf *b, const struct llm_usage *u);
/* Appends "chatcmpl-" + the Anthropic message id as a JSON string. */
void anth_id_json(struct sbuf *b, const char *anthropic_id);

#endif
