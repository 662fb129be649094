/* OpenAI chat completions request -> Anthropic Messages request. The
 * response, error and stream directions are in llm_anthropic_resp.c and
 * llm_anthropic_stream.c. */
#include "llm_anthropic.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jfield.h"
#include "llm_anthropic_int.h"

/* Used when neither the body nor the caller gives a max_tokens. */
#define ANTH_FALLBACK_MAX_TOKENS 4096
/* Anthropic's max_tokens is an int32. */
#define ANTH_MAX_TOKENS_CAP 2147483647LL

/* Where a translation failure is reported (the caller's buffers). */
/* A text block (none for an empty text: Anthropic refuses those). */
static void add_text(cJSON *blocks, const char *text, const cJSON *part)
{
    if (!text || !*text)
        return;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "text");
    cJSON_AddStringToObject(b, "text", text);
    /* Clients that know Anthropic mark cache breakpoints on parts. */
    const cJSON *cc = part ? cJSON_GetObjectItemCaseSensitive(part, "cache_control") : NULL;
    if (cJSON_IsObject(cc))
        cJSON_AddItemToObject(b, "cache_control", cJSON_Duplicate(cc, true));
    cJSON_AddItemToArray(blocks, b);
}

/* An image_url part: data: URLs become a base64 source, http(s) URLs a
 * url source. */
static int add_image(cJSON *blocks, const cJSON *part, const char *path, struct jerr *e)
{
    const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
    const char *url = cJSON_IsString(iu) ? iu->valuestring : jfield_str(iu, "url");
    if (!url)
        return jerr_fail(e, "image_url.url must be a string", "%s.image_url.url", path);
    cJSON *src = cJSON_CreateObject();
    if (strncmp(url, "data:", 5) == 0) {
        const char *semi = strstr(url, ";base64,");
        const char *comma = strchr(url, ',');
        if (!semi || semi > comma || semi == url + 5) {
            cJSON_Delete(src);
            return jerr_fail(e, "a data: URL must be data:<media type>;base64,<data>", "%s.image_url.url", path);
        }
        cJSON_AddStringToObject(src, "type", "base64");
        char *media = xstrndup(url + 5, (size_t)(semi - (url + 5)));
        cJSON_AddStringToObject(src, "media_type", media);
        free(media);
        cJSON_AddStringToObject(src, "data", semi + 8);
    } else if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) {
        cJSON_AddStringToObject(src, "type", "url");
        cJSON_AddStringToObject(src, "url", url);
    } else {
        cJSON_Delete(src);
        return jerr_fail(e, "image URLs must be data:, http: or https:", "%s.image_url.url", path);
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "image");
    cJSON_AddItemToObject(b, "source", src);
    cJSON_AddItemToArray(blocks, b);
    return 0;
}

/* Which content parts a message may have: text always; images in user
 * turns; refusal parts (kept as text) in assistant turns. */
enum parts { PARTS_TEXT, PARTS_USER, PARTS_ASSISTANT };

/* A message's content (string, null or parts) as blocks. */
static int add_content(cJSON *blocks, const cJSON *content, enum parts allowed, const char *path, struct jerr *e)
{
    if (!content)
        return 0;
    if (cJSON_IsString(content)) {
        add_text(blocks, content->valuestring, NULL);
        return 0;
    }
    if (!cJSON_IsArray(content))
        return jerr_fail(e, "content must be a string or an array of content parts", "%s.content", path);
    int j = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content) {
        char ppath[128];
        snprintf(ppath, sizeof ppath, "%s.content[%d]", path, j++);
        const char *type = jfield_str(part, "type");
        if (!type)
            return jerr_fail(e, "each content part needs a type", "%s.type", ppath);
        if (strcmp(type, "text") == 0) {
            const char *text = jfield_str(part, "text");
            if (!text)
                return jerr_fail(e, "a text part needs a text string", "%s.text", ppath);
            add_text(blocks, text, part);
        } else if (strcmp(type, "refusal") == 0 && allowed == PARTS_ASSISTANT) {
            add_text(blocks, jfield_str(part, "refusal"), NULL);
        } else if (strcmp(type, "image_url") == 0 && allowed == PARTS_USER) {
            if (add_image(blocks, part, ppath, e) < 0)
                return -1;
        } else {
            return jerr_fail(e, "this content part type is not supported by the provider", "%s.type", ppath);
        }
    }
    return 0;
}

