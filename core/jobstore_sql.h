/* jobstore_sql: the text of a jobs INSERT and what its answer means
 * (jobstore.c sends them; no state here). */
#ifndef INGOT_JOBSTORE_SQL_H
#define INGOT_JOBSTORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "job.h"
#include "jobread.h"

#define JOBSTORE_SQL_INSERT_HEAD                                                              \
    "INSERT INTO jobs (tenant_id, queue, kind, priority, run_at, group_key, max_attempts, "  \
    "backoff_base_ms, backoff_max_ms, timeout_ms, payload, metadata, callback_url, "        \
    "idempotency_key, request_hash, idempotency_batch, key_id) VALUES "
/* The rows as the API shows them, in VALUES order (MariaDB >= 10.5): ids
 * of a multi-row INSERT are consecutive only under innodb_autoinc_lock_mode
 * < 2, and the 202 shows each job exactly as a later GET does. */
#define JOBSTORE_SQL_INSERT_TAIL " RETURNING " JOBREAD_COLUMNS

/* The server refused the statement itself: nothing was stored. */
bool jobstore_sql_server_refused(const struct db_result *r);
/* Timed out or lost the link after sending: may have committed. */
bool jobstore_sql_maybe_committed(const struct db_result *r);
/* One VALUES row of s; key (as stored) with its request's hash, and
 * batch_key (a keyed batch's K), may be NULL. */
void jobstore_sql_values_row(struct sbuf *b, uint64_t tenant, const struct job_spec *s, const char *key,
                             const unsigned char *hash, const char *batch_key);
/* The RETURNING rows: ids[i] and json[i] (owned); false unless exactly n. */
bool jobstore_sql_returned_rows(const struct db_result *r, uint64_t *ids, char **json, size_t n);
/* Frees json[0..n) and json (NULL is fine). */
void jobstore_sql_free_strings(char **v, size_t n);

#endif
