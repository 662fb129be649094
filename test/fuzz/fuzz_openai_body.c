/* The openai adapter's body edit (llm_openai_body): for any input cJSON
 * accepts as an object, the output is a JSON object whose model is the
 * upstream model, whose stream_options.include_usage is true when forced,
 * with encoding_format gone when dropped, and every other top-level member
 * equal to the input's (the first of duplicated keys, each key once). Inputs that are not objects may fail, never crash. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check_json.h"
#include "llm_priv.h"

static void check_same(const cJSON *in, const cJSON *out, bool force, bool drop)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, in)
    {
        if (!strcmp(e->string, "model") || (force && !strcmp(e->string, "stream_options")) ||
            (drop && !strcmp(e->string, "encoding_format")))
            continue;
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(out, e->string);
        /* The first of duplicate keys is what cJSON finds on both sides. */
        if (!o || !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(in, e->string), o, true))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1)
        return 0;
    bool force = data[0] & 1, drop = data[0] & 2;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    cJSON *in = cJSON_ParseWithLength(body, len);
    struct sbuf out;
    sbuf_init(&out);
    int rc = llm_openai_body(body, len, "up-\"model\"", force,
                             cJSON_GetObjectItemCaseSensitive(in, "stream_options"), drop, &out);
    if (cJSON_IsObject(in)) {
        /* cJSON stops at a NUL inside the text; the walker does not (the
         * edge refuses such bodies before): only whole texts are compared. */
        if (rc < 0 && !memchr(body, 0, len))
            abort();
        /* Member equality is checked on what the edge lets through
         * (check_json_text first): with a key twice in a nested object
         * cJSON_Compare finds an object unequal to itself. */
        char path[64], why[64];
        if (rc == 0 && !memchr(body, 0, len) && check_json_text(body, len, path, sizeof path, why, sizeof why) == 0) {
            cJSON *o = cJSON_ParseWithLength(out.data, out.len);
            if (!cJSON_IsObject(o))
                abort();
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "model");
            if (cJSON_GetObjectItemCaseSensitive(in, "model") && !(cJSON_IsString(m) && !strcmp(m->valuestring, "up-\"model\"")))
                abort();
            if (force && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                             cJSON_GetObjectItemCaseSensitive(o, "stream_options"), "include_usage")))
                abort();
            if (drop && cJSON_GetObjectItemCaseSensitive(o, "encoding_format"))
                abort();
            check_same(in, o, force, drop);
            /* Each key once upstream: the provider reads what was checked. */
            for (const cJSON *a = o->child; a; a = a->next)
                for (const cJSON *b = a->next; b; b = b->next)
                    if (!strcmp(a->string, b->string))
                        abort();
            cJSON_Delete(o);
        }
    }
    sbuf_deinit(&out);
    cJSON_Delete(in);
    return 0;
}
