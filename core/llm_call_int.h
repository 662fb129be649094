/* llm_call_int: what llm_call.c (the call's states: route, admit, finish,
 * cancel) and llm_call_send.c (its provider leg: the request and the
 * answer's callbacks) share. Not a public face: nothing outside those two
 * files includes it. */
#ifndef INGOT_LLM_CALL_INT_H
#define INGOT_LLM_CALL_INT_H

#include "llm_call.h"

struct httpc_response;
struct llm_call;

/* Unlinks and frees c (no callback, no record). */
void llm_call_free(struct llm_call *c);
/* Hands the result to done (later when still inside llm_call_start), then
 * settles when the answer came from a provider, and frees the call. */
void llm_call_finish(struct llm_call *c);
/* SEND: the request to c's provider; a request that cannot start finishes
 * c (502). */
void llm_call_send(struct llm_call *c);
/* The HTTP client's callback for the answer (arg: the call); also the key
 * llm_http_abort finds the call's transfer by. */
void llm_call_resp_cb(const struct httpc_response *resp, void *arg);

#endif
