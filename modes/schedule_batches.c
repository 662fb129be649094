#include "schedule_batches.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "job.h"
#include "jobstore.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "queuestore.h"
#include "redis.h"
#include "runtime.h"
#include "schedule_batches_fin.h"
#include "schedule_batches_int.h"
#include "sql.h"

#define BUSY_MS 20       /* the next pass after one that did something */
#define IDLE_MS 200      /* ... after one that found nothing to do */
#define ROWS_MAX 200     /* active batches per pass; the rest wait a pass */
#define RELEASE_MAX 500  /* lines per INSERT (one transaction) */
/* ... and bytes of bodies: hex-encoded twice that, far inside
 * max_allowed_packet (16 MiB by default) however long the lines */
#define RELEASE_BYTES ((size_t)3 << 20)
#define LINE_ATTEMPTS 5
#define LINE_TIMEOUT_MS 600000
#define LINE_BACKOFF_MS 1000
#define LINE_BACKOFF_MAX_MS 60000

static int64_t now_s(void)
{
    return time_real_us() / 1000000;
}

static void arm(struct bpump *p, long long ms)
{
    if (p->stopped)
        return;
    struct timeval tv = loop_tv(ms);
    event_add(p->timer, &tv);
}

static void pass_end(struct bpump *p)
{
    free(p->rows);
    p->rows = NULL;
    p->n = p->cur = 0;
    p->running = false;
    arm(p, p->worked ? BUSY_MS : IDLE_MS);
    loop_work_done(p->rt->loop);
}

static void count_batch(struct bpump *p);

void bpump_next(struct bpump *p)
{
    p->cur++;
    if (p->cur >= p->n) {
        pass_end(p);
        return;
    }
    count_batch(p);
}

/* A statement whose outcome only matters for the log: then the next batch. */
static void simple_cb(const struct db_result *r, void *arg)
{
    struct bpump *p = arg;
    if (!r->ok)
        log_warn("batch %s: %s (the next pass retries)", p->rows[p->cur].id, r->error);
    bpump_next(p);
}

/* ---- a transaction of a few statements (each built before it starts) ---- */

struct btxn {
    struct bpump *p;
    struct db_txn *txn;
    char **sql;
    size_t n, i;
    bool cas_lost, ended;   /* the statement marked must change a row */
    size_t cas;             /* index of that statement (n: none) */
    bool wake;              /* jobs were inserted: wake the workers */
    unsigned long long released;
    bpump_txn_done done;    /* NULL: bpump_next */
    void *done_arg;
    char err[300];
};

static void btxn_cb(const struct db_result *r, void *arg)
{
    struct btxn *t = arg;
    struct bpump *p = t->p;
    if (t->ended) {
        if (!r->ok && !t->err[0])
            snprintf(t->err, sizeof t->err, "%s", r->error);
        if (t->err[0])
            log_warn("batch %s: %s (the next pass retries)", p->rows[p->cur].id, t->err);
        bool ok = !t->err[0] && !t->cas_lost;
        if (ok) {
            p->worked = true;
            if (t->wake && p->rt->redis)
                redis_publish(p->rt->redis, JOB_WAKE_CHANNEL, "due");
            if (t->released)
                metrics_add(p->m_released, (double)t->released);
        }
        for (size_t i = 0; i < t->n; i++)
            free(t->sql[i]);
        free(t->sql);
        bpump_txn_done done = t->done;
        void *done_arg = t->done_arg;
        free(t);
        if (done)
            done(p, ok, done_arg);
        else
            bpump_next(p);
        return;
    }
    if (!r->ok || (t->i > 0 && t->i - 1 == t->cas && r->affected_rows == 0)) {
        if (!r->ok)
            snprintf(t->err, sizeof t->err, "%s", r->error);
        else
            t->cas_lost = true; /* another pass (a former leader) got there first */
        t->ended = true;
        db_txn_end(t->txn, false, btxn_cb, t);
        return;
    }
    if (t->i == t->n) {
        t->ended = true;
        db_txn_end(t->txn, true, btxn_cb, t);
        return;
    }
    db_txn_query(t->txn, t->sql[t->i++], 0, btxn_cb, t);
}

