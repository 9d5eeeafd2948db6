/* ev_search — see ev_search.h. */
#include "ev_search.h"

#include "ev_err.h"
#include "ev_sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void ev_search_init(ev_search *s, const ev_search_cfg *cfg)
{
    *s = (ev_search){.cfg = *cfg,
                     .phase = EV_SEARCH_DOUBLE,
                     .next = cfg->start_rate,
                     .outcome = EV_SEARCH_RUNNING};
}

/* A rate to try between a and b (a < b): x rounded to a whole number of
 * events/s when that keeps it strictly inside, so tables read well. */
static double inside(double x, double a, double b)
{
    double r = round(x);
    return x >= 10 && r > a && r < b ? r : x;
}

static void confirm(ev_search *s, double rate)
{
    s->phase = EV_SEARCH_CONFIRM;
    s->next = s->found = rate;
}

/* A confirmation (or step-down) just ran. */
static void record_confirm(ev_search *s, double r, ev_search_verdict v)
{
    if (v == EV_SEARCH_PASS) {
        s->found = s->lo = r;
        s->outcome = EV_SEARCH_FOUND;
        return;
    }
    s->found = 0;
    if (r >= s->lo) /* the pass there did not hold up: no lower bound until one does */
        s->lo = 0;
    if (v == EV_SEARCH_INVALID) {
        if (!s->gen || r < s->gen)
            s->gen = r;
        s->outcome = EV_SEARCH_GENERATOR;
        return;
    }
    s->stepdowns++;
    if (!s->hi || r < s->hi)
        s->hi = r;
    double down = r * (1 - s->cfg.precision);
    down = inside(down, 0, r);
    if (down < s->cfg.start_rate) {
        s->outcome = EV_SEARCH_NONE_CONFIRMED;
        return;
    }
    if (s->steps >= s->cfg.max_steps) {
        s->outcome = EV_SEARCH_OUT_OF_STEPS;
        return;
    }
    s->phase = EV_SEARCH_STEPDOWN;
    s->next = s->found = down;
}

void ev_search_record(ev_search *s, ev_search_verdict v)
{
    if (s->outcome != EV_SEARCH_RUNNING)
        return;
    double r = s->next;
    s->steps++;
    int confirming = s->phase == EV_SEARCH_CONFIRM || s->phase == EV_SEARCH_STEPDOWN;
    /* An invalid step runs once more at the same rate: a shared machine may
     * have paused evload for a moment. Twice in a row, it counts. A retry
     * needs room for itself (and, while searching, a confirmation). */
    if (v == EV_SEARCH_INVALID && !s->retrying &&
        s->steps < s->cfg.max_steps - (confirming ? 0 : 1)) {
        s->retrying = 1;
        s->retries++;
        return;
    }
    s->retrying = 0;
    if (confirming) {
        record_confirm(s, r, v);
        return;
    }
    if (v == EV_SEARCH_PASS && r > s->lo)
        s->lo = r;
    else if (v == EV_SEARCH_FAIL && (!s->hi || r < s->hi))
        s->hi = r;
    else if (v == EV_SEARCH_INVALID && (!s->gen || r < s->gen))
        s->gen = r;
    if (!s->lo) { /* the start rate did not pass */
        s->outcome = v == EV_SEARCH_INVALID ? EV_SEARCH_GENERATOR : EV_SEARCH_START_FAILS;
        return;
    }
    /* The lowest rate known not to pass, or not to be measurable. */
    double ceil = s->hi;
    if (s->gen && (!ceil || s->gen < ceil))
        ceil = s->gen;
    double next;
    ev_search_phase phase;
    if (!ceil) {
        if (s->cfg.max_rate > 0 && s->lo >= s->cfg.max_rate) {
            s->max_rate_reached = s->precision_reached = 1;
            confirm(s, s->lo);
            return;
        }
        next = 2 * s->lo;
        if (s->cfg.max_rate > 0 && next > s->cfg.max_rate)
            next = s->cfg.max_rate;
        phase = EV_SEARCH_DOUBLE;
    } else if ((ceil - s->lo) / s->lo <= s->cfg.precision) {
        if (ceil == s->hi) { /* a failure bounds it: found */
            s->precision_reached = 1;
            confirm(s, s->lo);
        } else { /* only evload's own limit does: the maximum is at least lo */
            s->outcome = EV_SEARCH_GENERATOR;
        }
        return;
    } else {
        next = inside((s->lo + ceil) / 2, s->lo, ceil);
        phase = EV_SEARCH_BISECT;
    }
    /* A search step needs room for itself and the confirmation after it. */
    if (s->steps >= s->cfg.max_steps - 1) {
        s->outcome = EV_SEARCH_OUT_OF_STEPS;
        return;
    }
    s->phase = phase;
    s->next = next;
}

