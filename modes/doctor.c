#include "doctor.h"
#include "doctor_int.h"
#include "doctor_llm.h"
#include "doctor_rt.h"

#include <curl/curl.h>
#include <hiredis.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_lint.h"
#include "db_sync.h"
#include "migrate.h"
#include "netname.h"
#include "url.h"
#include "version.h"

void doctor_add(struct doctor *d, const char *name, enum dr_status st, const char *hint,
                const char *fmt, ...)
{
    if (d->n >= ARRAY_LEN(d->checks))
        return;
    struct dr_check *c = &d->checks[d->n++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->status = st;
    snprintf(c->hint, sizeof c->hint, "%s", hint ? hint : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

static void check_config(struct doctor *d, const struct config *cfg, const char *problems)
{
    if (problems && *problems) {
        char one[512];
        size_t len = strcspn(problems, "\n");
        snprintf(one, sizeof one, "%.*s", (int)len, problems);
        int count = 0;
        for (const char *p = problems; *p; p++)
            count += *p == '\n';
        doctor_add(d, "config", DR_FAIL, "fix the variable named; see .env.example",
            "%d problem(s); first: %s", count, one);
    } else {
        doctor_add(d, "config", DR_OK, NULL, "all settings valid");
    }
    static const enum cfg_id secrets[] = {CFG_JWT_SECRET, CFG_API_KEY_HASH_SECRET,
                                          CFG_ENCRYPTION_KEY, CFG_SIGNING_KEY};
    char missing[256] = "";
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
        if (!*cfg->raw[secrets[i]]) {
            if (*missing)
                strncat(missing, ", ", sizeof missing - strlen(missing) - 1);
            strncat(missing, config_info(secrets[i])->name, sizeof missing - strlen(missing) - 1);
        }
    }
    /* Present is not enough: placeholders and low-entropy keys fail. */
    char weak[512] = "", why[256];
    int nweak = 0;
    for (int i = 0; i < CFG_COUNT; i++) {
        if (!config_lint_secret((enum cfg_id)i, cfg->raw[i], why, sizeof why))
            continue;
        if (nweak++)
            strncat(weak, "; ", sizeof weak - strlen(weak) - 1);
        strncat(weak, why, sizeof weak - strlen(weak) - 1);
    }
    if (*missing)
        doctor_add(d, "secrets", DR_FAIL, "`ingot init` writes a .env with fresh secrets", "not set: %s",
            missing);
    else if (nweak)
        doctor_add(d, "secrets", DR_FAIL, "`ingot init` or `openssl rand -base64 32` makes real ones",
            "%d weak: %s", nweak, weak);
    else
        doctor_add(d, "secrets", DR_OK, NULL, "present, no placeholders, enough entropy");
    /* Keys in .env that are not settings (config collected them). */
    if (cfg->warnings.len) {
        char list[512] = "";
        int n = 0;
        for (const char *p = cfg->warnings.data; *p;) {
            size_t len = strcspn(p, "\n");
            const char *line = strncmp(p, ".env: ", 6) == 0 ? p + 6 : p;
            size_t ll = len - (size_t)(line - p);
            if (n++)
                strncat(list, "; ", sizeof list - strlen(list) - 1);
            size_t room = sizeof list - strlen(list) - 1;
            strncat(list, line, ll < room ? ll : room);
            p += len + (p[len] == '\n');
        }
        doctor_add(d, "env-file", DR_WARN, "rename or remove the key; `ingot init --example` lists every setting",
            "%s", list);
    } else {
        doctor_add(d, "env-file", DR_OK, NULL, "no unknown keys");
    }
    if (cfg->alias_used[CFG_LLM_BASE_URL] || cfg->alias_used[CFG_LLM_API_KEY])
        doctor_add(d, "llm-config", DR_OK, NULL, "LLM settings taken from %s%s%s",
            cfg->alias_used[CFG_LLM_BASE_URL] ? "BUILT_IN_FORGE_API_URL" : "",
            cfg->alias_used[CFG_LLM_BASE_URL] && cfg->alias_used[CFG_LLM_API_KEY] ? " and " : "",
            cfg->alias_used[CFG_LLM_API_KEY] ? "BUILT_IN_FORGE_API_KEY" : "");
    else if (*cfg->llm_base_url)
        doctor_add(d, "llm-config", DR_OK, NULL, "LLM settings from LLM_BASE_URL / LLM_API_KEY");
}

static bool version_at_least(const char *v, int major, int minor)
{
    int ma = 0, mi = 0;
    if (sscanf(v, "%d.%d", &ma, &mi) != 2)
        return false;
    return ma > major || (ma == major && mi >= minor);
}

static void check_database(struct doctor *d, const struct config *cfg)
{
    char err[1024];
    if (!*cfg->database_url) {
        struct db_dsn dsn;
        if (!*cfg->raw[CFG_DATABASE_URL])
            doctor_add(d, "database", DR_FAIL, "set DATABASE_URL", "DATABASE_URL not set");
        else if (db_dsn_parse(cfg->raw[CFG_DATABASE_URL], &dsn, err, sizeof err) < 0)
            doctor_add(d, "database", DR_FAIL, "the form is mysql://USER:PASSWORD@HOST:PORT/DB",
                "DATABASE_URL is set but malformed: %s", err); /* never the URL: it has the password */
        else
            db_dsn_deinit(&dsn);
        return;
    }
    int64_t t0 = time_mono_us();
    MYSQL *m = db_sync_connect(cfg->database_url, cfg->database_connection_timeout_ms, err, sizeof err);
    if (!m) {
        doctor_add(d, "database", DR_FAIL, "is MariaDB running and DATABASE_URL right?", "%s", err);
        return;
    }
    const char *ver = mysql_get_server_info(m);
    bool is_maria = strstr(ver, "MariaDB") != NULL;
    if (!version_at_least(ver, 10, 6))
        doctor_add(d, "database", DR_FAIL, "ingot needs MariaDB 10.6 or later (SKIP LOCKED)",
            "server %s is too old", ver);
    else
        doctor_add(d, "database", is_maria ? DR_OK : DR_WARN,
            is_maria ? NULL : "ingot is tested on MariaDB; other servers may differ",
            "reachable in %.1f ms, server %s", (double)(time_mono_us() - t0) / 1000.0, ver);

    int applied = 0, changed = 0, need = migrate_required_version();
    if (migrate_inspect(m, &applied, &changed, err, sizeof err) < 0)
        doctor_add(d, "schema", DR_FAIL, "check the user's privileges", "cannot read schema_migrations: %s", err);
    else if (changed)
        doctor_add(d, "schema", DR_FAIL, "migrations are forward-only: restore the original files",
            "%d applied migration(s) changed since they were applied", changed);
    else if (applied < need)
        doctor_add(d, "schema", DR_FAIL, "run `ingot migrate`", "schema at version %d, this binary needs %d",
            applied, need);
    else if (applied > need)
        doctor_add(d, "schema", DR_WARN, "fine during a rolling update; upgrade this binary",
            "schema at version %d is newer than this binary (%d)", applied, need);
    else
        doctor_add(d, "schema", DR_OK, NULL, "current (version %d)", applied);

    int64_t before = time_real_us();
    MYSQL_RES *res = db_sync_query(m, "SELECT UNIX_TIMESTAMP(NOW(6))", err, sizeof err);
    int64_t after = time_real_us();
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0]) {
        double db_s = strtod(row[0], NULL);
        double local_s = (double)(before + after) / 2e6;
        double skew = local_s - db_s;
        double abs_skew = skew < 0 ? -skew : skew;
        doctor_add(d, "clock", abs_skew > 2.0 ? DR_WARN : DR_OK,
            abs_skew > 2.0 ? "run NTP on both hosts: leases and schedules use both clocks" : NULL,
            "skew to the database %.3f s", skew);
    } else {
        doctor_add(d, "clock", DR_WARN, NULL, "cannot read the database clock: %s", err);
    }
    if (res)
        mysql_free_result(res);
    mysql_close(m);
}

