/* ev_compare — see ev_compare.h; the reasoning is in docs/reports.md. */
#include "ev_compare.h"

#include "ev_hist.h"
#include "ev_json.h"
#include "ev_text.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fewer samples than this beyond a percentile (on either side) and its
 * confidence interval means nothing: inconclusive. */
#define MIN_TAIL 10.0

typedef enum { O_SAME, O_IMPROVED, O_REGRESSION, O_INCONCLUSIVE, O_INFO } outcome;
static const char *const ONAME[] = {"pass", "improved", "regression", "inconclusive", "info"};

typedef struct row {
    char metric[64];
    char unit[16];
    double base, neu;          /* NAN: not measured */
    double blo, bhi, nlo, nhi; /* confidence bounds, NAN when none */
    outcome out;
    char note[160];
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
    int oom;
} rows;

static row *add(rows *r, const char *metric, const char *unit)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        row *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->oom = 1;
            return NULL;
        }
        r->v = v, r->cap = cap;
    }
    row *w = &r->v[r->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->metric, sizeof w->metric, "%s", metric);
    snprintf(w->unit, sizeof w->unit, "%s", unit);
    w->base = w->neu = w->blo = w->bhi = w->nlo = w->nhi = NAN;
    return w;
}

/* How much wider than independent sampling the q-quantile's uncertainty is
 * in run: Kish's design effect of the fraction of samples at or below the
 * quantile's estimate x, with each second of the run as a cluster. Latency
 * samples are not independent: a stall (a descheduled consumer, a pause, a
 * broker hiccup) delays a burst of consecutive events together, and the
 * fraction below x then varies from second to second more than binomial
 * sampling allows. The cluster-robust variance of that fraction,
 *   V = k/(k−1) · Σ (c_i − p·n_i)² / N²   (c_i of the n_i samples of second i
 *                                          are ≤ x, p = Σc_i / N, k seconds)
 * against the binomial q(1 − q)/N gives deff = max(1, V / binomial). The
 * per-second histograms are the results' timeseries[].hist.<per_second>
 * (e2e, e2e_sched, ack). 1 when the run has fewer than 2 seconds with
 * samples, or none recorded. */
static double design_effect(const json_t *run, const char *per_second, double q, ev_hist *whole,
                            ev_hist *tmp)
{
    const json_t *ts = ev_jget(run, "timeseries");
    size_t nts = json_array_size(ts), k = 0;
    int64_t x = ev_hist_percentile(whole, q * 100);
    char path[32];
    snprintf(path, sizeof path, "hist.%s", per_second);
    double *c = calloc(nts ? nts : 1, sizeof *c), *n = calloc(nts ? nts : 1, sizeof *n);
    double N = 0, C = 0, deff = 1;
    for (size_t i = 0; c && n && i < nts; i++) {
        ev_hist_reset(tmp);
        if (ev_jhist(json_array_get(ts, i), path, tmp) || !ev_hist_count(tmp))
            continue;
        n[k] = (double)ev_hist_count(tmp);
        c[k] = (double)ev_hist_count_le(tmp, x);
        N += n[k], C += c[k];
        k++;
    }
    if (k >= 2 && N > 0 && q > 0 && q < 1) {
        double p = C / N, ss = 0;
        for (size_t i = 0; i < k; i++)
            ss += (c[i] - p * n[i]) * (c[i] - p * n[i]);
        double v = (double)k / (double)(k - 1) * ss / (N * N), v0 = q * (1 - q) / N;
        if (v > v0)
            deff = v / v0;
    }
    free(c);
    free(n);
    return deff;
}

/* The distribution-free confidence interval of the q-quantile: the true
 * quantile lies between the order statistics of ranks l and u with
 * probability ≈ 1 − α, where the number of samples below it is Binomial(n, q)
 * (normal approximation), its variance multiplied by the design effect
 * (samples that come in bursts count as fewer independent ones: n / deff).
 * Needs n/deff · q and n/deff · (1 − q) ≥ MIN_TAIL. The bounds are widened to
 * the histogram's slot edges. ms. */
