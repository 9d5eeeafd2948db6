/* The open-model schedule: exact counts, even lane interleaving, linear
 * ramps, warm-up first, and max-throughput quotas. */
#include "ev_pacer.h"
#include "ev_test.h"

#include <math.h>
#include <stdlib.h>

static ev_plan base(void)
{
    ev_plan p;
    memset(&p, 0, sizeof p);
    p.lanes = 1;
    p.executor = EV_EXEC_CONSTANT;
    p.rate = 100;
    p.duration_ns = 10 * 1000000000LL;
    return p;
}

static void test_constant_exact(void)
{
    ev_plan p = base();
    ev_pacer pc;
    ev_err err;
    CHECK_INT(ev_pacer_init(&pc, &p, 0, &err), ==, 0);
    int64_t prev = -1, n = 0, off;
    while ((off = ev_pacer_next(&pc, 0)) >= 0) {
        CHECK_INT(off, ==, n * 10000000LL); /* 10 ms apart, first at 0 */
        CHECK(off > prev);
        prev = off;
        n++;
    }
    CHECK_INT(off, ==, EV_PACER_END);
    CHECK_INT(n, ==, 1000);
}

static void test_lanes_interleave(void)
{
    ev_plan p = base();
    p.lanes = 3;
    p.rate = 3000;
    p.duration_ns = 1000000000LL;
    int64_t total = 0;
    for (uint32_t l = 0; l < 3; l++) {
        ev_pacer pc;
        ev_err err;
        CHECK_INT(ev_pacer_init(&pc, &p, l, &err), ==, 0);
        int64_t off, j = 0;
        while ((off = ev_pacer_next(&pc, 0)) >= 0) {
            /* global index k = l + 3j is due at k / 3000 s */
            int64_t want = llround((double)(l + 3 * j) * 1e9 / 3000.0);
            CHECK_INT(off, ==, want);
            j++;
        }
        CHECK_INT(j, ==, 1000);
        total += j;
    }
    CHECK_INT(total, ==, 3000);
}

static void test_ramp(void)
{
    ev_plan p = base();
    ev_stage st[] = {
        {10 * 1000000000LL, 100, ""}, {10 * 1000000000LL, 100, ""}, {5 * 1000000000LL, 0, ""}};
    p.executor = EV_EXEC_RAMPING;
    p.start_rate = 0;
    p.stages = st;
    p.nstages = 3;
    ev_pacer pc;
    ev_err err;
    CHECK_INT(ev_pacer_init(&pc, &p, 0, &err), ==, 0);
    /* 0→100 over 10 s: 500 events; 100 for 10 s: 1000; 100→0 over 5 s: 250. */
    CHECK_DBL(pc.total, ==, 1750.0);
    int64_t off, n = 0, in_first = 0, in_first_half = 0;
    while ((off = ev_pacer_next(&pc, 0)) >= 0) {
        if (off < 10 * 1000000000LL)
            in_first++;
        if (off < 5 * 1000000000LL)
            in_first_half++;
        n++;
    }
    CHECK_INT(n, ==, 1750);
    CHECK_INT(in_first, ==, 500);
    /* N(5 s) = 100/10/2 · 25 = 125 events due strictly before 5 s (k = 0..124). */
    CHECK_INT(in_first_half, ==, 125);
    CHECK_DBL(fabs(ev_pacer_rate_at(&pc, 5 * 1000000000LL) - 50.0), <, 1e-9);
    CHECK_DBL(fabs(ev_pacer_due(&pc, 15 * 1000000000LL) - 1000.0), <, 1e-6);
}

static void test_warmup_first(void)
{
    ev_plan p = base();
    p.warmup_ns = 2 * 1000000000LL;
    ev_pacer pc;
    ev_err err;
    CHECK_INT(ev_pacer_init(&pc, &p, 0, &err), ==, 0);
    int64_t off, n = 0, warm = 0;
    while ((off = ev_pacer_next(&pc, 0)) >= 0) {
        warm += off < p.warmup_ns;
        n++;
    }
    CHECK_INT(warm, ==, 200);
    CHECK_INT(n, ==, 1200);
}

static void test_max_throughput(void)
{
    ev_plan p = base();
    p.executor = EV_EXEC_MAX;
    p.lanes = 3;
    p.count = 10;
    int64_t total = 0;
    for (uint32_t l = 0; l < 3; l++) {
        ev_pacer pc;
        ev_err err;
        CHECK_INT(ev_pacer_init(&pc, &p, l, &err), ==, 0);
        while (ev_pacer_next(&pc, 0) == EV_PACER_NOW)
            total++;
    }
    CHECK_INT(total, ==, 10);
    p.count = 0;
    p.duration_ns = 1000;
    ev_pacer pc;
    ev_err err;
    CHECK_INT(ev_pacer_init(&pc, &p, 0, &err), ==, 0);
    CHECK_INT(ev_pacer_next(&pc, 999), ==, EV_PACER_NOW);
    CHECK_INT(ev_pacer_next(&pc, 1000), ==, EV_PACER_END);
}

/* ev_pacer_intended(seq) is exactly the offset ev_pacer_next handed out for
 * that seq, for every lane of a warm-up + ramp schedule; and the planned
 * count is what the lanes send. */
static void test_intended_matches_next(void)
{
    ev_plan p = base();
    ev_stage st[] = {
        {3 * 1000000000LL, 250, ""}, {2 * 1000000000LL, 250, ""}, {2 * 1000000000LL, 40, ""}};
    p.executor = EV_EXEC_RAMPING;
    p.start_rate = 10;
    p.stages = st;
    p.nstages = 3;
    p.lanes = 3;
    p.warmup_ns = 500000000LL;
    int64_t total = 0;
    for (uint32_t lane = 0; lane < 3; lane++) {
        ev_pacer pc, copy;
        ev_err err;
        CHECK_INT(ev_pacer_init(&pc, &p, lane, &err), ==, 0);
        copy = pc;
        int64_t off;
        uint64_t seq = 0;
        while ((off = ev_pacer_next(&pc, 0)) >= 0) {
            seq++;
            CHECK_INT(ev_pacer_intended(&copy, seq), ==, off);
            CHECK_INT(ev_pacer_intended(&pc, seq), ==, off); /* any later state too */
        }
        CHECK_INT(ev_pacer_intended(&copy, seq + 1), ==, -1);
        CHECK_INT(ev_pacer_intended(&copy, 0), ==, -1);
        total += (int64_t)seq;
    }
    CHECK_INT(ev_pacer_planned_events(&p), ==, total);
    p.executor = EV_EXEC_MAX;
    p.count = 10;
    ev_pacer pc;
    ev_err err;
    CHECK_INT(ev_pacer_init(&pc, &p, 0, &err), ==, 0);
    CHECK_INT(ev_pacer_intended(&pc, 1), ==, -1); /* unpaced: due when sent */
    CHECK_INT(ev_pacer_planned_events(&p), ==, 10);
}

int main(void)
{
    EV_RUN(test_intended_matches_next);
    EV_RUN(test_constant_exact);
    EV_RUN(test_lanes_interleave);
    EV_RUN(test_ramp);
    EV_RUN(test_warmup_first);
    EV_RUN(test_max_throughput);
    EV_DONE();
}
