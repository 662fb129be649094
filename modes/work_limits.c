#include "work_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobclaim.h"
#include "sql.h"

struct throttle {
    uint64_t tenant;
    char queue[JOB_QUEUE_MAX + 1];
    int64_t until_ms;
};

struct work_limits {
    long long default_max, default_ms;
    struct queue_row *rows;
    size_t nrows;
    bool loaded;
    struct throttle *throttles;
    size_t nthrottles;
    struct sbuf exclude;
};

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
    free(l->throttles);
    sbuf_deinit(&l->exclude);
    free(l);
}

void work_limits_set(struct work_limits *l, const struct queue_row *rows, size_t n)
{
    free(l->rows);
    l->rows = xcalloc(n ? n : 1, sizeof *l->rows);
    if (n)
        memcpy(l->rows, rows, n * sizeof *rows);
    l->nrows = n;
    l->loaded = true;
}

bool work_limits_loaded(const struct work_limits *l)
{
    return l->loaded;
}

void work_limits_rate(const struct work_limits *l, uint64_t tenant, const char *queue,
                      long long *max, long long *ms)
{
    *max = l->default_max;
    *ms = l->default_ms;
    for (size_t i = 0; i < l->nrows; i++) {
        const struct queue_row *r = &l->rows[i];
        if (r->tenant == tenant && r->rate_max > 0 && strcmp(r->name, queue) == 0) {
            *max = r->rate_max;
            *ms = r->rate_ms > 0 ? r->rate_ms : l->default_ms;
            return;
        }
    }
}

void work_limits_throttle(struct work_limits *l, uint64_t tenant, const char *queue, int64_t until_ms)
{
    for (size_t i = 0; i < l->nthrottles; i++) {
        struct throttle *t = &l->throttles[i];
        if (t->tenant == tenant && strcmp(t->queue, queue) == 0) {
            if (until_ms > t->until_ms)
                t->until_ms = until_ms;
            return;
        }
    }
    l->throttles = xrealloc(l->throttles, (l->nthrottles + 1) * sizeof *l->throttles);
    struct throttle *t = &l->throttles[l->nthrottles++];
    t->tenant = tenant;
    snprintf(t->queue, sizeof t->queue, "%s", queue);
    t->until_ms = until_ms;
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
    int64_t now = time_mono_ms();
    size_t keep = 0;
    for (size_t i = 0; i < l->nthrottles; i++) /* drop the ones that ended */
        if (l->throttles[i].until_ms > now)
            l->throttles[keep++] = l->throttles[i];
    l->nthrottles = keep;
    sbuf_reset(&l->exclude);
    for (size_t i = 0; i < l->nrows; i++)
        if (l->rows[i].paused)
            add_pair(&l->exclude, l->rows[i].tenant, l->rows[i].name);
    for (size_t i = 0; i < l->nthrottles; i++)
        add_pair(&l->exclude, l->throttles[i].tenant, l->throttles[i].queue);
    if (!l->exclude.len)
        return NULL;
    sbuf_putc(&l->exclude, ')');
    return l->exclude.data;
}
