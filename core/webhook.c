#include "webhook.h"

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

const char *const webhook_event_types[] = {"batch.completed",    "batch.failed",       "batch.expired",
                                           "batch.cancelled",    "response.completed", "response.failed",
                                           "response.cancelled", NULL};

bool webhook_event_type_valid(const char *type)
{
    for (size_t i = 0; type && webhook_event_types[i]; i++)
        if (strcmp(type, webhook_event_types[i]) == 0)
            return true;
    return false;
}

static const char *TYPES_LIST = "batch.completed, batch.failed, batch.expired, batch.cancelled, "
                                "response.completed, response.failed, response.cancelled";

void webhook_types_json(const char *csv, struct sbuf *b)
{
    sbuf_putc(b, '[');
    size_t n = 0;
    for (size_t i = 0; webhook_event_types[i]; i++) {
        const char *t = webhook_event_types[i];
        size_t tl = strlen(t);
        for (const char *p = csv; p && *p;) {
            const char *end = strchr(p, ',');
            size_t l = end ? (size_t)(end - p) : strlen(p);
            if (l == tl && memcmp(p, t, l) == 0) {
                if (n++)
                    sbuf_putc(b, ',');
                sbuf_json_str(b, t);
                break;
            }
            p = end ? end + 1 : p + l;
        }
    }
    sbuf_putc(b, ']');
}

static void csv_of(const bool *on, struct sbuf *csv)
{
    for (size_t i = 0; webhook_event_types[i]; i++)
        if (on[i])
            sbuf_printf(csv, "%s%s", csv->len ? "," : "", webhook_event_types[i]);
}

static int type_index(const char *t)
{
    for (int i = 0; webhook_event_types[i]; i++)
        if (strcmp(t, webhook_event_types[i]) == 0)
            return i;
    return -1;
}

int webhook_types_parse(const cJSON *arr, struct sbuf *csv, char *param, size_t plen, char *why, size_t wlen)
{
    bool on[16] = {false};
    snprintf(param, plen, "event_types");
    if (!cJSON_IsArray(arr) || !arr->child) {
        snprintf(why, wlen, "event_types must be a non-empty array of event types: %s", TYPES_LIST);
        return -1;
    }
    int i = 0;
    for (const cJSON *v = arr->child; v; v = v->next, i++) {
        int k = cJSON_IsString(v) ? type_index(v->valuestring) : -1;
        if (k < 0) {
            snprintf(param, plen, "event_types[%d]", i);
            snprintf(why, wlen, "event_types[%d] is not an event type ingot sends; use any of %s", i, TYPES_LIST);
            return -1;
        }
        on[k] = true;
    }
    csv_of(on, csv);
    return 0;
}

int webhook_types_parse_csv(const char *in, struct sbuf *csv, char *why, size_t wlen)
{
    bool on[16] = {false};
    if (strcmp(in, "all") == 0) {
        for (size_t i = 0; webhook_event_types[i]; i++)
            on[i] = true;
        csv_of(on, csv);
        return 0;
    }
    const char *p = in;
    do {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        char t[64];
        int k = -1;
        if (l < sizeof t) {
            memcpy(t, p, l);
            t[l] = '\0';
            k = type_index(t);
        }
        if (k < 0) {
            snprintf(why, wlen, "\"%.*s\" is not an event type ingot sends; use all or any of %s",
                     (int)(l < 64 ? l : 64), p, TYPES_LIST);
            return -1;
        }
        on[k] = true;
        p = end ? end + 1 : NULL;
    } while (p);
    csv_of(on, csv);
    return 0;
}

static int random_id(const char *prefix, char *out, size_t n)
{
    unsigned char r[12];
    if (util_random_bytes(r, sizeof r) < 0)
        return -1;
    char hex[2 * sizeof r + 1];
    util_hex(r, sizeof r, hex);
    snprintf(out, n, "%s%s", prefix, hex);
    return 0;
}

int webhook_endpoint_id_new(char out[WEBHOOK_ID_MAX])
{
    return random_id(WEBHOOK_ID_PREFIX, out, WEBHOOK_ID_MAX);
}

int webhook_event_id_new(char out[WEBHOOK_EVENT_ID_MAX])
{
    return random_id("evt_", out, WEBHOOK_EVENT_ID_MAX);
}

