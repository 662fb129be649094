/* The listener of the HTTP server: bind, accept under HTTP_MAX_CONNECTIONS
 * (beyond it a canned 503 and close), and a pause with back-off when
 * accept() runs out of descriptors instead of a busy loop. */
#include "httpd_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd_req.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "netname.h"

#define ACCEPT_BACKOFF_MIN_MS 10
#define ACCEPT_BACKOFF_MAX_MS 1000

/* Over HTTP_MAX_CONNECTIONS: a canned 503 and close, without a struct. */
static void reject_conn(struct httpd *h, evutil_socket_t fd)
{
    static const char body[] =
        "{\"error\":{\"message\":\"too many connections; retry shortly\","
        "\"type\":\"server_error\",\"param\":null,\"code\":\"too_many_connections\"}}";
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
    char sink[4096];
    (void)!recv(fd, sink, sizeof sink, MSG_DONTWAIT); /* what already came: no RST */
    (void)!send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    evutil_closesocket(fd);
    metrics_add(h->rejected_series, 1);
    unsigned long long dropped;
    if (log_limit_allow(&h->reject_log, &dropped))
        log_warn("refused a connection: %zu open, HTTP_MAX_CONNECTIONS is %zu (%llu more refused "
                 "since the last line)", h->nconns, h->max_conns, dropped);
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lev;
    (void)salen;
    struct httpd *h = arg;
    h->accept_backoff_ms = ACCEPT_BACKOFF_MIN_MS;
    if (h->nconns >= h->max_conns || h->draining) {
        reject_conn(h, fd);
        return;
    }
    httpd_conn_open(h, fd, sa);
}

static void accept_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct httpd *h = arg;
    if (h->listener && !h->draining)
        evconnlistener_enable(h->listener);
}

/* accept() failed. Out of descriptors the pending connection stays in the
 * backlog and the listener would fire again at once (a busy loop): pause
 * accepting and retry from a timer with back-off, as memcached and nginx do. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    struct httpd *h = arg;
    int err = EVUTIL_SOCKET_ERROR();
    bool exhausted = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
    unsigned long long dropped;
    bool say = log_limit_allow(&h->accept_log, &dropped);
    if (exhausted) {
        evconnlistener_disable(lev);
        metrics_add(h->paused_series, 1);
        struct timeval tv = loop_tv(h->accept_backoff_ms);
        evtimer_add(h->accept_timer, &tv);
        if (say)
            log_warn("accept: %s with %zu connections open; pausing accepts for %lld ms (%llu "
                     "similar lines suppressed)", evutil_socket_error_to_string(err), h->nconns,
                     h->accept_backoff_ms, dropped);
        h->accept_backoff_ms *= 2;
        if (h->accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
            h->accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
    } else if (say) {
        log_warn("accept: %s (%llu similar lines suppressed)", evutil_socket_error_to_string(err),
                 dropped);
    }
}

void httpd_listen_init(struct httpd *h)
{
    h->accept_backoff_ms = ACCEPT_BACKOFF_MIN_MS;
    h->accept_log = (struct log_limit)LOG_LIMIT_INIT(10000, 5);
    h->reject_log = (struct log_limit)LOG_LIMIT_INIT(10000, 5);
    h->accept_timer = evtimer_new(loop_base(h->loop), accept_timer_cb, h);
    if (!h->accept_timer)
        abort();
}

void httpd_listen_close(struct httpd *h, bool free_timer)
{
    if (h->listener)
        evconnlistener_free(h->listener);
    h->listener = NULL;
    if (!h->accept_timer)
        return;
    event_del(h->accept_timer);
    if (free_timer) {
        event_free(h->accept_timer);
        h->accept_timer = NULL;
    }
}

int httpd_listen(struct httpd *h, const char *host, int port, char *err, size_t errlen)
{
    struct evutil_addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    /* HOST=localhost binds loopback without /etc/hosts. */
    int gai = evutil_getaddrinfo(netname_is_localhost(host) ? NETNAME_LOOPBACK : host, portstr,
                                 &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, evutil_gai_strerror(gai));
        return -1;
    }
    h->listener = evconnlistener_new_bind(
        loop_base(h->loop), accept_cb, h,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511, ai->ai_addr,
        (int)ai->ai_addrlen);
    evutil_freeaddrinfo(ai);
    if (!h->listener) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    evconnlistener_set_error_cb(h->listener, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(h->listener), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}
