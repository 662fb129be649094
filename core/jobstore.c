#include "jobstore.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "jobidem.h"
#include "jobread.h"
#include "queuestore.h"
#include "sql.h"

#define INSERT_HEAD                                                                          \
    "INSERT INTO jobs (tenant_id, queue, kind, priority, run_at, group_key, max_attempts, "  \
    "backoff_base_ms, backoff_max_ms, timeout_ms, payload, metadata, callback_url, "        \
    "idempotency_key, request_hash, idempotency_batch, key_id) VALUES "
/* The rows as the API shows them, in VALUES order (MariaDB >= 10.5): ids
 * of a multi-row INSERT are consecutive only under innodb_autoinc_lock_mode
 * < 2, and the 202 shows each job exactly as a later GET does. */
#define INSERT_TAIL " RETURNING " JOBREAD_COLUMNS

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
static bool lost_lock(const struct db_result *r)
{
    return r->err_code == ER_LOCK_DEADLOCK || r->err_code == ER_LOCK_WAIT_TIMEOUT;
}

/* The server refused the statement itself (its error number, not ours or
 * the client library's): nothing was stored, and rows sent alone may pass.
 * A lost link or a timeout may have committed: never sent again. */
static bool server_refused(const struct db_result *r)
{
    return !lost_lock(r) && r->err_code > 0 && r->err_code < 10000 &&
           !(r->err_code >= 2000 && r->err_code < 3000);
}

/* The INSERT may have committed: it was sent and then timed out, or the
 * link broke. Never sent again as is; a keyed request resolves its key. */
static bool maybe_committed(const struct db_result *r)
{
    return r->err_code == DB_ERR_TIMEOUT || (r->err_code >= 2000 && r->err_code < 3000);
}

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

/* key: the idempotency key the row holds as stored ("K", or "batch:K" on
 * a batch's first row) or NULL, with its request's hash; batch_key: K on
 * every row of a keyed batch, else NULL. */
static void values_row(struct sbuf *b, uint64_t tenant, const struct job_spec *s, const char *key,
                       const unsigned char *hash, const char *batch_key)
{
    sbuf_printf(b, "(%llu,", (unsigned long long)tenant);
    sql_cstr(b, s->queue);
    sbuf_printf(b, ",'%s',%d,", job_kind_name(s->kind), s->priority);
    if (s->has_run_at)
        sbuf_printf(b, "'%s'", s->run_at);
    else if (s->delay_ms)
        sbuf_printf(b, "TIMESTAMPADD(MICROSECOND,%lld,NOW(6))", check_ms_mul(s->delay_ms, 1000));
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
    sql_cstr(b, key);
    sbuf_putc(b, ',');
    jobidem_sql_hash(b, key ? hash : NULL);
    sbuf_putc(b, ',');
    sql_cstr(b, batch_key);
    if (s->key_id)
        sbuf_printf(b, ",%llu)", (unsigned long long)s->key_id);
    else
        sbuf_puts(b, ",NULL)");
}

void jobstore_insert_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *s)
{
    sbuf_puts(b, INSERT_HEAD);
    values_row(b, tenant, s, s->idempotency_key, NULL, NULL);
}

void jobstore_insert_rows_sql(struct sbuf *b, uint64_t tenant, const struct job_spec *specs, size_t n)
{
    sbuf_puts(b, INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(b, ',');
        values_row(b, tenant, &specs[i], NULL, NULL, NULL);
    }
}

static void idem_lookup(struct jobstore *js, struct pending *p);

/* The RETURNING rows of an INSERT: ids[i] and the JSON of each in
 * json[i] (owned); false unless exactly n rows. */
static bool returned_rows(const struct db_result *r, uint64_t *ids, char **json, size_t n)
{
    size_t i = 0;
    MYSQL_ROW row;
    while (r->res && (row = mysql_fetch_row(r->res))) {
        if (i == n)
            return false;
        struct sbuf b;
        sbuf_init(&b);
        jobread_json(row, mysql_fetch_lengths(r->res), &b);
        ids[i] = (uint64_t)db_row_ll(row, 0); /* our own id column */
        json[i++] = sbuf_steal(&b);
    }
    return i == n;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
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
    if (r->ok) {
        uint64_t *ids = xcalloc(ins->n, sizeof *ids);
        char **json = xcalloc(ins->n, sizeof *json);
        bool all = returned_rows(r, ids, json, ins->n);
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
        free_strings(json, ins->n);
    } else if (r->err_code == ER_DUP_ENTRY && ins->n == 1 && p->spec.idempotency_key) {
        idem_lookup(js, p); /* takes p */
    } else if (maybe_committed(r)) {
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
    } else if (ins->n > 1 && server_refused(r)) {
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
    sbuf_puts(&b, INSERT_HEAD);
    for (struct pending *p = items; p; p = p->next) {
        if (p != items)
            sbuf_putc(&b, ',');
        values_row(&b, p->tenant, &p->spec, p->spec.idempotency_key, p->hash, NULL);
    }
    sbuf_puts(&b, INSERT_TAIL);
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
    if (!r->ok && lost_lock(r) && ++bt->tries < INSERT_TRIES) {
        log_debug("batch enqueue lost a lock conflict, sending it again: %s", r->error);
        db_query(js->db, bt->sql, 0, batch_cb, bt);
        return;
    }
    if (!r->ok && bt->key && (r->err_code == ER_DUP_ENTRY || maybe_committed(r))) {
        /* a repeat, or an INSERT that may have committed: the key says */
        jobidem_resolve(js->db, bt->tenant, bt->key, bt->hash, bt->idem_tries, batch_idem_done, bt);
        return;
    }
    if (!r->ok) {
        if (maybe_committed(r))
            reply_unknown(bt->cb, bt->arg, r->error);
        else
            reply_failed(bt->cb, bt->arg, r->err_code, r->error);
        batch_free(bt);
        return;
    }
    uint64_t *ids = xcalloc(bt->n, sizeof *ids);
    char **json = xcalloc(bt->n, sizeof *json);
    if (returned_rows(r, ids, json, bt->n)) {
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
    free_strings(json, bt->n);
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
    sbuf_puts(&b, INSERT_HEAD);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(&b, ',');
        memcpy(bt->queues[i], specs[i].queue, sizeof bt->queues[i]);
        values_row(&b, tenant, &specs[i], i == 0 ? bt->key : NULL, bt->hash, bt->key ? key : NULL);
        job_spec_deinit(&specs[i]);
    }
    sbuf_puts(&b, INSERT_TAIL);
    bt->sql = sbuf_steal(&b);
    db_query(js->db, bt->sql, 0, batch_cb, bt);
}
