/* llm_settle: a call's reservation settled and its usage recorded, once
 * per call that reached a provider (llm_call.c calls it). */
#ifndef INGOT_LLM_SETTLE_H
#define INGOT_LLM_SETTLE_H

#include <stdbool.h>

struct llm_call;

/* client_status: what the client was answered (499: it went away).
 * cancelled: the usage is what was produced so far. */
void llm_settle(struct llm_call *c, int client_status, bool cancelled);

#endif
