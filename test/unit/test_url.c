/* URL and DSN parsing, job URLs through libcurl's parser, loopback
 * detection, log redaction. */
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
    test_cond("port sign", url_parse("http://h:+80/", &u, err, sizeof err) < 0);
    test_cond("port 0", url_parse("http://h:0/", &u, err, sizeof err) < 0);
    test_cond("space", url_parse("http://h /", &u, err, sizeof err) < 0);
    test_cond("unterminated v6", url_parse("http://[::1/", &u, err, sizeof err) < 0);
    test_cond("@ in password", url_parse("mysql://u:a@b@h/db", &u, err, sizeof err) == 0 &&
                                   strcmp(u.password, "a@b") == 0 && strcmp(u.host, "h") == 0);
    url_deinit(&u);
}

/* host of s as url_http_parse reads it, into out ("" when refused). */
static const char *http_host(const char *s, char *out, size_t n)
{
    struct url_http u;
    char err[256];
    out[0] = '\0';
    if (url_http_parse(s, &u, err, sizeof err) == 0) {
        snprintf(out, n, "%s", u.host);
        url_http_deinit(&u);
    }
    return out;
}

static bool http_refused(const char *s, const char *why_part)
{
    char err[256] = "";
    if (url_http_check(s, err, sizeof err) == 0)
        return false;
    if (why_part && !strstr(err, why_part)) {
        printf("  '%s': reason '%s' lacks '%s'\n", s, err, why_part);
        return false;
    }
    return true;
}

/* Issue 9: a host that is neither a valid IPv4 (after curl's
 * normalisation) nor a valid DNS name is refused before any lookup. */
static void test_http_hosts(void)
{
    char err[256];
    test_cond("256.1.1.1 refused", http_refused("http://256.1.1.1/", "IPv4"));
    test_cond("1.2.3.4.5 refused", http_refused("http://1.2.3.4.5/", "IPv4"));
    test_cond("0x100000000 refused", http_refused("http://0x100000000/", "IPv4"));
    test_cond("4294967296 refused", http_refused("http://4294967296/", "IPv4"));
    test_cond("08.0.0.1 (not octal) refused", http_refused("http://08.0.0.1/", "IPv4"));
    test_cond("127.0.0.1.1 refused", http_refused("https://127.0.0.1.1:8443/x", "IPv4"));
    test_cond("-a.b refused", http_refused("http://-a.b/", "host name"));
    test_cond("a-.b refused", http_refused("http://a-.b/", "host name"));
    test_cond("a..b refused", http_refused("http://a..b/", "host name"));
    test_cond(".a refused", http_refused("http://.a/", "host name"));
    test_cond("exa_mple.com refused", http_refused("http://exa_mple.com/", "host name"));
    char label[80], url[400];
    memset(label, 'a', 64);
    snprintf(label + 64, sizeof label - 64, ".b");
    snprintf(url, sizeof url, "http://%s/", label);
    test_cond("64-byte label refused", http_refused(url, "host name"));
    snprintf(url, sizeof url, "http://%s/", label + 1);
    test_cond("63-byte label ok", url_http_check(url, err, sizeof err) == 0);
    char name[300] = "";
    for (int i = 0; i < 126; i++)
        strcat(name, "a.");
    strcat(name, "a"); /* 253 bytes */
    snprintf(url, sizeof url, "http://%s/", name);
    test_cond("253-byte name ok", url_http_check(url, err, sizeof err) == 0);
    snprintf(url, sizeof url, "http://%s./", name);
    test_cond("253 bytes and a trailing dot ok", url_http_check(url, err, sizeof err) == 0);
    snprintf(url, sizeof url, "http://a.%s/", name);
    test_cond("255-byte name refused", http_refused(url, "host name"));
    test_cond("127.0.0.1. refused", http_refused("http://127.0.0.1./", "IPv4"));
    test_cond("1.example. ok (a name with a numeric first label)", url_http_check("http://1.example./", err, sizeof err) == 0);
    test_cond("0x7f.example ok", url_http_check("http://0x7f.example/", err, sizeof err) == 0);
    test_cond("a lone dot refused", http_refused("http://./", NULL));
    test_cond("trailing dot ok", url_http_check("http://localhost./", err, sizeof err) == 0);
    test_cond("a-b.c ok", url_http_check("http://a-b.c0m/", err, sizeof err) == 0);
    test_cond("digit-led label ok", url_http_check("http://3com.example/", err, sizeof err) == 0);
    test_cond("127.1 ok", url_http_check("http://127.1/", err, sizeof err) == 0);
    test_cond("0x7f.1 ok", url_http_check("http://0x7f.1/", err, sizeof err) == 0);
    test_cond("[::1] ok", url_http_check("http://[::1]/", err, sizeof err) == 0);
    test_cond("punycode ok", url_http_check("http://xn--caf-dma.example/", err, sizeof err) == 0);
}

