/* ev_threshold — k6-style pass/fail expressions (see ev_threshold.h).
 *
 * Design notes
 * - The grammar is tiny, so the parser is hand-written over the expression
 *   text: AGG, optional spaces, OP, optional spaces, NUMBER, optional spaces.
 *   Spaces are allowed between tokens because k6 allows them ("p(95) < 3000").
 * - The metric decides which aggregates make sense: latencies (ms) take
 *   p(N)/avg/min/med/max/count, counters take count/rate. An aggregate that
 *   does not apply is an error rather than a threshold that can never be
 *   evaluated, so a typo is caught by `evload check`, not at the end of a run.
 * - The metric is checked before the expression, so ev_threshold_parse(metric,
 *   "", …) is a way to get the "unknown metric; did you mean …" message.
 * - Every error is one line: what is wrong, then what was expected. The
 *   caller adds the file position. */
#include "ev_threshold.h"

#include "ev_drift.h"
#include "ev_hist.h"
#include "ev_metrics.h"
#include "ev_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ev_tag_name(ev_tag t)
{
    return t == EV_TAG_STREAM ? "stream" : t == EV_TAG_OUTPUT ? "output" : "stage";
}

/* "NAME" or "NAME{KEY:VALUE}" into its parts; -1 when the braces are not
 * that shape (the caller words the error), -2 for an unknown KEY. */
