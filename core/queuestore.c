#include "queuestore.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sql.h"

static int bad(char *param, size_t plen, char *why, size_t wlen, const char *p, const char *w)
{
    snprintf(param, plen, "%s", p);
    snprintf(why, wlen, "%s", w);
    return -1;
}

static bool whole(const cJSON *v, long long lo, long long hi, long long *out)
{
    /* Range first: converting an out-of-range double is undefined. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
        v->valuedouble != (double)(long long)v->valuedouble)
        return false;
    *out = (long long)v->valuedouble;
    return true;
}

static int parse_rate(const cJSON *v, long long *max, long long *ms, const char *name, char *param,
                      size_t plen, char *why, size_t wlen)
{
    if (cJSON_IsNull(v)) {
        *max = *ms = -1;
        return 0;
    }
    if (!cJSON_IsObject(v))
        return bad(param, plen, why, wlen, name, "must be {\"max\": N, \"duration_ms\": N} or null");
    for (const cJSON *f = v->child; f; f = f->next)
        if (strcmp(f->string, "max") != 0 && strcmp(f->string, "duration_ms") != 0)
            return bad(param, plen, why, wlen, name, "allowed fields: max, duration_ms");
    char p[64];
    snprintf(p, sizeof p, "%s.max", name);
    if (!whole(cJSON_GetObjectItemCaseSensitive(v, "max"), 1, 100000000, max))
        return bad(param, plen, why, wlen, p, "required: a whole number from 1 to 100000000");
    snprintf(p, sizeof p, "%s.duration_ms", name);
    if (!whole(cJSON_GetObjectItemCaseSensitive(v, "duration_ms"), 1, 86400000, ms))
        return bad(param, plen, why, wlen, p, "required: a whole number from 1 to 86400000");
    return 0;
}

int queue_settings_parse(const cJSON *body, struct queue_settings *s, char *param, size_t plen,
                         char *why, size_t wlen)
{
    s->rate_max = s->rate_duration_ms = s->concurrency = -1;
    s->group_concurrency = s->group_rate_max = s->group_rate_duration_ms = -1;
    s->paused = false;
    s->given = 0;
    if (!cJSON_IsObject(body))
        return bad(param, plen, why, wlen, "", "the body must be a JSON object");
    for (const cJSON *f = body->child; f; f = f->next) {
        if (strcmp(f->string, "rate_limit") == 0) {
            if (parse_rate(f, &s->rate_max, &s->rate_duration_ms, "rate_limit", param, plen, why, wlen) < 0)
                return -1;
            s->given |= QS_RATE;
        } else if (strcmp(f->string, "concurrency") == 0) {
            if (!cJSON_IsNull(f) && !whole(f, 1, 1000000, &s->concurrency))
                return bad(param, plen, why, wlen, "concurrency", "must be a whole number from 1 to 1000000, or null");
            s->given |= QS_CONCURRENCY;
        } else if (strcmp(f->string, "paused") == 0) {
            if (!cJSON_IsBool(f))
                return bad(param, plen, why, wlen, "paused", "must be true or false");
            s->paused = cJSON_IsTrue(f);
            s->given |= QS_PAUSED;
        } else if (strcmp(f->string, "group") == 0) {
            if (cJSON_IsNull(f)) { /* clears both group limits */
                s->given |= QS_GROUP_CONCURRENCY | QS_GROUP_RATE;
                continue;
            }
            if (!cJSON_IsObject(f))
                return bad(param, plen, why, wlen, "group", "must be {\"concurrency\": N, \"rate_limit\": {...}} or null");
            for (const cJSON *g = f->child; g; g = g->next) {
                if (strcmp(g->string, "concurrency") == 0) {
                    if (!cJSON_IsNull(g) && !whole(g, 1, 1000000, &s->group_concurrency))
                        return bad(param, plen, why, wlen, "group.concurrency", "must be a whole number from 1 to 1000000, or null");
                    s->given |= QS_GROUP_CONCURRENCY;
                } else if (strcmp(g->string, "rate_limit") == 0) {
                    if (parse_rate(g, &s->group_rate_max, &s->group_rate_duration_ms, "group.rate_limit", param, plen, why, wlen) < 0)
                        return -1;
                    s->given |= QS_GROUP_RATE;
                } else {
                    return bad(param, plen, why, wlen, "group", "allowed fields: concurrency, rate_limit");
                }
            }
        } else {
            char p[80];
            snprintf(p, sizeof p, "%.60s", f->string);
            return bad(param, plen, why, wlen, p, "unknown field (allowed: rate_limit, concurrency, paused, group)");
        }
    }
    return 0;
}

