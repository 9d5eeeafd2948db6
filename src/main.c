/* main — the command line: `evload run`, `evload check`, `--help` on each,
 * `--version`, and the other subcommands (ev_commands.h). Parsing, the
 * signal handler and the sweep loop's plan loader; the work is in ev_engine. */
#include "broker.h"
#include "ev_clock.h"
#include "ev_commands.h"
#include "ev_engine.h"
#include "ev_load.h"
#include "ev_faults.h"
#include "ev_pacer.h"
#include "ev_signal.h"
#include "ev_prom.h"
#include "ev_render.h"
#include "ev_scenario.h"
#include "ev_settings.h"
#include "ev_suite.h"
#include "ev_sweep.h"
#include "ev_text.h"
#include "ev_url.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage_top(FILE *f)
{
    fprintf(f,
            "evload %s — load-test event pipelines and prove what they delivered\n"
            "\n"
            "usage:\n"
            "  evload run SCENARIO.json [--target URL] [--source URL] [--set KEY=VALUE]...\n"
            "             [--json FILE] [--out DIR] [--history DIR] [--metrics ADDR]\n"
            "             [--missing FILE] [--quiet] [--progress]\n"
            "  evload check SCENARIO.json [--target URL] [--source URL] [--set KEY=VALUE]...\n"
            "  evload --version\n"
            "  evload COMMAND --help      (`evload run --help` lists every setting and every\n"
            "                             target parameter)\n"
            "\n"
            "commands:\n"
            "  run         publish on the scenario's schedule, verify every event, report,\n"
            "              and exit with the verdict\n"
            "  check       validate a scenario and its target and print the plan, without\n"
            "              connecting\n"
            "  targets     every transport and its target parameters (--markdown for docs)\n",
            EV_VERSION);
    for (size_t i = 0; ev_command_at(i); i++)
        fprintf(f, "  %-11s %s\n", ev_command_at(i)->name, ev_command_at(i)->summary);
    fprintf(f, "\n"
               "exit codes: 0 every threshold passed · 1 a threshold failed · 2 usage or scenario\n"
               "            error · 3 could not connect or set up · 4 internal error · 5 the run\n"
               "            was interrupted (results partial)\n"
               "\n"
               "targets:\n");
    for (size_t i = 0; ev_broker_at(i); i++)
        fprintf(f, "  %-58s %s\n", ev_broker_at(i)->example, ev_broker_at(i)->summary);
    fprintf(f, "  (`evload run --help` and docs/targets.md list every parameter)\n"
               "\n"
               "example:   evload run scenarios/smoke.json --target 'mock://?drop=0.01&seed=7' \\\n"
               "                --set publish.rate=2000 --json results.json\n");
}

