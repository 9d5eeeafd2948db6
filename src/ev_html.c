/* ev_html — see ev_html.h. The page is written straight to the FILE; charts
 * are SVG with fixed geometry (viewBox 880×240) scaled by CSS. Every number
 * goes through fnum()/fcoord() (fixed formats), every text through ev_fput_markup(). */
#include "ev_html.h"

#include "ev_data.h"
#include "ev_hist.h"
#include "ev_iset.h"
#include "ev_json.h"
#include "ev_ledger.h"
#include "ev_text.h"
#include "ev_threshold.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct page {
    FILE *f;
    int oom;
} page;

/* ---- text ------------------------------------------------------------- */

/* A figure for people: whole numbers as such, others with 3–4 significant
 * digits; "–" for NAN. */
static const char *fnum(double v, char *b, size_t size)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(b, size, "–");
    else if (a < 1e15 && v == floor(v))
        snprintf(b, size, "%.0f", v);
    else if (a >= 1) { /* 1 or 2 decimals, trailing zeros dropped: 1.5, 21.95 */
        int n = snprintf(b, size, a >= 100 ? "%.1f" : "%.2f", v);
        while (n > 0 && (size_t)n < size && b[n - 1] == '0')
            b[--n] = 0;
        if (n > 0 && (size_t)n < size && b[n - 1] == '.')
            b[--n] = 0;
    } else {
        snprintf(b, size, "%.3g", v);
    }
    return b;
}

/* 1234567 → "1,234,567". */
static const char *fint(uint64_t v, char *b, size_t size)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0)
            b[o++] = ',';
        b[o++] = raw[i];
    }
    b[o] = 0;
    return b;
}

/* A JSON value as a table cell: strings escaped, numbers by fnum, null "–". */
static void cell(FILE *f, const json_t *v)
{
    char b[48];
    if (json_is_string(v))
        ev_fput_markup(f, json_string_value(v));
    else if (json_is_integer(v) && json_integer_value(v) >= 0)
        fputs(fint((uint64_t)json_integer_value(v), b, sizeof b), f);
    else if (json_is_number(v))
        fputs(fnum(json_number_value(v), b, sizeof b), f);
    else if (json_is_true(v))
        fputs("yes", f);
    else if (json_is_false(v))
        fputs("no", f);
    else
        fputs("–", f);
}

static const char CSS[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:#1b1b1b;background:#fff;margin:0 auto;max-width:960px;padding:16px}\n"
    "h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid "
    "#ccc}h3{font-size:15px;margin:16px 0 6px}\n"
    "table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}"
    "td,th{border:1px solid #d0d0d0;padding:3px 7px;text-align:right}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}\n"
    ".verdict{display:inline-block;padding:4px 14px;border-radius:4px;font-weight:700;"
    "font-size:18px;border:2px solid}\n"
    ".pass{color:#17632a;border-color:#17632a;background:#e7f5ea}"
    ".fail{color:#a1161b;border-color:#a1161b;background:#fbe7e7}"
    ".incomplete{color:#8a5a00;border-color:#8a5a00;background:#fff3d6}\n"
    "td.ok{color:#17632a}td.bad{color:#a1161b;font-weight:700}.muted{color:#666}\n"
    ".chart{break-inside:avoid;page-break-inside:avoid;margin:8px 0 18px}"
    ".chart svg{width:100%;height:auto;display:block}\n"
    ".legend{font-size:12px;margin:2px 0}.legend span.k{display:inline-block;width:14px;"
    "height:4px;margin:0 4px 3px 10px;vertical-align:middle}\n"
    "svg text{font:11px system-ui,Helvetica,Arial,sans-serif;fill:#333}"
    "svg .ax{stroke:#888;stroke-width:1}svg .grid{stroke:#e4e4e4;stroke-width:1}\n"
    "svg polyline{fill:none;stroke-width:1.6}svg .dash{stroke-dasharray:5 4}"
    "svg circle.pt{stroke:none}\n"
    ".c0{stroke:#1f63b4;fill:#1f63b4;background:#1f63b4}"
    ".c1{stroke:#c62828;fill:#c62828;background:#c62828}"
    ".c2{stroke:#2e8b3a;fill:#2e8b3a;background:#2e8b3a}"
    ".c3{stroke:#e07b00;fill:#e07b00;background:#e07b00}"
    ".c4{stroke:#7b4fb0;fill:#7b4fb0;background:#7b4fb0}"
    ".c5{stroke:#6d4c41;fill:#6d4c41;background:#6d4c41}"
    ".c6{stroke:#555;fill:#555;background:#555}\n"
    "svg polyline.c0,svg polyline.c1,svg polyline.c2,svg polyline.c3,svg polyline.c4,"
    "svg polyline.c5,svg polyline.c6{fill:none}\n"
    "svg rect.b0{fill:#f1f1f1}svg rect.b1{fill:#e3ecf7}svg rect.b2{fill:#f7efe0}"
    "svg rect.b3{fill:#ebe3f3}\n"
    "svg rect.tok{fill:#7cc48a}svg rect.tbad{fill:#e06666}svg rect.tna{fill:#ddd}"
    "svg line.knee{stroke:#a1161b;stroke-width:1.5;stroke-dasharray:4 3}\n"
    "section.run{border-top:3px double #999;margin-top:30px}\n"
    "code{font-size:12px}.wide{overflow-x:auto}.wide table{font-size:12px}"
    ".wide td,.wide th{padding:2px 4px}\n"
    "@media print{body{max-width:none;padding:0}h2{break-after:avoid}"
    "table{break-inside:avoid}}\n";

/* ---- charts ----------------------------------------------------------- */

#define CW 880.0
#define CH 240.0
#define ML 64.0
#define MR 18.0
#define MT 16.0
#define MB 32.0

typedef void (*tip_fn)(FILE *f, const void *ud, size_t i);

typedef struct ser {
    const char *name;
    int color; /* css class cN */
    int dashed;
    const double *x, *y;
    size_t n;
    tip_fn tip; /* non-NULL: one <circle class="pt"> per point with this title */
    const void *ud;
} ser;

typedef struct band {
    double x0, x1;
    const char *label;
    int kind; /* css class bN */
} band;

typedef struct chart {
    const char *id, *title, *yunit, *xunit;
    int ylog;                /* log10 y axis (values <= 0 are left out) */
    int xnines;              /* x is "nines" (−log10(1 − p)): ticks as percentiles */
    const char *const *cats; /* categorical x: x values are indexes 0..ncats-1 */
    size_t ncats;
    ser s[8];
    int ns;
    const band *b;
    size_t nb;
    int has_mark; /* a vertical marker (the knee) at mark */
    double mark;
    const char *mark_label;
    /* computed */
    double x0, x1, y0, y1;
} chart;

static double nice_step(double range, int ticks)
{
    double raw = range / ticks;
    if (!(raw > 0))
        return 1;
    double e = pow(10, floor(log10(raw))), f = raw / e;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * e;
}

static double px(const chart *c, double x)
{
    return ML + (x - c->x0) / (c->x1 - c->x0) * (CW - ML - MR);
}

static double py(const chart *c, double y)
{
    double a = c->ylog ? log10(y) : y, lo = c->ylog ? log10(c->y0) : c->y0,
           hi = c->ylog ? log10(c->y1) : c->y1;
    return CH - MB - (a - lo) / (hi - lo) * (CH - MB - MT);
}

static int usable(const chart *c, double x, double y)
{
    return !isnan(x) && !isnan(y) && (!c->ylog || y > 0);
}

static void scale(chart *c)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int k = 0; k < c->ns; k++)
        for (size_t i = 0; i < c->s[k].n; i++) {
            double x = c->s[k].x[i], y = c->s[k].y[i];
            if (!usable(c, x, y))
                continue;
            xmin = fmin(xmin, x), xmax = fmax(xmax, x);
            ymin = fmin(ymin, y), ymax = fmax(ymax, y);
        }
    for (size_t i = 0; i < c->nb; i++)
        xmin = fmin(xmin, c->b[i].x0), xmax = fmax(xmax, c->b[i].x1);
    if (c->cats) {
        xmin = -0.5, xmax = (double)c->ncats - 0.5;
    }
    if (!(xmin < xmax)) {
        xmin = isfinite(xmin) ? xmin - 1 : 0;
        xmax = xmin + 2;
    }
    if (c->xnines)
        xmin = 0, xmax = fmax(1, ceil(xmax));
    c->x0 = xmin, c->x1 = xmax;
    if (c->ylog) {
        if (!isfinite(ymin))
            ymin = 1, ymax = 10;
        c->y0 = pow(10, floor(log10(ymin)));
        c->y1 = pow(10, ceil(log10(ymax)));
        if (c->y1 <= c->y0)
            c->y1 = c->y0 * 10;
    } else {
        if (!isfinite(ymax) || ymax <= 0)
            ymax = 1;
        c->y0 = fmin(0, isfinite(ymin) ? ymin : 0);
        double st = nice_step(ymax * 1.05 - c->y0, 4);
        c->y1 = ceil(ymax * 1.05 / st) * st;
    }
}

