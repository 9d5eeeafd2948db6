/* The soak trend (ev_drift.h): the least-squares slope and its 95 % interval
 * against figures computed by hand, the t quantiles, the bucketing of
 * per-second points into complete intervals, and drift thresholds. */
#include "ev_drift.h"
#include "ev_hist.h"
#include "ev_report.h"
#include "ev_test.h"
#include "ev_threshold.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_fit_exact_line(void)
{
    double x[6], y[6];
    for (int i = 0; i < 6; i++) {
        x[i] = i * 0.5;
        y[i] = 3.0 + 2.0 * x[i];
    }
    ev_fit f;
    CHECK_INT(ev_drift_fit(x, y, 6, &f), ==, 0);
    CHECK_DBL(fabs(f.slope - 2.0), <, 1e-12);
    CHECK_DBL(fabs(f.intercept - 3.0), <, 1e-12);
    CHECK_DBL(f.half, <, 1e-9); /* no residuals: no doubt */
    CHECK_DBL(f.half, >=, 0);
    CHECK_INT(f.flat, ==, 0);
    CHECK_INT((int)f.n, ==, 6);
    CHECK_DBL(fabs(f.mean_y - 5.5), <, 1e-12);
}

/* x 1..5, y 2.1 3.9 6.2 7.8 10.1: slope 1.99, intercept 0.05, standard
 * error 0.0597216 (residuals over 3 degrees of freedom), t(0.975, 3) =
 * 3.182446: half-width 0.190061 (computed by hand, as in any textbook). */
static void test_fit_against_hand(void)
{
    const double x[] = {1, 2, 3, 4, 5}, y[] = {2.1, 3.9, 6.2, 7.8, 10.1};
    ev_fit f;
    CHECK_INT(ev_drift_fit(x, y, 5, &f), ==, 0);
    CHECK_DBL(fabs(f.slope - 1.99), <, 1e-9);
    CHECK_DBL(fabs(f.intercept - 0.05), <, 1e-9);
    CHECK_DBL(fabs(f.half - 0.19006069), <, 2e-4); /* the table's t has 3 decimals */
    CHECK_INT(f.flat, ==, 0);
}

/* Noise about a constant: the slope's interval includes 0. */
static void test_fit_flat(void)
{
    const double x[] = {0, 1, 2, 3, 4, 5, 6, 7}, y[] = {10, 12, 9, 11, 10, 12, 9, 11};
    ev_fit f;
    CHECK_INT(ev_drift_fit(x, y, 8, &f), ==, 0);
    CHECK_DBL(fabs(f.slope), <=, f.half);
    CHECK_INT(f.flat, ==, 1);
    /* The same noise on a clear rise is not flat. */
    double y2[8];
    for (int i = 0; i < 8; i++)
        y2[i] = y[i] + 3.0 * x[i];
    CHECK_INT(ev_drift_fit(x, y2, 8, &f), ==, 0);
    CHECK_DBL(f.slope, >, f.half);
    CHECK_INT(f.flat, ==, 0);
    /* And a fall. */
    for (int i = 0; i < 8; i++)
        y2[i] = y[i] - 3.0 * x[i];
    CHECK_INT(ev_drift_fit(x, y2, 8, &f), ==, 0);
    CHECK_DBL(f.slope, <, -f.half);
    CHECK_INT(f.flat, ==, 0);
}

static void test_fit_degenerate(void)
{
    const double x[] = {1, 2, 2, 2}, y[] = {1, 5, 6, 7};
    ev_fit f;
    CHECK_INT(ev_drift_fit(x, y, 1, &f), ==, -1);
    CHECK(isnan(f.slope));
    CHECK_INT(ev_drift_fit(x + 1, y + 1, 3, &f), ==, -1); /* every x the same */
    CHECK(isnan(f.slope));
    CHECK_INT(ev_drift_fit(x, y, 2, &f), ==, 0); /* two points: a slope, no interval */
    CHECK_DBL(fabs(f.slope - 4.0), <, 1e-12);
    CHECK(isnan(f.half));
    CHECK_INT(f.flat, ==, 1);
}

