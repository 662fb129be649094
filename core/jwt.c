#include "jwt.h"

#include <cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

static int b64url_val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

int jwt_b64url_decode(const char *in, size_t n, struct sbuf *out)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            sbuf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    /* the leftover bits must be zero (one encoding per value) */
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return 0;
}

void jwt_b64url_encode(const unsigned char *in, size_t n, struct sbuf *out)
{
    sign_b64url(in, n, out);
}

void jwt_hs256_sign(const char *key, const char *claims_json, struct sbuf *out)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t start = out->len;
    sign_b64url((const unsigned char *)header, sizeof header - 1, out);
    sbuf_putc(out, '.');
    sign_b64url((const unsigned char *)claims_json, strlen(claims_json), out);
    unsigned char mac[32];
    unsigned int mn = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out->data + start,
         out->len - start, mac, &mn);
    sbuf_putc(out, '.');
    sign_b64url(mac, sizeof mac, out);
}

void jwt_deinit(struct jwt *j)
{
    cJSON_Delete(j->header);
    cJSON_Delete(j->claims);
    free(j->signing_input);
    free(j->sig);
    memset(j, 0, sizeof *j);
}

static cJSON *decode_object(const char *p, size_t n)
{
    struct sbuf b;
    sbuf_init(&b);
    cJSON *o = NULL;
    if (jwt_b64url_decode(p, n, &b) == 0) {
        o = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
        if (o && !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    sbuf_deinit(&b);
    return o;
}

int jwt_parse(const char *token, struct jwt *j, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.')) {
        snprintf(err, errlen, "not a JWS compact token (three dot-separated parts)");
        return -1;
    }
    j->header = decode_object(token, (size_t)(d1 - token));
    j->claims = decode_object(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!j->header || !j->claims) {
        snprintf(err, errlen, "the token's %s is not base64url JSON", j->header ? "payload" : "header");
        return -1;
    }
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(j->header, "alg");
    const char *a = cJSON_IsString(alg) ? alg->valuestring : "";
    j->alg = strcmp(a, "HS256") == 0   ? JWT_ALG_HS256
             : strcmp(a, "RS256") == 0 ? JWT_ALG_RS256
             : strcmp(a, "ES256") == 0 ? JWT_ALG_ES256
                                       : JWT_ALG_NONE;
    if (j->alg == JWT_ALG_NONE) {
        snprintf(err, errlen, "alg: %.32s is not accepted (HS256, RS256 or ES256)", *a ? a : "missing");
        return -1;
    }
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(j->header, "kid");
    if (cJSON_IsString(kid))
        snprintf(j->kid, sizeof j->kid, "%s", kid->valuestring);
    struct sbuf s;
    sbuf_init(&s);
    if (jwt_b64url_decode(d2 + 1, strlen(d2 + 1), &s) < 0 || s.len == 0) {
        sbuf_deinit(&s);
        snprintf(err, errlen, "the token's signature is not base64url");
        return -1;
    }
    j->sig_len = s.len;
    j->sig = (unsigned char *)sbuf_steal(&s);
    j->signing_len = (size_t)(d2 - token);
    j->signing_input = xstrndup(token, j->signing_len);
    return 0;
}

int jwt_verify_hs256(const struct jwt *j, const char *key, char *err, size_t errlen)
{
    if (j->alg != JWT_ALG_HS256) {
        snprintf(err, errlen, "alg: HS256 expected");
        return -1;
    }
    unsigned char mac[32];
    unsigned int mn = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)j->signing_input,
         j->signing_len, mac, &mn);
    if (j->sig_len != sizeof mac || CRYPTO_memcmp(mac, j->sig, sizeof mac) != 0) {
        snprintf(err, errlen, "bad signature");
        return -1;
    }
    return 0;
}

int jwt_es256_raw_to_der(const unsigned char *raw, size_t n, struct sbuf *der)
{
    if (n != 64)
        return -1;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *ss = BN_bin2bn(raw + 32, 32, NULL);
    if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return -1;
    }
    unsigned char *p = NULL;
    int len = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    if (len <= 0)
        return -1;
    sbuf_append(der, p, (size_t)len);
    OPENSSL_free(p);
    return 0;
}

int jwt_es256_der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!s)
        return -1;
    const BIGNUM *r = NULL, *ss = NULL;
    ECDSA_SIG_get0(s, &r, &ss);
    int rc = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(ss, raw + 32, 32) == 32 ? 0 : -1;
    ECDSA_SIG_free(s);
    return rc;
}

