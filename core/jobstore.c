#include "jobstore.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "jobfinish.h"
#include "queuestore.h"
#include "sql.h"

#define INSERT_HEAD                                                                          \
    "INSERT INTO jobs (tenant_id, queue, kind, priority, run_at, group_key, max_attempts, "  \
    "backoff_base_ms, backoff_max_ms, timeout_ms, payload, metadata, callback_url, "        \
    "idempotency_key) VALUES "
/* The ids of a multi-row INSERT, in VALUES order: consecutive only under
 * innodb_autoinc_lock_mode < 2, so they are asked for (MariaDB >= 10.5). */
#define INSERT_TAIL " RETURNING id"

struct pending {
    uint64_t tenant;
    struct job_spec spec;
    jobstore_enqueue_cb cb;
    void *arg;
    bool retried_idem;        /* an expired idempotency key was cleared once */
    struct pending *next;
};

/* Enqueues wait in one of two lanes. Plain ones are coalesced into
 * multi-row INSERTs, and few of those run at once: more rows per statement
 * and fewer commits (64 connections on this 2-core machine: 21.8-23.1k
 * jobs/s with 4 in flight, 16.2-18.2k with 16). A job with an idempotency
 * key goes alone (a duplicate would fail the whole statement), so its lane
 * allows more. */
struct lane {
    struct pending *head, *tail;
    int inflight, max_inflight;
};

/* One INSERT in flight and the callers it answers. */
struct insert {
    struct jobstore *js;
    struct lane *lane;
    struct pending *items;    /* in VALUES order */
    size_t n;
    char *sql;
    int tries;
};

/* An INSERT that lost a lock conflict was rolled back whole (autocommit),
 * so sending it again cannot duplicate a job; the caller never sees it.
 * A timeout is not retried: the statement may have committed. */
#define INSERT_TRIES 4
static bool lost_lock(const struct db_result *r)
{
    return r->err_code == ER_LOCK_DEADLOCK || r->err_code == ER_LOCK_WAIT_TIMEOUT;
}

struct known_queue {
    uint64_t tenant;
    char name[JOB_QUEUE_MAX + 1];
};

struct jobstore {
    struct db_pool *db;
    struct lane plain, idem;
    int max_batch;
    struct known_queue *queues; /* small cache: queues known to exist */
    size_t nqueues, capqueues;
    struct metric_series *m_enqueued_rows, *m_insert_statements;
};

static void flush(struct jobstore *js);

struct jobstore *jobstore_new(struct db_pool *db, struct metrics *m, int max_batch, int batches_inflight,
                              int singles_inflight)
{
    struct jobstore *js = xcalloc(1, sizeof *js);
    js->db = db;
    js->max_batch = max_batch > 0 ? max_batch : 100;
    js->plain.max_inflight = batches_inflight > 0 ? batches_inflight : 4;
    js->idem.max_inflight = singles_inflight > 0 ? singles_inflight : 16;
    if (m) {
        js->m_enqueued_rows = metrics_series(
            metrics_family(m, METRIC_COUNTER, "ingot_jobs_inserted_total", "Job rows inserted."), "");
        js->m_insert_statements = metrics_series(
            metrics_family(m, METRIC_COUNTER, "ingot_job_insert_statements_total",
                           "INSERT statements for jobs (rows/statements = coalescing)."),
            "");
    }
    return js;
}

static void pending_free(struct pending *p)
{
    job_spec_deinit(&p->spec);
    free(p);
}

void jobstore_free(struct jobstore *js)
{
    if (!js)
        return;
    struct lane *lanes[] = {&js->plain, &js->idem};
    for (size_t i = 0; i < 2; i++) {
        while (lanes[i]->head) {
            struct pending *p = lanes[i]->head;
            lanes[i]->head = p->next;
            p->cb(0, false, "shutting down", p->arg);
            pending_free(p);
        }
    }
    free(js->queues);
    free(js);
}

