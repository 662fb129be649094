/* fakellm's Responses API: POST /v1/responses, a Response object or its
 * stream of events, shaped as OpenAI's (the behaviour words of the model
 * name apply: delay, words, echo, stall, midstream-error, prompt, cached,
 * calls, hang). Text pieces: "Hello! This is fakellm." in 5, " wK" for
 * words-N, or the last user text (echo). */
#include "../fakellm.h"

#include <stdlib.h>
#include <string.h>

static const char *const hello[] = {"Hello", "!", " This is", " fake", "llm."};

struct resp_plan {
    const char *piece[64];  /* into hello, words or text */
    char words[64][16];
    int n, ncalls;
    const char *tool[16];
    char text[4096];
};

/* The last user text of input: a string, or the last user message's
 * (string content, or its last text part). */
static const char *last_user(const cJSON *body)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (cJSON_IsString(in))
        return in->valuestring;
    const char *t = "";
    for (const cJSON *m = cJSON_IsArray(in) ? in->child : NULL; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsString(role) || strcmp(role->valuestring, "user") != 0)
            continue;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(c))
            t = c->valuestring;
        for (const cJSON *p = cJSON_IsArray(c) ? c->child : NULL; p; p = p->next) {
            const cJSON *tx = cJSON_GetObjectItemCaseSensitive(p, "text");
            if (cJSON_IsString(tx))
                t = tx->valuestring;
        }
    }
    return t;
}

static void plan_tools(const struct fl_ctx *c, struct resp_plan *pl)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(c->body, "tools");
    int nt = cJSON_GetArraySize(tools);
    for (int k = 0; nt > 0 && k < c->beh.calls && k < 16; k++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tools, k % nt), "name");
        pl->tool[pl->ncalls++] = cJSON_IsString(name) ? name->valuestring : "tool";
    }
}

static void plan(const struct fl_ctx *c, struct resp_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    plan_tools(c, pl);
    if (c->beh.echo) {
        snprintf(pl->text, sizeof pl->text, "%s", last_user(c->body));
        pl->piece[pl->n++] = pl->text;
        return;
    }
    if (c->beh.words > 0) {
        for (int k = 1; k <= c->beh.words && pl->n < 64; k++) {
            snprintf(pl->words[k - 1], sizeof pl->words[k - 1], " w%d", k);
            pl->piece[pl->n++] = pl->words[k - 1];
        }
    } else {
        for (size_t k = 0; k < sizeof hello / sizeof *hello; k++)
            pl->piece[pl->n++] = hello[k];
    }
    for (int k = 0; k < pl->n; k++)
        strncat(pl->text, pl->piece[k], sizeof pl->text - strlen(pl->text) - 1);
}

static cJSON *message_item(const struct resp_plan *pl, bool done)
{
    cJSON *it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "id", "msg_fake");
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "status", done ? "completed" : "in_progress");
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON *content = cJSON_AddArrayToObject(it, "content");
    if (done) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "output_text");
        cJSON_AddStringToObject(p, "text", pl->text);
        cJSON_AddArrayToObject(p, "annotations");
        cJSON_AddItemToArray(content, p);
    }
    return it;
}

static cJSON *call_item(const struct resp_plan *pl, int k)
{
    char id[32], args[64];
    cJSON *it = cJSON_CreateObject();
    snprintf(id, sizeof id, "fc_fake_%d", k);
    cJSON_AddStringToObject(it, "id", id);
    cJSON_AddStringToObject(it, "type", "function_call");
    cJSON_AddStringToObject(it, "status", "completed");
    snprintf(id, sizeof id, "call_fake_%d", k);
    cJSON_AddStringToObject(it, "call_id", id);
    cJSON_AddStringToObject(it, "name", pl->tool[k]);
    snprintf(args, sizeof args, "{\"city\":\"Paris\",\"n\":%d}", k);
    cJSON_AddStringToObject(it, "arguments", args);
    return it;
}