static int quantile_ci(const ev_hist *h, double q, double z, double deff, double *lo, double *hi,
                       double *pt)
{
    double n = (double)ev_hist_count(h), ne = n / deff;
    *pt = (double)ev_hist_percentile(h, q * 100) / 1e6;
    if (ne * q < MIN_TAIL || ne * (1 - q) < MIN_TAIL)
        return -1;
    double sd = sqrt(n * q * (1 - q) * deff);
    double l = floor(n * q - z * sd), u = ceil(n * q + z * sd) + 1;
    if (l < 1)
        l = 1;
    if (u > n)
        u = n;
    *lo = (double)ev_hist_lowest_equivalent(ev_hist_at_rank(h, (uint64_t)l)) / 1e6;
    *hi = (double)ev_hist_at_rank(h, (uint64_t)u) / 1e6;
    return 0;
}

/* Judges a "higher is worse" pair with bounds: regression when NEW's lower
 * bound is above BASE's upper bound by more than the tolerance and the
 * floor; improvement in the mirror case; inconclusive when the point
 * estimates differ by more than both but the intervals overlap. */
static outcome judge_up(const row *w, double tol, double floor_abs)
{
    if (w->nlo > w->bhi * (1 + tol) && w->nlo - w->bhi > floor_abs)
        return O_REGRESSION;
    if (w->nhi < w->blo * (1 - tol) && w->blo - w->nhi > floor_abs)
        return O_IMPROVED;
    double d = w->neu - w->base;
    if (fabs(d) > fabs(w->base) * tol && fabs(d) > floor_abs)
        return O_INCONCLUSIVE;
    return O_SAME;
}

static void cmp_latency(rows *r, const json_t *b, const json_t *n, const ev_cmp_opts *o,
                        ev_hist *hb, ev_hist *hn)
{
    ev_hist *tb = ev_hist_new(), *tn = ev_hist_new(), *tmp = ev_hist_new();
    if (!tb || !tn || !tmp) {
        r->oom = 1;
        goto out;
    }
    static const char *const metrics[] = {"e2e", "e2e_sched", "ack"};
    static const struct {
        const char *name;
        double q;
    } pcts[] = {{"p50", 0.50}, {"p90", 0.90}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}};
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        char path[48];
        snprintf(path, sizeof path, "latency.%s.hist", metrics[m]);
        ev_hist_reset(hb);
        ev_hist_reset(hn);
        int okb = ev_jhist(b, path, hb) == 0 && ev_hist_count(hb);
        int okn = ev_jhist(n, path, hn) == 0 && ev_hist_count(hn);
        if (!okb && !okn)
            continue;
        for (size_t k = 0; k < sizeof pcts / sizeof pcts[0]; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s %s", metrics[m], pcts[k].name);
            row *w = add(r, name, "ms");
            if (!w)
                goto out;
            if (!okb || !okn) {
                if (okb)
                    w->base = (double)ev_hist_percentile(hb, pcts[k].q * 100) / 1e6;
                if (okn)
                    w->neu = (double)ev_hist_percentile(hn, pcts[k].q * 100) / 1e6;
                w->out = O_INFO;
                snprintf(w->note, sizeof w->note, "measured in %s only", okb ? "BASE" : "NEW");
                continue;
            }
            /* Each metric's own per-second histograms; a results file
             * written before e2e_sched had them uses e2e's bursts, judged
             * at e2e's own estimate. */
            const char *per = metrics[m];
            if (!strcmp(per, "e2e_sched") &&
                !json_is_string(
                    ev_jget(json_array_get(ev_jget(b, "timeseries"), 0), "hist.e2e_sched")))
                per = "e2e";
            double db = 1, dn = 1;
            if (strcmp(per, metrics[m])) {
                char ep[48];
                snprintf(ep, sizeof ep, "latency.%s.hist", per);
                ev_hist_reset(tb);
                ev_hist_reset(tn);
                if (!ev_jhist(b, ep, tb) && ev_hist_count(tb))
                    db = design_effect(b, per, pcts[k].q, tb, tmp);
                if (!ev_jhist(n, ep, tn) && ev_hist_count(tn))
                    dn = design_effect(n, per, pcts[k].q, tn, tmp);
            } else {
                db = design_effect(b, per, pcts[k].q, hb, tmp);
                dn = design_effect(n, per, pcts[k].q, hn, tmp);
            }
            int cb = quantile_ci(hb, pcts[k].q, o->z, db, &w->blo, &w->bhi, &w->base);
            int cn = quantile_ci(hn, pcts[k].q, o->z, dn, &w->nlo, &w->nhi, &w->neu);
            if (cb || cn) {
                w->out = O_INCONCLUSIVE;
                double need = ceil(MIN_TAIL / fmin(pcts[k].q, 1 - pcts[k].q));
                if (db > 1.5 || dn > 1.5)
                    snprintf(w->note, sizeof w->note,
                             "too few independent samples (%.0f, %.0f: bursts count as one; "
                             "needs %.0f)",
                             (double)ev_hist_count(hb) / db, (double)ev_hist_count(hn) / dn, need);
                else
                    snprintf(w->note, sizeof w->note, "too few samples (%llu, %llu; needs %.0f)",
                             (unsigned long long)ev_hist_count(hb),
                             (unsigned long long)ev_hist_count(hn), need);
                w->blo = w->bhi = w->nlo = w->nhi = NAN;
                continue;
            }
            w->out = judge_up(w, o->tolerance, o->min_delta_ms);
            if (w->out == O_INCONCLUSIVE)
                snprintf(w->note, sizeof w->note, "beyond the tolerance, within the noise");
        }
        row *w = add(r, metrics[m], "ms");
        if (!w)
            goto out;
        snprintf(w->metric, sizeof w->metric, "%s max", metrics[m]);
        w->base = okb ? (double)ev_hist_max(hb) / 1e6 : (double)NAN;
        w->neu = okn ? (double)ev_hist_max(hn) / 1e6 : (double)NAN;
        w->out = O_INFO;
        snprintf(w->note, sizeof w->note, "one sample: never judged");
    }
