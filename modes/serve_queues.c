#include "serve_queues.h"

#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "queuestore.h"
#include "runtime.h"
#include "serve_v1.h"

/* GET /v1/queues, GET and PUT /v1/queues/{name} */
static void queues_cb(const char *json, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (!json) {
        reply_db_error(c->r, err);
    } else if (http_req_param(c->r, "name")) {
        /* one queue: the array's single element, or 404 */
        size_t n = strlen(json);
        if (n <= 2)
            http_reply_error(c->r, 404, "invalid_request_error", "name", "not_found", "no such queue");
        else
            http_reply_json(c->r, 200, json + 1, n - 2);
    } else {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "{\"object\":\"list\",\"data\":%s}", json);
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    v1_free(c);
}

static const char *queue_name(struct v1 *c)
{
    const char *name = http_req_param(c->r, "name");
    if (name && !job_name_valid(name, JOB_QUEUE_MAX)) {
        http_reply_error(c->r, 400, "invalid_request_error", "name", "invalid_value",
                         "queue names are 1-128 characters of A-Z a-z 0-9 . _ : -");
        v1_free(c);
        return NULL;
    }
    return name ? name : "";
}

static void list_queues(struct v1 *c)
{
    const char *name = queue_name(c);
    if (!name)
        return;
    const struct config *cfg = c->sj->rt->cfg;
    queuestore_list(c->sj->rt->db, c->tenant, *name ? name : NULL, cfg->queue_limiter_max,
                    cfg->queue_limiter_duration_ms, queues_cb, c);
}

static void put_queue(struct v1 *c)
{
    const char *name = queue_name(c);
    if (!name)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct queue_settings qs;
    char param[96], why[200];
    int rc = queue_settings_parse(j, &qs, param, sizeof param, why, sizeof why);
    cJSON_Delete(j);
    if (rc < 0) {
        http_reply_error(c->r, 400, "invalid_request_error", param[0] ? param : NULL, "invalid_value",
                         "%s%s%s", param, param[0] ? ": " : "", why);
        v1_free(c);
        return;
    }
    const struct config *cfg = c->sj->rt->cfg;
    queuestore_put(c->sj->rt->db, c->tenant, name, &qs, cfg->queue_limiter_max,
                   cfg->queue_limiter_duration_ms, queues_cb, c);
}

#define ROUTE(fn)                                                                            \
    static void fn##_route(struct http_req *r, void *arg)                                   \
    {                                                                                        \
        v1_start(arg, r, fn);                                                                \
    }
ROUTE(list_queues)
ROUTE(put_queue)

void serve_queues_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/queues", 0, list_queues_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/queues/{name}", 0, list_queues_route, sj);
    httpd_route(h, HTTP_M_PUT, "/v1/queues/{name}", 0, put_queue_route, sj);
}
