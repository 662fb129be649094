#include "schedstore.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "sql.h"

static int bad(int *status, int st, char *param, size_t plen, const char *p, char *why, size_t wlen,
               const char *w)
{
    *status = st;
    snprintf(param, plen, "%s", p);
    snprintf(why, wlen, "%s", w);
    return -1;
}

/* A job error's message without its leading field name ("payload.url: x"
 * or "kind must be x" give "x", "must be x"): the caller names the field
 * once, as job.<param>. */
static const char *job_why(const struct job_error *e)
{
    size_t n = strlen(e->param);
    if (n && strncmp(e->message, e->param, n) == 0) {
        if (e->message[n] == ':' && e->message[n + 1] == ' ')
            return e->message + n + 2;
        if (e->message[n] == ' ')
            return e->message + n + 1;
    }
    return e->message;
}

int schedule_job_spec(const char *job_json, const struct job_limits *lim, struct job_spec *out,
                      char *why, size_t wlen)
{
    cJSON *j = cJSON_Parse(job_json);
    struct job_error e;
    int rc = j ? job_spec_parse(j, lim, out, &e) : -1;
    if (!j)
        snprintf(why, wlen, "the stored job is not JSON");
    else if (rc < 0)
        snprintf(why, wlen, "job.%s: %s", e.param, job_why(&e));
    cJSON_Delete(j);
    return rc;
}

int schedule_spec_parse(const cJSON *body, const struct job_limits *lim, struct schedule_spec *s,
                        int *status, char *param, size_t plen, char *why, size_t wlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->timezone, sizeof s->timezone, "UTC");
    if (!cJSON_IsObject(body))
        return bad(status, 400, param, plen, "", why, wlen, "the body must be a JSON object");
    const cJSON *cron = NULL, *job = NULL;
    for (const cJSON *f = body->child; f; f = f->next) {
        if (strcmp(f->string, "cron") == 0) {
            cron = f;
        } else if (strcmp(f->string, "timezone") == 0) {
            char tzwhy[400];
            if (!cJSON_IsString(f) || !cron_tz_check(f->valuestring, tzwhy, sizeof tzwhy)) {
                if (cJSON_IsString(f) && !cron_zoneinfo_present())
                    return bad(status, 400, param, plen, "timezone", why, wlen, tzwhy);
                return bad(status, 400, param, plen, "timezone", why, wlen,
                           "must be an IANA time zone this system knows, e.g. Europe/Berlin or UTC");
            }
            snprintf(s->timezone, sizeof s->timezone, "%s", f->valuestring);
        } else if (strcmp(f->string, "job") == 0) {
            job = f;
        } else if (strcmp(f->string, "paused") == 0) {
            if (!cJSON_IsBool(f))
                return bad(status, 400, param, plen, "paused", why, wlen, "must be true or false");
            s->paused = cJSON_IsTrue(f);
        } else {
            char p[80];
            snprintf(p, sizeof p, "%.60s", f->string);
            return bad(status, 400, param, plen, p, why, wlen,
                       "unknown field (allowed: cron, timezone, job, paused)");
        }
    }
    if (!cron || !cJSON_IsString(cron) || strlen(cron->valuestring) >= sizeof s->cron)
        return bad(status, 400, param, plen, "cron", why, wlen,
                   "required: a cron expression such as \"*/5 * * * *\", \"@daily\" or \"@every 10s\"");
    char cwhy[200];
    if (cron_parse(cron->valuestring, &s->c, cwhy, sizeof cwhy) < 0)
        return bad(status, 400, param, plen, "cron", why, wlen, cwhy);
    snprintf(s->cron, sizeof s->cron, "%s", cron->valuestring);
    /* A schedule that can never fire (30 FEB, 31 APR) would be stored and
     * stay silent for ever: refuse it while the client is listening. */
    if (cron_next(&s->c, s->timezone, (int64_t)time(NULL)) < 0)
        return bad(status, 400, param, plen, "cron", why, wlen,
                   "never fires: no date matches it (e.g. day 30 of February)");
    if (!cJSON_IsObject(job))
        return bad(status, 400, param, plen, "job", why, wlen, "required: the job to enqueue at each tick, as for POST /v1/jobs");
    /* A tick fixes when the job is due and is itself the idempotency. */
    if (cJSON_GetObjectItemCaseSensitive(job, "run_at"))
        return bad(status, 400, param, plen, "job.run_at", why, wlen, "not allowed in a schedule (use delay_ms)");
    if (cJSON_GetObjectItemCaseSensitive(job, "idempotency_key"))
        return bad(status, 400, param, plen, "job.idempotency_key", why, wlen,
                   "not allowed in a schedule (each tick fires once)");
    struct job_spec js;
    struct job_error e;
    if (job_spec_parse(job, lim, &js, &e) < 0) {
        char p[80];
        snprintf(p, sizeof p, "job.%.60s", e.param);
        return bad(status, e.status, param, plen, p, why, wlen, job_why(&e));
    }
    job_spec_deinit(&js);
    s->job = cJSON_PrintUnformatted(job);
    if (!s->job)
        abort();
    return 0;
}

