/* llmlimit_describe: GET /v1/limits as JSON (llmlimit_describe, declared
 * in llmlimit.h with the rest of the limiter's public face). Internal to
 * llmlimit: this header only gives the file its place. */
#ifndef INGOT_LLMLIMIT_DESCRIBE_H
#define INGOT_LLMLIMIT_DESCRIBE_H

#include "llmlimit.h"

#endif
