/* Anthropic Messages request: checked (every field the gateway reads or
 * translates), and translated to an OpenAI chat completions request. The
 * answer and stream directions are in llm_msgs_resp.c and
 * llm_msgs_stream.c. */

#include "llm_msgs_req.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jfield.h"

/* Where a failure is reported (the caller's buffers). */
static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* ---- checks ---- */

static int check_image(const cJSON *b, const char *path, struct jerr *e)
{
    const cJSON *src = jfield(b, "source");
    if (!cJSON_IsObject(src))
        return jerr_fail(e, "an image block needs a source object", "%s.source", path);
    const char *t = jfield_str(src, "type");
    if (is(t, "base64")) {
        if (!jfield_str(src, "media_type"))
            return jerr_fail(e, "a base64 image source needs media_type (a string)", "%s.source.media_type", path);
        if (!jfield_str(src, "data"))
            return jerr_fail(e, "a base64 image source needs data (a string)", "%s.source.data", path);
        return 0;
    }
    if (is(t, "url")) {
        if (!jfield_str(src, "url"))
            return jerr_fail(e, "a url image source needs url (a string)", "%s.source.url", path);
        return 0;
    }
    if (t && (is(t, "file")))
        return 0;
    return jerr_fail(e, "an image source's type must be base64, url or file", "%s.source.type", path);
}

/* One content block of a turn (or of a tool_result's content: inner). */
static int check_block(const cJSON *b, const char *path, bool user, bool inner, struct jerr *e)
{
    if (!cJSON_IsObject(b))
        return jerr_fail(e, "each content block must be an object", "%s", path);
    const char *t = jfield_str(b, "type");
    if (!t)
        return jerr_fail(e, "each content block needs a type (a string)", "%s.type", path);
    if (is(t, "text")) {
        if (!jfield_str(b, "text"))
            return jerr_fail(e, "a text block needs text (a string)", "%s.text", path);
    } else if (is(t, "image")) {
        if (!user)
            return jerr_fail(e, "image blocks belong in user turns", "%s.type", path);
        return check_image(b, path, e);
    } else if (is(t, "tool_use") && !inner) {
        if (user)
            return jerr_fail(e, "tool_use blocks belong in assistant turns", "%s.type", path);
        if (!jfield_str(b, "id"))
            return jerr_fail(e, "a tool_use block needs id (a string)", "%s.id", path);
        if (!jfield_str(b, "name"))
            return jerr_fail(e, "a tool_use block needs name (a string)", "%s.name", path);
        if (!cJSON_IsObject(jfield(b, "input")))
            return jerr_fail(e, "a tool_use block needs input (an object)", "%s.input", path);
    } else if (is(t, "tool_result") && !inner) {
        if (!user)
            return jerr_fail(e, "tool_result blocks belong in user turns", "%s.type", path);
        if (!jfield_str(b, "tool_use_id"))
            return jerr_fail(e, "a tool_result block needs tool_use_id (a string)", "%s.tool_use_id", path);
        const cJSON *c = jfield(b, "content");
        if (c && !cJSON_IsString(c) && !cJSON_IsArray(c))
            return jerr_fail(e, "a tool_result's content must be a string or an array of blocks", "%s.content", path);
        const cJSON *x, *arr = cJSON_IsArray(c) ? c : NULL;
        int k = 0;
        cJSON_ArrayForEach(x, arr) {
            char p[160];
            snprintf(p, sizeof p, "%s.content.%d", path, k++);
            if (check_block(x, p, true, true, e) < 0)
                return -1;
        }
        const cJSON *ie = jfield(b, "is_error");
        if (ie && !cJSON_IsBool(ie))
            return jerr_fail(e, "is_error must be a boolean", "%s.is_error", path);
    }
    /* Other types (documents, thinking, server tool results) go to an
     * anthropic provider as they are; msgs_to_chat refuses them. */
    return 0;
}

