#include "httpd_write.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpd_req.h"
#include "loop.h"

void httpd_write_forget(struct conn *c)
{
    struct httpd *h = c->h;
    if (!c->write_queued)
        return;
    c->write_queued = false;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        h->wqueue = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
}

static void write_now(struct conn *c);

/* Writing is off already after the connection's first reply: disabling it
 * again is a libevent call per reply for nothing. */
static void write_off(struct conn *c)
{
    if (bufferevent_get_enabled(c->bev) & EV_WRITE)
        bufferevent_disable(c->bev, EV_WRITE);
}

void httpd_write_queue(struct conn *c)
{
    if (!loop_running(c->h->loop)) { /* no callback will run: at shutdown, say */
        write_now(c);
        return;
    }
    /* The bufferevent would write the reply itself (its output's growth
     * asked for EPOLLOUT): only the flush writes, or a stale turn of the
     * queue could move the connection on with its reply unsent. */
    write_off(c);
    if (c->write_queued)
        return;
    c->write_queued = true;
    c->wprev = NULL;
    c->wnext = c->h->wqueue;
    if (c->wnext)
        c->wnext->wprev = c;
    else /* the first: behind the callbacks ready now (a no-op if active) */
        event_active(c->h->wflush, EV_TIMEOUT, 0);
    c->h->wqueue = c;
}

/* The write callback runs from the loop either way (deferred), never
 * inside the handler that replied. */
static void write_now(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->reply.len) {
        const char *p = c->reply.data;
        size_t n = c->reply.len, done = 0;
        if (evbuffer_get_length(out) == 0) {
            ssize_t w = write(c->fd, p, n); /* SIGPIPE is ignored (loop_new) */
            done = w > 0 ? (size_t)w : 0;
        }
        if (done < n) /* the rest (or an error) as the bufferevent would meet it */
            evbuffer_add(out, p + done, n - done);
        sbuf_reset(&c->reply);
    } else {
        evbuffer_unfreeze(out, 1); /* the bufferevent keeps its start frozen */
        (void)evbuffer_write(out, c->fd);
        evbuffer_freeze(out, 1);
    }
    if (evbuffer_get_length(out) == 0) {
        write_off(c); /* cancels the add the output's growth asked for */
        bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
        return;
    }
    bufferevent_enable(c->bev, EV_WRITE); /* the rest as the socket drains (errors too) */
}

void httpd_write_hold(struct conn *c, const char *data, size_t len)
{
    sbuf_reset(&c->reply);
    sbuf_append(&c->reply, data, len);
}

void httpd_write_continue(struct conn *c)
{
    bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    bufferevent_enable(c->bev, EV_WRITE);
}

void httpd_write_flush(struct httpd *h)
{
    while (h->wqueue) {
        struct conn *c = h->wqueue;
        httpd_write_forget(c);
        write_now(c);
    }
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    httpd_write_flush(arg);
}

void httpd_write_start(struct httpd *h)
{
    h->wflush = event_new(loop_base(h->loop), -1, 0, flush_cb, h);
    if (!h->wflush)
        abort();
}

void httpd_write_stop(struct httpd *h)
{
    if (h->wflush)
        event_free(h->wflush);
    h->wflush = NULL;
}
