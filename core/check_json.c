/* check_json: the JSON text walker that runs before cJSON parses a body:
 * valid UTF-8 and no NUL in strings, numbers cJSON carries exactly, no key
 * twice in an object, bounded nesting; the path of the first bad value. */
#include "check_json.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PATH_MAX_LEN 200
#define KEYS_SMALL 16 /* objects up to this many keys: compared as they come */

struct frame {
    bool array;
    bool want_key;
    long index;
    size_t base;          /* path length of the container itself */
    size_t keys0, arena0; /* this object's first key entry and its bytes */
};

struct key {
    size_t off, len;      /* the key: in the text when raw, else decoded in the arena */
    bool raw;             /* no escapes: its bytes in the text are its text */
    const char *ptr;      /* set only while sorting (the arena may move) */
};

struct walk {
    const unsigned char *p;
    size_t len, i;
    char path[PATH_MAX_LEN + 1];
    size_t plen;
    struct frame *st;     /* every open container (depth is bounded by len) */
    size_t depth, cap;
    struct key *keys;     /* the keys of every open object, innermost last */
    size_t nkeys, capkeys;
    struct sbuf arena;    /* the decoded bytes of keys with escapes */
};

/* Most bodies fit these: no allocation for them. */
#define FRAMES_SMALL 16

/* Where the bytes of key k are now. */
static const char *key_ptr(const struct walk *w, const struct key *k)
{
    return k->raw ? (const char *)w->p + k->off : w->arena.data + k->off;
}

/* Appends to the container's path (base) one component: ".key" (no dot
 * at the root) or "[index]"; one too long leaves the container's path.
 * Runs for every key and array item, so no printf. */
static void path_set(struct walk *w, size_t base, const char *key, size_t klen, long index)
{
    char num[24];
    const char *comp = key;
    size_t n = klen, extra = key && base ? 1 : 0;
    if (!key) {
        char *q = num + sizeof num;
        *--q = ']';
        unsigned long v = (unsigned long)index; /* never negative */
        do
            *--q = (char)('0' + v % 10);
        while (v /= 10);
        *--q = '[';
        comp = q;
        n = (size_t)(num + sizeof num - q);
    }
    if (base + extra + n > PATH_MAX_LEN) {
        w->plen = base; /* too long: the container's path has to do */
        w->path[base] = '\0';
        return;
    }
    if (extra)
        w->path[base] = '.';
    memcpy(w->path + base + extra, comp, n);
    w->plen = base + extra + n;
    w->path[w->plen] = '\0';
}

static int hex4(const unsigned char *p, size_t n, unsigned *out)
{
    return n < 4 ? -1 : util_hex4(p, out);
}

/* The string at w->i (on its opening quote): advances past it; NULL when
 * fine, else why. *plain: no escapes (its raw bytes are its text). */
static const char *read_string(struct walk *w, size_t *start, size_t *end, bool *plain)
{
    const unsigned char *p = w->p;
    size_t j = w->i + 1;
    *start = j;
    *plain = true;
    const char *why = NULL;
    while (j < w->len && p[j] != '"') {
        if (p[j] == '\\') {
            *plain = false;
            if (j + 1 >= w->len)
                return "unterminated string";
            if (p[j + 1] != 'u') {
                j += 2;
                continue;
            }
            unsigned cp, lo;
            if (hex4(p + j + 2, w->len - j - 2, &cp) < 0)
                return "bad \\u escape";
            j += 6;
            if (cp == 0) {
                why = why ? why : "must not contain NUL (\\u0000)";
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                why = why ? why : "must be valid UTF-8 (a lone UTF-16 surrogate)";
            } else if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j + 6 <= w->len && p[j] == '\\' && p[j + 1] == 'u' &&
                    hex4(p + j + 2, w->len - j - 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF)
                    j += 6;
                else
                    why = why ? why : "must be valid UTF-8 (a lone UTF-16 surrogate)";
            }
            continue;
        }
        if (p[j] == 0) {
            why = why ? why : "must not contain NUL";
            j++;
            continue;
        }
        if (p[j] < 0x80) { /* ASCII: the usual, no call */
            j++;
            continue;
        }
        size_t k = util_utf8_seq((const char *)p + j, w->len - j);
        if (!k) {
            why = why ? why : "must be valid UTF-8";
            k = 1;
        }
        j += k;
    }
    if (j >= w->len)
        return "unterminated string";
    *end = j;
    w->i = j + 1;
    return why;
}

