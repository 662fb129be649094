#include "serve_schedules.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "runtime.h"
#include "schedstore.h"
#include "serve_v1.h"

static void one_or_list_cb(const char *json, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (!json && err_code) { /* a value the database refuses is a 400, not a 503 */
        v1_reply_db_error(c->r, err_code, err, "");
        v1_free(c);
        return;
    }
    v1_reply_list(c, json, err, "schedule");
}

static void list_schedules(struct v1 *c)
{
    const char *name = v1_name_param(c, "schedule");
    if (name)
        schedstore_list(c->sj->rt->db, c->tenant, *name ? name : NULL, one_or_list_cb, c);
}

static void put_schedule(struct v1 *c)
{
    const char *name = v1_name_param(c, "schedule");
    if (!name)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    struct schedule_spec s;
    int status = 400;
    char param[96], why[256];
    int rc = schedule_spec_parse(j, &c->sj->limits, &s, &status, param, sizeof param, why, sizeof why);
    struct job_error e;
    if (rc == 0 && v1_check_llm_job(c->sj, c->tenant, cJSON_GetObjectItemCaseSensitive(j, "job"), &e) < 0) {
        schedule_spec_deinit(&s);
        cJSON_Delete(j);
        snprintf(param, sizeof param, "job.%.80s", e.param);
        v1_reply_invalid(c, e.status, param, e.message);
        return;
    }
    cJSON_Delete(j);
    if (rc < 0) {
        v1_reply_invalid(c, status, param, why);
        return;
    }
    schedstore_put(c->sj->rt->db, c->tenant, name, &s, one_or_list_cb, c);
    schedule_spec_deinit(&s);
}

static void deleted_cb(const char *json, unsigned err_code, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (!json) {
        v1_reply_db_error(c->r, err_code, err, "");
    } else if (strcmp(json, "true") != 0) {
        http_reply_error(c->r, 404, "invalid_request_error", "name", "not_found", "no such schedule");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"object\":\"schedule.deleted\",\"name\":");
        sbuf_json_str(&b, http_req_param(c->r, "name"));
        sbuf_puts(&b, ",\"deleted\":true}");
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    v1_free(c);
}

static void delete_schedule(struct v1 *c)
{
    const char *name = v1_name_param(c, "schedule");
    if (name)
        schedstore_delete(c->sj->rt->db, c->tenant, name, deleted_cb, c);
}

V1_ROUTE(list_schedules)
V1_ROUTE(put_schedule)
V1_ROUTE(delete_schedule)

void serve_schedules_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/schedules", 0, list_schedules_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/schedules/{name}", 0, list_schedules_route, sj);
    httpd_route(h, HTTP_M_PUT, "/v1/schedules/{name}", 0, put_schedule_route, sj);
    httpd_route(h, HTTP_M_DELETE, "/v1/schedules/{name}", 0, delete_schedule_route, sj);
}
