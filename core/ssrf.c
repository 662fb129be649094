#include "ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "url.h"

struct ssrf {
    struct cidr *cidrs;
    size_t ncidrs;
    char **hosts; /* lower-case */
    size_t nhosts;
};

/* Refused unless allowed (IANA special-purpose registries, plus the cloud
 * metadata addresses named first so the refusal says so). Bytes, not text:
 * the table is read on every request. */
static const struct range {
    int family;
    int bits;
    unsigned char a[16];
    const char *what;
} denied[] = {
    {AF_INET, 32, {169, 254, 169, 254}, "cloud metadata"},
    {AF_INET, 32, {100, 100, 100, 200}, "cloud metadata"},
    {AF_INET, 8, {0}, "unspecified"},
    {AF_INET, 8, {10}, "private"},
    {AF_INET, 10, {100, 64}, "carrier-grade NAT"},
    {AF_INET, 8, {127}, "loopback"},
    {AF_INET, 16, {169, 254}, "link-local"},
    {AF_INET, 12, {172, 16}, "private"},
    {AF_INET, 24, {192, 0, 0}, "IETF protocol assignments"},
    {AF_INET, 24, {192, 0, 2}, "documentation"},
    {AF_INET, 24, {192, 88, 99}, "6to4 relay anycast"},
    {AF_INET, 16, {192, 168}, "private"},
    {AF_INET, 15, {198, 18}, "benchmarking"},
    {AF_INET, 24, {198, 51, 100}, "documentation"},
    {AF_INET, 24, {203, 0, 113}, "documentation"},
    {AF_INET, 4, {224}, "multicast"},
    {AF_INET, 4, {240}, "reserved or broadcast"},
    /* fd00:ec2::254, AWS's IPv6 instance metadata */
    {AF_INET6, 128, {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, "cloud metadata"},
    {AF_INET6, 128, {0}, "unspecified"},
    {AF_INET6, 128, {[15] = 1}, "loopback"},
    {AF_INET6, 96, {0}, "IPv4-compatible (deprecated)"},
    {AF_INET6, 96, {[8] = 0xff, [9] = 0xff}, "IPv4-translated"},
    {AF_INET6, 48, {0, 0x64, 0xff, 0x9b, 0, 1}, "local-use NAT64"},
    {AF_INET6, 64, {0x01, 0}, "discard-only"},
    {AF_INET6, 32, {0x20, 0x01, 0x0d, 0xb8}, "documentation"},
    {AF_INET6, 32, {0x20, 0x01, 0, 0}, "Teredo"},
    {AF_INET6, 20, {0x3f, 0xff}, "documentation"},
    {AF_INET6, 7, {0xfc}, "unique local (private)"},
    {AF_INET6, 10, {0xfe, 0x80}, "link-local"},
    {AF_INET6, 10, {0xfe, 0xc0}, "site-local (deprecated)"},
    {AF_INET6, 8, {0xff}, "multicast"},
};

static bool prefix_has(int cfamily, const unsigned char *caddr, int bits, int family,
                       const unsigned char *addr)
{
    if (cfamily != family)
        return false;
    int full = bits / 8, rest = bits % 8;
    if (memcmp(caddr, addr, (size_t)full) != 0)
        return false;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if ((caddr[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

static const unsigned char v4mapped[12] = {[10] = 0xff, [11] = 0xff};
static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};

/* The address in canonical form: IPv4-mapped IPv6 becomes IPv4. false for
 * other families. */
static bool addr_of(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (sa->sa_family == AF_INET) {
        *family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    *family = AF_INET6;
    memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    if (memcmp(addr, v4mapped, 12) == 0) {
        *family = AF_INET;
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
    }
    return true;
}

/* The IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address
 * reaches, if it is one. */
static bool embedded_v4(int family, const unsigned char *addr, unsigned char v4[4])
{
    if (family != AF_INET6)
        return false;
    if (memcmp(addr, nat64, 12) == 0) {
        memcpy(v4, addr + 12, 4);
        return true;
    }
    if (addr[0] == 0x20 && addr[1] == 0x02) {
        memcpy(v4, addr + 2, 4);
        return true;
    }
    return false;
}

static const char *classify(int family, const unsigned char *addr)
{
    unsigned char v4[16] = {0};
    if (embedded_v4(family, addr, v4) && classify(AF_INET, v4))
        return family == AF_INET6 && addr[1] == 0x02 ? "6to4 of a special-purpose IPv4 address"
                                                     : "NAT64 of a special-purpose IPv4 address";
    for (size_t i = 0; i < ARRAY_LEN(denied); i++)
        if (prefix_has(denied[i].family, denied[i].a, denied[i].bits, family, addr))
            return denied[i].what;
    return NULL;
}

const char *ssrf_classify(const struct sockaddr *sa)
{
    int family;
    unsigned char addr[16];
    if (!addr_of(sa, &family, addr))
        return "not an IP address";
    return classify(family, addr);
}


/* A host name as curl's parser leaves it: letters, digits, '-' and '.',
 * non-empty labels, and not a numeric IPv4 spelling curl rewrites
 * ("0x7f.1", "2130706433" become 127.0.0.1 and would never match). */
static bool host_entry_ok(const char *tok)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 253 || tok[0] == '.' || tok[0] == '-' || strstr(tok, ".."))
        return false;
    for (const char *p = tok; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            return false;
    char *url = xasprintf("http://%s/", tok), err[160];
    struct url_http u;
    bool ok = url_http_parse(url, &u, err, sizeof err) == 0;
    free(url);
    if (ok) {
        ok = strcasecmp(u.host, tok) == 0;
        url_http_deinit(&u);
    }
    return ok;
}

struct ssrf *ssrf_new(const char *allow, char *err, size_t errlen)
{
    struct ssrf *s = xcalloc(1, sizeof *s);
    char *copy = xstrdup(allow ? allow : ""), *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        struct cidr c;
        if (cidr_parse(tok, &c) == 0) {
            s->cidrs = xrealloc(s->cidrs, (s->ncidrs + 1) * sizeof *s->cidrs);
            s->cidrs[s->ncidrs++] = c;
            continue;
        }
        if (!host_entry_ok(tok)) {
            snprintf(err, errlen,
                     "HTTP_TARGET_ALLOW: '%.80s' is neither a CIDR (10.0.0.0/8, ::1/128) nor a plain host "
                     "name (no wildcards; write addresses in dotted or IPv6 form)",
                     tok);
            free(copy);
            ssrf_free(s);
            return NULL;
        }
        s->hosts = xrealloc(s->hosts, (s->nhosts + 1) * sizeof *s->hosts);
        char *h = xstrdup(tok);
        for (char *p = h; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        s->hosts[s->nhosts++] = h;
    }
    free(copy);
    return s;
}

void ssrf_free(struct ssrf *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nhosts; i++)
        free(s->hosts[i]);
    free(s->hosts);
    free(s->cidrs);
    free(s);
}

static bool allow_listed(const struct ssrf *s, int family, const unsigned char *addr)
{
    for (size_t i = 0; i < s->ncidrs; i++)
        if (cidr_contains(&s->cidrs[i], family, addr))
            return true;
    return false;
}

bool ssrf_allowed(const struct ssrf *s, const struct sockaddr *sa, const char *host, char *why,
                  size_t whylen)
{
    /* Exact, case-insensitive: curl's host is what it resolves and, for a
     * name, what this entry was written for. */
    for (size_t i = 0; host && i < s->nhosts; i++)
        if (strcasecmp(host, s->hosts[i]) == 0)
            return true;
    int family;
    unsigned char addr[16], v4[16] = {0};
    if (!addr_of(sa, &family, addr)) {
        snprintf(why, whylen, "refused by the SSRF guard: address family %d is not IP", sa->sa_family);
        return false;
    }
    if (allow_listed(s, family, addr) || (embedded_v4(family, addr, v4) && allow_listed(s, AF_INET, v4)))
        return true;
    const char *what = classify(family, addr);
    if (!what)
        return true;
    char text[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, addr, text, sizeof text);
    snprintf(why, whylen,
             "refused by the SSRF guard: %s (%s) for host %.100s; list it in HTTP_TARGET_ALLOW to permit",
             text, what, host ? host : "?");
    return false;
}

bool ssrf_allowed_ip(const struct ssrf *s, const char *ip, const char *host, char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&ss;
    if (ip && inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
    } else if (ip && inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
    } else {
        snprintf(why, whylen, "refused by the SSRF guard: the connection's address is unknown");
        return false;
    }
    return ssrf_allowed(s, (const struct sockaddr *)&ss, host, why, whylen);
}
