/* ev_search_cmd — `evload search SCENARIO`: the highest rate at which the
 * scenario's thresholds hold (docs/search.md). Each step is one ev_run of the
 * scenario at a constant rate (publish.rate and publish.duration set, as a
 * sweep sets its key per point), judged by ev_search_judge; ev_search decides
 * the next rate. Prints a line per step, then the table, the maximum, the
 * knee and the path; --json writes {schema, search{…, steps[]}, runs[]} as a
 * sweep's document does. */
#include "ev_clock.h"
#include "ev_engine.h"
#include "ev_load.h"
#include "ev_report.h"
#include "ev_signal.h"
#include "ev_scenario.h"
#include "ev_search.h"
#include "ev_sweep.h"
#include "ev_text.h"
#include "ev_url.h"

#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The process's Ctrl-C counter (ev_signal): the first ends the current
 * step early and still reports it; the search then stops. */
static atomic_int *search_interrupts;

typedef struct search_cli {
    const char *path, *target, *source, *json_path;
    char **sets;
    int nsets;
    double start_rate, max_rate, precision;
    long max_steps;
    int64_t step_ns, drain_ns, max_lag_ns;
    int quiet, progress;
} search_cli;

/* One step's row: what the table, the JSON and the knee need. */
typedef struct step_row {
    ev_search_phase phase;
    int retry; /* runs an invalid step's rate once more */
    double rate;
    ev_search_verdict verdict;
    double throughput, achieved, p95, p99, lag_p99, blocked_s;
    long long lost;
    int drain_timed_out;
    char why[256]; /* invalid or broker-held steps: why; failed steps: the thresholds that failed */
} step_row;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: evload search SCENARIO.json [options]\n"
            "\n"
            "Finds the highest rate at which the scenario's thresholds hold. Each step runs\n"
            "the scenario at one constant rate (publish.rate, for the step duration) and\n"
            "waits for its events (the drain), like one `evload run`. From the start rate\n"
            "the rate doubles until a step fails, then bisects between the highest pass and\n"
            "the lowest failure until (high - low) / low <= the precision, then confirms the\n"
            "rate found with one more step (a confirmation that fails steps down by the\n"
            "precision and says so). A step where evload itself could not keep the schedule\n"
            "(sent under 95 %% of the rate, or sched_lag p99 over --max-lag, without the\n"
            "broker holding the publishers back) is INVALID: not a failure of the system and\n"
            "no upper bound. It runs once more at the same rate; invalid again, rates at and\n"
            "above it are not tried again, and if no failure lies below it the search ends\n"
            "saying that the load generator is the limit.\n"
            "The scenario needs thresholds and a constant-arrival-rate executor.\n"
            "\n"
            "options:\n"
            "  -t, --target URL        where to publish (overrides the scenario's \"target\")\n"
            "  -S, --source URL        where to verify (sets verify.source)\n"
            "  -s, --set KEY=VALUE     override one setting (repeatable), as for run\n"
            "  -r, --start-rate RATE   events/s of the first step (default: the scenario's\n"
            "                          publish.rate)\n"
            "  -d, --step DURATION     how long each step publishes (default: the scenario's\n"
            "                          publish.duration), e.g. 10s\n"
            "  -D, --drain DURATION    after each step, wait at most this long for its events\n"
            "                          (the step's verify.drain_timeout; default the\n"
            "                          scenario's). Make it long enough for a failed step's\n"
            "                          backlog to empty, so the next step starts clean\n"
            "  -P, --precision PCT     stop bisecting when (high - low) / low <= PCT percent\n"
            "                          (default 5)\n"
            "  -M, --max-rate RATE     never try more than RATE events/s; if RATE holds, it is\n"
            "                          the result (the real maximum may be higher)\n"
            "  -n, --max-steps N       at most N steps in all, confirmations included\n"
            "                          (default 20)\n"
            "  -L, --max-lag DURATION  a step whose sched_lag p99 exceeds this is evload's\n"
            "                          own shortfall: invalid (default 100ms)\n"
            "  -j, --json FILE         write the search (max_rate, steps, knee, confirmed)\n"
            "                          and every step's results there; \"-\" for stdout\n"
            "  -q, --quiet             only the result line\n"
            "  -p, --progress          each step's status line even when stderr is not a\n"
            "                          terminal\n"
            "  -h, --help              this text\n"
            "\n"
            "exit codes: 0 a maximum was found and confirmed · 1 even the start rate failed\n"
            "            (or no confirmation held down to it) · 2 usage or scenario error ·\n"
            "            3 could not connect · 4 internal error · 5 incomplete: interrupted,\n"
            "            the load generator was the limit, or --max-steps ran out\n"
            "\n"
            "example:   evload search scenarios/search-mock.json\n"
            "           evload search scenarios/smoke.json --target 'mock://?capacity=20000' \\\n"
            "               --set 'thresholds={\"e2e\": [\"p(99)<200\"]}' --start-rate 2500 \\\n"
            "               --step 5s --json search.json\n");
}

