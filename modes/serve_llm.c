#include "serve_llm.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "job.h"
#include "jtree.h"
#include "llm.h"
#include "log.h"
#include "loop.h"
#include "provider.h"
#include "rcache.h"
#include "rcache_sse.h"
#include "runtime.h"
#include "serve_v1.h"

/* How often a call checks that its client is still there while nothing
 * else would tell it: a plain call, or a stream whose client left before
 * the provider's 200. A stream's client leaving afterwards is told at once
 * (the stream's gone callback). */
#define GONE_POLL_MS 25
/* A stream's bytes waiting for a client that does not read: past this the
 * client counts as gone (the upstream stops, what it produced is
 * recorded), rather than the provider's whole answer held in memory. */
#define STREAM_BACKLOG_MAX ((size_t)4 << 20)
/* 429 and 503 always say when to come back; this when nobody said. */
#define RETRY_DEFAULT_MS 1000

static const char done_event[] = "data: [DONE]\n\n";

/* One sync call: its request (through c) and the engine's call. */
struct sync {
    struct v1 *c;
    struct llm_call *call;  /* NULL once done or cancelled */
    struct event *poll;
    bool begun;             /* the stream's head is out */
    bool done_sent;         /* the engine relayed "data: [DONE]" itself */
    enum llm_endpoint ep;
    bool stream, client_usage;
    /* The response cache (rcache.h): Ingot-Cache-Status when the request
     * or its tenant asked for the cache, else NULL. */
    const char *cache_status;
    struct rcache_get *get; /* a lookup in flight */
    cJSON *json;            /* the parsed body, kept while it runs */
    bool store;             /* a 200 answer is stored under key */
    long long ttl_s;
    char key[65], provider[PROVIDER_NAME_MAX + 1];
    struct rcache_acc *acc; /* a stream's chunks, put together to be stored */
    int64_t t0_us;
};

static void sync_free(struct sync *s)
{
    if (s->poll)
        event_free(s->poll);
    if (s->get)
        rcache_get_cancel(s->get);
    cJSON_Delete(s->json);
    rcache_acc_free(s->acc);
    v1_free(s->c);
    free(s);
}

/* A 200 answer into the cache: a plain one as it is, a stream as the
 * completion its chunks add up to. */
static void cache_store(struct sync *s, const struct llm_result *res)
{
    if (!s->store || res->outcome != LLM_OK || res->status != 200)
        return;
    if (!s->begun) {
        if (res->body && res->body_len)
            rcache_put(s->c->sj->rcache, s->key, res->body, res->body_len, s->ttl_s);
        return;
    }
    size_t n = 0;
    char *t = s->acc ? rcache_acc_finish(s->acc, res->usage_json, &n) : NULL;
    if (t)
        rcache_put(s->c->sj->rcache, s->key, t, n, s->ttl_s);
    cJSON_free(t);
}

/* 429 and 503 say when to come back (seconds rounded up, and ms, the SDK
 * reading the latter first); a refusal retrying cannot fix (a budget
 * spent: retry-after is its reset; a call larger than a whole limit: no
 * retry-after) says not to. */
static void retry_headers(struct http_req *r, int status, long long ms, bool should_retry)
{
    if (!should_retry)
        http_add_header(r, "x-should-retry", "false");
    if (status != 429 && status != 503)
        return;
    if (!should_retry && ms < 0)
        return; /* never fits: no time would help */
    if (ms < 0)
        ms = RETRY_DEFAULT_MS;
    char v[32];
    snprintf(v, sizeof v, "%lld", (ms + 999) / 1000);
    http_add_header(r, "retry-after", v);
    snprintf(v, sizeof v, "%lld", ms);
    http_add_header(r, "retry-after-ms", v);
}

static void done_cb(const struct llm_result *res, void *arg)
{
    struct sync *s = arg;
    struct http_req *r = s->c->r;
    s->call = NULL;
    cache_store(s, res);
    if (s->begun) {
        /* The SDK stops at [DONE]; after an error event it has raised. */
        if (res->outcome == LLM_OK && !s->done_sent && s->ep != LLM_EP_RESPONSES) /* a Responses stream has none */
            http_stream_write(r, done_event, sizeof done_event - 1);
        http_stream_end(r);
        sync_free(s);
        return;
    }
    int status = res->status >= 200 && res->status <= 599 ? res->status : 502;
    if (res->outcome != LLM_OK)
        retry_headers(r, status, res->retry_after_ms, res->should_retry);
    if (s->cache_status)
        http_add_header(r, "Ingot-Cache-Status", s->cache_status);
    if (res->body && res->body_len)
        http_reply_json(r, status, res->body, res->body_len);
    else /* the engine always gives a body: never answer nothing */
        http_reply_error(r, status < 400 ? 502 : status, "api_error", NULL, "upstream_error",
                         "the provider gave no usable answer");
    sync_free(s);
}

