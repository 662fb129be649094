/* The Responses API translation for providers that speak chat completions
 * (llm_resp_req, llm_resp_out, llm_resp_stream) and background responses
 * shown from their jobs (respjob): every request mapping (input as text,
 * messages, parts, function_call and function_call_output items,
 * instructions, tools, tool_choice, text.format, max_output_tokens), the
 * refusals naming the field, answers (text, tool calls, cut answers,
 * usage), the stream translation (text, tool calls, errors) agreeing with
 * the plain answer, and the job's Response object in every state. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "job.h"
#include "llm_resp_out.h"
#include "llm_resp_req.h"
#include "llm_resp_stream.h"
#include "respjob.h"

static cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *strv(const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : "";
}

static char param[128], why[256];

static cJSON *to_chat(const char *body)
{
    cJSON *b = cJSON_Parse(body);
    param[0] = why[0] = '\0';
    cJSON *r = resp_to_chat(b, "up-model", param, sizeof param, why, sizeof why);
    cJSON_Delete(b);
    return r;
}

static void refused(const char *descr, const char *body, const char *want_param)
{
    cJSON *r = to_chat(body);
    test_cond(descr, r == NULL && strcmp(param, want_param) == 0 && strlen(why) > 10);
    if (r || strcmp(param, want_param) != 0)
        fprintf(stderr, "  param %s why %s\n", param, why);
    cJSON_Delete(r);
}

static void test_request(void)
{
    cJSON *r = to_chat("{\"model\":\"m\",\"input\":\"hi\",\"instructions\":\"brief\",\"max_output_tokens\":64,"
                       "\"temperature\":0.5,\"store\":false,\"metadata\":{\"a\":\"b\"}}");
    const cJSON *m = get(r, "messages");
    test_streq("text input: model is the upstream one", strv(get(r, "model")), "up-model");
    test_cond("text input: two messages", cJSON_GetArraySize(m) == 2);
    test_streq("instructions -> system", strv(get(cJSON_GetArrayItem(m, 0), "role")), "system");
    test_streq("instructions text", strv(get(cJSON_GetArrayItem(m, 0), "content")), "brief");
    test_streq("input -> user", strv(get(cJSON_GetArrayItem(m, 1), "content")), "hi");
    test_cond("max_output_tokens -> max_tokens", get(r, "max_tokens") && get(r, "max_tokens")->valuedouble == 64);
    test_cond("temperature kept", get(r, "temperature") && get(r, "temperature")->valuedouble == 0.5);
    test_cond("store and metadata not sent", !get(r, "store") && !get(r, "metadata"));
    test_cond("never streamed here", !get(r, "stream"));
    cJSON_Delete(r);

    r = to_chat("{\"model\":\"m\",\"input\":[{\"role\":\"developer\",\"content\":\"rules\"},"
                "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"look\"},"
                "{\"type\":\"input_image\",\"image_url\":\"https://x/y.png\",\"detail\":\"low\"}]},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"a cat\"}]},"
                "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"},"
                "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"g\",\"arguments\":\"{}\"},"
                "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"one\"},"
                "{\"type\":\"function_call_output\",\"call_id\":\"c2\",\"output\":[{\"type\":\"input_text\",\"text\":\"two\"}]},"
                "{\"type\":\"reasoning\",\"summary\":[]}],"
                "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"description\":\"d\",\"parameters\":{\"type\":\"object\"},"
                "\"strict\":true}],\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},\"parallel_tool_calls\":false,"
                "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"o\",\"schema\":{\"type\":\"object\"},\"strict\":true}}}");
    m = get(r, "messages");
    test_cond("messages: developer, user, assistant (+2 calls), 2 tool results", cJSON_GetArraySize(m) == 5);
    test_streq("developer -> system", strv(get(cJSON_GetArrayItem(m, 0), "role")), "system");
    const cJSON *parts = get(cJSON_GetArrayItem(m, 1), "content");
    test_streq("input_text -> text part", strv(get(cJSON_GetArrayItem(parts, 0), "type")), "text");
    test_streq("input_image -> image_url part", strv(get(get(cJSON_GetArrayItem(parts, 1), "image_url"), "url")),
               "https://x/y.png");
    const cJSON *a = cJSON_GetArrayItem(m, 2);
    test_streq("assistant output_text kept", strv(get(cJSON_GetArrayItem(get(a, "content"), 0), "text")), "a cat");
    test_cond("function_calls join the assistant turn", cJSON_GetArraySize(get(a, "tool_calls")) == 2);
    test_streq("call id", strv(get(cJSON_GetArrayItem(get(a, "tool_calls"), 0), "id")), "c1");
    test_streq("call arguments", strv(get(get(cJSON_GetArrayItem(get(a, "tool_calls"), 0), "function"), "arguments")),
               "{\"a\":1}");
    test_streq("function_call_output -> tool", strv(get(cJSON_GetArrayItem(m, 3), "role")), "tool");
    test_streq("tool_call_id", strv(get(cJSON_GetArrayItem(m, 3), "tool_call_id")), "c1");
    test_streq("output parts joined", strv(get(cJSON_GetArrayItem(m, 4), "content")), "two");
    const cJSON *t = cJSON_GetArrayItem(get(r, "tools"), 0);
    test_streq("tool -> function tool", strv(get(get(t, "function"), "name")), "f");
    test_cond("tool strict kept", cJSON_IsTrue(get(get(t, "function"), "strict")));
    test_streq("tool_choice function", strv(get(get(get(r, "tool_choice"), "function"), "name")), "f");
    test_cond("parallel_tool_calls kept with tools", cJSON_IsFalse(get(r, "parallel_tool_calls")));
    test_streq("text.format -> response_format", strv(get(get(r, "response_format"), "type")), "json_schema");
    test_streq("json_schema name", strv(get(get(get(r, "response_format"), "json_schema"), "name")), "o");
    cJSON_Delete(r);

    r = to_chat("{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_object\"}},"
                "\"parallel_tool_calls\":true}");
    test_streq("json_object", strv(get(get(r, "response_format"), "type")), "json_object");
    test_cond("parallel_tool_calls dropped without tools", !get(r, "parallel_tool_calls"));
    cJSON_Delete(r);

    refused("no input", "{\"model\":\"m\"}", "input");
    refused("input a number", "{\"model\":\"m\",\"input\":3}", "input");
    refused("previous_response_id", "{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":\"resp_1\"}",
            "previous_response_id");
    refused("conversation", "{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"c\"}", "conversation");
    refused("a built-in tool", "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"},"
                               "{\"type\":\"file_search\"}]}",
            "tools[1].type");
    refused("include", "{\"model\":\"m\",\"input\":\"x\",\"include\":[\"file_search_call.results\"]}", "include");
    refused("an unknown field", "{\"model\":\"m\",\"input\":\"x\",\"frobnicate\":1}", "frobnicate");
    refused("an item_reference", "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"i\"}]}",
            "input[0].type");
    refused("a file part", "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\","
                           "\"file_id\":\"f\"}]}]}",
            "input[0].content[0].type");
    refused("a bad role", "{\"model\":\"m\",\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "input[0].role");
    refused("a call without call_id", "{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"name\":\"f\"}]}",
            "input[0].call_id");
    refused("max_output_tokens too small", "{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":3}",
            "max_output_tokens");
    refused("a bad tool_choice", "{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":\"sometimes\"}", "tool_choice");
    refused("a bad format", "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"xml\"}}}",
            "text.format.type");
    refused("stream not a boolean", "{\"model\":\"m\",\"input\":\"x\",\"stream\":\"yes\"}", "stream");
    /* sent on to a chat-only server and echoed in the Response: typed here */
    refused("temperature a string", "{\"model\":\"m\",\"input\":\"x\",\"temperature\":\"hot\"}", "temperature");
    refused("temperature over 2", "{\"model\":\"m\",\"input\":\"x\",\"temperature\":5}", "temperature");
    refused("top_p over 1", "{\"model\":\"m\",\"input\":\"x\",\"top_p\":1.5}", "top_p");
    refused("user a number", "{\"model\":\"m\",\"input\":\"x\",\"user\":7}", "user");
    refused("text a number", "{\"model\":\"m\",\"input\":\"x\",\"text\":5}", "text");
    refused("text.format a string", "{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":\"json\"}}",
            "text.format");
    refused("metadata a nested object", "{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"a\":{\"b\":1}}}",
            "metadata.a");
    refused("metadata a number", "{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"n\":1}}", "metadata.n");
    refused("17 metadata keys",
            "{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"a\":\"\",\"b\":\"\",\"c\":\"\",\"d\":\"\",\"e\":\"\","
            "\"f\":\"\",\"g\":\"\",\"h\":\"\",\"i\":\"\",\"j\":\"\",\"k\":\"\",\"l\":\"\",\"m\":\"\",\"n\":\"\",\"o\":\"\","
            "\"p\":\"\",\"q\":\"\"}}",
            "metadata");
    cJSON *ok = to_chat("{\"model\":\"m\",\"input\":\"x\",\"temperature\":0,\"top_p\":1,\"user\":\"u\"}");
    test_cond("temperature 0 and top_p 1 pass", ok && get(ok, "temperature") && get(ok, "top_p"));
    cJSON_Delete(ok);
}

