#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "config_lint.h"
#include "ssrf.h"
#include "tlsca.h"
#include "url.h"

enum cfg_type { T_STR, T_INT, T_DUR, T_SIZE, T_ENUM, T_LIST };

typedef int (*cfg_check_fn)(const char *v, char *why, size_t whylen);

struct cfg_setting {
    struct cfg_info info;
    enum cfg_type type;
    size_t offset;
    long long min, max;     /* numbers: range; strings: min/max length */
    const char *choices;    /* T_ENUM: "a|b|c" */
    cfg_check_fn check;     /* extra validation, or NULL */
};


#define S(f) offsetof(struct config, f)
#define NOLIM 0, 0
/* The one table of settings. Order is the order of .env.example. */
static const struct cfg_setting settings[CFG_COUNT] = {
    [CFG_HOST] = {{"HOST", NULL, "string", "0.0.0.0", "Address the HTTP server listens on.", false, false, false}, T_STR, S(host), 1, 255, NULL, NULL},
    [CFG_PORT] = {{"PORT", NULL, "integer", "8080", "TCP port of the HTTP server (0 picks a free port).", false, false, false}, T_INT, S(port), 0, 65535, NULL, NULL},
    [CFG_DATABASE_URL] = {{"DATABASE_URL", NULL, "url", "", "MariaDB: mysql://USER:PASSWORD@HOST:PORT/DB, or mysql://USER:PASSWORD@localhost/DB?socket=/path/mysqld.sock.", true, false, true}, T_STR, S(database_url), NOLIM, NULL, config_check_db_url},
    [CFG_DATABASE_MAX_CONNECTIONS] = {{"DATABASE_MAX_CONNECTIONS", NULL, "integer", "10", "Connections in each process's MariaDB pool.", false, false, false}, T_INT, S(database_max_connections), 1, 1000, NULL, NULL},
    [CFG_DATABASE_CONNECTION_TIMEOUT] = {{"DATABASE_CONNECTION_TIMEOUT", NULL, "duration", "5s", "Deadline for opening a MariaDB connection.", false, false, false}, T_DUR, S(database_connection_timeout_ms), 100, 300000, NULL, NULL},
    [CFG_DATABASE_QUERY_TIMEOUT] = {{"DATABASE_QUERY_TIMEOUT", NULL, "duration", "10s", "Deadline for one query, waiting for a connection included.", false, false, false}, T_DUR, S(database_query_timeout_ms), 100, 600000, NULL, NULL},
    [CFG_REDIS_URL] = {{"REDIS_URL", NULL, "url", "", "Redis: redis://[:PASSWORD@]HOST:PORT/DB or unix:///path/redis.sock. Unset: run without Redis (degraded).", true, false, false}, T_STR, S(redis_url), NOLIM, NULL, config_check_redis_url},
    [CFG_JWT_SECRET] = {{"JWT_SECRET", NULL, "secret", "", "Secret for session tokens (32+ characters).", true, true, false}, T_STR, S(jwt_secret), 32, 4096, NULL, NULL},
    [CFG_JWT_EXPIRY] = {{"JWT_EXPIRY", NULL, "duration", "15m", "Lifetime of a login session's access token (an HS256 JWT signed with JWT_SECRET, in the ingot_access cookie); the refresh token renews it.", false, false, false}, T_DUR, S(jwt_expiry_ms), 1000, 31LL * 86400000, NULL, NULL},
    [CFG_REFRESH_TOKEN_EXPIRY] = {{"REFRESH_TOKEN_EXPIRY", NULL, "duration", "7d", "Lifetime of a login session's refresh token (stored hashed in MariaDB, rotated at each use, revoked by logging out).", false, false, false}, T_DUR, S(refresh_token_expiry_ms), 60000, 366LL * 86400000, NULL, NULL},
    [CFG_PUBLIC_URL] = {{"PUBLIC_URL", NULL, "url", "", "The URL users reach this service at (e.g. https://jobs.example.com): the OIDC redirect URI is PUBLIC_URL/auth/callback, and the allowed Origin of session requests. https: session cookies are always Secure.", false, false, false}, T_STR, S(public_url), NOLIM, NULL, config_check_public_url},
    [CFG_OAUTH_SERVER_URL] = {{"OAUTH_SERVER_URL", NULL, "url", "", "OIDC issuer operators log in with (its /.well-known/openid-configuration is read). Unset: tenant users log in with an API key instead.", false, false, false}, T_STR, S(oauth_server_url), NOLIM, NULL, config_check_http_url},
    [CFG_OAUTH_CLIENT_ID] = {{"OAUTH_CLIENT_ID", NULL, "string", "", "This service's client id at the OIDC server (the ID token's aud). Required with OAUTH_SERVER_URL.", false, false, false}, T_STR, S(oauth_client_id), 1, 255, NULL, NULL},
    [CFG_OAUTH_CLIENT_SECRET] = {{"OAUTH_CLIENT_SECRET", NULL, "secret", "", "Client secret at the OIDC server (sent as client_secret_post); unset for a public client (PKCE alone).", true, false, false}, T_STR, S(oauth_client_secret), 1, 4096, NULL, NULL},
    [CFG_OWNER_OPEN_ID] = {{"OWNER_OPEN_ID", NULL, "string", "", "OIDC subject (sub) of the owner: the operator, who sees every tenant. Other subjects see the tenants granted with `ingot admin tenant member add`.", false, false, false}, T_STR, S(owner_open_id), 1, 255, NULL, NULL},
    [CFG_API_KEY_HASH_SECRET] = {{"API_KEY_HASH_SECRET", NULL, "secret", "", "HMAC key under which API keys are stored (32+ characters).", true, true, false}, T_STR, S(api_key_hash_secret), 32, 4096, NULL, NULL},
    [CFG_ENCRYPTION_KEY] = {{"ENCRYPTION_KEY", NULL, "secret", "", "AES-256-GCM key for secrets at rest: 32 bytes as 64 hex characters or base64 (openssl rand -base64 32).", true, true, false}, T_STR, S(encryption_key), NOLIM, NULL, config_check_key32},
    [CFG_ENCRYPTION_KEY_PREVIOUS] = {{"ENCRYPTION_KEY_PREVIOUS", NULL, "secret", "", "The key ENCRYPTION_KEY replaces, during a rotation: secrets sealed under it still open until `ingot admin rotate-encryption-key` has re-sealed them under ENCRYPTION_KEY.", true, false, false}, T_STR, S(encryption_key_previous), NOLIM, NULL, config_check_key32},
    [CFG_SIGNING_KEY] = {{"SIGNING_KEY", NULL, "secret", "", "Key that signs outbound HTTP job requests (32+ characters).", true, true, false}, T_STR, S(signing_key), 32, 4096, NULL, NULL},
    [CFG_SIGNING_KEY_NEXT] = {{"SIGNING_KEY_NEXT", NULL, "secret", "", "Next signing key, during a rotation (32+ characters).", true, false, false}, T_STR, S(signing_key_next), 32, 4096, NULL, NULL},
    [CFG_LLM_BASE_URL] = {{"LLM_BASE_URL", "BUILT_IN_FORGE_API_URL", "url", "", "Base URL of the default LLM provider, its version path included, e.g. https://host/v1 (no user:password in it: the key goes in LLM_API_KEY). Unset: no default provider.", false, false, false}, T_STR, S(llm_base_url), NOLIM, NULL, config_check_http_url},
    [CFG_LLM_API_KEY] = {{"LLM_API_KEY", "BUILT_IN_FORGE_API_KEY", "secret", "", "API key for the LLM provider.", true, false, false}, T_STR, S(llm_api_key), 1, 4096, NULL, NULL},
    [CFG_LLM_PROVIDER] = {{"LLM_PROVIDER", NULL, "enum", "openai", "Adapter of the default provider (LLM_BASE_URL): openai (any OpenAI-compatible server, /v1/responses passed through), openai-chat (one without the Responses API: /v1/responses translated to chat completions) or anthropic (the Messages API, translated).", false, false, false}, T_ENUM, S(llm_provider), NOLIM, "openai|openai-chat|anthropic", NULL},
    [CFG_LLM_TIMEOUT] = {{"LLM_TIMEOUT", NULL, "duration", "10m", "Deadline of one synchronous provider call (a stream: the whole stream). Jobs use their timeout_ms.", false, false, false}, T_DUR, S(llm_timeout_ms), 1000, 3600000, NULL, NULL},
    [CFG_LLM_BUFFER_MAX] = {{"LLM_BUFFER_MAX", NULL, "size", "256mb", "Bytes of provider answers held at once by this process (non-streamed answers are read whole); a call that would go over gets 503 with retry-after.", false, false, false}, T_SIZE, S(llm_buffer_max), 64LL << 10, 1LL << 40, NULL, NULL},
    [CFG_LLM_DEFAULT_MAX_TOKENS] = {{"LLM_DEFAULT_MAX_TOKENS", NULL, "integer", "4096", "Completion tokens reserved against limits when a request sets no max_tokens, and the max_tokens sent to Anthropic then.", false, false, false}, T_INT, S(llm_default_max_tokens), 1, 10000000, NULL, NULL},
    [CFG_LLM_SYNC_MAX_WAIT] = {{"LLM_SYNC_MAX_WAIT", NULL, "duration", "2s", "How long a synchronous request may wait for a throttled provider or a tokens-per-minute window before it gets 429 with retry-after.", false, false, false}, T_DUR, S(llm_sync_max_wait_ms), 0, 60000, NULL, NULL},
    [CFG_USAGE_FLUSH_INTERVAL] = {{"USAGE_FLUSH_INTERVAL", NULL, "duration", "1s", "Usage records are written to MariaDB in batches this often: the most usage a crash can lose.", false, false, false}, T_DUR, S(usage_flush_interval_ms), 10, 60000, NULL, NULL},
    [CFG_CACHE_PATH] = {{"CACHE_PATH", NULL, "path", "", "Directory of the LLM response cache (Ingot-Cache). Unset: Redis when REDIS_URL is set, else this process's memory.", false, false, false}, T_STR, S(cache_path), 0, 255, NULL, NULL},
    [CFG_CACHE_TTL] = {{"CACHE_TTL", NULL, "duration", "1h", "How long a cached LLM answer is kept when the request asks for the cache and its tenant set no TTL.", false, false, false}, T_DUR, S(cache_ttl_ms), 1000, 30LL * 86400000, NULL, NULL},
    [CFG_CACHE_MEMORY_MAX] = {{"CACHE_MEMORY_MAX", NULL, "size", "64mb", "Bytes of LLM answers the in-memory response cache holds (without Redis and CACHE_PATH); the least recently used go first.", false, false, false}, T_SIZE, S(cache_memory_max), 64LL << 10, 1LL << 40, NULL, NULL},
    [CFG_CACHE_ENTRY_MAX] = {{"CACHE_ENTRY_MAX", NULL, "size", "1mb", "Largest LLM answer the response cache stores (larger ones are answered, not stored).", false, false, false}, T_SIZE, S(cache_entry_max), 1024, 64LL << 20, NULL, NULL},
    [CFG_QUEUE_WORKER_CONCURRENCY] = {{"QUEUE_WORKER_CONCURRENCY", NULL, "integer", "100", "Jobs in flight per worker process.", false, false, false}, T_INT, S(queue_worker_concurrency), 1, 100000, NULL, NULL},
    [CFG_QUEUE_LIMITER_MAX] = {{"QUEUE_LIMITER_MAX", NULL, "integer", "0", "Default queue rate limit: jobs per window for queues without their own rate_limit. 0: unlimited (limits are opt-in).", false, false, false}, T_INT, S(queue_limiter_max), 0, 100000000, NULL, NULL},
    [CFG_QUEUE_LIMITER_DURATION_MS] = {{"QUEUE_LIMITER_DURATION_MS", NULL, "integer", "1000", "Default queue rate limit window, in milliseconds.", false, false, false}, T_INT, S(queue_limiter_duration_ms), 1, 86400000, NULL, NULL},
    [CFG_QUEUE_LEASE] = {{"QUEUE_LEASE", NULL, "duration", "30s", "Lease of a running job; extended while it runs, recovered when it expires (worker died).", false, false, false}, T_DUR, S(queue_lease_ms), 1000, 3600000, NULL, NULL},
    [CFG_QUEUE_POLL_INTERVAL] = {{"QUEUE_POLL_INTERVAL", NULL, "duration", "1s", "Longest a worker waits before looking for jobs again when the queues look empty (enqueues wake it at once through Redis).", false, false, false}, T_DUR, S(queue_poll_interval_ms), 20, 60000, NULL, NULL},
    [CFG_QUEUE_DEPTH_REFRESH] = {{"QUEUE_DEPTH_REFRESH", NULL, "duration", "10s", "How often serve refreshes the queue depth gauges of /metrics.", false, false, false}, T_DUR, S(queue_depth_refresh_ms), 100, 3600000, NULL, NULL},
    [CFG_RETENTION_DAYS] = {{"RETENTION_DAYS", NULL, "integer", "30", "Days finished jobs are kept.", false, false, false}, T_INT, S(retention_days), 1, 3650, NULL, NULL},
    [CFG_SHUTDOWN_GRACE] = {{"SHUTDOWN_GRACE", NULL, "duration", "30s", "On SIGTERM, how long in-flight work may take to finish.", false, false, false}, T_DUR, S(shutdown_grace_ms), 0, 3600000, NULL, NULL},
    [CFG_TRUSTED_PROXIES] = {{"TRUSTED_PROXIES", NULL, "list", "", "Comma-separated CIDRs whose X-Forwarded-For is believed.", false, false, false}, T_LIST, S(trusted_proxies), NOLIM, NULL, config_check_cidr_list},
    [CFG_HTTP_TARGET_ALLOW] = {{"HTTP_TARGET_ALLOW", NULL, "list", "", "Comma-separated CIDRs or host names exempt from the SSRF guard.", false, false, false}, T_LIST, S(http_target_allow), NOLIM, NULL, config_check_target_allow},
    [CFG_HTTP_MAX_BODY] = {{"HTTP_MAX_BODY", NULL, "size", "1mb", "Largest request body the API accepts (larger: 413).", false, false, false}, T_SIZE, S(http_max_body), 1024, 1LL << 30, NULL, NULL},
    [CFG_JOB_MAX_PAYLOAD] = {{"JOB_MAX_PAYLOAD", NULL, "size", "256kb", "Largest job payload (serialized); larger: 413. At most 4mb: a job is stored hex-encoded (twice its size) in one statement, which must fit MariaDB's max_allowed_packet (16 MiB by default).", false, false, false}, T_SIZE, S(job_max_payload), 64, 4LL << 20, NULL, NULL},
    [CFG_JOB_BATCH_MAX] = {{"JOB_BATCH_MAX", NULL, "integer", "1000", "Most jobs in one POST /v1/jobs/batch.", false, false, false}, T_INT, S(job_batch_max), 1, 100000, NULL, NULL},
    [CFG_FILES_MAX_BYTES] = {{"FILES_MAX_BYTES", NULL, "size", "200mb", "Largest file POST /v1/files takes (larger: 413). The upload streams to MariaDB in chunks: memory does not grow with it.", false, false, false}, T_SIZE, S(files_max_bytes), 1024, 4LL << 30, NULL, NULL},
    [CFG_FILES_BATCH_MAX_LINES] = {{"FILES_BATCH_MAX_LINES", NULL, "integer", "50000", "Most lines (requests) in a file uploaded with purpose=batch.", false, false, false}, T_INT, S(files_batch_max_lines), 1, 1000000, NULL, NULL},
    [CFG_FILES_UPLOADS_MAX] = {{"FILES_UPLOADS_MAX", NULL, "integer", "16", "Uploads one serve takes at once (each holds a 576 KiB chunk buffer and a database connection while it writes); one more is answered 503 with Retry-After, which the SDKs retry.", false, false, false}, T_INT, S(files_uploads_max), 1, 1000, NULL, NULL},
    [CFG_BATCH_WINDOW_LINES] = {{"BATCH_WINDOW_LINES", NULL, "integer", "1000", "Lines of a tenant's batches (POST /v1/batches) queued or running at once, shared by its running batches: the scheduler releases more as they finish, so a batch started later waits behind at most this many lines of another tenant's, and a tenant's batches split its share.", false, false, false}, T_INT, S(batch_window_lines), 10, 100000, NULL, NULL},
    [CFG_BATCH_COMPLETION_WINDOW] = {{"BATCH_COMPLETION_WINDOW", NULL, "duration", "24h", "How long a batch may run before it expires (its unrun lines come back as batch_expired errors). The API takes completion_window 24h only; lower this only to test expiry.", false, false, false}, T_DUR, S(batch_completion_window_ms), 1000, 86400000, NULL, NULL},
    [CFG_HTTP_IDLE_TIMEOUT] = {{"HTTP_IDLE_TIMEOUT", NULL, "duration", "60s", "How long an idle keep-alive connection is kept, and the deadline for writing one reply.", false, false, false}, T_DUR, S(http_idle_timeout_ms), 100, 3600000, NULL, NULL},
    [CFG_HTTP_HEADER_TIMEOUT] = {{"HTTP_HEADER_TIMEOUT", NULL, "duration", "10s", "Whole-request deadline for the request line and headers; a client trickling bytes cannot extend it.", false, false, false}, T_DUR, S(http_header_timeout_ms), 100, 600000, NULL, NULL},
    [CFG_HTTP_BODY_TIMEOUT] = {{"HTTP_BODY_TIMEOUT", NULL, "duration", "60s", "Whole-request deadline for the request body, counted from the end of the headers.", false, false, false}, T_DUR, S(http_body_timeout_ms), 100, 3600000, NULL, NULL},
    [CFG_HTTP_MAX_CONNECTIONS] = {{"HTTP_MAX_CONNECTIONS", NULL, "integer", "4096", "Most concurrent client connections per process; beyond it new connections get 503 and are closed.", false, false, false}, T_INT, S(http_max_connections), 1, 1000000, NULL, NULL},
    [CFG_CA_BUNDLE] = {{"CA_BUNDLE", NULL, "path", "", "CA certificates (PEM) for outbound TLS. Unset: /etc/ssl/certs/ca-certificates.crt, which serve, work, schedule and run require at start; none: no outbound TLS.", false, false, false}, T_STR, S(ca_bundle), NOLIM, NULL, tlsca_check_setting},
    [CFG_ZONEINFO_DIR] = {{"ZONEINFO_DIR", NULL, "path", "/usr/share/zoneinfo", "Directory of the IANA zone files schedules use (the image ships them there). Missing: only UTC schedules work.", false, false, false}, T_STR, S(zoneinfo_dir), 1, 255, NULL, NULL},
    [CFG_METRICS_BEARER_TOKEN] = {{"METRICS_BEARER_TOKEN", NULL, "secret", "", "When set, /metrics requires Authorization: Bearer <token>.", true, false, false}, T_STR, S(metrics_bearer_token), 16, 4096, NULL, NULL},
    [CFG_METRICS_MAX_SERIES] = {{"METRICS_MAX_SERIES", NULL, "integer", "1000", "Most distinct label sets per /metrics family; later ones are counted in one series whose labels are all \"other\".", false, false, false}, T_INT, S(metrics_max_series), 1, 100000, NULL, NULL},
    [CFG_LOG_LEVEL] = {{"LOG_LEVEL", NULL, "enum", "info", "debug, info, warn or error.", false, false, false}, T_ENUM, S(log_level), NOLIM, "debug|info|warn|error", NULL},
    [CFG_LOG_FORMAT] = {{"LOG_FORMAT", NULL, "enum", "auto", "json, text, or auto (text on a terminal, JSON otherwise).", false, false, false}, T_ENUM, S(log_format), NOLIM, "json|text|auto", NULL},
};
#undef S
#undef NOLIM

