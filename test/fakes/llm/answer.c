/* fakellm's answers: what a chat completion or a message says, plain and
 * streamed (sent by send.c). */
#include "../fakellm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- what the answer says ---- */
struct plan {
    char *text[64];      /* content pieces */
    int ntext;
    const char *tool[16]; /* tool names, one per call */
    int ncalls;
    const char *finish;  /* OpenAI finish_reason */
    int prompt, cached, completion;
    int in, cache_read, cache_creation; /* Anthropic's split of prompt */
};

#define ARG_PIECE 6

static void tool_args(char *out, size_t n, int k)
{
    snprintf(out, n, "{\"city\":\"Paris\",\"n\":%d}", k);
}

static const char *last_user_text(const cJSON *body)
{
    const char *text = "";
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body, "messages"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role) || strcmp(role->valuestring, "user") != 0)
            continue;
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(ct)) {
            text = ct->valuestring;
            continue;
        }
        const cJSON *part;
        cJSON_ArrayForEach(part, ct)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(t))
                text = t->valuestring;
        }
    }
    return text;
}

/* The last message is a tool result: answer it with text. */
static bool after_tool_result(const struct fl_ctx *c)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(c->body, "messages");
    const cJSON *last = cJSON_GetArrayItem(ms, cJSON_GetArraySize(ms) - 1);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(last, "role");
    if (!cJSON_IsString(role))
        return false;
    if (!c->anthropic)
        return strcmp(role->valuestring, "tool") == 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(last, "content"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, "tool_result") == 0)
            return true;
    }
    return false;
}

static void plan_make(const struct fl_ctx *c, struct plan *pl)
{
    memset(pl, 0, sizeof *pl);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(c->body, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(c->body, "tool_choice");
    const cJSON *ctype = cJSON_GetObjectItemCaseSensitive(choice, "type");
    bool none = (cJSON_IsString(choice) && strcmp(choice->valuestring, "none") == 0) ||
                (cJSON_IsString(ctype) && strcmp(ctype->valuestring, "none") == 0);
    int ntools = cJSON_GetArraySize(tools);
    bool use_tools = ntools > 0 && !none && !after_tool_result(c);
    if (use_tools) {
        pl->ncalls = c->beh.calls < 1 ? 1 : c->beh.calls > 16 ? 16 : c->beh.calls;
        for (int k = 0; k < pl->ncalls; k++) {
            const cJSON *t = cJSON_GetArrayItem(tools, k % ntools);
            const cJSON *fn = c->anthropic ? t : cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            pl->tool[k] = cJSON_IsString(name) ? name->valuestring : "tool";
        }
        if (c->beh.pretext)
            pl->text[pl->ntext++] = strdup("Let me check.");
    } else if (c->beh.echo) {
        const char *s = last_user_text(c->body);
        size_t n = strlen(s), i = 0;
        while (i < n && pl->ntext < 64) {
            size_t k = n - i <= 8 || pl->ntext == 63 ? n - i : 8;
            while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                k++; /* never split a UTF-8 sequence */
            pl->text[pl->ntext++] = strndup(s + i, k);
            i += k;
        }
    } else if (c->beh.words > 0) {
        for (int k = 1; k <= c->beh.words && k <= 64; k++) {
            char w[16];
            snprintf(w, sizeof w, " w%d", k);
            pl->text[pl->ntext++] = strdup(w);
        }
    } else {
        static const char *const hello[] = {"Hello", "!", " This", " is", " fakellm."};
        for (int k = 0; k < 5; k++)
            pl->text[pl->ntext++] = strdup(hello[k]);
    }
    pl->finish = pl->ncalls ? "tool_calls" : "stop";
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c->body, "max_tokens");
    if (!cJSON_IsNumber(mt))
        mt = cJSON_GetObjectItemCaseSensitive(c->body, "max_completion_tokens");
    if (cJSON_IsNumber(mt) && mt->valuedouble >= 0 && mt->valuedouble < pl->ntext) {
        while (pl->ntext > (int)mt->valuedouble)
            free(pl->text[--pl->ntext]);
        pl->ncalls = 0;
        pl->finish = "length";
    }
    pl->completion = pl->ntext;
    for (int k = 0; k < pl->ncalls; k++) {
        char a[64];
        tool_args(a, sizeof a, k);
        pl->completion += (int)((strlen(a) + ARG_PIECE - 1) / ARG_PIECE);
    }
    pl->prompt = c->beh.prompt;
    pl->cached = c->beh.cached;
    pl->cache_read = c->beh.cached_set ? c->beh.cached : 3;
    pl->cache_creation = 2;
    if (pl->cache_read + pl->cache_creation > pl->prompt)
        pl->cache_read = pl->cache_creation = 0;
    pl->in = pl->prompt - pl->cache_read - pl->cache_creation;
}