static int split_tag(const char *full, char *base, size_t bsize, ev_tag *tag, char *val,
                     size_t vsize)
{
    const char *br = strchr(full, '{');
    *tag = EV_TAG_NONE;
    val[0] = '\0';
    size_t bl = br ? (size_t)(br - full) : strlen(full);
    if (bl >= bsize)
        bl = bsize - 1;
    memcpy(base, full, bl);
    base[bl] = '\0';
    if (!br)
        return 0;
    const char *colon = strchr(br, ':'), *end = br + strlen(br) - 1;
    if (!colon || *end != '}' || colon + 1 >= end || (size_t)(end - colon - 1) >= vsize ||
        memchr(colon + 1, '{', (size_t)(end - colon - 1)) ||
        memchr(colon + 1, '}', (size_t)(end - colon - 1)))
        return -1;
    size_t kl = (size_t)(colon - br - 1);
    static const struct {
        const char *k;
        ev_tag t;
    } keys[] = {{"stream", EV_TAG_STREAM}, {"output", EV_TAG_OUTPUT}, {"stage", EV_TAG_STAGE}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (kl == strlen(keys[i].k) && !strncmp(br + 1, keys[i].k, kl))
            *tag = keys[i].t;
    if (*tag == EV_TAG_NONE)
        return -2;
    memcpy(val, colon + 1, (size_t)(end - colon - 1));
    val[end - colon - 1] = '\0';
    return 0;
}

/* 1 if metric id can be selected by tag t (see ev_threshold.h). */
static int tag_applies(ev_tag t, int id)
{
    switch (t) {
    case EV_TAG_NONE:
        return 1;
    case EV_TAG_STREAM:
        return id != EV_METRIC_queue_wait && id != EV_METRIC_processing &&
               id != EV_METRIC_foreign && id != EV_METRIC_unexpected && !ev_metrics[id].seconds;
    case EV_TAG_OUTPUT:
        return id == EV_METRIC_e2e || id == EV_METRIC_e2e_sched ||
               (!ev_metrics[id].latency && !ev_metrics[id].seconds);
    case EV_TAG_STAGE:
        return id == EV_METRIC_e2e || id == EV_METRIC_ack || id == EV_METRIC_recovery;
    }
    return 0;
}

/* "drift{metric:NAME}" → 1 + the ev_drift_metric; 0 when name is not a
 * drift metric at all; -1 when it is "drift" with a bad or missing tag. */
static int drift_metric(const char *name)
{
    if (strncmp(name, "drift", 5) || (name[5] && name[5] != '{'))
        return 0;
    static const char pre[] = "drift{metric:";
    size_t pl = sizeof pre - 1, n = strlen(name);
    if (n <= pl + 1 || strncmp(name, pre, pl) || name[n - 1] != '}')
        return -1;
    char v[32];
    if (n - pl - 1 >= sizeof v)
        return -1;
    memcpy(v, name + pl, n - pl - 1);
    v[n - pl - 1] = '\0';
    int m = ev_drift_find(v);
    return m < 0 ? -1 : m + 1;
}

/* Returns 1 for a latency metric, 0 for a counter, 2 for seconds (recovery),
 * -1 if unknown (the base name, or a malformed or misapplied tag). */
static int metric_kind(const char *name)
{
    char base[32], val[EV_TAG_VALUE_MAX + 1];
    ev_tag t;
    if (split_tag(name, base, sizeof base, &t, val, sizeof val))
        return -1;
    int id = ev_metric_find(base);
    return id < 0 || !tag_applies(t, id) ? -1 : ev_metrics[id].seconds ? 2 : ev_metrics[id].latency;
}

int ev_threshold_metric_known(const char *name)
{
    return name && (drift_metric(name) > 0 || metric_kind(name) >= 0);
}

int ev_threshold_publish_side(const char *name)
{
    char base[32], val[EV_TAG_VALUE_MAX + 1];
    ev_tag t;
    int d = name ? drift_metric(name) : 0; /* evload's memory, what it sent, the broker's */
    if (d)
        return d > 0 && d - 1 != EV_DRIFT_P99;
    if (!name || split_tag(name, base, sizeof base, &t, val, sizeof val))
        return 0;
    int id = ev_metric_find(base);
    return id >= 0 && ev_metrics[id].side == EV_SIDE_PUBLISH;
}

/* Why a tagged metric is not accepted (its base is known). */
static int bad_tag(const char *metric, ev_err *err)
{
    char base[32], val[EV_TAG_VALUE_MAX + 1], shown[EV_SHOW_SIZE(60)];
    ev_tag t;
    int rc = split_tag(metric, base, sizeof base, &t, val, sizeof val);
    ev_show(metric, 60, shown, sizeof shown);
    if (rc == -2)
        return ev_err_set(err, EV_EUSAGE,
                          "threshold metric \"%s\": unknown tag; expected {stream:NAME}, "
                          "{output:NAME} or {stage:NAME}",
                          shown);
    if (rc)
        return ev_err_set(err, EV_EUSAGE,
                          "threshold metric \"%s\": expected METRIC{KEY:VALUE} with one tag, "
                          "e.g. \"e2e{stream:parser}\"",
                          shown);
    static const char *const which[] = {
        "", "every metric but queue_wait, processing, foreign, unexpected and recovery",
        "the counters, e2e and e2e_sched", "e2e, ack and recovery"};
    return ev_err_set(err, EV_EUSAGE, "threshold metric \"%s\": {%s:…} applies to %s", shown,
                      ev_tag_name(t), which[t]);
}

static int unknown_metric(const char *metric, ev_err *err)
{
    const char *all[EV_METRIC_COUNT];
    for (size_t i = 0; i < EV_METRIC_COUNT; i++)
        all[i] = ev_metrics[i].name;
    const char *near = ev_nearest(metric, all, EV_METRIC_COUNT);
    char shown[EV_SHOW_SIZE(40)];
    ev_show(metric, 40, shown, sizeof shown);
    metric = shown;
    if (near)
        return ev_err_set(err, EV_EUSAGE, "unknown threshold metric \"%s\"; did you mean \"%s\"?",
                          metric, near);
    char lat[256], cnt[512], sec[128];
    ev_metric_names(1, lat, sizeof lat);
    ev_metric_names(0, cnt, sizeof cnt);
    ev_metric_names(2, sec, sizeof sec);
    return ev_err_set(err, EV_EUSAGE,
                      "unknown threshold metric \"%s\"; expected a latency (%s), a counter (%s) "
                      "or a time in seconds (%s)",
                      metric, lat, cnt, sec);
}

/* The "expected …" half of every expression error, by metric kind. */
static int bad_expr(const char *metric, int latency, const char *expr, const char *detail,
                    ev_err *err)
{
    char shown[EV_SHOW_SIZE(60)];
    ev_show(expr, 60, shown, sizeof shown);
    const char *open = detail ? " (" : "", *close = detail ? ")" : "";
    if (latency == 2)
        return ev_err_set(err, EV_EUSAGE,
                          "bad threshold \"%s\" for %s%s%s%s; expected AGG OP DURATION with AGG "
                          "one of max, min, avg (over the stage boundaries where the rate drops) "
                          "and DURATION in s (the default), ms or m, e.g. \"max<300s\"",
                          shown, metric, open, detail ? detail : "", close);
    if (latency)
        return ev_err_set(err, EV_EUSAGE,
                          "bad threshold \"%s\" for %s%s%s%s; expected AGG OP NUMBER with AGG one "
                          "of p(N), avg, min, med, max, count and OP one of < <= > >= == != "
                          "(latencies in ms), e.g. \"p(95)<3000\"",
                          shown, metric, open, detail ? detail : "", close);
    return ev_err_set(err, EV_EUSAGE,
                      "bad threshold \"%s\" for %s%s%s%s; expected AGG OP NUMBER with AGG one of "
                      "count, rate and OP one of < <= > >= == !=, e.g. \"count==0\", "
                      "\"rate<0.01\"",
                      shown, metric, open, detail ? detail : "", close);
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parses a plain decimal number (no hex, inf or nan, which strtod would
 * accept) starting at s. Returns the end, or NULL if there is no number. */
static const char *parse_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return NULL;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(d))
        return NULL;
    for (const char *q = s; q < end; q++)
        if (!isdigit((unsigned char)*q) && !strchr("+-.eE", *q))
            return NULL; /* "0x10" */
    *out = d;
    return end;
}

