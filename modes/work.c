#include "work.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dberr.h"
#include "dlist.h"
#include "config.h"
#include "db.h"
#include "jobclaim.h"
#include "jobfair.h"
#include "jobfinish.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "runtime.h"
#include "ssrf.h"
#include "ratelimit.h"
#include "redis.h"
#include "work_admit.h"
#include "work_int.h"
#include "work_outcome.h"
#include "work_kinds.h"
#include "work_lease.h"
#include "work_limits.h"

static void pump(struct work *w);

static void run_unlink(struct work *w, struct run *r)
{
    DLIST_REMOVE(w->runs, r);
}

void work_run_free(struct run *r)
{
    free(r->job.payload);
    free(r->job.callback_url);
    free(r->job.group);
    free(r->error);
    free(r);
}

static void update_inflight(struct work *w)
{
    metrics_set(w->m_inflight, (double)w->nruns);
}

/* A run leaves (recorded, or stopped): its slot is free for the next claim. */
void work_run_end(struct work *w, struct run *r)
{
    run_unlink(w, r);
    w->nruns--;
    update_inflight(w);
    work_limits_fair_kick(w->limits, r->job.tenant, r->job.queue); /* room under its cap */
    work_run_free(r);
    loop_work_done(w->rt->loop);
    pump(w);
}

static void release_cb(unsigned long long n, const char *err, unsigned err_code, void *arg)
{
    struct work *w = arg;
    w->pending_db--;
    if (err)
        log_warn("could not hand jobs back (error %u): %s (their leases will expire)", err_code, err);
    else
        log_info("handed %llu unfinished job(s) back to the queue", n);
    loop_work_done(w->rt->loop);
}

/* Hands runs back: queued again after delay_ms, attempt not counted. A
 * run whose request is still out is marked and freed when it returns. */
void work_release(struct work *w, struct run **runs, size_t n, long long delay_ms)
{
    if (!n)
        return;
    const struct claimed_job **jobs = xcalloc(n, sizeof(const struct claimed_job *));
    for (size_t i = 0; i < n; i++)
        jobs[i] = &runs[i]->job;
    w->pending_db++;
    jobclaim_release(w->rt->db, jobs, n, delay_ms, release_cb, w);
    free(jobs);
    for (size_t i = 0; i < n; i++) {
        struct run *r = runs[i];
        run_unlink(w, r);
        w->nruns--;
        const struct work_kind *k = work_kind_of(r->job.kind);
        if (r->started_us && r->call && k && k->stop_on_release && k->stop(w, r))
            r->started_us = 0; /* stopped: nothing comes back */
        if (r->started_us)
            r->released = true;
        else
            work_run_free(r);
    }
    update_inflight(w);
}

/* One run's attempt ended without counting (a limit holds it): queued
 * again after delay_ms; its slot is free now. */
void work_hand_back(struct work *w, struct run *r, long long delay_ms)
{
    r->started_us = 0; /* nothing in flight: freed at once */
    uint64_t tenant = r->job.tenant;
    char queue[JOB_QUEUE_MAX + 1];
    memcpy(queue, r->job.queue, sizeof queue);
    work_release(w, &r, 1, delay_ms);
    work_limits_fair_kick(w->limits, tenant, queue);
    pump(w);
}

/* Shutdown: everything not being recorded or waiting for the limiter. */
static void release_runs(struct work *w)
{
    struct run **runs = xcalloc(w->nruns + 1, sizeof(struct run *));
    size_t n = 0;
    for (struct run *r = w->runs; r; r = r->next)
        if (!r->recording && !r->waiting)
            runs[n++] = r;
    work_release(w, runs, n, 0);
    free(runs);
}