static int check_messages(const cJSON *body, struct jerr *e)
{
    const cJSON *msgs = jfield(body, "messages");
    if (!cJSON_IsArray(msgs))
        return jerr_fail(e, "messages is required (an array of {role, content})", "messages");
    if (cJSON_GetArraySize(msgs) == 0)
        return jerr_fail(e, "messages needs at least one message", "messages");
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs) {
        char path[48];
        snprintf(path, sizeof path, "messages.%d", i++);
        if (!cJSON_IsObject(m))
            return jerr_fail(e, "each message must be an object with role and content", "%s", path);
        const char *role = jfield_str(m, "role");
        if (!is(role, "user") && !is(role, "assistant"))
            return jerr_fail(e, "role must be \"user\" or \"assistant\" (system text goes in the top-level system)",
                        "%s.role", path);
        const cJSON *c = jfield(m, "content");
        if (cJSON_IsString(c))
            continue;
        if (!cJSON_IsArray(c))
            return jerr_fail(e, "content is required (a string or an array of content blocks)", "%s.content", path);
        int k = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, c) {
            char p[96];
            snprintf(p, sizeof p, "%s.content.%d", path, k++);
            if (check_block(b, p, is(role, "user"), false, e) < 0)
                return -1;
        }
    }
    return 0;
}

static int check_tools(const cJSON *body, struct jerr *e)
{
    const cJSON *tools = jfield(body, "tools");
    if (tools && !cJSON_IsArray(tools))
        return jerr_fail(e, "tools must be an array", "tools");
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        if (!cJSON_IsObject(t))
            return jerr_fail(e, "each tool must be an object", "tools.%d", i);
        const char *type = jfield_str(t, "type");
        if (jfield(t, "type") && !type)
            return jerr_fail(e, "a tool's type must be a string", "tools.%d.type", i);
        if (!jfield_str(t, "name"))
            return jerr_fail(e, "each tool needs a name (a string)", "tools.%d.name", i);
        if ((!type || is(type, "custom")) && !cJSON_IsObject(jfield(t, "input_schema")))
            return jerr_fail(e, "a tool needs input_schema (a JSON Schema object)", "tools.%d.input_schema", i);
        const cJSON *d = jfield(t, "description");
        if (d && !cJSON_IsString(d))
            return jerr_fail(e, "a tool's description must be a string", "tools.%d.description", i);
        i++;
    }
    const cJSON *tc = jfield(body, "tool_choice");
    if (!tc)
        return 0;
    if (!cJSON_IsObject(tc))
        return jerr_fail(e, "tool_choice must be an object: {\"type\": auto|any|tool|none}", "tool_choice");
    const char *type = jfield_str(tc, "type");
    if (!is(type, "auto") && !is(type, "any") && !is(type, "tool") && !is(type, "none"))
        return jerr_fail(e, "tool_choice.type must be auto, any, tool or none", "tool_choice.type");
    if (is(type, "tool") && !jfield_str(tc, "name"))
        return jerr_fail(e, "tool_choice of type tool needs name (a string)", "tool_choice.name");
    const cJSON *dp = jfield(tc, "disable_parallel_tool_use");
    if (dp && !cJSON_IsBool(dp))
        return jerr_fail(e, "disable_parallel_tool_use must be a boolean", "tool_choice.disable_parallel_tool_use");
    return 0;
}

int msgs_check(const cJSON *body, char *param, size_t paramlen, char *why, size_t whylen)
{
    struct jerr e = {.param = param, .paramlen = paramlen, .why = why, .whylen = whylen};
    if (param && paramlen)
        param[0] = '\0';
    if (!cJSON_IsObject(body))
        return jerr_fail(&e, "the body must be a JSON object", "%s", "");
    const cJSON *mt = jfield(body, "max_tokens");
    long long n;
    if (!mt)
        return jerr_fail(&e, "max_tokens is required (a whole number from 1)", "max_tokens");
    if (!cJSON_IsNumber(mt) || !check_double_ll(mt->valuedouble, 1, MSGS_MAX_TOKENS_CAP, &n))
        return jerr_fail(&e, "max_tokens must be a whole number from 1 to 2147483647", "max_tokens");
    if (check_messages(body, &e) < 0)
        return -1;
    const cJSON *sys = jfield(body, "system");
    if (sys && !cJSON_IsString(sys)) {
        if (!cJSON_IsArray(sys))
            return jerr_fail(&e, "system must be a string or an array of text blocks", "system");
        int k = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, sys) {
            if (!is(jfield_str(b, "type"), "text"))
                return jerr_fail(&e, "system blocks must be text blocks", "system.%d.type", k);
            if (!jfield_str(b, "text"))
                return jerr_fail(&e, "a text block needs text (a string)", "system.%d.text", k);
            k++;
        }
    }
    const cJSON *stream = jfield(body, "stream");
    if (stream && !cJSON_IsBool(stream))
        return jerr_fail(&e, "stream must be a boolean", "stream");
    static const char *const nums[] = {"temperature", "top_p", "top_k"};
    for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
        const cJSON *v = jfield(body, nums[i]);
        if (v && !cJSON_IsNumber(v))
            return jerr_fail(&e, "must be a number", "%s", nums[i]);
    }
    const cJSON *ss = jfield(body, "stop_sequences");
    if (ss) {
        if (!cJSON_IsArray(ss))
            return jerr_fail(&e, "stop_sequences must be an array of strings", "stop_sequences");
        int k = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, ss) {
            if (!cJSON_IsString(s))
                return jerr_fail(&e, "stop_sequences must be an array of strings", "stop_sequences.%d", k);
            k++;
        }
    }
    const cJSON *md = jfield(body, "metadata");
    if (md && !cJSON_IsObject(md))
        return jerr_fail(&e, "metadata must be an object", "metadata");
    const cJSON *uid = jfield(md, "user_id");
    if (uid && !cJSON_IsString(uid))
        return jerr_fail(&e, "metadata.user_id must be a string", "metadata.user_id");
    return check_tools(body, &e);
}

