#include "redis.h"

#include <async.h>
#include <adapters/libevent.h>
#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "url.h"

struct rcmd {
    struct redis_client *rc;
    redis_reply_cb cb;
    void *arg;
    struct event *timer;
    bool delivered;        /* cb already ran (deadline); hiredis still owes us */
    bool handshake;        /* internal command of the handshake */
    bool last_handshake;   /* its reply makes the connection ready */
};

struct redis_client {
    struct loop *loop;
    struct event_base *base;
    struct redis_dsn dsn;
    enum redis_state state;
    unsigned long ready_count; /* times it became ready: a reconnect is seen even between two looks */
    redisAsyncContext *ac;
    struct loop_resolve *dns_req;
    struct event *backoff_timer;
    struct event *reset_ev;      /* drops the connection outside hiredis callbacks */
    long long backoff_ms;
    long long timeout_ms;
    char last_error[256];
    struct metric_series *m_up, *m_errors;
    char *sub_channel;
    redis_message_cb sub_cb;
    void *sub_arg;
};

static void start_subscription(struct redis_client *rc);

static void rc_connect(struct redis_client *rc);

const char *redis_state_text(enum redis_state s)
{
    static const char *const names[] = {"disabled",   "down",      "resolving",
                                        "connecting", "handshake", "ready"};
    return names[s];
}

static void set_state(struct redis_client *rc, enum redis_state s)
{
    if (s == REDIS_READY && rc->state != REDIS_READY)
        rc->ready_count++;
    rc->state = s;
    if (rc->m_up)
        metrics_set(rc->m_up, s == REDIS_READY ? 1 : 0);
}

static void schedule_reconnect(struct redis_client *rc)
{
    set_state(rc, REDIS_DOWN);
    rc->backoff_ms = rc->backoff_ms ? rc->backoff_ms * 2 : 100;
    if (rc->backoff_ms > 5000)
        rc->backoff_ms = 5000;
    struct timeval tv = loop_tv(rc->backoff_ms);
    evtimer_add(rc->backoff_timer, &tv);
}

static void note_error(struct redis_client *rc, const char *what, const char *msg)
{
    bool was_ready = rc->state == REDIS_READY;
    snprintf(rc->last_error, sizeof rc->last_error, "%s: %s", what, msg ? msg : "unknown");
    if (rc->m_errors)
        metrics_add(rc->m_errors, 1);
    if (was_ready || rc->backoff_ms == 0)
        log_warn("redis %s", rc->last_error);
    else
        log_debug("redis %s", rc->last_error);
}

/* Frees the context; pending hiredis callbacks run with NULL replies. */
static void drop_connection(struct redis_client *rc)
{
    redisAsyncContext *ac = rc->ac;
    rc->ac = NULL;
    if (ac) {
        ac->data = NULL; /* our disconnect callback ignores this context now */
        redisAsyncFree(ac);
    }
}

static void reset_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct redis_client *rc = arg;
    if (!rc->ac && evtimer_pending(rc->backoff_timer, NULL))
        return; /* hiredis already reported the disconnect */
    drop_connection(rc);
    schedule_reconnect(rc);
}

/* Connection is bad: drop it from the loop, not from inside hiredis. */
static void request_reset(struct redis_client *rc, const char *what, const char *msg)
{
    if (rc->state == REDIS_DOWN)
        return;
    note_error(rc, what, msg);
    set_state(rc, REDIS_DOWN);
    event_active(rc->reset_ev, EV_TIMEOUT, 0);
}

static void cmd_free(struct rcmd *c)
{
    event_free(c->timer);
    free(c);
}

static void cmd_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct rcmd *c = privdata;
    struct redis_client *rc = c->rc;
    redisReply *reply = r;
    evtimer_del(c->timer);
    if (c->delivered) {
        cmd_free(c);
        return;
    }
    c->delivered = true;
    if (c->handshake) {
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            const char *msg = reply ? reply->str : (rc->ac && rc->ac->errstr[0] ? rc->ac->errstr : "connection lost");
            request_reset(rc, "handshake", msg);
        } else if (c->last_handshake && rc->state == REDIS_HANDSHAKE) {
            if (rc->backoff_ms)
                log_info("redis connection ready again");
            rc->backoff_ms = 0;
            rc->last_error[0] = '\0';
            set_state(rc, REDIS_READY);
            if (rc->sub_channel)
                start_subscription(rc);
        }
        cmd_free(c);
        return;
    }
    if (!reply)
        c->cb(NULL, "redis connection lost", c->arg);
    else
        c->cb(reply, NULL, c->arg);
    cmd_free(c);
}

