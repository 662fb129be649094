/* llmlimit: the calendar and the script digests always; with
 * LLMLIMIT_TEST_SERVERS=1 (test/integration/test_limits.sh sets it, with
 * DATABASE_URL and REDIS_URL of a migrated database) the admission across
 * processes: this binary re-runs itself as children ("child" argument)
 * that each own a runtime and a limiter and obey commands on stdin, so
 * several processes reserve against one Redis at once (the child:
 * llmlimit_child.h). */
#include <errno.h>
#include <hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llmlimit_int.h"
#include "config.h"
#include "db_sync.h"
#include "llmlimit.h"
#include "loop.h"
#include "redis.h"
#include "rscript.h"
#include "runtime.h"
#include "../testhelp.h"
#include "llmlimit_child.h"

/* ---- the parent ---- */

struct child {
    pid_t pid;
    FILE *in, *out;
};

static const char *self_path;

static int child_start(struct child *c, const char *redis_url)
{
    int to[2], from[2];
    if (pipe(to) < 0 || pipe(from) < 0)
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        if (redis_url)
            setenv("REDIS_URL", redis_url, 1);
        execl(self_path, self_path, "child", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    c->in = fdopen(to[1], "w");
    c->out = fdopen(from[0], "r");
    return c->in && c->out ? 0 : -1;
}

static void child_send(struct child *c, const char *fmt, ...) ATTR_FMT(2, 3);
static void child_send(struct child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->in, fmt, ap);
    va_end(ap);
    fputc('\n', c->in);
    fflush(c->in);
}

