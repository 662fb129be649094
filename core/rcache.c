#include "rcache.h"

#include <cJSON.h>
#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <mysql.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "rcache_local.h"
#include "redis.h"
#include "runtime.h"
#include "util.h"

/* Tenants' opt-ins are re-read this often (an admin change applies
 * within it in every process). */
#define RCACHE_REFRESH_MS 3000
#define RCACHE_REDIS_TIMEOUT_MS 200
/* Disk: one subdirectory of CACHE_PATH swept for expired files at a time. */
#define RCACHE_SWEEP_MS 2000

struct tenant_ttl {
    uint64_t tenant;
    long long ttl_s;
};

struct rcache {
    struct runtime *rt;
    enum rcache_backend backend;
    struct event *refresh, *sweep;
    bool loading;
    bool orphan; /* freed while its query ran: tenants_cb frees the struct */
    struct tenant_ttl *tenants;
    size_t ntenants;
    unsigned sweep_next;
    struct log_limit warn_log;
    unsigned long long warn_dropped;
    struct rcache_mem *mem; /* RCACHE_MEMORY */
    struct rcache_get *gets; /* in flight, for rcache_free */
    struct metric_series *m_hit, *m_miss, *m_skip, *m_stored;
};

struct rcache_get {
    struct rcache *rc;
    struct rcache_get *prev, *next;
    rcache_get_cb cb;
    void *arg;
    bool cancelled, redis_pending;
    struct event *ev; /* memory and disk answer on the next loop turn */
    char *val;
    size_t len;
};

const char *rcache_backend_name(enum rcache_backend b)
{
    return b == RCACHE_REDIS ? "redis" : b == RCACHE_DISK ? "disk" : "memory";
}

enum rcache_backend rcache_backend(const struct rcache *rc)
{
    return rc->backend;
}

int rcache_mode_parse(const char *v, enum rcache_mode *out)
{
    static const char *const names[] = {"use", "refresh", "skip"};
    if (!v) {
        *out = RCACHE_DEFAULT;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = (enum rcache_mode)(RCACHE_USE + (int)i);
            return 0;
        }
    return -1;
}

long long rcache_default_ttl(const struct rcache *rc)
{
    return rc->rt->cfg->cache_ttl_ms / 1000;
}

long long rcache_tenant_ttl(const struct rcache *rc, uint64_t tenant)
{
    size_t lo = 0, hi = rc->ntenants;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rc->tenants[mid].tenant == tenant)
            return rc->tenants[mid].ttl_s;
        if (rc->tenants[mid].tenant < tenant)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

bool rcache_deterministic(enum llm_endpoint ep, const cJSON *body)
{
    if (ep == LLM_EP_EMBED)
        return true;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "temperature");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(body, "seed");
    return (cJSON_IsNumber(t) && t->valuedouble == 0) || cJSON_IsNumber(seed);
}

/* ---- the key ---- */

static int key_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* Every object's members in key order, so that {"a":1,"b":2} and
 * {"b":2,"a":1} are one entry. */
static int sort_tree(cJSON *j, int depth)
{
    if (depth > 64)
        return -1;
    if (cJSON_IsObject(j)) {
        size_t n = 0;
        for (cJSON *c = j->child; c; c = c->next)
            n++;
        if (n > 1) {
            cJSON **v = xmalloc(n * sizeof(cJSON *));
            size_t i = 0;
            for (cJSON *c = j->child; c; c = c->next)
                v[i++] = c;
            qsort(v, n, sizeof(cJSON *), key_cmp);
            for (i = 0; i < n; i++) {
                v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: the first's prev is the last */
                v[i]->next = i + 1 < n ? v[i + 1] : NULL;
            }
            j->child = v[0];
            free(v);
        }
    }
    if (cJSON_IsObject(j) || cJSON_IsArray(j))
        for (cJSON *c = j->child; c; c = c->next)
            if (sort_tree(c, depth + 1) < 0)
                return -1;
    return 0;
}

int rcache_key(const char *installation, uint64_t tenant, const char *const route[4], enum llm_endpoint ep,
               const cJSON *body, char out[65])
{
    cJSON *copy = cJSON_Duplicate(body, 1);
    if (!copy)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "stream");
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "stream_options");
    char *text = sort_tree(copy, 0) == 0 ? cJSON_PrintUnformatted(copy) : NULL;
    cJSON_Delete(copy);
    if (!text)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned mdlen = 0;
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)tenant);
    const char *parts[] = {"ingot-rcache-1", installation, t, route[0], route[1], route[2], route[3],
                           ep == LLM_EP_EMBED ? "embeddings" : "chat.completions", text};
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < ARRAY_LEN(parts); i++) /* each part with its NUL: no two splits agree */
        ok = EVP_DigestUpdate(ctx, parts[i] ? parts[i] : "", strlen(parts[i] ? parts[i] : "") + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof md;
    EVP_MD_CTX_free(ctx);
    cJSON_free(text);
    if (!ok)
        return -1;
    util_hex(md, sizeof md, out);
    return 0;
}


