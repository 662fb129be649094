/* Responses request: checked, and translated to chat completions (the
 * answer's direction is llm_resp_out.c). */
#include "llm_resp_req.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jfield.h"
#include "llm.h"

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* The reason a chat-only provider cannot do what needs OpenAI's side. */
#define NO_STATE "this model's provider speaks chat completions, not the Responses API, and ingot keeps no " \
                 "conversation state: send the whole conversation in input instead"
#define NO_BUILTIN "built-in tools run only on providers that speak the Responses API; this model's provider " \
                   "speaks chat completions: use function tools"

int resp_check(const cJSON *body, char *param, size_t paramlen, char *why, size_t whylen)
{
    struct jerr e = {param, why, paramlen, whylen};
    if (!cJSON_IsObject(body))
        return jerr_fail(&e, "the body must be a JSON object", "%s", "");
    const cJSON *in = jfield(body, "input");
    if (!in)
        return jerr_fail(&e, "input is required (a string or an array of items)", "input");
    if (!cJSON_IsString(in) && !cJSON_IsArray(in))
        return jerr_fail(&e, "input must be a string or an array of items", "input");
    static const char *const bools[] = {"stream", "background", "store", "parallel_tool_calls"};
    for (size_t i = 0; i < ARRAY_LEN(bools); i++) {
        const cJSON *v = jfield(body, bools[i]);
        if (v && !cJSON_IsBool(v))
            return jerr_fail(&e, "must be a boolean", "%s", bools[i]);
    }
    const cJSON *mt = jfield(body, "max_output_tokens");
    long long x;
    if (mt && !(cJSON_IsNumber(mt) && check_double_ll(mt->valuedouble, 16, LLM_MAX_TOKENS_CAP, &x)))
        return jerr_fail(&e, "max_output_tokens must be a whole number from 16 up", "max_output_tokens");
    const cJSON *md = jfield(body, "metadata");
    if (md && !cJSON_IsObject(md))
        return jerr_fail(&e, "metadata must be an object of strings", "metadata");
    /* OpenAI's bounds (its SDK types the values as strings): echoed in
     * every Response, stored with a background one. */
    int pairs = 0;
    for (const cJSON *m = md ? md->child : NULL; m; m = m->next) {
        if (++pairs > 16)
            return jerr_fail(&e, "metadata has at most 16 keys", "metadata");
        if (strlen(m->string) > 64)
            return jerr_fail(&e, "metadata keys are at most 64 characters", "metadata");
        if (!cJSON_IsString(m) || strlen(m->valuestring) > 512)
            return jerr_fail(&e, "metadata values are strings of at most 512 characters", "metadata.%.64s",
                             m->string);
    }
    const cJSON *ins = jfield(body, "instructions");
    if (ins && !cJSON_IsString(ins))
        return jerr_fail(&e, "instructions must be a string", "instructions");
    const cJSON *tools = jfield(body, "tools");
    if (tools && !cJSON_IsArray(tools))
        return jerr_fail(&e, "tools must be an array", "tools");
    return 0;
}

/* A part's text: "input_text" / "output_text" / "text". */
static const char *part_text(const cJSON *p)
{
    const char *t = jfield_str(p, "type");
    if (is(t, "input_text") || is(t, "output_text") || is(t, "text"))
        return jfield_str(p, "text");
    return NULL;
}

/* A message's content: a string, or parts (text and, for users, images)
 * as chat content parts. */
static cJSON *content_of(const cJSON *content, bool user, const char *path, struct jerr *e)
{
    if (cJSON_IsString(content))
        return cJSON_CreateString(content->valuestring);
    if (!cJSON_IsArray(content)) {
        jerr_fail(e, "a message's content must be a string or an array of parts", "%s.content", path);
        return NULL;
    }
    cJSON *out = cJSON_CreateArray();
    int k = 0;
    for (const cJSON *p = content->child; p; p = p->next, k++) {
        const char *t = jfield_str(p, "type");
        const char *text = part_text(p);
        if (text) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "text");
            cJSON_AddStringToObject(o, "text", text);
            cJSON_AddItemToArray(out, o);
        } else if (is(t, "refusal") && !user) {
            continue; /* an earlier refusal: nothing for the model to read */
        } else if (is(t, "input_image") && user && jfield_str(p, "image_url")) {
            cJSON *o = cJSON_CreateObject(), *iu = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "image_url");
            cJSON_AddStringToObject(iu, "url", jfield_str(p, "image_url"));
            if (jfield_str(p, "detail"))
                cJSON_AddStringToObject(iu, "detail", jfield_str(p, "detail"));
            cJSON_AddItemToObject(o, "image_url", iu);
            cJSON_AddItemToArray(out, o);
        } else {
            cJSON_Delete(out);
            jerr_fail(e,
                      is(t, "input_image") ? "an image part translates for a chat-only provider only with image_url "
                                             "(file_id needs the provider's file store)"
                                           : "this content part does not translate to chat completions (text, and "
                                             "images by URL in user messages, do)",
                      "%s.content[%d].type", path, k);
            return NULL;
        }
    }
    return out;
}

