/* OpenAI chat completions <-> Anthropic Messages, streamed: the stream
 * state machine, round trips (a streamed tool call assembles into the
 * non-streamed answer) and malformed input through every entry point. */
#include "anth_help.h"
#include "llm_anthropic.h"
#include "sse.h"

#define EV(name, json) "event: " name "\ndata: " json "\n\n"
static const char anth_sse[] =
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":"
                        "\"assistant\",\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,\"usage\":{"
                        "\"input_tokens\":10,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100,"
                        "\"output_tokens\":1}}}")
    EV("ping", "{\"type\":\"ping\"}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
                              "\"thinking\",\"thinking\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                              "\"thinking_delta\",\"thinking\":\"hmm\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\","
                              "\"text\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
                              "\"text\":\"Let me \"}}")
    ": a comment\n"
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\","
                              "\"text\":\"check.\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":"
                              "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
                              "\"input_json_delta\",\"partial_json\":\"\"}}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
                              "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Par\"}}")
    EV("ping", "{\"type\":\"ping\"}")
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
                              "\"input_json_delta\",\"partial_json\":\"is\\\", \\\"units\\\": {\\\"c\\\": true}}\"}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")
    EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":"
                              "\"tool_use\",\"id\":\"toolu_2\",\"name\":\"noargs\",\"input\":{}}}")
    EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":3}")
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
                        "\"usage\":{\"output_tokens\":20}}")
    EV("message_stop", "{\"type\":\"message_stop\"}");

/* The mutation test expects malformed events: it does not print them. */
static bool relay_quiet;

struct relay {
    struct anth_stream *s;
    struct sbuf out;
    int ended, errors;
};

static int relay_cb(const char *event, const char *data, size_t len, void *arg)
{
    struct relay *r = arg;
    char why[128];
    int rc = anth_stream_event(r->s, event, data, len, &r->out, why, sizeof why);
    if (rc < 0) {
        if (!relay_quiet)
            printf("  event %s: %s\n", event, why);
        r->errors++;
    }
    if (rc == 1)
        r->ended++;
    return 0;
}

/* The chunks of out assembled as a client would (the SDK's
 * ChatCompletionStream): content, tool_calls by index, finish_reason,
 * usage. Checks each chunk's framing and shape on the way. */
struct assembled {
    struct sbuf content;
    char ids[4][32], names[4][32];
    struct sbuf args[4];
    int ntools, chunks, bad, usage_chunks, finishes;
    char finish[32], id[64];
    char *usage;
};

static void assemble(const char *out, bool include_usage, struct assembled *a)
{
    memset(a, 0, sizeof *a);
    sbuf_init(&a->content);
    for (int i = 0; i < 4; i++)
        sbuf_init(&a->args[i]);
    const char *p = out;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        if (strncmp(p, "data: ", 6) != 0 || !end) {
            a->bad++;
            break;
        }
        char *json = xstrndup(p + 6, (size_t)(end - p - 6));
        p = end + 2;
        cJSON *c = cJSON_Parse(json);
        free(json);
        a->chunks++;
        const cJSON *choices = get(c, "choices"), *usage = get(c, "usage");
        if (!cJSON_IsArray(choices) || strcmp(strv(get(c, "object")), "chat.completion.chunk") ||
            !cJSON_IsNumber(get(c, "created")) || !cJSON_IsString(get(c, "model")) || !cJSON_IsString(get(c, "id")))
            a->bad++;
        snprintf(a->id, sizeof a->id, "%s", strv(get(c, "id")));
        if (include_usage != (usage != NULL))
            a->bad++;
        if (cJSON_GetArraySize(choices) == 0) {
            a->usage_chunks++;
            free(a->usage);
            a->usage = cJSON_PrintUnformatted(usage);
            cJSON_Delete(c);
            continue;
        }
        if (usage && !cJSON_IsNull(usage))
            a->bad++;
        const cJSON *ch = cJSON_GetArrayItem(choices, 0), *delta = get(ch, "delta"), *fr = get(ch, "finish_reason");
        if (!cJSON_IsObject(delta) || !fr || cJSON_GetNumberValue(get(ch, "index")) != 0)
            a->bad++;
        if (cJSON_IsString(fr)) {
            a->finishes++;
            snprintf(a->finish, sizeof a->finish, "%s", fr->valuestring);
        }
        const char *text = cJSON_GetStringValue(get(delta, "content"));
        if (text)
            sbuf_puts(&a->content, text);
        const cJSON *tc;
        cJSON_ArrayForEach(tc, get(delta, "tool_calls")) {
            int k = (int)cJSON_GetNumberValue(get(tc, "index"));
            if (k < 0 || k >= 4) {
                a->bad++;
                continue;
            }
            if (k >= a->ntools)
                a->ntools = k + 1;
            const char *id = cJSON_GetStringValue(get(tc, "id"));
            const cJSON *fn = get(tc, "function");
            const char *name = cJSON_GetStringValue(get(fn, "name"));
            const char *args = cJSON_GetStringValue(get(fn, "arguments"));
            if (id)
                snprintf(a->ids[k], sizeof a->ids[k], "%s", id);
            if (name)
                snprintf(a->names[k], sizeof a->names[k], "%s", name);
            if (args)
                sbuf_puts(&a->args[k], args);
        }
        cJSON_Delete(c);
    }
}

