/* ev_junit — see ev_junit.h. */
#include "ev_junit.h"

#include "ev_json.h"
#include "ev_text.h"

#include <stdlib.h>
#include <string.h>

static void jval(char *b, size_t size, const json_t *v)
{
    if (json_is_integer(v))
        snprintf(b, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        snprintf(b, size, "%.6g", json_number_value(v));
    else
        snprintf(b, size, "none (nothing measured)");
}

typedef struct tally {
    size_t tests, failures, errors;
} tally;

static void count(const json_t *run, tally *t)
{
    size_t i;
    const json_t *x;
    json_array_foreach (ev_jget(run, "thresholds"), i, x) {
        t->tests++;
        t->failures += !json_is_true(ev_jget(x, "pass"));
    }
    if (!json_is_false(ev_jget(run, "deliver.verified")))
        json_array_foreach (ev_jget(run, "deliver.outputs"), i, x) {
            t->tests++;
            t->failures += ev_jint(x, "lost") > 0;
        }
    if (json_is_false(ev_jget(run, "run.completed"))) {
        t->tests++;
        t->errors++;
    }
}

static void suite(FILE *f, const json_t *run, const char *suffix)
{
    tally t = {0};
    count(run, &t);
    const char *scen = ev_jstr(run, "run.scenario");
    fputs("  <testsuite name=\"evload.", f);
    ev_fput_markup(f, scen);
    ev_fput_markup(f, suffix);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\"",
            t.tests, t.failures, t.errors, ev_jnum(run, "run.duration_s"));
    const char *started = ev_jstr(run, "run.started");
    if (strlen(started) >= 19) { /* JUnit's timestamp: ISO 8601 without zone */
        fprintf(f, " timestamp=\"%.19s\"", started);
    }
    fputs(" hostname=\"", f);
    ev_fput_markup(f, *ev_jstr(run, "environment.host") ? ev_jstr(run, "environment.host")
                                                        : "localhost");
    fputs("\">\n    <properties>\n", f);
    static const char *const props[] = {"run.id",       "run.target",    "run.started",
                                        "run.instance", "run.instances", "verdict"};
    for (size_t k = 0; k < sizeof props / sizeof props[0]; k++) {
        char b[64];
        const json_t *v = ev_jget(run, props[k]);
        fprintf(f, "      <property name=\"evload.%s\" value=\"", props[k]);
        if (json_is_string(v))
            ev_fput_markup(f, json_string_value(v));
        else {
            jval(b, sizeof b, v);
            ev_fput_markup(f, b);
        }
        fputs("\"/>\n", f);
    }
    fputs("    </properties>\n", f);
    size_t i;
    const json_t *x;
    json_array_foreach (ev_jget(run, "thresholds"), i, x) {
        char v[64];
        jval(v, sizeof v, ev_jget(x, "value"));
        fputs("    <testcase classname=\"evload.", f);
        ev_fput_markup(f, scen);
        fputs(".thresholds\" name=\"", f);
        ev_fput_markup(f, ev_jstr(x, "metric"));
        fputs(" ", f);
        ev_fput_markup(f, ev_jstr(x, "expr"));
        fputs("\" time=\"0\">", f);
        if (!json_is_true(ev_jget(x, "pass"))) {
            fputs("\n      <failure type=\"threshold\" message=\"", f);
            ev_fput_markup(f, ev_jstr(x, "metric"));
            fputs(" = ", f);
            ev_fput_markup(f, v);
            fputs(", which does not satisfy ", f);
            ev_fput_markup(f, ev_jstr(x, "expr"));
            fputs("\"/>\n    ", f);
        }
        fputs("</testcase>\n", f);
    }
    if (!json_is_false(ev_jget(run, "deliver.verified")))
        json_array_foreach (ev_jget(run, "deliver.outputs"), i, x) {
            const char *name = ev_jstr(x, "name");
            fputs("    <testcase classname=\"evload.", f);
            ev_fput_markup(f, scen);
            fputs(".delivery\" name=\"", f);
            ev_fput_markup(f, *name ? name : "target");
            fprintf(f, ": no loss\" time=\"%.3f\">", ev_jnum(run, "deliver.settle_s"));
            if (ev_jint(x, "lost")) {
                fprintf(f,
                        "\n      <failure type=\"loss\" message=\"%llu events acknowledged and "
                        "never seen (delivered %llu, pending %llu, unconfirmed %llu)\"/>\n    ",
                        (unsigned long long)ev_jint(x, "lost"),
                        (unsigned long long)ev_jint(x, "delivered"),
                        (unsigned long long)ev_jint(x, "pending"),
                        (unsigned long long)ev_jint(x, "unconfirmed"));
            }
            fputs("</testcase>\n", f);
        }
    if (json_is_false(ev_jget(run, "run.completed"))) {
        fputs("    <testcase classname=\"evload.", f);
        ev_fput_markup(f, scen);
        fputs(".run\" name=\"run completed\" time=\"0\">\n      <error type=\"incomplete\" "
              "message=\"",
              f);
        ev_fput_markup(f, ev_jstr(run, "run.end_reason"));
        fputs("\"/>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n", f);
}

int ev_junit_write(FILE *f, const json_t *doc, ev_err *err)
{
    const json_t *runs = ev_jget(doc, "runs");
    int sweep = json_is_array(runs) && json_is_object(ev_jget(doc, "sweep"));
    if (!sweep && !json_is_object(ev_jget(doc, "run")))
        return ev_err_set(err, EV_EUSAGE,
                          "not an evload results document (no \"run\" and no \"sweep\")");
    tally t = {0};
    double time = 0;
    size_t n = sweep ? json_array_size(runs) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = sweep ? json_array_get(runs, i) : doc;
        count(r, &t);
        time += ev_jnum(r, "run.duration_s");
    }
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"evload\" "
            "tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
            t.tests, t.failures, t.errors, time);
    for (size_t i = 0; i < n; i++) {
        char suffix[160] = "";
        const json_t *r = sweep ? json_array_get(runs, i) : doc;
        if (sweep) {
            const json_t *v = ev_jget(json_array_get(ev_jget(doc, "sweep.rows"), i), "value");
            snprintf(suffix, sizeof suffix, "[%s=%s]", ev_jstr(doc, "sweep.key"),
                     json_is_string(v) ? json_string_value(v) : "?");
        }
        suite(f, r, suffix);
    }
    fputs("</testsuites>\n", f);
    return ferror(f) ? ev_err_set(err, EV_EINTERNAL, "write error") : EV_OK;
}
