/* The openai adapter's request: the client's body forwarded byte for byte
 * except the top-level members routing needs, so unknown fields, number
 * spellings (a 19-digit seed) and key order reach the provider as sent. */
#include "llm_openai.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_priv.h"

/* The bytes that end a run of a string's plain bytes. */
static const unsigned char str_stop[256] = {['"'] = 1, ['\\'] = 1};

/* Skips one JSON value starting at s[i] (already accepted by a parser);
 * returns the index after it, or 0 when the text is not well formed. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (s[i] == '"') {
        for (i++; i < n; i++) {
            while (n - i >= 4 && !(str_stop[(unsigned char)s[i]] | str_stop[(unsigned char)s[i + 1]] |
                                   str_stop[(unsigned char)s[i + 2]] | str_stop[(unsigned char)s[i + 3]]))
                i += 4; /* four plain bytes a step */
            if (i >= n)
                break;
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                return i + 1;
        }
        return 0;
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            char ch = s[i];
            if (ch == '"') {
                size_t j = skip_value(s, n, i);
                if (!j)
                    return 0;
                i = j - 1;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return 0;
    }
    /* number, true, false, null (cJSON takes any byte <= 32 as space) */
    while (i < n && (unsigned char)s[i] > 32 && !strchr(",}]", s[i]))
        i++;
    return i;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    /* As cJSON: every byte <= 32 is space (JSON has four, the parser
     * that accepted the body takes more). */
    while (i < n && (unsigned char)s[i] <= 32)
        i++;
    return i;
}

/* The key at s[a..b) (quotes included) equals name. A key spelled with
 * escapes is compared decoded. */
static bool key_is(const char *s, size_t a, size_t b, const char *name)
{
    size_t nl = strlen(name);
    if (!memchr(s + a, '\\', b - a))
        return b - a == nl + 2 && memcmp(s + a + 1, name, nl) == 0;
    cJSON *k = cJSON_ParseWithLength(s + a, b - a);
    bool eq = cJSON_IsString(k) && strcmp(k->valuestring, name) == 0;
    cJSON_Delete(k);
    return eq;
}

/* The keys at s[a1..b1) and s[a2..b2) (quotes included) are the same
 * name, escapes decoded. */
static bool same_key(const char *s, size_t a1, size_t b1, size_t a2, size_t b2)
{
    if (!memchr(s + a1, '\\', b1 - a1) && !memchr(s + a2, '\\', b2 - a2))
        return b1 - a1 == b2 - a2 && memcmp(s + a1, s + a2, b1 - a1) == 0;
    cJSON *k = cJSON_ParseWithLength(s + a2, b2 - a2);
    bool eq = cJSON_IsString(k) && key_is(s, a1, b1, k->valuestring);
    cJSON_Delete(k);
    return eq;
}

/* Keys seen so far: a member whose key came before is dropped. The
 * parser that checked and accounted the body (limits reserve max_tokens
 * times n, routing reads stream) kept the first of duplicated keys; most
 * providers' parsers keep the last: without this, {"max_tokens":1,
 * "max_tokens":100000} would reserve 1 and spend 100000. A hash set: a
 * body may have a hundred thousand keys. */
struct seen_slot {
    uint64_t h;  /* the name's hash; in lin: 1 when the key has escapes */
    size_t a, b; /* the key's text; b == 0: empty */
};
#define SEEN_SMALL 32
#define SEEN_LINEAR 8 /* the first keys: compared in turn, no table to clear */
struct seen_keys {
    struct seen_slot *slot;
    size_t n, cap; /* cap: a power of two; 0: the keys are in lin */
    size_t nlin;
    struct seen_slot lin[SEEN_LINEAR];
    struct seen_slot small[SEEN_SMALL]; /* the first table: no allocation for most bodies */
};

