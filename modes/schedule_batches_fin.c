/* Finalizing a batch: every line exactly once in the output file (it ran
 * and succeeded) or the error file (the provider refused it, the call
 * failed, or it never ran: cancelled, expired). The files are written as
 * uploads (invisible) chunk by chunk; one transaction then makes them
 * ready, ends the batch (a compare-and-set on its status) and enqueues
 * the webhook event. A crash before that commit leaves the batch
 * finalizing: the next pass writes the files again (the abandoned
 * uploads are purged by retention), so the result never depends on
 * where it died. */
#include "schedule_batches_fin.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "filestore.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"
#include "schedule_batches_int.h"
#include "sql.h"
#include "webhook_event.h"

#define PAGE 200 /* rows per read: results may be large (embeddings) */

enum fin_step { F_MARK, F_NEW_OUT, F_NEW_ERR, F_PAGE, F_REST, F_WRITE, F_FLUSH, F_COMMIT };

/* One of the two files being written. */
struct fout {
    char id[FILESTORE_ID_LEN + 1];
    uint64_t seq;
    struct sbuf buf;   /* not yet written */
    unsigned chunks, lines;
    uint64_t bytes;
};

struct fin {
    struct bpump *p;
    struct brow *b;
    enum fin_step step;
    struct fout out, err;
    int state_idx;            /* into fin_states */
    bool keyset;              /* a page was read in this state: go on past it */
    char run_at[40];
    uint64_t last_id;
    bool states_done, rest_done;
    struct batchread_pos rest;
    unsigned rest_line;
    unsigned long long in_tok, out_tok, cached, reasoning;
    char rest_err[300];
};

static const int fin_states[] = {JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELLED};

static void fin_free(struct fin *f)
{
    sbuf_deinit(&f->out.buf);
    sbuf_deinit(&f->err.buf);
    free(f);
}

static void fin_abort(struct fin *f, const char *err)
{
    struct bpump *p = f->p;
    if (err)
        log_warn("batch %s: finalizing: %s (the next pass starts it again)", f->b->id, err);
    p->fin = NULL;
    fin_free(f);
    bpump_next(p);
}

static void step_cb(const struct db_result *r, void *arg);

static void query(struct fin *f, enum fin_step step, const char *sql)
{
    f->step = step;
    db_query(f->p->rt->db, sql, 0, step_cb, f);
}

static void next_work(struct fin *f);

/* Writes a full buffer as the file's next chunk (then next_work), or
 * returns false when none is full (or flushing: when none is left). */
static bool write_chunk(struct fin *f, bool flush)
{
    struct fout *o = f->out.buf.len >= FILESTORE_CHUNK || (flush && f->out.buf.len) ? &f->out
                     : f->err.buf.len >= FILESTORE_CHUNK || (flush && f->err.buf.len) ? &f->err
                                                                                     : NULL;
    if (!o)
        return false;
    struct sbuf s;
    sbuf_init(&s);
    filestore_sql_chunk(&s, o->seq, o->chunks, o->buf.data, o->buf.len);
    o->chunks++;
    o->bytes += o->buf.len;
    sbuf_reset(&o->buf);
    query(f, flush ? F_FLUSH : F_WRITE, s.data);
    sbuf_deinit(&s);
    return true;
}

static const char *cancel_code(const struct fin *f)
{
    switch (f->b->end_reason) {
    case BATCH_END_CANCEL: return "batch_cancelled";
    case BATCH_END_EXPIRE: return "batch_expired";
    case BATCH_END_FAIL: return "batch_failed";
    default: return "cancelled";
    }
}

static const char *cancel_message(const struct fin *f)
{
    switch (f->b->end_reason) {
    case BATCH_END_CANCEL: return "the batch was cancelled before this request ran";
    case BATCH_END_EXPIRE: return "the batch expired before this request could run";
    case BATCH_END_FAIL: return "the batch failed before this request ran";
    default: return "this request's job was cancelled";
    }
}

