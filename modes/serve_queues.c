#include "serve_queues.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "httpd.h"
#include "loop.h"
#include "metrics.h"
#include "queuestore.h"
#include "redis.h"
#include "runtime.h"
#include "serve_v1.h"

void v1_reply_list(struct v1 *c, const char *json, const char *err, const char *noun)
{
    if (!json) {
        reply_db_error(c->r, err);
    } else if (http_req_param(c->r, "name")) {
        /* one object: the array's single element, or 404 */
        size_t n = strlen(json);
        if (n <= 2)
            http_reply_error(c->r, 404, "invalid_request_error", "name", "not_found", "no such %s", noun);
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

void v1_reply_invalid(struct v1 *c, int status, const char *param, const char *why)
{
    /* a why that names the field already ("url: ...", "name must ...") is not prefixed twice */
    size_t pl = strlen(param);
    bool named = pl && strncmp(why, param, pl) == 0 && (why[pl] == ':' || why[pl] == ' ');
    http_reply_error(c->r, status, "invalid_request_error", param[0] ? param : NULL, "invalid_value",
                     "%s%s%s", named ? "" : param, param[0] && !named ? ": " : "", why);
    v1_free(c);
}

const char *v1_name_param(struct v1 *c, const char *noun)
{
    const char *name = http_req_param(c->r, "name");
    if (name && !job_name_valid(name, JOB_QUEUE_MAX)) {
        http_reply_error(c->r, 400, "invalid_request_error", "name", "invalid_value",
                         "%s names are 1-128 characters of A-Z a-z 0-9 . _ : -", noun);
        v1_free(c);
        return NULL;
    }
    return name ? name : "";
}

/* GET /v1/queues, GET, PUT and PATCH /v1/queues/{name} */
static void queues_cb(const char *json, const char *err, void *arg)
{
    v1_reply_list(arg, json, err, "queue");
}

/* The oldest due queued job's age from the depth snapshot (when a queue
 * has more due jobs than a GET reads). */
static bool depth_oldest(void *arg, uint64_t tenant, const char *queue, long long *age_ms, long long *snap_age_ms)
{
    const struct serve_jobs *sj = arg;
    for (size_t i = 0; sj->depth_at_us && i < sj->depth_n; i++) {
        const struct depth_row *d = &sj->depth_rows[i];
        if (d->tenant == tenant && d->state == JOB_QUEUED && strcmp(d->queue, queue) == 0) {
            *age_ms = d->age_us / 1000;
            *snap_age_ms = (time_real_us() - sj->depth_at_us) / 1000;
            return true;
        }
    }
    return false;
}

static void list_queues(struct v1 *c)
{
    const char *name = v1_name_param(c, "queue");
    if (!name)
        return;
    const struct config *cfg = c->sj->rt->cfg;
    const char *counts = http_req_query(c->r, "counts");
    if (counts && strcmp(counts, "true") != 0 && strcmp(counts, "false") != 0) {
        v1_reply_invalid(c, 400, "counts", "true (the default) or false (the settings alone: no job is counted)");
        return;
    }
    struct queuestore_count count = {*name ? QUEUESTORE_COUNT_CAP_ONE : QUEUESTORE_COUNT_CAP_LIST, depth_oldest,
                                     c->sj};
    if (counts && strcmp(counts, "false") == 0)
        count.cap = 0;
    queuestore_list_opt(c->sj->rt->db, c->tenant, *name ? name : NULL, &count, cfg->queue_limiter_max,
                        cfg->queue_limiter_duration_ms, queues_cb, c);
}

/* A change is published at once: workers reload the settings before their
 * next claim instead of within their 1 s refresh. */
static void settings_changed(struct v1 *c, const char *json)
{
    if (json && redis_state(c->sj->rt->redis) == REDIS_READY)
        redis_publish(c->sj->rt->redis, JOB_WAKE_CHANNEL, JOB_WAKE_QUEUES);
}

static void patched_cb(const char *json, const char *err, void *arg)
{
    settings_changed(arg, json);
    v1_reply_list(arg, json, err, "queue");
}

/* PUT answers the queue plus "reset_to_default": the settings its body
 * left out, which a full replace set back to their defaults. */
struct put_reply {
    struct v1 *c;
    char *reset;    /* JSON array text */
};

static void put_replied_cb(const char *json, const char *err, void *arg)
{
    struct put_reply *p = arg;
    settings_changed(p->c, json);
    size_t n = json ? strlen(json) : 0;
    if (n > 3 && json[n - 2] == '}') { /* "[{...}]": add the member to the object */
        struct sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "%.*s,\"reset_to_default\":%s}]", (int)(n - 2), json, p->reset);
        v1_reply_list(p->c, b.data, NULL, "queue");
        sbuf_deinit(&b);
    } else {
        v1_reply_list(p->c, json, err, "queue");
    }
    free(p->reset);
    free(p);
}

/* PUT replaces every setting (those not given go back to their defaults);
 * PATCH is a JSON merge: only the settings given change, null clears one. */
static void set_queue(struct v1 *c, bool replace)
{
    const char *name = v1_name_param(c, "queue");
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
        v1_reply_invalid(c, 400, param, why);
        return;
    }
    const struct config *cfg = c->sj->rt->cfg;
    struct queuestore_count count = {QUEUESTORE_COUNT_CAP_ONE, depth_oldest, c->sj};
    if (!replace) {
        queuestore_put(c->sj->rt->db, c->tenant, name, &qs, &count, cfg->queue_limiter_max,
                       cfg->queue_limiter_duration_ms, patched_cb, c);
        return;
    }
    struct put_reply *p = xcalloc(1, sizeof *p);
    p->c = c;
    struct sbuf b;
    sbuf_init(&b);
    queue_settings_reset_json(&qs, &b);
    p->reset = sbuf_steal(&b);
    qs.given = QS_ALL;
    queuestore_put(c->sj->rt->db, c->tenant, name, &qs, &count, cfg->queue_limiter_max,
                   cfg->queue_limiter_duration_ms, put_replied_cb, p);
}

