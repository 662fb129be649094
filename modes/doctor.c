#include "doctor.h"

#include <curl/curl.h>
#include <hiredis.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_lint.h"
#include "db_sync.h"
#include "migrate.h"
#include "url.h"
#include "version.h"

enum dr_status { DR_OK, DR_WARN, DR_FAIL };

struct dr_check {
    char name[32];
    enum dr_status status;
    char message[512];
    char hint[256];
};

struct doctor {
    struct dr_check checks[32];
    size_t n;
};

static void add(struct doctor *d, const char *name, enum dr_status st, const char *hint,
                const char *fmt, ...) ATTR_FMT(5, 6);
static void add(struct doctor *d, const char *name, enum dr_status st, const char *hint,
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
        add(d, "config", DR_FAIL, "fix the variable named; see .env.example",
            "%d problem(s); first: %s", count, one);
    } else {
        add(d, "config", DR_OK, NULL, "all settings valid");
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
        add(d, "secrets", DR_FAIL, "`ingot init` writes a .env with fresh secrets", "not set: %s",
            missing);
    else if (nweak)
        add(d, "secrets", DR_FAIL, "`ingot init` or `openssl rand -base64 32` makes real ones",
            "%d weak: %s", nweak, weak);
    else
        add(d, "secrets", DR_OK, NULL, "present, no placeholders, enough entropy");
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
        add(d, "env-file", DR_WARN, "rename or remove the key; `ingot init --example` lists every setting",
            "%s", list);
    } else {
        add(d, "env-file", DR_OK, NULL, "no unknown keys");
    }
    if (cfg->alias_used[CFG_LLM_BASE_URL] || cfg->alias_used[CFG_LLM_API_KEY])
        add(d, "llm-config", DR_OK, NULL, "LLM settings taken from %s%s%s",
            cfg->alias_used[CFG_LLM_BASE_URL] ? "BUILT_IN_FORGE_API_URL" : "",
            cfg->alias_used[CFG_LLM_BASE_URL] && cfg->alias_used[CFG_LLM_API_KEY] ? " and " : "",
            cfg->alias_used[CFG_LLM_API_KEY] ? "BUILT_IN_FORGE_API_KEY" : "");
    else if (*cfg->llm_base_url)
        add(d, "llm-config", DR_OK, NULL, "LLM settings from LLM_BASE_URL / LLM_API_KEY");
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
            add(d, "database", DR_FAIL, "set DATABASE_URL", "DATABASE_URL not set");
        else if (db_dsn_parse(cfg->raw[CFG_DATABASE_URL], &dsn, err, sizeof err) < 0)
            add(d, "database", DR_FAIL, "the form is mysql://USER:PASSWORD@HOST:PORT/DB",
                "DATABASE_URL is set but malformed: %s", err); /* never the URL: it has the password */
        else
            db_dsn_deinit(&dsn);
        return;
    }
    int64_t t0 = time_mono_us();
    MYSQL *m = db_sync_connect(cfg->database_url, cfg->database_connection_timeout_ms, err, sizeof err);
    if (!m) {
        add(d, "database", DR_FAIL, "is MariaDB running and DATABASE_URL right?", "%s", err);
        return;
    }
    const char *ver = mysql_get_server_info(m);
    bool is_maria = strstr(ver, "MariaDB") != NULL;
    if (!version_at_least(ver, 10, 6))
        add(d, "database", DR_FAIL, "ingot needs MariaDB 10.6 or later (SKIP LOCKED)",
            "server %s is too old", ver);
    else
        add(d, "database", is_maria ? DR_OK : DR_WARN,
            is_maria ? NULL : "ingot is tested on MariaDB; other servers may differ",
            "reachable in %.1f ms, server %s", (double)(time_mono_us() - t0) / 1000.0, ver);

    int applied = 0, changed = 0, need = migrate_required_version();
    if (migrate_inspect(m, &applied, &changed, err, sizeof err) < 0)
        add(d, "schema", DR_FAIL, "check the user's privileges", "cannot read schema_migrations: %s", err);
    else if (changed)
        add(d, "schema", DR_FAIL, "migrations are forward-only: restore the original files",
            "%d applied migration(s) changed since they were applied", changed);
    else if (applied < need)
        add(d, "schema", DR_FAIL, "run `ingot migrate`", "schema at version %d, this binary needs %d",
            applied, need);
    else if (applied > need)
        add(d, "schema", DR_WARN, "fine during a rolling update; upgrade this binary",
            "schema at version %d is newer than this binary (%d)", applied, need);
    else
        add(d, "schema", DR_OK, NULL, "current (version %d)", applied);

    int64_t before = time_real_us();
    MYSQL_RES *res = db_sync_query(m, "SELECT UNIX_TIMESTAMP(NOW(6))", err, sizeof err);
    int64_t after = time_real_us();
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0]) {
        double db_s = strtod(row[0], NULL);
        double local_s = (double)(before + after) / 2e6;
        double skew = local_s - db_s;
        double abs_skew = skew < 0 ? -skew : skew;
        add(d, "clock", abs_skew > 2.0 ? DR_WARN : DR_OK,
            abs_skew > 2.0 ? "run NTP on both hosts: leases and schedules use both clocks" : NULL,
            "skew to the database %.3f s", skew);
    } else {
        add(d, "clock", DR_WARN, NULL, "cannot read the database clock: %s", err);
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
        add(d, "redis", DR_FAIL, "the form is redis://[:PASSWORD@]HOST:PORT/DB or unix:///path",
            "REDIS_URL is set but malformed: %s", why);
        return;
    }
    if (!*cfg->redis_url) {
        add(d, "redis", DR_WARN, "set REDIS_URL for instant wake-ups and shared rate limits",
            "not configured: ingot runs degraded (polling, per-process limits)");
        return;
    }
    struct redis_dsn dsn;
    char err[256];
    if (redis_dsn_parse(cfg->redis_url, &dsn, err, sizeof err) < 0) {
        add(d, "redis", DR_FAIL, "fix REDIS_URL", "%s", err);
        return;
    }
    struct timeval tv = {2, 0};
    redisContext *c = dsn.socket ? redisConnectUnixWithTimeout(dsn.socket, tv)
                                 : redisConnectWithTimeout(dsn.host, dsn.port, tv);
    if (!c || c->err) {
        add(d, "redis", DR_FAIL, "is Redis running and REDIS_URL right?", "cannot connect: %s",
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
            add(d, "redis", DR_FAIL, "check the password in REDIS_URL", "AUTH failed: %s",
                r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            goto out;
        }
        freeReplyObject(r);
    }
    r = rcmd(c, 2, (const char *[]){"INFO", "server"});
    if (!r || r->type != REDIS_REPLY_STRING) {
        add(d, "redis", DR_FAIL, "Redis did not answer INFO", "%s", r && r->str ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        goto out;
    }
    char *ver = info_field(r->str, "redis_version");
    freeReplyObject(r);
    if (!ver || !version_at_least(ver, 6, 2))
        add(d, "redis", DR_FAIL, "ingot needs Redis 6.2 or later", "version %s is too old",
            ver ? ver : "unknown");
    else
        add(d, "redis", DR_OK, NULL, "reachable, version %s", ver);
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
    add(d, "redis-persistence", persistent ? DR_OK : DR_WARN,
        persistent ? NULL : "enable appendonly or RDB saves: limiter and idempotency state survive restarts",
        persistent ? "on" : "off");

    r = rcmd(c, 3, (const char *[]){"CONFIG", "GET", "maxmemory-policy"});
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->str) {
        const char *pol = r->element[1]->str;
        bool good = strcmp(pol, "noeviction") == 0;
        add(d, "redis-eviction", good ? DR_OK : DR_WARN,
            good ? NULL : "set maxmemory-policy noeviction: evicted limiter keys loosen rate limits",
            "maxmemory-policy %s", pol);
    } else {
        add(d, "redis-eviction", DR_WARN, "CONFIG may be disabled on managed Redis; check the policy by hand",
            "cannot read maxmemory-policy");
    }
    if (r)
        freeReplyObject(r);
out:
    redisFree(c);
    redis_dsn_deinit(&dsn);
}

