/* jwt: compact JWS tokens. HS256 for ingot's own session tokens
 * (signed with JWT_SECRET), RS256 and ES256 for OIDC ID tokens verified
 * against a provider's JWKS. Only these three algorithms exist here: a
 * token saying "none", HS384, PS256... is refused, and the algorithm a
 * key is used with is the key's, never the token's choice (an RSA key
 * never verifies an HS256 token). */
#ifndef INGOT_JWT_H
#define INGOT_JWT_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct cJSON;

enum jwt_alg { JWT_ALG_NONE = 0, JWT_ALG_HS256, JWT_ALG_RS256, JWT_ALG_ES256 };

/* A parsed token (nothing verified yet). */
struct jwt {
    enum jwt_alg alg;
    char kid[128];                /* "" when the header has none */
    struct cJSON *header, *claims; /* owned */
    char *signing_input;          /* "header.payload", owned */
    size_t signing_len;
    unsigned char *sig;           /* owned */
    size_t sig_len;
};

/* What an ID token must say. NULL fields are not checked. */
struct jwt_expect {
    const char *iss;
    const char *aud;     /* a string aud equal to it, or an array holding it */
    const char *nonce;
    int64_t leeway_s;    /* clock skew allowed on exp, nbf and iat */
};

/* base64url (no padding; padding tolerated) into out. 0/-1 on a bad character or length. */
int jwt_b64url_decode(const char *in, size_t n, struct sbuf *out) ATTR_WUR;
void jwt_b64url_encode(const unsigned char *in, size_t n, struct sbuf *out);

/* Appends header.claims.signature to out: claims_json is the payload. */
void jwt_hs256_sign(const char *key, const char *claims_json, struct sbuf *out);

/* Splits and decodes token into j (j is cleared first; jwt_deinit either way).
 * 0, or -1 with err: not three parts, bad base64url, not JSON objects,
 * an algorithm other than HS256, RS256, ES256. */
int jwt_parse(const char *token, struct jwt *j, char *err, size_t errlen) ATTR_WUR;
void jwt_deinit(struct jwt *j);

/* The signature under key (constant-time compare). 0/-1. */
int jwt_verify_hs256(const struct jwt *j, const char *key, char *err, size_t errlen) ATTR_WUR;
/* The signature under a public key: RS256 needs an RSA key, ES256 a P-256
 * key (the JWS raw r|s signature is turned into DER for OpenSSL). 0/-1. */
int jwt_verify_pkey(const struct jwt *j, EVP_PKEY *key, char *err, size_t errlen) ATTR_WUR;

/* A JWK (kty RSA with n, e; or kty EC, crv P-256, with x, y) as a public
 * key (owned), or NULL with err. A key whose "use" is not "sig" is refused. */
EVP_PKEY *jwt_jwk_key(const struct cJSON *jwk, char *err, size_t errlen);

/* ES256 signatures: JWS raw (r|s, 32 bytes each) <-> DER ECDSA-Sig-Value. 0/-1. */
int jwt_es256_raw_to_der(const unsigned char *raw, size_t n, struct sbuf *der) ATTR_WUR;
int jwt_es256_der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64]) ATTR_WUR;

/* exp (required), nbf and iat (when present) against now_s, and e's
 * fields. 0, or -1 with err naming the claim ("exp: the token expired"). */
int jwt_check_claims(const struct jwt *j, const struct jwt_expect *e, int64_t now_s, char *err,
                     size_t errlen) ATTR_WUR;
/* A claim as text (NULL when absent or not a string). Borrowed from j. */
const char *jwt_claim_str(const struct jwt *j, const char *name);
/* A numeric claim, or def. */
int64_t jwt_claim_int(const struct jwt *j, const char *name, int64_t def);

#endif