static void test_http_url(void)
{
    char h[256], err[256];
    struct url_http u;
    test_cond("https parse", url_http_parse("HTTPS://Api.Example.com:8443/v1/x?q=1#frag", &u, err, sizeof err) == 0);
    test_streq("scheme", u.scheme, "https");
    test_streq("host", u.host, "Api.Example.com");
    test_cond("port", u.port == 8443);
    test_streq("curl's serialisation", u.url, "https://Api.Example.com:8443/v1/x?q=1#frag");
    test_cond("handle kept", u.curlu != NULL);
    url_http_deinit(&u);
    test_cond("default port http", url_http_parse("http://h/", &u, err, sizeof err) == 0 && u.port == 80);
    url_http_deinit(&u);
    test_cond("default port https", url_http_parse("https://h", &u, err, sizeof err) == 0 && u.port == 443);
    url_http_deinit(&u);

    /* Issue 9 item 13: the validator and the transfer read one host. */
    test_cond("two @: refused", http_refused("http://a@allowed.example@127.0.0.1/", NULL));
    test_streq("0x7f.1 is 127.0.0.1", http_host("http://0x7f.1/", h, sizeof h), "127.0.0.1");
    test_streq("127.1 is 127.0.0.1", http_host("http://127.1/", h, sizeof h), "127.0.0.1");
    test_streq("2130706433 is 127.0.0.1", http_host("http://2130706433/", h, sizeof h), "127.0.0.1");
    test_streq("octal is 127.0.0.1", http_host("http://017700000001:8080/x", h, sizeof h), "127.0.0.1");
    test_streq("mapped v6 kept for the guard", http_host("http://[::ffff:127.0.0.1]/", h, sizeof h),
               "[::ffff:127.0.0.1]");
    test_streq("v6 loopback", http_host("http://[::1]:9/", h, sizeof h), "[::1]");
    test_streq("localhost", http_host("http://localhost/", h, sizeof h), "localhost");
    test_streq("percent-encoded host decoded as curl resolves it",
               http_host("http://127.0.0.%31/", h, sizeof h), "127.0.0.1");
    /* A UTF-8 host is punycode or refused (libidn2 in the C locale cannot
     * convert it, and then neither can the transfer): never raw bytes. */
    http_host("http://caf\xc3\xa9.example/", h, sizeof h);
    test_cond("IDN host: punycode or refused", !*h || strcmp(h, "xn--caf-dma.example") == 0);
    test_streq("punycode host kept", http_host("http://xn--caf-dma.example/", h, sizeof h),
               "xn--caf-dma.example");
    /* found by fuzz_url: curl 7.88 fills the part and fails; no leak */
    test_cond("undecodable host refused", http_refused("http://0x.1%8080/x", "host"));
    test_cond("non-UTF-8 host refused", http_refused("http://h%80/", "host"));

    test_cond("credentials refused", http_refused("http://user:pw@127.0.0.1/", "credentials"));
    test_cond("user only refused", http_refused("http://user@127.0.0.1/", "credentials"));
    test_cond("empty userinfo refused", http_refused("http://@127.0.0.1/", "credentials"));
    test_cond("password only refused", http_refused("https://:pw@h/", "credentials"));
    test_cond("ftp refused", http_refused("ftp://h/", "http or https"));
    test_cond("file refused", http_refused("file:///etc/passwd", "http or https"));
    test_cond("gopher refused", http_refused("gopher://h/", "http or https"));
    test_cond("no scheme refused", http_refused("h:80/x", "http"));
    test_cond("http:/h refused", http_refused("http:/h/", NULL));
    test_cond("http:///h refused", http_refused("http:///h", "host missing"));
    test_cond("empty host refused", http_refused("http://", "host missing"));
    test_cond("port 0 refused", http_refused("http://h:0/", "port"));
    test_cond("port 65536 refused", http_refused("http://h:65536/", NULL));
    test_cond("huge port refused", http_refused("http://h:99999999999999999999/", NULL));
    test_cond("port 65535 ok", url_http_check("http://h:65535/", err, sizeof err) == 0);
    test_cond("port 1 ok", url_http_check("http://h:1/", err, sizeof err) == 0);
    test_cond("zone id refused", http_refused("http://[fe80::1%25eth0]/", "zone"));
    test_cond("space refused", http_refused("http://h/a b", "space or control"));
    test_cond("tab refused", http_refused("http://h/\tx", "control"));
    test_cond("CR LF refused", http_refused("http://h/\r\nHost: x", "control"));
    test_cond("DEL refused", http_refused("http://h/\x7f", "control"));
    test_cond("invalid UTF-8 refused", http_refused("http://h/\xc3\x28", "UTF-8"));
    test_cond("overlong UTF-8 refused", http_refused("http://h/\xc0\xaf", "UTF-8"));
    test_cond("surrogate refused", http_refused("http://h/\xed\xa0\x80", "UTF-8"));
    test_cond("UTF-8 path ok", url_http_check("http://h/caf\xc3\xa9", err, sizeof err) == 0);
    test_cond("bad host char refused", http_refused("http://exa$mple/", "malformed"));
    test_cond("backslash refused", http_refused("http://allowed.example\\@127.0.0.1/", NULL));
    char *long_url = malloc(URL_HTTP_MAX + 2);
    memcpy(long_url, "http://h/", 9);
    memset(long_url + 9, 'a', URL_HTTP_MAX - 9);
    long_url[URL_HTTP_MAX] = '\0';
    test_cond("URL_HTTP_MAX bytes ok", url_http_check(long_url, err, sizeof err) == 0);
    long_url[URL_HTTP_MAX] = 'a';
    long_url[URL_HTTP_MAX + 1] = '\0';
    test_cond("one more refused", http_refused(long_url, "longer"));
    free(long_url);
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
    test_cond("127.1 is loopback as curl reads it", !url_is_cleartext_remote("http://127.1:9/v1"));
    test_cond("[::1] is loopback", !url_is_cleartext_remote("http://[::1]:9/v1"));
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
    test_cond("redis db sign", redis_dsn_parse("redis://h/+3", &r, err, sizeof err) < 0);
    test_cond("redis db space", redis_dsn_parse("redis://h/?db=%203", &r, err, sizeof err) < 0);
    test_cond("redis db range", redis_dsn_parse("redis://h/1001", &r, err, sizeof err) < 0);
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
    char *s = url_strip_userinfo("https://u:p@ss@h:8/v1?a=b@c");
    test_streq("userinfo stripped (to the last @ before the path)", s, "https://h:8/v1?a=b@c");
    free(s);
    s = url_strip_userinfo("http://127.0.0.1:9/v1/x@y");
    test_streq("an @ in the path is not userinfo", s, "http://127.0.0.1:9/v1/x@y");
    free(s);
}

int main(void)
{
    test_url();
    test_http_url();
    test_http_hosts();
    test_loopback();
    test_dsn();
    test_redact();
    test_report();
}