int ev_search_exit_code(ev_search_outcome o)
{
    switch (o) {
    case EV_SEARCH_FOUND:
        return EV_OK;
    case EV_SEARCH_START_FAILS:
    case EV_SEARCH_NONE_CONFIRMED:
        return EV_ETHRESH;
    case EV_SEARCH_RUNNING:
    case EV_SEARCH_GENERATOR:
    case EV_SEARCH_OUT_OF_STEPS:
        break;
    }
    return EV_EINCOMPLETE;
}

const char *ev_search_outcome_name(ev_search_outcome o)
{
    static const char *const names[] = {"interrupted",    "found",     "start_fails",
                                        "none_confirmed", "generator", "out_of_steps"};
    return o >= EV_SEARCH_RUNNING && o <= EV_SEARCH_OUT_OF_STEPS ? names[o] : "?";
}

const char *ev_search_phase_name(ev_search_phase p)
{
    static const char *const names[] = {"double", "bisect", "confirm", "stepdown"};
    return p >= EV_SEARCH_DOUBLE && p <= EV_SEARCH_STEPDOWN ? names[p] : "?";
}

const char *ev_search_verdict_name(ev_search_verdict v)
{
    static const char *const names[] = {"pass", "fail", "invalid"};
    return v >= EV_SEARCH_PASS && v <= EV_SEARCH_INVALID ? names[v] : "?";
}

ev_search_verdict ev_search_judge(const ev_search_step *st, double max_lag_ms, char *why,
                                  size_t size)
{
    if (size)
        why[0] = '\0';
    int slow = st->rate_target > 0 && st->rate_achieved < EV_SEARCH_MIN_ACHIEVED * st->rate_target;
    int lagging = !isnan(st->lag_p99_ms) && st->lag_p99_ms > max_lag_ms;
    if (!slow && !lagging)
        return st->run_rc == 0 ? EV_SEARCH_PASS : EV_SEARCH_FAIL;
    char lag[32];
    snprintf(lag, sizeof lag, isnan(st->lag_p99_ms) ? "-" : "%.1f ms", st->lag_p99_ms);
    if (st->blocked_s >= EV_SEARCH_BLOCKED_SHARE * st->step_s) {
        snprintf(why, size,
                 "the broker held the publishers back (%.2f s blocked on a full in-flight "
                 "window): sent %.0f of %.0f/s, sched_lag p99 %s",
                 st->blocked_s, st->rate_achieved, st->rate_target, lag);
        return EV_SEARCH_FAIL;
    }
    snprintf(why, size,
             "evload could not keep the schedule: sent %.0f of %.0f/s, sched_lag p99 %s "
             "(limit %.0f ms)",
             st->rate_achieved, st->rate_target, lag, max_lag_ms);
    return EV_SEARCH_INVALID;
}

static int by_rate(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

double ev_search_knee(const double *rates, const double *thr, size_t n)
{
    double knee = 0;
    double *pt = calloc(n ? n : 1, 2 * sizeof *pt); /* (rate, throughput) pairs */
    double *val = calloc(n ? n : 1, sizeof *val), *t = calloc(n ? n : 1, sizeof *t),
           *eff = calloc(n ? n : 1, sizeof *eff);
    size_t m = 0;
    if (!pt || !val || !t || !eff)
        goto out;
    /* The last step of each rate, then ascending. */
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m && pt[2 * j] != rates[i])
            j++;
        pt[2 * j] = rates[i];
        pt[2 * j + 1] = thr[i];
        if (j == m)
            m++;
    }
    qsort(pt, m, 2 * sizeof *pt, by_rate);
    for (size_t i = 0; i < m; i++) {
        val[i] = pt[2 * i];
        t[i] = pt[2 * i + 1];
    }
    if (m >= 2) {
        int k = ev_sweep_knee(val, t, m, eff);
        knee = k >= 0 ? val[k] : 0;
    }
out:
    free(pt);
    free(val);
    free(t);
    free(eff);
    return knee;
}
