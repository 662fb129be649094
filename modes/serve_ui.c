/* The web UI's assets and its event stream (serve_ui.h). */
#include "serve_ui.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "dlist.h"
#include "httpd.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "runtime.h"
#include "serve_session.h"
#include "session.h"
#include "util.h"

/* Events are sent at most this often (a burst of ends is one event). */
#define UI_EVENT_COALESCE_MS 250
/* A comment line this often keeps proxies from closing an idle stream;
 * the same tick ends streams whose access token expired (the page's
 * EventSource reconnects after its refresh). */
#define UI_EVENT_PING_MS 15000
/* A client this far behind is dropped (it reconnects and re-reads). */
#define UI_EVENT_BACKLOG_MAX ((size_t)64 * 1024)
/* A stream's session is checked when it opens and then this often, one
 * query for every stream of the process: a session logged out, logged out
 * everywhere or whose API key was revoked loses its stream within this
 * (not a query per event per subscriber). */
#define UI_EVENT_RECHECK_MS 5000
/* Streams per process and per session (a browser opens one per tab):
 * each holds a connection and its send buffer (up to the backlog above). */
#define UI_EVENT_CLIENTS_MAX 1000
#define UI_EVENT_SESSION_MAX 8

#define UI_CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "     \
               "frame-ancestors 'none'"

struct ui_client {
    struct serve_ui *u;
    struct http_req *r;
    int64_t exp;          /* the access token's expiry (epoch s) */
    uint64_t sid;         /* its session */
    bool gone;
    bool checking;        /* in the session check under way */
    struct ui_client *prev, *next;
};

struct serve_ui {
    struct runtime *rt;
    bool https;
    bool on;                          /* JWT_SECRET set: sessions exist */
    char (*etags)[24];                /* per asset: FNV-1a of its bytes */
    struct ui_client *clients;
    struct redis_client *done_sub, *jobs_sub;
    struct event *coalesce, *ping, *recheck;
    bool pend_done, pend_enqueued;
    bool rechecking;                  /* a session check is under way */
};

void serve_ui_headers(struct http_req *r, int https)
{
    http_add_header(r, "Content-Security-Policy", UI_CSP);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_add_header(r, "Referrer-Policy", "same-origin");
    http_add_header(r, "X-Frame-Options", "DENY");
    if (https)
        http_add_header(r, "Strict-Transport-Security", "max-age=31536000");
}

/* --- assets --- */

static void redirect_route(struct http_req *r, void *arg)
{
    struct serve_ui *u = arg;
    serve_ui_headers(r, u->https);
    http_add_header(r, "Location", "/ui/");
    http_reply(r, 302, "text/plain", "", 0);
}

static void asset_reply(struct serve_ui *u, struct http_req *r, size_t i)
{
    serve_ui_headers(r, u->https);
    http_add_header(r, "ETag", u->etags[i]);
    /* revalidated each time (cheap: 304), so a new binary's UI shows at once */
    http_add_header(r, "Cache-Control", "no-cache");
    const char *inm = http_req_header(r, "If-None-Match");
    int status = inm && strstr(inm, u->etags[i]) ? 304 : 200;
    http_reply(r, status, ui_assets[i].content_type, ui_assets[i].data, ui_assets[i].len);
}

static void index_route(struct http_req *r, void *arg)
{
    struct serve_ui *u = arg;
    for (size_t i = 0; i < ui_assets_count; i++)
        if (strcmp(ui_assets[i].name, "index.html") == 0) {
            asset_reply(u, r, i);
            return;
        }
    http_reply_error(r, 404, "invalid_request_error", NULL, "not_found", "this binary has no UI");
}

/* Which login the page offers (no secret: what /auth/login answers tells as much). */
static void methods_reply(struct serve_ui *u, struct http_req *r)
{
    const struct config *cfg = u->rt->cfg;
    bool oidc = u->on && cfg->oauth_server_url[0];
    char body[64];
    int n = snprintf(body, sizeof body, "{\"oidc\":%s,\"api_key\":%s}", oidc ? "true" : "false",
                     u->on && !oidc ? "true" : "false");
    serve_ui_headers(r, u->https);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 200, body, (size_t)n);
}

