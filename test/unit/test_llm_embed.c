/* Embeddings: float arrays become little-endian float32 base64, decoded
 * back exactly; strings and odd entries are left alone. */
#include <cJSON.h>
#include <float.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "../testhelp.h"
#include "llm_embed.h"

/* data[i].embedding of an output, decoded to floats; count, -1 if not a string. */
static int decode(const char *json, int i, float *out, int max)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "data"), i), "embedding");
    int n = -1;
    if (cJSON_IsString(e)) {
        size_t slen = strlen(e->valuestring);
        unsigned char *raw = malloc(slen + 4);
        int rl = EVP_DecodeBlock(raw, (const unsigned char *)e->valuestring, (int)slen);
        /* DecodeBlock counts the padding bytes in: drop them. */
        if (slen >= 1 && e->valuestring[slen - 1] == '=')
            rl--;
        if (slen >= 2 && e->valuestring[slen - 2] == '=')
            rl--;
        n = 0;
        for (int k = 0; k + 4 <= rl && n < max; k += 4) {
            uint32_t u = (uint32_t)raw[k] | (uint32_t)raw[k + 1] << 8 | (uint32_t)raw[k + 2] << 16 |
                         (uint32_t)raw[k + 3] << 24;
            memcpy(&out[n++], &u, sizeof u);
        }
        free(raw);
    }
    cJSON_Delete(root);
    return n;
}

static void test_embed(void)
{
    struct sbuf out;
    sbuf_init(&out);
    const char *one = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[1.0]}],"
                      "\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}";
    test_cond("one", llm_embed_base64(one, strlen(one), &out) == 0);
    test_cond("1.0f is AACAPw==", strstr(out.data, "\"embedding\":\"AACAPw==\"") != NULL);
    test_cond("other fields kept", strstr(out.data, "\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}") &&
                                       strstr(out.data, "\"model\":\"m\"") && strstr(out.data, "\"index\":0"));

    sbuf_reset(&out);
    const char *many = "{\"object\":\"list\",\"data\":["
                       "{\"index\":0,\"embedding\":[0.5,-2,3.1415927,1e-8,-0.0,65504.25,123456789]},"
                       "{\"index\":1,\"embedding\":\"AACAPw==\"},"
                       "{\"index\":2,\"embedding\":[]},"
                       "{\"index\":3,\"embedding\":[1,\"x\"]},"
                       "{\"index\":4}, 7]}";
    test_cond("many", llm_embed_base64(many, strlen(many), &out) == 0);
    float want[] = {0.5f, -2.0f, 3.1415927f, 1e-8f, -0.0f, 65504.25f, 123456789.0f};
    float got[16];
    int n = decode(out.data, 0, got, 16);
    test_cond("count", n == 7);
    bool same = n == 7;
    for (int i = 0; same && i < 7; i++)
        same = memcmp(&got[i], &want[i], sizeof(float)) == 0;
    test_cond("decodes back to the same float32 bits", same);
    n = decode(out.data, 1, got, 16);
    test_cond("string left alone", n == 1 && got[0] == 1.0f && strstr(out.data, "\"AACAPw==\""));
    test_cond("empty array is empty string", decode(out.data, 2, got, 16) == 0);
    test_cond("mixed array left alone", strstr(out.data, "[1,\"x\"]") != NULL);

    sbuf_reset(&out);
    const char *huge = "{\"data\":[{\"embedding\":[1e300,-1e300]}]}";
    test_cond("beyond float range", llm_embed_base64(huge, strlen(huge), &out) == 0);
    n = decode(out.data, 0, got, 16);
    test_cond("is infinity", n == 2 && got[0] > FLT_MAX && got[1] < -FLT_MAX);

    sbuf_reset(&out);
    sbuf_puts(&out, "keep");
    test_cond("not JSON", llm_embed_base64("nope", 4, &out) < 0);
    test_cond("no data", llm_embed_base64("{\"a\":1}", 7, &out) < 0);
    test_cond("data not array", llm_embed_base64("{\"data\":{}}", 11, &out) < 0);
    test_cond("array root", llm_embed_base64("[{\"data\":[]}]", 13, &out) < 0);
    test_cond("NULL", llm_embed_base64(NULL, 0, &out) < 0);
    test_streq("out untouched on failure", out.data, "keep");
    /* Length is honoured: the text after len is not read. */
    const char *cut = "{\"data\":[{\"embedding\":[1]}]}garbage";
    sbuf_reset(&out);
    test_cond("length honoured", llm_embed_base64(cut, 28, &out) == 0 && strstr(out.data, "AACAPw=="));
    sbuf_deinit(&out);
}

int main(void)
{
    test_embed();
    test_report();
}
