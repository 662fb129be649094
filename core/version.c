#include "version.h"

#ifndef INGOT_VERSION
#define INGOT_VERSION "0.0.0-dev"
#endif
#ifndef INGOT_COMMIT
#define INGOT_COMMIT "unknown"
#endif

const char *ingot_version(void)
{
    return INGOT_VERSION;
}

const char *ingot_commit(void)
{
    return INGOT_COMMIT;
}