int jwt_verify_pkey(const struct jwt *j, EVP_PKEY *key, char *err, size_t errlen)
{
    int type = EVP_PKEY_get_base_id(key);
    if (j->alg == JWT_ALG_RS256 ? type != EVP_PKEY_RSA
                                : j->alg != JWT_ALG_ES256 || type != EVP_PKEY_EC) {
        snprintf(err, errlen, "alg: the token's algorithm does not match its key");
        return -1;
    }
    struct sbuf der;
    sbuf_init(&der);
    const unsigned char *sig = j->sig;
    size_t sig_len = j->sig_len;
    if (j->alg == JWT_ALG_ES256) {
        if (jwt_es256_raw_to_der(j->sig, j->sig_len, &der) < 0) {
            snprintf(err, errlen, "bad signature (an ES256 signature is 64 bytes)");
            return -1;
        }
        sig = (const unsigned char *)der.data;
        sig_len = der.len;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)j->signing_input,
                              j->signing_len) == 1;
    EVP_MD_CTX_free(ctx);
    sbuf_deinit(&der);
    if (!ok) {
        snprintf(err, errlen, "bad signature");
        return -1;
    }
    return 0;
}

static BIGNUM *b64_bn(const cJSON *o, const char *name, size_t *len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        return NULL;
    struct sbuf b;
    sbuf_init(&b);
    BIGNUM *bn = NULL;
    if (jwt_b64url_decode(v->valuestring, strlen(v->valuestring), &b) == 0 && b.len > 0)
        bn = BN_bin2bn((const unsigned char *)b.data, (int)b.len, NULL);
    if (len)
        *len = b.len;
    sbuf_deinit(&b);
    return bn;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return k;
}

EVP_PKEY *jwt_jwk_key(const cJSON *jwk, char *err, size_t errlen)
{
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    if (use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0)) {
        snprintf(err, errlen, "use: not a signing key");
        return NULL;
    }
    if (!cJSON_IsString(kty)) {
        snprintf(err, errlen, "kty missing");
        return NULL;
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *k = NULL;
    if (strcmp(kty->valuestring, "RSA") == 0) {
        BIGNUM *n = b64_bn(jwk, "n", NULL), *e = b64_bn(jwk, "e", NULL);
        if (n && e && BN_num_bits(n) >= 2048 && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            k = from_params("RSA", bld);
        if (!k)
            snprintf(err, errlen, "an RSA key needs n (2048 bits or more) and e");
        BN_free(n);
        BN_free(e);
    } else if (strcmp(kty->valuestring, "EC") == 0) {
        const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(jwk, "x");
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(jwk, "y");
        struct sbuf pub;
        sbuf_init(&pub);
        sbuf_putc(&pub, 4); /* uncompressed point: 04 | x | y */
        size_t l0 = 1;
        bool ok = cJSON_IsString(crv) && strcmp(crv->valuestring, "P-256") == 0 && cJSON_IsString(x) &&
                  cJSON_IsString(y) &&
                  jwt_b64url_decode(x->valuestring, strlen(x->valuestring), &pub) == 0 &&
                  pub.len - l0 == 32 &&
                  jwt_b64url_decode(y->valuestring, strlen(y->valuestring), &pub) == 0 && pub.len == 65;
        if (ok && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data, pub.len))
            k = from_params("EC", bld);
        if (!k)
            snprintf(err, errlen, "an EC key needs crv P-256 and a valid point x, y");
        sbuf_deinit(&pub);
    } else {
        snprintf(err, errlen, "kty: %.16s is not supported (RSA or EC)", kty->valuestring);
    }
    OSSL_PARAM_BLD_free(bld);
    return k;
}

const char *jwt_claim_str(const struct jwt *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->claims, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t jwt_claim_int(const struct jwt *j, const char *name, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->claims, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

static bool aud_has(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, aud)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
            return true;
    }
    return false;
}

int jwt_check_claims(const struct jwt *j, const struct jwt_expect *e, int64_t now_s, char *err,
                     size_t errlen)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j->claims, "exp");
    if (!cJSON_IsNumber(exp)) {
        snprintf(err, errlen, "exp: missing");
        return -1;
    }
    if ((int64_t)exp->valuedouble + e->leeway_s <= now_s) {
        snprintf(err, errlen, "exp: the token expired");
        return -1;
    }
    int64_t nbf = jwt_claim_int(j, "nbf", 0), iat = jwt_claim_int(j, "iat", 0);
    if (nbf && nbf - e->leeway_s > now_s) {
        snprintf(err, errlen, "nbf: the token is not valid yet");
        return -1;
    }
    if (iat && iat - e->leeway_s > now_s) {
        snprintf(err, errlen, "iat: the token was issued in the future");
        return -1;
    }
    const char *iss = jwt_claim_str(j, "iss");
    if (e->iss && (!iss || strcmp(iss, e->iss) != 0)) {
        snprintf(err, errlen, "iss: the token is not from the expected issuer");
        return -1;
    }
    if (e->aud && !aud_has(cJSON_GetObjectItemCaseSensitive(j->claims, "aud"), e->aud)) {
        snprintf(err, errlen, "aud: the token is not for this client");
        return -1;
    }
    const char *nonce = jwt_claim_str(j, "nonce");
    if (e->nonce && (!nonce || !util_secure_streq(nonce, e->nonce))) {
        snprintf(err, errlen, "nonce: does not match the login's");
        return -1;
    }
    return 0;
}
