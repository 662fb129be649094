#include "serve_jobs.h"

#include <cJSON.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "auth.h"
#include "check.h"
#include "config.h"
#include "db.h"
#include "dberr.h"
#include "httpd.h"
#include "job.h"
#include "jobchange.h"
#include "jobfilter.h"
#include "jobread.h"
#include "jobstore.h"
#include "log.h"
#include "metrics.h"
#include "loop.h"
#include "redis.h"
#include "runtime.h"
#include "serve_batch.h"
#include "serve_bulk.h"
#include "serve_queues.h"
#include "serve_schedules.h"
#include "serve_query.h"
#include "serve_v1.h"

#define WAIT_MAX_S 60
#define WAIT_POLL_MS 200
/* With the done channel live a waiter is woken when its job ends; it still
 * reads now and then in case a message was lost (Redis restarting). */
#define WAIT_POLL_WOKEN_MS 2000
#define LIST_DEFAULT 20
#define LIST_MAX 100


/* POST /v1/jobs */
struct enqueue {
    struct v1 *c;
    char queue[JOB_QUEUE_MAX + 1]; /* for the metrics */
    enum job_kind kind;
};

static void got_existing_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!row) {
        v1_reply_db_error(c->r, err_code, err ? err : "idempotent job vanished", "");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        jobread_json(row, mysql_fetch_lengths(res), &b);
        http_add_header(c->r, "Idempotent-Replayed", "true");
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    v1_free(c);
}

static void enqueued_cb(const struct js_reply *rep, void *arg)
{
    struct enqueue *e = arg;
    struct v1 *c = e->c;
    switch (rep->what) {
    case JS_FAILED:
        v1_reply_db_error(c->r, rep->err_code, rep->err, "");
        v1_free(c);
        break;
    case JS_UNKNOWN:
        v1_reply_unknown(c->r, rep->err);
        v1_free(c);
        break;
    case JS_KEY_REUSED:
        v1_reply_key_reused(c->r, "idempotency_key");
        v1_free(c);
        break;
    case JS_REPLAY:
        jobread_get(c->sj->rt->db, c->tenant, rep->id, got_existing_cb, c);
        break;
    case JS_NEW:
        serve_wake_workers(c->sj);
        v1_count_enqueued(c->sj, e->queue, e->kind, 1);
        http_reply_json(c->r, 202, rep->json, strlen(rep->json));
        v1_free(c);
        break;
    }
    free(e);
}

static void create_job(struct v1 *c)
{
    const char *hk = v1_idempotency_header(c, JOB_IDEM_MAX);
    if (!hk)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct job_spec spec;
    struct job_error err;
    if (job_spec_parse(j, &c->sj->limits, &spec, &err) < 0) {
        cJSON_Delete(j);
        v1_reply_job_error(c->r, &err, "");
        v1_free(c);
        return;
    }
    if (v1_check_llm_job(c->sj, c->tenant, j, &err) < 0) {
        cJSON_Delete(j);
        job_spec_deinit(&spec);
        v1_reply_job_error(c->r, &err, "");
        v1_free(c);
        return;
    }
    cJSON_Delete(j);
    spec.key_id = c->key;
    if (*hk) {
        if (spec.idempotency_key && strcmp(spec.idempotency_key, hk) != 0) {
            job_spec_deinit(&spec);
            http_reply_error(c->r, 400, "invalid_request_error", "Idempotency-Key", "invalid_value",
                             "Idempotency-Key must match idempotency_key if both are given");
            v1_free(c);
            return;
        }
        if (!spec.idempotency_key && strncmp(hk, JOB_BATCH_KEY_PREFIX, strlen(JOB_BATCH_KEY_PREFIX)) == 0) {
            job_spec_deinit(&spec);
            http_reply_error(c->r, 400, "invalid_request_error", "Idempotency-Key", "invalid_value",
                             "a job's Idempotency-Key may not start with \"" JOB_BATCH_KEY_PREFIX
                             "\" (reserved for batches)");
            v1_free(c);
            return;
        }
        if (!spec.idempotency_key)
            spec.idempotency_key = xstrdup(hk);
    }
    struct enqueue *e = xcalloc(1, sizeof *e);
    e->c = c;
    memcpy(e->queue, spec.queue, sizeof spec.queue);
    e->kind = spec.kind;
    jobstore_enqueue(c->sj->store, c->tenant, &spec, enqueued_cb, e);
}

