#include "jobfair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sql.h"

/* Bounds the statements of one walk (groups at their cap are passed over). */
#define WALK_STEPS_MAX 64

enum fair_step { F_LOCK, F_RUNNING, F_NULL_GROUP, F_NEXT_GROUP, F_CANDIDATES };

struct running {
    char *key;
    long long n;
};

struct jobfair {
    struct db_txn *txn;
    struct jobfair_queue q;
    char **skip;
    long long budget;
    struct sbuf *ids, *cursor_sql;
    enum fair_step step;
    struct running *running;
    size_t nrunning;
    char *pos;                /* walk position: NULL = before the first group */
    bool wrapped;
    int steps;
    char **seen;
    size_t nseen;
    char *groups[JOBFAIR_GROUPS_MAX];
    long long room[JOBFAIR_GROUPS_MAX];
    size_t ngroups;
    jobfair_done_cb done;
    void *arg;
};

size_t jobfair_pick(const size_t *avail, size_t ngroups, size_t budget, size_t *out_group,
                    size_t *out_rank)
{
    size_t n = 0;
    for (size_t rank = 0; n < budget; rank++) {
        bool any = false;
        for (size_t g = 0; g < ngroups && n < budget; g++) {
            if (rank < avail[g]) {
                out_group[n] = g;
                out_rank[n] = rank;
                n++;
                any = true;
            }
        }
        if (!any)
            break;
    }
    return n;
}

static void fair_free(struct jobfair *f)
{
    for (size_t i = 0; i < f->q.nskip; i++)
        free(f->skip[i]);
    free(f->skip);
    for (size_t i = 0; i < f->nrunning; i++)
        free(f->running[i].key);
    free(f->running);
    for (size_t i = 0; i < f->nseen; i++)
        free(f->seen[i]);
    free(f->seen);
    free(f->pos);
    free(f);
}

static void fair_done(struct jobfair *f, const char *err, unsigned err_code)
{
    jobfair_done_cb done = f->done;
    void *arg = f->arg;
    fair_free(f);
    done(err, err_code, arg);
}

static void where_queue(struct jobfair *f, struct sbuf *b, int state)
{
    sbuf_printf(b, " FROM jobs WHERE tenant_id = %llu AND queue = ", (unsigned long long)f->q.tenant);
    sql_cstr(b, f->q.name);
    sbuf_printf(b, " AND state = %d", state);
}

static void group_cond(struct sbuf *b, const char *key)
{
    if (*key) {
        sbuf_puts(b, " AND group_key = ");
        sql_cstr(b, key);
    } else {
        sbuf_puts(b, " AND group_key IS NULL");
    }
}

static void step_cb(const struct db_result *r, void *arg);

static void run(struct jobfair *f, enum fair_step step, struct sbuf *b)
{
    f->step = step;
    db_txn_query(f->txn, b->data, 0, step_cb, f);
    sbuf_deinit(b);
}

static void set_cursor(struct jobfair *f, const char *key)
{
    struct sbuf *b = f->cursor_sql;
    sbuf_reset(b);
    sbuf_puts(b, "UPDATE queues SET group_cursor = ");
    sql_cstr(b, key);
    sbuf_printf(b, " WHERE tenant_id = %llu AND name = ", (unsigned long long)f->q.tenant);
    sql_cstr(b, f->q.name);
}

