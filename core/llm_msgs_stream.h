/* llm_msgs_stream: one /v1/messages stream, a chat completions stream
 * translated to Messages events, or an Anthropic stream passed through
 * with its usage read. Pure. */
#ifndef INGOT_LLM_MSGS_STREAM_H
#define INGOT_LLM_MSGS_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;

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
