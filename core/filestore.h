/* filestore: the Files API's rows (sql/0010_files.sql). A file is a row
 * in files and its bytes in file_chunks rows of at most
 * FILESTORE_CHUNK_MAX bytes each, in order. An upload inserts the row
 * first (state uploading, invisible), then its chunks, then makes it ready
 * in one UPDATE; anything that does not get there is purged. Purging
 * deletes chunks a few at a time (no statement deletes 200 MB at once).
 * Reads always say which tenant: a tenant sees only its own files. */
#ifndef INGOT_FILESTORE_H
#define INGOT_FILESTORE_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

/* A chunk is cut at this size (plus at most one piece of the body): as hex
 * in one INSERT it is ~1 MiB, far inside MariaDB's max_allowed_packet. */
#define FILESTORE_CHUNK ((size_t)512 * 1024)
#define FILESTORE_ID_LEN 29 /* "file-" and 24 hex digits */
#define FILESTORE_FILENAME_MAX 255
#define FILESTORE_PURPOSE_MAX 32

enum file_state { FILE_UPLOADING = 0, FILE_READY = 1, FILE_DELETED = 2 };

/* A new random id into out (FILESTORE_ID_LEN + 1 bytes). 0 or -1. */
int filestore_new_id(char *out) ATTR_WUR;
/* An id as we make them (file- and lowercase hex): anything else is no file. */
bool filestore_id_valid(const char *id);

/* Statements (appended to b). now: Unix seconds. */
void filestore_sql_insert(struct sbuf *b, const char *id, uint64_t tenant, int64_t now);
void filestore_sql_chunk(struct sbuf *b, uint64_t seq, unsigned n, const char *data, size_t len);
/* expires_at < 0: never. Only an upload still in progress becomes ready. */
void filestore_sql_ready(struct sbuf *b, uint64_t seq, const char *purpose, const char *filename,
                         uint64_t bytes, unsigned chunks, unsigned lines, int64_t expires_at);
/* The columns filestore_row_json reads, in this order. */
#define FILESTORE_COLS "id, bytes, created_at, filename, purpose, expires_at, seq, chunks"
void filestore_sql_get(struct sbuf *b, uint64_t tenant, const char *id, int64_t now);
/* after: a file id (the page starts past it) or NULL; limit + 1 rows are
 * asked for, so the caller knows whether there are more. */
void filestore_sql_list(struct sbuf *b, uint64_t tenant, const char *purpose, const char *after,
                        bool asc, long limit, int64_t now);
void filestore_sql_chunk_get(struct sbuf *b, uint64_t seq, unsigned n);
/* Marks a ready file deleted (affected rows 0: no such file). */
void filestore_sql_delete(struct sbuf *b, uint64_t tenant, const char *id);
/* The OpenAI file object of a row read with FILESTORE_COLS. */
void filestore_row_json(struct sbuf *b, MYSQL_ROW row);

/* Deletes a file's chunks a batch at a time, then its row. done(err,
 * arg): err NULL when it is gone. */
typedef void (*filestore_done_fn)(const char *err, void *arg);
void filestore_purge(struct db_pool *db, uint64_t seq, filestore_done_fn done, void *arg);
/* Retention: purges up to max_files files that are expired, deleted, or
 * uploads stalled for a day (a process that died mid-upload). done gets
 * how many were purged. */
typedef void (*filestore_due_fn)(unsigned long long files, const char *err, void *arg);
void filestore_purge_due(struct db_pool *db, int max_files, filestore_due_fn done, void *arg);

#endif