/* ---- translation ---- */

static void add_str(cJSON *o, const char *name, const char *v)
{
    cJSON_AddItemToObject(o, name, cJSON_CreateString(v));
}

/* An image block as an image_url part (base64 -> data: URL). */
static int image_part(const cJSON *b, cJSON *parts, const char *path, struct jerr *e)
{
    const cJSON *src = jfield(b, "source");
    const char *t = jfield_str(src, "type");
    cJSON *iu = cJSON_CreateObject();
    if (is(t, "base64")) {
        const char *mt = jfield_str(src, "media_type"), *data = jfield_str(src, "data");
        size_t n = strlen(mt) + strlen(data) + 16;
        char *url = xmalloc(n);
        snprintf(url, n, "data:%s;base64,%s", mt, data);
        add_str(iu, "url", url);
        free(url);
    } else if (is(t, "url")) {
        add_str(iu, "url", jfield_str(src, "url"));
    } else {
        cJSON_Delete(iu);
        return jerr_fail(e, "this image source is not supported by the model's provider (use base64 or url)",
                    "%s.source.type", path);
    }
    cJSON *p = cJSON_CreateObject();
    add_str(p, "type", "image_url");
    cJSON_AddItemToObject(p, "image_url", iu);
    cJSON_AddItemToArray(parts, p);
    return 0;
}

static void text_part(cJSON *parts, const char *text)
{
    cJSON *p = cJSON_CreateObject();
    add_str(p, "type", "text");
    add_str(p, "text", text);
    cJSON_AddItemToArray(parts, p);
}

/* Parts that are all text as one string (what every server takes); NULL
 * when an image is among them. */
static char *parts_text(const cJSON *parts)
{
    struct sbuf s;
    sbuf_init(&s);
    const cJSON *p;
    cJSON_ArrayForEach(p, parts) {
        if (!is(jfield_str(p, "type"), "text")) {
            sbuf_deinit(&s);
            return NULL;
        }
        sbuf_puts(&s, jfield_str(p, "text"));
    }
    return s.data ? s.data : xstrdup("");
}

/* A tool_result block as a role:tool message (is_error said in words:
 * chat completions has no flag for it). */