/* {"id","custom_id","response":null,"error":{code,message}} */
static void error_line(struct sbuf *o, const char *req_id, const char *custom_id, const char *code, const char *msg)
{
    sbuf_printf(o, "{\"id\":\"%s\",\"custom_id\":", req_id);
    sbuf_json_str(o, custom_id);
    sbuf_printf(o, ",\"response\":null,\"error\":{\"code\":\"%s\",\"message\":", code);
    sbuf_json_str(o, msg);
    sbuf_puts(o, "}}\n");
}

static void response_line(struct sbuf *o, const char *req_id, const char *custom_id, long long status,
                          unsigned long long job, const char *body)
{
    sbuf_printf(o, "{\"id\":\"%s\",\"custom_id\":", req_id);
    sbuf_json_str(o, custom_id);
    sbuf_printf(o, ",\"response\":{\"status_code\":%lld,\"request_id\":\"job_%llu\",\"body\":%s},\"error\":null}\n",
                status, job, body && body[0] ? body : "null");
}

/* A page of the batch's jobs in one final state (columns of page_sql). */
static void read_page(struct fin *f, const struct db_result *r)
{
    int state = fin_states[f->state_idx];
    size_t rows = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->res))) {
        rows++;
        unsigned long long job = (unsigned long long)db_row_ll(row, 0);
        const char *cid = db_row_str(row, 1), *result = row[2], *last_error = db_row_str(row, 3);
        long long status = db_row_ll(row, 4);
        char req[48];
        snprintf(req, sizeof req, "batch_req_%llu", job);
        f->in_tok += (unsigned long long)db_row_ll(row, 6);
        f->out_tok += (unsigned long long)db_row_ll(row, 7);
        f->cached += (unsigned long long)db_row_ll(row, 8);
        f->reasoning += (unsigned long long)db_row_ll(row, 9);
        if (state == JOB_SUCCEEDED) {
            response_line(&f->out.buf, req, cid, 200, job, result);
            f->out.lines++;
        } else if (state == JOB_FAILED && status > 0 && result) {
            response_line(&f->err.buf, req, cid, status, job, result);
            f->err.lines++;
        } else if (state == JOB_FAILED) {
            error_line(&f->err.buf, req, cid, "request_failed", last_error[0] ? last_error : "the request failed");
            f->err.lines++;
        } else {
            error_line(&f->err.buf, req, cid, cancel_code(f), cancel_message(f));
            f->err.lines++;
        }
        util_strcpy(f->run_at, sizeof f->run_at, db_row_str(row, 5));
        f->last_id = job;
        f->keyset = true;
    }
    if (rows < PAGE) {
        f->state_idx++;
        f->keyset = false;
        f->states_done = f->state_idx >= (int)ARRAY_LEN(fin_states);
    }
}

static void page_sql(struct fin *f, struct sbuf *s)
{
    struct brow *b = f->b;
    /* jobs_queue_group (tenant_id, queue, state, group_key, priority,
     * run_at, id): one range, read in index order, resumed past the last
     * row (no OFFSET, no filesort) */
    sbuf_puts(s, "SELECT id, JSON_VALUE(metadata, '$.custom_id'), result, last_error, "
                 "(SELECT a.http_status FROM job_attempts a WHERE a.job_id = jobs.id ORDER BY a.attempt DESC LIMIT 1), "
                 "DATE_FORMAT(run_at, '%Y-%m-%d %H:%i:%s.%f'), JSON_VALUE(`usage`, '$.prompt_tokens'), "
                 "JSON_VALUE(`usage`, '$.completion_tokens'), JSON_VALUE(`usage`, '$.prompt_tokens_details.cached_tokens'), "
                 "JSON_VALUE(`usage`, '$.completion_tokens_details.reasoning_tokens') FROM jobs FORCE INDEX (jobs_queue_group) WHERE ");
    sbuf_printf(s, "tenant_id = %llu AND queue = '" BATCHSTORE_QUEUE "' AND state = %d AND group_key = ",
                (unsigned long long)b->tenant, fin_states[f->state_idx]);
    sql_cstr(s, b->id);
    sbuf_printf(s, " AND priority = %d", BATCHSTORE_PRIORITY);
    if (f->keyset) {
        sbuf_puts(s, " AND (run_at > ");
        sql_cstr(s, f->run_at);
        sbuf_puts(s, " OR (run_at = ");
        sql_cstr(s, f->run_at);
        sbuf_printf(s, " AND id > %llu))", (unsigned long long)f->last_id);
    }
    sbuf_printf(s, " ORDER BY run_at, id LIMIT %d", PAGE);
}

