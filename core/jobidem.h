/* jobidem: what a duplicate idempotency key means. The row that holds the
 * key (per tenant; a single job's "K" or a batch's "batch:K", one unique
 * index) answers a repeat when the request hash matches (JOBIDEM_SAME) or
 * not (JOBIDEM_OTHER). The caller inserts again (JOBIDEM_CLEARED) when the
 * key is older than 24 h (it is cleared first) or no row holds it (another
 * request cleared it, or an uncertain INSERT did not commit). */
#ifndef INGOT_JOBIDEM_H
#define INGOT_JOBIDEM_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

enum jobidem_found { JOBIDEM_CLEARED, JOBIDEM_SAME, JOBIDEM_OTHER, JOBIDEM_ERROR };
typedef void (*jobidem_done_fn)(enum jobidem_found f, uint64_t existing_id, unsigned code,
                                const char *err, void *arg);

/* Inserts sent again for one request at most (then an expired key is
 * answered as found, a missing one is JOBIDEM_ERROR). */
#define JOBIDEM_TRIES 3
/* key (as stored) and hash (JOB_HASH_LEN bytes) are borrowed; tries: the
 * inserts already sent again for this request. Rows written before
 * request hashes were kept (NULL) match any request. */
void jobidem_resolve(struct db_pool *db, uint64_t tenant, const char *key, const unsigned char *hash,
                     int tries, jobidem_done_fn done, void *arg);
/* Appends hash (JOB_HASH_LEN bytes) as an SQL literal, or NULL. */
void jobidem_sql_hash(struct sbuf *b, const unsigned char *hash);

#endif
