#include "usage.h"

#include <event2/event.h>
#include <math.h>
#include <mysql.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "runtime.h"
#include "sql.h"

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
#define USAGE_BATCH 500
#define USAGE_BUFFER_MAX 50000
#define USAGE_POISON_TRIES 5   /* a batch the database refuses (not a lost connection) */

struct urec {
    uint64_t tenant, key_id, job_id;
    char provider[PROVIDER_NAME_MAX + 1], model[LLM_MODEL_MAX + 1], endpoint[33], request_id[129];
    int status;
    bool cache_hit;
    long long prompt, completion, cached, reasoning;
    double cost_usd, latency_ms, ttft_ms;
    int64_t at_us; /* when the call started (so it counts in the period it was admitted in) */
};

/* A row as the bulk INSERT binds it (MariaDB row-wise array binding):
 * values, their lengths and NULL indicators side by side. */
struct urow {
    MYSQL_TIME at;
    unsigned long long tenant, key_id, job_id;
    long long ints[5]; /* status, prompt, completion, cached, reasoning */
    double latency_ms, ttft_ms;
    char job_ind, ttft_ind, cache_hit;
    char provider[PROVIDER_NAME_MAX + 1], model[LLM_MODEL_MAX + 1], endpoint[33], request_id[129], cost[24];
    unsigned long provider_len, model_len, endpoint_len, request_id_len, cost_len;
};
#define UROW_PARAMS 17
static const char usage_insert_bulk[] =
    "INSERT INTO llm_usage (at, tenant_id, key_id, job_id, provider, model, endpoint, status, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, request_id, cache_hit) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

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
    struct urow *rows;        /* USAGE_BATCH rows: the bulk INSERT's parameters */
    MYSQL_BIND binds[UROW_PARAMS];
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

/* The second last broken down (gmtime_r is most of a row's cost; a
 * batch's rows share a few seconds). */
struct utc_memo {
    bool set;
    time_t secs;
    struct tm tm;
};

static void utc_time(MYSQL_TIME *t, int64_t at_us, struct utc_memo *m)
{
    time_t secs = (time_t)(at_us / 1000000);
    if (!m->set || m->secs != secs) {
        gmtime_r(&secs, &m->tm);
        m->secs = secs;
        m->set = true;
    }
    const struct tm *tm = &m->tm;
    *t = (MYSQL_TIME){.year = (unsigned)tm->tm_year + 1900,
                      .month = (unsigned)tm->tm_mon + 1,
                      .day = (unsigned)tm->tm_mday,
                      .hour = (unsigned)tm->tm_hour,
                      .minute = (unsigned)tm->tm_min,
                      .second = (unsigned)tm->tm_sec,
                      .second_part = (unsigned long)(at_us % 1000000),
                      .time_type = MYSQL_TIMESTAMP_DATETIME};
}

/* src cut to fit (the record's fields are no longer than the row's). */
static unsigned long put_str(char *dst, size_t n, const char *src)
{
    size_t len = util_strcpy(dst, n, src);
    return (unsigned long)(len < n ? len : n - 1);
}

/* v >= 0 and below 1e12 (fin): to 3 decimals, as the text INSERT wrote it. */
static double ms3(double v)
{
    return (double)(long long)(v * 1000 + 0.5) / 1000;
}

/* The cost as sbuf_append_fixed(v, 9) writes it, into dst (24 bytes):
 * fin keeps it in [0, 1e8], whose whole part and nine decimals fit. The
 * length. */
static unsigned long cost9(char *dst, double v, struct sbuf *tmp)
{
    if (!(v >= 0 && v < 1e9)) { /* not reached: fin's bound; sbuf_append_fixed decides */
        sbuf_reset(tmp);
        sbuf_append_fixed(tmp, v, 9);
        return put_str(dst, 24, tmp->data);
    }
    long long ip = (long long)v;
    long long f = (long long)((v - (double)ip) * 1e9 + 0.5);
    if (f >= 1000000000LL) {
        ip++;
        f -= 1000000000LL;
    }
    char t[24];
    size_t i = 10;
    do
        t[--i] = (char)('0' + ip % 10);
    while (ip /= 10);
    size_t k = 10 - i;
    memcpy(dst, t + i, k);
    dst[k++] = '.';
    for (int d = 8; d >= 0; d--, f /= 10)
        dst[k + (size_t)d] = (char)('0' + f % 10);
    k += 9;
    dst[k] = '\0';
    return (unsigned long)k;
}

/* Values as the text INSERT wrote them: cost to 9 decimals, times to 3. */
static void row_fill(struct urow *w, const struct urec *x, struct sbuf *tmp, struct utc_memo *m)
{
    utc_time(&w->at, x->at_us, m);
    w->tenant = x->tenant;
    w->key_id = x->key_id;
    w->job_id = x->job_id;
    w->job_ind = x->job_id ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
    w->provider_len = put_str(w->provider, sizeof w->provider, x->provider);
    w->model_len = put_str(w->model, sizeof w->model, x->model);
    w->endpoint_len = put_str(w->endpoint, sizeof w->endpoint, x->endpoint);
    w->request_id_len = put_str(w->request_id, sizeof w->request_id, x->request_id);
    const long long ints[] = {x->status, x->prompt, x->completion, x->cached, x->reasoning};
    memcpy(w->ints, ints, sizeof ints);
    w->cost_len = cost9(w->cost, x->cost_usd, tmp);
    w->latency_ms = ms3(x->latency_ms);
    w->ttft_ind = x->ttft_ms >= 0 ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
    w->ttft_ms = x->ttft_ms >= 0 ? ms3(x->ttft_ms) : 0;
    w->cache_hit = x->cache_hit;
}

