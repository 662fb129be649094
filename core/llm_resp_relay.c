/* A Responses call in the engine (llm_resp_req and llm_resp_out do the
 * JSON). */
#include "llm_resp_relay.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "llm_anthropic.h"
#include "llm_priv.h"
#include "llm_relay_text.h"
#include "llm_resp_out.h"
#include "llm_resp_req.h"
#include "llm_resp_stream.h"
#include "runtime.h"

int llm_resp_route(struct llm_call *c, const cJSON *body, char *param, size_t paramlen, char *why, size_t whylen)
{
    if (resp_check(body, param, paramlen, why, whylen) < 0)
        return -1;
    if (c->t.type == PROVIDER_OPENAI) {
        c->resp_pass = true;
        /* The body as the client wrote it, but the model renamed. */
        if (llm_openai_body(c->o.body, c->o.body_len, c->t.upstream_model, false, NULL, false, &c->up_body) < 0) {
            snprintf(why, whylen, "the body must be a JSON object");
            return -1;
        }
        return 0;
    }
    cJSON *chat = resp_to_chat(body, c->t.upstream_model, param, paramlen, why, whylen);
    if (!chat)
        return -1;
    if (c->streamed) { /* chat chunks, usage last, made Responses events (llm_resp_emit) */
        cJSON_AddTrueToObject(chat, "stream");
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(chat, "stream_options"), "include_usage");
        c->client_usage = true;
    }
    int rc = 0;
    if (c->t.type == PROVIDER_ANTHROPIC) {
        rc = anth_request(chat, c->t.upstream_model, c->l->rt->cfg->llm_default_max_tokens, &c->up_body, param,
                          paramlen, why, whylen);
    } else {
        char *s = cJSON_PrintUnformatted(chat);
        sbuf_puts(&c->up_body, s);
        cJSON_free(s);
    }
    cJSON_Delete(chat);
    return rc;
}

const char *llm_resp_path(const struct llm_call *c)
{
    if (c->resp_pass)
        return "/responses";
    return c->t.type == PROVIDER_ANTHROPIC ? "/messages" : "/chat/completions";
}

void llm_resp_error_event(struct sbuf *b, const char *msg, const char *code, long long seq)
{
    sbuf_puts(b, "event: error\ndata: {\"type\":\"error\",\"code\":");
    sbuf_json_str(b, code);
    sbuf_puts(b, ",\"message\":");
    sbuf_json_str(b, msg);
    sbuf_printf(b, ",\"param\":null,\"sequence_number\":%lld}\n\n", seq);
}

long long llm_resp_end_seq(struct llm_call *c)
{
    return c->rstream ? resp_stream_end_seq(c->rstream) : c->resp_seq++;
}

void llm_resp_stream_begin(struct llm_call *c)
{
    c->rstream = resp_stream_new(c->model, c->o.body, c->o.body_len);
}

bool llm_resp_emit(struct llm_call *c, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    struct sbuf out;
    sbuf_init(&out);
    bool bad = false;
    while (p < end && !bad) {
        const char *sep = llm_relay_text_find(p, (size_t)(end - p), "\n\n", 2);
        const char *q = sep ? sep + 2 : end;
        if ((size_t)(q - p) > 6 && memcmp(p, "data: ", 6) == 0) {
            size_t n = (size_t)((sep ? sep : end) - (p + 6));
            if (resp_stream_chunk(c->rstream, p + 6, n, (long long)time(NULL), &out) < 0) {
                /* the stream ends here (the events before it stand): one
                 * error, numbered after them, and no "ended early" after */
                llm_resp_error_event(&out, "the provider sent a malformed stream event", "upstream_error",
                                     resp_stream_end_seq(c->rstream));
                c->stream_error = c->stream_ended = bad = true;
            }
        } else { /* already a Responses event (an error of ours) */
            sbuf_append(&out, p, (size_t)(q - p));
        }
        p = q;
    }
    if (out.len)
        c->stream.event(out.data, out.len, c->arg);
    sbuf_deinit(&out);
    return c->state != CALL_CANCELLED && !bad;
}

/* A passed-through event's sequence_number (the provider's numbering):
 * the next is after it. */
