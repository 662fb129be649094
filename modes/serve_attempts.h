/* serve_attempts: GET /v1/jobs/{id}/attempts, the attempts recorded for a
 * job of the tenant. */
#ifndef INGOT_SERVE_ATTEMPTS_H
#define INGOT_SERVE_ATTEMPTS_H

struct httpd;
struct serve_jobs;

/* Borrows both. */
void serve_attempts_routes(struct httpd *h, struct serve_jobs *sj);

#endif