static void file_route(struct http_req *r, void *arg)
{
    struct serve_ui *u = arg;
    const char *name = http_req_param(r, "file");
    if (name && strcmp(name, "methods.json") == 0) {
        methods_reply(u, r);
        return;
    }
    for (size_t i = 0; name && i < ui_assets_count; i++)
        if (strcmp(ui_assets[i].name, name) == 0) {
            asset_reply(u, r, i);
            return;
        }
    serve_ui_headers(r, u->https);
    http_reply_error(r, 404, "invalid_request_error", "file", "not_found", "no such file: the UI starts at /ui/");
}

/* --- the event stream --- */

static void client_drop(struct ui_client *c)
{
    DLIST_REMOVE(c->u->clients, c);
    http_stream_end(c->r);
    free(c);
}

static void client_gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    struct ui_client *c = arg;
    c->gone = true;
}

static void broadcast(struct serve_ui *u, const char *text, bool check_exp)
{
    int64_t now = time_real_us() / 1000000;
    struct ui_client *c = u->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->gone || (check_exp && c->exp <= now)) {
            client_drop(c);
            continue;
        }
        if (http_stream_write(c->r, text, strlen(text)) > UI_EVENT_BACKLOG_MAX)
            client_drop(c);
    }
}

static void coalesce_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct serve_ui *u = arg;
    char ev[96];
    snprintf(ev, sizeof ev, "event: jobs\ndata: {\"done\":%s,\"enqueued\":%s}\n\n", u->pend_done ? "true" : "false",
             u->pend_enqueued ? "true" : "false");
    u->pend_done = u->pend_enqueued = false;
    broadcast(u, ev, false);
}

static void note(struct serve_ui *u)
{
    if (!u->clients || evtimer_pending(u->coalesce, NULL))
        return;
    struct timeval tv = loop_tv(UI_EVENT_COALESCE_MS);
    evtimer_add(u->coalesce, &tv);
}

static void done_msg_cb(const char *payload, size_t len, void *arg)
{
    (void)payload;
    (void)len;
    struct serve_ui *u = arg;
    u->pend_done = true;
    note(u);
}

static void jobs_msg_cb(const char *payload, size_t len, void *arg)
{
    (void)payload;
    (void)len;
    struct serve_ui *u = arg;
    u->pend_enqueued = true;
    note(u);
}

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    broadcast(arg, ": ping\n\n", true);
}

/* Live streams in all, and of session sid (streams that left not counted). */
static size_t clients_count(const struct serve_ui *u, uint64_t sid, size_t *of_sid)
{
    size_t n = 0;
    *of_sid = 0;
    for (const struct ui_client *c = u->clients; c; c = c->next)
        if (!c->gone) {
            n++;
            *of_sid += c->sid == sid;
        }
    return n;
}

/* 0, or -1 after answering 503 (draining, or too many streams). */
static int stream_admit(struct serve_ui *u, struct http_req *r, uint64_t sid)
{
    size_t mine, all = clients_count(u, sid, &mine);
    if (loop_draining(u->rt->loop)) {
        http_add_header(r, "Retry-After", "1");
        http_reply_error(r, 503, "server_error", NULL, "draining", "this process is shutting down; reconnect");
        return -1;
    }
    if (all >= UI_EVENT_CLIENTS_MAX || mine >= UI_EVENT_SESSION_MAX) {
        http_add_header(r, "Retry-After", "5");
        http_reply_error(r, 503, "server_error", NULL, "too_many_streams",
                         all >= UI_EVENT_CLIENTS_MAX ? "this process serves its maximum of event streams; retry later"
                                                     : "this session has its maximum of event streams open: close a tab");
        return -1;
    }
    return 0;
}

struct ui_open {
    struct serve_ui *u;
    struct http_req *r;
    struct session_claims cl;
};

