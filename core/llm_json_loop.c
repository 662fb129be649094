/* llm_json_loop: llm_json_scan without conversion (every chat answer) as
 * one loop over a stack of open containers instead of a call per value:
 * the same language, depth bound and spans as llm_embed's converting walk
 * (test_llm_embed and fuzz_embed compare the two). */
#include "llm_json_loop.h"

#include "llm_json_int.h"

/* str_end for the usual string, without an escape: its closing quote
 * found here, the rest left to str_end. */
static inline size_t str_end_fast(const char *s, size_t i, size_t n, bool *esc)
{
    size_t q = llm_json_quote_or_escape(s, i, n);
    return q < n && s[q] == '"' ? q + 1 : llm_json_str_end(s, q, n, esc);
}

/* JSON's blanks; one test for the usual byte above ' '. */
#define BLANK(c) ((unsigned char)(c) <= ' ' && ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r'))

int llm_json_loop(const char *s, size_t n, size_t i, struct llm_json_top *top, size_t *end)
{
    struct open {
        char close; /* ']' for an array, '}' for an object */
        enum llm_json_role role; /* an object's; an array's items' */
        struct llm_json_span *span;
        size_t a;
    } st[SCAN_MAX_DEPTH + 1];
    int d = -1;                    /* st[d]: the innermost open container */
    enum llm_json_role r = R_ROOT; /* the next value's */
    struct llm_json_span *span = NULL;
    bool esc;
    if (!top || i >= n || s[i] != '{') /* the caller's checks; a scalar root would have no container */
        return -1;
    for (;;) {
        /* a value at depth d + 1, i at its first byte */
        if (d + 1 > SCAN_MAX_DEPTH || i >= n)
            return -1;
        size_t a = i;
        char c = s[i];
        if (c == '{' || c == '[') {
            enum llm_json_role inner = c == '[' ? (r == R_DATA ? R_ITEM : R_OTHER) : llm_json_obj_role(r);
            st[++d] = (struct open){.close = c == '[' ? ']' : '}', .role = inner, .span = span, .a = a};
            i++;
            while (i < n && BLANK(s[i]))
                i++;
            if (i < n && s[i] == st[d].close) {
                i++;
                goto closed;
            }
            if (c == '[') {
                r = inner, span = NULL;
                continue;
            }
            goto key;
        }
        if (c == '"') {
            esc = false;
            i = str_end_fast(s, i + 1, n, &esc);
        } else if (c == 't') {
            i = n - i >= 4 && memcmp(s + i, "true", 4) == 0 ? i + 4 : SCAN_BAD;
        } else if (c == 'f') {
            i = n - i >= 5 && memcmp(s + i, "false", 5) == 0 ? i + 5 : SCAN_BAD;
        } else if (c == 'n') {
            i = n - i >= 4 && memcmp(s + i, "null", 4) == 0 ? i + 4 : SCAN_BAD;
        } else {
            i = llm_json_num_end(s, i, n);
        }
        if (i == SCAN_BAD || d < 0) /* d < 0: a scalar root, which the check above keeps out */
            return -1;
        if (span)
            llm_json_first(span, s + a, s + i);
        /* after a value inside st[d] */
        for (;;) {
            while (i < n && BLANK(s[i]))
                i++;
            if (i >= n)
                return -1;
            if (s[i] == st[d].close) {
                i++;
            closed:
                if (st[d].span)
                    llm_json_first(st[d].span, s + st[d].a, s + i);
                if (--d < 0) {
                    *end = i;
                    return 0;
                }
                continue;
            }
            if (s[i] != ',')
                return -1;
            i++;
            while (i < n && BLANK(s[i]))
                i++;
            if (st[d].close == ']') {
                r = st[d].role, span = NULL;
                break;
            }
        key:
            /* a member of the object st[d]: i at its key */
            if (i >= n || s[i] != '"')
                return -1;
            esc = false;
            size_t k = i + 1;
            i = str_end_fast(s, k, n, &esc);
            if (i == SCAN_BAD)
                return -1;
            size_t kl = i - 1 - k;
            while (i < n && BLANK(s[i]))
                i++;
            if (i >= n || s[i] != ':')
                return -1;
            i++;
            while (i < n && BLANK(s[i]))
                i++;
            if (st[d].role == R_OTHER) /* most keys: nothing to look for */
                r = R_OTHER, span = NULL;
            else
                r = llm_json_member(top, st[d].role, s + k, kl, esc, i < n ? s[i] : '\0', &span);
            break;
        }
    }
}

