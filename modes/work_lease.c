#include "work_lease.h"

#include <stdlib.h>
#include <string.h>

#include "jobclaim.h"
#include "log.h"
#include "loop.h"
#include "runtime.h"
#include "work_int.h"

/* Requests out: neither waiting, recording nor handed back. */
static bool sending(const struct run *r)
{
    return r->started_us && !r->recording && !r->waiting && !r->released;
}

struct lease_check {
    struct work *w;
    uint64_t *ids;
    char (*tokens)[33];
    size_t n;
};

static void held_checked_cb(const uint64_t *held, size_t nheld, const char *err, void *arg)
{
    struct lease_check *lc = arg;
    struct work *w = lc->w;
    w->pending_db--;
    if (err)
        log_debug("lease check failed: %s", err);
    for (size_t i = 0; !err && i < lc->n; i++) {
        bool ours = false;
        for (size_t k = 0; k < nheld && !ours; k++)
            ours = held[k] == lc->ids[i];
        if (ours)
            continue;
        for (struct run *r = w->runs; r; r = r->next) {
            if (r->job.id == lc->ids[i] && strcmp(r->job.token, lc->tokens[i]) == 0) {
                if (sending(r))
                    work_abort(w, r);
                break;
            }
        }
    }
    free(lc->ids);
    free(lc->tokens);
    free(lc);
    loop_work_done(w->rt->loop);
}

/* Asks which leases of these runs (id 0: every run sending) are still ours. */
static void check_leases(struct work *w, const uint64_t *only, size_t nonly)
{
    struct lease_check *lc = xcalloc(1, sizeof *lc);
    lc->w = w;
    lc->ids = xcalloc(w->nruns + 1, sizeof *lc->ids);
    lc->tokens = xcalloc(w->nruns + 1, sizeof *lc->tokens);
    for (struct run *r = w->runs; r && lc->n < w->nruns; r = r->next) {
        bool want = !only;
        for (size_t i = 0; i < nonly && !want; i++)
            want = only[i] == r->job.id;
        if (!want || !sending(r))
            continue;
        lc->ids[lc->n] = r->job.id;
        memcpy(lc->tokens[lc->n], r->job.token, sizeof lc->tokens[0]);
        lc->n++;
    }
    if (!lc->n) {
        free(lc->ids);
        free(lc->tokens);
        free(lc);
        return;
    }
    w->pending_db++;
    jobclaim_held(w->rt->db, lc->ids, (const char (*)[33])lc->tokens, lc->n, held_checked_cb, lc);
}

struct extend_ctx {
    struct work *w;
    unsigned long long held;
};

static void extended_cb(unsigned long long n, void *arg)
{
    struct extend_ctx *x = arg;
    if (n < x->held) /* a lease is gone: find which */
        check_leases(x->w, NULL, 0);
    free(x);
}

void work_lease_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct work *w = arg;
    const char **tokens = xcalloc(w->nruns + 1, sizeof(const char *));
    size_t n = 0;
    struct extend_ctx *x = xcalloc(1, sizeof *x);
    x->w = w;
    for (struct run *r = w->runs; r; r = r->next) {
        x->held += !r->recording; /* one being recorded may have just ended */
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(tokens[i], r->job.token) == 0;
        if (!seen)
            tokens[n++] = r->job.token;
    }
    if (n)
        jobclaim_extend(w->rt->db, tokens, n, w->lease_ms, extended_cb, x);
    else
        free(x);
    free(tokens);
}

/* JOB_DONE_CHANNEL names jobs that just ended ("id,id"): one this worker
 * is still sending was ended by someone else (a cancel). */
void work_lease_done_msg_cb(const char *payload, size_t len, void *arg)
{
    struct work *w = arg;
    uint64_t ids[64];
    size_t n = 0, i = 0;
    while (i < len && n < 64) {
        uint64_t id = 0;
        size_t digits = 0;
        for (; i < len && payload[i] >= '0' && payload[i] <= '9' && digits < 19; i++, digits++)
            id = id * 10 + (uint64_t)(payload[i] - '0');
        for (; i < len && payload[i] != ','; i++)
            ;
        i++;
        for (struct run *r = w->runs; id && r; r = r->next)
            if (r->job.id == id && sending(r)) {
                ids[n++] = id;
                break;
            }
    }
    if (n)
        check_leases(w, ids, n);
}

