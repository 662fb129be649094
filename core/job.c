#include "job.h"

#include <cJSON.h>
#include <openssl/evp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "check_json.h"
#include "url.h"

#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_BACKOFF_BASE_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 3600000
#define MAX_DELAY_MS (366LL * 86400000)

static int fail(struct job_error *e, int status, const char *param, const char *fmt, ...)
    ATTR_FMT(4, 5);
static int fail(struct job_error *e, int status, const char *param, const char *fmt, ...)
{
    e->status = status;
    e->code[0] = '\0';
    snprintf(e->param, sizeof e->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

const char *job_kind_name(enum job_kind k)
{
    switch (k) {
    case JOB_HTTP: return "http";
    case JOB_LLM_CHAT: return "llm.chat";
    case JOB_LLM_EMBED: return "llm.embed";
    case JOB_LLM_RESPONSE: return "llm.response";
    case JOB_WEBHOOK: return "webhook";
    }
    return "?";
}

int job_kind_parse(const char *s)
{
    for (int k = 0; s && k < JOB_KIND_COUNT; k++)
        if (strcmp(s, job_kind_name((enum job_kind)k)) == 0 && strcmp(s, "?") != 0)
            return k;
    return -1;
}

static const char *const state_names[] = {"queued", "running", "succeeded", "failed", "cancelled"};

const char *job_state_name(int state)
{
    return state >= 0 && state < (int)ARRAY_LEN(state_names) ? state_names[state] : "unknown";
}

int job_state_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_LEN(state_names); i++)
        if (strcmp(s, state_names[i]) == 0)
            return (int)i;
    return -1;
}

bool job_name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

bool job_idem_key_valid(const char *k, size_t max)
{
    size_t n = strlen(k);
    if (n == 0 || n > max || !check_text(k, n) || k[0] == ' ' || k[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
            return false;
    return true;
}

static int two(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) ? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

int job_parse_time(const char *s, char *out, size_t outlen, long long *epoch_s)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y1 = two(s), y2 = two(s + 2), mo = two(s + 5), d = two(s + 8), h = two(s + 11),
        mi = two(s + 14), se = two(s + 17);
    /* The day is checked against its month (and leap years): mktime-style
     * normalisation would silently turn 2030-02-30 into 2 March. */
    if (y1 < 0 || y2 < 0 || !check_date(y1 * 100 + y2, mo, d) || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 60)
        return -1;
    const char *p = s + 19;
    long usec = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 6) {
                usec = usec * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (digits == 0)
            return -1;
        while (digits++ < 6)
            usec *= 10;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        if (strlen(p) != 6) /* exactly +HH:MM, and nothing after */
            return -1;
        int oh = two(p + 1), om = p[3] == ':' ? two(p + 4) : -1;
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y1 * 100 + y2 - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se > 59 ? 59 : se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    t -= offset;
    struct tm u;
    gmtime_r(&t, &u);
    if (u.tm_year + 1900 < 1970 || u.tm_year + 1900 > 9999)
        return -2;
    if (epoch_s)
        *epoch_s = (long long)t;
    snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", u.tm_year + 1900, u.tm_mon + 1,
             u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, usec);
    return 0;
}

static bool get_int(const cJSON *v, long long lo, long long hi, long long *out)
{
    return cJSON_IsNumber(v) && check_double_ll(v->valuedouble, lo, hi, out);
}

static bool http_url_ok(const char *s, char *why, size_t n)
{
    return url_http_check(s, why, n) == 0; /* libcurl's parse, as the worker's */
}

