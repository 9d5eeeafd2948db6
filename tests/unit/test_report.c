/* The report modules' contracts: Prometheus bucket bounds are ends of HDR
 * slots and their counts exact; ranks read back exactly; the compare rule
 * (same distribution passes, a shift beyond the tolerance regresses, a shift
 * the sample size can explain or a percentile without enough samples is
 * never a regression, lost is strict); the page is a pure function of the
 * document with one rate-chart point per second. */
#include "ev_compare.h"
#include "ev_hist.h"
#include "ev_html.h"
#include "ev_prom.h"
#include "ev_test.h"

#include <jansson.h>
#include <stdlib.h>

static void test_bounds(void)
{
    size_t n = 0;
    const int64_t *b = ev_prom_bounds(&n);
    CHECK_INT(n, ==, 22);
    ev_hist *h = ev_hist_new();
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(ev_hist_highest_equivalent(b[i]), ==, b[i]); /* a slot's end */
        CHECK(i == 0 || b[i] > b[i - 1]);
        /* The value at the bound is counted, the next one is not. */
        ev_hist_reset(h);
        ev_hist_record(h, b[i]);
        ev_hist_record(h, b[i] + 1);
        CHECK_U64(ev_hist_count_le(h, b[i]), ==, 1);
        CHECK_U64(ev_hist_count_le(h, b[i] + 1), ==, 2);
    }
    CHECK_INT(b[6], ==, 1000447); /* 1 ms lies in [999936, 1000447] */
    CHECK_INT(b[0], ==, 10007);   /* 10 µs: slots of 8 ns there */
    ev_hist_reset(h);
    ev_hist_record(h, -5); /* out of range: never in a bucket */
    CHECK_U64(ev_hist_count_le(h, b[n - 1]), ==, 0);
    ev_hist_free(h);
}

static void test_ranks(void)
{
    ev_hist *h = ev_hist_new();
    for (int v = 1; v <= 1000; v++) /* exact 1 ns slots */
        ev_hist_record(h, v);
    CHECK_INT(ev_hist_at_rank(h, 1), ==, 1);
    CHECK_INT(ev_hist_at_rank(h, 500), ==, 500);
    CHECK_INT(ev_hist_at_rank(h, 1000), ==, 1000);
    CHECK_INT(ev_hist_at_rank(h, 0), ==, 1);       /* clamped */
    CHECK_INT(ev_hist_at_rank(h, 5000), ==, 1000); /* clamped */
    CHECK_INT(ev_hist_percentile(h, 50), ==, ev_hist_at_rank(h, 500));
    CHECK_U64(ev_hist_count_le(h, 250), ==, 250);
    ev_hist_free(h);
}

/* A minimal results document: n e2e samples uniform over [lo, lo + 25 ms]
 * (deterministic), lost events, one threshold. */
static json_t *doc(int n, int64_t lo_ms, int lost)
{
    ev_hist *h = ev_hist_new();
    for (int i = 0; i < n; i++)
        ev_hist_record(h, lo_ms * 1000000 + (int64_t)i * 25000000 / (n ? n : 1));
    char *enc = ev_hist_encode(h);
    json_t *d = json_pack(
        "{s:i, s:{s:s, s:s, s:b}, s:{s:I, s:I, s:I, s:f, s:f}, "
        "s:{s:I, s:I, s:f, s:f}, s:{s:{s:s}}, s:[{s:s, s:s, s:i, s:b}], s:s}",
        "schema", 1, "run", "id", "r", "scenario", "s", "completed", 1, "publish", "attempted",
        (json_int_t)(n + lost), "measured", (json_int_t)(n + lost), "failed", (json_int_t)0,
        "rate_achieved", 100.0, "duration_s", (double)(n + lost) / 100, "deliver", "delivered",
        (json_int_t)n, "lost", (json_int_t)lost, "throughput", 100.0, "settle_s", (double)n / 100,
        "latency", "e2e", "hist", enc, "thresholds", "metric", "lost", "expr", "count==0", "value",
        lost, "pass", !lost, "verdict", lost ? "fail" : "pass");
    free(enc);
    ev_hist_free(h);
    return d;
}