static void nines_label(double k, char *b, size_t size)
{
    if (k < 0.5)
        snprintf(b, size, "0%%");
    else
        snprintf(b, size, "%.*f%%", k < 2.5 ? 0 : (int)k - 2, 100.0 * (1 - pow(10, -k)));
}

static void axes(FILE *f, const chart *c)
{
    char b[48];
    double bottom = CH - MB, top = MT, left = ML, right = CW - MR;
    /* y grid and labels */
    if (c->ylog) {
        for (double v = c->y0; v <= c->y1 * 1.0001; v *= 10) {
            double y = py(c, v);
            fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                    left, y, right, y);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 4,
                    y + 4, fnum(v, b, sizeof b));
        }
    } else {
        double st = nice_step(c->y1 - c->y0, 4);
        for (double v = c->y0; v <= c->y1 + st * 1e-6; v += st) {
            double y = py(c, v);
            fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                    left, y, right, y);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 4,
                    y + 4, fnum(fabs(v) < st * 1e-6 ? 0 : v, b, sizeof b));
        }
    }
    /* x ticks */
    if (c->cats) {
        for (size_t i = 0; i < c->ncats; i++) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px(c, (double)i),
                    bottom + 14);
            ev_fput_markup(f, c->cats[i]);
            fputs("</text>\n", f);
        }
    } else if (c->xnines) {
        for (double k = 0; k <= c->x1 + 1e-9; k += 1) {
            nines_label(k, b, sizeof b);
            double x = px(c, k);
            fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x,
                    top, x, bottom);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x,
                    bottom + 14, b);
        }
    } else {
        double st = nice_step(c->x1 - c->x0, 8);
        for (double v = ceil(c->x0 / st) * st; v <= c->x1 + st * 1e-6; v += st) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px(c, v),
                    bottom + 14, fnum(fabs(v) < st * 1e-6 ? 0 : v, b, sizeof b));
        }
    }
    fprintf(f,
            "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            left, bottom, right, bottom, left, top, left, bottom);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", right, CH - 2);
    ev_fput_markup(f, c->xunit);
    fprintf(f, "</text><text x=\"4\" y=\"%.1f\">", top - 4);
    ev_fput_markup(f, c->yunit);
    fputs("</text>\n", f);
}

static void draw(page *p, chart *c)
{
    FILE *f = p->f;
    scale(c);
    fputs("<div class=\"chart\">", f);
    if (c->title) {
        fputs("<h3>", f);
        ev_fput_markup(f, c->title);
        fputs("</h3>", f);
    }
    fputs("<div class=\"legend\">", f);
    for (int k = 0; k < c->ns; k++) {
        fprintf(f, "<span class=\"k c%d\"></span>", c->s[k].color);
        ev_fput_markup(f, c->s[k].name);
    }
    fputs("</div>\n", f);
    fprintf(f, "<svg id=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", c->id, CW, CH);
    for (size_t i = 0; i < c->nb; i++) {
        double a = px(c, c->b[i].x0), z = px(c, c->b[i].x1);
        fprintf(f,
                "<rect class=\"band b%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                "<title>",
                c->b[i].kind, a, MT, fmax(0, z - a), CH - MB - MT);
        ev_fput_markup(f, c->b[i].label);
        fprintf(f, "</title></rect><text x=\"%.1f\" y=\"%.1f\">", a + 3, MT + 11);
        ev_fput_markup(f, c->b[i].label);
        fputs("</text>\n", f);
    }
    axes(f, c);
    for (int k = 0; k < c->ns; k++) {
        const ser *s = &c->s[k];
        int open = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(c, s->x[i], s->y[i])) {
                if (open)
                    fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(f, "<polyline class=\"c%d%s\" points=\"", s->color,
                        s->dashed ? " dash" : "");
            fprintf(f, "%s%.1f,%.1f", open ? " " : "", px(c, s->x[i]), py(c, s->y[i]));
            open = 1;
        }
        if (open)
            fputs("\"/>\n", f);
        for (size_t i = 0; s->tip && i < s->n; i++) {
            double y = s->y[i];
            if (!usable(c, s->x[i], y))
                y = c->ylog ? c->y0 : 0; /* one marker per point, always */
            fprintf(f, "<circle class=\"pt c%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\"><title>",
                    s->color, px(c, s->x[i]), py(c, y));
            s->tip(f, s->ud, i);
            fputs("</title></circle>\n", f);
        }
    }
    if (c->has_mark) {
        double x = px(c, c->mark);
        fprintf(f,
                "<line class=\"knee\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">",
                x, MT, x, CH - MB, x + 4, MT + 24);
        ev_fput_markup(f, c->mark_label);
        fputs("</text>\n", f);
    }
    fputs("</svg></div>\n", f);
}

/* ---- the timeseries as columns ---------------------------------------- */

typedef struct tcols {
    size_t n;
    const json_t *ts;
    double *t, *rate_t, *rate_a, *p50, *p99, *max, *infl, *depth, *blocked, *lost, *sent, *failed;
} tcols;

static double *col(page *p, const json_t *ts, const char *key, size_t n)
{
    double *c = calloc(n ? n : 1, sizeof *c);
    if (!c) {
        p->oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = ev_jget(json_array_get(ts, i), key);
        c[i] = json_is_number(v) ? json_number_value(v) : (double)NAN;
    }
    return c;
}

