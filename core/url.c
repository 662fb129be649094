#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hx[3] = {s[i + 1], s[i + 2], 0};
            out[j++] = (char)strtol(hx, NULL, 16);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

void url_deinit(struct url *u)
{
    free(u->scheme);
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->path);
    free(u->query);
    memset(u, 0, sizeof *u);
}

int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    const char *sep = strstr(s, "://");
    if (!sep || sep == s) {
        snprintf(err, errlen, "not a URL (expected scheme://...)");
        return -1;
    }
    for (const char *c = s; c < sep; c++) {
        if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.') {
            snprintf(err, errlen, "bad scheme");
            return -1;
        }
    }
    for (const char *c = s; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
            snprintf(err, errlen, "contains a space or control character");
            return -1;
        }
    }
    u->scheme = xstrndup(s, (size_t)(sep - s));
    for (char *c = u->scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);

    const char *auth = sep + 3;
    size_t authlen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < authlen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *hostpart = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            u->user = pct_decode(auth, (size_t)(colon - auth));
            u->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            u->user = pct_decode(auth, (size_t)(at - auth));
        }
        hostpart = at + 1;
    }
    size_t hostlen = (size_t)(auth + authlen - hostpart);
    const char *portp = NULL;
    if (hostlen && hostpart[0] == '[') {
        const char *close = memchr(hostpart, ']', hostlen);
        if (!close) {
            snprintf(err, errlen, "unterminated '[' in host");
            goto fail;
        }
        u->host = xstrndup(hostpart + 1, (size_t)(close - hostpart - 1));
        if (close + 1 < hostpart + hostlen) {
            if (close[1] != ':') {
                snprintf(err, errlen, "junk after ']' in host");
                goto fail;
            }
            portp = close + 2;
        }
    } else {
        const char *colon = memchr(hostpart, ':', hostlen);
        u->host = xstrndup(hostpart, colon ? (size_t)(colon - hostpart) : hostlen);
        if (colon)
            portp = colon + 1;
    }
    if (portp) {
        size_t plen = (size_t)(auth + authlen - portp);
        if (plen == 0 || plen > 5) {
            snprintf(err, errlen, "bad port");
            goto fail;
        }
        int port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)portp[i])) {
                snprintf(err, errlen, "bad port");
                goto fail;
            }
            port = port * 10 + (portp[i] - '0');
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "port out of range 1-65535");
            goto fail;
        }
        u->port = port;
    }
    const char *rest = auth + authlen;
    size_t pathlen = strcspn(rest, "?#");
    u->path = xstrndup(rest, pathlen);
    if (rest[pathlen] == '?') {
        const char *q = rest + pathlen + 1;
        u->query = xstrndup(q, strcspn(q, "#"));
    }
    return 0;
fail:
    url_deinit(u);
    return -1;
}

char *url_query_get(const struct url *u, const char *name)
{
    if (!u->query)
        return NULL;
    size_t nlen = strlen(name);
    const char *q = u->query;
    while (*q) {
        size_t len = strcspn(q, "&");
        if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=')
            return pct_decode(q + nlen + 1, len - nlen - 1);
        q += len;
        if (*q == '&')
            q++;
    }
    return NULL;
}

bool url_host_is_ip(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

bool url_host_is_loopback(const char *host)
{
    unsigned char buf[16];
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, buf) == 1)
        return buf[0] == 127;
    if (inet_pton(AF_INET6, host, buf) == 1) {
        static const unsigned char lo[16] = {[15] = 1};
        return memcmp(buf, lo, 16) == 0;
    }
    return false;
}

void db_dsn_deinit(struct db_dsn *d)
{
    free(d->user);
    free(d->password);
    free(d->host);
    free(d->database);
    free(d->socket);
    memset(d, 0, sizeof *d);
}

