/* vendor/static/faststr.c against byte loops: memcpy and memchr for random
 * sizes (0..3000) and offsets, strlen, strchr and strchrnul on random
 * strings, all three and memchr at the very end of a mapping (their aligned
 * loads must not fault), and musl's memmove, which calls our
 * __memcpy_fwd, on overlapping buffers both ways. Built and run by
 * make static-unit (as build/static/test/unit/test_faststr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../test/testhelp.h"

char *strchrnul(const char *s, int c); /* _GNU_SOURCE in musl's string.h */

static unsigned char A[8192], B[8192], C[8192];

static const void *ref_memchr(const unsigned char *p, int c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return p + i;
    return NULL;
}

static size_t ref_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static const char *ref_strchrnul(const char *s, int c)
{
    while (*s && *s != (char)c)
        s++;
    return s;
}

int main(void)
{
    int bad_len = 0, bad_chrnul = 0, bad_strchr = 0;
    unsigned seed = 1;
    int bad_cpy = 0, bad_chr = 0, bad_fwd = 0, bad_bwd = 0;
    srand(7);
    for (long it = 0; it < 200000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % (it % 10 == 0 ? 3000 : 80);
        size_t so = (seed >> 4) % 64, doff = (seed >> 12) % 64, sh = 1 + (seed >> 20) % 100;
        for (size_t i = 0; i < n + 128; i++)
            A[i] = (unsigned char)rand();
        memset(B, 0xAA, sizeof B);
        memset(C, 0xAA, sizeof C);
        memcpy(B + doff, A + so, n);
        for (size_t i = 0; i < n; i++)
            C[doff + i] = A[so + i];
        bad_cpy += memcmp(B, C, sizeof B) != 0;
        int ch = it % 3 == 0 && n ? A[so + (size_t)rand() % n] : rand() % 256;
        bad_chr += memchr(A + so, ch, n) != ref_memchr(A + so, ch, n);
        memcpy(B, A, 4096);
        memcpy(C, A, 4096);
        memmove(B + so, B + so + sh, n);
        for (size_t i = 0; i < n; i++)
            C[so + i] = C[so + sh + i];
        bad_fwd += memcmp(B, C, 4096) != 0;
        memcpy(B, A, 4096);
        memcpy(C, A, 4096);
        memmove(B + so + sh, B + so, n);
        for (size_t i = n; i-- > 0;)
            C[so + sh + i] = C[so + i];
        bad_bwd += memcmp(B, C, 4096) != 0;
    }
    for (long it = 0; it < 200000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 8) % (it % 10 == 0 ? 3000 : 80), so = (seed >> 4) % 64;
        char *s = (char *)A + so;
        for (size_t i = 0; i < n; i++)
            s[i] = (char)(1 + rand() % 255);
        s[n] = '\0';
        for (size_t i = n + 1; i < n + 40; i++)
            s[i] = (char)rand(); /* after the NUL: never looked at */
        int ch = it % 3 == 0 && n ? (unsigned char)s[(size_t)rand() % n] : it % 7 == 0 ? 0 : rand() % 256;
        if (it % 11 == 0)
            ch += 256; /* converted to unsigned char */
        bad_len += strlen(s) != ref_strlen(s);
        bad_chrnul += strchrnul(s, ch) != ref_strchrnul(s, ch);
        const char *want = ref_strchrnul(s, ch);
        bad_strchr += strchr(s, ch) != (*want == (char)ch ? want : NULL);
    }
    test_cond("strlen equals a byte loop (200k strings and offsets)", bad_len == 0);
    test_cond("strchrnul equals a byte loop (NUL and c > 255 too)", bad_chrnul == 0);
    test_cond("strchr equals a byte loop", bad_strchr == 0);
    test_cond("memcpy equals a byte loop (200k sizes and offsets)", bad_cpy == 0);
    test_cond("memchr equals a byte loop", bad_chr == 0);
    test_cond("memmove forward overlap (our __memcpy_fwd)", bad_fwd == 0);
    test_cond("memmove backward overlap", bad_bwd == 0);

    /* The last bytes of a mapping followed by an unmapped page. */
    unsigned char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    test_cond("mmap", m != MAP_FAILED);
    if (m != MAP_FAILED) {
        munmap(m + 4096, 4096);
        memset(m, 'a', 4096);
        m[4095] = 'z';
        int ok = 1;
        for (size_t n = 1; n <= 40; n++)
            ok &= memchr(m + 4096 - n, 'z', n) == m + 4095 && memchr(m + 4096 - n, 'q', n) == NULL;
        test_cond("memchr up to the end of a mapping", ok);
        m[4095] = '\0';
        ok = 1;
        for (size_t n = 1; n <= 40; n++) {
            const char *t = (const char *)m + 4096 - n;
            ok &= strlen(t) == n - 1 && strchrnul(t, 'q') == t + n - 1 && strchr(t, 'q') == NULL &&
                  strchr(t, 0) == t + n - 1 && (n < 2 || strchr(t, 'a') == t);
        }
        test_cond("strlen, strchr, strchrnul up to the end of a mapping", ok);
        munmap(m, 4096);
    }
    test_report();
}
