/* jobattempts: the attempts recorded for a job (job_attempts rows), read
 * for the API as JSON. */
#ifndef INGOT_JOBATTEMPTS_H
#define INGOT_JOBATTEMPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct db_pool;

/* json (borrowed): the attempts as a JSON array text, oldest first;
 * found: false when the tenant has no job id (json NULL); or err. */
typedef void (*jobattempts_cb)(const char *json, bool found, const char *err, void *arg);

/* At most JOBATTEMPTS_MAX attempts, the most recent ones. */
#define JOBATTEMPTS_MAX 1000
void jobattempts_list(struct db_pool *db, uint64_t tenant, uint64_t id, jobattempts_cb cb, void *arg);

#endif
