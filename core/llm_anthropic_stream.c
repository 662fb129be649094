/* Anthropic stream events -> OpenAI chat.completion.chunk events. One
 * state per stream: the message id, which Anthropic content block is
 * which OpenAI tool call, the usage so far. Chunks are written by hand
 * (no cJSON tree per event): this is the hot path of a relayed stream. */
#include "llm_anthropic_stream.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "llm_anthropic_int.h"

/* Content block indexes above this are not a real message. */
#define ANTH_MAX_BLOCKS 4096

enum block_kind { BLOCK_NONE = 0, BLOCK_TEXT, BLOCK_TOOL, BLOCK_SKIP };

struct block {
    enum block_kind kind;
    int tool; /* BLOCK_TOOL: the OpenAI tool_calls index */
};

struct anth_stream {
    char *model;
    long long created;
    bool include_usage;
    bool started;   /* message_start seen */
    bool finished;  /* the finish_reason chunk was sent */
    bool ended;     /* message_stop or error: nothing more */
    struct sbuf head; /* "data: {\"id\":...,\"choices\":[{\"index\":0,\"delta\":" */
    struct block *blocks;
    size_t nblocks;
    int tools;      /* tool blocks seen so far */
    struct anth_counts counts;
};

static void build_head(struct anth_stream *s, const char *anthropic_id)
{
    sbuf_reset(&s->head);
    sbuf_puts(&s->head, "data: {\"id\":");
    anth_id_json(&s->head, anthropic_id);
    sbuf_printf(&s->head, ",\"object\":\"chat.completion.chunk\",\"created\":%lld,\"model\":", s->created);
    sbuf_json_str(&s->head, s->model);
}

struct anth_stream *anth_stream_new(const char *model, long long created, bool include_usage)
{
    struct anth_stream *s = xcalloc(1, sizeof *s);
    s->model = xstrdup(model ? model : "");
    s->created = created;
    s->include_usage = include_usage;
    s->counts = (struct anth_counts){-1, -1, -1, -1};
    sbuf_init(&s->head);
    build_head(s, ""); /* replaced at message_start; used if it never comes */
    return s;
}

void anth_stream_free(struct anth_stream *s)
{
    if (!s)
        return;
    free(s->model);
    sbuf_deinit(&s->head);
    free(s->blocks);
    free(s);
}

void anth_stream_usage(const struct anth_stream *s, struct llm_usage *u)
{
    anth_counts_usage(&s->counts, u);
}

/* Opens a chunk: head, ",\"choices\":[{\"index\":0,\"delta\":" — the
 * caller writes the delta object, then close_chunk. */
static void open_chunk(struct anth_stream *s, struct sbuf *out)
{
    sbuf_append(out, s->head.data, s->head.len);
    sbuf_puts(out, ",\"choices\":[{\"index\":0,\"delta\":");
}

static void close_chunk(struct anth_stream *s, struct sbuf *out, const char *finish_reason)
{
    sbuf_puts(out, ",\"logprobs\":null,\"finish_reason\":");
    if (finish_reason)
        sbuf_json_str(out, finish_reason);
    else
        sbuf_puts(out, "null");
    sbuf_puts(out, "}]");
    if (s->include_usage)
        sbuf_puts(out, ",\"usage\":null"); /* as OpenAI: null on every chunk but the last */
    sbuf_puts(out, "}\n\n");
}

static void content_chunk(struct anth_stream *s, struct sbuf *out, const char *text)
{
    open_chunk(s, out);
    sbuf_puts(out, "{\"content\":");
    sbuf_json_str(out, text);
    sbuf_putc(out, '}');
    close_chunk(s, out, NULL);
}

