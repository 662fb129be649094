/* The shared part of the /v1/messages translation tests (test_llm_msgs,
 * test_llm_msgs_stream). */
#ifndef TEST_MSGS_HELP_H
#define TEST_MSGS_HELP_H

#include "json_help.h"
#include "llm_msgs_resp.h"

/* The Message for a chat completion body, parsed (NULL on failure). */
static inline cJSON *from_chat(const char *body, struct llm_usage *u)
{
    struct sbuf out;
    sbuf_init(&out);
    char why[128];
    int rc = msgs_from_chat(body, strlen(body), "my-model", &out, u, why, sizeof why);
    cJSON *r = rc == 0 ? cJSON_Parse(out.data) : NULL;
    sbuf_deinit(&out);
    return r;
}

#endif