void bpump_txn(struct bpump *p, char **sql, size_t n, size_t cas, bpump_txn_done done, void *arg)
{
    struct btxn *t = xcalloc(1, sizeof *t);
    t->p = p;
    t->sql = sql;
    t->n = n;
    t->cas = cas;
    t->done = done;
    t->done_arg = arg;
    t->txn = db_txn_begin(p->rt->db, 0, btxn_cb, t);
}

/* bpump_txn that wakes the workers for the lines it released; then bpump_next. */
static void run_txn(struct bpump *p, char **sql, size_t n, size_t cas, bool wake, unsigned long long released)
{
    struct btxn *t = xcalloc(1, sizeof *t);
    t->p = p;
    t->sql = sql;
    t->n = n;
    t->cas = cas;
    t->wake = wake;
    t->released = released;
    t->txn = db_txn_begin(p->rt->db, 0, btxn_cb, t);
}

/* ---- ending early: expired, or the input file vanished ---- */

static void end_early(struct bpump *p, struct brow *b, enum batch_end why, const char *errors_json)
{
    struct sbuf s;
    sbuf_init(&s);
    int64_t now = now_s();
    sbuf_printf(&s, "UPDATE batches SET status = %d, end_reason = %d, finalizing_at = %lld", BATCH_FINALIZING, why,
                (long long)now);
    if (errors_json) {
        sbuf_puts(&s, ", errors = ");
        sql_cstr(&s, errors_json);
    }
    sbuf_printf(&s, " WHERE seq = %llu AND status = %d", (unsigned long long)b->seq, BATCH_IN_PROGRESS);
    char **sql = xcalloc(2, sizeof *sql);
    sql[0] = sbuf_steal(&s);
    sbuf_init(&s);
    batchstore_sql_cancel_lines(&s, b->tenant, b->id);
    sql[1] = sbuf_steal(&s);
    run_txn(p, sql, 2, 0, false, 0);
}

/* ---- releasing lines ---- */

struct release {
    struct bpump *p;
    struct brow *b;
    unsigned want;
    struct job_spec *specs;
    size_t n, bytes;
    struct batchread_pos next;
    char bad[200];
};

static void release_free(struct release *rl)
{
    for (size_t i = 0; i < rl->n; i++) {
        free(rl->specs[i].payload);
        free(rl->specs[i].metadata);
        free(rl->specs[i].group);
    }
    free(rl->specs);
    free(rl);
}

static int release_line_cb(void *arg, const char *line, size_t len, struct batchread_pos next)
{
    struct release *rl = arg;
    struct brow *b = rl->b;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "custom_id"),
                *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    char *payload = cJSON_IsObject(body) ? cJSON_PrintUnformatted(body) : NULL;
    if (!payload || !cJSON_IsString(cid)) { /* checked at upload and create: the file changed? */
        snprintf(rl->bad, sizeof rl->bad, "line %u is no longer a request object", b->released + (unsigned)rl->n + 1);
        cJSON_free(payload);
        cJSON_Delete(j);
        return 1;
    }
    struct job_spec *s = &rl->specs[rl->n];
    memset(s, 0, sizeof *s);
    util_strcpy(s->queue, sizeof s->queue, BATCHSTORE_QUEUE);
    /* llm.response lines run in queue batches, not responses: they are no
     * background responses and announce nothing (only batch.* events) */
    s->kind = strcmp(b->endpoint, "/v1/embeddings") == 0   ? JOB_LLM_EMBED
              : strcmp(b->endpoint, "/v1/responses") == 0 ? JOB_LLM_RESPONSE
                                                          : JOB_LLM_CHAT;
    s->payload = xstrdup(payload);
    cJSON_free(payload);
    struct sbuf m;
    sbuf_init(&m);
    sbuf_puts(&m, "{\"batch_id\":");
    sbuf_json_str(&m, b->id);
    sbuf_puts(&m, ",\"custom_id\":");
    sbuf_json_str(&m, cid->valuestring);
    sbuf_printf(&m, ",\"line\":%u}", b->released + (unsigned)rl->n + 1);
    s->metadata = sbuf_steal(&m);
    s->priority = BATCHSTORE_PRIORITY;
    s->max_attempts = LINE_ATTEMPTS;
    s->backoff_base_ms = LINE_BACKOFF_MS;
    s->backoff_max_ms = LINE_BACKOFF_MAX_MS;
    s->timeout_ms = LINE_TIMEOUT_MS;
    s->group = xstrdup(b->id);
    s->key_id = b->key_id;
    rl->n++;
    rl->bytes += strlen(s->payload) + strlen(s->metadata);
    rl->next = next;
    cJSON_Delete(j);
    return rl->n >= rl->want || rl->bytes >= RELEASE_BYTES;
}

