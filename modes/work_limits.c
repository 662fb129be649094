#include "work_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobclaim.h"
#include "jobfair.h"
#include "sql.h"

#define FAIR_BACKOFF_MIN_MS 20
#define FAIR_BACKOFF_MAX_MS 1000

struct throttle {
    uint64_t tenant;
    char queue[JOB_QUEUE_MAX + 1];
    char *group;              /* NULL: the whole queue */
    int64_t until_ms;
};

struct lrow {
    struct queue_row q;
    int64_t next_ms;          /* capped: no claim before (after an empty one) */
    long long backoff_ms;
};

struct work_limits {
    long long default_max, default_ms;
    struct lrow *rows;
    size_t nrows;
    bool loaded;
    size_t fair_next;         /* round-robin position over the rows */
    struct throttle *throttles;
    size_t nthrottles;
    const char **skip;        /* work_limits_next_fair's answer */
    struct sbuf exclude;
};

static bool capped(const struct queue_row *q)
{
    return q->concurrency >= 0 || q->group_concurrency >= 0 || q->group_rate_max > 0;
}

struct work_limits *work_limits_new(long long default_max, long long default_ms)
{
    struct work_limits *l = xcalloc(1, sizeof *l);
    l->default_max = default_max;
    l->default_ms = default_ms;
    sbuf_init(&l->exclude);
    return l;
}

void work_limits_free(struct work_limits *l)
{
    if (!l)
        return;
    free(l->rows);
    for (size_t i = 0; i < l->nthrottles; i++)
        free(l->throttles[i].group);
    free(l->throttles);
    free(l->skip);
    sbuf_deinit(&l->exclude);
    free(l);
}

static struct lrow *find(const struct work_limits *l, uint64_t tenant, const char *queue)
{
    for (size_t i = 0; i < l->nrows; i++)
        if (l->rows[i].q.tenant == tenant && strcmp(l->rows[i].q.name, queue) == 0)
            return &l->rows[i];
    return NULL;
}

void work_limits_set(struct work_limits *l, const struct queue_row *rows, size_t n)
{
    struct lrow *nr = xcalloc(n ? n : 1, sizeof *nr);
    for (size_t i = 0; i < n; i++) {
        nr[i].q = rows[i];
        const struct lrow *old = find(l, rows[i].tenant, rows[i].name);
        if (old) { /* keep the back-off of a queue seen before */
            nr[i].next_ms = old->next_ms;
            nr[i].backoff_ms = old->backoff_ms;
        }
    }
    free(l->rows);
    l->rows = nr;
    l->nrows = n;
    l->loaded = true;
}

bool work_limits_loaded(const struct work_limits *l)
{
    return l->loaded;
}

void work_limits_invalidate(struct work_limits *l)
{
    l->loaded = false;
}

/* The settings the cache loads (jobclaim_queues' filter). */
static bool acts(const struct queue_row *q)
{
    return q->paused || q->rate_max >= 0 || q->concurrency >= 0 || q->group_concurrency >= 0 ||
           q->group_rate_max >= 0;
}

bool work_limits_current(const struct work_limits *l, const struct queue_row *q)
{
    const struct lrow *r = find(l, q->tenant, q->name);
    if (!r)
        return !acts(q);
    const struct queue_row *k = &r->q;
    return k->paused == q->paused && k->rate_max == q->rate_max &&
           (q->rate_max <= 0 || k->rate_ms == q->rate_ms) && k->concurrency == q->concurrency &&
           k->group_concurrency == q->group_concurrency && k->group_rate_max == q->group_rate_max &&
           (q->group_rate_max <= 0 || k->group_rate_ms == q->group_rate_ms);
}

bool work_limits_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                      long long *max, long long *ms)
{
    *max = l->default_max;
    *ms = l->default_ms;
    const struct lrow *r = find(l, tenant, queue);
    if (r && r->q.rate_max > 0) {
        *max = r->q.rate_max;
        *ms = r->q.rate_ms > 0 ? r->q.rate_ms : l->default_ms;
    }
    return *max > 0;
}

bool work_limits_group_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                            long long *max, long long *ms)
{
    const struct lrow *r = find(l, tenant, queue);
    if (!r || r->q.group_rate_max <= 0)
        return false;
    *max = r->q.group_rate_max;
    *ms = r->q.group_rate_ms > 0 ? r->q.group_rate_ms : l->default_ms;
    return true;
}