static void test_t_quantiles(void)
{
    CHECK(isnan(ev_drift_t975(0)));
    CHECK_DBL(ev_drift_t975(1), ==, 12.706);
    CHECK_DBL(ev_drift_t975(3), ==, 3.182);
    CHECK_DBL(ev_drift_t975(30), ==, 2.042);
    /* Reference values (R: qt(0.975, df)): 31 2.039513, 60 2.000298,
     * 120 1.979930, 1000 1.962339. */
    CHECK_DBL(fabs(ev_drift_t975(31) - 2.039513), <, 1e-3);
    CHECK_DBL(fabs(ev_drift_t975(60) - 2.000298), <, 1e-4);
    CHECK_DBL(fabs(ev_drift_t975(120) - 1.979930), <, 1e-4);
    CHECK_DBL(fabs(ev_drift_t975(1000) - 1.962339), <, 1e-5);
    for (int d = 2; d < 200; d++)
        CHECK_DBL(ev_drift_t975(d), <, ev_drift_t975(d - 1));
}

/* 20 one-second publishing points after a 2 s warm-up, then 3 drain points:
 * throughput ramps by 10 events/s each second, evload's memory holds still,
 * the broker's grows by 1 MiB a second, every second's e2e is 5 ms. */
static void test_compute(void)
{
    ev_drift_in in[25];
    char *h5 = NULL;
    ev_hist *h = ev_hist_new();
    CHECK(h != NULL);
    for (int i = 0; i < 100; i++)
        ev_hist_record(h, 5000000);
    h5 = ev_hist_encode(h);
    CHECK(h5 != NULL);
    double count = 0;
    for (int i = 0; i < 25; i++) {
        int pub = i >= 2 && i < 22;
        if (pub)
            count += 100 + 10 * (i - 2);
        in[i] = (ev_drift_in){.t = i + 1.0 + 0.001 * (i % 3), /* ticks jitter a little */
                              .publishing = pub,
                              .count = count,
                              .hist_e2e = pub ? h5 : NULL,
                              .rss_bytes = 64 << 20,
                              .broker_memory = pub ? (double)(i << 20) : -1.0};
    }
    ev_drift d;
    CHECK_INT(ev_drift_compute(in, 25, 1000000000, &d), ==, 0);
    CHECK_INT((int)d.s[EV_DRIFT_THROUGHPUT].npoints, ==, 20);
    const ev_drift_series *tp = &d.s[EV_DRIFT_THROUGHPUT];
    /* 10 events/s more every second: 36000 events/s per hour. */
    CHECK_DBL(fabs(tp->fit.slope - 36000.0), <, 36000.0 * 0.02);
    CHECK_INT(tp->fit.flat, ==, 0);
    CHECK_DBL(ev_drift_value(&d, EV_DRIFT_THROUGHPUT), >, 0);
    CHECK_DBL(fabs(tp->value[0] - 100.0), <, 1.0);
    const ev_drift_series *rss = &d.s[EV_DRIFT_RSS];
    CHECK_INT(rss->available, ==, 1);
    CHECK_DBL(rss->value[0], ==, 64.0);
    CHECK_INT(rss->fit.flat, ==, 1);
    CHECK_DBL(ev_drift_value(&d, EV_DRIFT_RSS), ==, 0.0);
    const ev_drift_series *bm = &d.s[EV_DRIFT_BROKER_MEMORY];
    CHECK_INT(bm->available, ==, 1);
    CHECK_DBL(fabs(bm->fit.slope - 3600.0), <, 3600.0 * 0.02); /* 1 MiB/s = 3600 MiB/h */
    const ev_drift_series *p99 = &d.s[EV_DRIFT_P99];
    CHECK_INT((int)p99->npoints, ==, 20);
    CHECK_DBL(fabs(p99->value[3] - 5.0), <, 0.05);
    CHECK_INT(p99->fit.flat, ==, 1);
    ev_drift_free(&d);

    /* 3 s intervals: 6 complete ones; the 2 s left at the end do not count. */
    CHECK_INT(ev_drift_compute(in, 25, 3000000000LL, &d), ==, 0);
    CHECK_INT((int)d.s[EV_DRIFT_THROUGHPUT].npoints, ==, 6);
    CHECK_DBL(fabs(d.s[EV_DRIFT_THROUGHPUT].value[0] - 110.0), <, 1.0); /* 100, 110, 120 */
    CHECK_DBL(fabs(d.s[EV_DRIFT_THROUGHPUT].t_s[0] - 3.5), <, 0.01); /* the run's clock: 2..5 s */
    ev_drift_free(&d);

    /* Unknown memory: not available, no value. */
    for (int i = 0; i < 25; i++)
        in[i].rss_bytes = -1, in[i].broker_memory = -1;
    CHECK_INT(ev_drift_compute(in, 25, 1000000000, &d), ==, 0);
    CHECK_INT(d.s[EV_DRIFT_RSS].available, ==, 0);
    CHECK(isnan(ev_drift_value(&d, EV_DRIFT_RSS)));
    CHECK(isnan(ev_drift_value(&d, EV_DRIFT_BROKER_MEMORY)));
    ev_drift_free(&d);
    /* A run shorter than 3 intervals says nothing. */
    CHECK_INT(ev_drift_compute(in, 25, 60000000000LL, &d), ==, 0);
    CHECK_INT((int)d.s[EV_DRIFT_THROUGHPUT].npoints, ==, 0);
    CHECK(isnan(ev_drift_value(&d, EV_DRIFT_THROUGHPUT)));
    ev_drift_free(&d);
    free(h5);
    ev_hist_free(h);
}

