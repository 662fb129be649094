/* llm: one call to a provider, the same for serve's sync edge and work's
 * llm.* jobs. Routes the model (provider), admits it (llmlimit: reserve),
 * builds the provider's request (openai: the body untouched but the model
 * name and, when streaming, stream_options.include_usage; anthropic:
 * llm_anthropic), sends it on the process's curl multi, relays or
 * translates the answer to OpenAI's shape, settles the reservation and
 * records usage (usage). Owns the providers, limits and usage objects. */
#ifndef INGOT_LLM_H
#define INGOT_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"
#include "util.h"

struct cJSON;
struct runtime;
struct job_error;
struct llm;
struct llm_call;

/* Returns owned, or NULL with err. */
struct llm *llm_new(struct runtime *rt, char *err, size_t errlen);
/* Flushes usage; calls still in flight finish on their own. */
void llm_drain(struct llm *l);
/* Shutdown (runtime_close, before the HTTP client closes): every call in
 * flight ends now, its done runs (503, or an error event and the end of a
 * stream), and calls started after this fail at once. */
void llm_close(struct llm *l);
void llm_free(struct llm *l);
struct providers *llm_providers(struct llm *l);
struct llmlimit *llm_limits(struct llm *l);

/* Checks a body when it arrives (sync request or llm.* job): an object
 * with a routable `model` (400 naming model otherwise, also for
 * embeddings on an anthropic provider), endpoint fields (chat: messages
 * an array; embed: input; responses: input, and for a provider without
 * the Responses API what would not translate: llm_resp_req), and, for a
 * job, no `stream: true` (nor `background: true` for responses). 0 or -1
 * with e filled (status 400, param, message; 503 llm_not_ready before
 * the providers were read once; 503 provider_unavailable when the
 * provider's or tenant's key does not open, logged). */
#define LLM_KEY_UNUSABLE_MSG "the provider's credentials are not usable; the operator has been told"
/* The largest max_tokens / max_completion_tokens taken, and n. */
#define LLM_MAX_TOKENS_CAP 100000000LL
#define LLM_N_MAX 128
int llm_check(struct llm *l, uint64_t tenant, enum llm_endpoint ep, const struct cJSON *body, bool job,
              struct job_error *e) ATTR_WUR;
/* Only the object and its routable model. */
int llm_check_model(struct llm *l, uint64_t tenant, const struct cJSON *body, struct job_error *e) ATTR_WUR;

struct llm_call_opts {
    uint64_t tenant, key_id, job_id;   /* job_id 0: sync */
    enum llm_endpoint ep;
    const char *body;                  /* the client's JSON body (OpenAI's, or Anthropic's for messages) */
    size_t body_len;
    long long timeout_ms;
    /* A job never waits for a limit: it gets LLM_WAIT at once and is put
     * back. A sync call waits up to LLM_SYNC_MAX_WAIT, then 429. */
    bool job;
    const char *request_id;            /* ours (x-request-id), for usage and logs */
    /* The body already parsed (llm_check's), or NULL: saves a second
     * parse. Borrowed only while llm_call_start runs; it must be the
     * parse of body. */
    const struct cJSON *json;
    /* LLM_EP_MESSAGES: the client's anthropic-version and anthropic-beta
     * headers (checked by the edge), sent to anthropic providers; "" none. */
    char anthropic_version[64];
    char anthropic_beta[256];
};

enum llm_outcome {
    LLM_OK,          /* 2xx from the provider */
    LLM_UPSTREAM,    /* the provider answered an error (status, body: its error in OpenAI shape) */
    LLM_TRANSPORT,   /* no answer: connect error, timeout, malformed answer (status 502/504) */
    LLM_WAIT,        /* held by a limit or a throttled provider: come back after retry_after_ms */
    LLM_REFUSED      /* ours: invalid, budget spent (should_retry false), no provider */
};

struct llm_result {
    enum llm_outcome outcome;
    int status;                  /* the HTTP status for the client */
    const char *body;            /* OpenAI-shaped JSON: the response or {"error":...};
                                    NULL after a stream began */
    size_t body_len;
    bool retryable;              /* 408, 409, 429, 5xx, transport, LLM_WAIT */
    long long retry_after_ms;    /* -1: none said */
    bool should_retry;           /* false: x-should-retry: false (budget) */
    const struct llm_usage *usage; /* NULL when none */
    const char *usage_json;      /* OpenAI's usage object as JSON, or NULL */
    const char *upstream_request_id; /* or NULL */
};

/* A streamed call (the body has "stream": true; sync only). */
struct llm_stream_cbs {
    /* The provider answered 200: the edge sends its head now. Once. */
    void (*begin)(void *arg);
    /* One event, "data: ...\n\n", ready to write and flush. A provider
     * error after begin arrives as a "data: {\"error\":...}" event. */
    void (*event)(const char *data, size_t len, void *arg);
};

/* Runs exactly once (never from inside llm_call_start), unless the call
 * was cancelled. Everything in r is borrowed for the callback. */
typedef void (*llm_done_cb)(const struct llm_result *r, void *arg);

/* stream NULL: not streamed. Everything in opts is copied. The call is
 * owned by llm and freed after done runs (or after llm_call_cancel). */
struct llm_call *llm_call_start(struct llm *l, const struct llm_call_opts *opts,
                                const struct llm_stream_cbs *stream, llm_done_cb done, void *arg);
/* The client went away (or the job's lease was lost): the upstream
 * request stops now, the tokens produced so far are settled and recorded
 * (status 499), done never runs. Not from inside done. */
void llm_call_cancel(struct llm_call *c);

/* The response cache's view of a model's route (rcache_key): the
 * provider's name, type, base URL and the upstream model, into parts
 * (each LLM_ROUTE_PART_MAX bytes). -1 when the model routes nowhere now. */
#define LLM_ROUTE_PART_MAX 2100
int llm_route_parts(struct llm *l, uint64_t tenant, const char *model, char parts[4][LLM_ROUTE_PART_MAX]);
/* A call answered from the response cache: a usage row marked cache_hit,
 * zero provider tokens, and nothing settled against limits. */
void llm_record_cache_hit(struct llm *l, uint64_t tenant, uint64_t key_id, const char *provider,
                          const char *model, enum llm_endpoint ep, double latency_ms, const char *request_id);

/* GET /v1/models: the union of the providers' /models lists and the
 * routes, OpenAI's list shape, cached. data is {"object":"list","data":[...]}. */
typedef void (*llm_models_cb)(const char *json, void *arg);
void llm_models(struct llm *l, uint64_t tenant, llm_models_cb cb, void *arg);

#endif
