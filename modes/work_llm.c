/* The llm.chat, llm.embed and llm.response kinds: the payload is the OpenAI request
 * body, sent through the engine (core/llm) as a sync call would be, but
 * never waiting for a limit: a held call comes back as LLM_WAIT and the
 * job is put back without spending an attempt. The result is the
 * provider's response (OpenAI's shape), or its error body when it failed;
 * the usage goes to jobs.usage. */
#include "work_llm.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "jobclaim.h"
#include "llm.h"
#include "provider.h"
#include "runtime.h"
#include "util.h"
#include "work_int.h"
#include "work_outcome.h"

/* A result is written hex-encoded in a batch statement that must fit
 * max_allowed_packet (16 MiB by default): larger ones fail the job rather
 * than every outcome written with them. */
#define LLM_RESULT_MAX ((size_t)2 << 20)

/* The provider's text, stored only as JSON that is valid UTF-8 (the
 * column and the API's raw rendering need both); anything else is kept as
 * a JSON string. */
static void result_json(const char *body, size_t len, struct sbuf *out)
{
    if (!body || !len)
        return;
    cJSON *j = util_utf8_valid(body, len) ? cJSON_ParseWithLength(body, len) : NULL;
    if (j)
        sbuf_append(out, body, len);
    else
        sbuf_json_strn(out, body, len);
    cJSON_Delete(j);
}

/* error.message of an OpenAI-shaped error body, else "HTTP <status>". */
static void error_text(const struct llm_result *res, char *out, size_t n)
{
    cJSON *j = res->body ? cJSON_ParseWithLength(res->body, res->body_len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : NULL;
    if (m && cJSON_IsString(m) && m->valuestring && m->valuestring[0])
        snprintf(out, n, "HTTP %d: %s", res->status, m->valuestring);
    else
        snprintf(out, n, "HTTP %d", res->status);
    cJSON_Delete(j);
}

/* No provider answer came (transport, our own refusal): no "HTTP n" to
 * claim, only what happened, from the message ingot composed. */
static void own_error_text(const struct llm_result *res, char *out, size_t n)
{
    cJSON *j = res->body ? cJSON_ParseWithLength(res->body, res->body_len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
    snprintf(out, n, "%s", cJSON_IsString(m) && m->valuestring[0] ? m->valuestring : "the call failed without an answer");
    cJSON_Delete(j);
}

static void call_done_cb(const struct llm_result *res, void *arg)
{
    struct run *r = arg;
    r->call = NULL;
    struct sbuf result;
    sbuf_init(&result);
    char err[320] = "";
    struct work_outcome o = {.retry_after_ms = res->retry_after_ms};
    switch (res->outcome) {
    case LLM_WAIT: /* a limit or a throttled provider: not an attempt */
        o.wait = true;
        break;
    case LLM_OK:
        result_json(res->body, res->body_len, &result);
        o.http_status = res->status;
        o.usage_json = res->usage_json;
        o.ok = result.len <= LLM_RESULT_MAX;
        if (!o.ok) {
            snprintf(err, sizeof err, "the provider's response is too large to store (%zu bytes, at most %zu)",
                     result.len, LLM_RESULT_MAX);
            sbuf_reset(&result);
        }
        break;
    case LLM_UPSTREAM: /* the provider's error, kept: 408, 409, 429, 5xx retry */
    case LLM_TRANSPORT:
    case LLM_REFUSED:
        if (res->body_len <= LLM_RESULT_MAX)
            result_json(res->body, res->body_len, &result);
        if (res->outcome == LLM_UPSTREAM)
            error_text(res, err, sizeof err);
        else
            own_error_text(res, err, sizeof err);
        o.http_status = res->outcome == LLM_UPSTREAM ? res->status : 0; /* ours otherwise */
        o.usage_json = res->usage_json;
        o.retryable = res->retryable && res->should_retry;
        break;
    }
    o.result_json = result.len ? result.data : NULL;
    o.error = err[0] ? err : NULL;
    work_outcome(r->w, r, &o);
    sbuf_deinit(&result);
}

void work_llm_execute(struct work *w, struct run *r)
{
    struct llm *l = w->rt->llm;
    if (!l) {
        struct work_outcome o = {.retry_after_ms = -1, .error = "no LLM provider is available in this worker"};
        work_outcome(w, r, &o);
        return;
    }
    char rid[48];
    snprintf(rid, sizeof rid, "job_%llu.%d", (unsigned long long)r->job.id, r->job.attempt);
    struct llm_call_opts opts = {.tenant = r->job.tenant,
                                 .key_id = r->job.key_id,
                                 .job_id = r->job.id,
                                 .ep = r->job.kind == JOB_LLM_EMBED      ? LLM_EP_EMBED
                                       : r->job.kind == JOB_LLM_RESPONSE ? LLM_EP_RESPONSES
                                                                         : LLM_EP_CHAT,
                                 .body = r->job.payload,
                                 .body_len = strlen(r->job.payload),
                                 .timeout_ms = r->job.timeout_ms,
                                 .job = true,
                                 .request_id = rid};
    work_count_started(w, r);
    r->call = llm_call_start(l, &opts, NULL, call_done_cb, r);
    if (!r->call) {
        struct work_outcome o = {.retryable = true, .retry_after_ms = -1, .error = "cannot start the call"};
        work_outcome(w, r, &o);
    }
}

bool work_llm_stop(struct work *w, struct run *r)
{
    (void)w;
    if (!r->call)
        return false;
    llm_call_cancel(r->call); /* the engine settles and records what was spent (499) */
    r->call = NULL;
    return true;
}

bool work_llm_ready(struct work *w)
{
    /* Named providers arrive with the first read of the tables: until
     * then (and without any) llm.* jobs wait queued for a worker that has
     * one, rather than failing here for want of a route. */
    return w->rt->llm && providers_ready(llm_providers(w->rt->llm)) && providers_any(llm_providers(w->rt->llm));
}