static int tcols_load(page *p, const json_t *run, tcols *c)
{
    memset(c, 0, sizeof *c);
    c->ts = ev_jget(run, "timeseries");
    c->n = json_array_size(c->ts);
    c->t = col(p, c->ts, "t", c->n);
    c->rate_t = col(p, c->ts, "rate_target", c->n);
    c->rate_a = col(p, c->ts, "rate_achieved", c->n);
    c->p50 = col(p, c->ts, "e2e_p50", c->n);
    c->p99 = col(p, c->ts, "e2e_p99", c->n);
    c->max = col(p, c->ts, "e2e_max", c->n);
    c->infl = col(p, c->ts, "in_flight", c->n);
    c->depth = col(p, c->ts, "depth", c->n);
    c->blocked = col(p, c->ts, "blocked_s", c->n);
    c->lost = col(p, c->ts, "lost", c->n);
    c->sent = col(p, c->ts, "sent", c->n);
    c->failed = col(p, c->ts, "failed", c->n);
    for (size_t i = 0; c->depth && i < c->n; i++)
        if (c->depth[i] < 0)
            c->depth[i] = NAN; /* the broker does not say */
    return p->oom ? -1 : 0;
}

static void tcols_free(tcols *c)
{
    free(c->t), free(c->rate_t), free(c->rate_a), free(c->p50), free(c->p99), free(c->max);
    free(c->infl), free(c->depth), free(c->blocked), free(c->lost), free(c->sent);
    free(c->failed);
}

/* The stages as shaded bands, from stages[] (the run's phases). */
static band *stage_bands(page *p, const json_t *run, size_t *nb)
{
    const json_t *st = ev_jget(run, "stages");
    size_t n = json_array_size(st);
    band *b = calloc(n ? n : 1, sizeof *b);
    if (!b) {
        p->oom = 1;
        *nb = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(st, i);
        const char *name = ev_jstr(s, "name");
        b[i].x0 = ev_jnum(s, "from_s");
        b[i].x1 = ev_jnum(s, "to_s");
        b[i].label = name;
        b[i].kind = !strcmp(name, "warmup")            ? 0
                    : !strncmp(name, "stage ", 6)      ? (int)(i % 2) + 1
                    : !strcmp(name, "publish")         ? 1
                    : !strcmp(name, "drain") || !*name ? 2
                                                       : 3;
    }
    *nb = n;
    return b;
}

/* ---- sections of one run ---------------------------------------------- */

static const char *verdict_class(const char *v)
{
    return !strcmp(v, "pass") ? "pass" : !strcmp(v, "fail") ? "fail" : "incomplete";
}

