#include "serve_attempts.h"

#include <stdio.h>
#include <stdlib.h>

#include "httpd.h"
#include "jobattempts.h"
#include "jobread.h"
#include "runtime.h"
#include "serve_v1.h"

static void listed_cb(const char *json, bool found, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (err) {
        reply_db_error(c->r, err);
    } else if (!found) { /* another tenant's job looks the same as none */
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "{\"object\":\"list\",\"job_id\":\"job_%llu\",\"data\":%s}",
                    (unsigned long long)c->job_id, json);
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    v1_free(c);
}

/* GET /v1/jobs/{id}/attempts: oldest first, newest last. */
static void list_attempts(struct v1 *c)
{
    c->job_id = jobread_parse_id(http_req_param(c->r, "id"));
    if (!c->job_id) {
        http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "no such job");
        v1_free(c);
        return;
    }
    jobattempts_list(c->sj->rt->db, c->tenant, c->job_id, listed_cb, c);
}

V1_ROUTE(list_attempts)

void serve_attempts_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/jobs/{id}/attempts", 0, list_attempts_route, sj);
}