/* The scenario with --set, `extra` (a step's assignments), --source and
 * --target applied, finished and checked as `evload run` would. Prints the
 * error and returns its code (2, or 4) on failure. */
/* The plan for these options (ev_load_plan) with a step's own extra
 * settings; prints the error and returns its code on failure. */
static int load_plan(const search_cli *c, const char *const *extra, size_t nextra, ev_plan **out)
{
    ev_err err = {{0}};
    ev_load_args a = {.path = c->path,
                      .target = c->target,
                      .source = c->source,
                      .sets = c->sets,
                      .nsets = (size_t)c->nsets,
                      .extra = extra,
                      .nextra = nextra};
    int rc = ev_load_plan(&a, out, &err);
    if (rc)
        fprintf(stderr, "evload: %s\n", err.msg);
    return rc;
}

static double jnum(json_t *doc, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(doc, a), b);
    if (c)
        v = json_object_get(v, c);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* The thresholds that failed, "e2e p(99)<50 (61.2)", into buf. */
static void failed_thresholds(json_t *doc, char *buf, size_t size)
{
    size_t n = 0, i;
    json_t *t;
    buf[0] = '\0';
    json_array_foreach (json_object_get(doc, "thresholds"), i, t) {
        if (json_is_true(json_object_get(t, "pass")))
            continue;
        json_t *v = json_object_get(t, "value");
        char val[32] = "-";
        if (json_is_number(v))
            ev_fmt_num(round(json_number_value(v) * 100) / 100, val, sizeof val);
        ev_text_put(buf, size, &n, "%s%s %s (%s)", n ? ", " : "",
                    json_string_value(json_object_get(t, "metric")),
                    json_string_value(json_object_get(t, "expr")), val);
    }
}

static const char *ms(double v, char *buf, size_t size)
{
    snprintf(buf, size, isnan(v) ? "-" : "%.2f", v);
    return buf;
}

static const char *rate_text(double r, char *buf, size_t size)
{
    ev_fmt_num(r >= 10 ? round(r) : round(r * 1000) / 1000, buf, size);
    return buf;
}

static void print_row(FILE *out, int i, const step_row *s)
{
    char a[32], b[32], r[32];
    fprintf(out, "  %4d  %-8s %10s  %-7s %13.1f %11s %11s %8lld\n", i + 1,
            s->retry ? "retry" : ev_search_phase_name(s->phase), rate_text(s->rate, r, sizeof r),
            ev_search_verdict_name(s->verdict), s->throughput, ms(s->p95, a, sizeof a),
            ms(s->p99, b, sizeof b), s->lost);
}

/* Runs one step at s->next. Fills row and appends the step's results to
 * runs. Returns ev_run's exit code (0, 1, or 2..5). */
