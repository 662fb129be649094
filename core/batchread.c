#include "batchread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "filestore.h"

struct batchread {
    struct db_pool *db;
    uint64_t seq;
    unsigned chunks;
    struct batchread_pos at;   /* the chunk being read, and where in it to start */
    struct batchread_cache *cache;
    struct sbuf pending;       /* a line begun in an earlier chunk */
    batchread_line_fn line;
    batchread_done_fn done;
    void *arg;
};

void batchread_cache_init(struct batchread_cache *c)
{
    memset(c, 0, sizeof *c);
    sbuf_init(&c->data);
}

void batchread_cache_deinit(struct batchread_cache *c)
{
    sbuf_deinit(&c->data);
    c->valid = false;
}

static void finish(struct batchread *br, const char *err, bool eof)
{
    br->done(br->arg, err, eof);
    sbuf_deinit(&br->pending);
    free(br);
}

static int emit(struct batchread *br, const char *p, size_t len, struct batchread_pos next)
{
    if (len && p[len - 1] == '\r')
        len--;
    if (!len)
        return 0;
    return br->line(br->arg, p, len, next);
}

static void fetch(struct batchread *br);

/* The lines of one chunk from br->at.off; then the next chunk or the end. */
static void scan(struct batchread *br, const char *data, size_t len)
{
    size_t p = br->at.off < len ? br->at.off : len;
    while (p < len) {
        const char *nl = memchr(data + p, '\n', len - p);
        if (!nl)
            break;
        size_t end = (size_t)(nl - data);
        struct batchread_pos next = {br->at.chunk, end + 1};
        if (end + 1 == len)
            next = (struct batchread_pos){br->at.chunk + 1, 0};
        int rc;
        if (br->pending.len) {
            sbuf_append(&br->pending, data + p, end - p);
            rc = emit(br, br->pending.data, br->pending.len, next);
            sbuf_reset(&br->pending);
        } else {
            rc = emit(br, data + p, end - p, next);
        }
        p = end + 1;
        if (rc) {
            finish(br, NULL, next.chunk >= br->chunks);
            return;
        }
    }
    if (p < len)
        sbuf_append(&br->pending, data + p, len - p);
    br->at = (struct batchread_pos){br->at.chunk + 1, 0};
    if (br->at.chunk < br->chunks) {
        fetch(br);
        return;
    }
    if (br->pending.len) /* a last line without a newline */
        (void)emit(br, br->pending.data, br->pending.len, br->at);
    finish(br, NULL, true);
}

static void chunk_cb(const struct db_result *r, void *arg)
{
    struct batchread *br = arg;
    MYSQL_ROW row = r->ok ? mysql_fetch_row(r->res) : NULL;
    unsigned long *lens = row ? mysql_fetch_lengths(r->res) : NULL;
    if (!row || !lens) {
        char err[300];
        snprintf(err, sizeof err, "chunk %u of the input file: %s", br->at.chunk,
                 r->ok ? "missing (the file was deleted)" : r->error);
        finish(br, err, false);
        return;
    }
    if (br->cache) {
        sbuf_reset(&br->cache->data);
        sbuf_append(&br->cache->data, row[0], lens[0]);
        br->cache->seq = br->seq;
        br->cache->n = br->at.chunk;
        br->cache->valid = true;
        scan(br, br->cache->data.data, br->cache->data.len);
        return;
    }
    scan(br, row[0], lens[0]);
}

static void fetch(struct batchread *br)
{
    struct batchread_cache *c = br->cache;
    if (c && c->valid && c->seq == br->seq && c->n == br->at.chunk) {
        scan(br, c->data.data, c->data.len);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    filestore_sql_chunk_get(&b, br->seq, br->at.chunk);
    db_query(br->db, b.data, 0, chunk_cb, br);
    sbuf_deinit(&b);
}

void batchread_start(struct db_pool *db, uint64_t file_seq, unsigned chunks, struct batchread_pos from,
                     struct batchread_cache *cache, batchread_line_fn line, batchread_done_fn done, void *arg)
{
    struct batchread *br = xcalloc(1, sizeof *br);
    br->db = db;
    br->seq = file_seq;
    br->chunks = chunks;
    br->at = from;
    br->cache = cache;
    br->line = line;
    br->done = done;
    br->arg = arg;
    sbuf_init(&br->pending);
    if (from.chunk >= chunks) {
        finish(br, NULL, true);
        return;
    }
    fetch(br);
}