/* A claim's answer: the jobs become runs and go to the rate limiters. */
static void take_claimed(struct work *w, struct claimed_job *jobs, size_t n, const char *err,
                         unsigned err_code)
{
    w->pending_db--;
    metrics_add(w->m_claims, 1);
    /* By number: the message is translated when lc_messages is set. */
    if (err && dberr_is_lost_lock(err_code)) {
        log_debug("claim lost a lock conflict (error %u), claiming again: %s", err_code, err);
        w->poll_ms = POLL_MIN_MS; /* expected under load: try again at once */
    } else if (err) {
        log_warn("claim failed (error %u): %s", err_code, err);
        w->poll_ms = w->poll_max_ms;
    }
    struct run **fresh = xcalloc(n + 1, sizeof(struct run *));
    for (size_t i = 0; i < n; i++) {
        struct run *r = xcalloc(1, sizeof *r);
        r->w = w;
        r->job = jobs[i]; /* takes the strings */
        DLIST_PUSH(w->runs, r);
        w->nruns++;
        fresh[i] = r;
    }
    free(jobs);
    update_inflight(w);
    if (w->draining) { /* claimed while the drain began: give them back */
        work_release(w, fresh, n, 0);
        free(fresh);
        loop_work_done(w->rt->loop);
        return;
    }
    /* A job whose queue's settings differ from the cache (a new queue with
     * a rate limit, a cap set just now) must not run under stale ones:
     * hand it back without spending an attempt and reload first. */
    size_t ok = 0, stale = 0;
    struct run **late = xcalloc(n + 1, sizeof(struct run *));
    for (size_t i = 0; i < n; i++) {
        if (work_limits_current(w->limits, &fresh[i]->job.settings))
            fresh[ok++] = fresh[i];
        else
            late[stale++] = fresh[i];
    }
    if (stale) {
        log_debug("%zu claimed job(s) of queues with new settings: reloading them first", stale);
        work_release(w, late, stale, 0);
        work_limits_invalidate(w->limits);
        work_reload_queues(w);
    }
    free(late);
    work_admit(w, fresh, ok);
    free(fresh);
}

/* One claim in flight: the slots it holds, and its capped queue if any. */
struct claim_ctx {
    struct work *w;
    int slots;
    bool fair;
    uint64_t tenant;
    char queue[JOB_QUEUE_MAX + 1];
};

static void claimed_cb(struct claimed_job *jobs, size_t n, const char *err, unsigned err_code,
                       void *arg)
{
    struct claim_ctx *cc = arg;
    struct work *w = cc->w;
    w->reserved -= cc->slots;
    if (cc->fair) {
        w->fair_claiming = false;
        work_limits_fair_claimed(w->limits, cc->tenant, cc->queue, err ? 0 : n);
    } else {
        w->claiming--;
        if (n == 0 && !err)
            w->poll_ms = w->poll_ms * 2 > w->poll_max_ms ? w->poll_max_ms : w->poll_ms * 2;
        else if (n)
            w->poll_ms = POLL_MIN_MS;
    }
    free(cc);
    take_claimed(w, jobs, n, err, err_code);
    if (!w->draining)
        pump(w);
}

/* Room for another claim: what is neither running nor held by a claim. */
static int free_slots(const struct work *w)
{
    int n = w->concurrency - (int)w->nruns - w->reserved;
    return n < CLAIM_MAX ? n : CLAIM_MAX;
}

static void claim(struct work *w, const struct jobfair_queue *fq)
{
    struct claim_ctx *cc = xcalloc(1, sizeof *cc);
    cc->w = w;
    cc->slots = free_slots(w);
    w->reserved += cc->slots;
    w->pending_db++;
    if (fq) {
        cc->fair = true;
        cc->tenant = fq->tenant;
        snprintf(cc->queue, sizeof cc->queue, "%s", fq->name);
        w->fair_claiming = true;
    } else {
        w->claiming++;
    }
    jobclaim_claim(w->rt->db, w->worker_id, cc->slots, w->lease_ms, work_kinds_mask(w),
                   fq ? NULL : work_limits_exclude(w->limits), fq, claimed_cb, cc);
}

static void pump(struct work *w)
{
    /* No claim before the paused and capped queues are known. */
    if (w->draining || !work_limits_loaded(w->limits))
        return;
    struct jobfair_queue fq;
    if (!w->fair_claiming && free_slots(w) > 0 && work_limits_next_fair(w->limits, &fq))
        claim(w, &fq);
    if (w->claiming >= CLAIMS_IN_FLIGHT || free_slots(w) <= 0)
        return;
    if (evtimer_pending(w->poll_timer, NULL) && w->poll_ms > POLL_MIN_MS)
        return; /* the queues looked empty: wait for the poll */
    claim(w, NULL);
    struct timeval tv = loop_tv(w->poll_ms);
    evtimer_add(w->poll_timer, &tv);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

/* A run whose lease is gone (cancelled, or recovered after it expired):
 * its outcome would be discarded, so its request stops now instead of
 * holding a slot until its timeout (and overlapping the next attempt). */
void work_abort(struct work *w, struct run *r)
{
    const struct work_kind *k = work_kind_of(r->job.kind);
    if (!k || !k->stop(w, r))
        return;
    r->call = NULL;
    log_info("job_%llu: lease lost (cancelled or recovered): request aborted, nothing recorded",
             (unsigned long long)r->job.id);
    metrics_add(w->m_aborted, 1);
    work_run_end(w, r);
}

static void recovered_cb(unsigned long long n, const char *err, unsigned err_code, void *arg)
{
    struct work *w = arg;
    w->pending_db--;
    if (err && dberr_is_lost_lock(err_code))
        log_debug("lease recovery lost a lock conflict (error %u), next pass soon: %s", err_code, err);
    else if (err && err_code != DB_ERR_SHUTDOWN)
        log_warn("lease recovery failed (error %u): %s", err_code, err);
    if (n) {
        metrics_add(w->m_recovered, (double)n);
        log_info("recovered %llu job(s) whose lease expired", n);
        w->poll_ms = POLL_MIN_MS;
        pump(w);
    }
    loop_work_done(w->rt->loop);
}

static void recover_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    if (w->draining)
        return;
    w->pending_db++;
    jobclaim_recover(w->rt->db, 500, recovered_cb, w);
}

