#include "batchcheck.h"

#include <cJSON.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* custom_ids are kept as 128-bit digests (SHA-256's first half): a
 * 50,000-line file costs ~2 MB whatever its ids' length, and two ids
 * taken for one another would need a SHA-256 collision. */
struct digest {
    unsigned char b[16];
};

struct batchcheck {
    struct batchcheck_opts o;
    struct sbuf line;
    bool too_long; /* the current line passed max_line_bytes */
    size_t lines;  /* lines seen, the current one included once begun */
    bool failed, finished;
    struct batchcheck_error err;
    struct digest *set; /* open addressing; all-zero: empty */
    size_t cap, used;
};

static const char *const urls[] = {"/v1/chat/completions", "/v1/embeddings", "/v1/responses"};

struct batchcheck *batchcheck_new(const struct batchcheck_opts *o)
{
    struct batchcheck *b = xcalloc(1, sizeof *b);
    b->o = *o;
    sbuf_init(&b->line);
    return b;
}

void batchcheck_free(struct batchcheck *b)
{
    if (!b)
        return;
    sbuf_deinit(&b->line);
    free(b->set);
    free(b);
}

static int fail(struct batchcheck *b, size_t line, const char *field, const char *fmt, ...) ATTR_FMT(4, 5);
static int fail(struct batchcheck *b, size_t line, const char *field, const char *fmt, ...)
{
    b->failed = true;
    b->err.line = line;
    if (!b->err.status)
        b->err.status = 400;
    util_strcpy(b->err.field, sizeof b->err.field, field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err.message, sizeof b->err.message, fmt, ap);
    va_end(ap);
    return -1;
}

static void digest_of(const char *s, struct digest *d)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1)
        abort();
    memcpy(d->b, md, sizeof d->b);
    d->b[0] |= 1; /* never all-zero (the empty mark) */
}

static bool set_slot_empty(const struct digest *d)
{
    static const struct digest zero;
    return memcmp(d, &zero, sizeof zero) == 0;
}

/* Adds d; false when it was there already. */
static bool set_add(struct batchcheck *b, const struct digest *d)
{
    if (2 * (b->used + 1) > b->cap) {
        size_t ncap = b->cap ? 2 * b->cap : 1024;
        struct digest *n = xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < b->cap; i++) {
            if (set_slot_empty(&b->set[i]))
                continue;
            size_t h;
            memcpy(&h, b->set[i].b + 4, sizeof h);
            for (h &= ncap - 1; !set_slot_empty(&n[h]); h = (h + 1) & (ncap - 1))
                ;
            n[h] = b->set[i];
        }
        free(b->set);
        b->set = n;
        b->cap = ncap;
    }
    size_t h;
    memcpy(&h, d->b + 4, sizeof h);
    for (h &= b->cap - 1; !set_slot_empty(&b->set[h]); h = (h + 1) & (b->cap - 1))
        if (memcmp(&b->set[h], d, sizeof *d) == 0)
            return false;
    b->set[h] = *d;
    b->used++;
    return true;
}

