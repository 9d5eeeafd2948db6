/* main — the command line of DESIGN.md §7: `evload run`, `evload check`,
 * `--help` on each, `--version`. Parsing only; the work is in ev_engine. */
#include "ev_clock.h"
#include "ev_engine.h"
#include "ev_pacer.h"
#include "ev_scenario.h"
#include "ev_url.h"
#include "broker.h"

#include <getopt.h>
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
            "\n"
            "exit codes: 0 every threshold passed · 1 a threshold failed · 2 usage or scenario\n"
            "            error · 3 could not connect or set up · 4 internal error\n"
            "\n"
            "targets:   mock://?drop=0.01&dup=0.005&reorder=0.01&delay=20ms..40ms&seed=7\n"
            "           (in-process broker with injected faults; docs/targets.md has them all)\n"
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
        fprintf(f,
                "usage: evload run SCENARIO.json [options]\n"
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
            printf("          %lld events as fast as the broker takes them\n",
                   (long long)p->count);
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
            rc = ev_err_set(&err, EV_EUSAGE, "target %s: unknown scheme \"%s\"; expected one of: %s",
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
        fprintf(stderr, "evload: %s needs exactly one scenario file, e.g. `evload %s "
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
