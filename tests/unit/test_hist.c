/* Unit tests for ev_hist: known answers, the bucket layout, out-of-range
 * handling, merge/diff/copy, and a randomized check against exact order
 * statistics of a sorted array. */
#include "ev_hist.h"
#include "ev_test.h"

#include <math.h>

/* Percentiles the reporter prints, as p·100 so the exact rank is integer math. */
static const int64_t report_px100[] = {5000, 9000, 9500, 9900, 9990, 9999, 10000};
#define N_REPORT ((int)(sizeof report_px100 / sizeof report_px100[0]))

/* xorshift64*: fixed seed, same stream on every platform. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

/* Log-uniform in [lo, hi]. */
static int64_t rng_loguniform(double lo, double hi)
{
    double v = exp(log(lo) + rng_unit() * (log(hi) - log(lo)));
    return (int64_t)(v < hi ? v : hi); /* exp may round just past hi */
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The exact order statistic at percentile px100/100 of sorted s[0..n): the
 * value of rank ceil(p/100 · n), the definition ev_hist_percentile uses. */
static int64_t exact_at(const int64_t *s, uint64_t n, int64_t px100)
{
    uint64_t rank = ((uint64_t)px100 * n + 9999) / 10000;
    if (rank < 1)
        rank = 1;
    return s[rank - 1];
}

/* got is within the documented precision of exact: never below it (the
 * reported value is its slot's highest), at most exact/1024 + 1 ns above. */
static void check_close(int64_t got, int64_t exact)
{
    CHECK_INT(got, >=, exact);
    CHECK_INT(got - exact, <=, exact / 1024 + 1);
}

static void check_same(const ev_hist *x, const ev_hist *y)
{
    CHECK_U64(ev_hist_count(x), ==, ev_hist_count(y));
    CHECK_U64(ev_hist_out_of_range(x), ==, ev_hist_out_of_range(y));
    CHECK_INT(ev_hist_min(x), ==, ev_hist_min(y));
    CHECK_INT(ev_hist_max(x), ==, ev_hist_max(y));
    CHECK_DBL(ev_hist_mean(x), ==, ev_hist_mean(y));
    for (double p = 0.5; p <= 100.0; p += 0.5)
        CHECK_INT(ev_hist_percentile(x, p), ==, ev_hist_percentile(y, p));
    for (int i = 0; i < N_REPORT; i++) {
        double p = (double)report_px100[i] / 100.0;
        CHECK_INT(ev_hist_percentile(x, p), ==, ev_hist_percentile(y, p));
    }
}

static void test_empty(void)
{
    ev_hist *h = ev_hist_new();
    CHECK(h != NULL);
    CHECK_U64(ev_hist_count(h), ==, 0);
    CHECK_U64(ev_hist_out_of_range(h), ==, 0);
    CHECK_INT(ev_hist_percentile(h, 50), ==, 0);
    CHECK_INT(ev_hist_percentile(h, 100), ==, 0);
    CHECK_INT(ev_hist_min(h), ==, 0);
    CHECK_INT(ev_hist_max(h), ==, 0);
    CHECK_DBL(ev_hist_mean(h), ==, 0.0);
    ev_hist_record_n(h, 42, 0); /* recording nothing changes nothing */
    CHECK_U64(ev_hist_count(h), ==, 0);
    CHECK_INT(ev_hist_max(h), ==, 0);
    ev_hist_free(h);
    ev_hist_free(NULL);
}

static void test_single_value(void)
{
    ev_hist *h = ev_hist_new();
    int64_t v = 123456789; /* 123 ms, well above the exact range */
    ev_hist_record(h, v);
    CHECK_U64(ev_hist_count(h), ==, 1);
    CHECK_INT(ev_hist_min(h), ==, v);
    CHECK_INT(ev_hist_max(h), ==, v);
    CHECK_DBL(ev_hist_mean(h), ==, (double)v);
    /* every percentile is the one value: its slot's highest, clamped to max */
    CHECK_INT(ev_hist_percentile(h, 0.001), ==, v);
    CHECK_INT(ev_hist_percentile(h, 50), ==, v);
    CHECK_INT(ev_hist_percentile(h, 100), ==, v);

    ev_hist_reset(h);
    CHECK_U64(ev_hist_count(h), ==, 0);
    CHECK_INT(ev_hist_max(h), ==, 0);
    ev_hist_record(h, 0);
    CHECK_U64(ev_hist_count(h), ==, 1);
    CHECK_INT(ev_hist_percentile(h, 100), ==, 0);
    CHECK_INT(ev_hist_min(h), ==, 0);
    ev_hist_free(h);
}

/* 1 µs .. 1 s in 1 µs steps: the exact percentiles are known in closed form. */
static void test_uniform_known_answers(void)
{
    ev_hist *h = ev_hist_new();
    const uint64_t n = 1000000;
    for (uint64_t i = 1; i <= n; i++)
        ev_hist_record(h, (int64_t)i * 1000);
    CHECK_U64(ev_hist_count(h), ==, n);
    CHECK_INT(ev_hist_min(h), ==, 1000);
    CHECK_INT(ev_hist_max(h), ==, INT64_C(1000000000));
    CHECK_DBL(ev_hist_mean(h), ==, 500000500.0); /* 1000 · (n + 1) / 2, exactly */

    for (int i = 0; i < N_REPORT; i++) {
        int64_t exact = report_px100[i] * (int64_t)n / 10000 * 1000; /* rank · 1 µs */
        int64_t got = ev_hist_percentile(h, (double)report_px100[i] / 100.0);
        int64_t want = ev_hist_highest_equivalent(exact);
        if (want > ev_hist_max(h))
            want = ev_hist_max(h);
        CHECK_INT(got, ==, want);
        check_close(got, exact);
    }
    CHECK_INT(ev_hist_percentile(h, 100), ==, ev_hist_max(h));
    ev_hist_free(h);
}

/* Below 2048 ns every value has its own slot: percentiles are exact, and the
 * rank must not drift because 99.9 etc. are inexact in binary. */
static void test_exact_small_values(void)
{
    ev_hist *h = ev_hist_new();
    for (int64_t v = 1; v <= 1000; v++)
        ev_hist_record(h, v);
    CHECK_INT(ev_hist_percentile(h, 10), ==, 100);
    CHECK_INT(ev_hist_percentile(h, 50), ==, 500);
    CHECK_INT(ev_hist_percentile(h, 90), ==, 900);
    CHECK_INT(ev_hist_percentile(h, 99), ==, 990);
    CHECK_INT(ev_hist_percentile(h, 99.9), ==, 999);
    CHECK_INT(ev_hist_percentile(h, 99.95), ==, 1000);
    CHECK_INT(ev_hist_percentile(h, 100), ==, 1000);
    CHECK_INT(ev_hist_percentile(h, 0.1), ==, 1);
    CHECK_DBL(ev_hist_mean(h), ==, 500.5);
    /* p outside (0, 100] is taken as the nearest end */
    CHECK_INT(ev_hist_percentile(h, 0), ==, 1);
    CHECK_INT(ev_hist_percentile(h, -3), ==, 1);
    CHECK_INT(ev_hist_percentile(h, 250), ==, 1000);
    CHECK_INT(ev_hist_percentile(h, nan("")), ==, 1);

    ev_hist_reset(h);
    for (int64_t v = 0; v < 2048; v++)
        ev_hist_record(h, v);
    for (int64_t r = 1; r <= 2048; r++) {
        /* rank r of 2048 is value r − 1 */
        double p = (double)r * 100.0 / 2048.0;
        CHECK_INT(ev_hist_percentile(h, p), ==, r - 1);
    }
    ev_hist_free(h);
}

/* Slots tile 0 .. EV_HIST_MAX_NS without gaps, each within the precision
 * bound; the walk also pins the layout's size. */
static void test_layout(void)
{
    int64_t v = 0, slots = 0;
    int bad = 0;
    while (v <= EV_HIST_MAX_NS) {
        int64_t lo = ev_hist_lowest_equivalent(v), hi = ev_hist_highest_equivalent(v);
        int64_t width = hi - lo + 1, limit = v / 1024 > 1 ? v / 1024 : 1;
        if (lo != v || hi < v || width > limit || ev_hist_lowest_equivalent(hi) != lo ||
            ev_hist_highest_equivalent(hi) != hi) {
            CHECK_INT(lo, ==, v); /* prints the first offender */
            CHECK_INT(width, <=, limit);
            CHECK_INT(ev_hist_lowest_equivalent(hi), ==, lo);
            bad++;
            break;
        }
        slots++;
        v = hi + 1;
    }
    CHECK_INT(bad, ==, 0);
    /* 2048 + 30 · 1024 + the part of bucket 31 up to 1 h (1024 .. 1676) */
    CHECK_INT(slots, ==, 33421);
}

/* Around every power of two: the equivalence range holds v, is exactly 1 wide
 * below 2048, doubles in width at each power of two from 2048 on, and a value
 * recorded there comes back as its slot's highest value. */
static void test_power_of_two_boundaries(void)
{
    ev_hist *h = ev_hist_new();
    for (int k = 0; k <= 42; k++) {
        int64_t p2 = INT64_C(1) << k;
        for (int64_t d = -1; d <= 1; d++) {
            int64_t v = p2 + d;
            if (v < 0 || v > EV_HIST_MAX_NS)
                continue;
            int64_t lo = ev_hist_lowest_equivalent(v), hi = ev_hist_highest_equivalent(v);
            CHECK_INT(lo, <=, v);
            CHECK_INT(v, <=, hi);
            CHECK_INT(hi - lo + 1, <=, v / 1024 > 1 ? v / 1024 : 1);
            if (v < 2048) {
                CHECK_INT(lo, ==, v);
                CHECK_INT(hi, ==, v);
            }
            if (k >= 11 && d == 0) {
                CHECK_INT(lo, ==, p2); /* a power of two starts a bucket */
                CHECK_INT(hi - lo + 1, ==, INT64_C(1) << (k - 10));
                CHECK_INT(ev_hist_highest_equivalent(p2 - 1), ==, p2 - 1);
                CHECK_INT(ev_hist_highest_equivalent(p2 - 1) - ev_hist_lowest_equivalent(p2 - 1) +
                              1,
                          ==, INT64_C(1) << (k - 11));
            }
            /* rank 1 of {v, 1 h} is v's slot, reported as its highest value */
            ev_hist_reset(h);
            ev_hist_record(h, v);
            ev_hist_record(h, EV_HIST_MAX_NS);
            CHECK_INT(ev_hist_percentile(h, 50), ==, v == EV_HIST_MAX_NS ? v : hi);
            CHECK_INT(ev_hist_percentile(h, 100), ==, EV_HIST_MAX_NS);
        }
    }
    /* the top of the range */
    int64_t m = EV_HIST_MAX_NS;
    CHECK_INT(ev_hist_lowest_equivalent(m), <=, m);
    CHECK_INT(ev_hist_highest_equivalent(m), >=, m);
    CHECK_INT(ev_hist_highest_equivalent(m) - ev_hist_lowest_equivalent(m) + 1, <=, m / 1024);
    ev_hist_free(h);
}

static void test_equivalence_random(void)
{
    for (int i = 0; i < 200000; i++) {
        int64_t v = rng_loguniform(1.0, (double)EV_HIST_MAX_NS);
        int64_t lo = ev_hist_lowest_equivalent(v), hi = ev_hist_highest_equivalent(v);
        int64_t limit = v / 1024 > 1 ? v / 1024 : 1;
        if (!(lo <= v && v <= hi && hi - lo + 1 <= limit)) {
            CHECK_INT(lo, <=, v);
            CHECK_INT(v, <=, hi);
            CHECK_INT(hi - lo + 1, <=, limit);
        }
    }
    /* Out-of-range values have no slot: they are their own range. */
    CHECK_INT(ev_hist_lowest_equivalent(-5), ==, -5);
    CHECK_INT(ev_hist_highest_equivalent(-5), ==, -5);
    CHECK_INT(ev_hist_lowest_equivalent(EV_HIST_MAX_NS + 1), ==, EV_HIST_MAX_NS + 1);
    CHECK_INT(ev_hist_highest_equivalent(INT64_MAX), ==, INT64_MAX);
    CHECK_INT(ev_hist_lowest_equivalent(INT64_MIN), ==, INT64_MIN);
}

static void test_out_of_range(void)
{
    ev_hist *h = ev_hist_new();
    const int64_t two_h = 2 * EV_HIST_MAX_NS;
    ev_hist_record(h, -5);
    ev_hist_record(h, two_h);
    CHECK_U64(ev_hist_count(h), ==, 0);
    CHECK_U64(ev_hist_out_of_range(h), ==, 2);
    CHECK_INT(ev_hist_min(h), ==, -5);
    CHECK_INT(ev_hist_max(h), ==, two_h);
    CHECK_INT(ev_hist_percentile(h, 50), ==, 0); /* no in-range values */
    CHECK_DBL(ev_hist_mean(h), ==, 0.0);

    ev_hist_record(h, 100);
    ev_hist_record(h, 300);
    CHECK_U64(ev_hist_count(h), ==, 2);
    CHECK_U64(ev_hist_out_of_range(h), ==, 2);
    CHECK_DBL(ev_hist_mean(h), ==, 200.0);
    CHECK_INT(ev_hist_percentile(h, 50), ==, 100);
    CHECK_INT(ev_hist_percentile(h, 100), ==, 300); /* not clamped into 2 h */
    CHECK_INT(ev_hist_min(h), ==, -5);
    CHECK_INT(ev_hist_max(h), ==, two_h);

    /* the edges: 0 and exactly 1 h are in range, one past either is not */
    ev_hist_reset(h);
    ev_hist_record(h, 0);
    ev_hist_record(h, EV_HIST_MAX_NS);
    ev_hist_record(h, -1);
    ev_hist_record(h, EV_HIST_MAX_NS + 1);
    ev_hist_record(h, INT64_MIN);
    ev_hist_record_n(h, INT64_MAX, 3);
    CHECK_U64(ev_hist_count(h), ==, 2);
    CHECK_U64(ev_hist_out_of_range(h), ==, 6);
    CHECK_INT(ev_hist_min(h), ==, INT64_MIN);
    CHECK_INT(ev_hist_max(h), ==, INT64_MAX);
    CHECK_INT(ev_hist_percentile(h, 50), ==, 0);
    CHECK_INT(ev_hist_percentile(h, 100), ==, EV_HIST_MAX_NS); /* never above 1 h */
    CHECK_DBL(ev_hist_mean(h), ==, (double)EV_HIST_MAX_NS / 2.0);
    ev_hist_free(h);
}

static void test_mean_exact(void)
{
    ev_hist *h = ev_hist_new();
    ev_hist_record(h, 1);
    ev_hist_record(h, 2);
    ev_hist_record(h, 4);
    CHECK_DBL(ev_hist_mean(h), ==, 7.0 / 3.0);
    /* large values: the mean uses the values, not their slots */
    ev_hist_reset(h);
    ev_hist_record(h, 1000000007);
    ev_hist_record(h, 3000000011);
    CHECK_DBL(ev_hist_mean(h), ==, 2000000009.0);
    /* a sum far past 2^64: 2^40 copies of 1 h */
    ev_hist_reset(h);
    ev_hist_record_n(h, EV_HIST_MAX_NS, UINT64_C(1) << 40);
    ev_hist_record_n(h, EV_HIST_MAX_NS - 2, UINT64_C(1) << 40);
    CHECK_U64(ev_hist_count(h), ==, UINT64_C(1) << 41);
    CHECK_DBL(ev_hist_mean(h), ==, (double)(EV_HIST_MAX_NS - 1));
    ev_hist_free(h);
}

static void test_record_n(void)
{
    ev_hist *a = ev_hist_new(), *b = ev_hist_new();
    for (int i = 0; i < 5; i++)
        ev_hist_record(a, 777777);
    ev_hist_record(a, 5);
    ev_hist_record_n(b, 777777, 5);
    ev_hist_record_n(b, 5, 1);
    check_same(a, b);
    ev_hist_free(a);
    ev_hist_free(b);
}

static void test_merge(void)
{
    ev_hist *x = ev_hist_new(), *y = ev_hist_new(), *all = ev_hist_new(), *e = ev_hist_new();
    for (int i = 0; i < 50000; i++) {
        int64_t v = rng_loguniform(100.0, 1e10);
        ev_hist_record(i % 3 ? x : y, v);
        ev_hist_record(all, v);
    }
    ev_hist_record(y, -7);
    ev_hist_record(all, -7);
    ev_hist_record(x, 3 * EV_HIST_MAX_NS);
    ev_hist_record(all, 3 * EV_HIST_MAX_NS);

    ev_hist_merge(e, x); /* into an empty one */
    check_same(e, x);
    ev_hist_merge(e, y);
    check_same(e, all);
    ev_hist_reset(y);
    ev_hist_merge(e, y); /* an empty one changes nothing */
    check_same(e, all);

    /* merging with itself doubles every count */
    ev_hist_copy(y, all);
    ev_hist_merge(y, y);
    ev_hist_merge(all, e);
    check_same(y, all);
    ev_hist_free(x);
    ev_hist_free(y);
    ev_hist_free(all);
    ev_hist_free(e);
}

/* The reporter's use: snapshot, record for a second, diff against the snapshot. */
static void test_diff(void)
{
    ev_hist *a = ev_hist_new(), *snap = ev_hist_new(), *d = ev_hist_new(), *c = ev_hist_new();

    for (int i = 0; i < 20000; i++)
        ev_hist_record(a, rng_loguniform(1e3, 1e8));
    ev_hist_copy(snap, a);
    check_same(snap, a);

    /* Interval 1 sets a new max (2e9 > 1e8): max is exact, min is a slot bound. */
    for (int i = 0; i < 7000; i++) {
        int64_t v = rng_loguniform(5e3, 1e9);
        ev_hist_record(a, v);
        ev_hist_record(c, v);
    }
    ev_hist_record(a, 2000000000);
    ev_hist_record(c, 2000000000);
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_count(d), ==, ev_hist_count(c));
    CHECK_U64(ev_hist_out_of_range(d), ==, 0);
    CHECK_DBL(ev_hist_mean(d), ==, ev_hist_mean(c));
    CHECK_INT(ev_hist_max(d), ==, ev_hist_max(c));
    CHECK_INT(ev_hist_min(d), ==, ev_hist_lowest_equivalent(ev_hist_min(c)));
    for (double p = 0.5; p <= 100.0; p += 0.5)
        CHECK_INT(ev_hist_percentile(d, p), ==, ev_hist_percentile(c, p));

    /* Interval 2 sets neither extreme: both are slot bounds, and so is p100. */
    ev_hist_copy(snap, a);
    ev_hist_reset(c);
    for (int i = 0; i < 3000; i++) {
        int64_t v = rng_loguniform(2e4, 5e6);
        ev_hist_record(a, v);
        ev_hist_record(c, v);
    }
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_count(d), ==, 3000);
    CHECK_DBL(ev_hist_mean(d), ==, ev_hist_mean(c));
    CHECK_INT(ev_hist_min(d), ==, ev_hist_lowest_equivalent(ev_hist_min(c)));
    CHECK_INT(ev_hist_max(d), ==, ev_hist_highest_equivalent(ev_hist_max(c)));
    for (double p = 0.5; p <= 100.0; p += 0.5)
        CHECK_INT(ev_hist_percentile(d, p), ==,
                  ev_hist_highest_equivalent(ev_hist_percentile(c, p)));

    /* in place: dst may be a */
    ev_hist *d2 = ev_hist_new();
    ev_hist_copy(d2, a);
    ev_hist_diff(d2, d2, snap);
    check_same(d2, d);
    ev_hist_free(d2);

    /* Interval 3: nothing recorded. */
    ev_hist_copy(snap, a);
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_count(d), ==, 0);
    CHECK_U64(ev_hist_out_of_range(d), ==, 0);
    CHECK_INT(ev_hist_min(d), ==, 0);
    CHECK_INT(ev_hist_max(d), ==, 0);
    CHECK_INT(ev_hist_percentile(d, 99), ==, 0);
    CHECK_DBL(ev_hist_mean(d), ==, 0.0);

    /* Interval 4: strays. A new min (−30) is exact; a stray above 1 h that is
     * not a new max leaves max as a bound (a's max, ≥ every value). */
    ev_hist_record(a, 5 * EV_HIST_MAX_NS);
    ev_hist_copy(snap, a);
    ev_hist_record(a, -30);
    ev_hist_record(a, 2 * EV_HIST_MAX_NS);
    ev_hist_record(a, 4096);
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_count(d), ==, 1);
    CHECK_U64(ev_hist_out_of_range(d), ==, 2);
    CHECK_INT(ev_hist_min(d), ==, -30);
    CHECK_INT(ev_hist_max(d), ==, 5 * EV_HIST_MAX_NS);
    CHECK_INT(ev_hist_percentile(d, 100), ==, ev_hist_highest_equivalent(4096));
    CHECK_DBL(ev_hist_mean(d), ==, 4096.0);

    /* Interval 5: only a stray below 0 that is not a new min: min is a's min,
     * max the edge of that side (−1); both bound the one value (−3). */
    ev_hist_copy(snap, a);
    ev_hist_record(a, -3);
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_count(d), ==, 0);
    CHECK_U64(ev_hist_out_of_range(d), ==, 1);
    CHECK_INT(ev_hist_min(d), ==, -30);
    CHECK_INT(ev_hist_max(d), ==, -1);

    /* Interval 6: only a stray above 1 h that is not a new max. */
    ev_hist_copy(snap, a);
    ev_hist_record(a, 3 * EV_HIST_MAX_NS);
    ev_hist_diff(d, a, snap);
    CHECK_U64(ev_hist_out_of_range(d), ==, 1);
    CHECK_INT(ev_hist_min(d), ==, EV_HIST_MAX_NS + 1);
    CHECK_INT(ev_hist_max(d), ==, 5 * EV_HIST_MAX_NS);

    /* A diff against an empty snapshot is the histogram itself. */
    ev_hist_reset(snap);
    ev_hist_diff(d, a, snap);
    check_same(d, a);

    ev_hist_free(a);
    ev_hist_free(snap);
    ev_hist_free(d);
    ev_hist_free(c);
}