/* The client left: the upstream request stops now (the engine records
 * what was produced, 499), and the reply goes nowhere. */
static void abandon(struct sync *s)
{
    if (s->call)
        llm_call_cancel(s->call);
    s->call = NULL;
    if (s->begun)
        http_stream_end(s->c->r);
    else
        http_reply_error(s->c->r, 499, "invalid_request_error", NULL, "client_closed",
                         "the client closed the connection");
    sync_free(s);
}

static void stream_gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    abandon(arg);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sync *s = arg;
    if (http_req_gone(s->c->r))
        abandon(s);
}

static void begin_cb(void *arg)
{
    struct sync *s = arg;
    struct http_req *r = s->c->r;
    /* Proxies in front (nginx) must pass each event on at once;
     * Cache-Control: no-cache and x-request-id come with every stream. */
    http_add_header(r, "X-Accel-Buffering", "no");
    if (s->cache_status)
        http_add_header(r, "Ingot-Cache-Status", s->cache_status);
    http_stream_begin(r, 200, "text/event-stream", stream_gone_cb, s);
    http_stream_eof_gone(r); /* an SSE client's EOF: it left (cancel within ms, not at the next event) */
    s->begun = true;
}

static void event_cb(const char *data, size_t len, void *arg)
{
    struct sync *s = arg;
    if (!s->begun) /* the engine begins first; never write before the head */
        begin_cb(s);
    if (len == sizeof done_event - 1 && memcmp(data, done_event, len) == 0)
        s->done_sent = true;
    if (s->acc)
        rcache_acc_event(s->acc, data, len);
    /* written as soon as the socket takes it */
    if (http_stream_write(s->c->r, data, len) > STREAM_BACKLOG_MAX) {
        LOG_AT(LOG_WARN, http_req_id(s->c->r), NULL, "llm stream: the client reads nothing (%zu bytes waiting): stopped",
               STREAM_BACKLOG_MAX);
        abandon(s);
    }
}

static const struct llm_stream_cbs stream_cbs = {.begin = begin_cb, .event = event_cb};

static void reply_no_llm(struct v1 *c)
{
    http_add_header(c->r, "retry-after", "1");
    http_add_header(c->r, "retry-after-ms", "1000");
    http_reply_error(c->r, 503, "server_error", NULL, "llm_unavailable",
                     "the LLM gateway is not available in this process");
    v1_free(c);
}

/* The provider call (after a cache miss, or without the cache). j is
 * borrowed for the call's start. */
static void call_provider(struct sync *s, const cJSON *j)
{
    struct v1 *c = s->c;
    struct runtime *rt = c->sj->rt;
    size_t len;
    const char *body = http_req_body(c->r, &len);
    struct llm_call_opts o = {.tenant = c->tenant,
                              .key_id = c->key,
                              .ep = s->ep,
                              .body = body,
                              .body_len = len,
                              .timeout_ms = rt->cfg->llm_timeout_ms,
                              .request_id = http_req_id(c->r),
                              .json = j}; /* parsed once: the engine borrows it */
    s->call = llm_call_start(rt->llm, &o, s->stream ? &stream_cbs : NULL, done_cb, s);
    if (!s->call) { /* the engine refuses nothing this way, but never hang */
        http_reply_error(c->r, 503, "server_error", NULL, "llm_unavailable", "cannot start the call");
        sync_free(s);
    }
}

