/* ev_settings — the one table of settings, and applying a value of each type.
 *
 * Design notes
 * - Every setting a user can give lives in `ev_settings[]`: dotted key, type,
 *   unit, range, default (as the text `--set` would take), help, and the
 *   ev_plan field it lands in. The scenario loader, `--set`, the defaults and
 *   `evload run --help` all read this table, so they cannot disagree.
 * - A value arrives as JSON (jansson) from a file, or as `--set` text, which
 *   ev_setting_from_text first turns into the JSON value the file would have
 *   held (number text into a JSON number, JSON-typed settings parsed as JSON).
 *   After that one function, ev_setting_apply, validates and stores it: the
 *   checks and their wording are the same for both sources.
 * - Defaults are applied by feeding each entry's default text through the same
 *   path, so the printed default is the real one.
 * - Errors are one line. Where the value came from is the caller's (ev_where:
 *   file position or "--set KEY"); what is wrong and what was expected is
 *   worded here.
 * - Durations are strings ("1h30m", "1.5s", "250us") parsed with integer
 *   arithmetic only, so "0.1s" is exactly 100000000 ns and overflow is caught.
 * - Also here, because they are small and have no other home: ev_nearest (the
 *   "did you mean" of every unknown name) and the settings printout. */
#include "ev_settings.h"

#include "ev_faults.h"
#include "ev_outputs.h"
#include "ev_text.h"
#include "ev_url.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The table                                                                 */

static const char *check_nonempty(const char *s)
{
    return *s ? NULL : "a non-empty string";
}

/* Only the shape SCHEME:// — the transports' tables check the rest. */
static const char *check_url(const char *s)
{
    return ev_url_shape(s);
}

static const char *check_match(const char *s)
{
    ev_match_kind k;
    const char *arg;
    return ev_match_parse(s, &k, &arg);
}

/* The run id is part of every event id "<run>-<instance>-<lane>-<seq>" and
 * the codec takes [0-9a-z]{1,32} (no '-', nor ':' which BullMQ job ids
 * forbid). */
static const char *check_run_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')))
            break;
    return (n > 0 && n <= 32 && s[n] == '\0')
               ? NULL
               : "1 to 32 lowercase letters or digits (it is part of every event id)";
}

static const char *const mode_names[] = {"structured", "binary", NULL}; /* ev_event_mode order */
static const char *const executor_names[] = {"constant-arrival-rate", "ramping-arrival-rate",
                                             "max-throughput", NULL}; /* ev_executor order */

_Static_assert(sizeof(ev_executor) == sizeof(int) && sizeof(ev_event_mode) == sizeof(int),
               "enum settings are stored as int");

#define OFF(field) offsetof(ev_plan, field)
#define NO_MAX HUGE_VAL /* a double constant: INFINITY is a float */