static void cmd_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct rcmd *c = arg;
    struct redis_client *rc = c->rc;
    /* hiredis still holds c and will call back on reply or disconnect. */
    c->delivered = true;
    if (!c->handshake)
        c->cb(NULL, "redis command timed out", c->arg);
    request_reset(rc, "timeout", "no reply within deadline (stalled?)");
}

static int send_cmd(struct redis_client *rc, struct rcmd *c, int argc, const char **argv,
                    const size_t *argvlen, long long timeout_ms)
{
    c->rc = rc;
    c->timer = evtimer_new(rc->base, cmd_timeout_cb, c);
    if (!c->timer)
        abort();
    if (redisAsyncCommandArgv(rc->ac, cmd_reply_cb, c, argc, argv, argvlen) != REDIS_OK) {
        cmd_free(c);
        return -1;
    }
    struct timeval tv = loop_tv(timeout_ms > 0 ? timeout_ms : rc->timeout_ms);
    evtimer_add(c->timer, &tv);
    return 0;
}

int redis_cmd(struct redis_client *rc, int argc, const char **argv, const size_t *argvlen,
              long long timeout_ms, redis_reply_cb cb, void *arg)
{
    if (rc->state != REDIS_READY || !rc->ac)
        return -1;
    struct rcmd *c = xcalloc(1, sizeof *c);
    c->cb = cb;
    c->arg = arg;
    return send_cmd(rc, c, argc, argv, argvlen, timeout_ms);
}

static void handshake_cmd(struct redis_client *rc, int argc, const char **argv, bool last)
{
    struct rcmd *c = xcalloc(1, sizeof *c);
    c->handshake = true;
    c->last_handshake = last;
    if (send_cmd(rc, c, argc, argv, NULL, 0) < 0)
        request_reset(rc, "handshake", "cannot send");
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
    struct redis_client *rc = ac->data;
    if (!rc)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        rc->ac = NULL;
        note_error(rc, "connect", ac->errstr);
        schedule_reconnect(rc);
        return;
    }
    set_state(rc, REDIS_HANDSHAKE);
    if (rc->dsn.password) {
        if (rc->dsn.user) {
            const char *a[] = {"AUTH", rc->dsn.user, rc->dsn.password};
            handshake_cmd(rc, 3, a, false);
        } else {
            const char *a[] = {"AUTH", rc->dsn.password};
            handshake_cmd(rc, 2, a, false);
        }
    }
    if (rc->dsn.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", rc->dsn.db);
        const char *a[] = {"SELECT", db};
        handshake_cmd(rc, 2, a, false);
    }
    const char *ping[] = {"PING"};
    handshake_cmd(rc, 1, ping, true);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct redis_client *rc = ac->data;
    if (!rc)
        return; /* a context we dropped on purpose */
    rc->ac = NULL; /* hiredis frees it after this callback */
    note_error(rc, "disconnected", status == REDIS_OK ? "closed" : ac->errstr);
    schedule_reconnect(rc);
}

static void rc_connect_to(struct redis_client *rc, const char *ip)
{
    redisAsyncContext *ac = rc->dsn.socket ? redisAsyncConnectUnix(rc->dsn.socket)
                                           : redisAsyncConnect(ip, rc->dsn.port);
    if (!ac) {
        note_error(rc, "connect", "out of memory");
        schedule_reconnect(rc);
        return;
    }
    if (ac->err) {
        note_error(rc, "connect", ac->errstr);
        redisAsyncFree(ac);
        schedule_reconnect(rc);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    set_state(rc, REDIS_CONNECTING);
    if (redisLibeventAttach(ac, rc->base) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, connect_cb) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, disconnect_cb) != REDIS_OK) {
        note_error(rc, "connect", "cannot attach to the event loop");
        drop_connection(rc);
        schedule_reconnect(rc);
        return;
    }
    /* connect_cb sends the handshake; its PING times out like any command,
     * so a stalled server whose kernel still accepts connections is caught. */
}