static void put_queue(struct v1 *c)
{
    set_queue(c, true);
}

static void patch_queue(struct v1 *c)
{
    set_queue(c, false);
}

/* Queue depth for /metrics: a snapshot of queued and running jobs per
 * queue, refreshed every QUEUE_DEPTH_REFRESH (a scrape never waits on SQL). */
static void depth_cb(const struct db_result *r, void *arg)
{
    if (!r->ok && r->err_code == DB_ERR_SHUTDOWN)
        return;
    struct serve_jobs *sj = arg;
    sj->depth_loading = false;
    if (!r->ok)
        return;
    metrics_family_zero(sj->f_depth);
    metrics_family_zero(sj->f_age);
    free(sj->depth_rows);
    sj->depth_rows = xcalloc(mysql_num_rows(r->res) + 1, sizeof *sj->depth_rows);
    sj->depth_n = 0;
    sj->depth_at_us = time_real_us();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res))) {
        struct depth_row *d = &sj->depth_rows[sj->depth_n++];
        d->tenant = (uint64_t)db_row_ll(row, 0);
        snprintf(d->queue, sizeof d->queue, "%s", db_row_str(row, 1));
        d->state = (int)db_row_ll(row, 2);
        d->count = db_row_ll(row, 3);
        d->age_us = db_row_ll(row, 4);
        char labels[260], q[160];
        metrics_label_escape(db_row_str(row, 1), q, sizeof q);
        snprintf(labels, sizeof labels, "tenant=\"%s\",queue=\"%s\",state=\"%s\"", db_row_str(row, 0), q,
                 job_state_name((int)db_row_ll(row, 2)));
        metrics_add(metrics_series(sj->f_depth, labels), (double)db_row_ll(row, 3)); /* several queues may share "other" */
        snprintf(labels, sizeof labels, "tenant=\"%s\",queue=\"%s\"", db_row_str(row, 0), q);
        struct metric_series *age = metrics_series(sj->f_age, labels);
        double secs = (double)db_row_ll(row, 4) / 1e6;
        if (secs > metrics_value(age)) /* the oldest of the queues sharing "other" */
            metrics_set(age, secs);
    }
}

static void depth_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct serve_jobs *sj = arg;
    if (sj->depth_loading || sj->draining)
        return;
    sj->depth_loading = true;
    db_query(sj->rt->db,
             "SELECT tenant_id, queue, state, COUNT(*), "
             "COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(IF(state = 0 AND run_at <= NOW(6), run_at, NULL)), NOW(6)), 0) "
             "FROM jobs WHERE state IN (0, 1) GROUP BY tenant_id, queue, state LIMIT 10000",
             0, depth_cb, sj);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct serve_jobs *sj = arg;
    redis_publish(sj->rt->redis, JOB_WAKE_CHANNEL, "due");
}

void serve_wake_init(struct serve_jobs *sj)
{
    sj->wake_ev = event_new(loop_base(sj->rt->loop), -1, 0, wake_cb, sj);
    if (!sj->wake_ev)
        abort();
}

void serve_wake_workers(struct serve_jobs *sj)
{
    if (redis_state(sj->rt->redis) == REDIS_READY)
        event_active(sj->wake_ev, EV_TIMEOUT, 0);
}

void serve_queues_depth_start(struct serve_jobs *sj)
{
    sj->f_depth = metrics_family(sj->rt->metrics, METRIC_GAUGE, "ingot_queue_depth",
                                 "Queued and running jobs per queue (refreshed every QUEUE_DEPTH_REFRESH).");
    sj->f_age = metrics_family(sj->rt->metrics, METRIC_GAUGE, "ingot_queue_oldest_age_seconds",
                               "Seconds since the oldest due queued job of a queue became due (0: none due; "
                               "refreshed with ingot_queue_depth).");
    sj->depth_timer = event_new(loop_base(sj->rt->loop), -1, EV_PERSIST, depth_timer_cb, sj);
    if (!sj->depth_timer)
        abort();
    struct timeval every = loop_tv(sj->rt->cfg->queue_depth_refresh_ms);
    event_add(sj->depth_timer, &every);
    /* The first snapshot now, by a direct call: activating the persistent
     * timer instead would push its next run to 2 x the period (libevent
     * counts the period from the scheduled time of a timeout activation). */
    depth_timer_cb(-1, 0, sj);
}

V1_ROUTE(list_queues)
V1_ROUTE(put_queue)
V1_ROUTE(patch_queue)

void serve_queues_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_GET, "/v1/queues", 0, list_queues_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/queues/{name}", 0, list_queues_route, sj);
    httpd_route(h, HTTP_M_PUT, "/v1/queues/{name}", 0, put_queue_route, sj);
    httpd_route(h, HTTP_M_PATCH, "/v1/queues/{name}", 0, patch_queue_route, sj);
}
