/* The loop's drain (hooks, busy counters, grace) and end-of-pass freeing,
 * its before-sleep hooks, and the embedded migrations' order. No network. */
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>

#include "../testhelp.h"
#include "db.h"
#include "log.h"
#include "loop.h"
#include "migrate.h"

struct state {
    struct loop *l;
    int hooks;
    size_t busy;
    int freed;
};

static void hook(void *arg)
{
    ((struct state *)arg)->hooks++;
}

static size_t busy(void *arg)
{
    return ((struct state *)arg)->busy;
}

static void finish_work(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct state *s = arg;
    s->busy = 0;
    loop_work_done(s->l);
}

static void counted_free(void *p)
{
    (*(int *)p)++;
}

static void raise_term(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    raise(SIGTERM);
}

static void test_drain(void)
{
    char err[128];
    struct state s = {0};
    s.l = loop_new(err, sizeof err);
    test_cond("loop created", s.l != NULL);
    loop_set_grace(s.l, 5000);
    loop_on_drain(s.l, hook, &s);
    loop_add_busy(s.l, busy, &s);
    s.busy = 1;
    struct event *t = evtimer_new(loop_base(s.l), finish_work, &s);
    struct event *sig = evtimer_new(loop_base(s.l), raise_term, NULL);
    struct timeval zero = {0, 1000}, later = {0, 50000};
    evtimer_add(sig, &zero);
    evtimer_add(t, &later);
    loop_defer_free(s.l, counted_free, &s.freed);
    test_cond("not freed inline", s.freed == 0);
    int64_t t0 = time_mono_ms();
    int rc = loop_run(s.l);
    int64_t ms = time_mono_ms() - t0;
    test_cond("exit code 0", rc == 0);
    test_cond("drain hook ran once", s.hooks == 1);
    test_cond("draining", loop_draining(s.l));
    test_cond("waited for the busy work", ms >= 40);
    test_cond("did not wait for the grace", ms < 4000);
    test_cond("deferred free ran", s.freed == 1);
    event_free(t);
    event_free(sig);
    loop_free(s.l);

    /* Grace: work that never finishes ends at the grace. */
    struct state s2 = {0};
    s2.l = loop_new(err, sizeof err);
    loop_set_grace(s2.l, 100);
    loop_add_busy(s2.l, busy, &s2);
    s2.busy = 3;
    loop_begin_drain(s2.l);
    t0 = time_mono_ms();
    loop_run(s2.l);
    ms = time_mono_ms() - t0;
    test_cond("grace ends a stuck drain", ms >= 90 && ms < 3000);
    loop_free(s2.l);
}

static void test_migrations(void)
{
    test_cond("at least one migration", migrate_embedded_count >= 1);
    test_cond("first is 0001", migrate_embedded[0].version == 1);
    for (size_t i = 1; i < migrate_embedded_count; i++)
        test_cond("versions strictly ascending",
                  migrate_embedded[i].version > migrate_embedded[i - 1].version);
    test_cond("required = highest", migrate_required_version() ==
                                        migrate_embedded[migrate_embedded_count - 1].version);
    test_cond("sql embedded", strstr(migrate_embedded[0].sql, "CREATE TABLE") != NULL);
}

/* db_pool_free: a query queued by a callback it fires fails too (with
 * DB_ERR_SHUTDOWN, before it returns), instead of never running. */
struct pool_free {
    struct db_pool *p;
    int first, second;
    unsigned code;
};

static void pool_second_cb(const struct db_result *r, void *arg)
{
    struct pool_free *d = arg;
    d->second++;
    d->code = r->err_code;
}

static void pool_first_cb(const struct db_result *r, void *arg)
{
    struct pool_free *d = arg;
    (void)r;
    d->first++;
    db_query(d->p, "SELECT 2", 0, pool_second_cb, d);
}

static void test_pool_free(void)
{
    char err[256];
    struct loop *l = loop_new(err, sizeof err);
    struct db_pool_opts o = {.url = "mysql://u:p@127.0.0.1:1/x", .max_connections = 1,
                             .connect_timeout_ms = 1000, .query_timeout_ms = 1000};
    struct pool_free d = {0};
    d.p = db_pool_new(l, NULL, &o, err, sizeof err);
    test_cond("pool created", d.p != NULL);
    if (!d.p) {
        loop_free(l);
        return;
    }
    db_query(d.p, "SELECT 1", 0, pool_first_cb, &d);
    db_pool_free(d.p);
    test_cond("the queued query failed", d.first == 1);
    test_cond("the query its callback queued failed too", d.second == 1 && d.code == DB_ERR_SHUTDOWN);
    loop_free(l);
}

/* A queue flushed before the loop sleeps, as httpd's replies are. */
struct sleepy {
    struct loop *l;
    int queued, flushed, passes, refill, stop_after;
    struct event *tick;
    int ticks;
};

static bool sleepy_flush(void *arg)
{
    struct sleepy *s = arg;
    s->passes++;
    if (!s->queued)
        return false;
    s->flushed += s->queued;
    s->queued = 0;
    if (s->refill > 0) { /* its own work queues more: it runs again before the wait */
        s->refill--;
        s->queued = 1;
    }
    if (s->stop_after && s->flushed >= s->stop_after)
        loop_stop(s->l, 7); /* from a hook: not lost by the next pass */
    return true;
}

static void sleepy_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sleepy *s = arg;
    s->ticks++;
    s->queued += 2; /* queued inside a pass */
    if (s->ticks < 3) {
        struct timeval tv = loop_tv(5);
        evtimer_add(s->tick, &tv);
    }
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop_stop(arg, 0);
}

static void test_before_sleep(void)
{
    char err[128];
    struct sleepy s = {0};
    s.l = loop_new(err, sizeof err);
    loop_before_sleep(s.l, sleepy_flush, &s);
    s.tick = evtimer_new(loop_base(s.l), sleepy_tick, &s);
    s.queued = 5;     /* queued before loop_run: flushed before the first wait */
    s.refill = 2;
    s.stop_after = 5 + 2 + 6;
    struct timeval tv = loop_tv(5);
    evtimer_add(s.tick, &tv);
    int rc = loop_run(s.l);
    test_cond("before sleep: what was queued before the loop ran is flushed, and what the flush queued",
              s.flushed >= 7);
    test_cond("before sleep: each pass's queue is flushed", s.ticks == 3 && s.flushed == 13 && s.queued == 0);
    test_cond("before sleep: loop_stop from a hook ends the loop", rc == 7);
    loop_before_sleep_remove(s.l, sleepy_flush, &s);
    int passes = s.passes;
    s.queued = 1;
    s.ticks = 3; /* one more tick, which re-arms nothing */
    evtimer_add(s.tick, &tv);
    struct event *stop = evtimer_new(loop_base(s.l), stop_loop, s.l);
    struct timeval later = loop_tv(30);
    evtimer_add(stop, &later);
    loop_run(s.l);
    event_free(stop);
    test_cond("before sleep: a removed hook runs no more", s.passes == passes && s.queued == 3 && s.ticks == 4);
    event_free(s.tick);
    loop_free(s.l);
}

int main(void)
{
    log_setup(LOG_OFF, false);
    test_before_sleep();
    test_drain();
    test_migrations();
    test_pool_free();
    test_report();
}