out:
    ev_hist_free(tb);
    ev_hist_free(tn);
    ev_hist_free(tmp);
}

/* Poisson bounds on a count k: k ± z·√k (k ≥ 0). */
static void poisson(double k, double z, double *lo, double *hi)
{
    double s = z * sqrt(k);
    *lo = fmax(0, k - s);
    *hi = k + s;
}

static void cmp_throughput(rows *r, const json_t *b, const json_t *n, const ev_cmp_opts *o)
{
    static const struct {
        const char *name, *rate, *count, *secs;
    } t[] = {{"rate achieved", "publish.rate_achieved", "publish.measured", "publish.duration_s"},
             {"throughput", "deliver.throughput", "deliver.delivered", "deliver.settle_s"}};
    for (size_t i = 0; i < 2; i++) {
        if (!json_is_number(ev_jget(b, t[i].rate)) || !json_is_number(ev_jget(n, t[i].rate)))
            continue;
        row *w = add(r, t[i].name, "/s");
        if (!w)
            return;
        w->base = ev_jnum(b, t[i].rate);
        w->neu = ev_jnum(n, t[i].rate);
        double kb = (double)ev_jint(b, t[i].count), kn = (double)ev_jint(n, t[i].count);
        if (kb < MIN_TAIL || kn < MIN_TAIL || !(w->base > 0) || !(w->neu > 0)) {
            w->out = O_INCONCLUSIVE;
            snprintf(w->note, sizeof w->note, "too few events");
            continue;
        }
        /* The rate scales with its count: bounds on the count, as a rate. */
        poisson(kb, o->z, &w->blo, &w->bhi);
        poisson(kn, o->z, &w->nlo, &w->nhi);
        w->blo *= w->base / kb, w->bhi *= w->base / kb;
        w->nlo *= w->neu / kn, w->nhi *= w->neu / kn;
        /* Lower is worse: mirror judge_up. */
        if (w->nhi < w->blo * (1 - o->tolerance))
            w->out = O_REGRESSION;
        else if (w->nlo > w->bhi * (1 + o->tolerance))
            w->out = O_IMPROVED;
        else if (fabs(w->neu - w->base) > w->base * o->tolerance) {
            w->out = O_INCONCLUSIVE;
            snprintf(w->note, sizeof w->note, "beyond the tolerance, within the noise");
        }
    }
}

