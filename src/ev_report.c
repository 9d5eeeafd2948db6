/* ev_report — summary, thresholds and results JSON. The summary is for a
 * person reading it at a glance: the verdict and the loss line first in
 * their section, numbers with thousands separators, latencies in ms. The JSON
 * keys are a stable contract (docs/results.md); add keys, never rename. */
#include "ev_report.h"

#include "ev_clock.h"
#include "ev_data.h"
#include "ev_faults.h"
#include "ev_recovery.h"
#include "ev_metrics.h"
#include "ev_text.h"
#include "ev_tseries.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ev_results_free(ev_results *r)
{
    if (!r)
        return;
    free(r->groups);
    for (size_t i = 0; r->outputs && i < r->noutputs; i++) {
        ev_hist_free(r->outputs[i].e2e);
        ev_hist_free(r->outputs[i].e2e_sched);
    }
    free(r->outputs);
    for (size_t i = 0; i < r->nstreams; i++)
        for (int m = 0; m < EV_METRIC_COUNT; m++)
            ev_hist_free(r->streams[i].lat[m]);
    free(r->streams);
    for (int m = 0; m < EV_METRIC_COUNT; m++)
        ev_hist_free(r->lat[m]);
    json_decref(r->broker);
    json_decref(r->bp_broker);
    json_decref(r->faults);
    json_decref(r->recovery);
    json_decref(r->proxy);
    for (size_t i = 0; i < r->nts; i++) {
        json_decref(r->ts[i].broker);
        free(r->ts[i].hist_e2e);
        free(r->ts[i].hist_ack);
        free(r->ts[i].hist_e2e_sched);
    }
    free(r->ts);
    ev_tseries_free(r->tseries);
    for (size_t i = 0; i < r->nstages; i++) {
        ev_hist_free(r->stages[i].e2e);
        ev_hist_free(r->stages[i].ack);
    }
    free(r->stages);
    free(r->thr_value);
    free(r->thr_pass);
    ev_drift_free(&r->drift);
    memset(r, 0, sizeof *r);
}

/* ---- thresholds ------------------------------------------------------- */

/* The value of counter metric m (ev_metrics.h names the field it reads). */
static double counter_value(const ev_results *r, int m)
{
    switch (m) {
#define EV_CNT_(name, side, field, help)                                                           \
    case EV_METRIC_##name:                                                                         \
        return (double)r->field;
        EV_COUNTER_METRICS(EV_CNT_)
#undef EV_CNT_
    }
    return NAN;
}

/* t's value over r's counters and the latencies lat (r's own, or a part's). */
static double threshold_value(const ev_results *r, ev_hist *const *lat, const ev_threshold *t)
{
    if (t->latency) /* NULL, e.g. queue_wait/processing: not measured by this broker */
        return ev_threshold_hist_value(t, lat[t->id]);
    double v = counter_value(r, t->id);
    if (t->agg == EV_AGG_RATE)
        return r->attempted ? v / (double)r->attempted : 0.0;
    return v;
}

/* t's value over the part of the run its tag selects (ev_threshold.h): a
 * stream's or an output's counters and latencies, or the phases named so
 * (their e2e and ack, merged). NAN when that part measured nothing. */
static double scoped_value(const ev_results *r, const ev_threshold *t)
{
    if (t->drift)
        return ev_drift_value(&r->drift, t->drift - 1);
    if (t->id == EV_METRIC_recovery)
        return ev_recovery_value(r, t->tag == EV_TAG_STAGE ? t->tag_value : NULL, (int)t->agg);
    if (t->tag == EV_TAG_NONE)
        return threshold_value(r, r->lat, t);
    ev_results v = *r; /* shallow: the part's counters stand in for the run's */
    ev_hist *lat[EV_METRIC_COUNT] = {0};
    if (t->tag == EV_TAG_STREAM) {
        for (size_t i = 0; i < r->nstreams; i++) {
            const ev_stream_result *sr = &r->streams[i];
            if (strcmp(sr->def->name, t->tag_value))
                continue;
            v.total = sr->c;
            v.failed = sr->failed;
            v.attempted = sr->attempted;
            return threshold_value(&v, sr->lat, t);
        }
        return NAN;
    }
    if (t->tag == EV_TAG_OUTPUT) {
        for (size_t i = 0; i < r->noutputs; i++) {
            const ev_output_result *o = &r->outputs[i];
            if (strcmp(o->def->name, t->tag_value))
                continue;
            v.total = o->c;
            lat[EV_METRIC_e2e] = o->e2e;
            lat[EV_METRIC_e2e_sched] = o->e2e_sched;
            return threshold_value(&v, lat, t);
        }
        return NAN;
    }
    /* A stage: every phase of that name (e2e and ack). */
    double val = NAN;
    ev_hist *e2e = ev_hist_new(), *ack = ev_hist_new();
    int found = 0;
    for (size_t i = 0; e2e && ack && i < r->nstages; i++)
        if (!strcmp(r->stages[i].name, t->tag_value)) {
            ev_hist_merge(e2e, r->stages[i].e2e);
            ev_hist_merge(ack, r->stages[i].ack);
            found = 1;
        }
    if (found) {
        lat[EV_METRIC_e2e] = e2e;
        lat[EV_METRIC_ack] = ack;
        val = threshold_value(&v, lat, t);
    }
    ev_hist_free(e2e);
    ev_hist_free(ack);
    return val;
}

/* Point i's e2e histogram for the drift (ud: the results), NULL for a
 * publish-only run or a point that cannot be read (ev_tseries_error). */
static const char *drift_hist(void *ud, size_t i)
{
    const ev_results *r = ud;
    const ev_tpoint *tp = r->ngroups > 0 ? ev_tseries_point(r, i) : NULL;
    return tp ? tp->hist_e2e : NULL;
}

/* The soak trend from the timeseries (ev_drift.h): what each per-second
 * point says about throughput, e2e and memory. The histograms are read one
 * point at a time (drift_hist), not held together. */