/* Whether d comes back unchanged from cJSON, which stores every number as
 * a double and prints it (payload and metadata are stored as printed):
 * cJSON 1.7.15 keeps a 15-digit form when it is "close enough", so even
 * 2^53 - 1 would come back as 9007199254740990. */
static bool cjson_keeps(double d)
{
    cJSON item;
    memset(&item, 0, sizeof item);
    item.type = cJSON_Number;
    cJSON_SetNumberHelper(&item, d);
    char buf[64];
    if (!cJSON_PrintPreallocated(&item, buf, (int)sizeof buf, 0))
        return false;
    char *end;
    double back = strtod(buf, &end);
    return *end == '\0' && back == d;
}

/* Whether the decimal t[0..n) has at most 15 significant digits and a
 * magnitude well inside a double's normal range: then the double nearest
 * it prints back to it in 15 digits (DBL_DIG), so cJSON keeps it. */
static bool short_decimal(const unsigned char *t, size_t n)
{
    size_t i = t[0] == '-' ? 1 : 0;
    int sig = 0, lead = 0, intdigits = 0;
    bool seen = false, frac = false;
    for (; i < n && (t[i] == '.' || (t[i] >= '0' && t[i] <= '9')); i++) {
        if (t[i] == '.') {
            frac = true;
        } else if (seen || t[i] != '0') {
            seen = true;
            sig++;
            intdigits += !frac;
        } else if (frac) {
            lead++; /* 0.000ddd */
        }
    }
    long e = 0;
    if (i < n) { /* [eE][+-]digits, at most 4 */
        if (t[i] != 'e' && t[i] != 'E')
            return false;
        i++;
        bool neg = i < n && t[i] == '-';
        i += i < n && (t[i] == '-' || t[i] == '+');
        if (n - i > 4)
            return false;
        for (; i < n; i++)
            e = e * 10 + (t[i] - '0');
        e = neg ? -e : e;
    }
    long mag = e + (intdigits ? intdigits : -lead);
    return sig <= 15 && mag > -300 && mag < 300;
}

/* The number at w->i: advances past it; NULL when it arrives where it is
 * sent as written, else why. */
static const char *read_number(struct walk *w)
{
    const unsigned char *t = w->p + w->i;
    size_t n = 0;
    bool integer = true;
    while (w->i + n < w->len && t[n] && strchr("0123456789+-.eE", t[n])) {
        integer = integer && t[n] != '.' && t[n] != 'e' && t[n] != 'E';
        n++;
    }
    w->i += n;
    size_t k = t[0] == '-' ? 1 : 0;
    while (k + 1 < n && t[k] == '0')
        k++;
    size_t digits = n - k;
    if ((integer && digits <= 15) || (!integer && short_decimal(t, n)))
        return NULL; /* a double and cJSON's printing carry these exactly */
    static const char *const lossy_id =
        "an integer that would lose digits in transit (JSON numbers travel as doubles): send such ids as strings";
    /* beyond 2^53 neighbouring integers share a double */
    if (integer && (digits > 16 || (digits == 16 && memcmp(t + k, "9007199254740992", 16) > 0)))
        return lossy_id;
    char buf[80]; /* cJSON reads at most 63 characters of a number */
    if (n >= sizeof buf)
        return "a number too long to carry exactly: send it as a string";
    memcpy(buf, t, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d))
        return "a number beyond the range of a double (such as 1e400): send it as a string";
    if (!cjson_keeps(d))
        return integer ? lossy_id : "a number that would change in transit (JSON numbers travel as doubles): send it as a string";
    return NULL;
}

