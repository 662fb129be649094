/* work_http: the http kind of the work role (a row of work_kinds.c): the
 * signed request a job's payload describes, sent on the curl multi loop,
 * and its response as the job's outcome. Private to the work role. */
#ifndef INGOT_WORK_HTTP_H
#define INGOT_WORK_HTTP_H

#include <stdbool.h>

struct work;
struct run;

void work_http_execute(struct work *w, struct run *r);
bool work_http_stop(struct work *w, struct run *r);

#endif