const struct cfg_info *config_info(enum cfg_id id)
{
    return &settings[id].info;
}

static char **str_field(struct config *c, enum cfg_id id)
{
    return (char **)(void *)((char *)c + settings[id].offset);
}

static long long *num_field(struct config *c, enum cfg_id id)
{
    return (long long *)(void *)((char *)c + settings[id].offset);
}

static bool is_num_type(enum cfg_type t)
{
    return t == T_INT || t == T_DUR || t == T_SIZE;
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    sbuf_init(&c->warnings);
    for (int i = 0; i < CFG_COUNT; i++) {
        c->raw[i] = xstrdup(settings[i].info.def);
        c->source[i] = CFG_SRC_DEFAULT;
        if (!is_num_type(settings[i].type))
            *str_field(c, (enum cfg_id)i) = xstrdup("");
    }
}

void config_deinit(struct config *c)
{
    for (int i = 0; i < CFG_COUNT; i++) {
        free(c->raw[i]);
        free(c->alias_raw[i]);
        if (!is_num_type(settings[i].type))
            free(*str_field(c, (enum cfg_id)i));
    }
    sbuf_deinit(&c->warnings);
    memset(c, 0, sizeof *c);
}

const char *config_source_name(enum cfg_source s)
{
    switch (s) {
    case CFG_SRC_DEFAULT: return "default";
    case CFG_SRC_DOTENV: return ".env file";
    case CFG_SRC_ENV: return "environment";
    case CFG_SRC_FLAG: return "flag";
    }
    return "?";
}

