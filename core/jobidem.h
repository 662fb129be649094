/* jobidem: what a duplicate idempotency key means. The row that holds the
 * key (per tenant and scope: a single job's or a batch's) answers a repeat
 * when the request hash matches (JOBIDEM_SAME) or not (JOBIDEM_OTHER),
 * unless the key is older than 24 h: then it is cleared, once, and the
 * caller inserts again (JOBIDEM_CLEARED). */
#ifndef INGOT_JOBIDEM_H
#define INGOT_JOBIDEM_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

enum jobidem_found { JOBIDEM_CLEARED, JOBIDEM_SAME, JOBIDEM_OTHER, JOBIDEM_ERROR };
typedef void (*jobidem_done_fn)(enum jobidem_found f, uint64_t existing_id, unsigned code,
                                const char *err, void *arg);

/* key and hash (JOB_HASH_LEN bytes) are borrowed; retried: the key was
 * cleared once already (answer whatever is found). Rows written before
 * request hashes were kept (NULL) match any request. */
void jobidem_resolve(struct db_pool *db, uint64_t tenant, int scope, const char *key,
                     const unsigned char *hash, bool retried, jobidem_done_fn done, void *arg);
/* Appends hash (JOB_HASH_LEN bytes) as an SQL literal, or NULL. */
void jobidem_sql_hash(struct sbuf *b, const unsigned char *hash);

#endif