/* One of the 256 subdirectories per turn. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcache *rc = arg;
    rcache_disk_sweep(rc->rt->cfg->cache_path, rc->sweep_next++);
}

/* ---- lookups ---- */

static void get_finish(struct rcache_get *g)
{
    struct rcache *rc = g->rc;
    if (g->prev)
        g->prev->next = g->next;
    else if (rc) /* NULL: rcache_free let it go */
        rc->gets = g->next;
    if (g->next)
        g->next->prev = g->prev;
    if (!g->cancelled)
        g->cb(g->val, g->len, g->arg);
    if (g->ev)
        event_free(g->ev);
    free(g->val);
    free(g);
}

static void get_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    get_finish(arg);
}

static void get_redis_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)err;
    struct rcache_get *g = arg;
    g->redis_pending = false;
    if (reply && reply->type == REDIS_REPLY_STRING && reply->len > 0) {
        g->val = xmalloc(reply->len + 1);
        memcpy(g->val, reply->str, reply->len);
        g->val[reply->len] = '\0';
        g->len = reply->len;
    }
    get_finish(g);
}

static void put_done_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)reply;
    (void)arg;
    (void)err; /* a store that failed is a later miss */
}

static void redis_key(const char *key, char *out, size_t n)
{
    snprintf(out, n, "ingot:rc:%s", key);
}

struct rcache_get *rcache_get(struct rcache *rc, const char *key, rcache_get_cb cb, void *arg)
{
    struct rcache_get *g = xcalloc(1, sizeof *g);
    g->rc = rc;
    g->cb = cb;
    g->arg = arg;
    g->next = rc->gets;
    if (rc->gets)
        rc->gets->prev = g;
    rc->gets = g;
    if (rc->backend == RCACHE_REDIS) {
        char k[80];
        redis_key(key, k, sizeof k);
        const char *argv[] = {"GET", k};
        if (redis_cmd(rc->rt->redis, 2, argv, NULL, RCACHE_REDIS_TIMEOUT_MS, get_redis_cb, g) == 0) {
            g->redis_pending = true;
            return g;
        }
        /* Redis down: a miss, answered like the others (never from inside this call) */
    } else if (rc->backend == RCACHE_DISK) {
        g->val = rcache_disk_get(rc->rt->cfg->cache_path, key, rc->rt->cfg->cache_entry_max, &g->len);
    } else {
        g->val = rcache_mem_get(rc->mem, key, &g->len);
    }
    g->ev = event_new(loop_base(rc->rt->loop), -1, 0, get_ev_cb, g);
    if (!g->ev)
        abort();
    event_active(g->ev, EV_TIMEOUT, 0);
    return g;
}

void rcache_get_cancel(struct rcache_get *g)
{
    g->cancelled = true;
}

void rcache_count(struct rcache *rc, const char *result)
{
    metrics_add(result[0] == 'h' ? rc->m_hit : result[0] == 'm' ? rc->m_miss : rc->m_skip, 1);
}

bool rcache_put(struct rcache *rc, const char *key, const char *val, size_t len, long long ttl_s)
{
    if (ttl_s <= 0 || len == 0 || len > (size_t)rc->rt->cfg->cache_entry_max)
        return false;
    metrics_add(rc->m_stored, 1);
    if (rc->backend == RCACHE_REDIS) {
        char k[80], px[24];
        redis_key(key, k, sizeof k);
        snprintf(px, sizeof px, "%lld", ttl_s * 1000);
        const char *argv[] = {"SET", k, val, "PX", px};
        size_t lens[] = {3, strlen(k), len, 2, strlen(px)};
        return redis_cmd(rc->rt->redis, 5, argv, lens, RCACHE_REDIS_TIMEOUT_MS * 5LL, put_done_cb, NULL) == 0;
    }
    if (rc->backend == RCACHE_MEMORY) {
        rcache_mem_put(rc->mem, key, val, len, ttl_s);
        return true;
    }
    if (rcache_disk_put(rc->rt->cfg->cache_path, key, val, len, ttl_s) == 0)
        return true;
    if (log_limit_allow(&rc->warn_log, &rc->warn_dropped))
        log_warn("response cache: cannot write under CACHE_PATH %s: %s", rc->rt->cfg->cache_path, strerror(errno));
    return false;
}

/* ---- tenants' opt-ins ---- */

