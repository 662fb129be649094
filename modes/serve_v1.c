/* The /v1 plumbing of the serve role: authentication, the request
 * context's life, body parsing and the shared error replies (route files
 * hold routes; serve_jobs.c: the jobs routes and long-polls). */
#include "serve_v1.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "db.h"
#include "dberr.h"
#include "dlist.h"
#include "httpd.h"
#include "job.h"
#include "llm_msgs_resp.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"
#include "serve_query.h"
#include "serve_session_v1.h"
#include "sql.h"

void v1_waiter_unlink(struct v1 *c)
{
    struct serve_jobs *sj = c->sj;
    if (!c->listed)
        return;
    c->listed = false;
    metrics_add(sj->m_waiting, -1);
    DLIST_REMOVE(sj->waiters, c); /* listed: it is on the list */
}

void v1_free(struct v1 *c)
{
    if (c->timer) { /* a long-poll: never left in the waiters list */
        v1_waiter_unlink(c);
        event_free(c->timer);
    }
    free(c);
}

void v1_reply_db_error(struct http_req *r, unsigned code, const char *err, const char *prefix)
{
    if (dberr_is_value(code)) {
        char param[96];
        dberr_param(err, prefix, param, sizeof param);
        log_info("the database refused a value (%u) in %s", code, param[0] ? param : "the request");
        http_reply_error(r, 400, "invalid_request_error", param[0] ? param : NULL, "invalid_value",
                         "%s%sthe value is not accepted (too long, out of range or not valid text)",
                         param, param[0] ? ": " : "");
        return;
    }
    if (dberr_is_too_large(code)) {
        log_info("the database refused a statement as too large (%u)", code);
        http_reply_error(r, 413, "invalid_request_error", NULL, "payload_too_large",
                         "the request is too large for the database; send smaller jobs or fewer at once");
        return;
    }
    log_warn("database error: %s", err ? err : "unknown");
    http_add_header(r, "Retry-After", "1");
    http_reply_error(r, 503, "server_error", NULL, "database_unavailable",
                     "the database is unavailable; retry shortly");
}

void v1_reply_unknown(struct http_req *r, const char *err)
{
    log_warn("enqueue not confirmed by the database: %s", err ? err : "unknown");
    http_reply_error(r, 500, "server_error", NULL, "job_state_unknown",
                     "the database did not confirm the enqueue: the job may have been created; "
                     "send requests with an Idempotency-Key to retry them safely");
}

void reply_db_error(struct http_req *r, const char *err)
{
    v1_reply_db_error(r, 0, err, "");
}

static void auth_done_cb(uint64_t tenant, uint64_t key, const char *err, void *arg)
{
    struct v1 *c = arg;
    if (err && c->anthropic) {
        log_warn("database error: %s", err);
        http_add_header(c->r, "retry-after", "1");
        v1_reply_anthropic(c->r, 503, "the database is unavailable; retry shortly");
        v1_free(c);
        return;
    }
    if (err) {
        reply_db_error(c->r, err);
        v1_free(c);
        return;
    }
    if (!tenant && c->anthropic) {
        v1_reply_anthropic(c->r, 401, "missing or invalid API key (x-api-key: ik_... or Authorization: Bearer ik_...)");
        v1_free(c);
        return;
    }
    if (!tenant) {
        http_add_header(c->r, "WWW-Authenticate", "Bearer");
        http_reply_error(c->r, 401, "invalid_request_error", NULL, "invalid_api_key",
                         "missing or invalid API key (Authorization: Bearer ik_...)");
        v1_free(c);
        return;
    }
    c->tenant = tenant;
    c->key = key;
    bool repeated;
    const char *bad = c->anthropic ? serve_query_problem(c->r, &repeated) : NULL;
    if (bad) {
        v1_reply_anthropic(c->r, 400, "%s: %s query parameter", bad, repeated ? "a repeated" : "an unknown");
        v1_free(c);
        return;
    }
    if (serve_query_check(c->r)) /* else 400: an unknown or repeated query parameter */
        c->handler(c);
    else
        v1_free(c);
}

/* A login session instead of a key (serve_session.h). */
static void session_done_cb(const struct session_v1_result *res, void *arg)
{
    struct v1 *c = arg;
    if (!res->tenant) {
        if (res->status == 503)
            http_add_header(c->r, "Retry-After", "1");
        if (c->anthropic)
            v1_reply_anthropic(c->r, res->status, "%s", res->message);
        else
            http_reply_error(c->r, res->status, res->status == 503 ? "server_error" : "invalid_request_error",
                         res->param, res->code, "%s", res->message);
        v1_free(c);
        return;
    }
    auth_done_cb(res->tenant, res->key_id, NULL, c);
}

/* A key acts for its own tenant: an Ingot-Tenant naming another is 403,
 * as for a session, rather than answered silently with the key's tenant. */
static void refuse_tenant(struct v1 *c, int status, const char *code, const char *msg)
{
    if (c->anthropic)
        v1_reply_anthropic(c->r, status, "%s", msg);
    else
        http_reply_error(c->r, status, "invalid_request_error", "Ingot-Tenant", code, "%s", msg);
    v1_free(c);
}