static void plan_free(struct plan *pl)
{
    for (int k = 0; k < pl->ntext; k++)
        free(pl->text[k]);
}

static void openai_usage(struct evbuffer *b, const struct plan *pl)
{
    evbuffer_add_printf(b,
                        "{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,"
                        "\"prompt_tokens_details\":{\"cached_tokens\":%d},"
                        "\"completion_tokens_details\":{\"reasoning_tokens\":0}}",
                        pl->prompt, pl->completion, pl->prompt + pl->completion, pl->cached);
}

static void anthropic_usage(struct evbuffer *b, const struct plan *pl, int output)
{
    evbuffer_add_printf(b,
                        "{\"input_tokens\":%d,\"cache_creation_input_tokens\":%d,"
                        "\"cache_read_input_tokens\":%d,\"output_tokens\":%d}",
                        pl->in, pl->cache_creation, pl->cache_read, output);
}

static const char *anthropic_stop(const struct plan *pl)
{
    return strcmp(pl->finish, "length") == 0 ? "max_tokens" : pl->ncalls ? "tool_use" : "end_turn";
}

static void text_join(struct evbuffer *b, const struct plan *pl)
{
    struct evbuffer *t = evbuffer_new();
    for (int k = 0; k < pl->ntext; k++)
        evbuffer_add(t, pl->text[k], strlen(pl->text[k]));
    size_t n = evbuffer_get_length(t);
    fl_json_str(b, n ? (const char *)evbuffer_pullup(t, -1) : "", n);
    evbuffer_free(t);
}

