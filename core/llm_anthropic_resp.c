/* Anthropic Messages response and error answers -> OpenAI's shapes, and
 * the helpers the stream translation shares (finish reasons, usage). */
#include "llm_anthropic_resp.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llm_anthropic_int.h"

/* A count above this is not a token count (and stays exact in a double). */
#define ANTH_COUNT_MAX 1000000000000000LL

const char *anth_finish_reason(const char *stop_reason)
{
    static const struct {
        const char *anthropic, *openai;
    } map[] = {{"end_turn", "stop"},
               {"stop_sequence", "stop"},
               {"pause_turn", "stop"},
               {"max_tokens", "length"},
               {"model_context_window_exceeded", "length"},
               {"tool_use", "tool_calls"},
               {"refusal", "content_filter"}};
    for (size_t i = 0; stop_reason && i < ARRAY_LEN(map); i++)
        if (strcmp(stop_reason, map[i].anthropic) == 0)
            return map[i].openai;
    return "stop";
}

static void read_count(const cJSON *usage, const char *name, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, name);
    long long n;
    if (cJSON_IsNumber(v) && check_double_ll(v->valuedouble, 0, ANTH_COUNT_MAX, &n))
        *out = n;
}

void anth_counts_read(const cJSON *usage, struct anth_counts *c)
{
    if (!cJSON_IsObject(usage))
        return;
    read_count(usage, "input_tokens", &c->input);
    read_count(usage, "output_tokens", &c->output);
    read_count(usage, "cache_read_input_tokens", &c->cache_read);
    read_count(usage, "cache_creation_input_tokens", &c->cache_creation);
}

void anth_counts_usage(const struct anth_counts *c, struct llm_usage *u)
{
    long long cr = c->cache_read > 0 ? c->cache_read : 0, cc = c->cache_creation > 0 ? c->cache_creation : 0;
    /* Each count is at most 10^15: the sum cannot overflow. */
    u->prompt = c->input >= 0 ? c->input + cr + cc : -1;
    u->cached = c->input >= 0 || c->cache_read >= 0 ? cr : -1;
    u->completion = c->output;
    u->reasoning = -1; /* thinking tokens are inside output_tokens, not told apart */
}

void anth_usage_json(struct sbuf *b, const struct llm_usage *u)
{
    long long p = u->prompt > 0 ? u->prompt : 0, c = u->completion > 0 ? u->completion : 0;
    long long cached = u->cached > 0 ? u->cached : 0;
    sbuf_printf(b,
                "{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld,"
                "\"prompt_tokens_details\":{\"cached_tokens\":%lld}}",
                p, c, p + c, cached);
}

void anth_id_json(struct sbuf *b, const char *anthropic_id)
{
    struct sbuf id;
    sbuf_init(&id);
    sbuf_puts(&id, "chatcmpl-");
    sbuf_puts(&id, anthropic_id ? anthropic_id : "");
    sbuf_json_str(b, id.data);
    sbuf_deinit(&id);
}

/* The tool_use blocks of content as OpenAI tool_calls (into b, starting
 * with ",\"tool_calls\":[..."); nothing when there are none. */
static void tool_calls_json(struct sbuf *b, const cJSON *content)
{
    int n = 0;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "tool_use") != 0)
            continue;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(blk, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(blk, "name");
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(blk, "input");
        sbuf_puts(b, n++ ? "," : ",\"tool_calls\":[");
        sbuf_puts(b, "{\"id\":");
        sbuf_json_str(b, cJSON_IsString(id) ? id->valuestring : "");
        sbuf_puts(b, ",\"type\":\"function\",\"function\":{\"name\":");
        sbuf_json_str(b, cJSON_IsString(name) ? name->valuestring : "");
        sbuf_puts(b, ",\"arguments\":");
        char *args = input ? cJSON_PrintUnformatted(input) : NULL;
        sbuf_json_str(b, args ? args : "{}");
        free(args);
        sbuf_puts(b, "}}");
    }
    if (n)
        sbuf_putc(b, ']');
}