/* FNV-1a of the key's name (escapes decoded). */
static uint64_t key_hash(const char *s, size_t a, size_t b)
{
    uint64_t h = 1469598103934665603ULL;
    cJSON *k = NULL;
    const char *p = s + a + 1;
    size_t n = b - a - 2;
    if (memchr(s + a, '\\', b - a)) {
        k = cJSON_ParseWithLength(s + a, b - a);
        p = cJSON_IsString(k) ? k->valuestring : "";
        n = strlen(p);
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    cJSON_Delete(k);
    return h;
}

static void seen_put(struct seen_keys *k, uint64_t h, size_t a, size_t b)
{
    size_t i = (size_t)h & (k->cap - 1);
    while (k->slot[i].b)
        i = (i + 1) & (k->cap - 1);
    k->slot[i] = (struct seen_slot){h, a, b};
    k->n++;
}

static bool seen_before(struct seen_keys *k, const char *s, size_t a, size_t b)
{
    if (!k->cap && k->nlin < SEEN_LINEAR) {
        uint64_t esc = memchr(s + a, '\\', b - a) != NULL; /* kept in h: escapes in the key */
        for (size_t i = 0; i < k->nlin; i++) {
            const struct seen_slot *o = &k->lin[i];
            /* as the table decides: the same hash and same_key (plain keys:
             * the same bytes, which is both) */
            if (!esc && !o->h ? o->b - o->a == b - a && memcmp(s + o->a, s + a, b - a) == 0
                              : key_hash(s, o->a, o->b) == key_hash(s, a, b) && same_key(s, o->a, o->b, a, b))
                return true;
        }
        k->lin[k->nlin++] = (struct seen_slot){esc, a, b};
        return false;
    }
    if (!k->cap) { /* past the first keys: into the table */
        memset(k->small, 0, sizeof k->small);
        k->slot = k->small;
        k->cap = SEEN_SMALL;
        for (size_t i = 0; i < k->nlin; i++)
            seen_put(k, key_hash(s, k->lin[i].a, k->lin[i].b), k->lin[i].a, k->lin[i].b);
    }
    uint64_t h = key_hash(s, a, b);
    for (size_t i = (size_t)h & (k->cap - 1); k->slot[i].b; i = (i + 1) & (k->cap - 1))
        if (k->slot[i].h == h && same_key(s, k->slot[i].a, k->slot[i].b, a, b))
            return true;
    if (2 * (k->n + 1) > k->cap) {
        struct seen_slot *old = k->slot;
        size_t oldcap = k->cap;
        k->cap *= 2;
        k->n = 0;
        k->slot = xcalloc(k->cap, sizeof *k->slot);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].b)
                seen_put(k, old[i].h, old[i].a, old[i].b);
        if (old != k->small)
            free(old);
    }
    seen_put(k, h, a, b);
    return false;
}

int llm_openai_body(const char *body, size_t len, const char *upstream_model, bool force_usage,
                    const cJSON *stream_options, bool drop_encoding, struct sbuf *out)
{
    size_t i = skip_ws(body, len, 0);
    if (i >= len || body[i] != '{')
        return -1;
    i++;
    /* about the body's size: one allocation, not a doubling series */
    sbuf_reserve(out, len + strlen(upstream_model) + 48);
    sbuf_putc(out, '{');
    bool first = true, wrote_so = false;
    struct seen_keys seen;
    seen.slot = NULL;
    seen.n = seen.cap = seen.nlin = 0;
    int rc = -1;
    for (;;) {
        i = skip_ws(body, len, i);
        if (i < len && body[i] == '}')
            break;
        size_t ka = i, kb = skip_value(body, len, i);
        if (!kb || body[ka] != '"')
            goto out;
        i = skip_ws(body, len, kb);
        if (i >= len || body[i] != ':')
            goto out;
        size_t va = skip_ws(body, len, i + 1), vb = skip_value(body, len, va);
        if (!vb)
            goto out;
        i = skip_ws(body, len, vb);
        bool drop = seen_before(&seen, body, ka, kb);
        const char *replace = NULL;
        char *owned = NULL;   /* cJSON's */
        bool model = false;   /* the upstream model's name instead */
        if (drop) {
            /* a duplicate: the first one is what was checked */
        } else if (key_is(body, ka, kb, "model")) {
            model = true;
        } else if (force_usage && key_is(body, ka, kb, "stream_options")) {
            if (wrote_so) {
                drop = true;
            } else {
                /* The client's options kept, include_usage forced on. */
                cJSON *so = cJSON_IsObject(stream_options) ? cJSON_Duplicate(stream_options, true)
                                                           : cJSON_CreateObject();
                cJSON_DeleteItemFromObjectCaseSensitive(so, "include_usage");
                cJSON_AddTrueToObject(so, "include_usage");
                owned = cJSON_PrintUnformatted(so);
                cJSON_Delete(so);
                replace = owned;
                wrote_so = true;
            }
        } else if (drop_encoding && key_is(body, ka, kb, "encoding_format")) {
            drop = true;
        }
        if (!drop) {
            if (!first)
                sbuf_putc(out, ',');
            first = false;
            sbuf_append(out, body + ka, kb - ka);
            sbuf_putc(out, ':');
            if (model)
                sbuf_json_str(out, upstream_model);
            else if (replace)
                sbuf_puts(out, replace);
            else
                sbuf_append(out, body + va, vb - va);
        }
        if (owned)
            cJSON_free(owned);
        if (i < len && body[i] == ',') {
            i++;
            continue;
        }
        if (i < len && body[i] == '}')
            break;
        goto out;
    }
    if (force_usage && !wrote_so) {
        if (!first)
            sbuf_putc(out, ',');
        sbuf_puts(out, "\"stream_options\":{\"include_usage\":true}");
    }
    sbuf_putc(out, '}');
    rc = 0;
out:
    if (seen.slot != seen.small)
        free(seen.slot);
    return rc;
}
