/* llm_call: one call's state machine (ROUTE -> ADMIT -> SEND -> BODY |
 * STREAM -> SETTLE -> DONE). llm_call_start, llm_call_cancel and llm_close
 * are the engine's public face in llm.h; this header holds what the llm*.c
 * family calls (struct llm_call itself: llm_priv.h). */
#ifndef INGOT_LLM_CALL_H
#define INGOT_LLM_CALL_H

#include <stddef.h>

#include "llm.h"

struct httpc_header;

/* The named states of one call (memcached's conn states): every change
 * goes through call_set_state, which traces it. */
enum llm_call_state {
    CALL_ROUTE,     /* parse the body, resolve the model to a provider */
    CALL_ADMIT,     /* llmlimit_reserve in flight */
    CALL_WAIT,      /* sync: held by a limit, re-trying after retry_after_ms */
    CALL_SEND,      /* the request is on the curl multi, no answer yet */
    CALL_BODY,      /* a non-streamed answer (or an error) is being read */
    CALL_STREAM,    /* a 200 stream is being relayed event by event */
    CALL_SETTLE,    /* the answer is in: headers, usage, ticket, ledger */
    CALL_DONE,      /* done is due (deferred out of llm_call_start) */
    CALL_CANCELLED  /* the client went away: waiting only for llmlimit's answer */
};
const char *llm_call_state_name(enum llm_call_state s);
void llm_call_set_state(struct llm_call *c, enum llm_call_state s);

/* Reads the answer's headers once (head, or the end when head never ran):
 * rate limits to llmlimit at once (a long stream's hold counts from its
 * start), the provider's request id. */
void llm_call_headers(struct llm_call *c, const struct httpc_header *h, size_t n);
/* Sets a transport/our error result: status, outcome, an OpenAI error body. */
void llm_call_fail(struct llm_call *c, enum llm_outcome o, int status, const char *type, const char *param,
                   const char *code, const char *msg);

/* Frees a call whatever its state, without a callback, a transfer or a
 * record (llm_free after llm_close). */
void llm_call_discard(struct llm_call *c);

#endif
