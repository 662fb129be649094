/* Prometheus rendering, JSON escaping and log lines. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../testhelp.h"
#include "log.h"
#include "metrics.h"

static void test_render(void)
{
    struct metrics *m = metrics_new();
    struct metric_family *c = metrics_family(m, METRIC_COUNTER, "t_requests_total", "Requests.");
    struct metric_series *a = metrics_series(c, "route=\"/\",status=\"200\"");
    test_cond("same series found again", metrics_series(c, "route=\"/\",status=\"200\"") == a);
    test_cond("same family found again", metrics_family(m, METRIC_COUNTER, "t_requests_total", "x") == c);
    metrics_add(a, 1);
    metrics_add(a, 2);
    struct metric_series *g = metrics_series(metrics_family(m, METRIC_GAUGE, "t_up", "Up."), "");
    metrics_set(g, 1);
    metrics_set(g, 0.5);
    struct metric_series *h = metrics_series(metrics_family(m, METRIC_HISTOGRAM, "t_seconds", "Latency."), "route=\"/x\"");
    metrics_observe(h, 0.0004);
    metrics_observe(h, 0.003);
    metrics_observe(h, 20);
    metrics_set(metrics_series(metrics_family(m, METRIC_GAUGE, "t_start", "Start."), ""), 1796180000.123456);
    metrics_set(metrics_series(metrics_family(m, METRIC_GAUGE, "t_nan", "NaN."), ""), NAN);
    metrics_set(metrics_series(metrics_family(m, METRIC_GAUGE, "t_inf", "Inf."), ""), INFINITY);
    metrics_set(metrics_series(metrics_family(m, METRIC_GAUGE, "t_small", "Small."), ""), 2.7e-05);
    metrics_set(metrics_series(metrics_family(m, METRIC_GAUGE, "t_tenth", "Tenths."), ""), 0.1 + 0.2);
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(m, &b);
    test_cond("help line", strstr(b.data, "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n") != NULL);
    test_cond("counter value", strstr(b.data, "t_requests_total{route=\"/\",status=\"200\"} 3\n") != NULL);
    test_cond("gauge value", strstr(b.data, "t_up 0.5\n") != NULL);
    test_cond("first bucket", strstr(b.data, "t_seconds_bucket{route=\"/x\",le=\"0.0005\"} 1\n") != NULL);
    test_cond("cumulative bucket", strstr(b.data, "t_seconds_bucket{route=\"/x\",le=\"0.005\"} 2\n") != NULL);
    test_cond("+Inf bucket", strstr(b.data, "t_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n") != NULL);
    test_cond("count", strstr(b.data, "t_seconds_count{route=\"/x\"} 3\n") != NULL);
    test_cond("sum", strstr(b.data, "t_seconds_sum{route=\"/x\"} 20.0034\n") != NULL);
    test_cond("a large fraction keeps its digits", strstr(b.data, "t_start 1796180000.123456\n") != NULL);
    test_cond("NaN", strstr(b.data, "t_nan NaN\n") != NULL);
    test_cond("+Inf", strstr(b.data, "t_inf +Inf\n") != NULL);
    test_cond("small", strstr(b.data, "t_small 2.7e-05\n") != NULL);
    test_cond("rounding noise kept exact", strstr(b.data, "t_tenth 0.30000000000000004\n") != NULL);
    sbuf_deinit(&b);
    char esc[64];
    metrics_label_escape("a\"b\\c\nd", esc, sizeof esc);
    test_streq("label escape", esc, "a\\\"b\\\\c\\nd");
    metrics_free(m);
}

static size_t count_lines(const char *s, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, pl) == 0)
            n++;
    return n;
}

/* Tenants choose queue names: past the cap, new label sets share one
 * series whose labels are all "other", and the redirects are counted. */
