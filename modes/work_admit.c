#include "work_admit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "ratelimit.h"
#include "runtime.h"
#include "work_int.h"
#include "work_outcome.h"
#include "work_limits.h"

/* The jobs of one queue (or one group) from one claim, waiting for the
 * limiter's answer. */
struct limit_req {
    struct work *w;
    struct run **runs;
    size_t n;
    bool group_stage;
};

static const char *group_of(const struct run *r)
{
    return r->job.group ? r->job.group : "";
}

static void ask(struct work *w, struct run **runs, size_t n, bool group_stage);

static int group_cmp(const void *a, const void *b)
{
    return strcmp(group_of(*(struct run *const *)a), group_of(*(struct run *const *)b));
}

/* Granted by the queue's limiter: one request per group. */
static void ask_groups(struct work *w, struct run **runs, size_t n)
{
    qsort(runs, n, sizeof(struct run *), group_cmp);
    size_t i = 0;
    while (i < n) {
        size_t k = i + 1;
        while (k < n && group_cmp(&runs[i], &runs[k]) == 0)
            k++;
        ask(w, runs + i, k - i, true);
        i = k;
    }
}

static void limited_cb(int granted, long long reset_ms, bool shared, void *arg)
{
    (void)shared;
    struct limit_req *lr = arg;
    struct work *w = lr->w;
    w->pending_limits--;
    for (size_t i = 0; i < lr->n; i++)
        lr->runs[i]->waiting = false;
    size_t go = w->draining ? 0 : (size_t)granted;
    if (go > lr->n)
        go = lr->n;
    if (go < lr->n) {
        const struct claimed_job *j = &lr->runs[go]->job;
        if (!w->draining) {
            metrics_add(w->m_limited, (double)(lr->n - go));
            work_limits_throttle(w->limits, j->tenant, j->queue,
                                 lr->group_stage ? group_of(lr->runs[go]) : NULL,
                                 time_mono_ms() + reset_ms);
        }
        work_release(w, lr->runs + go, lr->n - go, w->draining ? 0 : reset_ms);
    }
    long long gmax, gms;
    if (go && !lr->group_stage &&
        work_limits_group_rate(w->limits, lr->runs[0]->job.tenant, lr->runs[0]->job.queue, &gmax, &gms))
        ask_groups(w, lr->runs, go);
    else
        for (size_t i = 0; i < go; i++)
            work_execute(w, lr->runs[i]);
    free(lr->runs);
    free(lr);
    loop_work_done(w->rt->loop);
}

static void ask(struct work *w, struct run **runs, size_t n, bool group_stage)
{
    struct limit_req *lr = xcalloc(1, sizeof *lr);
    lr->w = w;
    lr->n = n;
    lr->group_stage = group_stage;
    lr->runs = xcalloc(n, sizeof(struct run *));
    memcpy(lr->runs, runs, n * sizeof(struct run *));
    for (size_t m = 0; m < n; m++)
        lr->runs[m]->waiting = true;
    const struct claimed_job *j = &runs[0]->job;
    long long max, ms;
    char key[320];
    if (group_stage) {
        /* '/' appears in no queue or group name: no key collides. */
        work_limits_group_rate(w->limits, j->tenant, j->queue, &max, &ms);
        snprintf(key, sizeof key, "%llu:%s/%s", (unsigned long long)j->tenant, j->queue,
                 group_of(runs[0]));
    } else {
        (void)work_limits_rate(w->limits, j->tenant, j->queue, &max, &ms);
        snprintf(key, sizeof key, "%llu:%s", (unsigned long long)j->tenant, j->queue);
    }
    w->pending_limits++;
    ratelimit_take(w->ratelimit, key, (int)n, max, ms, limited_cb, lr);
}

static int queue_cmp(const void *a, const void *b)
{
    const struct run *x = *(struct run *const *)a, *y = *(struct run *const *)b;
    if (x->job.tenant != y->job.tenant)
        return x->job.tenant < y->job.tenant ? -1 : 1;
    return strcmp(x->job.queue, y->job.queue);
}

void work_admit(struct work *w, struct run **fresh, size_t n)
{
    qsort(fresh, n, sizeof(struct run *), queue_cmp);
    size_t i = 0;
    while (i < n) {
        size_t k = i + 1;
        while (k < n && queue_cmp(&fresh[i], &fresh[k]) == 0)
            k++;
        long long max, ms;
        const struct claimed_job *j = &fresh[i]->job;
        if (work_limits_rate(w->limits, j->tenant, j->queue, &max, &ms))
            ask(w, fresh + i, k - i, false);
        else if (work_limits_group_rate(w->limits, j->tenant, j->queue, &max, &ms))
            ask_groups(w, fresh + i, k - i);
        else /* no queue rate limit (the default): nothing to ask */
            for (size_t m = i; m < k; m++)
                work_execute(w, fresh[m]);
        i = k;
    }
}
