/* A chat completions stream as a Responses stream (see the header). */
#include "llm_resp_stream.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfield.h"
#include "llm_resp_out.h"

#define CALLS_MAX 128

struct call {
    int tool_index;       /* the chat delta's index */
    int out_index;        /* its output_index */
    char *call_id, *name;
    struct sbuf args;
};

struct resp_stream {
    char *model;
    char *req;            /* the client's body */
    size_t req_len;
    char *chat_id;        /* the first chunk's id */
    long long created;
    bool started, done;
    long long seq;
    int next_index;
    bool msg_open, msg_closed;
    int msg_index;
    struct sbuf text, refusal;
    struct call calls[CALLS_MAX];
    int ncalls;
    char *finish;
    cJSON *usage;         /* the chat usage object, or NULL */
};

struct resp_stream *resp_stream_new(const char *model, const char *req, size_t req_len)
{
    struct resp_stream *s = xcalloc(1, sizeof *s);
    s->model = xstrdup(model ? model : "");
    s->req = xstrndup(req ? req : "", req ? req_len : 0);
    s->req_len = req ? req_len : 0;
    sbuf_init(&s->text);
    sbuf_init(&s->refusal);
    return s;
}

void resp_stream_free(struct resp_stream *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ncalls; i++) {
        free(s->calls[i].call_id);
        free(s->calls[i].name);
        sbuf_deinit(&s->calls[i].args);
    }
    free(s->model);
    free(s->req);
    free(s->chat_id);
    free(s->finish);
    sbuf_deinit(&s->text);
    sbuf_deinit(&s->refusal);
    cJSON_Delete(s->usage);
    free(s);
}

/* One event; takes o (its type and sequence_number are added here). */
static void event(struct resp_stream *s, struct sbuf *out, const char *type, cJSON *o)
{
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "sequence_number", (double)s->seq++);
    char *j = cJSON_PrintUnformatted(o);
    sbuf_puts(out, "event: ");
    sbuf_puts(out, type);
    sbuf_puts(out, "\ndata: ");
    sbuf_puts(out, j);
    sbuf_puts(out, "\n\n");
    cJSON_free(j);
    cJSON_Delete(o);
}

static char *item_id(const struct resp_stream *s, const char *prefix, int n)
{
    return resp_item_id(prefix, s->chat_id, n);
}

static cJSON *with_item(int out_index, const char *item_id_str)
{
    cJSON *o = cJSON_CreateObject();
    if (item_id_str)
        cJSON_AddStringToObject(o, "item_id", item_id_str);
    cJSON_AddNumberToObject(o, "output_index", out_index);
    return o;
}

static void start(struct resp_stream *s, struct sbuf *out, long long now_s)
{
    s->started = true;
    for (int k = 0; k < 2; k++) {
        cJSON *r = cJSON_CreateObject();
        char *rid = item_id(s, "resp", 0);
        cJSON_AddStringToObject(r, "id", rid);
        free(rid);
        cJSON_AddStringToObject(r, "object", "response");
        cJSON_AddNumberToObject(r, "created_at", (double)(s->created ? s->created : now_s));
        cJSON_AddStringToObject(r, "status", "in_progress");
        cJSON_AddNullToObject(r, "error");
        cJSON_AddNullToObject(r, "incomplete_details");
        cJSON_AddStringToObject(r, "model", s->model);
        cJSON_AddArrayToObject(r, "output");
        cJSON_AddNullToObject(r, "usage");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "response", r);
        event(s, out, k ? "response.in_progress" : "response.created", o);
    }
}

static cJSON *text_part(const char *text)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddStringToObject(p, "text", text);
    cJSON_AddArrayToObject(p, "annotations");
    return p;
}

static cJSON *message(const struct resp_stream *s, bool done)
{
    cJSON *it = cJSON_CreateObject();
    char *id = item_id(s, "msg", 0);
    cJSON_AddStringToObject(it, "id", id);
    free(id);
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "status", done ? "completed" : "in_progress");
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON *c = cJSON_AddArrayToObject(it, "content");
    if (done)
        cJSON_AddItemToArray(c, text_part(s->text.data ? s->text.data : ""));
    return it;
}

static void msg_open(struct resp_stream *s, struct sbuf *out)
{
    if (s->msg_open || s->msg_closed)
        return;
    s->msg_open = true;
    s->msg_index = s->next_index++;
    cJSON *o = with_item(s->msg_index, NULL);
    cJSON_AddItemToObject(o, "item", message(s, false));
    event(s, out, "response.output_item.added", o);
    char *id = item_id(s, "msg", 0);
    o = with_item(s->msg_index, id);
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddItemToObject(o, "part", text_part(""));
    event(s, out, "response.content_part.added", o);
    free(id);
}

