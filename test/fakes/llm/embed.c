/* fakellm's embeddings: floats, or base64 of little-endian float32 when
 * encoding_format is "base64"; values exact in float32 so tests compare
 * with ==. */
#include "../fakellm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float embed_value(int i, int j)
{
    return (float)((i * 31 + j * 7) % 100) / 64.0f - 0.75f;
}

static void base64_floats(struct evbuffer *b, int i, int dims)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (size_t)dims * 4;
    unsigned char *raw = calloc(n + 3, 1);
    for (int j = 0; j < dims; j++) {
        float f = embed_value(i, j);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++)
            raw[j * 4 + k] = (unsigned char)(u >> (8 * k));
    }
    evbuffer_add(b, "\"", 1);
    for (size_t k = 0; k < n; k += 3) {
        unsigned v = (unsigned)raw[k] << 16 | (k + 1 < n ? (unsigned)raw[k + 1] << 8 : 0) | (k + 2 < n ? raw[k + 2] : 0);
        char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], k + 1 < n ? tbl[v >> 6 & 63] : '=', k + 2 < n ? tbl[v & 63] : '='};
        evbuffer_add(b, q, 4);
    }
    evbuffer_add(b, "\"", 1);
    free(raw);
}

void fl_embeddings(const struct fl_ctx *c)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(c->body, "input");
    int n = 1;
    if (cJSON_IsArray(in) && !cJSON_IsNumber(cJSON_GetArrayItem(in, 0)))
        n = cJSON_GetArraySize(in);
    if (!in || n == 0) {
        fl_error(c->req, c, 400, "input: field required");
        return;
    }
    const cJSON *ef = cJSON_GetObjectItemCaseSensitive(c->body, "encoding_format");
    bool b64 = cJSON_IsString(ef) && strcmp(ef->valuestring, "base64") == 0;
    struct evbuffer *b = evbuffer_new();
    if (c->beh.badjson) {
        evbuffer_add_printf(b, "{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,");
        fl_plain_send(c, 200, b, c->beh.remaining0);
        return;
    }
    evbuffer_add_printf(b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        evbuffer_add_printf(b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
        if (b64) {
            base64_floats(b, i, c->beh.dims);
        } else {
            evbuffer_add(b, "[", 1);
            for (int j = 0; j < c->beh.dims; j++)
                evbuffer_add_printf(b, "%s%.9g", j ? "," : "", (double)embed_value(i, j));
            evbuffer_add(b, "]", 1);
        }
        evbuffer_add(b, "}", 1);
    }
    evbuffer_add_printf(b, "],\"model\":");
    fl_json_str(b, c->model, strlen(c->model));
    evbuffer_add_printf(b, ",\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%d}}", c->beh.prompt, c->beh.prompt);
    fl_plain_send(c, 200, b, c->beh.remaining0);
}