static int drift_compute(ev_results *r)
{
    ev_drift_free(&r->drift);
    ev_drift_in *in = calloc(r->nts + 1, sizeof *in);
    if (!in)
        return -1;
    int verified = r->ngroups > 0;
    for (size_t i = 0; i < r->nts; i++) {
        const ev_tpoint *tp = &r->ts[i], *whole = ev_tseries_point(r, i);
        json_t *mem = whole && whole->broker ? json_object_get(whole->broker, "memory") : NULL;
        in[i] = (ev_drift_in){
            .t = tp->t,
            /* Every phase but these is a stage of the schedule (named ones too). */
            .publishing = strcmp(tp->phase, "warmup") && strcmp(tp->phase, "drain") &&
                          strcmp(tp->phase, "sweep") && strcmp(tp->phase, "end"),
            .count = verified ? (double)tp->received / (double)r->ngroups : (double)tp->acked,
            .rss_bytes = tp->rss_bytes > 0 ? tp->rss_bytes : -1,
            .broker_memory = json_is_number(mem) ? json_number_value(mem) : -1.0,
        };
    }
    int64_t iv = r->plan->drift_interval_ns > 0 ? r->plan->drift_interval_ns : 60 * EV_NS_PER_S;
    int rc = ev_drift_compute_fn(in, r->nts, iv, drift_hist, r, &r->drift);
    free(in);
    return rc;
}

int ev_report_evaluate(ev_results *r, ev_err *err)
{
    size_t n = r->plan->nthresholds;
    r->pass = 1;
    if (drift_compute(r))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = ev_recovery_stages(r, err);
    if (!rc) /* a point of the timeseries that could not be read back */
        rc = ev_tseries_error(r, err);
    if (rc)
        return rc;
    if (!n)
        return EV_OK;
    free(r->thr_value); /* evaluating again (a re-judged run) starts over */
    free(r->thr_pass);
    r->thr_value = calloc(n, sizeof *r->thr_value);
    r->thr_pass = calloc(n, sizeof *r->thr_pass);
    if (!r->thr_value || !r->thr_pass)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ev_threshold *t = &r->plan->thresholds[i];
        double v = scoped_value(r, t);
        r->thr_value[i] = v;
        /* A latency threshold with nothing measured cannot be said to hold;
         * a boundary that never recovered fails recovery whatever the bound. */
        r->thr_pass[i] = !isnan(v) && !isinf(v) && ev_threshold_holds(t, v);
        if (!r->thr_pass[i])
            r->pass = 0;
    }
    return EV_OK;
}

/* ---- text ------------------------------------------------------------- */

/* 1234567 → "1,234,567". */
static const char *grouped(uint64_t v, char *buf, size_t size)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static void fmt_ms(double ms, char *buf, size_t size)
{
    if (isnan(ms))
        snprintf(buf, size, "-");
    else if (ms >= 1000.0)
        snprintf(buf, size, "%.0f", ms);
    else if (ms >= 100.0)
        snprintf(buf, size, "%.1f", ms);
    else if (ms >= 1.0)
        snprintf(buf, size, "%.2f", ms);
    else
        snprintf(buf, size, "%.3f", ms);
}

/* For runs planned at EV_STATUS_LONG_S or longer the status line ends with
 * the time left and the wall-clock time (UTC) the schedule ends. */
#define EV_STATUS_LONG_S 600.0

/* "1h02m03s" (whole seconds). */
static void hms(double s, char *buf, size_t size)
{
    long v = s > 0 ? (long)(s + 0.5) : 0;
    if (v >= 3600)
        snprintf(buf, size, "%ldh%02ldm%02lds", v / 3600, v / 60 % 60, v % 60);
    else
        snprintf(buf, size, "%ldm%02lds", v / 60, v % 60);
}

static void status_left(const ev_tpoint *tp, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!(tp->planned_s >= EV_STATUS_LONG_S) || tp->remaining_s < 0)
        return;
    char el[32], left[32], at[16] = "";
    hms(tp->t, el, sizeof el);
    hms(tp->remaining_s, left, sizeof left);
    time_t end = time(NULL) + (time_t)(tp->remaining_s + 0.5);
    struct tm tm;
    if (gmtime_r(&end, &tm))
        strftime(at, sizeof at, "%H:%M:%SZ", &tm);
    snprintf(buf, size, "  elapsed %s  left %s  ends %s", el, left, at);
}

void ev_report_status(const ev_tpoint *tp, double progress, int verified, char *buf, size_t size)
{
    char bar[24], sent[32], recv[32], lost[32], p99[16], depth[40], rate[48], left[112];
    status_left(tp, left, sizeof left);
    if (progress >= 0) {
        if (progress > 1)
            progress = 1;
        int fill = (int)(progress * 10.0 + 0.5);
        bar[0] = '[';
        for (int i = 0; i < 10; i++)
            bar[1 + i] = i < fill ? '#' : '.';
        snprintf(bar + 11, sizeof bar - 11, "]%3d%%", (int)(progress * 100.0 + 0.5) % 1000);
    } else {
        bar[0] = '\0';
    }
    fmt_ms(tp->e2e_p99_ms, p99, sizeof p99);
    if (tp->depth >= 0)
        snprintf(depth, sizeof depth, "  depth %lld", (long long)tp->depth);
    else
        depth[0] = '\0';
    if (tp->rate_target > 0)
        snprintf(rate, sizeof rate, "%.0f/%.0f/s", tp->rate_achieved, tp->rate_target);
    else
        snprintf(rate, sizeof rate, "%.0f/s", tp->rate_achieved);
    if (!verified) /* publish only: nothing received to count, no e2e */
        snprintf(buf, size,
                 "%-9s %s %6.1fs  rate %s  sent %s  acked %s  in-flight %lld%s  (publish only)%s",
                 tp->phase, bar, tp->t, rate, grouped(tp->sent, sent, sizeof sent),
                 grouped(tp->acked, recv, sizeof recv), (long long)tp->in_flight, depth, left);
    else
        snprintf(buf, size,
                 "%-9s %s %6.1fs  rate %s  sent %s  recv %s  lost %s  in-flight %lld%s  p99 %s "
                 "ms%s",
                 tp->phase, bar, tp->t, rate, grouped(tp->sent, sent, sizeof sent),
                 grouped(tp->received, recv, sizeof recv), grouped(tp->lost, lost, sizeof lost),
                 (long long)tp->in_flight, depth, p99, left);
}