static void upper(const char *s, char *b, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        b[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    b[i] = 0;
}

static void sec_head(page *p, const json_t *run, int level)
{
    FILE *f = p->f;
    char v[32], b[48];
    const char *verdict = ev_jstr(run, "verdict");
    upper(verdict, v, sizeof v);
    fprintf(f, "<h%d>", level);
    ev_fput_markup(f, ev_jstr(run, "run.scenario"));
    fputs(" <span class=\"muted\">run ", f);
    ev_fput_markup(f, ev_jstr(run, "run.id"));
    if (ev_jint(run, "run.instances") > 1) {
        fprintf(f, " · instance %llu of %llu", (unsigned long long)ev_jint(run, "run.instance"),
                (unsigned long long)ev_jint(run, "run.instances"));
    }
    if (ev_jint(run, "run.merged_from"))
        fprintf(f, " · merged from %llu instances",
                (unsigned long long)ev_jint(run, "run.merged_from"));
    fprintf(f, "</span></h%d>\n", level);
    fprintf(f, "<p><span class=\"verdict %s\">%s</span> &nbsp;", verdict_class(verdict), v);
    ev_fput_markup(f, ev_jstr(run, "run.target"));
    fputs(" · started ", f);
    ev_fput_markup(f, ev_jstr(run, "run.started"));
    fprintf(f, " · %s s</p>\n", fnum(ev_jnum(run, "run.duration_s"), b, sizeof b));
    if (*ev_jstr(run, "run.end_reason")) {
        fputs("<p class=\"bad\"><b>Ended early:</b> ", f);
        ev_fput_markup(f, ev_jstr(run, "run.end_reason"));
        fputs("</p>\n", f);
    }
}

/* The value of threshold t over second i of ts; NAN when that second says
 * nothing about the metric (not measured per second, no samples, another
 * stage's second, or a stream's or output's part). */
static double second_value(const ev_threshold *t, const json_t *tp, const json_t *prev, ev_hist *h)
{
    const char *m = t->base;
    /* The per-second figures are the whole run's: a stream's or an output's
     * part is not in them; a stage's is, in the seconds of that phase. */
    if (t->tag == EV_TAG_STREAM || t->tag == EV_TAG_OUTPUT ||
        (t->tag == EV_TAG_STAGE && strcmp(ev_jstr(tp, "phase"), t->tag_value)))
        return NAN;
    if (t->latency) {
        if (strcmp(m, "e2e") && strcmp(m, "ack"))
            return NAN;
        char path[48];
        snprintf(path, sizeof path, "hist.%s", m);
        ev_hist_reset(h);
        if (ev_jhist(tp, path, h))
            return NAN;
        return ev_threshold_hist_value(t, h);
    }
    (void)prev;
    const char *key = !strcmp(m, "lost") ? "lost" : !strcmp(m, "publish_errors") ? "failed" : NULL;
    if (!key || !json_is_number(ev_jget(tp, key)))
        return NAN;
    double v = ev_jnum(tp, key); /* cumulative so far (lost: provisional) */
    if (t->agg == EV_AGG_RATE) {
        double sent = ev_jnum(tp, "sent");
        return sent > 0 ? v / sent : 0.0;
    }
    return v;
}

static void sec_thresholds(page *p, const json_t *run, const char *pfx)
{
    FILE *f = p->f;
    const json_t *thr = ev_jget(run, "thresholds");
    size_t n = json_array_size(thr), i;
    const json_t *t;
    char b[48];
    fputs("<h2>Thresholds</h2>\n", f);
    if (!n) {
        fputs("<p class=\"muted\">No thresholds: the verdict is pass unless the run ended "
              "early.</p>\n",
              f);
        return;
    }
    fputs("<table><tr><th class=\"l\">metric</th><th class=\"l\">threshold</th><th>value</th>"
          "<th class=\"l\">result</th></tr>\n",
          f);
    json_array_foreach (thr, i, t) {
        int ok = json_is_true(ev_jget(t, "pass"));
        fputs("<tr><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(t, "metric"));
        fputs("</td><td class=\"l\"><code>", f);
        ev_fput_markup(f, ev_jstr(t, "expr"));
        fputs("</code></td><td>", f);
        cell(f, ev_jget(t, "value"));
        fprintf(f, "</td><td class=\"l %s\">%s</td></tr>\n", ok ? "ok" : "bad",
                ok ? "✓ held" : "✗ failed");
    }
    fputs("</table>\n", f);

    /* The timeline: each threshold judged on each second alone (latencies:
     * that second's samples; lost and publish_errors: the count so far). */
    const json_t *ts = ev_jget(run, "timeseries");
    size_t nts = json_array_size(ts);
    ev_hist *h = ev_hist_new();
    if (!nts || !h) {
        p->oom |= !h;
        ev_hist_free(h);
        return;
    }
    double rowh = 16, top = 4, lw = 200, w = CW - lw - MR;
    double height = top + rowh * (double)n + 18;
    fprintf(f,
            "<div class=\"chart\"><h3>Threshold timeline</h3><div class=\"legend\">each second "
            "judged alone: latencies on that second's samples, <i>lost</i> (provisional) and "
            "<i>publish_errors</i> on the count so far; grey: that second says nothing</div>\n"
            "<svg id=\"%sthr\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
            pfx, CW, height);
    double tmax = ev_jnum(json_array_get(ts, nts - 1), "t");
    if (!(tmax > 0))
        tmax = 1;
    json_array_foreach (thr, i, t) {
        ev_threshold th;
        int parsed = ev_threshold_parse(ev_jstr(t, "metric"), ev_jstr(t, "expr"), &th, NULL) == 0;
        double y = top + rowh * (double)i;
        fprintf(f, "<text x=\"4\" y=\"%.1f\">", y + 12);
        ev_fput_markup(f, ev_jstr(t, "metric"));
        fputs(" ", f);
        ev_fput_markup(f, ev_jstr(t, "expr"));
        fputs("</text>\n", f);
        double prev_t = 0;
        for (size_t k = 0; k < nts; k++) {
            const json_t *tp = json_array_get(ts, k);
            double tt = ev_jnum(tp, "t");
            double v = parsed ? second_value(&th, tp, k ? json_array_get(ts, k - 1) : NULL, h)
                              : (double)NAN;
            const char *cls = isnan(v) ? "tna" : ev_threshold_holds(&th, v) ? "tok" : "tbad";
            double x0 = lw + prev_t / tmax * w, x1 = lw + tt / tmax * w;
            fprintf(f,
                    "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                    "<title>t=%s s: ",
                    cls, x0, y + 2, fmax(0.5, x1 - x0 - 0.5), rowh - 4, fnum(tt, b, sizeof b));
            fputs(isnan(v) ? "no value" : fnum(v, b, sizeof b), f);
            fputs("</title></rect>\n", f);
            prev_t = tt;
        }
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">0 s</text>", lw, height - 3);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s s</text>\n", CW - MR, height - 3,
            fnum(tmax, b, sizeof b));
    fputs("</svg></div>\n", f);
    ev_hist_free(h);
}

static void figure(FILE *f, const char *name, const json_t *v, const char *unit)
{
    fputs("<tr><th class=\"l\">", f);
    ev_fput_markup(f, name);
    fputs("</th><td>", f);
    cell(f, v);
    fputs(unit ? " " : "", f);
    ev_fput_markup(f, unit);
    fputs("</td></tr>\n", f);
}

static void sec_figures(page *p, const json_t *run)
{
    FILE *f = p->f;
    fputs("<h2>Key figures</h2>\n<table>\n", f);
    figure(f, "events attempted", ev_jget(run, "publish.attempted"), NULL);
    figure(f, "acknowledged", ev_jget(run, "publish.acked"), NULL);
    figure(f, "publish failed", ev_jget(run, "publish.failed"), NULL);
    figure(f, "rate target", ev_jget(run, "publish.rate_target"), "events/s");
    figure(f, "rate achieved", ev_jget(run, "publish.rate_achieved"), "events/s");
    if (!json_is_false(ev_jget(run, "deliver.verified"))) {
        figure(f, "delivered", ev_jget(run, "deliver.delivered"), NULL);
        figure(f, "lost", ev_jget(run, "deliver.lost"), NULL);
        figure(f, "pending", ev_jget(run, "deliver.pending"), NULL);
        figure(f, "duplicated", ev_jget(run, "deliver.duplicated"), NULL);
        figure(f, "throughput", ev_jget(run, "deliver.throughput"), "events/s per group");
        figure(f, "e2e p50", ev_jget(run, "latency.e2e.p50"), "ms");
        figure(f, "e2e p99", ev_jget(run, "latency.e2e.p99"), "ms");
        figure(f, "e2e max", ev_jget(run, "latency.e2e.max"), "ms");
    } else {
        fputs("<tr><th class=\"l\">delivery</th><td>not verified (publish-only run)</td></tr>\n",
              f);
    }
    figure(f, "ack p99", ev_jget(run, "latency.ack.p99"), "ms");
    fputs("</table>\n", f);
}

static void rate_tip(FILE *f, const void *ud, size_t i)
{
    const tcols *c = ud;
    char a[48], b[48], t[48];
    fprintf(f, "t=%s s ", fnum(c->t[i], t, sizeof t));
    ev_fput_markup(f, ev_jstr(json_array_get(c->ts, i), "phase"));
    fprintf(f, ": achieved %s/s, target %s/s", fnum(c->rate_a[i], a, sizeof a),
            fnum(c->rate_t[i], b, sizeof b));
}

static void sec_charts(page *p, const json_t *run, const char *pfx)
{
    tcols c;
    size_t nb = 0;
    band *bands = NULL;
    char id[64];
    if (tcols_load(p, run, &c) || !(bands = stage_bands(p, run, &nb)))
        goto out;
    fputs("<h2>Rate</h2>\n", p->f);
    snprintf(id, sizeof id, "%srate", pfx);
    chart r = {.id = id,
               .title = "Achieved vs target rate, per second (stages shaded)",
               .yunit = "events/s",
               .xunit = "seconds since publishing started",
               .b = bands,
               .nb = nb};
    r.s[r.ns++] = (ser){"target", 6, 1, c.t, c.rate_t, c.n, NULL, NULL};
    r.s[r.ns++] = (ser){"achieved", 0, 0, c.t, c.rate_a, c.n, rate_tip, &c};
    draw(p, &r);

    fputs("<h2>Latency over time</h2>\n", p->f);
    snprintf(id, sizeof id, "%slat", pfx);
    chart l = {.id = id,
               .title = "e2e latency of each second's deliveries (log axis)",
               .yunit = "ms",
               .xunit = "seconds since publishing started",
               .ylog = 1,
               .b = bands,
               .nb = nb};
    l.s[l.ns++] = (ser){"p50", 0, 0, c.t, c.p50, c.n, NULL, NULL};
    l.s[l.ns++] = (ser){"p99", 3, 0, c.t, c.p99, c.n, NULL, NULL};
    l.s[l.ns++] = (ser){"max", 1, 0, c.t, c.max, c.n, NULL, NULL};
    draw(p, &l);
out:
    free(bands);
    tcols_free(&c);
}

/* The percentile spectrum: x in nines, y log ms. */
static void sec_spectrum(page *p, const json_t *run, const char *pfx)
{
    static const char *const names[] = {"e2e", "e2e_sched", "ack"};
    enum { STEPS = 20 }; /* points per nine */
    double *xs[3] = {0}, *ys[3] = {0};
    size_t ns[3] = {0};
    char id[64];
    ev_hist *h = ev_hist_new();
    if (!h) {
        p->oom = 1;
        return;
    }
    snprintf(id, sizeof id, "%sspec", pfx);
    chart c = {.id = id,
               .title = "Latency percentile spectrum (whole run, log axes)",
               .yunit = "ms",
               .xunit = "percentile",
               .ylog = 1,
               .xnines = 1};
    for (int k = 0; k < 3; k++) {
        char path[48];
        snprintf(path, sizeof path, "latency.%s.hist", names[k]);
        ev_hist_reset(h);
        if (ev_jhist(run, path, h) || !ev_hist_count(h))
            continue;
        double top = log10((double)ev_hist_count(h));
        size_t n = (size_t)ceil(top * STEPS) + 2;
        xs[k] = calloc(n, sizeof(double));
        ys[k] = calloc(n, sizeof(double));
        if (!xs[k] || !ys[k]) {
            p->oom = 1;
            break;
        }
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            double nines = fmin((double)i / STEPS, top);
            xs[k][m] = nines;
            ys[k][m++] = (double)ev_hist_percentile(h, 100.0 * (1 - pow(10, -nines))) / 1e6;
            if (nines >= top)
                break;
        }
        xs[k][m] = top; /* the maximum */
        ys[k][m++] = (double)ev_hist_max(h) / 1e6;
        ns[k] = m;
        c.s[c.ns++] = (ser){names[k], k == 0 ? 0 : k == 1 ? 4 : 2, 0, xs[k], ys[k], m, NULL, NULL};
    }
    fputs("<h2>Latency percentiles</h2>\n", p->f);
    if (c.ns)
        draw(p, &c);
    else
        fputs("<p class=\"muted\">No latency was measured.</p>\n", p->f);
    (void)ns;
    fputs("<table><tr><th class=\"l\">metric</th><th>count</th><th>p50</th><th>p90</th>"
          "<th>p95</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th><th>mean</th>"
          "<th>out of range</th></tr>\n",
          p->f);
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)(uintptr_t)ev_jget(run, "latency"), key, v) {
        static const char *const cols[] = {"count", "p50",   "p90", "p95",  "p99",
                                           "p999",  "p9999", "max", "mean", "out_of_range"};
        fputs("<tr><td class=\"l\">", p->f);
        ev_fput_markup(p->f, key);
        fputs("</td>", p->f);
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
            fputs("<td>", p->f);
            cell(p->f, ev_jget(v, cols[i]));
            fputs("</td>", p->f);
        }
        fputs("</tr>\n", p->f);
    }
    fputs("</table><p class=\"muted\">milliseconds; counts are events</p>\n", p->f);
    for (int k = 0; k < 3; k++)
        free(xs[k]), free(ys[k]);
    ev_hist_free(h);
}