static void assembled_free(struct assembled *a)
{
    sbuf_deinit(&a->content);
    for (int i = 0; i < 4; i++)
        sbuf_deinit(&a->args[i]);
    free(a->usage);
}

/* Runs SSE text through sse + anth_stream; the relay's output. */
static void run_stream(const char *sse_text, size_t len, bool include_usage, struct relay *r)
{
    memset(r, 0, sizeof *r);
    r->s = anth_stream_new("claude", 1700000000, include_usage);
    sbuf_init(&r->out);
    sbuf_puts(&r->out, "");
    struct sse_parser *p = sse_new(1 << 16);
    if (sse_feed(p, sse_text, len, relay_cb, r) < 0)
        r->errors++;
    sse_free(p);
}

static void test_stream(void)
{
    struct relay r;
    run_stream(anth_sse, sizeof anth_sse - 1, true, &r);
    test_cond("no malformed events", r.errors == 0);
    test_cond("ended once", r.ended == 1);
    const char *first = "data: {\"id\":\"chatcmpl-msg_01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                        "\"model\":\"claude\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                        "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";
    test_cond("first chunk exactly", strncmp(r.out.data, first, strlen(first)) == 0);
    struct assembled a;
    assemble(r.out.data, true, &a);
    test_cond("every chunk well formed", a.bad == 0);
    test_cond("one usage chunk, last", a.usage_chunks == 1 && strstr(r.out.data, "\"choices\":[],\"usage\":{") &&
                                           strcmp(r.out.data + r.out.len - 4, "}}\n\n") == 0);
    test_cond("one finish_reason", a.finishes == 1);
    struct llm_usage su;
    anth_stream_usage(r.s, &su);
    test_cond("stream usage", su.prompt == 115 && su.completion == 20 && su.cached == 100);

    /* The same message answered whole. */
    struct sbuf whole;
    sbuf_init(&whole);
    struct llm_usage u;
    char why[128];
    test_cond("whole", anth_response(tool_response, strlen(tool_response), "claude", 1700000000, &whole, &u, why,
                                     sizeof why) == 0);
    cJSON *w = cJSON_Parse(whole.data);
    cJSON *wch = cJSON_GetArrayItem(get(w, "choices"), 0), *wmsg = get(wch, "message");
    test_streq("same id", a.id, cJSON_GetStringValue(get(w, "id")));
    test_streq("same content", a.content.data, cJSON_GetStringValue(get(wmsg, "content")));
    test_streq("same finish_reason", a.finish, cJSON_GetStringValue(get(wch, "finish_reason")));
    cJSON *wtc = get(wmsg, "tool_calls");
    test_cond("same number of tool calls", a.ntools == cJSON_GetArraySize(wtc) && a.ntools == 2);
    for (int k = 0; k < a.ntools && k < 2; k++) {
        cJSON *t = cJSON_GetArrayItem(wtc, k);
        test_streq("same tool id", a.ids[k], cJSON_GetStringValue(get(t, "id")));
        test_streq("same tool name", a.names[k], cJSON_GetStringValue(get(get(t, "function"), "name")));
        /* The stream relays the provider's text, the answer is compact: the same JSON value. */
        cJSON *sa = cJSON_Parse(a.args[k].len ? a.args[k].data : "{}");
        cJSON *wa = cJSON_Parse(cJSON_GetStringValue(get(get(t, "function"), "arguments")));
        test_cond("same arguments", sa && wa && cJSON_Compare(sa, wa, true));
        cJSON_Delete(sa);
        cJSON_Delete(wa);
    }
    char *wu = cJSON_PrintUnformatted(get(w, "usage"));
    test_streq("same usage", a.usage, wu);
    free(wu);
    cJSON_Delete(w);
    sbuf_deinit(&whole);
    assembled_free(&a);
    char extra_why[64];
    size_t before = r.out.len;
    test_cond("after the end: 1, nothing", anth_stream_event(r.s, "ping", "{}", 2, &r.out, extra_why,
                                                             sizeof extra_why) == 1 && r.out.len == before);
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);

    /* Without include_usage: no usage key, no usage chunk. */
    run_stream(anth_sse, sizeof anth_sse - 1, false, &r);
    assemble(r.out.data, false, &a);
    test_cond("no usage: well formed", a.bad == 0 && a.usage_chunks == 0 && !strstr(r.out.data, "\"usage\""));
    assembled_free(&a);
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);
}

