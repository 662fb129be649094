/* llm_relay: a call's answer, relayed (stream events, translated or
 * passed through) or collected into its result. For the llm*.c family. */
#ifndef INGOT_LLM_RELAY_H
#define INGOT_LLM_RELAY_H

#include <stddef.h>

struct httpc_header;
struct llm_call;
struct llm_usage;

int llm_relay_head(struct llm_call *c, long status, const struct httpc_header *h, size_t n);
int llm_relay_data(struct llm_call *c, const char *buf, size_t len);
/* A finished non-streamed answer (status 2xx or error) into c->res. */
void llm_relay_body(struct llm_call *c, long status, const char *body, size_t len);
/* The stream ended (error: why it ended early, or NULL). */
void llm_relay_stream_end(struct llm_call *c, const char *error);
/* The usage so far of a call that is cancelled or cut (estimates). */
void llm_relay_usage_so_far(struct llm_call *c, struct llm_usage *u);

#endif
