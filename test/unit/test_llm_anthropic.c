/* OpenAI chat completions <-> Anthropic Messages: every request mapping,
 * responses, finish reasons, usage with cache tokens and errors (the
 * stream and malformed input: test_llm_anthropic_stream.c). */
#include "anth_help.h"
#include "llm_anthropic.h"

/* The translated request, parsed (NULL on failure, param and why set). */
static cJSON *xlate(const char *openai, long long dflt, char *param, char *why)
{
    cJSON *body = cJSON_Parse(openai);
    struct sbuf out;
    sbuf_init(&out);
    param[0] = why[0] = '\0';
    int rc = anth_request(body, "claude-up", dflt, &out, param, 128, why, 256);
    cJSON_Delete(body);
    cJSON *r = rc == 0 ? cJSON_Parse(out.data) : NULL;
    if (rc == 0 && !r)
        printf("  unparsable output: %s\n", out.data);
    sbuf_deinit(&out);
    return r;
}

/* The request fails naming want_param. */
static bool refused(const char *openai, const char *want_param)
{
    char param[128], why[256];
    cJSON *r = xlate(openai, 100, param, why);
    bool ok = !r && strcmp(param, want_param) == 0 && why[0];
    if (!ok)
        printf("  %s: param '%s' (want '%s'), why '%s'\n", openai, param, want_param, why);
    cJSON_Delete(r);
    return ok;
}

static void test_request(void)
{
    char param[128], why[256];
    cJSON *r = xlate(conversation, 777, param, why);
    test_cond("conversation translates", r != NULL);
    if (!r) {
        printf("  param %s: %s\n", param, why);
        return;
    }
    test_json("model", get(r, "model"), "\"claude-up\"");
    test_json("system hoisted (system + developer as text blocks)", get(r, "system"),
              "[{\"type\":\"text\",\"text\":\"Be brief.\"},{\"type\":\"text\",\"text\":\"Use tools.\"}]");
    cJSON *msgs = get(r, "messages");
    test_cond("three alternating turns", cJSON_GetArraySize(msgs) == 4);
    test_json("user turns merged, name dropped", cJSON_GetArrayItem(msgs, 0),
              "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris and Rome?\"},"
              "{\"type\":\"text\",\"text\":\"Celsius.\"}]}");
    test_json("assistant text and tool_use", cJSON_GetArrayItem(msgs, 1),
              "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
              "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
              "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"get_weather\",\"input\":{\"city\":\"Rome\","
              "\"n\":[1,2.5]}}]}");
    test_json("tool results merged with the next user turn", cJSON_GetArrayItem(msgs, 2),
              "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":"
              "\"18C\"},{\"type\":\"tool_result\",\"tool_use_id\":\"call_2\",\"content\":[{\"type\":\"text\","
              "\"text\":\"21C\"}]},{\"type\":\"text\",\"text\":\"Thanks!\"}]}");
    test_json("empty assistant dropped, refusal kept as text", cJSON_GetArrayItem(msgs, 3),
              "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"You're\"},{\"type\":\"text\","
              "\"text\":\" welcome.\"}]}");
    test_json("max_completion_tokens wins", get(r, "max_tokens"), "100");
    test_json("stop -> stop_sequences", get(r, "stop_sequences"), "[\"END\"]");
    test_json("temperature", get(r, "temperature"), "0.25");
    test_json("top_p", get(r, "top_p"), "0.5");
    test_json("stream", get(r, "stream"), "true");
    test_json("user -> metadata.user_id", get(r, "metadata"), "{\"user_id\":\"u1\"}");
    test_json("tools", get(r, "tools"),
              "[{\"name\":\"get_weather\",\"description\":\"Weather now\",\"input_schema\":{\"type\":\"object\","
              "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}},"
              "{\"name\":\"noargs\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]");
    test_json("required -> any, parallel false -> disable_parallel_tool_use", get(r, "tool_choice"),
              "{\"type\":\"any\",\"disable_parallel_tool_use\":true}");
    test_cond("OpenAI-only fields dropped", !get(r, "n") && !get(r, "stream_options") && !get(r, "logit_bias") &&
                                                !get(r, "seed") && !get(r, "stop") && !get(r, "user"));
    cJSON_Delete(r);
}