static void test_stream_edges(void)
{
    struct relay r;
    /* An error after the 200. */
    const char err_sse[] =
        EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":7,"
                            "\"output_tokens\":1}}}")
        EV("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
                                  "\"text\",\"text\":\"Hel\"}}")
        EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")
        EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                                  "\"text_delta\",\"text\":\"lo\"}}");
    run_stream(err_sse, sizeof err_sse - 1, true, &r);
    const char *tail = "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,"
                       "\"code\":\"overloaded\"}}\n\n";
    test_cond("error event is the last output", r.out.len > strlen(tail) &&
                                                    strcmp(r.out.data + r.out.len - strlen(tail), tail) == 0);
    test_cond("start text relayed", strstr(r.out.data, "\"delta\":{\"content\":\"Hel\"}") != NULL);
    test_cond("nothing after the error", !strstr(r.out.data, "\"lo\""));
    test_cond("error ends (and later events too)", r.ended == 2 && r.errors == 0);
    struct llm_usage u;
    anth_stream_usage(r.s, &u);
    test_cond("usage so far after an error", u.prompt == 7 && u.completion == 1 && u.cached == 0);
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);

    /* No message_delta: message_stop still gives a finish_reason; no
     * event names (the data's type is used); max_tokens -> length. */
    const char bare[] = "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"
                        "data: {\"type\":\"message_stop\"}\n\n";
    run_stream(bare, sizeof bare - 1, false, &r);
    test_cond("finish stop without message_delta", strstr(r.out.data, "\"finish_reason\":\"stop\"") && r.ended == 1);
    anth_stream_usage(r.s, &u);
    test_cond("no usage told", u.prompt == -1 && u.completion == -1);
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);
    const char len_sse[] = EV("message_start", "{\"message\":{\"id\":\"m\"}}")
        EV("message_delta", "{\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":5,"
                            "\"input_tokens\":9}}")
        EV("message_delta", "{\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":6}}")
        EV("future_event", "{\"type\":\"future_event\"}")
        EV("message_stop", "{}");
    run_stream(len_sse, sizeof len_sse - 1, true, &r);
    test_cond("length, once", strstr(r.out.data, "\"finish_reason\":\"length\"") &&
                                  !strstr(r.out.data, "\"finish_reason\":\"stop\"") && r.errors == 0);
    test_cond("cumulative usage: last counts", strstr(r.out.data, "{\"prompt_tokens\":9,\"completion_tokens\":6,"
                                                                  "\"total_tokens\":15") != NULL);
    anth_stream_free(r.s);
    sbuf_deinit(&r.out);

    /* Malformed events: -1, no output, no crash. */
    static const struct {
        const char *event, *data;
    } bad[] = {
        {"message_start", "not json"},
        {"message_start", "{\"message\":5}"},
        {"content_block_delta", "{\"index\":9,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"},
        {"content_block_start", "{\"index\":-1,\"content_block\":{\"type\":\"text\"}}"},
        {"content_block_start", "{\"index\":1e12,\"content_block\":{\"type\":\"text\"}}"},
        {"content_block_start", "{\"index\":0.5,\"content_block\":{\"type\":\"text\"}}"},
        {"content_block_start", "{\"index\":0}"},
        {"content_block_delta", "{\"index\":\"0\",\"delta\":{}}"},
        {"", "[]"},
    };
    struct anth_stream *s = anth_stream_new(NULL, 0, true);
    struct sbuf out;
    sbuf_init(&out);
    char why[128];
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why[0] = '\0';
        int rc = anth_stream_event(s, bad[i].event, bad[i].data, strlen(bad[i].data), &out, why, sizeof why);
        test_cond(bad[i].data, rc == -1 && why[0] && out.len == 0);
    }
    test_cond("NULL data", anth_stream_event(s, "ping", NULL, 0, &out, why, sizeof why) == -1);
    /* A block started twice is malformed; a delta of the wrong kind is ignored. */
    const char *st = "{\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}";
    test_cond("start", anth_stream_event(s, "content_block_start", st, strlen(st), &out, why, sizeof why) == 0);
    test_cond("twice", anth_stream_event(s, "content_block_start", st, strlen(st), &out, why, sizeof why) == -1);
    const char *wrong = "{\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}";
    test_cond("wrong kind ignored", anth_stream_event(s, "content_block_delta", wrong, strlen(wrong), &out, why,
                                                      sizeof why) == 0 && out.len == 0);
    anth_stream_free(s);
    anth_stream_free(NULL);
    sbuf_deinit(&out);
}

