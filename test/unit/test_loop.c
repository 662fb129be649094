/* The loop's drain (hooks, busy counters, grace) and end-of-pass freeing,
 * and the embedded migrations' order. No network. */
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

static bool running_seen;

static void finish_work(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct state *s = arg;
    running_seen = loop_running(s->l);
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
    test_cond("not running before loop_run", !loop_running(s.l));
    int rc = loop_run(s.l);
    int64_t ms = time_mono_ms() - t0;
    test_cond("running inside loop_run, not after", running_seen && !loop_running(s.l));
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

int main(void)
{
    log_setup(LOG_OFF, false);
    test_drain();
    test_migrations();
    test_pool_free();
    test_report();
}
