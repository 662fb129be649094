/* config_check: the validators of the settings whose values have a
 * structure (URLs, DSNs, keys, CIDR lists), named in config.c's table. */
#include "config_check.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "config.h"
#include "ssrf.h"
#include "tlsca.h"
#include "url.h"
#include "util.h"

int config_check_db_url(const char *v, char *why, size_t n)
{
    struct db_dsn d;
    if (db_dsn_parse(v, &d, why, n) < 0)
        return -1;
    db_dsn_deinit(&d);
    return 0;
}

int config_check_redis_url(const char *v, char *why, size_t n)
{
    struct redis_dsn r;
    if (redis_dsn_parse(v, &r, why, n) < 0)
        return -1;
    redis_dsn_deinit(&r);
    return 0;
}

int config_check_http_url(const char *v, char *why, size_t n)
{
    struct url u;
    if (url_parse(v, &u, why, n) < 0)
        return -1;
    int rc = 0;
    if (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0) {
        snprintf(why, n, "scheme must be http:// or https://");
        rc = -1;
    } else if (!*u.host) {
        snprintf(why, n, "host missing");
        rc = -1;
    } else if (u.user || u.password) {
        /* URLs get printed (doctor, provider list); keys have their place */
        snprintf(why, n, "must not carry credentials (user:password@): put the key in LLM_API_KEY");
        rc = -1;
    }
    url_deinit(&u);
    return rc;
}

/* An origin and maybe a path, no query: the redirect URI is built on it. */
int config_check_public_url(const char *v, char *why, size_t n)
{
    if (config_check_http_url(v, why, n) < 0)
        return -1;
    if (strpbrk(v, "?#")) {
        snprintf(why, n, "must not have a query or fragment");
        return -1;
    }
    return 0;
}

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
}

int config_key32_decode(const char *v, unsigned char out[32])
{
    size_t len = strlen(v);
    if (len == 64) {
        for (size_t i = 0; i < 32; i++) {
            int hi = isxdigit((unsigned char)v[2 * i]), lo = isxdigit((unsigned char)v[2 * i + 1]);
            if (!hi || !lo)
                return -1;
            char pair[3] = {v[2 * i], v[2 * i + 1], 0};
            out[i] = (unsigned char)strtoul(pair, NULL, 16);
        }
        return 0;
    }
    /* base64 (standard or URL alphabet) of exactly 32 bytes: 43 symbols,
     * then an optional '=' (what `openssl rand -base64 32` prints). */
    if (len != 43 && !(len == 44 && v[43] == '='))
        return -1;
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < 43; i++) {
        int d = b64val((unsigned char)v[i]);
        if (d < 0)
            return -1;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < 32)
                out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == 32 && acc == 0 ? 0 : -1; /* leftover bits must be zero */
}

/* The worker's own parser decides, so serve, doctor and every role refuse
 * an entry the guard would refuse (it used to surface only when work started). */
int config_check_target_allow(const char *v, char *why, size_t n)
{
    struct ssrf *s = ssrf_new(v, why, n);
    if (!s)
        return -1;
    ssrf_free(s);
    return 0;
}

int config_check_key32(const char *v, char *why, size_t n)
{
    unsigned char k[32];
    if (config_key32_decode(v, k) < 0) {
        snprintf(why, n, "must be 32 bytes given as 64 hex characters or as base64 (44 characters, "
                         "e.g. from `openssl rand -base64 32`); `ingot init` generates one");
        return -1;
    }
    unsigned char any = 0;
    for (size_t i = 0; i < sizeof k; i++)
        any |= k[i];
    if (!any) {
        snprintf(why, n, "is all zero bytes: generate a random key (`ingot init` or "
                         "`openssl rand -base64 32`)");
        return -1;
    }
    return 0;
}

int config_check_cidr_list(const char *v, char *why, size_t n)
{
    char *copy = xstrdup(v), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *slash = strchr(tok, '/');
        if (slash)
            *slash = '\0';
        bool v6 = strchr(tok, ':') != NULL;
        if (!url_host_is_ip(tok)) {
            snprintf(why, n, "'%s' is not an IP address or CIDR", tok);
            rc = -1;
            break;
        }
        if (slash) {
            long long bits;
            if (config_parse_int(slash + 1, &bits) < 0 || bits < 0 || bits > (v6 ? 128 : 32)) {
                snprintf(why, n, "bad prefix length in '%s/%s'", tok, slash + 1);
                rc = -1;
                break;
            }
        }
    }
    free(copy);
    return rc;
}
