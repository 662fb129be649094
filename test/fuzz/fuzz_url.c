/* libFuzzer target for job URLs and the SSRF allow list: url_http_parse
 * (libcurl's parse plus ingot's rules), HTTP_TARGET_ALLOW parsing and the
 * guard's text-address check. Beyond "no crash", it checks the property
 * the guard rests on: a URL accepted once is accepted again in curl's own
 * serialisation (what the transfer sends) with the same host and port. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssrf.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char err[256];
    struct url_http u;
    if (url_http_parse(s, &u, err, sizeof err) == 0) {
        if (!u.curlu || !u.url || !u.host || !*u.host || u.port < 1 || u.port > 65535 ||
            (strcmp(u.scheme, "http") != 0 && strcmp(u.scheme, "https") != 0))
            abort();
        for (const unsigned char *c = (const unsigned char *)s; *c; c++)
            if (*c <= 0x20 || *c == 0x7f)
                abort();
        if (strlen(s) > URL_HTTP_MAX)
            abort();
        struct url_http again;
        if (url_http_parse(u.url, &again, err, sizeof err) != 0) {
            fprintf(stderr, "accepted %s, refused its serialisation %s: %s\n", s, u.url, err);
            abort();
        }
        if (strcmp(again.host, u.host) != 0 || again.port != u.port) {
            fprintf(stderr, "%s: host %s:%d, re-parsed %s:%d\n", s, u.host, u.port, again.host, again.port);
            abort();
        }
        url_http_deinit(&again);
        url_http_deinit(&u);
    }
    (void)url_is_cleartext_remote(s);

    struct ssrf *g = ssrf_new(s, err, sizeof err);
    char why[320];
    if (g) {
        (void)ssrf_allowed_ip(g, "127.0.0.1", s, why, sizeof why);
        ssrf_free(g);
    }
    g = ssrf_new("127.0.0.0/8,internal.example", err, sizeof err);
    if (!g)
        abort();
    (void)ssrf_allowed_ip(g, s, "h", why, sizeof why);
    ssrf_free(g);
    free(s);
    return 0;
}