static void ensure_queue_cb(const struct db_result *r, void *arg)
{
    (void)arg;
    if (!r->ok && r->err_code != DB_ERR_SHUTDOWN)
        log_warn("cannot record a new queue: %s", r->error);
}

/* Queues are created on first use; a process remembers which exist. */
static void ensure_queue(struct jobstore *js, uint64_t tenant, const char *queue)
{
    for (size_t i = 0; i < js->nqueues; i++)
        if (js->queues[i].tenant == tenant && strcmp(js->queues[i].name, queue) == 0)
            return;
    if (js->nqueues == js->capqueues) {
        if (js->capqueues >= 65536)
            js->nqueues = 0; /* bounded: forget and re-learn */
        else {
            js->capqueues = js->capqueues ? js->capqueues * 2 : 64;
            js->queues = xrealloc(js->queues, js->capqueues * sizeof *js->queues);
        }
    }
    struct known_queue *k = &js->queues[js->nqueues++];
    k->tenant = tenant;
    snprintf(k->name, sizeof k->name, "%s", queue);
    struct sbuf b;
    sbuf_init(&b);
    queuestore_ensure_sql(&b, tenant, queue);
    db_query(js->db, b.data, 0, ensure_queue_cb, NULL);
    sbuf_deinit(&b);
}

static void values_row(struct sbuf *b, uint64_t tenant, const struct job_spec *s)
{
    sbuf_printf(b, "(%llu,", (unsigned long long)tenant);
    sql_cstr(b, s->queue);
    sbuf_printf(b, ",'%s',%d,", job_kind_name(s->kind), s->priority);
    if (s->has_run_at)
        sbuf_printf(b, "'%s'", s->run_at);
    else if (s->delay_ms)
        sbuf_printf(b, "TIMESTAMPADD(MICROSECOND,%lld,NOW(6))", s->delay_ms * 1000);
    else
        sbuf_puts(b, "NOW(6)");
    sbuf_putc(b, ',');
    sql_cstr(b, s->group);
    sbuf_printf(b, ",%d,%lld,%lld,%lld,", s->max_attempts, s->backoff_base_ms, s->backoff_max_ms,
                s->timeout_ms);
    sql_cstr(b, s->payload);
    sbuf_putc(b, ',');
    sql_cstr(b, s->metadata);
    sbuf_putc(b, ',');
    sql_cstr(b, s->callback_url);
    sbuf_putc(b, ',');
    sql_cstr(b, s->idempotency_key);
    sbuf_putc(b, ')');
}

void jobstore_insert_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *s)
{
    sbuf_puts(b, INSERT_HEAD);
    values_row(b, tenant, s);
}

static void idem_lookup(struct jobstore *js, struct pending *p);

/* The RETURNING ids of an INSERT into out[0..n-1]; false unless exactly n. */
static bool returned_ids(const struct db_result *r, uint64_t *out, size_t n)
{
    size_t i = 0;
    MYSQL_ROW row;
    while (r->res && (row = mysql_fetch_row(r->res)))
        if (i < n)
            out[i++] = (uint64_t)db_row_ll(row, 0);
        else
            return false;
    return i == n;
}

static void insert_cb(const struct db_result *r, void *arg)
{
    struct insert *ins = arg;
    struct jobstore *js = ins->js;
    if (!r->ok && lost_lock(r) && ++ins->tries < INSERT_TRIES) {
        log_debug("enqueue lost a lock conflict, sending it again: %s", r->error);
        db_query(js->db, ins->sql, 0, insert_cb, ins);
        return;
    }
    ins->lane->inflight--;
    struct pending *p = ins->items;
    uint64_t *ids = r->ok ? xcalloc(ins->n, sizeof *ids) : NULL;
    if (r->ok && !returned_ids(r, ids, ins->n)) { /* not seen: RETURNING gives every row */
        log_error("enqueue: an INSERT of %zu rows returned another number of ids", ins->n);
        memset(ids, 0, ins->n * sizeof *ids);
    }
    if (r->ok) {
        if (js->m_enqueued_rows) {
            metrics_add(js->m_enqueued_rows, (double)ins->n);
            metrics_add(js->m_insert_statements, 1);
        }
        for (size_t i = 0; p; i++) {
            struct pending *next = p->next;
            p->cb(ids[i], false, ids[i] ? NULL : "the job was stored but its id is unknown", p->arg);
            pending_free(p);
            p = next;
        }
        free(ids);
    } else if (r->err_code == ER_DUP_ENTRY && ins->n == 1 && p->spec.idempotency_key) {
        idem_lookup(js, p); /* takes p */
    } else {
        while (p) {
            struct pending *next = p->next;
            p->cb(0, false, r->error, p->arg);
            pending_free(p);
            p = next;
        }
    }
    free(ins->sql);
    free(ins);
    flush(js);
}