static int run_step(const search_cli *c, const ev_search *s, int64_t step_ns, double max_lag_ms,
                    step_row *row, json_t *runs)
{
    char rate[64], dur[32], drain[32], a_rate[96], a_dur[64], a_exec[64], a_drain[64];
    ev_fmt_num(s->next, rate, sizeof rate);
    ev_format_duration(step_ns, dur, sizeof dur);
    snprintf(a_exec, sizeof a_exec, "publish.executor=constant-arrival-rate");
    snprintf(a_rate, sizeof a_rate, "publish.rate=%s", rate);
    snprintf(a_dur, sizeof a_dur, "publish.duration=%s", dur);
    const char *extra[4] = {a_exec, a_rate, a_dur, NULL};
    size_t nextra = 3;
    if (c->drain_ns >= 0) {
        ev_format_duration(c->drain_ns, drain, sizeof drain);
        snprintf(a_drain, sizeof a_drain, "verify.drain_timeout=%s", drain);
        extra[nextra++] = a_drain;
    }
    ev_plan *p = NULL;
    int rc = load_plan(c, extra, nextra, &p);
    if (rc)
        return rc;
    json_t *doc = NULL;
    ev_run_opts o = {.interrupt = search_interrupts,
                     .results = &doc,
                     .silent = 1,
                     .quiet = c->quiet,
                     .progress = c->progress};
    ev_err err = {{0}};
    rc = ev_run(p, &o, &err);
    ev_plan_free(p);
    if (rc >= EV_EUSAGE && rc <= EV_EINTERNAL) {
        fprintf(stderr, "evload: search step at %s/s: %s\n", rate, err.msg);
        json_decref(doc);
        return rc;
    }
    *row = (step_row){.phase = s->phase, .retry = s->retrying, .rate = s->next};
    row->throughput = jnum(doc, "deliver", "throughput", NULL);
    row->achieved = jnum(doc, "publish", "rate_achieved", NULL);
    row->p95 = jnum(doc, "latency", "e2e", "p95");
    row->p99 = jnum(doc, "latency", "e2e", "p99");
    row->lag_p99 = jnum(doc, "latency", "sched_lag", "p99");
    row->blocked_s = jnum(doc, "backpressure", "blocked_s", NULL);
    row->lost =
        (long long)json_integer_value(json_object_get(json_object_get(doc, "deliver"), "lost"));
    row->drain_timed_out =
        json_is_true(json_object_get(json_object_get(doc, "deliver"), "drain_timed_out"));
    if (isnan(row->throughput))
        row->throughput = 0;
    ev_search_step st = {.run_rc = rc == EV_ETHRESH ? 1 : 0,
                         .rate_target = jnum(doc, "publish", "rate_target", NULL),
                         .rate_achieved = row->achieved,
                         .lag_p99_ms = row->lag_p99,
                         .blocked_s = isnan(row->blocked_s) ? 0 : row->blocked_s,
                         .step_s = (double)step_ns / 1e9};
    row->verdict = ev_search_judge(&st, max_lag_ms, row->why, sizeof row->why);
    if (row->verdict == EV_SEARCH_FAIL && !row->why[0])
        failed_thresholds(doc, row->why, sizeof row->why);
    json_array_append_new(runs, doc);
    return rc;
}

static json_t *num_or_null(double v)
{
    return isnan(v) || v <= 0 ? json_null() : json_real(v);
}

static json_t *step_json(int i, const step_row *s)
{
    return json_pack("{s:i, s:s, s:b, s:f, s:s, s:s, s:f, s:o, s:o, s:o, s:I, s:o, s:o, s:b}",
                     "step", i + 1, "phase", ev_search_phase_name(s->phase), "retry", s->retry,
                     "rate", s->rate, "verdict", ev_search_verdict_name(s->verdict), "why", s->why,
                     "throughput", s->throughput, "rate_achieved",
                     isnan(s->achieved) ? json_null() : json_real(s->achieved), "e2e_p95",
                     isnan(s->p95) ? json_null() : json_real(s->p95), "e2e_p99",
                     isnan(s->p99) ? json_null() : json_real(s->p99), "lost", (json_int_t)s->lost,
                     "sched_lag_p99", isnan(s->lag_p99) ? json_null() : json_real(s->lag_p99),
                     "blocked_s", isnan(s->blocked_s) ? json_null() : json_real(s->blocked_s),
                     "drain_timed_out", s->drain_timed_out);
}

/* "doubled 3000 → 6000 fail; bisected in 4 steps: 4500 pass 5250 fail …;
 * confirmed at 5063 pass"; the rerun of an invalid step is "rerun 3000". */
