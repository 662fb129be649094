/* respjob: background Responses as durable jobs (kind llm.response): the
 * response id of a job ("resp_" + its id), the Response object a job is
 * shown as (GET /v1/responses/{id}), and the webhook event its end
 * announces. serve renders, work and the cancel path announce. */
#ifndef INGOT_RESPJOB_H
#define INGOT_RESPJOB_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

#define RESPJOB_PREFIX "resp_"
/* The queue background responses are enqueued in. An llm.response job
 * there is a background response and announces its end (webhook
 * events); elsewhere (a batch's line, a job of POST /v1/jobs in another
 * queue) it is a job like any other, its result a Response object. */
#define RESPJOB_QUEUE "responses"

/* "resp_123" -> 123; 0 when it is not one of ours. */
uint64_t respjob_parse_id(const char *s);

/* What a job row says (each borrowed; NULL when the column is NULL). */
struct respjob_row {
    uint64_t id;
    int state;                /* enum job_state */
    const char *payload;      /* the Responses request body */
    const char *result;       /* a Response object (succeeded), or the error body */
    const char *last_error;
    long long created_s;      /* Unix seconds */
    long long finished_s;     /* 0: not finished */
};

/* The Response object of a job into out: the stored answer once it
 * succeeded (its id and background made ours), else one built from the
 * request with status queued, in_progress, failed (error: code and
 * message) or cancelled. */
void respjob_render(const struct respjob_row *r, struct sbuf *out);

/* The webhook event of a background response that ended (type
 * "response.completed", "response.failed" or "response.cancelled"):
 * webhook_event_sql with {"id":"resp_N"}, one statement appended to b. */
void respjob_event_sql(struct sbuf *b, uint64_t tenant, uint64_t job_id, const char *type);

/* The end events of several background responses at once (a bulk cancel,
 * a lease recovery): collected as their rows are read, then run one
 * statement at a time in the same transaction. */
struct respjob_events {
    struct sbuf pairs;        /* "tenant:id," ... */
    size_t pos;
};
void respjob_events_init(struct respjob_events *e);
void respjob_events_deinit(struct respjob_events *e);
void respjob_events_reset(struct respjob_events *e);
void respjob_events_add(struct respjob_events *e, uint64_t tenant, uint64_t job_id);
/* The next one's statement (event type) into b; false when none is left. */
bool respjob_events_next(struct respjob_events *e, const char *type, struct sbuf *b);
/* Whether a job of kind in queue is a background response. */
bool respjob_is_background(enum job_kind kind, const char *queue);
/* The same as an SQL condition on a jobs row (a column to select). */
#define RESPJOB_KIND_SQL "(kind = 'llm.response' AND queue = '" RESPJOB_QUEUE "')"

#endif
