#include "llm_embed.h"

#include <float.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_json_int.h"
#include "llm_json_loop.h"
#include "util.h"

/* Raw bytes base64-encoded at a time (a multiple of 3: no padding inside). */
#define B64_CHUNK 3072

struct scan {
    const char *s;
    size_t n, i;
    bool embed;
    struct sbuf *out;
    size_t copied; /* s[0, copied) is in out */
    struct llm_json_top *top;
};

static void ws_run(struct scan *sc)
{
    while (sc->i < sc->n &&
           (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' || sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
        sc->i++;
}

/* Blanks skipped. Compact JSON (the usual) has none: one test of a byte
 * above ' ' and no call. */
static inline void ws(struct scan *sc)
{
    if (sc->i < sc->n && (unsigned char)sc->s[sc->i] <= ' ')
        ws_run(sc);
}

static int hex4(const char *s, size_t n, size_t i, unsigned *v)
{
    return n - i < 4 ? -1 : util_hex4((const unsigned char *)s + i, v);
}

/* The end of a string whose inside starts at s[i] (past its quote): the
 * index past its closing quote, SCAN_BAD when it is not one; whether it
 * has an escape into *esc. Escapes are checked as cJSON does (a \u
 * surrogate must be a pair); raw bytes are not (UTF-8 is mended on the
 * way out). */
size_t llm_json_str_end(const char *s, size_t i, size_t n, bool *esc)
{
    for (;;) {
        i = llm_json_quote_or_escape(s, i, n);
        if (i >= n)
            return SCAN_BAD;
        if (s[i] == '"')
            return i + 1;
        *esc = true;
        if (++i >= n)
            return SCAN_BAD;
        char e = s[i];
        if (e == 'u') {
            unsigned v, w;
            if (hex4(s, n, i + 1, &v) < 0 || (v >= 0xDC00 && v <= 0xDFFF))
                return SCAN_BAD;
            i += 5;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u' || hex4(s, n, i + 2, &w) < 0 || w < 0xDC00 ||
                    w > 0xDFFF)
                    return SCAN_BAD;
                i += 6;
            }
        } else if (strchr("\"\\/bfnrt", e) && e) {
            i++;
        } else {
            return SCAN_BAD;
        }
    }
}

/* A string at sc->i (its quote); its raw inside into *p, *len, and
 * whether it has an escape into *esc (str_end). */
static int string(struct scan *sc, const char **p, size_t *len, bool *esc)
{
    if (sc->i >= sc->n || sc->s[sc->i] != '"')
        return -1;
    size_t start = sc->i + 1;
    bool escaped = false;
    size_t e = llm_json_str_end(sc->s, start, sc->n, &escaped);
    if (e == SCAN_BAD)
        return -1;
    if (p) {
        *p = sc->s + start;
        *len = e - 1 - start;
        *esc = escaped;
    }
    sc->i = e;
    return 0;
}

/* A number's text at sc->i per JSON's grammar; its end into sc->i. */
static int number(struct scan *sc)
{
    size_t e = llm_json_num_end(sc->s, sc->i, sc->n);
    if (e == SCAN_BAD)
        return -1;
    sc->i = e;
    return 0;
}

