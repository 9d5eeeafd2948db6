/* ev_render — see ev_render.h. */
#include "ev_render.h"

#include "ev_csv.h"
#include "ev_history.h"
#include "ev_html.h"
#include "ev_json.h"
#include "ev_junit.h"
#include "ev_prom.h"
#include "ev_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*writer)(FILE *f, const json_t *doc, const json_t *history, ev_err *err);

static int w_html(FILE *f, const json_t *doc, const json_t *history, ev_err *err)
{
    return ev_html_write(f, doc, history, err);
}

static int w_csv(FILE *f, const json_t *doc, const json_t *history, ev_err *err)
{
    (void)history;
    return ev_csv_write(f, doc, err);
}

static int w_junit(FILE *f, const json_t *doc, const json_t *history, ev_err *err)
{
    (void)history;
    return ev_junit_write(f, doc, err);
}

static int w_prom(FILE *f, const json_t *doc, const json_t *history, ev_err *err)
{
    (void)history;
    return ev_prom_text(f, doc, err);
}

/* One file: to path.tmp, then renamed ("-": stdout). */
static int emit(const char *path, writer w, const json_t *doc, const json_t *history, ev_err *err)
{
    if (!strcmp(path, "-")) {
        int rc = w(stdout, doc, history, err);
        if (!rc && fflush(stdout))
            rc = ev_err_set(err, EV_EINTERNAL, "cannot write to stdout");
        return rc;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ev_err_set(err, EV_EUSAGE, "cannot write %s (%s)", path, strerror(errno));
    int rc = w(f, doc, history, err);
    if (fclose(f) && !rc)
        rc = ev_err_set(err, EV_EUSAGE, "cannot write %s", path);
    if (!rc && rename(tmp, path))
        rc = ev_err_set(err, EV_EUSAGE, "cannot write %s (%s)", path, strerror(errno));
    if (rc) {
        remove(tmp);
        ev_err_prefix(err, "%s", path);
    }
    return rc;
}

/* The run id whose history entry ends the trend: the run's, or a sweep's
 * last run's. */
static const char *last_run_id(const json_t *doc)
{
    const json_t *runs = ev_jget(doc, "runs");
    if (json_is_array(runs) && json_array_size(runs))
        return ev_jstr(json_array_get(runs, json_array_size(runs) - 1), "run.id");
    return ev_jstr(doc, "run.id");
}

int ev_render(const json_t *doc, const ev_render_opts *o, ev_err *err)
{
    json_t *history = NULL;
    int rc = EV_OK;
    if (o->history && o->html &&
        (rc = ev_history_load(o->history, last_run_id(doc), &history, err)))
        return rc;
    if (!rc && o->html)
        rc = emit(o->html, w_html, doc, history, err);
    if (!rc && o->csv)
        rc = emit(o->csv, w_csv, doc, NULL, err);
    if (!rc && o->junit)
        rc = emit(o->junit, w_junit, doc, NULL, err);
    if (!rc && o->prom)
        rc = emit(o->prom, w_prom, doc, NULL, err);
    json_decref(history);
    return rc;
}

int ev_render_out(const json_t *doc, const char *dir, const char *history, ev_err *err)
{
    char results[4096], html[4096], csv[4096], junit[4096];
    json_t *back = NULL;
    int rc = EV_OK;
    if (!dir) /* --history alone */
        return ev_history_append(history, doc, err);
    if (ev_mkdirs(dir))
        return ev_err_set(err, EV_EUSAGE, "--out %s: cannot create it (%s)", dir, strerror(errno));
    snprintf(results, sizeof results, "%s/results.json", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(csv, sizeof csv, "%s/timeseries.csv", dir);
    snprintf(junit, sizeof junit, "%s/junit.xml", dir);
    if ((rc = ev_report_write((json_t *)(uintptr_t)doc, results, err)))
        return rc;
    /* Render from the file as written (reals with 10 digits), never from
     * the document in memory: then `evload report` draws the same page. */
    json_error_t je;
    if (!(back = json_load_file(results, 0, &je)))
        return ev_err_set(err, EV_EINTERNAL, "%s: cannot read it back: %s", results, je.text);
    if (history && (rc = ev_history_append(history, back, err)))
        goto out;
    ev_render_opts o = {.html = html, .csv = csv, .junit = junit, .history = history};
    rc = ev_render(back, &o, err);
out:
    json_decref(back);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: evload report RESULTS.json [--out DIR] [--html FILE] [--csv FILE]\n"
               "                     [--junit FILE] [--prom FILE] [--history DIR]\n"
               "\n"
               "Renders a results file (evload run --json/--out, evload merge -o, or a sweep\n"
               "document) without rerunning anything: the same files `evload run --out` writes,\n"
               "byte for byte.\n"
               "\n"
               "  -o, --out DIR      report.html, timeseries.csv and junit.xml into DIR\n"
               "      --html FILE    the self-contained HTML report (\"-\": stdout)\n"
               "      --csv FILE     the timeseries, one row per second\n"
               "      --junit FILE   thresholds and loss checks as JUnit test cases\n"
               "      --prom FILE    the final figures as Prometheus text exposition\n"
               "      --history DIR  show the trend of DIR's runs (evload run --history DIR) up\n"
               "                     to this one in the HTML report\n"
               "\n"
               "Exit 0, or 2 when the file cannot be read or written (docs/reports.md).\n");
}

int ev_render_main(int argc, char **argv)
{
    enum { O_HTML = 256, O_CSV, O_JUNIT, O_PROM, O_HISTORY };
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},     {"html", required_argument, NULL, O_HTML},
        {"csv", required_argument, NULL, O_CSV},   {"junit", required_argument, NULL, O_JUNIT},
        {"prom", required_argument, NULL, O_PROM}, {"history", required_argument, NULL, O_HISTORY},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    ev_render_opts o = {0};
    const char *out = NULL;
    char html[4096], csv[4096], junit[4096];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case O_HTML:
            o.html = optarg;
            break;
        case O_CSV:
            o.csv = optarg;
            break;
        case O_JUNIT:
            o.junit = optarg;
            break;
        case O_PROM:
            o.prom = optarg;
            break;
        case O_HISTORY:
            o.history = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "evload: see `evload report --help`\n");
            return EV_EUSAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "evload: report needs exactly one results file, e.g. `evload report "
                        "results.json --html report.html`\n");
        return EV_EUSAGE;
    }
    if (!out && !o.html && !o.csv && !o.junit && !o.prom) {
        fprintf(stderr, "evload: report: say what to write (--out DIR, --html, --csv, --junit or "
                        "--prom); see `evload report --help`\n");
        return EV_EUSAGE;
    }
    ev_err err = {{0}};
    int rc = EV_OK;
    json_error_t je;
    json_t *doc = json_load_file(argv[optind], 0, &je);
    if (!doc) {
        fprintf(stderr, "evload: report: %s: %s (line %d)\n", argv[optind], je.text, je.line);
        return EV_EUSAGE;
    }
    if (out) {
        if (ev_mkdirs(out)) {
            fprintf(stderr, "evload: report: cannot create %s (%s)\n", out, strerror(errno));
            json_decref(doc);
            return EV_EUSAGE;
        }
        snprintf(html, sizeof html, "%s/report.html", out);
        snprintf(csv, sizeof csv, "%s/timeseries.csv", out);
        snprintf(junit, sizeof junit, "%s/junit.xml", out);
        o.html = o.html ? o.html : html;
        o.csv = o.csv ? o.csv : csv;
        o.junit = o.junit ? o.junit : junit;
    }
    rc = ev_render(doc, &o, &err);
    if (rc)
        fprintf(stderr, "evload: report: %s\n", err.msg);
    json_decref(doc);
    return rc;
}
