#include "serve_batch.h"

#include <cJSON.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "job.h"
#include "jobread.h"
#include "jobstore.h"
#include "runtime.h"
#include "serve_v1.h"

/* POST /v1/jobs/batch: an array (or {"jobs": [...]}), all or nothing. */
struct batch {
    struct v1 *c;
    char key[JOB_BATCH_IDEM_MAX + 1]; /* the Idempotency-Key, or "" */
    size_t n;
    struct job_spec *labels; /* queue and kind of each, for the metrics */
};

static void batch_free(struct batch *bt)
{
    free(bt->labels);
    free(bt);
}

/* An Idempotency-Key repeat: the earlier batch as stored (the request
 * hash matched, so it had this many jobs). */
static void got_batch_cb(MYSQL_RES *res, unsigned err_code, const char *err, void *arg)
{
    struct batch *bt = arg;
    struct v1 *c = bt->c;
    if (!res) {
        v1_reply_db_error(c->r, err_code, err, "[");
    } else if ((size_t)mysql_num_rows(res) != bt->n) {
        v1_reply_key_reused(c->r, "Idempotency-Key");
    } else {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
        MYSQL_ROW row;
        for (size_t i = 0; (row = mysql_fetch_row(res)); i++) {
            if (i)
                sbuf_putc(&b, ',');
            jobread_json(row, mysql_fetch_lengths(res), &b);
        }
        sbuf_puts(&b, "]}");
        http_add_header(c->r, "Idempotent-Replayed", "true");
        http_reply_json(c->r, 200, b.data, b.len);
        sbuf_deinit(&b);
    }
    batch_free(bt);
    v1_free(c);
}

static void batch_done_cb(const struct js_reply *rep, void *arg)
{
    struct batch *bt = arg;
    struct v1 *c = bt->c;
    switch (rep->what) {
    case JS_REPLAY:
        jobread_batch(c->sj->rt->db, c->tenant, bt->key, rep->id, bt->n, got_batch_cb, bt);
        return;
    case JS_KEY_REUSED:
        v1_reply_key_reused(c->r, "Idempotency-Key");
        break;
    case JS_FAILED:
        v1_reply_db_error(c->r, rep->err_code, rep->err, "[");
        break;
    case JS_UNKNOWN:
        v1_reply_unknown(c->r, rep->err);
        break;
    case JS_NEW: {
        serve_wake_workers(c->sj);
        for (size_t i = 0; i < bt->n; i++)
            v1_count_enqueued(c->sj, bt->labels[i].queue, bt->labels[i].kind, 1);
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
        sbuf_puts(&b, rep->json); /* the same job objects a GET shows */
        sbuf_puts(&b, "]}");
        http_reply_json(c->r, 202, b.data, b.len);
        sbuf_deinit(&b);
        break;
    }
    }
    batch_free(bt);
    v1_free(c);
}

static void create_batch(struct v1 *c)
{
    const char *hk = v1_idempotency_header(c, JOB_BATCH_IDEM_MAX);
    if (!hk)
        return;
    cJSON *j = parse_body(c->r);
    if (!j) {
        v1_free(c);
        return;
    }
    const cJSON *arr = cJSON_IsArray(j) ? j : cJSON_GetObjectItemCaseSensitive(j, "jobs");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    long long max = c->sj->rt->cfg->job_batch_max;
    if (n < 1 || n > max) {
        cJSON_Delete(j);
        http_reply_error(c->r, n > max ? 413 : 400, "invalid_request_error", "jobs",
                         n > max ? "batch_too_large" : "invalid_value",
                         "the body must be an array of 1 to %lld jobs (or {\"jobs\": [...]})", max);
        v1_free(c);
        return;
    }
    struct job_spec *specs = xcalloc((size_t)n, sizeof *specs);
    int i = 0;
    for (const cJSON *item = arr->child; item; item = item->next, i++) {
        struct job_error err;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "jobs[%d]", i);
        bool idem = cJSON_IsObject(item) && cJSON_GetObjectItemCaseSensitive(item, "idempotency_key");
        bool bad = idem || job_spec_parse(item, &c->sj->limits, &specs[i], &err) < 0;
        if (!bad && v1_check_llm_job(c->sj, c->tenant, item, &err) < 0) {
            job_spec_deinit(&specs[i]); /* the jobs before it are freed below */
            bad = true;
        }
        if (bad) {
            if (idem) {
                err.status = 400;
                err.code[0] = '\0';
                snprintf(err.param, sizeof err.param, "idempotency_key");
                snprintf(err.message, sizeof err.message,
                         "idempotency_key is not supported per job in a batch; send an Idempotency-Key "
                         "header for the whole batch, or such jobs one by one");
            }
            for (int k = 0; k < i; k++)
                job_spec_deinit(&specs[k]);
            free(specs);
            cJSON_Delete(j);
            v1_reply_job_error(c->r, &err, prefix);
            v1_free(c);
            return;
        }
    }
    cJSON_Delete(j);
    struct batch *bt = xcalloc(1, sizeof *bt);
    bt->c = c;
    bt->n = (size_t)n;
    snprintf(bt->key, sizeof bt->key, "%s", hk);
    bt->labels = xcalloc((size_t)n, sizeof *bt->labels);
    for (size_t k = 0; k < (size_t)n; k++) {
        specs[k].key_id = c->key;
        memcpy(bt->labels[k].queue, specs[k].queue, sizeof specs[k].queue);
        bt->labels[k].kind = specs[k].kind;
    }
    jobstore_enqueue_batch(c->sj->store, c->tenant, specs, (size_t)n, *hk ? hk : NULL, batch_done_cb, bt);
    free(specs);
}

V1_ROUTE(create_batch)

void serve_batch_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_POST, "/v1/jobs/batch", 0, create_batch_route, sj);
}
