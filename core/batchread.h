/* batchread: reads the lines of a stored file (filestore's chunks) from a
 * position on, one chunk query at a time on the loop, and hands each line
 * to a callback; a line may span chunks. Used to validate a batch's input
 * at create (serve), to release its lines a window at a time and to name
 * the lines that never ran (the scheduler). Holds one chunk and one
 * partial line at most. */
#ifndef INGOT_BATCHREAD_H
#define INGOT_BATCHREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

/* Where a line starts: the chunk number and the byte offset in it. */
struct batchread_pos {
    unsigned chunk;
    size_t off;
};

/* The last chunk read, kept across reads of one file (the next window
 * usually starts in it). Embedded; batchread_cache_deinit frees it. */
struct batchread_cache {
    uint64_t seq;
    unsigned n;
    bool valid;
    struct sbuf data;
};
void batchread_cache_init(struct batchread_cache *c);
void batchread_cache_deinit(struct batchread_cache *c);

/* line: without its newline (nor a trailing CR), not NUL-terminated,
 * borrowed for the call; next: where the line after it starts. Return 0
 * to go on, 1 to stop after this line. Empty lines are skipped. */
typedef int (*batchread_line_fn)(void *arg, const char *line, size_t len, struct batchread_pos next);
/* Exactly once, after the last line callback: err NULL (eof: the file's
 * end was reached) or what failed (a chunk missing: the file was purged). */
typedef void (*batchread_done_fn)(void *arg, const char *err, bool eof);

/* chunks: the file's chunk count. cache may be NULL. */
void batchread_start(struct db_pool *db, uint64_t file_seq, unsigned chunks, struct batchread_pos from,
                     struct batchread_cache *cache, batchread_line_fn line, batchread_done_fn done, void *arg);

#endif