void queue_settings_reset_json(const struct queue_settings *s, struct sbuf *b)
{
    static const struct {
        unsigned bit;
        const char *name;
    } f[] = {{QS_RATE, "rate_limit"}, {QS_CONCURRENCY, "concurrency"}, {QS_PAUSED, "paused"},
             {QS_GROUP_CONCURRENCY, "group.concurrency"}, {QS_GROUP_RATE, "group.rate_limit"}};
    sbuf_putc(b, '[');
    int n = 0;
    for (size_t i = 0; i < ARRAY_LEN(f); i++)
        if (!(s->given & f[i].bit))
            sbuf_printf(b, "%s\"%s\"", n++ ? "," : "", f[i].name);
    sbuf_putc(b, ']');
}

void queuestore_ensure_sql(struct sbuf *b, uint64_t tenant, const char *name)
{
    sbuf_printf(b, "INSERT IGNORE INTO queues (tenant_id, name) VALUES (%llu, ", (unsigned long long)tenant);
    sql_cstr(b, name);
    sbuf_putc(b, ')');
}

void queuestore_ensure_callbacks_sql(struct sbuf *b, const char *ids_sql)
{
    sbuf_printf(b, "INSERT IGNORE INTO queues (tenant_id, name) SELECT DISTINCT tenant_id, '%s' "
                   "FROM jobs WHERE id IN (%s) AND callback_url IS NOT NULL",
                QUEUESTORE_CALLBACKS, ids_sql);
}

/* One GET: the settings first, then (counting) one statement of bounded
 * counts for the queues read. */
struct list {
    struct db_pool *db;
    uint64_t tenant;
    long long lmax, lms;
    struct queuestore_count count;   /* cap 0: no job is read */
    queuestore_cb cb;
    void *arg;
    size_t n;
    char **names;    /* the queues read, in order */
    char **objs;     /* each one's JSON object up to its settings, unclosed */
};

static void qlist_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->objs[i]);
    }
    free(l->names);
    free(l->objs);
    free(l);
}

static void num_or_null(struct sbuf *b, const char *v)
{
    sbuf_puts(b, v ? v : "null");
}

/* Answers the queues: objs closed with the counts given (NULL: not counted). */
static void list_answer(struct list *l, MYSQL_RES *counted)
{
    static const char *const states[] = {"queued", "running", "succeeded", "failed", "cancelled"};
    long long cap = l->count.cap;
    size_t ncount = !counted ? 0 : l->n < QUEUESTORE_COUNT_QUEUES_MAX ? l->n : QUEUESTORE_COUNT_QUEUES_MAX;
    long long (*c)[7] = xcalloc(ncount + 1, sizeof *c); /* 5 states, due queued, oldest ms (-1 none) */
    for (size_t i = 0; i < ncount; i++)
        c[i][6] = -1;
    MYSQL_ROW row;
    while (counted && (row = mysql_fetch_row(counted))) {
        size_t i = (size_t)db_row_ll(row, 0);
        int k = (int)db_row_ll(row, 1);
        if (i < ncount && k >= 0 && k <= 5) {
            c[i][k] = db_row_ll(row, 2);
            if (k == 5 && row[3])
                c[i][6] = db_row_ll(row, 3);
        }
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '[');
    for (size_t i = 0; i < l->n; i++) {
        sbuf_printf(&b, "%s%s", i ? "," : "", l->objs[i]);
        if (!counted || i >= ncount) {
            sbuf_puts(&b, ",\"counts\":null,\"counts_cap\":null,\"counts_capped\":null,"
                          "\"oldest_queued_age_ms\":null,\"depth_age_ms\":null}");
            continue;
        }
        sbuf_puts(&b, ",\"counts\":{");
        for (int k = 0; k < 5; k++)
            sbuf_printf(&b, "%s\"%s\":%lld", k ? "," : "", states[k], c[i][k] > cap ? cap : c[i][k]);
        sbuf_printf(&b, "},\"counts_cap\":%lld,\"counts_capped\":[", cap);
        for (int k = 0, m = 0; k < 5; k++)
            if (c[i][k] > cap)
                sbuf_printf(&b, "%s\"%s\"", m++ ? "," : "", states[k]);
        sbuf_puts(&b, "],\"oldest_queued_age_ms\":");
        long long age_ms = c[i][6], snap_ms = -1; /* every due queued job was read: exact (-1: none due) */
        if (c[i][5] > cap && !(l->count.oldest && l->count.oldest(l->count.arg, l->tenant, l->names[i], &age_ms,
                                                                   &snap_ms)))
            age_ms = -1; /* more due than the cap and no snapshot yet */
        if (age_ms >= 0)
            sbuf_printf(&b, "%lld", age_ms);
        else
            sbuf_puts(&b, "null");
        if (snap_ms >= 0)
            sbuf_printf(&b, ",\"depth_age_ms\":%lld}", snap_ms);
        else
            sbuf_puts(&b, ",\"depth_age_ms\":null}");
    }
    sbuf_putc(&b, ']');
    l->cb(b.data, NULL, l->arg);
    sbuf_deinit(&b);
    free(c);
    qlist_free(l);
}

