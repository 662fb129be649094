#include "jobstore.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dberr.h"
#include "log.h"
#include "metrics.h"
#include "jobidem.h"
#include "jobstore_sql.h"
#include "queuestore.h"

struct pending {
    uint64_t tenant;
    struct job_spec spec;
    unsigned char hash[JOB_HASH_LEN]; /* of the request, when it has a key */
    jobstore_enqueue_cb cb;
    void *arg;
    int idem_tries;           /* inserts sent again after resolving the key */
    size_t bytes;             /* about the size of its VALUES row */
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

/* A coalesced INSERT stops growing at this many bytes of SQL. Strings are
 * sent hex-encoded (twice their size), and a statement over the server's
 * max_allowed_packet (16 MiB by default; operators may lower it, rarely
 * under 4 MiB) fails every job in it. Fixed and conservative rather than
 * read from the server: a 4 MiB statement already carries hundreds of
 * typical jobs. A job always goes, alone if need be (JOB_MAX_PAYLOAD keeps
 * one row under 16 MiB). */
#define INSERT_MAX_BYTES ((size_t)4 << 20)

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

static void reply_unknown(jobstore_enqueue_cb cb, void *arg, const char *err)
{
    struct js_reply r = {.what = JS_UNKNOWN, .err = err};
    cb(&r, arg);
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
static void send_insert(struct jobstore *js, struct pending *items, size_t n);
static void reply_failed(jobstore_enqueue_cb cb, void *arg, unsigned code, const char *err);

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
            reply_failed(p->cb, p->arg, DB_ERR_SHUTDOWN, "shutting down");
            pending_free(p);
        }
    }
    free(js->queues);
    free(js);
}

struct queue_insert {
    struct jobstore *js;
    uint64_t tenant;
    char name[JOB_QUEUE_MAX + 1];
};

static void ensure_queue_cb(const struct db_result *r, void *arg)
{
    struct queue_insert *qi = arg;
    if (!r->ok && r->err_code != DB_ERR_SHUTDOWN) { /* at shutdown js is gone */
        log_warn("cannot record a new queue: %s", r->error);
        /* Forget it, so the next enqueue into it tries again. */
        struct jobstore *js = qi->js;
        for (size_t i = 0; i < js->nqueues; i++) {
            if (js->queues[i].tenant == qi->tenant && strcmp(js->queues[i].name, qi->name) == 0) {
                js->queues[i] = js->queues[--js->nqueues];
                break;
            }
        }
    }
    free(qi);
}

/* Queues are created on first use; a process remembers which exist (or
 * are being written: a failed write is forgotten). */
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
    struct queue_insert *qi = xcalloc(1, sizeof *qi);
    qi->js = js;
    qi->tenant = tenant;
    snprintf(qi->name, sizeof qi->name, "%s", queue);
    struct sbuf b;
    sbuf_init(&b);
    queuestore_ensure_sql(&b, tenant, queue);
    db_query(js->db, b.data, 0, ensure_queue_cb, qi);
    sbuf_deinit(&b);
}

static void reply_failed(jobstore_enqueue_cb cb, void *arg, unsigned code, const char *err)
{
    struct js_reply r = {.what = JS_FAILED, .err_code = code, .err = err ? err : "unknown error"};
    cb(&r, arg);
}

static void idem_lookup(struct jobstore *js, struct pending *p);

