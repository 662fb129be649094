/* libFuzzer target for the job-body validator (POST /v1/jobs). */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return 0;
    struct job_limits lim = {4096, 1024};
    struct job_spec s;
    struct job_error e;
    if (job_spec_parse(j, &lim, &s, &e) == 0)
        job_spec_deinit(&s);
    cJSON_Delete(j);
    return 0;
}