static void msg_close(struct resp_stream *s, struct sbuf *out)
{
    if (!s->msg_open)
        return;
    s->msg_open = false;
    s->msg_closed = true;
    const char *text = s->text.data ? s->text.data : "";
    char *id = item_id(s, "msg", 0);
    cJSON *o = with_item(s->msg_index, id);
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddStringToObject(o, "text", text);
    event(s, out, "response.output_text.done", o);
    o = with_item(s->msg_index, id);
    cJSON_AddNumberToObject(o, "content_index", 0);
    cJSON_AddItemToObject(o, "part", text_part(text));
    event(s, out, "response.content_part.done", o);
    o = with_item(s->msg_index, NULL);
    cJSON_AddItemToObject(o, "item", message(s, true));
    event(s, out, "response.output_item.done", o);
    free(id);
}

static cJSON *call_item(const struct resp_stream *s, int k, bool done)
{
    const struct call *c = &s->calls[k];
    cJSON *it = cJSON_CreateObject();
    char *id = item_id(s, "fc", k + 1);
    cJSON_AddStringToObject(it, "id", id);
    free(id);
    cJSON_AddStringToObject(it, "type", "function_call");
    cJSON_AddStringToObject(it, "status", done ? "completed" : "in_progress");
    cJSON_AddStringToObject(it, "call_id", c->call_id ? c->call_id : "");
    cJSON_AddStringToObject(it, "name", c->name ? c->name : "");
    cJSON_AddStringToObject(it, "arguments", done && c->args.data ? c->args.data : "");
    return it;
}

/* The slot of the chat's tool call index, opened (its item added) when new. */
static struct call *call_at(struct resp_stream *s, struct sbuf *out, int tool_index, const cJSON *tc)
{
    for (int k = 0; k < s->ncalls; k++)
        if (s->calls[k].tool_index == tool_index)
            return &s->calls[k];
    if (s->ncalls == CALLS_MAX)
        return NULL;
    msg_close(s, out); /* a call after text: the text is done */
    struct call *c = &s->calls[s->ncalls++];
    c->tool_index = tool_index;
    c->out_index = s->next_index++;
    const char *id = jfield_str(tc, "id");
    const char *name = jfield_str(jfield(tc, "function"), "name");
    c->call_id = xstrdup(id ? id : "");
    c->name = xstrdup(name ? name : "");
    sbuf_init(&c->args);
    cJSON *o = with_item(c->out_index, NULL);
    cJSON_AddItemToObject(o, "item", call_item(s, s->ncalls - 1, false));
    event(s, out, "response.output_item.added", o);
    return c;
}

/* The chat completion the stream added up to (for llm_resp_out). */
static char *as_completion(const struct resp_stream *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", s->chat_id ? s->chat_id : "x");
    cJSON_AddStringToObject(j, "object", "chat.completion");
    if (s->created)
        cJSON_AddNumberToObject(j, "created", (double)s->created);
    cJSON *ch = cJSON_CreateObject(), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    if (s->text.len || !s->ncalls)
        cJSON_AddStringToObject(m, "content", s->text.data ? s->text.data : "");
    else
        cJSON_AddNullToObject(m, "content");
    if (s->refusal.len)
        cJSON_AddStringToObject(m, "refusal", s->refusal.data);
    if (s->ncalls) {
        cJSON *tcs = cJSON_AddArrayToObject(m, "tool_calls");
        for (int k = 0; k < s->ncalls; k++) {
            cJSON *t = cJSON_CreateObject(), *f = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "id", s->calls[k].call_id);
            cJSON_AddStringToObject(t, "type", "function");
            cJSON_AddStringToObject(f, "name", s->calls[k].name);
            cJSON_AddStringToObject(f, "arguments", s->calls[k].args.data ? s->calls[k].args.data : "");
            cJSON_AddItemToObject(t, "function", f);
            cJSON_AddItemToArray(tcs, t);
        }
    }
    cJSON_AddItemToObject(ch, "message", m);
    cJSON_AddStringToObject(ch, "finish_reason", s->finish ? s->finish : "stop");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "choices"), ch);
    if (s->usage)
        cJSON_AddItemToObject(j, "usage", cJSON_Duplicate(s->usage, true));
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return t;
}