static void latency_row(FILE *f, const char *name, const ev_hist *h)
{
    static const double ps[] = {50, 90, 95, 99, 99.9, 99.99};
    char cell[24], cnt[32];
    fprintf(f, "  %-11s", name);
    if (!ev_hist_count(h)) {
        fprintf(f, " (none measured)\n");
        return;
    }
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        fmt_ms((double)ev_hist_percentile(h, ps[i]) / 1e6, cell, sizeof cell);
        fprintf(f, " %9s", cell);
    }
    fmt_ms((double)ev_hist_max(h) / 1e6, cell, sizeof cell);
    fprintf(f, " %9s", cell);
    fmt_ms(ev_hist_mean(h) / 1e6, cell, sizeof cell);
    fprintf(f, " %9s", cell);
    fprintf(f, " %11s", grouped(ev_hist_count(h), cnt, sizeof cnt));
    if (ev_hist_out_of_range(h))
        fprintf(f, "  (+%llu out of range)", (unsigned long long)ev_hist_out_of_range(h));
    fputc('\n', f);
}

/* The delivery table's columns: received, delivered and lost always; the
 * others when some row has one. */
static const struct col {
    const char *head;
    size_t off;
    int always;
} cols[] = {
    {"received", offsetof(ev_ledger_counts, received), 1},
    {"delivered", offsetof(ev_ledger_counts, delivered), 1},
    {"late", offsetof(ev_ledger_counts, late), 0},
    {"pending", offsetof(ev_ledger_counts, pending), 0},
    {"lost", offsetof(ev_ledger_counts, lost), 1},
    {"dup", offsetof(ev_ledger_counts, duplicated), 0},
    {"redeliv", offsetof(ev_ledger_counts, redelivered), 0},
    {"unconf", offsetof(ev_ledger_counts, unconfirmed), 0},
    {"recov", offsetof(ev_ledger_counts, recovered), 0},
    {"reord", offsetof(ev_ledger_counts, reordered), 0},
    {"corrupt", offsetof(ev_ledger_counts, corrupted), 0},
    {"foreign", offsetof(ev_ledger_counts, foreign), 0},
    {"unexp", offsetof(ev_ledger_counts, unexpected), 0},
};
#define NCOLS (sizeof cols / sizeof cols[0])

static uint64_t col_value(const ev_ledger_counts *c, size_t i)
{
    uint64_t v;
    memcpy(&v, (const char *)c + cols[i].off, sizeof v);
    return v;
}

static void counts_row(FILE *f, int width, const char *name, const ev_ledger_counts *c,
                       const int *show)
{
    char b[32];
    fprintf(f, "  %-*s", width, name);
    for (size_t i = 0; i < NCOLS; i++)
        if (show[i])
            fprintf(f, " %*s", i < 2 ? 11 : 8, grouped(col_value(c, i), b, sizeof b));
    fputc('\n', f);
}

static const char *expect_text(const ev_output *d, char *buf, size_t size)
{
    if (d->expect == EV_EXPECT_NONE)
        snprintf(buf, size, "expect none");
    else if (d->expect == EV_EXPECT_TYPE)
        snprintf(buf, size, "expect type %s", d->expect_type);
    else if (d->copies > 1)
        snprintf(buf, size, "expect %lld copies", (long long)d->copies);
    else
        snprintf(buf, size, "expect all");
    return buf;
}

static const char *match_text(const ev_output *d, char *buf, size_t size)
{
    static const char *const names[] = {"envelope", "header:", "json:", "traceparent"};
    snprintf(buf, size, "%s%s", names[d->match], d->match_arg ? d->match_arg : "");
    return buf;
}

/* An output with more groups than this (SSE or WebSocket subscribers by the
 * hundred) shows only the groups with an anomaly, at most ANOMALY_ROWS of
 * them, and the spread of delivered over every group; the results JSON
 * keeps every group. */
#define GROUP_ROWS_MAX 16
#define ANOMALY_ROWS 10