/* ---- the lines never released (cancelled, expired, failed early) ---- */

static int rest_line_cb(void *arg, const char *line, size_t len, struct batchread_pos next)
{
    struct fin *f = arg;
    f->rest_line++;
    f->rest = next;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "custom_id");
    char req[64];
    snprintf(req, sizeof req, "batch_req_%s_%u", f->b->id + 6, f->rest_line);
    error_line(&f->err.buf, req, cJSON_IsString(cid) ? cid->valuestring : "", cancel_code(f), cancel_message(f));
    f->err.lines++;
    cJSON_Delete(j);
    return f->err.buf.len >= FILESTORE_CHUNK; /* write it, then go on from next */
}

static void rest_done_cb(void *arg, const char *err, bool eof)
{
    struct fin *f = arg;
    if (err) {
        /* the input file is gone: the lines it still held cannot be named */
        log_warn("batch %s: %u lines never ran and cannot be listed: %s", f->b->id, f->b->total - f->rest_line, err);
        f->rest_done = true;
    }
    if (eof || f->rest_line >= f->b->total)
        f->rest_done = true;
    next_work(f);
}

static void commit_cb(struct bpump *p, bool committed, void *arg)
{
    struct fin *f = arg;
    if (committed) {
        static const char *const final[] = {"completed", "cancelled", "expired", "failed"};
        const char *st = final[f->b->end_reason & 3];
        char labels[64];
        snprintf(labels, sizeof labels, "status=\"%s\"", st);
        metrics_add(metrics_series(p->f_finished, labels), 1);
        metrics_add(metrics_series(p->f_lines, "outcome=\"completed\""), f->out.lines);
        metrics_add(metrics_series(p->f_lines, "outcome=\"failed\""), f->err.lines);
        log_info("batch %s: %s (%u lines in the output file, %u in the error file)", f->b->id, st, f->out.lines,
                 f->err.lines);
    }
    p->fin = NULL;
    fin_free(f);
    bpump_next(p);
}

static char *ready_or_drop(struct fin *f, struct fout *o, const char *kind)
{
    struct sbuf s;
    sbuf_init(&s);
    if (!o->lines) {
        sbuf_printf(&s, "DELETE FROM files WHERE seq = %llu AND state = %d", (unsigned long long)o->seq,
                    FILE_UPLOADING);
        return sbuf_steal(&s);
    }
    char name[80];
    snprintf(name, sizeof name, "%s_%s.jsonl", f->b->id, kind);
    filestore_sql_ready(&s, o->seq, "batch_output", name, o->bytes, o->chunks, o->lines, f->b->output_expires_s);
    return sbuf_steal(&s);
}

static void commit(struct fin *f)
{
    struct brow *b = f->b;
    static const int final_status[] = {BATCH_COMPLETED, BATCH_CANCELLED, BATCH_EXPIRED, BATCH_FAILED};
    static const char *const final_at[] = {"completed_at", "cancelled_at", "expired_at", "failed_at"};
    static const char *const events[] = {"batch.completed", "batch.cancelled", "batch.expired", "batch.failed"};
    int why = b->end_reason & 3;
    char **sql = xcalloc(4, sizeof *sql);
    sql[0] = ready_or_drop(f, &f->out, "output");
    sql[1] = ready_or_drop(f, &f->err, "error");
    struct sbuf s;
    sbuf_init(&s);
    sbuf_printf(&s, "UPDATE batches SET status = %d, %s = %lld, completed_n = %u, failed_n = %u, ", final_status[why],
                final_at[why], (long long)(time_real_us() / 1000000), f->out.lines, f->err.lines);
    sbuf_printf(&s, "input_tokens = %llu, output_tokens = %llu, cached_tokens = %llu, reasoning_tokens = %llu, ",
                f->in_tok, f->out_tok, f->cached, f->reasoning);
    sbuf_puts(&s, "output_file_id = ");
    sql_cstr(&s, f->out.lines ? f->out.id : NULL);
    sbuf_puts(&s, ", error_file_id = ");
    sql_cstr(&s, f->err.lines ? f->err.id : NULL);
    sbuf_printf(&s, " WHERE seq = %llu AND status IN (%d, %d)", (unsigned long long)b->seq, BATCH_FINALIZING,
                BATCH_CANCELLING);
    sql[2] = sbuf_steal(&s);
    sbuf_init(&s);
    char data[80];
    snprintf(data, sizeof data, "{\"id\":\"%s\"}", b->id);
    webhook_event_sql(&s, b->tenant, events[why], data);
    sql[3] = sbuf_steal(&s);
    f->step = F_COMMIT;
    bpump_txn(f->p, sql, 4, 2, commit_cb, f);
}