/* Deterministic mutation of every sample through every entry point:
 * nothing may crash or leak (the fuzz targets do this at length). */
static void test_mutations(void)
{
    const char *samples[] = {conversation, tool_response, anth_sse};
    unsigned seed = 12345;
    int runs = 0;
    struct sbuf out;
    sbuf_init(&out);
    char param[64], why[64];
    relay_quiet = true;
    for (size_t si = 0; si < ARRAY_LEN(samples); si++) {
        size_t len = strlen(samples[si]);
        char *buf = xmalloc(len + 1);
        for (int iter = 0; iter < 300; iter++) {
            memcpy(buf, samples[si], len + 1);
            for (int k = 0; k < 1 + iter % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                static const char pool[] = "{}[]\":,0-9ae\\ nul";
                buf[at] = pool[(seed >> 20) % (sizeof pool - 1)];
            }
            cJSON *j = cJSON_Parse(buf);
            sbuf_reset(&out);
            if (anth_request(j, "m", 10, &out, param, sizeof param, why, sizeof why) == 0)
                test_cond("request output parses", cJSON_Delete_(cJSON_Parse(out.data)));
            cJSON_Delete(j);
            struct llm_usage u;
            sbuf_reset(&out);
            if (anth_response(buf, len, "m", 1, &out, &u, why, sizeof why) == 0)
                test_cond("response output parses", cJSON_Delete_(cJSON_Parse(out.data)));
            sbuf_reset(&out);
            int st;
            anth_error(529, buf, len, &out, &st);
            test_cond("error output parses", cJSON_Delete_(cJSON_Parse(out.data)));
            struct relay r;
            run_stream(buf, len, iter % 2 == 0, &r);
            anth_stream_free(r.s);
            sbuf_deinit(&r.out);
            runs++;
        }
        free(buf);
    }
    sbuf_deinit(&out);
    test_cond("mutations ran", runs == 900);
}

int main(void)
{
    test_stream();
    test_stream_edges();
    test_mutations();
    test_report();
}
