#include "health.h"

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "db.h"
#include "httpc.h"
#include "loop.h"
#include "provider.h"
#include "redis.h"

/* The LLM answer is reused this long: probes should not spend a
 * provider's rate limit. */
#define LLM_CACHE_MS 5000

/* The last answer of a named provider's probe. */
struct prov_cache {
    char name[PROVIDER_NAME_MAX + 1];
    uint64_t tag;            /* provider_info.tag probed: another is not this answer */
    struct health_check c;
    int64_t at_ms;
};

struct health {
    struct health_deps d;
    char *models_url;
    char *auth_header[3];    /* the default provider's, NULL-terminated */
    struct health_check llm_cache;
    int64_t llm_cache_at_ms;
    bool llm_cache_valid;
    struct providers *providers;  /* borrowed, or NULL */
    struct prov_cache pcache[HEALTH_MAX_PROVIDERS];
    size_t npcache;
    struct health_run *runs; /* in flight, detached on free */
    struct probe *probes;    /* GET /models in flight, detached on free */
};

/* A run waiting for a probe: its llm check, or its provider idx. */
struct probe_wait {
    struct health_run *r;    /* a reference held */
    size_t idx;
    struct probe_wait *next;
};

/* One GET /models in flight for a provider, shared by every /health that
 * asks meanwhile: a provider that hangs gets one probe with the
 * operator's key, not one per request. */
struct probe {
    struct health *h;        /* NULL once the owner is freed */
    bool llm;                /* the default provider's llm check (else named) */
    char name[PROVIDER_NAME_MAX + 1];
    uint64_t tag;            /* provider_info.tag of what it asks (named) */
    int64_t start_us;
    struct probe_wait *waiters;
    struct probe *next, *prev;
};

struct health_run {
    struct health *h;        /* NULL once the owner is freed */
    unsigned pending;        /* checks not answered yet */
    int refs;                /* pending async callbacks + the answer */
    bool answered;
    unsigned prov_pending;   /* named providers' probes not answered yet */
    bool prov_wait[HEALTH_MAX_PROVIDERS];
    struct health_provider_check prov[HEALTH_MAX_PROVIDERS];
    int64_t start_us;
    struct health_report rep;
    struct event *deadline;
    health_cb cb;
    void *arg;
    struct health_run *next, *prev;
};

const char *health_status_text(enum health_status s)
{
    static const char *const names[] = {"up", "down", "disabled"};
    return names[s];
}

static void run_unlink(struct health_run *r)
{
    if (!r->h)
        return;
    DLIST_REMOVE(r->h->runs, r);
}

static void run_unref(struct health_run *r)
{
    if (--r->refs > 0)
        return;
    run_unlink(r);
    event_free(r->deadline);
    free(r);
}

static void run_answer(struct health_run *r)
{
    if (r->answered)
        return;
    r->answered = true;
    evtimer_del(r->deadline);
    struct health_report *rep = &r->rep;
    bool down = rep->database.status == HEALTH_DOWN || rep->llm.status == HEALTH_DOWN;
    bool degraded = rep->redis.status != HEALTH_UP;
    rep->status = down ? "down" : degraded ? "degraded" : "up";
    rep->http_status = down ? 503 : 200;
    r->cb(rep, r->arg);
    run_unref(r);
}

/* Records one check's result; false when it had already timed out. */
static bool check_record(struct health_run *r, struct health_check *c, enum health_status st,
                         const char *msg, unsigned bit)
{
    if (!(r->pending & bit))
        return false;
    r->pending &= ~bit;
    c->status = st;
    c->latency_ms = (double)(time_mono_us() - r->start_us) / 1000.0;
    snprintf(c->message, sizeof c->message, "%s", msg ? msg : "");
    return true;
}