static void sec_stages(page *p, const json_t *run)
{
    FILE *f = p->f;
    const json_t *st = ev_jget(run, "stages"), *s;
    size_t i;
    if (!json_array_size(st))
        return;
    fputs("<h2>Stages</h2>\n<table><tr><th class=\"l\">phase</th><th>from s</th><th>to s</th>"
          "<th>sent</th><th>received</th><th>rate achieved</th><th>e2e p50</th>"
          "<th>e2e p99</th><th>e2e max</th><th>ack p99</th></tr>\n",
          f);
    json_array_foreach (st, i, s) {
        static const char *const cols[] = {"from_s",   "to_s",          "sent",
                                           "received", "rate_achieved", "e2e.p50",
                                           "e2e.p99",  "e2e.max",       "ack.p99"};
        fputs("<tr><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(s, "name"));
        fputs("</td>", f);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            fputs("<td>", f);
            cell(f, ev_jget(s, cols[k]));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table><p class=\"muted\">latencies in ms, over the stage's deliveries</p>\n", f);
}

/* The first (up to 5) ids an output's groups never saw: lost or pending
 * events, from the results as data (ledgers and publish record). */
static void missing_first(page *p, const json_t *run, const char *output, char *buf, size_t size)
{
    uint32_t lpi = (uint32_t)ev_jint(run, "data.lanes_per_instance");
    uint32_t ninst = (uint32_t)ev_jint(run, "data.instances");
    uint32_t nl = lpi * (ninst ? ninst : 1);
    ev_publane *pl = NULL;
    ev_iset m = EV_ISET_INIT;
    size_t used = 0, shown = 0;
    buf[0] = 0;
    const json_t *o;
    size_t oi;
    json_array_foreach (ev_jget(run, "deliver.outputs"), oi, o)
        if (!strcmp(ev_jstr(o, "name"), output) &&
            (!strncmp(ev_jstr(o, "expect"), "expect none", 11) ||
             !strncmp(ev_jstr(o, "expect"), "expect type", 11)))
            return; /* nothing is missing where nothing (or one type) is expected */
    if (!lpi || nl > (1u << 20) || !(pl = calloc(nl, sizeof *pl))) {
        p->oom |= lpi && nl <= (1u << 20);
        return;
    }
    for (uint32_t i = 0; i < nl; i++)
        pl[i].unknown = 1;
    if (ev_data_publanes_load(ev_jget(run, "data.publanes"), pl, nl, "results", NULL))
        goto out;
    size_t gi;
    const json_t *g;
    json_array_foreach (ev_jget(run, "data.groups"), gi, g) {
        if (strcmp(ev_jstr(g, "output"), output))
            continue;
        ev_ledger *l = NULL;
        if (ev_data_ledger_load(ev_jget(g, "ledger"), nl, "results", &l, NULL))
            continue;
        for (uint32_t lane = 0; lane < nl && shown < 5; lane++) {
            if (ev_ledger_missing_set(l, pl, lane, &m))
                break;
            for (size_t k = 0; k < m.n && shown < 5; k++)
                for (uint64_t q = m.v[k].lo; q <= m.v[k].hi && shown < 5; q++, shown++)
                    ev_text_put(buf, size, &used, "%s%s-%u-%u-%llu", shown ? ", " : "",
                                ev_jstr(run, "run.id"), lane / lpi, lane % lpi,
                                (unsigned long long)q);
        }
        ev_ledger_free(l);
    }
out:
    ev_iset_clear(&m);
    for (uint32_t i = 0; i < nl; i++)
        ev_iset_clear(&pl[i].failed);
    free(pl);
}

static const char *const CLASSES[] = {"delivered",   "late",      "pending",    "lost",
                                      "unconfirmed", "recovered", "duplicated", "redelivered",
                                      "reordered",   "corrupted", "foreign",    "unexpected"};
#define NCLASSES (sizeof CLASSES / sizeof CLASSES[0])

static void class_row(FILE *f, const json_t *o)
{
    for (size_t k = 0; k < NCLASSES; k++) {
        const json_t *v = ev_jget(o, CLASSES[k]);
        int bad = json_is_integer(v) && json_integer_value(v) > 0 &&
                  (!strcmp(CLASSES[k], "lost") || !strcmp(CLASSES[k], "corrupted"));
        fprintf(f, "<td%s>", bad ? " class=\"bad\"" : "");
        cell(f, v);
        fputs("</td>", f);
    }
}

/* One row per stream (results.streams[], a run with named streams): its
 * publish side and latencies, then its delivery classes. */
static void sec_streams(page *p, const json_t *run)
{
    FILE *f = p->f;
    const json_t *st = ev_jget(run, "streams"), *s;
    size_t i;
    if (!json_array_size(st))
        return;
    fputs("<h2>Streams</h2>\n<div class=\"wide\"><table><tr><th class=\"l\">stream</th>"
          "<th class=\"l\">event type</th><th>starts after s</th><th>lanes</th><th>expected</th>"
          "<th>acked</th><th>failed</th><th>rate target</th><th>rate achieved</th>"
          "<th>e2e p50</th><th>e2e p99</th><th>e2e max</th><th>ack p99</th></tr>\n",
          f);
    json_array_foreach (st, i, s) {
        static const char *const cols[] = {"start_after_s",   "lanes",           "expected",
                                           "acked",           "failed",          "rate_target",
                                           "rate_achieved",   "latency.e2e.p50", "latency.e2e.p99",
                                           "latency.e2e.max", "latency.ack.p99"};
        fputs("<tr class=\"stream\"><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(s, "name"));
        fputs("</td><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(s, "event_type"));
        fputs("</td>", f);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            fputs("<td>", f);
            cell(f, ev_jget(s, cols[k]));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n<div class=\"wide\"><table><tr><th class=\"l\">stream</th>", f);
    for (size_t k = 0; k < NCLASSES; k++)
        fprintf(f, "<th>%s</th>", CLASSES[k]);
    fputs("</tr>\n", f);
    json_array_foreach (st, i, s) {
        fputs("<tr><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(s, "name"));
        fputs("</td>", f);
        class_row(f, ev_jget(s, "deliver"));
        fputs("</tr>\n", f);
    }
    fputs("</table></div><p class=\"muted\">latencies in ms, over the stream's deliveries; "
          "classes over every output that expects the stream's events</p>\n",
          f);
}

static void sec_delivery(page *p, const json_t *run)
{
    FILE *f = p->f;
    fputs("<h2>Delivery</h2>\n", f);
    if (json_is_false(ev_jget(run, "deliver.verified"))) {
        fputs("<p class=\"muted\">Publish-only run (verify.groups 0): nothing was looked at, "
              "so no class is reported.</p>\n",
              f);
        return;
    }
    fputs("<div class=\"wide\"><table><tr><th class=\"l\">output</th>", f);
    for (size_t k = 0; k < NCLASSES; k++)
        fprintf(f, "<th>%s</th>", CLASSES[k]);
    fputs("</tr>\n", f);
    size_t i;
    const json_t *o;
    const json_t *outs = ev_jget(run, "deliver.outputs");
    json_array_foreach (outs, i, o) {
        fputs("<tr><td class=\"l\">", f);
        ev_fput_markup(f, *ev_jstr(o, "name") ? ev_jstr(o, "name") : "(target)");
        fputs("</td>", f);
        class_row(f, o);
        fputs("</tr>\n", f);
    }
    fputs("<tr><th class=\"l\">total</th>", f);
    class_row(f, ev_jget(run, "deliver"));
    fputs("</tr></table></div>\n", f);
    json_array_foreach (outs, i, o) {
        char miss[512];
        const char *name = ev_jstr(o, "name");
        fputs("<p><b>", f);
        ev_fput_markup(f, *name ? name : "(target)");
        fputs("</b> at <code>", f);
        ev_fput_markup(f, ev_jstr(o, "source"));
        fputs("</code> · ", f);
        ev_fput_markup(f, ev_jstr(o, "expect"));
        fputs(" · match ", f);
        ev_fput_markup(f, ev_jstr(o, "match"));
        if (json_is_true(ev_jget(o, "integrity_checked")))
            fputs(" · checksums checked", f);
        missing_first(p, run, name, miss, sizeof miss);
        if (miss[0]) {
            fputs("<br>first missing ids (lost or pending): <code>", f);
            ev_fput_markup(f, miss);
            fputs("</code>", f);
        }
        fputs("</p>\n", f);
    }
    const json_t *groups = ev_jget(run, "deliver.groups");
    if (json_array_size(groups) > 1) {
        fputs("<h3>Groups</h3><div class=\"wide\"><table><tr><th class=\"l\">group</th>", f);
        for (size_t k = 0; k < NCLASSES; k++)
            fprintf(f, "<th>%s</th>", CLASSES[k]);
        fputs("</tr>\n", f);
        json_array_foreach (groups, i, o) {
            fputs("<tr><td class=\"l\">", f);
            ev_fput_markup(f, ev_jstr(o, "name"));
            fputs("</td>", f);
            class_row(f, o);
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
    char b[48];
    fprintf(f,
            "<p class=\"muted\">settled after %s s%s; %s first sightings without a send time</p>\n",
            fnum(ev_jnum(run, "deliver.settle_s"), b, sizeof b),
            json_is_true(ev_jget(run, "deliver.drain_timed_out")) ? " (drain timed out)" : "",
            fint(ev_jint(run, "deliver.no_latency"), b, sizeof b));
}

/* Numeric keys of timeseries[].broker in first-seen order (at most max). */
static size_t broker_keys(const json_t *ts, const char **keys, size_t max)
{
    size_t n = 0, i;
    const json_t *tp;
    json_array_foreach (ts, i, tp) {
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)(uintptr_t)ev_jget(tp, "broker"), k, v) {
            size_t j = 0;
            while (j < n && strcmp(keys[j], k))
                j++;
            if (j == n && n < max && json_is_number(v))
                keys[n++] = k;
        }
    }
    return n;
}

static void sec_backpressure(page *p, const json_t *run, const char *pfx)
{
    FILE *f = p->f;
    tcols c;
    char id[64], b[48];
    double *blocked = NULL;
    if (tcols_load(p, run, &c))
        goto out;
    fputs("<h2>Backpressure</h2>\n", f);
    fprintf(f, "<p>max in-flight %s · max depth ",
            fint(ev_jint(run, "backpressure.max_in_flight"), b, sizeof b));
    cell(f, ev_jget(run, "backpressure.max_depth"));
    fprintf(f, " · publishers blocked %s s in all</p>\n",
            fnum(ev_jnum(run, "backpressure.blocked_s"), b, sizeof b));
    snprintf(id, sizeof id, "%sbp", pfx);
    chart ch = {.id = id,
                .title = "In flight (published, not yet acknowledged) and broker depth",
                .yunit = "events",
                .xunit = "seconds since publishing started"};
    ch.s[ch.ns++] = (ser){"in flight", 0, 0, c.t, c.infl, c.n, NULL, NULL};
    ch.s[ch.ns++] = (ser){"depth", 3, 0, c.t, c.depth, c.n, NULL, NULL};
    draw(p, &ch);
    if (!(blocked = calloc(c.n ? c.n : 1, sizeof *blocked))) {
        p->oom = 1;
        goto out;
    }
    for (size_t i = 0; i < c.n; i++)
        blocked[i] = i ? c.blocked[i] - c.blocked[i - 1] : c.blocked[i];
    snprintf(id, sizeof id, "%sblk", pfx);
    chart bl = {.id = id,
                .title = "Time the publishers spent blocked on a full in-flight window, per "
                         "second",
                .yunit = "s",
                .xunit = "seconds since publishing started"};
    bl.s[bl.ns++] = (ser){"blocked", 1, 0, c.t, blocked, c.n, NULL, NULL};
    draw(p, &bl);
out:
    free(blocked);
    tcols_free(&c);
}

static void sec_broker(page *p, const json_t *run, const char *pfx)
{
    FILE *f = p->f;
    const json_t *ts = ev_jget(run, "timeseries");
    const char *keys[7];
    size_t nk = broker_keys(ts, keys, 7), n = json_array_size(ts);
    fputs("<h2>The broker's own figures</h2>\n", f);
    const char *name;
    const json_t *o;
    int any = 0;
    json_object_foreach ((json_t *)(uintptr_t)ev_jget(run, "broker"), name, o) {
        const char *k;
        const json_t *v;
        fputs("<h3>", f);
        ev_fput_markup(f, name);
        fputs("</h3><table>", f);
        json_object_foreach ((json_t *)(uintptr_t)o, k, v) {
            fputs("<tr><th class=\"l\">", f);
            ev_fput_markup(f, k);
            fputs("</th><td>", f);
            if (json_is_object(v) || json_is_array(v)) {
                char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                ev_fput_markup(f, s ? s : "");
                free(s);
            } else {
                cell(f, v);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        any = 1;
    }
    const json_t *bpb = ev_jget(run, "backpressure.broker");
    if (json_object_size(bpb)) {
        const char *k;
        const json_t *v;
        fputs("<h3>Highest over the run</h3><table>", f);
        json_object_foreach ((json_t *)(uintptr_t)bpb, k, v) {
            fputs("<tr><th class=\"l\">", f);
            ev_fput_markup(f, k);
            fputs("</th><td>", f);
            cell(f, v);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    if (nk && n) {
        double *t = col(p, ts, "t", n), *ys[7] = {0};
        char id[64];
        snprintf(id, sizeof id, "%sbrk", pfx);
        chart c = {.id = id,
                   .title = "Per second, as the broker or the watched hops report it",
                   .yunit = "",
                   .xunit = "seconds since publishing started"};
        for (size_t k = 0; t && k < nk; k++) {
            char path[96];
            snprintf(path, sizeof path, "broker.%s", keys[k]);
            if (strchr(keys[k], '.')) { /* a key with a dot: no path through it */
                if (!(ys[k] = calloc(n, sizeof(double)))) {
                    p->oom = 1;
                    break;
                }
                for (size_t i = 0; i < n; i++) {
                    const json_t *v =
                        json_object_get(ev_jget(json_array_get(ts, i), "broker"), keys[k]);
                    ys[k][i] = json_is_number(v) ? json_number_value(v) : (double)NAN;
                }
            } else if (!(ys[k] = col(p, ts, path, n))) {
                break;
            }
            c.s[c.ns++] = (ser){keys[k], (int)k, 0, t, ys[k], n, NULL, NULL};
        }
        if (!p->oom)
            draw(p, &c);
        free(t);
        for (size_t k = 0; k < nk; k++)
            free(ys[k]);
        any = 1;
    }
    if (!any)
        fputs("<p class=\"muted\">The broker reported nothing of its own.</p>\n", f);
}

static void hist_tip(FILE *f, const void *ud, size_t i)
{
    const json_t *e = json_array_get((const json_t *)ud, i);
    char a[48], b[48];
    ev_fput_markup(f, ev_jstr(e, "run_id"));
    fputs(" ", f);
    ev_fput_markup(f, ev_jstr(e, "started"));
    fprintf(f, ": e2e p99 %s ms, throughput %s/s, lost ", fnum(ev_jnum(e, "e2e_p99"), a, sizeof a),
            fnum(ev_jnum(e, "throughput"), b, sizeof b));
    cell(f, ev_jget(e, "lost"));
}

static void sec_history(page *p, const json_t *hist, const char *pfx)
{
    FILE *f = p->f;
    size_t n = json_array_size(hist), i;
    const json_t *e;
    if (!n)
        return;
    fprintf(f,
            "<h2>History</h2>\n<p class=\"muted\">%zu run%s of this history, oldest first; "
            "the last is this one</p>\n",
            n, n == 1 ? "" : "s");
    double *x = calloc(n, sizeof *x), *p50 = calloc(n, sizeof *x), *p99 = calloc(n, sizeof *x),
           *thr = calloc(n, sizeof *x), *lost = calloc(n, sizeof *x);
    const char **cats = calloc(n, sizeof *cats);
    char id[64];
    if (!x || !p50 || !p99 || !thr || !lost || !cats) {
        p->oom = 1;
        goto out;
    }
    json_array_foreach (hist, i, e) {
        x[i] = (double)i;
        cats[i] = ev_jstr(e, "run_id");
        const json_t *v;
        p50[i] = json_is_number(v = ev_jget(e, "e2e_p50")) ? json_number_value(v) : (double)NAN;
        p99[i] = json_is_number(v = ev_jget(e, "e2e_p99")) ? json_number_value(v) : (double)NAN;
        thr[i] = json_is_number(v = ev_jget(e, "throughput")) ? json_number_value(v) : (double)NAN;
        lost[i] = json_is_number(v = ev_jget(e, "lost")) ? json_number_value(v) : (double)NAN;
    }
    snprintf(id, sizeof id, "%shlat", pfx);
    chart c = {.id = id,
               .title = "e2e latency across runs",
               .yunit = "ms",
               .xunit = "run",
               .cats = n <= 12 ? cats : NULL,
               .ncats = n};
    c.s[c.ns++] = (ser){"p50", 0, 0, x, p50, n, NULL, NULL};
    c.s[c.ns++] = (ser){"p99", 3, 0, x, p99, n, hist_tip, hist};
    draw(p, &c);
    snprintf(id, sizeof id, "%shthr", pfx);
    chart t = {.id = id,
               .title = "Throughput and lost events across runs",
               .yunit = "events/s · events",
               .xunit = "run",
               .cats = n <= 12 ? cats : NULL,
               .ncats = n};
    t.s[t.ns++] = (ser){"throughput", 2, 0, x, thr, n, hist_tip, hist};
    t.s[t.ns++] = (ser){"lost", 1, 0, x, lost, n, NULL, NULL};
    draw(p, &t);
    fputs("<table><tr><th class=\"l\">run</th><th class=\"l\">started</th><th class=\"l\">"
          "verdict</th><th>rate achieved</th><th>throughput</th><th>e2e p50</th>"
          "<th>e2e p99</th><th>lost</th></tr>\n",
          f);
    for (i = n > 20 ? n - 20 : 0; i < n; i++) {
        e = json_array_get(hist, i);
        static const char *const cols[] = {"rate_achieved", "throughput", "e2e_p50", "e2e_p99",
                                           "lost"};
        fputs("<tr><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(e, "run_id"));
        fputs("</td><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(e, "started"));
        fputs("</td><td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(e, "verdict"));
        fputs("</td>", f);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            fputs("<td>", f);
            cell(f, ev_jget(e, cols[k]));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
out:
    free(x), free(p50), free(p99), free(thr), free(lost), free(cats);
}

static void kv_table(FILE *f, const json_t *o, const char *const *skip)
{
    const char *k;
    const json_t *v;
    fputs("<table>", f);
    json_object_foreach ((json_t *)(uintptr_t)o, k, v) {
        int s = 0;
        for (size_t i = 0; skip && skip[i]; i++)
            s |= !strcmp(skip[i], k);
        if (s || json_is_object(v) || json_is_array(v))
            continue;
        fputs("<tr><th class=\"l\">", f);
        ev_fput_markup(f, k);
        fputs("</th><td class=\"l\">", f);
        cell(f, v);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void sec_scenario(page *p, const json_t *run)
{
    FILE *f = p->f;
    fputs("<h2>Scenario and environment</h2>\n<h3>Run</h3>\n", f);
    kv_table(f, ev_jget(run, "run"), NULL);
    fputs("<h3>Publish</h3>\n", f);
    kv_table(f, ev_jget(run, "publish"), NULL);
    fputs("<h3>Outputs verified</h3>\n<table><tr><th class=\"l\">name</th><th class=\"l\">"
          "source</th><th class=\"l\">expect</th><th class=\"l\">match</th><th>copies</th></tr>\n",
          f);
    size_t i;
    const json_t *o;
    json_array_foreach (ev_jget(run, "deliver.outputs"), i, o) {
        static const char *const cols[] = {"name", "source", "expect", "match", "copies"};
        fputs("<tr>", f);
        for (size_t k = 0; k < 5; k++) {
            fputs(k < 4 ? "<td class=\"l\">" : "<td>", f);
            cell(f, ev_jget(o, cols[k]));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<h3>Environment</h3>\n", f);
    kv_table(f, ev_jget(run, "environment"), NULL);
    fputs("<p class=\"muted\">evload ", f);
    ev_fput_markup(f, ev_jstr(run, "evload.version"));
    fputs(" · results schema ", f);
    cell(f, ev_jget(run, "schema"));
    fputs("</p>\n", f);
}

static void run_sections(page *p, const json_t *run, const json_t *history, const char *pfx,
                         int level)
{
    sec_head(p, run, level);
    sec_thresholds(p, run, pfx);
    sec_figures(p, run);
    sec_charts(p, run, pfx);
    sec_spectrum(p, run, pfx);
    sec_stages(p, run);
    sec_streams(p, run);
    sec_delivery(p, run);
    sec_backpressure(p, run, pfx);
    sec_broker(p, run, pfx);
    sec_history(p, history, pfx);
    sec_scenario(p, run);
}

/* ---- sweeps ----------------------------------------------------------- */

static void sweep_sections(page *p, const json_t *doc)
{
    FILE *f = p->f;
    const json_t *rows = ev_jget(doc, "sweep.rows"), *runs = ev_jget(doc, "runs"), *r;
    const char *key = ev_jstr(doc, "sweep.key"), *knee = ev_jstr(doc, "sweep.knee");
    size_t n = json_array_size(rows), i;
    const char *worst = "pass";
    json_array_foreach (runs, i, r) {
        const char *v = ev_jstr(r, "verdict");
        if (strcmp(v, "pass") && (strcmp(worst, "pass") == 0 || strcmp(v, "fail")))
            worst = v;
    }
    char v[32], id[64];
    upper(worst, v, sizeof v);
    fputs("<h1>Sweep over ", f);
    ev_fput_markup(f, key);
    fputs(" <span class=\"muted\">", f);
    ev_fput_markup(f, ev_jstr(json_array_get(runs, 0), "run.scenario"));
    fprintf(f, "</span></h1>\n<p><span class=\"verdict %s\">%s</span> &nbsp;%zu runs · knee: ",
            verdict_class(worst), v, json_array_size(runs));
    if (*knee) {
        ev_fput_markup(f, key);
        fputs("=", f);
        ev_fput_markup(f, knee);
    } else {
        fputs("not reached", f);
    }
    fputs("</p>\n", f);
    double *x = calloc(n ? n : 1, sizeof *x), *thr = calloc(n ? n : 1, sizeof *x),
           *p95 = calloc(n ? n : 1, sizeof *x);
    const char **cats = calloc(n ? n : 1, sizeof *cats);
    if (!x || !thr || !p95 || !cats) {
        p->oom = 1;
        goto out;
    }
    int kidx = -1;
    json_array_foreach (rows, i, r) {
        const json_t *val = ev_jget(r, "value");
        x[i] = (double)i;
        cats[i] = json_is_string(val) ? json_string_value(val) : "?";
        thr[i] = json_is_number(ev_jget(r, "throughput")) ? ev_jnum(r, "throughput") : (double)NAN;
        p95[i] = json_is_number(ev_jget(r, "e2e_p95")) ? ev_jnum(r, "e2e_p95") : (double)NAN;
        if (*knee && !strcmp(cats[i], knee))
            kidx = (int)i;
    }
    fputs("<h2>Scaling</h2>\n", f);
    chart t = {.id = "sweepthr",
               .title = "Throughput against the swept value",
               .yunit = "events/s per group",
               .xunit = key,
               .cats = cats,
               .ncats = n,
               .has_mark = kidx >= 0,
               .mark = kidx,
               .mark_label = "knee"};
    t.s[t.ns++] = (ser){"throughput", 2, 0, x, thr, n, NULL, NULL};
    draw(p, &t);
    chart l = {.id = "sweeplat",
               .title = "e2e p95 against the swept value",
               .yunit = "ms",
               .xunit = key,
               .ylog = 1,
               .cats = cats,
               .ncats = n,
               .has_mark = kidx >= 0,
               .mark = kidx,
               .mark_label = "knee"};
    l.s[l.ns++] = (ser){"e2e p95", 3, 0, x, p95, n, NULL, NULL};
    draw(p, &l);
    fputs("<table><tr><th class=\"l\">", f);
    ev_fput_markup(f, key);
    fputs("</th><th>throughput/s</th><th>e2e p95 ms</th><th>lost</th><th>efficiency</th>"
          "<th class=\"l\">verdict</th><th class=\"l\">run</th></tr>\n",
          f);
    json_array_foreach (rows, i, r) {
        static const char *const cols[] = {"throughput", "e2e_p95", "lost", "efficiency"};
        fputs("<tr><td class=\"l\">", f);
        cell(f, ev_jget(r, "value"));
        fputs("</td>", f);
        for (size_t k = 0; k < 4; k++) {
            fputs("<td>", f);
            cell(f, ev_jget(r, cols[k]));
            fputs("</td>", f);
        }
        fputs("<td class=\"l\">", f);
        ev_fput_markup(f, ev_jstr(r, "verdict"));
        fprintf(f, "</td><td class=\"l\"><a href=\"#run%zu\">run %zu</a></td></tr>\n", i, i + 1);
    }
    fputs("</table><p class=\"muted\">efficiency: throughput gained against linear scaling "
          "from the first value; the knee is the last value before it falls below 0.75</p>\n",
          f);
    json_array_foreach (runs, i, r) {
        char pfx[32];
        snprintf(pfx, sizeof pfx, "run%zu-", i);
        snprintf(id, sizeof id, "run%zu", i);
        fprintf(f, "<section class=\"run\" id=\"%s\"><h2>Run %zu: ", id, i + 1);
        ev_fput_markup(f, key);
        fputs("=", f);
        cell(f, ev_jget(json_array_get(rows, i), "value"));
        fputs("</h2>\n", f);
        run_sections(p, r, NULL, pfx, 3);
        fputs("</section>\n", f);
    }
out:
    free(x), free(thr), free(p95), free(cats);
}

int ev_html_write(FILE *f, const json_t *doc, const json_t *history, ev_err *err)
{
    page P = {.f = f}, *p = &P;
    int sweep = json_is_array(ev_jget(doc, "runs")) && json_is_object(ev_jget(doc, "sweep"));
    if (!sweep && !json_is_object(ev_jget(doc, "run")))
        return ev_err_set(err, EV_EUSAGE,
                          "not an evload results document (no \"run\" and no \"sweep\")");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>evload · ",
          f);
    if (sweep) {
        fputs("sweep over ", f);
        ev_fput_markup(f, ev_jstr(doc, "sweep.key"));
    } else {
        ev_fput_markup(f, ev_jstr(doc, "run.scenario"));
        fputs(" · ", f);
        ev_fput_markup(f, ev_jstr(doc, "verdict"));
    }
    fprintf(f, "</title>\n<style>\n%s</style></head><body>\n", CSS);
    if (sweep)
        sweep_sections(p, doc);
    else
        run_sections(p, doc, history, "", 1);
    fputs("<p class=\"muted\">Drawn by evload from the results file alone "
          "(<code>evload report</code> redraws it); docs/reports.md says how to read it.</p>\n"
          "</body></html>\n",
          f);
    if (p->oom)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    if (ferror(f))
        return ev_err_set(err, EV_EINTERNAL, "write error");
    return EV_OK;
}
