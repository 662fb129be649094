/* serve_queues: the queues routes of the serve role. */
#ifndef INGOT_SERVE_QUEUES_H
#define INGOT_SERVE_QUEUES_H

struct httpd;
struct serve_jobs;

/* GET /v1/queues, GET and PUT /v1/queues/{name}. Borrows both. */
void serve_queues_routes(struct httpd *h, struct serve_jobs *sj);

#endif