/* An assistant's tool_calls as tool_use blocks (arguments: a JSON string
 * holding an object). */
static int add_tool_calls(cJSON *blocks, const cJSON *calls, const char *path, struct jerr *e)
{
    if (!calls)
        return 0;
    if (!cJSON_IsArray(calls))
        return jerr_fail(e, "tool_calls must be an array", "%s.tool_calls", path);
    int k = 0;
    const cJSON *tc;
    cJSON_ArrayForEach(tc, calls) {
        char tpath[128];
        snprintf(tpath, sizeof tpath, "%s.tool_calls[%d]", path, k++);
        const char *id = jfield_str(tc, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const char *name = jfield_str(fn, "name");
        if (!id)
            return jerr_fail(e, "a tool call needs an id", "%s.id", tpath);
        if (!name)
            return jerr_fail(e, "a tool call needs function.name", "%s.function.name", tpath);
        const cJSON *args = jfield(fn, "arguments");
        cJSON *input = NULL;
        if (cJSON_IsString(args)) {
            const char *s = args->valuestring;
            while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
            input = *s ? cJSON_ParseWithOpts(s, NULL, true) : cJSON_CreateObject();
        } else if (!args) {
            input = cJSON_CreateObject();
        }
        if (!cJSON_IsObject(input)) {
            cJSON_Delete(input);
            return jerr_fail(e, "function.arguments must be a JSON object encoded as a string", "%s.function.arguments",
                        tpath);
        }
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", id);
        cJSON_AddStringToObject(b, "name", name);
        cJSON_AddItemToObject(b, "input", input);
        cJSON_AddItemToArray(blocks, b);
    }
    return 0;
}

/* A role:tool message as a tool_result block. */
static int add_tool_result(cJSON *blocks, const cJSON *m, const char *path, struct jerr *e)
{
    const char *id = jfield_str(m, "tool_call_id");
    if (!id)
        return jerr_fail(e, "a tool message needs tool_call_id", "%s.tool_call_id", path);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "tool_result");
    cJSON_AddStringToObject(b, "tool_use_id", id);
    const cJSON *content = jfield(m, "content");
    if (cJSON_IsString(content)) {
        cJSON_AddStringToObject(b, "content", content->valuestring);
    } else if (content) {
        cJSON *inner = cJSON_CreateArray();
        if (add_content(inner, content, PARTS_TEXT, path, e) < 0) {
            cJSON_Delete(inner);
            cJSON_Delete(b);
            return -1;
        }
        cJSON_AddItemToObject(b, "content", inner);
    }
    cJSON_AddItemToArray(blocks, b);
    return 0;
}

/* Appends blocks to the last message (*last) when it has the same role
 * (Anthropic wants turns to alternate), else starts a message. Consumes
 * blocks. */
static void push_turn(cJSON *msgs, cJSON **last, const char *role, cJSON *blocks)
{
    if (cJSON_GetArraySize(blocks) == 0) {
        cJSON_Delete(blocks);
        return;
    }
    const char *last_role = jfield_str(*last, "role");
    if (last_role && strcmp(last_role, role) == 0) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(*last, "content");
        cJSON *b;
        while ((b = cJSON_DetachItemFromArray(blocks, 0)) != NULL)
            cJSON_AddItemToArray(content, b);
        cJSON_Delete(blocks);
        return;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddItemToObject(m, "content", blocks);
    cJSON_AddItemToArray(msgs, m);
    *last = m;
}