static char *info_field(const char *info, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = info; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            size_t vl = strcspn(p + kl + 1, "\r\n");
            return xstrndup(p + kl + 1, vl);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

static redisReply *rcmd(redisContext *c, int argc, const char **argv)
{
    return redisCommandArgv(c, argc, argv, NULL);
}

static void check_redis(struct doctor *d, const struct config *cfg)
{
    if (!*cfg->redis_url && *cfg->raw[CFG_REDIS_URL]) {
        struct redis_dsn bad;
        char why[256] = "invalid";
        if (redis_dsn_parse(cfg->raw[CFG_REDIS_URL], &bad, why, sizeof why) == 0)
            redis_dsn_deinit(&bad);
        doctor_add(d, "redis", DR_FAIL, "the form is redis://[:PASSWORD@]HOST:PORT/DB or unix:///path",
            "REDIS_URL is set but malformed: %s", why);
        return;
    }
    if (!*cfg->redis_url) {
        doctor_add(d, "redis", DR_WARN, "set REDIS_URL for instant wake-ups and shared rate limits",
            "not configured: ingot runs degraded (polling, per-process limits)");
        return;
    }
    struct redis_dsn dsn;
    char err[256];
    if (redis_dsn_parse(cfg->redis_url, &dsn, err, sizeof err) < 0) {
        doctor_add(d, "redis", DR_FAIL, "fix REDIS_URL", "%s", err);
        return;
    }
    struct timeval tv = {2, 0};
    char ip[64], why[400];
    if (!dsn.socket && netname_resolve_sync(dsn.host, ip, sizeof ip, why, sizeof why) < 0) {
        doctor_add(d, "redis", DR_FAIL, "is REDIS_URL's host right?", "%s", why);
        redis_dsn_deinit(&dsn);
        return;
    }
    redisContext *c = dsn.socket ? redisConnectUnixWithTimeout(dsn.socket, tv)
                                 : redisConnectWithTimeout(ip, dsn.port, tv);
    if (!c || c->err) {
        doctor_add(d, "redis", DR_FAIL, "is Redis running and REDIS_URL right?", "cannot connect: %s",
            c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        redis_dsn_deinit(&dsn);
        return;
    }
    redisSetTimeout(c, tv);
    redisReply *r;
    if (dsn.password) {
        const char *a3[] = {"AUTH", dsn.user ? dsn.user : "", dsn.password};
        r = dsn.user ? rcmd(c, 3, a3) : rcmd(c, 2, (const char *[]){"AUTH", dsn.password});
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        if (!ok) {
            doctor_add(d, "redis", DR_FAIL, "check the password in REDIS_URL", "AUTH failed: %s",
                r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            goto out;
        }
        freeReplyObject(r);
    }
    r = rcmd(c, 2, (const char *[]){"INFO", "server"});
    if (!r || r->type != REDIS_REPLY_STRING) {
        doctor_add(d, "redis", DR_FAIL, "Redis did not answer INFO", "%s", r && r->str ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        goto out;
    }
    char *ver = info_field(r->str, "redis_version");
    freeReplyObject(r);
    if (!ver || !version_at_least(ver, 6, 2))
        doctor_add(d, "redis", DR_FAIL, "ingot needs Redis 6.2 or later", "version %s is too old",
            ver ? ver : "unknown");
    else
        doctor_add(d, "redis", DR_OK, NULL, "reachable, version %s", ver);
    free(ver);

    bool persistent = false;
    r = rcmd(c, 2, (const char *[]){"INFO", "persistence"});
    if (r && r->type == REDIS_REPLY_STRING) {
        char *aof = info_field(r->str, "aof_enabled");
        persistent = aof && strcmp(aof, "1") == 0;
        free(aof);
    }
    if (r)
        freeReplyObject(r);
    r = rcmd(c, 3, (const char *[]){"CONFIG", "GET", "save"});
    bool config_ok = r && r->type == REDIS_REPLY_ARRAY;
    if (config_ok && r->elements == 2 && r->element[1]->str && r->element[1]->str[0])
        persistent = true;
    if (r)
        freeReplyObject(r);
    doctor_add(d, "redis-persistence", persistent ? DR_OK : DR_WARN,
        persistent ? NULL : "enable appendonly or RDB saves: limiter and idempotency state survive restarts",
        persistent ? "on" : "off");

    r = rcmd(c, 3, (const char *[]){"CONFIG", "GET", "maxmemory-policy"});
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->str) {
        const char *pol = r->element[1]->str;
        bool good = strcmp(pol, "noeviction") == 0;
        doctor_add(d, "redis-eviction", good ? DR_OK : DR_WARN,
            good ? NULL : "set maxmemory-policy noeviction: evicted limiter keys loosen rate limits",
            "maxmemory-policy %s", pol);
    } else {
        doctor_add(d, "redis-eviction", DR_WARN, "CONFIG may be disabled on managed Redis; check the policy by hand",
            "cannot read maxmemory-policy");
    }
    if (r)
        freeReplyObject(r);
out:
    redisFree(c);
    redis_dsn_deinit(&dsn);
}

static const char *status_text(enum dr_status s)
{
    return s == DR_OK ? "ok" : s == DR_WARN ? "warn" : "fail";
}

int doctor_run(const struct config *cfg, const char *config_problems, bool json, FILE *out)
{
    struct doctor d;
    memset(&d, 0, sizeof d);
    check_config(&d, cfg, config_problems);
    doctor_check_runtime(&d, cfg);
    check_database(&d, cfg);
    check_redis(&d, cfg);
    doctor_check_llm(&d, cfg);
    int failed = 0, warned = 0;
    for (size_t i = 0; i < d.n; i++) {
        failed += d.checks[i].status == DR_FAIL;
        warned += d.checks[i].status == DR_WARN;
    }
    const char *verdict = failed ? "fail" : warned ? "warn" : "ok";
    if (json) {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_puts(&b, "{\"checks\":[");
        for (size_t i = 0; i < d.n; i++) {
            const struct dr_check *c = &d.checks[i];
            sbuf_printf(&b, "%s{\"name\":", i ? "," : "");
            sbuf_json_str(&b, c->name);
            sbuf_printf(&b, ",\"status\":\"%s\",\"message\":", status_text(c->status));
            sbuf_json_str(&b, c->message);
            sbuf_puts(&b, ",\"hint\":");
            sbuf_json_str(&b, c->hint[0] ? c->hint : NULL);
            sbuf_putc(&b, '}');
        }
        sbuf_printf(&b, "],\"verdict\":\"%s\",\"failed\":%d,\"warnings\":%d,\"version\":", verdict,
                    failed, warned);
        sbuf_json_str(&b, ingot_version());
        sbuf_puts(&b, "}\n");
        fputs(b.data, out);
        sbuf_deinit(&b);
    } else {
        for (size_t i = 0; i < d.n; i++) {
            const struct dr_check *c = &d.checks[i];
            fprintf(out, "%-4s  %-18s %s\n", status_text(c->status), c->name, c->message);
            if (c->hint[0] && c->status != DR_OK)
                fprintf(out, "      %-18s hint: %s\n", "", c->hint);
        }
        fprintf(out, "verdict: %s (%d failed, %d warning%s)\n", verdict, failed, warned,
                warned == 1 ? "" : "s");
    }
    return failed ? 1 : 0;
}

int doctor_probe(const char *url, long long timeout_ms, FILE *err)
{
    char msg[512];
    long st = doctor_http_get(url, NULL, timeout_ms, NULL, msg, sizeof msg);
    if (st == 200)
        return 0;
    if (st < 0)
        fprintf(err, "ingot doctor: %s: %s\n", url, msg);
    else
        fprintf(err, "ingot doctor: %s answered HTTP %ld\n", url, st);
    return 1;
}