/* GET /v1/jobs/{id}[?wait=N] */
static void get_job_start(struct v1 *c);

static void wait_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    get_job_start(arg);
}

static void got_job_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (c->wake_after) { /* the retried job was read as the retry left it */
        c->wake_after = false;
        serve_wake_workers(c->sj);
    }
    if (!res) {
        v1_waiter_unlink(c);
        v1_reply_db_error(c->r, err_code, err, "");
        v1_free(c);
        return;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        v1_waiter_unlink(c);
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
        v1_free(c);
        return;
    }
    int state = atoi(row[3]); /* our own column: a TINYINT */
    bool terminal = state >= JOB_SUCCEEDED;
    if (!terminal && c->wait_until_ms > time_mono_ms() && !c->sj->draining &&
        !http_req_gone(c->r)) { /* a client gone: stop waiting for it */
        long long ms = redis_state(c->sj->done_sub) == REDIS_READY ? WAIT_POLL_WOKEN_MS : WAIT_POLL_MS;
        if (c->rewake)
            ms = 0;
        c->rewake = false;
        long long left = (long long)(c->wait_until_ms - time_mono_ms());
        if (ms > left)
            ms = left > 0 ? left : 0;
        struct timeval tv = loop_tv(ms);
        evtimer_add(c->timer, &tv);
        return;
    }
    v1_waiter_unlink(c);
    struct sbuf b;
    sbuf_init(&b);
    jobread_json(row, mysql_fetch_lengths(res), &b);
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
}

static void get_job_start(struct v1 *c)
{
    jobread_get(c->sj->rt->db, c->tenant, c->job_id, got_job_cb, c);
}

/* A waiter is listed from its first read on, so a job that ends while
 * that read is in flight still wakes it (rewake). */
static void waiter_link(struct v1 *c)
{
    struct serve_jobs *sj = c->sj;
    c->timer = evtimer_new(loop_base(sj->rt->loop), wait_timer_cb, c);
    if (!c->timer)
        abort();
    c->listed = true;
    metrics_add(sj->m_waiting, 1);
    DLIST_PUSH(sj->waiters, c);
}

/* JOB_DONE_CHANNEL: "id,id,..."; wakes the waiters of those jobs. */
static void done_cb(const char *payload, size_t len, void *arg)
{
    struct serve_jobs *sj = arg;
    if (!sj->waiters)
        return; /* the common case: nobody long-polls on this serve */
    size_t i = 0;
    while (i < len) {
        uint64_t id = 0;
        size_t digits = 0;
        for (; i < len && payload[i] >= '0' && payload[i] <= '9' && digits < 20; i++, digits++)
            id = id * 10 + (uint64_t)(payload[i] - '0');
        for (; i < len && payload[i] != ','; i++) /* skip anything else */
            ;
        i++;
        for (struct v1 *c = sj->waiters; id && c; c = c->next) {
            if (c->job_id != id)
                continue;
            metrics_add(sj->m_woken, 1);
            if (evtimer_pending(c->timer, NULL)) {
                evtimer_del(c->timer);
                event_active(c->timer, EV_TIMEOUT, 0);
            } else {
                c->rewake = true; /* a read is in flight: read again after it */
            }
        }
    }
}

static void note_done(struct serve_jobs *sj, uint64_t id)
{
    char msg[24];
    snprintf(msg, sizeof msg, "%llu", (unsigned long long)id);
    redis_publish(sj->rt->redis, JOB_DONE_CHANNEL, msg);
}

static void get_job(struct v1 *c)
{
    c->job_id = jobread_parse_id(http_req_param(c->r, "id"));
    if (!c->job_id) {
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
        v1_free(c);
        return;
    }
    const char *w = http_req_query(c->r, "wait");
    if (w) {
        long long secs;
        if (check_parse_ll(w, 0, WAIT_MAX_S, &secs) < 0) {
            http_reply_error(c->r, 400, "invalid_request_error", "wait", "invalid_value",
                             "wait must be a whole number of seconds from 0 to %d", WAIT_MAX_S);
            v1_free(c);
            return;
        }
        c->wait_until_ms = time_mono_ms() + secs * 1000;
        if (secs > 0)
            waiter_link(c);
    }
    get_job_start(c);
}

