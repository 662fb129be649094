/* One call's state machine: ROUTE -> ADMIT (-> WAIT -> ADMIT) -> SEND ->
 * BODY | STREAM -> SETTLE -> DONE, or CANCELLED from any state. Every
 * change goes through call_set_state. The provider leg (the request, the
 * answer's callbacks) is llm_call_send.c. */
#include "llm_call.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "httpc.h"
#include "jtree.h"
#include "upstream.h"
#include "llm_anthropic.h"
#include "llm_call_int.h"
#include "llm_call_send.h"
#include "llm_hdr.h"
#include "llm_msgs_stream.h"
#include "llm_msgs_relay.h"
#include "llm_resp_relay.h"
#include "llm_resp_stream.h"
#include "llm_priv.h"
#include "llm_settle.h"
#include "llmlimit.h"
#include "log.h"
#include "loop.h"
#include "runtime.h"
#include "sse.h"
#include "usage.h"

/* A job over a budget is looked at again at least this often (a raised budget takes effect). */
#define BUDGET_RECHECK_MS (3600LL * 1000)

static const char *const state_names[] = {
    [CALL_ROUTE] = "route",   [CALL_ADMIT] = "admit",   [CALL_WAIT] = "wait",
    [CALL_SEND] = "send",     [CALL_BODY] = "body",     [CALL_STREAM] = "stream",
    [CALL_SETTLE] = "settle", [CALL_DONE] = "done",     [CALL_CANCELLED] = "cancelled",
};

const char *llm_call_state_name(enum llm_call_state s)
{
    return (size_t)s < ARRAY_LEN(state_names) ? state_names[s] : "?";
}

void llm_call_set_state(struct llm_call *c, enum llm_call_state s)
{
    LOG_AT(LOG_DEBUG, c->o.request_id, NULL, "llm call %s -> %s", llm_call_state_name(c->state),
           llm_call_state_name(s));
    c->state = s;
}

void llm_call_free(struct llm_call *c)
{
    struct llm *l = c->l;
    DLIST_REMOVE(l->calls, c);
    l->ncalls--;
    if (c->timer)
        event_free(c->timer);
    provider_target_deinit(&c->t);
    free((char *)(uintptr_t)c->o.body);
    free((char *)(uintptr_t)c->o.request_id);
    sbuf_deinit(&c->up_body);
    sbuf_deinit(&c->ev);
    sbuf_deinit(&c->res_body);
    sbuf_deinit(&c->usage_json);
    llm_relay_release(c);
    if (c->sse)
        sse_free(c->sse);
    if (c->anth)
        anth_stream_free(c->anth);
    msgs_stream_free(c->msgs);
    resp_stream_free(c->rstream);
    free(c);
}

void llm_call_fail(struct llm_call *c, enum llm_outcome o, int status, const char *type, const char *param,
                   const char *code, const char *msg)
{
    c->res.outcome = o;
    c->res.status = status;
    c->res.retryable = o == LLM_TRANSPORT || o == LLM_WAIT || status == 408 || status == 409 ||
                       status == 429 || status >= 500;
    c->res.should_retry = o != LLM_REFUSED;
    sbuf_reset(&c->res_body);
    llm_error_json(&c->res_body, msg, type, param, code);
}

static int64_t now_us(void)
{
    return time_mono_us();
}

void llm_call_finish(struct llm_call *c)
{
    llm_call_set_state(c, CALL_DONE);
    if (c->in_start) {
        struct timeval tv = loop_tv(0);
        evtimer_add(c->timer, &tv);
        return;
    }
    struct llm_result *r = &c->res;
    if (!c->began) {
        r->body = c->res_body.data ? c->res_body.data : "";
        r->body_len = c->res_body.len;
    } else {
        r->body = NULL;
        r->body_len = 0;
    }
    r->usage = c->have_usage ? &c->used : NULL;
    if (c->have_usage) {
        sbuf_reset(&c->usage_json);
        llm_usage_json(&c->used, &c->usage_json);
        r->usage_json = c->usage_json.data;
    }
    r->upstream_request_id = c->upstream_id[0] ? c->upstream_id : NULL;
    c->done_delivered = true;
    if (c->done)
        c->done(r, c->arg);
    if (c->settle_status > 0)
        llm_settle(c, c->settle_status, false);
    llm_call_free(c);
}

