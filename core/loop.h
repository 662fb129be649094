/* loop: the process's libevent base, its signals, graceful drain, and
 * end-of-pass freeing (objects released after the current callbacks ran,
 * so no callback of this pass touches freed memory). */
#ifndef INGOT_LOOP_H
#define INGOT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>

#include "util.h"

struct event_base;
struct evdns_base;
struct loop;

typedef void (*loop_fn)(void *arg);
/* How much work a component still has in flight (0 = may exit). */
typedef size_t (*loop_busy_fn)(void *arg);

/* Milliseconds as the timeval libevent takes (every timer uses this). */
struct timeval loop_tv(long long ms);

/* Returns owned; NULL with a message in err when libevent fails. */
struct loop *loop_new(char *err, size_t errlen);
void loop_free(struct loop *l);
struct event_base *loop_base(struct loop *l);
/* The async resolver, created on first use (NULL if it cannot be). */
struct evdns_base *loop_dns(struct loop *l);

/* Resolves host off the loop (evdns reads resolv.conf and hosts itself,
 * no NSS; see netname.h). IP literals and the localhost names (127.0.0.1)
 * answer inline; without a nameserver any other name fails on the next
 * pass unless the hosts file has it. fn gets the first address as text, or
 * NULL and a reason. Returns a handle for loop_resolve_cancel, or NULL
 * when fn already ran. */
typedef void (*loop_resolve_fn)(const char *ip, const char *err, void *arg);
struct loop_resolve;
struct loop_resolve *loop_resolve(struct loop *l, const char *host, loop_resolve_fn fn,
                                  void *arg);
/* fn will not run. */
void loop_resolve_cancel(struct loop_resolve *r);

/* On SIGTERM/SIGINT: every drain hook runs once (stop accepting, stop
 * claiming), then the loop ends as soon as every busy counter reads 0, or
 * when grace_ms has passed. A second signal ends it at once. */
void loop_set_grace(struct loop *l, long long grace_ms);
void loop_on_drain(struct loop *l, loop_fn fn, void *arg);
void loop_add_busy(struct loop *l, loop_busy_fn fn, void *arg);
/* Components call this when their in-flight count dropped. Cheap. */
void loop_work_done(struct loop *l);
bool loop_draining(const struct loop *l);
/* Starts the drain as a signal would (tests, fatal conditions). */
void loop_begin_drain(struct loop *l);

/* Frees p with fn after the current pass. Takes ownership of p. */
void loop_defer_free(struct loop *l, loop_fn fn, void *p);

/* Runs until drained or stopped; returns the exit code that was set. */
int loop_run(struct loop *l);
/* Inside loop_run: a callback made active now will run. Outside it (after
 * a stop, at shutdown) work must be done at once. */
bool loop_running(const struct loop *l);
/* Ends the loop at once with this exit code (e.g. EXIT_CONFIG). */
void loop_stop(struct loop *l, int exit_code);

#endif
