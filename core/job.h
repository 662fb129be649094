/* job: the job body of POST /v1/jobs, parsed and validated. Every
 * problem names its field (param) and carries the HTTP status to answer. */
#ifndef INGOT_JOB_H
#define INGOT_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;

/* JOB_LLM_RESPONSE: a background Response (POST /v1/responses with
 * background: true; respjob.h). JOB_WEBHOOK is internal: only
 * webhook_event_sql creates it (POST /v1/jobs refuses the kind). */
enum job_kind { JOB_HTTP, JOB_LLM_CHAT, JOB_LLM_EMBED, JOB_LLM_RESPONSE = 3, JOB_WEBHOOK = 4 };
#define JOB_KIND_COUNT 5
enum job_state { JOB_QUEUED = 0, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED };

#define JOB_QUEUE_MAX 128
#define JOB_GROUP_MAX 128
#define JOB_IDEM_MAX 255
/* A batch's key K is held as "batch:K" in the column of single jobs'
 * keys (the previous release's format, kept: both dedupe on one unique
 * index), so a single job's key may not start with the prefix. */
#define JOB_BATCH_KEY_PREFIX "batch:"
#define JOB_BATCH_IDEM_MAX (JOB_IDEM_MAX - 6)
#define JOB_HASH_LEN 32
/* What an idempotency key may be, for messages ("must be 1-255 bytes
 * of" JOB_IDEM_RULES). */
#define JOB_IDEM_RULES "UTF-8 text without control characters or leading or trailing spaces"

/* Redis channels (hints only: everything works by polling without them).
 * WAKE: jobs are due (API, scheduler -> workers). DONE: "id,id,..." of
 * jobs that just became terminal (workers, API cancel -> long-polls). */
#define JOB_WAKE_CHANNEL "ingot:jobs"
#define JOB_DONE_CHANNEL "ingot:done"
/* Payload on JOB_WAKE_CHANNEL: a queue's settings changed (reload them). */
#define JOB_WAKE_QUEUES "queues"

struct job_limits {
    size_t max_payload;      /* serialized payload bytes (over: 413) */
    size_t max_metadata;
};

struct job_spec {
    char queue[JOB_QUEUE_MAX + 1];
    enum job_kind kind;
    char *payload;           /* JSON text, owned */
    char *metadata;          /* JSON text or NULL, owned */
    bool has_run_at;
    char run_at[40];         /* "YYYY-MM-DD HH:MM:SS.ffffff" UTC, if has_run_at */
    long long delay_ms;
    int priority;
    int max_attempts;
    long long backoff_base_ms, backoff_max_ms;
    long long timeout_ms;
    char *group;             /* owned or NULL */
    char *callback_url;      /* owned or NULL */
    char *idempotency_key;   /* owned or NULL */
    uint64_t key_id;         /* the API key that enqueued it; 0: none (a schedule) */
};

struct job_error {
    int status;              /* 400, 413 or 422 */
    char param[128];
    char message[256];
    char code[32];           /* "" (the reply picks one from status) or e.g. "invalid_json" */
};

/* A request body: exactly one JSON value (only whitespace after it),
 * every string valid UTF-8 without NUL. Returns owned, or NULL with err
 * (400; param: the path of the bad string, e.g. "payload.url", or "" for
 * malformed JSON with code "invalid_json"). */
struct cJSON *job_json_parse(const char *text, size_t len, struct job_error *err);
/* Parses obj into out (caller deinit on success). 0/-1 with err. */
int job_spec_parse(const struct cJSON *obj, const struct job_limits *lim, struct job_spec *out,
                   struct job_error *err) ATTR_WUR;
void job_spec_deinit(struct job_spec *s);
/* SHA-256 of the canonical request a parsed spec describes (every field
 * but the idempotency key, re-serialized): equal for equal requests. */
void job_spec_hash(const struct job_spec *s, unsigned char out[JOB_HASH_LEN]);
/* The same for a batch: its size and each job's hash, in order. */
void job_specs_hash(const struct job_spec *specs, size_t n, unsigned char out[JOB_HASH_LEN]);
const char *job_kind_name(enum job_kind k);
/* A kind's name ("http", "llm.chat", "llm.embed") to its enum; -1 when unknown. */
int job_kind_parse(const char *s);
const char *job_state_name(int state);
/* Parses a state name; -1 when unknown. */
int job_state_parse(const char *s);
/* An idempotency key (body or header): 1-max bytes of JOB_IDEM_RULES.
 * Leading or trailing spaces are refused: MariaDB's PAD SPACE collation
 * would make "k" and "k " one key. */
bool job_idem_key_valid(const char *k, size_t max);
/* Queue and group names: 1-128 of [A-Za-z0-9._:-]. */
bool job_name_valid(const char *s, size_t max);
/* RFC 3339 ("2026-01-02T03:04:05Z", offsets and fractions allowed) to
 * SQL UTC text and (when epoch_s) Unix seconds; 0, -1 when it is no RFC
 * 3339 time, -2 when it is one outside 1970-9999 (UTC). */
int job_parse_time(const char *s, char *out, size_t outlen, long long *epoch_s) ATTR_WUR;

#endif
