/* schedstore: cron schedules: the PUT /v1/schedules/{name} body, the
 * schedules SQL, and their JSON (with the next fire times). */
#ifndef INGOT_SCHEDSTORE_H
#define INGOT_SCHEDSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cron.h"
#include "job.h"
#include "util.h"

struct db_pool;
struct cJSON;

#define SCHEDULE_NAME_MAX 128
#define SCHEDULE_NEXT_SHOWN 3

struct schedule_spec {
    char cron[256];
    char timezone[65];
    char *job;               /* the job body as JSON text, validated; owned */
    bool paused;
    struct cron c;
};

/* Parses {cron, timezone, job, paused}; 0, or -1 with the HTTP status,
 * the offending field (param) and why. */
int schedule_spec_parse(const struct cJSON *body, const struct job_limits *lim,
                        struct schedule_spec *out, int *status, char *param, size_t plen,
                        char *why, size_t wlen) ATTR_WUR;
void schedule_spec_deinit(struct schedule_spec *s);
/* The job a schedule's stored body describes; 0/-1 with why. */
int schedule_job_spec(const char *job_json, const struct job_limits *lim, struct job_spec *out,
                      char *why, size_t wlen) ATTR_WUR;

/* json: an array of schedule objects, or NULL with err and its MariaDB
 * error number (or DB_ERR_*). */
typedef void (*schedstore_cb)(const char *json, unsigned err_code, const char *err, void *arg);
void schedstore_list(struct db_pool *db, uint64_t tenant, const char *name_or_null,
                     schedstore_cb cb, void *arg);
/* Upserts (the next tick counted from now), then answers as list does. */
void schedstore_put(struct db_pool *db, uint64_t tenant, const char *name,
                    const struct schedule_spec *s, schedstore_cb cb, void *arg);
/* json "true" when deleted, "false" when there was none. */
void schedstore_delete(struct db_pool *db, uint64_t tenant, const char *name, schedstore_cb cb,
                       void *arg);
/* "YYYY-MM-DDTHH:MM:SSZ" */
void schedstore_iso(int64_t utc_s, char out[24]);

#endif