static bool same_group(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void work_limits_throttle(struct work_limits *l, uint64_t tenant, const char *queue,
                          const char *group, int64_t until_ms)
{
    for (size_t i = 0; i < l->nthrottles; i++) {
        struct throttle *t = &l->throttles[i];
        if (t->tenant == tenant && strcmp(t->queue, queue) == 0 && same_group(t->group, group)) {
            if (until_ms > t->until_ms)
                t->until_ms = until_ms;
            return;
        }
    }
    l->throttles = xrealloc(l->throttles, (l->nthrottles + 1) * sizeof *l->throttles);
    struct throttle *t = &l->throttles[l->nthrottles++];
    t->tenant = tenant;
    snprintf(t->queue, sizeof t->queue, "%s", queue);
    t->group = xstrdup(group);
    t->until_ms = until_ms;
}

static void expire_throttles(struct work_limits *l)
{
    int64_t now = time_mono_ms();
    size_t keep = 0;
    for (size_t i = 0; i < l->nthrottles; i++) {
        if (l->throttles[i].until_ms > now)
            l->throttles[keep++] = l->throttles[i];
        else
            free(l->throttles[i].group);
    }
    l->nthrottles = keep;
}

static bool queue_throttled(const struct work_limits *l, uint64_t tenant, const char *queue)
{
    for (size_t i = 0; i < l->nthrottles; i++) {
        const struct throttle *t = &l->throttles[i];
        if (!t->group && t->tenant == tenant && strcmp(t->queue, queue) == 0)
            return true;
    }
    return false;
}

static void add_pair(struct sbuf *b, uint64_t tenant, const char *queue)
{
    sbuf_puts(b, b->len ? "," : "(tenant_id, queue) NOT IN (");
    sbuf_printf(b, "(%llu,", (unsigned long long)tenant);
    sql_cstr(b, queue);
    sbuf_putc(b, ')');
}

const char *work_limits_exclude(struct work_limits *l)
{
    expire_throttles(l);
    sbuf_reset(&l->exclude);
    for (size_t i = 0; i < l->nrows; i++)
        if (l->rows[i].q.paused || capped(&l->rows[i].q))
            add_pair(&l->exclude, l->rows[i].q.tenant, l->rows[i].q.name);
    for (size_t i = 0; i < l->nthrottles; i++)
        if (!l->throttles[i].group)
            add_pair(&l->exclude, l->throttles[i].tenant, l->throttles[i].queue);
    if (!l->exclude.len)
        return NULL;
    sbuf_putc(&l->exclude, ')');
    return l->exclude.data;
}

bool work_limits_next_fair(struct work_limits *l, struct jobfair_queue *q)
{
    expire_throttles(l);
    int64_t now = time_mono_ms();
    for (size_t k = 0; k < l->nrows; k++) {
        size_t i = (l->fair_next + k) % l->nrows;
        const struct lrow *r = &l->rows[i];
        if (!capped(&r->q) || r->q.paused || r->next_ms > now ||
            queue_throttled(l, r->q.tenant, r->q.name))
            continue;
        l->fair_next = i + 1;
        memset(q, 0, sizeof *q);
        q->tenant = r->q.tenant;
        snprintf(q->name, sizeof q->name, "%s", r->q.name);
        q->concurrency = r->q.concurrency;
        q->group_concurrency = r->q.group_concurrency;
        free(l->skip);
        l->skip = xcalloc(l->nthrottles + 1, sizeof *l->skip);
        for (size_t t = 0; t < l->nthrottles; t++) {
            const struct throttle *th = &l->throttles[t];
            if (th->group && th->tenant == r->q.tenant && strcmp(th->queue, r->q.name) == 0)
                l->skip[q->nskip++] = th->group;
        }
        q->skip = l->skip;
        return true;
    }
    return false;
}

void work_limits_fair_claimed(struct work_limits *l, uint64_t tenant, const char *queue, size_t n)
{
    struct lrow *r = find(l, tenant, queue);
    if (!r)
        return;
    if (n) {
        r->next_ms = 0;
        r->backoff_ms = 0;
        return;
    }
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : FAIR_BACKOFF_MIN_MS;
    if (r->backoff_ms > FAIR_BACKOFF_MAX_MS)
        r->backoff_ms = FAIR_BACKOFF_MAX_MS;
    r->next_ms = time_mono_ms() + r->backoff_ms;
}

void work_limits_fair_kick(struct work_limits *l, uint64_t tenant, const char *queue)
{
    for (size_t i = 0; i < l->nrows; i++) {
        struct lrow *r = &l->rows[i];
        if (!queue || (r->q.tenant == tenant && strcmp(r->q.name, queue) == 0)) {
            r->next_ms = 0;
            r->backoff_ms = 0;
        }
    }
}
