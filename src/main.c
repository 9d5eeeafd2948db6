/* main — the command line of DESIGN.md §7: `evload run`, `evload check`,
 * `--help` on each, `--version`. Parsing only; the work is in ev_engine. */
#include "ev_clock.h"
#include "ev_engine.h"
#include "ev_pacer.h"
#include "ev_scenario.h"
#include "ev_url.h"
#include "broker.h"

#include "ev_report.h"
#include "ev_settings.h"
#include "ev_text.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_top(FILE *f)
{
    fprintf(f,
            "evload %s — load-test event pipelines and prove what they delivered\n"
            "\n"
            "usage:\n"
            "  evload run SCENARIO.json [--target URL] [--set KEY=VALUE]... [--json FILE]\n"
            "             [--quiet] [--progress]\n"
            "  evload check SCENARIO.json [--target URL] [--set KEY=VALUE]...\n"
            "  evload --version\n"
            "  evload COMMAND --help      (e.g. `evload run --help` lists every setting)\n"
            "\n"
            "commands:\n"
            "  run     publish on the scenario's schedule, verify every event, report, and\n"
            "          exit with the verdict\n"
            "  check   validate a scenario and print the plan, without connecting\n"
            "  kafka-mock  run a librdkafka mock cluster for other processes and print its\n"
            "          bootstrap servers (see docs/kafka.md)\n"
            "\n"
            "exit codes: 0 every threshold passed · 1 a threshold failed · 2 usage or scenario\n"
            "            error · 3 could not connect or set up · 4 internal error\n"
            "\n"
            "targets:   mock://?drop=0.01&dup=0.005&reorder=0.01&delay=20ms..40ms&seed=7\n"
            "           redis://127.0.0.1:6379?channel=NAME\n"
            "           bullmq://127.0.0.1:6379?queue=NAME&prefix=bull\n"
            "           amqp://guest:guest@127.0.0.1:5672/%%2f?exchange=NAME&queue=NAME\n"
            "           kafka://127.0.0.1:9092/TOPIC   kafka://embedded/TOPIC\n"
            "           (docs/targets.md has every parameter)\n"
            "\n"
            "example:   evload run scenarios/smoke.json --target 'mock://?drop=0.01&seed=7' \\\n"
            "                --set publish.rate=2000 --json results.json\n",
            EV_VERSION);
}

static void usage_run(FILE *f, int check)
{
    if (check)
        fprintf(f, "usage: evload check SCENARIO.json [--target URL] [--set KEY=VALUE]...\n"
                   "\n"
                   "Validates the scenario (every key, type and range; unknown keys are errors\n"
                   "with the nearest valid one) and prints the plan: executor, stages, expected\n"
                   "events and duration. Connects to nothing. Exit 0 when valid, 2 otherwise.\n");
    else
        fprintf(f, "usage: evload run SCENARIO.json [options]\n"
                   "\n"
                   "Publishes CloudEvents on the scenario's schedule (open model: intended send\n"
                   "times never stretch, lag is measured), verifies every event with the\n"
                   "scenario's consumer groups, drains, reconciles and prints the summary.\n"
                   "\n"
                   "options:\n"
                   "  -t, --target URL      broker to test (overrides the scenario's \"target\")\n"
                   "  -s, --set KEY=VALUE   override one setting (repeatable), e.g.\n"
                   "                        --set publish.rate=2000 --set verify.groups=4\n"
                   "  -j, --json FILE       write results (schema 1, docs/results.md) to FILE;\n"
                   "                        \"-\" for stdout\n"
                   "  -q, --quiet           no status line and no summary: only the verdict line\n"
                   "  -p, --progress        status line even when stderr is not a terminal\n"
                   "  -h, --help            this text\n"
                   "\n"
                   "Ctrl-C ends the current stage early, drains briefly and still reports;\n"
                   "a second Ctrl-C skips the drain.\n");
    fprintf(f, "\nsettings (scenario JSON keys and --set use the same names):\n\n");
    ev_settings_print(f);
}

