/* What schedule_batches.c (the pass, releases) and schedule_batches_fin.c
 * (finalization) share. Internal to those two files. */
#ifndef INGOT_SCHEDULE_BATCHES_INT_H
#define INGOT_SCHEDULE_BATCHES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batchread.h"
#include "batchstore.h"
#include "schedule_batches.h"

struct event;
struct metric_family;
struct metric_series;

/* One active batch as the pass read it. */
struct brow {
    uint64_t seq, tenant, key_id, file_seq;
    char id[BATCHSTORE_ID_LEN + 1];
    int status, end_reason;
    char endpoint[32];
    unsigned chunks, total, released, completed_n, failed_n;
    struct batchread_pos next;
    int64_t expires_at;
    long long output_expires_s; /* -1: never */
    unsigned tenant_batches;    /* the tenant's batches in progress (this pass) */
};

struct bpump {
    struct runtime *rt;
    bool (*leading)(void *arg);
    void *leading_arg;
    struct event *timer;
    bool running, stopped, worked;
    struct batchread_cache cache;
    struct brow *rows;
    size_t n, cur;
    /* the batch in hand */
    long long queued, running_n, failed_jobs;
    struct fin *fin;
    struct metric_family *f_active;       /* ingot_batches_active{status} */
    struct metric_family *f_finished;     /* ingot_batches_finished_total{status} */
    struct metric_family *f_lines;        /* ingot_batch_lines_total{outcome} */
    struct metric_series *m_released;     /* ingot_batch_lines_released_total */
};

/* Runs sql[0..n) in one transaction (takes the array and its strings);
 * statement cas (n: none) must change a row, else it all rolls back.
 * done(p, committed, arg) afterwards (errors are logged). */
typedef void (*bpump_txn_done)(struct bpump *p, bool committed, void *arg);
void bpump_txn(struct bpump *p, char **sql, size_t n, size_t cas, bpump_txn_done done, void *arg);
/* The batch in hand is done with for this pass: on to the next. */
void bpump_next(struct bpump *p);

#endif