static void wake_cb(const char *payload, size_t len, void *arg)
{
    struct work *w = arg;
    /* serve changed a queue's settings: read them now, not within a second */
    if (len == strlen(JOB_WAKE_QUEUES) && memcmp(payload, JOB_WAKE_QUEUES, len) == 0) {
        work_reload_queues(w);
        return;
    }
    metrics_add(w->m_woken, 1);
    w->poll_ms = POLL_MIN_MS;
    work_limits_fair_kick(w->limits, 0, NULL);
    evtimer_del(w->poll_timer);
    pump(w);
}

static void queues_loaded_cb(struct queue_row *rows, size_t n, const char *err, void *arg)
{
    struct work *w = arg;
    w->queues_loading = false;
    w->pending_db--;
    if (rows && !w->queues_again)
        work_limits_set(w->limits, rows, n);
    else if (err)
        log_warn("cannot read queue settings: %s", err);
    if (w->queues_again) { /* asked for while this read ran: it may predate the change */
        w->queues_again = false;
        work_reload_queues(w);
    }
    loop_work_done(w->rt->loop);
    pump(w);
}

void work_reload_queues(struct work *w)
{
    if (w->draining)
        return;
    if (w->queues_loading) {
        w->queues_again = true;
        return;
    }
    w->queues_loading = true;
    w->pending_db++;
    jobclaim_queues(w->rt->db, queues_loaded_cb, w);
}

/* Queue settings are re-read every second, and at once when serve
 * publishes a change or a claimed job shows settings the cache lacks;
 * the claim itself leaves paused queues out. */
static void queues_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    if (!w->queues_loading)
        work_reload_queues(w);
}

static void release_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    if (w->nruns)
        log_warn("shutdown grace nearly over: handing %zu running job(s) back", w->nruns);
    release_runs(w);
    loop_work_done(w->rt->loop);
}

static void drain_hook(void *arg)
{
    struct work *w = arg;
    w->draining = true;
    evtimer_del(w->poll_timer);
    evtimer_del(w->recover_timer);
    event_del(w->queues_timer);
    /* Leave time to hand unfinished jobs back before the grace ends. */
    long long grace = w->cfg->shutdown_grace_ms;
    long long at = grace > 2000 ? grace - 1000 : grace / 2;
    struct timeval tv = loop_tv(at);
    evtimer_add(w->release_timer, &tv);
}

static size_t busy_count(void *arg)
{
    struct work *w = arg;
    return w->nruns + w->pending_db + w->pending_limits;
}

