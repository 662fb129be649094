/* strptime() is X/Open. */
#define _XOPEN_SOURCE 700
#include "work_result.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "check.h"
#include "httpc.h"
#include "jobclaim.h"
#include "sign.h"
#include "url.h"

#define RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

static void add_header(struct work_request *r, size_t *n, size_t *cap, const char *fmt, ...)
    ATTR_FMT(4, 5);
static void add_header(struct work_request *r, size_t *n, size_t *cap, const char *fmt, ...)
{
    if (*n + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->headers = xrealloc(r->headers, *cap * sizeof *r->headers);
    }
    struct sbuf b;
    sbuf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    r->headers[(*n)++] = sbuf_steal(&b);
    r->headers[*n] = NULL;
}

int work_request_build(const struct claimed_job *j, const char *key, const char *next_key,
                       struct work_request *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    cJSON *p = cJSON_Parse(j->payload);
    const cJSON *url = p ? cJSON_GetObjectItemCaseSensitive(p, "url") : NULL;
    if (!url || !cJSON_IsString(url)) {
        snprintf(why, whylen, "payload has no url");
        cJSON_Delete(p);
        return -1;
    }
    struct url_http u; /* the parse httpc repeats: a URL it would refuse fails here for good */
    if (url_http_parse(url->valuestring, &u, why, whylen) < 0) {
        cJSON_Delete(p);
        return -1;
    }
    /* curl's serialisation: what is signed is what is sent (0x7f.1 goes
     * out as 127.0.0.1, a bare host gains its "/"). */
    out->url = xstrdup(u.url);
    url_http_deinit(&u);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(p, "body");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(p, "method");
    bool json_body = false;
    if (cJSON_IsString(body)) {
        out->body = xstrdup(body->valuestring);
    } else if (body && !cJSON_IsNull(body)) {
        out->body = cJSON_PrintUnformatted(body);
        json_body = true;
    }
    out->body_len = out->body ? strlen(out->body) : 0;
    out->method = xstrdup(cJSON_IsString(method) ? method->valuestring : out->body ? "POST" : "GET");

    size_t n = 0, cap = 0;
    bool has_ct = false;
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(p, "headers");
    for (const cJSON *h = headers ? headers->child : NULL; h; h = h->next) {
        if (!cJSON_IsString(h))
            continue;
        /* The signature and job headers are ours to set. */
        if (strncasecmp(h->string, "ingot-", 6) == 0 || strcasecmp(h->string, "host") == 0 ||
            strcasecmp(h->string, "content-length") == 0)
            continue;
        has_ct = has_ct || strcasecmp(h->string, "content-type") == 0;
        add_header(out, &n, &cap, "%s: %s", h->string, h->valuestring);
    }
    if (json_body && !has_ct)
        add_header(out, &n, &cap, "Content-Type: application/json");
    add_header(out, &n, &cap, "Expect:"); /* no 100-continue round trip */
    add_header(out, &n, &cap, "Ingot-Job-Id: job_%llu", (unsigned long long)j->id);
    add_header(out, &n, &cap, "Ingot-Attempt: %d", j->attempt);
    char jti[48];
    snprintf(jti, sizeof jti, "job_%llu.%d", (unsigned long long)j->id, j->attempt);
    int64_t now_s = time_real_us() / 1000000;
    struct sbuf sig;
    sbuf_init(&sig);
    sign_request(key, out->url, out->body, out->body_len, jti, now_s, &sig);
    add_header(out, &n, &cap, SIGN_HEADER ": %s", sig.data);
    if (next_key && *next_key) {
        sbuf_reset(&sig);
        sign_request(next_key, out->url, out->body, out->body_len, jti, now_s, &sig);
        add_header(out, &n, &cap, SIGN_HEADER_NEXT ": %s", sig.data);
    }
    sbuf_deinit(&sig);
    cJSON_Delete(p);
    return 0;
}

void work_request_deinit(struct work_request *r)
{
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->method);
    free(r->url);
    cJSON_free(r->body);
    memset(r, 0, sizeof *r);
}

long long work_backoff_ms(int attempt, long long base_ms, long long max_ms)
{
    double d = (double)base_ms;
    for (int i = 1; i < attempt && d < (double)max_ms; i++)
        d *= 2;
    if (d > (double)max_ms)
        d = (double)max_ms;
    unsigned short rnd;
    if (util_random_bytes(&rnd, sizeof rnd) < 0)
        rnd = 32768;
    return (long long)(d * (0.5 + 0.5 * rnd / 65536.0));
}

long long work_retry_after_ms(const char *v, long long now_s)
{
    if (!v || !*v)
        return -1;
    /* delay-seconds is 1*DIGIT of any length: saturate at the cap instead
     * of overflowing (a target may send 99999999999999999999). */
    long long secs;
    if (*v >= '0' && *v <= '9' && check_parse_ll_sat(v, 0, RETRY_AFTER_MAX_MS / 1000, &secs) == 0)
        return check_ms_mul(secs, 1000);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!rest || *rest)
        return -1;
    long long at = (long long)timegm(&tm);
    long long ms = check_ms_mul(check_ms_add(at, -now_s), 1000);
    if (ms < 0)
        ms = 0;
    return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}

void work_classify(const struct httpc_response *resp, struct work_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->retry_after_ms = -1;
    if (resp->refused) {
        snprintf(v->error, sizeof v->error, "%s", resp->error ? resp->error : "refused");
        return; /* permanent: the target is not allowed */
    }
    if (resp->error) {
        snprintf(v->error, sizeof v->error, "%s", resp->error);
        v->retryable = true;
        return;
    }
    long st = resp->status;
    if (st >= 200 && st < 300) {
        v->ok = true;
        return;
    }
    snprintf(v->error, sizeof v->error, "HTTP %ld", st);
    if (st == 408 || st == 429 || st >= 500) {
        v->retryable = true;
        v->retry_after_ms = work_retry_after_ms(resp->retry_after, time_real_us() / 1000000);
    }
}

void work_json_utf8(struct sbuf *out, const char *s, size_t n)
{
    /* sbuf_json_strn already turns each invalid byte into U+FFFD, so the
     * stored result is always valid utf8mb4. */
    sbuf_json_strn(out, s, n);
}

void work_result_json(const struct httpc_response *resp, double ms, struct sbuf *out)
{
    sbuf_printf(out, "{\"status\":%ld,\"headers\":{", resp->status);
    if (resp->content_type) {
        sbuf_puts(out, "\"content-type\":");
        work_json_utf8(out, resp->content_type, strlen(resp->content_type));
    }
    sbuf_puts(out, "},\"body\":");
    work_json_utf8(out, resp->body, resp->body_len);
    sbuf_printf(out, ",\"body_truncated\":%s,\"duration_ms\":%.3f}",
                resp->body_truncated ? "true" : "false", ms);
}