/* For asynchronous results: records, and answers when it was the last. */
static void check_done(struct health_run *r, struct health_check *c, enum health_status st,
                       const char *msg, unsigned bit)
{
    if (check_record(r, c, st, msg, bit) && !r->pending && !r->prov_pending)
        run_answer(r);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct health_run *r = arg;
    double ms = (double)(time_mono_us() - r->start_us) / 1000.0;
    struct {
        unsigned bit;
        struct health_check *c;
    } all[] = {{HEALTH_CHECK_DB, &r->rep.database},
               {HEALTH_CHECK_REDIS, &r->rep.redis},
               {HEALTH_CHECK_LLM, &r->rep.llm}};
    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
        if (r->pending & all[i].bit) {
            all[i].c->status = HEALTH_DOWN;
            all[i].c->latency_ms = ms;
            snprintf(all[i].c->message, sizeof all[i].c->message, "no answer within %.0fms", ms);
        }
    }
    r->pending = 0;
    for (size_t i = 0; i < r->rep.nproviders; i++) {
        if (r->prov_wait[i]) {
            r->prov_wait[i] = false;
            struct health_check *c = &r->prov[i].c;
            c->status = HEALTH_DOWN;
            c->latency_ms = ms;
            snprintf(c->message, sizeof c->message, "no answer within %.0fms", ms);
        }
    }
    r->prov_pending = 0;
    run_answer(r);
}

static void db_cb(const struct db_result *res, void *arg)
{
    struct health_run *r = arg;
    check_done(r, &r->rep.database, res->ok ? HEALTH_UP : HEALTH_DOWN, res->error,
               HEALTH_CHECK_DB);
    run_unref(r);
}

static void redis_cb(struct redisReply *reply, const char *err, void *arg)
{
    struct health_run *r = arg;
    bool ok = reply && reply->type == REDIS_REPLY_STATUS;
    check_done(r, &r->rep.redis, ok ? HEALTH_UP : HEALTH_DOWN,
               ok ? "" : (err ? err : (reply && reply->str ? reply->str : "bad reply")),
               HEALTH_CHECK_REDIS);
    run_unref(r);
}

/* A probe's answer as a check: up for 2xx (a provider that answers with
 * the key refused is down: requests would fail the same way). */
static enum health_status probe_status(const struct httpc_response *resp, char *msg, size_t n)
{
    msg[0] = '\0';
    if (resp->error) {
        snprintf(msg, n, "%s", resp->error);
        return HEALTH_DOWN;
    }
    if (resp->status < 200 || resp->status > 299) {
        snprintf(msg, n, "GET /models answered HTTP %ld%s", resp->status,
                 resp->status == 401 || resp->status == 403 ? " (key rejected)" : "");
        return HEALTH_DOWN;
    }
    return HEALTH_UP;
}

static struct prov_cache *pcache_find(struct health *h, const char *name, bool create)
{
    for (size_t i = 0; i < h->npcache; i++)
        if (strcmp(h->pcache[i].name, name) == 0)
            return &h->pcache[i];
    if (!create)
        return NULL;
    size_t at = h->npcache;
    if (at == HEALTH_MAX_PROVIDERS) { /* full (providers removed since): reuse the oldest */
        at = 0;
        for (size_t i = 1; i < h->npcache; i++)
            if (h->pcache[i].at_ms < h->pcache[at].at_ms)
                at = i;
    } else {
        h->npcache++;
    }
    memset(&h->pcache[at], 0, sizeof h->pcache[at]);
    snprintf(h->pcache[at].name, sizeof h->pcache[at].name, "%s", name);
    return &h->pcache[at];
}

static void prov_deliver(struct health_run *r, size_t i, enum health_status st, const char *msg)
{
    if (!r->prov_wait[i])
        return; /* timed out meanwhile */
    r->prov_wait[i] = false;
    r->prov_pending--;
    struct health_check *c = &r->prov[i].c;
    c->status = st;
    c->latency_ms = (double)(time_mono_us() - r->start_us) / 1000.0;
    snprintf(c->message, sizeof c->message, "%s", msg);
    if (!r->pending && !r->prov_pending)
        run_answer(r);
}