/* One OpenAI message: system text into sys, turns into msgs. */
static int one_message(const cJSON *m, int i, cJSON *sys, cJSON *msgs, cJSON **last, struct jerr *e)
{
    char path[64];
    snprintf(path, sizeof path, "messages[%d]", i);
    if (!cJSON_IsObject(m))
        return jerr_fail(e, "each message must be an object", "%s", path);
    const char *role = jfield_str(m, "role");
    if (!role)
        return jerr_fail(e, "each message needs a role", "%s.role", path);
    const cJSON *content = jfield(m, "content");
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        return add_content(sys, content, PARTS_TEXT, path, e);
    cJSON *blocks = cJSON_CreateArray();
    int rc;
    const char *arole = "user";
    if (strcmp(role, "user") == 0) {
        rc = add_content(blocks, content, PARTS_USER, path, e); /* `name` has no Anthropic equivalent */
    } else if (strcmp(role, "assistant") == 0) {
        arole = "assistant";
        rc = add_content(blocks, content, PARTS_ASSISTANT, path, e);
        if (rc == 0)
            rc = add_tool_calls(blocks, jfield(m, "tool_calls"), path, e);
    } else if (strcmp(role, "tool") == 0) {
        rc = add_tool_result(blocks, m, path, e);
    } else {
        rc = jerr_fail(e, "this role is not supported by the provider", "%s.role", path);
    }
    if (rc < 0) {
        cJSON_Delete(blocks);
        return -1;
    }
    push_turn(msgs, last, arole, blocks);
    return 0;
}

static int messages(const cJSON *body, cJSON *req, struct jerr *e)
{
    const cJSON *in = jfield(body, "messages");
    if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) == 0)
        return jerr_fail(e, "messages must be a non-empty array", "messages");
    cJSON *sys = cJSON_CreateArray(), *msgs = cJSON_CreateArray(), *last = NULL;
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, in) {
        if (one_message(m, i++, sys, msgs, &last, e) < 0) {
            cJSON_Delete(sys);
            cJSON_Delete(msgs);
            return -1;
        }
    }
    if (cJSON_GetArraySize(msgs) == 0) {
        cJSON_Delete(sys);
        cJSON_Delete(msgs);
        return jerr_fail(e, "messages needs at least one user or assistant message with content", "messages");
    }
    int nsys = cJSON_GetArraySize(sys);
    const cJSON *only = nsys == 1 ? cJSON_GetArrayItem(sys, 0) : NULL;
    if (only && !cJSON_GetObjectItemCaseSensitive(only, "cache_control")) {
        cJSON_AddStringToObject(req, "system", jfield_str(only, "text"));
        cJSON_Delete(sys);
    } else if (nsys > 0) {
        cJSON_AddItemToObject(req, "system", sys);
    } else {
        cJSON_Delete(sys);
    }
    cJSON_AddItemToObject(req, "messages", msgs);
    return 0;
}

static int max_tokens(const cJSON *body, long long dflt, cJSON *req, struct jerr *e)
{
    const char *name = "max_completion_tokens";
    const cJSON *v = jfield(body, name);
    if (!v) {
        name = "max_tokens";
        v = jfield(body, name);
    }
    long long n = dflt > 0 ? dflt : ANTH_FALLBACK_MAX_TOKENS;
    if (v && (!cJSON_IsNumber(v) || !check_double_ll(v->valuedouble, 1, ANTH_MAX_TOKENS_CAP, &n)))
        return jerr_fail(e, "must be a whole number between 1 and 2147483647", "%s", name);
    if (n > ANTH_MAX_TOKENS_CAP)
        n = ANTH_MAX_TOKENS_CAP;
    cJSON_AddNumberToObject(req, "max_tokens", (double)n);
    return 0;
}