static int compare(json_t *a, json_t *b, double tol)
{
    ev_cmp_opts o = {.tolerance = tol, .min_delta_ms = 1, .z = 2.5758, .confidence = 0.99};
    FILE *f = fopen("/dev/null", "w");
    ev_err err = {{0}};
    int rc = ev_compare(a, b, "a", "b", &o, f, &err);
    fclose(f);
    json_decref(a);
    json_decref(b);
    return rc;
}

static void test_compare_rule(void)
{
    CHECK_INT(compare(doc(5000, 5, 0), doc(5000, 5, 0), 0.10), ==, 0);
    /* +20 ms on every sample: far beyond the intervals. */
    CHECK_INT(compare(doc(5000, 5, 0), doc(5000, 25, 0), 0.10), ==, 1);
    /* +3 ms on p50 ≈ 17.5 ms (17%): a regression at 10%, not at 30%. */
    CHECK_INT(compare(doc(5000, 5, 0), doc(5000, 8, 0), 0.10), ==, 1);
    CHECK_INT(compare(doc(5000, 5, 0), doc(5000, 8, 0), 0.30), ==, 0);
    /* The same shift with 20 samples: p50's interval is wider than the
     * shift, and p90 and beyond have too few samples: never a regression. */
    CHECK_INT(compare(doc(20, 5, 0), doc(20, 8, 0), 0.10), ==, 0);
    /* Faster is not a regression. */
    CHECK_INT(compare(doc(5000, 25, 0), doc(5000, 5, 0), 0.10), ==, 0);
    /* Lost is strict: one more is a regression whatever the tolerance. */
    CHECK_INT(compare(doc(5000, 5, 0), doc(5000, 5, 1), 100.0), ==, 1);
    CHECK_INT(compare(doc(5000, 5, 1), doc(5000, 5, 0), 0.10), ==, 0);
}

/* A run of `secs` seconds of `per` samples each, uniform over [lo, lo + 25 ms]
 * (deterministic), with per-second histograms in timeseries[].hist.e2e; in
 * second `stall` (-1: none) the last 20 % of its samples are 40 ms later: a
 * burst, as a stall delays consecutive events together. */
static json_t *doc_ts(int secs, int per, int64_t lo_ms, int stall)
{
    ev_hist *all = ev_hist_new(), *one = ev_hist_new();
    json_t *ts = json_array();
    for (int s = 0; s < secs; s++) {
        ev_hist_reset(one);
        for (int i = 0; i < per; i++) {
            int64_t v = lo_ms * 1000000 + (int64_t)i * 25000000 / per;
            if (s == stall && i >= per - per / 5)
                v += 40000000;
            ev_hist_record(one, v);
        }
        ev_hist_merge(all, one);
        char *e = ev_hist_encode(one);
        json_array_append_new(ts,
                              json_pack("{s:f, s:{s:s}}", "t", (double)(s + 1), "hist", "e2e", e));
        free(e);
    }
    char *enc = ev_hist_encode(all);
    json_t *d =
        json_pack("{s:i, s:{s:s, s:s, s:b}, s:{s:{s:s}}, s:o}", "schema", 1, "run", "id", "r",
                  "scenario", "s", "completed", 1, "latency", "e2e", "hist", enc, "timeseries", ts);
    free(enc);
    ev_hist_free(all);
    ev_hist_free(one);
    return d;
}

