/* test_recovery — the recovery rule with depth (ev_recovery_find), the drain
 * time (ev_recovery_drain), recovery after each rate-dropping stage boundary
 * over a synthetic timeseries (ev_recovery_stages: which boundaries, which
 * baseline, the figures), the `recovery` threshold metric (grammar, value,
 * an unrecovered boundary failing it, {stage:NAME}). */
#include "ev_recovery.h"
#include "ev_report.h"
#include "ev_scenario.h"
#include "ev_test.h"
#include "ev_test_plan.h"
#include "ev_threshold.h"

#include <math.h>

static void test_rule_with_depth(void)
{
    ev_recovery_base b = {.p99_ms = 2.0, .depth = 20};
    ev_recovery_tolerance(&b, 50); /* 50/s: the 10-event floor */
    CHECK_DBL(fabs(b.tol_depth - 40.0), <, 1e-9);
    ev_recovery_tolerance(&b, 1000); /* a tenth of a second's worth: 100 */
    CHECK_DBL(fabs(b.tol_depth - 130.0), <, 1e-9);
    ev_recovery_sec s[] = {
        {9, 10, 100, 900.0, 0, 5000},
        {10, 11, 100, 3.0, 0, 400}, /* p99 back, backlog not */
        {11, 12, 100, 3.0, 0, -1},  /* depth not said: p99 alone, back */
        {12, 13, 100, 3.0, 0, 100}, /* both back */
    };
    double r = -1, d = -1;
    int64_t backlog = -1;
    CHECK_INT(ev_recovery_find(s, 4, 10.0, &b, &r), ==, 1);
    CHECK_DBL(fabs(r - 1.0), <, 1e-9);
    s[2].p99_ms = 5.0; /* now only the 12..13 s second is back */
    CHECK_INT(ev_recovery_find(s, 4, 10.0, &b, &r), ==, 1);
    CHECK_DBL(fabs(r - 2.0), <, 1e-9);
    /* Depth 400 at 11 s, 100 at 13 s (12 s unknown): 130 crossed at
     * 11 + (400 - 130) / 300 × 2 = 12.8 s. */
    CHECK_INT(ev_recovery_drain(s, 4, 10.0, &b, &d, &backlog), ==, 1);
    CHECK_DBL(fabs(d - 2.8), <, 1e-9);
    CHECK_INT(backlog, ==, 5000); /* the level at the boundary */
    /* Without a depth in the baseline, p99 alone decides and there is no drain. */
    b.depth = -1;
    ev_recovery_tolerance(&b, 1000);
    CHECK_INT(ev_recovery_find(s, 4, 10.0, &b, &r), ==, 1);
    CHECK_DBL(r, ==, 0.0);
    CHECK_INT(ev_recovery_drain(s, 4, 10.0, &b, &d, &backlog), ==, -1);
    /* Never drained. */
    b.depth = 0;
    ev_recovery_tolerance(&b, 0);
    s[3].depth = 11;
    CHECK_INT(ev_recovery_drain(s, 4, 10.0, &b, &d, &backlog), ==, 0);
    CHECK_INT(ev_recovery_find(s, 4, 10.0, &b, &r), ==, 0);
}

/* One point a second from 1 to n: each second's e2e samples all at p99_ms[i]
 * (count 100), its depth depth[i]. */
static void fill(ev_results *R, size_t n, const double *ms, const int64_t *depth)
{
    R->ts = calloc(n, sizeof *R->ts);
    R->nts = n;
    ev_hist *h = ev_hist_new();
    for (size_t i = 0; i < n; i++) {
        ev_tpoint *tp = &R->ts[i];
        tp->t = (double)(i + 1) + 0.002;
        ev_hist_reset(h);
        ev_hist_record_n(h, (int64_t)(ms[i] * 1e6), 100);
        tp->hist_e2e = ev_hist_encode(h);
        tp->e2e_p99_ms = (double)ev_hist_percentile(h, 99) / 1e6;
        tp->depth = depth[i];
    }
    ev_hist_free(h);
}

static const json_t *at(const ev_results *R, size_t i, const char *key)
{
    return json_object_get(json_array_get(R->recovery, i), key);
}