static size_t discard_cb(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Blocking GET; returns the HTTP status or -1 with err set. */
static long http_get(const char *url, const char *auth, long long timeout_ms, const char *ca,
                     char *err, size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "libcurl init failed");
        return -1;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (ca && *ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    if (h)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(e);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

static void check_llm(struct doctor *d, const struct config *cfg)
{
    if (!*cfg->llm_base_url && *cfg->raw[CFG_LLM_BASE_URL]) {
        add(d, "llm", DR_FAIL, "LLM_BASE_URL must be an http:// or https:// URL",
            "LLM_BASE_URL is set but malformed");
        return;
    }
    if (!*cfg->llm_base_url) {
        add(d, "llm", DR_OK, NULL, "disabled (LLM_BASE_URL not set)");
        return;
    }
    char err[512];
    if (url_is_cleartext_remote(cfg->llm_base_url))
        add(d, "llm-tls", DR_WARN, "use https:// so the API key is not sent in clear",
            "LLM_BASE_URL is plain http:// to a non-loopback host");
    size_t n = strlen(cfg->llm_base_url);
    while (n && cfg->llm_base_url[n - 1] == '/')
        n--;
    char *models = xasprintf("%.*s/models", (int)n, cfg->llm_base_url);
    char *auth = *cfg->llm_api_key ? xasprintf("Authorization: Bearer %s", cfg->llm_api_key) : NULL;
    long st = http_get(models, auth, 5000, cfg->ca_bundle, err, sizeof err);
    if (st < 0)
        add(d, "llm", DR_FAIL, "is LLM_BASE_URL reachable from here?", "GET /models failed: %s", err);
    else if (st == 401 || st == 403)
        add(d, "llm", DR_FAIL, "check LLM_API_KEY", "GET /models answered HTTP %ld (key rejected)", st);
    else if (st < 200 || st > 299)
        add(d, "llm", DR_FAIL, "LLM_BASE_URL should end in /v1 for OpenAI-compatible providers",
            "GET /models answered HTTP %ld", st);
    else
        add(d, "llm", DR_OK, NULL, "GET /models answered HTTP %ld", st);
    free(models);
    free(auth);
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
    check_database(&d, cfg);
    check_redis(&d, cfg);
    check_llm(&d, cfg);
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
    long st = http_get(url, NULL, timeout_ms, NULL, msg, sizeof msg);
    if (st == 200)
        return 0;
    if (st < 0)
        fprintf(err, "ingot doctor: %s: %s\n", url, msg);
    else
        fprintf(err, "ingot doctor: %s answered HTTP %ld\n", url, st);
    return 1;
}