static void insert_cb(const struct db_result *r, void *arg)
{
    struct insert *ins = arg;
    struct jobstore *js = ins->js;
    if (!r->ok && dberr_is_lost_lock(r->err_code) && ++ins->tries < INSERT_TRIES) {
        log_debug("enqueue lost a lock conflict, sending it again: %s", r->error);
        db_query(js->db, ins->sql, 0, insert_cb, ins);
        return;
    }
    ins->lane->inflight--;
    struct pending *p = ins->items;
    if (r->ok) {
        uint64_t *ids = xcalloc(ins->n, sizeof *ids);
        char **json = xcalloc(ins->n, sizeof *json);
        bool all = jobstore_sql_returned_rows(r, ids, json, ins->n);
        if (!all) /* not seen: RETURNING gives every row */
            log_error("enqueue: an INSERT of %zu rows returned another number of rows", ins->n);
        if (js->m_enqueued_rows) {
            metrics_add(js->m_enqueued_rows, (double)ins->n);
            metrics_add(js->m_insert_statements, 1);
        }
        for (size_t i = 0; p; i++) {
            struct pending *next = p->next;
            /* Only a real insert creates its queue (a replay has no side effect). */
            ensure_queue(js, p->tenant, p->spec.queue);
            if (all && ids[i]) {
                struct js_reply rep = {.what = JS_NEW, .id = ids[i], .json = json[i]};
                p->cb(&rep, p->arg);
            } else if (p->spec.idempotency_key) {
                p->next = NULL;
                idem_lookup(js, p); /* takes p: finds the stored job */
                p = next;
                continue;
            } else {
                reply_unknown(p->cb, p->arg, "the job was stored but its id is unknown");
            }
            pending_free(p);
            p = next;
        }
        free(ids);
        jobstore_sql_free_strings(json, ins->n);
    } else if (r->err_code == ER_DUP_ENTRY && ins->n == 1 && p->spec.idempotency_key) {
        idem_lookup(js, p); /* takes p */
    } else if (jobstore_sql_maybe_committed(r)) {
        log_warn("an INSERT of %zu jobs may or may not have committed: %s", ins->n, r->error);
        while (p) {
            struct pending *next = p->next;
            p->next = NULL;
            if (p->spec.idempotency_key) {
                idem_lookup(js, p); /* takes p: replays it, or inserts again */
            } else {
                reply_unknown(p->cb, p->arg, r->error);
                pending_free(p);
            }
            p = next;
        }
    } else if (ins->n > 1 && jobstore_sql_server_refused(r)) {
        /* The statement was refused whole (autocommit: nothing stored);
         * send its rows one by one so only a bad row fails, with its own
         * error. */
        log_info("an INSERT of %zu jobs was refused (%s); sending them one by one", ins->n, r->error);
        while (p) {
            struct pending *next = p->next;
            p->next = NULL;
            send_insert(js, p, 1);
            p = next;
        }
    } else {
        while (p) {
            struct pending *next = p->next;
            reply_failed(p->cb, p->arg, r->err_code, r->error);
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
    sbuf_puts(&b, JOBSTORE_SQL_INSERT_HEAD);
    for (struct pending *p = items; p; p = p->next) {
        if (p != items)
            sbuf_putc(&b, ',');
        jobstore_sql_values_row(&b, p->tenant, &p->spec, p->spec.idempotency_key, p->hash, NULL);
    }
    sbuf_puts(&b, JOBSTORE_SQL_INSERT_TAIL);
    ins->lane->inflight++;
    ins->sql = sbuf_steal(&b);
    db_query(js->db, ins->sql, 0, insert_cb, ins);
}

/* Takes the first n of a lane: at most max, and while their rows stay
 * under max_bytes (the first always). */
static struct pending *lane_take(struct lane *l, size_t max, size_t max_bytes, size_t *n)
{
    struct pending *first = l->head, *last = first;
    size_t bytes = first->bytes;
    for (*n = 1; last->next && *n < max && bytes + last->next->bytes <= max_bytes; (*n)++) {
        last = last->next;
        bytes += last->bytes;
    }
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
        struct pending *first = lane_take(&js->plain, (size_t)js->max_batch, INSERT_MAX_BYTES, &n);
        send_insert(js, first, n);
    }
    while (js->idem.head && js->idem.inflight < js->idem.max_inflight) {
        struct pending *first = lane_take(&js->idem, 1, INSERT_MAX_BYTES, &n);
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
    if (p->spec.idempotency_key)
        job_spec_hash(&p->spec, p->hash);
    const char *strs[] = {p->spec.queue, p->spec.payload, p->spec.metadata, p->spec.callback_url,
                          p->spec.group, p->spec.idempotency_key};
    p->bytes = 256; /* numbers, dates, separators */
    for (size_t i = 0; i < ARRAY_LEN(strs); i++)
        p->bytes += strs[i] ? 2 * strlen(strs[i]) + 3 : 4;
    struct lane *l = p->spec.idempotency_key ? &js->idem : &js->plain;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    flush(js);
}

/* REPLAY, KEY_REUSED or FAILED from what the lookup found. */
static void idem_reply(enum jobidem_found f, uint64_t id, unsigned code, const char *err,
                       jobstore_enqueue_cb cb, void *arg)
{
    if (f == JOBIDEM_ERROR) {
        reply_failed(cb, arg, code, err);
        return;
    }
    struct js_reply r = {.what = f == JOBIDEM_SAME ? JS_REPLAY : JS_KEY_REUSED, .id = id};
    cb(&r, arg);
}

struct single_idem {
    struct jobstore *js;
    struct pending *p;
};

static void single_idem_done(enum jobidem_found f, uint64_t id, unsigned code, const char *err, void *arg)
{
    struct single_idem *q = arg;
    struct pending *p = q->p;
    if (f != JOBIDEM_CLEARED) {
        idem_reply(f, id, code, err, p->cb, p->arg);
        pending_free(p);
    } else {
        p->idem_tries++;
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
    jobidem_resolve(js->db, p->tenant, p->spec.idempotency_key, p->hash, p->idem_tries,
                    single_idem_done, q);
}

/* A batch under an Idempotency-Key K: its first row holds "batch:K" (with
 * the request's hash) in the unique key single jobs use, every row has K
 * in idempotency_batch (shown as its key, and how a replay finds them). A
 * repeat fails on the unique key and answers as for a single job. */
struct batch {
    struct jobstore *js;
    char *sql;
    uint64_t tenant;
    char *key;          /* "batch:K", or NULL */
    unsigned char hash[JOB_HASH_LEN];
    size_t n;
    char (*queues)[JOB_QUEUE_MAX + 1]; /* created once the rows are in */
    int tries;
    int idem_tries;
    jobstore_enqueue_cb cb;
    void *arg;
};

static void batch_free(struct batch *bt)
{
    free(bt->sql);
    free(bt->key);
    free(bt->queues);
    free(bt);
}

static void batch_cb(const struct db_result *r, void *arg);

static void batch_idem_done(enum jobidem_found f, uint64_t id, unsigned code, const char *err, void *arg)
{
    struct batch *bt = arg;
    if (f != JOBIDEM_CLEARED) {
        idem_reply(f, id, code, err, bt->cb, bt->arg);
        batch_free(bt);
        return;
    }
    bt->idem_tries++;
    db_query(bt->js->db, bt->sql, 0, batch_cb, bt);
}

static void batch_cb(const struct db_result *r, void *arg)
{
    struct batch *bt = arg;
    struct jobstore *js = bt->js;
    if (!r->ok && dberr_is_lost_lock(r->err_code) && ++bt->tries < INSERT_TRIES) {
        log_debug("batch enqueue lost a lock conflict, sending it again: %s", r->error);
        db_query(js->db, bt->sql, 0, batch_cb, bt);
        return;
    }
    if (!r->ok && bt->key && (r->err_code == ER_DUP_ENTRY || jobstore_sql_maybe_committed(r))) {
        /* a repeat, or an INSERT that may have committed: the key says */
        jobidem_resolve(js->db, bt->tenant, bt->key, bt->hash, bt->idem_tries, batch_idem_done, bt);
        return;
    }
    if (!r->ok) {
        if (jobstore_sql_maybe_committed(r))
            reply_unknown(bt->cb, bt->arg, r->error);
        else
            reply_failed(bt->cb, bt->arg, r->err_code, r->error);
        batch_free(bt);
        return;
    }
    uint64_t *ids = xcalloc(bt->n, sizeof *ids);
    char **json = xcalloc(bt->n, sizeof *json);
    if (jobstore_sql_returned_rows(r, ids, json, bt->n)) {
        if (js->m_enqueued_rows) {
            metrics_add(js->m_enqueued_rows, (double)bt->n);
            metrics_add(js->m_insert_statements, 1);
        }
        for (size_t i = 0; i < bt->n; i++)
            ensure_queue(js, bt->tenant, bt->queues[i]);
        struct sbuf b;
        sbuf_init(&b);
        for (size_t i = 0; i < bt->n; i++) {
            if (i)
                sbuf_putc(&b, ',');
            sbuf_puts(&b, json[i]);
        }
        struct js_reply rep = {.what = JS_NEW, .id = ids[0], .json = b.data ? b.data : ""};
        bt->cb(&rep, bt->arg);
        sbuf_deinit(&b);
    } else { /* not seen: RETURNING gives every row */
        log_error("batch: an INSERT of %zu rows returned another number of rows", bt->n);
        reply_unknown(bt->cb, bt->arg, "the jobs were stored but their ids are unknown");
    }
    free(ids);
    jobstore_sql_free_strings(json, bt->n);
    batch_free(bt);
}

void jobstore_enqueue_batch(struct jobstore *js, uint64_t tenant, struct job_spec *specs, size_t n,
                            const char *key, jobstore_enqueue_cb cb, void *arg)
{
    struct batch *bt = xcalloc(1, sizeof *bt);
    bt->js = js;
    bt->tenant = tenant;
    bt->n = n;
    bt->cb = cb;
    bt->arg = arg;
    bt->queues = xcalloc(n ? n : 1, sizeof *bt->queues);
    if (key && n) {
        size_t len = strlen(JOB_BATCH_KEY_PREFIX) + strlen(key) + 1;
        bt->key = xmalloc(len);
        snprintf(bt->key, len, "%s%s", JOB_BATCH_KEY_PREFIX, key);
        job_specs_hash(specs, n, bt->hash);
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, JOBSTORE_SQL_INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(&b, ',');
        memcpy(bt->queues[i], specs[i].queue, sizeof bt->queues[i]);
        jobstore_sql_values_row(&b, tenant, &specs[i], i == 0 ? bt->key : NULL, bt->hash, bt->key ? key : NULL);
        job_spec_deinit(&specs[i]);
    }
    sbuf_puts(&b, JOBSTORE_SQL_INSERT_TAIL);
    bt->sql = sbuf_steal(&b);
    db_query(js->db, bt->sql, 0, batch_cb, bt);
}