static void print_path(FILE *out, const step_row *rows, int n)
{
    char r[32];
    int i = 0;
    fprintf(out, "how: ");
    if (i < n && rows[i].phase == EV_SEARCH_DOUBLE) {
        fprintf(out, "doubled");
        for (; i < n && rows[i].phase == EV_SEARCH_DOUBLE; i++)
            fprintf(
                out, "%s%s%s%s%s", i ? " → " : " ", rows[i].retry ? "rerun " : "",
                rate_text(rows[i].rate, r, sizeof r), rows[i].verdict == EV_SEARCH_PASS ? "" : " ",
                rows[i].verdict == EV_SEARCH_PASS ? "" : ev_search_verdict_name(rows[i].verdict));
    }
    int b0 = i;
    for (; i < n && rows[i].phase == EV_SEARCH_BISECT; i++)
        ;
    if (i > b0) {
        fprintf(out, "; bisected in %d step%s:", i - b0, i - b0 == 1 ? "" : "s");
        for (int k = b0; k < i; k++)
            fprintf(out, " %s%s %s", rows[k].retry ? "rerun " : "",
                    rate_text(rows[k].rate, r, sizeof r), ev_search_verdict_name(rows[k].verdict));
    }
    for (; i < n; i++)
        fprintf(out, "; %s%s %s %s", rows[i].retry ? "rerun, " : "",
                rows[i].phase == EV_SEARCH_CONFIRM ? "confirmed at" : "stepped down to",
                rate_text(rows[i].rate, r, sizeof r), ev_search_verdict_name(rows[i].verdict));
    fprintf(out, "\n");
}

/* The verdict lines after the table. */
static void print_result(FILE *out, const ev_search *s, const step_row *rows, int n, double knee,
                         int interrupted)
{
    char a[32], b[32], g[32];
    rate_text(s->lo, a, sizeof a);
    rate_text(s->hi, b, sizeof b);
    rate_text(s->gen, g, sizeof g);
    if (interrupted) {
        fprintf(out, "search INCOMPLETE: interrupted after %d step%s", n, n == 1 ? "" : "s");
        if (s->lo)
            fprintf(out, "; held up to %s/s%s%s%s", a, s->hi ? ", failed at " : "", s->hi ? b : "",
                    s->hi ? "/s" : "");
        fprintf(out, "\n");
        return;
    }
    switch (s->outcome) {
    case EV_SEARCH_FOUND:
        fprintf(out, "max sustainable rate: %s events/s (confirmed",
                rate_text(s->found, a, sizeof a));
        if (s->max_rate_reached)
            fprintf(out, "; that is --max-rate: the real maximum may be higher)\n");
        else if (s->stepdowns)
            fprintf(out,
                    " after %d step-down%s: the confirmation at %s/s failed, so it is the "
                    "lowest failure now)\n",
                    s->stepdowns, s->stepdowns == 1 ? "" : "s", b);
        else
            fprintf(out, "; the lowest failure %s/s is %.1f %% above)\n", b,
                    (s->hi - s->found) / s->found * 100);
        break;
    case EV_SEARCH_START_FAILS:
        fprintf(out,
                "no sustainable rate: the start rate %s/s already failed; try a lower "
                "--start-rate\n",
                b);
        break;
    case EV_SEARCH_NONE_CONFIRMED:
        fprintf(out,
                "no confirmed rate: the confirmations failed down to %s/s, below the start "
                "rate; the system is not steady at these rates\n",
                b);
        break;
    case EV_SEARCH_GENERATOR:
        fprintf(out,
                "the load generator is the limit: evload could not keep the schedule at %s/s "
                "(invalid), while the system held every rate up to %s/s; its maximum is at least "
                "%s/s. Run evload with more instances (--instance I/N) or on a larger machine to "
                "find it\n",
                g, s->lo ? a : "-", s->lo ? a : "-");
        break;
    case EV_SEARCH_OUT_OF_STEPS:
        if (s->lo)
            fprintf(out, "out of steps (--max-steps %d): the maximum lies between %s and %s/s\n",
                    s->cfg.max_steps, a, s->hi ? b : "?");
        else
            fprintf(out,
                    "out of steps (--max-steps %d): no confirmation held; the lowest "
                    "failure is %s/s\n",
                    s->cfg.max_steps, b);
        break;
    case EV_SEARCH_RUNNING:
        break;
    }
    if (s->gen && s->outcome != EV_SEARCH_GENERATOR)
        fprintf(out,
                "evload could not keep the schedule at %s/s: invalid steps, not counted as "
                "failures of the system\n",
                g);
    if (knee > 0)
        fprintf(out, "knee: %s events/s (past it, throughput falls below %.2f of linear)\n",
                rate_text(knee, a, sizeof a), EV_SWEEP_KNEE_EFFICIENCY);
    else
        fprintf(out, "knee: not reached (throughput stays at or above %.2f of linear)\n",
                EV_SWEEP_KNEE_EFFICIENCY);
    print_path(out, rows, n);
}

