/* ev_recovery — the recovery rule and recovery after rate drops (see
 * ev_recovery.h).
 *
 * Design notes
 * - Everything here reads what the engine already recorded once a second
 *   (ev_results.ts: the e2e histogram, the provisional loss, the broker's
 *   depth), after the run: nothing runs on the hot path. Histograms are
 *   read a point at a time (ev_tseries_point: a run's are on file).
 * - A boundary is the end of a stage with a duration, and the rate it drops
 *   to is the target of the next stage with a duration: stages of 0 s in
 *   between are steps of the rate curve (the pacer jumps), not phases.
 * - The baseline is the stage before the peak: the nearest earlier stage
 *   whose target is below the rate before the boundary (for a spike, the
 *   stage before the spike), else the warm-up. Comparing with the stage right
 *   before the boundary would compare with the disturbance itself. */
#include "ev_recovery.h"

#include "ev_threshold.h"
#include "ev_tseries.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T_SLACK 0.05 /* timeseries points fall a few ms after whole seconds */

void ev_recovery_tolerance(ev_recovery_base *b, double rate)
{
    b->tol_ms = b->p99_ms * EV_RECOVERY_TOL_FACTOR + EV_RECOVERY_TOL_MS;
    double slack = rate * EV_RECOVERY_DEPTH_RATE_S;
    if (!(slack > EV_RECOVERY_DEPTH_MIN))
        slack = EV_RECOVERY_DEPTH_MIN;
    b->tol_depth = b->depth >= 0 ? (double)b->depth * EV_RECOVERY_TOL_FACTOR + slack : 0.0;
}

int ev_recovery_secs(const ev_results *R, ev_recovery_sec **out, size_t *n, ev_err *err)
{
    *out = NULL;
    *n = 0;
    ev_recovery_sec *s = calloc(R->nts ? R->nts : 1, sizeof *s);
    ev_hist *tmp = ev_hist_new();
    if (!s || !tmp) {
        free(s);
        ev_hist_free(tmp);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < R->nts; i++) {
        const ev_tpoint *tp = ev_tseries_point(R, i);
        if (!tp) {
            free(s);
            ev_hist_free(tmp);
            int rc = ev_tseries_error(R, err);
            return rc ? rc : ev_err_set(err, EV_EINTERNAL, "no timeseries point %zu", i + 1);
        }
        ev_hist_reset(tmp);
        if (tp->hist_e2e)
            ev_hist_decode(tp->hist_e2e, strlen(tp->hist_e2e), tmp);
        s[i] = (ev_recovery_sec){i ? R->ts[i - 1].t : 0.0,
                                 tp->t,
                                 ev_hist_count(tmp),
                                 tp->e2e_p99_ms,
                                 tp->lost > (i ? R->ts[i - 1].lost : 0),
                                 tp->depth};
    }
    ev_hist_free(tmp);
    *out = s;
    *n = R->nts;
    return EV_OK;
}

int ev_recovery_find(const ev_recovery_sec *secs, size_t n, double end_s, const ev_recovery_base *b,
                     double *recovery_s)
{
    for (size_t i = 0; i < n; i++) {
        const ev_recovery_sec *s = &secs[i];
        if (s->t1 <= end_s || !s->count || s->p99_ms > b->tol_ms || s->gaps_grew)
            continue;
        if (b->depth >= 0 && s->depth >= 0 && (double)s->depth > b->tol_depth)
            continue; /* the backlog is not gone yet */
        *recovery_s = s->t0 > end_s ? s->t0 - end_s : 0.0;
        return 1;
    }
    return 0;
}

int ev_recovery_drain(const ev_recovery_sec *secs, size_t n, double end_s,
                      const ev_recovery_base *b, double *drain_s, int64_t *backlog)
{
    if (b->depth < 0)
        return -1;
    int64_t top = -1;
    double pt = end_s, pd = -1; /* the last known sample before the one looked at */
    int after = 0;
    for (size_t i = 0; i < n; i++) {
        const ev_recovery_sec *s = &secs[i];
        if (s->depth < 0)
            continue;
        if (s->t1 <= end_s) {
            pt = s->t1, pd = (double)s->depth; /* the level at the boundary */
            continue;
        }
        if (!after && pd >= 0 && (int64_t)pd > top)
            top = (int64_t)pd;
        after = 1;
        if (s->depth > top)
            top = s->depth;
        double d = (double)s->depth;
        if (d <= b->tol_depth) {
            double t = s->t1;
            if (pd > b->tol_depth) /* crossed between the two samples */
                t = pt + (pd - b->tol_depth) / (pd - d) * (s->t1 - pt);
            else if (pd >= 0)
                t = end_s; /* already within it at the boundary */
            *drain_s = t > end_s ? t - end_s : 0.0;
            *backlog = top;
            return 1;
        }
        pt = s->t1, pd = d;
    }
    *backlog = top;
    return after ? 0 : -1;
}

