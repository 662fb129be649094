/* crypt: secrets at rest (providers' and tenants' API keys), sealed with
 * AES-256-GCM under ENCRYPTION_KEY. A sealed text is
 *     "v1.<key id>.<base64(nonce 12 | ciphertext | tag 16)>"
 * with a fresh random 96-bit nonce each time. The key id is 8 hex chars of
 * SHA-256 over a fixed label and the key (never the key): opening picks the
 * key by it, so ENCRYPTION_KEY_PREVIOUS keeps older values readable during
 * a rotation. The AAD binds a value to its use ("provider:NAME",
 * "tenant:ID:PROVIDER"): a sealed value copied onto another row does not
 * open. Errors name what is wrong, never a key or a plaintext. */
#ifndef INGOT_CRYPT_H
#define INGOT_CRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define CRYPT_KEYID_LEN 8
#define CRYPT_AAD_MAX 160

struct crypt;

/* current, previous: the settings' text (64 hex or base64 of 32 bytes);
 * "" or NULL for none. Without a current key nothing can be sealed or
 * opened but the object still exists (crypt_ready says so). NULL with err
 * when a given key does not decode. Returns owned. */
struct crypt *crypt_new(const char *current, const char *previous, char *err, size_t errlen);
/* Cleanses the keys. NULL is fine. */
void crypt_free(struct crypt *c);
/* A current key is set. */
bool crypt_ready(const struct crypt *c);
/* The current key's id ("" when none). Borrowed. */
const char *crypt_current_id(const struct crypt *c);

/* Seals plain (len bytes) under the current key with aad. Returns the
 * sealed text (owned, NUL-terminated) or NULL with err. */
char *crypt_seal(const struct crypt *c, const char *aad, const void *plain, size_t len, char *err,
                 size_t errlen);
/* Opens sealed with aad under the key its id names. Returns the plaintext
 * (owned, NUL-terminated; free with crypt_secret_free) or NULL with err:
 * malformed, unknown key id, or not authentic (wrong key, wrong row or
 * tampered). *len gets the plaintext length when len is not NULL. */
char *crypt_open(const struct crypt *c, const char *aad, const char *sealed, size_t *len,
                 char *err, size_t errlen);
/* The key id of a sealed text into out (CRYPT_KEYID_LEN + 1 bytes). 0/-1. */
int crypt_keyid(const char *sealed, char *out) ATTR_WUR;
/* Zeroes then frees a secret (NULL is fine). */
void crypt_secret_free(char *s);
/* Wipes the string s (up to its NUL) where it is: a secret in a buffer
 * that is not freed (the stack). NULL: nothing. */
void crypt_secret_wipe(char *s);

/* AADs of the values the gateway stores (out: CRYPT_AAD_MAX bytes). */
void crypt_aad_provider(char *out, const char *provider);
void crypt_aad_tenant(char *out, unsigned long long tenant, const char *provider);

#endif