static void send_insert(struct jobstore *js, struct pending *items, size_t n)
{
    struct insert *ins = xcalloc(1, sizeof *ins);
    ins->js = js;
    ins->lane = items->spec.idempotency_key ? &js->idem : &js->plain;
    ins->items = items;
    ins->n = n;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, INSERT_HEAD);
    for (struct pending *p = items; p; p = p->next) {
        if (p != items)
            sbuf_putc(&b, ',');
        values_row(&b, p->tenant, &p->spec);
    }
    sbuf_puts(&b, INSERT_TAIL);
    ins->lane->inflight++;
    ins->sql = sbuf_steal(&b);
    db_query(js->db, ins->sql, 0, insert_cb, ins);
}

/* Takes the first n (at most max) of a lane. */
static struct pending *lane_take(struct lane *l, size_t max, size_t *n)
{
    struct pending *first = l->head, *last = first;
    for (*n = 1; last->next && *n < max; (*n)++)
        last = last->next;
    l->head = last->next;
    if (!l->head)
        l->tail = NULL;
    last->next = NULL;
    return first;
}

static void flush(struct jobstore *js)
{
    size_t n;
    while (js->plain.head && js->plain.inflight < js->plain.max_inflight) {
        struct pending *first = lane_take(&js->plain, (size_t)js->max_batch, &n);
        send_insert(js, first, n);
    }
    while (js->idem.head && js->idem.inflight < js->idem.max_inflight) {
        struct pending *first = lane_take(&js->idem, 1, &n);
        send_insert(js, first, n);
    }
}

void jobstore_enqueue(struct jobstore *js, uint64_t tenant, struct job_spec *spec,
                      jobstore_enqueue_cb cb, void *arg)
{
    struct pending *p = xcalloc(1, sizeof *p);
    p->tenant = tenant;
    p->spec = *spec;
    memset(spec, 0, sizeof *spec);
    p->cb = cb;
    p->arg = arg;
    ensure_queue(js, tenant, p->spec.queue);
    struct lane *l = p->spec.idempotency_key ? &js->idem : &js->plain;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    flush(js);
}

/* A duplicate idempotency key (a single job's, or a batch's "batch:KEY"):
 * the row that holds it answers the repeat, unless that key is older than
 * 24 h: then it is cleared, once, and the caller inserts again. done gets
 * the earlier row's id, or 0 after a clear, or an error. */
typedef void (*idem_done_fn)(uint64_t existing_id, const char *err, void *arg);

struct idem {
    struct db_pool *db;
    bool retried;            /* the key was cleared once already */
    idem_done_fn done;
    void *arg;
};

static void idem_cleared_cb(const struct db_result *r, void *arg)
{
    struct idem *q = arg;
    q->done(0, r->ok ? NULL : r->error, q->arg);
    free(q);
}

static void idem_found_cb(const struct db_result *r, void *arg)
{
    struct idem *q = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!row || db_row_ll(row, 1) == 0 || q->retried) {
        if (row)
            q->done((uint64_t)db_row_ll(row, 0), NULL, q->arg);
        else
            q->done(0, r->ok ? "idempotency key vanished; retry the request" : r->error, q->arg);
        free(q);
        return;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE jobs SET idempotency_key = NULL WHERE id = %llu",
             (unsigned long long)db_row_ll(row, 0));
    db_query(q->db, sql, 0, idem_cleared_cb, q);
}