/* GET /v1/jobs?queue=&status=&kind=&group=&created_after=&created_before=&limit=&cursor=
 * (the cursor is the last id shown: it stays right whatever the filters) */
struct list {
    struct v1 *c;
    int limit;
    struct jobfilter f;
};

static void listed_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct list *l = arg;
    struct v1 *c = l->c;
    if (!res) {
        v1_reply_db_error(c->r, err_code, err, "");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
        MYSQL_ROW row;
        int n = 0;
        char cursor[JOBFILTER_CURSOR_MAX + 1] = "";
        bool more = false;
        while ((row = mysql_fetch_row(res))) {
            if (n == l->limit) {
                more = true;
                break;
            }
            if (n++)
                sbuf_putc(&b, ',');
            jobread_json(row, mysql_fetch_lengths(res), &b);
            jobfilter_cursor(&l->f, row[JOBREAD_COL_ID], row[JOBREAD_COL_CREATED], cursor, sizeof cursor);
        }
        sbuf_printf(&b, "],\"has_more\":%s,\"next_cursor\":", more ? "true" : "false");
        if (more)
            sbuf_printf(&b, "\"%s\"", cursor); /* our own letters and digits */
        else
            sbuf_puts(&b, "null");
        sbuf_putc(&b, '}');
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    free(l);
    v1_free(c);
}

static void list_jobs(struct v1 *c)
{
    static const char *const fields[] = {"queue", "status", "kind", "group", "created_after",
                                         "created_before"};
    const char *limit_s = http_req_query(c->r, "limit");
    const char *cursor = http_req_query(c->r, "cursor");
    long long limit = LIST_DEFAULT;
    struct jobfilter_pos pos = {0};
    struct jobfilter f;
    jobfilter_init(&f);
    char why[160] = "";
    const char *bad = NULL;
    for (size_t i = 0; i < ARRAY_LEN(fields) && !bad; i++) {
        const char *v = http_req_query(c->r, fields[i]);
        if (v && jobfilter_set(&f, fields[i], v, why, sizeof why) < 0)
            bad = fields[i];
    }
    if (!bad && jobfilter_check(&f, &bad, why, sizeof why) < 0) {
        /* bad and why are set */
    } else if (!bad && limit_s && check_parse_ll(limit_s, 1, LIST_MAX, &limit) < 0) {
        bad = "limit";
        snprintf(why, sizeof why, "limit must be a whole number from 1 to %d", LIST_MAX);
    } else if (!bad && cursor && jobfilter_cursor_parse(&f, cursor, &pos) < 0) {
        bad = "cursor";
        snprintf(why, sizeof why, "cursor must be a next_cursor from an earlier page of a list with the same "
                                  "filters");
    }
    if (bad) {
        http_reply_error(c->r, 400, "invalid_request_error", bad, "invalid_value", "%s", why);
        v1_free(c);
        return;
    }
    struct list *l = xcalloc(1, sizeof *l);
    l->c = c;
    l->limit = (int)limit;
    l->f = f;
    jobread_list(c->sj->rt->db, c->tenant, &f, &pos, (int)limit + 1, listed_cb, l);
}

/* POST /v1/jobs/{id}/cancel and /retry */
static void changed_cb(enum jobchange_outcome o, int state, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    switch (o) {
    case JOBCHANGE_OK:
        /* A retried job is answered as queued, then workers are woken:
         * woken first, one could claim it before the read-back. */
        if (state == JOB_CANCELLED) {
            serve_wake_workers(c->sj);
            note_done(c->sj, c->job_id);
        } else {
            c->wake_after = true;
        }
        c->wait_until_ms = 0;
        get_job_start(c); /* answers with the job as it is now */
        return;
    case JOBCHANGE_NOT_FOUND:
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
        break;
    case JOBCHANGE_CONFLICT:
        http_reply_error(c->r, 409, "invalid_request_error", "id", "invalid_state",
                         "the job is %s", job_state_name(state));
        break;
    case JOBCHANGE_ERROR:
        v1_reply_db_error(c->r, err_code, err, "");
        break;
    }
    v1_free(c);
}