/* ---- stage boundaries ----------------------------------------------------- */

static json_t *num_or_null(int ok, double v)
{
    return ok ? json_real(v) : json_null();
}

/* The baseline over [from, to]: its last EV_RECOVERY_BASE_SECS seconds with
 * deliveries. 0 when it has none. */
static int baseline(const ev_results *R, const ev_recovery_sec *secs, size_t n, double from,
                    double to, ev_hist *h, ev_recovery_base *b, int *used)
{
    ev_hist_reset(h);
    b->depth = -1;
    *used = 0;
    for (size_t i = n; i-- > 0 && *used < EV_RECOVERY_BASE_SECS;) {
        if (secs[i].t0 < from - T_SLACK || secs[i].t1 > to + T_SLACK || !secs[i].count)
            continue;
        const ev_tpoint *tp = ev_tseries_point(R, i); /* NULL: ev_tseries_error */
        const char *s = tp ? tp->hist_e2e : NULL;
        if (s)
            ev_hist_decode(s, strlen(s), h);
        if (secs[i].depth > b->depth)
            b->depth = secs[i].depth;
        (*used)++;
    }
    if (!ev_hist_count(h))
        return 0;
    b->p99_ms = (double)ev_hist_percentile(h, 99) / 1e6;
    return 1;
}

/* One boundary's entry of results.recovery. */
static json_t *boundary_json(const ev_results *R, const ev_recovery_sec *secs, size_t n, ev_hist *h,
                             size_t i, size_t j, double at, int base_k, double base_from,
                             double base_to)
{
    const ev_plan *p = R->plan;
    char from[EV_STAGE_NAME_MAX + 32], to[EV_STAGE_NAME_MAX + 32], bn[EV_STAGE_NAME_MAX + 32];
    ev_plan_stage_label(p, i, from, sizeof from);
    ev_plan_stage_label(p, j, to, sizeof to);
    double r_from = p->stages[i].target, r_to = p->stages[j].target;
    json_t *o = json_pack("{s:s, s:s, s:f, s:f, s:f}", "from", from, "to", to, "at_s", at,
                          "rate_from", r_from, "rate_to", r_to);
    if (!o)
        return NULL;
    ev_recovery_base b = {0};
    int used = 0, have = 0;
    if (base_k >= -1) {
        if (base_k >= 0)
            ev_plan_stage_label(p, (size_t)base_k, bn, sizeof bn);
        else
            snprintf(bn, sizeof bn, "warmup");
        have = baseline(R, secs, n, base_from, base_to, h, &b, &used);
    }
    if (!have) {
        json_object_set_new(o, "baseline", json_null());
        json_object_set_new(o, "tolerance", json_null());
        json_object_set_new(o, "recovered", json_false());
        json_object_set_new(o, "recovery_s", json_null());
        json_object_set_new(o, "backlog", json_null());
        json_object_set_new(o, "drain_s", json_null());
        json_object_set_new(
            o, "note",
            json_string(base_k >= -1 ? "no second with deliveries in the baseline stage"
                                     : "no stage before it below its rate (nor a warm-up) to "
                                       "compare with"));
        return o;
    }
    ev_recovery_tolerance(&b, r_to);
    json_object_set_new(o, "baseline",
                        json_pack("{s:s, s:f, s:f, s:i, s:f, s:o}", "stage", bn, "from_s",
                                  base_from, "to_s", base_to, "seconds", used, "e2e_p99_ms",
                                  b.p99_ms, "depth",
                                  b.depth >= 0 ? json_integer(b.depth) : json_null()));
    json_object_set_new(o, "tolerance",
                        json_pack("{s:f, s:o}", "e2e_p99_ms", b.tol_ms, "depth",
                                  num_or_null(b.depth >= 0, b.tol_depth)));
    double rec = 0, drain = 0;
    int64_t backlog = -1;
    int recovered = ev_recovery_find(secs, n, at, &b, &rec);
    int drained = ev_recovery_drain(secs, n, at, &b, &drain, &backlog);
    json_object_set_new(o, "recovered", json_boolean(recovered));
    json_object_set_new(o, "recovery_s", num_or_null(recovered, rec));
    json_object_set_new(o, "backlog", backlog >= 0 ? json_integer(backlog) : json_null());
    json_object_set_new(o, "drain_s", num_or_null(drained == 1, drain));
    if (drained < 0)
        json_object_set_new(o, "note",
                            json_string("the broker does not report its depth: no "
                                        "drain time, recovery by e2e p99 alone"));
    else if (!drained)
        json_object_set_new(o, "note", json_string("the backlog had not drained by the end"));
    return o;
}

