/* The provider's answer: a non-streamed body (passed through for openai,
 * translated for anthropic, embeddings encoded), or a stream relayed one
 * event at a time (openai's usage chunk taken out when the client did not
 * ask for it; anthropic's events translated), errors after the 200 as a
 * data: {"error":...} event. */
#include "llm_relay.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "llm_anthropic.h"
#include "llm_embed.h"
#include "llm_msgs_stream.h"
#include "llm_msgs_relay.h"
#include "llm_resp_relay.h"
#include "llm_priv.h"
#include "llm_relay_text.h"
#include "log.h"
#include "runtime.h"
#include "sse.h"

/* Largest single SSE event taken from a provider. */
#define LLM_MAX_EVENT ((size_t)4 << 20)

/* Bytes of non-streamed answers held by this process now (one loop
 * thread: serve, work and run share it). Bounded by LLM_BUFFER_MAX. */
static size_t relay_held;

size_t llm_relay_held(void)
{
    return relay_held;
}

/* c's answer no longer counted as held. */
static void answer_unhold(struct llm_call *c)
{
    relay_held -= c->answer.len <= relay_held ? c->answer.len : relay_held;
}

void llm_relay_release(struct llm_call *c)
{
    answer_unhold(c);
    sbuf_deinit(&c->answer);
}

/* The most one call's answer may be (larger: 502). */
static size_t answer_max(const struct llm_call *c)
{
    return c->o.ep == LLM_EP_EMBED ? (size_t)256 << 20 : (size_t)32 << 20;
}

static size_t budget(const struct llm_call *c)
{
    long long m = c->l->rt->cfg->llm_buffer_max;
    return m > 0 ? (size_t)m : (size_t)256 << 20;
}

/* n more bytes of answer for c: false (and why marked) when over a bound. */
static bool answer_take(struct llm_call *c, size_t n)
{
    if (c->answer.len + n > answer_max(c)) {
        c->answer_too_large = true;
        return false;
    }
    if (relay_held + n > budget(c)) {
        c->answer_over = true;
        return false;
    }
    return true;
}

/* One event to the client. false when the client went away meanwhile. */
static bool emit(struct llm_call *c, const char *data, size_t len)
{
    if (c->rstream) /* chat chunks made Responses events */
        return llm_resp_emit(c, data, len);
    c->stream.event(data, len, c->arg);
    return c->state != CALL_CANCELLED;
}

static bool emit_error(struct llm_call *c, const char *msg, const char *code)
{
    struct sbuf b;
    sbuf_init(&b);
    if (c->o.ep == LLM_EP_MESSAGES) {
        llm_msgs_error_event(&b, msg);
    } else if (c->o.ep == LLM_EP_RESPONSES) {
        llm_resp_error_event(&b, msg, code, llm_resp_end_seq(c));
    } else {
        sbuf_puts(&b, "data: ");
        llm_error_json(&b, msg, "server_error", NULL, code);
        sbuf_puts(&b, "\n\n");
    }
    c->stream_error = true;
    c->stream_ended = true;
    bool ok = emit(c, b.data, b.len);
    sbuf_deinit(&b);
    return ok;
}

int llm_relay_head(struct llm_call *c, long status, const struct httpc_header *h, size_t n)
{
    c->status = status;
    llm_call_headers(c, h, n);
    const char *ctype = "";
    /* A first byte other than c/C is no match: most names go without a call. */
    for (size_t i = 0; i < n; i++)
        if ((h[i].name[0] | 0x20) == 'c' && util_streq_nocase(h[i].name, "content-type"))
            ctype = h[i].value;
    if (!c->streamed || status != 200 || !strstr(ctype, "text/event-stream")) {
        /* Read whole (an error, or a plain answer), here rather than by
         * httpc so that the bytes held by every call stay under the
         * budget. A length announced over it stops at once. */
        llm_call_set_state(c, CALL_BODY);
        c->answer_own = true;
        for (size_t i = 0; i < n; i++) {
            if ((h[i].name[0] | 0x20) != 'c' || !util_streq_nocase(h[i].name, "content-length"))
                continue;
            /* Up to 19 digits and nothing else (what upstream's parser
             * lets through) read here; anything else as strtoull reads it. */
            const char *v = h[i].value;
            unsigned long long cl = 0;
            size_t k = 0;
            while (k < 19 && v[k] >= '0' && v[k] <= '9')
                cl = cl * 10 + (unsigned long long)(v[k++] - '0');
            const char *end = v + k;
            if (k == 0 || v[k] != '\0') {
                char *e;
                cl = strtoull(v, &e, 10);
                end = e;
            }
            if (end != v && !answer_take(c, cl > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cl))
                return HTTPC_STOP;
        }
        return HTTPC_STREAM;
    }
    llm_call_set_state(c, CALL_STREAM);
    c->sse = sse_new(LLM_MAX_EVENT);
    if (c->o.ep == LLM_EP_RESPONSES && !c->resp_pass)
        llm_resp_stream_begin(c);
    if (c->o.ep == LLM_EP_MESSAGES)
        llm_msgs_stream_begin(c);
    else if (c->t.type == PROVIDER_ANTHROPIC)
        c->anth = anth_stream_new(c->model, (long long)time(NULL), c->client_usage);
    c->began = true;
    c->stream.begin(c->arg);
    return c->state == CALL_CANCELLED ? HTTPC_STOP : HTTPC_STREAM;
}

