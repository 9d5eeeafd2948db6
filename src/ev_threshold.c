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

#include "ev_metrics.h"
#include "ev_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Returns 1 for a latency metric, 0 for a counter, -1 if unknown. */
static int metric_kind(const char *name)
{
    int id = ev_metric_find(name);
    return id < 0 ? -1 : ev_metrics[id].latency;
}

int ev_threshold_metric_known(const char *name)
{
    return name && metric_kind(name) >= 0;
}

int ev_threshold_publish_side(const char *name)
{
    int id = ev_metric_find(name);
    return id >= 0 && ev_metrics[id].side == EV_SIDE_PUBLISH;
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
    char lat[256], cnt[512];
    ev_metric_names(1, lat, sizeof lat);
    ev_metric_names(0, cnt, sizeof cnt);
    return ev_err_set(err, EV_EUSAGE,
                      "unknown threshold metric \"%s\"; expected a latency (%s) or a counter (%s)",
                      metric, lat, cnt);
}

/* The "expected …" half of every expression error, by metric kind. */
static int bad_expr(const char *metric, int latency, const char *expr, const char *detail,
                    ev_err *err)
{
    char shown[EV_SHOW_SIZE(60)];
    ev_show(expr, 60, shown, sizeof shown);
    const char *open = detail ? " (" : "", *close = detail ? ")" : "";
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

int ev_threshold_parse(const char *metric, const char *expr, ev_threshold *out, ev_err *err)
{
    int kind = metric ? metric_kind(metric) : -1;
    if (kind < 0)
        return unknown_metric(metric ? metric : "", err);
    if (!expr)
        expr = "";
    if (strlen(expr) >= sizeof out->expr)
        return bad_expr(metric, kind, expr, "longer than 95 characters", err);

    ev_threshold t;
    memset(&t, 0, sizeof t);
    memcpy(t.metric, metric, strlen(metric) + 1); /* known metrics are < 32 bytes */
    t.id = ev_metric_find(metric);
    memcpy(t.expr, expr, strlen(expr) + 1);
    t.latency = kind;

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
    if (!end || *skip_spaces(end) != '\0')
        return bad_expr(metric, kind, expr, "the bound is not a number", err);

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