struct work *work_start(struct runtime *rt, char *err, size_t errlen)
{
    const struct config *cfg = rt->cfg;
    if (!*cfg->signing_key) {
        snprintf(err, errlen, "SIGNING_KEY is required to run jobs (`ingot init` generates one)");
        return NULL;
    }
    struct work *w = xcalloc(1, sizeof *w);
    w->rt = rt;
    w->cfg = cfg;
    w->ssrf = ssrf_new(cfg->http_target_allow, err, errlen);
    if (!w->ssrf) {
        free(w);
        return NULL;
    }
    char host[64] = "worker";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    unsigned char rnd[3];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        memset(rnd, 0, sizeof rnd);
    snprintf(w->worker_id, sizeof w->worker_id, "%.60s:%ld:%02x%02x%02x", host, (long)getpid(),
             rnd[0], rnd[1], rnd[2]);
    w->finisher = jobfinish_new(rt->loop, rt->db, 200, 3);
    w->limits = work_limits_new(cfg->queue_limiter_max, cfg->queue_limiter_duration_ms);
    w->ratelimit = ratelimit_new(rt->redis, rt->installation_id);
    if (*cfg->redis_url) {
        char rerr[256];
        w->wake = redis_client_new(rt->loop, NULL, cfg->redis_url, 500, rerr, sizeof rerr);
        if (w->wake)
            redis_subscribe(w->wake, JOB_WAKE_CHANNEL, wake_cb, w);
        w->done_sub = redis_client_new(rt->loop, NULL, cfg->redis_url, 500, rerr, sizeof rerr);
        if (w->done_sub)
            redis_subscribe(w->done_sub, JOB_DONE_CHANNEL, work_lease_done_msg_cb, w);
    }
    w->concurrency = (int)cfg->queue_worker_concurrency;
    w->lease_ms = cfg->queue_lease_ms;
    w->recover_ms = w->lease_ms / 2 < 5000 ? w->lease_ms / 2 : 5000;
    w->poll_ms = POLL_MIN_MS;
    w->poll_max_ms = cfg->queue_poll_interval_ms > POLL_MIN_MS ? cfg->queue_poll_interval_ms : POLL_MIN_MS;
    struct event_base *base = loop_base(rt->loop);
    w->poll_timer = evtimer_new(base, poll_cb, w);
    sbuf_init(&w->done_ids);
    w->done_ev = event_new(base, -1, 0, work_done_publish_cb, w);
    w->lease_timer = event_new(base, -1, EV_PERSIST, work_lease_cb, w);
    w->recover_timer = event_new(base, -1, EV_PERSIST, recover_cb, w);
    w->release_timer = evtimer_new(base, release_timer_cb, w);
    w->queues_timer = event_new(base, -1, EV_PERSIST, queues_timer_cb, w);
    struct metrics *m = rt->metrics;
    w->f_outcomes = metrics_family(m, METRIC_COUNTER, "ingot_jobs_total",
                                   "Job attempts by queue, kind and outcome.");
    w->f_started = metrics_family(m, METRIC_COUNTER, "ingot_jobs_started_total",
                                  "Attempts started (requests sent), by queue and kind.");
    w->f_duration = metrics_family(m, METRIC_HISTOGRAM, "ingot_job_duration_seconds",
                                   "Time of one attempt, by kind.");
    w->f_wait = metrics_family(m, METRIC_HISTOGRAM, "ingot_job_queue_wait_seconds",
                               "From due (run_at) to started, by queue.");
    w->m_inflight = metrics_series(metrics_family(m, METRIC_GAUGE, "ingot_jobs_in_flight",
                                                  "Jobs this worker is running."), "");
    w->m_recovered = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_lease_recoveries_total",
                                                   "Jobs whose expired lease was recovered."), "");
    w->m_discarded = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_outcomes_discarded_total",
                                                   "Outcomes dropped because the lease was lost."), "");
    w->m_limited = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_rate_limited_total",
                                                 "Claimed jobs handed back to wait for their rate window."), "");
    w->m_aborted = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_requests_aborted_total",
                                                 "Requests stopped because their lease was lost (cancelled or recovered)."), "");
    w->m_claims = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_claims_total",
                                                "Claim queries run."), "");
    w->m_woken = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_worker_wakeups_total",
                                               "Claim passes started at once by an enqueue's Redis wake-up."), "");
    /* Extend at a third of the lease; look for expired leases at half. */
    struct timeval lease_tv = loop_tv(w->lease_ms / 3), rec_tv = loop_tv(w->recover_ms),
                   one = loop_tv(1000);
    event_add(w->lease_timer, &lease_tv);
    event_add(w->recover_timer, &rec_tv);
    event_add(w->queues_timer, &one);
    loop_on_drain(rt->loop, drain_hook, w);
    loop_add_busy(rt->loop, busy_count, w);
    log_info("worker %s: concurrency %d", w->worker_id, w->concurrency);
    queues_timer_cb(-1, 0, w); /* the first claim follows it */
    return w;
}

void work_free(struct work *w)
{
    if (!w)
        return;
    event_free(w->poll_timer);
    event_free(w->done_ev);
    sbuf_deinit(&w->done_ids);
    event_free(w->lease_timer);
    event_free(w->recover_timer);
    event_free(w->release_timer);
    event_free(w->queues_timer);
    redis_client_free(w->wake);
    redis_client_free(w->done_sub);
    work_limits_free(w->limits);
    ratelimit_free(w->ratelimit);
    struct run *r = w->runs;
    while (r) {
        struct run *next = r->next;
        const struct work_kind *k = work_kind_of(r->job.kind);
        if (r->call && k)
            (void)k->stop(w, r); /* the loop ended in the middle of it */
        work_run_free(r);
        r = next;
    }
    jobfinish_free(w->finisher);
    ssrf_free(w->ssrf);
    free(w);
}