static void counted_cb(const struct db_result *r, void *arg)
{
    struct list *l = arg;
    if (r->ok) {
        list_answer(l, r->res);
        return;
    }
    l->cb(NULL, r->error, l->arg);
    qlist_free(l);
}

/* Appends "SELECT i, k, COUNT(*), age FROM (at most cap + 1 jobs) x":
 * bounded index range reads of jobs_tenant_queue, never a whole queue. */
static void count_sql(struct sbuf *b, const struct list *l, size_t i, int k)
{
    long long lim = l->count.cap + 1;
    sbuf_printf(b, "%sSELECT %zu, %d, COUNT(*), %s FROM (SELECT %s FROM jobs WHERE tenant_id = %llu AND queue = ",
                i || k ? " UNION ALL " : "", i, k,
                k == 5 ? "TIMESTAMPDIFF(MICROSECOND, MIN(run_at), NOW(6)) DIV 1000" : "NULL",
                k == 5 ? "run_at" : "1", (unsigned long long)l->tenant);
    sql_cstr(b, l->names[i]);
    if (k == 5)
        sbuf_printf(b, " AND state = 0 AND run_at <= NOW(6) LIMIT %lld) x", lim);
    else
        sbuf_printf(b, " AND state = %d LIMIT %lld) x", k, lim);
}

static void list_cb(const struct db_result *r, void *arg)
{
    struct list *l = arg;
    if (!r->ok) {
        l->cb(NULL, r->error, l->arg);
        qlist_free(l);
        return;
    }
    size_t rows = (size_t)mysql_num_rows(r->res);
    l->names = xcalloc(rows + 1, sizeof *l->names);
    l->objs = xcalloc(rows + 1, sizeof *l->objs);
    MYSQL_ROW row;
    while (l->n < rows && (row = mysql_fetch_row(r->res))) {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"object\":\"queue\",\"name\":");
        sbuf_json_str(&b, row[0]);
        sbuf_printf(&b, ",\"paused\":%s,\"rate_limit\":", strcmp(db_row_str(row, 1), "1") == 0 ? "true" : "false");
        if (row[2])
            sbuf_printf(&b, "{\"max\":%s,\"duration_ms\":%s}", row[2], row[3]);
        else if (l->lmax > 0)
            sbuf_printf(&b, "{\"max\":%lld,\"duration_ms\":%lld,\"default\":true}", l->lmax, l->lms);
        else
            sbuf_puts(&b, "null"); /* unlimited: QUEUE_LIMITER_MAX=0 and none of its own */
        sbuf_puts(&b, ",\"concurrency\":");
        num_or_null(&b, row[4]);
        sbuf_puts(&b, ",\"group\":{\"concurrency\":");
        num_or_null(&b, row[5]);
        sbuf_puts(&b, ",\"rate_limit\":");
        if (row[6])
            sbuf_printf(&b, "{\"max\":%s,\"duration_ms\":%s}", row[6], row[7]);
        else
            sbuf_puts(&b, "null");
        sbuf_putc(&b, '}');
        l->names[l->n] = xstrdup(row[0]);
        l->objs[l->n++] = sbuf_steal(&b);
    }
    if (l->count.cap <= 0 || l->n == 0) {
        list_answer(l, NULL);
        return;
    }
    size_t counted = l->n < QUEUESTORE_COUNT_QUEUES_MAX ? l->n : QUEUESTORE_COUNT_QUEUES_MAX;
    struct sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < counted; i++)
        for (int k = 0; k <= 5; k++)
            count_sql(&b, l, i, k);
    db_query(l->db, b.data, 0, counted_cb, l);
    sbuf_deinit(&b);
}

