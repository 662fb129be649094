/* jwt: base64url, HS256, RS256 and ES256 verification against JWKs made
 * from keys generated here, the ES256 signature conversions, claims. */
#include <cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "jwt.h"

static char *b64(const unsigned char *p, size_t n)
{
    struct sbuf b;
    sbuf_init(&b);
    jwt_b64url_encode(p, n, &b);
    return sbuf_steal(&b);
}

static void test_b64url(void)
{
    struct sbuf b;
    sbuf_init(&b);
    test_cond("decode 'Zm9v'", jwt_b64url_decode("Zm9v", 4, &b) == 0 && b.len == 3 && memcmp(b.data, "foo", 3) == 0);
    sbuf_reset(&b);
    test_cond("decode without padding", jwt_b64url_decode("Zm8", 3, &b) == 0 && b.len == 2 && memcmp(b.data, "fo", 2) == 0);
    sbuf_reset(&b);
    test_cond("padding tolerated", jwt_b64url_decode("Zm8=", 4, &b) == 0 && b.len == 2);
    sbuf_reset(&b);
    test_cond("url alphabet", jwt_b64url_decode("-_8", 3, &b) == 0 && b.len == 2 &&
                                  (unsigned char)b.data[0] == 0xfb && (unsigned char)b.data[1] == 0xff);
    sbuf_reset(&b);
    test_cond("'+' refused", jwt_b64url_decode("+/8", 3, &b) < 0);
    sbuf_reset(&b);
    test_cond("one char left refused", jwt_b64url_decode("Zm9vY", 5, &b) < 0);
    sbuf_reset(&b);
    test_cond("non-zero trailing bits refused", jwt_b64url_decode("Zm9", 3, &b) < 0);
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n < 7; n++) {
        char *e = b64(all + 250 - n, n + 3);
        sbuf_reset(&b);
        test_cond("round trip", jwt_b64url_decode(e, strlen(e), &b) == 0 && b.len == n + 3 &&
                                    memcmp(b.data, all + 250 - n, n + 3) == 0);
        free(e);
    }
    sbuf_deinit(&b);
}

static void test_hs256(void)
{
    char err[200];
    struct sbuf t;
    sbuf_init(&t);
    jwt_hs256_sign("k-0123456789abcdef0123456789abcdef", "{\"sub\":\"a\",\"exp\":4000000000}", &t);
    struct jwt j;
    test_cond("parse", jwt_parse(t.data, &j, err, sizeof err) == 0 && j.alg == JWT_ALG_HS256);
    test_cond("verifies", jwt_verify_hs256(&j, "k-0123456789abcdef0123456789abcdef", err, sizeof err) == 0);
    test_cond("other key refused", jwt_verify_hs256(&j, "k-0123456789abcdef0123456789abcdeX", err, sizeof err) < 0);
    test_streq("claim", jwt_claim_str(&j, "sub"), "a");
    jwt_deinit(&j);
    /* tampered payload: the same header and signature over other claims */
    char *dot = strchr(t.data, '.');
    char *other = b64((const unsigned char *)"{\"sub\":\"b\",\"exp\":4000000000}", 28);
    char *tam = xasprintf("%.*s.%s%s", (int)(dot - t.data), t.data, other, strrchr(t.data, '.'));
    test_cond("tampered parses", jwt_parse(tam, &j, err, sizeof err) == 0 && strcmp(jwt_claim_str(&j, "sub"), "b") == 0);
    test_cond("tampered refused", jwt_verify_hs256(&j, "k-0123456789abcdef0123456789abcdef", err, sizeof err) < 0);
    jwt_deinit(&j);
    free(tam);
    free(other);
    /* alg none */
    char none[256];
    char *h = b64((const unsigned char *)"{\"alg\":\"none\"}", 14);
    snprintf(none, sizeof none, "%s.%s.", h, dot + 1);
    free(h);
    *strchr(strchr(none, '.') + 1, '.') = '\0';
    strcat(none, ".");
    test_cond("alg none refused", jwt_parse(none, &j, err, sizeof err) < 0 && strstr(err, "alg"));
    jwt_deinit(&j);
    test_cond("two parts refused", jwt_parse("a.b", &j, err, sizeof err) < 0);
    jwt_deinit(&j);
    test_cond("four parts refused", jwt_parse("a.b.c.d", &j, err, sizeof err) < 0);
    jwt_deinit(&j);
    sbuf_deinit(&t);
}