/* Appends the text of the (valid) string p[s..e) with its escapes
 * decoded, so "\u0075rl" and "url" are the same key. */
static void decode_string(const unsigned char *p, size_t s, size_t e, struct sbuf *out)
{
    for (size_t j = s; j < e;) {
        if (p[j] != '\\') {
            sbuf_putc(out, (char)p[j++]);
            continue;
        }
        char c = (char)p[j + 1];
        if (c != 'u') {
            /* \" \\ \/ stand for themselves; the rest are controls */
            sbuf_putc(out, c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c);
            j += 2;
            continue;
        }
        unsigned cp = 0, lo = 0;
        (void)hex4(p + j + 2, 4, &cp);
        j += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF && j + 6 <= e && hex4(p + j + 2, 4, &lo) == 0) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            j += 6;
        }
        unsigned char u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (unsigned char)cp, n = 1;
        } else if (cp < 0x800) {
            u[0] = (unsigned char)(0xC0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3F)), n = 2;
        } else if (cp < 0x10000) {
            u[0] = (unsigned char)(0xE0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            u[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
        } else {
            u[0] = (unsigned char)(0xF0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
        }
        sbuf_append(out, u, n);
    }
}

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->ptr, y->ptr, x->len);
}

/* Names the duplicated key k of the object f (by the object when the key
 * has characters a path should not carry). */
static void dup_path(struct walk *w, const struct frame *f, const struct key *k)
{
    const char *t = key_ptr(w, k);
    bool nameable = true;
    for (size_t j = 0; j < k->len; j++)
        nameable = nameable && (unsigned char)t[j] >= 0x20 && t[j] != 0x7f;
    if (nameable) {
        path_set(w, f->base, t, k->len, 0);
    } else {
        w->plen = f->base;
        w->path[w->plen] = '\0';
    }
}

/* Grows a stack-first array (small points at the caller's stack array). */
static void *grow(void *a, const void *small, size_t *cap, size_t size)
{
    size_t n = *cap;
    *cap = n * 2;
    if (a != small)
        return xrealloc(a, *cap * size);
    void *b = xmalloc(*cap * size);
    memcpy(b, a, n * size);
    return b;
}

/* The key k (raw in the text, or decoded at the arena's end): false (and
 * the path named) when its object already has it. Small objects compare
 * as keys come; large ones are sorted when they close (objects_close), so
 * a walk stays O(n log n) whatever the body. */
static bool key_add(struct walk *w, struct frame *f, struct key k, const struct key *keys_small)
{
    if (w->nkeys - f->keys0 < KEYS_SMALL) {
        const char *kp = key_ptr(w, &k);
        for (size_t j = f->keys0; j < w->nkeys; j++) {
            if (w->keys[j].len == k.len && memcmp(key_ptr(w, &w->keys[j]), kp, k.len) == 0) {
                dup_path(w, f, &k);
                return false;
            }
        }
    }
    if (w->nkeys == w->capkeys)
        w->keys = grow(w->keys, keys_small, &w->capkeys, sizeof *w->keys);
    w->keys[w->nkeys++] = k;
    return true;
}

/* The object f closes: false (and the path named) on a duplicate key. */
static bool object_close(struct walk *w, struct frame *f)
{
    size_t n = w->nkeys - f->keys0;
    bool ok = true;
    if (n > KEYS_SMALL) {
        struct key *k = w->keys + f->keys0;
        for (size_t j = 0; j < n; j++)
            k[j].ptr = key_ptr(w, &k[j]);
        qsort(k, n, sizeof *k, key_cmp);
        for (size_t j = 1; ok && j < n; j++) {
            if (key_cmp(&k[j - 1], &k[j]) == 0) {
                dup_path(w, f, &k[j]);
                ok = false;
            }
        }
    }
    w->nkeys = f->keys0;
    w->arena.len = f->arena0;
    if (w->arena.data)
        w->arena.data[w->arena.len] = '\0';
    return ok;
}

