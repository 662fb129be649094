/* rcache_local: the response cache's stores on this machine (rcache.c
 * picks one; Redis is the third). Keys are rcache_key's 64 hex
 * characters. */
#ifndef INGOT_RCACHE_LOCAL_H
#define INGOT_RCACHE_LOCAL_H

#include <stddef.h>

/* In memory: at most max bytes (entries and their bookkeeping); the least
 * recently used go first; an entry past its TTL is a miss. */
struct rcache_mem;
struct rcache_mem *rcache_mem_new(size_t max);
void rcache_mem_free(struct rcache_mem *m);
/* An owned copy (NUL-terminated) and its length, or NULL. */
char *rcache_mem_get(struct rcache_mem *m, const char *key, size_t *len);
void rcache_mem_put(struct rcache_mem *m, const char *key, const char *val, size_t len, long long ttl_s);

/* On disk under dir: dir/ab/abcd... holding "expires_unix\n" and the
 * answer, mode 0600, written to a temporary name and renamed (a reader
 * never sees half a file). Local file system calls: short, on the loop. */
char *rcache_disk_get(const char *dir, const char *key, long long max, size_t *len);
/* 0, or -1 with errno. */
int rcache_disk_put(const char *dir, const char *key, const char *val, size_t len, long long ttl_s);
/* Removes the expired entries and stale temporary files of one of the
 * 256 subdirectories (sub & 0xff). */
void rcache_disk_sweep(const char *dir, unsigned sub);

#endif
