/* The capacity search's arithmetic (ev_search.h): the step sequence it
 * derives from verdicts (doubling, bisecting, invalid steps as the load
 * generator's limit, confirmations that fail), a step's verdict from its
 * figures, and the knee. A simulated system passes every rate up to its
 * capacity C and fails above; rates at or above G are beyond the generator. */
#include "ev_err.h"
#include "ev_search.h"
#include "ev_test.h"

#include <math.h>

typedef struct sim {
    double capacity, generator; /* generator 0: no limit */
    int fail_confirms;          /* this many confirmations fail regardless */
    double flaky;               /* the first step at this rate is invalid (a pause) */
} sim;

typedef struct trace {
    double rate[64];
    ev_search_phase phase[64];
    ev_search_verdict verdict[64];
    int n;
} trace;

static ev_search_verdict decide(sim *m, double r, ev_search_phase ph)
{
    if (m->flaky && r == m->flaky) {
        m->flaky = 0;
        return EV_SEARCH_INVALID;
    }
    if (m->generator && r >= m->generator)
        return EV_SEARCH_INVALID;
    if ((ph == EV_SEARCH_CONFIRM || ph == EV_SEARCH_STEPDOWN) && m->fail_confirms > 0) {
        m->fail_confirms--;
        return EV_SEARCH_FAIL;
    }
    return r <= m->capacity ? EV_SEARCH_PASS : EV_SEARCH_FAIL;
}

static void drive(ev_search *s, const ev_search_cfg *cfg, sim m, trace *t)
{
    ev_search_init(s, cfg);
    t->n = 0;
    while (s->outcome == EV_SEARCH_RUNNING && t->n < 64) {
        t->rate[t->n] = s->next;
        t->phase[t->n] = s->phase;
        t->verdict[t->n] = decide(&m, s->next, s->phase);
        ev_search_record(s, t->verdict[t->n]);
        t->n++;
    }
    CHECK_INT(s->outcome, !=, EV_SEARCH_RUNNING);
    CHECK_INT(s->steps, ==, t->n);
    CHECK_INT(t->n, <=, cfg->max_steps);
}

static void check_rates(const trace *t, const double *want, const ev_search_phase *ph, int n)
{
    CHECK_INT(t->n, ==, n);
    for (int i = 0; i < n; i++) {
        CHECK_DBL(t->rate[i], ==, want[i]);
        CHECK_INT(t->phase[i], ==, ph[i]);
    }
}

#define D EV_SEARCH_DOUBLE
#define B EV_SEARCH_BISECT
#define C EV_SEARCH_CONFIRM
#define S EV_SEARCH_STEPDOWN

/* Doubling until 10000 fails, bisecting 5000..10000 to within 5 % (5000..5157), confirming. */
static void test_double_then_bisect(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1250, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 5000}, &t);
    static const double want[] = {1250, 2500, 5000, 10000, 7500, 6250, 5625, 5313, 5157, 5000};
    static const ev_search_phase ph[] = {D, D, D, D, B, B, B, B, B, C};
    check_rates(&t, want, ph, 10);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, ==, 5000);
    CHECK_DBL(s.lo, ==, 5000);
    CHECK_DBL(s.hi, ==, 5157);
    CHECK_DBL((s.hi - s.lo) / s.lo, <=, 0.05);
    CHECK_INT(s.precision_reached, ==, 1);
    CHECK_INT(s.stepdowns, ==, 0);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_OK);
    CHECK_STR(ev_search_outcome_name(s.outcome), "found");

    /* Any capacity between start and a large bound: found within precision
     * below it, never above it, in few steps. */
    for (double cap = 1300; cap < 200000; cap *= 1.37) {
        drive(&s, &cfg, (sim){.capacity = cap}, &t);
        CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
        CHECK_DBL(s.found, <=, cap);
        CHECK_DBL(s.found, >=, cap / 1.05);
        CHECK_INT(t.n, <=, 16);
    }
    /* A finer precision narrows further. */
    cfg.precision = 0.01;
    drive(&s, &cfg, (sim){.capacity = 5000}, &t);
    CHECK_DBL(s.found, ==, 5000);
    CHECK_DBL((s.hi - s.lo) / s.lo, <=, 0.01);
}

