/* The usage ledger's rows as MariaDB takes them: bound row-wise for a
 * bulk INSERT (the values written as the text INSERT wrote them), or, on a
 * server with no bulk execution, as multi-row INSERT text. The buffer,
 * its writes and the metrics are usage.c's. */
#include "usage_rows.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "sql.h"

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
static const char usage_insert_bulk[] =
    "INSERT INTO llm_usage (at, tenant_id, key_id, job_id, provider, model, endpoint, status, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, ttft_ms, request_id, cache_hit) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

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
static void binds_init(struct usage_bulk *ub)
{
    struct urow *r = ub->rows;
    MYSQL_BIND *b = ub->binds;
    memset(b, 0, sizeof ub->binds);
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
void usage_rows_bulk(struct usage_bulk *ub, const struct urec *buf, size_t k, struct db_bulk *out)
{
    if (!ub->rows) {
        ub->rows = xcalloc(USAGE_BATCH, sizeof *ub->rows);
        binds_init(ub);
    }
    struct sbuf tmp;
    sbuf_init(&tmp);
    struct utc_memo m = {0};
    for (size_t i = 0; i < k; i++)
        row_fill(&ub->rows[i], &buf[i], &tmp, &m);
    sbuf_deinit(&tmp);
    *out = (struct db_bulk){.sql = usage_insert_bulk,
                            .binds = ub->binds,
                            .nparams = UROW_PARAMS,
                            .rows = (unsigned)k,
                            .row_size = sizeof *ub->rows};
}

void usage_rows_bulk_free(struct usage_bulk *ub)
{
    free(ub->rows);
}

void usage_rows_text(struct sbuf *b, const struct urec *buf, size_t k)
{
    sbuf_puts(b, "INSERT INTO llm_usage (at, tenant_id, key_id, job_id, provider, model, endpoint, status, "
                 "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_usd, latency_ms, "
                 "ttft_ms, request_id, cache_hit) VALUES ");
    for (size_t i = 0; i < k; i++) {
        const struct urec *x = &buf[i];
        /* Integers appended, not printed: a row per proxied call. */
        sbuf_puts(b, i ? ",(FROM_UNIXTIME(" : "(FROM_UNIXTIME(");
        sbuf_append_i64(b, (int64_t)(x->at_us / 1000000));
        char frac[8] = {'.'};
        long long us = (long long)(x->at_us % 1000000);
        for (int d = 6; d >= 1; d--, us /= 10)
            frac[d] = (char)('0' + us % 10);
        sbuf_append(b, frac, 7);
        sbuf_puts(b, "), ");
        sbuf_append_u64(b, (uint64_t)x->tenant);
        sbuf_puts(b, ", ");
        sbuf_append_u64(b, (uint64_t)x->key_id);
        sbuf_puts(b, ", ");
        if (x->job_id) {
            sbuf_append_u64(b, (uint64_t)x->job_id);
            sbuf_puts(b, ", ");
        } else {
            sbuf_puts(b, "NULL, ");
        }
        sql_cstr(b, x->provider);
        sbuf_puts(b, ", ");
        sql_cstr(b, x->model);
        sbuf_puts(b, ", ");
        sql_cstr(b, x->endpoint);
        const long long ints[] = {x->status, x->prompt, x->completion, x->cached, x->reasoning};
        for (size_t j = 0; j < ARRAY_LEN(ints); j++) {
            sbuf_puts(b, ", ");
            sbuf_append_i64(b, ints[j]);
        }
        sbuf_puts(b, ", ");
        sbuf_append_fixed(b, x->cost_usd, 9);
        sbuf_puts(b, ", ");
        sbuf_append_fixed(b, x->latency_ms, 3);
        sbuf_puts(b, ", ");
        if (x->ttft_ms >= 0) {
            sbuf_append_fixed(b, x->ttft_ms, 3);
            sbuf_puts(b, ", ");
        } else
            sbuf_puts(b, "NULL, ");
        sql_cstr(b, x->request_id);
        sbuf_puts(b, x->cache_hit ? ", 1)" : ", 0)");
    }
}