static int tool_message(const cJSON *b, cJSON *out, const char *path, struct jerr *e)
{
    cJSON *m = cJSON_CreateObject();
    add_str(m, "role", "tool");
    add_str(m, "tool_call_id", jfield_str(b, "tool_use_id"));
    const cJSON *c = jfield(b, "content");
    struct sbuf s;
    sbuf_init(&s);
    if (cJSON_IsTrue(jfield(b, "is_error")))
        sbuf_puts(&s, "Error: ");
    if (cJSON_IsString(c)) {
        sbuf_puts(&s, c->valuestring);
    } else {
        int k = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, c) {
            if (!is(jfield_str(x, "type"), "text")) {
                sbuf_deinit(&s);
                cJSON_Delete(m);
                return jerr_fail(e, "only text can be returned from a tool to this model's provider",
                            "%s.content.%d.type", path, k);
            }
            sbuf_puts(&s, k++ ? "\n" : "");
            sbuf_puts(&s, jfield_str(x, "text"));
        }
    }
    add_str(m, "content", s.data ? s.data : "");
    sbuf_deinit(&s);
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* A user turn: its tool results first (each a role:tool message, right
 * after the assistant's tool calls as chat completions wants), then the
 * rest as one user message. */
static int user_turn(const cJSON *content, cJSON *out, const char *path, struct jerr *e)
{
    if (cJSON_IsString(content)) {
        cJSON *m = cJSON_CreateObject();
        add_str(m, "role", "user");
        add_str(m, "content", content->valuestring);
        cJSON_AddItemToArray(out, m);
        return 0;
    }
    cJSON *parts = cJSON_CreateArray();
    int k = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, content) {
        char p[96];
        snprintf(p, sizeof p, "%s.content.%d", path, k++);
        const char *t = jfield_str(b, "type");
        int rc = 0;
        if (is(t, "text"))
            text_part(parts, jfield_str(b, "text"));
        else if (is(t, "image"))
            rc = image_part(b, parts, p, e);
        else if (is(t, "tool_result"))
            rc = tool_message(b, out, p, e);
        else
            rc = jerr_fail(e, "this content block type is not supported by the model's provider", "%s.type", p);
        if (rc < 0) {
            cJSON_Delete(parts);
            return -1;
        }
    }
    if (cJSON_GetArraySize(parts) == 0) {
        cJSON_Delete(parts);
        return 0;
    }
    cJSON *m = cJSON_CreateObject();
    add_str(m, "role", "user");
    char *text = parts_text(parts);
    if (text) {
        add_str(m, "content", text);
        free(text);
        cJSON_Delete(parts);
    } else {
        cJSON_AddItemToObject(m, "content", parts);
    }
    cJSON_AddItemToArray(out, m);
    return 0;
}

/* An assistant turn: text joined, tool_use blocks as tool_calls
 * (arguments: the input as a JSON string); thinking dropped. */
static int assistant_turn(const cJSON *content, cJSON *out, const char *path, struct jerr *e)
{
    cJSON *m = cJSON_CreateObject();
    add_str(m, "role", "assistant");
    if (cJSON_IsString(content)) {
        add_str(m, "content", content->valuestring);
        cJSON_AddItemToArray(out, m);
        return 0;
    }
    struct sbuf text;
    sbuf_init(&text);
    cJSON *calls = cJSON_CreateArray();
    int k = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, content) {
        const char *t = jfield_str(b, "type");
        if (is(t, "text")) {
            sbuf_puts(&text, jfield_str(b, "text"));
        } else if (is(t, "tool_use")) {
            cJSON *tc = cJSON_CreateObject();
            add_str(tc, "id", jfield_str(b, "id"));
            add_str(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            add_str(fn, "name", jfield_str(b, "name"));
            char *args = cJSON_PrintUnformatted(jfield(b, "input"));
            add_str(fn, "arguments", args ? args : "{}");
            cJSON_free(args);
            cJSON_AddItemToArray(calls, tc);
        } else if (!is(t, "thinking") && !is(t, "redacted_thinking")) {
            sbuf_deinit(&text);
            cJSON_Delete(calls);
            cJSON_Delete(m);
            return jerr_fail(e, "this content block type is not supported by the model's provider",
                        "%s.content.%d.type", path, k);
        }
        k++;
    }
    if (text.len)
        add_str(m, "content", text.data);
    else
        cJSON_AddNullToObject(m, "content");
    sbuf_deinit(&text);
    if (cJSON_GetArraySize(calls) > 0)
        cJSON_AddItemToObject(m, "tool_calls", calls);
    else
        cJSON_Delete(calls);
    cJSON_AddItemToArray(out, m);
    return 0;
}

static void system_message(const cJSON *body, cJSON *out)
{
    const cJSON *sys = jfield(body, "system");
    if (!sys)
        return;
    struct sbuf s;
    sbuf_init(&s);
    if (cJSON_IsString(sys)) {
        sbuf_puts(&s, sys->valuestring);
    } else {
        int k = 0;
        const cJSON *b;
        cJSON_ArrayForEach(b, sys) {
            sbuf_puts(&s, k++ ? "\n\n" : "");
            sbuf_puts(&s, jfield_str(b, "text"));
        }
    }
    if (s.len) {
        cJSON *m = cJSON_CreateObject();
        add_str(m, "role", "system");
        add_str(m, "content", s.data);
        cJSON_AddItemToArray(out, m);
    }
    sbuf_deinit(&s);
}