/* drift{metric:NAME} takes one aggregate, slope (% of the mean per hour). */
static int parse_drift(const char *metric, int d, const char *expr, ev_threshold *out, ev_err *err)
{
    char shown[EV_SHOW_SIZE(60)], ex[EV_SHOW_SIZE(60)];
    ev_show(metric, 60, shown, sizeof shown);
    if (d < 0)
        return ev_err_set(err, EV_EUSAGE,
                          "threshold metric \"%s\": expected drift{metric:NAME} with NAME one of "
                          "p99, throughput, rss, broker_memory, e.g. \"drift{metric:rss}\"",
                          shown);
    if (!expr)
        expr = "";
    ev_show(expr, 60, ex, sizeof ex);
    ev_threshold t;
    memset(&t, 0, sizeof t);
    const char *s = skip_spaces(expr);
    if (strlen(expr) >= sizeof t.expr || strncmp(s, "slope", 5))
        goto bad;
    s = skip_spaces(s + 5);
    if (s[0] == '<' && s[1] == '=')
        t.op = EV_OP_LE, s += 2;
    else if (s[0] == '>' && s[1] == '=')
        t.op = EV_OP_GE, s += 2;
    else if (s[0] == '<')
        t.op = EV_OP_LT, s += 1;
    else if (s[0] == '>')
        t.op = EV_OP_GT, s += 1;
    else
        goto bad;
    const char *end = parse_number(skip_spaces(s), &t.bound);
    if (!end)
        goto bad;
    end = skip_spaces(end);
    if (*end == '%')
        end = skip_spaces(end + 1);
    if (*end)
        goto bad;
    snprintf(t.metric, sizeof t.metric, "%s", metric);
    snprintf(t.base, sizeof t.base, "drift");
    t.id = -1;
    t.agg = EV_AGG_SLOPE;
    t.drift = d;
    memcpy(t.expr, expr, strlen(expr) + 1);
    *out = t;
    return EV_OK;
bad:
    return ev_err_set(err, EV_EUSAGE,
                      "bad threshold \"%s\" for %s; expected slope OP NUMBER with OP one of < <= "
                      "> >= (the slope in %% of the series' mean per hour, 0 when flat), e.g. "
                      "\"slope<5\"",
                      ex, shown);
}

