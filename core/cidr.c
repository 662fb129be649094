#include "cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text to family and bytes; IPv4-mapped IPv6 becomes IPv4. */
static int addr_parse(const char *s, int *family, unsigned char *addr)
{
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) != 1)
        return -1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        *family = AF_INET;
        return 0;
    }
    *family = AF_INET6;
    return 0;
}

int cidr_parse(const char *s, struct cidr *c)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof buf)
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
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
    if (slash) { /* 1-3 digits, nothing else: no sign, space or overflow */
        const char *d = slash + 1;
        size_t n = strlen(d);
        if (n == 0 || n > 3)
            return -1;
        int b = 0;
        for (size_t i = 0; i < n; i++) {
            if (d[i] < '0' || d[i] > '9')
                return -1;
            b = b * 10 + (d[i] - '0');
        }
        if (b > c->bits)
            return -1;
        c->bits = b;
    }
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c->family == AF_INET6 && c->bits >= 96 && memcmp(c->addr, mapped, 12) == 0) {
        c->family = AF_INET; /* ::ffff:a.b.c.d/n is the IPv4 network */
        memmove(c->addr, c->addr + 12, 4);
        memset(c->addr + 4, 0, 12);
        c->bits -= 96;
    }
    return 0;
}

bool cidr_contains(const struct cidr *c, int family, const unsigned char *addr)
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

int cidr_list_parse(struct cidr_list *l, const char *list, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    char *copy = xstrdup(list ? list : ""), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        struct cidr c;
        if (cidr_parse(tok, &c) < 0) {
            snprintf(err, errlen, "'%s' is not an IP address or CIDR", tok);
            rc = -1;
            break;
        }
        l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = c;
    }
    free(copy);
    if (rc < 0)
        cidr_list_deinit(l);
    return rc;
}

void cidr_list_deinit(struct cidr_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool cidr_list_has(const struct cidr_list *l, const char *ip)
{
    int family;
    unsigned char addr[16];
    if (l->n == 0 || addr_parse(ip, &family, addr) < 0)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (cidr_contains(&l->v[i], family, addr))
            return true;
    return false;
}