static void cmp_classes(rows *r, const json_t *b, const json_t *n, const ev_cmp_opts *o)
{
    static const struct {
        const char *name, *path;
        int strict; /* 1: any increase; 0: rate with Poisson bounds; 2: info */
    } c[] = {
        {"lost", "deliver.lost", 1},
        {"pending", "deliver.pending", 1},
        {"unconfirmed", "deliver.unconfirmed", 1},
        {"corrupted", "deliver.corrupted", 1},
        {"late", "deliver.late", 0},
        {"duplicated", "deliver.duplicated", 0},
        {"redelivered", "deliver.redelivered", 0},
        {"reordered", "deliver.reordered", 0},
        {"recovered", "deliver.recovered", 0},
        {"unexpected", "deliver.unexpected", 0},
        {"foreign", "deliver.foreign", 0},
        {"publish_errors", "publish.failed", 0},
        {"delivered", "deliver.delivered", 2},
        {"received", "deliver.received", 2},
        {"attempted", "publish.attempted", 2},
    };
    int verified = !json_is_false(ev_jget(b, "deliver.verified")) &&
                   !json_is_false(ev_jget(n, "deliver.verified"));
    double ab = (double)ev_jint(b, "publish.attempted"),
           an = (double)ev_jint(n, "publish.attempted");
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!verified && !strncmp(c[i].path, "deliver.", 8))
            continue;
        if (!json_is_integer(ev_jget(b, c[i].path)) && !json_is_integer(ev_jget(n, c[i].path)))
            continue;
        row *w = add(r, c[i].name, "events");
        if (!w)
            return;
        double kb = (double)ev_jint(b, c[i].path), kn = (double)ev_jint(n, c[i].path);
        w->base = kb, w->neu = kn;
        if (c[i].strict == 2) {
            w->out = O_INFO;
        } else if (c[i].strict == 1) {
            w->out = kn > kb ? O_REGRESSION : kn < kb ? O_IMPROVED : O_SAME;
            if (kn > kb)
                snprintf(w->note, sizeof w->note, "any increase is a regression");
        } else {
            /* Rates per event attempted, with Poisson bounds on the counts. */
            double blo, bhi, nlo, nhi;
            poisson(kb, o->z, &blo, &bhi);
            poisson(kn, o->z, &nlo, &nhi);
            double sb = ab > 0 ? 1 / ab : 0, sn = an > 0 ? 1 / an : 0;
            if (kn > kb && nlo * sn > bhi * sb * (1 + o->tolerance))
                w->out = O_REGRESSION;
            else if (kn < kb && nhi * sn < blo * sb * (1 - o->tolerance))
                w->out = O_IMPROVED;
            else if (kn != kb && fabs(kn * sn - kb * sb) > kb * sb * o->tolerance)
                w->out = O_INCONCLUSIVE;
            else
                w->out = O_SAME;
            if (w->out == O_INCONCLUSIVE)
                snprintf(w->note, sizeof w->note, "per event attempted: within the noise");
        }
    }
}

static void cmp_thresholds(rows *r, const json_t *b, const json_t *n)
{
    size_t i;
    const json_t *t;
    json_array_foreach (ev_jget(n, "thresholds"), i, t) {
        char name[64];
        snprintf(name, sizeof name, "threshold %s %s", ev_jstr(t, "metric"), ev_jstr(t, "expr"));
        const json_t *bt = NULL, *x;
        size_t k;
        json_array_foreach (ev_jget(b, "thresholds"), k, x)
            if (!strcmp(ev_jstr(x, "metric"), ev_jstr(t, "metric")) &&
                !strcmp(ev_jstr(x, "expr"), ev_jstr(t, "expr")))
                bt = x;
        row *w = add(r, name, "");
        if (!w)
            return;
        const json_t *bv = ev_jget(bt, "value"), *nv = ev_jget(t, "value");
        if (json_is_number(bv))
            w->base = json_number_value(bv);
        if (json_is_number(nv))
            w->neu = json_number_value(nv);
        int bp = bt ? json_is_true(ev_jget(bt, "pass")) : 1, np = json_is_true(ev_jget(t, "pass"));
        w->out = bp && !np ? O_REGRESSION : !bp && np ? O_IMPROVED : O_SAME;
        snprintf(w->note, sizeof w->note, "%s → %s", bt ? (bp ? "held" : "failed") : "absent",
                 np ? "held" : "failed");
    }
    int bc = !json_is_false(ev_jget(b, "run.completed")),
        nc = !json_is_false(ev_jget(n, "run.completed"));
    if (!bc || !nc) {
        row *w = add(r, "run completed", "");
        if (!w)
            return;
        w->base = bc, w->neu = nc;
        w->out = bc && !nc ? O_REGRESSION : O_INCONCLUSIVE;
        snprintf(w->note, sizeof w->note, "%s",
                 nc ? "BASE ended early" : ev_jstr(n, "run.end_reason"));
    }
}

