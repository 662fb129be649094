/* POST /v1/webhook_endpoints/{id}/test {"event_type"}: a sample event of
 * that type for this endpoint, queued through webhook_event (the same
 * INSERT as a real event, marked "test": sent even to a disabled or
 * unsubscribed endpoint) and delivered by a worker as every delivery is.
 * The answer waits (up to TEST_WAIT_MS, polling the job's row) for the
 * first attempt and gives the receiver's status, as the SDK's
 * WebhookEndpointTestResult; a failed delivery goes on retrying like any
 * other. */
#include "serve_webhooks_test.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "httpd.h"
#include "job.h"
#include "loop.h"
#include "runtime.h"
#include "serve_v1.h"
#include "serve_webhooks_int.h"
#include "webhook.h"
#include "webhook_event.h"

#define TEST_WAIT_MS 30000
#define TEST_POLL_US 100000L

struct wtest {
    struct v1 *c;
    char id[WEBHOOK_ID_MAX];
    char type[40];
    unsigned long long job;
    int64_t deadline_ms;
    struct event *timer;
};

static void wtest_free(struct wtest *t)
{
    if (t->timer)
        event_free(t->timer);
    free(t);
}

/* row: state, attempts, the receiver's status, last_error, the event id. */
static void reply(struct wtest *t, MYSQL_ROW row, bool done)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"object\":\"webhook_endpoint.test\",\"webhook_endpoint_id\":");
    sbuf_json_str(&b, t->id);
    sbuf_puts(&b, ",\"event_type\":");
    sbuf_json_str(&b, t->type);
    sbuf_printf(&b, ",\"success\":true,\"status_code\":%lld,\"event_id\":", row ? db_row_ll(row, 2) : 0);
    sbuf_json_str(&b, row ? db_row_str(row, 4) : "");
    sbuf_printf(&b, ",\"delivery_job_id\":\"job_%llu\",\"delivery_state\":\"%s\",\"error\":", t->job,
                row ? job_state_name((int)db_row_ll(row, 0)) : "queued");
    if (!done)
        sbuf_json_str(&b, "no delivery attempt ended in time (is a worker running?); the delivery job goes on");
    else if (row && row[3])
        sbuf_json_str(&b, row[3]);
    else
        sbuf_puts(&b, "null");
    sbuf_putc(&b, '}');
    http_reply_json(t->c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(t->c);
    wtest_free(t);
}

static void poll_cb(const struct db_result *r, void *arg)
{
    struct wtest *t = arg;
    MYSQL_ROW row = r->ok && r->res ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok && !http_req_gone(t->c->r)) {
        v1_reply_db_error(t->c->r, r->err_code, r->error, "");
    }
    if (!r->ok || http_req_gone(t->c->r)) {
        v1_free(t->c);
        wtest_free(t);
        return;
    }
    int state = row ? (int)db_row_ll(row, 0) : -1;
    bool done = row && (state == JOB_SUCCEEDED || state == JOB_FAILED || state == JOB_CANCELLED ||
                        (state == JOB_QUEUED && db_row_ll(row, 1) >= 1));
    if (done || !row || time_mono_ms() >= t->deadline_ms || t->c->sj->draining) {
        reply(t, row, done);
        return;
    }
    struct timeval tv = {0, TEST_POLL_US};
    evtimer_add(t->timer, &tv);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct wtest *t = arg;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT state, attempts, JSON_VALUE(result, '$.status'), last_error, JSON_VALUE(payload, '$.event.id') "
             "FROM jobs WHERE id = %llu AND tenant_id = %llu",
             t->job, (unsigned long long)t->c->tenant);
    db_query(t->c->sj->rt->db, sql, 0, poll_cb, t);
}

static void queued_cb(const struct db_result *r, void *arg)
{
    struct wtest *t = arg;
    struct v1 *c = t->c;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
        wtest_free(t);
        return;
    }
    if (r->affected_rows == 0) {
        webhooks_not_found(c, t->id);
        wtest_free(t);
        return;
    }
    t->job = r->insert_id;
    serve_wake_workers(c->sj);
    v1_count_enqueued(c->sj, WEBHOOK_QUEUE, JOB_WEBHOOK, 1);
    t->deadline_ms = time_mono_ms() + TEST_WAIT_MS;
    t->timer = evtimer_new(loop_base(c->sj->rt->loop), tick_cb, t);
    if (!t->timer)
        abort();
    struct timeval tv = {0, TEST_POLL_US};
    evtimer_add(t->timer, &tv);
}

void webhooks_test(struct v1 *c)
{
    const char *id = webhooks_id_param(c);
    if (!id)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(j, "event_type");
    const cJSON *f = cJSON_IsObject(j) ? j->child : NULL;
    if (!cJSON_IsString(ty) || !webhook_event_type_valid(ty->valuestring) || f != ty || ty->next) {
        cJSON_Delete(j);
        v1_reply_invalid(c, 400, "event_type",
                         "the body is {\"event_type\": T}, T one of the types GET /v1/webhook_event_types lists");
        return;
    }
    struct wtest *t = xcalloc(1, sizeof *t);
    t->c = c;
    util_strcpy(t->id, sizeof t->id, id);
    util_strcpy(t->type, sizeof t->type, ty->valuestring);
    cJSON_Delete(j);
    char data[64];
    snprintf(data, sizeof data, "{\"id\":\"%s_test\"}", strncmp(t->type, "batch.", 6) == 0 ? "batch" : "resp");
    struct sbuf b;
    sbuf_init(&b);
    webhook_event_endpoint_sql(&b, c->tenant, t->id, t->type, data);
    db_query(c->sj->rt->db, b.data, 0, queued_cb, t);
    sbuf_deinit(&b);
}
