/* A Messages stream for an Anthropic client: an Anthropic provider's
 * events relayed as they are (usage read from message_start and
 * message_delta), or an OpenAI chat completions stream translated into
 * message_start, content_block_start/delta/stop (text_delta,
 * input_json_delta), message_delta (stop_reason, usage) and message_stop.
 * Pure. */
#include "llm_msgs_stream.h"

#include "llm_msgs_resp.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MSGS_COUNT_MAX 1000000000000000LL

enum open_block { OPEN_NONE, OPEN_TEXT, OPEN_TOOL };

struct msgs_stream {
    bool pass;
    char model[200];
    char id[160];
    bool started, ended;
    enum open_block open;
    int block;         /* index of the open block (Anthropic's numbering) */
    int nblocks;
    double tool_index; /* the OpenAI index of the open tool call */
    char stop[32];     /* Anthropic's stop_reason, from the finish_reason */
    struct llm_usage u;
    long long anth[4]; /* passthrough: input, output, cache read, cache creation as said (-1) */
};

struct msgs_stream *msgs_stream_new(const char *model, bool passthrough)
{
    struct msgs_stream *s = xcalloc(1, sizeof *s);
    s->pass = passthrough;
    util_strcpy(s->model, sizeof s->model, model ? model : "");
    s->u.prompt = s->u.completion = s->u.cached = s->u.reasoning = -1;
    for (int i = 0; i < 4; i++)
        s->anth[i] = -1;
    return s;
}

void msgs_stream_free(struct msgs_stream *s)
{
    free(s);
}

void msgs_stream_usage(const struct msgs_stream *s, struct llm_usage *u)
{
    *u = s->u;
}

/* "event: name\ndata: json\n\n" (json one line: cJSON's or a provider's,
 * whose own line breaks each get a data: prefix). */
static void put_event(struct sbuf *out, const char *name, const char *json, size_t len)
{
    sbuf_printf(out, "event: %s\n", name);
    const char *p = json, *end = json + len;
    do {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *q = nl ? nl : end;
        sbuf_puts(out, "data: ");
        sbuf_append(out, p, (size_t)(q - p));
        sbuf_putc(out, '\n');
        p = nl ? nl + 1 : end;
    } while (p < end);
    sbuf_putc(out, '\n');
}

static void put_json(struct sbuf *out, const char *name, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (!t)
        abort(); /* cJSON fails only when out of memory */
    put_event(out, name, t, strlen(t));
    cJSON_free(t);
    cJSON_Delete(j);
}

void msgs_error_event(struct sbuf *out, const char *type, const char *message)
{
    struct sbuf b;
    sbuf_init(&b);
    msgs_error_json(&b, type, message);
    put_event(out, "error", b.data, b.len);
    sbuf_deinit(&b);
}

/* ---- passthrough: Anthropic events, usage read ---- */

static long long count(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    long long n;
    if (cJSON_IsNumber(v) && check_double_ll(v->valuedouble, 0, MSGS_COUNT_MAX, &n))
        return n;
    return -1;
}

/* message_delta's usage is cumulative and may name only output_tokens:
 * the counts it leaves out keep their value. */
static void pass_usage(struct msgs_stream *s, const cJSON *usage)
{
    if (!cJSON_IsObject(usage))
        return;
    static const char *const names[4] = {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                         "cache_creation_input_tokens"};
    for (int i = 0; i < 4; i++) {
        long long n = count(usage, names[i]);
        if (n >= 0)
            s->anth[i] = n;
    }
    long long in = s->anth[0], cr = s->anth[2] > 0 ? s->anth[2] : 0, cc = s->anth[3] > 0 ? s->anth[3] : 0;
    s->u.prompt = in >= 0 ? in + cr + cc : -1;
    s->u.cached = in >= 0 || s->anth[2] >= 0 ? cr : -1;
    s->u.completion = s->anth[1];
}