static int stop_sequences(const cJSON *body, cJSON *req, struct jerr *e)
{
    const cJSON *stop = jfield(body, "stop");
    if (!stop)
        return 0;
    cJSON *seq = cJSON_CreateArray();
    if (cJSON_IsString(stop)) {
        cJSON_AddItemToArray(seq, cJSON_CreateString(stop->valuestring));
    } else if (cJSON_IsArray(stop)) {
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) {
            if (!cJSON_IsString(s)) {
                cJSON_Delete(seq);
                return jerr_fail(e, "stop must be a string or an array of strings", "stop");
            }
            cJSON_AddItemToArray(seq, cJSON_CreateString(s->valuestring));
        }
    } else {
        cJSON_Delete(seq);
        return jerr_fail(e, "stop must be a string or an array of strings", "stop");
    }
    if (cJSON_GetArraySize(seq) > 0)
        cJSON_AddItemToObject(req, "stop_sequences", seq);
    else
        cJSON_Delete(seq);
    return 0;
}

static int tools(const cJSON *body, cJSON *req, struct jerr *e)
{
    const cJSON *in = jfield(body, "tools");
    if (!in)
        return 0;
    if (!cJSON_IsArray(in))
        return jerr_fail(e, "tools must be an array", "tools");
    cJSON *out = cJSON_CreateArray();
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, in) {
        const char *type = jfield_str(t, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        const char *name = jfield_str(fn, "name");
        int rc = 0;
        if (!type || strcmp(type, "function") != 0)
            rc = jerr_fail(e, "only function tools are supported by the provider", "tools[%d].type", i);
        else if (!name)
            rc = jerr_fail(e, "a function tool needs function.name", "tools[%d].function.name", i);
        if (rc < 0) {
            cJSON_Delete(out);
            return -1;
        }
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "name", name);
        const char *desc = jfield_str(fn, "description");
        if (desc)
            cJSON_AddStringToObject(a, "description", desc);
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
        if (cJSON_IsObject(params)) {
            cJSON_AddItemToObject(a, "input_schema", cJSON_Duplicate(params, true));
        } else {
            /* OpenAI allows a tool without parameters; Anthropic needs a schema. */
            cJSON *schema = cJSON_AddObjectToObject(a, "input_schema");
            cJSON_AddStringToObject(schema, "type", "object");
            cJSON_AddObjectToObject(schema, "properties");
        }
        cJSON_AddItemToArray(out, a);
        i++;
    }
    if (i == 0) {
        cJSON_Delete(out);
        return 0;
    }
    cJSON_AddItemToObject(req, "tools", out);
    return 0;
}

/* tool_choice and parallel_tool_calls (only meaningful with tools:
 * Anthropic refuses a tool_choice without them). */
static int tool_choice(const cJSON *body, cJSON *req, struct jerr *e)
{
    const cJSON *tc = jfield(body, "tool_choice");
    const cJSON *par = jfield(body, "parallel_tool_calls");
    if (par && !cJSON_IsBool(par))
        return jerr_fail(e, "parallel_tool_calls must be a boolean", "parallel_tool_calls");
    const char *type = "auto", *name = NULL;
    if (cJSON_IsString(tc)) {
        const char *s = tc->valuestring;
        if (strcmp(s, "auto") == 0 || strcmp(s, "none") == 0)
            type = s;
        else if (strcmp(s, "required") == 0)
            type = "any";
        else
            type = NULL;
    } else if (cJSON_IsObject(tc)) {
        const char *t = jfield_str(tc, "type");
        name = jfield_str(cJSON_GetObjectItemCaseSensitive(tc, "function"), "name");
        if (t && strcmp(t, "function") == 0 && name)
            type = "tool";
        else
            type = NULL;
    } else if (tc) {
        type = NULL;
    }
    if (!type)
        return jerr_fail(e, "tool_choice must be auto, none, required or {type: function, function: {name}}",
                    "tool_choice");
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", type);
    if (name)
        cJSON_AddStringToObject(out, "name", name);
    bool no_parallel = cJSON_IsFalse(par) && strcmp(type, "none") != 0;
    if (no_parallel)
        cJSON_AddBoolToObject(out, "disable_parallel_tool_use", true);
    if (cJSON_GetObjectItemCaseSensitive(req, "tools") && (tc || no_parallel))
        cJSON_AddItemToObject(req, "tool_choice", out);
    else
        cJSON_Delete(out);
    return 0;
}

