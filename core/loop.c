#include "loop.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netname.h"
#include "url.h"

struct hook {
    loop_fn fn;
    void *arg;
};

struct busy {
    loop_busy_fn fn;
    void *arg;
};

struct deferred {
    loop_fn fn;
    void *p;
    struct deferred *next;
};

struct loop {
    struct event_base *base;
    struct evdns_base *dns;
    struct event *sig_term, *sig_int;
    struct event *grace_timer;
    struct event *check_ev;   /* re-checks drain completion after a pass */
    struct event *reaper_ev;  /* frees the deferred list after a pass */
    struct hook hooks[16];
    size_t nhooks;
    struct busy busies[16];
    size_t nbusy;
    struct deferred *deferred;
    size_t resolving;         /* loop_resolve objects evdns still owes an answer */
    long long grace_ms;
    bool draining;
    bool running;             /* inside loop_run */
    int exit_code;
    int signals_seen;
};

struct timeval loop_tv(long long ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    while (l->deferred) {
        struct deferred *d = l->deferred;
        l->deferred = d->next;
        d->fn(d->p);
        free(d);
    }
}

static size_t busy_total(struct loop *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->nbusy; i++)
        n += l->busies[i].fn(l->busies[i].arg);
    return n;
}

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    if (l->draining && busy_total(l) == 0) {
        log_info("drained: no work in flight, exiting");
        event_base_loopbreak(l->base);
    }
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop *l = arg;
    log_warn("shutdown grace of %lldms over with %zu still in flight; exiting", l->grace_ms,
             busy_total(l));
    event_base_loopbreak(l->base);
}

void loop_begin_drain(struct loop *l)
{
    if (l->draining)
        return;
    l->draining = true;
    for (size_t i = 0; i < l->nhooks; i++)
        l->hooks[i].fn(l->hooks[i].arg);
    struct timeval tv = loop_tv(l->grace_ms);
    evtimer_add(l->grace_timer, &tv);
    event_active(l->check_ev, EV_TIMEOUT, 0);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct loop *l = arg;
    l->signals_seen++;
    if (l->signals_seen > 1) {
        log_warn("second signal: exiting without waiting for in-flight work");
        event_base_loopbreak(l->base);
        return;
    }
    log_info("%s received: draining (grace %lldms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             l->grace_ms);
    loop_begin_drain(l);
}

struct loop *loop_new(char *err, size_t errlen)
{
    struct loop *l = xcalloc(1, sizeof *l);
    /* A peer closing a socket must be an error return, not a dead process. */
    signal(SIGPIPE, SIG_IGN);
    /* The changelist folds the add/remove pairs evhttp makes on every
     * request into one epoll_ctl per socket and loop pass. */
    struct event_config *ec = event_config_new();
    if (ec)
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    l->base = ec ? event_base_new_with_config(ec) : NULL;
    if (ec)
        event_config_free(ec);
    if (!l->base)
        l->base = event_base_new();
    if (!l->base) {
        snprintf(err, errlen, "libevent: cannot create event base");
        free(l);
        return NULL;
    }
    l->grace_ms = 30000;
    l->sig_term = evsignal_new(l->base, SIGTERM, signal_cb, l);
    l->sig_int = evsignal_new(l->base, SIGINT, signal_cb, l);
    l->grace_timer = evtimer_new(l->base, grace_cb, l);
    l->check_ev = event_new(l->base, -1, 0, check_cb, l);
    l->reaper_ev = event_new(l->base, -1, 0, reaper_cb, l);
    if (!l->sig_term || !l->sig_int || !l->grace_timer || !l->check_ev || !l->reaper_ev ||
        evsignal_add(l->sig_term, NULL) < 0 || evsignal_add(l->sig_int, NULL) < 0) {
        snprintf(err, errlen, "libevent: cannot set up signals and timers");
        loop_free(l);
        return NULL;
    }
    return l;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    reaper_cb(-1, 0, l);
    struct event *evs[] = {l->sig_term, l->sig_int, l->grace_timer, l->check_ev, l->reaper_ev};
    for (size_t i = 0; i < ARRAY_LEN(evs); i++)
        if (evs[i])
            event_free(evs[i]);
    /* A cancelled look-up is answered on a later pass (evdns defers it),
     * which event_base_free would drop with its memory: give it that pass,
     * now that the loop's own events are gone. */
    if (l->resolving)
        event_base_loop(l->base, EVLOOP_NONBLOCK);
    if (l->dns)
        evdns_base_free(l->dns, 1);
    if (l->base)
        event_base_free(l->base);
    free(l);
}

struct event_base *loop_base(struct loop *l)
{
    return l->base;
}

struct evdns_base *loop_dns(struct loop *l)
{
    if (!l->dns)
        l->dns = netname_evdns_new(l->base);
    return l->dns;
}

void loop_set_grace(struct loop *l, long long grace_ms)
{
    l->grace_ms = grace_ms;
}

void loop_on_drain(struct loop *l, loop_fn fn, void *arg)
{
    if (l->nhooks >= ARRAY_LEN(l->hooks))
        abort(); /* a fixed, small number of components register */
    l->hooks[l->nhooks++] = (struct hook){fn, arg};
}

void loop_add_busy(struct loop *l, loop_busy_fn fn, void *arg)
{
    if (l->nbusy >= ARRAY_LEN(l->busies))
        abort();
    l->busies[l->nbusy++] = (struct busy){fn, arg};
}

void loop_work_done(struct loop *l)
{
    if (l->draining)
        event_active(l->check_ev, EV_TIMEOUT, 0);
}

bool loop_draining(const struct loop *l)
{
    return l->draining;
}

void loop_defer_free(struct loop *l, loop_fn fn, void *p)
{
    struct deferred *d = xmalloc(sizeof *d);
    d->fn = fn;
    d->p = p;
    d->next = l->deferred;
    l->deferred = d;
    event_active(l->reaper_ev, EV_TIMEOUT, 0);
}

bool loop_running(const struct loop *l)
{
    return l->running;
}

int loop_run(struct loop *l)
{
    l->running = true;
    event_base_dispatch(l->base);
    l->running = false;
    reaper_cb(-1, 0, l);
    return l->exit_code;
}

void loop_stop(struct loop *l, int exit_code)
{
    l->exit_code = exit_code;
    event_base_loopbreak(l->base);
}

struct loop_resolve {
    struct evdns_getaddrinfo_request *req;
    struct loop *l;
    loop_resolve_fn fn;     /* NULL once the caller cancelled */
    void *arg;
    bool no_nameserver;     /* cancelled by us: only the hosts file could answer */
    char host[256];
};

static void resolve_cb(int result, struct evutil_addrinfo *ai, void *arg)
{
    struct loop_resolve *r = arg;
    /* Cancelled by the caller; or by us (no nameserver), then reported. */
    if (!r->fn || (result == EVUTIL_EAI_CANCEL && !r->no_nameserver)) {
        if (ai)
            evutil_freeaddrinfo(ai);
        r->l->resolving--;
        free(r);
        return;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    if (result == 0 && ai) {
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, ip, sizeof ip);
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, ip,
                      sizeof ip);
    }
    if (ai)
        evutil_freeaddrinfo(ai);
    loop_resolve_fn fn = r->fn;
    void *farg = r->arg;
    char err[400];
    if (r->no_nameserver)
        netname_no_nameserver(r->host, err, sizeof err);
    else
        snprintf(err, sizeof err, "cannot resolve %s: %s", r->host,
                 result ? evutil_gai_strerror(result) : "no address");
    r->l->resolving--;
    free(r);
    if (*ip)
        fn(ip, NULL, farg);
    else
        fn(NULL, err, farg);
}