static void test_start_fails(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1000, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 500}, &t);
    CHECK_INT(t.n, ==, 1);
    CHECK_INT(s.outcome, ==, EV_SEARCH_START_FAILS);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_ETHRESH);
    CHECK_DBL(s.found, ==, 0);
    CHECK_DBL(s.hi, ==, 1000);
    /* Invalid at the start: the generator, not the system (exit 5). */
    drive(&s, &cfg, (sim){.capacity = 5000, .generator = 800}, &t);
    CHECK_INT(t.n, ==, 2); /* run once more, then it counts */
    CHECK_DBL(t.rate[1], ==, 1000);
    CHECK_INT(s.retries, ==, 1);
    CHECK_INT(s.outcome, ==, EV_SEARCH_GENERATOR);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_EINCOMPLETE);
}

/* The generator gives out at 30000 while the system would take 100000: the
 * invalid steps (each run twice) are no upper bound; the search narrows below
 * them and ends saying evload is the limit, with no maximum claimed. */
static void test_generator_limit(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 5000, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 100000, .generator = 30000}, &t);
    static const double want[] = {5000,  10000, 20000, 40000, 40000,
                                  30000, 30000, 25000, 27500, 28750};
    static const ev_search_phase ph[] = {D, D, D, D, D, B, B, B, B, B};
    check_rates(&t, want, ph, 10);
    for (int i = 3; i <= 6; i++)
        CHECK_INT(t.verdict[i], ==, EV_SEARCH_INVALID);
    CHECK_INT(s.retries, ==, 2);
    CHECK_INT(s.outcome, ==, EV_SEARCH_GENERATOR);
    CHECK_DBL(s.found, ==, 0);
    CHECK_DBL(s.lo, ==, 28750);
    CHECK_DBL(s.hi, ==, 0); /* no failure of the system was seen */
    CHECK_DBL(s.gen, ==, 30000);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_EINCOMPLETE);
    for (int i = 0; i < t.n; i++)
        CHECK_INT(t.verdict[i], !=, EV_SEARCH_FAIL);
}

/* The doubling step is beyond the generator, the capacity is not: the
 * search caps at the invalid rate and bisects below it to the real maximum. */
static void test_invalid_doubling_then_bisect(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 5000, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 21000, .generator = 30000}, &t);
    static const double want[] = {5000,  10000, 20000, 40000, 40000, 30000,
                                  30000, 25000, 22500, 21250, 20625, 20625};
    static const ev_search_phase ph[] = {D, D, D, D, D, B, B, B, B, B, B, C};
    check_rates(&t, want, ph, 12);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, ==, 20625);
    CHECK_DBL(s.hi, ==, 21250);
    CHECK_DBL(s.gen, ==, 30000);
    /* An invalid step below an earlier failure bounds the bisection too. */
    drive(&s, &cfg, (sim){.capacity = 12000, .generator = 16000}, &t);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, <=, 12000);
    CHECK_DBL(s.found, >=, 12000 / 1.05);
}

static void test_confirm_fails(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1000, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 1500, .fail_confirms = 1}, &t);
    static const double want[] = {1000, 2000, 1500, 1750, 1625, 1563, 1500, 1425};
    static const ev_search_phase ph[] = {D, D, B, B, B, B, C, S};
    check_rates(&t, want, ph, 8);
    CHECK_INT(t.verdict[6], ==, EV_SEARCH_FAIL);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, ==, 1425);
    CHECK_INT(s.stepdowns, ==, 1);
    CHECK_DBL(s.hi, ==, 1500); /* the failed confirmation is the lowest failure now */
    CHECK_DBL(s.lo, ==, 1425); /* and the step-down that held the highest pass */
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_OK);

    /* Step-downs that fall below the start rate: nothing confirmed (exit 1). */
    drive(&s, &cfg, (sim){.capacity = 1000, .fail_confirms = 5}, &t);
    CHECK_INT(t.phase[t.n - 1], ==, C);
    CHECK_DBL(t.rate[t.n - 1], ==, 1000);
    CHECK_INT(s.outcome, ==, EV_SEARCH_NONE_CONFIRMED);
    CHECK_DBL(s.found, ==, 0);
    CHECK_DBL(s.lo, ==, 0);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_ETHRESH);

    /* A confirmation evload cannot keep: the generator (exit 5). */
    ev_search_init(&s, &cfg);
    ev_search_record(&s, EV_SEARCH_PASS); /* 1000 */
    ev_search_record(&s, EV_SEARCH_FAIL); /* 2000 */
    ev_search_record(&s, EV_SEARCH_PASS); /* 1500 */
    ev_search_record(&s, EV_SEARCH_FAIL); /* 1750 */
    ev_search_record(&s, EV_SEARCH_FAIL); /* 1625 */
    ev_search_record(&s, EV_SEARCH_FAIL); /* 1563 */
    CHECK_INT(s.phase, ==, EV_SEARCH_CONFIRM);
    ev_search_record(&s, EV_SEARCH_INVALID); /* 1500 */
    CHECK_INT(s.outcome, ==, EV_SEARCH_RUNNING);
    CHECK_INT(s.phase, ==, EV_SEARCH_CONFIRM); /* once more */
    CHECK_DBL(s.next, ==, 1500);
    ev_search_record(&s, EV_SEARCH_INVALID); /* 1500 again */
    CHECK_INT(s.outcome, ==, EV_SEARCH_GENERATOR);
    CHECK_DBL(s.found, ==, 0);
}

