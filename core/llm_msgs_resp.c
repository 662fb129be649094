/* A chat completion answer as an Anthropic Message, Anthropic usage in
 * OpenAI's accounting, and errors in Anthropic's shape. Pure. */

#include "llm_msgs_resp.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* A count above this is not a token count (and stays exact in a double). */
#define MSGS_COUNT_MAX 1000000000000000LL

const char *msgs_stop_reason(const char *finish_reason)
{
    static const struct {
        const char *openai, *anthropic;
    } map[] = {{"stop", "end_turn"},
               {"length", "max_tokens"},
               {"tool_calls", "tool_use"},
               {"function_call", "tool_use"},
               {"content_filter", "refusal"}};
    for (size_t i = 0; finish_reason && i < ARRAY_LEN(map); i++)
        if (strcmp(finish_reason, map[i].openai) == 0)
            return map[i].anthropic;
    return "end_turn";
}

static long long count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    long long n;
    if (cJSON_IsNumber(v) && check_double_ll(v->valuedouble, 0, MSGS_COUNT_MAX, &n))
        return n;
    return -1;
}

void msgs_anth_usage(const cJSON *usage, struct llm_usage *u)
{
    long long in = count(usage, "input_tokens"), out = count(usage, "output_tokens");
    long long cr = count(usage, "cache_read_input_tokens"), cc = count(usage, "cache_creation_input_tokens");
    u->prompt = in >= 0 ? in + (cr > 0 ? cr : 0) + (cc > 0 ? cc : 0) : -1;
    u->cached = cr >= 0 ? cr : in >= 0 ? 0 : -1;
    u->completion = out;
    u->reasoning = -1;
}

/* OpenAI's usage object into u (-1 where absent). */
static void openai_usage(const cJSON *usage, struct llm_usage *u)
{
    u->prompt = count(usage, "prompt_tokens");
    u->completion = count(usage, "completion_tokens");
    u->cached = count(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details"), "cached_tokens");
    u->reasoning = count(cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details"), "reasoning_tokens");
}

/* Anthropic's usage object for OpenAI's counts: input_tokens without the
 * cache reads (Anthropic counts those apart). */
static void usage_out(cJSON *msg, const struct llm_usage *u)
{
    long long p = u->prompt > 0 ? u->prompt : 0, c = u->completion > 0 ? u->completion : 0;
    long long cached = u->cached > 0 && u->cached <= p ? u->cached : 0;
    cJSON *o = cJSON_AddObjectToObject(msg, "usage");
    cJSON_AddNumberToObject(o, "input_tokens", (double)(p - cached));
    cJSON_AddNumberToObject(o, "cache_creation_input_tokens", 0);
    cJSON_AddNumberToObject(o, "cache_read_input_tokens", (double)cached);
    cJSON_AddNumberToObject(o, "output_tokens", (double)c);
}

static void text_block(cJSON *content, const char *text)
{
    if (!text || !*text)
        return;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "text");
    cJSON_AddStringToObject(b, "text", text);
    cJSON_AddItemToArray(content, b);
}

/* A tool call's arguments as the tool_use input: an object, or {} when
 * the model wrote something else (Anthropic's input is always one). */
static cJSON *input_of(const char *args)
{
    cJSON *in = args && *args ? cJSON_Parse(args) : NULL;
    if (cJSON_IsObject(in))
        return in;
    cJSON_Delete(in);
    return cJSON_CreateObject();
}

int msgs_from_chat(const char *body, size_t len, const char *model, struct sbuf *out, struct llm_usage *usage,
                   char *why, size_t whylen)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *ch = cJSON_GetArrayItem(choices, 0);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ch, "message");
    if (!cJSON_IsObject(j) || !cJSON_IsObject(m)) {
        snprintf(why, whylen, "not a chat completion (no choices[0].message)");
        cJSON_Delete(j);
        return -1;
    }
    cJSON *msg = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    char mid[160];
    snprintf(mid, sizeof mid, "msg_%.140s", cJSON_IsString(id) && id->valuestring[0] ? id->valuestring : "ingot");
    cJSON_AddStringToObject(msg, "id", mid);
    cJSON_AddStringToObject(msg, "type", "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "model", model ? model : "");
    cJSON *content = cJSON_AddArrayToObject(msg, "content");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (cJSON_IsString(text)) {
        text_block(content, text->valuestring);
    } else if (cJSON_IsArray(text)) { /* some servers answer parts */
        const cJSON *p;
        cJSON_ArrayForEach(p, text) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
            if (cJSON_IsString(t))
                text_block(content, t->valuestring);
        }
    }
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(m, "refusal");
    if (cJSON_IsString(refusal))
        text_block(content, refusal->valuestring);
    const cJSON *tc;
    cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls")) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *tid = cJSON_GetObjectItemCaseSensitive(tc, "id"), *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", cJSON_IsString(tid) ? tid->valuestring : "toolu_ingot");
        cJSON_AddStringToObject(b, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddItemToObject(b, "input", input_of(cJSON_IsString(args) ? args->valuestring : NULL));
        cJSON_AddItemToArray(content, b);
    }
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
    cJSON_AddStringToObject(msg, "stop_reason", msgs_stop_reason(cJSON_IsString(fr) ? fr->valuestring : NULL));
    /* Which stop sequence matched is not in a chat completion. */
    cJSON_AddNullToObject(msg, "stop_sequence");
    openai_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"), usage);
    usage_out(msg, usage);
    char *s = cJSON_PrintUnformatted(msg);
    if (!s)
        abort(); /* cJSON fails only when out of memory */
    sbuf_puts(out, s);
    cJSON_free(s);
    cJSON_Delete(msg);
    cJSON_Delete(j);
    return 0;
}

const char *msgs_error_type(int status)
{
    switch (status) {
    case 400:
    case 422:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 402:
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503:
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

void msgs_error_json(struct sbuf *out, const char *type, const char *message)
{
    sbuf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":");
    sbuf_json_str(out, type);
    sbuf_puts(out, ",\"message\":");
    sbuf_json_str(out, message ? message : "");
    sbuf_puts(out, "}}");
}

void msgs_error_from(int status, const char *body, size_t len, struct sbuf *out)
{
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *etype = cJSON_GetObjectItemCaseSensitive(err, "type");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0 && cJSON_IsString(etype) &&
        cJSON_IsString(msg)) { /* already Anthropic's */
        msgs_error_json(out, etype->valuestring, msg->valuestring);
        cJSON_Delete(j);
        return;
    }
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(err, "param");
    const char *m = cJSON_IsString(msg) ? msg->valuestring : "the request failed";
    struct sbuf t;
    sbuf_init(&t);
    /* Anthropic's messages start with the field ("max_tokens: ...") */
    const char *pn = cJSON_IsString(param) ? param->valuestring : "";
    if (pn[0] && strncmp(m, pn, strlen(pn)) != 0)
        sbuf_printf(&t, "%s: ", pn);
    sbuf_puts(&t, m);
    msgs_error_json(out, msgs_error_type(status), t.data);
    sbuf_deinit(&t);
    cJSON_Delete(j);
}
