/* Anthropic Messages <-> OpenAI chat completions for /v1/messages,
 * streamed: the translation fed in random splits (text and tool calls
 * assembled back into the plain answer) and the passthrough's usage. */
#include "llm_msgs_stream.h"
#include "msgs_help.h"
#include "sse.h"

/* ---- streams ---- */

/* The translator's output parsed back (as the SDK does) into a Message. */
struct asm_state {
    struct msgs_stream *s;
    struct sbuf out;
    int rc_end;      /* the first non-zero rc */
    int malformed;
    long long deltas;
};

static int feed_cb(const char *event, const char *data, size_t len, void *arg)
{
    struct asm_state *a = arg;
    char why[128];
    int rc = msgs_stream_event(a->s, event, data, len, &a->out, &a->deltas, why, sizeof why);
    if (rc < 0)
        a->malformed++;
    else if (rc > 0 && !a->rc_end)
        a->rc_end = rc;
    return 0;
}

/* The client's side: events into a Message (types in order into types). */
struct client {
    cJSON *msg;
    struct sbuf types;
    struct sbuf json[8]; /* partial_json per block */
    int bad;
};

static int client_cb(const char *event, const char *data, size_t len, void *arg)
{
    struct client *cl = arg;
    cJSON *j = cJSON_ParseWithLength(data, len);
    const char *type = strv(get(j, "type"));
    if (strcmp(type, event) != 0)
        cl->bad++;
    sbuf_printf(&cl->types, "%s%s", cl->types.len ? "," : "", type);
    if (!strcmp(type, "message_start")) {
        cl->msg = cJSON_Duplicate(get(j, "message"), true);
    } else if (!strcmp(type, "content_block_start")) {
        cJSON_AddItemToArray(get(cl->msg, "content"), cJSON_Duplicate(get(j, "content_block"), true));
    } else if (!strcmp(type, "content_block_delta")) {
        int idx = (int)get(j, "index")->valuedouble;
        cJSON *b = cJSON_GetArrayItem(get(cl->msg, "content"), idx);
        const cJSON *d = get(j, "delta");
        if (!strcmp(strv(get(d, "type")), "text_delta")) {
            struct sbuf t;
            sbuf_init(&t);
            sbuf_puts(&t, strv(get(b, "text")));
            sbuf_puts(&t, strv(get(d, "text")));
            cJSON_ReplaceItemInObject(b, "text", cJSON_CreateString(t.data));
            sbuf_deinit(&t);
        } else if (idx < 8) {
            sbuf_puts(&cl->json[idx], strv(get(d, "partial_json")));
        }
    } else if (!strcmp(type, "content_block_stop")) {
        int idx = (int)get(j, "index")->valuedouble;
        cJSON *b = cJSON_GetArrayItem(get(cl->msg, "content"), idx);
        if (idx < 8 && cl->json[idx].len)
            cJSON_ReplaceItemInObject(b, "input", cJSON_Parse(cl->json[idx].data));
    } else if (!strcmp(type, "message_delta")) {
        cJSON_ReplaceItemInObject(cl->msg, "stop_reason", cJSON_Duplicate(get(get(j, "delta"), "stop_reason"), true));
        cJSON_ReplaceItemInObject(cl->msg, "usage", cJSON_Duplicate(get(j, "usage"), true));
    }
    cJSON_Delete(j);
    return 0;
}

/* Feeds text to a new stream in random pieces; the output parsed by the
 * client. Returns the assembled message (caller deletes). */
