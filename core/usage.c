#include "usage.h"

#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "runtime.h"
#include "usage_rows.h"

/* Rows go out USAGE_BATCH at a time, one multi-row INSERT per batch
 * (MariaDB takes ~10x more rows/s that way), on the pool like any query:
 * usage_record only copies into the buffer. The buffer is bounded: past
 * USAGE_BUFFER_MAX rows waiting (the database down for long), a new record
 * is dropped and counted rather than the process growing without limit.
 * Worst case a crash loses: what was recorded since the last write
 * started, i.e. one flush interval of traffic (more while the database is
 * failing: everything buffered, up to USAGE_BUFFER_MAX rows). A write
 * whose outcome is unknown (its deadline passed, the connection dropped
 * mid-commit) is retried, so in that case its rows may be recorded twice:
 * the ledger is at-least-once, never silently short. */
#define USAGE_BUFFER_MAX 50000
#define USAGE_POISON_TRIES 5   /* a batch the database refuses (not a lost connection) */

/* The series one (tenant, provider, model, status) counts into, kept so a
 * call does not format and look up its labels again (series live as long
 * as the metrics). A token type's series is made when first counted. */
#define COUNT_SLOTS 64
struct count_slot {
    bool used;
    uint64_t tenant;
    int status;
    char provider[PROVIDER_NAME_MAX + 1], model[LLM_MODEL_MAX + 1];
    struct metric_series *tok[4], *req, *lat, *ttft;
};

struct usage {
    struct runtime *rt;
    struct count_slot *slots;
    long long flush_ms;
    struct event *timer, *kick;
    struct urec *buf;
    size_t n, cap;
    size_t writing;           /* the first `writing` rows are in an INSERT now */
    struct usage_bulk bulk;   /* the bulk INSERT's parameters */
    bool text_only;           /* the server has no bulk execution: multi-row INSERT text */
    uint64_t seq_recorded, seq_written; /* see usage_seq_recorded */
    int fails;
    bool draining;
    struct metric_family *f_tokens, *f_requests, *f_latency, *f_ttft;
    struct metric_series *m_dropped, *m_written, *m_failed;
    struct log_limit warn_log;
    unsigned long long warn_dropped;
};

static void write_batch(struct usage *u);

/* Errors about a row's content (strict mode): the same batch would fail
 * forever, so after a few tries it is dropped (and counted) rather than
 * blocking every row behind it. Anything else (connection lost, timeout,
 * locks, a table being migrated) is retried with the same rows. */
static bool poison(unsigned code)
{
    return code == 1048 || code == 1264 || code == 1265 || code == 1292 || code == 1366 || code == 1406 ||
           code == 1062 || code == 1064 || code == DB_ERR_BIND;
}

static void written_cb(const struct db_result *r, void *arg)
{
    struct usage *u = arg;
    size_t k = u->writing;
    u->writing = 0;
    if (!r->ok && r->err_code == DB_ERR_UNSUPPORTED && !u->text_only) {
        log_warn("usage: %s (a proxy in between?): the ledger is written as INSERT text, which costs "
                 "the database more per row", r->error);
        u->text_only = true;
        write_batch(u);
        loop_work_done(u->rt->loop);
        return;
    }
    if (r->ok || (poison(r->err_code) && ++u->fails >= USAGE_POISON_TRIES)) {
        if (!r->ok) {
            metrics_add(u->m_dropped, (double)k);
            log_error("usage: the database refuses a batch of %zu rows, dropped: %s", k, r->error);
        } else {
            metrics_add(u->m_written, (double)k);
        }
        u->fails = 0;
        u->seq_written += k; /* rows leave the buffer in the order they came */
        memmove(u->buf, u->buf + k, (u->n - k) * sizeof *u->buf);
        u->n -= k;
        if (u->n >= USAGE_BATCH || (u->draining && u->n))
            write_batch(u);
    } else {
        metrics_add(u->m_failed, 1);
        if (r->err_code != DB_ERR_SHUTDOWN && log_limit_allow(&u->warn_log, &u->warn_dropped))
            log_warn("usage: writing %zu rows failed, kept for the next try: %s", k, r->error);
    }
    loop_work_done(u->rt->loop);
}

