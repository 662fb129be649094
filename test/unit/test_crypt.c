/* crypt: AES-256-GCM sealing of secrets at rest. */
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "crypt.h"

#define KEY_A "0001020304050607080910111213141516171819202122232425262728293031"
#define KEY_B "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
#define SECRET "sk-test-0123456789abcdef"

static void test_round_trip(void)
{
    char err[256];
    struct crypt *c = crypt_new(KEY_A, "", err, sizeof err);
    test_cond("new", c != NULL);
    test_cond("ready", crypt_ready(c));
    test_cond("id is 8 hex", strlen(crypt_current_id(c)) == CRYPT_KEYID_LEN);
    char aad[CRYPT_AAD_MAX];
    crypt_aad_provider(aad, "acme");
    test_streq("aad", aad, "provider:acme");
    char *s = crypt_seal(c, aad, SECRET, strlen(SECRET), err, sizeof err);
    test_cond("sealed", s != NULL);
    test_cond("prefix", strncmp(s, "v1.", 3) == 0);
    char id[CRYPT_KEYID_LEN + 1];
    test_cond("keyid parses", crypt_keyid(s, id) == 0);
    test_streq("keyid is current", id, crypt_current_id(c));
    test_cond("no plaintext in sealed", strstr(s, SECRET) == NULL && strstr(s, "sk-") == NULL);
    test_cond("no key in sealed", strstr(s, KEY_A) == NULL && strstr(s, "00010203") == NULL);
    size_t len = 0;
    char *p = crypt_open(c, aad, s, &len, err, sizeof err);
    test_streq("opens", p, SECRET);
    test_cond("length", len == strlen(SECRET));
    crypt_secret_free(p);

    /* Empty secret and a long one. */
    char *e = crypt_seal(c, aad, "", 0, err, sizeof err);
    p = e ? crypt_open(c, aad, e, &len, err, sizeof err) : NULL;
    test_cond("empty round trip", p && len == 0 && *p == '\0');
    crypt_secret_free(p);
    free(e);
    char big[3001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    e = crypt_seal(c, aad, big, strlen(big), err, sizeof err);
    p = e ? crypt_open(c, aad, e, NULL, err, sizeof err) : NULL;
    test_streq("long round trip", p, big);
    crypt_secret_free(p);
    free(e);

    /* Wrong AAD: the value copied onto another row. */
    char other[CRYPT_AAD_MAX];
    crypt_aad_provider(other, "acme2");
    p = crypt_open(c, other, s, NULL, err, sizeof err);
    test_cond("wrong aad refused", p == NULL);
    test_cond("wrong aad says so", strstr(err, "does not open") != NULL);
    test_cond("error has no secret", strstr(err, SECRET) == NULL && strstr(err, KEY_A) == NULL);
    crypt_aad_tenant(other, 7, "acme");
    test_streq("tenant aad", other, "tenant:7:acme");
    test_cond("tenant aad refused", crypt_open(c, other, s, NULL, err, sizeof err) == NULL);
    free(s);
    crypt_free(c);
}

static void test_tamper(void)
{
    char err[256];
    struct crypt *c = crypt_new(KEY_A, KEY_B, err, sizeof err);
    char *s = crypt_seal(c, "provider:x", SECRET, strlen(SECRET), err, sizeof err);
    size_t n = strlen(s);
    int refused = 0, tried = 0;
    /* Every position, three different replacements each (a base64 symbol,
     * another symbol, and a byte outside the alphabet). */
    const char repl[] = {'A', 'z', '!'};
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < sizeof repl; r++) {
            if (s[i] == repl[r])
                continue;
            char *t = xstrdup(s);
            t[i] = repl[r];
            tried++;
            char *p = crypt_open(c, "provider:x", t, NULL, err, sizeof err);
            refused += p == NULL;
            crypt_secret_free(p);
            free(t);
        }
    }
    test_cond("every changed byte refused", refused == tried && tried > 100);
    /* Flip every bit of every byte. */
    refused = tried = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            char *t = xstrdup(s);
            t[i] = (char)(t[i] ^ (1 << b));
            if (t[i] == '\0') {
                free(t);
                continue;
            }
            tried++;
            char *p = crypt_open(c, "provider:x", t, NULL, err, sizeof err);
            refused += p == NULL;
            crypt_secret_free(p);
            free(t);
        }
    }
    test_cond("every flipped bit refused", refused == tried);
    /* Truncated and extended. */
    char *t = xstrndup(s, n - 4);
    test_cond("truncated refused", crypt_open(c, "provider:x", t, NULL, err, sizeof err) == NULL);
    free(t);
    t = xasprintf("%sAAAA", s);
    test_cond("extended refused", crypt_open(c, "provider:x", t, NULL, err, sizeof err) == NULL);
    free(t);
    test_cond("garbage refused", crypt_open(c, "provider:x", "hello", NULL, err, sizeof err) == NULL);
    test_cond("garbage says format", strstr(err, "not a sealed value") != NULL);
    test_cond("empty data refused", crypt_open(c, "provider:x", "v1.0123abcd.", NULL, err, sizeof err) == NULL);
    free(s);
    crypt_free(c);
}

