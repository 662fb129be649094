/* sign: the signature on every outbound HTTP job request, a short-lived
 * HS256 JWT over the URL and the body's SHA-256, so targets can verify
 * that ingot sent it:
 *   header {"alg":"HS256","typ":"JWT"}
 *   claims {"iss":"ingot","iat":..,"exp":iat+300,"jti":"job_N.A","url":..,"body_sha256":hex}
 * With SIGNING_KEY_NEXT set, a second token signed with it is sent too. */
#ifndef INGOT_SIGN_H
#define INGOT_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SIGN_HEADER "Ingot-Signature"
#define SIGN_HEADER_NEXT "Ingot-Signature-Next"
#define SIGN_TTL_S 300

/* Appends the compact JWT to out. jti identifies the attempt. */
void sign_request(const char *key, const char *url, const char *body, size_t body_len,
                  const char *jti, int64_t now_s, struct sbuf *out);
/* base64url without padding. */
void sign_b64url(const unsigned char *in, size_t n, struct sbuf *out);

#endif