int config_find_flag(const char *flag)
{
    for (int i = 0; i < CFG_COUNT; i++) {
        const char *n = settings[i].info.name;
        size_t j = 0;
        for (; n[j] && flag[j]; j++) {
            char want = n[j] == '_' ? '-' : (char)tolower((unsigned char)n[j]);
            if (flag[j] != want)
                break;
        }
        if (!n[j] && !flag[j])
            return i;
    }
    return -1;
}

int config_find_env(const char *name, bool *is_alias)
{
    for (int i = 0; i < CFG_COUNT; i++) {
        if (strcmp(settings[i].info.name, name) == 0) {
            *is_alias = false;
            return i;
        }
        if (settings[i].info.alias && strcmp(settings[i].info.alias, name) == 0) {
            *is_alias = true;
            return i;
        }
    }
    return -1;
}

void config_set_raw(struct config *c, enum cfg_id id, const char *value, enum cfg_source src)
{
    if (src < c->source[id])
        return;
    free(c->raw[id]);
    c->raw[id] = xstrdup(value);
    c->source[id] = src;
}

static void set_alias_raw(struct config *c, enum cfg_id id, const char *value, enum cfg_source src)
{
    if (c->alias_raw[id] && src < c->alias_source[id])
        return;
    free(c->alias_raw[id]);
    c->alias_raw[id] = xstrdup(value);
    c->alias_source[id] = src;
}