/* A signed token with header {"alg","kid"} and claims, by key k. */
static char *sign_with(EVP_PKEY *k, const char *alg, const char *kid, const char *claims)
{
    char hdr[128];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    struct sbuf t;
    sbuf_init(&t);
    jwt_b64url_encode((const unsigned char *)hdr, strlen(hdr), &t);
    sbuf_putc(&t, '.');
    jwt_b64url_encode((const unsigned char *)claims, strlen(claims), &t);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSign(ctx, NULL, &n, (unsigned char *)t.data, t.len);
    unsigned char *sig = malloc(n);
    EVP_DigestSign(ctx, sig, &n, (unsigned char *)t.data, t.len);
    EVP_MD_CTX_free(ctx);
    sbuf_putc(&t, '.');
    if (strcmp(alg, "ES256") == 0) {
        unsigned char raw[64];
        test_cond("DER to raw", jwt_es256_der_to_raw(sig, n, raw) == 0);
        struct sbuf der;
        sbuf_init(&der);
        test_cond("raw to DER gives the same DER", jwt_es256_raw_to_der(raw, 64, &der) == 0 &&
                                                       der.len == n && memcmp(der.data, sig, n) == 0);
        sbuf_deinit(&der);
        jwt_b64url_encode(raw, 64, &t);
    } else {
        jwt_b64url_encode(sig, n, &t);
    }
    free(sig);
    return sbuf_steal(&t);
}

static char *bn_b64(EVP_PKEY *k, const char *param)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, param, &bn);
    unsigned char buf[512];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64(buf, (size_t)n);
}

static cJSON *jwk_of(EVP_PKEY *k, const char *kid)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kid", kid);
    cJSON_AddStringToObject(o, "use", "sig");
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E);
        cJSON_AddStringToObject(o, "kty", "RSA");
        cJSON_AddStringToObject(o, "n", n);
        cJSON_AddStringToObject(o, "e", e);
        free(n);
        free(e);
    } else {
        unsigned char pub[65];
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len);
        char *x = b64(pub + 1, 32), *y = b64(pub + 33, 32);
        cJSON_AddStringToObject(o, "kty", "EC");
        cJSON_AddStringToObject(o, "crv", "P-256");
        cJSON_AddStringToObject(o, "x", x);
        cJSON_AddStringToObject(o, "y", y);
        free(x);
        free(y);
    }
    return o;
}

