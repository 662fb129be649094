#include "work_kinds.h"

#include <stddef.h>

#include "util.h"
#include "work_http.h"
#include "work_llm.h"
#include "work_webhook.h"

static const struct work_kind kinds[] = {
    {.kind = JOB_HTTP, .execute = work_http_execute, .stop = work_http_stop},
    {.kind = JOB_LLM_CHAT, .execute = work_llm_execute, .stop = work_llm_stop, .stop_on_release = true,
     .ready = work_llm_ready},
    {.kind = JOB_LLM_EMBED, .execute = work_llm_execute, .stop = work_llm_stop, .stop_on_release = true,
     .ready = work_llm_ready},
    {.kind = JOB_LLM_RESPONSE, .execute = work_llm_execute, .stop = work_llm_stop, .stop_on_release = true,
     .ready = work_llm_ready},
    {.kind = JOB_WEBHOOK, .execute = work_webhook_execute, .stop = work_webhook_stop},
};

const struct work_kind *work_kind_of(enum job_kind k)
{
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (kinds[i].kind == k)
            return &kinds[i];
    return NULL;
}

unsigned work_kinds_mask(struct work *w)
{
    unsigned m = 0;
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (!kinds[i].ready || kinds[i].ready(w))
            m |= 1u << kinds[i].kind;
    return m;
}
