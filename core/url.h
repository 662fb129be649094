/* url: split `scheme://user:pass@host:port/path?query` and the DSNs built
 * on it (DATABASE_URL, REDIS_URL). Percent-escapes in user and password are
 * decoded. */
#ifndef INGOT_URL_H
#define INGOT_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct url {
    char *scheme;   /* lower-cased */
    char *user;     /* NULL when absent */
    char *password; /* NULL when absent */
    char *host;     /* without IPv6 brackets; "" when absent */
    int port;       /* 0 when absent */
    char *path;     /* "" or starting with '/' */
    char *query;    /* NULL when absent, without '?' */
};

/* Fills u (owned by the caller: url_deinit). On error writes a reason. */
int url_parse(const char *s, struct url *u, char *err, size_t errlen) ATTR_WUR;
void url_deinit(struct url *u);
/* Value of query parameter name (decoded, owned by caller) or NULL. */
char *url_query_get(const struct url *u, const char *name);
bool url_host_is_loopback(const char *host);
/* http:// to a host that is not loopback (secrets would cross a network
 * in clear). */
bool url_is_cleartext_remote(const char *s);
/* Whether host is an IP literal (v4 dotted quad or v6). */
bool url_host_is_ip(const char *host);

struct db_dsn {
    char *user, *password, *host, *database, *socket;
    int port;
};
/* mysql://user:pass@host:port/db or mysql://user:pass@localhost/db?socket=/path */
int db_dsn_parse(const char *s, struct db_dsn *d, char *err, size_t errlen) ATTR_WUR;
void db_dsn_deinit(struct db_dsn *d);

struct redis_dsn {
    char *host, *socket, *user, *password; /* user: Redis 6 ACL, or NULL */
    int port, db;
};
/* redis://[[user]:pass@]host[:port][/db] or unix:///path/redis.sock[?db=N] */
int redis_dsn_parse(const char *s, struct redis_dsn *r, char *err, size_t errlen) ATTR_WUR;
void redis_dsn_deinit(struct redis_dsn *r);

#endif
