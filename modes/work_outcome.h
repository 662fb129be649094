/* work_outcome: the outcome of an attempt, whatever its kind: recorded
 * (succeeded, retried with backoff, failed) through jobfinish with its log
 * line and metrics, or handed back when a limit holds it; the dispatch of
 * a claimed run to its kind; and the PUBLISH that wakes long-polls when
 * jobs end. Private to the work role. */
#ifndef INGOT_WORK_OUTCOME_H
#define INGOT_WORK_OUTCOME_H

#include <event2/event.h>
#include <stdbool.h>

struct work;
struct run;

/* What an attempt came to, as its kind (work_kinds.h) saw it. */
struct work_outcome {
    bool ok;                  /* succeeded */
    bool retryable;           /* may run again while attempts remain */
    bool wait;                /* held by a limit: queued again after retry_after_ms, attempt not spent */
    long long retry_after_ms; /* what the target said (-1: nothing) */
    int http_status;          /* 0: none */
    const char *result_json;  /* the job's result, or NULL */
    const char *usage_json;   /* the job's usage (llm.*), or NULL */
    const char *error;        /* last_error, or NULL */
};
/* Records the outcome of r's attempt: succeeded, retried with backoff
 * (at least retry_after_ms) while attempts remain, failed, or handed back
 * (wait). Each attempt a kind sent ends here once; everything in o is
 * borrowed. */
void work_outcome(struct work *w, struct run *r, const struct work_outcome *o);
/* Counts r's attempt as started (its request is being sent). */
void work_count_started(struct work *w, struct run *r);
/* Sends the request of a claimed run through its kind. */
void work_execute(struct work *w, struct run *r);
/* The done channel's PUBLISH, once per loop pass. */
void work_done_publish_cb(evutil_socket_t fd, short what, void *arg);

#endif
