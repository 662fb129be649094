/* jobfilter and jobbulk_parse: the filter of GET /v1/jobs and of the bulk
 * changes (times as RFC 3339 or Unix seconds, every bad field named, the
 * window checked, an empty bulk body refused), and the SQL it renders. */
#include <cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../testhelp.h"
#include "jobbulk.h"
#include "jobchange.h"
#include "jobfilter.h"
#include "util.h"

static void test_times(void)
{
    char out[JOBFILTER_TIME_LEN + 1];
    test_cond("time: RFC 3339 Z", jobfilter_parse_time("2026-01-02T03:04:05Z", out, sizeof out) == 0);
    test_streq("time: RFC 3339 as SQL UTC", out, "2026-01-02 03:04:05.000000");
    test_cond("time: offset", jobfilter_parse_time("2026-01-02T03:04:05.25+02:00", out, sizeof out) == 0);
    test_streq("time: offset moved to UTC", out, "2026-01-02 01:04:05.250000");
    test_cond("time: unix seconds", jobfilter_parse_time("1767323045", out, sizeof out) == 0);
    test_streq("time: unix seconds as SQL UTC", out, "2026-01-02 03:04:05.000000");
    test_cond("time: 0", jobfilter_parse_time("0", out, sizeof out) == 0);
    test_streq("time: epoch", out, "1970-01-01 00:00:00.000000");
    test_cond("time: last second of 9999", jobfilter_parse_time("253402300799", out, sizeof out) == 0);
    test_cond("time: past 9999 refused", jobfilter_parse_time("253402300800", out, sizeof out) < 0);
    test_cond("time: negative refused", jobfilter_parse_time("-1", out, sizeof out) < 0);
    test_cond("time: fraction of seconds refused", jobfilter_parse_time("12.5", out, sizeof out) < 0);
    test_cond("time: empty refused", jobfilter_parse_time("", out, sizeof out) < 0);
    test_cond("time: date only refused", jobfilter_parse_time("2026-01-02", out, sizeof out) < 0);
    test_cond("time: no zone refused", jobfilter_parse_time("2026-01-02T03:04:05", out, sizeof out) < 0);
    test_cond("time: 30 February refused", jobfilter_parse_time("2026-02-30T00:00:00Z", out, sizeof out) < 0);
    test_cond("time: words refused", jobfilter_parse_time("yesterday", out, sizeof out) < 0);
    test_cond("time: 1e9 refused", jobfilter_parse_time("1e9", out, sizeof out) < 0);
    test_cond("time: before 1970 refused", jobfilter_parse_time("1969-12-31T23:59:59Z", out, sizeof out) < 0);
}

static void test_set(void)
{
    struct jobfilter f;
    char why[200];
    jobfilter_init(&f);
    test_cond("set: queue", jobfilter_set(&f, "queue", "emails", why, sizeof why) == 1 && f.has_queue);
    test_cond("set: bad queue", jobfilter_set(&f, "queue", "a b", why, sizeof why) < 0 && strstr(why, "queue"));
    test_cond("set: kind", jobfilter_set(&f, "kind", "llm.chat", why, sizeof why) == 1 && f.kind == JOB_LLM_CHAT);
    test_cond("set: unknown kind", jobfilter_set(&f, "kind", "ftp", why, sizeof why) < 0 && strstr(why, "kind"));
    test_cond("set: status", jobfilter_set(&f, "status", "failed", why, sizeof why) == 1 && f.state == JOB_FAILED);
    test_cond("set: bad status", jobfilter_set(&f, "status", "done", why, sizeof why) < 0);
    test_cond("set: group", jobfilter_set(&f, "group", "cust:42", why, sizeof why) == 1 && f.has_group);
    test_cond("set: empty group", jobfilter_set(&f, "group", "", why, sizeof why) < 0);
    test_cond("set: created_after", jobfilter_set(&f, "created_after", "100", why, sizeof why) == 1 && f.has_after);
    test_cond("set: bad created_before",
              jobfilter_set(&f, "created_before", "soon", why, sizeof why) < 0 && strstr(why, "created_before"));
    test_cond("set: not a field", jobfilter_set(&f, "limit", "5", why, sizeof why) == 0);

    const char *param = NULL;
    jobfilter_init(&f);
    test_cond("check: empty filter passes", jobfilter_check(&f, &param, why, sizeof why) == 0);
    test_cond("check: after", jobfilter_set(&f, "created_after", "2026-01-02T00:00:00Z", why, sizeof why) == 1);
    test_cond("check: before", jobfilter_set(&f, "created_before", "1767225600", why, sizeof why) == 1);
    test_cond("check: after > before refused",
              jobfilter_check(&f, &param, why, sizeof why) < 0 && strcmp(param, "created_after") == 0);
    test_cond("check: equal allowed (empty window)",
              jobfilter_set(&f, "created_before", "1767312000", why, sizeof why) == 1 &&
                  jobfilter_check(&f, &param, why, sizeof why) == 0);

    struct sbuf b;
    sbuf_init(&b);
    jobfilter_init(&f);
    jobfilter_sql_expr(&b, &f);
    test_streq("sql: no condition", b.data, "(1)");
    sbuf_reset(&b);
    test_cond("sql: set", jobfilter_set(&f, "queue", "q", why, sizeof why) == 1 &&
                              jobfilter_set(&f, "kind", "http", why, sizeof why) == 1 &&
                              jobfilter_set(&f, "created_after", "0", why, sizeof why) == 1 &&
                              jobfilter_set(&f, "created_before", "1", why, sizeof why) == 1);
    jobfilter_sql(&b, &f);
    test_streq("sql: conditions", b.data,
               " AND queue = X'71' AND kind = 'http' AND created_at >= '1970-01-01 00:00:00.000000'"
               " AND created_at < '1970-01-01 00:00:01.000000'");
    sbuf_deinit(&b);
}

