/* JSON helpers of the translation tests: compare an item's compact JSON,
 * count a parse as an assertion, read a member or a string. */
#ifndef TEST_JSON_HELP_H
#define TEST_JSON_HELP_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../testhelp.h"

/* Compares the compact JSON of item with want. */
#define test_json(descr, item, want)                                                                               \
    do {                                                                                                           \
        char *pj_ = (item) ? cJSON_PrintUnformatted(item) : NULL;                                                  \
        test_streq(descr, pj_, want);                                                                              \
        free(pj_);                                                                                                 \
    } while (0)

/* True when j was parsed (and frees it): counts assertions compactly. */
static inline bool cJSON_Delete_(cJSON *j)
{
    bool ok = j != NULL;
    cJSON_Delete(j);
    return ok;
}

static inline cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static inline const char *strv(const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : "";
}

#endif
