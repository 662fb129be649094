#include "schedule_maint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "filestore.h"
#include "jobclaim.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"

#define BATCH 500
#define BATCHES_MAX 20        /* per task and pass: the rest waits for the next pass */
#define IDEM_RANGE 10000      /* ids per idempotency step */
#define IDEM_STEPS_MAX 20
#define FILES_PER_PASS 50

enum maint_step {
    M_IDLE,
    M_JOBS_SELECT, M_JOBS_ATTEMPTS, M_JOBS_DELETE,
    M_TICKS,
    M_IDEM_START, M_IDEM_UPDATE, M_IDEM_CHECK,
    M_LEASES,
    M_FILES
};

struct maint {
    struct runtime *rt;
    enum maint_step step;
    int batches;
    struct sbuf ids;
    unsigned long long idem_cursor; /* ids up to here have no key older than 24 h */
    int64_t started_us;
    void (*done)(void *arg);
    void *done_arg;
    struct metric_family *f_rows;
    struct metric_series *m_passes, *m_seconds;
};

struct maint *maint_new(struct runtime *rt)
{
    struct maint *m = xcalloc(1, sizeof *m);
    m->rt = rt;
    sbuf_init(&m->ids);
    m->f_rows = metrics_family(rt->metrics, METRIC_COUNTER, "ingot_maintenance_rows_total",
                               "Rows changed by maintenance, by task (jobs, attempts, ticks, idempotency, leases, files).");
    m->m_passes = metrics_series(metrics_family(rt->metrics, METRIC_COUNTER, "ingot_maintenance_passes_total",
                                                "Maintenance passes run by the leading scheduler."), "");
    m->m_seconds = metrics_series(metrics_family(rt->metrics, METRIC_GAUGE, "ingot_maintenance_last_pass_seconds",
                                                 "How long the last maintenance pass took."), "");
    return m;
}

void maint_free(struct maint *m)
{
    if (!m)
        return;
    sbuf_deinit(&m->ids);
    free(m);
}

bool maint_running(const struct maint *m)
{
    return m->step != M_IDLE;
}

void maint_reset(struct maint *m)
{
    m->idem_cursor = 0;
}

static void count(struct maint *m, const char *task, unsigned long long n)
{
    char labels[64];
    snprintf(labels, sizeof labels, "task=\"%s\"", task);
    metrics_add(metrics_series(m->f_rows, labels), (double)n);
}

static void step_cb(const struct db_result *r, void *arg);

static void query(struct maint *m, enum maint_step step, const char *sql)
{
    m->step = step;
    db_query(m->rt->db, sql, 0, step_cb, m);
}

static void finish(struct maint *m, const char *err)
{
    if (err)
        log_warn("maintenance pass stopped: %s (the next pass carries on)", err);
    m->step = M_IDLE;
    metrics_add(m->m_passes, 1);
    metrics_set(m->m_seconds, (double)(time_mono_us() - m->started_us) / 1e6);
    if (m->done)
        m->done(m->done_arg);
}

/* finished_at is set only once a job is terminal (a retry clears it). */
static void select_jobs(struct maint *m)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT id FROM jobs WHERE finished_at < NOW(6) - INTERVAL %lld DAY AND state IN (%d, %d, %d) "
             "ORDER BY finished_at LIMIT %d",
             m->rt->cfg->retention_days, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED, BATCH);
    query(m, M_JOBS_SELECT, sql);
}

static void purge_ticks(struct maint *m)
{
    m->batches = 0;
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM schedule_ticks WHERE fired_at < NOW(6) - INTERVAL %lld DAY LIMIT %d",
             m->rt->cfg->retention_days, BATCH);
    query(m, M_TICKS, sql);
}

static void idem_step(struct maint *m)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET idempotency_key = NULL, idempotency_batch = NULL WHERE id > %llu AND "
             "id <= %llu AND (idempotency_key IS NOT NULL OR idempotency_batch IS NOT NULL) AND "
             "created_at < NOW(6) - INTERVAL 1 DAY",
             m->idem_cursor, m->idem_cursor + IDEM_RANGE);
    query(m, M_IDEM_UPDATE, sql);
}

static void files_cb(unsigned long long n, const char *err, void *arg)
{
    struct maint *m = arg;
    if (n)
        count(m, "files", n);
    finish(m, err);
}