static void probe_cb(const struct httpc_response *resp, void *arg)
{
    struct probe *p = arg;
    struct health *h = p->h;
    char msg[200] = "";
    enum health_status st;
    if (p->llm) { /* the default's check says it as before */
        st = HEALTH_UP;
        if (resp->error) {
            st = HEALTH_DOWN;
            snprintf(msg, sizeof msg, "%s", resp->error);
        } else if (resp->status < 200 || resp->status > 299) {
            st = HEALTH_DOWN;
            snprintf(msg, sizeof msg, "GET /models answered HTTP %ld", resp->status);
        }
    } else {
        st = probe_status(resp, msg, sizeof msg);
    }
    if (h) {
        DLIST_REMOVE(h->probes, p);
        struct health_check c = {.status = st,
                                 .latency_ms = (double)(time_mono_us() - p->start_us) / 1000.0};
        snprintf(c.message, sizeof c.message, "%s", msg);
        if (p->llm) {
            h->llm_cache = c;
            h->llm_cache_at_ms = time_mono_ms();
            h->llm_cache_valid = true;
        } else {
            struct prov_cache *pc = pcache_find(h, p->name, true);
            pc->tag = p->tag;
            pc->c = c;
            pc->at_ms = time_mono_ms();
        }
    }
    while (p->waiters) {
        struct probe_wait *w = p->waiters;
        p->waiters = w->next;
        if (p->llm)
            check_done(w->r, &w->r->rep.llm, st, msg, HEALTH_CHECK_LLM);
        else
            prov_deliver(w->r, w->idx, st, msg);
        run_unref(w->r);
        free(w);
    }
    free(p);
}

/* Joins r to the probe of that provider in flight, or starts one. -1:
 * it cannot start (r not joined). */
static struct probe *probe_find(struct health *h, bool llm, const char *name, uint64_t tag)
{
    struct probe *p = h->probes;
    while (p && !(p->llm == llm && p->tag == tag && strcmp(p->name, name) == 0))
        p = p->next;
    return p;
}

static int probe_join(struct health *h, struct health_run *r, bool llm, size_t idx, const char *name,
                      uint64_t tag, const struct httpc_request *req)
{
    struct probe *p = probe_find(h, llm, name, tag);
    if (!p) {
        if (!req) /* only joining was asked, and nothing is in flight */
            return -1;
        p = xcalloc(1, sizeof *p);
        p->h = h;
        p->llm = llm;
        p->tag = tag;
        snprintf(p->name, sizeof p->name, "%s", name);
        p->start_us = time_mono_us();
        if (httpc_send(h->d.httpc, req, probe_cb, p) < 0) {
            free(p);
            return -1;
        }
        DLIST_PUSH(h->probes, p);
    }
    struct probe_wait *w = xcalloc(1, sizeof *w);
    w->r = r;
    w->idx = idx;
    w->next = p->waiters;
    p->waiters = w;
    r->refs++;
    return 0;
}

_Static_assert(sizeof(((struct health_provider_check *)0)->name) == sizeof(((struct provider_info *)0)->name),
               "provider names are copied whole");