struct loop_resolve *loop_resolve(struct loop *l, const char *host, loop_resolve_fn fn, void *arg)
{
    if (netname_is_localhost(host)) {
        fn(NETNAME_LOOPBACK, NULL, arg);
        return NULL;
    }
    if (url_host_is_ip(host)) {
        fn(host, NULL, arg);
        return NULL;
    }
    struct evdns_base *dns = loop_dns(l);
    if (!dns) {
        fn(NULL, "async resolver unavailable", arg);
        return NULL;
    }
    struct loop_resolve *r = xcalloc(1, sizeof *r);
    r->l = l;
    l->resolving++;
    r->fn = fn;
    r->arg = arg;
    snprintf(r->host, sizeof r->host, "%s", host);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    bool no_ns = evdns_base_count_nameservers(dns) == 0;
    struct evdns_getaddrinfo_request *req = evdns_getaddrinfo(dns, host, NULL, &hints, resolve_cb, r);
    if (!req)
        return NULL; /* resolve_cb already ran and freed r (the hosts file answered) */
    r->req = req;
    if (no_ns) {
        /* Without a nameserver the query would wait for ever: stop it;
         * resolve_cb then reports why, on a later pass. */
        r->no_nameserver = true;
        evdns_getaddrinfo_cancel(req);
    }
    return r;
}

void loop_resolve_cancel(struct loop_resolve *r)
{
    if (r->no_nameserver) {
        r->fn = NULL; /* already cancelled: only silence the report */
        return;
    }
    /* resolve_cb runs with EVUTIL_EAI_CANCEL and frees r. */
    evdns_getaddrinfo_cancel(r->req);
}
