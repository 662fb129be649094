#include "serve.h"

#include <stdlib.h>

#include "loop.h"
#include "rcache.h"
#include "runtime.h"
#include "serve_admin.h"
#include "serve_attempts.h"
#include "serve_batches.h"
#include "serve_files.h"
#include "serve_jobs.h"
#include "serve_llm.h"
#include "serve_messages.h"
#include "serve_responses.h"
#include "serve_openapi.h"
#include "serve_session.h"
#include "serve_ui.h"
#include "serve_ui_stats.h"
#include "serve_usage.h"
#include "serve_v1.h"
#include "serve_webhooks.h"

struct serve {
    struct serve_jobs *jobs;
    struct rcache *rcache;
    struct serve_session *sess;
    struct serve_files *files;
    struct serve_webhooks *webhooks;
    struct serve_ui *ui;
    struct serve_admin *admin;
};

static void drain_hook(void *arg)
{
    struct serve *s = arg;
    serve_jobs_drain(s->jobs); /* long-polls answer now */
    serve_ui_drain(s->ui);     /* the UI's event streams end */
}

struct serve *serve_start(struct runtime *rt, struct httpd *h, char *err, size_t errlen)
{
    /* Before anything starts a query: rcache_free with its first query in
     * flight is not safe. */
    if (serve_session_check(rt->cfg, err, errlen) < 0)
        return NULL;
    struct serve *s = xcalloc(1, sizeof *s);
    s->rcache = rcache_new(rt, err, errlen);
    if (!s->rcache) {
        free(s);
        return NULL;
    }
    s->jobs = serve_jobs_new(rt, h, err, errlen);
    if (!s->jobs) {
        rcache_free(s->rcache);
        free(s);
        return NULL;
    }
    s->jobs->rcache = s->rcache;
    s->sess = serve_session_new(rt, h, s->jobs->auth); /* the /auth routes: login sessions */
    s->jobs->sess = s->sess;
    serve_attempts_routes(h, s->jobs); /* beside the job routes serve_jobs adds */
    serve_llm_routes(h, s->jobs);      /* the OpenAI-compatible edge, same auth */
    serve_messages_routes(h, s->jobs); /* Anthropic's Messages API, same auth */
    serve_responses_routes(h, s->jobs); /* OpenAI's Responses API, background ones as jobs */
    serve_usage_routes(h, s->jobs);    /* GET /v1/limits, GET /v1/usage */
    serve_openapi_routes(h);           /* GET /openapi.json, no API key */
    s->files = serve_files_routes(h, s->jobs); /* /v1/files */
    s->webhooks = serve_webhooks_routes(h, s->jobs, err, errlen); /* /v1/webhook_endpoints */
    if (!s->webhooks) {
        serve_free(s);
        return NULL;
    }
    s->ui = serve_ui_new(rt, h);               /* /ui: the web UI and its events */
    serve_ui_stats_routes(h, s->jobs);         /* GET /v1/stats/queues (the overview) */
    s->admin = serve_admin_new(h, rt, s->sess); /* /v1/admin: the operator's tenants and keys */
    serve_batches_routes(h, s->jobs);          /* /v1/batches */
    loop_on_drain(rt->loop, drain_hook, s);
    return s;
}

void serve_free(struct serve *s)
{
    if (!s)
        return;
    serve_jobs_free(s->jobs);
    serve_session_free(s->sess);
    rcache_free(s->rcache);
    serve_files_free(s->files);
    serve_webhooks_free(s->webhooks);
    serve_ui_free(s->ui);
    serve_admin_free(s->admin);
    free(s);
}
