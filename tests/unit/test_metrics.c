/* The metric table (ev_metrics.h) as thresholds and the report use it: every
 * metric parses with the aggregates of its kind, and a threshold on each one
 * reads exactly that metric's value from the results. */
#include "ev_metrics.h"
#include "ev_report.h"
#include "ev_scenario.h"
#include "ev_test.h"
#include "ev_threshold.h"

#include <math.h>

static void test_table(void)
{
    CHECK_INT(EV_METRIC_COUNT, >, 0);
    for (int m = 0; m < EV_METRIC_COUNT; m++) {
        const ev_metric_def *d = &ev_metrics[m];
        CHECK(d->name && d->name[0] && d->help && d->help[0]);
        CHECK_INT(ev_metric_find(d->name), ==, m);
        ev_threshold t;
        if (d->seconds) { /* recovery: max/min/avg over boundaries (test_recovery.c) */
            CHECK_INT(ev_threshold_parse(d->name, "max<1s", &t, NULL), ==, EV_OK);
            CHECK_INT(t.id, ==, m);
            CHECK_INT(t.latency, ==, 0);
            CHECK_INT(ev_threshold_parse(d->name, "count>=0", &t, NULL), ==, EV_EUSAGE);
            CHECK_INT(ev_threshold_publish_side(d->name), ==, d->side == EV_SIDE_PUBLISH);
            continue;
        }
        CHECK_INT(ev_threshold_parse(d->name, "count>=0", &t, NULL), ==, EV_OK);
        CHECK_INT(t.id, ==, m);
        CHECK_INT(t.latency, ==, d->latency);
        CHECK_INT(ev_threshold_parse(d->name, "p(95)<1", &t, NULL), ==, d->latency ? 0 : EV_EUSAGE);
        CHECK_INT(ev_threshold_parse(d->name, "rate<1", &t, NULL), ==, d->latency ? EV_EUSAGE : 0);
        CHECK_INT(ev_threshold_publish_side(d->name), ==, d->side == EV_SIDE_PUBLISH);
    }
    CHECK_INT(ev_metric_find("nope"), ==, -1);
    CHECK_INT(ev_metric_find(NULL), ==, -1);
}

/* One threshold per counter, "count==K" with K the value the test gave that
 * counter's field: each must hold, so each reads its own field. */
static void test_report_reads_each_counter(void)
{
    ev_plan *p = NULL;
    ev_err err;
    CHECK_INT(ev_plan_new_default(&p, &err), ==, 0);
    char thr[2048];
    size_t n = 0;
    ev_results r;
    memset(&r, 0, sizeof r);
    uint64_t k = 10;
#define EV_CNT_(name, side, field, help)                                                           \
    r.field = k;                                                                                   \
    n += (size_t)snprintf(thr + n, sizeof thr - n, "%s\"%s\": [\"count==%llu\"]", n ? ", " : "{",  \
                          #name, (unsigned long long)k);                                           \
    k += 7;
    EV_COUNTER_METRICS(EV_CNT_)
#undef EV_CNT_
    snprintf(thr + n, sizeof thr - n, "}");
    char set[2100];
    snprintf(set, sizeof set, "thresholds=%s", thr);
    CHECK_INT(ev_plan_set(p, set, &err), ==, 0);
    r.plan = p;
    CHECK_INT(ev_report_evaluate(&r, &err), ==, 0);
    for (size_t i = 0; i < p->nthresholds; i++) {
        if (!r.thr_pass[i])
            fprintf(stderr, "%s: value %g\n", p->thresholds[i].metric, r.thr_value[i]);
        CHECK_INT(r.thr_pass[i], ==, 1);
    }
    CHECK_INT(r.pass, ==, 1);
    ev_results_free(&r);
    ev_plan_free(p);
}

/* A latency threshold reads its own histogram; one not measured fails. */
static void test_report_reads_each_latency(void)
{
    for (int m = 0; m < EV_METRIC_COUNT; m++) {
        if (!ev_metrics[m].latency)
            continue;
        ev_plan *p = NULL;
        ev_err err;
        CHECK_INT(ev_plan_new_default(&p, &err), ==, 0);
        char set[128];
        snprintf(set, sizeof set, "thresholds={\"%s\": [\"max==5\"]}", ev_metrics[m].name);
        CHECK_INT(ev_plan_set(p, set, &err), ==, 0);
        ev_results r;
        memset(&r, 0, sizeof r);
        r.plan = p;
        CHECK_INT(ev_report_evaluate(&r, &err), ==, 0);
        CHECK_INT(r.pass, ==, 0); /* nothing measured: cannot hold */
        CHECK(isnan(r.thr_value[0]));
        free(r.thr_value);
        free(r.thr_pass);
        r.thr_value = NULL;
        r.thr_pass = NULL;
        r.lat[m] = ev_hist_new();
        CHECK(r.lat[m] != NULL);
        ev_hist_record(r.lat[m], 5 * 1000 * 1000); /* 5 ms */
        CHECK_INT(ev_report_evaluate(&r, &err), ==, 0);
        CHECK_DBL(r.thr_value[0], ==, 5.0);
        CHECK_INT(r.pass, ==, 1);
        ev_results_free(&r);
        ev_plan_free(p);
    }
}

int main(void)
{
    EV_RUN(test_table);
    EV_RUN(test_report_reads_each_counter);
    EV_RUN(test_report_reads_each_latency);
    EV_DONE();
}