void llm_call_headers(struct llm_call *c, const struct httpc_header *h, size_t n)
{
    c->have_rh = true;
    llm_ratehdr_init(&c->rh);
    long long real_ms = time_real_us() / 1000;
    for (size_t i = 0; i < n; i++) {
        llm_ratehdr_feed(&c->rh, h[i].name, h[i].value, real_ms);
        if (!c->upstream_id[0] && (llm_hdr_is(h[i].name, "x-request-id") || llm_hdr_is(h[i].name, "request-id")))
            util_strcpy(c->upstream_id, sizeof c->upstream_id, h[i].value);
    }
    char scope[LLMLIMIT_HOLD_MAX + 1];
    llmlimit_hold_scope(scope, sizeof scope, c->t.provider, c->t.tenant_key, c->o.tenant);
    llmlimit_provider_seen(c->l->lim, scope, &c->rh);
}

static void admit_cb(enum llmlimit_verdict v, long long retry_after_ms, const char *why,
                     struct llmlimit_ticket *ticket, void *arg)
{
    struct llm_call *c = arg;
    c->admit_pending = false;
    if (c->state == CALL_CANCELLED) {
        if (ticket)
            llmlimit_settle(c->l->lim, ticket, NULL);
        llm_call_free(c);
        return;
    }
    char msg[400];
    switch (v) {
    case LLMLIMIT_OK:
        c->ticket = ticket;
        llm_call_send(c);
        return;
    case LLMLIMIT_RATE:
    case LLMLIMIT_THROTTLED: {
        long long ra = retry_after_ms > 0 ? retry_after_ms : 100;
        int64_t now = time_mono_ms();
        if (!c->o.job && now + ra <= c->admit_start_ms + c->l->rt->cfg->llm_sync_max_wait_ms) {
            llm_call_set_state(c, CALL_WAIT);
            struct timeval tv = loop_tv(ra);
            evtimer_add(c->timer, &tv);
            return;
        }
        snprintf(msg, sizeof msg, "%s", why && *why ? why
                                        : v == LLMLIMIT_RATE ? "rate limit reached: retry later"
                                                             : "the provider is throttled: retry later");
        llm_call_fail(c, LLM_WAIT, 429, "rate_limit_error", NULL, "rate_limit_exceeded", msg);
        c->res.retry_after_ms = ra;
        break;
    }
    case LLMLIMIT_BUDGET:
    case LLMLIMIT_TOO_LARGE:
        snprintf(msg, sizeof msg, "%s", why && *why ? why : "the token or spend budget is used up");
        if (c->o.job && v == LLMLIMIT_BUDGET) {
            /* Queued until the budget allows: looked at again hourly at
             * least, so a raised budget takes effect. */
            llm_call_fail(c, LLM_WAIT, 429, "insufficient_quota", NULL, "insufficient_quota", msg);
            c->res.retry_after_ms = retry_after_ms > 0 && retry_after_ms < BUDGET_RECHECK_MS ? retry_after_ms
                                                                                             : BUDGET_RECHECK_MS;
            break;
        }
        llm_call_fail(c, LLM_REFUSED, 429, "insufficient_quota", NULL, "insufficient_quota", msg);
        c->res.retryable = false;
        c->res.should_retry = false;
        c->res.retry_after_ms = v == LLMLIMIT_BUDGET ? retry_after_ms : -1; /* -1: no retry-after */
        break;
    case LLMLIMIT_UNPRICED:
        llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", "model", "model_not_priced",
                      why && *why ? why : "this model has no price and a USD budget applies");
        break;
    case LLMLIMIT_ERROR:
    default:
        snprintf(msg, sizeof msg, "%s", why && *why ? why : "limits cannot be checked now");
        llm_call_fail(c, LLM_WAIT, 503, "server_error", NULL, "limits_unavailable", msg);
        c->res.retry_after_ms = 1000;
        break;
    }
    llm_call_finish(c);
}