/* An OpenAI chunk's JSON that carries an error: the error relayed as ours. */
static bool openai_error_event(struct llm_call *c, const cJSON *err)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "data: {\"error\":");
    if (cJSON_IsObject(err)) {
        char *s = cJSON_PrintUnformatted(err);
        sbuf_puts(&b, s);
        cJSON_free(s);
    } else {
        const char *m = cJSON_IsString(err) ? err->valuestring : "the provider reported an error";
        struct sbuf e;
        sbuf_init(&e);
        llm_error_json(&e, m, "server_error", NULL, "upstream_error");
        /* llm_error_json wraps in {"error":...}: take the inner object */
        sbuf_append(&b, e.data + 9, e.len - 10);
        sbuf_deinit(&e);
    }
    sbuf_puts(&b, "}\n\n");
    llm_relay_text_redact(c, &b);
    llm_relay_text_utf8(&b); /* cJSON prints a string's bytes as they came */
    c->stream_error = true;
    c->stream_ended = true;
    bool ok = emit(c, b.data, b.len);
    sbuf_deinit(&b);
    return ok;
}

static int openai_event(struct llm_call *c, const char *event, const char *data, size_t len)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        c->stream_ended = true;
        return emit(c, "data: [DONE]\n\n", 14) ? 0 : -1;
    }
    bool is_error = strcmp(event, "error") == 0;
    bool skip = false;
    /* Only chunks that may carry usage or an error are parsed. The usage
     * chunk (one a stream) is read without a tree when it is a plain
     * object with no "error" key; anything else takes the parse below. */
    struct llm_json_top top;
    int ur = -1;
    bool usage_key = !is_error && llm_relay_text_has_key_value(data, len, "\"usage\"", "{");
    if (usage_key && !llm_relay_text_has_key_value(data, len, "\"error\"", "{\"") &&
        llm_json_scan(data, len, false, NULL, &top) == 0 && !top.error.p && top.usage.p &&
        top.usage.p[0] == '{' && (ur = llm_usage_parse_top(&top, &c->used)) >= 0) {
        if (ur > 0)
            c->have_usage = true;
        size_t k = 1; /* "choices":[] : the chunk include_usage added for us, not the client's */
        while (top.choices.p && k < top.choices.len && strchr(" \t\r\n", top.choices.p[k]))
            k++;
        if (top.choices.p && top.choices.p[0] == '[' && k < top.choices.len && top.choices.p[k] == ']' &&
            !c->client_usage)
            return 0;
    } else if (is_error || usage_key || llm_relay_text_has_key_value(data, len, "\"error\"", "{\"")) {
        cJSON *j = cJSON_ParseWithLength(data, len);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            if (is_error) {
                emit_error(c, "the provider reported an error mid-stream", "upstream_error");
                return -1;
            }
            emit_error(c, "the provider sent a malformed stream event", "upstream_error");
            return -1;
        }
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (err || is_error) {
            openai_error_event(c, err ? err : j);
            cJSON_Delete(j);
            return -1;
        }
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
        if (cJSON_IsObject(u) && llm_usage_parse(u, &c->used))
            c->have_usage = true;
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "choices");
        /* The chunk include_usage added for us: not the client's. */
        if (cJSON_IsObject(u) && cJSON_IsArray(ch) && cJSON_GetArraySize(ch) == 0 && !c->client_usage)
            skip = true;
        cJSON_Delete(j);
    }
    if (skip)
        return 0;
    c->chunks++;
    if (!c->first_us && llm_relay_text_has_output(data, len))
        c->first_us = time_mono_us();
    sbuf_reset(&c->ev);
    sbuf_puts(&c->ev, "data: ");
    llm_relay_text_utf8_into(data, len, &c->ev);
    sbuf_puts(&c->ev, "\n\n");
    return emit(c, c->ev.data, c->ev.len) ? 0 : -1;
}

