/* serve_ui_stats: GET /v1/stats/queues, what the UI's overview draws that
 * the other routes lack: per queue, the jobs that ended in each minute of
 * the last hour (succeeded, failed) and the wait p95 (started_at - run_at)
 * of those jobs. Read from a bounded sample: the most recent
 * STATS_SAMPLE_MAX ended jobs of the hour through the finished_at index
 * (no count or sort over the whole table; "truncated" says when the
 * sample was cut). Internal to serve. */
#ifndef INGOT_SERVE_UI_STATS_H
#define INGOT_SERVE_UI_STATS_H

struct httpd;
struct serve_jobs;

#define STATS_WINDOW_S 3600
#define STATS_BUCKET_S 60
#define STATS_SAMPLE_MAX 20000

void serve_ui_stats_routes(struct httpd *h, struct serve_jobs *sj);

#endif
