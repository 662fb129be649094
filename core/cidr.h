/* cidr: IPv4/IPv6 networks, lists of them and membership tests
 * (TRUSTED_PROXIES, the SSRF allow-list).
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are tested as IPv4. */
#ifndef INGOT_CIDR_H
#define INGOT_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

struct cidr_list {
    struct cidr *v;
    size_t n;
};

/* Parses "a.b.c.d/n", "x::y/n" or a bare address (a host route), strictly
 * (the prefix is 1-3 digits within the family's width); ::ffff:a.b.c.d/n
 * becomes the IPv4 network. The one CIDR parser (TRUSTED_PROXIES and the
 * SSRF allow-list). 0/-1. */
int cidr_parse(const char *s, struct cidr *out) ATTR_WUR;
/* addr (4 or 16 bytes of family) lies in c. */
bool cidr_contains(const struct cidr *c, int family, const unsigned char *addr);
/* Parses a comma- or space-separated list into l (which it owns; free with
 * cidr_list_deinit). 0, or -1 naming the bad entry in err. */
int cidr_list_parse(struct cidr_list *l, const char *list, char *err, size_t errlen) ATTR_WUR;
void cidr_list_deinit(struct cidr_list *l);
/* ip is an address in text; false when it does not parse. */
bool cidr_list_has(const struct cidr_list *l, const char *ip);

#endif