int ev_threshold_parse(const char *metric, const char *expr, ev_threshold *out, ev_err *err)
{
    char base[32], val[EV_TAG_VALUE_MAX + 1];
    ev_tag tag = EV_TAG_NONE;
    if (!metric)
        return unknown_metric("", err);
    int d = drift_metric(metric);
    if (d)
        return parse_drift(metric, d, expr, out, err);
    (void)split_tag(metric, base, sizeof base, &tag, val, sizeof val); /* base is always set */
    if (ev_metric_find(base) < 0)
        return unknown_metric(base, err);
    int kind = metric_kind(metric);
    if (kind < 0)
        return bad_tag(metric, err);
    if (!expr)
        expr = "";
    if (strlen(expr) >= sizeof out->expr)
        return bad_expr(metric, kind, expr, "longer than 95 characters", err);

    ev_threshold t;
    memset(&t, 0, sizeof t);
    snprintf(t.metric, sizeof t.metric, "%s", metric);
    snprintf(t.base, sizeof t.base, "%s", base);
    t.id = ev_metric_find(base);
    t.tag = tag;
    snprintf(t.tag_value, sizeof t.tag_value, "%s", val);
    memcpy(t.expr, expr, strlen(expr) + 1);
    t.latency = kind == 1;

    const char *s = skip_spaces(expr);
    size_t w = 0;
    while (s[w] >= 'a' && s[w] <= 'z')
        w++;
    if (w == 1 && s[0] == 'p') {
        const char *q = skip_spaces(s + 1);
        if (*q != '(')
            return bad_expr(metric, kind, expr, "p needs a percentile, as in p(95)", err);
        q = parse_number(skip_spaces(q + 1), &t.pct);
        if (!q)
            return bad_expr(metric, kind, expr, "p needs a percentile, as in p(95)", err);
        q = skip_spaces(q);
        if (*q != ')')
            return bad_expr(metric, kind, expr, "missing ')' after the percentile", err);
        if (!(t.pct > 0 && t.pct <= 100))
            return bad_expr(metric, kind, expr, "the percentile must be > 0 and <= 100", err);
        t.agg = EV_AGG_P;
        s = q + 1;
    } else {
        static const struct {
            const char *name;
            ev_agg agg;
        } aggs[] = {{"count", EV_AGG_COUNT}, {"rate", EV_AGG_RATE}, {"avg", EV_AGG_AVG},
                    {"min", EV_AGG_MIN},     {"med", EV_AGG_MED},   {"max", EV_AGG_MAX}};
        size_t i;
        for (i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
            if (w == strlen(aggs[i].name) && strncmp(s, aggs[i].name, w) == 0)
                break;
        if (i == sizeof aggs / sizeof aggs[0])
            return bad_expr(metric, kind, expr, w ? "unknown aggregate" : "no aggregate", err);
        t.agg = aggs[i].agg;
        s += w;
    }
    if (kind == 2 && t.agg != EV_AGG_MAX && t.agg != EV_AGG_MIN && t.agg != EV_AGG_AVG)
        return bad_expr(metric, kind, expr, "only max, min and avg apply to recovery", err);
    if (kind == 1 && t.agg == EV_AGG_RATE)
        return bad_expr(metric, kind, expr, "rate does not apply to a latency", err);
    if (kind == 0 && t.agg != EV_AGG_COUNT && t.agg != EV_AGG_RATE)
        return bad_expr(metric, kind, expr, "only count and rate apply to a counter", err);

    s = skip_spaces(s);
    if (s[0] == '<' && s[1] == '=')
        t.op = EV_OP_LE, s += 2;
    else if (s[0] == '>' && s[1] == '=')
        t.op = EV_OP_GE, s += 2;
    else if (s[0] == '=' && s[1] == '=')
        t.op = EV_OP_EQ, s += 2;
    else if (s[0] == '!' && s[1] == '=')
        t.op = EV_OP_NE, s += 2;
    else if (s[0] == '<')
        t.op = EV_OP_LT, s += 1;
    else if (s[0] == '>')
        t.op = EV_OP_GT, s += 1;
    else
        return bad_expr(metric, kind, expr, "no comparison operator", err);
    if (*s == '=')
        return bad_expr(metric, kind, expr, "unknown operator", err);

    const char *end = parse_number(skip_spaces(s), &t.bound);
    if (end && kind == 2) { /* seconds, or a unit: "300s", "500ms", "5m" */
        if (end[0] == 'm' && end[1] == 's')
            t.bound /= 1000.0, end += 2;
        else if (end[0] == 's')
            end += 1;
        else if (end[0] == 'm')
            t.bound *= 60.0, end += 1;
    }
    if (!end || *skip_spaces(end) != '\0')
        return bad_expr(metric, kind, expr,
                        kind == 2 ? "the bound is not a duration" : "the bound is not a number",
                        err);

    *out = t;
    return EV_OK;
}

int ev_threshold_holds(const ev_threshold *t, double value)
{
    switch (t->op) {
    case EV_OP_LT:
        return value < t->bound;
    case EV_OP_LE:
        return value <= t->bound;
    case EV_OP_GT:
        return value > t->bound;
    case EV_OP_GE:
        return value >= t->bound;
    case EV_OP_EQ:
        return value == t->bound; /* exact: meant for counts, which are whole numbers */
    case EV_OP_NE:
        return value != t->bound;
    }
    return 0;
}

double ev_threshold_hist_value(const ev_threshold *t, const ev_hist *h)
{
    if (!h)
        return NAN;
    if (t->agg == EV_AGG_COUNT)
        return (double)ev_hist_count(h);
    if (!ev_hist_count(h))
        return NAN;
    switch (t->agg) {
    case EV_AGG_P:
        return (double)ev_hist_percentile(h, t->pct) / 1e6;
    case EV_AGG_MED:
        return (double)ev_hist_percentile(h, 50.0) / 1e6;
    case EV_AGG_AVG:
        return ev_hist_mean(h) / 1e6;
    case EV_AGG_MIN:
        return (double)ev_hist_min(h) / 1e6;
    case EV_AGG_MAX:
        return (double)ev_hist_max(h) / 1e6;
    default:
        return NAN;
    }
}