int db_dsn_parse(const char *s, struct db_dsn *d, char *err, size_t errlen)
{
    struct url u;
    memset(d, 0, sizeof *d);
    if (url_parse(s, &u, err, errlen) < 0)
        return -1;
    if (strcmp(u.scheme, "mysql") != 0 && strcmp(u.scheme, "mariadb") != 0) {
        snprintf(err, errlen, "scheme must be mysql:// or mariadb://, not %s://", u.scheme);
        goto fail;
    }
    if (!u.user || !*u.user) {
        snprintf(err, errlen, "user name missing (mysql://USER:PASSWORD@HOST/DB)");
        goto fail;
    }
    const char *db = u.path[0] == '/' ? u.path + 1 : u.path;
    if (!*db || strchr(db, '/')) {
        snprintf(err, errlen, "database name missing or malformed (mysql://USER:PASSWORD@HOST/DB)");
        goto fail;
    }
    d->socket = url_query_get(&u, "socket");
    if (!d->socket && !*u.host) {
        snprintf(err, errlen, "host missing (or give ?socket=/path/to/mysqld.sock)");
        goto fail;
    }
    if (d->socket && d->socket[0] != '/') {
        snprintf(err, errlen, "socket must be an absolute path");
        goto fail;
    }
    d->user = u.user;
    u.user = NULL;
    d->password = u.password;
    u.password = NULL;
    d->host = xstrdup(u.host);
    d->port = u.port ? u.port : 3306;
    d->database = xstrdup(db);
    url_deinit(&u);
    return 0;
fail:
    url_deinit(&u);
    db_dsn_deinit(d);
    return -1;
}

void redis_dsn_deinit(struct redis_dsn *r)
{
    free(r->host);
    free(r->user);
    free(r->socket);
    free(r->password);
    memset(r, 0, sizeof *r);
}

static int parse_db_index(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

int redis_dsn_parse(const char *s, struct redis_dsn *r, char *err, size_t errlen)
{
    struct url u;
    memset(r, 0, sizeof *r);
    if (url_parse(s, &u, err, errlen) < 0)
        return -1;
    char *dbq = url_query_get(&u, "db");
    if (strcmp(u.scheme, "unix") == 0 || strcmp(u.scheme, "redis+unix") == 0) {
        if (u.path[0] != '/') {
            snprintf(err, errlen, "unix socket path must be absolute (unix:///path/redis.sock)");
            goto fail;
        }
        r->socket = xstrdup(u.path);
    } else if (strcmp(u.scheme, "redis") == 0) {
        if (!*u.host) {
            snprintf(err, errlen, "host missing (redis://HOST:PORT/DB)");
            goto fail;
        }
        r->host = xstrdup(u.host);
        r->port = u.port ? u.port : 6379;
        const char *p = u.path[0] == '/' ? u.path + 1 : u.path;
        if (*p && parse_db_index(p, &r->db) < 0) {
            snprintf(err, errlen, "database index must be a number 0-1000");
            goto fail;
        }
    } else if (strcmp(u.scheme, "rediss") == 0) {
        snprintf(err, errlen, "rediss:// (TLS) is not supported by this build's hiredis; use a TLS sidecar or redis://");
        goto fail;
    } else {
        snprintf(err, errlen, "scheme must be redis:// or unix://, not %s://", u.scheme);
        goto fail;
    }
    if (dbq && parse_db_index(dbq, &r->db) < 0) {
        snprintf(err, errlen, "db must be a number 0-1000");
        goto fail;
    }
    if (u.password && *u.password) {
        r->password = xstrdup(u.password);
        if (u.user && *u.user && strcmp(u.user, "default") != 0)
            r->user = xstrdup(u.user); /* Redis 6 ACL user */
    }
    free(dbq);
    url_deinit(&u);
    return 0;
fail:
    free(dbq);
    url_deinit(&u);
    redis_dsn_deinit(r);
    return -1;
}

bool url_is_cleartext_remote(const char *s)
{
    struct url u;
    char err[128];
    if (url_parse(s, &u, err, sizeof err) < 0)
        return false;
    bool r = strcmp(u.scheme, "http") == 0 && !url_host_is_loopback(u.host);
    url_deinit(&u);
    return r;
}
