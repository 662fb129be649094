/* A Messages call in the engine: the request upstream and the answer back
 * for an Anthropic client (llm_msgs_req, _resp and _stream do the JSON). */
#include "llm_msgs_relay.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "llm_msgs_req.h"
#include "llm_msgs_resp.h"
#include "llm_msgs_stream.h"
#include "llm_priv.h"
#include "llm_relay_text.h"

int llm_msgs_route(struct llm_call *c, const cJSON *body, char *param, size_t paramlen, char *why, size_t whylen)
{
    if (c->t.type == PROVIDER_ANTHROPIC) {
        if (msgs_check(body, param, paramlen, why, whylen) < 0)
            return -1;
        /* The body as the client wrote it, but the model renamed. */
        if (llm_openai_body(c->o.body, c->o.body_len, c->t.upstream_model, false, NULL, false, &c->up_body) < 0) {
            snprintf(why, whylen, "the body must be a JSON object");
            return -1;
        }
        return 0;
    }
    return msgs_to_chat(body, c->t.upstream_model, &c->up_body, param, paramlen, why, whylen);
}

const char *llm_msgs_auth_header(const struct llm_call *c, const char *h, char *buf, size_t n)
{
    if (c->o.ep != LLM_EP_MESSAGES || !c->o.anthropic_version[0] || strncmp(h, "anthropic-version:", 18) != 0)
        return h;
    snprintf(buf, n, "anthropic-version: %s", c->o.anthropic_version);
    return buf;
}

bool llm_msgs_beta_header(const struct llm_call *c, char *buf, size_t n)
{
    if (c->o.ep != LLM_EP_MESSAGES || c->t.type != PROVIDER_ANTHROPIC || !c->o.anthropic_beta[0])
        return false;
    snprintf(buf, n, "anthropic-beta: %s", c->o.anthropic_beta);
    return true;
}

void llm_msgs_stream_begin(struct llm_call *c)
{
    c->msgs = msgs_stream_new(c->model, c->t.type == PROVIDER_ANTHROPIC);
}

static bool emit(struct llm_call *c, const char *data, size_t len)
{
    if (len)
        c->stream.event(data, len, c->arg);
    return c->state != CALL_CANCELLED;
}

void llm_msgs_error_event(struct sbuf *b, const char *msg)
{
    msgs_error_event(b, "api_error", msg);
}

int llm_msgs_event(struct llm_call *c, const char *event, const char *data, size_t len)
{
    char why[200] = "";
    long long deltas = 0;
    sbuf_reset(&c->ev);
    int rc = msgs_stream_event(c->msgs, event, data, len, &c->ev, &deltas, why, sizeof why);
    if (rc < 0) {
        sbuf_reset(&c->ev);
        msgs_error_event(&c->ev, "api_error", "the provider sent a malformed stream event");
        c->stream_error = c->stream_ended = true;
        emit(c, c->ev.data, c->ev.len);
        return -1;
    }
    c->chunks += deltas;
    if (deltas && !c->first_us)
        c->first_us = time_mono_us();
    if (rc == 2) { /* the provider's error: it may quote our key */
        c->stream_error = c->stream_ended = true;
        llm_relay_text_redact(c, &c->ev);
        llm_relay_text_utf8(&c->ev);
        emit(c, c->ev.data, c->ev.len);
        return -1;
    }
    if (rc == 1)
        c->stream_ended = true;
    llm_relay_text_utf8(&c->ev); /* clients parse events as UTF-8 */
    return emit(c, c->ev.data, c->ev.len) ? 0 : -1;
}

bool llm_msgs_body(struct llm_call *c, const char *body, size_t len)
{
    char why[200];
    if (c->t.type != PROVIDER_ANTHROPIC) {
        if (msgs_from_chat(body, len, c->model, &c->res_body, &c->used, why, sizeof why) < 0)
            return false;
        c->have_usage = c->used.prompt >= 0 || c->used.completion >= 0;
        return true;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    bool ok = cJSON_IsString(type) && strcmp(type->valuestring, "message") == 0;
    if (ok) {
        msgs_anth_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), &c->used);
        c->have_usage = c->used.prompt >= 0 || c->used.completion >= 0;
        llm_relay_text_utf8_into(body, len, &c->res_body);
    }
    cJSON_Delete(j);
    return ok;
}