static void resolved_cb(const char *ip, const char *err, void *arg)
{
    struct redis_client *rc = arg;
    rc->dns_req = NULL;
    if (!ip) {
        note_error(rc, "resolve", err);
        schedule_reconnect(rc);
        return;
    }
    rc_connect_to(rc, ip);
}

static void rc_connect(struct redis_client *rc)
{
    if (rc->dsn.socket) {
        rc_connect_to(rc, NULL);
        return;
    }
    set_state(rc, REDIS_RESOLVING);
    rc->dns_req = loop_resolve(rc->loop, rc->dsn.host, resolved_cb, rc);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rc_connect(arg);
}

/* Every message of the subscription lands here (no deadline: it is a
 * stream). The reply is ["message", channel, payload]. */
static void subscription_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    struct redis_client *rc = privdata;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    const redisReply *kind = reply->element[0], *payload = reply->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "message") == 0 &&
        payload->type == REDIS_REPLY_STRING && rc->sub_cb)
        rc->sub_cb(payload->str, payload->len, rc->sub_arg);
}

static void start_subscription(struct redis_client *rc)
{
    const char *argv[] = {"SUBSCRIBE", rc->sub_channel};
    if (!rc->ac || redisAsyncCommandArgv(rc->ac, subscription_cb, rc, 2, argv, NULL) != REDIS_OK)
        request_reset(rc, "subscribe", "cannot send SUBSCRIBE");
}

void redis_subscribe(struct redis_client *rc, const char *channel, redis_message_cb cb, void *arg)
{
    free(rc->sub_channel);
    rc->sub_channel = xstrdup(channel);
    rc->sub_cb = cb;
    rc->sub_arg = arg;
    if (rc->state == REDIS_READY)
        start_subscription(rc);
}

static void publish_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)reply;
    (void)err;
    (void)arg;
}

void redis_publish(struct redis_client *rc, const char *channel, const char *payload)
{
    const char *argv[] = {"PUBLISH", channel, payload};
    if (redis_cmd(rc, 3, argv, NULL, 0, publish_cb, NULL) < 0)
        return; /* Redis down: workers poll */
}

struct redis_client *redis_client_new(struct loop *l, struct metrics *m, const char *url,
                                      long long timeout_ms, char *err, size_t errlen)
{
    struct redis_client *rc = xcalloc(1, sizeof *rc);
    rc->loop = l;
    rc->base = loop_base(l);
    rc->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
    rc->backoff_timer = evtimer_new(rc->base, backoff_cb, rc);
    rc->reset_ev = event_new(rc->base, -1, 0, reset_cb, rc);
    if (!rc->backoff_timer || !rc->reset_ev)
        abort();
    if (m) {
        rc->m_up = metrics_series(metrics_family(m, METRIC_GAUGE, "ingot_redis_up",
                                                 "1 when the Redis connection is ready."),
                                  "");
        rc->m_errors = metrics_series(metrics_family(m, METRIC_COUNTER, "ingot_redis_errors_total",
                                                     "Redis connection failures and timeouts."),
                                      "");
    }
    if (!url || !*url) {
        set_state(rc, REDIS_DISABLED);
        return rc;
    }
    if (redis_dsn_parse(url, &rc->dsn, err, errlen) < 0) {
        redis_client_free(rc);
        return NULL;
    }
    rc_connect(rc);
    return rc;
}

void redis_client_free(struct redis_client *rc)
{
    if (!rc)
        return;
    if (rc->dns_req)
        loop_resolve_cancel(rc->dns_req);
    rc->state = REDIS_DOWN; /* pending callbacks must not schedule anything */
    drop_connection(rc);
    event_free(rc->backoff_timer);
    event_free(rc->reset_ev);
    redis_dsn_deinit(&rc->dsn);
    free(rc->sub_channel);
    free(rc);
}

unsigned long redis_ready_count(const struct redis_client *rc)
{
    return rc ? rc->ready_count : 0;
}

enum redis_state redis_state(const struct redis_client *rc)
{
    return rc ? rc->state : REDIS_DISABLED;
}

const char *redis_last_error(const struct redis_client *rc)
{
    return rc->last_error;
}