static void test_keys(void)
{
    char err[256];
    struct crypt *a = crypt_new(KEY_A, "", err, sizeof err);
    struct crypt *b = crypt_new(KEY_B, "", err, sizeof err);
    struct crypt *ba = crypt_new(KEY_B, KEY_A, err, sizeof err);
    test_cond("ids differ", strcmp(crypt_current_id(a), crypt_current_id(b)) != 0);
    test_streq("id stable", crypt_current_id(ba), crypt_current_id(b));
    char *s = crypt_seal(a, "tenant:1:p", SECRET, strlen(SECRET), err, sizeof err);

    /* Unknown key id: names both ids it knows, never a key. */
    char *p = crypt_open(b, "tenant:1:p", s, NULL, err, sizeof err);
    test_cond("unknown key id refused", p == NULL);
    test_cond("unknown key id says so", strstr(err, "neither ENCRYPTION_KEY") != NULL &&
                                            strstr(err, crypt_current_id(a)) != NULL);
    test_cond("no key in error", strstr(err, KEY_B) == NULL && strstr(err, KEY_A) == NULL);

    /* The previous key still opens what it sealed. */
    p = crypt_open(ba, "tenant:1:p", s, NULL, err, sizeof err);
    test_streq("previous key opens", p, SECRET);
    /* Re-sealing goes under the current key. */
    char *r = crypt_seal(ba, "tenant:1:p", p, strlen(p), err, sizeof err);
    crypt_secret_free(p);
    char id[CRYPT_KEYID_LEN + 1];
    test_cond("resealed id", crypt_keyid(r, id) == 0 && strcmp(id, crypt_current_id(b)) == 0);
    p = crypt_open(b, "tenant:1:p", r, NULL, err, sizeof err);
    test_streq("new key alone opens", p, SECRET);
    crypt_secret_free(p);
    test_cond("old key cannot open resealed", crypt_open(a, "tenant:1:p", r, NULL, err, sizeof err) == NULL);

    /* A forged id: the right format, the other key's id on A's data. */
    char *forged = xstrdup(s);
    memcpy(forged + 3, crypt_current_id(b), CRYPT_KEYID_LEN);
    test_cond("forged id refused", crypt_open(ba, "tenant:1:p", forged, NULL, err, sizeof err) == NULL);
    test_cond("forged id: not authentic", strstr(err, "does not open") != NULL);
    free(forged);

    /* No key at all. */
    struct crypt *none = crypt_new("", NULL, err, sizeof err);
    test_cond("no key: object", none != NULL && !crypt_ready(none));
    test_cond("no key: no seal", crypt_seal(none, "x", "y", 1, err, sizeof err) == NULL);
    test_cond("no key: seal says", strstr(err, "ENCRYPTION_KEY is not set") != NULL);
    test_cond("no key: no open", crypt_open(none, "tenant:1:p", s, NULL, err, sizeof err) == NULL);
    test_cond("no key: open says", strstr(err, "ENCRYPTION_KEY is not set") != NULL);
    test_cond("bad key refused", crypt_new("short", "", err, sizeof err) == NULL);
    test_cond("bad key names setting", strstr(err, "ENCRYPTION_KEY") != NULL && strstr(err, "short") == NULL);
    test_cond("bad previous refused", crypt_new(KEY_A, "zz", err, sizeof err) == NULL);
    test_cond("bad previous named", strstr(err, "ENCRYPTION_KEY_PREVIOUS") != NULL);
    free(r);
    free(s);
    crypt_free(none);
    crypt_free(a);
    crypt_free(b);
    crypt_free(ba);
}

static void test_nonces(void)
{
    char err[256];
    struct crypt *c = crypt_new(KEY_A, "", err, sizeof err);
    enum { N = 200 };
    char *s[N];
    for (int i = 0; i < N; i++)
        s[i] = crypt_seal(c, "provider:x", SECRET, strlen(SECRET), err, sizeof err);
    int dup = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dup += strncmp(s[i] + 12, s[j] + 12, 16) == 0; /* the nonce's base64 */
    test_cond("nonces unique", dup == 0);
    for (int i = 0; i < N; i++)
        free(s[i]);
    crypt_free(c);
}

int main(void)
{
    test_round_trip();
    test_tamper();
    test_keys();
    test_nonces();
    test_report();
}
