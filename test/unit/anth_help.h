/* The shared part of the Anthropic translation tests (test_llm_anthropic,
 * test_llm_anthropic_stream): the samples both use. */
#ifndef TEST_ANTH_HELP_H
#define TEST_ANTH_HELP_H

#include "json_help.h"

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

static const char tool_response[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":["
    "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"x\"},"
    "{\"type\":\"text\",\"text\":\"Let me \"},{\"type\":\"text\",\"text\":\"check.\"},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\",\"units\":"
    "{\"c\":true}}},"
    "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"noargs\",\"input\":{}}],"
    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"
    "\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100,\"output_tokens\":20}}";

#endif
