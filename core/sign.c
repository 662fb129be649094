#include "sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

void sign_b64url(const unsigned char *in, size_t n, struct sbuf *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    sbuf_reserve(out, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        char q[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
        sbuf_append(out, q, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        char q[2] = {tbl[v >> 18], tbl[(v >> 12) & 63]};
        sbuf_append(out, q, 2);
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        char q[3] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63]};
        sbuf_append(out, q, 3);
    }
}

void sign_request(const char *key, const char *url, const char *body, size_t body_len,
                  const char *jti, int64_t now_s, struct sbuf *out)
{
    unsigned char digest[32];
    unsigned int dn = 0;
    EVP_Digest(body ? body : "", body ? body_len : 0, digest, &dn, EVP_sha256(), NULL);
    char hex[65];
    util_hex(digest, 32, hex);

    struct sbuf claims;
    sbuf_init(&claims);
    sbuf_printf(&claims, "{\"iss\":\"ingot\",\"iat\":%lld,\"exp\":%lld,\"jti\":", (long long)now_s,
                (long long)now_s + SIGN_TTL_S);
    sbuf_json_str(&claims, jti);
    sbuf_puts(&claims, ",\"url\":");
    sbuf_json_str(&claims, url);
    sbuf_printf(&claims, ",\"body_sha256\":\"%s\"}", hex);

    size_t start = out->len;
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    sign_b64url((const unsigned char *)header, sizeof header - 1, out);
    sbuf_putc(out, '.');
    sign_b64url((const unsigned char *)claims.data, claims.len, out);
    unsigned char mac[32];
    unsigned int mn = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out->data + start,
         out->len - start, mac, &mn);
    sbuf_putc(out, '.');
    sign_b64url(mac, 32, out);
    sbuf_deinit(&claims);
}
