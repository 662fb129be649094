/* jobread: the API's reads of jobs (one, a batch, a page of a list) and
 * their JSON. The queries ask for the columns jobread_json renders. */
#ifndef INGOT_JOBREAD_H
#define INGOT_JOBREAD_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct db_pool;
struct jobfilter;
struct jobfilter_pos;

/* The columns jobread_json renders, in its order (also what an INSERT
 * RETURNs, so a new job is shown exactly as it will be read). */
#define JOBREAD_COLUMNS                                                                          \
    "id, queue, kind, state, priority, attempts, max_attempts, "                             \
    "DATE_FORMAT(run_at, '%Y-%m-%dT%H:%i:%s.%fZ'), group_key, payload, metadata, "          \
    "callback_url, COALESCE(idempotency_batch, idempotency_key), result, last_error, "      \
    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                     \
    "DATE_FORMAT(started_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                     \
    "DATE_FORMAT(finished_at, '%Y-%m-%dT%H:%i:%s.%fZ'), timeout_ms, backoff_base_ms, "      \
    "backoff_max_ms, `usage`"


/* Where JOBREAD_COLUMNS has the id and the created_at text. */
#define JOBREAD_COL_ID 0
#define JOBREAD_COL_CREATED 15
/* and the others a reader of one job needs (respjob: a background response) */
#define JOBREAD_COL_KIND 2
#define JOBREAD_COL_STATE 3
#define JOBREAD_COL_PAYLOAD 9
#define JOBREAD_COL_RESULT 13
#define JOBREAD_COL_ERROR 14
#define JOBREAD_COL_FINISHED 17

/* res: rows for jobread_json (borrowed), or NULL with err and its MariaDB
 * error number (or DB_ERR_*). */
typedef void (*jobread_rows_cb)(MYSQL_RES *res, unsigned err_code, const char *err, void *arg);

void jobread_get(struct db_pool *db, uint64_t tenant, uint64_t id, jobread_rows_cb cb, void *arg);
/* The jobs of the batch sent with Idempotency-Key key whose first job
 * (the key's holder) is first_id, in id order: the rows with that key in
 * idempotency_batch and the holder's created_at. A batch of the previous
 * release (no idempotency_batch) is found as the rows of the statement
 * that began at first_id; n is the size expected (more than n + 1000 are
 * not looked for). */
void jobread_batch(struct db_pool *db, uint64_t tenant, const char *key, uint64_t first_id, size_t n,
                   jobread_rows_cb cb, void *arg);
/* The jobs f matches, newest first (jobfilter_page_sql), from pos (a
 * cursor's row, or all zero for the newest). */
void jobread_list(struct db_pool *db, uint64_t tenant, const struct jobfilter *f,
                  const struct jobfilter_pos *pos, int limit, jobread_rows_cb cb, void *arg);
/* Appends one row of a jobread query as the API's job object. */
void jobread_json(MYSQL_ROW row, const unsigned long *lengths, struct sbuf *out);
/* "job_123" -> 123; 0 when malformed. */
uint64_t jobread_parse_id(const char *s);

#endif