static void test_request_fields(void)
{
    char param[128], why[256];
    cJSON *r = xlate("{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"hi\"}],"
                     "\"max_tokens\":42,\"stop\":[\"a\",\"b\"],\"stream\":false}",
                     777, param, why);
    test_json("one system message is a string", get(r, "system"), "\"S\"");
    test_json("max_tokens", get(r, "max_tokens"), "42");
    test_json("stop array", get(r, "stop_sequences"), "[\"a\",\"b\"]");
    test_cond("stream false left out", !get(r, "stream"));
    test_json("user content as blocks", get(cJSON_GetArrayItem(get(r, "messages"), 0), "content"),
              "[{\"type\":\"text\",\"text\":\"hi\"}]");
    cJSON_Delete(r);

    r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":null,\"stop\":null}", 777,
              param, why);
    test_json("default max_tokens", get(r, "max_tokens"), "777");
    test_cond("no system, no stop", !get(r, "system") && !get(r, "stop_sequences"));
    cJSON_Delete(r);
    r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, param, why);
    test_json("fallback max_tokens", get(r, "max_tokens"), "4096");
    cJSON_Delete(r);

    r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},"
              "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}},"
              "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.example/cat.jpg\"}}]}]}",
              0, param, why);
    test_json("images", get(cJSON_GetArrayItem(get(r, "messages"), 0), "content"),
              "[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
              "\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},{\"type\":\"image\",\"source\":{\"type\":"
              "\"url\",\"url\":\"https://img.example/cat.jpg\"}}]");
    cJSON_Delete(r);

    r = xlate("{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"long\","
              "\"cache_control\":{\"type\":\"ephemeral\"}}]},{\"role\":\"user\",\"content\":\"hi\"}]}",
              0, param, why);
    test_json("cache_control kept (system as blocks)", get(r, "system"),
              "[{\"type\":\"text\",\"text\":\"long\",\"cache_control\":{\"type\":\"ephemeral\"}}]");
    cJSON_Delete(r);

    static const struct {
        const char *choice, *want;
    } choices[] = {
        {"\"auto\"", "{\"type\":\"auto\"}"},
        {"\"none\"", "{\"type\":\"none\"}"},
        {"\"required\"", "{\"type\":\"any\"}"},
        {"{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "{\"type\":\"tool\",\"name\":\"f\"}"},
    };
    for (size_t i = 0; i < ARRAY_LEN(choices); i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\","
                 "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":%s}",
                 choices[i].choice);
        r = xlate(body, 0, param, why);
        test_json(choices[i].choice, get(r, "tool_choice"), choices[i].want);
        cJSON_Delete(r);
    }
    const char *tools = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\","
                        "\"function\":{\"name\":\"f\"}}],";
    char body[512];
    snprintf(body, sizeof body, "%s\"parallel_tool_calls\":false}", tools);
    r = xlate(body, 0, param, why);
    test_json("parallel false alone", get(r, "tool_choice"), "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}");
    cJSON_Delete(r);
    snprintf(body, sizeof body, "%s\"parallel_tool_calls\":false,\"tool_choice\":\"none\"}", tools);
    r = xlate(body, 0, param, why);
    test_json("none takes no disable flag", get(r, "tool_choice"), "{\"type\":\"none\"}");
    cJSON_Delete(r);
    snprintf(body, sizeof body, "%s\"parallel_tool_calls\":true}", tools);
    r = xlate(body, 0, param, why);
    test_cond("parallel true: no tool_choice", r && !get(r, "tool_choice"));
    cJSON_Delete(r);
    r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"auto\","
              "\"parallel_tool_calls\":false}",
              0, param, why);
    test_cond("tool_choice without tools dropped", r && !get(r, "tool_choice") && !get(r, "tools"));
    cJSON_Delete(r);
    r = xlate("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
              "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},{\"role\":\"user\",\"content\":\"x\"}]}",
              0, param, why);
    test_json("empty arguments are {}", get(cJSON_GetArrayItem(get(cJSON_GetArrayItem(get(r, "messages"), 0),
                                                                   "content"), 0), "input"), "{}");
    cJSON_Delete(r);
}