/* jobbulk_parse on text: 0, or -1 with the field it names in param_out. */
static struct jobbulk_spec spec;

static int parse(const char *text, bool cancel, struct jobfilter *f, char *param_out, size_t n)
{
    cJSON *j = cJSON_Parse(text);
    const char *param = "";
    char why[200];
    int rc = jobbulk_parse(j, cancel, &spec, &param, why, sizeof why);
    *f = spec.f;
    snprintf(param_out, n, "%s", rc < 0 ? param : "");
    cJSON_Delete(j);
    return rc;
}

static void test_bulk_body(void)
{
    struct jobfilter f;
    char p[64];
    test_cond("bulk: queue is enough", parse("{\"queue\":\"q\"}", true, &f, p, sizeof p) == 0 && f.has_queue);
    test_cond("bulk: status is enough", parse("{\"status\":\"failed\"}", false, &f, p, sizeof p) == 0);
    test_cond("bulk: all true is enough", parse("{\"all\":true,\"kind\":\"http\"}", true, &f, p, sizeof p) == 0);
    test_cond("bulk: empty body refused", parse("{}", true, &f, p, sizeof p) < 0 && strcmp(p, "all") == 0);
    test_cond("bulk: kind alone refused", parse("{\"kind\":\"http\"}", true, &f, p, sizeof p) < 0 &&
                                              strcmp(p, "all") == 0);
    test_cond("bulk: all false refused", parse("{\"all\":false}", true, &f, p, sizeof p) < 0 && strcmp(p, "all") == 0);
    test_cond("bulk: all not a boolean", parse("{\"all\":1}", true, &f, p, sizeof p) < 0 && strcmp(p, "all") == 0);
    test_cond("bulk: unknown field named", parse("{\"queue\":\"q\",\"state\":\"x\"}", true, &f, p, sizeof p) < 0 &&
                                               strcmp(p, "state") == 0);
    test_cond("bulk: unknown kind named", parse("{\"queue\":\"q\",\"kind\":\"ftp\"}", true, &f, p, sizeof p) < 0 &&
                                              strcmp(p, "kind") == 0);
    test_cond("bulk: queue not a string", parse("{\"queue\":5}", true, &f, p, sizeof p) < 0 && strcmp(p, "queue") == 0);
    test_cond("bulk: cancel of failed jobs refused",
              parse("{\"status\":\"failed\"}", true, &f, p, sizeof p) < 0 && strcmp(p, "status") == 0);
    test_cond("bulk: retry of queued jobs refused",
              parse("{\"status\":\"queued\"}", false, &f, p, sizeof p) < 0 && strcmp(p, "status") == 0);
    test_cond("bulk: time as a number",
              parse("{\"queue\":\"q\",\"created_after\":1767323045}", true, &f, p, sizeof p) == 0 &&
                  strcmp(f.after, "2026-01-02 03:04:05.000000") == 0);
    test_cond("bulk: time as a fraction refused",
              parse("{\"queue\":\"q\",\"created_after\":1.5}", true, &f, p, sizeof p) < 0 &&
                  strcmp(p, "created_after") == 0);
    test_cond("bulk: time as a bool refused",
              parse("{\"queue\":\"q\",\"created_before\":true}", true, &f, p, sizeof p) < 0 &&
                  strcmp(p, "created_before") == 0);
    test_cond("bulk: window reversed",
              parse("{\"queue\":\"q\",\"created_after\":\"2026-01-02T00:00:00Z\",\"created_before\":\"2026-01-01T00:00:00Z\"}",
                    true, &f, p, sizeof p) < 0 && strcmp(p, "created_after") == 0);
    test_cond("bulk: an array refused", parse("[]", true, &f, p, sizeof p) < 0);
    test_cond("bulk: default time limit", parse("{\"all\":true}", true, &f, p, sizeof p) == 0 &&
                                              spec.time_limit_ms == JOBBULK_TIME_DEFAULT_MS && !spec.max_id);
    test_cond("bulk: time limit", parse("{\"all\":true,\"time_limit_ms\":250}", true, &f, p, sizeof p) == 0 &&
                                      spec.time_limit_ms == 250);
    test_cond("bulk: time limit too small", parse("{\"all\":true,\"time_limit_ms\":99}", true, &f, p, sizeof p) < 0 &&
                                                strcmp(p, "time_limit_ms") == 0);
    test_cond("bulk: time limit too large",
              parse("{\"all\":true,\"time_limit_ms\":60001}", true, &f, p, sizeof p) < 0 &&
                  strcmp(p, "time_limit_ms") == 0);
    test_cond("bulk: bad resume", parse("{\"all\":true,\"resume\":\"r1\"}", true, &f, p, sizeof p) < 0 &&
                                      strcmp(p, "resume") == 0);
    test_cond("bulk: resume a number", parse("{\"all\":true,\"resume\":5}", true, &f, p, sizeof p) < 0 &&
                                           strcmp(p, "resume") == 0);
    test_cond("bulk: resume null is none", parse("{\"all\":true,\"resume\":null}", true, &f, p, sizeof p) == 0);
}