static void print_plan(const ev_plan *p)
{
    static const char *const exec[] = {"constant-arrival-rate", "ramping-arrival-rate",
                                       "max-throughput"};
    char d[32], red[512];
    ev_url_redact_text(p->target ? p->target : "", red, sizeof red);
    printf("scenario  %s%s%s\n", p->name, p->description[0] ? " — " : "", p->description);
    printf("target    %s\n", red);
    printf("event     type %s  source %s  data %lld bytes  %s mode\n", p->event_type,
           p->event_source, (long long)p->data_size,
           p->mode == EV_MODE_BINARY ? "binary" : "structured");
    printf("publish   %s  %lld lane%s  max in-flight %lld\n", exec[p->executor],
           (long long)p->lanes, p->lanes == 1 ? "" : "s", (long long)p->max_in_flight);
    if (p->warmup_ns) {
        ev_format_duration(p->warmup_ns, d, sizeof d);
        printf("          warm-up %s (excluded from latency and rate)\n", d);
    }
    switch (p->executor) {
    case EV_EXEC_CONSTANT:
        ev_format_duration(p->duration_ns, d, sizeof d);
        printf("          %.6g events/s for %s\n", p->rate, d);
        break;
    case EV_EXEC_RAMPING: {
        double r = p->start_rate;
        for (size_t i = 0; i < p->nstages; i++) {
            ev_format_duration(p->stages[i].duration_ns, d, sizeof d);
            printf("          stage %zu: %s, %.6g → %.6g events/s\n", i + 1, d, r,
                   p->stages[i].target);
            r = p->stages[i].target;
        }
        break;
    }
    case EV_EXEC_MAX:
        if (p->count)
            printf("          %lld events as fast as the broker takes them\n", (long long)p->count);
        else {
            ev_format_duration(p->duration_ns, d, sizeof d);
            printf("          as fast as the broker takes them for %s\n", d);
        }
        break;
    }
    ev_format_duration(ev_plan_publish_ns(p), d, sizeof d);
    printf("          expected %.0f events over %s\n", ev_plan_expected_events(p), d);
    ev_format_duration(p->drain_timeout_ns, d, sizeof d);
    printf("verify    %lld group%s × %lld consumer%s  drain timeout %s\n", (long long)p->groups,
           p->groups == 1 ? "" : "s", (long long)p->consumers, p->consumers == 1 ? "" : "s", d);
    if (p->work_max_ns) {
        char a[32], b[32];
        ev_format_duration(p->work_min_ns, a, sizeof a);
        ev_format_duration(p->work_max_ns, b, sizeof b);
        printf("          work %s..%s per event\n", a, b);
    }
    for (size_t i = 0; i < p->nthresholds; i++)
        printf("%s %s %s\n", i ? "         " : "threshold", p->thresholds[i].metric,
               p->thresholds[i].expr);
    if (p->nsweep) {
        printf("sweep     %s over", p->sweep_key);
        for (size_t i = 0; i < p->nsweep; i++)
            printf("%s %s", i ? "," : "", p->sweep_values[i]);
        printf(" (one run each, then a scaling table)\n");
    }
}

