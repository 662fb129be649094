/* llm_models: GET /v1/models, merged over the providers and cached
 * (llm_models itself is in llm.h). */
#ifndef INGOT_LLM_MODELS_H
#define INGOT_LLM_MODELS_H

#include "llm.h"

struct llm_models_cache;

/* Frees the cache (llm_free). */
void llm_models_free(struct llm_models_cache *m);
/* id is in the last list (a provider's model, or a route); with
 * may_refresh, starts a refresh when that list is stale (the answer is for
 * the list at hand). Not from inside httpc's transfer callbacks (head,
 * data): no request can start there. */
bool llm_models_known(struct llm *l, const char *id, bool may_refresh);

#endif
