#include "llm_embed.h"

#include <cJSON.h>
#include <float.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The array as base64 of little-endian float32, or NULL when an element
 * is not a number. Returns owned. */
static char *floats_base64(const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    size_t raw_len = (size_t)n * 4;
    unsigned char *raw = xmalloc(raw_len ? raw_len : 1);
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsNumber(v)) {
            free(raw);
            return NULL;
        }
        /* Beyond float's range the cast is undefined in C: say infinity,
         * what an IEEE conversion gives. */
        double d = v->valuedouble;
        float f = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        /* Byte by byte: little-endian whatever this machine is. */
        raw[i++] = (unsigned char)(u & 0xff);
        raw[i++] = (unsigned char)((u >> 8) & 0xff);
        raw[i++] = (unsigned char)((u >> 16) & 0xff);
        raw[i++] = (unsigned char)((u >> 24) & 0xff);
    }
    char *b64 = xmalloc(4 * ((raw_len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)raw_len);
    free(raw);
    return b64;
}

int llm_embed_base64(const char *body, size_t len, struct sbuf *out)
{
    if (!body || len > INT32_MAX)
        return -1;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(data)) {
        cJSON_Delete(root);
        return -1;
    }
    cJSON *item;
    cJSON_ArrayForEach(item, data) {
        const cJSON *emb = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        if (!cJSON_IsArray(emb))
            continue;
        char *b64 = floats_base64(emb);
        if (!b64)
            continue;
        cJSON_ReplaceItemInObjectCaseSensitive(item, "embedding", cJSON_CreateString(b64));
        free(b64);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        abort(); /* cJSON fails only when out of memory */
    sbuf_puts(out, text);
    free(text);
    return 0;
}
