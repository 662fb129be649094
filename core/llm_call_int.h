/* llm_call_int: what llm_call.c (the call's states: route, admit, finish,
 * cancel) and llm_call_send.c (its provider leg: the request and the
 * answer's callbacks) share. Not a public face: nothing outside those two
 * files includes it. */
#ifndef INGOT_LLM_CALL_INT_H
#define INGOT_LLM_CALL_INT_H

#include "llm_call.h"

struct llm_call;

/* Unlinks and frees c (no callback, no record). */
void llm_call_free(struct llm_call *c);
/* Hands the result to done (later when still inside llm_call_start), then
 * settles when the answer came from a provider, and frees the call. */
void llm_call_finish(struct llm_call *c);

#endif
