/* webhook: the Standard Webhooks signature, secrets, ids, event types,
 * and the SQL webhook_event appends. */
#include <cJSON.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "../testhelp.h"
#include "webhook.h"
#include "webhook_event.h"

/* The Standard Webhooks specification's own example (its README's
 * "Signature scheme" section), recomputed with
 *   printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw |
 *   base64 -d | xxd -p -c 256) -binary | base64
 * so it does not rest on this code. */
static void test_sign_vector(void)
{
    struct sbuf s;
    sbuf_init(&s);
    const char *body = "{\"test\": 2432232314}";
    test_cond("signs", webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                    1614265330, body, strlen(body), &s) == 0);
    test_streq("the specification's signature", s.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    sbuf_reset(&s);
    test_cond("one byte of the body changed: another signature",
              webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                           "{\"test\": 2432232315}", strlen(body), &s) == 0 &&
                  strcmp(s.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
    sbuf_reset(&s);
    test_cond("another timestamp: another signature",
              webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
                           strlen(body), &s) == 0 &&
                  strcmp(s.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
    sbuf_reset(&s);
    test_cond("not a whsec_ secret", webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "x", 1, &s) < 0);
    test_cond("not base64", webhook_sign("whsec_abc", "m", 1, "x", 1, &s) < 0);
    test_cond("empty", webhook_sign("whsec_", "m", 1, "x", 1, &s) < 0);
    test_cond("nothing appended on refusal", s.len == 0);
    sbuf_deinit(&s);
}

static void test_secret(void)
{
    char a[WEBHOOK_SECRET_MAX], b[WEBHOOK_SECRET_MAX], hint[WEBHOOK_HINT_MAX];
    test_cond("new", webhook_secret_new(a) == 0 && webhook_secret_new(b) == 0);
    test_cond("whsec_ + 44 base64", strncmp(a, "whsec_", 6) == 0 && strlen(a) == 50);
    test_cond("fresh each time", strcmp(a, b) != 0);
    unsigned char raw[64];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)a + 6, 44);
    test_cond("32 bytes under the base64 (one = of padding)", n == 33 && a[49] == '=' && a[48] != '=');
    struct sbuf s;
    sbuf_init(&s);
    test_cond("signs with it", webhook_sign(a, "evt_1", 2, "{}", 2, &s) == 0 && strncmp(s.data, "v1,", 3) == 0 &&
                                   s.len == 3 + 44);
    sbuf_deinit(&s);
    webhook_secret_hint(a, hint);
    test_cond("hint: whsec_... and the last 4", strncmp(hint, "whsec_...", 9) == 0 && strcmp(hint + 9, a + 46) == 0);
    test_cond("hint does not hold the secret", strstr(a, hint + 9) == a + 46 && strlen(hint) == 13);
    char aad[64];
    webhook_secret_aad("whe_0123", aad, sizeof aad);
    test_streq("aad binds the endpoint", aad, "webhook:whe_0123");
}

static void test_ids(void)
{
    char id[WEBHOOK_ID_MAX], ev[WEBHOOK_EVENT_ID_MAX];
    test_cond("endpoint id", webhook_endpoint_id_new(id) == 0 && webhook_endpoint_id_valid(id));
    test_cond("event id", webhook_event_id_new(ev) == 0 && strncmp(ev, "evt_", 4) == 0 && strlen(ev) == 28);
    test_cond("valid", webhook_endpoint_id_valid("whe_0123456789abcdef01234567"));
    test_cond("upper hex refused", !webhook_endpoint_id_valid("whe_0123456789ABCDEF01234567"));
    test_cond("short refused", !webhook_endpoint_id_valid("whe_123"));
    test_cond("quote refused", !webhook_endpoint_id_valid("whe_0123456789abcdef0123456'"));
    test_cond("other prefix refused", !webhook_endpoint_id_valid("wh_00123456789abcdef01234567"));
    test_cond("NULL refused", !webhook_endpoint_id_valid(NULL));
    test_cond("name ok", webhook_name_valid("ops pager") && webhook_name_valid(""));
    test_cond("name with a newline refused", !webhook_name_valid("a\nb"));
    char why[200];
    test_cond("http url", webhook_url_check("http://example.test/hook", why, sizeof why) == 0);
    test_cond("ftp refused", webhook_url_check("ftp://example.test/", why, sizeof why) < 0 && strstr(why, "url"));
    test_cond("credentials refused", webhook_url_check("https://u:p@example.test/", why, sizeof why) < 0);
    /* over the column's 2048: refused naming url, not a database error */
    char big[2100];
    int n = snprintf(big, sizeof big, "http://example.test/");
    memset(big + n, 'a', sizeof big - 1 - (size_t)n);
    big[sizeof big - 1] = '\0';
    test_cond("a url over 2048 bytes refused", webhook_url_check(big, why, sizeof why) < 0 && strstr(why, "2048"));
    big[2048] = '\0';
    test_cond("one of 2048 bytes accepted", webhook_url_check(big, why, sizeof why) == 0);
}

