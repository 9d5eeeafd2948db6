/* ev_drift — the trend of a long run (soak): per-interval points (default one
 * a minute, `drift.interval`) of e2e p99, throughput, evload's own resident
 * memory and the broker's memory where its module reports it, and the slope
 * of each by least squares with a 95 % confidence interval from the
 * residuals, in units per hour. A slope whose interval includes 0 is flat.
 *
 * The fit (ev_drift_fit) is a pure function; ev_drift_compute builds the
 * points from the run's per-second timeseries (publishing phases only:
 * warm-up and drain are not steady state) and fits each series. */
#ifndef EV_DRIFT_H
#define EV_DRIFT_H

#include <stddef.h>
#include <stdint.h>

/* The series, in the order results and thresholds name them
 * ("drift{metric:rss}"). */
typedef enum {
    EV_DRIFT_P99,           /* "p99": e2e p99 of each interval, ms */
    EV_DRIFT_THROUGHPUT,    /* "throughput": events received per second and group (acked
                               when publish only) */
    EV_DRIFT_RSS,           /* "rss": evload's resident set, MiB (Linux /proc/self/statm) */
    EV_DRIFT_BROKER_MEMORY, /* "broker_memory": the broker's "memory" figure (bytes), MiB */
    EV_DRIFT_COUNT
} ev_drift_metric;

/* "p99", "throughput", "rss", "broker_memory". */
const char *ev_drift_name(int metric);
/* The metric named so, or -1. */
int ev_drift_find(const char *name);
/* "ms", "events/s", "MiB", "MiB". */
const char *ev_drift_unit(int metric);

/* A least-squares line y = intercept + slope·x. */
typedef struct ev_fit {
    size_t n;         /* points used */
    double slope;     /* y units per x unit */
    double intercept; /* at x = 0 */
    double half;      /* half-width of the slope's 95 % interval (Student t, n−2 degrees of
                         freedom, standard error from the residuals); NAN when n < 3 */
    double mean_y;
    int flat; /* 1: the interval includes 0 (or n < 3: nothing can be said) */
} ev_fit;

/* Fits y against x over n points. Returns 0, or -1 when n < 2 or every x is
 * the same (out is then zeroed with NAN slope and half). Pure. */
int ev_drift_fit(const double *x, const double *y, size_t n, ev_fit *out);

/* The two-sided 95 % quantile of Student's t with dof degrees of freedom
 * (dof >= 1): exact to 3 decimals for dof <= 30, Cornish-Fisher above. */
double ev_drift_t975(int dof);

/* One series of a run. */
typedef struct ev_drift_series {
    int available;    /* the run measured it (rss off Linux, broker memory on most brokers: 0) */
    size_t npoints;   /* complete intervals with a value */
    double *t_s;      /* owned: each point's middle, seconds since publishing started */
    double *value;    /* owned: in ev_drift_unit */
    ev_fit fit;       /* x in hours: slope is units per hour */
    double pct_per_h; /* slope as a share of the series' mean, % per hour (NAN: mean 0) */
} ev_drift_series;

typedef struct ev_drift {
    int64_t interval_ns;
    ev_drift_series s[EV_DRIFT_COUNT];
} ev_drift;

/* One per-second point as ev_drift_compute reads it (the engine's ev_tpoint
 * carries more; ev_report adapts). */
typedef struct ev_drift_in {
    double t;             /* end of the second, seconds since publishing started */
    int publishing;       /* in a publishing phase (not warm-up, drain, end) */
    double count;         /* cumulative events received per group (or acked) */
    const char *hist_e2e; /* that second's e2e histogram, ev_hist_encode'd; NULL: none */
    int64_t rss_bytes;    /* -1: unknown */
    double broker_memory; /* bytes, < 0: unknown */
} ev_drift_in;

/* Buckets the publishing points into complete intervals of interval_ns
 * (a point belongs to the interval holding the middle of its second) and
 * fits each series. Returns 0 or -1 (out of memory); free with
 * ev_drift_free. */
int ev_drift_compute(const ev_drift_in *pts, size_t n, int64_t interval_ns, ev_drift *out);
/* As ev_drift_compute, but point i's histogram is hist(ud, i) (borrowed
 * until the next call; NULL: none) rather than pts[i].hist_e2e: for a
 * timeseries whose histograms are read back one point at a time. hist is
 * called once per publishing point, in increasing i. */
typedef const char *(*ev_drift_hist_fn)(void *ud, size_t i);
int ev_drift_compute_fn(const ev_drift_in *pts, size_t n, int64_t interval_ns,
                        ev_drift_hist_fn hist, void *ud, ev_drift *out);
void ev_drift_free(ev_drift *d);

/* This process's resident set in bytes (Linux /proc/self/statm), -1 when
 * it cannot be read. For the engine's per-second points. */
int64_t ev_drift_rss_bytes(void);

/* The threshold value of a series: its slope in % of its mean per hour, 0
 * when flat; NAN when it was not measured or has fewer than 3 points. */
double ev_drift_value(const ev_drift *d, int metric);

#endif