static cJSON *from_chat(const char *chat, const char *req)
{
    cJSON *rq = cJSON_Parse(req);
    struct sbuf out;
    sbuf_init(&out);
    int rc = resp_from_chat(chat, strlen(chat), rq, "client-model", 1700000000, &out, why, sizeof why);
    cJSON_Delete(rq);
    cJSON *r = rc == 0 ? cJSON_Parse(out.data) : NULL;
    sbuf_deinit(&out);
    return r;
}

static const char chat_text[] =
    "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1699999999,\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
    "\"prompt_tokens_details\":{\"cached_tokens\":3}}}";

static void test_answer(void)
{
    cJSON *r = from_chat(chat_text, "{\"input\":\"x\",\"instructions\":\"be brief\",\"metadata\":{\"k\":\"v\"}}");
    test_streq("answer: id from the completion", strv(get(r, "id")), "resp_abc");
    test_streq("answer: object", strv(get(r, "object")), "response");
    test_streq("answer: completed", strv(get(r, "status")), "completed");
    test_streq("answer: the client's model", strv(get(r, "model")), "client-model");
    test_cond("answer: created_at from the completion", get(r, "created_at")->valuedouble == 1699999999);
    const cJSON *msg = cJSON_GetArrayItem(get(r, "output"), 0);
    test_streq("answer: a message item", strv(get(msg, "type")), "message");
    test_streq("answer: its id", strv(get(msg, "id")), "msg_abc");
    test_streq("answer: output_text", strv(get(cJSON_GetArrayItem(get(msg, "content"), 0), "text")), "Hi there");
    test_cond("answer: usage input_tokens", get(get(r, "usage"), "input_tokens")->valuedouble == 12);
    test_cond("answer: usage output_tokens", get(get(r, "usage"), "output_tokens")->valuedouble == 5);
    test_cond("answer: usage total", get(get(r, "usage"), "total_tokens")->valuedouble == 17);
    test_cond("answer: cached", get(get(get(r, "usage"), "input_tokens_details"), "cached_tokens")->valuedouble == 3);
    test_streq("answer: instructions echoed", strv(get(r, "instructions")), "be brief");
    test_streq("answer: metadata echoed", strv(get(get(r, "metadata"), "k")), "v");
    test_cond("answer: not background", cJSON_IsFalse(get(r, "background")));
    cJSON_Delete(r);

    r = from_chat("{\"id\":\"chatcmpl-t\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                  "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"{\\\"a\\\":1}\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":"
                  "{\"name\":\"g\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
                  "{}");
    const cJSON *out = get(r, "output");
    test_cond("tool answer: two items, no empty message", cJSON_GetArraySize(out) == 2);
    test_streq("tool answer: function_call", strv(get(cJSON_GetArrayItem(out, 0), "type")), "function_call");
    test_streq("tool answer: call_id", strv(get(cJSON_GetArrayItem(out, 0), "call_id")), "call_1");
    test_streq("tool answer: item id", strv(get(cJSON_GetArrayItem(out, 1), "id")), "fc_t_2");
    test_streq("tool answer: arguments", strv(get(cJSON_GetArrayItem(out, 0), "arguments")), "{\"a\":1}");
    test_cond("tool answer: no usage: null", cJSON_IsNull(get(r, "usage")));
    cJSON_Delete(r);

    r = from_chat("{\"id\":\"chatcmpl-123\",\"choices\":[{\"message\":{\"content\":\"a\"}}]}", "{}");
    test_streq("a numeric completion id: never a background response's", strv(get(r, "id")), "resp_chat_123");
    test_cond("  which respjob does not take", respjob_parse_id(strv(get(r, "id"))) == 0);
    cJSON_Delete(r);
    r = from_chat("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"cut\"},\"finish_reason\":\"length\"}]}", "{}");
    test_streq("cut answer: incomplete", strv(get(r, "status")), "incomplete");
    test_streq("cut answer: reason", strv(get(get(r, "incomplete_details"), "reason")), "max_output_tokens");
    cJSON_Delete(r);
    r = from_chat("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"no\"},"
                  "\"finish_reason\":\"stop\"}]}",
                  "{}");
    test_streq("refusal part", strv(get(cJSON_GetArrayItem(get(cJSON_GetArrayItem(get(r, "output"), 0), "content"), 0),
                                         "type")),
               "refusal");
    cJSON_Delete(r);
    test_cond("not a completion: refused", from_chat("{\"error\":{\"message\":\"x\"}}", "{}") == NULL);
    test_cond("not JSON: refused", from_chat("nope", "{}") == NULL);

    struct llm_usage u = {.prompt = 7, .completion = 3, .cached = 2, .reasoning = 1}, back;
    struct sbuf b;
    sbuf_init(&b);
    resp_usage_json(&u, &b);
    cJSON *uj = cJSON_Parse(b.data);
    test_cond("usage round trip", resp_usage_parse(uj, &back) && back.prompt == 7 && back.completion == 3 &&
                                      back.cached == 2 && back.reasoning == 1);
    cJSON_Delete(uj);
    sbuf_deinit(&b);
    test_cond("usage: not an object", !resp_usage_parse(NULL, &back));
}

