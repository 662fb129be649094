/* The openai adapter's request: the client's body forwarded byte for byte
 * except the top-level members routing needs, so unknown fields, number
 * spellings (a 19-digit seed) and key order reach the provider as sent. */
#include "llm_openai.h"

#include <cJSON.h>
#include <string.h>

#include "llm_priv.h"

/* Skips one JSON value starting at s[i] (already accepted by a parser);
 * returns the index after it, or 0 when the text is not well formed. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    if (s[i] == '"') {
        for (i++; i < n; i++) {
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

int llm_openai_body(const char *body, size_t len, const char *upstream_model, bool force_usage,
                    const cJSON *stream_options, bool drop_encoding, struct sbuf *out)
{
    size_t i = skip_ws(body, len, 0);
    if (i >= len || body[i] != '{')
        return -1;
    i++;
    sbuf_putc(out, '{');
    bool first = true, wrote_so = false;
    for (;;) {
        i = skip_ws(body, len, i);
        if (i < len && body[i] == '}')
            break;
        size_t ka = i, kb = skip_value(body, len, i);
        if (!kb || body[ka] != '"')
            return -1;
        i = skip_ws(body, len, kb);
        if (i >= len || body[i] != ':')
            return -1;
        size_t va = skip_ws(body, len, i + 1), vb = skip_value(body, len, va);
        if (!vb)
            return -1;
        i = skip_ws(body, len, vb);
        bool drop = false;
        const char *replace = NULL;
        char *owned = NULL;   /* cJSON's */
        struct sbuf m;
        sbuf_init(&m);
        if (key_is(body, ka, kb, "model")) {
            sbuf_json_str(&m, upstream_model);
            replace = m.data;
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
            if (replace)
                sbuf_puts(out, replace);
            else
                sbuf_append(out, body + va, vb - va);
        }
        if (owned)
            cJSON_free(owned);
        sbuf_deinit(&m);
        if (i < len && body[i] == ',') {
            i++;
            continue;
        }
        if (i < len && body[i] == '}')
            break;
        return -1;
    }
    if (force_usage && !wrote_so) {
        if (!first)
            sbuf_putc(out, ',');
        sbuf_puts(out, "\"stream_options\":{\"include_usage\":true}");
    }
    sbuf_putc(out, '}');
    return 0;
}
