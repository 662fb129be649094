/* Anthropic Messages <-> OpenAI chat completions for /v1/messages: the
 * checks naming the field, every request mapping (system, blocks, images,
 * tool use and results, tools, tool_choice, stop, sampling, user, stream),
 * answers (text, tool_use with parsed input, stop reasons, usage), errors
 * in Anthropic's shape, and round trips through the other direction's
 * translator (llm_anthropic: OpenAI -> Anthropic). The streams:
 * test_llm_msgs_stream.c. */
#include "llm_anthropic.h"
#include "llm_msgs_req.h"
#include "llm_msgs_stream.h" /* msgs_error_event */
#include "msgs_help.h"

/* The chat request for a Messages body, parsed (NULL on failure). */
static cJSON *to_chat(const char *anth, char *param, char *why)
{
    cJSON *body = cJSON_Parse(anth);
    struct sbuf out;
    sbuf_init(&out);
    param[0] = why[0] = '\0';
    int rc = msgs_to_chat(body, "gpt-up", &out, param, 128, why, 256);
    cJSON_Delete(body);
    cJSON *r = rc == 0 ? cJSON_Parse(out.data) : NULL;
    sbuf_deinit(&out);
    return r;
}

/* The body is refused naming want_param (by the check and the translator). */
static bool refused(const char *anth, const char *want_param)
{
    char param[128], why[256];
    cJSON *r = to_chat(anth, param, why);
    bool ok = !r && strcmp(param, want_param) == 0 && why[0];
    if (!ok)
        printf("  refused(%s): param '%s' why '%s'\n", want_param, param, why);
    cJSON_Delete(r);
    return ok;
}

#define HI "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void test_checks(void)
{
    test_cond("max_tokens required", refused("{\"model\":\"m\"," HI "}", "max_tokens"));
    test_cond("max_tokens 0", refused("{\"max_tokens\":0," HI "}", "max_tokens"));
    test_cond("max_tokens 1.5", refused("{\"max_tokens\":1.5," HI "}", "max_tokens"));
    test_cond("max_tokens a string", refused("{\"max_tokens\":\"5\"," HI "}", "max_tokens"));
    test_cond("messages required", refused("{\"max_tokens\":5}", "messages"));
    test_cond("messages empty", refused("{\"max_tokens\":5,\"messages\":[]}", "messages"));
    test_cond("message not an object", refused("{\"max_tokens\":5,\"messages\":[1]}", "messages.0"));
    test_cond("role system", refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
                                     "messages.0.role"));
    test_cond("content missing", refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\"}]}", "messages.0.content"));
    test_cond("block without type",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{}]}]}", "messages.0.content.0.type"));
    test_cond("text block without text",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                      "messages.0.content.0.text"));
    test_cond("image without source",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]}",
                      "messages.0.content.0.source"));
    test_cond("image source type",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":"
                      "{\"type\":\"ftp\"}}]}]}",
                      "messages.0.content.0.source.type"));
    test_cond("image in an assistant turn",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"image\",\"source\":"
                      "{\"type\":\"url\",\"url\":\"https://x\"}}]}]}",
                      "messages.0.content.0.type"));
    test_cond("tool_use input not an object",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                      "\"t\",\"name\":\"n\",\"input\":[]}]}]}",
                      "messages.0.content.0.input"));
    test_cond("tool_result without tool_use_id",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}]}",
                      "messages.0.content.0.tool_use_id"));
    test_cond("tool_result inner block",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                      "\"tool_use_id\":\"t\",\"content\":[{\"type\":\"text\"}]}]}]}",
                      "messages.0.content.0.content.0.text"));
    test_cond("system a number", refused("{\"max_tokens\":5,\"system\":5," HI "}", "system"));
    test_cond("system block not text",
              refused("{\"max_tokens\":5,\"system\":[{\"type\":\"image\"}]," HI "}", "system.0.type"));
    test_cond("stream a string", refused("{\"max_tokens\":5,\"stream\":\"yes\"," HI "}", "stream"));
    test_cond("temperature a string", refused("{\"max_tokens\":5,\"temperature\":\"hot\"," HI "}", "temperature"));
    test_cond("stop_sequences item", refused("{\"max_tokens\":5,\"stop_sequences\":[\"a\",1]," HI "}", "stop_sequences.1"));
    test_cond("metadata.user_id", refused("{\"max_tokens\":5,\"metadata\":{\"user_id\":5}," HI "}", "metadata.user_id"));
    test_cond("tools not an array", refused("{\"max_tokens\":5,\"tools\":{}," HI "}", "tools"));
    test_cond("tool without name", refused("{\"max_tokens\":5,\"tools\":[{\"input_schema\":{}}]," HI "}", "tools.0.name"));
    test_cond("tool without schema", refused("{\"max_tokens\":5,\"tools\":[{\"name\":\"t\"}]," HI "}", "tools.0.input_schema"));
    test_cond("tool_choice a string", refused("{\"max_tokens\":5,\"tool_choice\":\"auto\"," HI "}", "tool_choice"));
    test_cond("tool_choice type", refused("{\"max_tokens\":5,\"tool_choice\":{\"type\":\"x\"}," HI "}", "tool_choice.type"));
    test_cond("tool_choice tool without name",
              refused("{\"max_tokens\":5,\"tool_choice\":{\"type\":\"tool\"}," HI "}", "tool_choice.name"));
    /* what the check lets through for an anthropic provider, the
     * translation refuses for an openai one */
    char param[128], why[256];
    cJSON *b = cJSON_Parse("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\","
                           "\"source\":{\"type\":\"text\",\"data\":\"x\"}}]}]}");
    test_cond("document: checked ok (passthrough)", msgs_check(b, param, sizeof param, why, sizeof why) == 0);
    cJSON_Delete(b);
    test_cond("document: not translatable",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\","
                      "\"source\":{\"type\":\"text\",\"data\":\"x\"}}]}]}",
                      "messages.0.content.0.type"));
    test_cond("server tool: not translatable",
              refused("{\"max_tokens\":5,\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]," HI "}",
                      "tools.0.type"));
    test_cond("image file source: not translatable",
              refused("{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":"
                      "{\"type\":\"file\",\"file_id\":\"f\"}}]}]}",
                      "messages.0.content.0.source.type"));
}

