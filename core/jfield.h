/* jfield: what the LLM request translators (llm_anthropic: OpenAI to
 * Anthropic; llm_msgs_req: Anthropic to OpenAI) share to read a cJSON body
 * and name the field that is wrong. */
#ifndef INGOT_JFIELD_H
#define INGOT_JFIELD_H

#include <stddef.h>

#include "util.h"

struct cJSON;

/* Where a refusal goes: the field's path (param) and the reason (why);
 * either may be NULL. */
struct jerr {
    char *param, *why;
    size_t paramlen, whylen;
};

/* Fills param (a printf format) and why; returns -1. */
int jerr_fail(struct jerr *e, const char *why, const char *param_fmt, ...) ATTR_FMT(3, 4);
/* o's member name, NULL when absent or an explicit null (the same). */
const struct cJSON *jfield(const struct cJSON *o, const char *name);
/* o's member name when it is a string, else NULL. */
const char *jfield_str(const struct cJSON *o, const char *name);

#endif