/* One invalid step (the machine paused evload) runs again and counts only
 * as what the rerun says; without room for the rerun it counts at once. */
static void test_invalid_retry(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1250, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 5000, .flaky = 5313}, &t);
    static const double want[] = {1250, 2500, 5000, 10000, 7500, 6250,
                                  5625, 5313, 5313, 5157,  5000};
    static const ev_search_phase ph[] = {D, D, D, D, B, B, B, B, B, B, C};
    check_rates(&t, want, ph, 11);
    CHECK_INT(t.verdict[7], ==, EV_SEARCH_INVALID);
    CHECK_INT(t.verdict[8], ==, EV_SEARCH_FAIL);
    CHECK_INT(s.retries, ==, 1);
    CHECK_DBL(s.gen, ==, 0); /* a pause is not a limit */
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, ==, 5000);
    /* A pause in the confirmation: run again, it holds. */
    ev_search_init(&s, &cfg);
    for (int i = 0; i < 9; i++) /* 1250 .. 5157 as above */
        ev_search_record(&s, s.next <= 5000 ? EV_SEARCH_PASS : EV_SEARCH_FAIL);
    CHECK_INT(s.phase, ==, EV_SEARCH_CONFIRM);
    ev_search_record(&s, EV_SEARCH_INVALID);
    CHECK_INT(s.phase, ==, EV_SEARCH_CONFIRM);
    CHECK_DBL(s.next, ==, 5000);
    ev_search_record(&s, EV_SEARCH_PASS);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, ==, 5000);
    CHECK_INT(s.retries, ==, 1);
    /* No room left: the invalid step counts at once. */
    cfg = (ev_search_cfg){.start_rate = 1000, .precision = 0.05, .max_steps = 2};
    drive(&s, &cfg, (sim){.capacity = 5000, .flaky = 1000}, &t);
    CHECK_INT(t.n, ==, 1);
    CHECK_INT(s.retries, ==, 0);
    CHECK_INT(s.outcome, ==, EV_SEARCH_GENERATOR);
}

static void test_max_rate(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1000, .max_rate = 3000, .precision = 0.05, .max_steps = 20};
    drive(&s, &cfg, (sim){.capacity = 1e9}, &t);
    static const double want[] = {1000, 2000, 3000, 3000};
    static const ev_search_phase ph[] = {D, D, D, C};
    check_rates(&t, want, ph, 4);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_INT(s.max_rate_reached, ==, 1);
    CHECK_DBL(s.found, ==, 3000);
    /* Below max_rate the capacity decides as usual. */
    drive(&s, &cfg, (sim){.capacity = 2600}, &t);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_INT(s.max_rate_reached, ==, 0);
    CHECK_DBL(s.found, <=, 2600);
    CHECK_DBL(s.found, >=, 2600 / 1.05);
}

