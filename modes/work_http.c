/* The http kind: sends the signed request a job's payload describes on
 * the curl multi loop and turns its response into an outcome. */
#include "work_http.h"

#include <stdio.h>

#include "config.h"
#include "httpc.h"
#include "runtime.h"
#include "util.h"
#include "work_int.h"
#include "work_outcome.h"
#include "work_result.h"

static void http_done_cb(const struct httpc_response *resp, void *arg)
{
    struct run *r = arg;
    struct work_verdict v;
    work_classify(resp, &v);
    struct sbuf result;
    sbuf_init(&result);
    double ms = (double)(time_mono_us() - r->started_us) / 1000.0;
    if (!resp->error)
        work_result_json(resp, ms, &result);
    struct work_outcome o = {.ok = v.ok,
                             .retryable = v.retryable,
                             .retry_after_ms = v.retry_after_ms,
                             .http_status = (int)resp->status,
                             .result_json = result.len ? result.data : NULL,
                             .error = v.error[0] ? v.error : NULL};
    work_outcome(r->w, r, &o);
    sbuf_deinit(&result);
}

void work_http_execute(struct work *w, struct run *r)
{
    char why[256] = "";
    struct work_request req;
    if (work_request_build(&r->job, w->cfg->signing_key, w->cfg->signing_key_next, &req, why,
                           sizeof why) < 0) {
        struct httpc_response fake = {.error = why, .refused = true, .body = ""};
        http_done_cb(&fake, r); /* a payload that cannot be sent fails for good */
        return;
    }
    struct httpc_request hr = {.method = req.method,
                               .url = req.url,
                               .headers = (const char *const *)req.headers,
                               .body = req.body,
                               .body_len = req.body_len,
                               .timeout_ms = r->job.timeout_ms,
                               .max_body = RESULT_BODY_MAX,
                               .ssrf = w->ssrf};
    work_count_started(w, r);
    if (httpc_send(w->rt->httpc, &hr, http_done_cb, r) < 0) {
        struct httpc_response fake = {.error = "cannot start the request", .body = ""};
        http_done_cb(&fake, r);
    }
    work_request_deinit(&req);
}

bool work_http_stop(struct work *w, struct run *r)
{
    return httpc_abort(w->rt->httpc, http_done_cb, r);
}
