/* URL and DSN parsing, loopback detection, log redaction. */
#include <stdlib.h>

#include "../testhelp.h"
#include "log.h"
#include "url.h"

static void test_url(void)
{
    struct url u;
    char err[256];
    test_cond("parse", url_parse("HTTP://us%40er:p%3Ass@[::1]:8080/v1/x?a=1&b=c%20d", &u, err, sizeof err) == 0);
    test_streq("scheme lower", u.scheme, "http");
    test_streq("user decoded", u.user, "us@er");
    test_streq("password decoded", u.password, "p:ss");
    test_streq("v6 host", u.host, "::1");
    test_cond("port", u.port == 8080);
    test_streq("path", u.path, "/v1/x");
    char *b = url_query_get(&u, "b");
    test_streq("query decoded", b, "c d");
    free(b);
    test_cond("absent query", url_query_get(&u, "zz") == NULL);
    url_deinit(&u);
    test_cond("no scheme", url_parse("localhost:80", &u, err, sizeof err) < 0);
    test_cond("bad port", url_parse("http://h:99999/", &u, err, sizeof err) < 0);
    test_cond("port letters", url_parse("http://h:8a/", &u, err, sizeof err) < 0);
    test_cond("space", url_parse("http://h /", &u, err, sizeof err) < 0);
    test_cond("unterminated v6", url_parse("http://[::1/", &u, err, sizeof err) < 0);
    test_cond("@ in password", url_parse("mysql://u:a@b@h/db", &u, err, sizeof err) == 0 &&
                                   strcmp(u.password, "a@b") == 0 && strcmp(u.host, "h") == 0);
    url_deinit(&u);
}

static void test_loopback(void)
{
    test_cond("127.0.0.1", url_host_is_loopback("127.0.0.1"));
    test_cond("127.1.2.3", url_host_is_loopback("127.1.2.3"));
    test_cond("::1", url_host_is_loopback("::1"));
    test_cond("localhost", url_host_is_loopback("localhost"));
    test_cond("10.0.0.1 is not", !url_host_is_loopback("10.0.0.1"));
    test_cond("name is not", !url_host_is_loopback("example.org"));
    test_cond("cleartext remote", url_is_cleartext_remote("http://example.org/v1"));
    test_cond("cleartext loopback ok", !url_is_cleartext_remote("http://127.0.0.1:9/v1"));
    test_cond("https ok", !url_is_cleartext_remote("https://example.org/v1"));
}

static void test_dsn(void)
{
    struct db_dsn d;
    char err[256];
    test_cond("tcp dsn", db_dsn_parse("mysql://ingot:pw@db.internal:3307/jobs", &d, err, sizeof err) == 0);
    test_streq("user", d.user, "ingot");
    test_streq("pass", d.password, "pw");
    test_streq("host", d.host, "db.internal");
    test_cond("port", d.port == 3307);
    test_streq("db", d.database, "jobs");
    test_cond("no socket", d.socket == NULL);
    db_dsn_deinit(&d);
    test_cond("socket dsn", db_dsn_parse("mariadb://u@localhost/x?socket=/run/m.sock", &d, err, sizeof err) == 0);
    test_streq("socket", d.socket, "/run/m.sock");
    test_cond("default port", d.port == 3306);
    test_cond("no password", d.password == NULL);
    db_dsn_deinit(&d);
    test_cond("relative socket", db_dsn_parse("mysql://u@localhost/x?socket=m.sock", &d, err, sizeof err) < 0);
    test_cond("no user", db_dsn_parse("mysql://h/x", &d, err, sizeof err) < 0);
    test_cond("no db", db_dsn_parse("mysql://u@h", &d, err, sizeof err) < 0);

    struct redis_dsn r;
    test_cond("redis", redis_dsn_parse("redis://:pw@10.1.1.1:6380/3", &r, err, sizeof err) == 0);
    test_cond("redis port/db", r.port == 6380 && r.db == 3);
    test_streq("redis pw", r.password, "pw");
    test_cond("no acl user", r.user == NULL);
    redis_dsn_deinit(&r);
    test_cond("redis acl", redis_dsn_parse("redis://app:pw@h", &r, err, sizeof err) == 0 &&
                               strcmp(r.user, "app") == 0 && r.port == 6379);
    redis_dsn_deinit(&r);
    test_cond("redis unix", redis_dsn_parse("unix:///tmp/r.sock?db=2", &r, err, sizeof err) == 0 &&
                                strcmp(r.socket, "/tmp/r.sock") == 0 && r.db == 2);
    redis_dsn_deinit(&r);
    test_cond("redis bad db", redis_dsn_parse("redis://h/x", &r, err, sizeof err) < 0);
    test_cond("rediss refused", redis_dsn_parse("rediss://h", &r, err, sizeof err) < 0);
}

static void test_redact(void)
{
    char out[256];
    log_redact_url("mysql://ingot:s3cret@db:3306/x?socket=/s", out, sizeof out);
    test_streq("password masked", out, "mysql://ingot:***@db:3306/x?socket=/s");
    log_redact_url("redis://:pw@h:1/0", out, sizeof out);
    test_streq("redis masked", out, "redis://:***@h:1/0");
    log_redact_url("http://h/x?key=abc&a=1&token=t", out, sizeof out);
    test_streq("query secrets masked", out, "http://h/x?key=***&a=1&token=***");
    log_redact_url("mysql://u@h/x", out, sizeof out);
    test_streq("no password untouched", out, "mysql://u@h/x");
}

int main(void)
{
    test_url();
    test_loopback();
    test_dsn();
    test_redact();
    test_report();
}