static void release_done_cb(void *arg, const char *err, bool eof)
{
    (void)eof;
    struct release *rl = arg;
    struct bpump *p = rl->p;
    struct brow *b = rl->b;
    if (err || rl->bad[0] || (!rl->n && b->released < b->total)) {
        char why[400], json[700];
        snprintf(why, sizeof why, "%s", err ? err : rl->bad[0] ? rl->bad : "the input file ended early");
        log_warn("batch %s: its input file cannot be read (%s): the batch fails with what ran", b->id, why);
        struct sbuf e;
        sbuf_init(&e);
        sbuf_json_str(&e, why);
        snprintf(json, sizeof json,
                 "{\"object\":\"list\",\"data\":[{\"code\":\"input_file_unreadable\",\"message\":%s,"
                 "\"param\":\"input_file_id\",\"line\":null}]}",
                 e.data);
        sbuf_deinit(&e);
        release_free(rl);
        end_early(p, b, BATCH_END_FAIL, json);
        return;
    }
    if (!rl->n) {
        release_free(rl);
        bpump_next(p);
        return;
    }
    /* The batch row first (the compare-and-set: released is where this
     * read started), so a cancel, which also changes the row first, and a
     * release queue up on it rather than deadlock on the jobs. */
    char **sql = xcalloc(3, sizeof *sql);
    struct sbuf s;
    sbuf_init(&s);
    sbuf_printf(&s,
                "UPDATE batches SET released = released + %zu, next_chunk = %u, next_off = %zu WHERE seq = %llu "
                "AND released = %u AND status = %d",
                rl->n, rl->next.chunk, rl->next.off, (unsigned long long)b->seq, b->released, BATCH_IN_PROGRESS);
    sql[0] = sbuf_steal(&s);
    sbuf_init(&s);
    queuestore_ensure_sql(&s, b->tenant, BATCHSTORE_QUEUE);
    sql[1] = sbuf_steal(&s);
    sbuf_init(&s);
    jobstore_insert_rows_sql(&s, b->tenant, rl->specs, rl->n);
    sql[2] = sbuf_steal(&s);
    size_t n = rl->n;
    release_free(rl);
    run_txn(p, sql, 3, 0, true, n);
}

static void release(struct bpump *p, struct brow *b, unsigned want)
{
    struct release *rl = xcalloc(1, sizeof *rl);
    rl->p = p;
    rl->b = b;
    rl->want = want;
    rl->specs = xcalloc(want, sizeof *rl->specs);
    batchread_start(p->rt->db, b->file_seq, b->chunks, b->next, &p->cache, release_line_cb, release_done_cb, rl);
}

/* ---- one batch: counts, then what it needs ---- */

