#include "runtime.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "db.h"
#include "health.h"
#include "httpc.h"
#include "llm.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "redis.h"
#include "version.h"

struct proc_series {
    struct metric_series *rss, *cpu, *fds, *start;
};

static long long read_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0; /* minus the directory handle itself */
}

static void collect_process(struct metrics *m, void *arg)
{
    (void)m;
    struct runtime *rt = arg;
    struct metric_family *f;
    f = metrics_family(rt->metrics, METRIC_GAUGE, "process_resident_memory_bytes",
                       "Resident memory size in bytes.");
    metrics_set(metrics_series(f, ""), (double)read_rss_bytes());
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    f = metrics_family(rt->metrics, METRIC_COUNTER, "process_cpu_seconds_total",
                       "User and system CPU time spent, in seconds.");
    metrics_set(metrics_series(f, ""), cpu);
    f = metrics_family(rt->metrics, METRIC_GAUGE, "process_open_fds",
                       "Open file descriptors.");
    metrics_set(metrics_series(f, ""), count_fds());
    f = metrics_family(rt->metrics, METRIC_GAUGE, "process_start_time_seconds",
                       "Start time of the process since the Unix epoch, in seconds.");
    metrics_set(metrics_series(f, ""), (double)rt->started_real_us / 1e6);
}

/* SIGTERM: buffered usage goes to the database while it is still up. */
static void llm_drain_hook(void *arg)
{
    struct runtime *rt = arg;
    llm_drain(rt->llm);
}

int runtime_init(struct runtime *rt, const struct config *cfg, char *err, size_t errlen)
{
    memset(rt, 0, sizeof *rt);
    rt->cfg = cfg;
    rt->started_real_us = time_real_us();
    rt->loop = loop_new(err, errlen);
    if (!rt->loop)
        return -1;
    loop_set_grace(rt->loop, cfg->shutdown_grace_ms);
    rt->metrics = metrics_new();
    metrics_set_max_series(rt->metrics, (size_t)cfg->metrics_max_series);
    char labels[256], v[64], c[64];
    metrics_label_escape(ingot_version(), v, sizeof v);
    metrics_label_escape(ingot_commit(), c, sizeof c);
    snprintf(labels, sizeof labels, "version=\"%s\",commit=\"%s\"", v, c);
    metrics_set(metrics_series(metrics_family(rt->metrics, METRIC_GAUGE, "ingot_build_info",
                                              "Build of this process (value is always 1)."),
                               labels),
                1);
    metrics_on_collect(rt->metrics, collect_process, rt);

    struct db_pool_opts dbo = {.url = cfg->database_url,
                               .max_connections = (int)cfg->database_max_connections,
                               .connect_timeout_ms = cfg->database_connection_timeout_ms,
                               .query_timeout_ms = cfg->database_query_timeout_ms};
    char sub[256];
    rt->db = db_pool_new(rt->loop, rt->metrics, &dbo, sub, sizeof sub);
    if (!rt->db) {
        snprintf(err, errlen, "DATABASE_URL: %s", sub);
        runtime_deinit(rt);
        return -1;
    }
    rt->redis = redis_client_new(rt->loop, rt->metrics, cfg->redis_url, 500, sub, sizeof sub);
    if (!rt->redis) {
        snprintf(err, errlen, "REDIS_URL: %s", sub);
        runtime_deinit(rt);
        return -1;
    }
    rt->httpc = httpc_new(rt->loop, cfg->ca_bundle, (size_t)cfg->queue_worker_concurrency);
    struct health_deps hd = {.loop = rt->loop,
                             .db = rt->db,
                             .redis = rt->redis,
                             .httpc = rt->httpc,
                             .llm_base_url = cfg->llm_base_url,
                             .llm_api_key = cfg->llm_api_key};
    rt->health = health_new(&hd);
    /* After the clients it uses (HTTP, Redis, MariaDB) and health, which
     * lists its providers. */
    rt->llm = llm_new(rt, sub, sizeof sub);
    if (!rt->llm) {
        snprintf(err, errlen, "%s", sub);
        runtime_deinit(rt);
        return -1;
    }
    loop_on_drain(rt->loop, llm_drain_hook, rt);
    db_pool_warm(rt->db);
    return 0;
}

void runtime_close(struct runtime *rt)
{
    health_free(rt->health);
    llm_close(rt->llm); /* before httpc: the calls answer while the roles are alive */
    httpc_free(rt->httpc);
    redis_client_free(rt->redis);
    db_pool_free(rt->db);
    rt->health = NULL;
    rt->httpc = NULL;
    rt->redis = NULL;
    rt->db = NULL;
}

void runtime_deinit(struct runtime *rt)
{
    runtime_close(rt);
    /* After the clients closed (their callbacks into llm's modules ran)
     * and the roles freed (they hold calls), before metrics. */
    llm_free(rt->llm);
    rt->llm = NULL;
    metrics_free(rt->metrics);
    loop_free(rt->loop);
    memset(rt, 0, sizeof *rt);
}
