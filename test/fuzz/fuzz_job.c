/* libFuzzer target for the job-body path of POST /v1/jobs and the batch:
 * the body edge (one JSON value, UTF-8 strings without NUL), the job
 * validator and the request hash. */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_json.h"
#include "job.h"
#include "jtree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The walker alone, on any bytes (it must never read past size). */
    char path[128], why[96];
    int walk = check_json_text((const char *)data, size, path, sizeof path, why, sizeof why);
    struct job_error e;
    cJSON *j = job_json_parse((const char *)data, size, &e);
    /* The one-pass parser takes only what job_json_parse takes, as the
     * same tree (the gateway's bodies go through it first). */
    cJSON *t = jtree_parse((const char *)data, size);
    if (t && (!j || !jtree_same(t, j)))
        abort();
    jtree_free(t);
    if (!j)
        return 0;
    /* Accepted bodies passed the walker, and every string in them is text. */
    if (walk != 0)
        abort();
    struct job_limits lim = {4096, 1024};
    const cJSON *items = cJSON_IsArray(j) ? j : NULL;
    const cJSON *one = items ? items->child : j;
    for (; one; one = items ? one->next : NULL) {
        struct job_spec s;
        if (job_spec_parse(one, &lim, &s, &e) == 0) {
            unsigned char h[JOB_HASH_LEN];
            job_spec_hash(&s, h);
            if (s.idempotency_key && !check_text(s.idempotency_key, strlen(s.idempotency_key)))
                abort();
            job_spec_deinit(&s);
        }
    }
    cJSON_Delete(j);
    return 0;
}