/* Rates and sizes have generous upper bounds: past them a value is a typo. */
const ev_setting ev_settings[] = {
    {"name", EV_ST_STRING, "", 0, 0, 0, NULL, "(file name)", "Scenario name, shown in reports",
     OFF(name), NULL, check_nonempty},
    {"description", EV_ST_STRING, "", 0, 0, 0, "", "\"\"", "Free text, shown in reports",
     OFF(description), NULL, NULL},
    {"target", EV_ST_STRING, "", 0, 0, 0, NULL, NULL,
     "Broker URL, e.g. mock://; --target overrides it", OFF(target), NULL, check_url},
    {"run_id", EV_ST_STRING, "", 0, 0, 0, NULL, "(random)",
     "Run id in every event id; 12 random hex chars if unset", OFF(run_id), NULL, check_run_id},

    {"event.type", EV_ST_STRING, "", 0, 0, 0, "dev.evload.test", NULL, "CloudEvents type",
     OFF(event_type), NULL, check_nonempty},
    {"event.source", EV_ST_STRING, "", 0, 0, 0, "/evload", NULL, "CloudEvents source",
     OFF(event_source), NULL, check_nonempty},
    {"event.data_size", EV_ST_INT, "bytes", 16, 1048576, 0, "256", NULL,
     "Size the event's data is padded to", OFF(data_size), NULL, NULL},
    {"event.mode", EV_ST_ENUM, "", 0, 0, 0, "structured", NULL,
     "CloudEvents content mode: structured or binary", OFF(mode), mode_names, NULL},
    {"event.data", EV_ST_OBJECT, "", 0, 0, 0, NULL, NULL,
     "JSON object the data is built from (then padded)", OFF(event_data_json), NULL, NULL},

    {"publish.lanes", EV_ST_INT, "", 1, 256, 0, "1", NULL,
     "Publisher connections, each an ordered stream", OFF(lanes), NULL, NULL},
    {"publish.executor", EV_ST_ENUM, "", 0, 0, 0, "constant-arrival-rate", NULL,
     "constant-arrival-rate, ramping-arrival-rate or max-throughput", OFF(executor), executor_names,
     NULL},
    {"publish.rate", EV_ST_NUMBER, "events/s", 0, NO_MAX, 1, "100", NULL,
     "constant-arrival-rate: events/s over all lanes", OFF(rate), NULL, NULL},
    {"publish.duration", EV_ST_DURATION, "", 0, NO_MAX, 1, "10s", NULL,
     "constant-arrival-rate, max-throughput: how long to publish", OFF(duration_ns), NULL, NULL},
    {"publish.start_rate", EV_ST_NUMBER, "events/s", 0, NO_MAX, 0, "0", NULL,
     "ramping-arrival-rate: rate at the start of the first stage", OFF(start_rate), NULL, NULL},
    {"publish.stages", EV_ST_STAGES, "", 0, 0, 0, NULL, NULL,
     "ramping-arrival-rate: [{\"duration\": \"1m\", \"target\": 500}, ...]", OFF(stages), NULL,
     NULL},
    {"publish.count", EV_ST_INT, "events", 0, NO_MAX, 0, "0", NULL,
     "max-throughput: events in all (0: publish for publish.duration)", OFF(count), NULL, NULL},
    {"publish.max_in_flight", EV_ST_INT, "events", 1, 10000000, 0, "1000", NULL,
     "Unacknowledged events allowed, all lanes together", OFF(max_in_flight), NULL, NULL},

    {"verify.groups", EV_ST_INT, "", 0, 1024, 0, "1", NULL,
     "Independent delivery groups that must each see every event (0: publish only, nothing "
     "verified)",
     OFF(groups), NULL, NULL},
    {"verify.consumers", EV_ST_INT, "", 1, 1024, 0, "1", NULL, "Competing consumers in each group",
     OFF(consumers), NULL, NULL},
    {"verify.prefetch", EV_ST_INT, "events", 1, 65535, 0, "100", NULL,
     "Unacknowledged deliveries per consumer", OFF(prefetch), NULL, NULL},
    {"verify.work", EV_ST_WORK, "", 0, NO_MAX, 0, "0s", NULL,
     "Simulated processing per event: \"5ms\" or {\"min\": \"5ms\", \"max\": \"20ms\"}",
     OFF(work_min_ns), NULL, NULL},
    {"verify.drain_timeout", EV_ST_DURATION, "", 0, NO_MAX, 0, "10s", NULL,
     "After publishing, how long to wait for missing events", OFF(drain_timeout_ns), NULL, NULL},
    {"verify.mode", EV_ST_STRING, "", 0, 0, 0, NULL, "(broker's)",
     "Broker-specific consumer mode, e.g. BullMQ worker or observer", OFF(verify_mode), NULL,
     check_nonempty},
    {"verify.source", EV_ST_STRING, "", 0, 0, 0, NULL, "(the target)",
     "Where the verifier consumes, when your services carry events from the target there; "
     "--source overrides it",
     OFF(verify_source), NULL, check_url},
    {"verify.match", EV_ST_STRING, "", 0, 0, 0, "envelope", NULL,
     "How an output message is tied to its event: envelope, header:NAME, json:/POINTER or "
     "traceparent",
     OFF(verify_match), NULL, check_match},
    {"verify.outputs", EV_ST_OUTPUTS, "", 0, 0, 0, NULL, NULL,
     "Named outputs: {\"NAME\": {\"source\": URL, \"expect\": \"all\"|\"none\"|{\"type\": T}|"
     "{\"copies\": K}, \"match\": ..., \"groups\": N, \"consumers\": N}}",
     OFF(outputs), NULL, NULL},
    {"verify.sweep_timeout", EV_ST_DURATION, "", 0, NO_MAX, 0, "10s", NULL,
     "After the drain, how long to read what a durable source still holds (found: late); 0: no "
     "sweep",
     OFF(sweep_timeout_ns), NULL, NULL},
    {"verify.observe", EV_ST_URLS, "", 0, 0, 0, NULL, NULL,
     "Hops to watch (your service's input queue or consumer group): their depth is evidence "
     "for pending",
     OFF(observe), NULL, NULL},

    {"warmup", EV_ST_DURATION, "", 0, NO_MAX, 0, "0s", NULL,
     "Publish this long first, excluded from the results", OFF(warmup_ns), NULL, NULL},
    {"drift.interval", EV_ST_DURATION, "", 0, NO_MAX, 1, "60s", NULL,
     "Length of each point of the soak trend (results.drift: e2e p99, throughput, memory); "
     "slopes need 3 points or more",
     OFF(drift_interval_ns), NULL, NULL},
    {"streams", EV_ST_STREAMS, "", 0, 0, 0, NULL, NULL,
     "Concurrent publish streams: [{\"name\": \"parser\", \"start_after\": \"30s\", \"event\": "
     "{...}, \"publish\": {...}}]; each takes event.* and publish.* it does not set from the top "
     "level",
     OFF(streams), NULL, NULL},
    {"thresholds", EV_ST_THRESHOLDS, "", 0, 0, 0, NULL, NULL,
     "Pass/fail: {\"lost\": [\"count==0\"], \"e2e\": [\"p(95)<3000\"]}", OFF(thresholds), NULL,
     NULL},
    {"faults", EV_ST_FAULTS, "", 0, 0, 0, NULL, NULL,
     "Fault schedule: [{\"at\": \"10s\", \"for\": \"5s\", \"proxy\": TOXIC | \"exec\": COMMAND | "
     "\"connections\": {\"count\": N}}] (docs/faults.md)",
     OFF(faults), NULL, NULL},
};