static int parse_rate(const char *opt, const char *s, double *out)
{
    char *end = NULL;
    double d = strtod(s, &end);
    if (end == s || *end || !(d > 0) || isinf(d)) {
        fprintf(stderr, "evload: %s %s: expected events per second above 0, e.g. %s 1000\n", opt, s,
                opt);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_dur(const char *opt, const char *s, int64_t min, int64_t *out)
{
    ev_err err = {{0}};
    if (ev_parse_duration(s, out, &err) || *out < min) {
        fprintf(stderr, "evload: %s %s: %s\n", opt, s,
                err.msg[0] ? err.msg : "expected a duration above 0, e.g. 10s");
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, search_cli *c)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"source", required_argument, NULL, 'S'},
                                         {"set", required_argument, NULL, 's'},
                                         {"start-rate", required_argument, NULL, 'r'},
                                         {"step", required_argument, NULL, 'd'},
                                         {"drain", required_argument, NULL, 'D'},
                                         {"precision", required_argument, NULL, 'P'},
                                         {"max-rate", required_argument, NULL, 'M'},
                                         {"max-steps", required_argument, NULL, 'n'},
                                         {"max-lag", required_argument, NULL, 'L'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "t:S:s:r:d:D:P:M:n:L:j:qph", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            c->target = optarg;
            break;
        case 'S':
            c->source = optarg;
            break;
        case 's':
            c->sets[c->nsets++] = optarg;
            break;
        case 'r':
            if (parse_rate("--start-rate", optarg, &c->start_rate))
                return -1;
            break;
        case 'M':
            if (parse_rate("--max-rate", optarg, &c->max_rate))
                return -1;
            break;
        case 'd':
            if (parse_dur("--step", optarg, 1, &c->step_ns))
                return -1;
            break;
        case 'D':
            if (parse_dur("--drain", optarg, 0, &c->drain_ns))
                return -1;
            break;
        case 'L':
            if (parse_dur("--max-lag", optarg, 1, &c->max_lag_ns))
                return -1;
            break;
        case 'P':
            c->precision = strtod(optarg, &end);
            if (end == optarg || (*end && strcmp(end, "%")) || !(c->precision > 0) ||
                c->precision >= 100) {
                fprintf(stderr,
                        "evload: --precision %s: expected a percentage above 0 and below 100, "
                        "e.g. --precision 5\n",
                        optarg);
                return -1;
            }
            c->precision /= 100;
            break;
        case 'n':
            c->max_steps = strtol(optarg, &end, 10);
            if (end == optarg || *end || c->max_steps < 2 || c->max_steps > 1000) {
                fprintf(stderr,
                        "evload: --max-steps %s: expected a whole number from 2 to 1000 (a step "
                        "and its confirmation at least)\n",
                        optarg);
                return -1;
            }
            break;
        case 'j':
            c->json_path = optarg;
            break;
        case 'q':
            c->quiet = 1;
            break;
        case 'p':
            c->progress = 1;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "evload: search needs exactly one scenario file, e.g. `evload search "
                        "scenarios/search-mock.json`\n");
        return -1;
    }
    c->path = argv[optind];
    return 0;
}

/* What search needs of the scenario: one constant-rate stream, thresholds to
 * judge by, no sweep of its own. */
