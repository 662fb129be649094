/* llm_relay: a call's answer, relayed (stream events, translated or
 * passed through) or collected into its result. For the llm*.c family. */
#ifndef INGOT_LLM_RELAY_H
#define INGOT_LLM_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct httpc_header;
struct llm_call;
struct llm_usage;

int llm_relay_head(struct llm_call *c, long status, const struct httpc_header *h, size_t n);
int llm_relay_data(struct llm_call *c, const char *buf, size_t len);
/* A finished non-streamed answer (status 2xx or error) into c->res: the
 * one read by llm_relay when it did (then body is ignored). */
void llm_relay_body(struct llm_call *c, long status, const char *body, size_t len);
/* A non-streamed answer refused while it arrived: over the process-wide
 * LLM_BUFFER_MAX (503, retryable, retry-after) or the call's own bound
 * (502), into c->res; false when it was not. */
bool llm_relay_refused(struct llm_call *c);
/* The answer's bytes given back to the budget (idempotent: call_free). */
void llm_relay_release(struct llm_call *c);
/* Bytes of answers held by this process now (tests, metrics). */
size_t llm_relay_held(void);
/* The stream ended (error: why it ended early, or NULL). */
void llm_relay_stream_end(struct llm_call *c, const char *error);
/* The usage so far of a call that is cancelled or cut (estimates). */
void llm_relay_usage_so_far(struct llm_call *c, struct llm_usage *u);

#endif
