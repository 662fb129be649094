/* llm_resp_relay: a Responses call (LLM_EP_RESPONSES) inside the engine:
 * passed through to providers that speak the Responses API (openai: the
 * body with the model renamed, to /responses; the answer and every stream
 * event relayed as they come, usage read from the response object), or
 * translated for those that do not (openai-chat: to chat completions;
 * anthropic: to chat completions, then to Messages by llm_anthropic) with
 * the answer made a Response object. For the llm*.c family. */
#ifndef INGOT_LLM_RESP_RELAY_H
#define INGOT_LLM_RESP_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct llm_call;
struct sbuf;

/* c->up_body for the body (and c->resp_pass). -1 with param and why (a 400). */
int llm_resp_route(struct llm_call *c, const struct cJSON *body, char *param, size_t paramlen, char *why,
                   size_t whylen);
/* The provider's path for the call ("/responses" when passed through). */
const char *llm_resp_path(const struct llm_call *c);
/* One provider event of a passed-through stream: 0 go on, -1 stop. */
int llm_resp_event(struct llm_call *c, const char *event, const char *data, size_t len);
/* A 2xx answer into c->res_body as a Response object; false when it is
 * not one (why set). */
bool llm_resp_body(struct llm_call *c, const char *body, size_t len, char *why, size_t whylen);
/* A translated stream begins (c->rstream). */
void llm_resp_stream_begin(struct llm_call *c);
/* One or more chat events ("data: ...\n\n", as the chat relay emits
 * them) to the client as Responses events; Responses-shaped ones
 * ("event: ...") pass as they are. false when the client went away. */
bool llm_resp_emit(struct llm_call *c, const char *data, size_t len);
/* A Responses stream's error event (type error) into b, numbered seq. */
void llm_resp_error_event(struct sbuf *b, const char *msg, const char *code, long long seq);
/* The sequence_number of an error event of ingot's that ends c's stream:
 * after every event the client got (translated or passed through). */
long long llm_resp_end_seq(struct llm_call *c);

#endif