static void test_request(void)
{
    char param[128], why[256];
    cJSON *r = to_chat("{\"model\":\"claude\",\"max_tokens\":100,\"system\":\"Be brief.\",\"temperature\":0.5,"
                       "\"top_p\":0.9,\"top_k\":5,\"stop_sequences\":[\"END\"],\"metadata\":{\"user_id\":\"u7\"}," HI "}",
                       param, why);
    test_json("simple", r,
              "{\"model\":\"gpt-up\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
              "\"content\":\"hi\"}],\"max_tokens\":100,\"temperature\":0.5,\"top_p\":0.9,\"stop\":[\"END\"],\"user\":"
              "\"u7\"}");
    cJSON_Delete(r);

    r = to_chat("{\"max_tokens\":10,\"stream\":true,\"system\":[{\"type\":\"text\",\"text\":\"A\"},{\"type\":\"text\","
                "\"text\":\"B\",\"cache_control\":{\"type\":\"ephemeral\"}}]," HI "}",
                param, why);
    test_json("system blocks joined", get(r, "messages")->child, "{\"role\":\"system\",\"content\":\"A\\n\\nB\"}");
    test_cond("stream", cJSON_IsTrue(get(r, "stream")));
    test_json("stream_options", get(r, "stream_options"), "{\"include_usage\":true}");
    cJSON_Delete(r);

    r = to_chat("{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
                "\"base64\",\"media_type\":\"image/png\",\"data\":\"QUJD\"}},{\"type\":\"image\",\"source\":{\"type\":"
                "\"url\",\"url\":\"https://x/y.png\"}},{\"type\":\"text\",\"text\":\"what?\",\"cache_control\":{}}]}]}",
                param, why);
    test_json("images", get(get(r, "messages")->child, "content"),
              "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,QUJD\"}},{\"type\":\"image_url\","
              "\"image_url\":{\"url\":\"https://x/y.png\"}},{\"type\":\"text\",\"text\":\"what?\"}]");
    cJSON_Delete(r);

    r = to_chat("{\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                "{\"type\":\"text\",\"text\":\"b\"}]}]}",
                param, why);
    test_json("text blocks: one string", get(r, "messages")->child, "{\"role\":\"user\",\"content\":\"ab\"}");
    cJSON_Delete(r);

    /* a tool round: assistant text + tool_use (thinking dropped), then the
     * results first as role:tool messages, then the user's text */
    r = to_chat("{\"max_tokens\":10,\"messages\":[" "{\"role\":\"user\",\"content\":\"weather?\"},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\",\"signature\":\"s\"},"
                "{\"type\":\"text\",\"text\":\"Checking.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"w\","
                "\"input\":{\"city\":\"Paris\"}},{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"w\",\"input\":{}}]},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"sunny\"},"
                "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"is_error\":true,\"content\":[{\"type\":\"text\","
                "\"text\":\"no\"},{\"type\":\"text\",\"text\":\"city\"}]},{\"type\":\"text\",\"text\":\"thanks\"}]}]}",
                param, why);
    test_json("tool round", get(r, "messages"),
              "[{\"role\":\"user\",\"content\":\"weather?\"},{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":"
              "[{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
              "{\"id\":\"toolu_2\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"sunny\"},{\"role\":\"tool\",\"tool_call_id\":"
              "\"toolu_2\",\"content\":\"Error: no\\ncity\"},{\"role\":\"user\",\"content\":\"thanks\"}]");
    cJSON_Delete(r);

    r = to_chat("{\"max_tokens\":10,\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t\","
                "\"name\":\"n\",\"input\":{}}]}]}",
                param, why);
    test_json("tool calls only: content null", get(get(r, "messages")->child, "content"), "null");
    cJSON_Delete(r);

    static const struct {
        const char *choice, *want, *par;
    } choices[] = {
        {"{\"type\":\"auto\"}", "\"auto\"", NULL},
        {"{\"type\":\"any\"}", "\"required\"", NULL},
        {"{\"type\":\"none\",\"disable_parallel_tool_use\":true}", "\"none\"", NULL},
        {"{\"type\":\"tool\",\"name\":\"w\",\"disable_parallel_tool_use\":true}",
         "{\"type\":\"function\",\"function\":{\"name\":\"w\"}}", "false"},
    };
    for (size_t i = 0; i < ARRAY_LEN(choices); i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"max_tokens\":10,\"tools\":[{\"name\":\"w\",\"description\":\"d\",\"input_schema\":{\"type\":"
                 "\"object\"}}],\"tool_choice\":%s," HI "}",
                 choices[i].choice);
        r = to_chat(body, param, why);
        test_json("tool_choice", get(r, "tool_choice"), choices[i].want);
        if (choices[i].par)
            test_json("disable_parallel_tool_use", get(r, "parallel_tool_calls"), choices[i].par);
        else
            test_cond("parallel_tool_calls not set", !get(r, "parallel_tool_calls"));
        if (i == 0)
            test_json("tools", get(r, "tools"),
                      "[{\"type\":\"function\",\"function\":{\"name\":\"w\",\"description\":\"d\",\"parameters\":{\"type\":"
                      "\"object\"}}}]");
        cJSON_Delete(r);
    }
    r = to_chat("{\"max_tokens\":10,\"tool_choice\":{\"type\":\"any\"},\"tools\":[]," HI "}", param, why);
    test_cond("no tools: no tool_choice", r && !get(r, "tool_choice") && !get(r, "tools"));
    cJSON_Delete(r);
}

