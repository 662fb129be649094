/* Where an upstream request goes and what it sends: the URL split into
 * an origin (kept per host, port and scheme) and a path, cached per URL,
 * and the request's bytes. The requests, the idle pool and the
 * connections are upstream.c's. */
#include "upstream_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upstream_int.h"

/* http(s)://host[:port][/path][?query]: no user info, no fragment sent. */
static int url_split(const char *url, bool *tls, char *host, size_t hostlen, int *port, const char **path,
                     size_t *pathlen)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
    } else {
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen))
        return -1;
    const char *hb = p, *he;
    const char *rest = p + alen;
    const char *colon;
    if (*p == '[') {
        hb = p + 1;
        he = memchr(hb, ']', alen - 1);
        if (!he)
            return -1;
        colon = he + 1 < rest && he[1] == ':' ? he + 1 : NULL;
        if (he + 1 < rest && !colon)
            return -1;
    } else {
        colon = memchr(p, ':', alen);
        he = colon ? colon : rest;
    }
    size_t hl = (size_t)(he - hb);
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, hb, hl);
    host[hl] = '\0';
    *port = *tls ? 443 : 80;
    if (colon) {
        long v = 0;
        const char *q = colon + 1;
        if (q == rest)
            return -1;
        for (; q < rest; q++) {
            if (*q < '0' || *q > '9' || (v = v * 10 + (*q - '0')) > 65535)
                return -1;
        }
        if (v < 1)
            return -1;
        *port = (int)v;
    }
    size_t pl = strcspn(rest, "#");
    for (size_t i = 0; i < pl; i++) {
        unsigned char ch = (unsigned char)rest[i];
        if (ch <= 0x20 || ch == 0x7f)
            return -1;
    }
    *path = rest;
    *pathlen = pl;
    return 0;
}

/* n bytes onto b, growing it only when they do not fit (the caller puts
 * the NUL after the last). */
static inline void put(struct sbuf *b, const char *p, size_t n)
{
    if (b->len + n >= b->cap)
        sbuf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_num(struct sbuf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b, tmp + i, sizeof tmp - i);
}

static struct origin *origin_get(struct upstream *u, bool tls, const char *host, int port)
{
    for (struct origin *o = u->origins; o; o = o->next)
        if (o->tls == tls && o->port == port && strcmp(o->host, host) == 0)
            return o;
    struct origin *o = xcalloc(1, sizeof *o);
    o->tls = tls;
    o->port = port;
    snprintf(o->host, sizeof o->host, "%s", host);
    bool v6 = strchr(o->host, ':') != NULL;
    char port_part[8] = "";
    if (port != (tls ? 443 : 80))
        snprintf(port_part, sizeof port_part, ":%d", port);
    int n = snprintf(o->host_lines, sizeof o->host_lines, "Host: %s%s%s%s\r\nUser-Agent: ingot\r\n", v6 ? "[" : "",
                     o->host, v6 ? "]" : "", port_part);
    o->host_lines_len = n > 0 && (size_t)n < sizeof o->host_lines ? (size_t)n : 0; /* host < 256: always fits */
    o->next = u->origins;
    u->origins = o;
    return o;
}

void upstream_url_request_bytes(struct up_req *r, const struct httpc_request *req, const char *path,
                                size_t pathlen)
{
    struct sbuf *b = &r->out;
    const char *method = req->method ? req->method : "GET";
    size_t mlen = strlen(method);
    sbuf_reserve(b, 256 + mlen + pathlen + r->o->host_lines_len + req->body_len);
    put(b, method, mlen);
    put(b, " ", 1);
    if (!pathlen || *path == '?')
        put(b, "/", 1);
    put(b, path, pathlen);
    put(b, " HTTP/1.1\r\n", 11);
    put(b, r->o->host_lines, r->o->host_lines_len);
    for (const char *const *h = req->headers; h && *h; h++) {
        size_t hl = strlen(*h);
        const char *colon = memchr(*h, ':', hl);
        if (!colon)
            continue;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!*v)
            continue; /* "Name:" asks for no such header, as with curl */
        put(b, *h, hl);
        put(b, "\r\n", 2);
    }
    if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        put(b, "Content-Length: ", 16);
        put_num(b, (unsigned long long)(req->body ? req->body_len : 0));
        put(b, "\r\n", 2);
    }
    put(b, "\r\n", 2);
    if (req->body)
        put(b, req->body, req->body_len);
    b->data[b->len] = '\0';
}

/* The origin and path of url: split once per URL (url_split, origin_get)
 * and kept in u->routes, as the same few endpoints are called every time.
 * -1 when url is not one upstream can call. */
int upstream_url_route(struct upstream *u, const char *url, struct origin **o, const char **path, size_t *pathlen)
{
    for (size_t i = 0; i < UPSTREAM_ROUTES && u->routes[i].url; i++) {
        const struct up_route *rt = &u->routes[i];
        if (strcmp(rt->url, url) == 0) {
            *o = rt->o;
            *path = url + rt->path_off;
            *pathlen = rt->path_len;
            return 0;
        }
    }
    bool tls;
    char host[256];
    int port;
    if (url_split(url, &tls, host, sizeof host, &port, path, pathlen) < 0)
        return -1;
    *o = origin_get(u, tls, host, port);
    size_t len = strlen(url);
    if (len <= UPSTREAM_ROUTE_URL_MAX) {
        struct up_route *rt = &u->routes[u->route_next];
        u->route_next = (u->route_next + 1) % UPSTREAM_ROUTES;
        free(rt->url);
        rt->url = xstrdup(url);
        rt->o = *o;
        rt->path_off = (size_t)(*path - url);
        rt->path_len = *pathlen;
    }
    return 0;
}
