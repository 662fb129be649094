#include "schedule.h"

#include <event2/event.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cron.h"
#include "db.h"
#include "jobstore.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "ops.h"
#include "queuestore.h"
#include "redis.h"
#include "runtime.h"
#include "schedstore.h"
#include "schedule_batches.h"
#include "schedule_maint.h"
#include "sql.h"

/* GET_LOCK names are global to the MariaDB server, not per database: the
 * database's name is in the lock, or one deployment's leader would stop
 * every other deployment sharing the server from leading (their
 * schedules and batches would never run). MD5 keeps it within the 64
 * characters a lock name may have. */
#define LOCK_NAME "CONCAT('ingot.scheduler.', MD5(DATABASE()))"
#define LEAD_EVERY_MS 1000    /* try to lead / check the lock */
#define LEAD_TIMEOUT_MS 2000
#define FIRE_EVERY_MS 250
#define MAINT_EVERY_MS 60000
#define DUE_MAX 50

enum lead_state { LEAD_IDLE, LEAD_ASKING, LEAD_SETUP, LEAD_LEADER, LEAD_CHECKING, LEAD_LEAVING };

struct due {
    uint64_t id, tenant;
    char *cron, *tz, *job;
    int64_t next_at, now;
};

enum fire_step { F_BEGIN, F_QUEUE, F_JOB, F_TICK, F_SCHEDULE, F_END, F_ADVANCE };

struct schedule {
    struct runtime *rt;
    enum lead_state lead;
    struct db_txn *session;   /* the connection holding the lock */
    int64_t leader_since_ms;
    char lock_name[72];       /* as the server built it (logged when leading) */
    bool draining;
    struct event *lead_timer, *fire_timer, *maint_timer;
    struct maint *maint;
    struct bpump *batches;    /* the Batch API's batches (leader only) */
    /* firing: one schedule at a time from the due list */
    bool firing;
    struct due *due;
    size_t ndue, cur;
    enum fire_step fstep;
    struct db_txn *txn;
    int64_t tick, after;
    unsigned long long job_id;
    bool committed, duplicate;
    bool tz_warned;           /* a zone could not be loaded: logged once */
    struct job_limits limits;
    struct metric_series *m_leader, *m_fired, *m_dup, *m_missed, *m_errors, *m_changes;
};

static void lead_cb(const struct db_result *r, void *arg);

static void health_extra(struct sbuf *out, void *arg)
{
    struct schedule *s = arg;
    bool leader = s->lead == LEAD_LEADER || s->lead == LEAD_CHECKING;
    sbuf_printf(out, ",\"scheduler\":{\"leader\":%s", leader ? "true" : "false");
    if (s->leader_since_ms)
        sbuf_printf(out, ",\"leading_for_ms\":%lld", (long long)(time_mono_ms() - s->leader_since_ms));
    sbuf_putc(out, '}');
}

static bool leading(const struct schedule *s)
{
    return (s->lead == LEAD_LEADER || s->lead == LEAD_CHECKING) && !s->draining;
}

static bool leading_cb(void *arg)
{
    return leading(arg);
}

static void maint_done(void *arg)
{
    loop_work_done(((struct schedule *)arg)->rt->loop);
}

static void maint_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct schedule *s = arg;
    if (leading(s))
        maint_run(s->maint, maint_done, s);
}

static void left_cb(const struct db_result *r, void *arg)
{
    (void)r;
    struct schedule *s = arg;
    s->session = NULL;
    s->lead = LEAD_IDLE;
    loop_work_done(s->rt->loop);
}

/* Ends the session (releasing the lock if it still holds it). */
static void leave(struct schedule *s, const char *why)
{
    if (s->leader_since_ms) {
        if (why)
            log_warn("scheduler: no longer leading: %s", why);
        else
            log_info("scheduler: stepping down");
        s->leader_since_ms = 0;
        metrics_set(s->m_leader, 0);
        metrics_add(s->m_changes, 1);
    }
    s->lead = LEAD_LEAVING;
    db_session_end(s->session, "DO RELEASE_ALL_LOCKS()", left_cb, s);
}

