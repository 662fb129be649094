#include "ops.h"

#include <event2/event.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "health.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "migrate.h"
#include "runtime.h"
#include "version.h"

/* /health answers within a second even when a dependency hangs. */
#define HEALTH_BUDGET_MS 800
#define SCHEMA_RETRY_MS 1000

enum schema_state { SCHEMA_UNKNOWN, SCHEMA_CHECKING, SCHEMA_OK };

struct ops {
    struct runtime *rt;
    struct httpd *httpd;
        struct event *schema_timer;
    enum schema_state schema;
    int schema_version;
    char schema_error[256];
    struct metric_series *m_ready;
    ops_health_extra_fn extra;  /* a role's own part of /health */
    void *extra_arg;
};

struct health_req {
    struct ops *s;
    struct http_req *r;
};

void ops_health_extra(struct ops *s, ops_health_extra_fn fn, void *arg)
{
    s->extra = fn;
    s->extra_arg = arg;
}

static void reply_static(struct http_req *r, const char *json)
{
    http_reply_json(r, 200, json, strlen(json));
}

static void root_cb(struct http_req *r, void *arg)
{
    (void)arg;
    reply_static(r, "{\"status\":\"OK\"}");
}

static void live_cb(struct http_req *r, void *arg)
{
    (void)arg;
    reply_static(r, "{\"status\":\"live\"}");
}

static void health_done_cb(const struct health_report *rep, void *arg)
{
    struct health_req *hr = arg;
    struct sbuf b;
    sbuf_init(&b);
    health_report_json(rep, ingot_version(), &b);
    if (hr->s->extra && b.len && b.data[b.len - 1] == '}') {
        b.data[--b.len] = '\0';
        hr->s->extra(&b, hr->s->extra_arg);
        sbuf_putc(&b, '}');
    }
    http_reply_json(hr->r, rep->http_status, b.data, b.len);
    sbuf_deinit(&b);
    free(hr);
}

static void health_route_cb(struct http_req *r, void *arg)
{
    struct health_req *hr = xcalloc(1, sizeof *hr);
    hr->s = arg;
    hr->r = r;
    health_run(hr->s->rt->health, HEALTH_CHECK_ALL, HEALTH_BUDGET_MS, health_done_cb, hr);
}

static void not_ready(struct http_req *r, const char *status, const char *msg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "{\"status\":\"%s\",\"message\":", status);
    sbuf_json_str(&b, msg);
    sbuf_putc(&b, '}');
    http_add_header(r, "Retry-After", "1");
    http_reply_json(r, 503, b.data, b.len);
    sbuf_deinit(&b);
}

struct ready_ctx {
    struct ops *s;
    struct http_req *r;
};

static void ready_done_cb(const struct health_report *rep, void *arg)
{
    struct ready_ctx *c = arg;
    struct ops *s = c->s;
    struct http_req *r = c->r;
    free(c);
    if (loop_draining(s->rt->loop)) {
        not_ready(r, "draining", "shutting down");
        return;
    }
    if (rep->database.status != HEALTH_UP) {
        char msg[360];
        snprintf(msg, sizeof msg, "database: %s", rep->database.message);
        not_ready(r, "not_ready", msg);
        return;
    }
    reply_static(r, "{\"status\":\"ready\"}");
}

static void ready_cb(struct http_req *r, void *arg)
{
    struct ops *s = arg;
    if (loop_draining(s->rt->loop)) {
        not_ready(r, "draining", "shutting down");
        return;
    }
    if (s->schema != SCHEMA_OK) {
        not_ready(r, "starting", s->schema_error[0] ? s->schema_error : "schema not checked yet");
        return;
    }
    struct ready_ctx *c = xmalloc(sizeof *c);
    c->s = s;
    c->r = r;
    health_run(s->rt->health, HEALTH_CHECK_DB, HEALTH_BUDGET_MS, ready_done_cb, c);
}

static void metrics_cb(struct http_req *r, void *arg)
{
    struct ops *s = arg;
    const char *token = s->rt->cfg->metrics_bearer_token;
    if (*token) {
        const char *auth = http_req_header(r, "Authorization");
        char want[4200];
        snprintf(want, sizeof want, "Bearer %s", token);
        if (!auth || !util_secure_streq(auth, want)) {
            http_add_header(r, "WWW-Authenticate", "Bearer realm=\"metrics\"");
            http_reply_error(r, 401, "invalid_request_error", NULL, "unauthorized",
                             "/metrics needs Authorization: Bearer <METRICS_BEARER_TOKEN>");
            return;
        }
    }
    metrics_set(s->m_ready, s->schema == SCHEMA_OK && !loop_draining(s->rt->loop) ? 1 : 0);
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(s->rt->metrics, &b);
    http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    sbuf_deinit(&b);
}

