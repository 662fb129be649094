#include "auth.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define CACHE_SLOTS 4096
#define NEGATIVE_MS 5000
#define MEMO_SLOTS 256

struct slot {
    char hash[65];
    uint64_t tenant_id; /* 0: known bad */
    uint64_t key_id;
    int64_t expires_ms;
};

struct auth {
    struct db_pool *db;
    char *secret;
    struct slot *cache;
    /* HMAC keyed once: re-initialised per request without fetching the
     * algorithm and hashing the key again (NULL: the one-shot HMAC). */
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_ctx;
    /* The HMAC of recently presented keys: a key used again costs a
     * compare, not two SHA-256 runs. It holds the keys themselves, as the
     * requests carrying them do; wiped when freed. A hit compares the
     * whole key; slots are picked by a hash seeded at random per process,
     * and two keys sharing a slot only cost a recomputation. */
    struct memo {
        char key[AUTH_KEY_LEN + 1];
        char hash[65];
    } *memo;
    uint64_t memo_seed;
};

struct lookup {
    struct auth *a;
    char hash[65];
    auth_cb cb;
    void *arg;
};

int auth_key_generate(char *key, char *prefix)
{
    unsigned char rnd[20];
    if (util_random_bytes(rnd, sizeof rnd) < 0)
        return -1;
    key[0] = 'i';
    key[1] = 'k';
    key[2] = '_';
    util_hex(rnd, sizeof rnd, key + 3);
    memcpy(prefix, key, AUTH_PREFIX_LEN);
    prefix[AUTH_PREFIX_LEN] = '\0';
    return 0;
}

void auth_key_hash(const char *secret, const char *key, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)key, strlen(key), md, &n);
    util_hex(md, 32, hex);
}

/* auth_key_hash with the keyed context; false: use the one-shot. */
static bool key_hash_fast(struct auth *a, const char *key, char hex[65])
{
    unsigned char md[32];
    size_t n = 0;
    if (!a->mac_ctx || !EVP_MAC_init(a->mac_ctx, NULL, 0, NULL) ||
        !EVP_MAC_update(a->mac_ctx, (const unsigned char *)key, strlen(key)) ||
        !EVP_MAC_final(a->mac_ctx, md, &n, sizeof md) || n != sizeof md)
        return false;
    util_hex(md, 32, hex);
    return true;
}

/* a and b (AUTH_KEY_LEN + 1 bytes each) are equal, in constant time as
 * CRYPTO_memcmp, a word at a time (every request compares one). */
static bool key_eq(const char *a, const char *b)
{
    uint64_t d = 0, x, y;
    size_t i = 0;
    for (; i + 8 <= AUTH_KEY_LEN + 1; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        d |= x ^ y;
    }
    for (; i < AUTH_KEY_LEN + 1; i++)
        d |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
    return d == 0;
}

/* key is well formed (AUTH_KEY_LEN characters). */
static void key_hash(struct auth *a, const char *key, char hex[65])
{
    uint64_t h = a->memo_seed, w;
    size_t i = 0;
    for (; i + 8 <= AUTH_KEY_LEN; i += 8) { /* a word at a time: only the memo slot depends on it */
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 1099511628211ULL;
        h ^= h >> 32;
    }
    for (; i < AUTH_KEY_LEN; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
    struct memo *m = &a->memo[(h ^ (h >> 29)) % MEMO_SLOTS];
    if (key_eq(m->key, key)) {
        memcpy(hex, m->hash, 65);
        return;
    }
    if (!key_hash_fast(a, key, hex))
        auth_key_hash(a->secret, key, hex);
    memcpy(m->key, key, AUTH_KEY_LEN + 1);
    memcpy(m->hash, hex, 65);
}

static void mac_setup(struct auth *a)
{
    char sha[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha, 0), OSSL_PARAM_END};
    a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    a->mac_ctx = a->mac ? EVP_MAC_CTX_new(a->mac) : NULL;
    if (a->mac_ctx && EVP_MAC_init(a->mac_ctx, (const unsigned char *)a->secret, strlen(a->secret), params)) {
        char x[65], y[65]; /* the re-initialised context must agree with the one-shot, twice */
        auth_key_hash(a->secret, "ik_check", x);
        if (key_hash_fast(a, "ik_check", y) && memcmp(x, y, 65) == 0 && key_hash_fast(a, "ik_check", y) &&
            memcmp(x, y, 65) == 0)
            return;
    }
    EVP_MAC_CTX_free(a->mac_ctx);
    EVP_MAC_free(a->mac);
    a->mac_ctx = NULL;
    a->mac = NULL;
}

