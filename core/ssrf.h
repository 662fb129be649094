/* ssrf: decides whether an outbound HTTP job may connect to an address.
 * Loopback, private, link-local, unique-local, cloud metadata,
 * unspecified, multicast and the other special-purpose ranges (IANA's
 * registries) are refused after DNS resolution: httpc asks on the address
 * curl is about to connect to, and again on the connection a request is
 * about to use (a reused keep-alive connection included). IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it is; NAT64 and 6to4
 * addresses by the IPv4 address they embed. HTTP_TARGET_ALLOW exempts
 * CIDRs, and host names that equal curl's parsed host exactly (no
 * wildcards, no suffixes). */
#ifndef INGOT_SSRF_H
#define INGOT_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util.h"

struct ssrf;

/* allow: the HTTP_TARGET_ALLOW list, comma or space separated ("" =
 * nothing exempt). Returns owned, or NULL with err set when an entry is
 * malformed (a bad CIDR, or a name that is not a plain host name as curl
 * would read it, e.g. "0x7f.1": write addresses as CIDRs). */
struct ssrf *ssrf_new(const char *allow, char *err, size_t errlen);
void ssrf_free(struct ssrf *s);

/* The special-purpose range sa falls in ("loopback", "private", ...), or
 * NULL for a public unicast address. Pure: the classifier the guard uses. */
const char *ssrf_classify(const struct sockaddr *sa);

/* host: curl's parsed host of the URL (for name entries), or NULL. true
 * when allowed; otherwise why names the refused address and its range. */
bool ssrf_allowed(const struct ssrf *s, const struct sockaddr *sa, const char *host, char *why,
                  size_t whylen);
/* The same for a numeric address in text (CURLINFO_PRIMARY_IP's form);
 * text that is not an address is refused. */
bool ssrf_allowed_ip(const struct ssrf *s, const char *ip, const char *host, char *why,
                     size_t whylen);

#endif