/* A chat stream's data payloads through the translator: every event
 * valid, the types in order, and the final object. */
struct run {
    struct sbuf out;
    char types[2048];
    int rc;
    cJSON *final;
};

static void run_chunks(const char *const *chunks, size_t n, const char *req, struct run *r)
{
    struct resp_stream *s = resp_stream_new("client-model", req, strlen(req));
    sbuf_init(&r->out);
    r->types[0] = '\0';
    r->rc = 0;
    r->final = NULL;
    for (size_t i = 0; i < n && r->rc == 0; i++)
        r->rc = resp_stream_chunk(s, chunks[i], strlen(chunks[i]), 1700000000, &r->out);
    resp_stream_free(s);
    const char *p = r->out.data ? r->out.data : "";
    while (*p) {
        const char *nl = strchr(p, '\n'), *end = strstr(p, "\n\n");
        if (strncmp(p, "event: ", 7) != 0 || !nl || !end || strncmp(nl + 1, "data: ", 6) != 0) {
            test_cond("stream: well-formed events", false);
            return;
        }
        size_t room = sizeof r->types - strlen(r->types) - 1;
        strncat(r->types, p + 7, (size_t)(nl - p - 7) < room ? (size_t)(nl - p - 7) : room);
        strncat(r->types, ",", sizeof r->types - strlen(r->types) - 1);
        cJSON *d = cJSON_ParseWithLength(nl + 7, (size_t)(end - nl - 7));
        if (!d)
            test_cond("stream: data is JSON", false);
        if (d && get(d, "response") && (strncmp(p + 7, "response.completed", 18) == 0 ||
                                        strncmp(p + 7, "response.incomplete", 19) == 0)) {
            cJSON_Delete(r->final);
            r->final = cJSON_Duplicate(get(d, "response"), true);
        }
        cJSON_Delete(d);
        p = end + 2;
    }
}

