/* llm_json_loop: llm_json_scan without conversion (every chat answer), one
 * loop over a stack of open containers. Its caller is llm_embed's
 * llm_json_scan, which owns the language and the spans (llm_json_int.h). */
#ifndef INGOT_LLM_JSON_LOOP_H
#define INGOT_LLM_JSON_LOOP_H

#include <stddef.h>

#include "llm_embed.h"

/* The root object at s[i] scanned without conversion into top: 0 and its
 * end into *end; -1 when it is not JSON. */
int llm_json_loop(const char *s, size_t n, size_t i, struct llm_json_top *top, size_t *end);

#endif