static void usage_run(FILE *f, int check)
{
    if (check)
        fprintf(f, "usage: evload check SCENARIO.json [--target URL] [--source URL] "
                   "[--set KEY=VALUE]...\n"
                   "\n"
                   "Validates the scenario (every key, type and range; unknown keys are errors\n"
                   "with the nearest valid one) and prints the plan: executor, stages, expected\n"
                   "events and duration. Checks the target's parameters and what its transport\n"
                   "can do with the plan, exactly as run would. Connects to nothing.\n"
                   "Exit 0 when valid, 2 otherwise.\n");
    else
        fprintf(f,
                "usage: evload run SCENARIO.json [options]\n"
                "\n"
                "Publishes CloudEvents on the scenario's schedule (open model: intended send\n"
                "times never stretch, lag is measured), verifies every event with the\n"
                "scenario's consumer groups, drains, reconciles and prints the summary.\n"
                "\n"
                "options:\n"
                "  -t, --target URL      where to publish (overrides the scenario's \"target\")\n"
                "  -S, --source URL      where to verify, when your services carry the events\n"
                "                        from the target there (sets verify.source)\n"
                "  -m, --missing FILE    write the ids of lost and pending events there, as\n"
                "                        ranges per lane\n"
                "  -I, --instance I/N    be instance I of N processes running one scenario with\n"
                "                        the same run_id (default from JOB_COMPLETION_INDEX and\n"
                "                        EVLOAD_INSTANCES): the schedule is split between them by\n"
                "                        lane; evload merge combines their results\n"
                "  -A, --start-at TIME   start the schedule at TIME (RFC 3339, or +DURATION after\n"
                "                        EVLOAD_EPOCH), so instances begin together\n"
                "  -B, --barrier DIR     before starting, wait until every instance has written\n"
                "                        DIR/ready-I (a directory they share)\n"
                "  -s, --set KEY=VALUE   override one setting (repeatable), e.g.\n"
                "                        --set publish.rate=2000 --set verify.groups=4\n"
                "  -j, --json FILE       write results (schema 1, docs/results.md) to FILE;\n"
                "                        \"-\" for stdout\n"
                "  -o, --out DIR         write results.json, report.html, timeseries.csv and\n"
                "                        junit.xml there (docs/reports.md)\n"
                "      --history DIR     append this run to DIR's history (index.jsonl); the\n"
                "                        report shows the trend\n"
                "      --metrics ADDR    serve Prometheus metrics on ADDR (HOST:PORT, :PORT)\n"
                "                        during the run and for --metrics-linger after it\n"
                "      --metrics-linger DURATION  how long to keep serving after the end\n"
                "                        for a last scrape (default 5s)\n"
                "  -q, --quiet           no status line and no summary: only the verdict line\n"
                "  -p, --progress        status line even when stderr is not a terminal\n"
                "  -h, --help            this text\n"
                "\n"
                "Ctrl-C (or SIGTERM) stops publishing, drains for at most 3 s and still\n"
                "reports, with the verdict INCOMPLETE and exit code 5; a second one skips\n"
                "the drain.\n");
    fprintf(f, "\nsettings (scenario JSON keys and --set use the same names):\n\n");
    ev_settings_print(f);
    fprintf(f, "\ntargets and their parameters (URL query: SCHEME://...?KEY=VALUE&...):\n\n");
    ev_broker_print_targets(f, 0);
}

/* A URL as every output prints it: password and secret parameters hidden
 * (the transport's table says which parameters are secret). */
static void shown_url(const char *url, unsigned roles, char *buf, size_t size)
{
    ev_endpoint *ep = NULL;
    if (url && ev_endpoint_open(url, roles, &ep, NULL) == 0)
        snprintf(buf, size, "%s", ep->url->redacted);
    else
        ev_url_redact_text(url ? url : "", buf, size);
    ev_endpoint_free(ep);
}

/* verify's lines of the plan: the outputs (or the one implicit output) and
 * the watched hops. */
static void print_outputs(const ev_plan *p)
{
    char red[512];
    static const char *const match[] = {"envelope", "header:", "json:", "traceparent"};
    for (size_t i = 0; i < p->noutputs; i++) {
        const ev_output *o = &p->outputs[i];
        if (!o->source && !p->outputs_explicit && o->match == EV_MATCH_ENVELOPE)
            continue; /* the target itself: the broker test */
        shown_url(o->source ? o->source : p->target, EV_ROLE_VERIFY, red, sizeof red);
        printf("          output %s%s%s  %lld group%s × %lld consumer%s  expect %s%s  match %s%s\n",
               o->name, o->name[0] ? " at " : "at ", red, (long long)o->groups,
               o->groups == 1 ? "" : "s", (long long)o->consumers, o->consumers == 1 ? "" : "s",
               o->expect == EV_EXPECT_NONE   ? "none"
               : o->expect == EV_EXPECT_TYPE ? "type "
                                             : (o->copies > 1 ? "copies " : "all"),
               o->expect == EV_EXPECT_TYPE ? o->expect_type : "", match[o->match],
               o->match_arg ? o->match_arg : "");
    }
    for (size_t i = 0; i < p->nobserve; i++) {
        shown_url(p->observe[i], EV_ROLE_OBSERVE, red, sizeof red);
        printf("          watch  %s\n", red);
    }
}

/* One stream's event and schedule (the plan's own without streams), each
 * line after the first indented by `in`. */
