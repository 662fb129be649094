/* The SSRF guard's address classifier and HTTP_TARGET_ALLOW parsing.
 * Classification only: no address here is ever contacted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "../testhelp.h"
#include "ssrf.h"

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
    } else {
        printf("  bad test address %s\n", ip);
        abort();
    }
    return ss;
}

static const char *kind(const char *ip)
{
    struct sockaddr_storage ss = addr(ip);
    return ssrf_classify((const struct sockaddr *)&ss);
}

static bool allowed(const struct ssrf *s, const char *ip, const char *host, char *why, size_t n)
{
    struct sockaddr_storage ss = addr(ip);
    return ssrf_allowed(s, (const struct sockaddr *)&ss, host, why, n);
}

static void test_classify(void)
{
    static const struct {
        const char *ip, *what;
    } special[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.255.254", "loopback"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"}, /* IPv4-mapped: judged as IPv4 */
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"::", "unspecified"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.1.1", "private"},
        {"::ffff:10.0.0.1", "private"},
        {"100.64.0.1", "carrier-grade NAT"},
        {"169.254.169.254", "cloud metadata"},
        {"::ffff:169.254.169.254", "cloud metadata"},
        {"100.100.100.200", "cloud metadata"},
        {"fd00:ec2::254", "cloud metadata"},
        {"169.254.1.1", "link-local"},
        {"fe80::1", "link-local"},
        {"fd00::1", "unique local (private)"},
        {"fc00::1", "unique local (private)"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"ff02::1", "multicast"},
        {"255.255.255.255", "reserved or broadcast"},
        {"240.0.0.1", "reserved or broadcast"},
        {"192.0.0.8", "IETF protocol assignments"},
        {"192.0.2.1", "documentation"},
        {"2001:db8::1", "documentation"},
        {"198.18.0.1", "benchmarking"},
        {"::7f00:1", "IPv4-compatible (deprecated)"},
        {"::ffff:0:7f00:1", "IPv4-translated"},
        {"64:ff9b::7f00:1", "NAT64 of a special-purpose IPv4 address"},
        {"64:ff9b::a9fe:a9fe", "NAT64 of a special-purpose IPv4 address"},
        {"64:ff9b:1::1", "local-use NAT64"},
        {"2002:7f00:1::1", "6to4 of a special-purpose IPv4 address"},
        {"2002:a00:1::1", "6to4 of a special-purpose IPv4 address"},
        {"2001::1", "Teredo"},
        {"100::1", "discard-only"},
        {"fec0::1", "site-local (deprecated)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(special); i++) {
        const char *k = kind(special[i].ip);
        if (!k || strcmp(k, special[i].what) != 0)
            printf("  %s: got '%s', want '%s'\n", special[i].ip, k ? k : "(public)", special[i].what);
        test_cond(special[i].ip, k && strcmp(k, special[i].what) == 0);
    }
    static const char *const public_[] = {"93.184.216.34", "172.32.0.1", "172.15.255.255", "8.8.8.8",
                                          "100.128.0.1", "11.0.0.1", "223.255.255.255", "2606:4700::1111",
                                          "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"};
    for (size_t i = 0; i < ARRAY_LEN(public_); i++) {
        const char *k = kind(public_[i]);
        if (k)
            printf("  %s: got '%s', want public\n", public_[i], k);
        test_cond(public_[i], k == NULL);
    }
    struct sockaddr_storage unix_ss;
    memset(&unix_ss, 0, sizeof unix_ss);
    unix_ss.ss_family = AF_UNIX;
    test_cond("non-IP family refused", ssrf_classify((const struct sockaddr *)&unix_ss) != NULL);
}