const size_t ev_nsettings = sizeof ev_settings / sizeof ev_settings[0];

_Static_assert(sizeof ev_settings / sizeof ev_settings[0] <= EV_SETTINGS_MAX,
               "raise EV_SETTINGS_MAX");

const ev_setting *ev_setting_find(const char *key)
{
    for (size_t i = 0; key && i < ev_nsettings; i++)
        if (strcmp(ev_settings[i].key, key) == 0)
            return &ev_settings[i];
    return NULL;
}

size_t ev_settings_level(const char *prefix, const char **names, size_t cap, char *buf,
                         size_t bufsize)
{
    size_t n = 0, used = 0, pl = strlen(prefix);
    for (size_t i = 0; i < ev_nsettings && n < cap; i++) {
        const char *k = ev_settings[i].key;
        if (strncmp(k, prefix, pl) != 0)
            continue;
        const char *seg = k + pl, *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        size_t j;
        for (j = 0; j < n; j++)
            if (strlen(names[j]) == len && strncmp(names[j], seg, len) == 0)
                break;
        if (j < n)
            continue;
        if (!dot) {
            names[n++] = seg; /* the table's own text, NUL-terminated */
        } else if (used + len + 1 <= bufsize) {
            memcpy(buf + used, seg, len);
            buf[used + len] = '\0';
            names[n++] = buf + used;
            used += len + 1;
        }
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

const char *ev_json_kind(const json_t *v)
{
    if (!v)
        return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* Accepts a plain decimal number that fills all of t (strtod alone would also
 * take hex, "inf", "nan" and leading spaces). */
static int number_text(const char *t, double *out)
{
    if (!*t)
        return -1;
    for (const char *q = t; *q; q++)
        if (!isdigit((unsigned char)*q) && !strchr("+-.eE", *q))
            return -1;
    char *end;
    errno = 0;
    double d = strtod(t, &end);
    if (end == t || *end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* The bound of a range as text: a number, or a duration for durations. */
static void fmt_bound(double v, int duration, char *buf, size_t size)
{
    if (duration)
        ev_format_duration((int64_t)v, buf, size);
    else
        ev_fmt_num(v, buf, size);
}

/* "must be between 1 and 256 (got 300)", "must be > 0 (got -5)", … */
static int range_error(const ev_where *w, const char *path, double got, double min, double max,
                       int min_open, const char *unit, int duration, ev_err *err)
{
    char lo[48], hi[48], g[48];
    fmt_bound(min, duration, lo, sizeof lo);
    fmt_bound(isinf(max) ? 0 : max, duration, hi, sizeof hi);
    fmt_bound(got, duration, g, sizeof g);
    const char *sp = unit[0] ? " " : "";
    if (isinf(max))
        return ev_where_fail(w, path, 0, 1, err, "must be %s %s (got %s)",
                             min_open ? ">" : ">=", lo, g);
    if (min_open)
        return ev_where_fail(w, path, 0, 1, err, "must be > %s and <= %s%s%s (got %s)", lo, hi, sp,
                             unit, g);
    return ev_where_fail(w, path, 0, 1, err, "must be between %s and %s%s%s (got %s)", lo, hi, sp,
                         unit, g);
}

static int out_of_range(double v, double min, double max, int min_open)
{
    return (min_open ? !(v > min) : !(v >= min)) || v > max;
}

/* Type error, with a hint when a number was written in quotes. */
static int type_error(const ev_where *w, const char *path, const char *what, const json_t *v,
                      ev_err *err)
{
    double d;
    if (json_is_string(v) && number_text(json_string_value(v), &d) == 0 &&
        (strcmp(what, "an integer") == 0 || strcmp(what, "a number") == 0))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be %s, not a string; write %s without quotes", what,
                             json_string_value(v));
    return ev_where_fail(w, path, 0, 1, err, "must be %s (got %s)", what, ev_json_kind(v));
}

static int get_int(const ev_where *w, const char *path, const json_t *v, double min, double max,
                   const char *unit, int64_t *out, ev_err *err)
{
    double d;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (out_of_range((double)x, min, max, 0))
            return range_error(w, path, (double)x, min, max, 0, unit, 0, err);
        *out = (int64_t)x;
        return EV_OK;
    }
    if (!json_is_real(v))
        return type_error(w, path, "an integer", v, err);
    d = json_real_value(v);
    if (d != floor(d)) {
        char g[48];
        ev_fmt_num(d, g, sizeof g);
        return ev_where_fail(w, path, 0, 1, err, "must be a whole number (got %s)", g);
    }
    if (out_of_range(d, min, max, 0) || d >= 9223372036854775807.0 || d < -9223372036854775807.0)
        return range_error(w, path, d, min, max, 0, unit, 0, err);
    *out = (int64_t)d;
    return EV_OK;
}

static int get_number(const ev_where *w, const char *path, const json_t *v, double min, double max,
                      int min_open, const char *unit, double *out, ev_err *err)
{
    if (!json_is_number(v))
        return type_error(w, path, "a number", v, err);
    double d = json_number_value(v);
    if (out_of_range(d, min, max, min_open))
        return range_error(w, path, d, min, max, min_open, unit, 0, err);
    *out = d;
    return EV_OK;
}

static int get_duration(const ev_where *w, const char *path, const json_t *v, double min,
                        int min_open, int64_t *out, ev_err *err)
{
    if (!json_is_string(v))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be a duration string such as \"30s\" (got %s)", ev_json_kind(v));
    ev_err e;
    int64_t ns;
    if (ev_parse_duration(json_string_value(v), &ns, &e) != EV_OK)
        return ev_where_fail(w, path, 0, 0, err, "%s", e.msg);
    if (out_of_range((double)ns, min, NO_MAX, min_open))
        return range_error(w, path, (double)ns, min, NO_MAX, min_open, "", 1, err);
    *out = ns;
    return EV_OK;
}

int ev_json_duration(const ev_where *w, const char *path, const json_t *v, int64_t *out,
                     ev_err *err)
{
    return get_duration(w, path, v, 0, 0, out, err);
}

/* Checks that obj has only keys from names[0..n-1]. */
static int only_keys(const ev_where *w, const char *path, json_t *obj, const char *const *names,
                     size_t n, ev_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(key, names[i]) == 0)
                break;
        if (i == n)
            return ev_unknown_key(w, path, key, names, n, err);
    }
    return EV_OK;
}

