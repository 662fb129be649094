/* webhook: what the webhook endpoints of every role share (issue 11 item
 * 4): the event types ingot emits, endpoint ids, the signing secret
 * ("whsec_" + base64 of 32 random bytes, as the official SDKs' unwrap()
 * reads it) and the Standard Webhooks signature
 *     webhook-signature: v1,<base64(HMAC-SHA256(secret bytes, "id.timestamp.body"))>
 * The API (serve_webhooks), `ingot admin webhook` and the delivery kind
 * (work_webhook) use it; the enqueueing SQL is webhook_event's. */
#ifndef INGOT_WEBHOOK_H
#define INGOT_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct cJSON;

/* The per-tenant queue deliveries run in. */
#define WEBHOOK_QUEUE "webhooks"
#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_BYTES 32
#define WEBHOOK_SECRET_MAX 64        /* "whsec_" + 44 base64 + NUL fits */
#define WEBHOOK_HINT_MAX 32
#define WEBHOOK_ID_PREFIX "whe_"
#define WEBHOOK_ID_MAX 40            /* "whe_" + 24 hex + NUL fits */
#define WEBHOOK_EVENT_ID_MAX 40      /* "evt_" + 24 hex + NUL fits */
#define WEBHOOK_NAME_MAX 128
#define WEBHOOK_URL_MAX 2048        /* webhook_endpoints.url */
#define WEBHOOK_TYPES_MAX 512        /* the comma-separated list's column */
/* Deliveries: a receiver that is down is tried again with backoff from 1 s
 * doubling to 1 h between attempts, for about 2-3 hours in all. */
#define WEBHOOK_MAX_ATTEMPTS 15
#define WEBHOOK_BACKOFF_BASE_MS 1000
#define WEBHOOK_BACKOFF_MAX_MS 3600000
#define WEBHOOK_TIMEOUT_MS 15000

/* The event types ingot emits, NULL-terminated. */
extern const char *const webhook_event_types[];
bool webhook_event_type_valid(const char *type);
/* The JSON array of the types in csv ("a,b"), appended to b. */
void webhook_types_json(const char *csv, struct sbuf *b);
/* An event_types array into the canonical csv (the table's order, each
 * once). 0, or -1 with param ("event_types" or "event_types[i]") and why. */
int webhook_types_parse(const struct cJSON *arr, struct sbuf *csv, char *param, size_t plen, char *why,
                        size_t wlen) ATTR_WUR;
/* The same for "a,b" or "all" (the admin command's --events). */
int webhook_types_parse_csv(const char *in, struct sbuf *csv, char *why, size_t wlen) ATTR_WUR;

/* A fresh random endpoint id "whe_<24 hex>" / event id "evt_<24 hex>". 0/-1. */
int webhook_endpoint_id_new(char out[WEBHOOK_ID_MAX]) ATTR_WUR;
int webhook_event_id_new(char out[WEBHOOK_EVENT_ID_MAX]) ATTR_WUR;
/* An id as webhook_endpoint_id_new makes them (before any query). */
bool webhook_endpoint_id_valid(const char *id);
/* A name: at most WEBHOOK_NAME_MAX bytes of UTF-8 text without control
 * characters. */
bool webhook_name_valid(const char *name);
/* A delivery URL: http or https as url_http_parse accepts it. 0, or -1 with why. */
int webhook_url_check(const char *url, char *why, size_t wlen) ATTR_WUR;

/* The columns webhook_row_json reads, in its order. */
#define WEBHOOK_COLUMNS "id, name, url, event_types, enabled, secret_hint, created_at, updated_at"
/* The endpoint object of a row of WEBHOOK_COLUMNS (the SDK's
 * WebhookEndpoint, and "enabled"); with secret, the signing_secret too
 * (creation and rotation only). Appends to b. */
void webhook_row_json(struct sbuf *b, char **row, const char *secret);

/* A fresh signing secret (to be shown once, then stored sealed). 0/-1. */
int webhook_secret_new(char out[WEBHOOK_SECRET_MAX]) ATTR_WUR;
/* What listings show of a secret: "whsec_...wxyz". */
void webhook_secret_hint(const char *secret, char out[WEBHOOK_HINT_MAX]);
/* The AAD a secret is sealed with: bound to its endpoint's row. */
void webhook_secret_aad(const char *endpoint_id, char *out, size_t n);
/* Appends "v1,<base64 HMAC-SHA256>" of "id.ts.body" under the secret's
 * bytes (the base64 after "whsec_"). 0, or -1 when the secret is not a
 * whsec_ secret. */
int webhook_sign(const char *secret, const char *id, long long ts, const char *body, size_t len,
                 struct sbuf *out) ATTR_WUR;

#endif