static int pass_event(struct msgs_stream *s, const char *event, const char *data, size_t len, struct sbuf *out,
                      long long *deltas, char *why, size_t whylen)
{
    const char *name = event;
    cJSON *j = NULL;
    bool need = !*event || !strcmp(event, "message_start") || !strcmp(event, "message_delta") ||
                !strcmp(event, "error");
    if (need) {
        j = cJSON_ParseWithLength(data, len);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            snprintf(why, whylen, "a stream event's data is not a JSON object");
            return -1;
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
        if (!*event)
            name = cJSON_IsString(t) ? t->valuestring : "";
    }
    int rc = 0;
    if (!strcmp(name, "message_start"))
        pass_usage(s, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "message"), "usage"));
    else if (!strcmp(name, "message_delta"))
        pass_usage(s, cJSON_GetObjectItemCaseSensitive(j, "usage"));
    else if (!strcmp(name, "content_block_delta"))
        (*deltas)++;
    else if (!strcmp(name, "message_stop"))
        rc = 1;
    else if (!strcmp(name, "error"))
        rc = 2;
    if (*name)
        put_event(out, name, data, len);
    cJSON_Delete(j);
    if (rc)
        s->ended = true;
    return rc;
}

/* ---- translation: chat completions chunks ---- */

static void message_start(struct msgs_stream *s, struct sbuf *out)
{
    if (s->started)
        return;
    s->started = true;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "message_start");
    cJSON *m = cJSON_AddObjectToObject(j, "message");
    cJSON_AddStringToObject(m, "id", s->id[0] ? s->id : "msg_ingot");
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "model", s->model);
    cJSON_AddArrayToObject(m, "content");
    cJSON_AddNullToObject(m, "stop_reason");
    cJSON_AddNullToObject(m, "stop_sequence");
    cJSON *u = cJSON_AddObjectToObject(m, "usage");
    /* Chat completions tell the prompt's size only at the end:
     * message_delta carries it. */
    cJSON_AddNumberToObject(u, "input_tokens", 0);
    cJSON_AddNumberToObject(u, "output_tokens", 0);
    put_json(out, "message_start", j);
}

static void block_stop(struct msgs_stream *s, struct sbuf *out)
{
    if (s->open == OPEN_NONE)
        return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "content_block_stop");
    cJSON_AddNumberToObject(j, "index", s->block);
    put_json(out, "content_block_stop", j);
    s->open = OPEN_NONE;
}

/* Starts block (text: name NULL; tool_use: id and name). */
static void block_start(struct msgs_stream *s, struct sbuf *out, const char *id, const char *name)
{
    block_stop(s, out);
    s->block = s->nblocks++;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "content_block_start");
    cJSON_AddNumberToObject(j, "index", s->block);
    cJSON *b = cJSON_AddObjectToObject(j, "content_block");
    if (name) {
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", id);
        cJSON_AddStringToObject(b, "name", name);
        cJSON_AddObjectToObject(b, "input");
        s->open = OPEN_TOOL;
    } else {
        cJSON_AddStringToObject(b, "type", "text");
        cJSON_AddStringToObject(b, "text", "");
        s->open = OPEN_TEXT;
    }
    put_json(out, "content_block_start", j);
}

static void block_delta(struct msgs_stream *s, struct sbuf *out, const char *kind, const char *key, const char *v)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "content_block_delta");
    cJSON_AddNumberToObject(j, "index", s->block);
    cJSON *d = cJSON_AddObjectToObject(j, "delta");
    cJSON_AddStringToObject(d, "type", kind);
    cJSON_AddStringToObject(d, key, v);
    put_json(out, "content_block_delta", j);
}

static void text_delta(struct msgs_stream *s, struct sbuf *out, const char *text, long long *deltas)
{
    if (!*text)
        return; /* the role chunk's "" */
    if (s->open != OPEN_TEXT)
        block_start(s, out, NULL, NULL);
    block_delta(s, out, "text_delta", "text", text);
    (*deltas)++;
}

