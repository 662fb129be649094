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

struct list {
    bool counts;
    long long lmax, lms;
    queuestore_cb cb;
    void *arg;
};

static void num_or_null(struct sbuf *b, const char *v)
{
    sbuf_puts(b, v ? v : "null");
}

static void list_cb(const struct db_result *r, void *arg)
{
    struct list *l = arg;
    if (!r->ok) {
        l->cb(NULL, r->error, l->arg);
        free(l);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '[');
    MYSQL_ROW row;
    int n = 0;
    while ((row = mysql_fetch_row(r->res))) {
        if (n++)
            sbuf_putc(&b, ',');
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
        if (!l->counts) {
            sbuf_puts(&b, "},\"counts\":null,\"oldest_queued_age_ms\":null");
        } else {
            sbuf_printf(&b, "},\"counts\":{\"queued\":%lld,\"running\":%lld,\"succeeded\":%lld,\"failed\":%lld,\"cancelled\":%lld}",
                        db_row_ll(row, 8), db_row_ll(row, 9), db_row_ll(row, 10), db_row_ll(row, 11), db_row_ll(row, 12));
            sbuf_puts(&b, ",\"oldest_queued_age_ms\":");
            num_or_null(&b, row[13]);
        }
        sbuf_putc(&b, '}');
    }
    sbuf_putc(&b, ']');
    l->cb(b.data, NULL, l->arg);
    sbuf_deinit(&b);
    free(l);
}

void queuestore_list(struct db_pool *db, uint64_t tenant, const char *name, long long lmax,
                     long long lms, queuestore_cb cb, void *arg)
{
    queuestore_list_opt(db, tenant, name, true, lmax, lms, cb, arg);
}

void queuestore_list_opt(struct db_pool *db, uint64_t tenant, const char *name, bool counts, long long lmax,
                         long long lms, queuestore_cb cb, void *arg)
{
    struct list *l = xcalloc(1, sizeof *l);
    l->counts = counts;
    l->lmax = lmax;
    l->lms = lms;
    l->cb = cb;
    l->arg = arg;
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b,
                "SELECT q.name, q.paused, q.rate_max, q.rate_duration_ms, q.concurrency, q.group_concurrency, "
                "q.group_rate_max, q.group_rate_duration_ms, "
                "COALESCE(SUM(j.state = 0), 0), COALESCE(SUM(j.state = 1), 0), COALESCE(SUM(j.state = 2), 0), "
                "COALESCE(SUM(j.state = 3), 0), COALESCE(SUM(j.state = 4), 0), "
                "TIMESTAMPDIFF(MICROSECOND, MIN(IF(j.state = 0 AND j.run_at <= NOW(6), j.run_at, NULL)), NOW(6)) DIV 1000 "
                "FROM queues q LEFT JOIN jobs j ON %s AND j.tenant_id = q.tenant_id AND j.queue = q.name "
                "WHERE q.tenant_id = %llu",
                counts ? "1" : "0", (unsigned long long)tenant); /* without counts: no job is read */
    if (name) {
        sbuf_puts(&b, " AND q.name = ");
        sql_cstr(&b, name);
    }
    sbuf_puts(&b, " GROUP BY q.name ORDER BY q.name");
    db_query(db, b.data, 0, list_cb, l);
    sbuf_deinit(&b);
}

struct put {
    struct db_pool *db;
    uint64_t tenant;
    long long lmax, lms;
    char *name;
    queuestore_cb cb;
    void *arg;
};

static void put_cb(const struct db_result *r, void *arg)
{
    struct put *p = arg;
    if (!r->ok)
        p->cb(NULL, r->error, p->arg);
    else
        queuestore_list(p->db, p->tenant, p->name, p->lmax, p->lms, p->cb, p->arg);
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
                    const struct queue_settings *s, long long lmax, long long lms,
                    queuestore_cb cb, void *arg)
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
    p->cb = cb;
    p->arg = arg;
    db_query(db, b.data, 0, put_cb, p);
    sbuf_deinit(&b);
}