static void lead_cb(const struct db_result *r, void *arg)
{
    struct schedule *s = arg;
    MYSQL_ROW row = r->ok && r->res ? mysql_fetch_row(r->res) : NULL;
    switch (s->lead) {
    case LEAD_ASKING:
        if (!r->ok || !row || db_row_ll(row, 0) != 1 || s->draining) {
            leave(s, r->ok ? NULL : r->error); /* another scheduler leads */
            return;
        }
        util_strcpy(s->lock_name, sizeof s->lock_name, db_row_str(row, 1));
        /* A connection cut off without a goodbye (network) is dropped by
         * the server after this long, and the lock with it. */
        s->lead = LEAD_SETUP;
        db_txn_query(s->session, "SET SESSION wait_timeout = 10", LEAD_TIMEOUT_MS, lead_cb, s);
        return;
    case LEAD_SETUP:
        if (!r->ok || s->draining) {
            leave(s, r->ok ? NULL : r->error);
            return;
        }
        s->lead = LEAD_LEADER;
        s->leader_since_ms = time_mono_ms();
        metrics_set(s->m_leader, 1);
        metrics_add(s->m_changes, 1);
        log_info("scheduler: leading (holding the database lock %s)", s->lock_name);
        maint_reset(s->maint);
        maint_timer_cb(-1, 0, s); /* a first pass at once */
        return;
    case LEAD_CHECKING:
        if (!r->ok || !row || db_row_ll(row, 0) != 1) {
            leave(s, r->ok ? "the lock is no longer ours" : r->error);
            return;
        }
        s->lead = LEAD_LEADER;
        if (s->draining)
            leave(s, NULL);
        return;
    default:
        return;
    }
}

static void lead_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct schedule *s = arg;
    if (s->draining)
        return;
    if (s->lead == LEAD_IDLE) {
        s->lead = LEAD_ASKING;
        s->session = db_session_begin(s->rt->db, "SELECT GET_LOCK(" LOCK_NAME ", 0), " LOCK_NAME, LEAD_TIMEOUT_MS,
                                      lead_cb, s);
    } else if (s->lead == LEAD_LEADER) {
        s->lead = LEAD_CHECKING;
        db_txn_query(s->session, "SELECT IS_USED_LOCK(" LOCK_NAME ") = CONNECTION_ID()", LEAD_TIMEOUT_MS,
                     lead_cb, s);
    }
}

/* ---- firing ---- */

static void due_free(struct schedule *s)
{
    for (size_t i = 0; i < s->ndue; i++) {
        free(s->due[i].cron);
        free(s->due[i].tz);
        free(s->due[i].job);
    }
    free(s->due);
    s->due = NULL;
    s->ndue = s->cur = 0;
}

static void fire_next(struct schedule *s);
static void fire_cb(const struct db_result *r, void *arg);

static void fire_done(struct schedule *s)
{
    due_free(s);
    s->firing = false;
    loop_work_done(s->rt->loop);
}

/* Moves next_fire_at past a tick that is done (fired by us or another
 * scheduler, or not fireable). Compare-and-set on the old value. */
static void advance(struct schedule *s, const struct due *d)
{
    char sql[300];
    if (s->after >= 0)
        snprintf(sql, sizeof sql, "UPDATE schedules SET next_fire_at = FROM_UNIXTIME(%lld) WHERE id = %llu AND next_fire_at = FROM_UNIXTIME(%lld)",
                 (long long)s->after, (unsigned long long)d->id, (long long)d->next_at);
    else
        snprintf(sql, sizeof sql, "UPDATE schedules SET next_fire_at = NULL WHERE id = %llu AND next_fire_at = FROM_UNIXTIME(%lld)",
                 (unsigned long long)d->id, (long long)d->next_at);
    s->fstep = F_ADVANCE;
    db_query(s->rt->db, sql, 0, fire_cb, s);
}