static void chat_plain(const struct fl_ctx *c, const struct plan *pl, struct evbuffer *b)
{
    if (c->anthropic) {
        evbuffer_add_printf(b, "{\"id\":\"msg_fake_%lld\",\"type\":\"message\",\"role\":\"assistant\",\"model\":",
                            c->seq);
        fl_json_str(b, c->model, strlen(c->model));
        evbuffer_add_printf(b, ",\"content\":[");
        if (pl->ntext) {
            evbuffer_add_printf(b, "{\"type\":\"text\",\"text\":");
            text_join(b, pl);
            evbuffer_add_printf(b, "}");
        }
        for (int k = 0; k < pl->ncalls; k++) {
            char a[64];
            tool_args(a, sizeof a, k);
            evbuffer_add_printf(b, "%s{\"type\":\"tool_use\",\"id\":\"toolu_fake_%d\",\"name\":",
                                k || pl->ntext ? "," : "", k);
            fl_json_str(b, pl->tool[k], strlen(pl->tool[k]));
            evbuffer_add_printf(b, ",\"input\":%s}", a);
        }
        evbuffer_add_printf(b, "],\"stop_reason\":\"%s\",\"stop_sequence\":null,\"usage\":", anthropic_stop(pl));
        anthropic_usage(b, pl, pl->completion);
        evbuffer_add_printf(b, "}");
        return;
    }
    evbuffer_add_printf(b, "{\"id\":\"chatcmpl-fake-%lld\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":",
                        c->seq, (long long)time(NULL));
    fl_json_str(b, c->model, strlen(c->model));
    evbuffer_add_printf(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
    if (pl->ntext)
        text_join(b, pl);
    else
        evbuffer_add_printf(b, "null");
    evbuffer_add_printf(b, ",\"refusal\":null");
    if (pl->ncalls) {
        evbuffer_add_printf(b, ",\"tool_calls\":[");
        for (int k = 0; k < pl->ncalls; k++) {
            char a[64];
            tool_args(a, sizeof a, k);
            evbuffer_add_printf(b, "%s{\"id\":\"call_fake_%d\",\"type\":\"function\",\"function\":{\"name\":",
                                k ? "," : "", k);
            fl_json_str(b, pl->tool[k], strlen(pl->tool[k]));
            evbuffer_add_printf(b, ",\"arguments\":");
            fl_json_str(b, a, strlen(a));
            evbuffer_add_printf(b, "}}");
        }
        evbuffer_add_printf(b, "]");
    }
    evbuffer_add_printf(b, "},\"logprobs\":null,\"finish_reason\":\"%s\"}]", pl->finish);
    if (!c->beh.nousage) {
        evbuffer_add_printf(b, ",\"usage\":");
        openai_usage(b, pl);
    }
    evbuffer_add_printf(b, ",\"system_fingerprint\":\"fp_fake\"}");
}

static void oa_begin(struct evlist *l, const struct fl_ctx *c)
{
    evbuffer_add_printf(l->b, "data: {\"id\":\"chatcmpl-fake-%lld\",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":",
                        c->seq, (long long)time(NULL));
    fl_json_str(l->b, c->model, strlen(c->model));
    evbuffer_add_printf(l->b, ",\"system_fingerprint\":\"fp_fake\",\"choices\":[{\"index\":0,\"delta\":");
}

static void oa_end(struct evlist *l, bool usage_null, const char *finish)
{
    if (finish)
        evbuffer_add_printf(l->b, ",\"logprobs\":null,\"finish_reason\":\"%s\"}]", finish);
    else
        evbuffer_add_printf(l->b, ",\"logprobs\":null,\"finish_reason\":null}]");
    evbuffer_add_printf(l->b, "%s}\n\n", usage_null ? ",\"usage\":null" : "");
    fl_ev_end(l);
}

static void an_event(struct evlist *l, const char *name)
{
    evbuffer_add_printf(l->b, "event: %s\ndata: ", name);
}

static void an_end(struct evlist *l)
{
    evbuffer_add_printf(l->b, "\n\n");
    fl_ev_end(l);
}

/* Builds the events; returns the index to stall at (-1: none). */
static int chat_events(const struct fl_ctx *c, const struct plan *pl, struct evlist *l)
{
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(c->body, "stream_options");
    bool usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    int cut = c->beh.midstream || c->beh.stall ? (pl->ntext < 2 ? pl->ntext : 2) : -1;
    int stall_at = -1;
    if (!c->anthropic) {
        oa_begin(l, c);
        evbuffer_add_printf(l->b, "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}");
        oa_end(l, usage, NULL);
        if (c->beh.badjson) {
            evbuffer_add_printf(l->b, "data: {\"id\":\"chatcmpl-fake\",\"choices\":[{\"delta\":{\"content\":\"trunc\n\n");
            fl_ev_end(l);
            return -1;
        }
        for (int k = 0; k < pl->ntext; k++) {
            if (k == cut)
                break;
            oa_begin(l, c);
            evbuffer_add_printf(l->b, "{\"content\":");
            fl_json_str(l->b, pl->text[k], strlen(pl->text[k]));
            evbuffer_add_printf(l->b, "}");
            oa_end(l, usage, NULL);
        }
        if (cut >= 0) {
            if (c->beh.stall)
                return l->n;
            evbuffer_add_printf(l->b, "data: {\"error\":{\"message\":\"fake midstream failure\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");
            fl_ev_end(l);
            return -1;
        }
        for (int k = 0; k < pl->ncalls; k++) {
            char a[64];
            tool_args(a, sizeof a, k);
            oa_begin(l, c);
            evbuffer_add_printf(l->b, "{\"tool_calls\":[{\"index\":%d,\"id\":\"call_fake_%d\",\"type\":\"function\",\"function\":{\"name\":", k, k);
            fl_json_str(l->b, pl->tool[k], strlen(pl->tool[k]));
            evbuffer_add_printf(l->b, ",\"arguments\":\"\"}}]}");
            oa_end(l, usage, NULL);
            for (size_t i = 0; i < strlen(a); i += ARG_PIECE) {
                oa_begin(l, c);
                evbuffer_add_printf(l->b, "{\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", k);
                size_t n = strlen(a) - i < ARG_PIECE ? strlen(a) - i : ARG_PIECE;
                fl_json_str(l->b, a + i, n);
                evbuffer_add_printf(l->b, "}}]}");
                oa_end(l, usage, NULL);
            }
        }
        oa_begin(l, c);
        evbuffer_add_printf(l->b, "{}");
        oa_end(l, usage, pl->finish);
        if (usage) {
            evbuffer_add_printf(l->b, "data: {\"id\":\"chatcmpl-fake-%lld\",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":",
                                c->seq, (long long)time(NULL));
            fl_json_str(l->b, c->model, strlen(c->model));
            evbuffer_add_printf(l->b, ",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":");
            openai_usage(l->b, pl);
            evbuffer_add_printf(l->b, "}\n\n");
            fl_ev_end(l);
        }
        evbuffer_add_printf(l->b, "data: [DONE]\n\n");
        fl_ev_end(l);
        return stall_at;
    }
    an_event(l, "message_start");
    evbuffer_add_printf(l->b, "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_fake_%lld\",\"type\":\"message\",\"role\":\"assistant\",\"model\":",
                        c->seq);
    fl_json_str(l->b, c->model, strlen(c->model));
    evbuffer_add_printf(l->b, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":");
    anthropic_usage(l->b, pl, 1);
    evbuffer_add_printf(l->b, "}}");
    an_end(l);
    if (c->beh.badjson) {
        an_event(l, "content_block_delta");
        evbuffer_add_printf(l->b, "{not json");
        an_end(l);
        return -1;
    }
    int block = 0;
    bool pinged = false;
    if (pl->ntext) {
        an_event(l, "content_block_start");
        evbuffer_add_printf(l->b, "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
        an_end(l);
        an_event(l, "ping");
        evbuffer_add_printf(l->b, "{\"type\": \"ping\"}");
        an_end(l);
        pinged = true;
        for (int k = 0; k < pl->ntext; k++) {
            if (k == cut)
                break;
            an_event(l, "content_block_delta");
            evbuffer_add_printf(l->b, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":");
            fl_json_str(l->b, pl->text[k], strlen(pl->text[k]));
            evbuffer_add_printf(l->b, "}}");
            an_end(l);
        }
        if (cut >= 0) {
            if (c->beh.stall)
                return l->n;
            an_event(l, "error");
            evbuffer_add_printf(l->b, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
            an_end(l);
            return -1;
        }
        an_event(l, "content_block_stop");
        evbuffer_add_printf(l->b, "{\"type\":\"content_block_stop\",\"index\":0}");
        an_end(l);
        block = 1;
    }
    for (int k = 0; k < pl->ncalls; k++, block++) {
        char a[64];
        tool_args(a, sizeof a, k);
        an_event(l, "content_block_start");
        evbuffer_add_printf(l->b, "{\"type\":\"content_block_start\",\"index\":%d,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_fake_%d\",\"name\":",
                            block, k);
        fl_json_str(l->b, pl->tool[k], strlen(pl->tool[k]));
        evbuffer_add_printf(l->b, ",\"input\":{}}}");
        an_end(l);
        if (!pinged) {
            an_event(l, "ping");
            evbuffer_add_printf(l->b, "{\"type\": \"ping\"}");
            an_end(l);
            pinged = true;
        }
        for (size_t i = 0; i < strlen(a); i += ARG_PIECE) {
            an_event(l, "content_block_delta");
            evbuffer_add_printf(l->b, "{\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":",
                                block);
            size_t n = strlen(a) - i < ARG_PIECE ? strlen(a) - i : ARG_PIECE;
            fl_json_str(l->b, a + i, n);
            evbuffer_add_printf(l->b, "}}");
            an_end(l);
        }
        an_event(l, "content_block_stop");
        evbuffer_add_printf(l->b, "{\"type\":\"content_block_stop\",\"index\":%d}", block);
        an_end(l);
    }
    an_event(l, "message_delta");
    evbuffer_add_printf(l->b, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"%s\",\"stop_sequence\":null},\"usage\":",
                        anthropic_stop(pl));
    anthropic_usage(l->b, pl, pl->completion);
    evbuffer_add_printf(l->b, "}");
    an_end(l);
    an_event(l, "message_stop");
    evbuffer_add_printf(l->b, "{\"type\":\"message_stop\"}");
    an_end(l);
    return stall_at;
}

void fl_chat(const struct fl_ctx *c)
{
    if (c->beh.hang) {
        fl_plain_send(c, 200, evbuffer_new(), false);
        return;
    }
    struct plan pl;
    plan_make(c, &pl);
    bool spent = c->beh.remaining0;
    if (c->stream) {
        struct evlist l = {.b = evbuffer_new()};
        int stall_at = chat_events(c, &pl, &l);
        fl_stream_send(c, &l, stall_at, spent);
    } else {
        struct evbuffer *b = evbuffer_new();
        if (c->beh.badjson)
            evbuffer_add_printf(b, "{\"id\":\"chatcmpl-fake-bad\",\"choices\":[{\"message\":{\"content\":\"trunc");
        else
            chat_plain(c, &pl, b);
        fl_plain_send(c, 200, b, spent);
    }
    plan_free(&pl);
}
