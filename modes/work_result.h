/* work_result: the HTTP side of the work role: the request a job's payload
 * describes (signed), and what its response means (success, retry,
 * permanent failure) and stores. */
#ifndef INGOT_WORK_RESULT_H
#define INGOT_WORK_RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct claimed_job;
struct httpc_response;

struct work_request {
    char *method, *url, *body;
    size_t body_len;
    char **headers;   /* NULL-terminated "Name: value" */
};

/* 0, or -1 with why (the job then fails for good). */
int work_request_build(const struct claimed_job *j, const char *key, const char *next_key,
                       struct work_request *out, char *why, size_t whylen) ATTR_WUR;
void work_request_deinit(struct work_request *r);

struct work_verdict {
    bool ok;               /* 2xx */
    bool retryable;        /* network error, timeout, 408, 429, 5xx */
    long long retry_after_ms;
    char error[320];
};
void work_classify(const struct httpc_response *resp, struct work_verdict *v);
/* Exponential backoff with jitter before the next attempt after attempt
 * number `attempt` (1-based): base * 2^(attempt-1), capped at max, times a
 * random factor in [0.5, 1). */
long long work_backoff_ms(int attempt, long long base_ms, long long max_ms);
/* Retry-After as seconds or an HTTP date, in ms from now; -1 if unusable. */
long long work_retry_after_ms(const char *v, long long now_s);
/* {"status","headers":{"content-type"},"body","body_truncated","duration_ms"};
 * the body is made valid UTF-8. */
void work_result_json(const struct httpc_response *resp, double ms, struct sbuf *out);
/* Appends s as a JSON string, replacing invalid UTF-8 with U+FFFD. */
void work_json_utf8(struct sbuf *out, const char *s, size_t n);

#endif
