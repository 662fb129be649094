/* Responses answers: a chat completion as a Response object, and the
 * Responses usage object. */
#include "llm_resp_out.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfield.h"

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* A token count: -1 when absent or not a count. */
static long long count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e15)
        return -1;
    return (long long)v->valuedouble;
}

static long long nz(long long v)
{
    return v < 0 ? 0 : v;
}

bool resp_usage_parse(const cJSON *usage, struct llm_usage *out)
{
    out->prompt = out->completion = out->cached = out->reasoning = -1;
    if (!cJSON_IsObject(usage))
        return false;
    out->prompt = count(usage, "input_tokens");
    out->completion = count(usage, "output_tokens");
    out->cached = count(cJSON_GetObjectItemCaseSensitive(usage, "input_tokens_details"), "cached_tokens");
    out->reasoning = count(cJSON_GetObjectItemCaseSensitive(usage, "output_tokens_details"), "reasoning_tokens");
    return out->prompt >= 0 || out->completion >= 0;
}

void resp_usage_json(const struct llm_usage *u, struct sbuf *out)
{
    sbuf_puts(out, "{\"input_tokens\":");
    sbuf_append_i64(out, nz(u->prompt));
    sbuf_puts(out, ",\"input_tokens_details\":{\"cached_tokens\":");
    sbuf_append_i64(out, nz(u->cached));
    sbuf_puts(out, "},\"output_tokens\":");
    sbuf_append_i64(out, nz(u->completion));
    sbuf_puts(out, ",\"output_tokens_details\":{\"reasoning_tokens\":");
    sbuf_append_i64(out, nz(u->reasoning));
    sbuf_puts(out, "},\"total_tokens\":");
    sbuf_append_i64(out, nz(u->prompt) + nz(u->completion));
    sbuf_putc(out, '}');
}

char *resp_item_id(const char *prefix, const char *id, int n)
{
    char buf[200];
    const char *base = id && strncmp(id, "chatcmpl-", 9) == 0 ? id + 9 : id ? id : "x";
    /* "resp_" and digits is a background response's id (respjob): a
     * translated answer never looks like one */
    if (strcmp(prefix, "resp") == 0 && base[strspn(base, "0123456789")] == '\0')
        prefix = "resp_chat";
    if (n)
        snprintf(buf, sizeof buf, "%s_%.150s_%d", prefix, base, n);
    else
        snprintf(buf, sizeof buf, "%s_%.150s", prefix, base);
    return xstrdup(buf);
}

/* The assistant message item (text and refusal), NULL when it has neither. */
static cJSON *message_item(const cJSON *msg, const char *id)
{
    const cJSON *content = jfield(msg, "content");
    const char *refusal = jfield_str(msg, "refusal");
    struct sbuf text;
    sbuf_init(&text);
    if (cJSON_IsString(content))
        sbuf_puts(&text, content->valuestring);
    else if (cJSON_IsArray(content)) /* some servers answer parts */
        for (const cJSON *p = content->child; p; p = p->next)
            if (jfield_str(p, "text"))
                sbuf_puts(&text, jfield_str(p, "text"));
    if (!text.len && !cJSON_IsString(content) && !refusal) {
        sbuf_deinit(&text);
        return NULL;
    }
    cJSON *it = cJSON_CreateObject();
    char *mid = resp_item_id("msg", id, 0);
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "id", mid);
    free(mid);
    cJSON_AddStringToObject(it, "status", "completed");
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON *parts = cJSON_AddArrayToObject(it, "content");
    if (text.len || cJSON_IsString(content)) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "output_text");
        cJSON_AddStringToObject(p, "text", text.data ? text.data : "");
        cJSON_AddArrayToObject(p, "annotations");
        cJSON_AddArrayToObject(p, "logprobs");
        cJSON_AddItemToArray(parts, p);
    }
    if (refusal) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "refusal");
        cJSON_AddStringToObject(p, "refusal", refusal);
        cJSON_AddItemToArray(parts, p);
    }
    sbuf_deinit(&text);
    return it;
}

static void add_calls(cJSON *output, const cJSON *msg, const char *id)
{
    const cJSON *calls = jfield(msg, "tool_calls");
    int n = 0;
    for (const cJSON *c = cJSON_IsArray(calls) ? calls->child : NULL; c; c = c->next) {
        const cJSON *f = jfield(c, "function");
        if (!cJSON_IsObject(f))
            continue;
        cJSON *it = cJSON_CreateObject();
        char *fid = resp_item_id("fc", id, ++n);
        cJSON_AddStringToObject(it, "type", "function_call");
        cJSON_AddStringToObject(it, "id", fid);
        free(fid);
        cJSON_AddStringToObject(it, "call_id", jfield_str(c, "id") ? jfield_str(c, "id") : "");
        cJSON_AddStringToObject(it, "name", jfield_str(f, "name") ? jfield_str(f, "name") : "");
        cJSON_AddStringToObject(it, "arguments", jfield_str(f, "arguments") ? jfield_str(f, "arguments") : "{}");
        cJSON_AddStringToObject(it, "status", "completed");
        cJSON_AddItemToArray(output, it);
    }
}