static char *child_line(struct child *c, char *buf, size_t n)
{
    if (!fgets(buf, (int)n, c->out))
        snprintf(buf, n, "EOF");
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

static void child_stop(struct child *c)
{
    child_send(c, "quit");
    fclose(c->in);
    fclose(c->out);
    int st = 0;
    waitpid(c->pid, &st, 0);
    test_cond("child exits cleanly", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static MYSQL *db;

static void sql(const char *fmt, ...) ATTR_FMT(1, 2);
static void sql(const char *fmt, ...)
{
    char q[2048], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    if (db_sync_exec(db, q, err, sizeof err) < 0)
        printf("sql failed: %s: %s\n", q, err);
}

static long long tenant_new(const char *name)
{
    char err[256], q[256];
    sql("INSERT INTO tenants (name) VALUES ('%s')", name);
    snprintf(q, sizeof q, "SELECT id FROM tenants WHERE name = '%s'", name);
    return db_sync_scalar(db, q, err, sizeof err);
}

struct counts {
    long long ok, budget, rate, throttled, error, retry;
};

static struct counts parse_counts(const char *s)
{
    struct counts k = {-1, -1, -1, -1, -1, -1};
    if (sscanf(s, "ok %lld budget %lld rate %lld throttled %lld error %lld retry %lld", &k.ok, &k.budget, &k.rate,
               &k.throttled, &k.error, &k.retry) != 6)
        printf("  unexpected answer: %s\n", s);
    return k;
}

static long long redis_get(struct child *c, const char *key)
{
    char buf[4096];
    child_send(c, "redis GET %s", key);
    child_line(c, buf, sizeof buf);
    return strcmp(buf, "nil") == 0 ? -1 : strtoll(buf, NULL, 10);
}

/* The first column of the first row ("" when none). */
static void sql_str(char *out, size_t n, const char *q)
{
    out[0] = 0;
    if (mysql_query(db, q) != 0)
        return;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0])
        snprintf(out, n, "%s", row[0]);
    if (res)
        mysql_free_result(res);
}

/* A budget counter's key: the installation's namespace, the scope, the
 * generation of its limits row (see llmlimit_ctr_key). */
static void day_key(char *out, size_t n, const char *scope, const char *kind)
{
    struct period p;
    llmlimit_period(&p, time_real_us() / 1000);
    char inst[64], gen[32], q[256];
    unsigned long long t = 0, k = 0;
    if (scope[0] == 'k')
        sscanf(scope, "k%llu.%llu", &t, &k);
    else
        sscanf(scope, "t%llu", &t);
    sql_str(inst, sizeof inst, "SELECT value FROM meta WHERE name = 'installation_id'");
    snprintf(q, sizeof q,
             "SELECT DATE_FORMAT(updated_at, '%%Y%%m%%d%%H%%i%%s%%f') FROM llm_limits WHERE tenant_id = %llu AND "
             "key_id = %llu",
             t, k);
    sql_str(gen, sizeof gen, q);
    snprintf(out, n, "ingot:ll:%s:%s:g%s:%s:%s", inst, scope, gen, kind, strcmp(kind, "day") == 0 ? p.day : p.month);
}

/* Minute windows: start a tpm/rpm test early in a minute, so it does not
 * straddle two windows. Waits on the clock (the condition itself). */
static void wait_fresh_minute(void)
{
    while ((time_real_us() / 1000) % 60000 > 45000)
        usleep(100000);
}

/* Runs the child's loop once (its timers and messages: an unlimited
 * reservation is answered without it). */
static void child_ping(struct child *c)
{
    char buf[256];
    child_send(c, "redis PING");
    child_line(c, buf, sizeof buf);
}

/* A tenant with no limit costs no Redis call; a limit set after its
 * traffic starts from the ledger; a provider's hold reaches it anyway. */
static void test_unlimited(struct child *c)
{
    char buf[4096], name[64], key[256];
    snprintf(name, sizeof name, "llF%d", (int)getpid());
    long long tf = tenant_new(name);
    snprintf(name, sizeof name, "llG%d", (int)getpid());
    long long tg = tenant_new(name);
    sql("INSERT INTO llm_usage (at, tenant_id, provider, model, endpoint, status, prompt_tokens) "
        "VALUES (UTC_TIMESTAMP(6), %lld, 'p', 'm', 'chat.completions', 200, 500)",
        tf);
    child_send(&c[0], "reserve 3 %lld 0 100 pA gpt-x", tf);
    test_cond("unlimited: admitted", parse_counts(child_line(&c[0], buf, sizeof buf)).ok == 3);
    child_send(&c[0], "settle 100");
    child_line(&c[0], buf, sizeof buf);
    child_send(&c[0], "redis KEYS ingot:ll:*:t%lld:*", tf);
    test_streq("unlimited: no counter in Redis", child_line(&c[0], buf, sizeof buf), "array 0");
    /* a day budget of 1000 set now: the counter starts from the ledger's
     * 500 (the 300 settled above are not in this test's ledger). */
    sql("INSERT INTO llm_limits (tenant_id, key_id, tokens_per_day) VALUES (%lld, 0, 1000)", tf);
    snprintf(name, sizeof name, "t%lld", tf);
    day_key(key, sizeof key, name, "day");
    long long v = -1;
    for (int i = 0; i < 100 && v < 0; i++) { /* until the child re-read the limits (every 200 ms) */
        child_send(&c[0], "reserve 1 %lld 0 100 pA gpt-x", tf);
        child_line(&c[0], buf, sizeof buf);
        v = redis_get(&c[0], key);
        if (v < 0) {
            child_send(&c[0], "settle 0");
            child_line(&c[0], buf, sizeof buf);
            usleep(50000);
        }
    }
    test_cond("a limit set later: its counter starts from the ledger plus the reservation", v == 600);
    child_send(&c[0], "settle 100");
    child_line(&c[0], buf, sizeof buf);
    struct counts k = {0};
    for (int i = 0; i < 100; i++) { /* until c[1] re-read the limits too */
        child_ping(&c[1]);
        child_send(&c[1], "reserve 5 %lld 0 100 pA gpt-x", tf);
        k = parse_counts(child_line(&c[1], buf, sizeof buf));
        if (k.budget > 0)
            break;
        child_send(&c[1], "settle 0");
        child_line(&c[1], buf, sizeof buf);
        usleep(50000);
    }
    test_cond("  and admits what the ledger leaves (4 of 5)", k.ok == 4 && k.budget == 1);
    child_send(&c[1], "settle 100");
    child_line(&c[1], buf, sizeof buf);
    /* the provider's hold, announced by another process, holds it (the
     * message reaches the other process's loop: polled) */
    child_send(&c[2], "seen pU 0 50000 1500 -1");
    child_line(&c[2], buf, sizeof buf);
    struct counts kh = {0};
    for (int i = 0; i < 100 && kh.throttled != 1; i++) {
        child_ping(&c[1]);
        child_send(&c[1], "reserve 1 %lld 0 10 pU gpt-x", tg);
        kh = parse_counts(child_line(&c[1], buf, sizeof buf));
        if (kh.throttled != 1)
            usleep(10000);
    }
    test_cond("unlimited: another process's provider hold holds it", kh.throttled == 1 && kh.retry <= 1500);
    child_send(&c[1], "settle 0");
    child_line(&c[1], buf, sizeof buf);
}

/* Two installations (another meta.installation_id: as another database
 * would have) on one Redis share no counter. */
static void test_two_installations(struct child *c)
{
    char buf[4096], name[64], inst[64];
    snprintf(name, sizeof name, "llH%d", (int)getpid());
    long long th = tenant_new(name);
    sql("INSERT INTO llm_limits (tenant_id, key_id, tokens_per_day) VALUES (%lld, 0, 100)", th);
    sql_str(inst, sizeof inst, "SELECT value FROM meta WHERE name = 'installation_id'");
    struct counts k = {0};
    for (int i = 0; i < 100 && k.ok != 1; i++) { /* until c[0] re-read the limits */
        child_ping(&c[0]);
        child_send(&c[0], "reserve 2 %lld 0 100 pA gpt-x", th);
        k = parse_counts(child_line(&c[0], buf, sizeof buf));
        if (k.ok != 1)
            usleep(50000);
    }
    test_cond("installation 1: one reservation of the budget", k.ok == 1 && k.budget == 1);
    sql("UPDATE meta SET value = 'other-installation-%d' WHERE name = 'installation_id'", (int)getpid());
    struct child o;
    test_cond("child of installation 2 starts", child_start(&o, NULL) == 0);
    test_streq("child ready", child_line(&o, buf, sizeof buf), "ready");
    sql("UPDATE meta SET value = '%s' WHERE name = 'installation_id'", inst);
    child_send(&o, "reserve 2 %lld 0 100 pA gpt-x", th);
    k = parse_counts(child_line(&o, buf, sizeof buf));
    test_cond("installation 2: its own counter (one of two again)", k.ok == 1 && k.budget == 1);
    child_send(&o, "settle 100");
    child_line(&o, buf, sizeof buf);
    child_stop(&o);
    child_send(&c[0], "settle 100");
    child_line(&c[0], buf, sizeof buf);
}

static void test_servers(void)
{
    char err[256], buf[4096], key[256];
    db = db_sync_connect(getenv("DATABASE_URL"), 5000, err, sizeof err);
    test_cond("database reachable", db != NULL);
    if (!db)
        return;
    char suffix[32];
    snprintf(suffix, sizeof suffix, "%d", (int)getpid());
    char name[64];
    snprintf(name, sizeof name, "llA%s", suffix);
    long long ta = tenant_new(name);
    snprintf(name, sizeof name, "llB%s", suffix);
    long long tb = tenant_new(name);
    snprintf(name, sizeof name, "llC%s", suffix);
    long long tc = tenant_new(name);
    snprintf(name, sizeof name, "llD%s", suffix);
    long long td = tenant_new(name);
    snprintf(name, sizeof name, "llE%s", suffix);
    long long te = tenant_new(name);
    test_cond("tenants made", ta > 0 && tb > 0 && tc > 0 && td > 0 && te > 0);
    /* E: 0.001 USD a month; gpt-usd costs 1 and 2 USD per million tokens:
     * a reservation of 100 tokens at the dearer price is 0.0002 USD. */
    sql("INSERT INTO llm_limits (tenant_id, key_id, usd_per_month) VALUES (%lld, 0, 0.001)", te);
    sql("INSERT INTO llm_prices (model, input_per_mtok, output_per_mtok) VALUES ('gpt-usd', 1, 2) "
        "ON DUPLICATE KEY UPDATE input_per_mtok = 1, output_per_mtok = 2");
    /* A: 10000 tokens a day, reservations of 100: exactly 100 fit. Its key 7: rpm 1000 (not binding). */
    sql("INSERT INTO llm_limits (tenant_id, key_id, tokens_per_day) VALUES (%lld, 0, 10000)", ta);
    sql("INSERT INTO llm_limits (tenant_id, key_id, rpm) VALUES (%lld, 7, 1000)", ta);
    /* B: 5000 tokens a minute. */
    sql("INSERT INTO llm_limits (tenant_id, key_id, tpm) VALUES (%lld, 0, 5000)", tb);
    /* C: a month budget; the ledger already holds 3000 tokens of today. */
    sql("INSERT INTO llm_limits (tenant_id, key_id, tokens_per_month) VALUES (%lld, 0, 1000000)", tc);
    sql("INSERT INTO llm_usage (at, tenant_id, provider, model, endpoint, status, prompt_tokens, completion_tokens) "
        "VALUES (UTC_TIMESTAMP(6), %lld, 'p', 'm', 'chat.completions', 200, 1000, 500), "
        "(UTC_TIMESTAMP(6), %lld, 'p', 'm', 'chat.completions', 200, 1000, 500)",
        tc, tc);
    /* D: without Redis: 1000 tokens a day with 900 in the ledger; rpm 3 for its key 9. */
    sql("INSERT INTO llm_limits (tenant_id, key_id, tokens_per_day) VALUES (%lld, 0, 1000)", td);
    sql("INSERT INTO llm_limits (tenant_id, key_id, rpm) VALUES (%lld, 9, 3)", td);
    sql("INSERT INTO llm_usage (at, tenant_id, provider, model, endpoint, status, prompt_tokens) "
        "VALUES (UTC_TIMESTAMP(6), %lld, 'p', 'm', 'chat.completions', 200, 900)",
        td);

    struct child c[3];
    for (int i = 0; i < 3; i++) {
        test_cond("child starts", child_start(&c[i], NULL) == 0);
        test_streq("child ready", child_line(&c[i], buf, sizeof buf), "ready");
    }

    /* 1. 200 concurrent reservations from two processes against a budget
     * that holds 100 of them: exactly 100 granted, the rest refused as a
     * spent budget (overshoot 0 by reservations). */
    for (int i = 0; i < 2; i++)
        child_send(&c[i], "reserve 100 %lld 7 100 pA gpt-x", ta);
    struct counts k0 = parse_counts(child_line(&c[0], buf, sizeof buf));
    struct counts k1 = parse_counts(child_line(&c[1], buf, sizeof buf));
    printf("  budget: granted %lld + %lld, refused %lld + %lld\n", k0.ok, k1.ok, k0.budget, k1.budget);
    test_cond("exactly the budget's reservations granted across two processes", k0.ok + k1.ok == 100);
    test_cond("the rest refused as budget", k0.budget + k1.budget == 100 && k0.error + k1.error == 0);
    snprintf(name, sizeof name, "t%lld", ta);
    day_key(key, sizeof key, name, "day");
    test_cond("the day counter holds the reservations", redis_get(&c[0], key) == 10000);
    /* settle: each used 60 of its 100 */
    for (int i = 0; i < 2; i++)
        child_send(&c[i], "settle 60");
    for (int i = 0; i < 2; i++)
        test_streq("settled", child_line(&c[i], buf, sizeof buf), "settled");
    test_cond("settle gave back the unused tokens", redis_get(&c[0], key) == 6000);
    snprintf(name, sizeof name, "k%lld.7", ta);
    day_key(key, sizeof key, name, "day");
    test_cond("the key's day counter counts the same usage", redis_get(&c[0], key) == 6000);
    /* what was given back is admitted again: 4000 left = 40 reservations */
    for (int i = 0; i < 2; i++)
        child_send(&c[i], "reserve 50 %lld 7 100 pA gpt-x", ta);
    k0 = parse_counts(child_line(&c[0], buf, sizeof buf));
    k1 = parse_counts(child_line(&c[1], buf, sizeof buf));
    test_cond("the tokens given back are admitted again, no more", k0.ok + k1.ok == 40);
    for (int i = 0; i < 2; i++) {
        child_send(&c[i], "settle 100");
        child_line(&c[i], buf, sizeof buf);
    }
    child_send(&c[0], "describe %lld 7", ta);
    child_line(&c[0], buf, sizeof buf);
    test_cond("describe: limit and remaining",
              strstr(buf, "\"tokens_per_day\":10000") && strstr(buf, "\"remaining\":{\"tokens_day\":0,"));
    test_cond("describe: the key's limits", strstr(buf, "\"key\":{\"limits\":{\"rpm\":1000,"));

    /* 2. tokens per minute shared by three processes. */
    wait_fresh_minute();
    for (int i = 0; i < 3; i++)
        child_send(&c[i], "reserve 50 %lld 0 100 pA gpt-x", tb);
    long long ok = 0, rate = 0, retry = 0;
    for (int i = 0; i < 3; i++) {
        struct counts k = parse_counts(child_line(&c[i], buf, sizeof buf));
        ok += k.ok;
        rate += k.rate;
        if (k.retry > retry)
            retry = k.retry;
    }
    test_cond("tpm: exactly 50 of 150 across three processes", ok == 50 && rate == 100);
    test_cond("tpm: retry after the window", retry > 0 && retry <= 60000);
    for (int i = 0; i < 3; i++) {
        child_send(&c[i], "settle 10");
        child_line(&c[i], buf, sizeof buf);
    }
    for (int i = 0; i < 3; i++)
        child_send(&c[i], "reserve 50 %lld 0 100 pA gpt-x", tb);
    ok = 0;
    for (int i = 0; i < 3; i++)
        ok += parse_counts(child_line(&c[i], buf, sizeof buf)).ok;
    test_cond("tpm: settled tokens come back to the window", ok == 45);
    for (int i = 0; i < 3; i++) {
        child_send(&c[i], "settle 100");
        child_line(&c[i], buf, sizeof buf);
    }

    /* 3. rebuilt from the ledger after FLUSHALL, by two processes at once:
     * the ledger counted once. */
    child_send(&c[0], "redis FLUSHDB");
    test_streq("flushdb", child_line(&c[0], buf, sizeof buf), "OK");
    for (int i = 0; i < 2; i++)
        child_send(&c[i], "reserve 50 %lld 0 100 pA gpt-x", tc);
    k0 = parse_counts(child_line(&c[0], buf, sizeof buf));
    k1 = parse_counts(child_line(&c[1], buf, sizeof buf));
    test_cond("rebuild: all admitted", k0.ok + k1.ok == 100);
    snprintf(name, sizeof name, "t%lld", tc);
    day_key(key, sizeof key, name, "mon");
    long long v = redis_get(&c[0], key);
    printf("  rebuilt month counter: %lld\n", v);
    test_cond("rebuild: ledger once plus the reservations", v == 3000 + 100 * 100);
    /* a reservation made before a flush, settled after the rebuild: adds
     * what it used, does not take back what the rebuilt counter never had */
    child_send(&c[0], "redis FLUSHDB");
    child_line(&c[0], buf, sizeof buf);
    child_send(&c[1], "reserve 1 %lld 0 100 pA gpt-x", tc);
    child_line(&c[1], buf, sizeof buf);
    child_send(&c[0], "settle 30");
    child_line(&c[0], buf, sizeof buf);
    v = redis_get(&c[0], key);
    printf("  after a flush and a settle: %lld (%lld settled)\n", v, k0.ok);
    test_cond("settle across a flush adds only what was used", v == 3000 + 100 + k0.ok * 30);
    child_send(&c[1], "settle 100");
    child_line(&c[1], buf, sizeof buf);

    /* 3b. a USD budget: reserved at the dearer price, settled at the real cost. */
    for (int i = 0; i < 2; i++)
        child_send(&c[i], "reserve 5 %lld 0 100 pA gpt-usd", te);
    k0 = parse_counts(child_line(&c[0], buf, sizeof buf));
    k1 = parse_counts(child_line(&c[1], buf, sizeof buf));
    test_cond("usd: 5 reservations of 0.0002 fit in 0.001", k0.ok + k1.ok == 5 && k0.budget + k1.budget == 5);
    for (int i = 0; i < 2; i++) {
        child_send(&c[i], "settle 100"); /* 100 prompt tokens: 0.0001 each */
        child_line(&c[i], buf, sizeof buf);
    }
    snprintf(name, sizeof name, "t%lld", te);
    day_key(key, sizeof key, name, "usd");
    test_cond("usd: the month counter holds the real cost in nano-USD", redis_get(&c[0], key) == 500000);
    child_send(&c[0], "reserve 5 %lld 0 100 pA gpt-usd", te);
    k0 = parse_counts(child_line(&c[0], buf, sizeof buf));
    test_cond("usd: what the estimate overcharged is admitted again", k0.ok == 2 && k0.budget == 3);
    child_send(&c[0], "settle 100");
    child_line(&c[0], buf, sizeof buf);
    child_send(&c[0], "describe %lld 0", te);
    child_line(&c[0], buf, sizeof buf);
    test_cond("usd: describe", strstr(buf, "\"usd_per_month\":0.001") && strstr(buf, "\"usd_month\":0.0007"));

    /* 4. provider hold: seen by one process, held by the others. */
    child_send(&c[0], "seen pH 0 50000 1500 -1");
    test_streq("seen", child_line(&c[0], buf, sizeof buf), "seen");
    child_send(&c[1], "reserve 3 %lld 0 10 pH gpt-x", tc);
    struct counts kh = parse_counts(child_line(&c[1], buf, sizeof buf));
    test_cond("another process holds the provider", kh.throttled == 3 && kh.ok == 0);
    test_cond("until its reset", kh.retry > 0 && kh.retry <= 1500);
    child_send(&c[1], "reserve 1 %lld 0 10 pOther gpt-x", tc);
    test_cond("other providers are not held", parse_counts(child_line(&c[1], buf, sizeof buf)).ok == 1);
    child_send(&c[1], "settle 10");
    child_line(&c[1], buf, sizeof buf);
    child_send(&c[2], "seen pT 10 500 -1 2000");
    child_line(&c[2], buf, sizeof buf);
    child_send(&c[1], "reserve 1 %lld 0 10 pT gpt-x", tc);
    kh = parse_counts(child_line(&c[1], buf, sizeof buf));
    test_cond("tokens nearly spent hold too", kh.throttled == 1 && kh.retry > 1000 && kh.retry <= 2000);
    /* 4b. Redis lost its data and the ledger cannot be read: a tenant with
     * a budget cannot be decided (503), one without goes on. */
    sql("RENAME TABLE llm_usage TO llm_usage_away");
    child_send(&c[0], "redis FLUSHDB");
    child_line(&c[0], buf, sizeof buf);
    child_send(&c[0], "reserve 1 %lld 7 10 pA gpt-x", ta);
    struct counts kl = parse_counts(child_line(&c[0], buf, sizeof buf));
    test_cond("no ledger to rebuild a budget from: error", kl.error == 1 && kl.ok == 0);
    child_send(&c[0], "reserve 1 %lld 0 10 pA gpt-x", tb);
    kl = parse_counts(child_line(&c[0], buf, sizeof buf));
    test_cond("no ledger, no budget: admitted", kl.ok == 1);
    sql("RENAME TABLE llm_usage_away TO llm_usage");
    child_send(&c[0], "settle 10");
    child_line(&c[0], buf, sizeof buf);
    child_send(&c[0], "reserve 1 %lld 7 10 pA gpt-x", ta);
    kl = parse_counts(child_line(&c[0], buf, sizeof buf));
    test_cond("the ledger back: decided again (from a ledger without A's rows)", kl.ok == 1 && kl.error == 0);
    child_send(&c[0], "settle 10");
    child_line(&c[0], buf, sizeof buf);
    test_unlimited(c);
    test_two_installations(c);
    for (int i = 0; i < 3; i++)
        child_stop(&c[i]);

    /* 5. Redis down: a process answers alone, budgets against the ledger. */
    struct child d;
    setenv("LLMLIMIT_NO_REDIS_WAIT", "1", 1);
    test_cond("child without redis starts", child_start(&d, "redis://127.0.0.1:1") == 0);
    test_streq("child ready", child_line(&d, buf, sizeof buf), "ready");
    child_send(&d, "reserve 1 %lld 0 50 pA gpt-x", td);
    test_cond("no redis: admitted within the ledger's budget", parse_counts(child_line(&d, buf, sizeof buf)).ok == 1);
    child_send(&d, "reserve 1 %lld 0 60 pA gpt-x", td);
    struct counts kd = parse_counts(child_line(&d, buf, sizeof buf));
    test_cond("no redis: ledger 900 + in flight 50 + 60 > 1000 refused", kd.budget == 1 && kd.ok == 0);
    child_send(&d, "settle 20");
    child_line(&d, buf, sizeof buf);
    child_send(&d, "reserve 1 %lld 0 60 pA gpt-x", td);
    test_cond("no redis: the unused part comes back", parse_counts(child_line(&d, buf, sizeof buf)).ok == 1);
    child_send(&d, "settle 60");
    child_line(&d, buf, sizeof buf);
    child_send(&d, "reserve 5 %lld 9 1 pA gpt-x", td);
    kd = parse_counts(child_line(&d, buf, sizeof buf));
    test_cond("no redis: rpm held per process", kd.ok == 3 && kd.rate == 2);
    child_send(&d, "describe %lld 9", td);
    child_line(&d, buf, sizeof buf);
    test_cond("no redis: describe from the ledger", strstr(buf, "\"source\":\"ledger\"") != NULL);
    child_stop(&d);
    mysql_close(db);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();

    struct period p;
    llmlimit_period(&p, 1735689599000LL); /* 2024-12-31T23:59:59Z */
    test_streq("day", p.day, "20241231");
    test_streq("month", p.month, "202412");
    test_cond("day end", p.day_end_ms == 1735689600000LL);
    test_cond("month end rolls the year", p.month_end_ms == 1735689600000LL);
    test_streq("next month", p.next_month_sql, "'2025-01-01 00:00:00'");
    llmlimit_period(&p, 1709164800000LL); /* 2024-02-29T00:00:00Z */
    test_streq("leap day", p.day, "20240229");
    test_cond("leap month end", p.month_end_ms == 1709251200000LL);
    test_cond("minute end", p.minute_end_ms == 1709164860000LL);
    char scope[16];
    llmlimit_hold_scope(scope, sizeof scope, "openai", true, 42);
    test_streq("hold scope of a tenant's key", scope, "openai@t42");
    llmlimit_hold_scope(scope, sizeof scope, "openai", false, 42);
    test_streq("hold scope of the gateway's key", scope, "openai");
    llmlimit_hold_scope(scope, sizeof scope, "openai", true, 1234567890123ULL);
    test_streq("hold scope cut as snprintf", scope, "openai@t1234567");
    llmlimit_hold_scope(scope, 8, "openai", true, 0);
    test_streq("hold scope cut at the @", scope, "openai@");
    struct rscript s;
    rscript_init(&s, "return 1");
    test_streq("script digest is Redis's SHA1", s.sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");

    if (getenv("LLMLIMIT_TEST_SERVERS"))
        test_servers();
    else
        printf("(the cross-process tests run from test/integration/test_limits.sh)\n");
    test_report();
}
