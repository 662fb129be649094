/* rcache_local: the response cache's two stores inside this machine: a
 * bounded LRU in memory, and files under CACHE_PATH. */
#include "rcache_local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define RCACHE_BUCKETS 4096

struct mentry { /* a hash chain and an LRU list */
    struct mentry *next, *lru_prev, *lru_next;
    char key[65];
    int64_t expires_ms;
    size_t len;
    char *val;
};

struct rcache_mem {
    struct mentry *buckets[RCACHE_BUCKETS];
    struct mentry *lru_head, *lru_tail; /* head: most recently used */
    size_t bytes, max;
};

struct rcache_mem *rcache_mem_new(size_t max)
{
    struct rcache_mem *m = xcalloc(1, sizeof *m);
    m->max = max;
    return m;
}

static size_t bucket_of(const char *key)
{
    size_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 16 + (size_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
    return h % RCACHE_BUCKETS;
}

static void lru_unlink(struct rcache_mem *rc, struct mentry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        rc->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        rc->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_front(struct rcache_mem *rc, struct mentry *e)
{
    e->lru_next = rc->lru_head;
    e->lru_prev = NULL;
    if (rc->lru_head)
        rc->lru_head->lru_prev = e;
    rc->lru_head = e;
    if (!rc->lru_tail)
        rc->lru_tail = e;
}

static void mem_remove(struct rcache_mem *rc, struct mentry *e)
{
    struct mentry **pp = &rc->buckets[bucket_of(e->key)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    lru_unlink(rc, e);
    rc->bytes -= e->len + sizeof *e;
    free(e->val);
    free(e);
}

static struct mentry *mem_find(struct rcache_mem *rc, const char *key)
{
    for (struct mentry *e = rc->buckets[bucket_of(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            if (e->expires_ms <= time_mono_ms()) {
                mem_remove(rc, e);
                return NULL;
            }
            return e;
        }
    return NULL;
}

void rcache_mem_put(struct rcache_mem *rc, const char *key, const char *val, size_t len, long long ttl_s)
{
    size_t max = rc->max;
    if (len + sizeof(struct mentry) > max)
        return;
    struct mentry *old = mem_find(rc, key);
    if (old)
        mem_remove(rc, old);
    while (rc->lru_tail && rc->bytes + len + sizeof(struct mentry) > max)
        mem_remove(rc, rc->lru_tail); /* the least recently used go first */
    struct mentry *e = xcalloc(1, sizeof *e);
    memcpy(e->key, key, 65);
    e->val = xmalloc(len ? len : 1);
    memcpy(e->val, val, len);
    e->len = len;
    e->expires_ms = time_mono_ms() + ttl_s * 1000;
    size_t b = bucket_of(key);
    e->next = rc->buckets[b];
    rc->buckets[b] = e;
    lru_front(rc, e);
    rc->bytes += len + sizeof *e;
}

/* ---- the disk backend: CACHE_PATH/ab/abcdef..., "expires_unix\n" then
 * the answer; written to a temporary name and renamed, so a reader never
 * sees half a file. Local file system calls, on the loop: short. ---- */

static void disk_path(const char *dir, const char *key, char *out, size_t n)
{
    snprintf(out, n, "%s/%.2s/%s", dir, key, key);
}

char *rcache_disk_get(const char *dir, const char *key, long long max, size_t *len)
{
    char path[4200];
    disk_path(dir, key, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= max + 32) {
        size_t n = (size_t)st.st_size, got = 0;
        buf = xmalloc(n + 1);
        while (got < n) {
            ssize_t k = read(fd, buf + got, n - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        buf[got] = '\0';
        char *nl = memchr(buf, '\n', got);
        long long exp = nl ? strtoll(buf, NULL, 10) : 0;
        if (got != n || !nl || exp <= time_real_us() / 1000000) {
            if (nl && got == n) /* expired */
                unlink(path);
            free(buf);
            buf = NULL;
        } else if (got - (size_t)(nl + 1 - buf) > (size_t)max) { /* CACHE_ENTRY_MAX lowered since */
            free(buf);
            buf = NULL;
        } else {
            *len = got - (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, *len + 1);
        }
    }
    close(fd);
    return buf;
}

int rcache_disk_put(const char *root, const char *key, const char *val, size_t len, long long ttl_s)
{
    char path[4200], tmp[4250], dir[4200];
    disk_path(root, key, path, sizeof path);
    snprintf(dir, sizeof dir, "%s/%.2s", root, key);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        goto fail;
    unsigned char r[6];
    char rh[13];
    if (util_random_bytes(r, sizeof r) < 0)
        goto fail;
    util_hex(r, sizeof r, rh);
    snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, rh);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    char head[32];
    int hl = snprintf(head, sizeof head, "%lld\n", (long long)(time_real_us() / 1000000 + ttl_s));
    bool ok = write(fd, head, (size_t)hl) == hl;
    size_t off = 0;
    while (ok && off < len) {
        ssize_t k = write(fd, val + off, len - off);
        ok = k > 0;
        off += ok ? (size_t)k : 0;
    }
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return 0;
    int e = errno;
    unlink(tmp);
    errno = e;
fail:
    return -1;
}

void rcache_disk_sweep(const char *root, unsigned sub)
{
    char dir[4200], path[4500];
    snprintf(dir, sizeof dir, "%s/%02x", root, sub & 0xffu);
    DIR *d = opendir(dir);
    if (!d)
        return;
    long long now = time_real_us() / 1000000;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (strstr(de->d_name, ".tmp")) { /* a writer that died; a live one takes milliseconds */
            if (stat(path, &st) == 0 && st.st_mtime < now - 60)
                unlink(path);
            continue;
        }
        int f = open(path, O_RDONLY | O_CLOEXEC);
        if (f < 0)
            continue;
        char head[32];
        ssize_t k = read(f, head, sizeof head - 1);
        close(f);
        head[k > 0 ? k : 0] = '\0';
        if (k > 0 && strtoll(head, NULL, 10) <= now)
            unlink(path);
    }
    closedir(d);
}

char *rcache_mem_get(struct rcache_mem *m, const char *key, size_t *len)
{
    struct mentry *e = mem_find(m, key);
    if (!e)
        return NULL;
    char *v = xmalloc(e->len + 1);
    memcpy(v, e->val, e->len);
    v[e->len] = '\0';
    *len = e->len;
    lru_unlink(m, e);
    lru_front(m, e);
    return v;
}

void rcache_mem_free(struct rcache_mem *m)
{
    if (!m)
        return;
    for (struct mentry *e = m->lru_head, *next; e; e = next) {
        next = e->lru_next;
        free(e->val);
        free(e);
    }
    free(m);
}