void schedule_spec_deinit(struct schedule_spec *s)
{
    if (s->job)
        cJSON_free(s->job);
    s->job = NULL;
}

void schedstore_iso(int64_t utc_s, char out[24])
{
    time_t t = (time_t)utc_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct ctx {
    struct db_pool *db;
    uint64_t tenant;
    char name[SCHEDULE_NAME_MAX + 1];
    bool one;
    schedstore_cb cb;
    void *arg;
};

enum { S_NAME, S_CRON, S_TZ, S_JOB, S_PAUSED, S_LAST_FIRED, S_LAST_JOB, S_CREATED, S_UPDATED };

static void schedule_json(MYSQL_ROW row, struct sbuf *b, int64_t now)
{
    sbuf_puts(b, "{\"object\":\"schedule\",\"name\":");
    sbuf_json_str(b, row[S_NAME]);
    sbuf_puts(b, ",\"cron\":");
    sbuf_json_str(b, row[S_CRON]);
    sbuf_puts(b, ",\"timezone\":");
    sbuf_json_str(b, row[S_TZ]);
    sbuf_printf(b, ",\"job\":%s,\"paused\":%s,\"next_fire_times\":[", row[S_JOB],
                db_row_ll(row, S_PAUSED) ? "true" : "false");
    struct cron c;
    char why[200];
    if (cron_parse(row[S_CRON], &c, why, sizeof why) == 0) {
        int64_t t = now;
        for (int i = 0; i < SCHEDULE_NEXT_SHOWN; i++) {
            t = cron_next(&c, row[S_TZ], t);
            if (t < 0)
                break;
            char iso[24];
            schedstore_iso(t, iso);
            sbuf_printf(b, "%s\"%s\"", i ? "," : "", iso);
        }
    }
    sbuf_puts(b, "],\"last_fired_at\":");
    if (row[S_LAST_FIRED])
        sbuf_printf(b, "\"%s\"", row[S_LAST_FIRED]);
    else
        sbuf_puts(b, "null");
    sbuf_puts(b, ",\"last_job_id\":");
    if (row[S_LAST_JOB])
        sbuf_printf(b, "\"job_%s\"", row[S_LAST_JOB]);
    else
        sbuf_puts(b, "null");
    sbuf_printf(b, ",\"created_at\":\"%s\",\"updated_at\":\"%s\"}", row[S_CREATED], row[S_UPDATED]);
}

static void list_cb(const struct db_result *r, void *arg)
{
    struct ctx *c = arg;
    if (!r->ok) {
        c->cb(NULL, r->err_code, r->error, c->arg);
        free(c);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '[');
    MYSQL_ROW row;
    int64_t now = (int64_t)time(NULL);
    for (int n = 0; (row = mysql_fetch_row(r->res)); n++) {
        if (n)
            sbuf_putc(&b, ',');
        schedule_json(row, &b, now);
    }
    sbuf_putc(&b, ']');
    c->cb(b.data, 0, NULL, c->arg);
    sbuf_deinit(&b);
    free(c);
}

static void list(struct ctx *c)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "SELECT name, cron, timezone, job, paused, "
                  "DATE_FORMAT(last_fired_at, '%Y-%m-%dT%H:%i:%sZ'), last_job_id, "
                  "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "
                  "DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.%fZ') FROM schedules ");
    sbuf_printf(&b, "WHERE tenant_id = %llu", (unsigned long long)c->tenant);
    if (c->one) {
        sbuf_puts(&b, " AND name = ");
        sql_cstr(&b, c->name);
    }
    sbuf_puts(&b, " ORDER BY name LIMIT 1000");
    db_query(c->db, b.data, 0, list_cb, c);
    sbuf_deinit(&b);
}

