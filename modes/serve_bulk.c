#include "serve_bulk.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "httpd.h"
#include "job.h"
#include "jobbulk.h"
#include "jobchange.h"
#include "jobfilter.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "runtime.h"
#include "serve_v1.h"
#include "util.h"

/* One bulk request running. */
struct bulk_op {
    struct v1 *c;
    bool cancel;
    struct jobbulk *jb;
    int64_t start_ms;
    struct bulk_op *next, *prev;
};

static void bulk_batch_cb(const uint64_t *ids, size_t n, void *arg)
{
    struct bulk_op *op = arg;
    struct serve_jobs *sj = op->c->sj;
    metrics_add(sj->m_bulk_batches[op->cancel], 1);
    metrics_add(sj->m_bulk_changed[op->cancel], (double)n);
    serve_wake_workers(sj); /* as after one job's cancel or retry */
    if (!op->cancel || redis_state(sj->rt->redis) != REDIS_READY)
        return;
    /* The cancelled jobs end: long-polls waiting on them are woken. */
    struct sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&b, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
    redis_publish(sj->rt->redis, JOB_DONE_CHANNEL, b.data);
    sbuf_deinit(&b);
}

static void bulk_done_cb(const struct jobbulk_result *r, void *arg)
{
    struct bulk_op *op = arg;
    struct v1 *c = op->c;
    const char *what = op->cancel ? "cancel" : "retry";
    long long ms = (long long)(time_mono_ms() - op->start_ms);
    DLIST_REMOVE(c->sj->bulks, op);
    LOG_AT(LOG_INFO, http_req_id(c->r), NULL, "bulk %s: matched %llu, changed %llu in %llu batches, %lld ms%s%s", what, r->matched, r->changed,
             r->batches, ms, r->complete ? "" : ", stopped: ",
             r->complete ? "" : (*r->err ? r->err : "time limit or drain; answered with a resume token"));
    if (!*r->err) {
        /* Whole, or stopped by its time limit or a drain: the counts so
         * far and, unless complete, the token that goes on from there. */
        char body[320];
        int n = snprintf(body, sizeof body,
                         "{\"object\":\"job.bulk\",\"operation\":\"%s\",\"matched\":%llu,\"changed\":%llu,"
                         "\"batches\":%llu,\"complete\":%s,\"resume\":",
                         what, r->matched, r->changed, r->batches, r->complete ? "true" : "false");
        if (r->complete)
            n += snprintf(body + n, sizeof body - (size_t)n, "null}");
        else
            n += snprintf(body + n, sizeof body - (size_t)n, "\"%s\"}", r->resume);
        http_reply_json(c->r, 200, body, (size_t)n);
    } else {
        /* Changes are idempotent: sending the same request again finishes it. */
        http_add_header(c->r, "Retry-After", "1");
        http_reply_error(c->r, 503, "server_error", NULL, "database_unavailable",
                         "the database failed during the bulk %s after it changed %llu jobs; send the same "
                         "request again to finish it",
                         what, r->changed);
    }
    free(op);
    v1_free(c);
}

static void bulk_change(struct v1 *c, bool cancel)
{
    if (c->sj->draining) {
        http_add_header(c->r, "Retry-After", "1");
        http_reply_error(c->r, 503, "server_error", NULL, "shutting_down",
                         "the server is shutting down; send the request to another one");
        v1_free(c);
        return;
    }
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct jobbulk_spec spec;
    const char *param = "";
    char why[200];
    int rc = jobbulk_parse(j, cancel, &spec, &param, why, sizeof why);
    if (rc < 0) {
        http_reply_error(c->r, 400, "invalid_request_error", *param ? param : NULL, "invalid_value", "%s", why);
        cJSON_Delete(j);
        v1_free(c);
        return;
    }
    cJSON_Delete(j);
    struct bulk_op *op = xcalloc(1, sizeof *op);
    op->c = c;
    op->cancel = cancel;
    op->start_ms = time_mono_ms();
    DLIST_PUSH(c->sj->bulks, op);
    op->jb = jobbulk_start(c->sj->rt->db, c->tenant, cancel, &spec, JOBBULK_ROWS, bulk_batch_cb, bulk_done_cb, op);
}

static void bulk_cancel(struct v1 *c)
{
    bulk_change(c, true);
}

static void bulk_retry(struct v1 *c)
{
    bulk_change(c, false);
}

V1_ROUTE(bulk_cancel)
V1_ROUTE(bulk_retry)

void serve_bulk_routes(struct httpd *h, struct serve_jobs *sj)
{
    struct metric_family *changed = metrics_family(sj->rt->metrics, METRIC_COUNTER, "ingot_jobs_bulk_changed_total",
                                                   "Jobs changed by POST /v1/jobs/cancel and /retry.");
    struct metric_family *batches =
        metrics_family(sj->rt->metrics, METRIC_COUNTER, "ingot_job_bulk_batches_total",
                       "Transactions of bulk changes that changed jobs (each at most 500 rows).");
    sj->m_bulk_changed[0] = metrics_series(changed, "operation=\"retry\"");
    sj->m_bulk_changed[1] = metrics_series(changed, "operation=\"cancel\"");
    sj->m_bulk_batches[0] = metrics_series(batches, "operation=\"retry\"");
    sj->m_bulk_batches[1] = metrics_series(batches, "operation=\"cancel\"");
    /* Fixed segments: /v1/jobs/{id} is GET only and /v1/jobs/{id}/cancel has
     * three segments, so neither takes these. */
    httpd_route(h, HTTP_M_POST, "/v1/jobs/cancel", 0, bulk_cancel_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/jobs/retry", 0, bulk_retry_route, sj);
}

void serve_bulk_drain(struct serve_jobs *sj)
{
    for (struct bulk_op *op = sj->bulks; op; op = op->next)
        if (op->jb)
            jobbulk_stop(op->jb);
}