/* The parameters point into rows[0]; the binding's row size steps on. */
static void binds_init(struct usage *u)
{
    struct urow *r = u->rows;
    MYSQL_BIND *b = u->binds;
    memset(b, 0, sizeof u->binds);
    int i = 0;
#define FIXED(t, field, unsig)                                                                     \
    do {                                                                                           \
        b[i].buffer_type = (t);                                                                    \
        b[i].buffer = &r->field;                                                                   \
        b[i].is_unsigned = (unsig);                                                                \
        i++;                                                                                       \
    } while (0)
#define TEXT(field)                                                                                \
    do {                                                                                           \
        b[i].buffer_type = MYSQL_TYPE_STRING;                                                      \
        b[i].buffer = r->field;                                                                    \
        b[i].buffer_length = sizeof r->field;                                                      \
        b[i].length = &r->field##_len;                                                             \
        i++;                                                                                       \
    } while (0)
    FIXED(MYSQL_TYPE_DATETIME, at, 0);
    FIXED(MYSQL_TYPE_LONGLONG, tenant, 1);
    FIXED(MYSQL_TYPE_LONGLONG, key_id, 1);
    b[i].u.indicator = &r->job_ind;
    FIXED(MYSQL_TYPE_LONGLONG, job_id, 1);
    TEXT(provider);
    TEXT(model);
    TEXT(endpoint);
    for (int j = 0; j < 5; j++)
        FIXED(MYSQL_TYPE_LONGLONG, ints[j], 0);
    TEXT(cost);
    FIXED(MYSQL_TYPE_DOUBLE, latency_ms, 0);
    b[i].u.indicator = &r->ttft_ind;
    FIXED(MYSQL_TYPE_DOUBLE, ttft_ms, 0);
    TEXT(request_id);
    FIXED(MYSQL_TYPE_TINY, cache_hit, 0);
#undef FIXED
#undef TEXT
}

static void write_bulk(struct usage *u, size_t k)
{
    if (!u->rows) {
        u->rows = xcalloc(USAGE_BATCH, sizeof *u->rows);
        binds_init(u);
    }
    struct sbuf tmp;
    sbuf_init(&tmp);
    struct utc_memo m = {0};
    for (size_t i = 0; i < k; i++)
        row_fill(&u->rows[i], &u->buf[i], &tmp, &m);
    sbuf_deinit(&tmp);
    u->writing = k;
    struct db_bulk b = {.sql = usage_insert_bulk,
                        .binds = u->binds,
                        .nparams = UROW_PARAMS,
                        .rows = (unsigned)k,
                        .row_size = sizeof *u->rows};
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
    sbuf_puts(&b, "INSERT INTO llm_usage (at, tenant_id, key_id, job_id, provider, model, endpoint, status, "
                  "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, "
                  "ttft_ms, request_id, cache_hit) VALUES ");
    for (size_t i = 0; i < k; i++) {
        const struct urec *x = &u->buf[i];
        /* Integers appended, not printed: a row per proxied call. */
        sbuf_puts(&b, i ? ",(FROM_UNIXTIME(" : "(FROM_UNIXTIME(");
        sbuf_append_i64(&b, (int64_t)(x->at_us / 1000000));
        char frac[8] = {'.'};
        long long us = (long long)(x->at_us % 1000000);
        for (int d = 6; d >= 1; d--, us /= 10)
            frac[d] = (char)('0' + us % 10);
        sbuf_append(&b, frac, 7);
        sbuf_puts(&b, "), ");
        sbuf_append_u64(&b, (uint64_t)x->tenant);
        sbuf_puts(&b, ", ");
        sbuf_append_u64(&b, (uint64_t)x->key_id);
        sbuf_puts(&b, ", ");
        if (x->job_id) {
            sbuf_append_u64(&b, (uint64_t)x->job_id);
            sbuf_puts(&b, ", ");
        } else {
            sbuf_puts(&b, "NULL, ");
        }
        sql_cstr(&b, x->provider);
        sbuf_puts(&b, ", ");
        sql_cstr(&b, x->model);
        sbuf_puts(&b, ", ");
        sql_cstr(&b, x->endpoint);
        const long long ints[] = {x->status, x->prompt, x->completion, x->cached, x->reasoning};
        for (size_t j = 0; j < ARRAY_LEN(ints); j++) {
            sbuf_puts(&b, ", ");
            sbuf_append_i64(&b, ints[j]);
        }
        sbuf_puts(&b, ", ");
        sbuf_append_fixed(&b, x->cost_usd, 9);
        sbuf_puts(&b, ", ");
        sbuf_append_fixed(&b, x->latency_ms, 3);
        sbuf_puts(&b, ", ");
        if (x->ttft_ms >= 0) {
            sbuf_append_fixed(&b, x->ttft_ms, 3);
            sbuf_puts(&b, ", ");
        } else
            sbuf_puts(&b, "NULL, ");
        sql_cstr(&b, x->request_id);
        sbuf_puts(&b, x->cache_hit ? ", 1)" : ", 0)");
    }
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
    free(u->rows);
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