static int finish(struct resp_stream *s, struct sbuf *out, long long now_s)
{
    if (!s->started)
        start(s, out, now_s);
    msg_close(s, out);
    for (int k = 0; k < s->ncalls; k++) {
        struct call *c = &s->calls[k];
        char *id = item_id(s, "fc", k + 1);
        cJSON *o = with_item(c->out_index, id);
        cJSON_AddStringToObject(o, "arguments", c->args.data ? c->args.data : "");
        event(s, out, "response.function_call_arguments.done", o);
        o = with_item(c->out_index, NULL);
        cJSON_AddItemToObject(o, "item", call_item(s, k, true));
        event(s, out, "response.output_item.done", o);
        free(id);
    }
    char *chat = as_completion(s);
    cJSON *req = cJSON_ParseWithLength(s->req, s->req_len);
    struct sbuf r;
    sbuf_init(&r);
    char why[128];
    int rc = resp_from_chat(chat, strlen(chat), req, s->model, now_s, &r, why, sizeof why);
    cJSON_Delete(req);
    cJSON_free(chat);
    cJSON *obj = rc == 0 ? cJSON_ParseWithLength(r.data, r.len) : NULL;
    sbuf_deinit(&r);
    if (!obj) /* cannot happen: the completion is ours */
        return -1;
    const char *status = jfield_str(obj, "status");
    bool cut = status && strcmp(status, "incomplete") == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "response", obj);
    event(s, out, cut ? "response.incomplete" : "response.completed", o);
    s->done = true;
    return 1;
}

static int error_event(struct resp_stream *s, struct sbuf *out, const cJSON *err)
{
    const char *code = jfield_str(err, "code"), *type = jfield_str(err, "type");
    const char *msg = jfield_str(err, "message");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "code", code ? code : type ? type : "upstream_error");
    cJSON_AddStringToObject(o, "message", msg ? msg : "the provider reported an error");
    cJSON_AddNullToObject(o, "param");
    event(s, out, "error", o);
    s->done = true;
    return 2;
}

long long resp_stream_end_seq(struct resp_stream *s)
{
    s->done = true;
    return s->seq++;
}

int resp_stream_chunk(struct resp_stream *s, const char *data, size_t len, long long now_s, struct sbuf *out)
{
    if (s->done)
        return 1;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return finish(s, out, now_s);
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -1;
    }
    const cJSON *err = jfield(j, "error");
    if (err) {
        int rc = error_event(s, out, err);
        cJSON_Delete(j);
        return rc;
    }
    if (!s->chat_id && jfield_str(j, "id"))
        s->chat_id = xstrdup(jfield_str(j, "id"));
    const cJSON *cr = jfield(j, "created");
    if (!s->created && cJSON_IsNumber(cr) && cr->valuedouble > 0 && cr->valuedouble < 1e12)
        s->created = (long long)cr->valuedouble;
    if (!s->started)
        start(s, out, now_s);
    const cJSON *u = jfield(j, "usage");
    if (cJSON_IsObject(u)) {
        cJSON_Delete(s->usage);
        s->usage = cJSON_Duplicate(u, true);
    }
    const cJSON *ch = cJSON_GetArrayItem(jfield(j, "choices"), 0);
    const cJSON *d = jfield(ch, "delta");
    const char *content = jfield_str(d, "content");
    if (content && content[0]) {
        msg_open(s, out);
        sbuf_puts(&s->text, content);
        char *id = item_id(s, "msg", 0);
        cJSON *o = with_item(s->msg_index, id);
        cJSON_AddNumberToObject(o, "content_index", 0);
        cJSON_AddStringToObject(o, "delta", content);
        cJSON_AddArrayToObject(o, "logprobs");
        event(s, out, "response.output_text.delta", o);
        free(id);
    }
    const char *refusal = jfield_str(d, "refusal");
    if (refusal)
        sbuf_puts(&s->refusal, refusal);
    const cJSON *tcs = jfield(d, "tool_calls");
    for (const cJSON *tc = cJSON_IsArray(tcs) ? tcs->child : NULL; tc; tc = tc->next) {
        const cJSON *ix = jfield(tc, "index");
        int ti = cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < 1e6 ? (int)ix->valuedouble : 0;
        struct call *c = call_at(s, out, ti, tc);
        const char *args = jfield_str(jfield(tc, "function"), "arguments");
        if (!c || !args || !args[0])
            continue;
        sbuf_puts(&c->args, args);
        char *id = item_id(s, "fc", (int)(c - s->calls) + 1);
        cJSON *o = with_item(c->out_index, id);
        cJSON_AddStringToObject(o, "delta", args);
        event(s, out, "response.function_call_arguments.delta", o);
        free(id);
    }
    const char *fr = jfield_str(ch, "finish_reason");
    if (fr) {
        free(s->finish);
        s->finish = xstrdup(fr);
    }
    cJSON_Delete(j);
    return 0;
}
