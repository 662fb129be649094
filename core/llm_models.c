/* GET /v1/models: the union of every provider's GET /models (OpenAI's
 * {"data":[{"id",...}]} and Anthropic's {"data":[{"id","type":"model"}]}
 * shapes) and the model routes, in OpenAI's list shape. Cached for
 * LLM_MODELS_TTL_MS; a stale cache answers at once while a refresh runs. */
#include "llm_models.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "httpc.h"
#include "llm_anthropic.h"
#include "llm_priv.h"
#include "log.h"
#include "runtime.h"

#define LLM_MODELS_TTL_MS 60000
#define LLM_MODELS_TIMEOUT_MS 5000
#define LLM_MODELS_MAX_PROVIDERS 64

struct models_waiter {
    llm_models_cb cb;
    void *arg;
    struct models_waiter *next;
};

struct models_fetch {
    struct llm_models_cache *m;
    char provider[PROVIDER_NAME_MAX + 1];
    bool is_default;
    char *hdrs[4];
};

struct llm_models_cache {
    struct llm *l;
    char *json;                  /* the last list, or NULL */
    int64_t fetched_ms;
    bool refreshing;
    size_t pending;              /* provider fetches in flight */
    struct sbuf data;            /* the entries being collected, comma-joined */
    cJSON *seen;                 /* ids already listed (an object used as a set) */
    cJSON *known;                /* the ids of json, the last list (a set), or NULL */
    struct models_waiter *waiters;
    struct models_fetch *fetches[LLM_MODELS_MAX_PROVIDERS];
    size_t nfetches;
};

static void add_entry(struct llm_models_cache *m, const char *id, const char *owner, long long created)
{
    if (!id || !*id || cJSON_GetObjectItemCaseSensitive(m->seen, id))
        return;
    cJSON_AddTrueToObject(m->seen, id);
    if (m->data.len)
        sbuf_putc(&m->data, ',');
    sbuf_puts(&m->data, "{\"id\":");
    sbuf_json_str(&m->data, id);
    sbuf_printf(&m->data, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":", created);
    sbuf_json_str(&m->data, owner);
    sbuf_putc(&m->data, '}');
}

static void finish_refresh(struct llm_models_cache *m)
{
    /* The routes come last: a provider's own list names them first. */
    struct sbuf routes;
    sbuf_init(&routes);
    providers_routes_json(m->l->ps, &routes);
    cJSON *r = cJSON_ParseWithLength(routes.data ? routes.data : "", routes.len);
    const cJSON *e;
    cJSON_ArrayForEach(e, r)
    {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(e, "model");
        const cJSON *prov = cJSON_GetObjectItemCaseSensitive(e, "provider");
        if (cJSON_IsString(model))
            add_entry(m, model->valuestring, cJSON_IsString(prov) ? prov->valuestring : "ingot",
                      (long long)time(NULL));
    }
    cJSON_Delete(r);
    sbuf_deinit(&routes);
    free(m->json);
    m->json = xasprintf("{\"object\":\"list\",\"data\":[%s]}", m->data.data ? m->data.data : "");
    sbuf_reset(&m->data);
    cJSON_Delete(m->known);
    m->known = m->seen; /* kept for llm_models_known */
    m->seen = NULL;
    m->fetched_ms = time_mono_ms();
    m->refreshing = false;
    struct models_waiter *w = m->waiters;
    m->waiters = NULL;
    while (w) {
        struct models_waiter *next = w->next;
        w->cb(m->json, w->arg);
        free(w);
        w = next;
    }
}

static void fetch_free(struct models_fetch *f)
{
    provider_header_free(f->hdrs); /* wiped: they carry the key */
    free(f);
}

static void fetch_cb(const struct httpc_response *resp, void *arg)
{
    struct models_fetch *f = arg;
    struct llm_models_cache *m = f->m;
    for (size_t i = 0; i < m->nfetches; i++)
        if (m->fetches[i] == f)
            m->fetches[i] = m->fetches[--m->nfetches];
    if (resp->status == 200) {
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "data"))
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
            const cJSON *created = cJSON_GetObjectItemCaseSensitive(e, "created");
            if (!cJSON_IsString(id))
                continue;
            /* A named provider's models are reached as "provider/model". */
            char name[PROVIDER_NAME_MAX + LLM_MODEL_MAX + 2];
            if (f->is_default)
                snprintf(name, sizeof name, "%s", id->valuestring);
            else
                snprintf(name, sizeof name, "%s/%s", f->provider, id->valuestring);
            long long when;
            if (!cJSON_IsNumber(created) || !check_double_ll(created->valuedouble, 0, 1LL << 40, &when))
                when = (long long)time(NULL); /* a provider's number converted only when in range */
            add_entry(m, name, f->provider, when);
        }
        cJSON_Delete(j);
    } else {
        log_warn("llm: GET /models of provider %s failed: %s (%ld)", f->provider,
                 resp->error ? resp->error : "status", resp->status);
    }
    fetch_free(f);
    if (--m->pending == 0)
        finish_refresh(m);
}