static bool is_key(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

static int value(struct scan *sc, enum llm_json_role role, int depth);

/* An array of only numbers at sc->i ('['): true, and its count. Does not
 * move sc->i. */
static bool numbers_only(struct scan *sc, size_t *count)
{
    struct scan t = *sc;
    t.i++;
    *count = 0;
    ws(&t);
    if (t.i < t.n && t.s[t.i] == ']')
        return true;
    for (;;) {
        ws(&t);
        if (number(&t) < 0)
            return false;
        (*count)++;
        ws(&t);
        if (t.i >= t.n)
            return false;
        if (t.s[t.i] == ']')
            return true;
        if (t.s[t.i] != ',')
            return false;
        t.i++;
    }
}

static void b64_flush(struct sbuf *out, unsigned char *raw, size_t *rl)
{
    if (!*rl)
        return;
    sbuf_reserve(out, 4 * ((*rl + 2) / 3) + 1);
    int w = EVP_EncodeBlock((unsigned char *)out->data + out->len, raw, (int)*rl);
    out->len += (size_t)w;
    out->data[out->len] = '\0';
    *rl = 0;
}

/* The number array at sc->i (checked by numbers_only) into out as a
 * base64 string; sc->i past its ']'. */
static void convert(struct scan *sc)
{
    struct sbuf *out = sc->out;
    sbuf_append(out, sc->s + sc->copied, sc->i - sc->copied);
    sbuf_putc(out, '"');
    unsigned char raw[B64_CHUNK];
    size_t rl = 0;
    char tmp[64];
    sc->i++;
    for (;;) {
        ws(sc);
        if (sc->s[sc->i] == ']')
            break;
        size_t a = sc->i;
        (void)number(sc); /* checked */
        /* strtod wants a NUL: the text is not ours to write into. */
        size_t nl = sc->i - a;
        double d;
        if (nl < sizeof tmp) {
            memcpy(tmp, sc->s + a, nl);
            tmp[nl] = '\0';
            d = strtod(tmp, NULL);
        } else {
            char *big = xstrndup(sc->s + a, nl);
            d = strtod(big, NULL);
            free(big);
        }
        /* Beyond float's range the cast is undefined in C: say infinity,
         * what an IEEE conversion gives. */
        float f = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        /* Byte by byte: little-endian whatever this machine is. */
        raw[rl++] = (unsigned char)(u & 0xff);
        raw[rl++] = (unsigned char)((u >> 8) & 0xff);
        raw[rl++] = (unsigned char)((u >> 16) & 0xff);
        raw[rl++] = (unsigned char)((u >> 24) & 0xff);
        if (rl + 4 > B64_CHUNK) {
            /* keep a multiple of 3 encoded; the rest waits */
            size_t keep = rl % 3, enc = rl - keep;
            b64_flush(out, raw, &enc);
            memmove(raw, raw + (rl - keep), keep);
            rl = keep;
        }
        ws(sc);
        if (sc->s[sc->i] == ',')
            sc->i++;
    }
    b64_flush(out, raw, &rl);
    sbuf_putc(out, '"');
    sc->i++; /* ']' */
    sc->copied = sc->i;
}

static int object(struct scan *sc, enum llm_json_role role, int depth)
{
    sc->i++; /* '{' */
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == '}') {
        sc->i++;
        return 0;
    }
    for (;;) {
        ws(sc);
        const char *k;
        size_t kl;
        bool esc;
        if (string(sc, &k, &kl, &esc) < 0)
            return -1;
        ws(sc);
        if (sc->i >= sc->n || sc->s[sc->i] != ':')
            return -1;
        sc->i++;
        ws(sc);
        struct llm_json_span *span;
        enum llm_json_role sub = llm_json_member(sc->top, role, k, kl, esc, sc->i < sc->n ? sc->s[sc->i] : '\0', &span);
        size_t a = sc->i;
        if (value(sc, sub, depth + 1) < 0)
            return -1;
        if (span)
            llm_json_first(span, sc->s + a, sc->s + sc->i);
        ws(sc);
        if (sc->i >= sc->n)
            return -1;
        if (sc->s[sc->i] == '}') {
            sc->i++;
            return 0;
        }
        if (sc->s[sc->i] != ',')
            return -1;
        sc->i++;
    }
}

static int array(struct scan *sc, enum llm_json_role role, int depth)
{
    size_t count;
    if (role == R_EMBED && sc->embed && sc->out && numbers_only(sc, &count)) {
        convert(sc);
        return 0;
    }
    sc->i++; /* '[' */
    ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == ']') {
        sc->i++;
        return 0;
    }
    for (;;) {
        ws(sc);
        if (value(sc, role == R_DATA ? R_ITEM : R_OTHER, depth + 1) < 0)
            return -1;
        ws(sc);
        if (sc->i >= sc->n)
            return -1;
        if (sc->s[sc->i] == ']') {
            sc->i++;
            return 0;
        }
        if (sc->s[sc->i] != ',')
            return -1;
        sc->i++;
    }
}

