/* jtree: strict JSON into cJSON nodes carved from a few large blocks, in
 * one pass that also does what check_json_text would check (UTF-8, no NUL,
 * numbers that travel exactly, no key twice). It declines (NULL) on
 * anything outside its subset, and job_json_parse then decides: it never
 * refuses, so every refusal keeps its words. The subset: whitespace is
 * space, tab, CR, LF; strings without raw control bytes, \u0000 or \u
 * surrogates; numbers in JSON's own grammar without an exponent and with
 * at most 15 significant digits; nesting up to JT_DEPTH; objects up to
 * JT_KEYS members. */
#include "jtree.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JT_DEPTH 32
#define JT_KEYS 64     /* duplicate keys are looked for pairwise: bounded */
#define JT_NUM_MAX 32  /* a longer number: cJSON's own reading */
#define JT_CHUNK_MAX ((size_t)1 << 20)

struct chunk {
    struct chunk *next; /* the first chunk links every later one */
    size_t cap, used;
    max_align_t data[]; /* the first chunk's data starts with the root */
};

struct jp {
    const unsigned char *p, *end;
    struct chunk *head, *cur;
    int depth;
};

static struct chunk *chunk_new(size_t cap)
{
    struct chunk *c = xmalloc(offsetof(struct chunk, data) + cap);
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

static void *jp_alloc(struct jp *j, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct chunk *c = j->cur;
    if (c->cap - c->used < n) {
        size_t cap = c->cap < JT_CHUNK_MAX / 2 ? c->cap * 2 : JT_CHUNK_MAX; /* doubling, then 1 MB steps */
        c = chunk_new(n > cap ? n : cap);
        c->next = j->head->next;
        j->head->next = c;
        j->cur = c;
    }
    void *p = (unsigned char *)c->data + c->used;
    c->used += n;
    return p;
}

static cJSON *jp_node(struct jp *j)
{
    cJSON *n = jp_alloc(j, sizeof *n);
    memset(n, 0, sizeof *n);
    return n;
}

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* Bytes a string carries as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The string at j->p (its opening quote), decoded as cJSON decodes it;
 * NULL when outside the subset. */
static char *jp_string(struct jp *j)
{
    const unsigned char *s = j->p + 1, *e = s;
    /* most strings: to the end here, four bytes a step */
    while (j->end - e >= 4 && (plain_byte[e[0]] & plain_byte[e[1]] & plain_byte[e[2]] & plain_byte[e[3]]))
        e += 4;
    while (e < j->end && plain_byte[*e])
        e++;
    bool simple = true;
    while (e < j->end && *e != '"') {
        if (*e == '\\') {
            simple = false;
            e++;
        } else if (*e < 0x20 || *e >= 0x80) {
            simple = false;
        }
        e++;
    }
    if (e >= j->end)
        return NULL;
    size_t n = (size_t)(e - s);
    unsigned char *out = jp_alloc(j, n + 1), *o = out;
    if (simple) {
        memcpy(out, s, n);
        o += n;
    } else {
        for (const unsigned char *q = s; q < e;) {
            unsigned char c = *q;
            if (c < 0x20)
                return NULL; /* cJSON keeps it; the slow path decides */
            if (c >= 0x80) {
                size_t k = util_utf8_seq((const char *)q, (size_t)(e - q));
                if (!k)
                    return NULL;
                memcpy(o, q, k);
                o += k;
                q += k;
                continue;
            }
            if (c != '\\') {
                *o++ = c;
                q++;
                continue;
            }
            c = q[1]; /* inside: the end was found past it */
            switch (c) {
            case '"': case '\\': case '/': *o++ = c; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                if (e - q < 6)
                    return NULL;
                unsigned cp;
                if (util_hex4(q + 2, &cp) < 0)
                    return NULL;
                if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                    return NULL; /* refused, or a pair: the slow path */
                if (cp < 0x80) {
                    *o++ = (unsigned char)cp;
                } else if (cp < 0x800) {
                    *o++ = (unsigned char)(0xC0 | cp >> 6);
                    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
                } else {
                    *o++ = (unsigned char)(0xE0 | cp >> 12);
                    *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                    *o++ = (unsigned char)(0x80 | (cp & 0x3F));
                }
                q += 6;
                continue;
            }
            default:
                return NULL;
            }
            q += 2;
        }
    }
    *o = '\0';
    j->p = e + 1;
    return (char *)out;
}

/* A number in JSON's grammar, no exponent, at most 15 significant digits:
 * a double carries it and cJSON prints it back as written. */