static void test_types(void)
{
    struct sbuf csv, js;
    sbuf_init(&csv);
    sbuf_init(&js);
    char param[64], why[300];
    cJSON *a = cJSON_Parse("[\"response.failed\",\"batch.completed\",\"response.failed\"]");
    test_cond("array", webhook_types_parse(a, &csv, param, sizeof param, why, sizeof why) == 0);
    test_streq("canonical order, each once", csv.data, "batch.completed,response.failed");
    webhook_types_json(csv.data, &js);
    test_streq("as JSON", js.data, "[\"batch.completed\",\"response.failed\"]");
    cJSON_Delete(a);
    a = cJSON_Parse("[\"batch.completed\",\"fine_tuning.job.succeeded\"]");
    sbuf_reset(&csv);
    test_cond("a type ingot does not send", webhook_types_parse(a, &csv, param, sizeof param, why, sizeof why) < 0);
    test_streq("names the item", param, "event_types[1]");
    cJSON_Delete(a);
    a = cJSON_Parse("[]");
    test_cond("empty refused", webhook_types_parse(a, &csv, param, sizeof param, why, sizeof why) < 0);
    test_streq("names the field", param, "event_types");
    cJSON_Delete(a);
    sbuf_reset(&csv);
    test_cond("csv all", webhook_types_parse_csv("all", &csv, why, sizeof why) == 0);
    test_streq("all seven", csv.data,
               "batch.completed,batch.failed,batch.expired,batch.cancelled,response.completed,response.failed,"
               "response.cancelled");
    sbuf_reset(&csv);
    test_cond("csv list", webhook_types_parse_csv("response.cancelled,batch.expired", &csv, why, sizeof why) == 0);
    test_streq("csv canonical", csv.data, "batch.expired,response.cancelled");
    test_cond("csv bad", webhook_types_parse_csv("batch.completed,", &csv, why, sizeof why) < 0);
    test_cond("type valid", webhook_event_type_valid("batch.cancelled") && !webhook_event_type_valid("batch"));
    sbuf_reset(&js);
    webhook_types_json("batch.completedX,batch.failed", &js);
    test_streq("json reads whole names only", js.data, "[\"batch.failed\"]");
    sbuf_deinit(&csv);
    sbuf_deinit(&js);
}

static void test_event_sql(void)
{
    struct sbuf b;
    sbuf_init(&b);
    webhook_event_sql(&b, 42, "batch.completed", "{\"id\":\"batch_1\"}");
    test_cond("one INSERT ... SELECT into jobs", strncmp(b.data, "INSERT INTO jobs (", 18) == 0 &&
                                                     strstr(b.data, " SELECT tenant_id, 'webhooks', 'webhook', ") &&
                                                     !strchr(b.data, ';'));
    test_cond("the tenant's enabled, subscribed endpoints",
              strstr(b.data, "FROM webhook_endpoints WHERE tenant_id = 42 AND enabled = 1 AND FIND_IN_SET(X'") != NULL);
    /* the event travels as a hex literal: its text is not in the SQL */
    test_cond("no event text in the SQL", !strstr(b.data, "batch_1") && !strstr(b.data, "evt_"));
    test_cond("the endpoint id is the row's", strstr(b.data, "CONCAT('{\"endpoint_id\":\"', id, '\",\"event\":', X'"));
    test_cond("retried 15 times with backoff", strstr(b.data, ", 15, 1000, 3600000, 15000, ") != NULL);
    sbuf_reset(&b);
    webhook_event_endpoint_sql(&b, 7, "whe_0123456789abcdef01234567", "response.failed", "{\"id\":\"resp_1\"}");
    test_cond("a test: one endpoint, marked", strstr(b.data, "tenant_id = 7 AND id = X'") &&
                                                  strstr(b.data, "\"test\":true,") && !strstr(b.data, "enabled = 1"));
    sbuf_deinit(&b);
}

static void test_row_json(void)
{
    char *row[] = {"whe_0123456789abcdef01234567", "ops", "https://example.test/h", "batch.failed,response.completed",
                   "0", "whsec_...abcd", "1700000000", "1700000001"};
    struct sbuf b;
    sbuf_init(&b);
    webhook_row_json(&b, row, NULL);
    cJSON *j = cJSON_Parse(b.data);
    test_cond("valid JSON", j != NULL);
    test_streq("object", cJSON_GetStringValue(cJSON_GetObjectItem(j, "object")), "webhook_endpoint");
    test_cond("disabled", cJSON_IsFalse(cJSON_GetObjectItem(j, "enabled")));
    test_cond("two types", cJSON_GetArraySize(cJSON_GetObjectItem(j, "event_types")) == 2);
    test_cond("no secret", !cJSON_GetObjectItem(j, "signing_secret"));
    test_cond("times", cJSON_GetNumberValue(cJSON_GetObjectItem(j, "updated_at")) == 1700000001.0);
    cJSON_Delete(j);
    sbuf_reset(&b);
    webhook_row_json(&b, row, "whsec_x");
    j = cJSON_Parse(b.data);
    test_streq("with the secret when asked", cJSON_GetStringValue(cJSON_GetObjectItem(j, "signing_secret")), "whsec_x");
    cJSON_Delete(j);
    sbuf_deinit(&b);
}

int main(void)
{
    test_sign_vector();
    test_secret();
    test_ids();
    test_types();
    test_event_sql();
    test_row_json();
    test_report();
}