static cJSON *response(const struct fl_ctx *c, const struct resp_plan *pl, bool done)
{
    cJSON *r = cJSON_CreateObject();
    char id[48];
    snprintf(id, sizeof id, "resp_fake_%lld", c->seq);
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddStringToObject(r, "object", "response");
    cJSON_AddNumberToObject(r, "created_at", (double)fl_wall_ms() / 1000.0);
    cJSON_AddStringToObject(r, "status", done ? "completed" : "in_progress");
    cJSON_AddNullToObject(r, "error");
    cJSON_AddNullToObject(r, "incomplete_details");
    cJSON_AddStringToObject(r, "model", c->model);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(c->body, "metadata"); /* echoed, as OpenAI does */
    cJSON_AddItemToObject(r, "metadata", cJSON_IsObject(md) ? cJSON_Duplicate(md, true) : cJSON_CreateObject());
    cJSON *out = cJSON_AddArrayToObject(r, "output");
    if (done) {
        cJSON_AddItemToArray(out, message_item(pl, true));
        for (int k = 0; k < pl->ncalls; k++)
            cJSON_AddItemToArray(out, call_item(pl, k));
        cJSON *u = cJSON_AddObjectToObject(r, "usage");
        cJSON_AddNumberToObject(u, "input_tokens", c->beh.prompt);
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "input_tokens_details"), "cached_tokens", c->beh.cached);
        cJSON_AddNumberToObject(u, "output_tokens", pl->n + pl->ncalls);
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(u, "output_tokens_details"), "reasoning_tokens", 0);
        cJSON_AddNumberToObject(u, "total_tokens", c->beh.prompt + pl->n + pl->ncalls);
    } else {
        cJSON_AddNullToObject(r, "usage");
    }
    return r;
}

/* One event: "event: TYPE\ndata: {type, sequence_number, ...o}". Takes o. */
static void event(struct evlist *l, const char *type, cJSON *o)
{
    static int seq;
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "sequence_number", seq++);
    char *s = cJSON_PrintUnformatted(o);
    evbuffer_add_printf(l->b, "event: %s\ndata: %s\n\n", type, s);
    fl_ev_end(l);
    free(s);
    cJSON_Delete(o);
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddArrayToObject(p, "annotations");
    return p;
}

static cJSON *at(int output_index, cJSON *item)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "output_index", output_index);
    if (item)
        cJSON_AddItemToObject(o, "item", item);
    return o;
}

/* The events; returns where to stall (-1: never). */
static int events(const struct fl_ctx *c, const struct resp_plan *pl, struct evlist *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "response", response(c, pl, false));
    event(l, "response.created", o);
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "response", response(c, pl, false));
    event(l, "response.in_progress", o);
    event(l, "response.output_item.added", at(0, message_item(pl, false)));
    o = at(0, NULL);
    cJSON_AddStringToObject(o, "item_id", "msg_fake");
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddItemToObject(o, "part", text_part(""));
    event(l, "response.content_part.added", o);
    int stall_at = -1;
    for (int k = 0; k < pl->n; k++) {
        if (k == 2 && c->beh.midstream) {
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "code", "server_error");
            cJSON_AddStringToObject(o, "message", "fake failure");
            cJSON_AddNullToObject(o, "param");
            event(l, "error", o);
            return -1;
        }
        if (k == 2 && c->beh.stall)
            stall_at = l->n;
        o = at(0, NULL);
        cJSON_AddStringToObject(o, "item_id", "msg_fake");
        cJSON_AddNumberToObject(o, "content_index", 0);
        cJSON_AddStringToObject(o, "delta", pl->piece[k]);
        cJSON_AddArrayToObject(o, "logprobs");
        event(l, "response.output_text.delta", o);
    }
    o = at(0, NULL);
    cJSON_AddStringToObject(o, "item_id", "msg_fake");
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddStringToObject(o, "text", pl->text);
    event(l, "response.output_text.done", o);
    o = at(0, NULL);
    cJSON_AddStringToObject(o, "item_id", "msg_fake");
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddItemToObject(o, "part", text_part(pl->text));
    event(l, "response.content_part.done", o);
    event(l, "response.output_item.done", at(0, message_item(pl, true)));
    for (int k = 0; k < pl->ncalls; k++) {
        event(l, "response.output_item.added", at(k + 1, call_item(pl, k)));
        event(l, "response.output_item.done", at(k + 1, call_item(pl, k)));
    }
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "response", response(c, pl, true));
    event(l, "response.completed", o);
    return stall_at;
}

void fl_responses(const struct fl_ctx *c)
{
    if (c->beh.hang) {
        fl_plain_send(c, 200, evbuffer_new(), false);
        return;
    }
    struct resp_plan pl;
    plan(c, &pl);
    if (c->stream) {
        struct evlist l = {.b = evbuffer_new()};
        int stall_at = events(c, &pl, &l);
        fl_stream_send(c, &l, stall_at, c->beh.remaining0);
    } else {
        struct evbuffer *b = evbuffer_new();
        cJSON *r = response(c, &pl, true);
        char *s = cJSON_PrintUnformatted(r);
        evbuffer_add(b, s, strlen(s));
        free(s);
        cJSON_Delete(r);
        fl_plain_send(c, 200, b, c->beh.remaining0);
    }
}