static void set_by_name(struct config *c, const char *name, const char *value, enum cfg_source src,
                        bool warn_unknown)
{
    bool alias = false;
    int id = config_find_env(name, &alias);
    if (id < 0) {
        if (warn_unknown && !config_lint_deploy_only(name)) {
            const char *near = config_lint_closest(name);
            if (near)
                sbuf_printf(&c->warnings, ".env: unknown setting %s ignored (did you mean %s?)\n",
                            name, near);
            else
                sbuf_printf(&c->warnings, ".env: unknown setting %s ignored\n", name);
        }
        return;
    }
    if (!*value)
        return; /* an empty value means unset */
    if (alias)
        set_alias_raw(c, (enum cfg_id)id, value, src);
    else
        config_set_raw(c, (enum cfg_id)id, value, src);
}

/* Parses one value of a .env line in place: quotes, escapes, comments. */
static int dotenv_value(char *v, char **out)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == '"' || *v == '\'') {
        char q = *v++;
        char *w = v, *r = v;
        while (*r && *r != q) {
            if (q == '"' && *r == '\\' && r[1]) {
                r++;
                *w++ = *r == 'n' ? '\n' : *r;
                r++;
                continue;
            }
            *w++ = *r++;
        }
        if (*r != q)
            return -1;
        char *after = r + 1;
        while (*after == ' ' || *after == '\t')
            after++;
        if (*after && *after != '#')
            return -1;
        *w = '\0';
        *out = v;
        return 0;
    }
    char *hash = v;
    while ((hash = strchr(hash, '#')) != NULL) {
        if (hash == v || hash[-1] == ' ' || hash[-1] == '\t') {
            *hash = '\0';
            break;
        }
        hash++;
    }
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
        v[--n] = '\0';
    *out = v;
    return 0;
}