static void test_stages(void)
{
    /* base 500/s 4 s, a step to 2000/s for 3 s (spike), a step down to 800/s
     * for 6 s (after), a 2 s ramp down to 100 (a second drop), 100/s 2 s. */
    ev_plan *p = ev_test_plan_ok(
        "{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\", "
        "\"start_rate\": 500, \"stages\": [{\"duration\": \"4s\", \"target\": 500, \"name\": "
        "\"base\"}, {\"duration\": \"0s\", \"target\": 2000}, {\"duration\": \"3s\", \"target\": "
        "2000, \"name\": \"spike\"}, {\"duration\": \"0s\", \"target\": 800}, {\"duration\": "
        "\"6s\", \"target\": 800, \"name\": \"after\"}, {\"duration\": \"2s\", \"target\": 100}, "
        "{\"duration\": \"2s\", \"target\": 100}]}, \"thresholds\": {\"recovery\": "
        "[\"max<300s\"], \"recovery{stage:spike}\": [\"max<3500ms\", \"avg<=4\"], "
        "\"recovery{stage:after}\": [\"max<1m\"]}}");
    /* Seconds 1..17: base at 2 ms / depth 5, the spike's backlog growing,
     * then draining: p99 back in the second from 11 s, depth 3000 → 0. */
    static const double ms[17] = {2,   2,   2, 2, 400, 900, 1500, 1300, 900,
                                  400, 2.5, 2, 2, 2,   2,   2,    2};
    static const int64_t depth[17] = {5,    5,  5, 5, 1500, 3000, 4500, 3500, 2000,
                                      1000, 50, 5, 5, 5,    5,    5,    5};
    ev_results R;
    memset(&R, 0, sizeof R);
    R.plan = p;
    fill(&R, 17, ms, depth);
    ev_err err;
    CHECK_INT(ev_report_evaluate(&R, &err), ==, 0);
    CHECK_INT((int)json_array_size(R.recovery), ==, 2);
    /* spike → after at 7 s, baseline base (1..4 s), 800/s: depth tolerance
     * 5 × 1.5 + 80 = 87.5; p99 2 × 1.5 + 1 = 4. */
    CHECK(!strcmp(json_string_value(at(&R, 0, "from")), "spike"));
    CHECK(!strcmp(json_string_value(at(&R, 0, "to")), "after"));
    CHECK_DBL(json_number_value(at(&R, 0, "at_s")), ==, 7.0);
    CHECK_DBL(json_number_value(at(&R, 0, "rate_to")), ==, 800.0);
    const json_t *b = at(&R, 0, "baseline");
    CHECK(!strcmp(json_string_value(json_object_get(b, "stage")), "base"));
    CHECK_INT(json_integer_value(json_object_get(b, "seconds")), ==, 4);
    CHECK_INT(json_integer_value(json_object_get(b, "depth")), ==, 5);
    CHECK_DBL(fabs(json_number_value(json_object_get(at(&R, 0, "tolerance"), "depth")) - 87.5), <,
              1e-9);
    CHECK(json_is_true(at(&R, 0, "recovered")));
    /* The first second back is the one from 10.002 s to 11.002 s. */
    CHECK_DBL(fabs(json_number_value(at(&R, 0, "recovery_s")) - 3.002), <, 1e-9);
    /* Depth 1000 at 10.002 s, 50 at 11.002 s: 87.5 crossed at
     * 10.002 + 912.5 / 950 s. */
    CHECK_DBL(fabs(json_number_value(at(&R, 0, "drain_s")) - (3.002 + 912.5 / 950.0)), <, 1e-9);
    CHECK_INT(json_integer_value(at(&R, 0, "backlog")), ==, 4500);
    /* after → stage 7/7 at 13 s (the 2 s ramp down to 100 is stage 6/7, the
     * rate it drops to is its target); baseline: the nearest stage below
     * after's 800/s, base. Already back. */
    CHECK(!strcmp(json_string_value(at(&R, 1, "from")), "after"));
    CHECK(!strcmp(json_string_value(at(&R, 1, "to")), "stage 6/7"));
    CHECK_DBL(json_number_value(at(&R, 1, "at_s")), ==, 13.0);
    CHECK_DBL(json_number_value(at(&R, 1, "recovery_s")), ==, 0.0);
    /* Thresholds: max over both 3.002 < 300; the spike's 3.002 < 3.5 s and
     * <= 4; after's 0 < 60. */
    CHECK_INT((int)p->nthresholds, ==, 4);
    size_t all = p->nthresholds;
    for (size_t i = 0; i < p->nthresholds; i++) {
        CHECK_INT(R.thr_pass[i], ==, 1);
        if (!strcmp(p->thresholds[i].metric, "recovery"))
            all = i;
    }
    CHECK(all < p->nthresholds);
    CHECK_DBL(fabs(R.thr_value[all] - 3.002), <, 1e-9);
    CHECK_DBL(ev_recovery_value(&R, "spike", EV_AGG_MIN), ==, R.thr_value[all]);
    CHECK(isnan(ev_recovery_value(&R, "base", EV_AGG_MAX))); /* no boundary ends it */
    CHECK(R.pass);
    /* Evaluating again gives the same. */
    CHECK_INT(ev_report_evaluate(&R, &err), ==, 0);
    CHECK_INT((int)json_array_size(R.recovery), ==, 2);

    /* The backlog never drains: not recovered, and every recovery threshold
     * fails, whatever its bound says. */
    ev_results_free(&R);
    memset(&R, 0, sizeof R);
    R.plan = p;
    static const int64_t stuck[17] = {5,    5,    5,    5,    1500, 3000, 4500, 4500, 4500,
                                      4500, 4500, 4500, 4500, 4500, 4500, 4500, 4500};
    fill(&R, 17, ms, stuck);
    CHECK_INT(ev_report_evaluate(&R, &err), ==, 0);
    CHECK(json_is_false(at(&R, 0, "recovered")));
    CHECK(json_is_null(at(&R, 0, "recovery_s")));
    CHECK(json_is_null(at(&R, 0, "drain_s")));
    CHECK(isinf(R.thr_value[all]));
    for (size_t i = 0; i < p->nthresholds; i++)
        CHECK_INT(R.thr_pass[i], ==, 0);
    CHECK(!R.pass);
    ev_results_free(&R);
    ev_plan_free(p);

    /* No stage below the spike and no warm-up: not judged, and the
     * threshold on it fails rather than passing on nothing. */
    p = ev_test_plan_ok(
        "{\"target\": \"mock://\", \"publish\": {\"executor\": \"ramping-arrival-rate\", "
        "\"start_rate\": 2000, \"stages\": [{\"duration\": \"3s\", \"target\": 2000}, "
        "{\"duration\": \"3s\", \"target\": 2000}, {\"duration\": \"0s\", \"target\": "
        "500}, {\"duration\": \"10s\", \"target\": 500}]}, \"thresholds\": {\"recovery\": "
        "[\"max<300\"]}}");
    memset(&R, 0, sizeof R);
    R.plan = p;
    fill(&R, 17, ms, depth);
    CHECK_INT(ev_report_evaluate(&R, &err), ==, 0);
    CHECK_INT((int)json_array_size(R.recovery), ==, 1);
    CHECK(!strcmp(json_string_value(at(&R, 0, "from")), "stage 2/4"));
    CHECK(json_is_null(at(&R, 0, "baseline")));
    CHECK_INT(R.thr_pass[0], ==, 0);
    ev_results_free(&R);
    ev_plan_free(p);

    /* A constant rate has no stages: no recovery[] at all. */
    p = ev_test_plan_ok("{\"target\": \"mock://\"}");
    memset(&R, 0, sizeof R);
    R.plan = p;
    CHECK_INT(ev_report_evaluate(&R, &err), ==, 0);
    CHECK(R.recovery == NULL);
    ev_results_free(&R);
    ev_plan_free(p);
}