bool webhook_endpoint_id_valid(const char *id)
{
    size_t pl = strlen(WEBHOOK_ID_PREFIX);
    if (!id || strncmp(id, WEBHOOK_ID_PREFIX, pl) != 0 || strlen(id) != pl + 24)
        return false;
    for (const char *p = id + pl; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

bool webhook_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n > WEBHOOK_NAME_MAX || !util_utf8_valid(name, n))
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int webhook_url_check(const char *url, char *why, size_t wlen)
{
    char err[200];
    if (strlen(url) > WEBHOOK_URL_MAX) { /* the column's size */
        snprintf(why, wlen, "url: at most %d bytes", WEBHOOK_URL_MAX);
        return -1;
    }
    if (url_http_check(url, err, sizeof err) < 0) {
        snprintf(why, wlen, "url: %s", err);
        return -1;
    }
    return 0;
}

int webhook_secret_new(char out[WEBHOOK_SECRET_MAX])
{
    unsigned char r[WEBHOOK_SECRET_BYTES];
    if (util_random_bytes(r, sizeof r) < 0)
        return -1;
    size_t pl = strlen(WEBHOOK_SECRET_PREFIX);
    snprintf(out, WEBHOOK_SECRET_MAX, "%s", WEBHOOK_SECRET_PREFIX);
    EVP_EncodeBlock((unsigned char *)out + pl, r, (int)sizeof r); /* 44 chars and a NUL */
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

void webhook_secret_hint(const char *secret, char out[WEBHOOK_HINT_MAX])
{
    size_t n = strlen(secret);
    snprintf(out, WEBHOOK_HINT_MAX, "%s...%s", WEBHOOK_SECRET_PREFIX, n >= 10 ? secret + n - 4 : "");
}

void webhook_secret_aad(const char *endpoint_id, char *out, size_t n)
{
    snprintf(out, n, "webhook:%s", endpoint_id);
}

int webhook_sign(const char *secret, const char *id, long long ts, const char *body, size_t len,
                 struct sbuf *out)
{
    size_t pl = strlen(WEBHOOK_SECRET_PREFIX);
    if (strncmp(secret, WEBHOOK_SECRET_PREFIX, pl) != 0)
        return -1;
    const char *b64 = secret + pl;
    size_t bl = strlen(b64);
    if (bl == 0 || bl % 4 != 0 || bl > 128)
        return -1;
    unsigned char key[128];
    int kl = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)bl);
    if (kl < 0)
        return -1;
    kl -= (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
    struct sbuf msg;
    sbuf_init(&msg);
    sbuf_printf(&msg, "%s.%lld.", id, ts);
    sbuf_append(&msg, body, len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    bool ok = HMAC(EVP_sha256(), key, kl, (const unsigned char *)msg.data, msg.len, mac, &ml) != NULL;
    sbuf_deinit(&msg);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        return -1;
    char enc[64];
    EVP_EncodeBlock((unsigned char *)enc, mac, (int)ml);
    sbuf_printf(out, "v1,%s", enc);
    return 0;
}

static const char *col(char **row, int i)
{
    return row[i] ? row[i] : "";
}

void webhook_row_json(struct sbuf *b, char **row, const char *secret)
{
    sbuf_puts(b, "{\"id\":");
    sbuf_json_str(b, col(row, 0));
    sbuf_puts(b, ",\"object\":\"webhook_endpoint\",\"name\":");
    sbuf_json_str(b, col(row, 1));
    sbuf_puts(b, ",\"url\":");
    sbuf_json_str(b, col(row, 2));
    sbuf_puts(b, ",\"event_types\":");
    webhook_types_json(col(row, 3), b);
    sbuf_printf(b, ",\"enabled\":%s,\"signing_secret_hint\":", strcmp(col(row, 4), "1") == 0 ? "true" : "false");
    sbuf_json_str(b, col(row, 5));
    if (secret) {
        sbuf_puts(b, ",\"signing_secret\":");
        sbuf_json_str(b, secret);
    }
    sbuf_printf(b, ",\"created_at\":%lld,\"updated_at\":%lld}", strtoll(col(row, 6), NULL, 10),
                strtoll(col(row, 7), NULL, 10));
}
