/* One call's state machine: ROUTE -> ADMIT (-> WAIT -> ADMIT) -> SEND ->
 * BODY | STREAM -> SETTLE -> DONE, or CANCELLED from any state. Every
 * change goes through call_set_state. */
#include "llm_call.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "dlist.h"
#include "httpc.h"
#include "jtree.h"
#include "upstream.h"
#include "llm_anthropic.h"
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

static void call_free(struct llm_call *c)
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

/* Hands the result to done (later when still inside llm_call_start), then
 * settles when the answer came from a provider, and frees the call. */
static void call_finish(struct llm_call *c)
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
    call_free(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void call_admit(struct llm_call *c);

static int head_cb(long status, const struct httpc_header *h, size_t n, void *arg)
{
    struct llm_call *c = arg;
    c->in_httpc = true;
    int rc = llm_relay_head(c, status, h, n);
    c->in_httpc = false;
    return c->stop_upstream ? HTTPC_STOP : rc;
}

static int data_cb(const char *buf, size_t len, void *arg)
{
    struct llm_call *c = arg;
    c->in_httpc = true;
    int rc = llm_relay_data(c, buf, len);
    c->in_httpc = false;
    return c->stop_upstream ? -1 : rc;
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

static void resp_cb(const struct httpc_response *resp, void *arg)
{
    struct llm_call *c = arg;
    if (c->state == CALL_CANCELLED) { /* cancelled from inside a relay callback */
        call_free(c);
        return;
    }
    if (!c->have_rh && resp->status > 0)
        llm_call_headers(c, resp->headers, resp->nheaders);
    struct llm_ratehdr h = c->rh;
    if (!c->have_rh)
        llm_ratehdr_init(&h);
    /* An error answer says it was not done; a 2xx or no answer at all
     * after sending may have been. */
    c->reached = resp->status == 0 ? resp->sent && !resp->stopped : resp->status >= 200 && resp->status < 300;
    if (c->state == CALL_STREAM) {
        /* Its last event may make the client's side cancel: no free and
         * no httpc call from inside, the call is freed here then. */
        c->in_httpc = true;
        llm_relay_stream_end(c, resp->error);
        c->in_httpc = false;
        if (c->state == CALL_CANCELLED) {
            call_free(c);
            return;
        }
    } else if (llm_relay_refused(c)) {
        /* over LLM_BUFFER_MAX or the call's bound: c->res says which */
    } else if (resp->error || resp->status == 0) {
        bool to = resp->timed_out;
        char msg[400];
        snprintf(msg, sizeof msg, "the provider %s %s: %s", c->t.provider,
                 to ? "did not answer in time" : "could not be reached", resp->error ? resp->error : "no answer");
        llm_call_fail(c, LLM_TRANSPORT, to ? 504 : 502, "server_error", NULL, to ? "upstream_timeout" : "upstream_error",
                      msg);
    } else if (resp->body_truncated) {
        llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                      "the provider's answer is larger than the gateway accepts");
    } else {
        llm_relay_body(c, resp->status, resp->body, resp->body_len);
    }
    llm_call_set_state(c, CALL_SETTLE);
    struct llm_result *r = &c->res;
    if (!c->answer_over) /* over LLM_BUFFER_MAX: llm_relay_refused set it */
        r->retry_after_ms = c->res.outcome == LLM_OK ? -1 : llm_ratehdr_retry_ms(&h, resp->status);
    if (h.should_retry == 0) {
        r->retryable = false;
        r->should_retry = false;
    } else if (h.should_retry == 1 && r->outcome != LLM_OK) {
        r->retryable = true;
    }
    /* The client's answer is written before the ledger and the limiter
     * hear of it: their Redis and buffer work is not on its path. */
    c->settle_status = c->began ? 200 : r->status;
    call_finish(c);
}

/* a and b joined in buf when they fit, else in *own (allocated). */
static const char *cat_in(char *buf, size_t n, const char *a, const char *b, char **own)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na + nb >= n)
        return *own = xstrcat(a, b);
    memcpy(buf, a, na + 1); /* its NUL is where b starts */
    memcpy(buf + na, b, nb + 1);
    return buf;
}