/* Starts (or answers from the cache) the probe of every named provider. */
static void probe_providers(struct health *h, struct health_run *r, long long timeout_ms)
{
    struct provider_info info[HEALTH_MAX_PROVIDERS + 1];
    size_t n = providers_list(h->providers, info, ARRAY_LEN(info));
    r->rep.providers = r->prov;
    for (size_t k = 0; k < n && r->rep.nproviders < HEALTH_MAX_PROVIDERS; k++) {
        if (strcmp(info[k].name, PROVIDER_DEFAULT) == 0)
            continue;
        size_t i = r->rep.nproviders++;
        struct health_provider_check *pc = &r->prov[i];
        memcpy(pc->name, info[k].name, sizeof pc->name); /* same size, NUL-terminated */
        const struct prov_cache *cached = pcache_find(h, pc->name, false);
        if (cached && cached->at_ms && cached->tag == info[k].tag &&
            time_mono_ms() - cached->at_ms < LLM_CACHE_MS) {
            pc->c = cached->c;
            continue;
        }
        r->prov_wait[i] = true;
        r->prov_pending++;
        /* A probe in flight of the same name and tag is joined: no second
         * request, no key opened. One of a changed provider is not. */
        if (probe_find(h, false, pc->name, info[k].tag)) {
            if (probe_join(h, r, false, i, pc->name, info[k].tag, NULL) < 0)
                abort(); /* joining never sends */
            continue;
        }
        struct provider_target t;
        char why[256];
        if (providers_get(h->providers, pc->name, &t, why, sizeof why) < 0) {
            r->prov_wait[i] = false;
            r->prov_pending--;
            pc->c.status = HEALTH_DOWN;
            snprintf(pc->c.message, sizeof pc->c.message, "%s", why);
            continue;
        }
        char *url = xasprintf("%s/models", t.base_url);
        char *hdr[3];
        provider_auth_headers(&t, hdr);
        struct httpc_request req = {.method = "GET",
                                    .url = url,
                                    .headers = (const char *const *)hdr,
                                    .timeout_ms = timeout_ms,
                                    .max_body = (size_t)64 * 1024};
        if (probe_join(h, r, false, i, pc->name, info[k].tag, &req) < 0) {
            r->prov_wait[i] = false;
            r->prov_pending--;
            pc->c.status = HEALTH_DOWN;
            snprintf(pc->c.message, sizeof pc->c.message, "cannot start request");
        }
        provider_header_free(hdr);
        free(url);
        provider_target_deinit(&t);
    }
}

void health_set_providers(struct health *h, struct providers *ps)
{
    h->providers = ps;
    h->npcache = 0;
    /* The default provider's probe speaks its adapter's dialect. */
    struct provider_target t;
    char why[256];
    if (ps && h->models_url && providers_get(ps, PROVIDER_DEFAULT, &t, why, sizeof why) == 0) {
        provider_header_free(h->auth_header);
        provider_auth_headers(&t, h->auth_header);
        provider_target_deinit(&t);
    }
}

struct health *health_new(const struct health_deps *d)
{
    struct health *h = xcalloc(1, sizeof *h);
    h->d = *d;
    if (d->llm_base_url && *d->llm_base_url) {
        size_t n = strlen(d->llm_base_url);
        while (n && d->llm_base_url[n - 1] == '/')
            n--;
        h->models_url = xasprintf("%.*s/models", (int)n, d->llm_base_url);
        if (d->llm_api_key && *d->llm_api_key)
            h->auth_header[0] = xasprintf("Authorization: Bearer %s", d->llm_api_key);
    }
    return h;
}

void health_free(struct health *h)
{
    if (!h)
        return;
    /* Runs still unanswered (shutdown past its grace) must not call back
     * into owners that are being torn down. */
    struct health_run *r = h->runs;
    while (r) {
        struct health_run *next = r->next;
        r->h = NULL;
        r->next = r->prev = NULL;
        if (!r->answered) {
            r->answered = true;
            evtimer_del(r->deadline);
            run_unref(r); /* the answer's reference */
        }
        r = next;
    }
    /* Probes in flight answer their runs (kept alive by their
     * references) when httpc calls back, and cache nothing. */
    for (struct probe *p = h->probes; p; p = p->next)
        p->h = NULL;
    free(h->models_url);
    provider_header_free(h->auth_header);
    free(h);
}

