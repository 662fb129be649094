/* work_int: the worker's state, shared by work.c (claims, runs, leases,
 * drain) and work_admit.c (rate limits). Private to the work role. */
#ifndef INGOT_WORK_INT_H
#define INGOT_WORK_INT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobclaim.h"
#include "util.h"

struct runtime;
struct config;
struct ssrf;
struct jobfinish;
struct work_limits;
struct ratelimit;
struct redis_client;
struct metric_family;
struct metric_series;

#define CLAIM_MAX 100
#define CLAIMS_IN_FLIGHT 2
#define POLL_MIN_MS 20   /* right after finding work; the longest is QUEUE_POLL_INTERVAL */
#define RESULT_BODY_MAX ((size_t)64 * 1024)

struct run {
    struct work *w;
    struct claimed_job job;
    int64_t started_us, started_real_us;
    bool released;          /* handed back while its request runs; result dropped */
    bool recording;         /* outcome being written */
    bool waiting;           /* waiting for the rate limiter's answer */
    bool terminal;          /* its outcome ends the job (not a retry) */
    void *call;             /* the kind's attempt in flight (llm: struct llm_call), or NULL */
    /* for the outcome's log line, once recorded */
    const char *status;     /* succeeded, retry, failed */
    int http_status;
    double ms;
    char *error;            /* owned or NULL */
    struct run *next, *prev;
};

struct work {
    struct runtime *rt;
    const struct config *cfg;
    char worker_id[96];
    struct ssrf *ssrf;
    struct jobfinish *finisher;
    int concurrency;
    long long lease_ms, recover_ms;
    struct run *runs;
    size_t nruns;           /* executing or recording, not released */
    size_t pending_db;      /* claim, finish and release queries in flight */
    int claiming;           /* claims in flight (SKIP LOCKED keeps them disjoint) */
    bool fair_claiming;     /* a claim of a capped queue in flight (one at a time) */
    int reserved;           /* slots held by claims in flight */
    bool draining;
    struct work_limits *limits;
    struct ratelimit *ratelimit;
    struct redis_client *wake;  /* subscriber: enqueues wake us at once */
    struct redis_client *done_sub; /* subscriber: jobs ended elsewhere (cancel) */
    struct sbuf done_ids;   /* "id,id" of jobs ended this loop pass, for long-polls */
    struct event *done_ev;
    bool queues_loading;
    bool queues_again;      /* reload once the read in flight returns */
    size_t pending_limits;  /* rate limiter answers awaited */
    long long poll_ms, poll_max_ms;
    struct event *poll_timer, *lease_timer, *recover_timer, *release_timer, *queues_timer;
    struct metric_family *f_outcomes, *f_started, *f_duration, *f_wait;
    struct metric_series *m_inflight, *m_recovered, *m_discarded, *m_claims, *m_limited, *m_aborted, *m_woken;
};

/* A run leaves (recorded or stopped): unlinked, freed, its slot free,
 * the next claim considered (work.c). */
void work_run_end(struct work *w, struct run *r);
/* Frees a run that is in no list (work.c). */
void work_run_free(struct run *r);
/* One run back to the queue after delay_ms, attempt not spent, nothing in
 * flight (a limit holds it) (work.c). */
void work_hand_back(struct work *w, struct run *r, long long delay_ms);
/* Stops a run's request now, recording nothing: its lease is gone (work.c). */
void work_abort(struct work *w, struct run *r);
/* Reads the queue settings again (work.c). */
void work_reload_queues(struct work *w);
/* Hands runs back: queued again after delay_ms, attempt not counted. */
void work_release(struct work *w, struct run **runs, size_t n, long long delay_ms);
#endif
