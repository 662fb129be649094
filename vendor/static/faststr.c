/* faststr: memchr, memcpy, strlen and strchr/strchrnul for the static
 * (musl) build only, linked before libc.a so that musl's own are not pulled
 * in. musl's are a word at a time (memchr, strlen, strchrnul) and `rep movsq`
 * (memcpy): on the HTTP hot path (the request head is scanned with memchr,
 * evbuffer_add copies small pieces, a reply's head is put together from
 * short strings) they cost about 1,900 instructions per /health/live request
 * more than glibc's.
 * SSE2 only (the x86-64 baseline). Built with -fno-builtin and
 * -fno-tree-loop-distribute-patterns so that gcc does not turn these loops
 * back into calls to themselves. */
#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>

void *memchr(const void *s, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *__memcpy_fwd(void *d, const void *s, size_t n);
size_t strlen(const char *s);
char *__strchrnul(const char *s, int c);
char *strchrnul(const char *s, int c);
char *strchr(const char *s, int c);

typedef uint64_t u64_un __attribute__((may_alias, aligned(1)));
typedef uint32_t u32_un __attribute__((may_alias, aligned(1)));
typedef uint16_t u16_un __attribute__((may_alias, aligned(1)));

/* Aligned 16-byte loads never cross a page, so reading the rest of the
 * block around the first and last byte is safe. */
void *memchr(const void *s, int c, size_t n)
{
    if (n == 0)
        return NULL;
    const unsigned char *p = s;
    const __m128i needle = _mm_set1_epi8((char)c);
    size_t off = (uintptr_t)p & 15;
    const unsigned char *b = p - off;
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)b), needle)) >> off;
    size_t avail = 16 - off;
    if (m) {
        size_t i = (size_t)__builtin_ctz(m);
        return i < n ? (void *)(p + i) : NULL;
    }
    if (n <= avail)
        return NULL;
    n -= avail;
    b += 16;
    for (;;) {
        m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)b), needle));
        if (m) {
            size_t i = (size_t)__builtin_ctz(m);
            return i < n ? (void *)(b + i) : NULL;
        }
        if (n <= 16)
            return NULL;
        n -= 16;
        b += 16;
    }
}

/* Forward copy, byte by byte as far as the architecture is concerned: safe
 * for musl's memmove, which calls it when the destination does not overlap
 * the source ahead of it. */
void *__memcpy_fwd(void *d, const void *s, size_t n)
{
    void *ret = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n <= 16) {
        if (n >= 8) {
            uint64_t a = *(const u64_un *)s, z = *(const u64_un *)(s + n - 8);
            *(u64_un *)d = a;
            *(u64_un *)(d + n - 8) = z;
        } else if (n >= 4) {
            uint32_t a = *(const u32_un *)s, z = *(const u32_un *)(s + n - 4);
            *(u32_un *)d = a;
            *(u32_un *)(d + n - 4) = z;
        } else if (n >= 2) {
            uint16_t a = *(const u16_un *)s, z = *(const u16_un *)(s + n - 2);
            *(u16_un *)d = a;
            *(u16_un *)(d + n - 2) = z;
        } else if (n == 1) {
            *d = *s;
        }
        return dst;
    }
    if (n <= 32) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i z = _mm_loadu_si128((const __m128i *)(s + n - 16));
        _mm_storeu_si128((__m128i *)d, a);
        _mm_storeu_si128((__m128i *)(d + n - 16), z);
        return dst;
    }
    if (n >= 512)
        return __memcpy_fwd(dst, src, n);
    __m128i z = _mm_loadu_si128((const __m128i *)(s + n - 16));
    unsigned char *last = d + n - 16;
    while (n > 16) {
        _mm_storeu_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
        d += 16;
        s += 16;
        n -= 16;
    }
    _mm_storeu_si128((__m128i *)last, z);
    return dst;
}

/* The same aligned blocks as memchr: the bytes before s in the first block
 * are shifted out of the mask, and no load crosses into the next page before
 * the terminating NUL has been seen. */
size_t strlen(const char *s)
{
    const __m128i zero = _mm_setzero_si128();
    size_t off = (uintptr_t)s & 15;
    const char *b = s - off;
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)b), zero)) >> off;
    if (m)
        return (size_t)__builtin_ctz(m);
    for (;;) {
        b += 16;
        m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)b), zero));
        if (m)
            return (size_t)(b - s) + (size_t)__builtin_ctz(m);
    }
}

/* The first c or the terminating NUL (musl's strchr, printf and getenv call
 * __strchrnul, so it is the one replaced). */
char *__strchrnul(const char *s, int c)
{
    c = (unsigned char)c;
    if (!c)
        return (char *)s + strlen(s);
    const __m128i zero = _mm_setzero_si128(), needle = _mm_set1_epi8((char)c);
    size_t off = (uintptr_t)s & 15;
    const char *b = s - off;
    __m128i v = _mm_load_si128((const __m128i *)b);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, zero), _mm_cmpeq_epi8(v, needle))) >> off;
    if (m)
        return (char *)s + __builtin_ctz(m);
    for (;;) {
        b += 16;
        v = _mm_load_si128((const __m128i *)b);
        m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, zero), _mm_cmpeq_epi8(v, needle)));
        if (m)
            return (char *)b + __builtin_ctz(m);
    }
}

char *strchrnul(const char *s, int c)
{
    return __strchrnul(s, c);
}

char *strchr(const char *s, int c)
{
    char *r = __strchrnul(s, c);
    return *(unsigned char *)r == (unsigned char)c ? r : NULL;
}