/* Anything but received and delivered (the first two columns). */
static int group_anomalous(const ev_ledger_counts *c)
{
    for (size_t i = 2; i < NCOLS; i++)
        if (col_value(c, i))
            return 1;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void groups_compact(FILE *f, const ev_results *r, const ev_output_result *o, int width,
                           const int *show)
{
    uint32_t anomalous = 0, shown = 0;
    for (uint32_t g = 0; g < o->ngroups; g++) {
        const ev_group_result *gr = &r->groups[o->group0 + g];
        if (!group_anomalous(&gr->c))
            continue;
        anomalous++;
        if (shown < ANOMALY_ROWS) {
            counts_row(f, width, gr->name, &gr->c, show);
            shown++;
        }
    }
    char a[32], b[32], c[32], e[32];
    if (anomalous > shown)
        fprintf(f, "  ... %s more groups with anomalies (the results JSON lists every group)\n",
                grouped(anomalous - shown, a, sizeof a));
    uint64_t *d = malloc(o->ngroups * sizeof *d);
    if (d) {
        for (uint32_t g = 0; g < o->ngroups; g++)
            d[g] = r->groups[o->group0 + g].c.delivered;
        qsort(d, o->ngroups, sizeof *d, cmp_u64);
        fprintf(f, "  %s of %u groups clean; delivered per group: min %s  median %s  max %s\n",
                grouped(o->ngroups - anomalous, a, sizeof a), o->ngroups,
                grouped(d[0], b, sizeof b), grouped(d[o->ngroups / 2], c, sizeof c),
                grouped(d[o->ngroups - 1], e, sizeof e));
        free(d);
    }
}

/* One output: where, how, its groups' rows and the headline in words. */
static void output_block(FILE *f, const ev_results *r, const ev_output_result *o, int width,
                         const int *show, int named)
{
    char e[96], m[96], a[32], b[32];
    if (named || r->noutputs > 1 || o->def->source)
        fprintf(f, "  output %s%s%s  (%s, match %s%s)\n", o->def->name[0] ? o->def->name : "",
                o->def->name[0] ? " at " : "at ", o->source, expect_text(o->def, e, sizeof e),
                match_text(o->def, m, sizeof m),
                o->integrity ? "" : "; integrity not checked: the service transforms events");
    if (o->ngroups > GROUP_ROWS_MAX)
        groups_compact(f, r, o, width, show);
    else
        for (uint32_t g = 0; g < o->ngroups; g++)
            counts_row(f, width, r->groups[o->group0 + g].name, &r->groups[o->group0 + g].c, show);
    if (o->ngroups > 1)
        counts_row(f, width, "total", &o->c, show);
    const ev_ledger_counts *c = &o->c;
    uint64_t owed = c->delivered + c->late + c->pending + c->lost;
    if (o->def->expect == EV_EXPECT_NONE || owed == 0) {
        if (c->unexpected)
            fprintf(f, "  UNEXPECTED %s events arrived where none should\n",
                    grouped(c->unexpected, a, sizeof a));
        else if (o->def->expect == EV_EXPECT_NONE)
            fprintf(f, "  nothing arrived, as expected\n");
    } else if (c->lost == 0 && c->pending == 0 && c->late == 0) {
        fprintf(f, "  nothing lost: every one of %s expected deliveries was seen\n",
                grouped(owed, a, sizeof a));
    } else {
        if (c->lost)
            fprintf(f, "  LOST %s of %s expected deliveries (%.3f%%)\n",
                    grouped(c->lost, a, sizeof a), grouped(owed, b, sizeof b),
                    100.0 * (double)c->lost / (double)owed);
        else
            fprintf(f, "  nothing lost\n");
        if (c->pending)
            fprintf(f, "  PENDING %s: not seen, but still in the system (%s)\n",
                    grouped(c->pending, a, sizeof a),
                    o->holds_at_end > 0   ? "the source still held some at the end"
                    : o->holds_at_end < 0 ? "the source could not say what it held"
                    : o->hops_at_end < 0  ? "a watched hop could not say what it held"
                                          : "a watched hop (verify.observe) still held some");
        if (c->late)
            fprintf(f, "  LATE %s: found only by the final sweep, after the drain deadline\n",
                    grouped(c->late, a, sizeof a));
        if (c->unexpected)
            fprintf(f, "  UNEXPECTED %s arrivals of events this output does not expect\n",
                    grouped(c->unexpected, a, sizeof a));
    }
}

static void delivery_section(FILE *f, const ev_results *r)
{
    if (r->noutputs == 0) {
        fprintf(f, "\ndelivery  not verified: verify.groups is 0 (publish only)\n");
        return;
    }
    int width = 8, show[NCOLS];
    for (size_t g = 0; g < r->ngroups; g++)
        if ((int)strlen(r->groups[g].name) > width)
            width = (int)strlen(r->groups[g].name);
    for (size_t i = 0; i < NCOLS; i++)
        show[i] = cols[i].always || col_value(&r->total, i) != 0;
    fprintf(f, "\n%-*s", width + 2, "delivery");
    for (size_t i = 0; i < NCOLS; i++)
        if (show[i])
            fprintf(f, " %*s", i < 2 ? 11 : 8, cols[i].head);
    fputc('\n', f);
    for (size_t i = 0; i < r->noutputs; i++)
        output_block(f, r, &r->outputs[i], width, show, r->plan->outputs_explicit);
    if (r->swept)
        fprintf(f, "  final sweep: read the durable sources for %.1f s after the drain deadline\n",
                r->sweep_s);
    if (r->missing_first[0])
        fprintf(f, "  not seen: %s%s\n", r->missing_first,
                r->total.lost + r->total.pending > 5 ? ", ... (--missing FILE lists them all)"
                                                     : "");
}

/* Per stream: rates, the classes (the delivery table's columns) and e2e. */
static void streams_section(FILE *f, const ev_results *r)
{
    if (!r->nstreams)
        return;
    int width = 8, show[NCOLS];
    for (size_t i = 0; i < r->nstreams; i++)
        if ((int)strlen(r->streams[i].def->name) > width)
            width = (int)strlen(r->streams[i].def->name);
    for (size_t i = 0; i < NCOLS; i++)
        show[i] = r->ngroups && (cols[i].always || col_value(&r->total, i) != 0);
    /* received: the delivery table has it; foreign and unexpected belong to
     * no stream (ev_ledger_reconcile_lanes). */
    for (size_t i = 0; i < NCOLS; i++)
        if (!strcmp(cols[i].head, "received") || !strcmp(cols[i].head, "foreign") ||
            !strcmp(cols[i].head, "unexp"))
            show[i] = 0;
    fprintf(f, "\n%-*s %9s %9s %11s", width + 2, "streams", "target/s", "rate/s", "attempted");
    for (size_t i = 0; i < NCOLS; i++)
        if (show[i])
            fprintf(f, " %*s", i < 2 ? 11 : 8, cols[i].head);
    fprintf(f, "%s\n", r->ngroups ? "   e2e p50     p99" : "     ack p99");
    for (size_t k = 0; k < r->nstreams; k++) {
        const ev_stream_result *sr = &r->streams[k];
        char a[32], b[32], c[32], d[16], e[16];
        snprintf(a, sizeof a, "%.1f", sr->rate_target);
        snprintf(b, sizeof b, "%.1f", sr->rate_achieved);
        fprintf(f, "  %-*s %9s %9s %11s", width, sr->def->name, sr->rate_target > 0 ? a : "max", b,
                grouped(sr->attempted, c, sizeof c));
        for (size_t i = 0; i < NCOLS; i++)
            if (show[i])
                fprintf(f, " %*s", i < 2 ? 11 : 8, grouped(col_value(&sr->c, i), c, sizeof c));
        const ev_hist *h = sr->lat[r->ngroups ? EV_METRIC_e2e : EV_METRIC_ack];
        fmt_ms(ev_hist_count(h) ? (double)ev_hist_percentile(h, 50) / 1e6 : (double)NAN, d,
               sizeof d);
        fmt_ms(ev_hist_count(h) ? (double)ev_hist_percentile(h, 99) / 1e6 : (double)NAN, e,
               sizeof e);
        if (r->ngroups)
            fprintf(f, " %9s %7s\n", d, e);
        else
            fprintf(f, " %11s\n", e);
    }
    if (r->total.pending)
        fprintf(f, "  (per stream, pending may add up to more than the run's: what the system "
                   "still holds may be any stream's)\n");
}

/* The soak trend, once there are 3 complete intervals to fit. */
static void drift_section(FILE *f, const ev_results *r)
{
    const ev_drift *d = &r->drift;
    int any = 0;
    for (int m = 0; m < EV_DRIFT_COUNT; m++)
        any |= d->s[m].available && d->s[m].fit.n >= 3;
    if (!any)
        return;
    char iv[32];
    ev_format_duration(d->interval_ns, iv, sizeof iv);
    fprintf(f, "\ndrift (least squares over %s points, 95 %% interval; per hour)\n", iv);
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        const ev_drift_series *s = &d->s[m];
        if (!s->available) {
            fprintf(f, "  %-13s not measured%s\n", ev_drift_name(m),
                    m == EV_DRIFT_BROKER_MEMORY ? " (the broker's module reports no memory)" : "");
            continue;
        }
        if (s->fit.n < 3) {
            fprintf(f, "  %-13s %zu point%s: too few to fit\n", ev_drift_name(m), s->fit.n,
                    s->fit.n == 1 ? "" : "s");
            continue;
        }
        fprintf(f, "  %-13s mean %.4g %s  slope %+.4g ± %.3g %s/h (%+.3g %%/h)  %s  (%zu points)\n",
                ev_drift_name(m), s->fit.mean_y, ev_drift_unit(m), s->fit.slope, s->fit.half,
                ev_drift_unit(m), s->pct_per_h,
                s->fit.flat        ? "flat"
                : s->fit.slope > 0 ? "RISING"
                                   : "FALLING",
                s->fit.n);
    }
}