static void fire_cb(const struct db_result *r, void *arg)
{
    struct schedule *s = arg;
    const struct due *d = &s->due[s->cur];
    struct sbuf b;
    sbuf_init(&b);
    if (s->fstep == F_END || s->fstep == F_ADVANCE) {
        if (s->fstep == F_END && r->ok && s->committed) {
            metrics_add(s->m_fired, 1);
            if (s->rt->redis && redis_state(s->rt->redis) == REDIS_READY)
                redis_publish(s->rt->redis, JOB_WAKE_CHANNEL, "due");
            log_info("schedule %llu: tick %lld fired as job_%llu", (unsigned long long)d->id,
                     (long long)s->tick, s->job_id);
        } else if (!r->ok && r->err_code != DB_ERR_SHUTDOWN) {
            metrics_add(s->m_errors, 1);
            log_warn("schedule %llu: %s (retried at the next check)", (unsigned long long)d->id, r->error);
        }
        if (s->fstep == F_END && s->duplicate) {
            sbuf_deinit(&b);
            advance(s, d);
            return;
        }
        s->cur++;
        sbuf_deinit(&b);
        fire_next(s);
        return;
    }
    if (!r->ok) {
        s->duplicate = r->err_code == ER_DUP_ENTRY && s->fstep == F_TICK;
        if (s->duplicate)
            metrics_add(s->m_dup, 1);
        s->committed = false;
        s->fstep = F_END;
        db_txn_end(s->txn, false, fire_cb, s);
        sbuf_deinit(&b);
        return;
    }
    switch (s->fstep) {
    case F_BEGIN: {
        struct job_spec spec;
        char why[300];
        if (schedule_job_spec(d->job, &s->limits, &spec, why, sizeof why) < 0) {
            metrics_add(s->m_errors, 1);
            log_error("schedule %llu: its job no longer validates, tick skipped: %s", (unsigned long long)d->id, why);
            s->committed = false;
            s->duplicate = true; /* not fireable: move past it */
            s->fstep = F_END;
            db_txn_end(s->txn, false, fire_cb, s);
            break;
        }
        queuestore_ensure_sql(&b, d->tenant, spec.queue);
        job_spec_deinit(&spec);
        s->fstep = F_QUEUE;
        db_txn_query(s->txn, b.data, 0, fire_cb, s);
        break;
    }
    case F_QUEUE: {
        struct job_spec spec;
        char why[300];
        if (schedule_job_spec(d->job, &s->limits, &spec, why, sizeof why) < 0)
            abort(); /* validated a moment ago */
        jobstore_insert_sql(&b, d->tenant, &spec);
        job_spec_deinit(&spec);
        s->fstep = F_JOB;
        db_txn_query(s->txn, b.data, 0, fire_cb, s);
        break;
    }
    case F_JOB:
        s->job_id = r->insert_id;
        sbuf_printf(&b, "INSERT INTO schedule_ticks (schedule_id, tick_at, job_id) VALUES (%llu, FROM_UNIXTIME(%lld), %llu)",
                    (unsigned long long)d->id, (long long)s->tick, s->job_id);
        s->fstep = F_TICK;
        db_txn_query(s->txn, b.data, 0, fire_cb, s);
        break;
    case F_TICK:
        sbuf_puts(&b, "UPDATE schedules SET next_fire_at = ");
        if (s->after >= 0)
            sbuf_printf(&b, "FROM_UNIXTIME(%lld)", (long long)s->after);
        else
            sbuf_puts(&b, "NULL");
        sbuf_printf(&b, ", last_fired_at = FROM_UNIXTIME(%lld), last_job_id = %llu WHERE id = %llu",
                    (long long)s->tick, s->job_id, (unsigned long long)d->id);
        s->fstep = F_SCHEDULE;
        db_txn_query(s->txn, b.data, 0, fire_cb, s);
        break;
    case F_SCHEDULE:
        s->committed = true;
        s->fstep = F_END;
        db_txn_end(s->txn, true, fire_cb, s);
        break;
    default:
        break;
    }
    sbuf_deinit(&b);
}

/* The tick to fire: the most recent one due (older missed ticks are
 * skipped), and the one after it. */
static void plan(struct schedule *s, const struct due *d)
{
    struct cron c;
    char why[200];
    s->tick = d->next_at;
    s->after = -1;
    if (cron_parse(d->cron, &c, why, sizeof why) < 0)
        return;
    long skipped = 0;
    if (c.every_s > 0) {
        int64_t latest = d->now / c.every_s * c.every_s;
        if (latest > s->tick) {
            skipped = (long)((latest - s->tick) / c.every_s);
            s->tick = latest;
        }
    } else {
        for (int64_t n = cron_next(&c, d->tz, s->tick); n >= 0 && n <= d->now && skipped < 1000000;
             n = cron_next(&c, d->tz, s->tick)) {
            s->tick = n;
            skipped++;
        }
    }
    if (skipped) {
        metrics_add(s->m_missed, (double)skipped);
        log_warn("schedule %llu: %ld missed tick(s) skipped; firing the most recent only",
                 (unsigned long long)d->id, skipped);
    }
    s->after = cron_next(&c, d->tz, s->tick);
}

static void fire_next(struct schedule *s)
{
    /* A zone whose file went missing (ZONEINFO_DIR) would fire at UTC
     * times or lose its next tick: leave the schedule due until it loads. */
    char why[400];
    while (s->cur < s->ndue && !cron_tz_check(s->due[s->cur].tz, why, sizeof why)) {
        if (!s->tz_warned)
            log_error("schedule %llu: time zone %s: %s; not fired", (unsigned long long)s->due[s->cur].id,
                      s->due[s->cur].tz, why);
        s->tz_warned = true;
        s->cur++;
    }
    if (s->cur >= s->ndue || !leading(s)) {
        fire_done(s);
        return;
    }
    plan(s, &s->due[s->cur]);
    s->committed = s->duplicate = false;
    s->fstep = F_BEGIN;
    s->txn = db_txn_begin(s->rt->db, 0, fire_cb, s);
}