static cJSON *run_stream(const char *sse_text, bool pass, struct client *cl, struct asm_state *a, unsigned seed)
{
    srand(seed);
    memset(a, 0, sizeof *a);
    a->s = msgs_stream_new("my-model", pass);
    sbuf_init(&a->out);
    struct sse_parser *p = sse_new(1 << 20);
    size_t n = strlen(sse_text), i = 0;
    while (i < n) {
        size_t k = 1 + (size_t)rand() % 40;
        if (k > n - i)
            k = n - i;
        if (sse_feed(p, sse_text + i, k, feed_cb, a) < 0)
            a->malformed++;
        i += k;
    }
    sse_free(p);
    memset(cl, 0, sizeof *cl);
    sbuf_init(&cl->types);
    for (int k = 0; k < 8; k++)
        sbuf_init(&cl->json[k]);
    p = sse_new(1 << 20);
    if (sse_feed(p, a->out.data ? a->out.data : "", a->out.len, client_cb, cl) < 0)
        cl->bad++;
    sse_free(p);
    return cl->msg;
}

static void client_free(struct client *cl, struct asm_state *a)
{
    cJSON_Delete(cl->msg);
    sbuf_deinit(&cl->types);
    for (int k = 0; k < 8; k++)
        sbuf_deinit(&cl->json[k]);
    sbuf_deinit(&a->out);
    msgs_stream_free(a->s);
}

static const char openai_stream[] =
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let \"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"me check.\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_0\","
    "\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_1\","
    "\"type\":\"function\",\"function\":{\"name\":\"x\",\"arguments\":\"{}\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":9,"
    "\"prompt_tokens_details\":{\"cached_tokens\":5}}}\n\n"
    "data: [DONE]\n\n";