static int check_http_payload(const cJSON *p, struct job_error *e)
{
    static const char *const allowed[] = {"method", "url", "headers", "body"};
    for (const cJSON *f = p->child; f; f = f->next) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(allowed); i++)
            known = known || strcmp(f->string, allowed[i]) == 0;
        if (!known)
            return fail(e, 400, "payload", "unknown field payload.%.40s (allowed: method, url, headers, body)", f->string);
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "method");
    if (m) {
        static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
        bool ok = false;
        for (size_t i = 0; cJSON_IsString(m) && i < ARRAY_LEN(methods); i++)
            ok = ok || strcmp(m->valuestring, methods[i]) == 0;
        if (!ok)
            return fail(e, 400, "payload.method", "payload.method must be one of GET, POST, PUT, PATCH, DELETE, HEAD");
    }
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(p, "url");
    char why[200];
    if (!cJSON_IsString(u))
        return fail(e, 400, "payload.url", "payload.url is required and must be a string");
    if (strlen(u->valuestring) > URL_HTTP_MAX)
        return fail(e, 400, "payload.url", "payload.url is longer than %d bytes", URL_HTTP_MAX);
    if (!http_url_ok(u->valuestring, why, sizeof why))
        return fail(e, 422, "payload.url", "payload.url: %s", why);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "headers");
    if (h) {
        if (!cJSON_IsObject(h))
            return fail(e, 400, "payload.headers", "payload.headers must be an object of strings");
        for (const cJSON *f = h->child; f; f = f->next) {
            bool name_ok = f->string[0] != '\0' && strlen(f->string) <= 256;
            for (const char *c = f->string; name_ok && *c; c++)
                name_ok = isalnum((unsigned char)*c) || strchr("!#$%&'*+-.^_`|~", *c);
            if (!name_ok)
                return fail(e, 400, "payload.headers", "payload.headers has an invalid header name");
            if (!cJSON_IsString(f) || strpbrk(f->valuestring, "\r\n"))
                return fail(e, 400, "payload.headers", "payload.headers.%.40s must be a string without line breaks", f->string);
        }
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "body");
    if (b && !cJSON_IsString(b) && !cJSON_IsObject(b) && !cJSON_IsArray(b) && !cJSON_IsNull(b))
        return fail(e, 400, "payload.body", "payload.body must be a string, an object or an array");
    return 0;
}

static int check_llm_payload(const cJSON *p, enum job_kind k, struct job_error *e)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(p, "model");
    if (!cJSON_IsString(model) || !model->valuestring[0])
        return fail(e, 400, "payload.model", "payload.model is required");
    if (k == JOB_LLM_CHAT && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(p, "messages")))
        return fail(e, 400, "payload.messages", "payload.messages must be an array");
    if ((k == JOB_LLM_EMBED || k == JOB_LLM_RESPONSE) && !cJSON_GetObjectItemCaseSensitive(p, "input"))
        return fail(e, 400, "payload.input", "payload.input is required");
    return 0;
}

static char *dup_string(const cJSON *v)
{
    return xstrdup(v->valuestring);
}