void ev_report_summary(FILE *f, const ev_results *r)
{
    const ev_plan *p = r->plan;
    char a[32], b[32], c[32], when[40];
    ev_rfc3339(r->started_wall_ns, when, sizeof when);
    fprintf(f, "\nevload %s  scenario %s  run %s\n", EV_VERSION, p->name, r->run_id);
    fprintf(f, "target   %s\n", r->target);
    fprintf(f, "started  %.19sZ  duration %.1f s%s\n", when, r->duration_s,
            r->interrupted ? "  (interrupted: stopped early, drained briefly)" : "");
    if (r->merged)
        fprintf(f, "merged   the results of %u instances, judged as one run\n", r->instances);
    else if (r->instances > 1)
        fprintf(f, "instance %u of %u (its share of the schedule; evload merge judges the run)\n",
                r->instance, r->instances);
    if (r->start_late_s > 0)
        fprintf(f,
                "         ready %.3f s after --start-at: its first events went out late "
                "(sched_lag)\n",
                r->start_late_s);

    double pct = r->rate_target > 0 ? 100.0 * r->rate_achieved / r->rate_target : 0.0;
    fprintf(f, "\npublish  attempted %s  acked %s  failed %s\n", grouped(r->attempted, a, sizeof a),
            grouped(r->acked, b, sizeof b), grouped(r->failed, c, sizeof c));
    if (r->rate_target > 0)
        fprintf(f, "         rate %.1f/s achieved of %.1f/s target (%.1f%%) over %.1f s\n",
                r->rate_achieved, r->rate_target, pct, r->publish_s);
    else
        fprintf(f, "         rate %.1f/s achieved over %.1f s (as fast as possible)\n",
                r->rate_achieved, r->publish_s);

    delivery_section(f, r);
    streams_section(f, r);
    if (r->drain_timed_out)
        fprintf(f,
                "  drain timed out after %.1f s: what was missing then is pending where the "
                "system still held events, else lost\n",
                (double)p->drain_timeout_ns / 1e9);

    fprintf(f, "\nlatency ms        p50       p90       p95       p99     p99.9    p99.99       "
               "max      mean       count\n");
    for (int m = 0; m < EV_METRIC_COUNT; m++)
        if (r->lat[m])
            latency_row(f, ev_metrics[m].name, r->lat[m]);
    if (r->no_latency)
        fprintf(f, "  (%s events had no latency: evload had no record of their send time)\n",
                grouped(r->no_latency, a, sizeof a));

    fprintf(f, "\nbackpressure  max in-flight %lld", (long long)r->max_in_flight);
    if (r->max_depth >= 0)
        fprintf(f, "  max depth %lld", (long long)r->max_depth);
    fprintf(f, "  publisher blocked %.2f s\n", (double)r->blocked_ns / 1e9);
    ev_faults_summary(f, r->faults);
    ev_recovery_summary(f, r);

    drift_section(f, r);

    size_t failed = 0;
    int mw = 14;
    for (size_t i = 0; i < p->nthresholds; i++)
        if ((int)strlen(p->thresholds[i].metric) > mw)
            mw = (int)strlen(p->thresholds[i].metric);
    if (p->nthresholds) {
        fprintf(f, "\nthresholds\n");
        for (size_t i = 0; i < p->nthresholds; i++) {
            const ev_threshold *t = &p->thresholds[i];
            char v[32];
            if (isnan(r->thr_value[i]))
                snprintf(v, sizeof v, "not measured");
            else if (t->drift)
                snprintf(v, sizeof v, "%.3g %%/h", r->thr_value[i]);
            else if (isinf(r->thr_value[i]))
                snprintf(v, sizeof v, "not recovered");
            else if (t->id == EV_METRIC_recovery)
                snprintf(v, sizeof v, "%.2f s", r->thr_value[i]);
            else if (t->latency && t->agg != EV_AGG_COUNT)
                snprintf(v, sizeof v, "%.3f ms", r->thr_value[i]);
            else if (t->agg == EV_AGG_RATE)
                snprintf(v, sizeof v, "%.6g", r->thr_value[i]);
            else
                snprintf(v, sizeof v, "%.0f", r->thr_value[i]);
            fprintf(f, "  %s %-*s %-16s %s\n", r->thr_pass[i] ? "\u2713" : "\u2717", mw, t->metric,
                    t->expr, v);
            failed += !r->thr_pass[i];
        }
    }
    if (r->incomplete)
        fprintf(f,
                "\nverdict: INCOMPLETE (the run ended early: %s; %zu of %zu threshold%s failed "
                "on what it saw)\n",
                r->end_reason, failed, p->nthresholds, p->nthresholds == 1 ? "" : "s");
    else if (r->pass)
        fprintf(f, "\nverdict: PASS (%zu threshold%s passed)\n", p->nthresholds,
                p->nthresholds == 1 ? "" : "s");
    else
        fprintf(f, "\nverdict: FAIL (%zu of %zu threshold%s failed)\n", failed, p->nthresholds,
                p->nthresholds == 1 ? "" : "s");
}

const char *ev_report_verdict(const ev_results *r)
{
    return r->incomplete ? "INCOMPLETE" : r->pass ? "PASS" : "FAIL";
}

/* ---- JSON ------------------------------------------------------------- */

/* What merge and compare need that the rest does not carry: the ledgers and
 * the publish record (ev_data.h). */
