#include "jobbulk.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "dberr.h"
#include "job.h"
#include "jobchange.h"
#include "jobclaim.h"
#include "jobfilter.h"
#include "respjob.h"
#include "log.h"
#include "queuestore.h"
#include "util.h"

#define LOCK_TRIES 5
/* Tokens hide the ids (xor) so clients treat them as opaque. */
#define RESUME_MASK 0x2545f4914f6cdd1dULL

/* One step of the walk at a time, on one connection at a time. */
enum bulk_step { B_MAX, B_SCAN, B_BEGIN, B_LOCK, B_UPDATE, B_QUEUE, B_CALLBACK, B_EVENTS, B_END };

struct jobbulk {
    struct db_pool *db;
    struct db_txn *txn;
    enum bulk_step step;
    uint64_t tenant;
    bool cancel, stop, last_scan;
    struct jobfilter f;
    int rows;
    int64_t deadline_ms;
    uint64_t after_id, max_id;   /* walked: ids <= after_id; the end: max_id */
    struct sbuf cands;           /* "1,2,3": matched and in a state the change allows */
    struct sbuf locked;          /* the same, as locked in the transaction */
    struct respjob_events events; /* the background responses among them (cancel) */
    uint64_t *ids;               /* locked, for batch_cb */
    size_t nids, capids;
    int tries;
    unsigned long long txn_changed; /* counted once its transaction commits */
    bool commit;
    char err[320];
    unsigned err_code;
    struct jobbulk_result res;
    jobbulk_batch_cb batch_cb;
    jobbulk_done_cb done_cb;
    void *arg;
};

static void step_cb(const struct db_result *r, void *arg);

/* What a resume token is valid for: the operation and the filter (its SQL
 * conditions), FNV-1a. A token sent with another body would walk on from
 * a place the new filter never reached, so it is refused. */
static uint32_t spec_fingerprint(const struct jobfilter *f, bool cancel)
{
    struct sbuf q;
    sbuf_init(&q);
    sbuf_puts(&q, cancel ? "cancel:" : "retry:");
    jobfilter_sql_expr(&q, f);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < q.len; i++)
        h = (h ^ (unsigned char)q.data[i]) * 16777619u;
    sbuf_deinit(&q);
    return h;
}

static void finish(struct jobbulk *b, const struct db_result *r)
{
    if (r && !r->ok) {
        snprintf(b->err, sizeof b->err, "%s", r->error);
        b->err_code = r->err_code;
    }
    if (!b->res.complete && !b->err[0])
        snprintf(b->res.resume, sizeof b->res.resume, "r%llx.%llx.%08x",
                 (unsigned long long)(b->after_id ^ RESUME_MASK), (unsigned long long)(b->max_id ^ RESUME_MASK),
                 (unsigned)spec_fingerprint(&b->f, b->cancel));
    b->res.err = b->err;
    b->res.err_code = b->err_code;
    b->done_cb(&b->res, b->arg);
    sbuf_deinit(&b->cands);
    sbuf_deinit(&b->locked);
    respjob_events_deinit(&b->events);
    free(b->ids);
    free(b);
}

static void scan_query(struct jobbulk *b)
{
    struct sbuf q;
    sbuf_init(&q);
    /* (tenant_id, id) index order: exactly the next rows of the tenant,
     * whatever the filter; the filter is a column, not a condition, so a
     * filter that matches nothing still advances rows at a time. */
    sbuf_puts(&q, "SELECT id, state, ");
    jobfilter_sql_expr(&q, &b->f);
    sbuf_printf(&q, " FROM jobs WHERE tenant_id = %llu AND id > %llu AND id <= %llu ORDER BY id LIMIT %d",
                (unsigned long long)b->tenant, (unsigned long long)b->after_id,
                (unsigned long long)b->max_id, b->rows);
    b->step = B_SCAN;
    db_query(b->db, q.data, 0, step_cb, b);
    sbuf_deinit(&q);
}

/* The next rows, unless the walk is over, stopped or out of time (after
 * its first rows: every request makes progress). */