static void key_tenant_cb(const struct db_result *res, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = res->ok ? mysql_fetch_row(res->res) : NULL;
    if (!res->ok)
        auth_done_cb(0, 0, res->error, c);
    else if (!row)
        refuse_tenant(c, 403, "tenant_not_visible",
                      "Ingot-Tenant: an API key acts for its own tenant only: leave the header out or name the key's tenant");
    else
        auth_done_cb(c->tenant, c->key, NULL, c);
}

static void key_done_cb(uint64_t tenant, uint64_t key, const char *err, void *arg)
{
    struct v1 *c = arg;
    const char *tn = http_req_header(c->r, "Ingot-Tenant");
    if (err || !tenant || !tn) {
        auth_done_cb(tenant, key, err, c);
        return;
    }
    if (!job_name_valid(tn, 64)) {
        refuse_tenant(c, 400, "invalid_value", "Ingot-Tenant: a tenant name (1-64 of A-Z a-z 0-9 . _ : -)");
        return;
    }
    c->tenant = tenant;
    c->key = key;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT 1 FROM tenants WHERE id = %llu AND name = ", (unsigned long long)tenant);
    sql_cstr(&b, tn);
    db_query(c->sj->rt->db, b.data, 0, key_tenant_cb, c);
    sbuf_deinit(&b);
}

/* The key: Authorization: Bearer (OpenAI's SDK, curl), or x-api-key when
 * there is no Authorization (Anthropic's SDK and tools). */
static void start(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *), bool anthropic,
                  void *route_arg)
{
    struct v1 *c = xcalloc(1, sizeof *c);
    c->sj = sj;
    c->r = r;
    c->handler = handler;
    c->anthropic = anthropic;
    c->route_arg = route_arg;
    const char *authz = http_req_header(r, "Authorization");
    if (!authz && !http_req_header(r, "x-api-key") && serve_session_applies(sj->sess, r))
        serve_session_v1(sj->sess, r, session_done_cb, c); /* a login session instead of a key */
    else if (authz)
        auth_check(sj->auth, authz, key_done_cb, c);
    else
        auth_check_key(sj->auth, http_req_header(r, "x-api-key"), key_done_cb, c);
}

void v1_start(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *))
{
    start(sj, r, handler, false, NULL);
}

void v1_start_anthropic(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *))
{
    start(sj, r, handler, true, NULL);
}

void v1_start_arg(struct serve_jobs *sj, struct http_req *r, void (*handler)(struct v1 *), void *route_arg)
{
    start(sj, r, handler, false, route_arg);
}

void v1_reply_anthropic(struct http_req *r, int status, const char *fmt, ...)
{
    struct sbuf msg, body;
    va_list ap;
    sbuf_init(&msg);
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sbuf_init(&body);
    msgs_error_json(&body, msgs_error_type(status), msg.data ? msg.data : "");
    http_reply_json(r, status, body.data, body.len);
    sbuf_deinit(&body);
    sbuf_deinit(&msg);
}

void v1_reply_job_error(struct http_req *r, const struct job_error *e, const char *prefix)
{
    char param[200];
    snprintf(param, sizeof param, "%s%s%s", prefix,
             prefix[0] && e->param[0] && e->param[0] != '[' ? "." : "", e->param);
    if (e->status == 503) { /* not the request's fault: the process is starting */
        http_add_header(r, "retry-after", "1");
        http_add_header(r, "retry-after-ms", "1000");
    }
    http_reply_error(r, e->status, e->status == 503 ? "server_error" : "invalid_request_error", param[0] ? param : NULL,
                     e->code[0] ? e->code : e->status == 413 ? "payload_too_large" : "invalid_value",
                     "%s%s%s", prefix, !prefix[0] ? "" : e->param[0] == '[' ? "" : ": ", e->message);
}

cJSON *parse_body(struct http_req *r)
{
    size_t len;
    const char *body = http_req_body(r, &len);
    struct job_error e;
    cJSON *j = job_json_parse(body, len, &e);
    /* A batch's body may be a bare array: its items are jobs[i]. */
    if (!j)
        v1_reply_job_error(r, &e, e.param[0] == '[' ? "jobs" : "");
    return j;
}

const char *v1_idempotency_header(struct v1 *c, size_t max)
{
    const char *hk = http_req_header(c->r, "Idempotency-Key");
    if (!hk)
        return "";
    if (!job_idem_key_valid(hk, max)) {
        http_reply_error(c->r, 400, "invalid_request_error", "Idempotency-Key", "invalid_value",
                         "Idempotency-Key must be 1-%zu bytes of " JOB_IDEM_RULES, max);
        v1_free(c);
        return NULL;
    }
    return hk;
}

void v1_count_enqueued(struct serve_jobs *sj, const char *queue, enum job_kind kind, double n)
{
    char labels[220];
    snprintf(labels, sizeof labels, "queue=\"%s\",kind=\"%s\"", queue, job_kind_name(kind));
    metrics_add(metrics_series(sj->f_enqueued, labels), n);
}

void v1_reply_key_reused(struct http_req *r, const char *param)
{
    http_reply_error(r, 422, "invalid_request_error", param, "idempotency_key_reused",
                     "this idempotency key was used in the last 24 h for a different request; "
                     "send the same request to get its result, or use a new key");
}