/* Loads, applies overrides, finishes; prints the error and returns 2 on failure. */
static int load_plan(const char *path, const char *target, char **sets, int nsets, ev_plan **out)
{
    ev_err err = {{0}};
    ev_plan *p = NULL;
    int rc = ev_plan_load(path, &p, &err);
    for (int i = 0; !rc && i < nsets; i++)
        rc = ev_plan_set(p, sets[i], &err);
    if (!rc && target) {
        char *t = strdup(target);
        if (!t)
            rc = ev_err_set(&err, EV_EINTERNAL, "out of memory");
        else {
            free(p->target);
            p->target = t;
        }
    }
    if (!rc)
        rc = ev_plan_finish(p, &err);
    if (!rc && p->target) {
        /* Catch a bad URL or an unknown scheme before anything starts. */
        ev_url *u = NULL;
        rc = ev_url_parse(p->target, &u, &err);
        if (!rc && !ev_broker_find(u->scheme))
            rc =
                ev_err_set(&err, EV_EUSAGE, "target %s: unknown scheme \"%s\"; expected one of: %s",
                           u->redacted, u->scheme, ev_broker_schemes());
        ev_url_free(u);
    }
    if (rc) {
        fprintf(stderr, "evload: %s\n", err.msg);
        ev_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Efficiency below this, against linear scaling from the first value, marks
 * the knee: adding more stopped paying for itself. */
#define KNEE_EFFICIENCY 0.75

static double jnum(json_t *doc, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(json_object_get(doc, a), b);
    if (c)
        v = json_object_get(v, c);
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* Runs the scenario once per sweep value (each a fresh load of the file with
 * the user's --set overrides, then KEY=VALUE), then prints the scaling table.
 * Returns the worst exit code of the runs (0 < 1), or the first 2..4. */
static int run_sweep(const char *path, const char *target, char **sets, int nsets,
                     const ev_plan *base, const ev_run_opts *ro)
{
    size_t n = base->nsweep;
    int worst = 0;
    json_t *runs = json_array(), *rows = json_array();
    char **sets2 = calloc((size_t)nsets + 1, sizeof *sets2);
    double *thr = calloc(n, sizeof *thr), *val = calloc(n, sizeof *val);
    if (!runs || !rows || !sets2 || !thr || !val) {
        fprintf(stderr, "evload: out of memory\n");
        worst = EV_EINTERNAL;
        goto out;
    }
    for (int i = 0; i < nsets; i++)
        sets2[i] = sets[i];
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        char assign[512];
        snprintf(assign, sizeof assign, "%s=%s", base->sweep_key, base->sweep_values[i]);
        sets2[nsets] = assign;
        ev_plan *p = NULL;
        int rc = load_plan(path, target, sets2, nsets + 1, &p);
        if (rc) {
            worst = rc;
            goto out;
        }
        if (!ro->quiet)
            printf("\n== sweep %zu/%zu: %s ==\n", i + 1, n, assign);
        fflush(stdout);
        json_t *doc = NULL;
        ev_run_opts o = *ro;
        o.json_path = NULL;
        o.results = &doc;
        ev_err err = {{0}};
        rc = ev_run(p, &o, &err);
        ev_plan_free(p);
        if (rc >= EV_EUSAGE) {
            fprintf(stderr, "evload: sweep %s: %s\n", assign, err.msg);
            json_decref(doc);
            worst = rc;
            goto out;
        }
        if (rc > worst)
            worst = rc;
        char *end = NULL;
        val[i] = strtod(base->sweep_values[i], &end);
        if (end == base->sweep_values[i] || *end)
            val[i] = NAN;
        thr[i] = jnum(doc, "deliver", "throughput", NULL);
        double p95 = jnum(doc, "latency", "e2e", "p95");
        json_t *lost = json_object_get(json_object_get(doc, "deliver"), "lost");
        json_array_append_new(
            rows, json_pack("{s:s, s:f, s:o, s:O, s:s}", "value", base->sweep_values[i],
                            "throughput", isnan(thr[i]) ? 0.0 : thr[i], "e2e_p95",
                            isnan(p95) ? json_null() : json_real(p95), "lost",
                            lost ? lost : json_null(), "verdict", rc ? "fail" : "pass"));
        json_array_append_new(runs, doc);
        done++;
    }

    /* The table: efficiency is throughput gained per unit of the swept value,
     * against the first run (1.0 = perfectly linear). */
    const char *knee = NULL;
    printf("\nsweep over %s\n", base->sweep_key);
    printf("  %-12s %14s %12s %10s %11s  %s\n", "value", "throughput/s", "e2e p95 ms", "lost",
           "efficiency", "verdict");
    for (size_t i = 0; i < done; i++) {
        json_t *row = json_array_get(rows, i);
        double eff = NAN;
        if (!isnan(val[i]) && !isnan(val[0]) && val[0] > 0 && thr[0] > 0 && val[i] > 0)
            eff = (thr[i] / thr[0]) / (val[i] / val[0]);
        json_object_set_new(row, "efficiency", isnan(eff) ? json_null() : json_real(eff));
        if (!knee && i > 0 && !isnan(eff) && eff < KNEE_EFFICIENCY)
            knee = base->sweep_values[i - 1];
        char effs[16], p95[16];
        snprintf(effs, sizeof effs, isnan(eff) ? "-" : "%.2f", eff);
        json_t *pj = json_object_get(row, "e2e_p95");
        snprintf(p95, sizeof p95, json_is_number(pj) ? "%.2f" : "-", json_number_value(pj));
        printf("  %-12s %14.1f %12s %10lld %11s  %s\n", base->sweep_values[i], thr[i], p95,
               (long long)json_integer_value(json_object_get(row, "lost")), effs,
               json_string_value(json_object_get(row, "verdict")));
    }
    if (knee)
        printf("knee: %s=%s (past it, efficiency falls below %.2f of linear)\n", base->sweep_key,
               knee, KNEE_EFFICIENCY);
    else
        printf("knee: not reached (efficiency stays at or above %.2f of linear)\n",
               KNEE_EFFICIENCY);
    if (ro->json_path) {
        json_t *doc =
            json_pack("{s:i, s:{s:s, s:O, s:o}, s:O}", "schema", 1, "sweep", "key", base->sweep_key,
                      "rows", rows, "knee", knee ? json_string(knee) : json_null(), "runs", runs);
        ev_err err = {{0}};
        if (!doc || ev_report_write(doc, ro->json_path, &err)) {
            fprintf(stderr, "evload: %s\n", doc ? err.msg : "out of memory");
            worst = doc ? EV_EUSAGE : EV_EINTERNAL;
        }
        json_decref(doc);
    }
out:
    json_decref(runs);
    json_decref(rows);
    free(sets2);
    free(thr);
    free(val);
    return worst;
}

static int cmd_run(int argc, char **argv, int check)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"set", required_argument, NULL, 's'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *target = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nsets = 0, rc = 0;
    ev_run_opts ro = {0};
    if (!sets)
        return EV_EINTERNAL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "t:s:j:qph", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            target = optarg;
            break;
        case 's':
            sets[nsets++] = optarg;
            break;
        case 'j':
            if (check)
                goto bad;
            ro.json_path = optarg;
            break;
        case 'q':
            ro.quiet = 1;
            break;
        case 'p':
            ro.progress = 1;
            break;
        case 'h':
            usage_run(stdout, check);
            free(sets);
            return 0;
        default:
            goto bad;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr,
                "evload: %s needs exactly one scenario file, e.g. `evload %s "
                "scenarios/smoke.json`\n",
                check ? "check" : "run", check ? "check" : "run");
        goto usage;
    }
    ev_plan *p = NULL;
    if ((rc = load_plan(argv[optind], target, sets, nsets, &p)))
        goto out;
    if (check) {
        print_plan(p);
        printf("ok: %s is valid\n", argv[optind]);
    } else if (p->nsweep) {
        rc = run_sweep(argv[optind], target, sets, nsets, p, &ro);
    } else {
        ev_err err = {{0}};
        rc = ev_run(p, &ro, &err);
        if (rc >= EV_EUSAGE)
            fprintf(stderr, "evload: %s\n", err.msg);
    }
    ev_plan_free(p);
    goto out;
bad:
usage:
    fprintf(stderr, "evload: see `evload %s --help`\n", check ? "check" : "run");
    rc = EV_EUSAGE;
out:
    free(sets);
    return rc;
}

/* Subcommands that broker modules provide (weak: present when the module is
 * built). `evload kafka-mock` runs a librdkafka mock cluster for other
 * processes; argv[0] is the subcommand name. Returns an exit code. */
extern int ev_kafka_mock_main(int argc, char **argv) __attribute__((weak));

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_top(stderr);
        return EV_EUSAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        printf("evload %s\n", EV_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage_top(stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "check"))
        return cmd_run(argc - 1, argv + 1, 1);
    if (!strcmp(cmd, "kafka-mock") && ev_kafka_mock_main)
        return ev_kafka_mock_main(argc - 1, argv + 1);
    static const char *const cmds[] = {"run", "check", "help", "version"};
    const char *near = ev_nearest(cmd, cmds, sizeof cmds / sizeof cmds[0]);
    fprintf(stderr, "evload: unknown command \"%s\"%s%s%s; see `evload --help`\n", cmd,
            near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
    return EV_EUSAGE;
}