static int anthropic_event(struct llm_call *c, const char *event, const char *data, size_t len)
{
    char why[200] = "";
    sbuf_reset(&c->ev);
    int rc = anth_stream_event(c->anth, event, data, len, &c->ev, why, sizeof why);
    if (rc < 0) {
        emit_error(c, "the provider sent a malformed stream event", "upstream_error");
        return -1;
    }
    /* One client event per "data: ...\n\n" block, each flushed alone. */
    const char *p = c->ev.data ? c->ev.data : "", *end = p + c->ev.len;
    bool saw_done = false, saw_error = false;
    while (p < end) {
        const char *sep = llm_relay_text_find(p, (size_t)(end - p), "\n\n", 2);
        const char *q = sep ? sep + 2 : end;
        if (q - p >= 12 && memcmp(p, "data: [DONE]", 12) == 0)
            saw_done = true;
        if (q - p >= 14 && memcmp(p, "data: {\"error\"", 14) == 0) { /* 14: not the literal's NUL */
            saw_error = true;
            struct sbuf r;
            sbuf_init(&r);
            llm_relay_text_redact_into(c, p, (size_t)(q - p), &r);
            bool ok = emit(c, r.data, r.len);
            sbuf_deinit(&r);
            if (!ok)
                return -1;
            p = q;
            continue;
        }
        /* Text or tool arguments: about a token each (for a cancel). */
        if (llm_relay_text_contains(p, (size_t)(q - p), "\"content\":\"") ||
            llm_relay_text_contains(p, (size_t)(q - p), "\"arguments\":\""))
            c->chunks++;
        if (!c->first_us && llm_relay_text_has_output(p, (size_t)(q - p)))
            c->first_us = time_mono_us();
        if (!emit(c, p, (size_t)(q - p)))
            return -1;
        p = q;
    }
    if (saw_error) {
        c->stream_error = true;
        c->stream_ended = true;
        return -1;
    }
    if (rc == 1) {
        c->stream_ended = true;
        if (!saw_done && !emit(c, "data: [DONE]\n\n", 14))
            return -1;
    }
    return 0;
}

static int relay_sse_cb(const char *event, const char *data, size_t len, void *arg)
{
    struct llm_call *c = arg;
    if (c->stream_ended)
        return 0; /* nothing after the end reaches the client */
    if (c->msgs)
        return llm_msgs_event(c, event, data, len);
    if (c->resp_pass)
        return llm_resp_event(c, event, data, len);
    if (c->t.type == PROVIDER_ANTHROPIC)
        return anthropic_event(c, event, data, len);
    return openai_event(c, event, data, len);
}

int llm_relay_data(struct llm_call *c, const char *buf, size_t len)
{
    if (c->state == CALL_BODY && c->answer_own) {
        if (!answer_take(c, len))
            return -1;
        sbuf_append(&c->answer, buf, len);
        relay_held += len;
        return 0;
    }
    if (c->state != CALL_STREAM)
        return -1;
    if (sse_feed(c->sse, buf, len, relay_sse_cb, c) < 0) {
        if (c->state == CALL_CANCELLED || c->stream_ended)
            return -1;
        emit_error(c, "the provider sent a stream event larger than the gateway accepts", "upstream_error");
        return -1;
    }
    return 0;
}

void llm_relay_stream_end(struct llm_call *c, const char *error)
{
    if (!c->stream_ended && c->state != CALL_CANCELLED) {
        char msg[400];
        snprintf(msg, sizeof msg, "the provider's stream ended early: %s",
                 error ? error : "the connection closed before the end");
        emit_error(c, msg, "upstream_error");
    }
    if (c->anth || c->msgs) {
        if (c->anth)
            anth_stream_usage(c->anth, &c->used);
        else
            msgs_stream_usage(c->msgs, &c->used);
        c->have_usage = c->used.prompt >= 0 || c->used.completion >= 0;
    }
    c->res.outcome = c->stream_error ? LLM_UPSTREAM : LLM_OK;
    c->res.status = 200;
    c->res.retryable = false;
}