/* The request's member name echoed (or null / dflt when absent). */
static void echo(cJSON *r, const cJSON *req, const char *name, cJSON *dflt)
{
    const cJSON *v = jfield(req, name);
    if (v) {
        cJSON_Delete(dflt);
        cJSON_AddItemToObject(r, name, cJSON_Duplicate(v, true));
    } else {
        cJSON_AddItemToObject(r, name, dflt ? dflt : cJSON_CreateNull());
    }
}

int resp_from_chat(const char *chat, size_t len, const cJSON *req, const char *model, long long now_s,
                   struct sbuf *out, char *why, size_t whylen)
{
    cJSON *j = cJSON_ParseWithLength(chat, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *ch0 = cJSON_GetArrayItem(choices, 0);
    const cJSON *msg = jfield(ch0, "message");
    if (!cJSON_IsObject(j) || !cJSON_IsObject(msg)) {
        snprintf(why, whylen, "the provider's answer is not a chat completion");
        cJSON_Delete(j);
        return -1;
    }
    const char *cid = jfield_str(j, "id");
    const char *finish = jfield_str(ch0, "finish_reason");
    cJSON *r = cJSON_CreateObject();
    char *rid = resp_item_id("resp", cid, 0);
    cJSON_AddStringToObject(r, "id", rid);
    free(rid);
    cJSON_AddStringToObject(r, "object", "response");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(j, "created");
    cJSON_AddNumberToObject(r, "created_at", cJSON_IsNumber(created) ? created->valuedouble : (double)now_s);
    bool cut = is(finish, "length") || is(finish, "content_filter");
    cJSON_AddStringToObject(r, "status", cut ? "incomplete" : "completed");
    cJSON_AddNumberToObject(r, "completed_at", (double)now_s);
    cJSON_AddNullToObject(r, "error");
    if (cut) {
        cJSON *d = cJSON_AddObjectToObject(r, "incomplete_details");
        cJSON_AddStringToObject(d, "reason", is(finish, "length") ? "max_output_tokens" : "content_filter");
    } else {
        cJSON_AddNullToObject(r, "incomplete_details");
    }
    echo(r, req, "instructions", NULL);
    echo(r, req, "max_output_tokens", NULL);
    cJSON_AddStringToObject(r, "model", model);
    cJSON *output = cJSON_AddArrayToObject(r, "output");
    cJSON *m = message_item(msg, cid);
    if (m)
        cJSON_AddItemToArray(output, m);
    add_calls(output, msg, cid);
    echo(r, req, "parallel_tool_calls", cJSON_CreateTrue());
    echo(r, req, "previous_response_id", NULL);
    echo(r, req, "temperature", NULL);
    echo(r, req, "tool_choice", cJSON_CreateString("auto"));
    echo(r, req, "tools", cJSON_CreateArray());
    echo(r, req, "top_p", NULL);
    cJSON *text = cJSON_CreateObject();
    cJSON_AddItemToObject(cJSON_AddObjectToObject(text, "format"), "type", cJSON_CreateString("text"));
    echo(r, req, "text", text);
    echo(r, req, "truncation", cJSON_CreateString("disabled"));
    echo(r, req, "metadata", cJSON_CreateObject());
    echo(r, req, "store", cJSON_CreateTrue());
    cJSON_AddFalseToObject(r, "background");
    struct llm_usage u;
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(j, "usage");
    bool have = cJSON_IsObject(cu);
    u.prompt = count(cu, "prompt_tokens");
    u.completion = count(cu, "completion_tokens");
    u.cached = count(cJSON_GetObjectItemCaseSensitive(cu, "prompt_tokens_details"), "cached_tokens");
    u.reasoning = count(cJSON_GetObjectItemCaseSensitive(cu, "completion_tokens_details"), "reasoning_tokens");
    char *s = cJSON_PrintUnformatted(r);
    /* usage appended as text: the one place its shape is written */
    size_t n = strlen(s);
    sbuf_append(out, s, n - 1);
    sbuf_puts(out, ",\"usage\":");
    if (have)
        resp_usage_json(&u, out);
    else
        sbuf_puts(out, "null");
    sbuf_putc(out, '}');
    cJSON_free(s);
    cJSON_Delete(r);
    cJSON_Delete(j);
    return 0;
}
