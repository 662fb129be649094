/* usage: the LLM usage ledger. Records are buffered and written to
 * MariaDB (llm_usage) in one multi-row INSERT every USAGE_FLUSH_INTERVAL
 * (or sooner when many wait), so recording never delays a response; a
 * crash loses at most one interval. Also counts /metrics (tokens by
 * tenant, model and type; requests by provider, model and status; latency
 * and time to first token). */
#ifndef INGOT_USAGE_H
#define INGOT_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm_types.h"
#include "util.h"

struct runtime;
struct usage;

struct usage_rec {
    uint64_t tenant, key_id, job_id;      /* job_id 0: a sync call */
    const char *provider, *model, *endpoint; /* endpoint: "chat.completions", "embeddings" */
    int status;                           /* HTTP status given to the client (499: client gone) */
    struct llm_usage u;                   /* -1 fields count as 0 */
    double cost_usd, latency_ms, ttft_ms; /* ttft_ms < 0: not a stream */
    const char *request_id;
    /* The model in metric labels (NULL: model): a name clients choose
     * freely would fill METRICS_MAX_SERIES, so only known ones. */
    const char *metric_model;
    /* Answered from the response cache: zero provider tokens, and not
     * counted as a provider request in /metrics (rcache counts it). */
    bool cache_hit;
};

struct usage *usage_new(struct runtime *rt, long long flush_ms);
/* Writes what is buffered (drain, shutdown). */
void usage_flush(struct usage *u);
void usage_free(struct usage *u);
/* Rows not written yet (the batch being written included). */
size_t usage_pending(const struct usage *u);
void usage_record(struct usage *u, const struct usage_rec *r);
/* Rows are numbered from 1 in the order recorded. usage_seq_recorded: the
 * last row's number; usage_seq_written: every row up to it is in the
 * ledger (or was given up). A reader of the ledger that notes
 * usage_seq_written before its query sees at least those rows. */
uint64_t usage_seq_recorded(const struct usage *u);
uint64_t usage_seq_written(const struct usage *u);

#endif
