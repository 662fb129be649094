/* llm_settle: the end of a call that reached a provider: the reservation
 * settled to the usage (or the estimate, when the usage is not known), the
 * cost, and the usage record with its metric labels. */
#include "llm_settle.h"

#include <stdio.h>
#include <string.h>

#include "llm_models.h"
#include "llm_priv.h"
#include "llmlimit.h"
#include "usage.h"

void llm_settle(struct llm_call *c, int client_status, bool cancelled)
{
    struct llm *l = c->l;
    struct llm_usage u;
    /* Reached but no usage known (a 200 without it, a body that is not
     * JSON, a timeout after sending): the provider may have done it all,
     * so the estimate is what it cost. */
    if (cancelled || (!c->have_usage && (c->began || c->reached)))
        llm_relay_usage_so_far(c, &u);
    else if (c->have_usage)
        u = c->used;
    else
        llm_usage_init(&u);
    bool used_any = u.prompt > 0 || u.completion > 0;
    char pm[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    llmlimit_price_name(l->lim, c->t.provider, c->t.upstream_model, c->price_model, pm, sizeof pm);
    if (c->ticket) {
        llmlimit_settle(l->lim, c->ticket, used_any ? &u : NULL);
        c->ticket = NULL;
    }
    /* Metrics name the model only when it is known (a route or in a
     * provider's list, as asked or as provider/upstream): junk names a
     * client makes up all count as "other". */
    bool rf = !c->in_httpc;
    char canon[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
    const char *label = c->model;
    if (!llm_models_known(l, c->model, rf)) { /* the name as provider/upstream, made only when needed */
        if (strcmp(c->t.provider, PROVIDER_DEFAULT) == 0)
            util_strcpy(canon, sizeof canon, c->t.upstream_model);
        else
            util_join(canon, sizeof canon, c->t.provider, '/', c->t.upstream_model);
        label = llm_models_known(l, canon, rf) ? canon : "other";
    }
    int64_t t = time_mono_us();
    struct usage_rec rec = {
        .tenant = c->o.tenant,
        .key_id = c->o.key_id,
        .job_id = c->o.job_id,
        .provider = c->t.provider,
        .model = c->model,
        .endpoint = llm_endpoint_name(c->o.ep),
        .status = client_status,
        .u = u,
        .cost_usd = used_any ? llmlimit_cost(l->lim, pm, &u) : 0,
        .latency_ms = (double)(t - c->start_us) / 1000.0,
        .ttft_ms = c->streamed && c->first_us ? (double)(c->first_us - c->start_us) / 1000.0 : -1,
        .request_id = c->o.request_id,
        .metric_model = label,
    };
    usage_record(l->usage, &rec);
}
