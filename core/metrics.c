#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metric_series {
    char *labels;
    uint64_t hash;
    double value;      /* counter/gauge value; histogram sum */
    unsigned long long count;
    unsigned long long *buckets; /* histogram: per-bucket (non-cumulative) */
    bool hidden;       /* metrics_hide: not rendered until set or added to again */
    struct metric_series *next;
};

struct metric_family {
    enum metric_type type;
    const char *name, *help;
    struct metric_series *series, *tail;
    struct metric_series **index; /* open addressing by label hash; nindex slots */
    size_t nindex, nseries;       /* nseries counts the overflow series too */
    struct metric_series *overflow;         /* the "other" series, once needed */
    struct metric_series *overflow_counter; /* in m->overflow_family */
    struct metrics *owner;
    bool capped; /* false for the registry's own overflow family */
    struct metric_family *next;
};

struct collector {
    metrics_collect_fn fn;
    void *arg;
};

struct metrics {
    struct metric_family *families, *tail;
    struct metric_family *overflow_family;
    size_t max_series; /* per family; 0: unlimited */
    struct collector collectors[16];
    size_t ncollectors;
};

const double metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_latency_nbuckets = ARRAY_LEN(metrics_latency_buckets);

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_set_max_series(struct metrics *m, size_t max_series)
{
    m->max_series = max_series;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    struct metric_family *f = m->families;
    while (f) {
        struct metric_family *fn = f->next;
        struct metric_series *s = f->series;
        while (s) {
            struct metric_series *sn = s->next;
            free(s->labels);
            free(s->buckets);
            free(s);
            s = sn;
        }
        free(f->index);
        free(f);
        f = fn;
    }
    free(m);
}