static void test_grammar(void)
{
    ev_threshold t;
    ev_err err;
    CHECK_INT(ev_threshold_parse("recovery", "max<300s", &t, &err), ==, 0);
    CHECK_INT(t.id, ==, EV_METRIC_recovery);
    CHECK_DBL(t.bound, ==, 300.0);
    CHECK_INT(ev_threshold_parse("recovery", "avg <= 500ms", &t, &err), ==, 0);
    CHECK_DBL(t.bound, ==, 0.5);
    CHECK_INT(ev_threshold_parse("recovery", "min<5m", &t, &err), ==, 0);
    CHECK_DBL(t.bound, ==, 300.0);
    CHECK_INT(ev_threshold_parse("recovery", "max<12", &t, &err), ==, 0);
    CHECK_DBL(t.bound, ==, 12.0);
    CHECK_INT(ev_threshold_parse("recovery{stage:spike}", "max<12s", &t, &err), ==, 0);
    CHECK(t.tag == EV_TAG_STAGE && !strcmp(t.tag_value, "spike"));
    CHECK_INT(ev_threshold_parse("recovery", "count==0", &t, &err), ==, EV_EUSAGE);
    CHECK(strstr(err.msg, "only max, min and avg apply to recovery") != NULL);
    CHECK_INT(ev_threshold_parse("recovery", "p(95)<3", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("recovery", "max<3h", &t, &err), ==, EV_EUSAGE);
    CHECK(strstr(err.msg, "the bound is not a duration") != NULL);
    CHECK_INT(ev_threshold_parse("recovery{stream:a}", "max<3", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("lost", "count<3s", &t, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_threshold_parse("recovry", "max<3", &t, &err), ==, EV_EUSAGE);
    CHECK(strstr(err.msg, "did you mean \"recovery\"") != NULL);
}

int main(void)
{
    EV_RUN(test_rule_with_depth);
    EV_RUN(test_stages);
    EV_RUN(test_grammar);
    EV_DONE();
}