static json_t *results_data(const ev_results *r)
{
    json_t *groups = json_array();
    for (size_t g = 0; groups && g < r->ngroups; g++) {
        const ev_group_result *gr = &r->groups[g];
        if (!gr->ledger)
            continue;
        json_array_append_new(groups, json_pack("{s:s, s:s, s:o, s:o}", "name", gr->name, "output",
                                                r->outputs[gr->output].def->name, "may_remain",
                                                gr->may_remain == UINT64_MAX
                                                    ? json_null()
                                                    : json_integer((json_int_t)gr->may_remain),
                                                "ledger", ev_data_ledger(gr->ledger)));
    }
    return json_pack("{s:I, s:I, s:I, s:o, s:o}", "instance", (json_int_t)r->instance, "instances",
                     (json_int_t)r->instances, "lanes_per_instance",
                     (json_int_t)r->lanes_per_instance, "publanes",
                     r->publanes ? ev_data_publanes(r->publanes, r->lanes_total) : json_array(),
                     "groups", groups);
}

static json_t *hist_json(const ev_hist *h)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    static const struct {
        const char *key;
        double p;
    } ps[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}, {"p9999", 99.99}};
    int any = ev_hist_count(h) > 0;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        json_object_set_new(o, ps[i].key,
                            any ? json_real((double)ev_hist_percentile(h, ps[i].p) / 1e6)
                                : json_null());
    json_object_set_new(o, "max", any ? json_real((double)ev_hist_max(h) / 1e6) : json_null());
    json_object_set_new(o, "mean", any ? json_real(ev_hist_mean(h) / 1e6) : json_null());
    json_object_set_new(o, "count", json_integer((json_int_t)ev_hist_count(h)));
    json_object_set_new(o, "out_of_range", json_integer((json_int_t)ev_hist_out_of_range(h)));
    char *enc = ev_hist_encode(h); /* lossless: what merge, compare and report read */
    if (enc)
        json_object_set_new(o, "hist", json_string(enc));
    free(enc);
    return o;
}

static void counts_json(json_t *o, const ev_ledger_counts *c)
{
    json_object_set_new(o, "received", json_integer((json_int_t)c->received));
    json_object_set_new(o, "delivered", json_integer((json_int_t)c->delivered));
    json_object_set_new(o, "late", json_integer((json_int_t)c->late));
    json_object_set_new(o, "pending", json_integer((json_int_t)c->pending));
    json_object_set_new(o, "lost", json_integer((json_int_t)c->lost));
    json_object_set_new(o, "duplicated", json_integer((json_int_t)c->duplicated));
    json_object_set_new(o, "redelivered", json_integer((json_int_t)c->redelivered));
    json_object_set_new(o, "unconfirmed", json_integer((json_int_t)c->unconfirmed));
    json_object_set_new(o, "recovered", json_integer((json_int_t)c->recovered));
    json_object_set_new(o, "reordered", json_integer((json_int_t)c->reordered));
    json_object_set_new(o, "corrupted", json_integer((json_int_t)c->corrupted));
    json_object_set_new(o, "foreign", json_integer((json_int_t)c->foreign));
    json_object_set_new(o, "unexpected", json_integer((json_int_t)c->unexpected));
}

static json_t *num_or_null(double v)
{
    return isnan(v) || isinf(v) ? json_null() : json_real(v); /* inf: not recovered */
}