/* The path of the value that starts now (after '[', ',' or ':'). */
static void value_starts(struct walk *w)
{
    if (w->depth == 0)
        return;
    struct frame *f = &w->st[w->depth - 1];
    if (f->array)
        path_set(w, f->base, NULL, 0, f->index);
}

static int walk_run(struct walk *w, const char *text, const struct frame *st_small,
                    const struct key *keys_small, char *why, size_t whylen)
{
    while (w->i < w->len) {
        unsigned char c = w->p[w->i];
        bool in = w->depth > 0; /* inside a container: f is it */
        struct frame *f = in ? &w->st[w->depth - 1] : NULL;
        if (c == '{' || c == '[') {
            if (w->depth == w->cap)
                w->st = grow(w->st, st_small, &w->cap, sizeof *w->st);
            struct frame *nf = &w->st[w->depth++];
            nf->array = c == '[';
            nf->want_key = c == '{';
            nf->index = 0;
            nf->base = w->plen;
            nf->keys0 = w->nkeys;
            nf->arena0 = w->arena.len;
            value_starts(w);
            w->i++;
        } else if (c == '}' || c == ']') {
            if (in) {
                if (!f->array && !object_close(w, f)) {
                    snprintf(why, whylen, "a key that appears more than once in its object");
                    return -1;
                }
                w->depth--;
                w->plen = f->base;
                w->path[w->plen] = '\0';
            }
            w->i++;
        } else if (c == ',') {
            if (in && f->array) {
                f->index++;
                value_starts(w);
            } else if (in) {
                f->want_key = true;
            }
            w->i++;
        } else if (c == '"') {
            size_t s, e;
            bool plain;
            bool is_key = in && !f->array && f->want_key;
            const char *bad = read_string(w, &s, &e, &plain);
            if (bad) {
                if (is_key) {
                    w->plen = f->base;
                    w->path[w->plen] = '\0';
                    snprintf(why, whylen, "a key %s", bad);
                } else {
                    snprintf(why, whylen, "%s", bad);
                }
                return -1;
            }
            if (is_key) {
                f->want_key = false;
                struct key k = {.off = s, .len = e - s, .raw = plain};
                if (!plain) {
                    k.off = w->arena.len;
                    decode_string(w->p, s, e, &w->arena);
                    k.len = w->arena.len - k.off;
                }
                if (!key_add(w, f, k, keys_small)) {
                    snprintf(why, whylen, "a key that appears more than once in its object");
                    return -1;
                }
                /* Keys with escapes are named by their object. */
                if (plain) {
                    path_set(w, f->base, text + s, e - s, 0);
                } else {
                    w->plen = f->base;
                    w->path[w->plen] = '\0';
                }
            }
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const char *bad = read_number(w);
            if (bad) {
                snprintf(why, whylen, "%s", bad);
                return -1;
            }
        } else {
            w->i++;
        }
    }
    return 0;
}

int check_json_text(const char *text, size_t len, char *path, size_t pathlen, char *why, size_t whylen)
{
    struct frame st_small[FRAMES_SMALL];
    struct key keys_small[KEYS_SMALL];
    struct walk w = {.p = (const unsigned char *)text, .len = len, .st = st_small, .cap = FRAMES_SMALL,
                     .keys = keys_small, .capkeys = KEYS_SMALL};
    w.path[0] = '\0';
    sbuf_init(&w.arena);
    if (whylen)
        why[0] = '\0';
    int rc = walk_run(&w, text, st_small, keys_small, why, whylen);
    if (pathlen) {
        size_t n = rc < 0 ? strlen(w.path) : 0;
        n = n < pathlen - 1 ? n : pathlen - 1;
        memcpy(path, w.path, n);
        path[n] = '\0';
    }
    if (w.st != st_small)
        free(w.st);
    if (w.keys != keys_small)
        free(w.keys);
    sbuf_deinit(&w.arena);
    return rc;
}