static void open_cb(const struct db_result *res, void *arg)
{
    struct ui_open *o = arg;
    if (!res->ok && res->err_code == DB_ERR_SHUTDOWN) { /* the process ends: u and r may be gone */
        free(o);
        return;
    }
    struct serve_ui *u = o->u;
    struct http_req *r = o->r;
    if (!res->ok) {
        http_add_header(r, "Retry-After", "1");
        http_reply_error(r, 503, "server_error", NULL, "database_unavailable", "the database is unavailable; retry shortly");
    } else if (mysql_num_rows(res->res) == 0) {
        http_reply_error(r, 401, "invalid_request_error", NULL, "session_revoked",
                         "the session ended (logged out, revoked or expired): log in again");
    } else if (stream_admit(u, r, o->cl.sid) == 0) {
        struct ui_client *c = xcalloc(1, sizeof *c);
        c->u = u;
        c->r = r;
        c->exp = o->cl.exp;
        c->sid = o->cl.sid;
        DLIST_PUSH(u->clients, c);
        http_add_header(r, "Cache-Control", "no-store");
        http_add_header(r, "X-Accel-Buffering", "no");
        http_stream_begin(r, 200, "text/event-stream", client_gone_cb, c);
        http_stream_eof_gone(r);
        const char *hello = redis_state(u->done_sub) == REDIS_READY
                                ? "retry: 2000\nevent: hello\ndata: {\"live\":true}\n\n"
                                : "retry: 2000\nevent: hello\ndata: {\"live\":false}\n\n";
        http_stream_write(r, hello, strlen(hello));
    }
    free(o);
}

static void events_route(struct http_req *r, void *arg)
{
    struct serve_ui *u = arg;
    serve_ui_headers(r, u->https);
    if (!u->on) {
        http_reply_error(r, 404, "invalid_request_error", NULL, "login_method_off",
                         "login sessions are off: JWT_SECRET is not set (`ingot init` generates one)");
        return;
    }
    char tok[4096], err[160];
    struct session_claims cl;
    if (!session_cookie(http_req_header(r, "Cookie"), SESSION_ACCESS_COOKIE, tok, sizeof tok) ||
        session_access_verify(u->rt->cfg->jwt_secret, tok, time_real_us() / 1000000, &cl, err, sizeof err) < 0) {
        http_reply_error(r, 401, "invalid_request_error", NULL, "not_logged_in",
                         "the event stream needs a valid session cookie: log in at /ui/ (POST /auth/refresh renews it)");
        return;
    }
    if (stream_admit(u, r, cl.sid) < 0)
        return;
    if (http_req_method(r) == HTTP_M_HEAD) { /* the head alone: a stream here held the connection forever */
        http_add_header(r, "Cache-Control", "no-store");
        http_reply(r, 200, "text/event-stream", "", 0);
        return;
    }
    /* The token alone does not say the session still lives (log out). */
    struct ui_open *o = xcalloc(1, sizeof *o);
    o->u = u;
    o->r = r;
    o->cl = cl;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT s.id FROM auth_sessions s WHERE s.id = %llu AND", (unsigned long long)cl.sid);
    serve_session_sql_alive(&b);
    db_query(u->rt->db, b.data, 0, open_cb, o);
    sbuf_deinit(&b);
}

/* Every UI_EVENT_RECHECK_MS: which sessions of the open streams still live
 * (one query; the streams opened meanwhile are checked next time). */
static void rechecked_cb(const struct db_result *res, void *arg)
{
    if (!res->ok && res->err_code == DB_ERR_SHUTDOWN)
        return; /* u may be gone */
    struct serve_ui *u = arg;
    u->rechecking = false;
    if (!res->ok) { /* kept: the events carry no data, and /v1 itself answers 503 meanwhile */
        log_warn("the UI's event streams' session check: %s", res->error);
        for (struct ui_client *c = u->clients; c; c = c->next)
            c->checking = false;
        return;
    }
    size_t n = (size_t)mysql_num_rows(res->res);
    uint64_t *alive = xcalloc(n + 1, sizeof *alive);
    MYSQL_ROW row;
    for (size_t i = 0; i < n && (row = mysql_fetch_row(res->res)); i++)
        alive[i] = (uint64_t)db_row_ll(row, 0);
    struct ui_client *c = u->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (!c->checking)
            continue;
        c->checking = false;
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = alive[i] == c->sid;
        if (!ok)
            client_drop(c);
    }
    free(alive);
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct serve_ui *u = arg;
    int64_t now = time_real_us() / 1000000;
    struct ui_client *c = u->clients, *next;
    struct sbuf b;
    sbuf_init(&b);
    for (; c; c = next) {
        next = c->next;
        if (c->gone || c->exp <= now) {
            client_drop(c);
        } else if (!u->rechecking) {
            c->checking = true;
            sbuf_printf(&b, "%s%llu", b.len ? "," : "", (unsigned long long)c->sid);
        }
    }
    if (b.len) {
        char *ids = sbuf_steal(&b);
        sbuf_printf(&b, "SELECT DISTINCT s.id FROM auth_sessions s WHERE s.id IN (%s) AND", ids);
        free(ids);
        serve_session_sql_alive(&b);
        u->rechecking = true;
        db_query(u->rt->db, b.data, 0, rechecked_cb, u);
    }
    sbuf_deinit(&b);
}