static bool jp_number(struct jp *j, cJSON *it)
{
    const unsigned char *s = j->p, *q = s, *end = j->end;
    bool neg = *q == '-';
    q += neg;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    int sig = 0;
    int64_t v = 0;
    if (*q == '0') {
        q++;
    } else {
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            v = v * 10 + (*q - '0');
            if (++sig > 15)
                return false;
        }
    }
    bool frac = q < end && *q == '.';
    if (frac) {
        const unsigned char *f = ++q;
        for (; q < end && *q >= '0' && *q <= '9'; q++)
            if ((sig || *q != '0') && ++sig > 15)
                return false;
        if (q == f)
            return false;
    }
    if (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\n' && *q != '\r' && *q != '\t')
        return false; /* an exponent, a leading zero, anything else */
    size_t n = (size_t)(q - s);
    double d;
    if (frac) {
        char buf[JT_NUM_MAX + 1];
        if (n > JT_NUM_MAX)
            return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        d = strtod(buf, NULL); /* what cJSON calls (the C locale) */
    } else {
        d = neg ? -(double)v : (double)v; /* exact below 2^53; "-0" is -0.0 as strtod has it */
    }
    it->type = cJSON_Number;
    it->valuedouble = d;
    it->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    j->p = q;
    return true;
}

static bool jp_lit(struct jp *j, const char *lit, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool jp_value(struct jp *j, cJSON *it);

/* Links the children as cJSON does: next/prev, the head's prev the last. */
static void jp_link(cJSON *parent, cJSON **last, cJSON *child)
{
    if (!*last) {
        parent->child = child;
    } else {
        (*last)->next = child;
        child->prev = *last;
    }
    *last = child;
    parent->child->prev = child;
}

static bool jp_object(struct jp *j, cJSON *it)
{
    it->type = cJSON_Object;
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return true;
    }
    cJSON *last = NULL;
    int n = 0;
    for (;;) {
        if (j->p >= j->end || *j->p != '"' || ++n > JT_KEYS)
            return false;
        char *key = jp_string(j);
        if (!key)
            return false;
        for (cJSON *k = it->child; k; k = k->next)
            if (strcmp(k->string, key) == 0)
                return false; /* refused: the slow path words it */
        jp_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return false;
        j->p++;
        jp_ws(j);
        cJSON *c = jp_node(j);
        if (!jp_value(j, c))
            return false;
        c->string = key;
        jp_link(it, &last, c);
        jp_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == '}') {
            j->p++;
            return true;
        }
        if (*j->p != ',')
            return false;
        j->p++;
        jp_ws(j);
    }
}

static bool jp_array(struct jp *j, cJSON *it)
{
    it->type = cJSON_Array;
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return true;
    }
    cJSON *last = NULL;
    for (;;) {
        cJSON *c = jp_node(j);
        if (!jp_value(j, c))
            return false;
        jp_link(it, &last, c);
        jp_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ']') {
            j->p++;
            return true;
        }
        if (*j->p != ',')
            return false;
        j->p++;
        jp_ws(j);
    }
}

/* The value at j->p (no space before it) into it. */
static bool jp_value(struct jp *j, cJSON *it)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '"':
        it->type = cJSON_String;
        it->valuestring = jp_string(j);
        return it->valuestring != NULL;
    case '{':
    case '[': {
        if (++j->depth > JT_DEPTH)
            return false;
        bool ok = *j->p == '{' ? jp_object(j, it) : jp_array(j, it);
        j->depth--;
        return ok;
    }
    case 't':
        it->type = cJSON_True;
        it->valueint = 1;
        return jp_lit(j, "true", 4);
    case 'f':
        it->type = cJSON_False;
        return jp_lit(j, "false", 5);
    case 'n':
        it->type = cJSON_NULL;
        return jp_lit(j, "null", 4);
    default:
        return jp_number(j, it);
    }
}

cJSON *jtree_parse(const char *text, size_t len)
{
    if (!text)
        return NULL;
    struct jp j = {.p = (const unsigned char *)text, .end = (const unsigned char *)text + len};
    /* Room for most bodies at once: nodes and their strings (decoded, no
     * longer than in the text); many small values take more chunks. A
     * small body's block stays under 1 KB: malloc's per-thread cache. */
    j.head = j.cur = chunk_new(512 + len + len / 4);
    cJSON *root = jp_node(&j); /* first: jtree_free finds the chunks from it */
    jp_ws(&j);
    bool ok = jp_value(&j, root);
    if (ok) {
        jp_ws(&j);
        ok = j.p == j.end; /* one value and only whitespace after it */
    }
    if (!ok) {
        jtree_free(root);
        return NULL;
    }
    return root;
}

void jtree_free(cJSON *root)
{
    if (!root)
        return;
    struct chunk *c = (struct chunk *)(void *)((unsigned char *)root - offsetof(struct chunk, data));
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
}

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool jtree_same(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->valueint != b->valueint ||
        a->valuedouble != b->valuedouble || signbit(a->valuedouble) != signbit(b->valuedouble) ||
        !str_same(a->valuestring, b->valuestring) || !str_same(a->string, b->string))
        return false;
    const cJSON *x = a->child, *y = b->child, *px = NULL, *py = NULL;
    for (; x && y; px = x, py = y, x = x->next, y = y->next) {
        if ((px && (x->prev != px || y->prev != py)) || !jtree_same(x, y))
            return false;
    }
    if (x || y)
        return false;
    /* the head's prev is the last child in both (cJSON appends by it) */
    return !a->child || (a->child->prev == px && b->child->prev == py);
}