static void scan(struct jobbulk *b)
{
    if (b->last_scan) {
        b->res.complete = true;
        finish(b, NULL);
        return;
    }
    if (b->stop || time_mono_ms() >= b->deadline_ms) {
        finish(b, NULL);
        return;
    }
    scan_query(b);
}

static void txn_begin(struct jobbulk *b)
{
    b->step = B_BEGIN;
    b->commit = false;
    b->txn_changed = 0;
    b->err[0] = '\0';
    b->err_code = 0;
    b->txn = db_txn_begin(b->db, 0, step_cb, b);
}

static void txn_end(struct jobbulk *b, bool commit, const struct db_result *r)
{
    if (r && !r->ok && !b->err[0]) {
        snprintf(b->err, sizeof b->err, "%s", r->error);
        b->err_code = r->err_code;
    }
    b->commit = commit;
    b->step = B_END;
    db_txn_end(b->txn, commit, step_cb, b);
}

static void scanned(struct jobbulk *b, MYSQL_RES *res)
{
    sbuf_reset(&b->cands);
    MYSQL_ROW row;
    int n = 0;
    while ((row = mysql_fetch_row(res))) {
        n++;
        b->after_id = (uint64_t)db_row_ll(row, 0); /* our own columns */
        if (!db_row_ll(row, 2))
            continue;
        b->res.matched++;
        if (!jobchange_allowed(b->cancel, (int)db_row_ll(row, 1)))
            continue;
        if (b->cands.len)
            sbuf_putc(&b->cands, ',');
        sbuf_puts(&b->cands, row[0]);
    }
    if (n < b->rows)
        b->last_scan = true;
    if (b->cands.len) {
        b->tries = 0;
        txn_begin(b);
    } else {
        scan(b);
    }
}

static void locked(struct jobbulk *b, MYSQL_RES *res)
{
    sbuf_reset(&b->locked);
    respjob_events_reset(&b->events);
    b->nids = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (b->nids == b->capids) {
            b->capids = b->capids ? b->capids * 2 : 64;
            b->ids = xrealloc(b->ids, b->capids * sizeof *b->ids);
        }
        b->ids[b->nids++] = (uint64_t)db_row_ll(row, 0);
        if (b->locked.len)
            sbuf_putc(&b->locked, ',');
        sbuf_puts(&b->locked, row[0]);
        if (db_row_ll(row, 1))
            respjob_events_add(&b->events, b->tenant, b->ids[b->nids - 1]);
    }
}