static int tenant_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct tenant_ttl *)a)->tenant, y = ((const struct tenant_ttl *)b)->tenant;
    return x < y ? -1 : x > y;
}

static void tenants_cb(const struct db_result *r, void *arg)
{
    struct rcache *rc = arg;
    rc->loading = false;
    if (rc->orphan) {
        free(rc);
        return;
    }
    if (!r->ok) {
        if (r->err_code != DB_ERR_SHUTDOWN && log_limit_allow(&rc->warn_log, &rc->warn_dropped))
            log_warn("response cache: cannot read llm_tenant_cache: %s", r->error);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res), i = 0;
    struct tenant_ttl *v = xcalloc(n ? n : 1, sizeof *v);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && i < n) {
        v[i].tenant = strtoull(db_row_str(row, 0), NULL, 10);
        v[i].ttl_s = strtoll(db_row_str(row, 1), NULL, 10);
        i++;
    }
    qsort(v, i, sizeof *v, tenant_cmp);
    free(rc->tenants);
    rc->tenants = v;
    rc->ntenants = i;
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcache *rc = arg;
    if (rc->loading)
        return;
    rc->loading = true;
    db_query(rc->rt->db, "SELECT tenant_id, ttl_s FROM llm_tenant_cache LIMIT 1000000", 0, tenants_cb, rc);
}

struct rcache *rcache_new(struct runtime *rt, char *err, size_t errlen)
{
    const struct config *cfg = rt->cfg;
    struct rcache *rc = xcalloc(1, sizeof *rc);
    rc->rt = rt;
    rc->warn_log = (struct log_limit)LOG_LIMIT_INIT(30000, 3);
    struct event_base *base = loop_base(rt->loop);
    if (cfg->cache_path && cfg->cache_path[0]) {
        struct stat st;
        if (mkdir(cfg->cache_path, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "CACHE_PATH %s: cannot create it: %s", cfg->cache_path, strerror(errno));
            free(rc);
            return NULL;
        }
        if (stat(cfg->cache_path, &st) < 0 || !S_ISDIR(st.st_mode) || access(cfg->cache_path, W_OK | X_OK) < 0) {
            snprintf(err, errlen, "CACHE_PATH %s: not a directory this process can write", cfg->cache_path);
            free(rc);
            return NULL;
        }
        rc->backend = RCACHE_DISK;
        rc->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, rc);
        if (!rc->sweep)
            abort();
        struct timeval tv = loop_tv(RCACHE_SWEEP_MS);
        event_add(rc->sweep, &tv);
    } else if (redis_state(rt->redis) != REDIS_DISABLED) {
        rc->backend = RCACHE_REDIS;
    } else {
        rc->backend = RCACHE_MEMORY;
        rc->mem = rcache_mem_new((size_t)cfg->cache_memory_max);
    }
    struct metric_family *f =
        metrics_family(rt->metrics, METRIC_COUNTER, "ingot_llm_cache_requests_total",
                       "LLM requests that asked for the response cache, by result (hit, miss, skip: not deterministic).");
    rc->m_hit = metrics_series(f, "result=\"hit\"");
    rc->m_miss = metrics_series(f, "result=\"miss\"");
    rc->m_skip = metrics_series(f, "result=\"skip\"");
    rc->m_stored = metrics_series(metrics_family(rt->metrics, METRIC_COUNTER, "ingot_llm_cache_stores_total",
                                                 "LLM answers written to the response cache."),
                                  "");
    rc->refresh = event_new(base, -1, EV_PERSIST, refresh_cb, rc);
    if (!rc->refresh)
        abort();
    struct timeval tv = loop_tv(RCACHE_REFRESH_MS);
    event_add(rc->refresh, &tv);
    refresh_cb(-1, 0, rc);
    return rc;
}

void rcache_free(struct rcache *rc)
{
    if (!rc)
        return;
    /* Redis lookups still pending end through their callbacks when the
     * client closes; the others are ours to end now, without a call. */
    for (struct rcache_get *g = rc->gets, *next; g; g = next) {
        next = g->next;
        g->cancelled = true;
        if (!g->redis_pending) {
            get_finish(g);
        } else { /* its reply frees it, without rc */
            g->rc = NULL;
            g->prev = g->next = NULL;
        }
    }
    rc->gets = NULL;
    if (rc->refresh)
        event_free(rc->refresh);
    if (rc->sweep)
        event_free(rc->sweep);
    rcache_mem_free(rc->mem);
    free(rc->tenants);
    /* A query in flight answers later (the pool calls every callback
     * once, at the latest when it is freed): it frees what is left. */
    if (rc->loading) {
        rc->orphan = true;
        rc->mem = NULL;
        rc->tenants = NULL;
        rc->refresh = rc->sweep = NULL;
        return;
    }
    free(rc);
}
