/* work_llm: the llm.chat and llm.embed kinds of the work role (rows of
 * work_kinds.c): the payload, an OpenAI request body, through core/llm.
 * Private to the work role. */
#ifndef INGOT_WORK_LLM_H
#define INGOT_WORK_LLM_H

#include <stdbool.h>

struct work;
struct run;

void work_llm_execute(struct work *w, struct run *r);
bool work_llm_stop(struct work *w, struct run *r);
/* Some provider is configured (the default one or a named one). */
bool work_llm_ready(struct work *w);

#endif
