#include "ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cidr {
    int family;
    unsigned char addr[16];
    int bits;
};

struct ssrf {
    struct cidr *cidrs;
    size_t ncidrs;
    char **hosts;
    size_t nhosts;
};

struct deny {
    const char *cidr;
    const char *what;
};

/* Refused unless allowed; IPv4-mapped IPv6 addresses are checked as IPv4. */
static const struct deny denied[] = {
    {"0.0.0.0/8", "unspecified"},         {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "carrier-grade NAT"}, {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local (cloud metadata)"}, {"172.16.0.0/12", "private"},
    {"192.0.0.0/24", "IETF protocol assignments"}, {"192.168.0.0/16", "private"},
    {"198.18.0.0/15", "benchmarking"},    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},          {"::/128", "unspecified"},
    {"::1/128", "loopback"},              {"fc00::/7", "unique local (private)"},
    {"fe80::/10", "link-local"},          {"ff00::/8", "multicast"},
    {"64:ff9b::/96", "NAT64"},
};

static int parse_cidr(const char *s, struct cidr *c)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(c, 0, sizeof *c);
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return -1;
    }
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > c->bits)
            return -1;
        c->bits = (int)b;
    }
    return 0;
}

static bool cidr_has(const struct cidr *c, int family, const unsigned char *addr)
{
    if (c->family != family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return false;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if ((c->addr[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

struct ssrf *ssrf_new(const char *allow, char *err, size_t errlen)
{
    struct ssrf *s = xcalloc(1, sizeof *s);
    char *copy = xstrdup(allow ? allow : ""), *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct cidr c;
        if (parse_cidr(tok, &c) == 0) {
            s->cidrs = xrealloc(s->cidrs, (s->ncidrs + 1) * sizeof *s->cidrs);
            s->cidrs[s->ncidrs++] = c;
            continue;
        }
        bool name = strlen(tok) < 254;
        for (const char *p = tok; name && *p; p++)
            name = isalnum((unsigned char)*p) || *p == '-' || *p == '.';
        if (!name || strchr(tok, '/')) {
            snprintf(err, errlen, "HTTP_TARGET_ALLOW: '%s' is neither a CIDR nor a host name", tok);
            free(copy);
            ssrf_free(s);
            return NULL;
        }
        s->hosts = xrealloc(s->hosts, (s->nhosts + 1) * sizeof *s->hosts);
        s->hosts[s->nhosts++] = xstrdup(tok);
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

bool ssrf_allowed(const struct ssrf *s, const struct sockaddr *sa, const char *host, char *why,
                  size_t whylen)
{
    for (size_t i = 0; host && i < s->nhosts; i++)
        if (strcasecmp(host, s->hosts[i]) == 0)
            return true;
    int family;
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) {
        family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        family = AF_INET6;
        memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) {
            family = AF_INET;
            memmove(addr, addr + 12, 4);
        }
    } else {
        snprintf(why, whylen, "address family %d is not allowed", sa->sa_family);
        return false;
    }
    inet_ntop(family, addr, text, sizeof text);
    for (size_t i = 0; i < s->ncidrs; i++)
        if (cidr_has(&s->cidrs[i], family, addr))
            return true;
    for (size_t i = 0; i < ARRAY_LEN(denied); i++) {
        struct cidr c;
        if (parse_cidr(denied[i].cidr, &c) == 0 && cidr_has(&c, family, addr)) {
            snprintf(why, whylen, "refused by the SSRF guard: %s resolves to %s (%s); list it in HTTP_TARGET_ALLOW to permit",
                     host ? host : "the target", text, denied[i].what);
            return false;
        }
    }
    return true;
}