#define N_RANDOM 100000

static void check_against_sorted(const int64_t *vals, int64_t *sorted, uint64_t n)
{
    ev_hist *h = ev_hist_new();
    __extension__ __int128 sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        ev_hist_record(h, vals[i]);
        sum += vals[i];
    }
    memcpy(sorted, vals, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_i64);

    CHECK_U64(ev_hist_count(h), ==, n);
    CHECK_INT(ev_hist_min(h), ==, sorted[0]);
    CHECK_INT(ev_hist_max(h), ==, sorted[n - 1]);
    CHECK_DBL(ev_hist_mean(h), ==, (double)sum / (double)n);
    for (int i = 0; i < N_REPORT; i++) {
        int64_t exact = exact_at(sorted, n, report_px100[i]);
        int64_t got = ev_hist_percentile(h, (double)report_px100[i] / 100.0);
        check_close(got, exact);
        int64_t want = ev_hist_highest_equivalent(exact);
        CHECK_INT(got, ==, want < sorted[n - 1] ? want : sorted[n - 1]);
    }
    /* a fine grid too, against the same definition */
    for (int64_t px100 = 1; px100 <= 10000; px100 += 37)
        check_close(ev_hist_percentile(h, (double)px100 / 100.0), exact_at(sorted, n, px100));
    ev_hist_free(h);
}

