/* The provider leg of a call (SEND, then BODY or STREAM, to SETTLE): the
 * request built (URL, headers made from scratch) and handed to the HTTP
 * client, and the client's callbacks for the answer. The rest of the
 * state machine (route, admit, finish, cancel) is llm_call.c's. */
#include "llm_call_send.h"

#include "llm_call_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "httpc.h"
#include "llm_hdr.h"
#include "llm_msgs_relay.h"
#include "llm_priv.h"
#include "llm_relay.h"
#include "llm_resp_relay.h"
#include "llmlimit.h"
#include "runtime.h"

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

void llm_call_resp_cb(const struct httpc_response *resp, void *arg)
{
    struct llm_call *c = arg;
    if (c->state == CALL_CANCELLED) { /* cancelled from inside a relay callback */
        llm_call_free(c);
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
            llm_call_free(c);
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
    llm_call_finish(c);
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

void llm_call_send(struct llm_call *c)
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
    c->sent_us = time_mono_us();
    int rc = llm_http_send(l, &req, llm_call_resp_cb, c);
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
        llm_call_finish(c);
    }
}