static void test_stream_translate(void)
{
    for (unsigned seed = 1; seed <= 40; seed++) {
        struct client cl;
        struct asm_state a;
        cJSON *m = run_stream(openai_stream, false, &cl, &a, seed);
        bool ok = m && a.malformed == 0 && cl.bad == 0 && a.rc_end == 1;
        char *content = m ? cJSON_PrintUnformatted(get(m, "content")) : NULL;
        ok = ok && content &&
             strcmp(content, "[{\"type\":\"text\",\"text\":\"Let me check.\"},{\"type\":\"tool_use\",\"id\":\"call_0\","
                             "\"name\":\"w\",\"input\":{\"city\":\"Paris\"}},{\"type\":\"tool_use\",\"id\":\"call_1\","
                             "\"name\":\"x\",\"input\":{}}]") == 0;
        ok = ok && !strcmp(strv(get(m, "stop_reason")), "tool_use") && !strcmp(strv(get(m, "id")), "msg_chatcmpl-9") &&
             !strcmp(strv(get(m, "model")), "my-model");
        const cJSON *u = get(m, "usage");
        ok = ok && get(u, "input_tokens") && get(u, "input_tokens")->valuedouble == 15 &&
             get(u, "cache_read_input_tokens")->valuedouble == 5 && get(u, "output_tokens")->valuedouble == 9;
        ok = ok && !strcmp(cl.types.data,
                           "message_start,content_block_start,content_block_delta,content_block_delta,content_block_stop,"
                           "content_block_start,content_block_delta,content_block_delta,content_block_stop,"
                           "content_block_start,content_block_delta,content_block_stop,message_delta,message_stop");
        struct llm_usage lu;
        msgs_stream_usage(a.s, &lu);
        ok = ok && lu.prompt == 20 && lu.completion == 9 && lu.cached == 5 && a.deltas == 5;
        if (!ok)
            printf("  seed %u: %s / %s (malformed %d bad %d end %d deltas %lld)\n", seed, content ? content : "-",
                   cl.types.data ? cl.types.data : "-", a.malformed, cl.bad, a.rc_end, a.deltas);
        test_cond("translated stream assembles (random splits)", ok);
        cJSON_free(content);
        client_free(&cl, &a);
    }
    /* the same answer, not streamed, gives the same content */
    struct llm_usage u;
    cJSON *plain = from_chat("{\"id\":\"chatcmpl-9\",\"choices\":[{\"message\":{\"content\":\"Let me check.\",\"tool_calls\":"
                             "[{\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":"
                             "\"{\\\"city\\\":\\\"Paris\\\"}\"}},{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                             "{\"name\":\"x\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
                             &u);
    struct client cl;
    struct asm_state a;
    cJSON *m = run_stream(openai_stream, false, &cl, &a, 99);
    test_cond("stream == plain answer (content)", cJSON_Compare(get(m, "content"), get(plain, "content"), true));
    cJSON_Delete(plain);
    client_free(&cl, &a);

    /* an error chunk: an error event, the end */
    m = run_stream("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                   "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n"
                   "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n",
                   false, &cl, &a, 3);
    test_cond("error chunk: rc 2", a.rc_end == 2);
    test_cond("error chunk: error event, nothing after",
              cl.types.data && !strcmp(cl.types.data, "message_start,content_block_start,content_block_delta,error"));
    client_free(&cl, &a);

    /* [DONE] at once: still a whole message */
    m = run_stream("data: [DONE]\n\n", false, &cl, &a, 4);
    test_cond("empty stream: a whole message",
              m && cl.types.data && !strcmp(cl.types.data, "message_start,message_delta,message_stop") &&
                  !strcmp(strv(get(m, "stop_reason")), "end_turn"));
    client_free(&cl, &a);

    m = run_stream("data: {not json\n\n", false, &cl, &a, 5);
    test_cond("malformed chunk: -1", a.malformed == 1);
    client_free(&cl, &a);

    m = run_stream("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}\n\n"
                   "data: [DONE]\n\n",
                   false, &cl, &a, 6);
    test_cond("length -> max_tokens", m && !strcmp(strv(get(m, "stop_reason")), "max_tokens"));
    client_free(&cl, &a);
}

static const char anth_stream[] =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
    "{\"input_tokens\":7,\"cache_creation_input_tokens\":2,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hi\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" there\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":6}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void test_stream_pass(void)
{
    for (unsigned seed = 1; seed <= 20; seed++) {
        struct client cl;
        struct asm_state a;
        cJSON *m = run_stream(anth_stream, true, &cl, &a, seed);
        struct llm_usage u;
        msgs_stream_usage(a.s, &u);
        bool ok = m && a.malformed == 0 && a.rc_end == 1 && a.deltas == 2 && u.prompt == 12 && u.cached == 3 &&
                  u.completion == 6;
        ok = ok && !strcmp(strv(get(cJSON_GetArrayItem(get(m, "content"), 0), "text")), "Hi there");
        /* relayed as it came: the same events, the same text */
        ok = ok && a.out.len == sizeof anth_stream - 1 && !memcmp(a.out.data, anth_stream, a.out.len);
        if (!ok)
            printf("  pass seed %u: malformed %d end %d deltas %lld usage %lld/%lld/%lld\n", seed, a.malformed, a.rc_end,
                   a.deltas, u.prompt, u.cached, u.completion);
        test_cond("passthrough: relayed byte for byte, usage read (random splits)", ok);
        client_free(&cl, &a);
    }
    /* cut after message_start: what is known so far */
    struct client cl;
    struct asm_state a;
    char cut[1024];
    snprintf(cut, sizeof cut, "%.*s", (int)(strstr(anth_stream, "event: content_block_start") - anth_stream), anth_stream);
    run_stream(cut, true, &cl, &a, 7);
    struct llm_usage u;
    msgs_stream_usage(a.s, &u);
    test_cond("passthrough cut: input known, output so far", u.prompt == 12 && u.completion == 1 && a.rc_end == 0);
    client_free(&cl, &a);
    run_stream("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
               true, &cl, &a, 8);
    test_cond("passthrough error: rc 2, relayed", a.rc_end == 2 && a.out.data && strstr(a.out.data, "overloaded_error"));
    client_free(&cl, &a);
    run_stream("event: message_start\ndata: nope\n\n", true, &cl, &a, 9);
    test_cond("passthrough malformed message_start: -1", a.malformed == 1);
    client_free(&cl, &a);
}

int main(void)
{
    test_stream_translate();
    test_stream_pass();
    test_report();
}