static void test_random_vs_sorted(void)
{
    int64_t *vals = malloc(N_RANDOM * sizeof *vals), *sorted = malloc(N_RANDOM * sizeof *sorted);
    CHECK(vals && sorted);

    /* log-uniform over the whole range, 1 ns .. 1 h */
    for (int i = 0; i < N_RANDOM; i++)
        vals[i] = rng_loguniform(1.0, (double)EV_HIST_MAX_NS);
    check_against_sorted(vals, sorted, N_RANDOM);

    /* a typical latency shape: 50 µs .. 20 ms, plus rare 1 s stalls */
    for (int i = 0; i < N_RANDOM; i++)
        vals[i] = rng_next() % 1000 == 0 ? rng_loguniform(5e8, 2e9) : rng_loguniform(5e4, 2e7);
    check_against_sorted(vals, sorted, N_RANDOM);

    /* many ties in the exact range */
    for (int i = 0; i < N_RANDOM; i++)
        vals[i] = (int64_t)(rng_next() % 50);
    check_against_sorted(vals, sorted, N_RANDOM);

    free(vals);
    free(sorted);
}

/* Two histograms are the same in everything a report reads. */
static void same(const ev_hist *a, const ev_hist *b)
{
    CHECK_U64(ev_hist_count(a), ==, ev_hist_count(b));
    CHECK_U64(ev_hist_out_of_range(a), ==, ev_hist_out_of_range(b));
    CHECK_INT(ev_hist_min(a), ==, ev_hist_min(b));
    CHECK_INT(ev_hist_max(a), ==, ev_hist_max(b));
    CHECK_DBL(ev_hist_mean(a), ==, ev_hist_mean(b));
    static const double ps[] = {1, 10, 50, 90, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        CHECK_INT(ev_hist_percentile(a, ps[i]), ==, ev_hist_percentile(b, ps[i]));
}

/* The lossless text encoding: round trips, merges by decoding into one
 * histogram, and refuses anything that is not one. */
static void test_encode(void)
{
    ev_hist *a = ev_hist_new(), *b = ev_hist_new(), *sum = ev_hist_new(), *d = ev_hist_new();
    CHECK(a && b && sum && d);
    char *e = ev_hist_encode(a); /* empty */
    CHECK(e != NULL);
    CHECK_INT(ev_hist_decode(e, strlen(e), d), ==, 0);
    same(a, d);
    free(e);
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int64_t v = (int64_t)(x >> 24) % (EV_HIST_MAX_NS / 1000);
        ev_hist_record(i % 3 ? a : b, i % 997 == 0 ? -v : v);
    }
    ev_hist_record(a, EV_HIST_MAX_NS + 5); /* out of range, both sides */
    ev_hist_record_n(b, 0, 7);
    ev_hist_merge(sum, a);
    ev_hist_merge(sum, b);
    char *ea = ev_hist_encode(a), *eb = ev_hist_encode(b);
    CHECK(ea && eb && !strncmp(ea, "h1:", 3));
    ev_hist_reset(d);
    CHECK_INT(ev_hist_decode(ea, strlen(ea), d), ==, 0);
    same(a, d);
    CHECK_INT(ev_hist_decode(eb, strlen(eb), d), ==, 0); /* decoding adds: a merge */
    same(sum, d);
    /* Not an encoding: d stays as it was. */
    static const char *const bad[] = {"", "h1", "h2:AAAA", "h1:A", "h1:AA==", "h1:!!!!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(ev_hist_decode(bad[i], strlen(bad[i]), d), ==, -1);
    CHECK_INT(ev_hist_decode(ea, strlen(ea) - 1, d), ==, -1); /* truncated */
    same(sum, d);
    free(ea);
    free(eb);
    ev_hist_free(a);
    ev_hist_free(b);
    ev_hist_free(sum);
    ev_hist_free(d);
}

int main(void)
{
    EV_RUN(test_encode);
    EV_RUN(test_empty);
    EV_RUN(test_single_value);
    EV_RUN(test_uniform_known_answers);
    EV_RUN(test_exact_small_values);
    EV_RUN(test_layout);
    EV_RUN(test_power_of_two_boundaries);
    EV_RUN(test_equivalence_random);
    EV_RUN(test_out_of_range);
    EV_RUN(test_mean_exact);
    EV_RUN(test_record_n);
    EV_RUN(test_merge);
    EV_RUN(test_diff);
    EV_RUN(test_random_vs_sorted);
    EV_DONE();
}