int ev_recovery_stages(ev_results *R, ev_err *err)
{
    const ev_plan *p = R->plan;
    json_decref(R->recovery);
    R->recovery = NULL;
    if (!p || p->executor != EV_EXEC_RAMPING || !p->nstages || p->streams_explicit)
        return EV_OK;
    ev_recovery_sec *secs = NULL;
    size_t n = 0;
    int rc = ev_recovery_secs(R, &secs, &n, err);
    if (rc)
        return rc;
    double *start = calloc(p->nstages, sizeof *start);
    json_t *arr = json_array();
    ev_hist *h = ev_hist_new();
    if (!start || !arr || !h) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    double t = (double)p->warmup_ns / 1e9;
    for (size_t i = 0; i < p->nstages; i++) {
        start[i] = t;
        t += (double)p->stages[i].duration_ns / 1e9;
    }
    for (size_t i = 0; i < p->nstages; i++) {
        size_t j = ev_plan_drop_after(p, i);
        if (!j)
            continue;
        double at = start[i] + (double)p->stages[i].duration_ns / 1e9;
        /* The stage before the peak: below the rate the boundary drops from. */
        int k = -2;
        for (size_t m = i; m-- > 0;)
            if (p->stages[m].duration_ns > 0 && p->stages[m].target < p->stages[i].target) {
                k = (int)m;
                break;
            }
        double bf = 0, bt = 0;
        if (k >= 0) {
            bf = start[k];
            bt = start[k] + (double)p->stages[k].duration_ns / 1e9;
        } else if (p->warmup_ns > 0) {
            k = -1;
            bt = (double)p->warmup_ns / 1e9;
        }
        json_t *o = boundary_json(R, secs, n, h, i, j, at, k, bf, bt);
        if (!o || json_array_append_new(arr, o)) {
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto out;
        }
    }
    R->recovery = arr;
    arr = NULL;
out:
    json_decref(arr);
    ev_hist_free(h);
    free(start);
    free(secs);
    return rc;
}

double ev_recovery_value(const ev_results *R, const char *stage, int agg)
{
    double v = NAN, sum = 0;
    size_t k = 0;
    size_t i;
    json_t *o;
    json_array_foreach (R->recovery, i, o) {
        if (stage && strcmp(json_string_value(json_object_get(o, "from")), stage))
            continue;
        const json_t *r = json_object_get(o, "recovery_s");
        double x = json_is_number(r) ? json_number_value(r) : (double)INFINITY;
        if (!k)
            v = x;
        else if (agg == EV_AGG_MAX)
            v = x > v ? x : v;
        else if (agg == EV_AGG_MIN)
            v = x < v ? x : v;
        sum += x;
        k++;
    }
    if (k && agg == EV_AGG_AVG)
        v = sum / (double)k;
    return v;
}

void ev_recovery_summary(FILE *f, const ev_results *R)
{
    if (!json_array_size(R->recovery))
        return;
    fprintf(f, "\nrecovery (after each stage boundary where the rate drops; seconds from it)\n");
    size_t i;
    json_t *o;
    json_array_foreach (R->recovery, i, o) {
        const char *from = json_string_value(json_object_get(o, "from"));
        const char *to = json_string_value(json_object_get(o, "to"));
        fprintf(f, "  %s → %s at %.2f s (%.0f → %.0f/s): ", from ? from : "?", to ? to : "?",
                json_number_value(json_object_get(o, "at_s")),
                json_number_value(json_object_get(o, "rate_from")),
                json_number_value(json_object_get(o, "rate_to")));
        const json_t *b = json_object_get(o, "baseline");
        if (!json_is_object(b)) {
            fprintf(f, "not judged: %s\n",
                    json_string_value(json_object_get(o, "note"))
                        ? json_string_value(json_object_get(o, "note"))
                        : "no baseline");
            continue;
        }
        const json_t *tol = json_object_get(o, "tolerance");
        const json_t *rec = json_object_get(o, "recovery_s");
        if (json_is_number(rec))
            fprintf(f, "back after %.2f s", json_number_value(rec));
        else
            fprintf(f, "NOT RECOVERED by the end");
        fprintf(f, " (e2e p99 ≤ %.1f ms", json_number_value(json_object_get(tol, "e2e_p99_ms")));
        if (json_is_number(json_object_get(tol, "depth")))
            fprintf(f, ", depth ≤ %.0f", json_number_value(json_object_get(tol, "depth")));
        fprintf(f, "; baseline %s: p99 %.1f ms", json_string_value(json_object_get(b, "stage")),
                json_number_value(json_object_get(b, "e2e_p99_ms")));
        if (json_is_integer(json_object_get(b, "depth")))
            fprintf(f, ", depth %lld", (long long)json_integer_value(json_object_get(b, "depth")));
        fprintf(f, ")");
        const json_t *bl = json_object_get(o, "backlog"), *dr = json_object_get(o, "drain_s");
        if (json_is_integer(bl))
            fprintf(f, "; backlog %lld", (long long)json_integer_value(bl));
        if (json_is_number(dr))
            fprintf(f, " drained in %.2f s", json_number_value(dr));
        else if (json_is_integer(bl))
            fprintf(f, " not drained by the end");
        fprintf(f, "\n");
    }
}
