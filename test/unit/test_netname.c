/* Name resolution without the files a scratch image lacks: the localhost
 * rule (RFC 6761), the async resolver with and without resolv.conf and
 * hosts (paths pointed at temp files), the error that says why. No
 * network: no query is ever sent (no nameserver, or only counted). */
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testhelp.h"
#include "loop.h"
#include "netname.h"
#include "url.h"

static void test_localhost_rule(void)
{
    const char *yes[] = {"localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.LocalHost",
                         "db.localhost."};
    const char *no[] = {"", "localhost.com", "notlocalhost", "xlocalhost", ".localhost", "localhostx",
                        "local", "127.0.0.1", "localhost..", "my-localhost"};
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        char d[80];
        snprintf(d, sizeof d, "localhost name: %s", yes[i]);
        test_cond(d, netname_is_localhost(yes[i]));
    }
    for (size_t i = 0; i < ARRAY_LEN(no); i++) {
        char d[80];
        snprintf(d, sizeof d, "not a localhost name: '%s'", no[i]);
        test_cond(d, !netname_is_localhost(no[i]));
    }
    test_cond("url: *.localhost is loopback (no cleartext warning)",
              url_host_is_loopback("api.localhost") && !url_is_cleartext_remote("http://api.localhost:8080/"));
}

struct res {
    int calls;
    char ip[64];
    char err[400];
};

static void res_cb(const char *ip, const char *err, void *arg)
{
    struct res *r = arg;
    r->calls++;
    snprintf(r->ip, sizeof r->ip, "%s", ip ? ip : "");
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Runs the loop for a few passes (the deferred callbacks) and 50 ms. */
static void spin(struct loop *l)
{
    struct timeval tv = {0, 50000};
    event_base_once(loop_base(l), -1, EV_TIMEOUT, stop_cb, loop_base(l), &tv);
    event_base_dispatch(loop_base(l));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void test_no_files(void)
{
    netname_set_paths("/nonexistent/resolv.conf", "/nonexistent/hosts");
    test_cond("no resolv.conf seen", !netname_have_resolv_conf() && !netname_have_hosts());
    char err[128];
    struct loop *l = loop_new(err, sizeof err);
    struct evdns_base *dns = loop_dns(l);
    test_cond("resolver made without resolv.conf (libevent's own init fails there)", dns != NULL);
    test_cond("  with no nameserver (not 127.0.0.1)", dns && evdns_base_count_nameservers(dns) == 0);

    struct res a = {0}, b = {0}, c = {0}, d = {0};
    test_cond("localhost: inline", loop_resolve(l, "localhost", res_cb, &a) == NULL && a.calls == 1);
    test_streq("  127.0.0.1", a.ip, "127.0.0.1");
    test_cond("redis.localhost: inline", loop_resolve(l, "redis.localhost", res_cb, &b) == NULL && b.calls == 1);
    test_streq("  127.0.0.1", b.ip, "127.0.0.1");

    struct loop_resolve *h = loop_resolve(l, "db.example.internal", res_cb, &c);
    test_cond("a name: not answered inside loop_resolve", h != NULL && c.calls == 0);
    spin(l);
    test_cond("a name: answered once, with an error", c.calls == 1 && !*c.ip);
    test_cond("  naming the host and the missing file",
              strstr(c.err, "cannot resolve db.example.internal") && strstr(c.err, "no nameserver") &&
                  strstr(c.err, "/nonexistent/resolv.conf does not exist"));

    h = loop_resolve(l, "db.example.internal", res_cb, &d);
    test_cond("cancel before the answer", h != NULL);
    loop_resolve_cancel(h);
    spin(l);
    test_cond("  the callback never runs", d.calls == 0);

    /* Cancelled, and the loop freed before the report's pass: no call,
     * nothing leaked (ASan). */
    struct loop *l2 = loop_new(err, sizeof err);
    struct res e = {0};
    h = loop_resolve(l2, "db.example.internal", res_cb, &e);
    test_cond("cancel, then free the loop at once", h != NULL);
    loop_resolve_cancel(h);
    loop_free(l2);
    test_cond("  the callback never ran", e.calls == 0);
    /* Not cancelled, the loop freed first: the request ends with it. */
    struct loop *l3 = loop_new(err, sizeof err);
    struct res f = {0};
    test_cond("pending at free", loop_resolve(l3, "db.example.internal", res_cb, &f) != NULL);
    loop_free(l3);
    test_cond("  answered at most once, with an error", f.calls <= 1 && !*f.ip);

    char sync_err[400], ip[64];
    test_cond("sync: localhost", netname_resolve_sync("LocalHost.", ip, sizeof ip, sync_err, sizeof sync_err) == 0 &&
                                     strcmp(ip, "127.0.0.1") == 0);
    test_cond("sync: an IP as it is", netname_resolve_sync("::1", ip, sizeof ip, sync_err, sizeof sync_err) == 0 &&
                                          strcmp(ip, "::1") == 0);
    loop_free(l);
}

static void test_hosts_without_resolv_conf(void)
{
    char hosts[] = "/tmp/ingot-hosts-XXXXXX";
    int fd = mkstemp(hosts);
    if (fd < 0)
        abort();
    close(fd);
    write_file(hosts, "127.0.0.9 cache.test\n");
    netname_set_paths("/nonexistent/resolv.conf", hosts);
    char err[128];
    struct loop *l = loop_new(err, sizeof err);
    struct res a = {0};
    test_cond("hosts entry: inline", loop_resolve(l, "cache.test", res_cb, &a) == NULL && a.calls == 1);
    test_streq("  its address", a.ip, "127.0.0.9");
    loop_free(l);
    unlink(hosts);
}

static void test_resolv_conf_parsed(void)
{
    char rc[] = "/tmp/ingot-resolv-XXXXXX";
    int fd = mkstemp(rc);
    if (fd < 0)
        abort();
    close(fd);
    /* What Docker writes (only counted here: no query is sent). */
    write_file(rc, "nameserver 127.0.0.11\nnameserver ::1\noptions ndots:0\n");
    netname_set_paths(rc, "/nonexistent/hosts");
    test_cond("resolv.conf seen", netname_have_resolv_conf());
    char err[128];
    struct loop *l = loop_new(err, sizeof err);
    struct evdns_base *dns = loop_dns(l);
    test_cond("its nameservers are used", dns && evdns_base_count_nameservers(dns) == 2);
    struct res a = {0};
    test_cond("localhost still inline", loop_resolve(l, "localhost", res_cb, &a) == NULL && a.calls == 1);
    loop_free(l);
    unlink(rc);
    netname_set_paths(NULL, NULL);
    test_streq("NULL: the defaults", netname_resolv_conf(), "/etc/resolv.conf");
}

int main(void)
{
    test_localhost_rule();
    test_no_files();
    test_hosts_without_resolv_conf();
    test_resolv_conf_parsed();
    test_report();
}
