/* usage: the ledger buffer against a real MariaDB (with
 * LLMLIMIT_TEST_SERVERS=1, DATABASE_URL of a migrated database; run by
 * test/integration/test_limits.sh): written on the interval without a
 * flush, at 500 rows without waiting for it, everything at usage_flush,
 * kept and retried while the table cannot be written, bounded (dropped and
 * counted past the bound), rows that would be refused cleaned first;
 * written by bulk execution (db_bulk), and as INSERT text, with the same
 * values, where the server offers none. */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "config.h"
#include "db.h"
#include "db_sync.h"
#include "loop.h"
#include "metrics.h"
#include "runtime.h"
#include "usage.h"
#include "usage_query.h"

extern char **environ;

static struct runtime rt;
static MYSQL *db;

static long long scalar(const char *fmt, ...) ATTR_FMT(1, 2);
static long long scalar(const char *fmt, ...)
{
    char q[1024], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return db_sync_scalar(db, q, err, sizeof err);
}

static void sql(const char *q)
{
    char err[256];
    if (db_sync_exec(db, q, err, sizeof err) < 0)
        printf("sql failed: %s: %s\n", q, err);
}

/* Runs the loop until cond holds or ms passed. */
static bool spin_until(bool (*cond)(void), long long ms)
{
    int64_t end = time_mono_ms() + ms;
    while (!cond()) {
        if (time_mono_ms() > end)
            return false;
        struct timeval tv = loop_tv(20);
        event_base_loopexit(loop_base(rt.loop), &tv);
        event_base_dispatch(loop_base(rt.loop));
    }
    return true;
}

static unsigned long long tenant;
static long long want_rows;
static struct usage *u_fast, *u_slow;

static bool rows_reached(void)
{
    return scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu", tenant) >= want_rows;
}

static bool fast_empty(void)
{
    return usage_pending(u_fast) == 0;
}

static bool slow_empty(void)
{
    return usage_pending(u_slow) == 0;
}

/* The rows can be committed before the write's answer is read: wait for
 * the answer, then look at what is left. */
static bool slow_rest(void)
{
    return usage_pending(u_slow) == 200;
}

static bool fast_failed(void)
{
    struct metric_family *f = metrics_family(rt.metrics, METRIC_COUNTER, "ingot_llm_usage_write_failures_total", "");
    return metrics_value(metrics_series(f, "")) >= 1;
}

static struct usage *u_text;

static bool text_written(void)
{
    return usage_pending(u_text) == 0 &&
           scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND model LIKE 'exact-%%'", tenant) >= 4;
}

static long long global_status(const char *name)
{
    char q[160];
    snprintf(q, sizeof q, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '%s'", name);
    return scalar("%s", q);
}

/* Every column's value, bulk and text alike: NULLs, rounding, a job. */
static void record_exact(struct usage *u, const char *model)
{
    struct usage_rec a = {.tenant = tenant, .key_id = 9, .job_id = 123456789012ULL, .provider = "prov\t1",
                          .model = model, .endpoint = "embeddings", .status = 429,
                          .u = {.prompt = 7, .completion = 0, .cached = -1, .reasoning = 3},
                          .cost_usd = 0.0001234567891, .latency_ms = 12.3456, .ttft_ms = 0.0004,
                          .request_id = "req_x\ty'z"};
    struct usage_rec b = a;
    b.job_id = 0;
    b.ttft_ms = -1;
    b.cost_usd = 0;
    b.status = 499;
    usage_record(u, &a);
    usage_record(u, &b);
}

static bool exact_rows(const char *model)
{
    return scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND model = '%s' AND key_id = 9 AND "
                  "job_id = 123456789012 AND provider = 'prov\\t1' AND endpoint = 'embeddings' AND status = 429 "
                  "AND prompt_tokens = 7 AND completion_tokens = 0 AND cached_tokens = 0 AND reasoning_tokens = 3 "
                  "AND cost_usd = 0.000123457 AND latency_ms = 12.346 AND ttft_ms = 0 AND "
                  "request_id = 'req_x\\ty''z' AND cache_hit = 0",
                  tenant, model) == 1 &&
           scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND model = '%s' AND job_id IS NULL AND "
                  "ttft_ms IS NULL AND cost_usd = 0 AND status = 499 AND latency_ms = 12.346",
                  tenant, model) == 1;
}