static void seen_seq(struct llm_call *c, const char *data, size_t len)
{
    static const char key[] = "\"sequence_number\"";
    const char *k = llm_relay_text_find(data, len, key, sizeof key - 1);
    if (!k)
        return;
    const char *p = k + sizeof key - 1, *end = data + len;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    long long v = 0;
    int n = 0;
    for (; p < end && *p >= '0' && *p <= '9' && n < 15; p++, n++)
        v = v * 10 + (*p - '0');
    if (n && v >= c->resp_seq)
        c->resp_seq = v + 1;
}

static bool emit(struct llm_call *c, const char *data, size_t len)
{
    if (len)
        c->stream.event(data, len, c->arg);
    return c->state != CALL_CANCELLED;
}

static bool type_is(const char *event, const char *data, size_t len, const char *type)
{
    if (event[0])
        return strcmp(event, type) == 0;
    char v[96];
    snprintf(v, sizeof v, "\"%s\"", type);
    return llm_relay_text_has_key_value(data, len, "\"type\"", v);
}

int llm_resp_event(struct llm_call *c, const char *event, const char *data, size_t len)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        c->stream_ended = true; /* a Responses stream ends at its last event: no [DONE] to relay */
        return 0;
    }
    bool is_error = type_is(event, data, len, "error");
    bool last = !is_error && (type_is(event, data, len, "response.completed") ||
                              type_is(event, data, len, "response.incomplete") ||
                              type_is(event, data, len, "response.failed"));
    if (last) { /* the whole response, with its usage */
        cJSON *j = cJSON_ParseWithLength(data, len);
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "response"), "usage");
        if (resp_usage_parse(u, &c->used))
            c->have_usage = true;
        cJSON_Delete(j);
    }
    if (type_is(event, data, len, "response.output_text.delta") ||
        type_is(event, data, len, "response.function_call_arguments.delta")) {
        c->chunks++;
        if (!c->first_us)
            c->first_us = time_mono_us();
    }
    if (!is_error)
        seen_seq(c, data, len);
    sbuf_reset(&c->ev);
    if (event[0]) {
        sbuf_puts(&c->ev, "event: ");
        sbuf_puts(&c->ev, event);
        sbuf_putc(&c->ev, '\n');
    }
    sbuf_puts(&c->ev, "data: ");
    llm_relay_text_utf8_into(data, len, &c->ev);
    sbuf_puts(&c->ev, "\n\n");
    if (is_error) { /* the provider's error: it may quote our key */
        llm_relay_text_redact(c, &c->ev);
        c->stream_error = c->stream_ended = true;
        emit(c, c->ev.data, c->ev.len);
        return -1;
    }
    if (last)
        c->stream_ended = true;
    return emit(c, c->ev.data, c->ev.len) ? 0 : -1;
}

bool llm_resp_body(struct llm_call *c, const char *body, size_t len, char *why, size_t whylen)
{
    if (c->resp_pass) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(j, "object");
        bool ok = cJSON_IsString(obj) && strcmp(obj->valuestring, "response") == 0;
        if (ok) {
            if (resp_usage_parse(cJSON_GetObjectItemCaseSensitive(j, "usage"), &c->used))
                c->have_usage = true;
            llm_relay_text_utf8_into(body, len, &c->res_body);
        } else {
            snprintf(why, whylen, "the provider's answer is not a Response object");
        }
        cJSON_Delete(j);
        return ok;
    }
    struct sbuf chat;
    sbuf_init(&chat);
    long long now = (long long)time(NULL);
    const char *cb = body;
    size_t cl = len;
    if (c->t.type == PROVIDER_ANTHROPIC) {
        if (anth_response(body, len, c->model, now, &chat, &c->used, why, whylen) < 0) {
            sbuf_deinit(&chat);
            return false;
        }
        c->have_usage = c->used.prompt >= 0;
        cb = chat.data;
        cl = chat.len;
    } else {
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (llm_usage_parse(cJSON_GetObjectItemCaseSensitive(j, "usage"), &c->used))
            c->have_usage = true;
        cJSON_Delete(j);
    }
    cJSON *req = cJSON_ParseWithLength(c->o.body, c->o.body_len);
    int rc = resp_from_chat(cb, cl, req, c->model, now, &c->res_body, why, whylen);
    cJSON_Delete(req);
    sbuf_deinit(&chat);
    if (rc == 0)
        llm_relay_text_utf8(&c->res_body);
    return rc == 0;
}