static void idem_resolve(struct db_pool *db, uint64_t tenant, const char *key, bool retried,
                         idem_done_fn done, void *arg)
{
    struct idem *q = xcalloc(1, sizeof *q);
    q->db = db;
    q->retried = retried;
    q->done = done;
    q->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT id, created_at < NOW(6) - INTERVAL 1 DAY FROM jobs WHERE tenant_id = %llu "
                    "AND idempotency_key = ", (unsigned long long)tenant);
    sql_cstr(&b, key);
    db_query(db, b.data, 0, idem_found_cb, q);
    sbuf_deinit(&b);
}

struct single_idem {
    struct jobstore *js;
    struct pending *p;
};

static void single_idem_done(uint64_t existing_id, const char *err, void *arg)
{
    struct single_idem *q = arg;
    struct pending *p = q->p;
    if (err || existing_id) {
        p->cb(existing_id, existing_id != 0, err, p->arg);
        pending_free(p);
    } else {
        p->retried_idem = true;
        p->next = NULL;
        send_insert(q->js, p, 1);
    }
    free(q);
}

static void idem_lookup(struct jobstore *js, struct pending *p)
{
    struct single_idem *q = xcalloc(1, sizeof *q);
    q->js = js;
    q->p = p;
    idem_resolve(js->db, p->tenant, p->spec.idempotency_key, p->retried_idem, single_idem_done, q);
}

/* A batch under an Idempotency-Key carries it on its first row, as
 * "batch:KEY": a repeat fails on the unique key and answers the earlier
 * batch (unless older than 24 h: then the key is cleared, once). */
struct batch {
    struct db_pool *db;
    char *sql;
    uint64_t tenant;
    char *key;          /* "batch:KEY", or NULL */
    size_t n;
    int tries;
    bool retried_idem;
    jobstore_batch_cb cb;
    void *arg;
};

static void batch_end(struct batch *bt, const uint64_t *ids, uint64_t replay_first, const char *err)
{
    bt->cb(ids, replay_first, err, bt->arg);
    free(bt->sql);
    free(bt->key);
    free(bt);
}

static void batch_cb(const struct db_result *r, void *arg);

static void batch_idem_done(uint64_t existing_id, const char *err, void *arg)
{
    struct batch *bt = arg;
    if (err || existing_id) {
        batch_end(bt, NULL, existing_id, err);
        return;
    }
    bt->retried_idem = true;
    db_query(bt->db, bt->sql, 0, batch_cb, bt);
}

static void batch_cb(const struct db_result *r, void *arg)
{
    struct batch *bt = arg;
    if (!r->ok && lost_lock(r) && ++bt->tries < INSERT_TRIES) {
        log_debug("batch enqueue lost a lock conflict, sending it again: %s", r->error);
        db_query(bt->db, bt->sql, 0, batch_cb, bt);
        return;
    }
    if (!r->ok && r->err_code == ER_DUP_ENTRY && bt->key) {
        idem_resolve(bt->db, bt->tenant, bt->key, bt->retried_idem, batch_idem_done, bt);
        return;
    }
    if (!r->ok) {
        batch_end(bt, NULL, 0, r->error);
        return;
    }
    uint64_t *ids = xcalloc(bt->n, sizeof *ids);
    if (returned_ids(r, ids, bt->n)) {
        batch_end(bt, ids, 0, NULL);
    } else { /* not seen: RETURNING gives every row */
        log_error("batch: an INSERT of %zu rows returned another number of ids", bt->n);
        batch_end(bt, NULL, 0, "the jobs were stored but their ids are unknown");
    }
    free(ids);
}

