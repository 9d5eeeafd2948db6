/* ev_sweep — see ev_sweep.h. */
#include "ev_sweep.h"

#include "ev_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ev_sweep_knee(const double *val, const double *thr, size_t n, double *eff)
{
    int knee = -1;
    for (size_t i = 0; i < n; i++) {
        eff[i] = NAN;
        if (!isnan(val[i]) && !isnan(val[0]) && val[0] > 0 && thr[0] > 0 && val[i] > 0)
            eff[i] = (thr[i] / thr[0]) / (val[i] / val[0]);
        if (knee < 0 && i > 0 && !isnan(eff[i]) && eff[i] < EV_SWEEP_KNEE_EFFICIENCY)
            knee = (int)i - 1;
    }
    return knee;
}

static double jnum(json_t *doc, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(doc, a), b);
    if (c)
        v = json_object_get(v, c);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* A value as a number for the efficiency, NAN when it is not one. */
static double value_number(const char *s)
{
    char *end = NULL;
    double d = strtod(s, &end);
    return end == s || *end ? (double)NAN : d;
}

/* Exit codes by severity: a usage, connection or internal error ends the
 * sweep; otherwise the worst of pass (0), fail (1) and incomplete (5). */
static int worse(int a, int b)
{
    static const int rank[] = {0, 1, 4, 4, 4, 2};
    int ra = a >= 0 && a <= 5 ? rank[a] : 4, rb = b >= 0 && b <= 5 ? rank[b] : 4;
    return rb > ra ? b : a;
}

static void print_table(FILE *out, const ev_plan *base, json_t *rows, const double *thr,
                        const double *eff, size_t n, int knee)
{
    fprintf(out, "\nsweep over %s\n", base->sweep_key);
    fprintf(out, "  %-12s %14s %12s %10s %11s  %s\n", "value", "throughput/s", "e2e p95 ms", "lost",
            "efficiency", "verdict");
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(rows, i);
        char effs[16], p95[16];
        snprintf(effs, sizeof effs, isnan(eff[i]) ? "-" : "%.2f", eff[i]);
        json_t *pj = json_object_get(row, "e2e_p95");
        snprintf(p95, sizeof p95, json_is_number(pj) ? "%.2f" : "-", json_number_value(pj));
        fprintf(out, "  %-12s %14.1f %12s %10lld %11s  %s\n", base->sweep_values[i], thr[i], p95,
                (long long)json_integer_value(json_object_get(row, "lost")), effs,
                json_string_value(json_object_get(row, "verdict")));
    }
    if (knee >= 0)
        fprintf(out, "knee: %s=%s (past it, efficiency falls below %.2f of linear)\n",
                base->sweep_key, base->sweep_values[knee], EV_SWEEP_KNEE_EFFICIENCY);
    else
        fprintf(out, "knee: not reached (efficiency stays at or above %.2f of linear)\n",
                EV_SWEEP_KNEE_EFFICIENCY);
}

/* Runs point i; appends its row and results. Returns its exit code. */
static int run_point(const ev_plan *base, size_t i, ev_sweep_loader load, void *ud,
                     const ev_run_opts *ro, FILE *out, json_t *rows, json_t *runs, double *thr)
{
    char assign[512];
    snprintf(assign, sizeof assign, "%s=%s", base->sweep_key, base->sweep_values[i]);
    ev_plan *p = NULL;
    int rc = load(ud, assign, &p);
    if (rc)
        return rc;
    if (!ro->quiet)
        fprintf(out, "\n== sweep %zu/%zu: %s ==\n", i + 1, base->nsweep, assign);
    fflush(out);
    json_t *doc = NULL;
    ev_run_opts o = *ro;
    o.json_path = NULL;
    o.results = &doc;
    ev_err err = {{0}};
    rc = ev_run(p, &o, &err);
    ev_plan_free(p);
    if (rc >= EV_EUSAGE && rc <= EV_EINTERNAL) {
        fprintf(stderr, "evload: sweep %s: %s\n", assign, err.msg);
        json_decref(doc);
        return rc;
    }
    thr[i] = jnum(doc, "deliver", "throughput", NULL);
    double p95 = jnum(doc, "latency", "e2e", "p95");
    json_t *lost = json_object_get(json_object_get(doc, "deliver"), "lost");
    json_t *verdict = json_object_get(doc, "verdict");
    json_array_append_new(
        rows, json_pack("{s:s, s:f, s:o, s:O, s:O}", "value", base->sweep_values[i], "throughput",
                        isnan(thr[i]) ? 0.0 : thr[i], "e2e_p95",
                        isnan(p95) ? json_null() : json_real(p95), "lost",
                        lost ? lost : json_null(), "verdict", verdict ? verdict : json_null()));
    json_array_append_new(runs, doc);
    return rc;
}

int ev_sweep_run(const ev_plan *base, ev_sweep_loader load, void *ud, const ev_run_opts *ro,
                 FILE *out)
{
    size_t n = base->nsweep, done = 0;
    int worst = 0;
    json_t *runs = json_array(), *rows = json_array();
    double *thr = calloc(n, sizeof *thr), *val = calloc(n, sizeof *val),
           *eff = calloc(n, sizeof *eff);
    if (!runs || !rows || !thr || !val || !eff) {
        fprintf(stderr, "evload: out of memory\n");
        worst = EV_EINTERNAL;
        goto out;
    }
    for (; done < n; done++) {
        int rc = run_point(base, done, load, ud, ro, out, rows, runs, thr);
        if (rc >= EV_EUSAGE && rc <= EV_EINTERNAL) {
            worst = rc;
            goto out;
        }
        worst = worse(worst, rc);
        val[done] = value_number(base->sweep_values[done]);
    }
    int knee = ev_sweep_knee(val, thr, done, eff);
    for (size_t i = 0; i < done; i++)
        json_object_set_new(json_array_get(rows, i), "efficiency",
                            isnan(eff[i]) ? json_null() : json_real(eff[i]));
    print_table(out, base, rows, thr, eff, done, knee);
    if (ro->json_path || ro->results) {
        json_t *doc = json_pack("{s:i, s:{s:s, s:O, s:o}, s:O}", "schema", 1, "sweep", "key",
                                base->sweep_key, "rows", rows, "knee",
                                knee >= 0 ? json_string(base->sweep_values[knee]) : json_null(),
                                "runs", runs);
        ev_err err = {{0}};
        if (!doc || (ro->json_path && ev_report_write(doc, ro->json_path, &err))) {
            fprintf(stderr, "evload: %s\n", doc ? err.msg : "out of memory");
            worst = doc ? EV_EUSAGE : EV_EINTERNAL;
        }
        if (doc && ro->results)
            *ro->results = json_incref(doc);
        json_decref(doc);
    }
out:
    json_decref(runs);
    json_decref(rows);
    free(thr);
    free(val);
    free(eff);
    return worst;
}
