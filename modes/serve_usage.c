#include "serve_usage.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "httpd.h"
#include "llm.h"
#include "llmlimit.h"
#include "runtime.h"
#include "serve_v1.h"
#include "usage_query.h"

/* GET /v1/limits: the key's tenant and the key itself. */
static void limits_cb(const char *json, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (json)
        http_reply_json(c->r, 200, json, strlen(json));
    else
        reply_db_error(c->r, err ? err : "limits unavailable");
    v1_free(c);
}

static void get_limits(struct v1 *c)
{
    struct llm *l = c->sj->rt->llm;
    if (!l) {
        http_reply_error(c->r, 404, "invalid_request_error", NULL, "not_found",
                         "the LLM gateway is not running in this process");
        v1_free(c);
        return;
    }
    llmlimit_describe(llm_limits(l), c->tenant, c->key, limits_cb, c);
}

/* GET /v1/usage: only the tenant's own rows, grouped. */
struct usage_q {
    struct v1 *c;
    enum usage_group g;
};

static void rows_cb(const struct db_result *r, void *arg)
{
    struct usage_q *q = arg;
    struct v1 *c = q->c;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        usage_rows_json(r->res, q->g, &b);
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    free(q);
    v1_free(c);
}

static void get_usage(struct v1 *c)
{
    enum usage_group g;
    if (usage_parse_group(http_req_query(c->r, "group_by"), &g) < 0) {
        v1_reply_invalid(c, 400, "group_by", "must be model, day or key");
        return;
    }
    int64_t from, to;
    const char *param = "";
    char why[160];
    if (usage_range(http_req_query(c->r, "from"), http_req_query(c->r, "to"), time_real_us() / 1000, &from, &to,
                    &param, why, sizeof why) < 0) {
        v1_reply_invalid(c, 400, param, why);
        return;
    }
    struct usage_q *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->g = g;
    struct sbuf b;
    sbuf_init(&b);
    usage_query_sql(&b, c->tenant, from, to, g);
    db_query(c->sj->rt->db, b.data, 0, rows_cb, q);
    sbuf_deinit(&b);
}

V1_ROUTE(get_limits)
V1_ROUTE(get_usage)

void serve_usage_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/limits", 0, get_limits_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/usage", 0, get_usage_route, sj);
}