static struct ctx *ctx_new(struct db_pool *db, uint64_t tenant, const char *name, schedstore_cb cb,
                           void *arg)
{
    struct ctx *c = xcalloc(1, sizeof *c);
    c->db = db;
    c->tenant = tenant;
    c->one = name != NULL;
    snprintf(c->name, sizeof c->name, "%s", name ? name : "");
    c->cb = cb;
    c->arg = arg;
    return c;
}

void schedstore_list(struct db_pool *db, uint64_t tenant, const char *name_or_null,
                     schedstore_cb cb, void *arg)
{
    list(ctx_new(db, tenant, name_or_null, cb, arg));
}

static void put_cb(const struct db_result *r, void *arg)
{
    struct ctx *c = arg;
    if (!r->ok) {
        c->cb(NULL, r->err_code, r->error, c->arg);
        free(c);
        return;
    }
    list(c);
}

void schedstore_put(struct db_pool *db, uint64_t tenant, const char *name,
                    const struct schedule_spec *s, schedstore_cb cb, void *arg)
{
    struct ctx *c = ctx_new(db, tenant, name, cb, arg);
    int64_t next = cron_next(&s->c, s->timezone, (int64_t)time(NULL));
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "INSERT INTO schedules (tenant_id, name, cron, timezone, job, paused, next_fire_at) "
                    "VALUES (%llu, ", (unsigned long long)tenant);
    sql_cstr(&b, name);
    sbuf_putc(&b, ',');
    sql_cstr(&b, s->cron);
    sbuf_putc(&b, ',');
    sql_cstr(&b, s->timezone);
    sbuf_putc(&b, ',');
    sql_cstr(&b, s->job);
    sbuf_printf(&b, ", %d, ", s->paused ? 1 : 0);
    if (next >= 0)
        sbuf_printf(&b, "FROM_UNIXTIME(%lld)", (long long)next);
    else
        sbuf_puts(&b, "NULL");
    sbuf_puts(&b, ") ON DUPLICATE KEY UPDATE cron = VALUES(cron), timezone = VALUES(timezone), "
                  "job = VALUES(job), paused = VALUES(paused), next_fire_at = VALUES(next_fire_at)");
    db_query(db, b.data, 0, put_cb, c);
    sbuf_deinit(&b);
}

static void delete_cb(const struct db_result *r, void *arg)
{
    struct ctx *c = arg;
    c->cb(r->ok ? (r->affected_rows ? "true" : "false") : NULL, r->err_code, r->ok ? NULL : r->error, c->arg);
    free(c);
}

void schedstore_delete(struct db_pool *db, uint64_t tenant, const char *name, schedstore_cb cb,
                       void *arg)
{
    struct ctx *c = ctx_new(db, tenant, name, cb, arg);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "DELETE FROM schedules WHERE tenant_id = %llu AND name = ", (unsigned long long)tenant);
    sql_cstr(&b, name);
    db_query(db, b.data, 0, delete_cb, c);
    sbuf_deinit(&b);
}
