/* rcache_sse: the response cache's two conversions between a chat
 * completion and its stream. A streamed request answered from the cache
 * gets the events a provider would have sent (rcache_sse_events); a
 * streamed answer is stored as the completion its chunks add up to
 * (rcache_acc), so streamed and plain requests share entries. */
#ifndef INGOT_RCACHE_SSE_H
#define INGOT_RCACHE_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct rcache_acc;

/* "data: {chunk}\n\n" events for a chat.completion JSON (not [DONE]): per
 * choice its role, content, refusal and tool calls in one chunk, then its
 * finish_reason, then (include_usage) the usage chunk. -1 when json is not
 * a chat completion. */
int rcache_sse_events(const char *json, size_t len, bool include_usage, struct sbuf *out) ATTR_WUR;

struct rcache_acc *rcache_acc_new(void);
void rcache_acc_free(struct rcache_acc *a);
/* One relayed event ("data: ...\n\n"); [DONE] and comments are ignored. */
void rcache_acc_event(struct rcache_acc *a, const char *data, size_t len);
/* The chat.completion the chunks add up to, with usage_json (the call's
 * usage object, or NULL), owned; NULL when it cannot be trusted (an error
 * event, logprobs, a chunk not understood). */
char *rcache_acc_finish(struct rcache_acc *a, const char *usage_json, size_t *len);

#endif
