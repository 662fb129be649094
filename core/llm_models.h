/* llm_models: GET /v1/models, merged over the providers and cached
 * (llm_models itself is in llm.h). */
#ifndef INGOT_LLM_MODELS_H
#define INGOT_LLM_MODELS_H

#include "llm.h"

struct llm_models_cache;

/* Frees the cache (llm_free). */
void llm_models_free(struct llm_models_cache *m);

#endif