static void call_send(struct llm_call *c)
{
    llm_call_set_state(c, CALL_SEND);
    struct llm *l = c->l;
    const char *path = c->o.ep == LLM_EP_RESPONSES          ? llm_resp_path(c)
                       : c->t.type == PROVIDER_ANTHROPIC ? "/messages"
                       : c->o.ep == LLM_EP_EMBED         ? "/embeddings"
                                                         : "/chat/completions";
    /* On the stack when they fit (every call): copied by both clients. */
    char urlbuf[512], ridbuf[160], authbuf[512];
    char *url_own = NULL, *rid_own = NULL;
    const char *url = cat_in(urlbuf, sizeof urlbuf, c->t.base_url, path, &url_own);
    /* Built from scratch: nothing of the client's headers goes upstream.
     * Both clients copy the headers before llm_http_send returns. */
    const char *hdrs[10];
    size_t n = 0;
    hdrs[n++] = "Content-Type: application/json";
    hdrs[n++] = c->streamed ? "Accept: text/event-stream" : "Accept: application/json";
    hdrs[n++] = "Expect:"; /* no 100-continue round trip for large bodies */
    char *auth_own[3], ver[96], beta[300];
    const char *auth[3];
    for (size_t i = 0, na = provider_auth_headers_in(&c->t, authbuf, sizeof authbuf, auth, auth_own); i < na; i++)
        hdrs[n++] = llm_msgs_auth_header(c, auth[i], ver, sizeof ver);
    if (llm_msgs_beta_header(c, beta, sizeof beta))
        hdrs[n++] = beta;
    if (c->o.request_id && c->o.request_id[0])
        hdrs[n++] = cat_in(ridbuf, sizeof ridbuf, "X-Request-Id: ", c->o.request_id, &rid_own);
    hdrs[n] = NULL;
    long long timeout = c->o.timeout_ms > 0 ? c->o.timeout_ms : l->rt->cfg->llm_timeout_ms;
    struct httpc_request req = {
        .method = "POST",
        .url = url,
        .headers = hdrs,
        .body = c->up_body.data,
        .body_len = c->up_body.len,
        .timeout_ms = timeout,
        .max_body = c->o.ep == LLM_EP_EMBED ? (size_t)256 << 20 : (size_t)32 << 20,
        .head = head_cb,
        .data = data_cb,
        .keep_headers = true,
    };
    c->sent_us = now_us();
    int rc = llm_http_send(l, &req, resp_cb, c);
    crypt_secret_wipe(authbuf); /* it carries the key */
    provider_header_free(auth_own); /* wiped too */
    free(rid_own);
    free(url_own);
    if (rc < 0) {
        llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                      "the request to the provider could not start");
        if (c->ticket) {
            llmlimit_settle(l->lim, c->ticket, NULL);
            c->ticket = NULL;
        }
        call_finish(c);
    }
}

static void admit_cb(enum llmlimit_verdict v, long long retry_after_ms, const char *why,
                     struct llmlimit_ticket *ticket, void *arg)
{
    struct llm_call *c = arg;
    c->admit_pending = false;
    if (c->state == CALL_CANCELLED) {
        if (ticket)
            llmlimit_settle(c->l->lim, ticket, NULL);
        call_free(c);
        return;
    }
    char msg[400];
    switch (v) {
    case LLMLIMIT_OK:
        c->ticket = ticket;
        call_send(c);
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
    call_finish(c);
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
        call_finish(c);
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
        call_finish(c);
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
             * the transfer stops at the callback's return, resp_cb frees. */
            c->stop_upstream = true;
            llm_settle(c, 499, true);
            llm_call_set_state(c, CALL_CANCELLED);
            return;
        }
        llm_http_abort(l, resp_cb, c);
        llm_settle(c, 499, true);
        call_free(c);
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
        call_free(c);
        return;
    }
}

void llm_call_discard(struct llm_call *c)
{
    if (c->ticket)
        llmlimit_settle(c->l->lim, c->ticket, NULL);
    c->ticket = NULL;
    call_free(c);
}

void llm_close(struct llm *l)
{
    if (!l)
        return;
    l->closing = true;
    /* Every call answers now (503), while the roles that wait are alive. */
    for (;;) {
        /* Each pass starts again at the head: call_free unlinked the call
         * finished before (the analyzer cannot see that). */
        struct llm_call *c = l->calls;
        while (c && (c->state == CALL_CANCELLED || c->done_delivered)) // NOLINT(clang-analyzer-unix.Malloc)
            c = c->next;
        if (!c)
            break;
        if (c->state == CALL_DONE) {
            evtimer_del(c->timer);
            c->in_start = false;
            call_finish(c);
            continue;
        }
        if (c->state == CALL_SEND || c->state == CALL_BODY || c->state == CALL_STREAM) {
            llm_http_abort(l, resp_cb, c);
            if (c->began) {
                c->in_httpc = true; /* a cancel from the last event only marks it */
                llm_relay_stream_end(c, "the server is shutting down");
                c->in_httpc = false;
                if (c->state == CALL_CANCELLED) {
                    call_free(c);
                    continue;
                }
            } else
                llm_call_fail(c, LLM_TRANSPORT, 503, "server_error", NULL, "shutting_down",
                              "the server is shutting down");
            llm_settle(c, c->began ? 200 : 503, false);
            call_finish(c);
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
        call_finish(c);
    }
    /* Every call's request was aborted above: nothing answers into a call. */
    upstream_free(l->up);
    l->up = NULL;
}