/* streams[]: each stream's plan in brief, publish side, classes, latencies. */
static json_t *streams_json(const ev_results *r)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < r->nstreams; k++) {
        const ev_stream_result *sr = &r->streams[k];
        const ev_plan *sp = sr->def->plan;
        json_t *o = json_pack(
            "{s:s, s:s, s:f, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:f, s:f}", "name", sr->def->name,
            "event_type", sp->event_type, "start_after_s", (double)sr->def->start_after_ns / 1e9,
            "lane0", (json_int_t)sr->def->lane0, "lanes", (json_int_t)sp->lanes, "expected",
            sr->expected >= 0 ? json_integer((json_int_t)sr->expected) : json_null(), "attempted",
            (json_int_t)sr->attempted, "acked", (json_int_t)sr->acked, "failed",
            (json_int_t)sr->failed, "measured", (json_int_t)sr->measured_sent, "rate_target",
            sr->rate_target, "rate_achieved", sr->rate_achieved);
        if (!o)
            continue;
        json_t *d = json_object(), *lat = json_object();
        counts_json(d, &sr->c);
        json_object_set_new(o, "deliver", d);
        for (int m = 0; m < EV_METRIC_COUNT; m++)
            if (sr->lat[m])
                json_object_set_new(lat, ev_metrics[m].name, hist_json(sr->lat[m]));
        json_object_set_new(o, "latency", lat);
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *drift_json(const ev_drift *d)
{
    json_t *o = json_object();
    if (!o)
        return json_null();
    json_object_set_new(o, "interval_s", json_real((double)d->interval_ns / 1e9));
    for (int m = 0; m < EV_DRIFT_COUNT; m++) {
        const ev_drift_series *s = &d->s[m];
        json_t *pts = json_array(), *e;
        for (size_t i = 0; pts && i < s->npoints; i++)
            json_array_append_new(pts, json_pack("[f, f]", s->t_s[i], s->value[i]));
        double lo = s->fit.slope - s->fit.half, hi = s->fit.slope + s->fit.half;
        e = json_pack(
            "{s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "unit", ev_drift_unit(m),
            "available", s->available, "points", (json_int_t)s->fit.n, "mean",
            num_or_null(s->fit.mean_y), "slope_per_h", num_or_null(s->fit.slope), "ci95_per_h",
            isnan(s->fit.half) ? json_null() : json_pack("[f, f]", lo, hi), "pct_per_h",
            num_or_null(s->pct_per_h), "flat",
            s->fit.n >= 3 && !isnan(s->fit.half) ? json_boolean(s->fit.flat) : json_null(), "value",
            num_or_null(ev_drift_value(d, m)), "series", pts ? pts : json_array());
        json_object_set_new(o, ev_drift_name(m), e ? e : json_null());
    }
    return o;
}

/* timeseries[i] of the results: the point's figures, its histograms and
 * the broker's figures. New (caller owns), NULL on OOM. */
static json_t *point_json(const ev_tpoint *t)
{
    json_t *pt = json_pack(
        "{s:f, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f, s:f, s:f}", "t", t->t,
        "phase", t->phase, "rate_target", t->rate_target, "rate_achieved", t->rate_achieved, "sent",
        (json_int_t)t->sent, "acked", (json_int_t)t->acked, "failed", (json_int_t)t->failed,
        "received", (json_int_t)t->received, "lost", (json_int_t)t->lost, "in_flight",
        (json_int_t)t->in_flight, "depth", t->depth >= 0 ? json_integer(t->depth) : json_null(),
        "blocked_s", (double)t->blocked_ns / 1e9, "e2e_p99", t->e2e_p99_ms, "sched_lag_p99",
        t->sched_lag_p99_ms);
    if (!pt)
        return NULL;
    json_object_set_new(pt, "e2e_p50", json_real(t->e2e_p50_ms));
    json_object_set_new(pt, "e2e_max", json_real(t->e2e_max_ms));
    json_object_set_new(pt, "hist",
                        json_pack("{s:s?, s:s?, s:s*}", "e2e", t->hist_e2e, "ack", t->hist_ack,
                                  "e2e_sched", t->hist_e2e_sched));
    if (t->broker)
        json_object_set(pt, "broker", t->broker);
    json_object_set_new(pt, "rss", t->rss_bytes > 0 ? json_integer(t->rss_bytes) : json_null());
    return pt;
}

/* The results document; its timeseries is null when with_ts is 0 (the
 * caller writes it: write_streamed). NULL on OOM or a point that could not
 * be read back. */
static json_t *build(const ev_results *r, int with_ts)
{
    const ev_plan *p = r->plan;
    char when[40];
    ev_rfc3339(r->started_wall_ns, when, sizeof when);
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_object_set_new(root, "schema", json_integer(EV_RESULTS_SCHEMA));
    json_object_set_new(root, "evload", json_pack("{s:s}", "version", EV_VERSION));
    json_object_set_new(root, "run",
                        json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:b, s:b, s:s?, s:s?}",
                                  "id", r->run_id, "scenario", p->name, "target", r->target,
                                  "started", when, "duration_s", r->duration_s, "cpu_s", r->cpu_s,
                                  "instance", (int)r->instance, "instances", (int)r->instances,
                                  "interrupted", r->interrupted, "completed", !r->incomplete,
                                  "end_reason", r->incomplete ? r->end_reason : NULL, "path",
                                  p->path && p->path[0] ? p->path : NULL));
    json_object_set_new(json_object_get(root, "run"), "start_late_s", json_real(r->start_late_s));
    json_object_set_new(
        root, "publish",
        json_pack("{s:o, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "expected",
                  r->expected >= 0 ? json_integer((json_int_t)r->expected) : json_null(),
                  "attempted", (json_int_t)r->attempted, "acked", (json_int_t)r->acked, "failed",
                  (json_int_t)r->failed, "measured", (json_int_t)r->measured_sent, "rate_target",
                  r->rate_target, "rate_achieved", r->rate_achieved, "duration_s", r->publish_s));
    json_t *deliver = json_object(), *groups = json_array(), *outs = json_array();
    for (size_t g = 0; g < r->ngroups; g++) {
        const ev_output_result *orr = &r->outputs[r->groups[g].output];
        json_t *o = json_pack("{s:s, s:s}", "name", r->groups[g].name, "output", orr->def->name);
        counts_json(o, &r->groups[g].c);
        json_array_append_new(groups, o);
    }
    for (size_t i = 0; i < r->noutputs; i++) {
        const ev_output_result *orr = &r->outputs[i];
        char e[96], m[96];
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:o}", "name", orr->def->name, "source",
                      orr->source, "expect", expect_text(orr->def, e, sizeof e), "match",
                      match_text(orr->def, m, sizeof m), "copies", (json_int_t)orr->def->copies,
                      "integrity_checked", orr->integrity, "holds_at_end",
                      orr->holds_at_end >= 0 ? json_integer(orr->holds_at_end) : json_null());
        json_object_set_new(o, "hops_at_end",
                            orr->hops_at_end >= 0 ? json_integer(orr->hops_at_end) : json_null());
        counts_json(o, &orr->c);
        if (orr->e2e)
            json_object_set_new(o, "latency",
                                json_pack("{s:o, s:o}", "e2e", hist_json(orr->e2e), "e2e_sched",
                                          hist_json(orr->e2e_sched)));
        json_array_append_new(outs, o);
    }
    json_object_set_new(deliver, "groups", groups);
    json_object_set_new(deliver, "outputs", outs);
    json_object_set_new(deliver, "swept", json_boolean(r->swept));
    json_object_set_new(deliver, "no_latency", json_integer((json_int_t)r->no_latency));
    json_object_set_new(deliver, "sweep_s", json_real(r->sweep_s));
    /* false for a publish-only run (verify.groups 0): the counts are zeros
     * because nothing was looked at, not because nothing was lost. */
    json_object_set_new(deliver, "verified", json_boolean(r->ngroups > 0));
    counts_json(deliver, &r->total);
    json_object_set_new(deliver, "drain_timed_out", json_boolean(r->drain_timed_out));
    json_object_set_new(deliver, "settle_s", json_real(r->settle_s));
    json_object_set_new(deliver, "throughput",
                        json_real(r->settle_s > 0
                                      ? (double)r->total.delivered /
                                            (double)(r->ngroups ? r->ngroups : 1) / r->settle_s
                                      : 0.0));
    json_object_set_new(root, "deliver", deliver);
    if (r->nstreams)
        json_object_set_new(root, "streams", streams_json(r));
    json_t *lat = json_object();
    for (int m = 0; m < EV_METRIC_COUNT; m++)
        if (r->lat[m])
            json_object_set_new(lat, ev_metrics[m].name, hist_json(r->lat[m]));
    json_object_set_new(root, "latency", lat);
    json_object_set_new(root, "backpressure",
                        json_pack("{s:I, s:o, s:f, s:o}", "max_in_flight",
                                  (json_int_t)r->max_in_flight, "max_depth",
                                  r->max_depth >= 0 ? json_integer(r->max_depth) : json_null(),
                                  "blocked_s", (double)r->blocked_ns / 1e9, "broker",
                                  r->bp_broker ? json_incref(r->bp_broker) : json_object()));
    json_object_set_new(root, "broker", r->broker ? json_incref(r->broker) : json_object());
    json_t *ts = with_ts ? json_array() : json_null();
    for (size_t i = 0; with_ts && i < r->nts; i++) {
        const ev_tpoint *t = ev_tseries_point(r, i);
        if (!t || json_array_append_new(ts, point_json(t))) {
            json_decref(ts);
            json_decref(root);
            return NULL;
        }
    }
    json_object_set_new(root, "timeseries", ts);
    json_object_set_new(root, "drift", drift_json(&r->drift));
    json_t *stages = json_array();
    for (size_t i = 0; i < r->nstages; i++) {
        const ev_stage_result *st = &r->stages[i];
        double span = st->t1 - st->t0;
        json_t *o = json_pack("{s:s, s:f, s:f, s:I, s:I, s:f, s:o, s:o}", "name", st->name,
                              "from_s", st->t0, "to_s", st->t1, "sent", (json_int_t)st->sent,
                              "received", (json_int_t)st->received, "rate_achieved",
                              span > 0 ? (double)st->sent / span : 0.0, "e2e", hist_json(st->e2e),
                              "ack", hist_json(st->ack));
        json_array_append_new(stages, o);
    }
    json_object_set_new(root, "stages", stages);
    if (r->faults)
        json_object_set(root, "faults", r->faults);
    if (r->recovery)
        json_object_set(root, "recovery", r->recovery);
    if (r->proxy)
        json_object_set(root, "proxy", r->proxy);
    json_object_set_new(root, "data", results_data(r));
    json_object_set_new(root, "environment", ev_data_environment());
    json_t *thr = json_array();
    for (size_t i = 0; i < p->nthresholds; i++)
        json_array_append_new(thr,
                              json_pack("{s:s, s:s, s:o, s:b}", "metric", p->thresholds[i].metric,
                                        "expr", p->thresholds[i].expr, "value",
                                        num_or_null(r->thr_value[i]), "pass", r->thr_pass[i]));
    json_object_set_new(root, "thresholds", thr);
    json_object_set_new(root, "verdict",
                        json_string(r->incomplete ? "incomplete"
                                    : r->pass     ? "pass"
                                                  : "fail"));
    return root;
}

