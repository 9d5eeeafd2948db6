/* ev_drift — see ev_drift.h.
 *
 * Design notes
 * - Ordinary least squares: slope = Sxy / Sxx, residual variance
 *   s² = Σ(y − ŷ)² / (n − 2), standard error of the slope sqrt(s² / Sxx), and
 *   the 95 % interval slope ± t(0.975, n − 2)·se. Sums are taken about the
 *   means (two passes), which keeps the arithmetic stable for x in hours
 *   and y in MiB or thousands of events/s.
 * - Per-minute points are autocorrelated (memory grows in steps, p99 has
 *   slow waves), so the interval is optimistic; reading "flat" when it
 *   includes 0 errs on the side of calling noise flat, which is what a soak
 *   verdict wants: a threshold fails on a trend, not on one bad minute.
 * - p99 of an interval is the p99 of its merged per-second histograms
 *   (exact), not an average of per-second p99s. */
#include "ev_drift.h"

#include "ev_hist.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[EV_DRIFT_COUNT] = {"p99", "throughput", "rss", "broker_memory"};
static const char *const units[EV_DRIFT_COUNT] = {"ms", "events/s", "MiB", "MiB"};

const char *ev_drift_name(int metric)
{
    return metric >= 0 && metric < EV_DRIFT_COUNT ? names[metric] : "?";
}

const char *ev_drift_unit(int metric)
{
    return metric >= 0 && metric < EV_DRIFT_COUNT ? units[metric] : "";
}