#define STAGE_EXAMPLE "[{\"duration\": \"1m\", \"target\": 500}]"
#define STAGE_RATE_MAX NO_MAX

static int apply_stages(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    static const char *const keys[] = {"duration", "target", "name"};
    if (!json_is_array(v))
        return ev_where_fail(w, s->key, 0, 1, err, "must be an array of stages, e.g. %s (got %s)",
                             STAGE_EXAMPLE, ev_json_kind(v));
    size_t n = json_array_size(v);
    if (n == 0)
        return ev_where_fail(w, s->key, 0, 1, err, "must have at least one stage, e.g. %s",
                             STAGE_EXAMPLE);
    ev_stage *st = calloc(n, sizeof *st);
    if (!st)
        return oom(err);
    int rc = EV_OK;
    for (size_t i = 0; i < n && rc == EV_OK; i++) {
        json_t *e = json_array_get(v, i);
        char path[96], sub[112];
        snprintf(path, sizeof path, "%s[%zu]", s->key, i);
        if (!json_is_object(e)) {
            rc = ev_where_fail(w, path, 0, 1, err,
                               "must be an object {\"duration\": \"1m\", \"target\": 500} (got %s)",
                               ev_json_kind(e));
            break;
        }
        if ((rc = only_keys(w, path, e, keys, 3, err)) != EV_OK)
            break;
        json_t *nm = json_object_get(e, "name");
        if (nm) {
            snprintf(sub, sizeof sub, "%s.name", path);
            if (!json_is_string(nm) ||
                !ev_valid_name(json_string_value(nm), EV_STAGE_NAME_MAX - 1)) {
                rc = ev_where_fail(w, sub, 0, 1, err,
                                   "must be a name of 1..%d letters, digits, '_', '-' or '.', "
                                   "e.g. \"spike\"",
                                   EV_STAGE_NAME_MAX - 1);
                break;
            }
            for (size_t j = 0; j < i && rc == EV_OK; j++)
                if (!strcmp(st[j].name, json_string_value(nm)))
                    rc = ev_where_fail(w, sub, 0, 1, err, "\"%s\" names stage %zu already",
                                       st[j].name, j + 1);
            if (rc)
                break;
            snprintf(st[i].name, sizeof st[i].name, "%s", json_string_value(nm));
        }
        json_t *d = json_object_get(e, "duration"), *t = json_object_get(e, "target");
        if (!d || !t) {
            rc = ev_where_fail(w, path, 0, 1, err,
                               "needs \"%s\", e.g. {\"duration\": \"1m\", "
                               "\"target\": 500}",
                               d ? "target" : "duration");
            break;
        }
        snprintf(sub, sizeof sub, "%s.duration", path);
        if ((rc = get_duration(w, sub, d, 0, 0, &st[i].duration_ns, err)) != EV_OK)
            break;
        snprintf(sub, sizeof sub, "%s.target", path);
        rc = get_number(w, sub, t, 0, STAGE_RATE_MAX, 0, "events/s", &st[i].target, err);
    }
    if (rc != EV_OK) {
        free(st);
        return rc;
    }
    free(p->stages);
    p->stages = st;
    p->nstages = n;
    return EV_OK;
}

