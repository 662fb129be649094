/* version: what this build is (set by the Makefile). */
#ifndef INGOT_VERSION_H
#define INGOT_VERSION_H

#include <stddef.h>

const char *ingot_version(void);
const char *ingot_commit(void);
/* "static" (make static: musl, static PIE) or "dynamic". Borrowed constant. */
const char *ingot_linkage(void);
/* Writes the C library and the allocator in use, e.g. "musl 1.2.3,
 * allocator mimalloc 2.0.9", into the caller's buf (always terminated). */
void ingot_runtime(char *buf, size_t n);

#endif