static void test_pkey(void)
{
    char err[200];
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cJSON *jr = jwk_of(rsa, "r1"), *je = jwk_of(ec, "e1"), *je2 = jwk_of(ec2, "e2");
    EVP_PKEY *kr = jwt_jwk_key(jr, err, sizeof err), *ke = jwt_jwk_key(je, err, sizeof err);
    EVP_PKEY *ke2 = jwt_jwk_key(je2, err, sizeof err);
    test_cond("RSA JWK", kr != NULL);
    test_cond("EC JWK", ke != NULL && ke2 != NULL);
    const char *claims = "{\"iss\":\"http://idp\",\"aud\":\"ingot\",\"sub\":\"u1\",\"exp\":4000000000,\"nonce\":\"n1\"}";
    struct jwt j;

    char *tr = sign_with(rsa, "RS256", "r1", claims);
    test_cond("RS256 parse", jwt_parse(tr, &j, err, sizeof err) == 0 && j.alg == JWT_ALG_RS256);
    test_streq("kid", j.kid, "r1");
    test_cond("RS256 verifies", jwt_verify_pkey(&j, kr, err, sizeof err) == 0);
    test_cond("RS256 under an EC key refused", jwt_verify_pkey(&j, ke, err, sizeof err) < 0);
    test_cond("RS256 as HS256 refused", jwt_verify_hs256(&j, "x", err, sizeof err) < 0);
    j.sig[10] ^= 1;
    test_cond("RS256 flipped bit refused", jwt_verify_pkey(&j, kr, err, sizeof err) < 0 && strstr(err, "signature"));
    jwt_deinit(&j);

    char *te = sign_with(ec, "ES256", "e1", claims);
    test_cond("ES256 parse", jwt_parse(te, &j, err, sizeof err) == 0 && j.alg == JWT_ALG_ES256 && j.sig_len == 64);
    test_cond("ES256 verifies", jwt_verify_pkey(&j, ke, err, sizeof err) == 0);
    test_cond("ES256 other EC key refused", jwt_verify_pkey(&j, ke2, err, sizeof err) < 0);
    test_cond("ES256 under the RSA key refused", jwt_verify_pkey(&j, kr, err, sizeof err) < 0);
    j.sig[40] ^= 0x80;
    test_cond("ES256 flipped bit refused", jwt_verify_pkey(&j, ke, err, sizeof err) < 0);
    j.sig_len = 63;
    test_cond("ES256 short signature refused", jwt_verify_pkey(&j, ke, err, sizeof err) < 0);
    jwt_deinit(&j);

    /* claims */
    test_cond("claims parse", jwt_parse(te, &j, err, sizeof err) == 0);
    struct jwt_expect e = {"http://idp", "ingot", "n1", 60};
    test_cond("claims ok", jwt_check_claims(&j, &e, 1700000000, err, sizeof err) == 0);
    e.iss = "http://other";
    test_cond("wrong iss", jwt_check_claims(&j, &e, 1700000000, err, sizeof err) < 0 && strncmp(err, "iss", 3) == 0);
    e.iss = "http://idp";
    e.aud = "other";
    test_cond("wrong aud", jwt_check_claims(&j, &e, 1700000000, err, sizeof err) < 0 && strncmp(err, "aud", 3) == 0);
    e.aud = "ingot";
    e.nonce = "n2";
    test_cond("wrong nonce", jwt_check_claims(&j, &e, 1700000000, err, sizeof err) < 0 && strncmp(err, "nonce", 5) == 0);
    e.nonce = "n1";
    test_cond("expired", jwt_check_claims(&j, &e, 4000000000LL + 61, err, sizeof err) < 0 && strncmp(err, "exp", 3) == 0);
    test_cond("within leeway", jwt_check_claims(&j, &e, 4000000000LL + 59, err, sizeof err) == 0);
    jwt_deinit(&j);
    char *ta = sign_with(ec, "ES256", "e1", "{\"aud\":[\"x\",\"ingot\"],\"exp\":4000000000}");
    e.iss = NULL;
    e.nonce = NULL;
    test_cond("aud array", jwt_parse(ta, &j, err, sizeof err) == 0 && jwt_check_claims(&j, &e, 1700000000, err, sizeof err) == 0);
    jwt_deinit(&j);
    char *tn = sign_with(ec, "ES256", "e1", "{\"aud\":\"ingot\"}");
    test_cond("exp required", jwt_parse(tn, &j, err, sizeof err) == 0 && jwt_check_claims(&j, &e, 1700000000, err, sizeof err) < 0);
    jwt_deinit(&j);

    /* JWKs refused */
    cJSON *bad = cJSON_Parse("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}");
    test_cond("P-384 refused", jwt_jwk_key(bad, err, sizeof err) == NULL);
    cJSON_Delete(bad);
    bad = cJSON_Parse("{\"kty\":\"oct\",\"k\":\"AA\"}");
    test_cond("oct refused", jwt_jwk_key(bad, err, sizeof err) == NULL && strstr(err, "kty"));
    cJSON_Delete(bad);
    cJSON_ReplaceItemInObject(jr, "use", cJSON_CreateString("enc"));
    test_cond("use enc refused", jwt_jwk_key(jr, err, sizeof err) == NULL);
    cJSON_ReplaceItemInObject(je, "x", cJSON_CreateString("AAAA"));
    test_cond("EC short x refused", jwt_jwk_key(je, err, sizeof err) == NULL);

    free(tr);
    free(te);
    free(ta);
    free(tn);
    cJSON_Delete(jr);
    cJSON_Delete(je);
    cJSON_Delete(je2);
    EVP_PKEY_free(kr);
    EVP_PKEY_free(ke);
    EVP_PKEY_free(ke2);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec2);
}

int main(void)
{
    test_b64url();
    test_hs256();
    test_pkey();
    test_report();
}
