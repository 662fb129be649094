/* GET /v1/batches[/{id}], POST /v1/batches/{id}/cancel and the routes
 * (create is serve_batches_create.c). */
#include "serve_batches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchstore.h"
#include "db.h"
#include "httpd.h"
#include "runtime.h"
#include "serve_batches_create.h"
#include "serve_olist.h"
#include "serve_v1.h"

static int64_t now_s(void)
{
    return time_real_us() / 1000000;
}

static void reply_not_found(struct v1 *c, const char *id)
{
    http_reply_error(c->r, 404, "invalid_request_error", "id", "not_found", "No such Batch object: %s", id);
    v1_free(c);
}

/* ---- GET /v1/batches/{id} ---- */

/* The {id} of the route, or NULL after answering 400. */
static const char *id_param(struct v1 *c)
{
    const char *id = http_req_param(c->r, "id");
    if (!id || !batchstore_id_valid(id)) {
        v1_reply_invalid(c, 400, "id", "batch ids look like batch_ and 24 hex digits (as POST /v1/batches answered)");
        return NULL;
    }
    return id;
}

static void get_cb(const struct db_result *r, void *arg)
{
    struct v1 *c = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
        v1_free(c);
        return;
    }
    if (!row) {
        reply_not_found(c, http_req_param(c->r, "id"));
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    batchstore_row_json(&b, row);
    http_reply_json(c->r, 200, b.data, b.len);
    sbuf_deinit(&b);
    v1_free(c);
}

static void get_batch(struct v1 *c)
{
    const char *id = id_param(c);
    if (!id)
        return;
    struct sbuf b;
    sbuf_init(&b);
    batchstore_sql_get(&b, c->tenant, id);
    db_query(c->sj->rt->db, b.data, 0, get_cb, c);
    sbuf_deinit(&b);
}

/* ---- GET /v1/batches ---- */

static const struct serve_olist_spec list_spec = {
    .limit_max = 100, /* OpenAI's range; 20 by default */
    .limit_default = 20,
    .id_valid = batchstore_id_valid,
    .after_why = "must be a batch id (batch_ and 24 hex digits) from an earlier page",
};

static void list_batches(struct v1 *c)
{
    struct serve_olist p;
    if (!serve_olist_params(c, &list_spec, &p))
        return;
    struct sbuf b;
    sbuf_init(&b);
    batchstore_sql_list(&b, c->tenant, p.after, p.limit);
    serve_olist_query(c, b.data, p.limit, batchstore_row_json);
    sbuf_deinit(&b);
}

/* ---- POST /v1/batches/{id}/cancel ---- */

enum cancel_step { C_BEGIN, C_BATCH, C_LINES, C_END };

struct cancel_q {
    struct v1 *c;
    struct db_txn *txn;
    enum cancel_step step;
    bool changed;
    unsigned err_code;
    char err[300];
    char id[BATCHSTORE_ID_LEN + 1];
};

static void cancel_step_cb(const struct db_result *r, void *arg);

static void cancel_read_cb(const struct db_result *r, void *arg)
{
    struct cancel_q *q = arg;
    struct v1 *c = q->c;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok) {
        v1_reply_db_error(c->r, r->err_code, r->error, "");
    } else if (!row) {
        reply_not_found(c, q->id);
        free(q);
        return;
    } else {
        int st = atoi(db_row_str(row, 1));
        if (!q->changed && st != BATCH_CANCELLING && st != BATCH_CANCELLED) {
            http_reply_error(c->r, 409, "invalid_request_error", "id", "batch_not_cancellable",
                             "batch %s is %s: only a validating or in_progress batch can be cancelled", q->id,
                             batch_status_name((enum batch_status)st));
        } else { /* cancelled now, or already: the batch as it is */
            struct sbuf b;
            sbuf_init(&b);
            batchstore_row_json(&b, row);
            http_reply_json(c->r, 200, b.data, b.len);
            sbuf_deinit(&b);
        }
    }
    v1_free(c);
    free(q);
}

static void cancel_end(struct cancel_q *q, bool commit, const struct db_result *failed)
{
    if (failed && !q->err[0]) {
        snprintf(q->err, sizeof q->err, "%s", failed->error);
        q->err_code = failed->err_code;
    }
    q->step = C_END;
    db_txn_end(q->txn, commit && !q->err[0], cancel_step_cb, q);
}

/* One transaction: the batch row (compare-and-set on its status), then
 * its queued lines, so no line starts once the cancel has answered. */
static void cancel_step_cb(const struct db_result *r, void *arg)
{
    struct cancel_q *q = arg;
    struct sbuf b;
    sbuf_init(&b);
    switch (q->step) {
    case C_BEGIN:
        if (!r->ok) {
            cancel_end(q, false, r);
            break;
        }
        q->step = C_BATCH;
        batchstore_sql_cancel(&b, q->c->tenant, q->id, now_s());
        db_txn_query(q->txn, b.data, 0, cancel_step_cb, q);
        break;
    case C_BATCH:
        if (!r->ok || r->affected_rows == 0) {
            cancel_end(q, false, r->ok ? NULL : r);
            break;
        }
        q->changed = true;
        q->step = C_LINES;
        batchstore_sql_cancel_lines(&b, q->c->tenant, q->id);
        db_txn_query(q->txn, b.data, 0, cancel_step_cb, q);
        break;
    case C_LINES:
        cancel_end(q, r->ok, r->ok ? NULL : r);
        break;
    case C_END:
        if (!r->ok && !q->err[0]) {
            snprintf(q->err, sizeof q->err, "%s", r->error);
            q->err_code = r->err_code;
        }
        if (q->err[0]) {
            v1_reply_db_error(q->c->r, q->err_code, q->err, "");
            v1_free(q->c);
            free(q);
            break;
        }
        q->changed = q->changed && r->ok;
        batchstore_sql_get(&b, q->c->tenant, q->id);
        db_query(q->c->sj->rt->db, b.data, 0, cancel_read_cb, q);
        break;
    }
    sbuf_deinit(&b);
}

static void cancel_batch(struct v1 *c)
{
    const char *id = id_param(c);
    if (!id)
        return;
    struct cancel_q *q = xcalloc(1, sizeof *q);
    q->c = c;
    util_strcpy(q->id, sizeof q->id, id);
    q->txn = db_txn_begin(c->sj->rt->db, 0, cancel_step_cb, q);
}

V1_ROUTE(batches_create)
V1_ROUTE(get_batch)
V1_ROUTE(list_batches)
V1_ROUTE(cancel_batch)

void serve_batches_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_POST, "/v1/batches", 0, batches_create_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/batches", 0, list_batches_route, sj);
    httpd_route(h, HTTP_M_GET, "/v1/batches/{id}", 0, get_batch_route, sj);
    httpd_route(h, HTTP_M_POST, "/v1/batches/{id}/cancel", 0, cancel_batch_route, sj);
}