static void fetch_candidates(struct jobfair *f)
{
    if (!f->ngroups) {
        fair_done(f, NULL, 0);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    for (size_t g = 0; g < f->ngroups; g++) {
        if (g)
            sbuf_puts(&b, " UNION ALL ");
        sbuf_puts(&b, f->ngroups > 1 ? "(SELECT id, group_key" : "SELECT id, group_key");
        where_queue(f, &b, JOB_QUEUED);
        group_cond(&b, f->groups[g]);
        sbuf_printf(&b, " AND run_at <= NOW(6) AND %s ORDER BY priority DESC, run_at, id LIMIT %lld%s",
                    f->q.kinds ? f->q.kinds : "FALSE", f->room[g], f->ngroups > 1 ? ")" : "");
    }
    run(f, F_CANDIDATES, &b);
}

static long long running_in(const struct jobfair *f, const char *key)
{
    for (size_t i = 0; i < f->nrunning; i++)
        if (strcmp(f->running[i].key, key) == 0)
            return f->running[i].n;
    return 0;
}

static bool skipped(const struct jobfair *f, const char *key)
{
    for (size_t i = 0; i < f->q.nskip; i++)
        if (strcmp(f->skip[i], key) == 0)
            return true;
    return false;
}

static void walk_next(struct jobfair *f);

/* One group met on the walk. Returns false when the walk is over. */
static bool visit(struct jobfair *f, const char *key)
{
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i], key) == 0)
            return false; /* round the whole circle */
    f->seen = xrealloc(f->seen, (f->nseen + 1) * sizeof *f->seen);
    f->seen[f->nseen++] = xstrdup(key);
    long long room = f->budget;
    if (f->q.group_concurrency >= 0) {
        long long left = f->q.group_concurrency - running_in(f, key);
        room = left < room ? left : room;
    }
    if (room > 0 && !skipped(f, key)) {
        f->groups[f->ngroups] = f->seen[f->nseen - 1];
        f->room[f->ngroups++] = room;
    }
    return f->ngroups < JOBFAIR_GROUPS_MAX && (long long)f->ngroups < f->budget;
}

static void walk_next(struct jobfair *f)
{
    if (++f->steps > WALK_STEPS_MAX) {
        fetch_candidates(f);
        return;
    }
    struct sbuf b;
    sbuf_init(&b);
    if (!f->pos) { /* the group-less jobs come first in the rotation */
        sbuf_puts(&b, "SELECT 1");
        where_queue(f, &b, JOB_QUEUED);
        sbuf_puts(&b, " AND group_key IS NULL LIMIT 1");
        run(f, F_NULL_GROUP, &b);
        return;
    }
    sbuf_puts(&b, "SELECT MIN(group_key)");
    where_queue(f, &b, JOB_QUEUED);
    sbuf_puts(&b, " AND group_key > ");
    sql_cstr(&b, f->pos);
    run(f, F_NEXT_GROUP, &b);
}