/* The assistant message tool calls are added to: the last one when it is
 * an assistant message, else a new one. */
static cJSON *assistant_for_calls(cJSON *msgs)
{
    cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    if (last && is(jfield_str(last, "role"), "assistant"))
        return last;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddNullToObject(m, "content");
    cJSON_AddItemToArray(msgs, m);
    return m;
}

/* function_call_output's output: a string, or parts whose text is joined. */
static int output_text(const cJSON *out, const char *path, struct jerr *e, struct sbuf *b)
{
    if (cJSON_IsString(out)) {
        sbuf_puts(b, out->valuestring);
        return 0;
    }
    if (cJSON_IsArray(out)) {
        for (const cJSON *p = out->child; p; p = p->next) {
            const char *t = part_text(p);
            if (!t)
                return jerr_fail(e, "only text parts of a function_call_output translate", "%s.output", path);
            sbuf_puts(b, t);
        }
        return 0;
    }
    return jerr_fail(e, "a function_call_output needs output (a string)", "%s.output", path);
}

/* One input item into msgs. */
static int add_item(cJSON *msgs, const cJSON *it, int i, struct jerr *e)
{
    char path[32];
    snprintf(path, sizeof path, "input[%d]", i);
    if (!cJSON_IsObject(it))
        return jerr_fail(e, "each input item must be an object", "%s", path);
    const char *type = jfield_str(it, "type");
    const char *role = jfield_str(it, "role");
    if (!type || is(type, "message")) {
        if (!(is(role, "user") || is(role, "assistant") || is(role, "system") || is(role, "developer")))
            return jerr_fail(e, "a message's role must be user, assistant, system or developer", "%s.role", path);
        cJSON *content = content_of(jfield(it, "content"), is(role, "user"), path, e);
        if (!content)
            return -1;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", is(role, "developer") ? "system" : role);
        cJSON_AddItemToObject(m, "content", content);
        cJSON_AddItemToArray(msgs, m);
        return 0;
    }
    if (is(type, "function_call")) {
        const char *call_id = jfield_str(it, "call_id"), *name = jfield_str(it, "name");
        const char *args = jfield_str(it, "arguments");
        if (!call_id)
            return jerr_fail(e, "a function_call needs call_id (a string)", "%s.call_id", path);
        if (!name)
            return jerr_fail(e, "a function_call needs name (a string)", "%s.name", path);
        cJSON *a = assistant_for_calls(msgs);
        cJSON *calls = cJSON_GetObjectItemCaseSensitive(a, "tool_calls");
        if (!calls)
            calls = cJSON_AddArrayToObject(a, "tool_calls");
        cJSON *c = cJSON_CreateObject(), *f = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", call_id);
        cJSON_AddStringToObject(c, "type", "function");
        cJSON_AddStringToObject(f, "name", name);
        cJSON_AddStringToObject(f, "arguments", args ? args : "{}");
        cJSON_AddItemToObject(c, "function", f);
        cJSON_AddItemToArray(calls, c);
        return 0;
    }
    if (is(type, "function_call_output")) {
        const char *call_id = jfield_str(it, "call_id");
        if (!call_id)
            return jerr_fail(e, "a function_call_output needs call_id (a string)", "%s.call_id", path);
        struct sbuf b;
        sbuf_init(&b);
        if (output_text(jfield(it, "output"), path, e, &b) < 0) {
            sbuf_deinit(&b);
            return -1;
        }
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "tool");
        cJSON_AddStringToObject(m, "tool_call_id", call_id);
        cJSON_AddStringToObject(m, "content", b.data ? b.data : "");
        cJSON_AddItemToArray(msgs, m);
        sbuf_deinit(&b);
        return 0;
    }
    if (is(type, "item_reference"))
        return jerr_fail(e, NO_STATE, "%s.type", path);
    if (is(type, "reasoning"))
        return 0; /* a reasoning item of an earlier answer: chat has no place for it */
    return jerr_fail(e, "this input item type does not translate to chat completions (message, function_call and "
                        "function_call_output do)", "%s.type", path);
}

