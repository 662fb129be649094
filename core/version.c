#include "version.h"

#include <stdio.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#ifndef INGOT_VERSION
#define INGOT_VERSION "0.0.0-dev"
#endif
#ifndef INGOT_COMMIT
#define INGOT_COMMIT "unknown"
#endif

#ifdef INGOT_MIMALLOC
int mi_version(void); /* mimalloc's own, linked in by make static */
#endif

const char *ingot_version(void)
{
    return INGOT_VERSION;
}

const char *ingot_commit(void)
{
    return INGOT_COMMIT;
}

const char *ingot_linkage(void)
{
#ifdef INGOT_STATIC
    return "static";
#else
    return "dynamic";
#endif
}

void ingot_runtime(char *buf, size_t n)
{
    char libc[64], alloc[64];
#if defined(__GLIBC__)
    snprintf(libc, sizeof libc, "glibc %s", gnu_get_libc_version());
#elif defined(INGOT_LIBC)
    snprintf(libc, sizeof libc, "%s", INGOT_LIBC);
#else
    snprintf(libc, sizeof libc, "unknown libc");
#endif
#ifdef INGOT_MIMALLOC
    int v = mi_version(); /* 209 for 2.0.9 */
    snprintf(alloc, sizeof alloc, "mimalloc %d.%d.%d", v / 100, v / 10 % 10, v % 10);
#else
    snprintf(alloc, sizeof alloc, "the C library's malloc");
#endif
    snprintf(buf, n, "%s, allocator %s", libc, alloc);
}