int ev_drift_find(const char *name)
{
    for (int i = 0; name && i < EV_DRIFT_COUNT; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

double ev_drift_t975(int dof)
{
    static const double t[31] = {NAN,   12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                 2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                 2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (dof < 1)
        return NAN;
    if (dof <= 30)
        return t[dof];
    /* Cornish-Fisher expansion about the normal quantile. */
    double z = 1.959963984540054, v = dof, z2 = z * z;
    return z + (z2 * z + z) / (4 * v) + (5 * z2 * z2 * z + 16 * z2 * z + 3 * z) / (96 * v * v) +
           (3 * z2 * z2 * z2 * z + 19 * z2 * z2 * z + 17 * z2 * z - 15 * z) / (384 * v * v * v);
}

int ev_drift_fit(const double *x, const double *y, size_t n, ev_fit *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->slope = out->half = out->intercept = out->mean_y = NAN;
    out->flat = 1;
    if (n < 2)
        return -1;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    out->mean_y = my;
    if (!(sxx > 0))
        return -1;
    out->slope = sxy / sxx;
    out->intercept = my - out->slope * mx;
    if (n < 3)
        return 0;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double r = y[i] - (out->intercept + out->slope * x[i]);
        ss += r * r;
    }
    double se = sqrt(ss / (double)(n - 2) / sxx);
    out->half = ev_drift_t975((int)(n - 2)) * se;
    out->flat = fabs(out->slope) <= out->half;
    return 0;
}

void ev_drift_free(ev_drift *d)
{
    if (!d)
        return;
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        free(d->s[m].t_s);
        free(d->s[m].value);
    }
    memset(d, 0, sizeof *d);
}

/* Accumulated over one interval. */
typedef struct bucket {
    double t0, t1; /* first point's start, last point's end */
    double c0, c1; /* cumulative count before and at the end */
    int have;      /* points in it */
    double rss_sum, mem_sum;
    int rss_n, mem_n;
    ev_hist *h;
} bucket;

static void put(ev_drift_series *s, double t, double v)
{
    s->t_s[s->npoints] = t;
    s->value[s->npoints++] = v;
}

static int flush(ev_drift *d, bucket *b)
{
    double mid = (b->t0 + b->t1) / 2, span = b->t1 - b->t0;
    if (ev_hist_count(b->h))
        put(&d->s[EV_DRIFT_P99], mid, (double)ev_hist_percentile(b->h, 99.0) / 1e6);
    if (span > 0)
        put(&d->s[EV_DRIFT_THROUGHPUT], mid, (b->c1 - b->c0) / span);
    if (b->rss_n)
        put(&d->s[EV_DRIFT_RSS], mid, b->rss_sum / b->rss_n / 1048576.0);
    if (b->mem_n)
        put(&d->s[EV_DRIFT_BROKER_MEMORY], mid, b->mem_sum / b->mem_n / 1048576.0);
    ev_hist_reset(b->h);
    return 0;
}

int ev_drift_compute(const ev_drift_in *pts, size_t n, int64_t interval_ns, ev_drift *out)
{
    return ev_drift_compute_fn(pts, n, interval_ns, NULL, NULL, out);
}

int ev_drift_compute_fn(const ev_drift_in *pts, size_t n, int64_t interval_ns,
                        ev_drift_hist_fn hist, void *ud, ev_drift *out)
{
    memset(out, 0, sizeof *out);
    out->interval_ns = interval_ns;
    double iv = (double)interval_ns / 1e9;
    bucket b = {0};
    int rc = -1;
    if (!(b.h = ev_hist_new()))
        return -1;
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        out->s[m].t_s = calloc(n + 1, sizeof(double));
        out->s[m].value = calloc(n + 1, sizeof(double));
        if (!out->s[m].t_s || !out->s[m].value)
            goto out;
    }
    out->s[EV_DRIFT_P99].available = out->s[EV_DRIFT_THROUGHPUT].available = 1;
    /* Publishing starts at the end of the point before the first publishing
     * one (0 when it is the first). */
    size_t first = 0;
    while (first < n && !pts[first].publishing)
        first++;
    double start = first > 0 && first < n ? pts[first - 1].t : 0.0;
    long cur = -1;
    for (size_t i = first; iv > 0 && i < n && pts[i].publishing; i++) {
        double prev_t = i > 0 ? pts[i - 1].t : 0.0;
        double prev_c = i > 0 ? pts[i - 1].count : 0.0;
        long k = (long)floor(((prev_t + pts[i].t) / 2 - start) / iv);
        if (k != cur) {
            if (cur >= 0 && b.have)
                flush(out, &b);
            cur = k;
            b.t0 = prev_t;
            b.c0 = prev_c;
            b.have = b.rss_n = b.mem_n = 0;
            b.rss_sum = b.mem_sum = 0;
        }
        /* The last interval counts only once it is complete. */
        b.t1 = pts[i].t;
        b.c1 = pts[i].count;
        b.have++;
        const char *he = hist ? hist(ud, i) : pts[i].hist_e2e;
        if (he)
            (void)ev_hist_decode(he, strlen(he), b.h);
        if (pts[i].rss_bytes >= 0) {
            b.rss_sum += (double)pts[i].rss_bytes;
            b.rss_n++;
            out->s[EV_DRIFT_RSS].available = 1;
        }
        if (pts[i].broker_memory >= 0) {
            b.mem_sum += pts[i].broker_memory;
            b.mem_n++;
            out->s[EV_DRIFT_BROKER_MEMORY].available = 1;
        }
        int last = i + 1 >= n || !pts[i + 1].publishing;
        if (last && b.have && pts[i].t - start >= (double)(cur + 1) * iv - 0.5 * (iv < 1 ? iv : 1))
            flush(out, &b);
    }
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        ev_drift_series *s = &out->s[m];
        double *x = calloc(s->npoints + 1, sizeof *x);
        if (!x)
            goto out;
        for (size_t i = 0; i < s->npoints; i++)
            x[i] = s->t_s[i] / 3600.0;
        (void)ev_drift_fit(x, s->value, s->npoints, &s->fit);
        free(x);
        s->pct_per_h = s->fit.mean_y != 0 && !isnan(s->fit.mean_y)
                           ? 100.0 * s->fit.slope / fabs(s->fit.mean_y)
                           : (double)NAN;
    }
    rc = 0;
out:
    ev_hist_free(b.h);
    if (rc)
        ev_drift_free(out);
    return rc;
}

double ev_drift_value(const ev_drift *d, int metric)
{
    if (metric < 0 || metric >= EV_DRIFT_COUNT)
        return NAN;
    const ev_drift_series *s = &d->s[metric];
    if (!s->available || s->fit.n < 3 || isnan(s->fit.half))
        return NAN;
    return s->fit.flat ? 0.0 : s->pct_per_h;
}

int64_t ev_drift_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, res = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2)
        res = -1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return res >= 0 && page > 0 ? (int64_t)res * page : -1;
}