/* ---- output ----------------------------------------------------------- */

static void fmt(double v, char *b, size_t size)
{
    if (isnan(v))
        snprintf(b, size, "–");
    else if (fabs(v) < 1e15 && v == floor(v))
        snprintf(b, size, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(b, size, "%.1f", v);
    else if (fabs(v) >= 1)
        snprintf(b, size, "%.2f", v);
    else
        snprintf(b, size, "%.3g", v);
}

static void cell(const row *w, int which, char *b, size_t size)
{
    double v = which ? w->neu : w->base, lo = which ? w->nlo : w->blo, hi = which ? w->nhi : w->bhi;
    char a[40], l[40], h[40];
    fmt(v, a, sizeof a);
    if (isnan(lo)) {
        snprintf(b, size, "%s", a);
        return;
    }
    fmt(lo, l, sizeof l);
    fmt(hi, h, sizeof h);
    snprintf(b, size, "%s [%s, %s]", a, l, h);
}

static void change(const row *w, char *b, size_t size)
{
    if (isnan(w->base) || isnan(w->neu))
        snprintf(b, size, "–");
    else if (w->base == w->neu)
        snprintf(b, size, "0");
    else if (w->base != 0)
        snprintf(b, size, "%+.1f%%", (w->neu - w->base) / fabs(w->base) * 100);
    else {
        char d[24];
        fmt(w->neu - w->base, d, sizeof d);
        snprintf(b, size, "%s%s", w->neu > w->base ? "+" : "", d);
    }
}

static json_t *jnum_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

int ev_compare(const json_t *b, const json_t *n, const char *bname, const char *nname,
               const ev_cmp_opts *o, FILE *f, ev_err *err)
{
    for (int i = 0; i < 2; i++) {
        const json_t *d = i ? n : b;
        if (json_is_array(ev_jget(d, "runs")))
            return ev_err_set(err, EV_EUSAGE,
                              "%s is a sweep document: compare its runs one by one (e.g. jq "
                              "'.runs[0]' %s > run0.json)",
                              i ? nname : bname, i ? nname : bname);
        if (!json_is_object(ev_jget(d, "run")) || !json_is_object(ev_jget(d, "latency")))
            return ev_err_set(err, EV_EUSAGE, "%s is not an evload results file",
                              i ? nname : bname);
    }
    rows R = {0};
    ev_hist *hb = ev_hist_new(), *hn = ev_hist_new();
    int rc = EV_OK;
    if (!hb || !hn) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    cmp_latency(&R, b, n, o, hb, hn);
    cmp_throughput(&R, b, n, o);
    cmp_classes(&R, b, n, o);
    cmp_thresholds(&R, b, n);
    if (R.oom) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    size_t nreg = 0, ninc = 0, nimp = 0;
    for (size_t i = 0; i < R.n; i++) {
        nreg += R.v[i].out == O_REGRESSION;
        ninc += R.v[i].out == O_INCONCLUSIVE;
        nimp += R.v[i].out == O_IMPROVED;
    }
    const char *verdict = nreg ? "regression" : "pass";
    char tol[32], flo[32], conf[32];
    snprintf(tol, sizeof tol, "%g%%", o->tolerance * 100);
    snprintf(flo, sizeof flo, "%g ms", o->min_delta_ms);
    snprintf(conf, sizeof conf, "%g%%", o->confidence * 100);
    if (o->format == EV_CMP_JSON) {
        json_t *doc = json_pack("{s:i, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:f, s:f, s:f}}",
                                "schema", 1, "base", "file", bname, "run_id", ev_jstr(b, "run.id"),
                                "scenario", ev_jstr(b, "run.scenario"), "new", "file", nname,
                                "run_id", ev_jstr(n, "run.id"), "scenario",
                                ev_jstr(n, "run.scenario"), "rule", "tolerance", o->tolerance,
                                "min_delta_ms", o->min_delta_ms, "confidence", o->confidence);
        json_t *arr = json_array();
        for (size_t i = 0; doc && arr && i < R.n; i++) {
            const row *w = &R.v[i];
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "metric",
                               w->metric, "unit", w->unit, "base", jnum_or_null(w->base), "new",
                               jnum_or_null(w->neu), "base_lo", jnum_or_null(w->blo), "base_hi",
                               jnum_or_null(w->bhi), "new_lo", jnum_or_null(w->nlo), "new_hi",
                               jnum_or_null(w->nhi), "outcome", ONAME[w->out], "note", w->note));
        }
        if (!doc || !arr) {
            json_decref(doc);
            json_decref(arr);
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto out;
        }
        json_object_set_new(doc, "rows", arr);
        json_object_set_new(doc, "regressions", json_integer((json_int_t)nreg));
        json_object_set_new(doc, "inconclusive", json_integer((json_int_t)ninc));
        json_object_set_new(doc, "improved", json_integer((json_int_t)nimp));
        json_object_set_new(doc, "verdict", json_string(verdict));
        json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        fputc('\n', f);
        json_decref(doc);
    } else {
        int md = o->format == EV_CMP_MD;
        fprintf(f, md ? "### evload compare: %s\n\n" : "evload compare: %s\n", verdict);
        fprintf(f,
                md ? "- base: `%s` (run %s, %s)\n- new: `%s` (run %s, %s)\n"
                   : "  base  %s (run %s, %s)\n  new   %s (run %s, %s)\n",
                bname, ev_jstr(b, "run.id"), ev_jstr(b, "verdict"), nname, ev_jstr(n, "run.id"),
                ev_jstr(n, "verdict"));
        fprintf(f,
                md ? "- rule: tolerance %s, noise floor %s, confidence %s (docs/reports.md)\n\n"
                   : "  rule  tolerance %s, noise floor %s, confidence %s (docs/reports.md)\n\n",
                tol, flo, conf);
        if (md)
            fputs("| metric | base [interval] | new [interval] | change | outcome | note |\n"
                  "| --- | ---: | ---: | ---: | --- | --- |\n",
                  f);
        else
            fprintf(f, "  %-30s %-26s %-26s %9s  %-12s %s\n", "metric", "base [interval]",
                    "new [interval]", "change", "outcome", "note");
        for (size_t i = 0; i < R.n; i++) {
            const row *w = &R.v[i];
            char bc[128], nc[128], ch[64], name[96];
            cell(w, 0, bc, sizeof bc);
            cell(w, 1, nc, sizeof nc);
            change(w, ch, sizeof ch);
            snprintf(name, sizeof name, "%s%s%s", w->metric, w->unit[0] ? " " : "", w->unit);
            const char *oc = w->out == O_REGRESSION ? "REGRESSION" : ONAME[w->out];
            if (md)
                fprintf(f, "| %s | %s | %s | %s | %s%s%s | %s |\n", name, bc, nc, ch,
                        w->out == O_REGRESSION ? "**" : "", oc, w->out == O_REGRESSION ? "**" : "",
                        w->note);
            else
                fprintf(f, "  %-30s %-26s %-26s %9s  %-12s %s\n", name, bc, nc, ch, oc, w->note);
        }
        fprintf(f,
                md ? "\n**%s**: %zu regression%s, %zu inconclusive, %zu improved\n"
                   : "\n%s: %zu regression%s, %zu inconclusive, %zu improved\n",
                nreg ? "REGRESSION" : "PASS", nreg, nreg == 1 ? "" : "s", ninc, nimp);
    }
    rc = nreg ? 1 : 0;
    if (ferror(f))
        rc = ev_err_set(err, EV_EINTERNAL, "write error");