/* --- setup --- */

struct serve_ui *serve_ui_new(struct runtime *rt, struct httpd *h)
{
    const struct config *cfg = rt->cfg;
    struct serve_ui *u = xcalloc(1, sizeof *u);
    u->rt = rt;
    u->https = strncmp(cfg->public_url, "https://", 8) == 0;
    u->on = cfg->jwt_secret[0] != '\0';
    u->etags = xcalloc(ui_assets_count + 1, sizeof *u->etags);
    for (size_t i = 0; i < ui_assets_count; i++) {
        uint64_t x = 0xcbf29ce484222325ULL;
        for (size_t k = 0; k < ui_assets[i].len; k++)
            x = (x ^ (unsigned char)ui_assets[i].data[k]) * 0x100000001b3ULL;
        snprintf(u->etags[i], sizeof u->etags[i], "\"%016llx\"", (unsigned long long)x);
    }
    u->coalesce = evtimer_new(loop_base(rt->loop), coalesce_cb, u);
    u->ping = event_new(loop_base(rt->loop), -1, EV_PERSIST, ping_cb, u);
    u->recheck = event_new(loop_base(rt->loop), -1, EV_PERSIST, recheck_cb, u);
    if (!u->coalesce || !u->ping || !u->recheck)
        abort();
    struct timeval every = loop_tv(UI_EVENT_PING_MS);
    event_add(u->ping, &every);
    every = loop_tv(UI_EVENT_RECHECK_MS);
    event_add(u->recheck, &every);
    if (u->on && cfg->redis_url[0]) {
        char rerr[256];
        u->done_sub = redis_client_new(rt->loop, NULL, cfg->redis_url, 500, rerr, sizeof rerr);
        u->jobs_sub = u->done_sub ? redis_client_new(rt->loop, NULL, cfg->redis_url, 500, rerr, sizeof rerr) : NULL;
        if (u->done_sub && u->jobs_sub) {
            redis_subscribe(u->done_sub, JOB_DONE_CHANNEL, done_msg_cb, u);
            redis_subscribe(u->jobs_sub, JOB_WAKE_CHANNEL, jobs_msg_cb, u);
        } else {
            log_warn("the UI's event stream will carry no events: %s", rerr);
        }
    }
    httpd_route(h, HTTP_M_GET, "/ui", 0, redirect_route, u);
    httpd_route(h, HTTP_M_GET, "/ui/", 0, index_route, u);
    httpd_route(h, HTTP_M_GET, "/ui/events", 0, events_route, u);
    httpd_route(h, HTTP_M_GET, "/ui/{file}", HTTPD_ROUTE_QUIET, file_route, u);
    return u;
}

void serve_ui_drain(struct serve_ui *u)
{
    struct ui_client *c = u->clients, *next;
    for (; c; c = next) {
        next = c->next;
        client_drop(c);
    }
    event_del(u->ping);
    event_del(u->coalesce);
    event_del(u->recheck);
}

void serve_ui_free(struct serve_ui *u)
{
    if (!u)
        return;
    serve_ui_drain(u);
    redis_client_free(u->done_sub);
    redis_client_free(u->jobs_sub);
    event_free(u->coalesce);
    event_free(u->ping);
    event_free(u->recheck);
    free(u->etags);
    free(u);
}