static void test_allow(void)
{
    char err[300], why[320];
    struct ssrf *s = ssrf_new("", err, sizeof err);
    test_cond("empty allow list", s != NULL);
    test_cond("loopback refused", !allowed(s, "127.0.0.1", "localhost", why, sizeof why));
    test_cond("reason names the address", strstr(why, "127.0.0.1") && strstr(why, "loopback") &&
                                              strstr(why, "SSRF guard") && strstr(why, "HTTP_TARGET_ALLOW"));
    test_cond("metadata reason", !allowed(s, "169.254.169.254", "h", why, sizeof why) &&
                                     strstr(why, "cloud metadata"));
    test_cond("mapped reason names the IPv4 address", !allowed(s, "::ffff:127.0.0.1", "h", why, sizeof why) &&
                                                          strstr(why, " 127.0.0.1 "));
    test_cond("public allowed", allowed(s, "93.184.216.34", "example.org", why, sizeof why));
    test_cond("text form", !ssrf_allowed_ip(s, "::1", "h", why, sizeof why) && strstr(why, "::1"));
    test_cond("text form public", ssrf_allowed_ip(s, "8.8.8.8", "h", why, sizeof why));
    test_cond("text form garbage", !ssrf_allowed_ip(s, "nope", "h", why, sizeof why));
    test_cond("text form NULL", !ssrf_allowed_ip(s, NULL, "h", why, sizeof why));
    ssrf_free(s);

    s = ssrf_new("127.0.0.0/8, ::1/128,Internal.Example\t10.1.0.0/16", err, sizeof err);
    test_cond("mixed allow list", s != NULL);
    test_cond("allowed CIDR", allowed(s, "127.0.0.2", "x", why, sizeof why));
    test_cond("allowed CIDR, mapped form", allowed(s, "::ffff:127.0.0.1", "x", why, sizeof why));
    test_cond("allowed v6", allowed(s, "::1", "x", why, sizeof why));
    test_cond("allowed CIDR, NAT64 form", allowed(s, "64:ff9b::7f00:1", "x", why, sizeof why));
    test_cond("outside the CIDR", !allowed(s, "10.2.0.1", "x", why, sizeof why));
    test_cond("inside the CIDR", allowed(s, "10.1.255.255", "x", why, sizeof why));
    test_cond("host entry, case-insensitive", allowed(s, "10.9.9.9", "internal.EXAMPLE", why, sizeof why));
    test_cond("no suffix match", !allowed(s, "10.9.9.9", "evil-internal.example", why, sizeof why));
    test_cond("no subdomain match", !allowed(s, "10.9.9.9", "a.internal.example", why, sizeof why));
    test_cond("no prefix match", !allowed(s, "10.9.9.9", "internal.example.evil", why, sizeof why));
    test_cond("trailing dot is another name", !allowed(s, "10.9.9.9", "internal.example.", why, sizeof why));
    test_cond("NULL host", !allowed(s, "10.9.9.9", NULL, why, sizeof why));
    ssrf_free(s);

    s = ssrf_new("::ffff:10.0.0.0/104", err, sizeof err);
    test_cond("mapped CIDR entry works for IPv4", s && allowed(s, "10.3.3.3", "x", why, sizeof why));
    ssrf_free(s);

    static const char *const bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8",
                                      "10.0.0.0/ 8", "10.0.0.0/0x8", "10.0.0.0/0008", "*.example.com",
                                      ".example.com", "a..b", "0x7f.1", "2130706433", "127.1", "017700000001",
                                      "h_st", "-h", "a/b"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        s = ssrf_new(bad[i], err, sizeof err);
        test_cond(bad[i], s == NULL && strstr(err, "HTTP_TARGET_ALLOW"));
        ssrf_free(s);
    }
    s = ssrf_new("0.0.0.0/0,::/0", err, sizeof err);
    test_cond("allow everything is expressible", s && allowed(s, "127.0.0.1", "x", why, sizeof why) &&
                                                      allowed(s, "fe80::1", "x", why, sizeof why));
    ssrf_free(s);
}

int main(void)
{
    test_classify();
    test_allow();
    test_report();
}
