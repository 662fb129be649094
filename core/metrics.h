/* metrics: a small Prometheus registry. Families own their series; a
 * series pointer stays valid until metrics_free, so hot paths look it up
 * once and keep it. */
#ifndef INGOT_METRICS_H
#define INGOT_METRICS_H

#include <stddef.h>

#include "util.h"

struct metrics;
struct metric_family;
struct metric_series;

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* Called before each render so gauges read from elsewhere are fresh. */
typedef void (*metrics_collect_fn)(struct metrics *m, void *arg);

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
/* Finds or creates a family. name and help are kept by pointer: pass
 * string literals. Histograms all use metrics_latency_buckets (seconds). */
struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help);
/* labels: `a="x",b="y"` or "" (copied). Finds or creates. */
struct metric_series *metrics_series(struct metric_family *f, const char *labels);
void metrics_add(struct metric_series *s, double v);   /* counter, gauge */
void metrics_set(struct metric_series *s, double v);   /* gauge */
void metrics_observe(struct metric_series *s, double v); /* histogram */
double metrics_value(const struct metric_series *s);
/* Sets every series of a gauge family to 0 (before a fresh snapshot). */
void metrics_family_zero(struct metric_family *f);
void metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg);
/* Appends the text exposition format to out. */
void metrics_render(struct metrics *m, struct sbuf *out);

/* Escapes a label value into out (for building label strings). */
void metrics_label_escape(const char *v, char *out, size_t outlen);

/* Latency buckets in seconds shared by request histograms. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

#endif
