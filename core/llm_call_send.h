/* llm_call_send: a call's provider leg (the request, the answer's head and
 * body callbacks), for llm_call.c. Nothing else includes it. */
#ifndef INGOT_LLM_CALL_SEND_H
#define INGOT_LLM_CALL_SEND_H

struct httpc_response;
struct llm_call;

/* SEND: the request to c's provider; a request that cannot start finishes
 * c (502). */
void llm_call_send(struct llm_call *c);
/* The HTTP client's callback for the answer (arg: the call); also the key
 * llm_http_abort finds the call's transfer by. */
void llm_call_resp_cb(const struct httpc_response *resp, void *arg);

#endif