/* 1 for the digits of a key: 0-9 a-f. */
static const unsigned char key_digit[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
};

bool auth_key_wellformed(const char *s)
{
    /* "ik_" and 40 lowercase hex digits: the length first, then every
     * digit without a branch each (every request) */
    if (strlen(s) != AUTH_KEY_LEN || s[0] != 'i' || s[1] != 'k' || s[2] != '_')
        return false;
    unsigned ok = 1;
    for (size_t i = 3; i < AUTH_KEY_LEN; i++)
        ok &= key_digit[(unsigned char)s[i]];
    return ok;
}

struct auth *auth_new(struct db_pool *db, const char *secret)
{
    struct auth *a = xcalloc(1, sizeof *a);
    a->db = db;
    a->secret = xstrdup(secret);
    a->cache = xcalloc(CACHE_SLOTS, sizeof *a->cache);
    a->memo = xcalloc(MEMO_SLOTS, sizeof *a->memo);
    if (util_random_bytes(&a->memo_seed, sizeof a->memo_seed) < 0)
        a->memo_seed = (uint64_t)time_real_us();
    a->memo_seed ^= 1469598103934665603ULL;
    mac_setup(a);
    return a;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    EVP_MAC_CTX_free(a->mac_ctx);
    EVP_MAC_free(a->mac);
    OPENSSL_cleanse(a->secret, strlen(a->secret));
    free(a->secret);
    free(a->cache);
    OPENSSL_cleanse(a->memo, MEMO_SLOTS * sizeof *a->memo);
    free(a->memo);
    free(a);
}

static struct slot *slot_for(struct auth *a, const char *hash)
{
    /* The first 8 hex digits (util_hex's, lowercase) as a number. */
    unsigned long idx = 0;
    for (int i = 0; i < 8; i++) {
        unsigned c = (unsigned char)hash[i];
        idx = idx << 4 | (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return &a->cache[idx % CACHE_SLOTS];
}

static void lookup_cb(const struct db_result *r, void *arg)
{
    struct lookup *l = arg;
    if (!r->ok) {
        if (r->err_code != DB_ERR_SHUTDOWN)
            l->cb(0, 0, r->error, l->arg);
        else
            l->cb(0, 0, "shutting down", l->arg);
        free(l);
        return;
    }
    MYSQL_ROW row = mysql_fetch_row(r->res);
    uint64_t tenant = row ? (uint64_t)db_row_ll(row, 0) : 0;
    uint64_t key = row ? (uint64_t)db_row_ll(row, 1) : 0;
    struct slot *s = slot_for(l->a, l->hash);
    memcpy(s->hash, l->hash, sizeof s->hash);
    s->tenant_id = tenant;
    s->key_id = key;
    s->expires_ms = time_mono_ms() + (tenant ? AUTH_CACHE_MS : NEGATIVE_MS);
    l->cb(tenant, key, NULL, l->arg);
    free(l);
}

void auth_check(struct auth *a, const char *authorization, auth_cb cb, void *arg)
{
    if (!authorization || strncmp(authorization, "Bearer ", 7) != 0) {
        cb(0, 0, NULL, arg);
        return;
    }
    auth_check_key(a, authorization + 7, cb, arg);
}

void auth_check_key(struct auth *a, const char *key, auth_cb cb, void *arg)
{
    if (!key || !auth_key_wellformed(key)) {
        cb(0, 0, NULL, arg);
        return;
    }
    char hash[65];
    key_hash(a, key, hash);
    struct slot *s = slot_for(a, hash);
    if (s->expires_ms > time_mono_ms() && memcmp(s->hash, hash, 64) == 0) {
        cb(s->tenant_id, s->key_id, NULL, arg);
        return;
    }
    struct lookup *l = xcalloc(1, sizeof *l);
    l->a = a;
    memcpy(l->hash, hash, sizeof l->hash);
    l->cb = cb;
    l->arg = arg;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT tenant_id, id FROM api_keys WHERE hash = UNHEX('%s') AND revoked_at IS NULL", hash);
    db_query(a->db, sql, 0, lookup_cb, l);
}