static int apply_work(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    static const char *const keys[] = {"min", "max"};
    int64_t lo, hi;
    int rc;
    if (json_is_string(v)) {
        if ((rc = get_duration(w, s->key, v, s->min, s->min_open, &lo, err)) != EV_OK)
            return rc;
        p->work_min_ns = p->work_max_ns = lo;
        return EV_OK;
    }
    if (!json_is_object(v))
        return ev_where_fail(w, s->key, 0, 1, err,
                             "must be a duration such as \"5ms\" or an object {\"min\": \"5ms\", "
                             "\"max\": \"20ms\"} (got %s)",
                             ev_json_kind(v));
    if ((rc = only_keys(w, s->key, v, keys, 2, err)) != EV_OK)
        return rc;
    json_t *jmin = json_object_get(v, "min"), *jmax = json_object_get(v, "max");
    if (!jmin || !jmax)
        return ev_where_fail(w, s->key, 0, 1, err,
                             "needs both \"min\" and \"max\", e.g. {\"min\": \"5ms\", \"max\": "
                             "\"20ms\"}; for a fixed time write just \"5ms\"");
    if ((rc = get_duration(w, "verify.work.min", jmin, s->min, s->min_open, &lo, err)) != EV_OK ||
        (rc = get_duration(w, "verify.work.max", jmax, s->min, s->min_open, &hi, err)) != EV_OK)
        return rc;
    if (lo > hi) {
        char a[48], b[48];
        ev_format_duration(lo, a, sizeof a);
        ev_format_duration(hi, b, sizeof b);
        return ev_where_fail(w, s->key, 0, 1, err, "min (%s) is greater than max (%s)", a, b);
    }
    p->work_min_ns = lo;
    p->work_max_ns = hi;
    return EV_OK;
}

