/* metrics: a small Prometheus registry. Families own their series; a
 * series pointer stays valid until metrics_free, so hot paths look it up
 * once and keep it.
 *
 * Cardinality is bounded: past metrics_set_max_series distinct label sets
 * in a family, every new label set is counted in one overflow series of
 * that family whose labels all have the value "other" (e.g.
 * queue="other",kind="other"), and each such look-up adds one to
 * ingot_metrics_series_overflow_total{family="<name>"}. Label values come
 * from tenants (queue names), so without the cap they could grow /metrics
 * and memory without limit. */
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
/* Most label sets per family (METRICS_MAX_SERIES); 0: unlimited (the default). */
void metrics_set_max_series(struct metrics *m, size_t max_series);
/* Finds or creates a family. name and help are kept by pointer: pass
 * string literals. Histograms all use metrics_latency_buckets (seconds). */
struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help);
/* labels: `a="x",b="y"` or "" (copied). Finds or creates; past the cap
 * returns the family's overflow series, which several label sets share:
 * feed a gauge snapshot with metrics_family_zero + metrics_add, not set. */
struct metric_series *metrics_series(struct metric_family *f, const char *labels);
void metrics_add(struct metric_series *s, double v);   /* counter, gauge */
void metrics_set(struct metric_series *s, double v);   /* gauge */
void metrics_observe(struct metric_series *s, double v); /* histogram */
double metrics_value(const struct metric_series *s);
/* A gauge whose subject is gone (a limit removed): its series (if any)
 * is left out of the exposition until set or added to again. The
 * pointer stays valid (series are never freed before metrics_free). */
void metrics_hide(struct metric_family *f, const char *labels);
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