static void print_schedule(const ev_plan *p, const char *in)
{
    static const char *const exec[] = {"constant-arrival-rate", "ramping-arrival-rate",
                                       "max-throughput"};
    char d[32];
    printf("event     type %s  source %s  data %lld bytes  %s mode\n", p->event_type,
           p->event_source, (long long)p->data_size,
           p->mode == EV_MODE_BINARY ? "binary" : "structured");
    printf("%spublish   %s  %lld lane%s  max in-flight %lld\n", in, exec[p->executor],
           (long long)p->lanes, p->lanes == 1 ? "" : "s", (long long)p->max_in_flight);
    if (p->warmup_ns) {
        ev_format_duration(p->warmup_ns, d, sizeof d);
        printf("%s          warm-up %s (excluded from latency and rate)\n", in, d);
    }
    switch (p->executor) {
    case EV_EXEC_CONSTANT:
        ev_format_duration(p->duration_ns, d, sizeof d);
        printf("%s          %.6g events/s for %s\n", in, p->rate, d);
        break;
    case EV_EXEC_RAMPING: {
        double r = p->start_rate;
        for (size_t i = 0; i < p->nstages; i++) {
            ev_format_duration(p->stages[i].duration_ns, d, sizeof d);
            printf("%s          stage %zu%s%s%s: %s, %.6g → %.6g events/s\n", in, i + 1,
                   p->stages[i].name[0] ? " (" : "", p->stages[i].name,
                   p->stages[i].name[0] ? ")" : "", d, r, p->stages[i].target);
            r = p->stages[i].target;
        }
        break;
    }
    case EV_EXEC_MAX:
        if (p->count)
            printf("%s          %lld events as fast as the broker takes them\n", in,
                   (long long)p->count);
        else {
            ev_format_duration(p->duration_ns, d, sizeof d);
            printf("%s          as fast as the broker takes them for %s\n", in, d);
        }
        break;
    }
}