static int check_object(struct batchcheck *b, size_t ln, const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return fail(b, ln, "", "line %zu must be a JSON object {custom_id, method, url, body}", ln);
    for (const cJSON *f = j->child; f; f = f->next) {
        const char *k = f->string;
        if (strcmp(k, "custom_id") != 0 && strcmp(k, "method") != 0 && strcmp(k, "url") != 0 && strcmp(k, "body") != 0)
            return fail(b, ln, k, "line %zu: unknown field %.100s (a line has custom_id, method, url and body)",
                        ln, k);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "custom_id");
    if (!cJSON_IsString(id) || !id->valuestring[0] || strlen(id->valuestring) > BATCHCHECK_CUSTOM_ID_MAX)
        return fail(b, ln, "custom_id", "line %zu: custom_id must be a string of 1-%d bytes", ln,
                    BATCHCHECK_CUSTOM_ID_MAX);
    struct digest d;
    digest_of(id->valuestring, &d);
    if (!set_add(b, &d))
        return fail(b, ln, "custom_id", "line %zu: custom_id %.100s is used by an earlier line; each must be unique",
                    ln, id->valuestring);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    if (!cJSON_IsString(m) || strcmp(m->valuestring, "POST") != 0)
        return fail(b, ln, "method", "line %zu: method must be \"POST\"", ln);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "url");
    const char *url = NULL;
    for (size_t i = 0; cJSON_IsString(u) && i < ARRAY_LEN(urls) && !url; i++)
        if (strcmp(u->valuestring, urls[i]) == 0)
            url = urls[i];
    if (!url)
        return fail(b, ln, "url", "line %zu: url must be /v1/chat/completions, /v1/embeddings or /v1/responses", ln);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    if (!cJSON_IsObject(body))
        return fail(b, ln, "body", "line %zu: body must be a JSON object (the request for url)", ln);
    struct job_error e;
    memset(&e, 0, sizeof e);
    if (b->o.body && b->o.body(b->o.arg, url, body, &e) < 0) {
        char field[sizeof b->err.field];
        snprintf(field, sizeof field, "body%s%.120s", e.param[0] ? "." : "", e.param);
        if (e.status == 503)
            b->err.status = 503; /* not the file's fault: try again */
        return fail(b, ln, field, "line %zu: %s: %s", ln, field, e.message);
    }
    return 0;
}

static int check_line(struct batchcheck *b)
{
    size_t ln = b->lines;
    if (b->too_long)
        return fail(b, ln, "", "line %zu is longer than %zu bytes (HTTP_MAX_BODY: one request's limit)", ln,
                    b->o.max_line_bytes);
    size_t len = b->line.len;
    if (len && b->line.data[len - 1] == '\r')
        len--;
    if (len == 0)
        return fail(b, ln, "", "line %zu is empty; each line is one request", ln);
    if (ln > b->o.max_lines)
        return fail(b, 0, "", "the file has more than %zu lines (FILES_BATCH_MAX_LINES)", b->o.max_lines);
    struct job_error e;
    cJSON *j = job_json_parse(b->line.data, len, &e);
    if (!j) {
        /* job_json_parse speaks of "the body"; here it is a line */
        static const char lead[] = "the body is not valid JSON";
        const char *why = strncmp(e.message, lead, sizeof lead - 1) == 0 ? e.message + sizeof lead - 1 : e.message;
        return fail(b, ln, e.param, "line %zu is not valid JSON%s%s", ln, why[0] == ':' || !why[0] ? "" : ": ", why);
    }
    int rc = check_object(b, ln, j);
    cJSON_Delete(j);
    return rc;
}

int batchcheck_feed(struct batchcheck *b, const char *p, size_t n)
{
    while (n > 0 && !b->failed) {
        if (b->line.len == 0 && !b->too_long)
            b->lines++; /* a line begins */
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!b->too_long && b->line.len + take > b->o.max_line_bytes)
            b->too_long = true;
        if (!b->too_long)
            sbuf_append(&b->line, p, take);
        p += take;
        n -= take;
        if (!nl)
            break;
        p++;
        n--;
        int rc = check_line(b);
        sbuf_reset(&b->line);
        b->too_long = false;
        if (rc < 0)
            return -1;
    }
    return b->failed ? -1 : 0;
}

int batchcheck_finish(struct batchcheck *b)
{
    if (b->failed)
        return -1;
    if (b->line.len || b->too_long) {
        int rc = check_line(b);
        sbuf_reset(&b->line);
        if (rc < 0)
            return -1;
    }
    if (b->lines == 0)
        return fail(b, 0, "", "the file has no lines; a batch file holds one request per line");
    return 0;
}

const struct batchcheck_error *batchcheck_error(const struct batchcheck *b)
{
    return b->failed ? &b->err : NULL;
}

size_t batchcheck_lines(const struct batchcheck *b)
{
    return b->lines;
}