static void decide(struct bpump *p)
{
    struct brow *b = &p->rows[p->cur];
    long long inflight = p->queued + p->running_n;
    if (b->status == BATCH_IN_PROGRESS && now_s() >= b->expires_at) {
        log_info("batch %s: expired with %u of %u lines released", b->id, b->released, b->total);
        end_early(p, b, BATCH_END_EXPIRE, NULL);
        return;
    }
    if (b->status != BATCH_IN_PROGRESS && b->end_reason != BATCH_END_NONE && p->queued > 0) {
        /* a running line put back for a retry after the cancel: no new starts */
        struct sbuf s;
        sbuf_init(&s);
        batchstore_sql_cancel_lines(&s, b->tenant, b->id);
        db_query(p->rt->db, s.data, 0, simple_cb, p);
        sbuf_deinit(&s);
        return;
    }
    /* The tenant's window, shared by its running batches: fair between
     * the batches of one tenant and between tenants (a tenant starting
     * many batches gets no more lines in flight than one with one). */
    long long window = p->rt->cfg->batch_window_lines / (b->tenant_batches ? b->tenant_batches : 1);
    if (window < 1)
        window = 1;
    if (b->status == BATCH_IN_PROGRESS && b->released < b->total) {
        if (inflight >= window) {
            bpump_next(p);
            return;
        }
        long long want = window - inflight;
        if (want > RELEASE_MAX)
            want = RELEASE_MAX;
        if (want > (long long)(b->total - b->released))
            want = b->total - b->released;
        release(p, b, (unsigned)want);
        return;
    }
    if (inflight > 0) {
        bpump_next(p);
        return;
    }
    bpump_finalize(p, b);
}

static void counts_saved_cb(const struct db_result *r, void *arg)
{
    struct bpump *p = arg;
    if (!r->ok)
        log_warn("batch %s: saving its counts: %s", p->rows[p->cur].id, r->error);
    decide(p);
}

static void counted_cb(const struct db_result *r, void *arg)
{
    struct bpump *p = arg;
    struct brow *b = &p->rows[p->cur];
    if (!r->ok) {
        log_warn("batch %s: counting its lines: %s (the next pass retries)", b->id, r->error);
        bpump_next(p);
        return;
    }
    p->queued = p->running_n = p->failed_jobs = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res))) {
        long long st = db_row_ll(row, 0), n = db_row_ll(row, 1);
        if (st == JOB_QUEUED)
            p->queued = n;
        else if (st == JOB_RUNNING)
            p->running_n = n;
        else
            p->failed_jobs += n;
    }
    long long done = (long long)b->released - p->queued - p->running_n;
    unsigned completed = (unsigned)(done - p->failed_jobs > 0 ? done - p->failed_jobs : 0),
             failed = (unsigned)p->failed_jobs;
    if (completed == b->completed_n && failed == b->failed_n) {
        decide(p);
        return;
    }
    b->completed_n = completed;
    b->failed_n = failed;
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE batches SET completed_n = %u, failed_n = %u WHERE seq = %llu AND status IN (%d, %d, %d)",
             completed, failed, (unsigned long long)b->seq, BATCH_IN_PROGRESS, BATCH_FINALIZING, BATCH_CANCELLING);
    db_query(p->rt->db, sql, 0, counts_saved_cb, p);
}

static void count_batch(struct bpump *p)
{
    struct brow *b = &p->rows[p->cur];
    /* jobs_queue_group: (tenant_id, queue, state, group_key, ...): a
     * range per state, at most the window for queued and running */
    struct sbuf s;
    sbuf_init(&s);
    sbuf_printf(&s,
                "SELECT state, COUNT(*) FROM jobs FORCE INDEX (jobs_queue_group) WHERE tenant_id = %llu AND queue = '" BATCHSTORE_QUEUE
                "' AND state IN (%d, %d, %d, %d) AND group_key = ",
                (unsigned long long)b->tenant, JOB_QUEUED, JOB_RUNNING, JOB_FAILED, JOB_CANCELLED);
    sql_cstr(&s, b->id);
    sbuf_puts(&s, " GROUP BY state");
    db_query(p->rt->db, s.data, 0, counted_cb, p);
    sbuf_deinit(&s);
}

/* ---- the pass ---- */

#define ROW_COLS                                                                                   \
    "seq, id, tenant_id, key_id, status, end_reason, endpoint, input_file_seq, input_chunks, total, " \
    "released, next_chunk, next_off, completed_n, failed_n, expires_at, output_expires_s"

