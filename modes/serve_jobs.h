/* serve_jobs: the /v1 jobs API of the serve role (authenticated). */
#ifndef INGOT_SERVE_JOBS_H
#define INGOT_SERVE_JOBS_H

#include "util.h"

struct runtime;
struct httpd;
struct serve_jobs;

/* Registers the /v1 routes. Borrows rt and httpd. Returns owned, or NULL
 * with err set (e.g. API_KEY_HASH_SECRET missing). */
struct serve_jobs *serve_jobs_new(struct runtime *rt, struct httpd *h, char *err, size_t errlen);
/* Answers long-polls at once (drain). */
void serve_jobs_drain(struct serve_jobs *sj);
void serve_jobs_free(struct serve_jobs *sj);

#endif
