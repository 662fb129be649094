#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netname.h"
#include "util.h"

/* Strict decimal: digits only (no sign, space or prefix), lo..hi. */
static bool parse_dec(const char *s, size_t n, long lo, long hi, long *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && util_hexval((unsigned char)s[i + 1]) >= 0 && util_hexval((unsigned char)s[i + 2]) >= 0) {
            out[j++] = (char)(util_hexval((unsigned char)s[i + 1]) * 16 + util_hexval((unsigned char)s[i + 2]));
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
        long port;
        if (!parse_dec(portp, plen, 0, 999999, &port)) {
            snprintf(err, errlen, "bad port");
            goto fail;
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "port out of range 1-65535");
            goto fail;
        }
        u->port = (int)port;
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
    if (netname_is_localhost(host))
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
    long v;
    if (!parse_dec(s, strlen(s), 0, 1000, &v))
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

/* ---- http(s) URLs through libcurl's parser ---- */

static bool utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false; /* also stops at the NUL */
            c = (c << 6) | (s[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false; /* overlong, beyond Unicode, or a surrogate */
        s += n + 1;
    }
    return true;
}

void url_http_deinit(struct url_http *u)
{
    curl_url_cleanup(u->curlu);
    curl_free(u->url);
    curl_free(u->scheme);
    curl_free(u->host);
    memset(u, 0, sizeof *u);
}

/* curl_url_get into *out (curl_free), or NULL when the part is absent. */
static char *part(CURLU *h, CURLUPart what, unsigned flags)
{
    char *v = NULL;
    if (curl_url_get(h, what, &v, flags) != CURLUE_OK) {
        curl_free(v); /* 7.88 can fill it and still fail (CURLU_PUNYCODE) */
        return NULL;
    }
    return v;
}

/* Whether the label l[0..n) reads as a number (digits, or 0x and hex):
 * curl (and WHATWG) then read the host as an IPv4 address. */