static int apply_thresholds(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w,
                            ev_err *err)
{
    if (!json_is_object(v))
        return ev_where_fail(w, s->key, 0, 1, err,
                             "must be an object of metric -> expressions, e.g. {\"lost\": "
                             "[\"count==0\"]} (got %s)",
                             ev_json_kind(v));
    size_t total = 0;
    const char *metric;
    json_t *list;
    json_object_foreach (v, metric, list) {
        if (json_is_array(list))
            total += json_array_size(list);
    }
    ev_threshold *t = total ? calloc(total, sizeof *t) : NULL;
    if (total && !t)
        return oom(err);
    size_t n = 0;
    int rc = EV_OK;
    json_object_foreach (v, metric, list) {
        char path[160];
        ev_err e;
        snprintf(path, sizeof path, "%s.%s", s->key, metric);
        if (!ev_threshold_metric_known(metric)) {
            ev_threshold tmp;
            ev_threshold_parse(metric, "", &tmp, &e); /* words "unknown metric ..." */
            rc = ev_where_fail(w, path, 1, 0, err, "%s", e.msg);
            break;
        }
        if (!json_is_array(list)) {
            rc = ev_where_fail(
                w, path, 0, 1, err, "must be an array of expressions, e.g. [\"%s\"] (got %s)",
                strcmp(metric, "e2e") == 0 ? "p(95)<3000" : "count==0", ev_json_kind(list));
            break;
        }
        for (size_t i = 0; i < json_array_size(list) && rc == EV_OK; i++) {
            json_t *x = json_array_get(list, i);
            char epath[sizeof path + 24];
            snprintf(epath, sizeof epath, "%s[%zu]", path, i);
            if (!json_is_string(x))
                rc = ev_where_fail(w, epath, 0, 1, err,
                                   "must be an expression string such as "
                                   "\"count==0\" (got %s)",
                                   ev_json_kind(x));
            else if (ev_threshold_parse(metric, json_string_value(x), &t[n], &e) != EV_OK)
                rc = ev_where_fail(w, epath, 0, 0, err, "%s", e.msg);
            else
                n++;
        }
        if (rc != EV_OK)
            break;
    }
    if (rc != EV_OK) {
        free(t);
        return rc;
    }
    free(p->thresholds);
    p->thresholds = t;
    p->nthresholds = n;
    return EV_OK;
}

/* An array of URLs (verify.observe). */
static int apply_urls(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    if (!json_is_array(v) || json_array_size(v) > 16)
        return ev_where_fail(w, s->key, 0, 1, err,
                             "must be an array of up to 16 URLs, e.g. [\"amqp://guest:guest@"
                             "127.0.0.1:5672/%%2f?queue=builds\"]");
    size_t n = json_array_size(v);
    char **u = calloc(n ? n : 1, sizeof *u);
    if (!u)
        return oom(err);
    int rc = EV_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *x = json_array_get(v, i);
        char path[96];
        snprintf(path, sizeof path, "%s[%zu]", s->key, i);
        const char *why = json_is_string(x) ? ev_url_shape(json_string_value(x)) : "a URL";
        if (why)
            rc = ev_where_fail(w, path, 0, 1, err, "must be %s", why);
        else if (!(u[i] = strdup(json_string_value(x))))
            rc = oom(err);
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(u[i]);
        free(u);
        return rc;
    }
    for (size_t i = 0; i < p->nobserve; i++)
        free(p->observe[i]);
    free(p->observe);
    p->observe = u;
    p->nobserve = n;
    return EV_OK;
}

static int apply_string(const ev_setting *s, char **field, json_t *v, const ev_where *w,
                        ev_err *err)
{
    if (!json_is_string(v))
        return type_error(w, s->key, "a string", v, err);
    const char *str = json_string_value(v);
    const char *why = s->check ? s->check(str) : NULL;
    if (why) {
        /* Never echo a target with credentials in it (docs/design.md §7.3). */
        if (s->check == check_url && strchr(str, '@'))
            return ev_where_fail(w, s->key, 0, 1, err, "must be %s", why);
        char got[EV_SHOW_SIZE(60)];
        ev_show(str, 60, got, sizeof got);
        return ev_where_fail(w, s->key, 0, 1, err, "must be %s (got \"%s\")", why, got);
    }
    char *dup = strdup(str);
    if (!dup)
        return oom(err);
    free(*field);
    *field = dup;
    return EV_OK;
}

static int apply_enum(const ev_setting *s, void *field, json_t *v, const ev_where *w, ev_err *err)
{
    char list[200];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; s->choices[i]; i++)
        ev_text_put(list, sizeof list, &len, "%s\"%s\"", i ? ", " : "", s->choices[i]);
    if (!json_is_string(v))
        return ev_where_fail(w, s->key, 0, 1, err, "must be one of %s (got %s)", list,
                             ev_json_kind(v));
    for (int i = 0; s->choices[i]; i++) {
        if (strcmp(s->choices[i], json_string_value(v)) == 0) {
            memcpy(field, &i, sizeof i);
            return EV_OK;
        }
    }
    char got[EV_SHOW_SIZE(60)];
    ev_show(json_string_value(v), 60, got, sizeof got);
    return ev_where_fail(w, s->key, 0, 1, err, "must be one of %s (got \"%s\")", list, got);
}

