/* serve_ui_stats: GET /v1/stats/queues, what the UI's overview shows, at a
 * cost that does not grow with the jobs a queue holds: per queue (at most
 * STATS_QUEUES_MAX, by the queues table's primary key) whether it is paused;
 * queued, running and the oldest queued age from serve's depth snapshot
 * (serve_queues.c, the one behind ingot_queue_depth, shared by every
 * viewer); the jobs that ended in each minute of the last hour
 * (succeeded, failed) and the wait p95 (started_at - run_at) of those,
 * from a bounded sample: the most recent STATS_SAMPLE_MAX ended jobs of
 * the hour through the finished_at index ("truncated" says when the
 * sample was cut). Internal to serve. */
#ifndef INGOT_SERVE_UI_STATS_H
#define INGOT_SERVE_UI_STATS_H

struct httpd;
struct serve_jobs;

#define STATS_WINDOW_S 3600
#define STATS_BUCKET_S 60
#define STATS_SAMPLE_MAX 20000
#define STATS_QUEUES_MAX 200

void serve_ui_stats_routes(struct httpd *h, struct serve_jobs *sj);

#endif
