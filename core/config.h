/* config: every setting in one declarative table (config.c), read from
 * defaults, then an optional .env file, then the environment, then flags
 * (each later source wins). Values are validated in one pass; each problem
 * becomes one line that names the variable and never echoes a secret. */
#ifndef INGOT_CONFIG_H
#define INGOT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "config_parse.h"
#include "util.h"

enum cfg_id {
    CFG_HOST,
    CFG_PORT,
    CFG_DATABASE_URL,
    CFG_DATABASE_MAX_CONNECTIONS,
    CFG_DATABASE_CONNECTION_TIMEOUT,
    CFG_DATABASE_QUERY_TIMEOUT,
    CFG_REDIS_URL,
    CFG_JWT_SECRET,
    CFG_JWT_EXPIRY,
    CFG_REFRESH_TOKEN_EXPIRY,
    CFG_PUBLIC_URL,
    CFG_OAUTH_SERVER_URL,
    CFG_OAUTH_CLIENT_ID,
    CFG_OAUTH_CLIENT_SECRET,
    CFG_OWNER_OPEN_ID,
    CFG_API_KEY_HASH_SECRET,
    CFG_ENCRYPTION_KEY,
    CFG_ENCRYPTION_KEY_PREVIOUS,
    CFG_SIGNING_KEY,
    CFG_SIGNING_KEY_NEXT,
    CFG_LLM_BASE_URL,
    CFG_LLM_API_KEY,
    CFG_LLM_PROVIDER,
    CFG_LLM_TIMEOUT,
    CFG_LLM_BUFFER_MAX,
    CFG_LLM_DEFAULT_MAX_TOKENS,
    CFG_LLM_SYNC_MAX_WAIT,
    CFG_USAGE_FLUSH_INTERVAL,
    CFG_CACHE_PATH,
    CFG_CACHE_TTL,
    CFG_CACHE_MEMORY_MAX,
    CFG_CACHE_ENTRY_MAX,
    CFG_QUEUE_WORKER_CONCURRENCY,
    CFG_QUEUE_LIMITER_MAX,
    CFG_QUEUE_LIMITER_DURATION_MS,
    CFG_QUEUE_LEASE,
    CFG_QUEUE_POLL_INTERVAL,
    CFG_QUEUE_DEPTH_REFRESH,
    CFG_RETENTION_DAYS,
    CFG_SHUTDOWN_GRACE,
    CFG_TRUSTED_PROXIES,
    CFG_HTTP_TARGET_ALLOW,
    CFG_HTTP_MAX_BODY,
    CFG_JOB_MAX_PAYLOAD,
    CFG_JOB_BATCH_MAX,
    CFG_FILES_MAX_BYTES,
    CFG_FILES_BATCH_MAX_LINES,
    CFG_FILES_UPLOADS_MAX,
    CFG_HTTP_IDLE_TIMEOUT,
    CFG_HTTP_HEADER_TIMEOUT,
    CFG_HTTP_BODY_TIMEOUT,
    CFG_HTTP_MAX_CONNECTIONS,
    CFG_CA_BUNDLE,
    CFG_ZONEINFO_DIR,
    CFG_METRICS_BEARER_TOKEN,
    CFG_METRICS_MAX_SERIES,
    CFG_LOG_LEVEL,
    CFG_LOG_FORMAT,
    CFG_COUNT
};

enum cfg_source { CFG_SRC_DEFAULT = 0, CFG_SRC_DOTENV, CFG_SRC_ENV, CFG_SRC_FLAG };