static int add_tools(cJSON *chat, const cJSON *tools, struct jerr *e)
{
    if (!tools || !cJSON_GetArraySize(tools))
        return 0;
    cJSON *out = cJSON_AddArrayToObject(chat, "tools");
    int i = 0;
    for (const cJSON *t = tools->child; t; t = t->next, i++) {
        const char *type = jfield_str(t, "type");
        if (!is(type, "function"))
            return jerr_fail(e, type ? NO_BUILTIN : "each tool needs a type (a string)", "tools[%d].type", i);
        const char *name = jfield_str(t, "name");
        if (!name)
            return jerr_fail(e, "a function tool needs name (a string)", "tools[%d].name", i);
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(f, "name", name);
        if (jfield_str(t, "description"))
            cJSON_AddStringToObject(f, "description", jfield_str(t, "description"));
        const cJSON *params = jfield(t, "parameters");
        if (params) {
            if (!cJSON_IsObject(params))
                return jerr_fail(e, "a function tool's parameters must be a JSON Schema object", "tools[%d].parameters", i);
            cJSON_AddItemToObject(f, "parameters", cJSON_Duplicate(params, true));
        }
        const cJSON *strict = jfield(t, "strict");
        if (cJSON_IsBool(strict))
            cJSON_AddBoolToObject(f, "strict", cJSON_IsTrue(strict));
        cJSON_AddItemToObject(o, "function", f);
        cJSON_AddItemToArray(out, o);
    }
    return 0;
}

static int add_tool_choice(cJSON *chat, const cJSON *tc, struct jerr *e)
{
    if (!tc)
        return 0;
    if (cJSON_IsString(tc) && (is(tc->valuestring, "auto") || is(tc->valuestring, "none") ||
                               is(tc->valuestring, "required"))) {
        cJSON_AddStringToObject(chat, "tool_choice", tc->valuestring);
        return 0;
    }
    if (cJSON_IsObject(tc) && is(jfield_str(tc, "type"), "function") && jfield_str(tc, "name")) {
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(f, "name", jfield_str(tc, "name"));
        cJSON_AddItemToObject(o, "function", f);
        cJSON_AddItemToObject(chat, "tool_choice", o);
        return 0;
    }
    return jerr_fail(e, "tool_choice translates as auto, none, required or {\"type\":\"function\",\"name\":...}",
                     "tool_choice");
}

/* text.format -> response_format. */
static int add_format(cJSON *chat, const cJSON *text, struct jerr *e)
{
    const cJSON *f = jfield(text, "format");
    if (!f)
        return 0;
    const char *t = jfield_str(f, "type");
    if (is(t, "text"))
        return 0;
    cJSON *rf = cJSON_CreateObject();
    if (is(t, "json_object")) {
        cJSON_AddStringToObject(rf, "type", "json_object");
    } else if (is(t, "json_schema")) {
        if (!jfield_str(f, "name") || !cJSON_IsObject(jfield(f, "schema"))) {
            cJSON_Delete(rf);
            return jerr_fail(e, "a json_schema format needs name (a string) and schema (an object)", "text.format");
        }
        cJSON *js = cJSON_CreateObject();
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON_AddStringToObject(js, "name", jfield_str(f, "name"));
        if (jfield_str(f, "description"))
            cJSON_AddStringToObject(js, "description", jfield_str(f, "description"));
        cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(jfield(f, "schema"), true));
        if (cJSON_IsBool(jfield(f, "strict")))
            cJSON_AddBoolToObject(js, "strict", cJSON_IsTrue(jfield(f, "strict")));
        cJSON_AddItemToObject(rf, "json_schema", js);
    } else {
        cJSON_Delete(rf);
        return jerr_fail(e, "text.format.type must be text, json_object or json_schema", "text.format.type");
    }
    cJSON_AddItemToObject(chat, "response_format", rf);
    return 0;
}

/* Fields read by the translation, or harmless to leave behind (ingot
 * stores nothing for a plain call; background is the caller's). */
static const char *const known[] = {
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens", "text",
    "temperature", "top_p", "user", "store", "metadata", "stream", "background", "truncation", "service_tier",
    "safety_identifier", "prompt_cache_key", "include", "reasoning", "stream_options",
};