static const char usage_chunk[] = "{\"id\":\"chatcmpl-abc\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
                                  "\"completion_tokens\":5,\"total_tokens\":17,"
                                  "\"prompt_tokens_details\":{\"cached_tokens\":3}}}";

static void test_stream(void)
{
    static const char *const text[] = {
        "{\"id\":\"chatcmpl-abc\",\"created\":1699999999,\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
        "{\"id\":\"chatcmpl-abc\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}",
        "{\"id\":\"chatcmpl-abc\",\"choices\":[{\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}",
        usage_chunk,
        "[DONE]",
    };
    struct run r;
    const char *req = "{\"input\":\"x\",\"instructions\":\"be brief\",\"metadata\":{\"k\":\"v\"}}";
    run_chunks(text, 5, req, &r);
    test_cond("text stream: complete", r.rc == 1);
    test_streq("text stream: the events in order", r.types,
               "response.created,response.in_progress,response.output_item.added,response.content_part.added,"
               "response.output_text.delta,response.output_text.delta,response.output_text.done,"
               "response.content_part.done,response.output_item.done,response.completed,");
    cJSON *plain = from_chat(chat_text, req);
    cJSON_DeleteItemFromObjectCaseSensitive(plain, "completed_at");
    cJSON_DeleteItemFromObjectCaseSensitive(r.final, "completed_at");
    test_cond("text stream: the final object is the plain answer's", cJSON_Compare(plain, r.final, true));
    cJSON_Delete(plain);
    cJSON_Delete(r.final);
    test_cond("text stream: the delta names the message item", strstr(r.out.data, "\"item_id\":\"msg_abc\"") != NULL);
    sbuf_deinit(&r.out);

    static const char *const tools[] = {
        "{\"id\":\"chatcmpl-t\",\"choices\":[{\"delta\":{\"content\":\"Let me check.\"}}]}",
        "{\"id\":\"chatcmpl-t\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}",
        "{\"id\":\"chatcmpl-t\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
        "\"{\\\"a\\\":\"}}]}}]}",
        "{\"id\":\"chatcmpl-t\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\","
        "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}",
        "{\"id\":\"chatcmpl-t\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
        "\"1}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
        "[DONE]",
    };
    run_chunks(tools, 6, "{}", &r);
    test_cond("tool stream: complete", r.rc == 1);
    const cJSON *out = get(r.final, "output");
    test_cond("tool stream: message and two calls", cJSON_GetArraySize(out) == 3);
    test_streq("tool stream: first call's arguments assembled", strv(get(cJSON_GetArrayItem(out, 1), "arguments")),
               "{\"a\":1}");
    test_streq("tool stream: second call", strv(get(cJSON_GetArrayItem(out, 2), "call_id")), "call_2");
    test_cond("tool stream: arguments deltas", strstr(r.types, "response.function_call_arguments.delta") != NULL);
    test_cond("tool stream: the text closed before the first call",
              strstr(r.types, "response.output_item.done") < strstr(r.types, "response.function_call_arguments.delta"));
    test_cond("tool stream: the delta names its item",
              strstr(r.out.data, "\"item_id\":\"fc_t_1\",\"output_index\":1,\"delta\"") != NULL);
    cJSON_Delete(r.final);
    sbuf_deinit(&r.out);

    static const char *const cut[] = {
        "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"length\"}]}", "[DONE]"};
    run_chunks(cut, 2, "{}", &r);
    test_cond("cut stream: response.incomplete", strstr(r.types, "response.incomplete,") != NULL);
    cJSON_Delete(r.final);
    sbuf_deinit(&r.out);

    static const char *const err[] = {"{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
                                      "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}", "[DONE]"};
    run_chunks(err, 3, "{}", &r);
    test_cond("error chunk: rc 2", r.rc == 2);
    test_cond("error chunk: an error event with the message",
              strstr(r.types, ",error,") != NULL && strstr(r.out.data, "boom") != NULL);
    sbuf_deinit(&r.out);

    static const char *const bad[] = {"not json"};
    run_chunks(bad, 1, "{}", &r);
    test_cond("malformed chunk: -1, nothing written", r.rc == -1 && r.out.len == 0);
    sbuf_deinit(&r.out);
}