int job_spec_parse(const cJSON *obj, const struct job_limits *lim, struct job_spec *s,
                   struct job_error *e)
{
    static const char *const fields[] = {"queue", "kind", "payload", "run_at", "delay_ms",
                                         "priority", "max_attempts", "backoff", "timeout_ms",
                                         "group", "callback_url", "metadata", "idempotency_key"};
    memset(s, 0, sizeof *s);
    if (!cJSON_IsObject(obj))
        return fail(e, 400, "", "the job must be a JSON object");
    for (const cJSON *f = obj->child; f; f = f->next) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(fields); i++)
            known = known || strcmp(f->string, fields[i]) == 0;
        if (!known) {
            char param[64];
            snprintf(param, sizeof param, "%.60s", f->string);
            return fail(e, 400, param, "unknown field %s", param);
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "queue");
    if (v) {
        if (!cJSON_IsString(v) || !job_name_valid(v->valuestring, JOB_QUEUE_MAX))
            return fail(e, 400, "queue", "queue must be 1-128 characters of A-Z a-z 0-9 . _ : -");
        snprintf(s->queue, sizeof s->queue, "%s", v->valuestring);
    } else {
        snprintf(s->queue, sizeof s->queue, "default");
    }
    v = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    if (!v)
        return fail(e, 400, "kind", "kind is required: http, llm.chat, llm.embed or llm.response");
    if (!cJSON_IsString(v))
        return fail(e, 400, "kind", "kind must be a string: http, llm.chat, llm.embed or llm.response");
    int kind = job_kind_parse(v->valuestring);
    if (kind < 0 || kind == JOB_WEBHOOK) /* webhook jobs come from events only */
        return fail(e, 400, "kind", "kind must be http, llm.chat, llm.embed or llm.response");
    s->kind = (enum job_kind)kind;

    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(obj, "payload");
    if (!cJSON_IsObject(payload))
        return fail(e, 400, "payload", "payload is required and must be an object");
    if (s->kind == JOB_HTTP ? check_http_payload(payload, e) < 0
                            : check_llm_payload(payload, s->kind, e) < 0)
        return -1;

    long long n;
    const cJSON *run_at = cJSON_GetObjectItemCaseSensitive(obj, "run_at");
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(obj, "delay_ms");
    if (run_at && delay)
        return fail(e, 400, "run_at", "give run_at or delay_ms, not both");
    if (run_at) {
        long long t = 0;
        int rc = cJSON_IsString(run_at) ? job_parse_time(run_at->valuestring, s->run_at, sizeof s->run_at, &t) : -1;
        if (rc == -1)
            return fail(e, 400, "run_at", "run_at must be an RFC 3339 time such as 2026-01-02T03:04:05Z");
        /* the bound of delay_ms: a time past it is a typo, not a plan */
        if (rc < 0 || t > (long long)time(NULL) + MAX_DELAY_MS / 1000)
            return fail(e, 400, "run_at", "run_at must be from 1970-01-01T00:00:00Z to %lld days from now (as delay_ms)",
                        MAX_DELAY_MS / 86400000);
        s->has_run_at = true;
    }
    if (delay) {
        if (!get_int(delay, 0, MAX_DELAY_MS, &n))
            return fail(e, 400, "delay_ms", "delay_ms must be a whole number from 0 to %lld", MAX_DELAY_MS);
        s->delay_ms = n;
    }
    s->priority = 0;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "priority"))) {
        if (!get_int(v, -1000, 1000, &n))
            return fail(e, 400, "priority", "priority must be a whole number from -1000 to 1000");
        s->priority = (int)n;
    }
    s->max_attempts = DEFAULT_MAX_ATTEMPTS;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "max_attempts"))) {
        if (!get_int(v, 1, 100, &n))
            return fail(e, 400, "max_attempts", "max_attempts must be a whole number from 1 to 100");
        s->max_attempts = (int)n;
    }
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "timeout_ms"))) {
        if (!get_int(v, 100, 3600000, &n))
            return fail(e, 400, "timeout_ms", "timeout_ms must be a whole number from 100 to 3600000");
        s->timeout_ms = n;
    }
    s->backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
    s->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "backoff"))) {
        if (!cJSON_IsObject(v))
            return fail(e, 400, "backoff", "backoff must be an object {base_ms, max_ms}");
        for (const cJSON *f = v->child; f; f = f->next)
            if (strcmp(f->string, "base_ms") != 0 && strcmp(f->string, "max_ms") != 0)
                return fail(e, 400, "backoff", "unknown field backoff.%.40s (allowed: base_ms, max_ms)", f->string);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(v, "base_ms");
        if (b && !get_int(b, 10, 86400000, &s->backoff_base_ms))
            return fail(e, 400, "backoff.base_ms", "backoff.base_ms must be a whole number from 10 to 86400000");
        b = cJSON_GetObjectItemCaseSensitive(v, "max_ms");
        if (b && !get_int(b, 10, 7LL * 86400000, &s->backoff_max_ms))
            return fail(e, 400, "backoff.max_ms", "backoff.max_ms must be a whole number from 10 to 604800000");
        if (s->backoff_max_ms < s->backoff_base_ms)
            return fail(e, 422, "backoff.max_ms", "backoff.max_ms must not be below backoff.base_ms");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "group")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || !job_name_valid(v->valuestring, JOB_GROUP_MAX))
            return fail(e, 400, "group", "group must be 1-128 characters of A-Z a-z 0-9 . _ : -");
        s->group = dup_string(v);
    }
    char why[200];
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "callback_url")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || strlen(v->valuestring) > URL_HTTP_MAX) {
            job_spec_deinit(s);
            return fail(e, 400, "callback_url", "callback_url must be a URL of at most %d bytes", URL_HTTP_MAX);
        }
        if (!http_url_ok(v->valuestring, why, sizeof why)) {
            job_spec_deinit(s);
            return fail(e, 422, "callback_url", "callback_url: %s", why);
        }
        s->callback_url = dup_string(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "idempotency_key")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || !job_idem_key_valid(v->valuestring, JOB_IDEM_MAX)) {
            job_spec_deinit(s);
            return fail(e, 400, "idempotency_key", "idempotency_key must be 1-%d bytes of " JOB_IDEM_RULES,
                        JOB_IDEM_MAX);
        }
        if (strncmp(v->valuestring, JOB_BATCH_KEY_PREFIX, strlen(JOB_BATCH_KEY_PREFIX)) == 0) {
            job_spec_deinit(s);
            return fail(e, 400, "idempotency_key",
                        "idempotency_key may not start with \"" JOB_BATCH_KEY_PREFIX
                        "\" (reserved for batches)");
        }
        s->idempotency_key = dup_string(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(obj, "metadata")) && !cJSON_IsNull(v)) {
        if (!cJSON_IsObject(v)) {
            job_spec_deinit(s);
            return fail(e, 400, "metadata", "metadata must be an object");
        }
        s->metadata = cJSON_PrintUnformatted(v);
        if (!s->metadata || strlen(s->metadata) > lim->max_metadata) {
            job_spec_deinit(s);
            return fail(e, 413, "metadata", "metadata is larger than %zu bytes", lim->max_metadata);
        }
    }
    s->payload = cJSON_PrintUnformatted(payload);
    if (!s->payload || strlen(s->payload) > lim->max_payload) {
        job_spec_deinit(s);
        return fail(e, 413, "payload", "payload is larger than %zu bytes", lim->max_payload);
    }
    return 0;
}