static void rows_cb(const struct db_result *r, void *arg)
{
    struct bpump *p = arg;
    if (!r->ok) {
        log_warn("batches: reading the active ones: %s", r->error);
        pass_end(p);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res);
    p->rows = xcalloc(n ? n : 1, sizeof *p->rows);
    long long active[BATCH_STATUS_COUNT] = {0};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && p->n < n) {
        struct brow *b = &p->rows[p->n++];
        b->seq = (uint64_t)db_row_ll(row, 0);
        util_strcpy(b->id, sizeof b->id, db_row_str(row, 1));
        b->tenant = (uint64_t)db_row_ll(row, 2);
        b->key_id = (uint64_t)db_row_ll(row, 3);
        b->status = (int)db_row_ll(row, 4);
        b->end_reason = (int)db_row_ll(row, 5);
        util_strcpy(b->endpoint, sizeof b->endpoint, db_row_str(row, 6));
        b->file_seq = (uint64_t)db_row_ll(row, 7);
        b->chunks = (unsigned)db_row_ll(row, 8);
        b->total = (unsigned)db_row_ll(row, 9);
        b->released = (unsigned)db_row_ll(row, 10);
        b->next.chunk = (unsigned)db_row_ll(row, 11);
        b->next.off = (size_t)db_row_ll(row, 12);
        b->completed_n = (unsigned)db_row_ll(row, 13);
        b->failed_n = (unsigned)db_row_ll(row, 14);
        b->expires_at = db_row_ll(row, 15);
        b->output_expires_s = row[16] ? db_row_ll(row, 16) : -1;
        if ((unsigned)b->status < BATCH_STATUS_COUNT)
            active[b->status]++;
    }
    for (size_t i = 0; i < p->n; i++) /* a few hundred rows at most */
        for (size_t k = 0; k < p->n; k++)
            p->rows[i].tenant_batches += p->rows[k].tenant == p->rows[i].tenant && p->rows[k].status == BATCH_IN_PROGRESS;
    static const int shown[] = {BATCH_IN_PROGRESS, BATCH_FINALIZING, BATCH_CANCELLING};
    for (size_t i = 0; i < ARRAY_LEN(shown); i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "status=\"%s\"", batch_status_name((enum batch_status)shown[i]));
        metrics_set(metrics_series(p->f_active, labels), (double)active[shown[i]]);
    }
    if (!p->n) {
        pass_end(p);
        return;
    }
    p->cur = 0;
    count_batch(p);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct bpump *p = arg;
    if (p->running || p->stopped)
        return;
    if (!p->leading(p->leading_arg)) {
        arm(p, IDLE_MS);
        return;
    }
    p->running = true;
    p->worked = false;
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT " ROW_COLS " FROM batches WHERE status IN (%d, %d, %d) ORDER BY seq LIMIT %d",
             BATCH_IN_PROGRESS, BATCH_FINALIZING, BATCH_CANCELLING, ROWS_MAX);
    db_query(p->rt->db, sql, 0, rows_cb, p);
}

struct bpump *bpump_new(struct runtime *rt, bool (*leading)(void *arg), void *arg)
{
    struct bpump *p = xcalloc(1, sizeof *p);
    p->rt = rt;
    p->leading = leading;
    p->leading_arg = arg;
    batchread_cache_init(&p->cache);
    struct metrics *m = rt->metrics;
    p->f_active = metrics_family(m, METRIC_GAUGE, "ingot_batches_active",
                                 "Batches (POST /v1/batches) not yet ended, by status (the leading scheduler's count).");
    p->f_finished = metrics_family(m, METRIC_COUNTER, "ingot_batches_finished_total",
                                   "Batches ended by this scheduler, by final status.");
    p->f_lines = metrics_family(m, METRIC_COUNTER, "ingot_batch_lines_total",
                                "Batch lines written to a finished batch's files, by outcome (completed: output file; failed: error file).");
    p->m_released = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_batch_lines_released_total",
                                                  "Batch lines made jobs (released a window at a time)."),
                                   "");
    p->timer = event_new(loop_base(rt->loop), -1, 0, timer_cb, p);
    arm(p, IDLE_MS);
    return p;
}

bool bpump_busy(const struct bpump *p)
{
    return p && p->running;
}

void bpump_stop(struct bpump *p)
{
    p->stopped = true;
    event_del(p->timer);
}

void bpump_free(struct bpump *p)
{
    if (!p)
        return;
    event_free(p->timer);
    batchread_cache_deinit(&p->cache);
    free(p->rows);
    free(p);
}
