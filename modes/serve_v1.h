/* serve_v1: what the /v1 handlers of the serve role share: the
 * authenticated request context and the error replies. Internal to serve. */
#ifndef INGOT_SERVE_V1_H
#define INGOT_SERVE_V1_H

#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "util.h"

struct cJSON;
struct event;
struct http_req;
struct httpd;
struct runtime;
struct auth;
struct jobstore;
struct redis_client;
struct metric_series;
struct v1;
struct bulk_op;
struct rcache;
struct serve_session;

struct metric_family;

/* One row of the queue depth snapshot (queued or running jobs of a queue). */
struct depth_row {
    uint64_t tenant;
    char queue[JOB_QUEUE_MAX + 1];
    int state;            /* JOB_QUEUED or JOB_RUNNING */
    long long count;
    long long age_us;     /* queued: since the oldest due one became due */
};

struct serve_jobs {
    struct metric_family *f_enqueued; /* ingot_jobs_enqueued_total{queue,kind} */
    struct metric_family *f_depth;    /* ingot_queue_depth{tenant,queue,state} */
    struct metric_family *f_age;      /* ingot_queue_oldest_age_seconds{tenant,queue} */
    struct depth_row *depth_rows;     /* the last snapshot behind both (the UI's overview reads it too) */
    size_t depth_n;
    int64_t depth_at_us;              /* when it was read (real time); 0: not yet */
    struct event *depth_timer;
    bool depth_loading;
    struct event *wake_ev;   /* one PUBLISH per loop pass, whatever was enqueued */
    struct runtime *rt;
    struct auth *auth;
    struct jobstore *store;
    struct job_limits limits;
    struct v1 *waiters;
    struct redis_client *done_sub; /* JOB_DONE_CHANNEL: wakes waiters at once */
    struct metric_series *m_woken;
    struct metric_series *m_waiting; /* long-polls waiting now */
    bool draining;
    struct bulk_op *bulks;                /* POST /v1/jobs/cancel|retry running (serve_bulk) */
    struct metric_series *m_bulk_changed[2], *m_bulk_batches[2]; /* [0] retry, [1] cancel */
    struct rcache *rcache;   /* the LLM response cache (serve owns it), or NULL */
    struct serve_session *sess; /* login sessions (serve owns it): the cookie instead of a key */
};

/* One authenticated /v1 request: the tenant and the handler to run. */
struct v1 {
    struct serve_jobs *sj;
    struct http_req *r;
    uint64_t tenant;
    uint64_t key;           /* api_keys.id of the bearer */
    void (*handler)(struct v1 *c);
    void *route_arg;        /* v1_start_arg's: the route's own context */
    /* long-poll state */
    uint64_t job_id;
    int64_t wait_until_ms;
    struct event *timer;
    bool rewake;            /* its job ended while a read was in flight */
    bool wake_after;        /* a retry: workers are woken once the job was read back */
    bool listed;            /* in the waiters list */
    bool anthropic;         /* errors in Anthropic's shape (/v1/messages) */
    struct v1 *next, *prev;
};

/* Authenticates r, then runs handler (which ends with v1_free). */
void v1_start(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *));
/* The same for a route whose clients read Anthropic's error shape. */
void v1_start_anthropic(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *));
/* The same (OpenAI's shape) for a route with its own context (c->route_arg). */
void v1_start_arg(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *), void *route_arg);
/* Anthropic's error shape ({"type":"error","error":{type,message}}), the
 * type following status. */
void v1_reply_anthropic(struct http_req *r, int status, const char *fmt, ...) ATTR_FMT(3, 4);
void v1_free(struct v1 *c);
/* Takes a long-poll off the waiters list (no-op when not listed). */
void v1_waiter_unlink(struct v1 *c);
void reply_db_error(struct http_req *r, const char *err);
/* The same with the MariaDB error number: a value the database refuses
 * (too long, out of range, not valid text...) is the request's fault: 400
 * naming the field (prefix: "" , "job" for a schedule's job, or "[" for a
 * batch, whose row number names jobs[i]); anything else is 503. */
void v1_reply_db_error(struct http_req *r, unsigned code, const char *err, const char *prefix);
/* 500: the job(s) may have been created (an INSERT the database did not
 * confirm); retrying is safe only with an Idempotency-Key. */
void v1_reply_unknown(struct http_req *r, const char *err);
/* 422: an idempotency key used for another request (param names it). */
void v1_reply_key_reused(struct http_req *r, const char *param);
/* The Idempotency-Key header: "" when absent, the key when valid
 * (1-max characters of UTF-8 text), or NULL after answering 400 (c freed). */
const char *v1_idempotency_header(struct v1 *c, size_t max);
/* Tells idle workers (through Redis) that jobs are due. */
void serve_wake_workers(struct serve_jobs *sj);
/* Answers json (an array from a store) as one object when the route has
 * {name} (404 "no such <noun>" when empty), else as a list; or the
 * database error. Frees c. */
void v1_reply_list(struct v1 *c, const char *json, const char *err, const char *noun);
/* Answers status with an invalid_value error naming param ("" for none), frees c. */
void v1_reply_invalid(struct v1 *c, int status, const char *param, const char *why);
/* The route's {name} ("" without one), or NULL after answering 400 (c freed). */
const char *v1_name_param(struct v1 *c, const char *noun);
/* Defines fn_route, the httpd handler that authenticates and runs fn. */
#define V1_ROUTE(fn)                                                                         \
    static void fn##_route(struct http_req *r, void *arg)                                   \
    {                                                                                        \
        v1_start(arg, r, fn);                                                                \
    }
/* Parsed body, or NULL after answering 400. Caller deletes. */
struct cJSON *parse_body(struct http_req *r);
/* Answers a job validation error; prefix ("" or "jobs[3]") goes before
 * the field in param. */
struct job_error;
void v1_reply_job_error(struct http_req *r, const struct job_error *e, const char *prefix);
/* An llm.* job (job: its parsed object, already valid as a job) checked
 * as the engine will run it (llm_check: a routable model, no stream:
 * true), so it is refused when it arrives rather than queued to fail: 0,
 * or -1 with e naming the field under payload ("payload.model"). Other
 * kinds pass. (serve_llm.c) */
int v1_check_llm_job(struct serve_jobs *sj, uint64_t tenant, const struct cJSON *job,
                     struct job_error *e) ATTR_WUR;
/* ingot_jobs_enqueued_total{queue,kind} += n */
void v1_count_enqueued(struct serve_jobs *sj, const char *queue, enum job_kind kind, double n);

#endif
