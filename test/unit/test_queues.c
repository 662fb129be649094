/* Queue settings as PUT and PATCH read them (which fields were given, what
 * a replace resets), the SQL that creates queue rows, and the lock-conflict
 * test the worker retries claims by. */
#include <cJSON.h>
#include <mysqld_error.h>
#include <stdlib.h>

#include "../testhelp.h"
#include "db.h"
#include "dberr.h"
#include "jobclaim.h"
#include "queuestore.h"

static int parse(const char *json, struct queue_settings *s, char *param)
{
    char why[200];
    cJSON *j = cJSON_Parse(json);
    int rc = queue_settings_parse(j, s, param, 96, why, sizeof why);
    cJSON_Delete(j);
    return rc;
}

static void test_given(void)
{
    struct queue_settings s;
    char param[96] = "";
    test_cond("paused only", parse("{\"paused\":true}", &s, param) == 0 && s.given == QS_PAUSED && s.paused);
    test_cond("null clears but counts as given",
              parse("{\"concurrency\":null}", &s, param) == 0 && s.given == QS_CONCURRENCY && s.concurrency == -1);
    test_cond("group.concurrency alone",
              parse("{\"group\":{\"concurrency\":2}}", &s, param) == 0 && s.given == QS_GROUP_CONCURRENCY &&
                  s.group_concurrency == 2);
    test_cond("group null gives both group limits",
              parse("{\"group\":null}", &s, param) == 0 && s.given == (QS_GROUP_CONCURRENCY | QS_GROUP_RATE));
    test_cond("empty body: nothing given", parse("{}", &s, param) == 0 && s.given == 0);
    test_cond("everything",
              parse("{\"paused\":false,\"rate_limit\":{\"max\":1,\"duration_ms\":1},\"concurrency\":1,"
                    "\"group\":{\"concurrency\":1,\"rate_limit\":null}}", &s, param) == 0 && s.given == QS_ALL);
    test_cond("bad value refused", parse("{\"concurrency\":0}", &s, param) < 0);
    test_streq("and named", param, "concurrency");
    test_cond("rate_limit.max refused", parse("{\"rate_limit\":{\"max\":0,\"duration_ms\":1}}", &s, param) < 0);
    test_streq("  named rate_limit.max", param, "rate_limit.max");
    test_cond("rate_limit.duration_ms refused", parse("{\"rate_limit\":{\"max\":1}}", &s, param) < 0);
    test_streq("  named rate_limit.duration_ms", param, "rate_limit.duration_ms");
    test_cond("group.rate_limit.duration_ms refused",
              parse("{\"group\":{\"rate_limit\":{\"max\":1,\"duration_ms\":1e9}}}", &s, param) < 0);
    test_streq("  named group.rate_limit.duration_ms", param, "group.rate_limit.duration_ms");

    struct sbuf b;
    sbuf_init(&b);
    test_cond("paused only", parse("{\"paused\":true}", &s, param) == 0);
    queue_settings_reset_json(&s, &b);
    test_streq("a replace with paused only resets every limit", b.data,
               "[\"rate_limit\",\"concurrency\",\"group.concurrency\",\"group.rate_limit\"]");
    sbuf_reset(&b);
    s.given = QS_ALL;
    queue_settings_reset_json(&s, &b);
    test_streq("nothing reset when all given", b.data, "[]");
    sbuf_deinit(&b);
}

static void test_sql(void)
{
    struct sbuf b;
    sbuf_init(&b);
    queuestore_ensure_sql(&b, 7, "q");
    test_streq("ensure: one INSERT IGNORE, the name as a literal", b.data,
               "INSERT IGNORE INTO queues (tenant_id, name) VALUES (7, X'71')");
    sbuf_reset(&b);
    queuestore_ensure_callbacks_sql(&b, "1,2");
    test_cond("callbacks queue of the jobs' tenants",
              strstr(b.data, "SELECT DISTINCT tenant_id, 'callbacks' FROM jobs WHERE id IN (1,2) AND callback_url IS NOT NULL") != NULL);
    sbuf_reset(&b);
    jobclaim_callback_sql(&b, "3");
    test_cond("callback jobs go to the same queue", strstr(b.data, "'" QUEUESTORE_CALLBACKS "', 'http'") != NULL);
    sbuf_deinit(&b);
}

static void test_lock_conflict(void)
{
    test_cond("deadlock", dberr_is_lost_lock(ER_LOCK_DEADLOCK));
    test_cond("1213", dberr_is_lost_lock(1213));
    test_cond("lock wait timeout", dberr_is_lost_lock(1205));
    test_cond("not a duplicate key", !dberr_is_lost_lock(ER_DUP_ENTRY));
    test_cond("not a timeout of ours", !dberr_is_lost_lock(DB_ERR_TIMEOUT));
    test_cond("not no error", !dberr_is_lost_lock(0));
}

int main(void)
{
    test_given();
    test_sql();
    test_lock_conflict();
    test_report();
}