static void print_plan(const ev_plan *p)
{
    char d[32], red[512];
    shown_url(p->target, EV_ROLE_PUBLISH, red, sizeof red);
    printf("scenario  %s%s%s\n", p->name, p->description[0] ? " — " : "", p->description);
    printf("target    %s\n", red);
    if (!p->streams_explicit)
        print_schedule(p, "");
    for (size_t i = 0; p->streams_explicit && i < p->nstreams; i++) {
        const ev_stream *st = &p->streams[i];
        ev_format_duration(st->start_after_ns, d, sizeof d);
        printf("stream    %s%s%s%s\n          ", st->name,
               st->start_after_ns ? " (starts after " : "", st->start_after_ns ? d : "",
               st->start_after_ns ? ")" : "");
        print_schedule(st->plan, "          ");
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
    print_outputs(p);
    ev_faults_print_plan(stdout, p);
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

/* "I/N" → instance I of N. 0, or -1 when it is not 0 <= I < N <= 1024. */
static int parse_instance(const char *s, uint32_t *i, uint32_t *n)
{
    char *end = NULL;
    unsigned long a = strtoul(s, &end, 10);
    if (end == s || *end != '/')
        return -1;
    const char *t = end + 1;
    unsigned long b = strtoul(t, &end, 10);
    if (end == t || *end || b == 0 || b > 1024 || a >= b || s[0] == '-' || t[0] == '-')
        return -1;
    *i = (uint32_t)a;
    *n = (uint32_t)b;
    return 0;
}

/* Kubernetes Indexed Jobs give each pod JOB_COMPLETION_INDEX; EVLOAD_INSTANCES
 * says how many there are. Both set: the default instance; neither: alone. */
static int instance_from_env(uint32_t *i, uint32_t *n)
{
    const char *idx = getenv("JOB_COMPLETION_INDEX"), *cnt = getenv("EVLOAD_INSTANCES");
    if (!idx || !cnt || !*idx || !*cnt)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s/%s", idx, cnt);
    return parse_instance(buf, i, n);
}

/* --start-at: RFC 3339, or +DURATION after the shared epoch EVLOAD_EPOCH
 * (RFC 3339, e.g. set once for every pod of a Job). 0, or -1 after saying why. */
static int parse_start_at(const char *s, int64_t *wall)
{
    ev_err err = {{0}};
    if (s[0] != '+') {
        if (ev_rfc3339_parse(s, wall) == 0)
            return 0;
        fprintf(stderr,
                "evload: --start-at %s: expected an RFC 3339 time such as "
                "2026-12-03T15:00:00Z, or +DURATION after EVLOAD_EPOCH\n",
                s);
        return -1;
    }
    const char *epoch = getenv("EVLOAD_EPOCH");
    int64_t base, d;
    if (!epoch || ev_rfc3339_parse(epoch, &base)) {
        fprintf(stderr,
                "evload: --start-at %s: a relative start needs EVLOAD_EPOCH set to an RFC "
                "3339 time shared by every instance\n",
                s);
        return -1;
    }
    if (ev_parse_duration(s + 1, &d, &err)) {
        fprintf(stderr, "evload: --start-at %s: %s\n", s, err.msg);
        return -1;
    }
    *wall = base + d;
    return 0;
}

/* The options a run or check was given. */
typedef struct cli {
    const char *path, *target, *source;
    char **sets;
    int nsets;
} cli;

/* The plan for these options (ev_load_plan), `extra` a sweep's KEY=VALUE.
 * Prints the error and returns its code (2, or 4) on failure. */
static int load_plan(const cli *c, const char *extra, ev_plan **out)
{
    ev_err err = {{0}};
    const char *ex[1] = {extra};
    ev_load_args a = {.path = c->path,
                      .target = c->target,
                      .source = c->source,
                      .sets = c->sets,
                      .nsets = (size_t)c->nsets,
                      .extra = ex,
                      .nextra = extra ? 1 : 0};
    int rc = ev_load_plan(&a, out, &err);
    if (rc)
        fprintf(stderr, "evload: %s\n", err.msg);
    return rc;
}

static int sweep_loader(void *ud, const char *assignment, ev_plan **out)
{
    return load_plan(ud, assignment, out);
}

/* What `run` and `check` were asked: the plan's options (cli), the run's
 * own (ev_run_opts) and where results go besides. */
typedef struct run_args {
    cli c;
    ev_run_opts ro;
    const char *out_dir, *history, *metrics;
    int64_t linger_ns;
} run_args;

/* Parses argv into a (a->c.sets must hold argc entries). Returns 0, 1 when
 * --help was printed (nothing to run), or EV_EUSAGE with the error printed. */
static int parse_run_args(int argc, char **argv, int check, run_args *a)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"source", required_argument, NULL, 'S'},
                                         {"missing", required_argument, NULL, 'm'},
                                         {"instance", required_argument, NULL, 'I'},
                                         {"start-at", required_argument, NULL, 'A'},
                                         {"barrier", required_argument, NULL, 'B'},
                                         {"set", required_argument, NULL, 's'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"history", required_argument, NULL, 'H'},
                                         {"metrics", required_argument, NULL, 'M'},
                                         {"metrics-linger", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    if (instance_from_env(&a->ro.instance, &a->ro.instances)) {
        fprintf(stderr, "evload: JOB_COMPLETION_INDEX / EVLOAD_INSTANCES do not make an instance "
                        "I of N (0 <= I < N <= 1024)\n");
        return EV_EUSAGE;
    }
    while ((ch = getopt_long(argc, argv, "t:S:m:I:A:B:s:j:o:qph", opts, NULL)) != -1) {
        /* Options that only a run takes. */
        if (check && strchr("mjoHML", ch))
            goto usage;
        switch (ch) {
        case 't':
            a->c.target = optarg;
            break;
        case 'S':
            a->c.source = optarg;
            break;
        case 'm':
            a->ro.missing_path = optarg;
            break;
        case 'A':
            if (parse_start_at(optarg, &a->ro.start_at_wall))
                goto usage;
            break;
        case 'B':
            a->ro.barrier_dir = optarg;
            break;
        case 'I':
            if (parse_instance(optarg, &a->ro.instance, &a->ro.instances)) {
                fprintf(stderr,
                        "evload: --instance %s: expected I/N with 0 <= I < N <= 1024, e.g. "
                        "--instance 2/4\n",
                        optarg);
                goto usage;
            }
            break;
        case 's':
            a->c.sets[a->c.nsets++] = optarg;
            break;
        case 'j':
            a->ro.json_path = optarg;
            break;
        case 'o':
        case 'H':
        case 'M':
            *(ch == 'o' ? &a->out_dir : ch == 'H' ? &a->history : &a->metrics) = optarg;
            break;
        case 'L': {
            ev_err lerr = {{0}};
            if (ev_parse_duration(optarg, &a->linger_ns, &lerr)) {
                fprintf(stderr, "evload: --metrics-linger: %s\n", lerr.msg);
                goto usage;
            }
            break;
        }
        case 'q':
            a->ro.quiet = 1;
            break;
        case 'p':
            a->ro.progress = 1;
            break;
        case 'h':
            usage_run(stdout, check);
            return 1;
        default:
            goto usage;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr,
                "evload: %s needs exactly one scenario file, e.g. `evload %s "
                "scenarios/smoke.json`\n",
                check ? "check" : "run", check ? "check" : "run");
        goto usage;
    }
    a->c.path = argv[optind];
    return 0;
usage:
    fprintf(stderr, "evload: see `evload %s --help`\n", check ? "check" : "run");
    return EV_EUSAGE;
}

/* Runs plan p as a asks (one run or a sweep), then writes --out/--history and
 * serves the final --metrics figures a while. Returns the exit code. */
static int execute(run_args *a, const ev_plan *p)
{
    ev_err err = {{0}};
    json_t *doc = NULL;
    ev_prom *prom = NULL;
    int rc;
    if (a->metrics && (rc = ev_prom_start(a->metrics, &prom, &err))) {
        fprintf(stderr, "evload: %s\n", err.msg);
        return rc;
    }
    a->ro.prom = prom;
    if (a->out_dir || a->history || prom)
        a->ro.results = &doc;
    a->ro.interrupt = ev_signal_install();
    if (p->nsweep) {
        rc = ev_sweep_run(p, sweep_loader, &a->c, &a->ro, stdout);
    } else {
        rc = ev_run(p, &a->ro, &err);
        if (rc >= EV_EUSAGE && rc <= EV_EINTERNAL)
            fprintf(stderr, "evload: %s\n", err.msg);
    }
    if (doc && (a->out_dir || a->history)) {
        int wrc = ev_render_out(doc, a->out_dir, a->history, &err);
        if (wrc) {
            fprintf(stderr, "evload: %s\n", err.msg);
            if (!(rc >= EV_EUSAGE && rc <= EV_EINTERNAL))
                rc = wrc;
        }
    }
    if (prom) {
        /* The final figures, then a while for a last scrape (Ctrl-C ends it). */
        ev_prom_finish(prom, doc);
        int seen = atomic_load(a->ro.interrupt);
        for (int64_t waited = 0; waited < a->linger_ns && atomic_load(a->ro.interrupt) == seen;
             waited += 50000000)
            nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    ev_prom_stop(prom);
    json_decref(doc);
    return rc;
}

static int cmd_run(int argc, char **argv, int check)
{
    run_args a = {.c = {.sets = calloc((size_t)argc, sizeof(char *))},
                  .linger_ns = INT64_C(5000000000)};
    if (!a.c.sets)
        return EV_EINTERNAL;
    ev_plan *p = NULL;
    int rc = parse_run_args(argc, argv, check, &a);
    if (rc == 1)
        rc = 0;
    else if (!rc && check && ev_suite_is_suite(a.c.path)) /* a suite: every member checked */
        rc = ev_suite_check(a.c.path, a.c.target, a.c.sets, a.c.nsets);
    else if (!rc && !(rc = load_plan(&a.c, NULL, &p))) {
        if (check) {
            print_plan(p);
            printf("ok: %s is valid\n", a.c.path);
        } else {
            rc = execute(&a, p);
        }
    }
    ev_plan_free(p);
    free(a.c.sets);
    return rc;
}

int main(int argc, char **argv)
{
    ev_scenario_passthrough(ev_broker_prefixes());
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
    if (!strcmp(cmd, "targets")) { /* docs/targets.md's tables: `evload targets --markdown` */
        ev_broker_print_targets(stdout, argc > 2 && !strcmp(argv[2], "--markdown"));
        return 0;
    }
    const ev_subcommand *sc = ev_command_find(cmd);
    if (sc)
        return sc->main(argc - 1, argv + 1);
    const char *cmds[32] = {"run", "check", "help", "version", "targets"};
    size_t n = 5;
    for (size_t i = 0; ev_command_at(i) && n < 32; i++)
        cmds[n++] = ev_command_at(i)->name;
    const char *near = ev_nearest(cmd, cmds, n);
    fprintf(stderr, "evload: unknown command \"%s\"%s%s%s; see `evload --help`\n", cmd,
            near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
    return EV_EUSAGE;
}