static void finish_chunk(struct anth_stream *s, struct sbuf *out, const char *reason)
{
    open_chunk(s, out);
    sbuf_puts(out, "{}");
    close_chunk(s, out, reason);
    s->finished = true;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The block at data's "index", grown on demand; NULL when absent or out
 * of range. */
static struct block *block_at(struct anth_stream *s, const cJSON *data, bool grow)
{
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(data, "index");
    long long idx;
    if (!cJSON_IsNumber(iv) || !check_double_ll(iv->valuedouble, 0, ANTH_MAX_BLOCKS - 1, &idx))
        return NULL;
    if ((size_t)idx >= s->nblocks) {
        if (!grow)
            return NULL;
        size_t n = (size_t)idx + 1;
        s->blocks = xrealloc(s->blocks, n * sizeof *s->blocks);
        memset(s->blocks + s->nblocks, 0, (n - s->nblocks) * sizeof *s->blocks);
        s->nblocks = n;
    }
    return &s->blocks[idx];
}

static int on_message_start(struct anth_stream *s, const cJSON *data, struct sbuf *out)
{
    if (s->started)
        return 0; /* a second one says nothing new */
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(data, "message");
    if (!cJSON_IsObject(msg))
        return -1;
    s->started = true;
    build_head(s, str_of(msg, "id"));
    anth_counts_read(cJSON_GetObjectItemCaseSensitive(msg, "usage"), &s->counts);
    open_chunk(s, out);
    sbuf_puts(out, "{\"role\":\"assistant\",\"content\":\"\"}");
    close_chunk(s, out, NULL);
    return 0;
}

static int on_block_start(struct anth_stream *s, const cJSON *data, struct sbuf *out)
{
    struct block *b = block_at(s, data, true);
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(data, "content_block");
    const char *type = str_of(cb, "type");
    if (!b || !type || b->kind != BLOCK_NONE)
        return -1;
    if (strcmp(type, "text") == 0) {
        b->kind = BLOCK_TEXT;
        const char *text = str_of(cb, "text");
        if (text && *text)
            content_chunk(s, out, text);
    } else if (strcmp(type, "tool_use") == 0) {
        b->kind = BLOCK_TOOL;
        b->tool = s->tools++;
        open_chunk(s, out);
        sbuf_printf(out, "{\"tool_calls\":[{\"index\":%d,\"id\":", b->tool);
        const char *id = str_of(cb, "id"), *name = str_of(cb, "name");
        sbuf_json_str(out, id ? id : "");
        sbuf_puts(out, ",\"type\":\"function\",\"function\":{\"name\":");
        sbuf_json_str(out, name ? name : "");
        sbuf_puts(out, ",\"arguments\":");
        /* The input comes in input_json_delta pieces; a start that already
         * carries a non-empty input gives it whole. */
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(cb, "input");
        char *args = cJSON_IsObject(input) && input->child ? cJSON_PrintUnformatted(input) : NULL;
        sbuf_json_str(out, args ? args : "");
        free(args);
        sbuf_puts(out, "}}]}");
        close_chunk(s, out, NULL);
    } else {
        b->kind = BLOCK_SKIP; /* thinking, redacted_thinking, server tools: not in OpenAI's chunk */
    }
    return 0;
}

static int on_block_delta(struct anth_stream *s, const cJSON *data, struct sbuf *out)
{
    struct block *b = block_at(s, data, false);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "delta");
    const char *type = str_of(d, "type");
    if (!b || b->kind == BLOCK_NONE || !type)
        return -1;
    if (strcmp(type, "text_delta") == 0 && b->kind == BLOCK_TEXT) {
        const char *text = str_of(d, "text");
        if (text && *text)
            content_chunk(s, out, text);
    } else if (strcmp(type, "input_json_delta") == 0 && b->kind == BLOCK_TOOL) {
        const char *part = str_of(d, "partial_json");
        if (part && *part) {
            open_chunk(s, out);
            sbuf_printf(out, "{\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", b->tool);
            sbuf_json_str(out, part);
            sbuf_puts(out, "}}]}");
            close_chunk(s, out, NULL);
        }
    }
    /* thinking_delta, signature_delta, citations_delta, deltas of skipped
     * blocks: nothing in OpenAI's chunk. */
    return 0;
}

static void on_message_delta(struct anth_stream *s, const cJSON *data, struct sbuf *out)
{
    anth_counts_read(cJSON_GetObjectItemCaseSensitive(data, "usage"), &s->counts);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "delta");
    const char *reason = str_of(d, "stop_reason");
    if (reason && !s->finished)
        finish_chunk(s, out, anth_finish_reason(reason));
}

static void on_message_stop(struct anth_stream *s, struct sbuf *out)
{
    if (!s->finished)
        finish_chunk(s, out, "stop"); /* a stream without a stop_reason still ends */
    if (s->include_usage) {
        struct llm_usage u;
        anth_counts_usage(&s->counts, &u);
        sbuf_append(out, s->head.data, s->head.len);
        sbuf_puts(out, ",\"choices\":[],\"usage\":");
        anth_usage_json(out, &u);
        sbuf_puts(out, "}\n\n");
    }
    s->ended = true;
}

int anth_stream_event(struct anth_stream *s, const char *event, const char *data, size_t len, struct sbuf *out,
                      char *why, size_t whylen)
{
    if (s->ended)
        return 1;
    cJSON *root = data ? cJSON_ParseWithLength(data, len) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(why, whylen, "%s", "a stream event whose data is not a JSON object");
        return -1;
    }
    /* The event name, or the data's type when the name was left out. */
    const char *name = event && *event ? event : str_of(root, "type");
    int rc = 0;
    /* ping, content_block_stop, no name at all, and event types Anthropic
     * adds later (its docs ask clients to ignore them): nothing to say. */
    if (!name) {
        cJSON_Delete(root);
        return 0;
    }
    if (strcmp(name, "message_start") == 0) {
        rc = on_message_start(s, root, out);
    } else if (strcmp(name, "content_block_start") == 0) {
        rc = on_block_start(s, root, out);
    } else if (strcmp(name, "content_block_delta") == 0) {
        rc = on_block_delta(s, root, out);
    } else if (strcmp(name, "message_delta") == 0) {
        on_message_delta(s, root, out);
    } else if (strcmp(name, "message_stop") == 0) {
        on_message_stop(s, out);
        rc = 1;
    } else if (strcmp(name, "error") == 0) {
        /* After the 200: the SDK raises on a data payload with "error". */
        sbuf_puts(out, "data: ");
        int st;
        anth_error(0, data, len, out, &st);
        sbuf_puts(out, "\n\n");
        s->ended = true;
        rc = 1;
    }
    if (rc < 0)
        snprintf(why, whylen, "a malformed %s event", name);
    cJSON_Delete(root);
    return rc;
}
