/* ssrf: decides whether an outbound HTTP job may connect to an address.
 * Loopback, private, link-local, metadata, unspecified, multicast and
 * other special ranges are refused after DNS resolution (the check runs
 * on the address curl is about to connect to), unless HTTP_TARGET_ALLOW
 * lists the address's CIDR or the URL's host name. */
#ifndef INGOT_SSRF_H
#define INGOT_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util.h"

struct ssrf;

/* allow: the HTTP_TARGET_ALLOW list ("" = nothing exempt). Returns owned,
 * or NULL with err set when an entry is malformed. */
struct ssrf *ssrf_new(const char *allow, char *err, size_t errlen);
void ssrf_free(struct ssrf *s);
/* host: the URL's host (for name entries). true when allowed; otherwise
 * why says which range refused it. */
bool ssrf_allowed(const struct ssrf *s, const struct sockaddr *sa, const char *host, char *why,
                  size_t whylen);

#endif