static int check_fields(const cJSON *body, struct jerr *e)
{
    if (jfield(body, "previous_response_id"))
        return jerr_fail(e, NO_STATE, "previous_response_id");
    if (jfield(body, "conversation"))
        return jerr_fail(e, NO_STATE, "conversation");
    if (jfield(body, "prompt"))
        return jerr_fail(e, "stored prompts live at OpenAI; this model's provider speaks chat completions only",
                         "prompt");
    /* Sent on as chat fields and echoed in the Response: the SDK's types,
     * checked here (a chat-only server may take anything). */
    static const struct { const char *name; double max; } nums[] = {{"temperature", 2}, {"top_p", 1}};
    for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
        const cJSON *v = jfield(body, nums[i].name);
        if (v && !(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= nums[i].max))
            return jerr_fail(e, nums[i].max > 1 ? "must be a number from 0 to 2" : "must be a number from 0 to 1",
                             "%s", nums[i].name);
    }
    const cJSON *u = jfield(body, "user");
    if (u && !cJSON_IsString(u))
        return jerr_fail(e, "user must be a string", "user");
    const cJSON *text = jfield(body, "text");
    if (text && !cJSON_IsObject(text))
        return jerr_fail(e, "text must be an object ({\"format\":{\"type\":\"text\"}})", "text");
    const cJSON *fmt = jfield(text, "format");
    if (fmt && !cJSON_IsObject(fmt))
        return jerr_fail(e, "text.format must be an object with a type", "text.format");
    const cJSON *inc = jfield(body, "include");
    if (inc && cJSON_GetArraySize(inc) > 0)
        return jerr_fail(e, "include asks for outputs of built-in tools, which this provider does not run", "include");
    for (const cJSON *f = body->child; f; f = f->next) {
        bool ok = cJSON_IsNull(f);
        for (size_t i = 0; !ok && i < ARRAY_LEN(known); i++)
            ok = strcmp(f->string, known[i]) == 0;
        if (!ok)
            return jerr_fail(e, "this field does not translate to chat completions (this model's provider does not "
                                "speak the Responses API)", "%s", f->string);
    }
    return 0;
}

cJSON *resp_to_chat(const cJSON *body, const char *upstream_model, char *param, size_t paramlen, char *why,
                    size_t whylen)
{
    struct jerr e = {param, why, paramlen, whylen};
    if (resp_check(body, param, paramlen, why, whylen) < 0 || check_fields(body, &e) < 0)
        return NULL;
    cJSON *chat = cJSON_CreateObject();
    cJSON_AddStringToObject(chat, "model", upstream_model);
    cJSON *msgs = cJSON_AddArrayToObject(chat, "messages");
    const char *ins = jfield_str(body, "instructions");
    if (ins) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", ins);
        cJSON_AddItemToArray(msgs, m);
    }
    const cJSON *in = jfield(body, "input");
    if (cJSON_IsString(in)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", in->valuestring);
        cJSON_AddItemToArray(msgs, m);
    } else {
        int i = 0;
        for (const cJSON *it = in->child; it; it = it->next, i++)
            if (add_item(msgs, it, i, &e) < 0)
                goto fail;
    }
    if (cJSON_GetArraySize(msgs) == 0) {
        jerr_fail(&e, "input has no message to send", "input");
        goto fail;
    }
    if (add_tools(chat, jfield(body, "tools"), &e) < 0 || add_tool_choice(chat, jfield(body, "tool_choice"), &e) < 0 ||
        add_format(chat, jfield(body, "text"), &e) < 0)
        goto fail;
    static const char *const same[] = {"temperature", "top_p", "parallel_tool_calls", "user"};
    for (size_t i = 0; i < ARRAY_LEN(same); i++) {
        const cJSON *v = jfield(body, same[i]);
        if (v)
            cJSON_AddItemToObject(chat, same[i], cJSON_Duplicate(v, true));
    }
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(chat, "tools")) == false)
        cJSON_DeleteItemFromObjectCaseSensitive(chat, "parallel_tool_calls"); /* chat refuses it without tools */
    const cJSON *mt = jfield(body, "max_output_tokens");
    if (mt)
        cJSON_AddNumberToObject(chat, "max_tokens", mt->valuedouble);
    return chat;
fail:
    cJSON_Delete(chat);
    return NULL;
}