out:
    free(R.v);
    ev_hist_free(hb);
    ev_hist_free(hn);
    return rc;
}

/* "10%", "10" (percent) or "0.1" (below 1: a fraction) → 0.10. */
static int parse_pct(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v < 0 || isnan(v))
        return -1;
    if (*end == '%' && !end[1])
        v /= 100;
    else if (*end)
        return -1;
    else if (v >= 1)
        v /= 100;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: evload compare BASE.json NEW.json [--max-regression 10%%] [--min-delta 1ms]\n"
            "                      [--confidence 99%%] [--format text|md|json]\n"
            "\n"
            "Per-metric deltas between two runs' results (latency percentiles with confidence\n"
            "intervals from the histograms' counts, throughput, every delivery class,\n"
            "thresholds) and a verdict that respects noise: a percentile regresses only when\n"
            "NEW's lower bound exceeds BASE's upper bound by more than the tolerance and the\n"
            "noise floor; too few samples is \"inconclusive\"; any increase in lost, pending,\n"
            "unconfirmed or corrupted is a regression (docs/reports.md).\n"
            "\n"
            "  -r, --max-regression PCT  tolerance (default 10%%)\n"
            "      --min-delta DURATION  latency changes smaller than this never regress\n"
            "                            (default 1ms: timer and scheduler noise)\n"
            "      --confidence PCT      of the intervals (default 99%%)\n"
            "  -f, --format FMT          text (default), md (a Markdown table for a PR\n"
            "                            comment) or json\n"
            "\n"
            "Exit 0 no regression, 1 a regression, 2 usage.\n");
}