struct config {
    /* Typed values, valid after config_finalize() succeeded. Strings are
     * owned by the config; "" means unset. Durations are milliseconds. */
    char *host;
    long long port;
    char *database_url;
    long long database_max_connections;
    long long database_connection_timeout_ms;
    long long database_query_timeout_ms;
    char *redis_url;
    char *jwt_secret;
    long long jwt_expiry_ms;
    long long refresh_token_expiry_ms;
    char *public_url;
    char *oauth_server_url;
    char *oauth_client_id;
    char *oauth_client_secret;
    char *owner_open_id;
    char *api_key_hash_secret;
    char *encryption_key;
    char *encryption_key_previous;
    char *signing_key;
    char *signing_key_next;
    char *llm_base_url;
    char *llm_api_key;
    char *llm_provider;
    long long llm_timeout_ms;
    long long llm_default_max_tokens;
    long long llm_buffer_max;
    long long llm_sync_max_wait_ms;
    long long usage_flush_interval_ms;
    char *cache_path;
    long long cache_ttl_ms, cache_memory_max, cache_entry_max;
    long long queue_worker_concurrency;
    long long queue_limiter_max;
    long long queue_limiter_duration_ms;
    long long queue_lease_ms;
    long long queue_poll_interval_ms;
    long long queue_depth_refresh_ms;
    long long retention_days;
    long long shutdown_grace_ms;
    char *trusted_proxies;
    char *http_target_allow;
    long long http_max_body;
    long long job_max_payload;
    long long job_batch_max;
    long long files_max_bytes;
    long long files_batch_max_lines;
    long long files_uploads_max;
    long long http_idle_timeout_ms;
    long long http_header_timeout_ms;
    long long http_body_timeout_ms;
    long long http_max_connections;
    char *ca_bundle;
    char *zoneinfo_dir;
    char *metrics_bearer_token;
    long long metrics_max_series;
    char *log_level;
    char *log_format;

    /* Where each raw value came from, and the raw values themselves. */
    char *raw[CFG_COUNT];
    enum cfg_source source[CFG_COUNT];
    char *alias_raw[CFG_COUNT];         /* value given under the alias name */
    enum cfg_source alias_source[CFG_COUNT];
    bool alias_used[CFG_COUNT];         /* final value came from the alias */
    struct sbuf warnings;               /* one line each, e.g. unknown .env keys */
};

struct cfg_info {
    const char *name;
    const char *alias;      /* accepted alternative name, or NULL */
    const char *type_name;  /* "string", "duration", ... for docs */
    const char *def;        /* default as text ("" = unset) */
    const char *help;
    bool secret;            /* never printed */
    bool generated;         /* `ingot init` fills a fresh random value */
    bool required;          /* serve/work/schedule/migrate/doctor need it */
};

void config_init(struct config *c);
void config_deinit(struct config *c);
const struct cfg_info *config_info(enum cfg_id id);
/* Setting for a flag spelled like `database-url` (no dashes in front), or -1. */
int config_find_flag(const char *flag);
/* Setting for an environment name (canonical or alias), or -1. */
int config_find_env(const char *name, bool *is_alias);
/* Records a raw value when src is at least as strong as the current one. */
void config_set_raw(struct config *c, enum cfg_id id, const char *value, enum cfg_source src);
/* Reads KEY=VALUE lines. A missing file is fine unless required. */
int config_load_env_file(struct config *c, const char *path, bool required,
                         char *err, size_t errlen) ATTR_WUR;
/* The same from an open stream; path names it in errors. */
int config_load_env_stream(struct config *c, FILE *f, const char *path, char *err,
                           size_t errlen) ATTR_WUR;
/* Reads the settings from an environ-style NULL-terminated array. */
void config_load_environ(struct config *c, char *const *envp);
/* Parses and validates every raw value. Appends one line per problem to
 * errs; returns the number of problems. check_required: missing required
 * settings count as problems. */
int config_finalize(struct config *c, bool check_required, struct sbuf *errs);
const char *config_source_name(enum cfg_source s);
/* Decodes a 32-byte key given as 64 hex characters or base64 (standard or
 * URL alphabet, optional padding). 0/-1. */
int config_key32_decode(const char *v, unsigned char out[32]) ATTR_WUR;


/* Writes a .env: every setting with its help and default. With
 * generate, secrets marked `generated` get fresh random values and
 * values given by flag are written as given; without it (the example file)
 * every value is its default. 0/-1. */
int config_write_env(const struct config *c, FILE *f, bool generate) ATTR_WUR;

#endif
