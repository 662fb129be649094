/* llm_msgs_relay: a Messages call (LLM_EP_MESSAGES) inside the engine:
 * its upstream request (passed through to anthropic providers with the
 * model renamed, translated for openai ones), its headers, and its answer
 * (a plain one, or a stream event by event) for an Anthropic client. For
 * the llm*.c family. */
#ifndef INGOT_LLM_MSGS_RELAY_H
#define INGOT_LLM_MSGS_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct llm_call;
struct sbuf;

/* c->up_body for the body. -1 with param and why (a 400). */
int llm_msgs_route(struct llm_call *c, const struct cJSON *body, char *param, size_t paramlen, char *why,
                   size_t whylen);
/* The header to send for one of provider_auth_headers' (the client's
 * anthropic-version instead of the default); buf holds a rewritten one. */
const char *llm_msgs_auth_header(const struct llm_call *c, const char *h, char *buf, size_t n);
/* The client's anthropic-beta header for an anthropic provider into buf:
 * false when none goes. */
bool llm_msgs_beta_header(const struct llm_call *c, char *buf, size_t n);
/* The stream's state, when its 200 began. */
void llm_msgs_stream_begin(struct llm_call *c);
/* One provider event: 0 go on, -1 stop (ended by an error, the client
 * left, or malformed: an error event was sent). */
int llm_msgs_event(struct llm_call *c, const char *event, const char *data, size_t len);
/* A 2xx answer into c->res (a Message); false when it is not one. */
bool llm_msgs_body(struct llm_call *c, const char *body, size_t len);
/* An error event for a stream cut short, in Anthropic's shape. */
void llm_msgs_error_event(struct sbuf *b, const char *msg);

#endif