/* Whether text nests objects and arrays deeper than cJSON parses (its
 * refusal says no more than "not valid JSON"). */
static bool json_too_deep(const char *text, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CJSON_NESTING_LIMIT)
                return true;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return false;
}

cJSON *job_json_parse(const char *text, size_t len, struct job_error *e)
{
    e->code[0] = '\0';
    const char *end = NULL;
    cJSON *j = text ? cJSON_ParseWithLengthOpts(text, len, &end, 0) : NULL;
    if (!j && text && json_too_deep(text, len)) {
        fail(e, 400, "", "the body is not valid JSON: nested too deeply (at most %d levels of objects and arrays)",
             CJSON_NESTING_LIMIT);
        snprintf(e->code, sizeof e->code, "invalid_json");
        return NULL;
    }
    if (!j) {
        fail(e, 400, "", "the body is not valid JSON");
        snprintf(e->code, sizeof e->code, "invalid_json");
        return NULL;
    }
    /* One value and only whitespace after it: "{}{}" or "{} x" is not one
     * request (a proxy could read it otherwise). */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(j);
            fail(e, 400, "", "the body is not valid JSON: there is more after the first value");
            snprintf(e->code, sizeof e->code, "invalid_json");
            return NULL;
        }
    }
    /* cJSON decodes \u0000 into its C strings, which then end early: the
     * text is checked, so no string loses its tail silently. */
    char path[sizeof e->param], why[128];
    if (check_json_text(text, len, path, sizeof path, why, sizeof why) < 0) {
        cJSON_Delete(j);
        return fail(e, 400, path, "%s%s%s", path, path[0] ? ": " : "", why), NULL;
    }
    return j;
}

void job_spec_deinit(struct job_spec *s)
{
    cJSON_free(s->payload);
    cJSON_free(s->metadata);
    free(s->group);
    free(s->callback_url);
    free(s->idempotency_key);
    s->payload = s->metadata = NULL;
    s->group = s->callback_url = s->idempotency_key = NULL;
}

static void hash_field(struct sbuf *b, const char *v)
{
    /* length-prefixed, so no two different field lists serialize alike */
    if (v)
        sbuf_printf(b, "%zu:%s;", strlen(v), v);
    else
        sbuf_puts(b, "-;");
}

void job_spec_hash(const struct job_spec *s, unsigned char out[JOB_HASH_LEN])
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "ingot-job-v1;");
    hash_field(&b, s->queue);
    hash_field(&b, job_kind_name(s->kind));
    hash_field(&b, s->payload);
    hash_field(&b, s->metadata);
    hash_field(&b, s->has_run_at ? s->run_at : NULL);
    hash_field(&b, s->group);
    hash_field(&b, s->callback_url);
    sbuf_printf(&b, "%lld;%d;%d;%lld;%lld;%lld;", s->delay_ms, s->priority, s->max_attempts,
                s->backoff_base_ms, s->backoff_max_ms, s->timeout_ms);
    unsigned int n = 0;
    if (!EVP_Digest(b.data, b.len, out, &n, EVP_sha256(), NULL) || n != JOB_HASH_LEN)
        abort();
    sbuf_deinit(&b);
}

void job_specs_hash(const struct job_spec *specs, size_t n, unsigned char out[JOB_HASH_LEN])
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "ingot-batch-v1;%zu;", n);
    for (size_t i = 0; i < n; i++) {
        unsigned char h[JOB_HASH_LEN];
        job_spec_hash(&specs[i], h);
        sbuf_append(&b, (const char *)h, sizeof h);
    }
    unsigned int len = 0;
    if (!EVP_Digest(b.data, b.len, out, &len, EVP_sha256(), NULL) || len != JOB_HASH_LEN)
        abort();
    sbuf_deinit(&b);
}
