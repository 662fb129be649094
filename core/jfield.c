#include "jfield.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>

int jerr_fail(struct jerr *e, const char *why, const char *param_fmt, ...)
{
    if (e->param && e->paramlen) {
        va_list ap;
        va_start(ap, param_fmt);
        vsnprintf(e->param, e->paramlen, param_fmt, ap);
        va_end(ap);
    }
    if (e->why && e->whylen)
        snprintf(e->why, e->whylen, "%s", why);
    return -1;
}

const cJSON *jfield(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(v) ? NULL : v;
}

const char *jfield_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