static void on_result(struct jobfair *f, const struct db_result *r)
{
    MYSQL_ROW row;
    struct sbuf b;
    switch (f->step) {
    case F_LOCK:
        /* Gone: nothing to cap. Paused since the worker's cache was read:
         * nothing to claim. */
        if (!(row = mysql_fetch_row(r->res)) || db_row_ll(row, 1) != 0) {
            fair_done(f, NULL, 0);
            return;
        }
        f->pos = row[0] ? xstrdup(row[0]) : NULL;
        sbuf_init(&b);
        sbuf_puts(&b, "SELECT group_key, COUNT(*)");
        where_queue(f, &b, JOB_RUNNING);
        sbuf_puts(&b, " GROUP BY group_key");
        run(f, F_RUNNING, &b);
        return;
    case F_RUNNING: {
        long long total = 0;
        size_t n = (size_t)mysql_num_rows(r->res);
        f->running = xcalloc(n ? n : 1, sizeof *f->running);
        while ((row = mysql_fetch_row(r->res)) && f->nrunning < n) {
            f->running[f->nrunning].key = xstrdup(db_row_str(row, 0));
            f->running[f->nrunning++].n = db_row_ll(row, 1);
            total += db_row_ll(row, 1);
        }
        if (f->q.concurrency >= 0 && f->q.concurrency - total < f->budget)
            f->budget = f->q.concurrency - total;
        if (f->budget <= 0) {
            fair_done(f, NULL, 0);
            return;
        }
        walk_next(f);
        return;
    }
    case F_NULL_GROUP:
        f->pos = xstrdup(""); /* next: the first named group */
        if (mysql_fetch_row(r->res) && !visit(f, "")) {
            fetch_candidates(f);
            return;
        }
        walk_next(f);
        return;
    case F_NEXT_GROUP:
        row = mysql_fetch_row(r->res);
        free(f->pos);
        f->pos = NULL;
        if (!row || !row[0]) { /* past the last group: wrap once */
            if (f->wrapped) {
                fetch_candidates(f);
                return;
            }
            f->wrapped = true;
            walk_next(f);
            return;
        }
        f->pos = xstrdup(row[0]);
        if (!visit(f, row[0])) {
            fetch_candidates(f);
            return;
        }
        walk_next(f);
        return;
    case F_CANDIDATES: {
        struct sbuf *per = xcalloc(f->ngroups, sizeof *per);
        size_t *avail = xcalloc(f->ngroups, sizeof *avail);
        for (size_t g = 0; g < f->ngroups; g++)
            sbuf_init(&per[g]);
        while ((row = mysql_fetch_row(r->res))) {
            const char *key = db_row_str(row, 1);
            for (size_t g = 0; g < f->ngroups; g++) {
                if (strcmp(f->groups[g], key) == 0) {
                    sbuf_printf(&per[g], "%s,", row[0]);
                    avail[g]++;
                    break;
                }
            }
        }
        size_t budget = (size_t)f->budget;
        size_t *pg = xcalloc(budget, sizeof *pg), *pr = xcalloc(budget, sizeof *pr);
        size_t n = jobfair_pick(avail, f->ngroups, budget, pg, pr);
        for (size_t i = 0; i < n; i++) {
            const char *p = per[pg[i]].data; /* the pr[i]-th id of its group */
            for (size_t k = 0; k < pr[i]; k++)
                p = strchr(p, ',') + 1;
            sbuf_printf(f->ids, "%s%.*s", f->ids->len ? "," : "", (int)strcspn(p, ","), p);
        }
        /* The next claim starts after the last group served; when none had
         * a due job, after the last one looked at, so the walk moves on. */
        if (n)
            set_cursor(f, f->groups[pg[n - 1]]);
        else if (f->nseen)
            set_cursor(f, f->seen[f->nseen - 1]);
        for (size_t g = 0; g < f->ngroups; g++)
            sbuf_deinit(&per[g]);
        free(per);
        free(avail);
        free(pg);
        free(pr);
        fair_done(f, NULL, 0);
        return;
    }
    }
}

static void step_cb(const struct db_result *r, void *arg)
{
    struct jobfair *f = arg;
    if (!r->ok) {
        fair_done(f, r->error, r->err_code);
        return;
    }
    on_result(f, r);
}

void jobfair_select(struct db_txn *txn, const struct jobfair_queue *q, int max, struct sbuf *ids,
                    struct sbuf *cursor_sql, jobfair_done_cb done, void *arg)
{
    struct jobfair *f = xcalloc(1, sizeof *f);
    f->txn = txn;
    f->q = *q;
    f->skip = xcalloc(q->nskip + 1, sizeof *f->skip);
    for (size_t i = 0; i < q->nskip; i++)
        f->skip[i] = xstrdup(q->skip[i]);
    f->q.skip = (const char *const *)f->skip;
    f->budget = max;
    f->ids = ids;
    f->cursor_sql = cursor_sql;
    f->done = done;
    f->arg = arg;
    /* Serialises the claims of this queue: the caps are read and used
     * under this lock. */
    struct sbuf b;
    sbuf_init(&b);
    sbuf_printf(&b, "SELECT group_cursor, paused FROM queues WHERE tenant_id = %llu AND name = ",
                (unsigned long long)q->tenant);
    sql_cstr(&b, q->name);
    sbuf_puts(&b, " FOR UPDATE");
    run(f, F_LOCK, &b);
}