/* The row's outcome for metric in compare's JSON. */
static void outcome_of(json_t *a, json_t *b, const char *metric, char *out, size_t size)
{
    ev_cmp_opts o = {.tolerance = 0.10,
                     .min_delta_ms = 1,
                     .z = 2.5758,
                     .confidence = 0.99,
                     .format = EV_CMP_JSON};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ev_err err = {{0}};
    ev_compare(a, b, "a", "b", &o, f, &err);
    fclose(f);
    json_t *r = json_loads(buf, 0, NULL);
    size_t i;
    json_t *row;
    snprintf(out, size, "?");
    json_array_foreach (json_object_get(r, "rows"), i, row)
        if (!strcmp(json_string_value(json_object_get(row, "metric")), metric))
            snprintf(out, size, "%s", json_string_value(json_object_get(row, "outcome")));
    json_decref(r);
    free(buf);
    json_decref(a);
    json_decref(b);
}

static void test_compare_bursts(void)
{
    char o[32];
    /* A 40 ms stall in one second of eight moves p99 by far more than the
     * tolerance; its samples came in one burst, so it cannot be told from
     * a machine's hiccup: not a regression. */
    outcome_of(doc_ts(8, 1000, 5, -1), doc_ts(8, 1000, 5, 3), "e2e p99", o, sizeof o);
    CHECK_STR(o, "inconclusive");
    /* The same delay spread evenly over the seconds is a regression. */
    outcome_of(doc_ts(8, 1000, 5, -1), doc_ts(8, 1000, 25, -1), "e2e p99", o, sizeof o);
    CHECK_STR(o, "regression");
    outcome_of(doc_ts(8, 1000, 5, -1), doc_ts(8, 1000, 25, -1), "e2e p50", o, sizeof o);
    CHECK_STR(o, "regression");
    /* Without the per-second data the same burst would look independent. */
    json_t *n = doc_ts(8, 1000, 5, 3);
    json_object_del(n, "timeseries");
    outcome_of(doc_ts(8, 1000, 5, -1), n, "e2e p99", o, sizeof o);
    CHECK_STR(o, "regression");
    outcome_of(doc_ts(8, 1000, 5, -1), doc_ts(8, 1000, 5, -1), "e2e p99", o, sizeof o);
    CHECK_STR(o, "pass");
}

static void test_html_pure(void)
{
    json_t *d = doc(300, 5, 0);
    json_t *ts = json_array();
    for (int i = 1; i <= 7; i++)
        json_array_append_new(ts, json_pack("{s:f, s:s, s:f, s:f, s:i}", "t", (double)i, "phase",
                                            "publish", "rate_target", 100.0, "rate_achieved",
                                            99.5 + i % 2, "sent", 100 * i));
    json_object_set_new(d, "timeseries", ts);
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    FILE *fa = open_memstream(&a, &na), *fb = open_memstream(&b, &nb);
    ev_err err = {{0}};
    CHECK_INT(ev_html_write(fa, d, NULL, &err), ==, 0);
    CHECK_INT(ev_html_write(fb, d, NULL, &err), ==, 0);
    fclose(fa);
    fclose(fb);
    CHECK_INT(na, ==, nb);
    CHECK(na > 1000 && memcmp(a, b, na) == 0);
    size_t pts = 0;
    const char *rate = strstr(a, "<svg id=\"rate\""), *end = rate ? strstr(rate, "</svg>") : NULL;
    CHECK(rate && end);
    for (const char *p = rate; p && (p = strstr(p, "<circle class=\"pt")) && p < end; p++)
        pts++;
    CHECK_INT(pts, ==, 7);
    CHECK(!strstr(a, "<script"));
    free(a);
    free(b);
    /* Not a results document. */
    json_t *bad = json_pack("{s:i}", "schema", 1);
    FILE *fn = fopen("/dev/null", "w");
    CHECK_INT(ev_html_write(fn, bad, NULL, &err), ==, EV_EUSAGE);
    fclose(fn);
    json_decref(bad);
    json_decref(d);
}

int main(void)
{
    EV_RUN(test_bounds);
    EV_RUN(test_ranks);
    EV_RUN(test_compare_rule);
    EV_RUN(test_compare_bursts);
    EV_RUN(test_html_pure);
    EV_DONE();
}