static void write_bulk(struct usage *u, size_t k)
{
    struct db_bulk b;
    usage_rows_bulk(&u->bulk, u->buf, k, &b);
    u->writing = k;
    db_bulk(u->rt->db, &b, 0, written_cb, u);
}

static void write_batch(struct usage *u)
{
    if (u->writing || !u->n)
        return;
    size_t k = u->n < USAGE_BATCH ? u->n : USAGE_BATCH;
    if (!u->text_only) {
        write_bulk(u, k);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    usage_rows_text(&b, u->buf, k);
    u->writing = k;
    db_query(u->rt->db, b.data, 0, written_cb, u);
    sbuf_deinit(&b);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    write_batch(arg);
}

static size_t busy_fn(void *arg)
{
    struct usage *u = arg;
    return u->draining ? u->n : 0;
}

struct usage *usage_new(struct runtime *rt, long long flush_ms)
{
    struct usage *u = xcalloc(1, sizeof *u);
    u->rt = rt;
    u->flush_ms = flush_ms > 0 ? flush_ms : 1000;
    u->warn_log = (struct log_limit)LOG_LIMIT_INIT(10000, 5);
    struct metrics *m = rt->metrics;
    u->f_tokens = metrics_family(m, METRIC_COUNTER, "ingot_llm_tokens_total",
                                 "LLM tokens by tenant, model and type (cached is part of prompt, reasoning of "
                                 "completion).");
    u->f_requests = metrics_family(m, METRIC_COUNTER, "ingot_llm_requests_total",
                                   "LLM calls by provider, model and the status given to the client.");
    u->f_latency = metrics_family(m, METRIC_HISTOGRAM, "ingot_llm_latency_seconds",
                                  "Duration of LLM calls (a stream: until its last event), in seconds.");
    u->f_ttft = metrics_family(m, METRIC_HISTOGRAM, "ingot_llm_ttft_seconds",
                               "Time to the first streamed token of LLM calls, in seconds.");
    struct metric_family *f = metrics_family(m, METRIC_COUNTER, "ingot_llm_usage_rows_total",
                                             "Usage ledger rows: written, or dropped (buffer full, refused).");
    u->m_written = metrics_series(f, "result=\"written\"");
    u->m_dropped = metrics_series(f, "result=\"dropped\"");
    f = metrics_family(m, METRIC_COUNTER, "ingot_llm_usage_write_failures_total",
                       "Usage ledger writes that failed and were kept for the next try.");
    u->m_failed = metrics_series(f, "");
    struct event_base *base = loop_base(rt->loop);
    u->timer = event_new(base, -1, EV_PERSIST, timer_cb, u);
    u->kick = event_new(base, -1, 0, timer_cb, u);
    if (!u->timer || !u->kick)
        abort();
    struct timeval every = loop_tv(u->flush_ms);
    event_add(u->timer, &every);
    loop_add_busy(rt->loop, busy_fn, u);
    return u;
}

void usage_flush(struct usage *u)
{
    if (!u)
        return;
    u->draining = true;
    write_batch(u);
}

size_t usage_pending(const struct usage *u)
{
    return u ? u->n : 0;
}

void usage_free(struct usage *u)
{
    if (!u)
        return;
    if (u->n > u->writing)
        log_warn("usage: %zu rows not written at exit", u->n);
    event_free(u->timer);
    event_free(u->kick);
    free(u->buf);
    usage_rows_bulk_free(&u->bulk);
    free(u->slots);
    free(u);
}

/* Valid UTF-8 only, cut at a character boundary: a row the database
 * would refuse (strict mode) must not poison its whole batch. */
static void copy(char *dst, size_t n, const char *src)
{
    size_t o = 0, len = src ? strlen(src) : 0;
    if (src && len < n && util_utf8_valid(src, len)) { /* the usual: whole, as the loop below would */
        memcpy(dst, src, len);
        dst[len] = 0;
        return;
    }
    for (size_t i = 0; i < len;) {
        size_t k = (unsigned char)src[i] < 0x80 ? 1 : util_utf8_seq(src + i, len - i); /* ASCII: no call */
        if (!k) {
            if (o + 1 >= n)
                break;
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= n)
            break;
        memcpy(dst + o, src + i, k);
        o += k;
        i += k;
    }
    dst[o] = 0;
}

static double fin(double v, double hi)
{
    return isfinite(v) && v > 0 ? (v < hi ? v : hi) : 0;
}

static long long nz(long long v)
{
    return v > 0 ? v : 0;
}

static void count_slow(struct usage *u, const struct usage_rec *r)
{
    char t[24], model[LLM_MODEL_MAX * 2 + 8], prov[PROVIDER_NAME_MAX * 2 + 8], labels[600];
    snprintf(t, sizeof t, "%llu", (unsigned long long)r->tenant);
    const char *mm = r->metric_model ? r->metric_model : r->model;
    metrics_label_escape(mm ? mm : "", model, sizeof model);
    metrics_label_escape(r->provider ? r->provider : "", prov, sizeof prov);
    static const char *const types[] = {"prompt", "completion", "cached", "reasoning"};
    long long v[] = {r->u.prompt, r->u.completion, r->u.cached, r->u.reasoning};
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        if (v[i] <= 0)
            continue;
        snprintf(labels, sizeof labels, "tenant=\"%s\",model=\"%s\",type=\"%s\"", t, model, types[i]);
        metrics_add(metrics_series(u->f_tokens, labels), (double)v[i]);
    }
    snprintf(labels, sizeof labels, "provider=\"%s\",model=\"%s\",status=\"%d\"", prov, model, r->status);
    metrics_add(metrics_series(u->f_requests, labels), 1);
    snprintf(labels, sizeof labels, "provider=\"%s\",model=\"%s\"", prov, model);
    metrics_observe(metrics_series(u->f_latency, labels), fin(r->latency_ms, 1e12) / 1000.0);
    if (r->ttft_ms >= 0)
        metrics_observe(metrics_series(u->f_ttft, labels), fin(r->ttft_ms, 1e12) / 1000.0);
}