void queuestore_list_opt(struct db_pool *db, uint64_t tenant, const char *name, const struct queuestore_count *count,
                         long long lmax, long long lms, queuestore_cb cb, void *arg)
{
    struct list *l = xcalloc(1, sizeof *l);
    l->db = db;
    l->tenant = tenant;
    if (count)
        l->count = *count;
    l->lmax = lmax;
    l->lms = lms;
    l->cb = cb;
    l->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b,
                "SELECT q.name, q.paused, q.rate_max, q.rate_duration_ms, q.concurrency, q.group_concurrency, "
                "q.group_rate_max, q.group_rate_duration_ms FROM queues q WHERE q.tenant_id = %llu",
                (unsigned long long)tenant);
    if (name) {
        sbuf_puts(&b, " AND q.name = ");
        sql_cstr(&b, name);
    }
    sbuf_puts(&b, " ORDER BY q.name");
    db_query(db, b.data, 0, list_cb, l);
    sbuf_deinit(&b);
}

struct put {
    struct db_pool *db;
    uint64_t tenant;
    long long lmax, lms;
    char *name;
    struct queuestore_count count;
    queuestore_cb cb;
    void *arg;
};

static void put_cb(const struct db_result *r, void *arg)
{
    struct put *p = arg;
    if (!r->ok)
        p->cb(NULL, r->error, p->arg);
    else
        queuestore_list_opt(p->db, p->tenant, p->name, &p->count, p->lmax, p->lms, p->cb, p->arg);
    free(p->name);
    free(p);
}

static void nullable(struct sbuf *b, long long v)
{
    if (v < 0)
        sbuf_puts(b, "NULL");
    else
        sbuf_printf(b, "%lld", v);
}

void queuestore_put(struct db_pool *db, uint64_t tenant, const char *name,
                    const struct queue_settings *s, const struct queuestore_count *count, long long lmax,
                    long long lms, queuestore_cb cb, void *arg)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO queues (tenant_id, name, rate_max, rate_duration_ms, concurrency, "
                    "group_concurrency, group_rate_max, group_rate_duration_ms, paused) VALUES (%llu, ",
                (unsigned long long)tenant);
    sql_cstr(&b, name);
    const long long v[] = {s->rate_max, s->rate_duration_ms, s->concurrency, s->group_concurrency,
                           s->group_rate_max, s->group_rate_duration_ms};
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        sbuf_putc(&b, ',');
        nullable(&b, v[i]);
    }
    /* On an existing queue only what was given changes (PATCH merges;
     * PUT gives everything). */
    static const struct {
        unsigned bit;
        const char *cols[2];
    } upd[] = {{QS_RATE, {"rate_max", "rate_duration_ms"}},
               {QS_CONCURRENCY, {"concurrency", NULL}},
               {QS_PAUSED, {"paused", NULL}},
               {QS_GROUP_CONCURRENCY, {"group_concurrency", NULL}},
               {QS_GROUP_RATE, {"group_rate_max", "group_rate_duration_ms"}}};
    sbuf_printf(&b, ",%d) ON DUPLICATE KEY UPDATE ", s->paused ? 1 : 0);
    int n = 0;
    for (size_t i = 0; i < ARRAY_LEN(upd); i++)
        for (size_t k = 0; k < 2 && (s->given & upd[i].bit) && upd[i].cols[k]; k++)
            sbuf_printf(&b, "%s%s = VALUES(%s)", n++ ? ", " : "", upd[i].cols[k], upd[i].cols[k]);
    if (!n)
        sbuf_puts(&b, "name = name"); /* nothing to change: keeps the row as it is */
    struct put *p = xcalloc(1, sizeof *p);
    p->db = db;
    p->tenant = tenant;
    p->lmax = lmax;
    p->lms = lms;
    p->name = xstrdup(name);
    p->count = *count;
    p->cb = cb;
    p->arg = arg;
    db_query(db, b.data, 0, put_cb, p);
    sbuf_deinit(&b);
}
