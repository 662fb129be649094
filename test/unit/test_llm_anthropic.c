/* OpenAI chat completions <-> Anthropic Messages: every request mapping,
 * responses, finish reasons, usage with cache tokens, errors, the stream
 * state machine, round trips (a tool call survives OpenAI -> Anthropic ->
 * OpenAI; a streamed tool call assembles into the non-streamed answer)
 * and malformed input. */
#include <cJSON.h>
#include <stdlib.h>

#include "../testhelp.h"
#include "llm_anthropic.h"
#include "sse.h"

/* Compares the compact JSON of item with want. */
#define test_json(descr, item, want)                                                                               \
    do {                                                                                                           \
        char *pj_ = (item) ? cJSON_PrintUnformatted(item) : NULL;                                                  \
        test_streq(descr, pj_, want);                                                                              \
        free(pj_);                                                                                                 \
    } while (0)

/* True when j was parsed (and frees it): counts assertions compactly. */
static bool cJSON_Delete_(cJSON *j)
{
    bool ok = j != NULL;
    cJSON_Delete(j);
    return ok;
}

static cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *strv(const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : "";
}

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

static const char conversation[] =
    "{\"model\":\"claude\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use tools.\"}]},"
    "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\",\"name\":\"bob\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Celsius.\"}]},"
    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":"
    "\\\"Paris\\\"}\"}},"
    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\" {\\\"city\\\": "
    "\\\"Rome\\\", \\\"n\\\": [1, 2.5]} \"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":\"21C\"}]},"
    "{\"role\":\"user\",\"content\":\"Thanks!\"},"
    "{\"role\":\"assistant\",\"content\":\"\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"You're\"},{\"type\":\"refusal\",\"refusal\":\" "
    "welcome.\"}]}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather now\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"noargs\"}}],"
    "\"tool_choice\":\"required\",\"parallel_tool_calls\":false,\"max_completion_tokens\":100,\"max_tokens\":5,"
    "\"stop\":\"END\",\"temperature\":0.25,\"top_p\":0.5,\"stream\":true,\"user\":\"u1\",\"n\":1,"
    "\"stream_options\":{\"include_usage\":true},\"logit_bias\":{},\"seed\":3}";

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

static const char tool_response[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"x\"},"
    "{\"type\":\"text\",\"text\":\"Let me \"},{\"type\":\"text\",\"text\":\"check.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\",\"units\":"
    "{\"c\":true}}},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"noargs\",\"input\":{}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"
    "\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100,\"output_tokens\":20}}";

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
    test_request();
    test_request_fields();
    test_request_refusals();
    test_response();
    test_errors();
    test_stream();
    test_stream_edges();
    test_mutations();
    test_report();
}
