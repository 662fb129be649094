/* url: the URLs ingot reads. Job URLs (payload.url, callback_url) are
 * parsed by libcurl's URL API, the parser the transfer itself uses, so the
 * host validated, the host the SSRF guard's name rules see and the host
 * connected to are one (url_http_*). The settings' DSNs (DATABASE_URL,
 * REDIS_URL) never reach curl: url_parse splits
 * `scheme://user:pass@host:port/path?query` for them, decoding
 * percent-escapes in user and password. */
#ifndef INGOT_URL_H
#define INGOT_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Longest job URL accepted (bytes). */
#define URL_HTTP_MAX 8192

struct Curl_URL; /* libcurl's CURLU */

/* An http(s) URL as libcurl parsed it. */
struct url_http {
    struct Curl_URL *curlu; /* owned: the handle for CURLOPT_CURLU */
    char *url;              /* curl's serialisation of it */
    char *scheme;           /* "http" or "https" */
    char *host;             /* curl's host: numeric IPv4 spellings normalised
                             * (0x7f.1, 127.1, 2130706433 -> 127.0.0.1),
                             * IPv6 in brackets, IDN in punycode */
    int port;               /* explicit, or the scheme's default */
};

/* Parses s with curl_url() and validates the parse: scheme http or https,
 * a host, no user:password@ (credentials do not belong in a stored job),
 * port 1-65535, no IPv6 zone id, at most URL_HTTP_MAX bytes, no spaces or
 * control characters, valid UTF-8; a host that looks numeric must be a
 * valid IPv4 address, any other a valid DNS host name (so no invalid name
 * reaches a resolver, or a retry). Fills u (owned by the caller:
 * url_http_deinit) or writes the reason to err. */
int url_http_parse(const char *s, struct url_http *u, char *err, size_t errlen) ATTR_WUR;
void url_http_deinit(struct url_http *u);
/* url_http_parse without keeping the parse: the API's validator. */
int url_http_check(const char *s, char *err, size_t errlen) ATTR_WUR;

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
 * in clear); the host as curl reads it. */
bool url_is_cleartext_remote(const char *s);
/* s without any user:password@ (owned by the caller): the form every
 * display of a configured URL uses, so a password never gets printed. */
char *url_strip_userinfo(const char *s);
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