int ev_setting_apply(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    void *field = (char *)p + s->off;
    int64_t i64 = 0;
    double d = 0;
    int rc;
    switch (s->type) {
    case EV_ST_STRING:
        return apply_string(s, field, v, w, err);
    case EV_ST_INT:
        if ((rc = get_int(w, s->key, v, s->min, s->max, s->unit, &i64, err)) == EV_OK)
            *(int64_t *)field = i64;
        return rc;
    case EV_ST_NUMBER:
        if ((rc = get_number(w, s->key, v, s->min, s->max, s->min_open, s->unit, &d, err)) == EV_OK)
            *(double *)field = d;
        return rc;
    case EV_ST_DURATION:
        if ((rc = get_duration(w, s->key, v, s->min, s->min_open, &i64, err)) == EV_OK)
            *(int64_t *)field = i64;
        return rc;
    case EV_ST_ENUM:
        return apply_enum(s, field, v, w, err);
    case EV_ST_OBJECT: {
        if (!json_is_object(v))
            return ev_where_fail(w, s->key, 0, 1, err,
                                 "must be a JSON object, e.g. {\"kind\": \"test\"} (got %s)",
                                 ev_json_kind(v));
        char *text = json_dumps(v, JSON_COMPACT);
        if (!text)
            return oom(err);
        free(*(char **)field);
        *(char **)field = text;
        return EV_OK;
    }
    case EV_ST_STAGES:
        return apply_stages(s, p, v, w, err);
    case EV_ST_WORK:
        return apply_work(s, p, v, w, err);
    case EV_ST_THRESHOLDS:
        return apply_thresholds(s, p, v, w, err);
    case EV_ST_OUTPUTS:
        return ev_outputs_apply(p, v, w, err);
    case EV_ST_URLS:
        return apply_urls(s, p, v, w, err);
    case EV_ST_FAULTS:
        return ev_faults_apply(p, v, w, err);
    case EV_ST_STREAMS:
        break; /* ev_scenario applies streams: each is walked like a scenario */
    }
    return ev_err_set(err, EV_EINTERNAL, "setting %s has an unknown type", s->key);
}

int ev_setting_copy(const ev_setting *s, ev_plan *dst, const ev_plan *src)
{
    void *d = (char *)dst + s->off;
    const void *f = (const char *)src + s->off;
    switch (s->type) {
    case EV_ST_STRING:
    case EV_ST_OBJECT: {
        const char *v = *(char *const *)f;
        char *c = v ? strdup(v) : NULL;
        if (v && !c)
            return -1;
        free(*(char **)d);
        *(char **)d = c;
        return 0;
    }
    case EV_ST_INT:
    case EV_ST_DURATION:
        *(int64_t *)d = *(const int64_t *)f;
        return 0;
    case EV_ST_NUMBER:
        *(double *)d = *(const double *)f;
        return 0;
    case EV_ST_ENUM:
        *(int *)d = *(const int *)f;
        return 0;
    case EV_ST_STAGES: {
        ev_stage *st = NULL;
        if (src->nstages && !(st = malloc(src->nstages * sizeof *st)))
            return -1;
        if (st)
            memcpy(st, src->stages, src->nstages * sizeof *st);
        free(dst->stages);
        dst->stages = st;
        dst->nstages = src->nstages;
        return 0;
    }
    default:
        return -1; /* not a stream's setting */
    }
}

/* Examples shown when --set JSON text does not parse. */
static const char *json_example(const ev_setting *s)
{
    switch (s->type) {
    case EV_ST_STAGES:
        return "'" STAGE_EXAMPLE "'";
    case EV_ST_THRESHOLDS:
        return "'{\"lost\": [\"count==0\"]}'";
    case EV_ST_OUTPUTS:
        return "'{\"out\": {\"source\": \"mock://\"}}'";
    case EV_ST_URLS:
        return "'[\"amqp://127.0.0.1/%2f?queue=q\"]'";
    case EV_ST_FAULTS:
        return "'[{\"at\": \"5s\", \"exec\": \"true\"}]'";
    case EV_ST_STREAMS:
        return "'[{\"name\": \"a\", \"publish\": {\"rate\": 50}}]'";
    case EV_ST_WORK:
        return "5ms or '{\"min\": \"5ms\", \"max\": \"20ms\"}'";
    default:
        return "'{\"kind\": \"test\"}'";
    }
}

