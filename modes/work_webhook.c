/* A delivery job's payload is {"endpoint_id", "event"} (webhook_event.c).
 * Each attempt reads the endpoint's row (so a changed URL, a rotated
 * secret or a disabled or deleted endpoint applies to retries too), opens
 * the secret, signs "id.timestamp.body" with the time of this attempt
 * (a retry an hour later still verifies within the receivers' 5-minute
 * tolerance), and POSTs the event. 2xx delivers; anything else is tried
 * again with backoff (a receiver that refused our signature may have been
 * given the rotated secret since), but for 410 Gone, the SSRF guard's
 * refusal and an endpoint that is gone or disabled, which fail at once. */
#include "work_webhook.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "crypt.h"
#include "db.h"
#include "httpc.h"
#include "metrics.h"
#include "runtime.h"
#include "sql.h"
#include "util.h"
#include "webhook.h"
#include "work_int.h"
#include "work_outcome.h"
#include "work_result.h"

#define RESPONSE_KEPT ((size_t)4096) /* of the receiver's answer, on the job */

/* One attempt in flight: the endpoint's row being read, then the POST. A
 * stop while the read is out detaches it (r = NULL); the read's answer
 * then only frees it. */
struct wh_call {
    struct work *w;
    struct run *r;
    bool sending;
    char *event;   /* the body: the event as JSON text */
    char event_id[WEBHOOK_EVENT_ID_MAX];
};

static void count(struct work *w, const char *result)
{
    struct metric_family *f = metrics_family(w->rt->metrics, METRIC_COUNTER, "ingot_webhook_deliveries_total",
                                             "Webhook delivery attempts by result (delivered, retried, failed)");
    char labels[64];
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    metrics_add(metrics_series(f, labels), 1);
}

static void call_free(struct wh_call *c)
{
    free(c->event);
    free(c);
}

/* Ends the attempt of c (freed) with o, counting it. */
static void finish(struct wh_call *c, struct work_outcome *o)
{
    struct work *w = c->w;
    struct run *r = c->r;
    call_free(c);
    r->call = NULL;
    /* handed back meanwhile: the outcome is dropped, not counted */
    if (!r->released)
        count(w, o->ok ? "delivered"
                 : o->retryable && r->job.attempt < r->job.max_attempts ? "retried"
                                                                          : "failed");
    work_outcome(w, r, o);
}

static void fail(struct wh_call *c, bool retryable, const char *why)
{
    struct work_outcome o = {.retryable = retryable, .retry_after_ms = -1, .error = why};
    finish(c, &o);
}

static void sent_cb(const struct httpc_response *resp, void *arg)
{
    struct wh_call *c = arg;
    struct work_verdict v;
    work_classify(resp, &v);
    if (!v.ok && !resp->refused && resp->status != 410)
        v.retryable = true; /* see the top of the file */
    struct sbuf result;
    sbuf_init(&result);
    double ms = (double)(time_mono_us() - c->r->started_us) / 1000.0;
    if (!resp->error)
        work_result_json(resp, ms, &result);
    struct work_outcome o = {.ok = v.ok,
                             .retryable = v.retryable,
                             .retry_after_ms = v.retry_after_ms,
                             .http_status = (int)resp->status,
                             .result_json = result.len ? result.data : NULL,
                             .error = v.error[0] ? v.error : NULL};
    finish(c, &o);
    sbuf_deinit(&result);
}

/* The endpoint's secret opened (owned: crypt_secret_free), or NULL with why. */
static char *open_secret(const struct config *cfg, const char *id, const char *sealed, char *why, size_t n)
{
    struct crypt *cr = crypt_new(cfg->encryption_key, cfg->encryption_key_previous, why, n);
    if (!cr)
        return NULL;
    char *s = NULL;
    if (!crypt_ready(cr)) {
        snprintf(why, n, "ENCRYPTION_KEY is not set in this worker: it cannot open the endpoint's secret");
    } else {
        char aad[CRYPT_AAD_MAX];
        webhook_secret_aad(id, aad, sizeof aad);
        s = crypt_open(cr, aad, sealed, NULL, why, n);
    }
    crypt_free(cr); /* per attempt: a few microseconds, and no key held between deliveries */
    return s;
}

/* Appends the signature under the sealed secret ("v1,..."), a space
 * first when sig has one already. 0, or -1 with why. */
static int sign_with(struct wh_call *c, const char *id, const char *sealed, long long ts, struct sbuf *sig,
                     char *why, size_t n)
{
    char err[300];
    char *secret = open_secret(c->w->cfg, id, sealed, err, sizeof err);
    if (!secret) {
        snprintf(why, n, "cannot open the signing secret of %s: %s", id, err);
        return -1;
    }
    if (sig->len)
        sbuf_putc(sig, ' ');
    int rc = webhook_sign(secret, c->event_id, ts, c->event, strlen(c->event), sig);
    crypt_secret_free(secret);
    if (rc < 0)
        snprintf(why, n, "the stored secret of %s is not a whsec_ secret", id);
    return rc;
}