static int check_base(const search_cli *c, const ev_plan *p)
{
    const char *why = NULL;
    if (p->executor != EV_EXEC_CONSTANT)
        why = "its steps are constant-rate runs, so the scenario needs publish.executor "
              "\"constant-arrival-rate\" (its rate and duration are the defaults of --start-rate "
              "and --step)";
    else if (p->streams_explicit)
        why = "a scenario with \"streams\" has no one rate to search; search one stream's "
              "scenario";
    else if (p->nsweep)
        why = "the scenario has a \"sweep\"; search and sweep do not combine";
    else if (p->nthresholds == 0)
        why = "the scenario has no thresholds, so every step would pass; add some, e.g. --set "
              "'thresholds={\"e2e\": [\"p(99)<200\"], \"lost\": [\"count==0\"]}'";
    else if (c->max_rate > 0 && c->max_rate < c->start_rate)
        why = "--max-rate is below the start rate";
    if (!why)
        return 0;
    fprintf(stderr, "evload: search %s: %s\n", c->path, why);
    return EV_EUSAGE;
}

static int write_json(const search_cli *c, const ev_search *s, const step_row *rows, int n,
                      double knee, int interrupted, json_t *runs)
{
    json_t *steps = json_array();
    for (int i = 0; steps && i < n; i++)
        json_array_append_new(steps, step_json(i, &rows[i]));
    const char *outcome = interrupted ? "interrupted" : ev_search_outcome_name(s->outcome);
    int found = !interrupted && s->outcome == EV_SEARCH_FOUND;
    json_t *doc = json_pack(
        "{s:i, s:{s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:i, s:{s:f, s:o, s:f, s:i, s:f, "
        "s:f}, s:o}, s:O}",
        "schema", 1, "search", "max_rate", found ? json_real(s->found) : json_null(), "confirmed",
        found, "outcome", outcome, "lower_bound", num_or_null(s->lo), "upper_bound",
        num_or_null(s->hi), "generator_limit", num_or_null(s->gen), "knee", num_or_null(knee),
        "precision_reached", s->precision_reached, "max_rate_reached", s->max_rate_reached,
        "stepdowns", s->stepdowns, "options", "start_rate", s->cfg.start_rate, "max_rate",
        num_or_null(s->cfg.max_rate), "precision", s->cfg.precision, "max_steps", s->cfg.max_steps,
        "step_s", (double)c->step_ns / 1e9, "max_lag_ms", (double)c->max_lag_ns / 1e6, "steps",
        steps ? steps : json_array(), "runs", runs);
    ev_err err = {{0}};
    int rc = 0;
    if (!doc || ev_report_write(doc, c->json_path, &err)) {
        fprintf(stderr, "evload: %s\n", doc ? err.msg : "out of memory");
        rc = doc ? EV_EUSAGE : EV_EINTERNAL;
    }
    json_decref(doc);
    return rc;
}