void llm_relay_usage_so_far(struct llm_call *c, struct llm_usage *u)
{
    llm_usage_init(u);
    if (c->anth || (c->msgs && c->t.type == PROVIDER_ANTHROPIC)) {
        /* message_delta's output count comes only at the end: until then
         * the chunks relayed say more. */
        if (c->anth)
            anth_stream_usage(c->anth, u);
        else
            msgs_stream_usage(c->msgs, u);
        if (c->msgs && u->prompt < 0) /* left before message_start: it was sent */
            u->prompt = c->est_prompt;
        if (c->chunks > u->completion)
            u->completion = c->chunks;
        return;
    }
    if (c->have_usage) {
        *u = c->used;
        return;
    }
    u->prompt = c->est_prompt;
    /* A stream: about one token per content chunk relayed. Not streamed
     * (or nothing seen yet): what was reserved, as the provider may
     * have produced it all. */
    u->completion = c->began ? c->chunks : c->est_completion;
}

/* A provider's non-2xx answer as OpenAI's error shape. */
static void openai_error_body(struct llm_call *c, long status, const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(err)) {
        llm_relay_text_utf8_into(body, len, &c->res_body);
    } else {
        char msg[400];
        size_t shown = len < 200 ? len : 200;
        snprintf(msg, sizeof msg, "the provider answered %ld: %.*s", status, (int)shown, body);
        llm_error_json(&c->res_body, msg, status >= 500 ? "server_error" : "invalid_request_error", NULL,
                       "upstream_error");
    }
    cJSON_Delete(j);
}

static void relay_error(struct llm_call *c, long status, const char *body, size_t len);

/* The answer refused by a bound: c->res says so. true when it was. */
bool llm_relay_refused(struct llm_call *c)
{
    if (c->answer_over) {
        LOG_AT(LOG_WARN, c->o.request_id, NULL,
               "llm: an answer from %s refused: LLM_BUFFER_MAX (%zu bytes) held by this process", c->t.provider,
               budget(c));
        /* ingot's own contention, not the job's: LLM_WAIT puts a job back
         * without spending an attempt (a sync client gets 503) */
        llm_call_fail(c, LLM_WAIT, 503, "server_error", NULL, "gateway_busy",
                      "the gateway holds too many provider answers at once: retry shortly");
        c->res.retryable = true;
        c->res.retry_after_ms = 1000;
    } else if (c->answer_too_large) {
        llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                      "the provider's answer is larger than the gateway accepts");
    } else {
        return false;
    }
    llm_relay_release(c);
    return true;
}

static void relay_body(struct llm_call *c, long status, const char *body, size_t len);

void llm_relay_body(struct llm_call *c, long status, const char *body, size_t len)
{
    if (c->answer_own) {
        body = c->answer.data ? c->answer.data : "";
        len = c->answer.len;
    }
    relay_body(c, status, body, len);
    llm_relay_release(c);
}