/* Anthropic -> OpenAI (ours) -> Anthropic (llm_anthropic): the turns and
 * tools come back the same. */
static void test_round_trip(void)
{
    const char *in = "{\"max_tokens\":64,\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                     "\"text\",\"text\":\"weather?\"}]},{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                     "\"Checking.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"w\",\"input\":{\"city\":\"Paris\"}}]},"
                     "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":"
                     "\"sunny\"}]}],\"tools\":[{\"name\":\"w\",\"description\":\"d\",\"input_schema\":{\"type\":\"object\"}}],"
                     "\"tool_choice\":{\"type\":\"tool\",\"name\":\"w\"},\"stop_sequences\":[\"X\"]}";
    char param[128], why[256];
    cJSON *chat = to_chat(in, param, why);
    struct sbuf back;
    sbuf_init(&back);
    int rc = anth_request(chat, "claude", 100, &back, param, sizeof param, why, sizeof why);
    test_cond("round trip: translated back", rc == 0);
    cJSON *b = cJSON_Parse(back.data ? back.data : ""), *orig = cJSON_Parse(in);
    test_cond("round trip: messages", cJSON_Compare(get(b, "messages"), get(orig, "messages"), true));
    test_cond("round trip: tools", cJSON_Compare(get(b, "tools"), get(orig, "tools"), true));
    test_cond("round trip: tool_choice", cJSON_Compare(get(b, "tool_choice"), get(orig, "tool_choice"), true));
    test_json("round trip: system", get(b, "system"), "\"S\"");
    test_json("round trip: stop", get(b, "stop_sequences"), "[\"X\"]");
    test_json("round trip: max_tokens", get(b, "max_tokens"), "64");
    cJSON_Delete(b);
    cJSON_Delete(orig);
    cJSON_Delete(chat);
    sbuf_deinit(&back);
}