/* prev: the secret a rotation keeps for a day (a second signature), or NULL. */
static void send_to(struct wh_call *c, const char *id, const char *url, const char *sealed, const char *prev)
{
    struct work *w = c->w;
    char why[400];
    long long ts = (long long)time(NULL);
    struct sbuf sig;
    sbuf_init(&sig);
    int rc = sign_with(c, id, sealed, ts, &sig, why, sizeof why);
    if (rc == 0 && prev)
        rc = sign_with(c, id, prev, ts, &sig, why, sizeof why);
    if (rc < 0) {
        sbuf_deinit(&sig);
        fail(c, true, why); /* the operator's to fix (ENCRYPTION_KEY); retries may see it fixed */
        return;
    }
    char h_id[80], h_ts[48];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", c->event_id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", ts);
    char *h_sig = xasprintf("webhook-signature: %s", sig.data);
    sbuf_deinit(&sig);
    const char *headers[] = {"Content-Type: application/json", "User-Agent: ingot-webhooks", h_id, h_ts, h_sig,
                             NULL};
    struct httpc_request hr = {.method = "POST",
                               .url = url,
                               .headers = headers,
                               .body = c->event,
                               .body_len = strlen(c->event),
                               .timeout_ms = c->r->job.timeout_ms,
                               .max_body = RESPONSE_KEPT,
                               .stop_at_max = true, /* the status is the answer: no endless body holds it */
                               .ssrf = w->ssrf};
    c->sending = true;
    work_count_started(w, c->r);
    rc = httpc_send(w->rt->httpc, &hr, sent_cb, c);
    free(h_sig);
    if (rc < 0) {
        c->sending = false;
        fail(c, false, "the endpoint's url cannot be sent to (update it)");
    }
}

static void endpoint_cb(const struct db_result *res, void *arg)
{
    struct wh_call *c = arg;
    if (!c->r) { /* stopped while the read was out */
        call_free(c);
        return;
    }
    if (c->r->released) { /* handed back (shutdown) meanwhile: nothing to send or record */
        struct run *r = c->r;
        struct work_outcome o = {.retry_after_ms = -1};
        call_free(c);
        r->call = NULL;
        work_outcome(r->w, r, &o);
        return;
    }
    MYSQL_ROW row = res->ok && res->res ? mysql_fetch_row(res->res) : NULL;
    if (!res->ok) {
        char why[300];
        snprintf(why, sizeof why, "cannot read the webhook endpoint: %s", res->error);
        fail(c, true, why);
    } else if (!row) {
        fail(c, false, "the webhook endpoint no longer exists");
    } else if (strcmp(db_row_str(row, 3), "1") != 0 && strcmp(db_row_str(row, 4), "test") != 0) {
        fail(c, false, "the webhook endpoint is disabled");
    } else {
        send_to(c, db_row_str(row, 0), db_row_str(row, 1), db_row_str(row, 2), row[5]);
    }
}

void work_webhook_execute(struct work *w, struct run *r)
{
    struct wh_call *c = xcalloc(1, sizeof *c);
    c->w = w;
    c->r = r;
    r->call = c;
    cJSON *p = cJSON_Parse(r->job.payload);
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(p, "endpoint_id");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(p, "event");
    const cJSON *evid = cJSON_GetObjectItemCaseSensitive(ev, "id");
    if (!cJSON_IsString(ep) || !webhook_endpoint_id_valid(ep->valuestring) || !cJSON_IsObject(ev) ||
        !cJSON_IsString(evid) || strlen(evid->valuestring) >= sizeof c->event_id) {
        cJSON_Delete(p);
        fail(c, false, "not a webhook delivery payload ({endpoint_id, event})");
        return;
    }
    snprintf(c->event_id, sizeof c->event_id, "%s", evid->valuestring);
    c->event = cJSON_PrintUnformatted(ev);
    if (!c->event)
        abort();
    /* "test": a delivery queued by an explicit test goes out whether the
     * endpoint is enabled or not (the payload says so). */
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(p, "test");
    struct sbuf q;
    sbuf_init(&q);
    sbuf_printf(&q, "SELECT id, url, secret, enabled, '%s', IF(secret_prev_until > UNIX_TIMESTAMP(), secret_prev, NULL) "
                    "FROM webhook_endpoints WHERE tenant_id = %llu AND id = ",
                cJSON_IsTrue(test) ? "test" : "", (unsigned long long)r->job.tenant);
    sql_cstr(&q, ep->valuestring);
    cJSON_Delete(p);
    db_query(w->rt->db, q.data, 0, endpoint_cb, c);
    sbuf_deinit(&q);
}

bool work_webhook_stop(struct work *w, struct run *r)
{
    struct wh_call *c = r->call;
    if (!c)
        return false;
    r->call = NULL;
    if (!c->sending) {
        c->r = NULL; /* endpoint_cb frees it */
        return true;
    }
    if (!httpc_abort(w->rt->httpc, sent_cb, c))
        return false;
    call_free(c);
    return true;
}
