/* Text helpers of the relay: searched without a parse (stream chunks are
 * searched several times each), made valid UTF-8, the key sent redacted. */
#include "llm_relay_text.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "llm_priv.h"
#include "util.h"

/* memmem is a GNU extension. The first occurrence; memchr looks for the
 * needle's second byte: the first of most needles here is a quote, the
 * commonest byte of JSON (every stream chunk is searched several times). */
const char *llm_relay_text_find(const char *s, size_t n, const char *needle, size_t nl)
{
    if (!nl || n < nl)
        return NULL;
    size_t a = nl > 1 ? 1 : 0;
    const char *last = s + (n - nl) + a; /* the anchor of the last place it can start */
    for (const char *p = s + a; p <= last; p++) {
        p = memchr(p, needle[a], (size_t)(last - p) + 1);
        if (!p)
            return NULL;
        if (memcmp(p - a, needle, nl) == 0)
            return p - a;
    }
    return NULL;
}

bool llm_relay_text_contains(const char *s, size_t n, const char *needle)
{
    return llm_relay_text_find(s, n, needle, strlen(needle)) != NULL;
}

/* No byte of s has its top bit: ASCII, the usual answer. */
static bool ascii(const char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    __m128i acc = _mm_setzero_si128();
    for (; n - i >= 64; i += 64) {
        const __m128i *v = (const __m128i *)(const void *)(s + i);
        acc = _mm_or_si128(acc, _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                                             _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3))));
    }
    for (; n - i >= 16; i += 16)
        acc = _mm_or_si128(acc, _mm_loadu_si128((const __m128i *)(const void *)(s + i)));
    if (_mm_movemask_epi8(acc))
        return false;
#endif
    for (; i < n; i++)
        if ((unsigned char)s[i] & 0x80)
            return false;
    return true;
}

bool llm_relay_text_valid(const char *s, size_t n)
{
    return ascii(s, n) || util_utf8_valid(s, n);
}

/* s into out with every invalid UTF-8 sequence as U+FFFD (one per bad
 * byte, as sbuf_json_strn): clients parse our answers as UTF-8 (the SDK's
 * JSON.parse). Valid text (the usual) is copied as is. */
void llm_relay_text_utf8_into(const char *s, size_t n, struct sbuf *out)
{
    if (llm_relay_text_valid(s, n)) {
        sbuf_append(out, s, n);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        size_t k = util_utf8_seq(s + i, n - i);
        if (k) {
            run += k;
            i += k;
            continue;
        }
        sbuf_append(out, s + i - run, run);
        run = 0;
        sbuf_append(out, "\xEF\xBF\xBD", 3);
        i++;
    }
    sbuf_append(out, s + n - run, run);
}

/* b made valid UTF-8 in place (a copy only when it is not). */
void llm_relay_text_utf8(struct sbuf *b)
{
    if (!b->len || llm_relay_text_valid(b->data, b->len))
        return;
    struct sbuf r;
    sbuf_init(&r);
    llm_relay_text_utf8_into(b->data, b->len, &r);
    sbuf_deinit(b);
    *b = r;
}

/* The text has the key "name" (a key: after '{' or ',' and blanks; a quote
 * inside a string is escaped) with a value starting with one of starts.
 * Every OpenAI chunk says "usage":null; only the one with an object needs
 * parsing. */
static bool has_key_value_at(const char *s, size_t n, const char *name, const char *starts, bool nonempty)
{
    size_t nl = strlen(name);
    const char *end = s + n;
    for (const char *p = s; (p = llm_relay_text_find(p, (size_t)(end - p), name, nl)) != NULL; p += nl) {
        const char *b = p;
        while (b > s && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
            b--;
        if (b == s || (b[-1] != '{' && b[-1] != ','))
            continue;
        const char *q = p + nl;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
            q++;
        if (q >= end || *q != ':')
            continue;
        for (q++; q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'); q++)
            ;
        /* nonempty: not "" nor [] (the role chunk's "content":"") */
        if (q < end && *q && strchr(starts, *q) && (!nonempty || (q + 1 < end && q[1] != '"' && q[1] != ']')))
            return true;
    }
    return false;
}

bool llm_relay_text_has_key_value(const char *s, size_t n, const char *name, const char *starts)
{
    return has_key_value_at(s, n, name, starts, false);
}

/* A chunk carrying output (content, a tool call, reasoning), not just the
 * role: time to first token is measured at the first of these. Cheap: no
 * parse. */
bool llm_relay_text_has_output(const char *s, size_t n)
{
    return has_key_value_at(s, n, "\"content\"", "\"", true) || has_key_value_at(s, n, "\"tool_calls\"", "[", true) ||
           has_key_value_at(s, n, "\"reasoning_content\"", "\"", true) ||
           has_key_value_at(s, n, "\"reasoning\"", "\"", true);
}

/* The key ingot sent, when long enough to look for (a provider may echo it
 * in an error: a self-hosted server whole, OpenAI partly). */
static const char *sent_key(const struct llm_call *c)
{
    const char *k = c->t.api_key;
    return k && strlen(k) >= 8 ? k : NULL;
}

/* data with every occurrence of the key sent replaced, into out. */
void llm_relay_text_redact_into(const struct llm_call *c, const char *data, size_t len, struct sbuf *out)
{
    const char *k = sent_key(c), *p = data, *end = data + len, *hit;
    size_t kl = k ? strlen(k) : 0;
    while (k && (hit = llm_relay_text_find(p, (size_t)(end - p), k, kl)) != NULL) {
        sbuf_append(out, p, (size_t)(hit - p));
        sbuf_puts(out, "[redacted]");
        p = hit + kl;
    }
    sbuf_append(out, p, (size_t)(end - p));
}

/* b without the key sent, when it has it. */
void llm_relay_text_redact(const struct llm_call *c, struct sbuf *b)
{
    const char *k = sent_key(c);
    if (!k || !b->len || !llm_relay_text_find(b->data, b->len, k, strlen(k)))
        return;
    struct sbuf r;
    sbuf_init(&r);
    llm_relay_text_redact_into(c, b->data, b->len, &r);
    sbuf_reset(b);
    sbuf_append(b, r.data, r.len);
    sbuf_deinit(&r);
}
