/* llm_priv: what the llm_* files of the engine share (llm.c: the object,
 * checks and estimates; llm_call.c: one call's state machine;
 * llm_relay.c: answers and streams; llm_openai.c: the request body edits;
 * llm_models.c: GET /v1/models). Not a public face: only llm*.c include it. */
#ifndef INGOT_LLM_PRIV_H
#define INGOT_LLM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm.h"
#include "provider.h"

struct cJSON;
struct event;
struct httpc_header;
struct llmlimit_ticket;
struct sse_parser;
struct anth_stream;
struct llm_models_cache;

struct llm {
    struct runtime *rt;
    struct providers *ps;
    struct llmlimit *lim;
    struct usage *usage;
    struct llm_call *calls;     /* every live call (cancel, close) */
    size_t ncalls;
    bool closing;
    struct llm_models_cache *models;
};

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

struct llm_call {
    struct llm *l;
    enum llm_call_state state;
    struct llm_call_opts o;           /* body and request_id owned copies */
    const struct llm_stream_cbs *stream_cbs; /* points at stream (below) or NULL */
    struct llm_stream_cbs stream;
    llm_done_cb done;
    void *arg;
    struct event *timer;              /* admit waits, deferred done */

    /* ROUTE */
    struct provider_target t;
    bool have_target;
    char model[LLM_MODEL_MAX + 1];    /* as the client sent it */
    /* The name its price is looked up by (budgets in USD, cost): see
     * llm_price_model. */
    char price_model[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    bool streamed;                    /* the body says stream: true */
    bool client_usage;                /* stream_options.include_usage asked by the client */
    bool embed_b64;                   /* convert float embeddings to base64 */
    long long est_prompt, est_completion;
    struct sbuf up_body;              /* what goes upstream */

    /* ADMIT */
    struct llmlimit_ticket *ticket;
    int64_t admit_start_ms;
    bool in_start;                    /* inside llm_call_start: done must wait */
    bool admit_pending;               /* llmlimit's callback has not run yet */

    /* SEND .. SETTLE */
    int64_t start_us, sent_us, first_us;
    char **hdrs;                      /* the upstream request's headers (owned) */
    bool in_httpc;                    /* relaying (inside httpc or its end): a cancel only marks */
    bool stop_upstream;               /* cancelled from inside: stop at the next byte */
    long status;
    struct sse_parser *sse;
    struct anth_stream *anth;
    bool began, stream_ended, stream_error;
    long long chunks;                 /* content chunks relayed (openai cancel estimate) */
    struct llm_usage used;
    bool have_usage;
    struct sbuf ev;                   /* one event being formed */
    char upstream_id[128];
    struct llm_ratehdr rh;            /* the answer's rate-limit headers */
    bool have_rh;

    /* the result handed to done */
    struct llm_result res;
    struct sbuf res_body, usage_json;
    bool done_delivered;
    int settle_status;                /* > 0: settle and record after done (the reply goes first) */

    struct llm_call *next, *prev;
};

/* llm.c */
void llm_usage_init(struct llm_usage *u);
/* OpenAI's usage object for u into out. */
void llm_usage_json(const struct llm_usage *u, struct sbuf *out);
/* Reads an OpenAI usage object; false when it is not one. */
bool llm_usage_parse(const struct cJSON *usage, struct llm_usage *out);
/* {"error":{...}} into out. */
void llm_error_json(struct sbuf *out, const char *message, const char *type, const char *param,
                    const char *code);
/* The token estimate of a request (prompt, completion) for the reservation. */
void llm_estimate(const struct llm *l, enum llm_endpoint ep, const struct cJSON *body, long long *prompt,
                  long long *completion);
const char *llm_endpoint_name(enum llm_endpoint ep);
/* The name a call to model (resolved to t) is priced by, into out: model
 * when it has a price, else "provider/upstream", the upstream model alone
 * for the default provider, or a priced route alias to the same target. */
void llm_price_model(const struct llm *l, const struct provider_target *t, const char *model, char *out,
                     size_t n);

/* llm_openai.c: the openai adapter's request. Rewrites the top-level
 * members of the client's body: model -> upstream model; when stream,
 * stream_options.include_usage forced true; drop encoding_format when
 * asked. Everything else is copied byte for byte. -1 when body is not a
 * JSON object. */
int llm_openai_body(const char *body, size_t len, const char *upstream_model, bool force_usage,
                    const struct cJSON *stream_options, bool drop_encoding, struct sbuf *out) ATTR_WUR;

/* llm_relay.c: the answer. */
int llm_relay_head(struct llm_call *c, long status, const struct httpc_header *h, size_t n);
int llm_relay_data(struct llm_call *c, const char *buf, size_t len);
/* A finished non-streamed answer (status 2xx or error) into c->res. */
void llm_relay_body(struct llm_call *c, long status, const char *body, size_t len);
/* The stream ended (error: why it ended early, or NULL). */
void llm_relay_stream_end(struct llm_call *c, const char *error);
/* The usage so far of a call that is cancelled or cut (estimates). */
void llm_relay_usage_so_far(struct llm_call *c, struct llm_usage *u);

/* llm_call.c */
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

/* llm_models.c */
void llm_models_free(struct llm_models_cache *m);

#endif