static void change_job(struct v1 *c, bool cancel)
{
    c->job_id = jobread_parse_id(http_req_param(c->r, "id"));
    if (!c->job_id) {
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
        v1_free(c);
        return;
    }
    if (cancel)
        jobchange_cancel(c->sj->rt->db, c->tenant, c->job_id, changed_cb, c);
    else
        jobchange_retry(c->sj->rt->db, c->tenant, c->job_id, changed_cb, c);
}

static void cancel_job(struct v1 *c)
{
    change_job(c, true);
}

static void retry_job(struct v1 *c)
{
    change_job(c, false);
}

V1_ROUTE(create_job)
V1_ROUTE(get_job)
V1_ROUTE(list_jobs)
V1_ROUTE(cancel_job)
V1_ROUTE(retry_job)

struct serve_jobs *serve_jobs_new(struct runtime *rt, struct httpd *h, char *err, size_t errlen)
{
    const struct config *cfg = rt->cfg;
    if (!*cfg->api_key_hash_secret) {
        snprintf(err, errlen, "API_KEY_HASH_SECRET is required to serve the API (`ingot init` generates one)");
        return NULL;
    }
    struct serve_jobs *sj = xcalloc(1, sizeof *sj);
    sj->rt = rt;
    serve_wake_init(sj);
    sj->auth = auth_new(rt->db, cfg->api_key_hash_secret);
    serve_queues_depth_start(sj);
    sj->f_enqueued = metrics_family(rt->metrics, METRIC_COUNTER, "ingot_jobs_enqueued_total",
                                    "Jobs accepted by the API, by queue and kind.");
    int half = (int)(cfg->database_max_connections > 2 ? cfg->database_max_connections / 2 : 1);
    sj->store = jobstore_new(rt->db, rt->metrics, 100, half < 4 ? half : 4, half);
    sj->limits.max_payload = (size_t)cfg->job_max_payload;
    sj->limits.max_metadata = (size_t)16 * 1024;
    serve_batch_routes(h, sj);
    serve_bulk_routes(h, sj);
    httpd_route(h, HTTP_M_POST, "/v1/jobs", 0, create_job_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/jobs", 0, list_jobs_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/jobs/{id}", 0, get_job_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/jobs/{id}/cancel", 0, cancel_job_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/jobs/{id}/retry", 0, retry_job_route, sj);
    serve_queues_routes(h, sj);
    serve_schedules_routes(h, sj);
    sj->m_woken = metrics_series(metrics_family(rt->metrics, METRIC_COUNTER, "ingot_job_waits_woken_total",
                                                "Long-polls woken by a job-done message (Redis)."), "");
    sj->m_waiting = metrics_series(metrics_family(rt->metrics, METRIC_GAUGE, "ingot_job_waits",
                                                  "Long-polls (GET /v1/jobs/{id}?wait=N) waiting now."), "");
    if (*cfg->redis_url) {
        char rerr[256];
        sj->done_sub = redis_client_new(rt->loop, NULL, cfg->redis_url, 500, rerr, sizeof rerr);
        if (sj->done_sub)
            redis_subscribe(sj->done_sub, JOB_DONE_CHANNEL, done_cb, sj);
        else
            log_warn("long-polls will poll: %s", rerr);
    }
    return sj;
}

void serve_jobs_drain(struct serve_jobs *sj)
{
    sj->draining = true;
    serve_bulk_drain(sj);
    event_del(sj->depth_timer);
    for (struct v1 *c = sj->waiters; c; c = c->next) {
        if (!evtimer_pending(c->timer, NULL))
            continue; /* a read is in flight: it sees draining and answers */
        evtimer_del(c->timer);
        event_active(c->timer, EV_TIMEOUT, 0); /* re-reads once, then answers */
    }
}

void serve_jobs_free(struct serve_jobs *sj)
{
    if (!sj)
        return;
    redis_client_free(sj->done_sub);
    jobstore_free(sj->store);
    auth_free(sj->auth);
    event_free(sj->wake_ev);
    event_free(sj->depth_timer);
    free(sj->depth_rows);
    free(sj);
}