json_t *ev_report_build(const ev_results *r)
{
    return build(r, 1);
}

/* How results files are written: what readers (and tests) see. */
#define RESULTS_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

int ev_report_write(json_t *root, const char *path, ev_err *err)
{
    int rc = EV_OK;
    if (!strcmp(path, "-")) {
        if (json_dumpf(root, stdout, RESULTS_FLAGS) || fputc('\n', stdout) == EOF)
            rc = ev_err_set(err, EV_EINTERNAL, "cannot write results to stdout");
    } else {
        /* Write then rename, so a reader never sees half a file. */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if (json_dump_file(root, tmp, RESULTS_FLAGS) || rename(tmp, path))
            rc = ev_err_set(err, EV_EUSAGE, "cannot write results to %s", path);
    }
    return rc;
}

/* Out of memory, or the timeseries' own error when a point could not be
 * read back. */
static int build_failed(const ev_results *r, ev_err *err)
{
    return ev_tseries_error(r, err) ? EV_EINTERNAL : ev_err_set(err, EV_EINTERNAL, "out of memory");
}

/* Writes the string p to f with every newline followed by `indent`. */
static void put_indented(FILE *f, const char *p, const char *indent)
{
    for (const char *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        fwrite(p, 1, (size_t)(nl + 1 - p), f);
        fputs(indent, f);
    }
    fputs(p, f);
}

/* Writes r's results to f, the same text as json_dumpf(build(r, 1), f,
 * RESULTS_FLAGS): the document without its timeseries, cut where the
 * timeseries goes, and in between the points read back and dumped one at a
 * time, indented as jansson indents the elements of an array that is a
 * value of the root object (4 spaces, then 2 per level). 0, EV_EINTERNAL
 * with err, or -1 on a write error (ferror(f)). */
static int write_streamed(const ev_results *r, FILE *f, ev_err *err)
{
    json_t *root = build(r, 0);
    if (!root)
        return build_failed(r, err);
    char *text = json_dumps(root, RESULTS_FLAGS);
    json_decref(root);
    if (!text)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    /* Only the root's keys start a line after exactly two spaces: deeper
     * keys are indented further, and strings have their newlines escaped. */
    static const char key[] = "\n  \"timeseries\": null";
    const char *at = strstr(text, key);
    if (!at) {
        free(text);
        return ev_err_set(err, EV_EINTERNAL, "results: no timeseries to fill in");
    }
    size_t head = (size_t)(at - text) + sizeof key - 1 - strlen("null");
    int rc = EV_OK;
    fwrite(text, 1, head, f);
    fputs(r->nts ? "[" : "[]", f);
    for (size_t i = 0; i < r->nts && !rc && !ferror(f); i++) {
        const ev_tpoint *tp = ev_tseries_point(r, i);
        json_t *pj = tp ? point_json(tp) : NULL;
        char *pt = pj ? json_dumps(pj, RESULTS_FLAGS) : NULL;
        json_decref(pj);
        if (!pt) {
            rc = build_failed(r, err);
            break;
        }
        fputs("\n    ", f);
        put_indented(f, pt, "    ");
        fputs(i + 1 < r->nts ? "," : "\n  ]", f);
        free(pt);
    }
    if (!rc)
        fputs(at + sizeof key - 1, f);
    free(text);
    if (!rc && ferror(f))
        rc = -1;
    return rc;
}

int ev_report_results(const ev_results *r, const char *path, json_t **doc, ev_err *err)
{
    if (doc) {
        if (!(*doc = ev_report_build(r)))
            return build_failed(r, err);
        return path ? ev_report_write(*doc, path, err) : EV_OK;
    }
    if (!path)
        return EV_OK;
    if (!strcmp(path, "-")) {
        int rc = write_streamed(r, stdout, err);
        if (!rc && (fputc('\n', stdout) == EOF || fflush(stdout)))
            rc = -1;
        return rc < 0 ? ev_err_set(err, EV_EINTERNAL, "cannot write results to stdout") : rc;
    }
    /* Write then rename, so a reader never sees half a file. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ev_err_set(err, EV_EUSAGE, "cannot write results to %s", path);
    int rc = write_streamed(r, f, err);
    if (fclose(f) && !rc)
        rc = -1;
    if (!rc && rename(tmp, path))
        rc = -1;
    if (rc)
        (void)remove(tmp);
    return rc < 0 ? ev_err_set(err, EV_EUSAGE, "cannot write results to %s", path) : rc;
}
