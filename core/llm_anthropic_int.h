/* llm_anthropic_int: what llm_anthropic.c, llm_anthropic_resp.c and
 * llm_anthropic_stream.c share (the family's private header). */
#ifndef INGOT_LLM_ANTHROPIC_INT_H
#define INGOT_LLM_ANTHROPIC_INT_H

#include "llm_anthropic.h"

/* Anthropic's token counts as reported; -1 where not said. */
struct anth_counts {
    long long input, output, cache_read, cache_creation;
};

/* Updates c with the counts present in an Anthropic usage object (the
 * absent ones keep their value: message_delta's usage is cumulative and
 * may name only output_tokens). Counts beyond 10^15 or not whole are
 * ignored. */
void anth_counts_read(const struct cJSON *usage, struct anth_counts *c);
/* OpenAI's view: prompt = input + cache reads + cache writes, cached =
 * cache reads, completion = output, reasoning not reported (-1). prompt
 * and completion are -1 while input/output are unknown. */
void anth_counts_usage(const struct anth_counts *c, struct llm_usage *u);
/* Appends OpenAI's usage object (unknowns as 0). */
void anth_usage_json(struct sbuf *b, const struct llm_usage *u);
/* Appends "chatcmpl-" + the Anthropic message id as a JSON string. */
void anth_id_json(struct sbuf *b, const char *anthropic_id);

#endif
