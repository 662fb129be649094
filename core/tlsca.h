/* tlsca: the CA certificates outbound TLS trusts (HTTP jobs and probes
 * through libcurl, the LLM upstream client through OpenSSL). The rule:
 *
 * - CA_BUNDLE=<file>: that PEM file. It must be readable and hold at least
 *   one certificate, or every command refuses to start (a config error).
 * - CA_BUNDLE unset: TLSCA_DEFAULT, where Debian's ca-certificates and the
 *   scratch image put the bundle (the static build knows no other store,
 *   so the default is the same file for both builds). The long-running
 *   commands (serve, work, schedule, run) refuse to start when it is
 *   missing; doctor fails its check; commands that open no TLS connection
 *   (migrate, admin, init, version) do not look.
 * - CA_BUNDLE=none: no outbound TLS, for a deployment without a bundle;
 *   an https URL then fails with a message naming the setting. */
#ifndef INGOT_TLSCA_H
#define INGOT_TLSCA_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define TLSCA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define TLSCA_NONE "none"
#define TLSCA_OFF_MSG "outbound TLS is off (CA_BUNDLE=none): set CA_BUNDLE to a CA certificates file"

/* The file the setting's value means: the value, TLSCA_DEFAULT for "", or
 * NULL for "none" (TLS off). Borrows. */
const char *tlsca_file(const char *setting);

/* Certificates in a PEM file (parsed), or -1 with why (cannot read it). */
int tlsca_count(const char *path, char *why, size_t whylen);

/* The settings table's check of CA_BUNDLE: "", "none", or a readable file
 * with at least one certificate. */
int tlsca_check_setting(const char *v, char *why, size_t whylen);

struct tlsca {
    const char *path;  /* the file used (borrowed), NULL when off */
    bool is_default;   /* CA_BUNDLE unset */
    int certs;         /* certificates in it; -1 when it cannot be read */
};

/* What the setting resolves to. 0, or -1 with err naming CA_BUNDLE, the
 * file and what to do (the file is missing, unreadable or empty). */
int tlsca_resolve(const char *setting, struct tlsca *out, char *err, size_t errlen) ATTR_WUR;

#endif