static void test_request_refusals(void)
{
    const char *u = "{\"role\":\"user\",\"content\":\"hi\"}";
    char b[1024];
    snprintf(b, sizeof b, "{\"messages\":[%s],\"n\":2}", u);
    test_cond("n > 1", refused(b, "n"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"n\":\"1\"}", u);
    test_cond("n not a number", refused(b, "n"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"response_format\":{\"type\":\"json_object\"}}", u);
    test_cond("response_format json_object refused, named", refused(b, "response_format"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}}", u);
    test_cond("response_format json_schema refused, named", refused(b, "response_format"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"logprobs\":true}", u);
    test_cond("logprobs true refused, named", refused(b, "logprobs"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"top_logprobs\":3}", u);
    test_cond("top_logprobs refused, named", refused(b, "top_logprobs"));
    {
        char param[128], why[256];
        cJSON *r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":"
                         "{\"type\":\"json_object\"}}", 100, param, why);
        test_cond("  says the adapter does not support it", !r && strstr(why, "not supported by the anthropic adapter"));
        r = xlate("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"text\"},"
                  "\"logprobs\":false,\"top_logprobs\":null}", 100, param, why);
        test_cond("response_format text and logprobs false are fine", r && !get(r, "response_format") &&
                                                                          !get(r, "logprobs"));
        cJSON_Delete(r);
    }
    test_cond("no messages", refused("{}", "messages"));
    test_cond("empty messages", refused("{\"messages\":[]}", "messages"));
    test_cond("only system", refused("{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", "messages"));
    test_cond("message not an object", refused("{\"messages\":[1]}", "messages[0]"));
    test_cond("no role", refused("{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role"));
    test_cond("function role", refused("{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", "messages[0].role"));
    test_cond("audio part", refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                                    "{\"type\":\"input_audio\",\"input_audio\":{}}]}]}",
                                    "messages[0].content[1].type"));
    test_cond("image in system", refused("{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\","
                                         "\"image_url\":{\"url\":\"https://x/y.png\"}}]},{\"role\":\"user\",\"content\":\"x\"}]}",
                                         "messages[0].content[0].type"));
    test_cond("content a number", refused("{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content"));
    test_cond("text part without text",
              refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content[0].text"));
    test_cond("ftp image", refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                                   "\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
                                   "messages[0].content[0].image_url.url"));
    test_cond("data URL without base64", refused("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                                                 "\"image_url\":{\"url\":\"data:image/png,abc\"}}]}]}",
                                                 "messages[0].content[0].image_url.url"));
    snprintf(b, sizeof b,
             "{\"messages\":[%s,{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
             "\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]}]}",
             u);
    test_cond("unparsable arguments", refused(b, "messages[1].tool_calls[0].function.arguments"));
    snprintf(b, sizeof b,
             "{\"messages\":[%s,{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
             "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
             u);
    test_cond("arguments not an object", refused(b, "messages[1].tool_calls[0].function.arguments"));
    snprintf(b, sizeof b,
             "{\"messages\":[%s,{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
             "\"function\":{\"name\":\"f\",\"arguments\":\"{} x\"}}]}]}",
             u);
    test_cond("arguments with trailing junk", refused(b, "messages[1].tool_calls[0].function.arguments"));
    snprintf(b, sizeof b, "{\"messages\":[%s,{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\","
                          "\"function\":{\"name\":\"f\"}}]}]}", u);
    test_cond("tool call without id", refused(b, "messages[1].tool_calls[0].id"));
    snprintf(b, sizeof b, "{\"messages\":[%s,{\"role\":\"tool\",\"content\":\"r\"}]}", u);
    test_cond("tool without tool_call_id", refused(b, "messages[1].tool_call_id"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"max_tokens\":0}", u);
    test_cond("max_tokens 0", refused(b, "max_tokens"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"max_completion_tokens\":1.5}", u);
    test_cond("max_completion_tokens fraction", refused(b, "max_completion_tokens"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"max_tokens\":1e300}", u);
    test_cond("max_tokens huge", refused(b, "max_tokens"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"stop\":5}", u);
    test_cond("stop a number", refused(b, "stop"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"stop\":[\"a\",1]}", u);
    test_cond("stop array with a number", refused(b, "stop"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"temperature\":\"hot\"}", u);
    test_cond("temperature a string", refused(b, "temperature"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"tools\":[{\"type\":\"web_search\"}]}", u);
    test_cond("non-function tool", refused(b, "tools[0].type"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"tools\":[{\"type\":\"function\",\"function\":{}}]}", u);
    test_cond("tool without name", refused(b, "tools[0].function.name"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                          "\"tool_choice\":\"sometimes\"}", u);
    test_cond("bad tool_choice", refused(b, "tool_choice"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"parallel_tool_calls\":\"no\"}", u);
    test_cond("parallel_tool_calls not bool", refused(b, "parallel_tool_calls"));
    snprintf(b, sizeof b, "{\"messages\":[%s],\"stream\":1}", u);
    test_cond("stream not bool", refused(b, "stream"));

    struct sbuf out;
    sbuf_init(&out);
    char param[64], why[64];
    cJSON *arr = cJSON_Parse("[1]");
    test_cond("not an object", anth_request(arr, "m", 1, &out, param, sizeof param, why, sizeof why) < 0);
    test_cond("NULL body", anth_request(NULL, "m", 1, &out, param, sizeof param, why, sizeof why) < 0);
    test_cond("out untouched", out.len == 0);
    cJSON_Delete(arr);
    sbuf_deinit(&out);
}

static void test_response(void)
{
    struct sbuf out;
    sbuf_init(&out);
    struct llm_usage u;
    char why[128];
    test_cond("response", anth_response(tool_response, strlen(tool_response), "claude", 1700000000, &out, &u, why,
                                        sizeof why) == 0);
    cJSON *r = cJSON_Parse(out.data);
    test_cond("valid JSON", r != NULL);
    test_json("id", get(r, "id"), "\"chatcmpl-msg_01\"");
    test_json("object", get(r, "object"), "\"chat.completion\"");
    test_json("created", get(r, "created"), "1700000000");
    test_json("model is the client's", get(r, "model"), "\"claude\"");
    cJSON *ch = cJSON_GetArrayItem(get(r, "choices"), 0);
    test_json("finish_reason tool_calls", get(ch, "finish_reason"), "\"tool_calls\"");
    cJSON *msg = get(ch, "message");
    test_json("text joined, thinking skipped", get(msg, "content"), "\"Let me check.\"");
    test_json("tool_calls", get(msg, "tool_calls"),
              "[{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
              "\"{\\\"city\\\":\\\"Paris\\\",\\\"units\\\":{\\\"c\\\":true}}\"}},{\"id\":\"toolu_2\",\"type\":"
              "\"function\",\"function\":{\"name\":\"noargs\",\"arguments\":\"{}\"}}]");
    test_json("usage with cache tokens", get(r, "usage"),
              "{\"prompt_tokens\":115,\"completion_tokens\":20,\"total_tokens\":135,\"prompt_tokens_details\":"
              "{\"cached_tokens\":100}}");
    test_cond("usage out", u.prompt == 115 && u.completion == 20 && u.cached == 100 && u.reasoning == -1);
    cJSON_Delete(r);

    /* Round trip: the answer's tool calls, sent back as history, become
     * the same tool_use blocks. */
    cJSON *req = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}]}");
    cJSON *back = cJSON_Parse(out.data);
    cJSON *amsg = cJSON_DetachItemFromObject(cJSON_GetArrayItem(get(back, "choices"), 0), "message");
    cJSON_AddItemToArray(get(req, "messages"), amsg);
    cJSON *tool = cJSON_Parse("{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"18C\"}");
    cJSON_AddItemToArray(get(req, "messages"), tool);
    cJSON_Delete(back);
    struct sbuf areq;
    sbuf_init(&areq);
    char param[64];
    test_cond("round trip request", anth_request(req, "m", 10, &areq, param, sizeof param, why, sizeof why) == 0);
    cJSON *ar = cJSON_Parse(areq.data), *orig = cJSON_Parse(tool_response);
    cJSON *acontent = get(cJSON_GetArrayItem(get(ar, "messages"), 1), "content");
    cJSON *ocontent = get(orig, "content");
    test_json("round trip text", cJSON_GetArrayItem(acontent, 0), "{\"type\":\"text\",\"text\":\"Let me check.\"}");
    test_cond("round trip tool_use 1", cJSON_Compare(cJSON_GetArrayItem(acontent, 1), cJSON_GetArrayItem(ocontent, 3), true));
    test_cond("round trip tool_use 2", cJSON_Compare(cJSON_GetArrayItem(acontent, 2), cJSON_GetArrayItem(ocontent, 4), true));
    test_json("round trip tool_result", get(cJSON_GetArrayItem(get(ar, "messages"), 2), "content"),
              "[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"18C\"}]");
    cJSON_Delete(ar);
    cJSON_Delete(orig);
    cJSON_Delete(req);
    sbuf_deinit(&areq);

    /* Every stop_reason. */
    static const struct {
        const char *anthropic, *openai;
    } reasons[] = {{"end_turn", "stop"},         {"stop_sequence", "stop"},
                   {"pause_turn", "stop"},       {"max_tokens", "length"},
                   {"model_context_window_exceeded", "length"},
                   {"tool_use", "tool_calls"},   {"refusal", "content_filter"},
                   {"something_new", "stop"}};
    for (size_t i = 0; i < ARRAY_LEN(reasons); i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
                 "\"stop_reason\":\"%s\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
                 reasons[i].anthropic);
        sbuf_reset(&out);
        test_cond("reason response", anth_response(body, strlen(body), "m", 1, &out, &u, why, sizeof why) == 0);
        char want[64];
        snprintf(want, sizeof want, "\"finish_reason\":\"%s\"", reasons[i].openai);
        test_cond(reasons[i].anthropic, strstr(out.data, want) != NULL);
        test_streq("anth_finish_reason", anth_finish_reason(reasons[i].anthropic), reasons[i].openai);
    }
    test_streq("NULL reason", anth_finish_reason(NULL), "stop");

    sbuf_reset(&out);
    const char *plain = "{\"id\":\"m\",\"type\":\"message\",\"content\":[],\"stop_reason\":null}";
    test_cond("no content", anth_response(plain, strlen(plain), NULL, 1, &out, &u, why, sizeof why) == 0);
    test_cond("null content, no tool_calls", strstr(out.data, "\"content\":null") && !strstr(out.data, "tool_calls"));
    test_cond("unknown usage", u.prompt == -1 && u.completion == -1 && strstr(out.data, "\"total_tokens\":0"));
    static const char *const bad[] = {"", "nope", "[]", "{}", "{\"type\":\"error\",\"content\":[]}",
                                      "{\"type\":\"message\",\"content\":{}}", "{\"content\":\"x\"}"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        sbuf_reset(&out);
        test_cond("not a Messages response", anth_response(bad[i], strlen(bad[i]), "m", 1, &out, &u, why,
                                                           sizeof why) < 0 && why[0]);
    }
    const char *odd = "{\"type\":\"message\",\"content\":[1,{\"type\":\"tool_use\"},{\"type\":\"text\",\"text\":5}],"
                      "\"usage\":{\"input_tokens\":-5,\"output_tokens\":1e300,\"cache_read_input_tokens\":\"x\"}}";
    sbuf_reset(&out);
    test_cond("odd blocks survive", anth_response(odd, strlen(odd), "m", 1, &out, &u, why, sizeof why) == 0 &&
                                        cJSON_IsObject(r = cJSON_Parse(out.data)));
    cJSON_Delete(r);
    test_cond("odd counts ignored", u.prompt == -1 && u.completion == -1);
    sbuf_deinit(&out);
}

static void test_errors(void)
{
    static const struct {
        int status;
        const char *body;
        int want_status;
        const char *want;
    } cases[] = {
        {529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", 503,
         "{\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}"},
        {429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}", 429,
         "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":"
         "\"rate_limit_exceeded\"}}"},
        {400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}", 400,
         "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"},
        {401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"key\"}}", 401,
         "{\"error\":{\"message\":\"key\",\"type\":\"authentication_error\",\"param\":null,\"code\":null}}"},
        {403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"no\"}}", 403,
         "{\"error\":{\"message\":\"no\",\"type\":\"permission_error\",\"param\":null,\"code\":null}}"},
        {404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"nf\"}}", 404,
         "{\"error\":{\"message\":\"nf\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}"},
        {500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"oops\"}}", 500,
         "{\"error\":{\"message\":\"oops\",\"type\":\"api_error\",\"param\":null,\"code\":null}}"},
        {402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\",\"message\":\"pay\"}}", 402,
         "{\"error\":{\"message\":\"pay\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":"
         "\"insufficient_quota\"}}"},
        {413, "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"big\"}}", 413,
         "{\"error\":{\"message\":\"big\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
         "\"request_too_large\"}}"},
        {502, "<html>bad gateway</html>", 502,
         "{\"error\":{\"message\":\"the provider answered HTTP 502 without a readable error\",\"type\":"
         "\"server_error\",\"param\":null,\"code\":null}}"},
        {529, "", 503,
         "{\"error\":{\"message\":\"the provider answered HTTP 529 without a readable error\",\"type\":"
         "\"server_error\",\"param\":null,\"code\":\"overloaded\"}}"},
        {429, "{\"error\":{\"type\":5}}", 429,
         "{\"error\":{\"message\":\"the provider answered HTTP 429 without a readable error\",\"type\":"
         "\"rate_limit_error\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}"},
        {418, "null", 418,
         "{\"error\":{\"message\":\"the provider answered HTTP 418 without a readable error\",\"type\":"
         "\"invalid_request_error\",\"param\":null,\"code\":null}}"},
        {0, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"o\"}}", 503,
         "{\"error\":{\"message\":\"o\",\"type\":\"server_error\",\"param\":null,\"code\":\"overloaded\"}}"},
    };
    struct sbuf out;
    sbuf_init(&out);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        sbuf_reset(&out);
        int st = -1;
        anth_error(cases[i].status, cases[i].body, strlen(cases[i].body), &out, &st);
        char d[64];
        snprintf(d, sizeof d, "error case %zu status", i);
        test_cond(d, st == cases[i].want_status);
        snprintf(d, sizeof d, "error case %zu body", i);
        test_streq(d, out.data, cases[i].want);
    }
    sbuf_reset(&out);
    anth_error(500, NULL, 0, &out, NULL);
    test_cond("NULL body, NULL status_out", strstr(out.data, "HTTP 500") != NULL);
    sbuf_deinit(&out);
}

int main(void)
{
    test_request();
    test_request_fields();
    test_request_refusals();
    test_response();
    test_errors();
    test_report();
}