static void schema_check(struct ops *s);

static void schema_result_cb(const struct db_result *res, void *arg)
{
    if (!res->ok && res->err_code == DB_ERR_SHUTDOWN)
        return; /* the pool is being freed; s may be gone */
    struct ops *s = arg;
    int need = migrate_required_version();
    int have = -1;
    if (res->ok) {
        MYSQL_ROW row = mysql_fetch_row(res->res);
        have = row ? (int)db_row_ll(row, 0) : 0;
    } else if (res->err_code == ER_NO_SUCH_TABLE) {
        have = 0;
    }
    if (have < 0) {
        s->schema = SCHEMA_UNKNOWN;
        snprintf(s->schema_error, sizeof s->schema_error, "cannot check the schema: %s",
                 res->error);
        log_warn("%s; retrying", s->schema_error);
        struct timeval tv = loop_tv(SCHEMA_RETRY_MS);
        evtimer_add(s->schema_timer, &tv);
        return;
    }
    s->schema_version = have;
    if (have < need) {
        log_error("database schema is at version %d but this binary needs %d: run `ingot migrate`",
                  have, need);
        loop_stop(s->rt->loop, EXIT_CONFIG);
        return;
    }
    s->schema = SCHEMA_OK;
    s->schema_error[0] = '\0';
    log_info("schema at version %d (this binary needs %d); ready", have, need);
}

static void schema_check(struct ops *s)
{
    s->schema = SCHEMA_CHECKING;
    db_query(s->rt->db, MIGRATE_VERSION_SQL, 0, schema_result_cb, s);
}

static void schema_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    schema_check(arg);
}

static void drain_hook(void *arg)
{
    struct ops *s = arg;
    httpd_stop_accepting(s->httpd);
}

static size_t busy_count(void *arg)
{
    struct ops *s = arg;
    return httpd_inflight(s->httpd);
}

struct ops *ops_start(struct runtime *rt, char *err, size_t errlen)
{
    const struct config *cfg = rt->cfg;
    struct ops *s = xcalloc(1, sizeof *s);
    s->rt = rt;
    struct httpd_opts o = {.max_body = (size_t)cfg->http_max_body,
                           .idle_timeout_ms = cfg->http_idle_timeout_ms,
                           .header_timeout_ms = cfg->http_header_timeout_ms,
                           .body_timeout_ms = cfg->http_body_timeout_ms,
                           .max_connections = (size_t)cfg->http_max_connections,
                           .trusted_proxies = cfg->trusted_proxies};
    s->httpd = httpd_new(rt->loop, rt->metrics, &o);
    s->m_ready = metrics_series(metrics_family(rt->metrics, METRIC_GAUGE, "ingot_ready",
                                               "1 when this process reports ready."),
                                "");
    s->schema_timer = evtimer_new(loop_base(rt->loop), schema_timer_cb, s);
    if (!s->schema_timer)
        abort();
    httpd_route(s->httpd, HTTP_M_GET, "/", HTTPD_ROUTE_QUIET, root_cb, s);
    httpd_route(s->httpd, HTTP_M_GET, "/health/live", HTTPD_ROUTE_QUIET, live_cb, s);
    httpd_route(s->httpd, HTTP_M_GET, "/health/ready", HTTPD_ROUTE_QUIET, ready_cb, s);
    httpd_route(s->httpd, HTTP_M_GET, "/health", HTTPD_ROUTE_QUIET, health_route_cb, s);
    httpd_route(s->httpd, HTTP_M_GET, "/metrics", HTTPD_ROUTE_QUIET, metrics_cb, s);
    if (httpd_listen(s->httpd, cfg->host, (int)cfg->port, err, errlen) < 0) {
        ops_free(s);
        return NULL;
    }
    loop_on_drain(rt->loop, drain_hook, s);
    loop_add_busy(rt->loop, busy_count, s);
    log_info("listening on %s:%d", cfg->host, httpd_port(s->httpd));
    schema_check(s);
    return s;
}

void ops_free(struct ops *s)
{
    if (!s)
        return;
    httpd_free(s->httpd);
    event_free(s->schema_timer);
    free(s);
}

int ops_port(const struct ops *s)
{
    return httpd_port(s->httpd);
}

struct httpd *ops_httpd(struct ops *s)
{
    return s->httpd;
}