static void due_cb(const struct db_result *r, void *arg)
{
    struct schedule *s = arg;
    if (!r->ok) {
        if (r->err_code != DB_ERR_SHUTDOWN)
            log_warn("scheduler: cannot read due schedules: %s", r->error);
        fire_done(s);
        return;
    }
    size_t n = (size_t)mysql_num_rows(r->res);
    s->due = xcalloc(n ? n : 1, sizeof *s->due);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res)) && s->ndue < n) {
        struct due *d = &s->due[s->ndue++];
        d->id = (uint64_t)db_row_ll(row, 0);
        d->tenant = (uint64_t)db_row_ll(row, 1);
        d->cron = xstrdup(db_row_str(row, 2));
        d->tz = xstrdup(db_row_str(row, 3));
        d->job = xstrdup(db_row_str(row, 4));
        d->next_at = db_row_ll(row, 5);
        d->now = db_row_ll(row, 6);
    }
    fire_next(s);
}

static void fire_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct schedule *s = arg;
    if (!leading(s) || s->firing)
        return;
    s->firing = true;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT id, tenant_id, cron, timezone, job, UNIX_TIMESTAMP(next_fire_at), UNIX_TIMESTAMP(NOW()) "
             "FROM schedules WHERE paused = 0 AND next_fire_at <= NOW() ORDER BY next_fire_at LIMIT %d",
             DUE_MAX);
    db_query(s->rt->db, sql, 0, due_cb, s);
}

/* ---- lifecycle ---- */

static void drain_hook(void *arg)
{
    struct schedule *s = arg;
    s->draining = true;
    event_del(s->lead_timer);
    event_del(s->fire_timer);
    event_del(s->maint_timer);
    bpump_stop(s->batches);
    if (s->lead == LEAD_LEADER)
        leave(s, NULL);
}

static size_t busy_count(void *arg)
{
    struct schedule *s = arg;
    return (size_t)(s->lead != LEAD_IDLE) + (size_t)s->firing + (size_t)maint_running(s->maint) +
           (size_t)bpump_busy(s->batches);
}

struct schedule *schedule_start(struct runtime *rt, struct ops *ops, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct schedule *s = xcalloc(1, sizeof *s);
    s->rt = rt;
    s->limits.max_payload = (size_t)rt->cfg->job_max_payload;
    s->limits.max_metadata = (size_t)16 * 1024;
    s->maint = maint_new(rt);
    s->batches = bpump_new(rt, leading_cb, s);
    struct metrics *m = rt->metrics;
    s->m_leader = metrics_series(metrics_family(m, METRIC_GAUGE, "ingot_scheduler_leader",
                                                "1 while this scheduler leads, else 0."), "");
    s->m_changes = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_scheduler_leadership_changes_total",
                                                 "Times this scheduler started or stopped leading."), "");
    s->m_fired = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_schedule_ticks_fired_total",
                                               "Cron ticks fired (one job each)."), "");
    s->m_dup = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_schedule_ticks_duplicate_total",
                                             "Ticks found already fired (by another scheduler)."), "");
    s->m_missed = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_schedule_ticks_missed_total",
                                                "Ticks skipped after downtime (only the latest fires)."), "");
    s->m_errors = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_schedule_errors_total",
                                                "Ticks that could not be fired (retried) or were not fireable."), "");
    metrics_set(s->m_leader, 0);
    struct event_base *base = loop_base(rt->loop);
    s->lead_timer = event_new(base, -1, EV_PERSIST, lead_timer_cb, s);
    s->fire_timer = event_new(base, -1, EV_PERSIST, fire_timer_cb, s);
    s->maint_timer = event_new(base, -1, EV_PERSIST, maint_timer_cb, s);
    struct timeval lead_tv = loop_tv(LEAD_EVERY_MS), fire_tv = loop_tv(FIRE_EVERY_MS),
                   maint_tv = loop_tv(MAINT_EVERY_MS);
    event_add(s->lead_timer, &lead_tv);
    event_add(s->fire_timer, &fire_tv);
    event_add(s->maint_timer, &maint_tv);
    ops_health_extra(ops, health_extra, s);
    loop_on_drain(rt->loop, drain_hook, s);
    loop_add_busy(rt->loop, busy_count, s);
    lead_timer_cb(-1, 0, s);
    return s;
}

void schedule_free(struct schedule *s)
{
    if (!s)
        return;
    event_free(s->lead_timer);
    event_free(s->fire_timer);
    event_free(s->maint_timer);
    due_free(s);
    maint_free(s->maint);
    bpump_free(s->batches);
    free(s);
}