static int literal(struct scan *sc, const char *w)
{
    size_t l = strlen(w);
    if (sc->n - sc->i < l || memcmp(sc->s + sc->i, w, l) != 0)
        return -1;
    sc->i += l;
    return 0;
}

static int value(struct scan *sc, enum llm_json_role role, int depth)
{
    if (depth > SCAN_MAX_DEPTH || sc->i >= sc->n)
        return -1;
    switch (sc->s[sc->i]) {
    case '{': return object(sc, llm_json_obj_role(role), depth);
    case '[': return array(sc, role, depth);
    case '"': return string(sc, NULL, NULL, NULL);
    case 't': return literal(sc, "true");
    case 'f': return literal(sc, "false");
    case 'n': return literal(sc, "null");
    default: return number(sc);
    }
}

int llm_json_scan(const char *body, size_t len, bool embed, struct sbuf *out, struct llm_json_top *top)
{
    struct llm_json_top dummy;
    memset(top ? top : &dummy, 0, sizeof dummy);
    if (!body)
        return -1;
    struct scan sc = {.s = body, .n = len, .embed = embed, .top = top ? top : &dummy};
    size_t mark = out ? out->len : 0;
    ws(&sc);
    if (sc.i >= sc.n || body[sc.i] != '{')
        return -1;
    if (!embed || !out) { /* nothing to convert: the loop */
        if (llm_json_loop(body, len, sc.i, sc.top, &sc.i) < 0)
            goto bad;
    } else {
        /* Converted as it goes: dropped if the text fails later. */
        sc.out = out;
        if (value(&sc, R_ROOT, 0) < 0)
            goto bad;
    }
    ws(&sc);
    if (sc.i != sc.n)
        goto bad;
    if (out)
        sbuf_append(out, body + sc.copied, len - sc.copied);
    return 0;
bad:
    if (out) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    memset(sc.top, 0, sizeof *sc.top);
    return -1;
}

int llm_json_fields(const char *s, size_t n, const char *const *names, size_t k, struct llm_json_span *out)
{
    for (size_t j = 0; j < k; j++)
        out[j].p = NULL, out[j].len = 0;
    struct llm_json_top dummy;
    struct scan sc = {.s = s, .n = n, .top = &dummy};
    ws(&sc);
    if (sc.i >= sc.n || s[sc.i] != '{')
        return -1;
    sc.i++;
    ws(&sc);
    if (sc.i < sc.n && s[sc.i] == '}')
        return 0;
    for (;;) {
        ws(&sc);
        const char *key;
        size_t kl;
        bool esc;
        if (string(&sc, &key, &kl, &esc) < 0 || esc)
            return -1; /* an escaped key could spell a name: the caller parses */
        ws(&sc);
        if (sc.i >= sc.n || s[sc.i] != ':')
            return -1;
        sc.i++;
        ws(&sc);
        size_t a = sc.i;
        if (value(&sc, R_OTHER, 1) < 0)
            return -1;
        for (size_t j = 0; j < k; j++) {
            if (!out[j].p && is_key(key, kl, names[j])) { /* the first counts */
                out[j].p = s + a;
                out[j].len = sc.i - a;
            }
        }
        ws(&sc);
        if (sc.i >= sc.n)
            return -1;
        if (s[sc.i] == '}')
            return 0;
        if (s[sc.i] != ',')
            return -1;
        sc.i++;
    }
}

int llm_embed_base64(const char *body, size_t len, struct sbuf *out)
{
    struct llm_json_top top;
    size_t mark = out->len;
    if (llm_json_scan(body, len, true, out, &top) < 0)
        return -1;
    if (!top.data.p || top.data.p[0] != '[') {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
        return -1;
    }
    return 0;
}