int ev_setting_from_text(const ev_setting *s, const char *text, json_t **out, const ev_where *w,
                         ev_err *err)
{
    json_t *v = NULL;
    double d;
    const char *t = text;
    char shown[EV_SHOW_SIZE(40)];
    ev_show(text, 40, shown, sizeof shown);
    switch (s->type) {
    case EV_ST_INT: {
        char *end;
        errno = 0;
        long long ll = strtoll(text, &end, 10);
        if (number_text(text, &d) != 0)
            return ev_where_fail(w, s->key, 0, 0, err, "\"%s\" is not an integer; expected e.g. %s",
                                 shown, s->def ? s->def : "1");
        v = (*end == '\0' && errno == 0) ? json_integer(ll) : json_real(d);
        break;
    }
    case EV_ST_NUMBER:
        if (number_text(text, &d) != 0)
            return ev_where_fail(w, s->key, 0, 0, err,
                                 "\"%s\" is not a number; expected e.g. 500 or 12.5", shown);
        v = json_real(d);
        break;
    case EV_ST_WORK:
        while (isspace((unsigned char)*t))
            t++;
        if (*t != '{') {
            v = json_string(text);
            break;
        }
        __attribute__((fallthrough)); /* the object form is JSON */
    case EV_ST_OBJECT:
    case EV_ST_STAGES:
    case EV_ST_THRESHOLDS:
    case EV_ST_OUTPUTS:
    case EV_ST_URLS:
    case EV_ST_FAULTS:
    case EV_ST_STREAMS: {
        json_error_t je;
        v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!v)
            return ev_where_fail(w, s->key, 0, 0, err,
                                 "invalid JSON (%s at column %d); expected e.g. %s", je.text,
                                 je.column, json_example(s));
        break;
    }
    case EV_ST_STRING:
    case EV_ST_DURATION:
    case EV_ST_ENUM:
        v = json_string(text);
        if (!v)
            return ev_where_fail(w, s->key, 0, 0, err, "the value is not valid UTF-8");
        break;
    }
    if (!v)
        return oom(err);
    *out = v;
    return EV_OK;
}

/* ------------------------------------------------------------------------ */
/* The printout for `evload run --help`                                      */

static const char *type_name(const ev_setting *s)
{
    switch (s->type) {
    case EV_ST_STRING:
        return s->check == check_url ? "url" : "string";
    case EV_ST_INT:
        return "integer";
    case EV_ST_NUMBER:
        return "number";
    case EV_ST_DURATION:
        return "duration";
    case EV_ST_ENUM:
        return "enum";
    case EV_ST_OBJECT:
    case EV_ST_THRESHOLDS:
    case EV_ST_OUTPUTS:
        return "object";
    case EV_ST_STAGES:
    case EV_ST_URLS:
    case EV_ST_FAULTS:
    case EV_ST_STREAMS:
        return "array";
    case EV_ST_WORK:
        return "work";
    }
    return "?";
}

static void range_text(const ev_setting *s, char *buf, size_t size)
{
    char lo[32], hi[32];
    size_t n = 0;
    buf[0] = '\0';
    int dur = s->type == EV_ST_DURATION || s->type == EV_ST_WORK;
    if (s->type != EV_ST_INT && s->type != EV_ST_NUMBER && !dur)
        return;
    fmt_bound(s->min, dur, lo, sizeof lo);
    if (isinf(s->max)) {
        ev_text_put(buf, size, &n, "%s %s", s->min_open ? ">" : ">=", lo);
    } else {
        fmt_bound(s->max, dur, hi, sizeof hi);
        ev_text_put(buf, size, &n, s->min_open ? "> %s, <= %s" : "%s..%s", lo, hi);
    }
    if (s->unit[0])
        ev_text_put(buf, size, &n, " %s", s->unit);
}

void ev_settings_print(FILE *f)
{
    /* Key and type columns fit their widest entry; default and range are
     * capped so the help keeps a usable width, and a longer one pushes its
     * row's help to the next line. */
    int wk = 14, wt = 4, wd = 12, wr = 16;
    for (size_t i = 0; i < ev_nsettings; i++) {
        int k = (int)strlen(ev_settings[i].key), t = (int)strlen(type_name(&ev_settings[i]));
        wk = k > wk ? k : wk;
        wt = t > wt ? t : wt;
    }
    const int col[5] = {0, wk + 2, wk + 2 + wt + 2, wk + 2 + wt + 2 + wd + 2,
                        wk + 2 + wt + 2 + wd + 2 + wr + 2};
    const char *head[5] = {"KEY", "TYPE", "DEFAULT", "RANGE/UNIT", "HELP"};
    ev_text_row(f, head, col);
    for (size_t i = 0; i < ev_nsettings; i++) {
        const ev_setting *s = &ev_settings[i];
        char range[64];
        range_text(s, range, sizeof range);
        const char *def = s->def_shown ? s->def_shown : s->def ? s->def : "-";
        const char *cells[5] = {s->key, type_name(s), def, range, s->help};
        ev_text_row(f, cells, col);
    }
}
