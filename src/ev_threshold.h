/* ev_threshold — pass/fail criteria in k6's grammar (docs/design.md §7.6).
 *
 *   "lost": ["count==0"], "e2e": ["p(95)<3000", "avg<500"],
 *   "publish_errors": ["rate<0.01"]
 *
 * An expression is AGG OP NUMBER with AGG one of p(N) (0 < N ≤ 100), avg, min,
 * med, max, count, rate and OP one of < <= > >= == !=. The metrics are those
 * of ev_metrics.h: latencies take p(N)/avg/min/med/max in milliseconds, and
 * count; counters take count, and rate = count / events attempted; recovery
 * (ev_recovery.h: seconds after each stage boundary where the rate drops
 * until the run is back at its level before it) takes max, min and avg over
 * those boundaries with a bound in s (the default), ms or m: "max<300s". A
 * boundary that never recovered fails it. */
#ifndef EV_THRESHOLD_H
#define EV_THRESHOLD_H

#include "ev_err.h"

typedef enum {
    EV_AGG_COUNT,
    EV_AGG_RATE,
    EV_AGG_P,
    EV_AGG_AVG,
    EV_AGG_MIN,
    EV_AGG_MED,
    EV_AGG_MAX,
    EV_AGG_SLOPE /* drift only */
} ev_agg;
typedef enum { EV_OP_LT, EV_OP_LE, EV_OP_GT, EV_OP_GE, EV_OP_EQ, EV_OP_NE } ev_op;

/* A threshold may select a part of the run with one tag, as k6 does:
 *   "e2e{stream:parser}"  one publish stream's events (every metric but
 *                          queue_wait, processing, foreign and unexpected)
 *   "lost{output:dlq}"    one output's classes and e2e latencies
 *   "e2e{stage:spike}"    a phase of the run (e2e and ack only): a named
 *                          stage, "warmup", "stage 2/3", "publish", "drain";
 *   "recovery{stage:spike}" the boundary at the end of that stage
 * Whether the tagged part exists is the plan's check (ev_plan_finish).
 *
 * A soak's trend (ev_drift.h) is its own metric with its own tag and
 * aggregate: "drift{metric:rss}": ["slope<5"] — the slope of that per-interval
 * series in % of its mean per hour, 0 when its 95 % interval includes 0
 * (flat); metric one of p99, throughput, rss, broker_memory. */
typedef enum { EV_TAG_NONE, EV_TAG_STREAM, EV_TAG_OUTPUT, EV_TAG_STAGE } ev_tag;

#define EV_TAG_VALUE_MAX 63

typedef struct ev_threshold {
    char metric[112]; /* as written, tag included: "e2e{stream:parser}" */
    char base[32];    /* the metric alone: "e2e" */
    int id;           /* ev_metric_id */
    ev_tag tag;
    char tag_value[EV_TAG_VALUE_MAX + 1];
    char expr[96]; /* as written, for the report */
    int latency;   /* metric is a latency (ms) rather than a counter (or recovery) */
    ev_agg agg;
    double pct; /* for EV_AGG_P */
    ev_op op;
    double bound;
    int drift; /* drift{metric:NAME}: 1 + its ev_drift_metric; 0 for every other metric */
} ev_threshold;

/* Parses one expression for one metric (tag included). EV_EUSAGE with a
 * message naming what was expected (unknown metric: the nearest valid name;
 * a tag that does not apply to the metric: which do). */
int ev_threshold_parse(const char *metric, const char *expr, ev_threshold *out, ev_err *err);
/* 1 if value satisfies t, else 0. */
int ev_threshold_holds(const ev_threshold *t, double value);
/* 1 if name is a metric thresholds accept (with or without a tag). */
int ev_threshold_metric_known(const char *name);
/* "stream", "output" or "stage". */
const char *ev_tag_name(ev_tag t);
/* 1 if the metric is measured on the publish side alone (ack, sched_lag,
 * publish_errors), so it means something in a publish-only run. */
int ev_threshold_publish_side(const char *name);

struct ev_hist;
/* A latency threshold's aggregate of h: count, or p(N)/med/avg/min/max in
 * milliseconds; NAN when h is NULL or (for all but count) empty. */
double ev_threshold_hist_value(const ev_threshold *t, const struct ev_hist *h);

#endif