void health_run(struct health *h, unsigned which, long long budget_ms, health_cb cb, void *arg)
{
    struct health_run *r = xcalloc(1, sizeof *r);
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->refs = 1;
    r->start_us = time_mono_us();
    r->deadline = evtimer_new(loop_base(h->d.loop), deadline_cb, r);
    if (!r->deadline)
        abort();
    DLIST_PUSH(h->runs, r);
    r->rep.database.status = r->rep.redis.status = r->rep.llm.status = HEALTH_DISABLED;
    long long sub = budget_ms > 100 ? budget_ms - 50 : budget_ms;
    struct timeval tv = loop_tv(budget_ms);
    evtimer_add(r->deadline, &tv);

    r->pending = which;
    /* Checks that know their answer at once only record it; the run is
     * answered once every check has started. */
    if (which & HEALTH_CHECK_DB) {
        if (!h->d.db) {
            check_record(r, &r->rep.database, HEALTH_DOWN, "not configured", HEALTH_CHECK_DB);
        } else {
            r->refs++;
            db_query(h->d.db, "SELECT 1", sub, db_cb, r);
        }
    }
    if (which & HEALTH_CHECK_REDIS) {
        enum redis_state st = h->d.redis ? redis_state(h->d.redis) : REDIS_DISABLED;
        if (st == REDIS_DISABLED) {
            check_record(r, &r->rep.redis, HEALTH_DISABLED, "REDIS_URL not set", HEALTH_CHECK_REDIS);
        } else if (st != REDIS_READY) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s: %s", redis_state_text(st), redis_last_error(h->d.redis));
            check_record(r, &r->rep.redis, HEALTH_DOWN, msg, HEALTH_CHECK_REDIS);
        } else {
            const char *argv[] = {"PING"};
            r->refs++;
            if (redis_cmd(h->d.redis, 1, argv, NULL, sub < 500 ? sub : 500, redis_cb, r) < 0) {
                r->refs--;
                check_record(r, &r->rep.redis, HEALTH_DOWN, "not connected", HEALTH_CHECK_REDIS);
            }
        }
    }
    if (which & HEALTH_CHECK_LLM) {
        if (!h->models_url) {
            check_record(r, &r->rep.llm, HEALTH_DISABLED, "LLM_BASE_URL not set", HEALTH_CHECK_LLM);
        } else if (h->llm_cache_valid && time_mono_ms() - h->llm_cache_at_ms < LLM_CACHE_MS) {
            struct health_check c = h->llm_cache;
            check_record(r, &r->rep.llm, c.status, c.message, HEALTH_CHECK_LLM);
            r->rep.llm.latency_ms = c.latency_ms;
        } else {
            struct httpc_request req = {.method = "GET",
                                        .url = h->models_url,
                                        .headers = (const char *const *)h->auth_header,
                                        .timeout_ms = sub,
                                        .max_body = (size_t)64 * 1024};
            if (probe_join(h, r, true, 0, PROVIDER_DEFAULT, 0, &req) < 0) {
                check_record(r, &r->rep.llm, HEALTH_DOWN, "cannot start request", HEALTH_CHECK_LLM);
            }
        }
    }
    if ((which & HEALTH_CHECK_LLM) && h->providers)
        probe_providers(h, r, sub);
    if (!r->pending && !r->prov_pending)
        run_answer(r);
}

static void check_json(struct sbuf *out, const char *name, const struct health_check *c)
{
    sbuf_json_str(out, name);
    sbuf_printf(out, ":{\"status\":\"%s\",\"latency_ms\":%.3f", health_status_text(c->status),
                c->latency_ms);
    if (c->message[0]) {
        sbuf_puts(out, ",\"message\":");
        sbuf_json_str(out, c->message);
    }
    sbuf_putc(out, '}');
}

void health_report_json(const struct health_report *r, const char *version, struct sbuf *out)
{
    sbuf_printf(out, "{\"status\":\"%s\",\"checks\":{", r->status);
    check_json(out, "database", &r->database);
    sbuf_putc(out, ',');
    check_json(out, "redis", &r->redis);
    sbuf_putc(out, ',');
    check_json(out, "llm", &r->llm);
    if (r->nproviders) {
        out->len--; /* inside checks.llm */
        out->data[out->len] = '\0';
        sbuf_puts(out, ",\"providers\":{");
        for (size_t i = 0; i < r->nproviders; i++) {
            if (i)
                sbuf_putc(out, ',');
            check_json(out, r->providers[i].name, &r->providers[i].c);
        }
        sbuf_puts(out, "}}");
    }
    sbuf_puts(out, "},\"version\":");
    sbuf_json_str(out, version);
    sbuf_putc(out, '}');
}
