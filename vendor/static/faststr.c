/* faststr: memchr and memcpy for the static (musl) build only, linked
 * before libc.a so that musl's own are not pulled in. musl's are a word at a
 * time (memchr) and `rep movsq` (memcpy): on the HTTP hot path (the request
 * head is scanned with memchr, evbuffer_add copies small pieces) they cost
 * about 1,500 instructions per /health/live request more than glibc's.
 * SSE2 only (the x86-64 baseline). Built with -fno-builtin and
 * -fno-tree-loop-distribute-patterns so that gcc does not turn these loops
 * back into calls to themselves. */
#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>

void *memchr(const void *s, int c, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *__memcpy_fwd(void *d, const void *s, size_t n);

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