/* db_bulk itself, on a table of its own. */
struct probe_row {
    int id;
    char v[8];
    unsigned long v_len;
};
static struct {
    bool done, ok;
    unsigned code;
    unsigned long long affected;
    char error[200];
} probe;

static void probe_cb(const struct db_result *r, void *arg)
{
    (void)arg;
    probe.done = true;
    probe.ok = r->ok;
    probe.code = r->err_code;
    probe.affected = r->affected_rows;
    snprintf(probe.error, sizeof probe.error, "%s", r->error);
}

static bool probe_done(void)
{
    return probe.done;
}

static bool probe_run(const char *sql, struct probe_row *rows, unsigned n, unsigned nparams)
{
    MYSQL_BIND b[2];
    memset(b, 0, sizeof b);
    b[0].buffer_type = MYSQL_TYPE_LONG;
    b[0].buffer = &rows[0].id;
    b[1].buffer_type = MYSQL_TYPE_STRING;
    b[1].buffer = rows[0].v;
    b[1].buffer_length = sizeof rows[0].v;
    b[1].length = &rows[0].v_len;
    for (unsigned i = 0; i < n; i++)
        rows[i].v_len = strlen(rows[i].v);
    memset(&probe, 0, sizeof probe);
    struct db_bulk k = {.sql = sql, .binds = b, .nparams = nparams, .rows = n, .row_size = sizeof *rows};
    db_bulk(rt.db, &k, 0, probe_cb, NULL);
    return spin_until(probe_done, 5000);
}

static void test_bulk_api(void)
{
    sql("DROP TABLE IF EXISTS bulk_probe");
    sql("CREATE TABLE bulk_probe (id INT PRIMARY KEY, v VARCHAR(8) NOT NULL)");
    const char *ins = "INSERT INTO bulk_probe (id, v) VALUES (?, ?)";
    struct probe_row rows[3] = {{1, "a", 0}, {2, "b\tc", 0}, {3, "d'e", 0}};
    test_cond("bulk: three rows in one execution", probe_run(ins, rows, 3, 2) && probe.ok && probe.affected == 3);
    test_cond("bulk: values kept",
              scalar("SELECT COUNT(*) FROM bulk_probe WHERE (id = 2 AND v = 'b\\tc') OR (id = 3 AND v = 'd''e')") == 2);
    struct probe_row dup[2] = {{4, "f", 0}, {1, "g", 0}};
    test_cond("bulk: a refused row fails the statement with the server's code",
              probe_run(ins, dup, 2, 2) && !probe.ok && probe.code == 1062 && strstr(probe.error, "Duplicate") != NULL);
    test_cond("bulk: nothing of a refused statement stays", scalar("SELECT COUNT(*) FROM bulk_probe") == 3);
    struct probe_row more[1] = {{5, "h", 0}};
    test_cond("bulk: the next execution works", probe_run(ins, more, 1, 2) && probe.ok && probe.affected == 1);
    const char *other = "INSERT INTO bulk_probe (v, id) VALUES (?, ?)"; /* another text: prepared anew */
    struct probe_row swap[1] = {{6, "i", 0}};
    test_cond("bulk: another statement on the same pool",
              probe_run(other, swap, 1, 2) && !probe.ok && probe.code == 1366); /* "i" is no INT: strict mode */
    test_cond("bulk: a parameter count the statement lacks is refused",
              probe_run(ins, more, 1, 3) && !probe.ok && probe.code == DB_ERR_BIND &&
                  strstr(probe.error, "binding 3 parameters") != NULL);
    test_cond("bulk: no rows is refused, not run as one", probe_run(ins, more, 0, 2) && probe.code == DB_ERR_BIND);
    test_cond("bulk: and the statement works after it", probe_run(ins, swap, 1, 2) && probe.ok && probe.affected == 1);
    sql("DROP TABLE bulk_probe");
}