/* An answer from the cache: as it was stored, or as a stream's events. */
static void answer_hit(struct sync *s, const char *val, size_t len)
{
    struct http_req *r = s->c->r;
    http_add_header(r, "Ingot-Cache-Status", "hit");
    if (s->stream) {
        struct sbuf ev;
        sbuf_init(&ev);
        if (rcache_sse_events(val, len, s->client_usage, &ev) < 0) { /* cannot happen for a chat entry */
            sbuf_deinit(&ev);
            http_reply_error(r, 500, "server_error", NULL, "cache_error", "a cached answer could not be streamed");
            sync_free(s);
            return;
        }
        sbuf_puts(&ev, done_event);
        http_add_header(r, "X-Accel-Buffering", "no");
        http_stream_begin(r, 200, "text/event-stream", stream_gone_cb, s);
        s->begun = true;
        http_stream_write(r, ev.data, ev.len);
        http_stream_end(r);
        sbuf_deinit(&ev);
    } else {
        http_reply_json(r, 200, val, len);
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(s->json, "model");
    llm_record_cache_hit(s->c->sj->rt->llm, s->c->tenant, s->c->key, s->provider,
                         cJSON_IsString(model) ? model->valuestring : "", s->ep,
                         (double)(time_mono_us() - s->t0_us) / 1000.0, http_req_id(r));
    rcache_count(s->c->sj->rcache, "hit");
    sync_free(s);
}

static void cache_got_cb(const char *val, size_t len, void *arg)
{
    struct sync *s = arg;
    s->get = NULL;
    if (val) {
        answer_hit(s, val, len);
        return;
    }
    rcache_count(s->c->sj->rcache, "miss");
    cJSON *j = s->json;
    s->json = NULL;
    call_provider(s, j);
    cJSON_Delete(j);
}

/* Reads Ingot-Cache and the tenant's opt-in: whether to look up, store,
 * or leave the cache alone. -1 after answering 400. */
static int cache_setup(struct sync *s, const cJSON *j)
{
    struct rcache *rc = s->c->sj->rcache;
    struct http_req *r = s->c->r;
    enum rcache_mode mode;
    if (rcache_mode_parse(http_req_header(r, "Ingot-Cache"), &mode) < 0) {
        http_reply_error(r, 400, "invalid_request_error", "Ingot-Cache", "invalid_value",
                         "the Ingot-Cache header must be use, refresh or skip");
        return -1;
    }
    long long ttl = rc ? rcache_tenant_ttl(rc, s->c->tenant) : 0;
    if (mode == RCACHE_DEFAULT) {
        if (!ttl)
            return 0; /* not asked for: no header on the answer either */
        mode = RCACHE_USE;
    }
    s->cache_status = "skip";
    if (!rc || mode == RCACHE_SKIP || s->ep == LLM_EP_RESPONSES) /* not cached: chat and embeddings are */
        return 0;
    if (!rcache_deterministic(s->ep, j)) {
        rcache_count(rc, "skip");
        return 0;
    }
    char parts[4][LLM_ROUTE_PART_MAX];
    const cJSON *model = jtree_get(j, "model");
    const char *route[4] = {parts[0], parts[1], parts[2], parts[3]};
    if (llm_route_parts(s->c->sj->rt->llm, s->c->tenant, model->valuestring, parts) < 0 ||
        rcache_key(s->c->sj->rt->installation_id, s->c->tenant, route, s->ep, j, s->key) < 0)
        return 0; /* llm_check routed it a moment ago; the call says what changed */
    util_strcpy(s->provider, sizeof s->provider, parts[0]);
    s->ttl_s = ttl ? ttl : rcache_default_ttl(rc);
    s->store = true;
    s->cache_status = "miss";
    if (s->stream)
        s->acc = rcache_acc_new();
    if (mode == RCACHE_USE)
        s->get = rcache_get(rc, s->key, cache_got_cb, s);
    else
        rcache_count(rc, "miss"); /* refresh */
    return 0;
}

/* The body's tree: jtree's block (block), else cJSON's nodes. */
static void body_free(cJSON *j, bool block)
{
    if (block)
        jtree_free(j);
    else
        cJSON_Delete(j);
}

void serve_llm_sync(struct v1 *c, enum llm_endpoint ep)
{
    struct runtime *rt = c->sj->rt;
    if (!rt->llm) {
        reply_no_llm(c);
        return;
    }
    size_t len;
    const char *body = http_req_body(c->r, &len);
    struct job_error e;
    e.code[0] = '\0';
    /* Most bodies in one pass and one block (jtree); the rest, and every
     * refusal's words, the usual way. */
    cJSON *j = jtree_parse(body, len);
    bool block = j != NULL;
    if (!j)
        j = job_json_parse(body, len, &e);
    if (j && llm_check(rt->llm, c->tenant, ep, j, false, &e) < 0) {
        body_free(j, block);
        j = NULL;
    }
    if (!j) {
        v1_reply_job_error(c->r, &e, "");
        v1_free(c);
        return;
    }
    struct sync *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->ep = ep;
    s->t0_us = time_mono_us();
    /* The SDK sends Accept: application/json even for streams: the body
     * decides. */
    s->stream = (ep == LLM_EP_CHAT || ep == LLM_EP_RESPONSES) && cJSON_IsTrue(jtree_get(j, "stream"));
    const cJSON *so = jtree_get(j, "stream_options");
    s->client_usage = cJSON_IsTrue(jtree_get(so, "include_usage"));
    s->poll = event_new(loop_base(rt->loop), -1, EV_PERSIST, poll_cb, s);
    if (!s->poll)
        abort();
    if (cache_setup(s, j) < 0) {
        body_free(j, block);
        sync_free(s);
        return;
    }
    struct timeval tv = loop_tv(GONE_POLL_MS);
    event_add(s->poll, &tv);
    if (s->get) { /* the body waits with the lookup (sync_free frees it: cJSON's) */
        s->json = block ? cJSON_Duplicate(j, true) : j;
        if (block)
            jtree_free(j);
        return;
    }
    call_provider(s, j);
    body_free(j, block);
}

/* POST /v1/chat/completions */
static void chat(struct v1 *c)
{
    serve_llm_sync(c, LLM_EP_CHAT);
}

/* POST /v1/embeddings */
static void embeddings(struct v1 *c)
{
    serve_llm_sync(c, LLM_EP_EMBED);
}

/* GET /v1/models[/{id}]: the engine's cached union of the providers'
 * lists and the routes. */
static void models_cb(const char *json, void *arg)
{
    struct v1 *c = arg;
    /* An id with slashes ("provider/model", "org/name"): clients that do
     * not encode them (older SDKs) send more segments. */
    const char *id = http_req_param(c->r, "id"), *p1 = http_req_param(c->r, "p1"),
               *p2 = http_req_param(c->r, "p2");
    char joined[3 * (LLM_MODEL_MAX + 1)];
    if (id && p1) {
        snprintf(joined, sizeof joined, "%s/%s%s%s", p1, p2 ? p2 : "", p2 ? "/" : "", id);
        id = joined;
    }
    if (!json) {
        http_add_header(c->r, "retry-after", "1");
        http_add_header(c->r, "retry-after-ms", "1000");
        http_reply_error(c->r, 503, "server_error", NULL, "models_unavailable",
                         "the model list is not available; retry shortly");
        v1_free(c);
        return;
    }
    if (!id) {
        http_reply_json(c->r, 200, json, strlen(json));
        v1_free(c);
        return;
    }
    cJSON *list = cJSON_Parse(json);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(list, "data");
    const cJSON *found = NULL;
    for (const cJSON *m = cJSON_IsArray(data) ? data->child : NULL; m && !found; m = m->next) {
        const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (cJSON_IsString(mid) && strcmp(mid->valuestring, id) == 0)
            found = m;
    }
    char *one = found ? cJSON_PrintUnformatted(found) : NULL;
    if (one)
        http_reply_json(c->r, 200, one, strlen(one));
    else /* OpenAI's answer for a model that does not exist */
        http_reply_error(c->r, 404, "invalid_request_error", "model", "model_not_found",
                         "The model '%.200s' does not exist", id);
    cJSON_free(one);
    cJSON_Delete(list);
    v1_free(c);
}

static void models(struct v1 *c)
{
    struct runtime *rt = c->sj->rt;
    if (!rt->llm) {
        reply_no_llm(c);
        return;
    }
    llm_models(rt->llm, c->tenant, models_cb, c);
}

int v1_check_llm_job(struct serve_jobs *sj, uint64_t tenant, const cJSON *job, struct job_error *e)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(job, "kind");
    int k = cJSON_IsString(kind) ? job_kind_parse(kind->valuestring) : -1;
    if (k != JOB_LLM_CHAT && k != JOB_LLM_EMBED && k != JOB_LLM_RESPONSE)
        return 0;
    memset(e, 0, sizeof *e);
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(job, "payload");
    if (!sj->rt->llm) {
        e->status = 400;
        snprintf(e->param, sizeof e->param, "payload.model");
        snprintf(e->message, sizeof e->message, "no LLM provider is available to run payload.model");
        return -1;
    }
    enum llm_endpoint ep = k == JOB_LLM_CHAT ? LLM_EP_CHAT : k == JOB_LLM_EMBED ? LLM_EP_EMBED : LLM_EP_RESPONSES;
    if (llm_check(sj->rt->llm, tenant, ep, payload, true, e) == 0)
        return 0;
    /* the engine names the field of the body: under a job it is payload's */
    if (e->status == 400 && strncmp(e->param, "payload", 7) != 0) { /* a 503 names no field */
        char p[sizeof e->param];
        snprintf(p, sizeof p, "payload%s%.*s", e->param[0] ? "." : "", (int)sizeof p - 10, e->param);
        memcpy(e->param, p, sizeof p);
    }
    return -1;
}

V1_ROUTE(chat)
V1_ROUTE(embeddings)
V1_ROUTE(models)

void serve_llm_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_POST, "/v1/chat/completions", 0, chat_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/embeddings", 0, embeddings_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/models", 0, models_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/models/{id}", 0, models_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/models/{p1}/{id}", 0, models_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/models/{p1}/{p2}/{id}", 0, models_route, sj);
}