static void call_admit(struct llm_call *c)
{
    llm_call_set_state(c, CALL_ADMIT);
    char scope[LLMLIMIT_HOLD_MAX + 1];
    llmlimit_hold_scope(scope, sizeof scope, c->t.provider, c->t.tenant_key, c->o.tenant);
    struct llmlimit_req req = {
        .tenant = c->o.tenant,
        .key_id = c->o.key_id,
        .provider = c->t.provider,
        .hold = scope,
        .model = c->price_model, /* a priced alias of what is called (llm_price_model) */
        .upstream = c->t.upstream_model,
        .est_tokens = c->est_prompt + c->est_completion,
    };
    c->admit_pending = true;
    llmlimit_reserve(c->l->lim, &req, admit_cb, c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct llm_call *c = arg;
    if (c->state == CALL_WAIT)
        call_admit(c);
    else if (c->state == CALL_DONE)
        llm_call_finish(c);
}

/* Parses and routes the body, builds the provider's request. 0, or -1
 * with the result set (400). */
static int call_route(struct llm_call *c)
{
    struct llm *l = c->l;
    char why[256], param[128] = "";
    cJSON *owned = c->o.json ? NULL : cJSON_ParseWithLength(c->o.body, c->o.body_len);
    const cJSON *body = c->o.json ? c->o.json : owned;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(owned);
        llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", NULL, "invalid_json",
                      "the body must be a JSON object");
        return -1;
    }
    const cJSON *model = jtree_get(body, "model");
    int rc = -1;
    if (!cJSON_IsString(model) || !model->valuestring[0] || strlen(model->valuestring) > LLM_MODEL_MAX) {
        llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", "model", "invalid_value",
                      "model is required (a string)");
        goto out;
    }
    util_strcpy(c->model, sizeof c->model, model->valuestring);
    int pr = providers_resolve(l->ps, c->o.tenant, c->model, &c->t, why, sizeof why);
    if (pr == PROVIDERS_NOT_READY) {
        llm_call_fail(c, LLM_WAIT, 503, "server_error", NULL, "llm_not_ready", why);
        c->res.retry_after_ms = 1000;
        goto out;
    }
    if (pr == PROVIDERS_KEY_UNUSABLE) {
        log_error("llm: %s", why); /* the operator's fault: the details are for the log */
        llm_call_fail(c, LLM_REFUSED, 503, "server_error", NULL, "provider_unavailable", LLM_KEY_UNUSABLE_MSG);
        goto out;
    }
    if (pr < 0) {
        llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", "model", "model_not_found", why);
        goto out;
    }
    c->have_target = true;
    llm_price_model(l, &c->t, c->model, c->price_model, sizeof c->price_model);
    c->streamed = cJSON_IsTrue(jtree_get(body, "stream"));
    if (c->streamed && (c->o.job || !c->stream_cbs || c->o.ep == LLM_EP_EMBED)) {
        llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", "stream", "invalid_value",
                      c->o.job ? "a job cannot stream: leave stream out or false" : "this call cannot stream");
        goto out;
    }
    const cJSON *so = jtree_get(body, "stream_options");
    c->client_usage = cJSON_IsTrue(jtree_get(so, "include_usage"));
    llm_estimate(l, c->o.ep, body, &c->est_prompt, &c->est_completion);
    if (c->o.ep == LLM_EP_MESSAGES) {
        if (llm_msgs_route(c, body, param, sizeof param, why, sizeof why) < 0) {
            llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", param, "invalid_value", why);
            goto out;
        }
    } else if (c->o.ep == LLM_EP_RESPONSES) {
        if (llm_resp_route(c, body, param, sizeof param, why, sizeof why) < 0) {
            llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", param, "invalid_value", why);
            goto out;
        }
    } else if (c->t.type == PROVIDER_ANTHROPIC) {
        if (c->o.ep == LLM_EP_EMBED) {
            llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", "model", "invalid_value",
                          "this model's provider is Anthropic, which offers no embeddings");
            goto out;
        }
        if (anth_request(body, c->t.upstream_model, l->rt->cfg->llm_default_max_tokens, &c->up_body, param,
                         sizeof param, why, sizeof why) < 0) {
            llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", param, "invalid_value", why);
            goto out;
        }
    } else {
        const cJSON *ef = jtree_get(body, "encoding_format");
        /* "base64" (what the SDK sends): ask for floats and encode them
         * here, so providers without base64 work too. No format means
         * floats, OpenAI's own default for raw clients. */
        c->embed_b64 = c->o.ep == LLM_EP_EMBED && cJSON_IsString(ef) && !strcmp(ef->valuestring, "base64");
        if (llm_openai_body(c->o.body, c->o.body_len, c->t.upstream_model, c->streamed, so, c->embed_b64,
                            &c->up_body) < 0) {
            llm_call_fail(c, LLM_REFUSED, 400, "invalid_request_error", NULL, "invalid_json",
                          "the body must be a JSON object");
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(owned);
    return rc;
}

struct llm_call *llm_call_start(struct llm *l, const struct llm_call_opts *opts, const struct llm_stream_cbs *stream,
                                llm_done_cb done, void *arg)
{
    struct llm_call *c = xcalloc(1, sizeof *c);
    c->l = l;
    c->state = CALL_ROUTE;
    c->o = *opts;
    c->o.body = xstrndup(opts->body ? opts->body : "", opts->body ? opts->body_len : 0);
    c->o.body_len = opts->body ? opts->body_len : 0;
    c->o.request_id = xstrdup(opts->request_id ? opts->request_id : "");
    c->o.json = opts->json; /* cleared below: borrowed only during this call */
    if (stream) {
        c->stream = *stream;
        c->stream_cbs = &c->stream;
    }
    c->done = done;
    c->arg = arg;
    c->timer = evtimer_new(loop_base(l->rt->loop), timer_cb, c);
    if (!c->timer)
        abort();
    sbuf_init(&c->up_body);
    sbuf_init(&c->ev);
    sbuf_init(&c->res_body);
    sbuf_init(&c->usage_json);
    llm_usage_init(&c->used);
    c->res.retry_after_ms = -1;
    c->res.should_retry = true;
    c->start_us = now_us();
    c->admit_start_ms = time_mono_ms();
    DLIST_PUSH(l->calls, c);
    l->ncalls++;
    c->in_start = true;
    if (l->closing)
        llm_call_fail(c, LLM_TRANSPORT, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
    int routed = l->closing ? -1 : call_route(c);
    c->o.json = NULL;
    if (routed < 0)
        llm_call_finish(c);
    else
        call_admit(c);
    c->in_start = false;
    return c;
}

void llm_call_cancel(struct llm_call *c)
{
    struct llm *l = c->l;
    switch (c->state) {
    case CALL_ADMIT:
        llm_call_set_state(c, CALL_CANCELLED); /* admit_cb frees it */
        return;
    case CALL_SEND:
    case CALL_BODY:
    case CALL_STREAM:
        if (c->in_httpc) {
            /* Inside our own relay callback: httpc may not be called here;
             * the transfer stops at the callback's return, llm_call_resp_cb frees. */
            c->stop_upstream = true;
            llm_settle(c, 499, true);
            llm_call_set_state(c, CALL_CANCELLED);
            return;
        }
        llm_http_abort(l, llm_call_resp_cb, c);
        llm_settle(c, 499, true);
        llm_call_free(c);
        return;
    case CALL_CANCELLED:
        return;
    case CALL_ROUTE:
    case CALL_WAIT:
    case CALL_SETTLE:
    case CALL_DONE:
    default:
        if (c->ticket) {
            llmlimit_settle(l->lim, c->ticket, NULL);
            c->ticket = NULL;
        }
        llm_call_free(c);
        return;
    }
}

void llm_call_discard(struct llm_call *c)
{
    if (c->ticket)
        llmlimit_settle(c->l->lim, c->ticket, NULL);
    c->ticket = NULL;
    llm_call_free(c);
}

void llm_close(struct llm *l)
{
    if (!l)
        return;
    l->closing = true;
    /* Every call answers now (503), while the roles that wait are alive. */
    for (;;) {
        /* Each pass starts again at the head: llm_call_free unlinked the call
         * finished before (the analyzer cannot see that). */
        struct llm_call *c = l->calls;
        while (c && (c->state == CALL_CANCELLED || c->done_delivered)) // NOLINT(clang-analyzer-unix.Malloc)
            c = c->next;
        if (!c)
            break;
        if (c->state == CALL_DONE) {
            evtimer_del(c->timer);
            c->in_start = false;
            llm_call_finish(c);
            continue;
        }
        if (c->state == CALL_SEND || c->state == CALL_BODY || c->state == CALL_STREAM) {
            llm_http_abort(l, llm_call_resp_cb, c);
            if (c->began) {
                c->in_httpc = true; /* a cancel from the last event only marks it */
                llm_relay_stream_end(c, "the server is shutting down");
                c->in_httpc = false;
                if (c->state == CALL_CANCELLED) {
                    llm_call_free(c);
                    continue;
                }
            } else
                llm_call_fail(c, LLM_TRANSPORT, 503, "server_error", NULL, "shutting_down",
                              "the server is shutting down");
            llm_settle(c, c->began ? 200 : 503, false);
            llm_call_finish(c);
            continue;
        }
        llm_call_fail(c, LLM_TRANSPORT, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
        if (c->state == CALL_ADMIT) {
            /* llmlimit still owes its answer: deliver done, keep the call
             * until admit_cb frees it. */
            void (*done)(const struct llm_result *, void *) = c->done;
            c->done = NULL;
            struct llm_result r = c->res;
            r.body = c->res_body.data;
            r.body_len = c->res_body.len;
            c->done_delivered = true;
            llm_call_set_state(c, CALL_CANCELLED);
            if (done)
                done(&r, c->arg);
            continue;
        }
        evtimer_del(c->timer);
        llm_call_finish(c);
    }
    /* Every call's request was aborted above: nothing answers into a call. */
    upstream_free(l->up);
    l->up = NULL;
}