int config_load_env_file(struct config *c, const char *path, bool required, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !required)
            return 0;
        snprintf(err, errlen, "cannot read env file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = config_load_env_stream(c, f, path, err, errlen);
    fclose(f);
    return rc;
}

int config_load_env_stream(struct config *c, FILE *f, const char *path, char *err, size_t errlen)
{
    char line[8192];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            return -1;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        char *eq = strchr(p, '=');
        char *name_end = eq;
        while (name_end && name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        bool ok = eq && name_end > p && (size_t)(name_end - p) < 64;
        for (char *k = p; ok && k < name_end; k++)
            if (!(isalnum((unsigned char)*k) || *k == '_'))
                ok = false;
        char *value = NULL;
        if (ok) {
            *name_end = '\0';
            ok = dotenv_value(eq + 1, &value) == 0;
        }
        if (!ok) {
            snprintf(err, errlen, "%s:%d: expected NAME=VALUE", path, lineno);
            return -1;
        }
        set_by_name(c, p, value, CFG_SRC_DOTENV, true);
    }
    return 0;
}

void config_load_environ(struct config *c, char *const *envp)
{
    for (; envp && *envp; envp++) {
        const char *eq = strchr(*envp, '=');
        if (!eq || eq == *envp || (size_t)(eq - *envp) >= 64)
            continue;
        char name[64];
        memcpy(name, *envp, (size_t)(eq - *envp));
        name[eq - *envp] = '\0';
        set_by_name(c, name, eq + 1, CFG_SRC_ENV, false);
    }
}