static struct count_slot *count_slot(struct usage *u, const struct usage_rec *r)
{
    /* The label's model: metric_model (a known name or "other"), never an
     * arbitrary client string. */
    const char *mm = r->metric_model ? r->metric_model : r->model;
    const char *p = r->provider ? r->provider : "", *m = mm ? mm : "";
    size_t pl = strlen(p), ml = strlen(m);
    if (pl > PROVIDER_NAME_MAX || ml > LLM_MODEL_MAX)
        return NULL;
    uint64_t h = 1469598103934665603ULL ^ r->tenant ^ ((uint64_t)(unsigned)r->status << 40);
    for (size_t i = 0; i < pl; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (size_t i = 0; i < ml; i++)
        h = (h ^ (unsigned char)m[i]) * 1099511628211ULL;
    if (!u->slots)
        u->slots = xcalloc(COUNT_SLOTS, sizeof *u->slots);
    struct count_slot *s = &u->slots[h % COUNT_SLOTS];
    if (s->used && s->tenant == r->tenant && s->status == r->status && strcmp(s->provider, p) == 0 &&
        strcmp(s->model, m) == 0)
        return s;
    /* (Re)filled: the labels as count_slow writes them. */
    memset(s, 0, sizeof *s);
    char t[24], model[LLM_MODEL_MAX * 2 + 8], prov[PROVIDER_NAME_MAX * 2 + 8], labels[600];
    snprintf(t, sizeof t, "%llu", (unsigned long long)r->tenant);
    metrics_label_escape(m, model, sizeof model);
    metrics_label_escape(p, prov, sizeof prov);
    snprintf(labels, sizeof labels, "provider=\"%s\",model=\"%s\",status=\"%d\"", prov, model, r->status);
    s->req = metrics_series(u->f_requests, labels);
    snprintf(labels, sizeof labels, "provider=\"%s\",model=\"%s\"", prov, model);
    s->lat = metrics_series(u->f_latency, labels);
    s->used = true;
    s->tenant = r->tenant;
    s->status = r->status;
    memcpy(s->provider, p, pl + 1);
    memcpy(s->model, m, ml + 1);
    return s;
}

static void count(struct usage *u, const struct usage_rec *r)
{
    struct count_slot *s = count_slot(u, r);
    if (!s) {
        count_slow(u, r);
        return;
    }
    static const char *const types[] = {"prompt", "completion", "cached", "reasoning"};
    long long v[] = {r->u.prompt, r->u.completion, r->u.cached, r->u.reasoning};
    for (size_t i = 0; i < ARRAY_LEN(types); i++) {
        if (v[i] <= 0)
            continue;
        if (!s->tok[i]) {
            char model[LLM_MODEL_MAX * 2 + 8], labels[600];
            metrics_label_escape(s->model, model, sizeof model);
            snprintf(labels, sizeof labels, "tenant=\"%llu\",model=\"%s\",type=\"%s\"",
                     (unsigned long long)s->tenant, model, types[i]);
            s->tok[i] = metrics_series(u->f_tokens, labels);
        }
        metrics_add(s->tok[i], (double)v[i]);
    }
    metrics_add(s->req, 1);
    metrics_observe(s->lat, fin(r->latency_ms, 1e12) / 1000.0);
    if (r->ttft_ms >= 0) {
        if (!s->ttft) {
            char model[LLM_MODEL_MAX * 2 + 8], prov[PROVIDER_NAME_MAX * 2 + 8], labels[600];
            metrics_label_escape(s->model, model, sizeof model);
            metrics_label_escape(s->provider, prov, sizeof prov);
            snprintf(labels, sizeof labels, "provider=\"%s\",model=\"%s\"", prov, model);
            s->ttft = metrics_series(u->f_ttft, labels);
        }
        metrics_observe(s->ttft, fin(r->ttft_ms, 1e12) / 1000.0);
    }
}

void usage_record(struct usage *u, const struct usage_rec *r)
{
    if (!r->cache_hit)
        count(u, r);
    if (u->n >= USAGE_BUFFER_MAX) {
        metrics_add(u->m_dropped, 1);
        if (log_limit_allow(&u->warn_log, &u->warn_dropped))
            log_error("usage: %d rows wait for the database: a usage row is dropped", USAGE_BUFFER_MAX);
        return;
    }
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 256;
        if (u->cap > USAGE_BUFFER_MAX)
            u->cap = USAGE_BUFFER_MAX;
        u->buf = xrealloc(u->buf, u->cap * sizeof *u->buf);
    }
    struct urec *x = &u->buf[u->n++];
    u->seq_recorded++;
    x->tenant = r->tenant;
    x->key_id = r->key_id;
    x->job_id = r->job_id;
    copy(x->provider, sizeof x->provider, r->provider);
    copy(x->model, sizeof x->model, r->model);
    copy(x->endpoint, sizeof x->endpoint, r->endpoint);
    copy(x->request_id, sizeof x->request_id, r->request_id);
    x->status = r->status < 0 ? 0 : r->status > 999 ? 999 : r->status;
    x->cache_hit = r->cache_hit;
    x->prompt = nz(r->u.prompt);
    x->completion = nz(r->u.completion);
    x->cached = nz(r->u.cached);
    x->reasoning = nz(r->u.reasoning);
    x->cost_usd = fin(r->cost_usd, 1e8);
    x->latency_ms = fin(r->latency_ms, 1e12);
    x->ttft_ms = r->ttft_ms >= 0 ? fin(r->ttft_ms, 1e12) : -1;
    x->at_us = time_real_us() - (int64_t)(x->latency_ms * 1000);
    if (u->n >= USAGE_BATCH && !u->writing)
        event_active(u->kick, EV_TIMEOUT, 0); /* not from inside the caller's call */
}

uint64_t usage_seq_recorded(const struct usage *u)
{
    return u ? u->seq_recorded : 0;
}

uint64_t usage_seq_written(const struct usage *u)
{
    return u ? u->seq_written : 0;
}