/* Fields whose meaning the Messages API cannot give: refused rather than
 * dropped, so a client relying on JSON mode or logprobs hears it. */
static int unsupported(const cJSON *body, struct jerr *e)
{
    const cJSON *rf = jfield(body, "response_format");
    if (rf && !cJSON_IsNull(rf)) {
        const char *type = cJSON_IsObject(rf) ? jfield_str(rf, "type") : NULL;
        if (!type || strcmp(type, "text") != 0) {
            char why[160];
            snprintf(why, sizeof why, "response_format %.40s is not supported by the anthropic adapter (only text)",
                     type ? type : "of this shape");
            return jerr_fail(e, why, "response_format");
        }
    }
    const cJSON *lp = jfield(body, "logprobs");
    if (lp && !cJSON_IsNull(lp) && !cJSON_IsFalse(lp))
        return jerr_fail(e, "logprobs is not supported by the anthropic adapter", "logprobs");
    const cJSON *tl = jfield(body, "top_logprobs");
    if (tl && !cJSON_IsNull(tl) && !(cJSON_IsNumber(tl) && tl->valuedouble == 0))
        return jerr_fail(e, "top_logprobs is not supported by the anthropic adapter", "top_logprobs");
    return 0;
}

static int sampling(const cJSON *body, cJSON *req, struct jerr *e)
{
    static const char *const names[] = {"temperature", "top_p"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        const cJSON *v = jfield(body, names[i]);
        if (!v)
            continue;
        if (!cJSON_IsNumber(v))
            return jerr_fail(e, "must be a number", "%s", names[i]);
        cJSON_AddNumberToObject(req, names[i], v->valuedouble);
    }
    const cJSON *n = jfield(body, "n");
    if (n && (!cJSON_IsNumber(n) || n->valuedouble != 1))
        return jerr_fail(e, "only n = 1 is supported by the provider", "n");
    const cJSON *stream = jfield(body, "stream");
    if (stream && !cJSON_IsBool(stream))
        return jerr_fail(e, "stream must be a boolean", "stream");
    if (cJSON_IsTrue(stream))
        cJSON_AddBoolToObject(req, "stream", true);
    const char *user = jfield_str(body, "user");
    if (user && *user)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(req, "metadata"), "user_id", user);
    return unsupported(body, e);
}

int anth_request(const cJSON *openai_body, const char *upstream_model, long long default_max_tokens,
                 struct sbuf *out, char *param, size_t paramlen, char *why, size_t whylen)
{
    struct jerr e = {.param = param, .paramlen = paramlen, .why = why, .whylen = whylen};
    if (param && paramlen)
        param[0] = '\0';
    if (why && whylen)
        why[0] = '\0';
    if (!cJSON_IsObject(openai_body))
        return jerr_fail(&e, "the body must be a JSON object", "%s", "");
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", upstream_model ? upstream_model : "");
    int rc = max_tokens(openai_body, default_max_tokens, req, &e);
    if (rc == 0)
        rc = messages(openai_body, req, &e);
    if (rc == 0)
        rc = stop_sequences(openai_body, req, &e);
    if (rc == 0)
        rc = sampling(openai_body, req, &e);
    if (rc == 0)
        rc = tools(openai_body, req, &e);
    if (rc == 0)
        rc = tool_choice(openai_body, req, &e);
    if (rc == 0) {
        char *text = cJSON_PrintUnformatted(req);
        if (!text)
            abort(); /* cJSON fails only when out of memory */
        sbuf_puts(out, text);
        free(text);
    }
    cJSON_Delete(req);
    return rc;
}