static void test_max_steps(void)
{
    ev_search s;
    trace t;
    ev_search_cfg cfg = {.start_rate = 1, .precision = 0.05, .max_steps = 5};
    drive(&s, &cfg, (sim){.capacity = 1e6}, &t);
    static const double want[] = {1, 2, 4, 8};
    static const ev_search_phase ph[] = {D, D, D, D};
    check_rates(&t, want, ph, 4); /* the 5th step is kept for a confirmation */
    CHECK_INT(s.outcome, ==, EV_SEARCH_OUT_OF_STEPS);
    CHECK_INT(ev_search_exit_code(s.outcome), ==, EV_EINCOMPLETE);
    CHECK_DBL(s.lo, ==, 8);
    /* Enough steps for the bracket but not the step-down after a failed
     * confirmation. */
    cfg = (ev_search_cfg){.start_rate = 1000, .precision = 0.05, .max_steps = 7};
    drive(&s, &cfg, (sim){.capacity = 1500, .fail_confirms = 1}, &t);
    CHECK_INT(t.n, ==, 7);
    CHECK_INT(t.phase[6], ==, C);
    CHECK_INT(s.outcome, ==, EV_SEARCH_OUT_OF_STEPS);
    CHECK_DBL(s.found, ==, 0);
    /* A small start rate keeps fractional rates while they are below 10. */
    cfg = (ev_search_cfg){.start_rate = 1, .precision = 0.05, .max_steps = 30};
    drive(&s, &cfg, (sim){.capacity = 3.3}, &t);
    CHECK_INT(s.outcome, ==, EV_SEARCH_FOUND);
    CHECK_DBL(s.found, <=, 3.3);
    CHECK_DBL(s.found, >=, 3.3 / 1.05);
}

static void test_judge(void)
{
    char why[256];
    ev_search_step st = {.run_rc = 0,
                         .rate_target = 1000,
                         .rate_achieved = 998,
                         .lag_p99_ms = 2,
                         .blocked_s = 0,
                         .step_s = 2};
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_PASS);
    CHECK_STR(why, "");
    st.run_rc = 1;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_FAIL);
    CHECK_STR(why, "");
    /* Behind its schedule by itself: invalid, whatever the thresholds said. */
    st.rate_achieved = 900;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_INVALID);
    CHECK(strstr(why, "evload could not keep the schedule") != NULL);
    st.run_rc = 0;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_INVALID);
    st.rate_achieved = 951;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_PASS);
    st.lag_p99_ms = 150;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_INVALID);
    CHECK(strstr(why, "150.0 ms") != NULL);
    CHECK_INT(ev_search_judge(&st, 200, why, sizeof why), ==, EV_SEARCH_PASS);
    /* Held back by a full in-flight window: the broker's limit, a failure. */
    st.blocked_s = 0.1;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_FAIL);
    CHECK(strstr(why, "held the publishers back") != NULL);
    st.blocked_s = 0.09;
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_INVALID);
    /* No lag measured: the rate alone decides. */
    st = (ev_search_step){
        .run_rc = 0, .rate_target = 1000, .rate_achieved = 1000, .lag_p99_ms = NAN, .step_s = 2};
    CHECK_INT(ev_search_judge(&st, 100, why, sizeof why), ==, EV_SEARCH_PASS);
}

static void test_knee(void)
{
    /* Throughput follows the rate to 4000, then 6000 still gives 0.83 of
     * linear and 8000 only 0.62: the knee is 6000 (sweep's rule). */
    double r[] = {1000, 2000, 4000, 8000, 6000}, t[] = {1000, 2000, 4000, 5000, 5000};
    CHECK_DBL(ev_search_knee(r, t, 5), ==, 6000);
    /* The last step of a rate counts: a confirmation at 4000 that got 1000. */
    double r2[] = {1000, 2000, 4000, 8000, 6000, 4000}, t2[] = {1000, 2000, 4000, 5000, 5000, 1000};
    CHECK_DBL(ev_search_knee(r2, t2, 6), ==, 2000);
    /* Linear throughout: not reached. */
    double r3[] = {1000, 2000, 4000}, t3[] = {1000, 2000, 4000};
    CHECK_DBL(ev_search_knee(r3, t3, 3), ==, 0);
    CHECK_DBL(ev_search_knee(r3, t3, 1), ==, 0);
    CHECK_DBL(ev_search_knee(r3, t3, 0), ==, 0);
}

int main(void)
{
    EV_RUN(test_double_then_bisect);
    EV_RUN(test_start_fails);
    EV_RUN(test_generator_limit);
    EV_RUN(test_invalid_doubling_then_bisect);
    EV_RUN(test_confirm_fails);
    EV_RUN(test_invalid_retry);
    EV_RUN(test_max_rate);
    EV_RUN(test_max_steps);
    EV_RUN(test_judge);
    EV_RUN(test_knee);
    EV_DONE();
}
