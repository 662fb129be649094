#include "serve_responses.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "job.h"
#include "jobchange.h"
#include "jobread.h"
#include "jobstore.h"
#include "llm.h"
#include "llm_relay_text.h"
#include "log.h"
#include "redis.h"
#include "respjob.h"
#include "runtime.h"
#include "serve_llm.h"
#include "serve_v1.h"

/* Background responses share one queue (RESPJOB_QUEUE: its caps, its depth metric). */
#define RESP_QUEUE RESPJOB_QUEUE
/* A background call may take as long as a sync one (LLM_TIMEOUT); a
 * failed attempt (a 5xx, a cut connection) is tried again. */
#define RESP_ATTEMPTS 3

struct bg {
    struct v1 *c;
    char *payload; /* the request as stored, for the queued answer */
};

static void reply_job(struct v1 *c, MYSQL_ROW row, const unsigned long *len, int status)
{
    (void)len;
    struct respjob_row rr = {.id = (uint64_t)strtoull(row[JOBREAD_COL_ID], NULL, 10),
                             .state = atoi(row[JOBREAD_COL_STATE]),
                             .payload = row[JOBREAD_COL_PAYLOAD],
                             .result = row[JOBREAD_COL_RESULT],
                             .last_error = row[JOBREAD_COL_ERROR]};
    char sqlt[40];
    if (row[JOBREAD_COL_CREATED] && job_parse_time(row[JOBREAD_COL_CREATED], sqlt, sizeof sqlt, &rr.created_s) < 0)
        rr.created_s = 0;
    if (row[JOBREAD_COL_FINISHED] && job_parse_time(row[JOBREAD_COL_FINISHED], sqlt, sizeof sqlt, &rr.finished_s) < 0)
        rr.finished_s = 0;
    struct sbuf b;
    sbuf_init(&b);
    respjob_render(&rr, &b);
    http_reply_json(c->r, status, b.data, b.len);
    sbuf_deinit(&b);
}

static void not_found(struct v1 *c)
{
    http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found",
                     "no such response (a background response of this tenant: resp_...)");
    v1_free(c);
}

static void got_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg);

/* ---- POST /v1/responses with background: true ---- */

static void enqueued_cb(const struct js_reply *rep, void *arg)
{
    struct bg *g = arg;
    struct v1 *c = g->c;
    if (rep->what == JS_REPLAY) { /* the Idempotency-Key's earlier request: that response, as it is now */
        c->job_id = rep->id;
        jobread_get(c->sj->rt->db, c->tenant, rep->id, got_cb, c);
        free(g->payload);
        free(g);
        return;
    }
    if (rep->what == JS_KEY_REUSED) {
        v1_reply_key_reused(c->r, "Idempotency-Key");
    } else if (rep->what == JS_NEW) {
        serve_wake_workers(c->sj);
        v1_count_enqueued(c->sj, RESP_QUEUE, JOB_LLM_RESPONSE, 1);
        struct respjob_row rr = {.id = rep->id, .state = JOB_QUEUED, .payload = g->payload,
                                 .created_s = time_real_us() / 1000000};
        struct sbuf b;
        sbuf_init(&b);
        respjob_render(&rr, &b);
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    } else if (rep->what == JS_UNKNOWN) {
        v1_reply_unknown(c->r, rep->err);
    } else {
        v1_reply_db_error(c->r, rep->err_code, rep->err ? rep->err : "the response could not be stored", "");
    }
    v1_free(c);
    free(g->payload);
    free(g);
}

static void background(struct v1 *c, cJSON *j)
{
    struct job_error e = {0};
    int bad = 0;
    /* A retry with the same key (after a 500 job_state_unknown, say, which
     * advises one) creates nothing new: the first one's response. */
    const char *hk = v1_idempotency_header(c, JOB_IDEM_MAX);
    if (!hk) {
        cJSON_Delete(j);
        return;
    }
    if (strncmp(hk, JOB_BATCH_KEY_PREFIX, strlen(JOB_BATCH_KEY_PREFIX)) == 0) {
        bad = 1;
        snprintf(e.param, sizeof e.param, "Idempotency-Key");
        snprintf(e.message, sizeof e.message, "an Idempotency-Key may not start with \"" JOB_BATCH_KEY_PREFIX
                                              "\" (reserved for batches)");
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stream"))) {
        bad = 1;
        snprintf(e.param, sizeof e.param, "stream");
        snprintf(e.message, sizeof e.message, "a background response is not streamed here: leave stream out and "
                                              "poll GET /v1/responses/{id}");
    } else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "store"))) {
        bad = 1;
        snprintf(e.param, sizeof e.param, "store");
        snprintf(e.message, sizeof e.message, "a background response is stored until it is read: leave store out "
                                              "or true");
    }
    if (bad) {
        e.status = 400;
        cJSON_Delete(j);
        v1_reply_job_error(c->r, &e, "");
        v1_free(c);
        return;
    }
    /* The worker calls the provider plainly: background and stream are ours. */
    cJSON_DeleteItemFromObjectCaseSensitive(j, "background");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "stream");
    cJSON *job = cJSON_CreateObject();
    cJSON_AddStringToObject(job, "queue", RESP_QUEUE);
    cJSON_AddStringToObject(job, "kind", job_kind_name(JOB_LLM_RESPONSE));
    cJSON_AddNumberToObject(job, "max_attempts", RESP_ATTEMPTS);
    cJSON_AddNumberToObject(job, "timeout_ms", (double)c->sj->rt->cfg->llm_timeout_ms);
    char *payload = cJSON_PrintUnformatted(j);
    cJSON_AddItemToObject(job, "payload", j); /* owned by job now */
    struct job_spec spec;
    if (job_spec_parse(job, &c->sj->limits, &spec, &e) < 0) { /* too large, mostly */
        /* the body is the job's payload: name the client's field, not ours */
        const char *p = strncmp(e.param, "payload", 7) == 0 ? e.param + 7 : e.param;
        memmove(e.param, *p == '.' ? p + 1 : p, strlen(*p == '.' ? p + 1 : p) + 1);
        cJSON_Delete(job);
        cJSON_free(payload);
        v1_reply_job_error(c->r, &e, "");
        v1_free(c);
        return;
    }
    cJSON_Delete(job);
    spec.key_id = c->key;
    if (*hk)
        spec.idempotency_key = xstrdup(hk);
    struct bg *g = xcalloc(1, sizeof *g);
    g->c = c;
    g->payload = xstrdup(payload);
    cJSON_free(payload);
    jobstore_enqueue(c->sj->store, c->tenant, &spec, enqueued_cb, g);
}

