/* The child of test_llmlimit: one process with its own runtime and
 * limiter, obeying commands on stdin (reserve, settle, seen, redis,
 * describe, quit) and answering a line each on stdout; child_main runs it
 * when the test binary is started with the argument "child". */
#ifndef TEST_LLMLIMIT_CHILD_H
#define TEST_LLMLIMIT_CHILD_H

#include <event2/event.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "llmlimit.h"
#include "loop.h"
#include "redis.h"
#include "runtime.h"

extern char **environ;

/* ---- the child: one process with its own limiter ---- */

struct child_state {
    struct runtime rt;
    struct llmlimit *ll;
    struct llmlimit_ticket **tickets;
    size_t ntickets, answered;
    long long counts[LLMLIMIT_TOO_LARGE + 1], max_retry;
    char reply[4096];
    bool got;
};

static struct child_state cs;

static void spin(bool (*done)(void))
{
    while (!done())
        event_base_loop(loop_base(cs.rt.loop), EVLOOP_ONCE);
}

static bool ready_done(void)
{
    bool redis_ok = !cs.rt.cfg->redis_url[0] || getenv("LLMLIMIT_NO_REDIS_WAIT") ||
                    redis_state(cs.rt.redis) == REDIS_READY;
    return llmlimit_ready(cs.ll) && redis_ok;
}

static size_t want_answers;
static bool answers_done(void)
{
    return cs.answered >= want_answers;
}

static bool idle_done(void)
{
    return llmlimit_busy(cs.ll) == 0;
}

static bool got_done(void)
{
    return cs.got;
}

static void reserved_cb(enum llmlimit_verdict v, long long retry_after_ms, const char *why,
                        struct llmlimit_ticket *t, void *arg)
{
    (void)why;
    (void)arg;
    cs.answered++;
    cs.counts[v]++;
    if (retry_after_ms > cs.max_retry)
        cs.max_retry = retry_after_ms;
    if (t) {
        cs.tickets = xrealloc(cs.tickets, (cs.ntickets + 1) * sizeof *cs.tickets);
        cs.tickets[cs.ntickets++] = t;
    }
}

static void got_reply_cb(struct redisReply *reply, const char *err, void *arg)
{
    (void)arg;
    if (!reply)
        snprintf(cs.reply, sizeof cs.reply, "error %s", err ? err : "?");
    else if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
        snprintf(cs.reply, sizeof cs.reply, "%s", reply->str);
    else if (reply->type == REDIS_REPLY_INTEGER)
        snprintf(cs.reply, sizeof cs.reply, "%lld", reply->integer);
    else if (reply->type == REDIS_REPLY_NIL)
        snprintf(cs.reply, sizeof cs.reply, "nil");
    else if (reply->type == REDIS_REPLY_ARRAY)
        snprintf(cs.reply, sizeof cs.reply, "array %zu", reply->elements);
    else
        snprintf(cs.reply, sizeof cs.reply, "other");
    cs.got = true;
}

static void json_cb(const char *json, const char *err, void *arg)
{
    (void)arg;
    snprintf(cs.reply, sizeof cs.reply, "%s", json ? json : err);
    cs.got = true;
}

static int child_main(void)
{
    static struct config cfg;
    config_init(&cfg);
    config_load_environ(&cfg, environ);
    struct sbuf errs;
    sbuf_init(&errs);
    if (config_finalize(&cfg, false, &errs) < 0) {
        fprintf(stderr, "child config: %s\n", errs.data);
        return 2;
    }
    sbuf_deinit(&errs);
    char err[256];
    if (runtime_init(&cs.rt, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "child runtime: %s\n", err);
        return 2;
    }
    cs.ll = llmlimit_new(&cs.rt, 200);
    spin(ready_done);
    printf("ready\n");
    fflush(stdout);
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char a[200] = "", b[200] = "";
        unsigned long long tenant = 0, key = 0;
        long long n = 0, est = 0, x = 0, y = 0, z = 0, w = 0;
        if (sscanf(line, "reserve %lld %llu %llu %lld %199s %199s", &n, &tenant, &key, &est, a, b) == 6) {
            memset(cs.counts, 0, sizeof cs.counts);
            cs.max_retry = 0;
            cs.answered = 0;
            want_answers = (size_t)n;
            struct llmlimit_req req = {.tenant = tenant, .key_id = key, .provider = a, .model = b, .est_tokens = est};
            for (long long i = 0; i < n; i++)
                llmlimit_reserve(cs.ll, &req, reserved_cb, NULL);
            spin(answers_done);
            printf("ok %lld budget %lld rate %lld throttled %lld error %lld retry %lld\n", cs.counts[LLMLIMIT_OK],
                   cs.counts[LLMLIMIT_BUDGET], cs.counts[LLMLIMIT_RATE], cs.counts[LLMLIMIT_THROTTLED],
                   cs.counts[LLMLIMIT_ERROR], cs.max_retry);
        } else if (sscanf(line, "settle %lld", &n) == 1) {
            struct llm_usage u = {.prompt = n, .completion = 0, .cached = -1, .reasoning = -1};
            for (size_t i = 0; i < cs.ntickets; i++)
                llmlimit_settle(cs.ll, cs.tickets[i], &u);
            cs.ntickets = 0;
            spin(idle_done);
            printf("settled\n");
        } else if (sscanf(line, "seen %199s %lld %lld %lld %lld", a, &x, &y, &z, &w) == 5) {
            struct llm_ratehdr h = {.remaining_requests = x, .remaining_tokens = y, .reset_requests_ms = z,
                                    .reset_tokens_ms = w, .retry_after_ms = -1, .should_retry = -1};
            llmlimit_provider_seen(cs.ll, a, &h);
            spin(idle_done);
            printf("seen\n");
        } else if (sscanf(line, "redis %199s %199s", a, b) >= 1) {
            const char *argv[] = {a, b};
            cs.got = false;
            if (redis_cmd(cs.rt.redis, b[0] ? 2 : 1, argv, NULL, 0, got_reply_cb, NULL) < 0)
                snprintf(cs.reply, sizeof cs.reply, "error not ready");
            else
                spin(got_done);
            printf("%s\n", cs.reply);
        } else if (sscanf(line, "describe %llu %llu", &tenant, &key) == 2) {
            cs.got = false;
            llmlimit_describe(cs.ll, tenant, key, json_cb, NULL);
            spin(got_done);
            printf("%s\n", cs.reply);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        } else {
            printf("unknown command\n");
        }
        fflush(stdout);
    }
    for (size_t i = 0; i < cs.ntickets; i++)
        llmlimit_settle(cs.ll, cs.tickets[i], NULL);
    free(cs.tickets);
    runtime_close(&cs.rt);
    llmlimit_free(cs.ll);
    runtime_deinit(&cs.rt);
    config_deinit(&cfg);
    return 0;
}

#endif
