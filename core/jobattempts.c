#include "jobattempts.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"

struct list {
    jobattempts_cb cb;
    void *arg;
};

static void opt_num(struct sbuf *b, const char *v)
{
    sbuf_puts(b, v ? v : "null");
}

static void listed_cb(const struct db_result *r, void *arg)
{
    struct list *l = arg;
    if (!r->ok) {
        l->cb(NULL, false, r->error, l->arg);
        free(l);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    sbuf_putc(&b, '[');
    bool found = false;
    int n = 0;
    MYSQL_ROW row;
    /* Newest first from the query (so the limit keeps the latest), then
     * written oldest first: collect the rows, then walk them backwards. */
    size_t rows = (size_t)mysql_num_rows(r->res);
    MYSQL_ROW *all = xcalloc(rows ? rows : 1, sizeof *all);
    size_t k = 0;
    while ((row = mysql_fetch_row(r->res)) && k < rows) {
        found = true;
        if (row[1]) /* LEFT JOIN: NULL when the job has no attempt yet */
            all[k++] = row;
    }
    while (k--) {
        row = all[k];
        if (n++)
            sbuf_putc(&b, ',');
        sbuf_printf(&b, "{\"object\":\"job.attempt\",\"attempt\":%s,\"status\":", row[1]);
        sbuf_json_str(&b, row[2]);
        sbuf_puts(&b, ",\"http_status\":");
        opt_num(&b, row[3]);
        sbuf_puts(&b, ",\"error\":");
        sbuf_json_str(&b, row[4]);
        sbuf_puts(&b, ",\"worker_id\":");
        sbuf_json_str(&b, row[5]);
        sbuf_puts(&b, ",\"started_at\":");
        sbuf_json_str(&b, row[6]);
        sbuf_puts(&b, ",\"finished_at\":");
        sbuf_json_str(&b, row[7]);
        sbuf_puts(&b, ",\"duration_ms\":");
        opt_num(&b, row[8]);
        sbuf_putc(&b, '}');
    }
    sbuf_putc(&b, ']');
    free(all); /* the rows themselves belong to the result */
    l->cb(found ? b.data : NULL, found, NULL, l->arg);
    sbuf_deinit(&b);
    free(l);
}

void jobattempts_list(struct db_pool *db, uint64_t tenant, uint64_t id, jobattempts_cb cb, void *arg)
{
    struct list *l = xcalloc(1, sizeof *l);
    l->cb = cb;
    l->arg = arg;
    char sql[900];
    snprintf(sql, sizeof sql,
             "SELECT j.id, a.attempt, a.outcome, a.http_status, a.error, a.worker_id, "
             "DATE_FORMAT(a.started_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'), "
             "DATE_FORMAT(a.finished_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'), "
             "TIMESTAMPDIFF(MICROSECOND, a.started_at, a.finished_at) DIV 1000 "
             "FROM jobs j LEFT JOIN job_attempts a ON a.job_id = j.id "
             "WHERE j.id = %llu AND j.tenant_id = %llu ORDER BY a.id DESC LIMIT %d",
             (unsigned long long)id, (unsigned long long)tenant, JOBATTEMPTS_MAX);
    db_query(db, sql, 0, listed_cb, l);
}