static void step_cb(const struct db_result *r, void *arg)
{
    struct jobbulk *b = arg;
    if (b->step == B_END) {
        if (!r->ok && !b->err[0]) {
            snprintf(b->err, sizeof b->err, "%s", r->error);
            b->err_code = r->err_code;
        }
        if (b->err[0] && dberr_is_lost_lock(b->err_code) && ++b->tries < LOCK_TRIES) {
            log_debug("a bulk %s batch lost a lock conflict (%u), trying again",
                      b->cancel ? "cancel" : "retry", b->err_code);
            txn_begin(b); /* rolled back whole: the same candidates again */
            return;
        }
        if (b->err[0]) {
            finish(b, NULL);
            return;
        }
        if (b->nids) {
            b->res.changed += b->txn_changed;
            b->res.batches++;
            b->batch_cb(b->ids, b->nids, b->arg);
        }
        scan(b);
        return;
    }
    if (!r->ok) {
        if (b->step == B_MAX || b->step == B_SCAN)
            finish(b, r);
        else
            txn_end(b, false, r);
        return;
    }
    struct sbuf q;
    sbuf_init(&q);
    switch (b->step) {
    case B_MAX: {
        MYSQL_ROW row = mysql_fetch_row(r->res);
        b->max_id = row ? (uint64_t)db_row_ll(row, 0) : 0;
        scan_query(b);
        break;
    }
    case B_SCAN:
        scanned(b, r->res);
        break;
    case B_BEGIN:
        /* By primary key: record locks on these rows only. The state is
         * read again as it is now (a worker may have moved it). */
        sbuf_printf(&q, "SELECT id, " RESPJOB_KIND_SQL " FROM jobs WHERE id IN (%s) AND tenant_id = %llu AND ",
                    b->cands.data,
                    (unsigned long long)b->tenant);
        jobchange_states_sql(&q, b->cancel);
        sbuf_puts(&q, " ORDER BY id FOR UPDATE");
        b->step = B_LOCK;
        db_txn_query(b->txn, q.data, 0, step_cb, b);
        break;
    case B_LOCK:
        locked(b, r->res);
        if (!b->nids) { /* all moved on meanwhile */
            txn_end(b, true, NULL);
            break;
        }
        jobchange_update_sql(&q, b->cancel, b->tenant, b->locked.data);
        b->step = B_UPDATE;
        db_txn_query(b->txn, q.data, 0, step_cb, b);
        break;
    case B_UPDATE:
        if (r->affected_rows != b->nids) /* not seen: the rows are locked */
            log_warn("a bulk change updated %llu of %zu locked jobs", r->affected_rows, b->nids);
        b->txn_changed = r->affected_rows;
        if (!b->cancel) {
            txn_end(b, true, NULL);
            break;
        }
        /* A cancelled job's callback commits with it, as for one job. */
        queuestore_ensure_callbacks_sql(&q, b->locked.data);
        b->step = B_QUEUE;
        db_txn_query(b->txn, q.data, 0, step_cb, b);
        break;
    case B_QUEUE:
        jobclaim_callback_sql(&q, b->locked.data);
        b->step = B_CALLBACK;
        db_txn_query(b->txn, q.data, 0, step_cb, b);
        break;
    case B_CALLBACK: /* and a background response's end event, one at a time */
    case B_EVENTS:
        if (!respjob_events_next(&b->events, "response.cancelled", &q)) {
            txn_end(b, true, NULL);
            break;
        }
        b->step = B_EVENTS;
        db_txn_query(b->txn, q.data, 0, step_cb, b);
        break;
    default:
        break;
    }
    sbuf_deinit(&q);
}

struct jobbulk *jobbulk_start(struct db_pool *db, uint64_t tenant, bool cancel, const struct jobbulk_spec *spec,
                              int rows_per_batch, jobbulk_batch_cb batch_cb, jobbulk_done_cb done_cb,
                              void *arg)
{
    struct jobbulk *b = xcalloc(1, sizeof *b);
    b->db = db;
    b->tenant = tenant;
    b->cancel = cancel;
    b->f = spec->f;
    b->after_id = spec->after_id;
    b->deadline_ms = time_mono_ms() + spec->time_limit_ms;
    b->rows = rows_per_batch > 0 ? rows_per_batch : JOBBULK_ROWS;
    sbuf_init(&b->cands);
    sbuf_init(&b->locked);
    respjob_events_init(&b->events);
    b->batch_cb = batch_cb;
    b->done_cb = done_cb;
    b->arg = arg;
    if (spec->max_id) {
        b->max_id = spec->max_id;
        scan_query(b);
        return b;
    }
    char q[128];
    snprintf(q, sizeof q, "SELECT MAX(id) FROM jobs WHERE tenant_id = %llu", (unsigned long long)tenant);
    b->step = B_MAX;
    db_query(db, q, 0, step_cb, b);
    return b;
}

void jobbulk_stop(struct jobbulk *b)
{
    b->stop = true;
}

static int parse_resume(const char *s, struct jobbulk_spec *spec, uint32_t *fp)
{
    unsigned long long a, m, h;
    const char *dot = s ? strchr(s, '.') : NULL;
    const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
    if (!s || s[0] != 'r' || !dot || !dot2 || dot - s > 17 || dot2 - dot > 17)
        return -1;
    char first[20], second[20];
    snprintf(first, sizeof first, "%.*s", (int)(dot - s - 1), s + 1);
    snprintf(second, sizeof second, "%.*s", (int)(dot2 - dot - 1), dot + 1);
    if (check_parse_ull(first, 16, ULLONG_MAX, &a) < 0 || check_parse_ull(second, 16, ULLONG_MAX, &m) < 0 ||
        strlen(dot2 + 1) != 8 || check_parse_ull(dot2 + 1, 16, 0xffffffffULL, &h) < 0)
        return -1;
    a ^= RESUME_MASK;
    m ^= RESUME_MASK;
    if (m == 0 || a > m)
        return -1;
    spec->after_id = a;
    spec->max_id = m;
    *fp = (uint32_t)h;
    return 0;
}

