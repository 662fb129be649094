/* llm_priv: what the llm_* files of the engine share (llm.c: the object,
 * checks and estimates; llm_call.c: one call's state machine;
 * llm_relay.c: answers and streams; llm_openai.c: the request body edits;
 * llm_models.c: GET /v1/models). Not a public face: only llm*.c include it. */
#ifndef INGOT_LLM_PRIV_H
#define INGOT_LLM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpc.h"
#include "llm.h"
#include "llm_call.h"
#include "provider.h"

struct cJSON;
struct event;
struct llmlimit_ticket;
struct sse_parser;
struct anth_stream;
struct msgs_stream;
struct resp_stream;
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
    /* Calls go out through upstream (our own client), or through httpc
     * (libcurl) when the environment names a proxy: curl honours it. */
    struct upstream *up;
    bool via_httpc;
};

/* A call's request to its provider, on upstream or httpc (see struct llm):
 * their contracts are the same. The send fails once llm_close ran. */
int llm_http_send(struct llm *l, const struct httpc_request *req, httpc_cb cb, void *arg);
bool llm_http_abort(struct llm *l, httpc_cb cb, void *arg);

/* enum llm_call_state and its functions: llm_call.h. */

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
    bool resp_pass;                   /* LLM_EP_RESPONSES passed through (else translated) */
    long long est_prompt, est_completion;
    struct sbuf up_body;              /* what goes upstream */

    /* ADMIT */
    struct llmlimit_ticket *ticket;
    int64_t admit_start_ms;
    bool in_start;                    /* inside llm_call_start: done must wait */
    bool admit_pending;               /* llmlimit's callback has not run yet */

    /* SEND .. SETTLE */
    int64_t start_us, sent_us, first_us;
    bool in_httpc;                    /* relaying (inside httpc or its end): a cancel only marks */
    bool stop_upstream;               /* cancelled from inside: stop at the next byte */
    long status;
    struct sse_parser *sse;
    struct anth_stream *anth;
    struct msgs_stream *msgs;         /* LLM_EP_MESSAGES streams (llm_msgs_relay) */
    struct resp_stream *rstream;      /* a translated LLM_EP_RESPONSES stream (llm_resp_relay) */
    long long resp_seq;               /* a passed-through one: the sequence_number after the last seen */
    bool began, stream_ended, stream_error;
    long long chunks;                 /* content chunks relayed (openai cancel estimate) */
    struct llm_usage used;
    bool have_usage;
    bool reached;         /* the provider got the request and did not refuse it: unknown usage costs the estimate */
    struct sbuf ev;                   /* one event being formed */
    /* A non-streamed answer, read by llm_relay under the process-wide
     * LLM_BUFFER_MAX (httpc's own buffer has no bound across calls). */
    struct sbuf answer;
    bool answer_own;                  /* the body is in answer, not httpc's */
    bool answer_over;                 /* refused: the budget (503) ... */
    bool answer_too_large;            /* ... or the call's own bound (502) */
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
/* llm_usage_parse of a usage object's text (checked by llm_json_scan),
 * without a tree: 1 usage, 0 none; -1 when the text needs the parse
 * (escaped keys, over-long numbers): call llm_usage_parse then. */
int llm_usage_parse_text(const char *s, size_t n, struct llm_usage *out);
struct llm_json_top;
/* llm_usage_parse_text of top->usage (an object) from the spans
 * llm_json_scan found on its way: no second walk. */
int llm_usage_parse_top(const struct llm_json_top *top, struct llm_usage *out);
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

/* Each file's own functions are in its header: llm_call.h, llm_relay.h,
 * llm_openai.h, llm_models.h (included here for the family). */
#include "llm_models.h"
#include "llm_openai.h"
#include "llm_relay.h"

#endif