static void test_threshold(void)
{
    ev_threshold t;
    CHECK_INT(ev_threshold_parse("drift{metric:rss}", "slope<5", &t, NULL), ==, EV_OK);
    CHECK_INT(t.drift, ==, 1 + EV_DRIFT_RSS);
    CHECK_INT(t.agg, ==, EV_AGG_SLOPE);
    CHECK_DBL(t.bound, ==, 5.0);
    CHECK_INT(ev_threshold_holds(&t, 0.0), ==, 1);
    CHECK_INT(ev_threshold_holds(&t, 7.5), ==, 0);
    CHECK_INT(ev_threshold_parse("drift{metric:throughput}", " slope > -10 % ", &t, NULL), ==,
              EV_OK);
    CHECK_DBL(t.bound, ==, -10.0);
    CHECK_INT(t.op, ==, EV_OP_GT);
    CHECK_INT(ev_threshold_parse("drift{metric:p99}", "slope<=1", &t, NULL), ==, EV_OK);
    CHECK_INT(ev_threshold_parse("drift{metric:broker_memory}", "slope<1", &t, NULL), ==, EV_OK);
    CHECK_INT(ev_threshold_metric_known("drift{metric:p99}"), ==, 1);
    CHECK_INT(ev_threshold_metric_known("drift{metric:cpu}"), ==, 0);
    CHECK_INT(ev_threshold_publish_side("drift{metric:rss}"), ==, 1);
    CHECK_INT(ev_threshold_publish_side("drift{metric:p99}"), ==, 0);
    ev_err err = {{0}};
    CHECK_INT(ev_threshold_parse("drift{metric:cpu}", "slope<5", &t, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "p99, throughput, rss, broker_memory");
    CHECK_INT(ev_threshold_parse("drift", "slope<5", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("drift{stream:a}", "slope<5", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("drift{metric:rss}", "max<5", &t, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "slope OP NUMBER");
    CHECK_INT(ev_threshold_parse("drift{metric:rss}", "slope==5", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("drift{metric:rss}", "slope<5x", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("drift{metric:rss}", "slope<", &t, &err), ==, EV_EUSAGE);
    /* "driftless" is not drift: an unknown metric as before. */
    CHECK_INT(ev_threshold_parse("driftx", "count<5", &t, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "unknown threshold metric");
}

/* Runs planned for 10 minutes or more show elapsed, left and the end time. */
static void test_status_line(void)
{
    ev_tpoint tp;
    memset(&tp, 0, sizeof tp);
    snprintf(tp.phase, sizeof tp.phase, "publish");
    tp.t = 600.0;
    tp.planned_s = 3600.0;
    tp.remaining_s = 3000.0;
    char line[256];
    ev_report_status(&tp, 600.0 / 3600.0, 1, line, sizeof line);
    CHECK_HAS(line, "  elapsed 10m00s  left 50m00s  ends ");
    CHECK(line[strlen(line) - 1] == 'Z');
    tp.t = 3700.0;
    tp.planned_s = 7200.0;
    tp.remaining_s = 3500.0;
    ev_report_status(&tp, -1, 0, line, sizeof line);
    CHECK_HAS(line, "(publish only)  elapsed 1h01m40s  left 58m20s  ends ");
    tp.planned_s = 599.0; /* short runs: the line as before */
    tp.remaining_s = 1.0;
    ev_report_status(&tp, -1, 1, line, sizeof line);
    CHECK(strstr(line, "elapsed") == NULL);
    tp.planned_s = -1; /* max-throughput by count: nothing to say */
    ev_report_status(&tp, -1, 1, line, sizeof line);
    CHECK(strstr(line, "left") == NULL);
}

int main(void)
{
    EV_RUN(test_status_line);
    EV_RUN(test_fit_exact_line);
    EV_RUN(test_fit_against_hand);
    EV_RUN(test_fit_flat);
    EV_RUN(test_fit_degenerate);
    EV_RUN(test_t_quantiles);
    EV_RUN(test_compute);
    EV_RUN(test_threshold);
    EV_DONE();
}
