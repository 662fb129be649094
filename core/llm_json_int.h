/* llm_json_int: what llm_embed's converting walk and llm_json_loop (the
 * scan without conversion) share. Internal to the two. */
#ifndef INGOT_LLM_JSON_INT_H
#define INGOT_LLM_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "llm_embed.h"

#define SCAN_MAX_DEPTH 256
/* A scanned text's end that is no end: the text is not JSON there. */
#define SCAN_BAD SIZE_MAX

/* Where a value sits, for the few that matter. */
enum llm_json_role { R_OTHER, R_ROOT, R_DATA, R_ITEM, R_EMBED, R_USAGE, R_PD, R_CD };

/* The first index in [i, n) holding '"' or '\\'; n if none. Sixteen bytes
 * at a time where they are there (loads stay inside s[0, n)). */
static inline size_t llm_json_quote_or_escape(const char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
    while (i < n && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
#else
    return util_find2(s, i, n, '"', '\\');
#endif
}

/* span set to the value at [a, end) unless an earlier key set it. */
static inline void llm_json_first(struct llm_json_span *span, const char *a, const char *end)
{
    if (!span->p) {
        span->p = a;
        span->len = (size_t)(end - a);
    }
}

/* The role an object in role r has (the roles that matter inside it). */
static inline enum llm_json_role llm_json_obj_role(enum llm_json_role r)
{
    return r == R_ITEM || r == R_ROOT || r == R_USAGE || r == R_PD || r == R_CD ? r : R_OTHER;
}

/* The end of a string whose inside starts at s[i] (past its quote): the
 * index past its closing quote, SCAN_BAD when it is not one; *esc set
 * when it has an escape. */
size_t llm_json_str_end(const char *s, size_t i, size_t n, bool *esc);
/* The end of a number's text at s[i] per JSON's grammar; SCAN_BAD. */
static inline size_t llm_json_num_end(const char *s, size_t i, size_t n)
{
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return SCAN_BAD;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return SCAN_BAD;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return SCAN_BAD;
    }
    return i;
}

/* is_key with a literal: its length known when compiled. */
#define LLM_JSON_KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* A member with key k of an object in role: the role of its value, and
 * into *span where its text goes (NULL: nowhere). c: the value's first
 * byte. */
static inline enum llm_json_role llm_json_member(struct llm_json_top *top, enum llm_json_role role, const char *k,
                                                 size_t kl, bool esc, char c, struct llm_json_span **span)
{
    struct llm_json_usage *u = &top->u;
    *span = NULL;
    switch (role) {
    case R_ROOT:
        if (LLM_JSON_KEY_IS(k, kl, "data")) {
            *span = &top->data;
            return R_DATA;
        }
        if (LLM_JSON_KEY_IS(k, kl, "usage")) {
            *span = &top->usage;
            return !top->usage.p && c == '{' ? R_USAGE : R_OTHER; /* the first counts */
        }
        if (LLM_JSON_KEY_IS(k, kl, "error"))
            *span = &top->error;
        else if (LLM_JSON_KEY_IS(k, kl, "choices"))
            *span = &top->choices;
        return R_OTHER;
    case R_ITEM: return LLM_JSON_KEY_IS(k, kl, "embedding") ? R_EMBED : R_OTHER;
    case R_USAGE:
        u->escaped |= esc;
        if (LLM_JSON_KEY_IS(k, kl, "prompt_tokens")) {
            *span = &u->prompt;
        } else if (LLM_JSON_KEY_IS(k, kl, "completion_tokens")) {
            *span = &u->completion;
        } else if (LLM_JSON_KEY_IS(k, kl, "prompt_tokens_details")) {
            *span = &u->pdetails;
            return u->pdetails.p ? R_OTHER : R_PD;
        } else if (LLM_JSON_KEY_IS(k, kl, "completion_tokens_details")) {
            *span = &u->cdetails;
            return u->cdetails.p ? R_OTHER : R_CD;
        }
        return R_OTHER;
    case R_PD:
        u->escaped |= esc;
        if (LLM_JSON_KEY_IS(k, kl, "cached_tokens"))
            *span = &u->cached;
        return R_OTHER;
    case R_CD:
        u->escaped |= esc;
        if (LLM_JSON_KEY_IS(k, kl, "reasoning_tokens"))
            *span = &u->reasoning;
        return R_OTHER;
    default: return R_OTHER;
    }
}

#endif