static void test_cap(void)
{
    struct metrics *m = metrics_new();
    metrics_set_max_series(m, 3);
    struct metric_family *c = metrics_family(m, METRIC_COUNTER, "t_jobs_total", "Jobs.");
    struct metric_family *h = metrics_family(m, METRIC_HISTOGRAM, "t_wait_seconds", "Wait.");
    struct metric_family *g = metrics_family(m, METRIC_GAUGE, "t_depth", "Depth.");
    struct metric_series *first = NULL, *other = NULL;
    char labels[128];
    for (int i = 0; i < 1000; i++) {
        snprintf(labels, sizeof labels, "queue=\"q%d\",kind=\"http\\\"x\"", i);
        struct metric_series *s = metrics_series(c, labels);
        metrics_add(s, 1);
        if (i == 0)
            first = s;
        if (i == 3)
            other = s;
        snprintf(labels, sizeof labels, "queue=\"q%d\"", i);
        metrics_observe(metrics_series(h, labels), 0.001);
    }
    test_cond("existing series still found past the cap", metrics_series(c, "queue=\"q0\",kind=\"http\\\"x\"") == first);
    test_cond("later label sets share one series", metrics_series(c, "queue=\"new\",kind=\"y\"") == other);
    test_cond("unlabelled family unaffected", metrics_series(g, "") != NULL);
    metrics_family_zero(g);
    for (int i = 0; i < 10; i++) {
        snprintf(labels, sizeof labels, "queue=\"q%d\",state=\"queued\"", i);
        metrics_add(metrics_series(g, labels), 2);
    }
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(m, &b);
    test_cond("3 + 1 counter series", count_lines(b.data, "t_jobs_total{") == 4);
    test_cond("kept series", strstr(b.data, "t_jobs_total{queue=\"q2\",kind=\"http\\\"x\"} 1\n") != NULL);
    test_cond("not past the cap", strstr(b.data, "queue=\"q3\"") == NULL);
    test_cond("other series sums the rest", strstr(b.data, "t_jobs_total{queue=\"other\",kind=\"other\"} 997\n") != NULL);
    test_cond("histogram capped", count_lines(b.data, "t_wait_seconds_count{") == 4);
    test_cond("histogram other", strstr(b.data, "t_wait_seconds_count{queue=\"other\"} 997\n") != NULL);
    test_cond("gauge: '' + 2 kept + other", count_lines(b.data, "t_depth") == 4);
    test_cond("gauge other sums", strstr(b.data, "t_depth{queue=\"other\",state=\"other\"} 16\n") != NULL);
    test_cond("overflow counted per family", strstr(b.data, "ingot_metrics_series_overflow_total{family=\"t_jobs_total\"} 998\n") != NULL);
    test_cond("overflow counted for histogram", strstr(b.data, "ingot_metrics_series_overflow_total{family=\"t_wait_seconds\"} 997\n") != NULL);
    sbuf_deinit(&b);
    metrics_free(m);

    m = metrics_new(); /* no cap set: unlimited */
    c = metrics_family(m, METRIC_COUNTER, "t_total", "T.");
    for (int i = 0; i < 5000; i++) {
        snprintf(labels, sizeof labels, "q=\"%d\"", i);
        metrics_add(metrics_series(c, labels), 1);
    }
    test_cond("unlimited: distinct series", metrics_series(c, "q=\"4999\"") != metrics_series(c, "q=\"4998\""));
    sbuf_init(&b);
    metrics_render(m, &b);
    test_cond("unlimited: all rendered", count_lines(b.data, "t_total{") == 5000);
    sbuf_deinit(&b);
    metrics_free(m);
}

/* A gauge whose subject is gone is left out until set again. */
static void test_hide(void)
{
    struct metrics *m = metrics_new();
    struct metric_family *f = metrics_family(m, METRIC_GAUGE, "t_left", "Left.");
    struct metric_series *a = metrics_series(f, "budget=\"day\"");
    metrics_set(a, 7);
    metrics_hide(f, "budget=\"month\""); /* never made: nothing to do */
    metrics_hide(f, "budget=\"day\"");
    struct sbuf b;
    sbuf_init(&b);
    metrics_render(m, &b);
    test_cond("hidden series not rendered", strstr(b.data, "t_left{") == NULL);
    test_cond("  nor created by hiding", metrics_series(f, "budget=\"month\"") != a && strstr(b.data, "month") == NULL);
    metrics_set(a, 3);
    sbuf_reset(&b);
    metrics_render(m, &b);
    test_cond("shown again once set", strstr(b.data, "t_left{budget=\"day\"} 3\n") != NULL);
    sbuf_deinit(&b);
    metrics_free(m);
}

static void test_json(void)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_json_str(&b, "q\"\\\n\t\x01é");
    test_streq("json escaping", b.data, "\"q\\\"\\\\\\n\\t\\u0001é\"");
    sbuf_reset(&b);
    sbuf_json_str(&b, NULL);
    test_streq("null", b.data, "null");
    sbuf_deinit(&b);
}

static char *capture_log(enum log_level setup, bool json, enum log_level at, const char *id, const char *msg)
{
    char path[] = "/tmp/ingot-logXXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    log_setup(setup, json);
    LOG_AT(at, id, "\"k\":1", "%s", msg);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    char *buf = calloc(1, 4096);
    ssize_t n = read(fd, buf, 4095);
    (void)n;
    close(fd);
    unlink(path);
    return buf;
}

static void test_log(void)
{
    char *s = capture_log(LOG_INFO, true, LOG_INFO, "req_1", "hello \"you\"");
    test_cond("json line", strncmp(s, "{\"ts\":\"", 7) == 0);
    test_cond("level", strstr(s, "\"level\":\"info\"") != NULL);
    test_cond("escaped message", strstr(s, "\"msg\":\"hello \\\"you\\\"\"") != NULL);
    test_cond("id", strstr(s, "\"id\":\"req_1\"") != NULL);
    test_cond("fields and newline", strstr(s, ",\"k\":1}\n") != NULL);
    free(s);
    s = capture_log(LOG_WARN, true, LOG_INFO, NULL, "hidden");
    test_streq("below level: nothing", s, "");
    free(s);
    s = capture_log(LOG_DEBUG, false, LOG_ERROR, NULL, "text");
    test_cond("text format", strstr(s, " error text") != NULL);
    free(s);
    enum log_level l;
    test_cond("parse warn", log_parse_level("WARN", &l) == 0 && l == LOG_WARN);
    test_cond("parse bad", log_parse_level("loud", &l) < 0);
}

int main(void)
{
    test_render();
    test_cap();
    test_hide();
    test_json();
    test_log();
    test_report();
}