static void test_answer(void)
{
    struct llm_usage u;
    cJSON *r = from_chat("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-up\",\"choices\":[{\"index\":0,"
                         "\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],\"usage\":"
                         "{\"prompt_tokens\":12,\"completion_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":4}}}",
                         &u);
    test_json("text answer", r,
              "{\"id\":\"msg_chatcmpl-1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"my-model\",\"content\":"
              "[{\"type\":\"text\",\"text\":\"Hello\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"
              "{\"input_tokens\":8,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4,\"output_tokens\":5}}");
    test_cond("usage (OpenAI's accounting)", u.prompt == 12 && u.completion == 5 && u.cached == 4);
    cJSON_Delete(r);

    r = from_chat("{\"id\":\"c\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
                  "\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
                  "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"not json\"}}]},"
                  "\"finish_reason\":\"tool_calls\"}]}",
                  &u);
    test_json("tool_use blocks", get(r, "content"),
              "[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"w\",\"input\":{\"city\":\"Paris\"}},{\"type\":"
              "\"tool_use\",\"id\":\"call_2\",\"name\":\"w\",\"input\":{}}]");
    test_json("tool_use stop", get(r, "stop_reason"), "\"tool_use\"");
    test_cond("no usage: -1", u.prompt == -1 && u.completion == -1);
    test_json("no usage: zeros", get(r, "usage"),
              "{\"input_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":0}");
    cJSON_Delete(r);

    static const char *const fr[][2] = {{"stop", "end_turn"},           {"length", "max_tokens"},
                                        {"tool_calls", "tool_use"},     {"function_call", "tool_use"},
                                        {"content_filter", "refusal"}, {"other", "end_turn"}};
    for (size_t i = 0; i < ARRAY_LEN(fr); i++)
        test_streq("stop reason", msgs_stop_reason(fr[i][0]), fr[i][1]);
    test_streq("stop reason NULL", msgs_stop_reason(NULL), "end_turn");
    test_cond("not a chat completion", !from_chat("{\"error\":{\"message\":\"x\"}}", &u));
    test_cond("not JSON", !from_chat("nope", &u));

    cJSON *au = cJSON_Parse("{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2,"
                            "\"output_tokens\":5}");
    msgs_anth_usage(au, &u);
    test_cond("anthropic usage: prompt = input + cache", u.prompt == 12 && u.cached == 3 && u.completion == 5);
    cJSON_Delete(au);
}

static void test_errors(void)
{
    struct sbuf b;
    sbuf_init(&b);
    const char *oe = "{\"error\":{\"message\":\"must be a number\",\"type\":\"invalid_request_error\",\"param\":"
                     "\"temperature\",\"code\":\"invalid_value\"}}";
    msgs_error_from(400, oe, strlen(oe), &b);
    test_streq("openai error: field named",
               b.data, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"temperature: must be a number\"}}");
    sbuf_reset(&b);
    const char *oe2 = "{\"error\":{\"message\":\"model is required\",\"param\":\"model\"}}";
    msgs_error_from(400, oe2, strlen(oe2), &b);
    test_streq("openai error naming its field already", b.data,
               "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"model is required\"}}");
    sbuf_reset(&b);
    const char *ae = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}";
    msgs_error_from(503, ae, strlen(ae), &b);
    test_streq("anthropic error kept", b.data, ae);
    sbuf_reset(&b);
    msgs_error_from(429, "<html>", 6, &b);
    test_streq("not JSON: by status", b.data,
               "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"the request failed\"}}");
    static const struct {
        int st;
        const char *t;
    } types[] = {{400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
                 {404, "not_found_error"},       {413, "request_too_large"},    {429, "rate_limit_error"},
                 {500, "api_error"},             {502, "api_error"},            {503, "overloaded_error"},
                 {529, "overloaded_error"}};
    for (size_t i = 0; i < ARRAY_LEN(types); i++)
        test_streq("error type", msgs_error_type(types[i].st), types[i].t);
    sbuf_reset(&b);
    msgs_error_event(&b, "api_error", "cut");
    test_streq("error event", b.data,
               "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"cut\"}}\n\n");
    sbuf_deinit(&b);
}

int main(void)
{
    test_checks();
    test_request();
    test_round_trip();
    test_answer();
    test_errors();
    test_report();
}