static int tools_out(const cJSON *body, cJSON *req, struct jerr *e)
{
    const cJSON *tools = jfield(body, "tools");
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools) {
        const char *type = jfield_str(t, "type");
        if (type && !is(type, "custom")) {
            cJSON_Delete(out);
            return jerr_fail(e, "server tools are not supported by the model's provider (only tools with input_schema)",
                        "tools.%d.type", i);
        }
        cJSON *f = cJSON_CreateObject();
        add_str(f, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(f, "function");
        add_str(fn, "name", jfield_str(t, "name"));
        const char *d = jfield_str(t, "description");
        if (d)
            add_str(fn, "description", d);
        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(jfield(t, "input_schema"), true));
        cJSON_AddItemToArray(out, f);
        i++;
    }
    if (i == 0) {
        cJSON_Delete(out);
        return 0;
    }
    cJSON_AddItemToObject(req, "tools", out);
    const cJSON *tc = jfield(body, "tool_choice");
    const char *type = jfield_str(tc, "type");
    if (is(type, "auto"))
        add_str(req, "tool_choice", "auto");
    else if (is(type, "any"))
        add_str(req, "tool_choice", "required");
    else if (is(type, "none"))
        add_str(req, "tool_choice", "none");
    else if (is(type, "tool")) {
        cJSON *c = cJSON_AddObjectToObject(req, "tool_choice");
        add_str(c, "type", "function");
        add_str(cJSON_AddObjectToObject(c, "function"), "name", jfield_str(tc, "name"));
    }
    if (cJSON_IsTrue(jfield(tc, "disable_parallel_tool_use")) && !is(type, "none"))
        cJSON_AddBoolToObject(req, "parallel_tool_calls", false);
    return 0;
}

static void scalars(const cJSON *body, cJSON *req)
{
    cJSON_AddNumberToObject(req, "max_tokens", jfield(body, "max_tokens")->valuedouble);
    static const char *const nums[] = {"temperature", "top_p"};
    for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
        const cJSON *v = jfield(body, nums[i]);
        if (cJSON_IsNumber(v))
            cJSON_AddNumberToObject(req, nums[i], v->valuedouble);
    }
    const cJSON *ss = jfield(body, "stop_sequences");
    if (cJSON_GetArraySize(ss) > 0)
        cJSON_AddItemToObject(req, "stop", cJSON_Duplicate(ss, true));
    const char *uid = jfield_str(jfield(body, "metadata"), "user_id");
    if (uid && *uid)
        add_str(req, "user", uid);
    if (cJSON_IsTrue(jfield(body, "stream"))) {
        cJSON_AddBoolToObject(req, "stream", true);
        cJSON_AddBoolToObject(cJSON_AddObjectToObject(req, "stream_options"), "include_usage", true);
    }
}

int msgs_to_chat(const cJSON *body, const char *upstream_model, struct sbuf *out, char *param, size_t paramlen,
                 char *why, size_t whylen)
{
    struct jerr e = {.param = param, .paramlen = paramlen, .why = why, .whylen = whylen};
    if (msgs_check(body, param, paramlen, why, whylen) < 0)
        return -1;
    cJSON *req = cJSON_CreateObject();
    add_str(req, "model", upstream_model ? upstream_model : "");
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    system_message(body, msgs);
    int rc = 0, i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, jfield(body, "messages")) {
        char path[48];
        snprintf(path, sizeof path, "messages.%d", i++);
        const cJSON *content = jfield(m, "content");
        rc = is(jfield_str(m, "role"), "user") ? user_turn(content, msgs, path, &e)
                                              : assistant_turn(content, msgs, path, &e);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = tools_out(body, req, &e);
    if (rc == 0) {
        scalars(body, req);
        char *text = cJSON_PrintUnformatted(req);
        if (!text)
            abort(); /* cJSON fails only when out of memory */
        sbuf_puts(out, text);
        cJSON_free(text);
    }
    cJSON_Delete(req);
    return rc;
}