void jobstore_enqueue_batch(struct jobstore *js, uint64_t tenant, struct job_spec *specs, size_t n,
                            const char *key, jobstore_batch_cb cb, void *arg)
{
    struct batch *bt = xcalloc(1, sizeof *bt);
    bt->db = js->db;
    bt->tenant = tenant;
    bt->n = n;
    bt->cb = cb;
    bt->arg = arg;
    if (key && n) {
        size_t len = strlen("batch:") + strlen(key) + 1;
        bt->key = xmalloc(len);
        snprintf(bt->key, len, "batch:%s", key);
        free(specs[0].idempotency_key);
        specs[0].idempotency_key = xstrdup(bt->key);
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(&b, ',');
        ensure_queue(js, tenant, specs[i].queue);
        values_row(&b, tenant, &specs[i]);
        job_spec_deinit(&specs[i]);
    }
    sbuf_puts(&b, INSERT_TAIL);
    if (js->m_enqueued_rows) {
        metrics_add(js->m_enqueued_rows, (double)n);
        metrics_add(js->m_insert_statements, 1);
    }
    bt->sql = sbuf_steal(&b);
    db_query(js->db, bt->sql, 0, batch_cb, bt);
}

/* cancel/retry: a compare-and-set UPDATE, then (when it changed nothing)
 * a read to tell "not found" from "wrong state". */
struct change {
    struct jobstore *js;
    uint64_t tenant, id;
    int new_state;
    jobstore_change_cb cb;
    void *arg;
};

static void change_read_cb(const struct db_result *r, void *arg)
{
    struct change *c = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    if (!r->ok)
        c->cb(JS_ERROR, -1, r->error, c->arg);
    else if (!row)
        c->cb(JS_NOT_FOUND, -1, NULL, c->arg);
    else
        c->cb(JS_CONFLICT, (int)db_row_ll(row, 0), NULL, c->arg);
    free(c);
}

static void change_cb(const struct db_result *r, void *arg)
{
    struct change *c = arg;
    if (!r->ok) {
        c->cb(JS_ERROR, -1, r->error, c->arg);
        free(c);
        return;
    }
    if (r->affected_rows > 0) {
        c->cb(JS_OK, c->new_state, NULL, c->arg);
        free(c);
        return;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT state FROM jobs WHERE id = %llu AND tenant_id = %llu",
             (unsigned long long)c->id, (unsigned long long)c->tenant);
    db_query(c->js->db, sql, 0, change_read_cb, c);
}

static void change(struct jobstore *js, uint64_t tenant, uint64_t id, int new_state,
                   const char *sql, jobstore_change_cb cb, void *arg)
{
    struct change *c = xcalloc(1, sizeof *c);
    c->js = js;
    c->tenant = tenant;
    c->id = id;
    c->new_state = new_state;
    c->cb = cb;
    c->arg = arg;
    if (new_state == JOB_CANCELLED) /* its callback commits with it */
        jobfinish_terminal(js->db, sql, id, change_cb, c);
    else
        db_query(js->db, sql, 0, change_cb, c);
}

void jobstore_cancel(struct jobstore *js, uint64_t tenant, uint64_t id, jobstore_change_cb cb, void *arg)
{
    /* A running job loses its lease: the worker's completion no longer
     * matches and is discarded. */
    char sql[320];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET state = %d, lease_token = NULL, lease_expires_at = NULL, "
             "finished_at = NOW(6), last_error = COALESCE(last_error, 'cancelled') "
             "WHERE id = %llu AND tenant_id = %llu AND state IN (%d, %d)",
             JOB_CANCELLED, (unsigned long long)id, (unsigned long long)tenant, JOB_QUEUED, JOB_RUNNING);
    change(js, tenant, id, JOB_CANCELLED, sql, cb, arg);
}

void jobstore_retry(struct jobstore *js, uint64_t tenant, uint64_t id, jobstore_change_cb cb, void *arg)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET state = %d, attempts = 0, run_at = NOW(6), finished_at = NULL, "
             "lease_token = NULL, lease_expires_at = NULL "
             "WHERE id = %llu AND tenant_id = %llu AND state IN (%d, %d)",
             JOB_QUEUED, (unsigned long long)id, (unsigned long long)tenant, JOB_FAILED, JOB_CANCELLED);
    change(js, tenant, id, JOB_QUEUED, sql, cb, arg);
}