static void test_rules(void)
{
    test_cond("rules: cancel queued", jobchange_allowed(true, JOB_QUEUED));
    test_cond("rules: cancel running", jobchange_allowed(true, JOB_RUNNING));
    test_cond("rules: no cancel of succeeded", !jobchange_allowed(true, JOB_SUCCEEDED));
    test_cond("rules: retry failed", jobchange_allowed(false, JOB_FAILED));
    test_cond("rules: retry cancelled", jobchange_allowed(false, JOB_CANCELLED));
    test_cond("rules: no retry of running", !jobchange_allowed(false, JOB_RUNNING));
    struct sbuf b;
    sbuf_init(&b);
    jobchange_update_sql(&b, true, 7, "1,2");
    test_cond("rules: cancel SQL", strstr(b.data, "WHERE id IN (1,2) AND tenant_id = 7 AND state IN (0, 1)") != NULL);
    sbuf_deinit(&b);
}

static void test_cursor(void)
{
    struct jobfilter byid, bytime;
    char why[200], cur[JOBFILTER_CURSOR_MAX + 1];
    struct jobfilter_pos pos;
    jobfilter_init(&byid);
    jobfilter_init(&bytime);
    test_cond("cursor: window", jobfilter_set(&bytime, "created_before", "2030-01-01T00:00:00Z", why, sizeof why) == 1);
    test_cond("cursor: by id", !jobfilter_by_time(&byid) && jobfilter_by_time(&bytime));
    jobfilter_cursor(&byid, "12345", "2026-11-25T12:00:00.123456Z", cur, sizeof cur);
    test_cond("cursor: id cursor reads back",
              jobfilter_cursor_parse(&byid, cur, &pos) == 0 && pos.id == 12345 && !pos.created[0]);
    test_cond("cursor: id cursor refused with a window", jobfilter_cursor_parse(&bytime, cur, &pos) < 0);
    jobfilter_cursor(&bytime, "12345", "2026-11-25T12:00:00.123456Z", cur, sizeof cur);
    test_cond("cursor: time cursor reads back", jobfilter_cursor_parse(&bytime, cur, &pos) == 0 && pos.id == 12345);
    test_streq("cursor: time cursor's created_at", pos.created, "2026-11-25 12:00:00.123456");
    test_cond("cursor: time cursor refused without a window", jobfilter_cursor_parse(&byid, cur, &pos) < 0);
    test_cond("cursor: junk", jobfilter_cursor_parse(&byid, "x1", &pos) < 0);
    test_cond("cursor: empty hex", jobfilter_cursor_parse(&byid, "c", &pos) < 0);
    test_cond("cursor: bad date", jobfilter_cursor_parse(&bytime, "t20261399120000123456.5bd1e994", &pos) < 0);
    test_cond("cursor: short", jobfilter_cursor_parse(&bytime, "t2026.5", &pos) < 0);
    struct sbuf b;
    sbuf_init(&b);
    test_cond("cursor: again", jobfilter_cursor_parse(&bytime, cur, &pos) == 0);
    jobfilter_page_sql(&b, &bytime, &pos);
    test_streq("cursor: time page SQL", b.data,
               " AND (created_at < '2026-11-25 12:00:00.123456' OR (created_at = '2026-11-25 12:00:00.123456' AND "
               "id < 12345)) ORDER BY created_at DESC, id DESC");
    sbuf_reset(&b);
    memset(&pos, 0, sizeof pos);
    jobfilter_page_sql(&b, &byid, &pos);
    test_streq("cursor: first page by id", b.data, " ORDER BY id DESC");
    sbuf_deinit(&b);
}

int main(void)
{
    test_cursor();
    test_times();
    test_set();
    test_bulk_body();
    test_rules();
    test_report();
}
