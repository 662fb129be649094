#include "session.h"

#include <cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "jwt.h"

void session_access_make(const char *secret, const struct session_claims *c, int64_t now_s,
                         long long ttl_ms, struct sbuf *out)
{
    struct sbuf cl;
    sbuf_init(&cl);
    sbuf_printf(&cl, "{\"iss\":\"ingot\",\"typ\":\"access\",\"sid\":%llu,\"sub\":",
                (unsigned long long)c->sid);
    sbuf_json_str(&cl, c->sub);
    sbuf_printf(&cl, ",\"knd\":\"%s\",\"tid\":%llu,\"kid\":%llu,\"iat\":%lld,\"exp\":%lld}",
                c->key ? "key" : "oidc", (unsigned long long)c->tenant,
                (unsigned long long)c->key_id, (long long)now_s,
                (long long)(now_s + (ttl_ms + 999) / 1000));
    jwt_hs256_sign(secret, cl.data, out);
    sbuf_deinit(&cl);
}

int session_access_verify(const char *secret, const char *token, int64_t now_s,
                          struct session_claims *c, char *err, size_t errlen)
{
    struct jwt j;
    memset(c, 0, sizeof *c);
    int rc = -1;
    if (jwt_parse(token, &j, err, errlen) < 0 || jwt_verify_hs256(&j, secret, err, errlen) < 0)
        goto out;
    const char *typ = jwt_claim_str(&j, "typ"), *sub = jwt_claim_str(&j, "sub");
    const char *knd = jwt_claim_str(&j, "knd");
    struct jwt_expect e = {.iss = "ingot"};
    if (!typ || strcmp(typ, "access") != 0 || !sub || !knd) {
        snprintf(err, errlen, "not an access token");
        goto out;
    }
    if (jwt_check_claims(&j, &e, now_s, err, errlen) < 0)
        goto out;
    c->sid = (uint64_t)jwt_claim_int(&j, "sid", 0);
    c->key = strcmp(knd, "key") == 0;
    c->tenant = (uint64_t)jwt_claim_int(&j, "tid", 0);
    c->key_id = (uint64_t)jwt_claim_int(&j, "kid", 0);
    c->exp = jwt_claim_int(&j, "exp", 0);
    snprintf(c->sub, sizeof c->sub, "%s", sub);
    rc = c->sid ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "not an access token");
out:
    jwt_deinit(&j);
    return rc;
}

int session_random_b64(size_t n, struct sbuf *out)
{
    unsigned char buf[64];
    if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1)
        return -1;
    jwt_b64url_encode(buf, n, out);
    return 0;
}

int session_refresh_new(char *tok)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "ir_");
    int rc = session_random_b64(32, &b);
    if (rc == 0)
        memcpy(tok, b.data, SESSION_REFRESH_LEN + 1);
    sbuf_deinit(&b);
    return rc;
}

bool session_refresh_wellformed(const char *tok)
{
    if (strlen(tok) != SESSION_REFRESH_LEN || strncmp(tok, "ir_", 3) != 0)
        return false;
    return strspn(tok + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           SESSION_REFRESH_LEN - 3;
}

void session_token_hash(const char *secret, const char *tok, char hex[65])
{
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tok, strlen(tok), mac, &n);
    util_hex(mac, sizeof mac, hex);
}

void session_csrf_token(const char *secret, uint64_t sid, char out[44])
{
    char msg[40];
    int l = snprintf(msg, sizeof msg, "csrf:%llu", (unsigned long long)sid);
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)l, mac, &n);
    struct sbuf b;
    sbuf_init(&b);
    jwt_b64url_encode(mac, sizeof mac, &b); /* 43 characters */
    memcpy(out, b.data, 44);
    sbuf_deinit(&b);
}

bool session_csrf_ok(const char *secret, uint64_t sid, const char *given)
{
    char want[44];
    session_csrf_token(secret, sid, want);
    return given && util_secure_streq(given, want);
}

void session_pkce_challenge(const char *verifier, struct sbuf *out)
{
    unsigned char d[32];
    unsigned int n = 0;
    EVP_Digest(verifier, strlen(verifier), d, &n, EVP_sha256(), NULL);
    jwt_b64url_encode(d, sizeof d, out);
}

bool session_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = header; p && *p;) {
        p += strspn(p, " \t;");
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            while (vl > 0 && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl + 1 > outlen)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return vl > 0;
        }
        p = end;
    }
    return false;
}

void session_set_cookie(struct sbuf *out, const char *name, const char *value, const char *path,
                        long long max_age_s, bool http_only, bool secure)
{
    sbuf_printf(out, "%s=%s; Path=%s; Max-Age=%lld%s; SameSite=Lax%s", name, value, path, max_age_s,
                http_only ? "; HttpOnly" : "", secure ? "; Secure" : "");
}