int jobbulk_parse(const cJSON *j, bool cancel, struct jobbulk_spec *spec, const char **param, char *why,
                  size_t whylen)
{
    memset(spec, 0, sizeof *spec);
    spec->time_limit_ms = JOBBULK_TIME_DEFAULT_MS;
    struct jobfilter *f = &spec->f;
    jobfilter_init(f);
    if (!cJSON_IsObject(j)) {
        *param = "";
        snprintf(why, whylen, "the body must be a JSON object of filter fields");
        return -1;
    }
    bool all = false, resumed = false;
    uint32_t fp = 0;
    for (const cJSON *v = j->child; v; v = v->next) {
        const char *name = v->string ? v->string : "";
        *param = name;
        if (strcmp(name, "all") == 0) {
            if (!cJSON_IsBool(v)) {
                snprintf(why, whylen, "all must be true or false");
                return -1;
            }
            all = cJSON_IsTrue(v);
            continue;
        }
        if (strcmp(name, "resume") == 0) {
            if (!cJSON_IsNull(v) && parse_resume(cJSON_IsString(v) ? v->valuestring : NULL, spec, &fp) < 0) {
                snprintf(why, whylen, "resume must be the resume token of an earlier answer to the same request");
                return -1;
            }
            resumed = !cJSON_IsNull(v);
            continue;
        }
        if (strcmp(name, "time_limit_ms") == 0) {
            if (!cJSON_IsNumber(v) || !check_double_ll(v->valuedouble, 100, JOBBULK_TIME_MAX_MS, &spec->time_limit_ms)) {
                snprintf(why, whylen, "time_limit_ms must be a whole number from 100 to %d", JOBBULK_TIME_MAX_MS);
                return -1;
            }
            continue;
        }
        char num[32];
        const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
        bool is_time = strncmp(name, "created_", 8) == 0;
        if (!text && is_time && cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15 &&
            (double)(long long)v->valuedouble == v->valuedouble) { /* Unix seconds as a number (whole: no libm) */
            snprintf(num, sizeof num, "%.0f", v->valuedouble);
            text = num;
        }
        int set = jobfilter_set(f, name, text ? text : "", why, whylen);
        if (set == 0) {
            snprintf(why, whylen,
                     "unknown field %s; the body has queue, status, kind, group, created_after, "
                     "created_before, all, resume and time_limit_ms",
                     name);
            return -1;
        }
        if (set < 0 || !text) {
            if (!text)
                snprintf(why, whylen, "%s must be a string%s", name, is_time ? " or whole Unix seconds" : "");
            return -1;
        }
    }
    if (f->state >= 0 && !jobchange_allowed(cancel, f->state)) {
        *param = "status";
        snprintf(why, whylen, "%s applies to %s jobs only", cancel ? "cancel" : "retry",
                 cancel ? "queued or running" : "failed or cancelled");
        return -1;
    }
    if (jobfilter_check(f, param, why, whylen) < 0)
        return -1;
    if (resumed && fp != spec_fingerprint(f, cancel)) {
        *param = "resume";
        snprintf(why, whylen, "this resume token belongs to a request with another operation or filter: send "
                              "the same body as the request that answered it, or leave resume out to start anew");
        return -1;
    }
    if (!f->has_queue && f->state < 0 && !all) {
        *param = "all";
        snprintf(why, whylen, "give queue or status, or \"all\": true to mean every job of the tenant that "
                              "the other fields match");
        return -1;
    }
    return 0;
}