static cJSON *render(int state, const char *result, const char *error)
{
    struct respjob_row row = {.id = 42,
                              .state = state,
                              .payload = "{\"model\":\"m\",\"input\":\"x\",\"instructions\":\"i\",\"metadata\":{\"k\":\"v\"}}",
                              .result = result,
                              .last_error = error,
                              .created_s = 1700000000,
                              .finished_s = 1700000100};
    struct sbuf b;
    sbuf_init(&b);
    respjob_render(&row, &b);
    cJSON *j = cJSON_Parse(b.data);
    sbuf_deinit(&b);
    return j;
}

static void test_job(void)
{
    test_cond("id: resp_42", respjob_parse_id("resp_42") == 42);
    test_cond("id: not ours", respjob_parse_id("resp_") == 0 && respjob_parse_id("resp_4x") == 0 &&
                                   respjob_parse_id("job_4") == 0 && respjob_parse_id(NULL) == 0 &&
                                   respjob_parse_id("resp_99999999999999999999") == 0);
    static const char *const states[][2] = {{"0", "queued"}, {"1", "in_progress"}, {"4", "cancelled"}};
    for (size_t i = 0; i < 3; i++) {
        cJSON *j = render(atoi(states[i][0]), NULL, NULL);
        test_streq("job: status", strv(get(j, "status")), states[i][1]);
        test_streq("job: id", strv(get(j, "id")), "resp_42");
        test_cond("job: background, no output, no usage", cJSON_IsTrue(get(j, "background")) &&
                                                               cJSON_GetArraySize(get(j, "output")) == 0 &&
                                                               cJSON_IsNull(get(j, "usage")));
        test_streq("job: the request echoed", strv(get(j, "instructions")), "i");
        test_cond("job: created_at", get(j, "created_at")->valuedouble == 1700000000);
        cJSON_Delete(j);
    }
    cJSON *j = render(JOB_FAILED, "{\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"}}",
                      "HTTP 429: slow down");
    test_streq("failed: status", strv(get(j, "status")), "failed");
    test_streq("failed: code", strv(get(get(j, "error"), "code")), "rate_limit_exceeded");
    test_streq("failed: message", strv(get(get(j, "error"), "message")), "HTTP 429: slow down");
    cJSON_Delete(j);
    j = render(JOB_SUCCEEDED, "{\"id\":\"resp_up\",\"object\":\"response\",\"status\":\"completed\",\"output\":[],"
                              "\"background\":false}",
               NULL);
    test_streq("succeeded: the stored answer with our id", strv(get(j, "id")), "resp_42");
    test_streq("succeeded: its status", strv(get(j, "status")), "completed");
    test_cond("succeeded: background", cJSON_IsTrue(get(j, "background")));
    test_cond("succeeded: completed_at", get(j, "completed_at")->valuedouble == 1700000100);
    cJSON_Delete(j);
    struct respjob_events ev;
    respjob_events_init(&ev);
    respjob_events_add(&ev, 7, 42);
    respjob_events_add(&ev, 8, 43);
    struct sbuf b;
    sbuf_init(&b);
    int n = 0;
    while (respjob_events_next(&ev, "response.cancelled", &b))
        n++;
    test_cond("events: one statement each", n == 2 && b.len > 0);
    respjob_events_reset(&ev);
    test_cond("events: none after a reset", !respjob_events_next(&ev, "response.cancelled", &b));
    respjob_events_deinit(&ev);
    sbuf_deinit(&b);
    j = render(JOB_SUCCEEDED, "\"not a response\"", NULL);
    test_streq("succeeded without a Response: failed", strv(get(j, "status")), "failed");
    cJSON_Delete(j);
}

int main(void)
{
    test_request();
    test_answer();
    test_stream();
    test_job();
    test_report();
}
