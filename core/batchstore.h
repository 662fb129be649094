/* batchstore: the Batch API's rows (sql/0013_batches.sql) and the SQL that
 * ties a batch to its line jobs. A batch's lines run as llm.* jobs in the
 * tenant's queue BATCHSTORE_QUEUE, group_key = the batch id, priority
 * BATCHSTORE_PRIORITY (below every interactive job), each job's metadata
 * {"batch_id","custom_id","line"}. serve creates, reads and cancels
 * batches; the leading scheduler releases their lines and finalizes them
 * (modes/schedule_batches*.c). Reads always say which tenant. */
#ifndef INGOT_BATCHSTORE_H
#define INGOT_BATCHSTORE_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define BATCHSTORE_ID_LEN 30 /* "batch_" and 24 hex digits */
#define BATCHSTORE_QUEUE "batches"
#define BATCHSTORE_PRIORITY (-1000)
#define BATCHSTORE_META_KEYS 16
#define BATCHSTORE_META_KEY_MAX 64
#define BATCHSTORE_META_VALUE_MAX 512

enum batch_status {
    BATCH_VALIDATING = 0,
    BATCH_IN_PROGRESS,
    BATCH_FINALIZING,
    BATCH_COMPLETED,
    BATCH_FAILED,
    BATCH_EXPIRED,
    BATCH_CANCELLING,
    BATCH_CANCELLED,
    BATCH_STATUS_COUNT
};
/* Why a batch ends before every line ran. */
enum batch_end { BATCH_END_NONE = 0, BATCH_END_CANCEL, BATCH_END_EXPIRE, BATCH_END_FAIL };

const char *batch_status_name(enum batch_status s);

/* A new random id into out (BATCHSTORE_ID_LEN + 1 bytes). 0 or -1. */
int batchstore_new_id(char *out) ATTR_WUR;
bool batchstore_id_valid(const char *id);

struct batch_new {
    char id[BATCHSTORE_ID_LEN + 1];
    uint64_t tenant, key_id;
    const char *endpoint;
    const char *input_file_id;
    uint64_t input_file_seq;
    unsigned input_chunks;
    const char *metadata;        /* JSON object text or NULL */
    long long output_expires_s;  /* -1: output files never expire */
    unsigned total;
    int64_t created_at, in_progress_at, expires_at;
};
/* INSERT of a validated batch, in progress. */
void batchstore_sql_insert(struct sbuf *b, const struct batch_new *n);

/* The columns batchstore_row_json reads, in this order. */
#define BATCHSTORE_COLS                                                                          \
    "id, status, endpoint, input_file_id, completion_window, metadata, created_at, "            \
    "in_progress_at, expires_at, finalizing_at, completed_at, failed_at, expired_at, "          \
    "cancelling_at, cancelled_at, total, completed_n, failed_n, input_tokens, output_tokens, "  \
    "cached_tokens, reasoning_tokens, errors, output_file_id, error_file_id, seq"
#define BATCHSTORE_NCOLS 26
void batchstore_sql_get(struct sbuf *b, uint64_t tenant, const char *id);
/* Newest first; after: a batch id (the page starts past it) or NULL;
 * limit + 1 rows are asked for, so the caller knows whether there are more. */
void batchstore_sql_list(struct sbuf *b, uint64_t tenant, const char *after, long limit);
/* The OpenAI batch object of a row read with BATCHSTORE_COLS. */
void batchstore_row_json(struct sbuf *b, MYSQL_ROW row);

/* validating or in_progress -> cancelling (affected rows 0: not
 * cancellable, or no such batch). */
void batchstore_sql_cancel(struct sbuf *b, uint64_t tenant, const char *id, int64_t now);
/* Cancels the queued line jobs of a batch: at most the release window
 * of them exist, so one statement. Running lines finish. */
void batchstore_sql_cancel_lines(struct sbuf *b, uint64_t tenant, const char *id);

#endif
