#include "tlsca.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *tlsca_file(const char *setting)
{
    if (!setting || !*setting)
        return TLSCA_DEFAULT;
    if (strcmp(setting, TLSCA_NONE) == 0)
        return NULL;
    return setting;
}

int tlsca_count(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(why, whylen, "cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%.200s is not a regular file", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read %.200s: %s", path, strerror(errno));
        return -1;
    }
    int n = 0;
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
        n++;
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    fclose(f);
    return n;
}

int tlsca_check_setting(const char *v, char *why, size_t whylen)
{
    if (!*v || strcmp(v, TLSCA_NONE) == 0)
        return 0;
    int n = tlsca_count(v, why, whylen);
    if (n == 0)
        snprintf(why, whylen, "%.200s holds no PEM certificate", v);
    return n > 0 ? 0 : -1;
}

int tlsca_resolve(const char *setting, struct tlsca *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->path = tlsca_file(setting);
    out->is_default = !setting || !*setting;
    if (!out->path)
        return 0;
    char why[300];
    out->certs = tlsca_count(out->path, why, sizeof why);
    if (out->certs > 0)
        return 0;
    if (out->certs == 0)
        snprintf(why, sizeof why, "%.200s holds no PEM certificate", out->path);
    if (out->is_default)
        snprintf(err, errlen,
                 "CA_BUNDLE: not set, and the default CA bundle is unusable (%s): install "
                 "ca-certificates or mount a bundle there, set CA_BUNDLE to a PEM file of CA "
                 "certificates, or CA_BUNDLE=none for no outbound TLS",
                 why);
    else
        snprintf(err, errlen,
                 "CA_BUNDLE: %s: set it to a PEM file of CA certificates (e.g. " TLSCA_DEFAULT
                 "), or to none for no outbound TLS",
                 why);
    return -1;
}