int ev_compare_main(int argc, char **argv)
{
    enum { O_MIN = 256, O_CONF };
    static const struct option opts[] = {{"max-regression", required_argument, NULL, 'r'},
                                         {"min-delta", required_argument, NULL, O_MIN},
                                         {"confidence", required_argument, NULL, O_CONF},
                                         {"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    ev_cmp_opts o = {.tolerance = 0.10, .min_delta_ms = 1.0, .confidence = 0.99};
    int c;
    ev_err err = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (parse_pct(optarg, &o.tolerance)) {
                fprintf(stderr, "evload: --max-regression %s: expected a percentage, e.g. 10%%\n",
                        optarg);
                return EV_EUSAGE;
            }
            break;
        case O_MIN: {
            int64_t ns;
            if (ev_parse_duration(optarg, &ns, &err)) {
                fprintf(stderr, "evload: --min-delta: %s\n", err.msg);
                return EV_EUSAGE;
            }
            o.min_delta_ms = (double)ns / 1e6;
            break;
        }
        case O_CONF:
            if (parse_pct(optarg, &o.confidence) || o.confidence < 0.5 || o.confidence >= 1) {
                fprintf(stderr, "evload: --confidence %s: expected 50%%..99.99%%\n", optarg);
                return EV_EUSAGE;
            }
            break;
        case 'f':
            if (!strcmp(optarg, "text"))
                o.format = EV_CMP_TEXT;
            else if (!strcmp(optarg, "md") || !strcmp(optarg, "markdown"))
                o.format = EV_CMP_MD;
            else if (!strcmp(optarg, "json"))
                o.format = EV_CMP_JSON;
            else {
                fprintf(stderr, "evload: --format %s: expected text, md or json\n", optarg);
                return EV_EUSAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "evload: see `evload compare --help`\n");
            return EV_EUSAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "evload: compare needs two results files, e.g. `evload compare base.json "
                        "new.json`\n");
        return EV_EUSAGE;
    }
    /* z for a two-sided interval: inverse normal CDF by bisection on erfc. */
    double lo = 0, hi = 10, tail = (1 - o.confidence) / 2;
    for (int i = 0; i < 100; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(mid / sqrt(2)) > tail)
            lo = mid;
        else
            hi = mid;
    }
    o.z = (lo + hi) / 2;
    json_t *d[2] = {NULL, NULL};
    int rc = EV_OK;
    for (int i = 0; i < 2 && !rc; i++) {
        json_error_t je;
        if (!(d[i] = json_load_file(argv[optind + i], 0, &je))) {
            fprintf(stderr, "evload: compare: %s: %s (line %d)\n", argv[optind + i], je.text,
                    je.line);
            rc = EV_EUSAGE;
        }
    }
    if (!rc) {
        rc = ev_compare(d[0], d[1], argv[optind], argv[optind + 1], &o, stdout, &err);
        if (rc > 1)
            fprintf(stderr, "evload: compare: %s\n", err.msg);
    }
    json_decref(d[0]);
    json_decref(d[1]);
    return rc;
}