int anth_response(const char *body, size_t len, const char *model, long long created, struct sbuf *out,
                  struct llm_usage *usage, char *why, size_t whylen)
{
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsObject(root) || (type && !(cJSON_IsString(type) && strcmp(type->valuestring, "message") == 0)) ||
        !cJSON_IsArray(content)) {
        snprintf(why, whylen, "%s", "the provider's answer is not a Messages response");
        cJSON_Delete(root);
        return -1;
    }
    /* Text blocks joined as they come (Anthropic splits text around
     * citations and tool calls; OpenAI has one string). */
    struct sbuf text;
    sbuf_init(&text);
    bool has_text = false;
    const cJSON *blk;
    cJSON_ArrayForEach(blk, content) {
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(blk, "type");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(blk, "text");
        if (cJSON_IsString(bt) && strcmp(bt->valuestring, "text") == 0 && cJSON_IsString(t)) {
            sbuf_puts(&text, t->valuestring);
            has_text = true;
        }
    }
    struct anth_counts c = {-1, -1, -1, -1};
    anth_counts_read(cJSON_GetObjectItemCaseSensitive(root, "usage"), &c);
    struct llm_usage u;
    anth_counts_usage(&c, &u);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(root, "stop_reason");

    sbuf_puts(out, "{\"id\":");
    anth_id_json(out, cJSON_IsString(id) ? id->valuestring : "");
    sbuf_printf(out, ",\"object\":\"chat.completion\",\"created\":%lld,\"model\":", created);
    sbuf_json_str(out, model ? model : "");
    sbuf_puts(out, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (has_text)
        sbuf_json_strn(out, text.data, text.len);
    else
        sbuf_puts(out, "null");
    sbuf_puts(out, ",\"refusal\":null");
    tool_calls_json(out, content);
    sbuf_puts(out, "},\"logprobs\":null,\"finish_reason\":");
    sbuf_json_str(out, anth_finish_reason(cJSON_IsString(sr) ? sr->valuestring : NULL));
    sbuf_puts(out, "}],\"usage\":");
    anth_usage_json(out, &u);
    sbuf_putc(out, '}');
    if (usage)
        *usage = u;
    sbuf_deinit(&text);
    cJSON_Delete(root);
    return 0;
}

/* Anthropic error types -> the status a client gets when the answer's own
 * status says nothing (an error event after a 200), OpenAI's type, code. */
static const struct anth_err_map {
    const char *anthropic;
    int status;
    const char *type, *code;
} err_map[] = {
    {"invalid_request_error", 400, "invalid_request_error", NULL},
    {"authentication_error", 401, "authentication_error", NULL},
    {"billing_error", 402, "insufficient_quota", "insufficient_quota"},
    {"permission_error", 403, "permission_error", NULL},
    {"not_found_error", 404, "not_found_error", NULL},
    {"request_too_large", 413, "invalid_request_error", "request_too_large"},
    {"rate_limit_error", 429, "rate_limit_error", "rate_limit_exceeded"},
    {"api_error", 500, "api_error", NULL},
    {"timeout_error", 504, "server_error", "timeout"},
    {"overloaded_error", 503, "server_error", "overloaded"},
};

static const struct anth_err_map *err_by_status(int status)
{
    static const struct anth_err_map server = {NULL, 502, "server_error", NULL};
    for (size_t i = 0; i < ARRAY_LEN(err_map); i++)
        if (err_map[i].status == status)
            return &err_map[i];
    if (status == 529)
        return &err_map[ARRAY_LEN(err_map) - 1];
    if (status >= 500 || status < 400)
        return &server;
    return &err_map[0];
}

void anth_error(int status, const char *body, size_t len, struct sbuf *out, int *status_out)
{
    cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *etype = cJSON_GetObjectItemCaseSensitive(err, "type");
    const cJSON *emsg = cJSON_GetObjectItemCaseSensitive(err, "message");
    const struct anth_err_map *m = NULL;
    for (size_t i = 0; cJSON_IsString(etype) && i < ARRAY_LEN(err_map); i++)
        if (strcmp(etype->valuestring, err_map[i].anthropic) == 0)
            m = &err_map[i];
    if (!m)
        m = err_by_status(status);
    /* The status the provider gave wins over the type's (a 4xx is not made
     * retryable or the reverse), except 529, which OpenAI clients know as
     * 503; no error status at all (an error event after a 200) takes the
     * type's. */
    int st = status == 529 ? 503 : status >= 400 && status <= 599 ? status : m->status;
    if (status_out)
        *status_out = st;
    sbuf_puts(out, "{\"error\":{\"message\":");
    if (cJSON_IsString(emsg) && *emsg->valuestring) {
        sbuf_json_str(out, emsg->valuestring);
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "the provider answered HTTP %d without a readable error", status);
        sbuf_json_str(out, msg);
    }
    sbuf_puts(out, ",\"type\":");
    sbuf_json_str(out, m->type);
    sbuf_puts(out, ",\"param\":null,\"code\":");
    if (m->code)
        sbuf_json_str(out, m->code);
    else
        sbuf_puts(out, "null");
    sbuf_puts(out, "}}");
    cJSON_Delete(root);
}
