/* usage_rows: the ledger's rows as the INSERT takes them (bound for the
 * bulk statement, or as text), for usage.c (the buffer, its writes, the
 * metrics). Nothing else includes it. */
#ifndef INGOT_USAGE_ROWS_H
#define INGOT_USAGE_ROWS_H

#include <mysql.h>

#include "usage.h"

struct db_bulk;

#define USAGE_BATCH 500 /* rows per INSERT */
#define UROW_PARAMS 17  /* an llm_usage row's columns */

/* A record as buffered: copied, cleaned and bounded by usage_record. */
struct urec {
    uint64_t tenant, key_id, job_id;
    char provider[PROVIDER_NAME_MAX + 1], model[LLM_MODEL_MAX + 1], endpoint[33], request_id[129];
    int status;
    bool cache_hit;
    long long prompt, completion, cached, reasoning;
    double cost_usd, latency_ms, ttft_ms;
    int64_t at_us; /* when the call started (so it counts in the period it was admitted in) */
};

struct urow;
/* The bulk INSERT's parameters: USAGE_BATCH rows, made on first use. */
struct usage_bulk {
    struct urow *rows;
    MYSQL_BIND binds[UROW_PARAMS];
};

/* The bulk INSERT of buf's first k rows (k <= USAGE_BATCH) in *out: its
 * parameters point into ub, valid until the next call. */
void usage_rows_bulk(struct usage_bulk *ub, const struct urec *buf, size_t k, struct db_bulk *out);
void usage_rows_bulk_free(struct usage_bulk *ub);
/* The same k rows as one multi-row INSERT's text, appended to b. */
void usage_rows_text(struct sbuf *b, const struct urec *buf, size_t k);

#endif