/* What comes next: a full chunk to write, the next page, the unreleased
 * lines, the last chunks, the commit. */
static void next_work(struct fin *f)
{
    if (write_chunk(f, false))
        return;
    if (!f->states_done) {
        struct sbuf s;
        sbuf_init(&s);
        page_sql(f, &s);
        query(f, F_PAGE, s.data);
        sbuf_deinit(&s);
        return;
    }
    if (!f->rest_done && f->b->end_reason != BATCH_END_NONE && f->b->released < f->b->total) {
        f->step = F_REST;
        batchread_start(f->p->rt->db, f->b->file_seq, f->b->chunks, f->rest, NULL, rest_line_cb, rest_done_cb, f);
        return;
    }
    if (write_chunk(f, true))
        return;
    commit(f);
}

/* The two files, as uploads (invisible until the commit). */
static void new_files(struct fin *f)
{
    if (filestore_new_id(f->out.id) < 0 || filestore_new_id(f->err.id) < 0) {
        fin_abort(f, "no random bytes for file ids");
        return;
    }
    struct sbuf s;
    sbuf_init(&s);
    filestore_sql_insert(&s, f->out.id, f->b->tenant, time_real_us() / 1000000);
    query(f, F_NEW_OUT, s.data);
    sbuf_deinit(&s);
}

static void step_cb(const struct db_result *r, void *arg)
{
    struct fin *f = arg;
    if (!r->ok) {
        fin_abort(f, r->error);
        return;
    }
    switch (f->step) {
    case F_MARK:
        if (r->affected_rows == 0) {
            fin_abort(f, NULL); /* no longer in progress: the next pass sees why */
            return;
        }
        f->b->status = BATCH_FINALIZING;
        new_files(f);
        return;
    case F_NEW_OUT: {
        f->out.seq = r->insert_id;
        struct sbuf s;
        sbuf_init(&s);
        filestore_sql_insert(&s, f->err.id, f->b->tenant, time_real_us() / 1000000);
        query(f, F_NEW_ERR, s.data);
        sbuf_deinit(&s);
        return;
    }
    case F_NEW_ERR:
        f->err.seq = r->insert_id;
        next_work(f);
        return;
    case F_PAGE:
        if (r->res)
            read_page(f, r);
        next_work(f);
        return;
    case F_WRITE:
    case F_FLUSH:
        next_work(f);
        return;
    default:
        return;
    }
}

void bpump_finalize(struct bpump *p, struct brow *b)
{
    struct fin *f = xcalloc(1, sizeof *f);
    f->p = p;
    f->b = b;
    sbuf_init(&f->out.buf);
    sbuf_init(&f->err.buf);
    f->rest = b->next;
    f->rest_line = b->released;
    p->fin = f;
    if (b->status != BATCH_IN_PROGRESS) { /* cancelling or finalizing already */
        new_files(f);
        return;
    }
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE batches SET status = %d, finalizing_at = %lld WHERE seq = %llu AND status = %d",
             BATCH_FINALIZING, (long long)(time_real_us() / 1000000), (unsigned long long)b->seq, BATCH_IN_PROGRESS);
    query(f, F_MARK, sql);
}