static void problem(struct sbuf *errs, const struct config *c, enum cfg_id id, const char *fmt, ...)
    ATTR_FMT(4, 5);
static void problem(struct sbuf *errs, const struct config *c, enum cfg_id id, const char *fmt, ...)
{
    const struct cfg_setting *s = &settings[id];
    const char *name = c->alias_used[id] ? s->info.alias : s->info.name;
    enum cfg_source src = c->alias_used[id] ? c->alias_source[id] : c->source[id];
    if (s->info.secret || !c->raw[id])
        sbuf_printf(errs, "%s (from %s): ", name, config_source_name(src));
    else { /* a URL's user:password@ is never echoed */
        char *shown = url_strip_userinfo(c->raw[id]);
        sbuf_printf(errs, "%s=\"%s\" (from %s): ", name, shown, config_source_name(src));
        free(shown);
    }
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(errs, fmt, ap);
    va_end(ap);
    sbuf_putc(errs, '\n');
}

int config_finalize(struct config *c, bool check_required, struct sbuf *errs)
{
    int problems = 0;
    size_t before = errs->len;
    for (int i = 0; i < CFG_COUNT; i++) {
        enum cfg_id id = (enum cfg_id)i;
        const struct cfg_setting *s = &settings[i];
        c->alias_used[i] = false;
        if (c->source[i] == CFG_SRC_DEFAULT && c->alias_raw[i]) {
            /* The canonical name wins when both are set. */
            free(c->raw[i]);
            c->raw[i] = xstrdup(c->alias_raw[i]);
            c->alias_used[i] = true;
        }
        const char *v = c->raw[i];
        if (!*v) {
            if (check_required && s->info.required) {
                sbuf_printf(errs, "%s: required but not set (see .env.example)\n", s->info.name);
                problems++;
            }
            if (!is_num_type(s->type)) {
                free(*str_field(c, id));
                *str_field(c, id) = xstrdup("");
            } else {
                problem(errs, c, id, "must not be empty");
                problems++;
            }
            continue;
        }
        long long num = 0;
        char why[256] = "";
        switch (s->type) {
        case T_INT:
            if (config_parse_int(v, &num) < 0) {
                problem(errs, c, id, "not a whole number");
                problems++;
                continue;
            }
            break;
        case T_DUR:
            if (config_parse_duration_ms(v, &num) < 0) {
                problem(errs, c, id, "not a duration (use e.g. 500ms, 30s, 15m, 2h, 7d)");
                problems++;
                continue;
            }
            break;
        case T_SIZE:
            if (config_parse_size(v, &num) < 0) {
                problem(errs, c, id, "not a size (use e.g. 512kb, 1mb, 2gb or bytes)");
                problems++;
                continue;
            }
            break;
        case T_ENUM: {
            bool found = false;
            size_t vl = strlen(v);
            for (const char *p = s->choices; *p;) {
                size_t l = strcspn(p, "|");
                if (l == vl && strncasecmp(p, v, l) == 0)
                    found = true;
                p += l + (p[l] == '|');
            }
            if (!found) {
                problem(errs, c, id, "must be one of %s", s->choices);
                problems++;
                continue;
            }
            break;
        }
        case T_STR:
        case T_LIST:
            if (s->max && (long long)strlen(v) > s->max) {
                problem(errs, c, id, "too long: %zu characters, at most %lld", strlen(v), s->max);
                problems++;
                continue;
            }
            if (s->min && (long long)strlen(v) < s->min) {
                problem(errs, c, id, "too short: %zu characters, need at least %lld", strlen(v),
                        s->min);
                problems++;
                continue;
            }
            break;
        }
        if (is_num_type(s->type) && (s->min || s->max) && (num < s->min || num > s->max)) {
            if (s->type == T_DUR)
                problem(errs, c, id, "out of range %lldms..%lldms", s->min, s->max);
            else
                problem(errs, c, id, "out of range %lld..%lld", s->min, s->max);
            problems++;
            continue;
        }
        if (s->check && s->check(v, why, sizeof why) < 0) {
            problem(errs, c, id, "%s", why);
            problems++;
            continue;
        }
        if (is_num_type(s->type)) {
            *num_field(c, id) = num;
        } else {
            free(*str_field(c, id));
            *str_field(c, id) = xstrdup(v);
            if (s->type == T_ENUM)
                for (char *p = *str_field(c, id); *p; p++)
                    *p = (char)tolower((unsigned char)*p);
        }
    }
    (void)before;
    return problems;
}

int config_write_env(const struct config *c, FILE *f, bool generate)
{
    fprintf(f, "# ingot settings. Environment variables override this file; flags\n"
               "# (--name-in-lower-case) override both. Durations: 500ms, 30s, 15m, 7d.\n"
               "# Sizes: 512kb, 1mb. An empty value means unset.\n");
    for (int i = 0; i < CFG_COUNT; i++) {
        const struct cfg_setting *s = &settings[i];
        fprintf(f, "\n# %s (%s%s)", s->info.help, s->info.type_name,
                s->info.required ? ", required" : "");
        if (*s->info.def)
            fprintf(f, " Default: %s.", s->info.def);
        if (s->info.alias)
            fprintf(f, " Alias: %s.", s->info.alias);
        fputc('\n', f);
        const char *value = s->info.def;
        char secret[65];
        if (generate && c->source[i] == CFG_SRC_FLAG) {
            value = c->raw[i];
        } else if (generate && s->info.generated) {
            unsigned char rnd[32];
            if (util_random_bytes(rnd, sizeof rnd) < 0)
                return -1;
            util_hex(rnd, sizeof rnd, secret);
            value = secret;
        }
        if (fprintf(f, "%s=%s\n", s->info.name, value) < 0)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}
