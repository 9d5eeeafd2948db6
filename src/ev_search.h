/* ev_search — the capacity search's arithmetic (`evload search`,
 * docs/search.md): which rate to run next from the verdicts so far, how one
 * step's results become a verdict, and the knee of the curve. Pure: no I/O,
 * no clock, no runs; ev_search_cmd.c runs the steps.
 *
 * The search: fixed-rate steps from start_rate, doubling until a step fails
 * (or max_rate passes), then bisecting between the highest pass (lo) and the
 * lowest failure (hi) until (hi - lo) / lo <= precision, then a confirming
 * run at lo. A confirmation that fails makes that rate a failure and steps
 * down by the precision (lo × (1 - precision)) to confirm again.
 *
 * An INVALID step (evload itself could not keep the schedule) runs once
 * more at the same rate (the machine may have paused evload for a moment);
 * invalid again, it is no upper bound of the system, but nothing at or above
 * it can be measured: it caps the rates tried (gen). Bisecting continues below it while a failure
 * can still be found there; once the bracket below it is within the precision and no failure lies
 * under it, the search ends with the load generator as the limit (the maximum is only known to be
 * at least lo). */
#ifndef EV_SEARCH_H
#define EV_SEARCH_H

#include <stddef.h>

typedef enum { EV_SEARCH_PASS, EV_SEARCH_FAIL, EV_SEARCH_INVALID } ev_search_verdict;

/* What the next step is for. */
typedef enum {
    EV_SEARCH_DOUBLE,   /* the start rate, then twice the last pass */
    EV_SEARCH_BISECT,   /* halfway between lo and the lowest failure (or invalid rate) */
    EV_SEARCH_CONFIRM,  /* the rate found, once more */
    EV_SEARCH_STEPDOWN, /* a confirmation failed: confirm precision lower */
} ev_search_phase;

typedef enum {
    EV_SEARCH_RUNNING,
    EV_SEARCH_FOUND,          /* confirmed at `found` (exit 0) */
    EV_SEARCH_START_FAILS,    /* the start rate failed (exit 1) */
    EV_SEARCH_NONE_CONFIRMED, /* step-downs fell below the start rate (exit 1) */
    EV_SEARCH_GENERATOR,      /* evload could not go faster before the system failed (exit 5) */
    EV_SEARCH_OUT_OF_STEPS,   /* max_steps ran out before a rate was confirmed (exit 5) */
} ev_search_outcome;

typedef struct ev_search_cfg {
    double start_rate; /* > 0, events/s */
    double max_rate;   /* 0: none; else >= start_rate */
    double precision;  /* > 0: stop bisecting when (hi - lo) / lo <= precision */
    int max_steps;     /* >= 2: every step counts, confirmations too */
} ev_search_cfg;

typedef struct ev_search {
    ev_search_cfg cfg;
    double lo;  /* highest rate that passed (and, once confirming, held up); 0: none */
    double hi;  /* lowest rate that failed; 0: none */
    double gen; /* lowest rate evload could not keep (invalid); 0: none */
    int steps;  /* steps recorded */
    /* The next step (while outcome is RUNNING). */
    ev_search_phase phase;
    double next;
    /* The rate being confirmed, then the result (0: none). */
    double found;
    int stepdowns;         /* confirmations that failed */
    int retrying;          /* the next step repeats an invalid one */
    int retries;           /* invalid steps run again */
    int precision_reached; /* the bracket narrowed to cfg.precision (else steps ran out) */
    int max_rate_reached;  /* max_rate passed: the real maximum may be higher */
    ev_search_outcome outcome;
} ev_search;

/* Starts a search; its first step is cfg->start_rate (phase DOUBLE). */
void ev_search_init(ev_search *s, const ev_search_cfg *cfg);

/* Records the verdict of the step just run (at s->next, for s->phase) and
 * decides the next step, or the outcome. */
void ev_search_record(ev_search *s, ev_search_verdict v);

/* The exit code for an outcome (RUNNING: 5, the search was cut short). */
int ev_search_exit_code(ev_search_outcome o);
/* "found", "start_fails", … as the results JSON names it. */
const char *ev_search_outcome_name(ev_search_outcome o);
const char *ev_search_phase_name(ev_search_phase p);
const char *ev_search_verdict_name(ev_search_verdict v);

/* One step's figures, as its results give them. */
typedef struct ev_search_step {
    int run_rc;           /* ev_run's exit code: 0 pass, 1 a threshold failed */
    double rate_target;   /* publish.rate_target */
    double rate_achieved; /* publish.rate_achieved */
    double lag_p99_ms;    /* latency.sched_lag.p99; NAN: not measured */
    double blocked_s;     /* backpressure.blocked_s: publishers waiting on a full window */
    double step_s;        /* the step's scheduled publishing time */
} ev_search_step;

/* A step's schedule was kept when it achieved at least this share of the
 * target rate ... */
#define EV_SEARCH_MIN_ACHIEVED 0.95
/* ... and publishers blocked on a full in-flight window for less than this
 * share of the step, or else the broker held them back (the system's limit). */
#define EV_SEARCH_BLOCKED_SHARE 0.05

/* The verdict of one step (run_rc 0 or 1): INVALID when the schedule was
 * missed (achieved below EV_SEARCH_MIN_ACHIEVED of the target, or sched_lag
 * p99 above max_lag_ms) while the publishers were not held back by the
 * broker; a missed schedule with the publishers blocked is the system's
 * FAIL; otherwise the thresholds' verdict. Writes why (a step that is not a
 * plain threshold pass or fail) into why[size], else "". */
ev_search_verdict ev_search_judge(const ev_search_step *st, double max_lag_ms, char *why,
                                  size_t size);

/* The knee over the valid steps (rates[i], throughputs[i], n of them, in any
 * order, repeats allowed: the last of a rate counts): sweep's rule
 * (ev_sweep_knee) over the rates in ascending order. Returns the knee's rate,
 * or 0 when it is not reached or there are fewer than 2 rates. */
double ev_search_knee(const double *rates, const double *thr, size_t n);

/* `evload search` (ev_search_cmd.c): argv[0] is "search". Returns the
 * exit code. */
int ev_search_main(int argc, char **argv);

#endif
