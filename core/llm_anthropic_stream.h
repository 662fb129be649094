/* llm_anthropic_stream: Anthropic SSE events as OpenAI chunks. Pure. */
#ifndef INGOT_LLM_ANTHROPIC_STREAM_H
#define INGOT_LLM_ANTHROPIC_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "llm_types.h"
#include "util.h"

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
