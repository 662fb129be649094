#include "crypt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX "v1."
/* Longest sealed secret we open: far above any API key, and it bounds the
 * allocation a corrupt row can ask for. */
#define SEALED_MAX 65536

struct crypt_key {
    bool set;
    unsigned char key[32];
    char id[CRYPT_KEYID_LEN + 1];
};

struct crypt {
    struct crypt_key cur, prev;
};

/* The id is a hash of a label and the key: it tells keys apart without
 * giving anything about the key away (256 bits, so no brute force). */
static int key_load(struct crypt_key *k, const char *text, const char *name, char *err, size_t errlen)
{
    if (!text || !*text)
        return 0;
    if (config_key32_decode(text, k->key) < 0) {
        snprintf(err, errlen, "%s must be 32 bytes as 64 hex characters or base64", name);
        return -1;
    }
    static const char label[] = "ingot encryption key id v1";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, label, sizeof label) != 1 ||
        EVP_DigestUpdate(ctx, k->key, sizeof k->key) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        EVP_MD_CTX_free(ctx);
        OPENSSL_cleanse(k->key, sizeof k->key);
        snprintf(err, errlen, "SHA-256 unavailable");
        return -1;
    }
    EVP_MD_CTX_free(ctx);
    util_hex(md, CRYPT_KEYID_LEN / 2, k->id);
    k->set = true;
    return 0;
}

struct crypt *crypt_new(const char *current, const char *previous, char *err, size_t errlen)
{
    struct crypt *c = xcalloc(1, sizeof *c);
    if (key_load(&c->cur, current, "ENCRYPTION_KEY", err, errlen) < 0 ||
        key_load(&c->prev, previous, "ENCRYPTION_KEY_PREVIOUS", err, errlen) < 0) {
        crypt_free(c);
        return NULL;
    }
    return c;
}

void crypt_free(struct crypt *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

bool crypt_ready(const struct crypt *c)
{
    return c && c->cur.set;
}

const char *crypt_current_id(const struct crypt *c)
{
    return c && c->cur.set ? c->cur.id : "";
}

void crypt_secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void crypt_secret_wipe(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
}

void crypt_aad_provider(char *out, const char *provider)
{
    snprintf(out, CRYPT_AAD_MAX, "provider:%s", provider);
}

void crypt_aad_tenant(char *out, unsigned long long tenant, const char *provider)
{
    snprintf(out, CRYPT_AAD_MAX, "tenant:%llu:%s", tenant, provider);
}

/* One GCM pass; enc: seal (tag written), else open (tag checked). 0/-1. */
static int gcm(bool enc, const unsigned char key[32], const unsigned char *nonce, const char *aad,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx != NULL;
    size_t alen = aad ? strlen(aad) : 0;
    if (len > (size_t)1 << 30 || alen > (size_t)1 << 20)
        ok = 0;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1;
    ok = ok && (!alen || EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)alen) == 1);
    ok = ok && (!len || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (!enc)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) == 1;
    if (enc)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

char *crypt_seal(const struct crypt *c, const char *aad, const void *plain, size_t len, char *err,
                 size_t errlen)
{
    if (!crypt_ready(c)) {
        snprintf(err, errlen, "ENCRYPTION_KEY is not set");
        return NULL;
    }
    if (len > SEALED_MAX / 2) {
        snprintf(err, errlen, "secret too long (%zu bytes)", len);
        return NULL;
    }
    size_t blen = NONCE_LEN + len + TAG_LEN;
    unsigned char *bin = xmalloc(blen);
    if (util_random_bytes(bin, NONCE_LEN) < 0 ||
        gcm(true, c->cur.key, bin, aad, plain, len, bin + NONCE_LEN, bin + NONCE_LEN + len) < 0) {
        OPENSSL_cleanse(bin, blen);
        free(bin);
        snprintf(err, errlen, "cannot seal: OpenSSL failed");
        return NULL;
    }
    size_t plen = strlen(PREFIX) + CRYPT_KEYID_LEN + 1;
    char *out = xmalloc(plen + 4 * ((blen + 2) / 3) + 1);
    snprintf(out, plen + 1, PREFIX "%s.", c->cur.id);
    EVP_EncodeBlock((unsigned char *)out + plen, bin, (int)blen);
    free(bin);
    return out;
}

int crypt_keyid(const char *sealed, char *out)
{
    size_t pl = strlen(PREFIX);
    if (!sealed || strncmp(sealed, PREFIX, pl) != 0)
        return -1;
    const char *id = sealed + pl;
    for (int i = 0; i < CRYPT_KEYID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return -1;
    if (id[CRYPT_KEYID_LEN] != '.')
        return -1;
    memcpy(out, id, CRYPT_KEYID_LEN);
    out[CRYPT_KEYID_LEN] = '\0';
    return 0;
}

/* Decodes standard base64 with padding; only the canonical encoding of
 * the bytes is accepted (else a changed character in the unused low bits
 * of the last symbol would open to the same value: tampering unnoticed).
 * Returns owned bytes and their count, or NULL. */
static unsigned char *b64_decode(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > SEALED_MAX)
        return NULL;
    unsigned char *bin = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(bin, (const unsigned char *)s, (int)n);
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    if (got < 0 || (size_t)got < pad) {
        free(bin);
        return NULL;
    }
    size_t len = (size_t)got - pad;
    char *again = xmalloc(n + 1);
    EVP_EncodeBlock((unsigned char *)again, bin, (int)len);
    bool same = strcmp(again, s) == 0;
    free(again);
    if (!same) {
        free(bin);
        return NULL;
    }
    *outlen = len;
    return bin;
}

char *crypt_open(const struct crypt *c, const char *aad, const char *sealed, size_t *len, char *err,
                 size_t errlen)
{
    char id[CRYPT_KEYID_LEN + 1];
    if (crypt_keyid(sealed, id) < 0) {
        snprintf(err, errlen, "not a sealed value (expected v1.<key id>.<data>)");
        return NULL;
    }
    const struct crypt_key *k = NULL;
    if (c && c->cur.set && strcmp(c->cur.id, id) == 0)
        k = &c->cur;
    else if (c && c->prev.set && strcmp(c->prev.id, id) == 0)
        k = &c->prev;
    if (!k) {
        if (!crypt_ready(c))
            snprintf(err, errlen, "sealed under key id %s but ENCRYPTION_KEY is not set", id);
        else
            snprintf(err, errlen, "sealed under key id %s, which is neither ENCRYPTION_KEY (%s) nor "
                                  "ENCRYPTION_KEY_PREVIOUS (%s)", id, c->cur.id,
                     c->prev.set ? c->prev.id : "not set");
        return NULL;
    }
    size_t blen = 0;
    unsigned char *bin = b64_decode(sealed + strlen(PREFIX) + CRYPT_KEYID_LEN + 1, &blen);
    if (!bin || blen < NONCE_LEN + TAG_LEN) {
        free(bin);
        snprintf(err, errlen, "sealed value is malformed (bad base64 or too short)");
        return NULL;
    }
    size_t plen = blen - NONCE_LEN - TAG_LEN;
    char *plain = xmalloc(plen + 1);
    if (gcm(false, k->key, bin, aad, bin + NONCE_LEN, plen, (unsigned char *)plain,
            bin + NONCE_LEN + plen) < 0) {
        OPENSSL_cleanse(plain, plen + 1);
        free(plain);
        free(bin);
        snprintf(err, errlen, "sealed value does not open under key id %s: tampered, or copied "
                              "from another row", id);
        return NULL;
    }
    free(bin);
    plain[plen] = '\0';
    if (len)
        *len = plen;
    return plain;
}