static void relay_body(struct llm_call *c, long status, const char *body, size_t len)
{
    sbuf_reset(&c->res_body);
    char why[256] = "";
    if (status >= 200 && status < 300) {
        if (c->streamed) {
            llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                          "the provider answered a streaming request without a stream");
            return;
        }
        if (c->o.ep == LLM_EP_RESPONSES) {
            if (!llm_resp_body(c, body, len, why, sizeof why)) {
                llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error", why);
                return;
            }
        } else if (c->o.ep == LLM_EP_MESSAGES) {
            if (!llm_msgs_body(c, body, len)) {
                llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                              c->t.type == PROVIDER_ANTHROPIC ? "the provider's answer is not a Messages response"
                                                              : "the provider's answer is not a chat completion");
                return;
            }
        } else if (c->t.type == PROVIDER_ANTHROPIC) {
            if (anth_response(body, len, c->model, (long long)time(NULL), &c->res_body, &c->used, why,
                              sizeof why) < 0) {
                llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                              "the provider's answer is not a Messages response");
                return;
            }
            c->have_usage = c->used.prompt >= 0;
        } else {
            /* One pass over the text, no tree: an embeddings answer may
             * be 100+ MB of floats. Converted as it goes when asked. */
            struct llm_json_top top;
            struct sbuf *conv = c->embed_b64 ? &c->res_body : NULL;
            if (llm_json_scan(body, len, c->embed_b64, conv, &top) < 0) {
                llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                              "the provider's answer is not JSON");
                return;
            }
            /* Some servers answer a failure with a 200: an error and
             * nothing of an answer is an error (the SDK would hand the
             * caller a completion without choices). */
            if (top.error.p && top.error.p[0] == '{' && !top.choices.p && !top.data.p) {
                sbuf_reset(&c->res_body);
                relay_error(c, 502, body, len);
                return;
            }
            if (top.usage.p && top.usage.p[0] == '{') {
                int ur = llm_usage_parse_top(&top, &c->used);
                if (ur < 0) { /* escaped keys: the tree decides */
                    cJSON *u = cJSON_ParseWithLength(top.usage.p, top.usage.len);
                    ur = llm_usage_parse(u, &c->used);
                    cJSON_Delete(u);
                }
                c->have_usage = ur > 0;
            }
            if (c->embed_b64) {
                if (!top.data.p || top.data.p[0] != '[') {
                    llm_call_fail(c, LLM_TRANSPORT, 502, "server_error", NULL, "upstream_error",
                                  "the provider's embeddings could not be encoded");
                    return;
                }
                llm_relay_text_utf8(&c->res_body);
            } else if (c->answer_own && body == c->answer.data && llm_relay_text_valid(body, len)) {
                /* The reply is the answer as it came: its buffer handed
                 * over, not copied (released as llm_relay_release would). */
                answer_unhold(c);
                sbuf_deinit(&c->res_body);
                c->res_body = c->answer;
                sbuf_init(&c->answer);
            } else {
                llm_relay_text_utf8_into(body, len, &c->res_body);
            }
        }
        c->res.outcome = LLM_OK;
        c->res.status = (int)status;
        c->res.retryable = false;
        return;
    }
    relay_error(c, status, body, len);
}

/* A provider's error answer (status >= 300, or 502 for a 200 that is one)
 * into c->res in OpenAI's shape, without the key. */
static void relay_error(struct llm_call *c, long status, const char *body, size_t len)
{
    if (c->resp_pass && (status == 404 || status == 405)) /* the operator's to fix: said where they look */
        LOG_AT(LOG_WARN, c->o.request_id, NULL,
               "llm: provider %s answered %ld to /responses: if it has no Responses API, give it type openai-chat",
               c->t.provider, status);
    int st = (int)status;
    /* Redacted before anything is cut from it (a key split at the cut
     * would not be found after). */
    struct sbuf clean;
    sbuf_init(&clean);
    llm_relay_text_redact_into(c, body ? body : "", body ? len : 0, &clean);
    if (c->t.type == PROVIDER_ANTHROPIC)
        anth_error((int)status, clean.data, clean.len, &c->res_body, &st);
    else
        openai_error_body(c, status, clean.data ? clean.data : "", clean.len);
    sbuf_deinit(&clean);
    c->res.outcome = LLM_UPSTREAM;
    c->res.status = st;
    c->res.retryable = st == 408 || st == 409 || st == 429 || st >= 500;
    c->res.should_retry = true;
    /* The gateway's own key refused is not the client's fault (a 401 would
     * tell the SDK its key is wrong), and retrying does not fix it. The
     * provider's message is not relayed: it is about our key, and often
     * quotes it. */
    if ((status == 401 || status == 403) && !c->t.tenant_key) {
        LOG_AT(LOG_WARN, c->o.request_id, NULL, "llm: provider %s refused the configured key (%ld)",
               c->t.provider, status);
        llm_call_fail(c, LLM_UPSTREAM, 502, "server_error", NULL, "upstream_auth_error",
                      "the provider refused the gateway's credentials: tell the operator");
        c->res.retryable = false;
        return;
    }
    /* The tenant's own key refused: still 401 (theirs to fix), but not
     * ingot's invalid_api_key, which would say their ingot key is wrong. */
    if (status == 401 && c->t.tenant_key) {
        char msg[200];
        snprintf(msg, sizeof msg, "provider '%s' refused your own key for it (set it again with the operator)",
                 c->t.provider);
        sbuf_reset(&c->res_body);
        llm_error_json(&c->res_body, msg, "invalid_request_error", NULL, "provider_key_invalid");
        c->res.retryable = false;
    }
}
