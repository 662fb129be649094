/* llm_json_scan / llm_embed_base64 on arbitrary bytes: no crash, no read
 * past len; without embed the copy is the input byte for byte; with it,
 * what was accepted stays JSON (cJSON parses the output) and the text
 * cJSON refuses as a whole is refused too. */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy: ASan sees any read past len */
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    struct sbuf out;
    sbuf_init(&out);
    struct llm_json_top top;
    if (llm_json_scan(s, size, false, &out, &top) == 0) {
        if (out.len != size || memcmp(out.data, s, size) != 0)
            abort();
        cJSON *j = cJSON_ParseWithLength(s, size);
        /* cJSON stops at a NUL inside a string: only NUL-free text compared */
        if (!j && !memchr(s, '\0', size))
            abort();
        cJSON_Delete(j);
    }
    sbuf_reset(&out);
    if (llm_embed_base64(s, size, &out) == 0 && !memchr(s, '\0', size)) {
        cJSON *j = cJSON_ParseWithLength(out.data, out.len);
        if (!cJSON_IsObject(j))
            abort();
        cJSON_Delete(j);
    }
    sbuf_deinit(&out);
    free(s);
    return 0;
}