static bool label_numeric(const char *l, size_t n)
{
    if (n >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
        for (size_t i = 2; i < n; i++)
            if (util_hexval((unsigned char)l[i]) < 0)
                return false;
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (l[i] < '0' || l[i] > '9')
            return false;
    return n > 0;
}

/* curl's host h (IPv4 forms normalised, IDN in punycode) checked before
 * anything resolves it: an IPv6 literal (curl checked it), a host that
 * looks numeric and is a valid IPv4 address, or a DNS host name (RFC 1123
 * labels of 1-63 letters, digits and hyphens, not starting or ending with
 * a hyphen, at most 253 bytes, one trailing dot allowed). */
static bool host_valid(const char *h, char *err, size_t errlen)
{
    if (h[0] == '[')
        return true;
    size_t n = strlen(h);
    size_t end = n && h[n - 1] == '.' ? n - 1 : n; /* one trailing dot: the root */
    bool numeric = end > 0;
    for (size_t i = 0; numeric && i <= end;) {
        size_t len = 0;
        while (i + len < end && h[i + len] != '.')
            len++;
        numeric = label_numeric(h + i, len);
        i += len + 1;
    }
    if (numeric) {
        unsigned char a[4];
        if (inet_pton(AF_INET, h, a) == 1)
            return true;
        snprintf(err, errlen, "host %.64s is not a valid IPv4 address (4 numbers 0-255)", h);
        return false;
    }
    bool ok = end >= 1 && end <= 253;
    for (size_t i = 0; ok && i < end;) {
        size_t len = 0;
        while (i + len < end && h[i + len] != '.')
            len++;
        ok = len >= 1 && len <= 63 && h[i] != '-' && h[i + len - 1] != '-';
        for (size_t k = 0; ok && k < len; k++)
            ok = isalnum((unsigned char)h[i + k]) || h[i + k] == '-';
        i += len + 1;
    }
    if (!ok)
        snprintf(err, errlen,
                 "host %.64s is not a valid host name (labels of 1-63 letters, digits or hyphens, "
                 "no hyphen first or last; at most 253 bytes)", h);
    return ok;
}

int url_http_parse(const char *s, struct url_http *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    size_t len = strlen(s);
    if (len > URL_HTTP_MAX) {
        snprintf(err, errlen, "longer than %d bytes", URL_HTTP_MAX);
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c <= 0x20 || *c == 0x7f) {
            snprintf(err, errlen, "contains a space or control character (encode it as %%%02X)", *c);
            return -1;
        }
    }
    if (!utf8_valid((const unsigned char *)s)) {
        snprintf(err, errlen, "is not valid UTF-8");
        return -1;
    }
    /* Stricter than curl, which also reads "http:/h" and "http:///h" as
     * http://h/: what is stored must say what is meant. Refusing more
     * cannot make the two disagree on the host. */
    size_t sl = strncasecmp(s, "http://", 7) == 0 ? 7 : strncasecmp(s, "https://", 8) == 0 ? 8 : 0;
    if (!sl) {
        snprintf(err, errlen, "scheme must be http or https (http://HOST/... or https://HOST/...)");
        return -1;
    }
    if (s[sl] == '/' || s[sl] == '\\' || s[sl] == '\0') {
        snprintf(err, errlen, "host missing");
        return -1;
    }
    u->curlu = curl_url();
    if (!u->curlu) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* No CURLU_NON_SUPPORT_SCHEME, no guessing, no re-encoding: the URL is
     * what the client wrote or it is refused. */
    CURLUcode rc = curl_url_set(u->curlu, CURLUPART_URL, s, 0);
    if (rc != CURLUE_OK) {
        snprintf(err, errlen, "malformed URL (%s)", curl_url_strerror(rc));
        goto fail;
    }
    u->scheme = part(u->curlu, CURLUPART_SCHEME, 0);
    if (!u->scheme || (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0)) {
        snprintf(err, errlen, "scheme must be http or https");
        goto fail;
    }
    char *user = part(u->curlu, CURLUPART_USER, 0), *pass = part(u->curlu, CURLUPART_PASSWORD, 0);
    bool creds = user || pass;
    curl_free(user);
    curl_free(pass);
    if (creds) {
        snprintf(err, errlen, "must not contain credentials (user:password@); send them in a header");
        goto fail;
    }
#ifdef CURLU_PUNYCODE
    u->host = part(u->curlu, CURLUPART_HOST, CURLU_PUNYCODE);
#else
    u->host = part(u->curlu, CURLUPART_HOST, 0);
#endif
    if (!u->host) {
        snprintf(err, errlen, "host is not a valid host name");
        goto fail;
    }
    if (!*u->host) {
        snprintf(err, errlen, "host missing");
        goto fail;
    }
    if (!host_valid(u->host, err, errlen))
        goto fail;
    char *zone = part(u->curlu, CURLUPART_ZONEID, 0);
    curl_free(zone);
    if (zone) {
        snprintf(err, errlen, "an IPv6 zone id (%%25...) is not allowed");
        goto fail;
    }
    char *port = part(u->curlu, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    long p = 0;
    bool port_ok = port && parse_dec(port, strlen(port), 1, 65535, &p);
    curl_free(port);
    if (!port_ok) {
        snprintf(err, errlen, "port out of range 1-65535");
        goto fail;
    }
    u->port = (int)p;
    u->url = part(u->curlu, CURLUPART_URL, 0);
    if (!u->url) {
        snprintf(err, errlen, "malformed URL");
        goto fail;
    }
    return 0;
fail:
    url_http_deinit(u);
    return -1;
}

int url_http_check(const char *s, char *err, size_t errlen)
{
    struct url_http u;
    if (url_http_parse(s, &u, err, errlen) < 0)
        return -1;
    url_http_deinit(&u);
    return 0;
}

char *url_strip_userinfo(const char *s)
{
    const char *auth = strstr(s, "://");
    if (!auth)
        return xstrdup(s);
    auth += 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@')
            at = p; /* the last one: a password may hold an '@' */
    if (!at)
        return xstrdup(s);
    return xasprintf("%.*s%s", (int)(auth - s), s, at + 1);
}

bool url_is_cleartext_remote(const char *s)
{
    CURLU *h = curl_url();
    if (!h)
        return false;
    bool r = false;
    if (curl_url_set(h, CURLUPART_URL, s, 0) == CURLUE_OK) {
        char *scheme = part(h, CURLUPART_SCHEME, 0), *host = part(h, CURLUPART_HOST, 0);
        if (scheme && host && strcmp(scheme, "http") == 0) {
            size_t n = strlen(host);
            /* curl keeps IPv6 brackets; the loopback test wants the address */
            char *bare = host[0] == '[' && n > 2 ? xstrndup(host + 1, n - 2) : xstrdup(host);
            r = !url_host_is_loopback(bare);
            free(bare);
        }
        curl_free(scheme);
        curl_free(host);
    }
    curl_url_cleanup(h);
    return r;
}