static void recovered_cb(unsigned long long n, const char *err, unsigned err_code, void *arg)
{
    struct maint *m = arg;
    if (n)
        count(m, "leases", n);
    if (err && err_code != DB_ERR_SHUTDOWN)
        log_warn("lease recovery failed (error %u): %s", err_code, err);
    if (err) {
        finish(m, err_code != DB_ERR_SHUTDOWN ? "lease recovery failed" : NULL);
        return;
    }
    /* expired, deleted and abandoned files: a few per pass (each purge
     * deletes its chunks a batch at a time) */
    m->step = M_FILES;
    filestore_purge_due(m->rt->db, FILES_PER_PASS, files_cb, m);
}

static void step_cb(const struct db_result *r, void *arg)
{
    struct maint *m = arg;
    if (!r->ok) {
        finish(m, r->error);
        return;
    }
    char sql[400];
    MYSQL_ROW row;
    switch (m->step) {
    case M_JOBS_SELECT:
        sbuf_reset(&m->ids);
        while ((row = mysql_fetch_row(r->res)))
            sbuf_printf(&m->ids, "%s%s", m->ids.len ? "," : "", row[0]);
        if (!m->ids.len) {
            purge_ticks(m);
            break;
        }
        {
            struct sbuf b;
            sbuf_init(&b);
            sbuf_printf(&b, "DELETE FROM job_attempts WHERE job_id IN (%s)", m->ids.data);
            query(m, M_JOBS_ATTEMPTS, b.data);
            sbuf_deinit(&b);
        }
        break;
    case M_JOBS_ATTEMPTS: {
        count(m, "attempts", r->affected_rows);
        struct sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "DELETE FROM jobs WHERE id IN (%s) AND state IN (%d, %d, %d)", m->ids.data,
                    JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED);
        query(m, M_JOBS_DELETE, b.data);
        sbuf_deinit(&b);
        break;
    }
    case M_JOBS_DELETE:
        count(m, "jobs", r->affected_rows);
        if (r->affected_rows >= BATCH && ++m->batches < BATCHES_MAX)
            select_jobs(m);
        else
            purge_ticks(m);
        break;
    case M_TICKS:
        count(m, "ticks", r->affected_rows);
        if (r->affected_rows >= BATCH && ++m->batches < BATCHES_MAX) {
            snprintf(sql, sizeof sql, "DELETE FROM schedule_ticks WHERE fired_at < NOW(6) - INTERVAL %lld DAY LIMIT %d",
                     m->rt->cfg->retention_days, BATCH);
            query(m, M_TICKS, sql);
            break;
        }
        m->batches = 0;
        if (m->idem_cursor) {
            idem_step(m);
            break;
        }
        query(m, M_IDEM_START, "SELECT COALESCE(MIN(id), 1) - 1 FROM jobs");
        break;
    case M_IDEM_START:
        row = mysql_fetch_row(r->res);
        m->idem_cursor = row ? (unsigned long long)db_row_ll(row, 0) : 0;
        idem_step(m);
        break;
    case M_IDEM_UPDATE:
        count(m, "idempotency", r->affected_rows);
        /* Move on while the range's last job is itself older than 24 h:
         * ids grow with time, so what lies below is done. */
        snprintf(sql, sizeof sql,
                 "SELECT id, created_at < NOW(6) - INTERVAL 1 DAY FROM jobs WHERE id <= %llu "
                 "ORDER BY id DESC LIMIT 1",
                 m->idem_cursor + IDEM_RANGE);
        query(m, M_IDEM_CHECK, sql);
        break;
    case M_IDEM_CHECK:
        row = mysql_fetch_row(r->res);
        if (row && db_row_ll(row, 1) == 1) {
            m->idem_cursor += IDEM_RANGE;
            if (++m->batches < IDEM_STEPS_MAX) {
                idem_step(m);
                break;
            }
        }
        m->step = M_LEASES;
        jobclaim_recover(m->rt->db, BATCH, recovered_cb, m);
        break;
    default:
        break;
    }
}

void maint_run(struct maint *m, void (*done)(void *arg), void *arg)
{
    if (m->step != M_IDLE)
        return;
    m->done = done;
    m->done_arg = arg;
    m->started_us = time_mono_us();
    m->batches = 0;
    select_jobs(m);
}