int ev_search_main(int argc, char **argv)
{
    search_cli c = {.sets = calloc((size_t)argc + 1, sizeof *c.sets),
                    .precision = 0.05,
                    .max_steps = 20,
                    .drain_ns = -1,
                    .max_lag_ns = 100 * EV_NS_PER_MS};
    step_row *rows = NULL;
    json_t *runs = NULL;
    ev_plan *base = NULL;
    int rc = EV_EUSAGE, n = 0, interrupted = 0;
    if (!c.sets)
        return EV_EINTERNAL;
    int a = parse_args(argc, argv, &c);
    if (a) {
        if (a < 0)
            fprintf(stderr, "evload: see `evload search --help`\n");
        rc = a < 0 ? EV_EUSAGE : 0;
        goto out;
    }
    if ((rc = load_plan(&c, NULL, 0, &base)))
        goto out;
    if (!c.start_rate)
        c.start_rate = base->rate;
    if (!c.step_ns)
        c.step_ns = base->duration_ns;
    if ((rc = check_base(&c, base)))
        goto out;
    ev_search_cfg cfg = {.start_rate = c.start_rate,
                         .max_rate = c.max_rate,
                         .precision = c.precision,
                         .max_steps = (int)c.max_steps};
    ev_search s;
    ev_search_init(&s, &cfg);
    rows = calloc((size_t)c.max_steps, sizeof *rows);
    runs = json_array();
    if (!rows || !runs) {
        fprintf(stderr, "evload: out of memory\n");
        rc = EV_EINTERNAL;
        goto out;
    }
    search_interrupts = ev_signal_install();

    char dur[32], red[512], pct[32], start[32];
    ev_format_duration(c.step_ns, dur, sizeof dur);
    ev_url_redact_text(base->target, red, sizeof red);
    ev_fmt_num(c.precision * 100, pct, sizeof pct);
    if (!c.quiet) {
        printf("search %s at %s: steps of %s from %s/s, doubling then bisecting to %s %%\n",
               base->name, red, dur, rate_text(c.start_rate, start, sizeof start), pct);
        for (size_t i = 0; i < base->nthresholds; i++)
            printf("  threshold %s %s\n", base->thresholds[i].metric, base->thresholds[i].expr);
        printf("  %4s  %-8s %10s  %-7s %13s %11s %11s %8s\n", "step", "phase", "rate/s", "verdict",
               "throughput/s", "e2e p95 ms", "e2e p99 ms", "lost");
        fflush(stdout);
    }
    double max_lag_ms = (double)c.max_lag_ns / 1e6;
    while (s.outcome == EV_SEARCH_RUNNING && n < c.max_steps) { /* ev_search keeps n within */
        int r = run_step(&c, &s, c.step_ns, max_lag_ms, &rows[n], runs);
        if (r >= EV_EUSAGE && r <= EV_EINTERNAL) {
            rc = r;
            goto out;
        }
        if (r == EV_EINCOMPLETE) { /* cut short: no verdict of the system */
            interrupted = 1;
            break;
        }
        if (!c.quiet) {
            print_row(stdout, n, &rows[n]);
            if (rows[n].why[0])
                printf("        %s: %s\n",
                       rows[n].verdict == EV_SEARCH_INVALID ? "invalid" : "failed", rows[n].why);
            fflush(stdout);
        }
        ev_search_record(&s, rows[n].verdict);
        if (s.retrying && !c.quiet) {
            printf("        running it once more: the machine may have paused evload\n");
            fflush(stdout);
        }
        n++;
        if (atomic_load(search_interrupts) && s.outcome == EV_SEARCH_RUNNING) {
            interrupted = 1; /* between steps: the last one counted */
            break;
        }
    }
    double *rates = calloc((size_t)n + 1, sizeof *rates), *thr = calloc((size_t)n + 1, sizeof *thr);
    size_t nv = 0;
    for (int i = 0; rates && thr && i < n; i++)
        if (rows[i].verdict != EV_SEARCH_INVALID) {
            rates[nv] = rows[i].rate;
            thr[nv++] = rows[i].throughput;
        }
    double knee = rates && thr ? ev_search_knee(rates, thr, nv) : 0;
    free(rates);
    free(thr);
    if (!c.quiet) {
        printf("\nsearch over publish.rate (%d step%s of %s)\n", n, n == 1 ? "" : "s", dur);
        printf("  %4s  %-8s %10s  %-7s %13s %11s %11s %8s\n", "step", "phase", "rate/s", "verdict",
               "throughput/s", "e2e p95 ms", "e2e p99 ms", "lost");
        for (int i = 0; i < n; i++)
            print_row(stdout, i, &rows[i]);
        print_result(stdout, &s, rows, n, knee, interrupted);
    } else {
        char f[32];
        if (!interrupted && s.outcome == EV_SEARCH_FOUND)
            printf("max sustainable rate: %s events/s\n", rate_text(s.found, f, sizeof f));
        else
            printf("search %s\n", interrupted ? "interrupted" : ev_search_outcome_name(s.outcome));
    }
    fflush(stdout);
    rc = interrupted ? EV_EINCOMPLETE : ev_search_exit_code(s.outcome);
    if (c.json_path) {
        int w = write_json(&c, &s, rows, n, knee, interrupted, runs);
        if (w)
            rc = w;
    }
out:
    ev_plan_free(base);
    json_decref(runs);
    free(rows);
    free(c.sets);
    return rc;
}