static void tool_deltas(struct msgs_stream *s, struct sbuf *out, const cJSON *calls, long long *deltas)
{
    const cJSON *tc;
    cJSON_ArrayForEach(tc, calls) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(tc, "index");
        double idx = cJSON_IsNumber(ix) ? ix->valuedouble : 0;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (s->open != OPEN_TOOL || idx != s->tool_index) {
            char gen[48];
            snprintf(gen, sizeof gen, "toolu_ingot_%d", s->nblocks);
            block_start(s, out, cJSON_IsString(id) && id->valuestring[0] ? id->valuestring : gen,
                        cJSON_IsString(name) ? name->valuestring : "");
            s->tool_index = idx;
        }
        if (cJSON_IsString(args) && args->valuestring[0]) {
            block_delta(s, out, "input_json_delta", "partial_json", args->valuestring);
            (*deltas)++;
        }
    }
}

/* [DONE]: the open block closed, message_delta and message_stop. */
static void finish(struct msgs_stream *s, struct sbuf *out)
{
    message_start(s, out);
    block_stop(s, out);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "message_delta");
    cJSON *d = cJSON_AddObjectToObject(j, "delta");
    cJSON_AddStringToObject(d, "stop_reason", s->stop[0] ? s->stop : "end_turn");
    cJSON_AddNullToObject(d, "stop_sequence");
    cJSON *u = cJSON_AddObjectToObject(j, "usage");
    long long p = s->u.prompt > 0 ? s->u.prompt : 0;
    long long cached = s->u.cached > 0 && s->u.cached <= p ? s->u.cached : 0;
    cJSON_AddNumberToObject(u, "input_tokens", (double)(p - cached));
    cJSON_AddNumberToObject(u, "cache_read_input_tokens", (double)cached);
    cJSON_AddNumberToObject(u, "output_tokens", (double)(s->u.completion > 0 ? s->u.completion : 0));
    put_json(out, "message_delta", j);
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "message_stop");
    put_json(out, "message_stop", j);
    s->ended = true;
}

static int chat_chunk(struct msgs_stream *s, const char *event, const char *data, size_t len, struct sbuf *out,
                      long long *deltas, char *why, size_t whylen)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        finish(s, out);
        return 1;
    }
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(why, whylen, "a stream chunk is not a JSON object");
        return -1;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (err || !strcmp(event, "error")) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(err ? err : j, "message");
        msgs_error_event(out, "api_error", cJSON_IsString(m) ? m->valuestring : "the provider reported an error");
        cJSON_Delete(j);
        s->ended = true;
        return 2;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!s->started && cJSON_IsString(id) && id->valuestring[0])
        snprintf(s->id, sizeof s->id, "msg_%.140s", id->valuestring);
    message_start(s, out);
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    if (cJSON_IsObject(usage)) {
        s->u.prompt = count(usage, "prompt_tokens");
        s->u.completion = count(usage, "completion_tokens");
        s->u.cached = count(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details"), "cached_tokens");
        s->u.reasoning =
            count(cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details"), "reasoning_tokens");
    }
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ch, "delta");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
    if (cJSON_IsString(content))
        text_delta(s, out, content->valuestring, deltas);
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(delta, "refusal");
    if (cJSON_IsString(refusal))
        text_delta(s, out, refusal->valuestring, deltas);
    tool_deltas(s, out, cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"), deltas);
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
    if (cJSON_IsString(fr)) {
        util_strcpy(s->stop, sizeof s->stop, msgs_stop_reason(fr->valuestring));
        block_stop(s, out);
    }
    cJSON_Delete(j);
    return 0;
}

int msgs_stream_event(struct msgs_stream *s, const char *event, const char *data, size_t len, struct sbuf *out,
                      long long *deltas, char *why, size_t whylen)
{
    if (s->ended)
        return 1;
    long long dummy = 0;
    if (!deltas)
        deltas = &dummy;
    if (!event)
        event = "";
    if (s->pass)
        return pass_event(s, event, data, len, out, deltas, why, whylen);
    return chat_chunk(s, event, data, len, out, deltas, why, whylen);
}
