#include "serve_messages.h"

#include <cJSON.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "job.h"
#include "llm.h"
#include "llm_msgs_resp.h"
#include "log.h"
#include "loop.h"
#include "runtime.h"
#include "serve_v1.h"

/* As serve_llm: how often a call checks that its client is still there
 * while nothing else would tell it, how much of a stream may wait for a
 * client that reads nothing, and retry-after when nobody said. */
#define GONE_POLL_MS 25
#define STREAM_BACKLOG_MAX ((size_t)4 << 20)
#define RETRY_DEFAULT_MS 1000

/* One call: its request (through c) and the engine's call. */
struct msync {
    struct v1 *c;
    struct llm_call *call; /* NULL once done or cancelled */
    struct event *poll;
    bool begun;            /* the stream's head is out */
};

static void msync_free(struct msync *s)
{
    if (s->poll)
        event_free(s->poll);
    v1_free(s->c);
    free(s);
}

/* 429 and 503 say when to come back (the SDK reads retry-after-ms, then
 * retry-after); a refusal retrying cannot fix says not to. */
static void retry_headers(struct http_req *r, int status, long long ms, bool should_retry)
{
    if (!should_retry)
        http_add_header(r, "x-should-retry", "false");
    if (status != 429 && status != 503 && status != 529)
        return;
    if (!should_retry && ms < 0)
        return; /* never fits: no time would help */
    if (ms < 0)
        ms = RETRY_DEFAULT_MS;
    char v[32];
    snprintf(v, sizeof v, "%lld", (ms + 999) / 1000);
    http_add_header(r, "retry-after", v);
    snprintf(v, sizeof v, "%lld", ms);
    http_add_header(r, "retry-after-ms", v);
}

static void done_cb(const struct llm_result *res, void *arg)
{
    struct msync *s = arg;
    struct http_req *r = s->c->r;
    s->call = NULL;
    if (s->begun) { /* message_stop, or an error event, was the end */
        http_stream_end(r);
        msync_free(s);
        return;
    }
    int status = res->status >= 200 && res->status <= 599 ? res->status : 502;
    if (res->outcome == LLM_OK && res->body && res->body_len) {
        http_reply_json(r, status, res->body, res->body_len);
        msync_free(s);
        return;
    }
    if (status < 400)
        status = 502;
    retry_headers(r, status, res->retry_after_ms, res->should_retry);
    struct sbuf b;
    sbuf_init(&b);
    /* The engine's errors are OpenAI-shaped (and an anthropic provider's
     * were made so): Anthropic's shape for this route. */
    msgs_error_from(status, res->body, res->body_len, &b);
    http_reply_json(r, status, b.data, b.len);
    sbuf_deinit(&b);
    msync_free(s);
}

/* The client left: the upstream request stops now (the engine records
 * what was produced, 499), and the reply goes nowhere. */
static void abandon(struct msync *s)
{
    if (s->call)
        llm_call_cancel(s->call);
    s->call = NULL;
    if (s->begun)
        http_stream_end(s->c->r);
    else
        v1_reply_anthropic(s->c->r, 499, "the client closed the connection");
    msync_free(s);
}

static void stream_gone_cb(struct http_req *r, void *arg)
{
    (void)r;
    abandon(arg);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct msync *s = arg;
    if (http_req_gone(s->c->r))
        abandon(s);
}

static void begin_cb(void *arg)
{
    struct msync *s = arg;
    struct http_req *r = s->c->r;
    http_add_header(r, "X-Accel-Buffering", "no"); /* proxies pass each event on at once */
    http_stream_begin(r, 200, "text/event-stream", stream_gone_cb, s);
    http_stream_eof_gone(r);
    s->begun = true;
}

static void event_cb(const char *data, size_t len, void *arg)
{
    struct msync *s = arg;
    if (!s->begun)
        begin_cb(s);
    if (http_stream_write(s->c->r, data, len) > STREAM_BACKLOG_MAX) {
        LOG_AT(LOG_WARN, http_req_id(s->c->r), NULL,
               "messages stream: the client reads nothing (%zu bytes waiting): stopped", STREAM_BACKLOG_MAX);
        abandon(s);
    }
}

static const struct llm_stream_cbs stream_cbs = {.begin = begin_cb, .event = event_cb};

/* An anthropic-* header: absent, or 1..max bytes of [A-Za-z0-9._,-] (what
 * goes upstream). -1 after answering 400 naming it. */
static int header_value(struct v1 *c, const char *name, size_t max, char *out)
{
    const char *v = http_req_header(c->r, name);
    out[0] = '\0';
    if (!v)
        return 0;
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= max;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
             strchr("._,-", v[i]);
    if (!ok) {
        v1_reply_anthropic(c->r, 400, "%s: must be 1-%zu characters of letters, digits, '.', '_', ',' and '-'",
                           name, max);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}

static void reply_check_error(struct v1 *c, const struct job_error *e)
{
    if (e->status == 503) { /* not the request's fault: the process is starting */
        http_add_header(c->r, "retry-after", "1");
        http_add_header(c->r, "retry-after-ms", "1000");
    }
    if (e->param[0])
        v1_reply_anthropic(c->r, e->status, "%s: %s", e->param, e->message);
    else
        v1_reply_anthropic(c->r, e->status, "%s", e->message);
}

/* POST /v1/messages */
static void messages(struct v1 *c)
{
    struct runtime *rt = c->sj->rt;
    if (!rt->llm) {
        http_add_header(c->r, "retry-after", "1");
        v1_reply_anthropic(c->r, 503, "the LLM gateway is not available in this process");
        v1_free(c);
        return;
    }
    struct llm_call_opts o = {.tenant = c->tenant,
                              .key_id = c->key,
                              .ep = LLM_EP_MESSAGES,
                              .timeout_ms = rt->cfg->llm_timeout_ms,
                              .request_id = http_req_id(c->r)};
    if (header_value(c, "anthropic-version", sizeof o.anthropic_version - 1, o.anthropic_version) < 0 ||
        header_value(c, "anthropic-beta", sizeof o.anthropic_beta - 1, o.anthropic_beta) < 0) {
        v1_free(c);
        return;
    }
    o.body = http_req_body(c->r, &o.body_len);
    struct job_error e;
    cJSON *j = job_json_parse(o.body, o.body_len, &e);
    if (j && llm_check(rt->llm, c->tenant, LLM_EP_MESSAGES, j, false, &e) < 0) {
        cJSON_Delete(j);
        j = NULL;
    }
    if (!j) {
        reply_check_error(c, &e);
        v1_free(c);
        return;
    }
    struct msync *s = xcalloc(1, sizeof *s);
    s->c = c;
    bool stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stream"));
    s->poll = event_new(loop_base(rt->loop), -1, EV_PERSIST, poll_cb, s);
    if (!s->poll)
        abort();
    struct timeval tv = loop_tv(GONE_POLL_MS);
    event_add(s->poll, &tv);
    o.json = j; /* parsed once: the engine borrows it */
    s->call = llm_call_start(rt->llm, &o, stream ? &stream_cbs : NULL, done_cb, s);
    cJSON_Delete(j);
    if (!s->call) { /* the engine refuses nothing this way, but never hang */
        v1_reply_anthropic(c->r, 503, "cannot start the call");
        msync_free(s);
    }
}

static void messages_route(struct http_req *r, void *arg)
{
    v1_start_anthropic(arg, r, messages);
}

void serve_messages_routes(struct httpd *h, struct serve_jobs *sj)
{
    httpd_route(h, HTTP_M_POST, "/v1/messages", 0, messages_route, sj);
}
