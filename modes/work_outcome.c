#include "work_outcome.h"

#include <event2/event.h>
#include <stdio.h>

#include "jobfinish.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "runtime.h"
#include "work_int.h"
#include "work_kinds.h"
#include "work_result.h"

static void count_outcome(struct work *w, const struct run *r, const char *outcome)
{
    char labels[256];
    snprintf(labels, sizeof labels, "queue=\"%s\",kind=\"%s\",outcome=\"%s\"", r->job.queue,
             job_kind_name(r->job.kind), outcome);
    metrics_add(metrics_series(w->f_outcomes, labels), 1);
}

/* Long-polls (GET /v1/jobs/{id}?wait=) answer as soon as their job ends:
 * one PUBLISH per loop pass names every job recorded terminal in it. */
void work_done_publish_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    if (w->done_ids.len)
        redis_publish(w->rt->redis, JOB_DONE_CHANNEL, w->done_ids.data);
    sbuf_reset(&w->done_ids);
}

static void note_done(struct work *w, uint64_t id)
{
    if (redis_state(w->rt->redis) != REDIS_READY)
        return;
    sbuf_printf(&w->done_ids, "%s%llu", w->done_ids.len ? "," : "", (unsigned long long)id);
    if (w->done_ids.len > 8192)
        work_done_publish_cb(-1, 0, w); /* keep each message small */
    else
        event_active(w->done_ev, EV_TIMEOUT, 0);
}

/* One line per recorded outcome, at info (LOG_LEVEL=warn silences them):
 * status is succeeded, retry or failed, or discarded when the lease was no
 * longer ours (the job was cancelled, or recovered after its lease expired),
 * or unrecorded (at warn) when the write failed. */
static void log_outcome(const struct run *r, const char *status, enum log_level level, const char *why)
{
    if (!log_enabled(level))
        return;
    char id[32];
    snprintf(id, sizeof id, "job_%llu", (unsigned long long)r->job.id);
    struct sbuf f;
    sbuf_init(&f);
    sbuf_puts(&f, "\"queue\":");
    sbuf_json_str(&f, r->job.queue);
    sbuf_printf(&f, ",\"kind\":\"%s\",\"attempt\":%d,\"max_attempts\":%d,\"status\":\"%s\","
                    "\"duration_ms\":%.1f,\"http_status\":",
                job_kind_name(r->job.kind), r->job.attempt, r->job.max_attempts, status, r->ms);
    if (r->http_status)
        sbuf_printf(&f, "%d", r->http_status);
    else
        sbuf_puts(&f, "null");
    sbuf_puts(&f, ",\"error\":");
    sbuf_json_str(&f, r->error);
    if (why)
        log_write(level, id, f.data, "%s: %s (attempt %d/%d, %.0f ms)", id, why, r->job.attempt,
                  r->job.max_attempts, r->ms);
    else
        log_write(level, id, f.data, "%s: attempt %d/%d %s (%.0f ms)%s%s", id, r->job.attempt,
                  r->job.max_attempts, status, r->ms, r->error ? ": " : "", r->error ? r->error : "");
    sbuf_deinit(&f);
}

static void finished_cb(bool applied, const char *err, unsigned err_code, void *arg)
{
    struct run *r = arg;
    struct work *w = r->w;
    w->pending_db--;
    if (err) {
        char why[400];
        snprintf(why, sizeof why, "cannot record the outcome (error %u): %s; the lease will expire "
                                  "and it runs again", err_code, err);
        log_outcome(r, "unrecorded", LOG_WARN, why);
    } else if (!applied) {
        metrics_add(w->m_discarded, 1);
        log_outcome(r, "discarded", LOG_INFO,
                    "outcome discarded, the lease was no longer ours (cancelled or recovered)");
    } else {
        log_outcome(r, r->status, LOG_INFO, NULL);
        if (r->terminal)
            note_done(w, r->job.id);
    }
    work_run_end(w, r);
}

void work_outcome(struct work *w, struct run *r, const struct work_outcome *o)
{
    r->call = NULL;
    if (r->released) { /* handed back already; nothing to record */
        work_run_free(r);
        return;
    }
    double ms = (double)(time_mono_us() - r->started_us) / 1000.0;
    if (o->wait) { /* a limit holds it: not an attempt */
        count_outcome(w, r, "waited");
        work_hand_back(w, r, o->retry_after_ms > 0 ? o->retry_after_ms : 0);
        return;
    }
    struct jobclaim_result res = {.result_json = o->result_json,
                                  .usage_json = o->usage_json,
                                  .error = o->error,
                                  .http_status = o->http_status,
                                  .worker_id = w->worker_id,
                                  .started_real_us = r->started_real_us};
    const char *outcome;
    if (o->ok) {
        res.outcome = OUTCOME_SUCCEEDED;
        outcome = "succeeded";
        r->status = "succeeded";
    } else if (o->retryable && r->job.attempt < r->job.max_attempts) {
        res.outcome = OUTCOME_RETRY;
        res.retry_delay_ms = work_backoff_ms(r->job.attempt, r->job.backoff_base_ms, r->job.backoff_max_ms);
        if (o->retry_after_ms > res.retry_delay_ms)
            res.retry_delay_ms = o->retry_after_ms;
        outcome = "retried";
        r->status = "retry";
    } else {
        res.outcome = OUTCOME_FAILED;
        outcome = "failed";
        r->status = "failed";
    }
    count_outcome(w, r, outcome);
    char labels[64];
    snprintf(labels, sizeof labels, "kind=\"%s\"", job_kind_name(r->job.kind));
    metrics_observe(metrics_series(w->f_duration, labels), ms / 1000.0);
    r->ms = r->started_us ? ms : 0;
    r->http_status = o->http_status;
    r->error = o->error ? xstrdup(o->error) : NULL;
    r->recording = true;
    r->terminal = res.outcome != OUTCOME_RETRY;
    w->pending_db++;
    jobfinish_add(w->finisher, &r->job, &res, finished_cb, r);
}

void work_count_started(struct work *w, struct run *r)
{
    char labels[200];
    snprintf(labels, sizeof labels, "queue=\"%s\"", r->job.queue);
    metrics_observe(metrics_series(w->f_wait, labels), r->job.wait_s > 0 ? r->job.wait_s : 0);
    snprintf(labels, sizeof labels, "queue=\"%s\",kind=\"%s\"", r->job.queue, job_kind_name(r->job.kind));
    metrics_add(metrics_series(w->f_started, labels), 1);
}

/* Sends a claimed job's attempt through its kind. */
void work_execute(struct work *w, struct run *r)
{
    /* Before building: a payload that cannot be sent is still an attempt
     * that started now (its duration and started_at are real). */
    r->started_us = time_mono_us();
    r->started_real_us = time_real_us();
    const struct work_kind *k = work_kind_of(r->job.kind);
    if (!k) { /* not claimed by this build: cannot happen, but never hang */
        struct work_outcome o = {.error = "this worker does not execute the job's kind"};
        work_outcome(w, r, &o);
        return;
    }
    k->execute(w, r);
}