static void record(struct usage *u, int n, const char *model, double ttft)
{
    for (int i = 0; i < n; i++) {
        struct usage_rec r = {
            .tenant = tenant,
            .key_id = 3,
            .provider = "default",
            .model = model,
            .endpoint = "chat.completions",
            .status = 200,
            .u = {.prompt = 10, .completion = 5, .cached = 2, .reasoning = -1},
            .cost_usd = 0.000125,
            .latency_ms = 250,
            .ttft_ms = ttft,
            .request_id = "req_1",
        };
        usage_record(u, &r);
    }
}

static void test_servers(void)
{
    char err[256];
    static struct config cfg;
    config_init(&cfg);
    config_load_environ(&cfg, environ);
    struct sbuf errs;
    sbuf_init(&errs);
    test_cond("config", config_finalize(&cfg, false, &errs) == 0);
    sbuf_deinit(&errs);
    test_cond("runtime", runtime_init(&rt, &cfg, err, sizeof err) == 0);
    db = db_sync_connect(cfg.database_url, 5000, err, sizeof err);
    test_cond("database", db != NULL);
    if (!db)
        return;
    tenant = 900000 + (unsigned long long)(time_real_us() % 90000);
    test_bulk_api();
    u_fast = usage_new(&rt, 300);
    u_slow = usage_new(&rt, 3600000);

    /* on the interval, without a flush */
    record(u_fast, 3, "gpt-x", -1);
    want_rows = 3;
    test_cond("written within the interval", spin_until(rows_reached, 5000));
    test_cond("one row's fields",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND key_id = 3 AND job_id IS NULL AND "
                     "status = 200 AND prompt_tokens = 10 AND completion_tokens = 5 AND cached_tokens = 2 AND "
                     "reasoning_tokens = 0 AND cost_usd = 0.000125 AND latency_ms = 250 AND ttft_ms IS NULL AND "
                     "request_id = 'req_1' AND endpoint = 'chat.completions' AND model = 'gpt-x'",
                     tenant) == 3);
    test_cond("at is when the call started",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND "
                     "at BETWEEN UTC_TIMESTAMP(6) - INTERVAL 10 SECOND AND UTC_TIMESTAMP(6) - INTERVAL 200000 MICROSECOND",
                     tenant) == 3);

    /* 500 rows go at once; the rest waits for the interval or a flush */
    long long bulk0 = global_status("COM_STMT_EXECUTE");
    record(u_slow, 1200, "gpt-y", 40);
    want_rows = 3 + 1000;
    test_cond("500-row batches go without waiting for the interval", spin_until(rows_reached, 10000));
    test_cond("the rest waits", spin_until(slow_rest, 5000) && usage_pending(u_slow) == 200);
    usage_flush(u_slow);
    test_cond("flush writes what is left", spin_until(slow_empty, 5000));
    test_cond("every row once", scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu", tenant) == 1203);
    test_cond("ttft kept for streams",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND ttft_ms = 40", tenant) == 1200);
    /* one bulk execution per 500 rows (others may run meanwhile: at least) */
    test_cond("written by bulk execution", global_status("COM_STMT_EXECUTE") - bulk0 >= 3);


    /* the table cannot be written: kept, retried, bounded */
    sql("RENAME TABLE llm_usage TO llm_usage_away");
    record(u_fast, 5, "gpt-z", -1);
    test_cond("a failed write is counted", spin_until(fast_failed, 5000));
    record(u_slow, 50005, "gpt-w", -1);
    struct metric_family *rows = metrics_family(rt.metrics, METRIC_COUNTER, "ingot_llm_usage_rows_total", "");
    test_cond("past the bound rows are dropped and counted",
              metrics_value(metrics_series(rows, "result=\"dropped\"")) == 5);
    sql("RENAME TABLE llm_usage_away TO llm_usage");
    want_rows = 1203 + 5;
    test_cond("the kept rows are written once the table is back", spin_until(rows_reached, 5000));
    usage_flush(u_slow);
    test_cond("the bounded buffer drains", spin_until(slow_empty, 60000));
    test_cond("every kept row written once",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu", tenant) == 1203 + 5 + 50000);

    /* rows the database would refuse are cleaned: invalid UTF-8, too long */
    char model[400];
    memset(model, 'm', sizeof model - 1);
    model[sizeof model - 1] = 0;
    model[5] = (char)0xC3; /* a lead byte without its continuation */
    record(u_fast, 1, model, -1);
    record(u_fast, 1, "caf\xc3\xa9", -1);
    want_rows = 1203 + 5 + 50000 + 2;
    test_cond("odd model names are written, not refused", spin_until(rows_reached, 5000));
    test_cond("invalid UTF-8 replaced",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND model LIKE 'mmmmm?m%%'", tenant) == 1);
    test_cond("valid UTF-8 kept",
              scalar("SELECT COUNT(*) FROM llm_usage WHERE tenant_id = %llu AND model = 'caf\xc3\xa9'", tenant) == 1);

    /* metrics */
    struct sbuf m;
    sbuf_init(&m);
    metrics_render(rt.metrics, &m);
    char want[200];
    snprintf(want, sizeof want, "ingot_llm_tokens_total{tenant=\"%llu\",model=\"gpt-x\",type=\"prompt\"} 30", tenant);
    test_cond("tokens by tenant, model, type", strstr(m.data, want) != NULL);
    snprintf(want, sizeof want, "ingot_llm_tokens_total{tenant=\"%llu\",model=\"gpt-x\",type=\"cached\"} 6", tenant);
    test_cond("cached tokens", strstr(m.data, want) != NULL);
    test_cond("requests by provider, model, status",
              strstr(m.data, "ingot_llm_requests_total{provider=\"default\",model=\"gpt-y\",status=\"200\"} 1200"));
    test_cond("latency histogram", strstr(m.data, "ingot_llm_latency_seconds_count{provider=\"default\",model=\"gpt-x\"} 3"));
    test_cond("ttft histogram only for streams",
              strstr(m.data, "ingot_llm_ttft_seconds_count{provider=\"default\",model=\"gpt-y\"} 1200") &&
                  !strstr(m.data, "ingot_llm_ttft_seconds_count{provider=\"default\",model=\"gpt-x\"}"));
    sbuf_deinit(&m);

    /* every column, bulk and text: the same values */
    record_exact(u_fast, "exact-bulk");
    usage_flush(u_fast);
    test_cond("bulk rows written", spin_until(fast_empty, 5000));
    u_text = usage_new(&rt, 300);
    db_pool_set_no_bulk(rt.db, true);
    record_exact(u_text, "exact-text");
    test_cond("without bulk execution rows are written as text", spin_until(text_written, 5000));
    db_pool_set_no_bulk(rt.db, false);
    test_cond("bulk: every column's value", exact_rows("exact-bulk"));
    test_cond("text: the same values", exact_rows("exact-text"));
    char del[160];
    snprintf(del, sizeof del, "DELETE FROM llm_usage WHERE tenant_id = %llu AND model LIKE 'exact-%%'", tenant);
    sql(del);
    sql("DELETE FROM llm_usage WHERE tenant_id >= 900000");
    mysql_close(db);
    runtime_close(&rt);
    usage_free(u_fast);
    usage_free(u_slow);
    usage_free(u_text);
    runtime_deinit(&rt);
    config_deinit(&cfg);
}

static void test_parse(void)
{
    int64_t ms = 0;
    test_cond("date", usage_parse_time("2024-02-29", false, &ms) == 0 && ms == 1709164800000LL);
    test_cond("date as an end: the end of that day",
              usage_parse_time("2024-02-29", true, &ms) == 0 && ms == 1709251200000LL);
    test_cond("rfc 3339 Z", usage_parse_time("2024-02-29T01:02:03Z", false, &ms) == 0 && ms == 1709168523000LL);
    test_cond("rfc 3339 fraction", usage_parse_time("2024-02-29T01:02:03.5Z", false, &ms) == 0 && ms == 1709168523500LL);
    test_cond("rfc 3339 offset", usage_parse_time("2024-02-29T01:02:03+01:00", false, &ms) == 0 && ms == 1709164923000LL);
    test_cond("rfc 3339 negative offset",
              usage_parse_time("2024-02-29T01:02:03-00:30", false, &ms) == 0 && ms == 1709170323000LL);
    const char *bad[] = {"", "2024", "2024-02-30", "2023-02-29", "2024-13-01", "24-02-01", "2024-02-29T", "2024-02-29T25:00:00Z",
                         "2024-02-29T01:02:03", "2024-02-29T01:02:03+0100", "2024-02-29T01:02:03.Z", "2024-02-29x",
                         "2024-02-29T01:02:03Zjunk", "１９７０-01-01", "1969-12-31",
                         "1970-01-01T00:00:00.5+00:01", "1970-01-01T00:00:00+23:59"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        bool refused = usage_parse_time(bad[i], false, &ms) < 0;
        if (!refused)
            printf("  accepted: %s\n", bad[i]);
        test_cond("malformed times refused", refused);
    }
    enum usage_group g;
    test_cond("group default", usage_parse_group(NULL, &g) == 0 && g == USAGE_BY_MODEL);
    test_cond("group day", usage_parse_group("day", &g) == 0 && g == USAGE_BY_DAY);
    test_cond("group key", usage_parse_group("key", &g) == 0 && g == USAGE_BY_KEY);
    test_cond("group other refused", usage_parse_group("Model", &g) < 0);
    int64_t f, t, now = 1709168523000LL; /* 2024-02-29T01:02:03Z */
    const char *param = "";
    char why[160];
    test_cond("range default: this month to the end of today",
              usage_range(NULL, NULL, now, &f, &t, &param, why, sizeof why) == 0 && f == 1706745600000LL &&
                  t == 1709251200000LL);
    test_cond("range: to before from names to",
              usage_range("2024-02-10", "2024-02-01", now, &f, &t, &param, why, sizeof why) < 0 &&
                  strcmp(param, "to") == 0);
    test_cond("the epoch itself accepted", usage_parse_time("1970-01-01T00:00:00Z", false, &ms) == 0 && ms == 0);
    test_cond("range: from before the epoch (by its offset) names from",
              usage_range("1970-01-01T00:00:00.5+00:01", NULL, now, &f, &t, &param, why, sizeof why) < 0 &&
                  strcmp(param, "from") == 0);
    test_cond("range: a bad from names from",
              usage_range("soon", NULL, now, &f, &t, &param, why, sizeof why) < 0 && strcmp(param, "from") == 0);
    test_cond("range: 366 days allowed",
              usage_range("2023-01-01", "2023-12-31", now, &f, &t, &param, why, sizeof why) == 0);
    test_cond("range: longer refused",
              usage_range("2023-01-01", "2024-01-02", now, &f, &t, &param, why, sizeof why) < 0 &&
                  strstr(why, "366") != NULL);
}

int main(void)
{
    test_parse();
    if (getenv("LLMLIMIT_TEST_SERVERS"))
        test_servers();
    else
        printf("(run from test/integration/test_limits.sh against a database)\n");
    test_report();
}