struct metric_family *metrics_family(struct metrics *m, enum metric_type type, const char *name,
                                     const char *help)
{
    for (struct metric_family *f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    struct metric_family *f = xcalloc(1, sizeof *f);
    f->type = type;
    f->name = name;
    f->help = help;
    f->owner = m;
    f->capped = true;
    if (m->tail)
        m->tail->next = f;
    else
        m->families = f;
    m->tail = f;
    return f;
}

static uint64_t label_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct metric_series *index_find(const struct metric_family *f, const char *labels,
                                        uint64_t h)
{
    if (!f->nindex)
        return NULL;
    for (size_t i = h & (f->nindex - 1);; i = (i + 1) & (f->nindex - 1)) {
        struct metric_series *s = f->index[i];
        if (!s)
            return NULL;
        if (s->hash == h && strcmp(s->labels, labels) == 0)
            return s;
    }
}

static void index_put(struct metric_family *f, struct metric_series *s)
{
    if ((f->nseries + 1) * 2 > f->nindex) { /* keep the load under one half */
        size_t n = f->nindex ? f->nindex * 2 : 16;
        free(f->index);
        f->index = xcalloc(n, sizeof(struct metric_series *));
        f->nindex = n;
        for (struct metric_series *o = f->series; o; o = o->next)
            if (o != s)
                index_put(f, o);
    }
    size_t i = s->hash & (f->nindex - 1);
    while (f->index[i])
        i = (i + 1) & (f->nindex - 1);
    f->index[i] = s;
}

static struct metric_series *series_add(struct metric_family *f, const char *labels, uint64_t h)
{
    struct metric_series *s = xcalloc(1, sizeof *s);
    s->labels = xstrdup(labels);
    s->hash = h;
    if (f->type == METRIC_HISTOGRAM)
        s->buckets = xcalloc(metrics_latency_nbuckets + 1, sizeof(unsigned long long));
    if (f->tail)
        f->tail->next = s;
    else
        f->series = s;
    f->tail = s;
    index_put(f, s);
    f->nseries++;
    return s;
}

/* `a="x",b="y"` -> `a="other",b="other"` (label names kept, values replaced). */
static void overflow_labels(const char *labels, char *out, size_t outlen)
{
    size_t j = 0;
    out[0] = '\0';
    while (*labels) {
        const char *eq = strchr(labels, '=');
        if (!eq || eq[1] != '"')
            break;
        const char *v = eq + 2;
        while (*v && *v != '"')
            v += (*v == '\\' && v[1]) ? 2 : 1;
        int n = snprintf(out + j, outlen - j, "%s%.*s=\"other\"", j ? "," : "",
                         (int)(eq - labels), labels);
        if (n < 0 || (size_t)n >= outlen - j) {
            out[j] = '\0';
            break;
        }
        j += (size_t)n;
        labels = *v ? v + 1 : v;
        if (*labels == ',')
            labels++;
    }
}

/* A label set past the cap: count it under the family's "other" series
 * and count the redirect in ingot_metrics_series_overflow_total. */
static struct metric_series *series_overflow(struct metric_family *f, const char *labels)
{
    if (!f->overflow) {
        char other[512];
        overflow_labels(labels, other, sizeof other);
        f->overflow = index_find(f, other, label_hash(other));
        if (!f->overflow)
            f->overflow = series_add(f, other, label_hash(other));
        struct metrics *m = f->owner;
        if (!m->overflow_family) {
            m->overflow_family = metrics_family(
                m, METRIC_COUNTER, "ingot_metrics_series_overflow_total",
                "Look-ups of a new label set beyond METRICS_MAX_SERIES, counted in the family's "
                "series whose labels are all \"other\".");
            m->overflow_family->capped = false; /* one series per family: bounded */
        }
        char fl[256];
        snprintf(fl, sizeof fl, "family=\"%s\"", f->name);
        f->overflow_counter = metrics_series(m->overflow_family, fl);
    }
    metrics_add(f->overflow_counter, 1);
    return f->overflow;
}

struct metric_series *metrics_series(struct metric_family *f, const char *labels)
{
    uint64_t h = label_hash(labels);
    struct metric_series *s = index_find(f, labels, h);
    if (s)
        return s;
    size_t cap = f->owner->max_series;
    if (f->capped && cap && f->nseries >= cap)
        return series_overflow(f, labels);
    return series_add(f, labels, h);
}

void metrics_add(struct metric_series *s, double v)
{
    s->value += v;
    s->hidden = false;
}

void metrics_set(struct metric_series *s, double v)
{
    s->value = v;
    s->hidden = false;
}

void metrics_hide(struct metric_family *f, const char *labels)
{
    struct metric_series *s = index_find(f, labels, label_hash(labels));
    if (s && s != f->overflow)
        s->hidden = true;
}

double metrics_value(const struct metric_series *s)
{
    return s->value;
}

void metrics_family_zero(struct metric_family *f)
{
    for (struct metric_series *s = f->series; s; s = s->next)
        s->value = 0;
}

void metrics_on_collect(struct metrics *m, metrics_collect_fn fn, void *arg)
{
    if (m->ncollectors >= ARRAY_LEN(m->collectors))
        abort();
    m->collectors[m->ncollectors++] = (struct collector){fn, arg};
}

void metrics_observe(struct metric_series *s, double v)
{
    size_t i = 0;
    while (i < metrics_latency_nbuckets && v > metrics_latency_buckets[i])
        i++;
    s->buckets[i]++;
    s->count++;
    s->value += v;
}

/* The fewest digits (15 to 17) that read back as the same double: %.6g
 * rounded process_start_time_seconds to 10^4 s and large sums likewise. */
static void render_double(struct sbuf *out, double v)
{
    if (isnan(v)) {
        sbuf_puts(out, "NaN");
    } else if (isinf(v)) {
        sbuf_puts(out, v > 0 ? "+Inf" : "-Inf");
    } else if (v < 1e15 && v > -1e15 && v == (double)(long long)v) { /* range first: no UB */
        sbuf_printf(out, "%lld", (long long)v);
    } else {
        char b[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(b, sizeof b, "%.*g", prec, v);
            if (strtod(b, NULL) == v)
                break;
        }
        sbuf_puts(out, b);
    }
}

void metrics_render(struct metrics *m, struct sbuf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    for (size_t i = 0; i < m->ncollectors; i++)
        m->collectors[i].fn(m, m->collectors[i].arg);
    for (struct metric_family *f = m->families; f; f = f->next) {
        sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                    type_names[f->type]);
        for (struct metric_series *s = f->series; s; s = s->next) {
            if (s->hidden)
                continue;
            const char *sep = *s->labels ? "," : "";
            if (f->type != METRIC_HISTOGRAM) {
                if (*s->labels)
                    sbuf_printf(out, "%s{%s} ", f->name, s->labels);
                else
                    sbuf_printf(out, "%s ", f->name);
                render_double(out, s->value);
                sbuf_putc(out, '\n');
                continue;
            }
            unsigned long long cum = 0;
            for (size_t b = 0; b < metrics_latency_nbuckets; b++) {
                cum += s->buckets[b];
                sbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels, sep,
                            metrics_latency_buckets[b], cum);
            }
            sbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels, sep,
                        s->count);
            const char *lo = *s->labels ? "{" : "", *lc = *s->labels ? "}" : "";
            sbuf_printf(out, "%s_sum%s%s%s ", f->name, lo, s->labels, lc);
            render_double(out, s->value);
            sbuf_printf(out, "\n%s_count%s%s%s %llu\n", f->name, lo, s->labels, lc, s->count);
        }
    }
}

void metrics_label_escape(const char *v, char *out, size_t outlen)
{
    size_t j = 0;
    for (; *v && j + 3 < outlen; v++) {
        if (*v == '"' || *v == '\\') {
            out[j++] = '\\';
            out[j++] = *v;
        } else if (*v == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = *v;
        }
    }
    out[j] = '\0';
}
