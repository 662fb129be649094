/* serve_schedules: the schedules routes of the serve role. */
#ifndef INGOT_SERVE_SCHEDULES_H
#define INGOT_SERVE_SCHEDULES_H

struct httpd;
struct serve_jobs;

/* GET /v1/schedules, GET, PUT and DELETE /v1/schedules/{name}. */
void serve_schedules_routes(struct httpd *h, struct serve_jobs *sj);

#endif