/* Most requests are answered now: a body that cannot name "background"
 * (neither as it is nor with an escape in it) goes to the sync path
 * without being parsed here first; that path parses it. */
static bool may_be_background(const char *b, size_t n)
{
    return llm_relay_text_find(b, n, "background", 10) || llm_relay_text_find(b, n, "\\u", 2);
}

static void create(struct v1 *c)
{
    struct runtime *rt = c->sj->rt;
    size_t len;
    const char *body = http_req_body(c->r, &len);
    struct job_error e;
    cJSON *j = rt->llm && may_be_background(body, len) ? job_json_parse(body, len, &e) : NULL;
    if (!j || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "background")) || !rt->llm) {
        cJSON_Delete(j);
        serve_llm_sync(c, LLM_EP_RESPONSES); /* plain or streamed now; it answers every error */
        return;
    }
    if (llm_check(rt->llm, c->tenant, LLM_EP_RESPONSES, j, false, &e) < 0) {
        cJSON_Delete(j);
        v1_reply_job_error(c->r, &e, "");
        v1_free(c);
        return;
    }
    background(c, j);
}

/* ---- GET /v1/responses/{id}, POST /v1/responses/{id}/cancel ---- */

static bool is_response(MYSQL_ROW row)
{
    return row && row[JOBREAD_COL_KIND] && strcmp(row[JOBREAD_COL_KIND], job_kind_name(JOB_LLM_RESPONSE)) == 0;
}

static void got_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!res) {
        v1_reply_db_error(c->r, err_code, err ? err : "the response could not be read", "");
        v1_free(c);
        return;
    }
    if (!is_response(row)) {
        not_found(c);
        return;
    }
    reply_job(c, row, mysql_fetch_lengths(res), 200);
    v1_free(c);
}

static void get(struct v1 *c)
{
    c->job_id = respjob_parse_id(http_req_param(c->r, "id"));
    if (!c->job_id) {
        not_found(c);
        return;
    }
    jobread_get(c->sj->rt->db, c->tenant, c->job_id, got_cb, c);
}

static void cancelled_cb(enum jobchange_outcome o, int state, unsigned err_code, const char *err, void *arg)
{
    (void)state;
    struct v1 *c = arg;
    if (o == JOBCHANGE_ERROR) {
        v1_reply_db_error(c->r, err_code, err, "");
        v1_free(c);
        return;
    }
    if (o == JOBCHANGE_OK) { /* a worker running it stops now (its lease is gone anyway) */
        char msg[24];
        snprintf(msg, sizeof msg, "%llu", (unsigned long long)c->job_id);
        redis_publish(c->sj->rt->redis, JOB_DONE_CHANNEL, msg);
    }
    /* Cancelled now, or already ended (a cancel then changes nothing, as
     * OpenAI's): the response as it is. */
    jobread_get(c->sj->rt->db, c->tenant, c->job_id, got_cb, c);
}

static void cancel_read_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!res) {
        v1_reply_db_error(c->r, err_code, err ? err : "the response could not be read", "");
        v1_free(c);
        return;
    }
    if (!is_response(row)) {
        not_found(c);
        return;
    }
    jobchange_cancel(c->sj->rt->db, c->tenant, c->job_id, cancelled_cb, c);
}

static void cancel(struct v1 *c)
{
    c->job_id = respjob_parse_id(http_req_param(c->r, "id"));
    if (!c->job_id) {
        not_found(c);
        return;
    }
    jobread_get(c->sj->rt->db, c->tenant, c->job_id, cancel_read_cb, c);
}

V1_ROUTE(create)
V1_ROUTE(get)
V1_ROUTE(cancel)

void serve_responses_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_POST, "/v1/responses", 0, create_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/responses/{id}", 0, get_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/responses/{id}/cancel", 0, cancel_route, sj);
}
