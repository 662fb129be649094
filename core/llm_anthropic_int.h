/* llm_anthropic_int: what llm_anthropic.c, llm_anthropic_resp.c and
 * llm_anthropic_stream.c share (the family's private header). */
#ifndef INGOT_LLM_ANTHROPIC_INT_H
#define INGOT_LLM_ANTHROPIC_INT_H

#include "llm_anthropic.h"

/* Anthropic's token counts as reported; -1 where not said. */
struct anth_counts {
    long long input, output, cache_read, cache_creation;
};

/* anth_counts_read, anth_counts_usage, anth_usage_json, anth_id_json:
 * llm_anthropic_resp.h. */

#endif
