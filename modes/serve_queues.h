/* serve_queues: the queues routes of the serve role. */
#ifndef INGOT_SERVE_QUEUES_H
#define INGOT_SERVE_QUEUES_H

struct httpd;
struct serve_jobs;

/* GET /v1/queues, GET, PUT (replace) and PATCH (merge) /v1/queues/{name}.
 * Borrows both. */
void serve_queues_routes(struct httpd *h, struct serve_jobs *sj);
/* ingot_queue_depth: a snapshot every QUEUE_DEPTH_REFRESH (a scrape never
 * waits on SQL). */
void serve_queues_depth_start(struct serve_jobs *sj);
/* The wake-up publisher behind serve_wake_workers (serve_v1.h). */
void serve_wake_init(struct serve_jobs *sj);

#endif
