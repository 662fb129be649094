/* llm_resp_stream: a chat completions stream (OpenAI's chunks: what an
 * openai-chat provider sends, or what llm_anthropic_stream made of
 * Anthropic's events) translated into a Responses stream, event by event:
 * response.created and response.in_progress first; a message item
 * (output_item.added, content_part.added, output_text.delta per piece,
 * output_text.done, content_part.done, output_item.done); a function_call
 * item per tool call (function_call_arguments.delta per piece, .done);
 * and at the chat's [DONE] response.completed (or response.incomplete)
 * carrying the whole Response object (llm_resp_out's, so a stream and a
 * plain answer agree, ids included) with its usage. Pure. */
#ifndef INGOT_LLM_RESP_STREAM_H
#define INGOT_LLM_RESP_STREAM_H

#include <stddef.h>

#include "util.h"

struct resp_stream;

/* model: as the client sent it; req: the client's Responses body (copied,
 * echoed in the final object). Returns owned. */
struct resp_stream *resp_stream_new(const char *model, const char *req, size_t req_len);
void resp_stream_free(struct resp_stream *s);

/* One chat event's data (a chunk's JSON, "[DONE]", or {"error":...}): the
 * Responses events it makes, appended to out ("event: T\ndata: J\n\n"
 * each). 0: go on; 1: the stream is complete (the final event is in out);
 * 2: an error event was written (the stream ends); -1: malformed (nothing
 * written). */
int resp_stream_chunk(struct resp_stream *s, const char *data, size_t len, long long now_s, struct sbuf *out);
/* The sequence number for an error event of the caller's, which ends the
 * stream: the next one (the SDK orders events by it); nothing follows. */
long long resp_stream_end_seq(struct resp_stream *s);

#endif