static void refresh(struct llm_models_cache *m)
{
    struct llm *l = m->l;
    m->refreshing = true;
    m->seen = cJSON_CreateObject();
    struct provider_info *infos = xcalloc(LLM_MODELS_MAX_PROVIDERS, sizeof *infos);
    size_t n = providers_list(l->ps, infos, LLM_MODELS_MAX_PROVIDERS);
    m->pending = 1; /* held until every fetch started */
    for (size_t i = 0; i < n && !l->closing; i++) {
        struct provider_target t;
        char why[256];
        if (providers_get(l->ps, infos[i].name, &t, why, sizeof why) < 0)
            continue;
        struct models_fetch *f = xcalloc(1, sizeof *f);
        f->m = m;
        snprintf(f->provider, sizeof f->provider, "%s", infos[i].name);
        f->is_default = strcmp(infos[i].name, PROVIDER_DEFAULT) == 0;
        provider_auth_headers(&t, f->hdrs);
        char *url = xasprintf("%s/models", t.base_url);
        struct httpc_request req = {.method = "GET",
                                    .url = url,
                                    .headers = (const char *const *)f->hdrs,
                                    .timeout_ms = LLM_MODELS_TIMEOUT_MS,
                                    .max_body = (size_t)8 << 20};
        provider_target_deinit(&t);
        /* Room first: a transfer sent is freed by its callback only. */
        if (m->nfetches >= LLM_MODELS_MAX_PROVIDERS || llm_http_send(l, &req, fetch_cb, f) < 0) {
            fetch_free(f);
        } else {
            m->fetches[m->nfetches++] = f;
            m->pending++;
        }
        free(url);
    }
    free(infos);
    if (--m->pending == 0)
        finish_refresh(m);
}

static struct llm_models_cache *models_cache(struct llm *l)
{
    if (!l->models) {
        l->models = xcalloc(1, sizeof *l->models);
        l->models->l = l;
        sbuf_init(&l->models->data);
    }
    return l->models;
}

bool llm_models_known(struct llm *l, const char *id, bool may_refresh)
{
    struct llm_models_cache *m = models_cache(l);
    bool stale = !m->json || time_mono_ms() - m->fetched_ms > LLM_MODELS_TTL_MS;
    if (may_refresh && stale && !m->refreshing && !l->closing)
        refresh(m);
    return m->known && id && *id && cJSON_GetObjectItemCaseSensitive(m->known, id) != NULL;
}

void llm_models(struct llm *l, uint64_t tenant, llm_models_cb cb, void *arg)
{
    (void)tenant; /* one list for everyone: a tenant's own key does not change the routes */
    struct llm_models_cache *m = models_cache(l);
    bool stale = !m->json || time_mono_ms() - m->fetched_ms > LLM_MODELS_TTL_MS;
    if (m->json) {
        if (stale && !m->refreshing)
            refresh(m);
        cb(m->json, arg);
        return;
    }
    struct models_waiter *w = xcalloc(1, sizeof *w);
    w->cb = cb;
    w->arg = arg;
    w->next = m->waiters;
    m->waiters = w;
    if (!m->refreshing)
        refresh(m);
}

void llm_models_free(struct llm_models_cache *m)
{
    if (!m)
        return;
    /* Fetches still out: stop them (their callbacks never run). */
    while (m->nfetches) {
        struct models_fetch *f = m->fetches[--m->nfetches];
        llm_http_abort(m->l, fetch_cb, f);
        fetch_free(f);
    }
    struct models_waiter *w = m->waiters;
    while (w) {
        struct models_waiter *next = w->next;
        free(w);
        w = next;
    }
    cJSON_Delete(m->seen);
    cJSON_Delete(m->known);
    sbuf_deinit(&m->data);
    free(m->json);
    free(m);
}
