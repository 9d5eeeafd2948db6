/* ev_scenario — scenario files and `--set` onto the settings table → ev_plan.
 *
 * Design notes
 * - jansson parses (JSON_REJECT_DUPLICATES) and reports syntax errors and
 *   duplicate keys with a byte offset; we turn that offset into LINE:COL
 *   ourselves (columns count bytes, 1-based) and reword its message into the
 *   one-line "FILE:LINE:COL: what is wrong; what was expected" shape.
 * - jansson keeps no positions for values it accepted, so once the text is
 *   known to be valid JSON a small scanner walks it again and records, for
 *   every object member and array element down to depth 4, its dotted path
 *   ("publish.stages[1].target") with the line:col of its key and of its
 *   value. Errors about unknown keys and bad values look positions up by path.
 * - The JSON tree is walked in file order (jansson keeps insertion order), so
 *   the first error reported is the first one in the file.
 * - An ev_plan is allocated as the first member of ev_plan_int, whose other
 *   member records where each setting's value came from (default, file
 *   position, --set). ev_plan_finish needs that both to know whether a value
 *   was given (publish.rate with a ramping executor) and to point at it.
 * - ev_plan_finish holds every cross-field rule, so the order in which the
 *   file and --set were applied never matters. */
#include "ev_scenario.h"

#include "ev_faults.h"
#include "ev_outputs.h"
#include "ev_settings.h"
#include "ev_text.h"

#include <jansson.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SCENARIO_MAX_BYTES (16u << 20)

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

static char *join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *r = malloc(la + ls + lb + 1);
    if (r) {
        memcpy(r, a, la);
        memcpy(r + la, sep, ls);
        memcpy(r + la + ls, b, lb + 1);
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* The plan's hidden half                                                    */

enum { EV_FROM_DEFAULT = 0, EV_FROM_FILE, EV_FROM_SET };

/* Where the current value of one setting came from (for the cross-field
 * checks, which must both know whether a value was given and point at it). */
typedef struct ev_origin {
    int from;      /* EV_FROM_* */
    int line, col; /* EV_FROM_FILE: the value's position; 0 if unknown */
} ev_origin;

/* Every ev_plan handed out by ev_plan_new_default/ev_plan_load* is the first
 * member of one of these, so ev_plan_set/ev_plan_finish can find the origins
 * from the public pointer (C11 6.7.2.1p15). */
typedef struct ev_plan_int {
    ev_plan pub;
    ev_origin origin[EV_SETTINGS_MAX];
    /* A stream's plan: its name, for errors found by ev_plan_finish ("" for
     * a scenario's own plan). */
    char stream[EV_STREAM_NAME_MAX + 1];
} ev_plan_int;

/* ------------------------------------------------------------------------ */
/* The plan                                                                  */

static ev_plan_int *plan_int(ev_plan *p)
{
    return (ev_plan_int *)p; /* p is the first member (see the notes above) */
}

static size_t setting_index(const ev_setting *s)
{
    return (size_t)(s - ev_settings);
}

void ev_plan_free(ev_plan *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->name);
    free(p->description);
    free(p->target);
    free(p->run_id);
    free(p->event_type);
    free(p->event_source);
    free(p->event_data_json);
    free(p->stages);
    free(p->verify_mode);
    free(p->verify_source);
    free(p->verify_match);
    free(p->outputs_json);
    ev_outputs_free(p->outputs, p->noutputs);
    for (size_t i = 0; i < p->nobserve; i++)
        free(p->observe[i]);
    free(p->observe);
    free(p->thresholds);
    ev_faults_plan_free(p->faults, p->nfaults);
    free(p->sweep_key);
    for (size_t i = 0; i < p->nsweep; i++)
        free(p->sweep_values[i]);
    free(p->sweep_values);
    for (size_t i = 0; i < p->nextra; i++) {
        free(p->extra[i].key);
        free(p->extra[i].value);
    }
    free(p->extra);
    for (size_t i = 0; i < p->nstreams; i++)
        if (p->streams[i].owned)
            ev_plan_free(p->streams[i].plan);
    free(p->streams);
    free(plan_int(p));
}

static int set_string(char **field, const char *value)
{
    char *d = strdup(value);
    if (!d)
        return -1;
    free(*field);
    *field = d;
    return 0;
}

int ev_plan_new_default(ev_plan **out, ev_err *err)
{
    ev_plan_int *pi = calloc(1, sizeof *pi);
    if (!pi)
        return oom(err);
    ev_plan *p = &pi->pub;
    int rc = EV_OK;
    if (set_string(&p->path, "") != 0 || set_string(&p->name, "default") != 0) {
        rc = oom(err);
        goto out;
    }
    ev_where w = {.file = NULL, .pos = NULL, .set_key = "(default)"};
    for (size_t i = 0; i < ev_nsettings && rc == EV_OK; i++) {
        const ev_setting *s = &ev_settings[i];
        json_t *v = NULL;
        if (!s->def)
            continue;
        rc = ev_setting_from_text(s, s->def, &v, &w, err);
        if (rc == EV_OK)
            rc = ev_setting_apply(s, p, v, &w, err);
        json_decref(v);
        if (rc == EV_EUSAGE)
            rc = EV_EINTERNAL; /* a bad default is our bug, not the user's */
    }
out:
    if (rc != EV_OK) {
        ev_plan_free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}

/* Sets (replacing) or appends a pass-through broker setting. */
static int extra_put(ev_plan *p, const char *key, const char *value)
{
    for (size_t i = 0; i < p->nextra; i++)
        if (strcmp(p->extra[i].key, key) == 0)
            return set_string(&p->extra[i].value, value);
    ev_kv *v = realloc(p->extra, (p->nextra + 1) * sizeof *v);
    if (!v)
        return -1;
    p->extra = v;
    char *k = strdup(key), *val = strdup(value);
    if (!k || !val) {
        free(k);
        free(val);
        return -1;
    }
    p->extra[p->nextra++] = (ev_kv){k, val};
    return 0;
}

/* The text form of a JSON string, number or boolean (numbers written into
 * num), as --set would take it; NULL for anything else. */
static const char *scalar_text(json_t *v, char *num, size_t size)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(num, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return num;
    }
    if (json_is_real(v)) {
        ev_fmt_num(json_real_value(v), num, size);
        return num;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* ---- pass-through settings ---------------------------------------------- */

/* Prefixes of settings taken verbatim (a transport's own, e.g. "kafka"), set
 * once by the program from the transport registry; NULL-terminated. */
static const char *const *g_passthrough;

void ev_scenario_passthrough(const char *const *prefixes)
{
    g_passthrough = prefixes;
}

/* The pass-through prefix `key` is ("kafka" for "kafka"), or NULL. */
static const char *passthrough(const char *key, size_t len)
{
    for (size_t i = 0; g_passthrough && g_passthrough[i]; i++)
        if (strlen(g_passthrough[i]) == len && strncmp(g_passthrough[i], key, len) == 0)
            return g_passthrough[i];
    return NULL;
}

/* "kafka": {"linger.ms": "5", "acks": 1} → extra "kafka.linger.ms"="5",
 * "kafka.acks"="1": the transport reads them; their names are its own. */
static int apply_passthrough(ev_plan *p, const char *prefix, json_t *obj, const ev_where *w,
                             ev_err *err)
{
    if (!json_is_object(obj))
        return ev_where_fail(w, prefix, 0, 1, err,
                             "must be an object of properties passed to the %s client, e.g. "
                             "{\"name\": \"value\"} (got %s)",
                             prefix, ev_json_kind(obj));
    const char *prop;
    json_t *v;
    json_object_foreach (obj, prop, v) {
        char *key = join(prefix, ".", prop), num[48];
        const char *text = NULL;
        if (!key)
            return oom(err);
        if (!prop[0]) {
            int rc = ev_where_fail(w, key, 1, 0, err, "empty property name in \"%s\"", prefix);
            free(key);
            return rc;
        }
        if (!(text = scalar_text(v, num, sizeof num))) {
            int rc = ev_where_fail(w, key, 0, 1, err,
                                   "must be a string, number or boolean (client properties are "
                                   "text; got %s)",
                                   ev_json_kind(v));
            free(key);
            return rc;
        }
        int r = extra_put(p, key, text);
        free(key);
        if (r != 0)
            return oom(err);
    }
    return EV_OK;
}

#define SWEEP_MAX 32

/* "sweep": {"KEY": [v1, v2, …]}: one setting, 1..SWEEP_MAX scalar values.
 * Each value is checked now by applying it to a scratch plan, so a bad value
 * is reported at load time, not halfway through a sweep. */
static int apply_sweep(ev_plan *p, json_t *obj, const ev_where *w, ev_err *err)
{
    if (!json_is_object(obj) || json_object_size(obj) != 1)
        return ev_where_fail(w, "sweep", 0, 1, err,
                             "must be an object with exactly one setting and its values, e.g. "
                             "{\"verify.consumers\": [1, 2, 4, 8]}");
    const char *key = json_object_iter_key(json_object_iter(obj));
    json_t *arr = json_object_iter_value(json_object_iter(obj));
    const ev_setting *s = ev_setting_find(key);
    if (!s) {
        const char *names[EV_SETTINGS_MAX];
        for (size_t i = 0; i < ev_nsettings; i++)
            names[i] = ev_settings[i].key;
        const char *near = ev_nearest(key, names, ev_nsettings);
        return ev_where_fail(w, "sweep", 0, 1, err, "unknown setting \"%s\"%s%s%s", key,
                             near ? "; did you mean \"" : "", near ? near : "", near ? "\"?" : "");
    }
    if (s->type == EV_ST_OBJECT || s->type == EV_ST_STAGES || s->type == EV_ST_WORK ||
        s->type == EV_ST_THRESHOLDS || s->type == EV_ST_OUTPUTS || s->type == EV_ST_URLS ||
        s->type == EV_ST_STREAMS || !strcmp(key, "target") || !strcmp(key, "name"))
        return ev_where_fail(w, "sweep", 0, 1, err,
                             "cannot sweep \"%s\"; sweep a number, duration or choice such as "
                             "verify.consumers or publish.rate",
                             key);
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > SWEEP_MAX)
        return ev_where_fail(w, "sweep", 0, 1, err,
                             "the values of \"%s\" must be an array of 1 to %d values, e.g. "
                             "[1, 2, 4, 8]",
                             key, SWEEP_MAX);
    ev_plan *scratch = NULL;
    int rc = ev_plan_new_default(&scratch, err);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    char **vals = calloc(n, sizeof *vals);
    char *k = strdup(key);
    if (!vals || !k) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        char num[48], *assign;
        const char *text;
        if (!(text = scalar_text(v, num, sizeof num)) || json_is_boolean(v)) {
            rc = ev_where_fail(w, "sweep", 0, 1, err,
                               "value %zu of \"%s\" must be a number or a string (got %s)", i + 1,
                               key, ev_json_kind(v));
            goto out;
        }
        if (!(vals[i] = strdup(text)) || !(assign = join(key, "=", text))) {
            rc = oom(err);
            goto out;
        }
        ev_err e2;
        rc = ev_plan_set(scratch, assign, &e2);
        free(assign);
        if (rc) {
            rc =
                ev_where_fail(w, "sweep", 0, 1, err, "value %zu of \"%s\": %s", i + 1, key, e2.msg);
            goto out;
        }
    }
    free(p->sweep_key);
    for (size_t i = 0; i < p->nsweep; i++)
        free(p->sweep_values[i]);
    free(p->sweep_values);
    p->sweep_key = k;
    p->sweep_values = vals;
    p->nsweep = n;
    k = NULL;
    vals = NULL;
out:
    if (vals)
        for (size_t i = 0; i < n; i++)
            free(vals[i]);
    free(vals);
    free(k);
    ev_plan_free(scratch);
    return rc;
}

static void mark(ev_plan *p, const ev_setting *s, const ev_where *w)
{
    ev_origin *o = &plan_int(p)->origin[setting_index(s)];
    if (w->set_key) {
        *o = (ev_origin){EV_FROM_SET, 0, 0};
    } else {
        const ev_pos *ps = ev_where_pos(w, s->key);
        *o = (ev_origin){EV_FROM_FILE, ps ? ps->vline : 0, ps ? ps->vcol : 0};
    }
}

static int apply_streams(ev_plan *p, json_t *v, const ev_where *w, ev_err *err);

static int apply_one(ev_plan *p, const ev_setting *s, json_t *v, const ev_where *w, ev_err *err)
{
    int rc =
        s->type == EV_ST_STREAMS ? apply_streams(p, v, w, err) : ev_setting_apply(s, p, v, w, err);
    if (rc == EV_OK)
        mark(p, s, w);
    return rc;
}

#define LEVEL_MAX 24

/* The top-level object onto the table, in file order. */
static int walk(ev_plan *p, json_t *root, const ev_where *w, ev_err *err)
{
    const char *top[LEVEL_MAX + 2];
    char topbuf[256];
    size_t ntop = ev_settings_level("", top, LEVEL_MAX, topbuf, sizeof topbuf);
    for (size_t i = 0; g_passthrough && g_passthrough[i] && ntop < LEVEL_MAX; i++)
        top[ntop++] = g_passthrough[i];
    top[ntop++] = "sweep";

    const char *key;
    json_t *v;
    json_object_foreach (root, key, v) {
        int rc;
        const ev_setting *s = strchr(key, '.') ? NULL : ev_setting_find(key);
        const char *pre = passthrough(key, strlen(key));
        if (pre) {
            rc = apply_passthrough(p, pre, v, w, err);
        } else if (strcmp(key, "sweep") == 0) {
            rc = apply_sweep(p, v, w, err);
        } else if (s) {
            rc = apply_one(p, s, v, w, err);
        } else {
            const char *names[LEVEL_MAX];
            char namebuf[256], prefix[128];
            snprintf(prefix, sizeof prefix, "%s.", key);
            size_t nn = strchr(key, '.')
                            ? 0
                            : ev_settings_level(prefix, names, LEVEL_MAX, namebuf, sizeof namebuf);
            if (nn == 0) {
                if (ev_setting_find(key)) /* "publish.rate" written flat */
                    return ev_where_fail(w, key, 1, 0, err,
                                         "unknown key \"%s\"; settings nest: write {\"%.*s\": "
                                         "{\"%s\": ...}}",
                                         key, (int)(strchr(key, '.') - key), key,
                                         strchr(key, '.') + 1);
                return ev_unknown_key(w, "", key, top, ntop, err);
            }
            if (!json_is_object(v))
                return ev_where_fail(w, key, 0, 1, err, "must be an object (got %s)",
                                     ev_json_kind(v));
            const char *k2;
            json_t *v2;
            rc = EV_OK;
            json_object_foreach (v, k2, v2) {
                char *full = join(key, ".", k2);
                if (!full)
                    return oom(err);
                const ev_setting *s2 = strchr(k2, '.') ? NULL : ev_setting_find(full);
                free(full);
                if (!s2)
                    return ev_unknown_key(w, key, k2, names, nn, err);
                if ((rc = apply_one(p, s2, v2, w, err)) != EV_OK)
                    break;
            }
        }
        if (rc != EV_OK)
            return rc;
    }
    return EV_OK;
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                   */

static const char *const stream_keys[] = {"name", "start_after", "event", "publish"};
#define NSTREAM_KEYS (sizeof stream_keys / sizeof stream_keys[0])

/* 1 when key is a setting a stream may hold. */
static int stream_setting(const char *key)
{
    return !strncmp(key, "event.", 6) || !strncmp(key, "publish.", 8);
}

/* One "event" or "publish" object of a stream onto its plan. */
static int stream_section(ev_plan *child, const char *sect, json_t *obj, const ev_where *w,
                          ev_err *err)
{
    if (!json_is_object(obj))
        return ev_where_fail(w, sect, 0, 1, err, "must be an object (got %s)", ev_json_kind(obj));
    const char *names[LEVEL_MAX];
    char namebuf[256], prefix[16];
    snprintf(prefix, sizeof prefix, "%s.", sect);
    size_t nn = ev_settings_level(prefix, names, LEVEL_MAX, namebuf, sizeof namebuf);
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v) {
        char *full = join(sect, ".", k);
        if (!full)
            return oom(err);
        const ev_setting *st = strchr(k, '.') ? NULL : ev_setting_find(full);
        free(full);
        if (!st)
            return ev_unknown_key(w, sect, k, names, nn, err);
        int rc = apply_one(child, st, v, w, err);
        if (rc)
            return rc;
    }
    return EV_OK;
}

/* One element of "streams" (w's prefix is "streams[i].") onto st and its plan. */
static int stream_walk(ev_stream *st, json_t *obj, const ev_where *w, ev_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        int rc = EV_OK;
        if (!strcmp(key, "name")) {
            if (!json_is_string(v) || !ev_valid_name(json_string_value(v), EV_STREAM_NAME_MAX))
                return ev_where_fail(w, "name", 0, 1, err,
                                     "must be a name of 1..%d letters, digits, '_', '-' or '.', "
                                     "e.g. \"parser\"",
                                     EV_STREAM_NAME_MAX);
            snprintf(st->name, sizeof st->name, "%s", json_string_value(v));
        } else if (!strcmp(key, "start_after")) {
            rc = ev_json_duration(w, "start_after", v, &st->start_after_ns, err);
        } else if (!strcmp(key, "event") || !strcmp(key, "publish")) {
            rc = stream_section(st->plan, key, v, w, err);
        } else {
            return ev_unknown_key(w, "", key, stream_keys, NSTREAM_KEYS, err);
        }
        if (rc)
            return rc;
    }
    return EV_OK;
}

static void streams_free(ev_stream *ss, size_t n)
{
    for (size_t i = 0; ss && i < n; i++)
        if (ss[i].owned)
            ev_plan_free(ss[i].plan);
    free(ss);
}

/* "streams": [{"name": N, "start_after": D, "event": {...}, "publish": {...}}].
 * Each stream gets a plan of its own holding what it sets; ev_plan_finish
 * fills the rest from the top level. */
static int apply_streams(ev_plan *p, json_t *arr, const ev_where *w, ev_err *err)
{
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (!json_is_array(arr) || n == 0 || n > EV_STREAMS_MAX)
        return ev_where_fail(w, "streams", 0, 1, err,
                             "must be an array of 1 to %d streams, e.g. [{\"name\": \"parser\", "
                             "\"publish\": {\"rate\": 500}}] (got %s)",
                             EV_STREAMS_MAX, ev_json_kind(arr));
    ev_stream *ss = calloc(n, sizeof *ss);
    if (!ss)
        return oom(err);
    int rc = EV_OK;
    for (size_t i = 0; i < n && rc == EV_OK; i++) {
        json_t *e = json_array_get(arr, i);
        char at[32], pre[40];
        snprintf(at, sizeof at, "streams[%zu]", i);
        snprintf(pre, sizeof pre, "%s.", at);
        ev_where cw = *w, ew = *w;
        cw.prefix = pre;
        ew.prefix = NULL;
        if (!json_is_object(e)) {
            rc = ev_where_fail(&ew, at, 0, 1, err,
                               "must be an object {\"name\": \"parser\", \"publish\": {...}} "
                               "(got %s)",
                               ev_json_kind(e));
            break;
        }
        if ((rc = ev_plan_new_default(&ss[i].plan, err)) != EV_OK)
            break;
        ss[i].owned = 1;
        if (set_string(&ss[i].plan->path, p->path ? p->path : "")) {
            rc = oom(err);
            break;
        }
        if ((rc = stream_walk(&ss[i], e, &cw, err)) != EV_OK)
            break;
        if (!ss[i].name[0]) {
            rc = ev_where_fail(&ew, at, 0, 1, err,
                               "needs a \"name\" (it tags the stream's metrics, e.g. "
                               "e2e{stream:parser})");
            break;
        }
        snprintf(plan_int(ss[i].plan)->stream, sizeof plan_int(ss[i].plan)->stream, "%s",
                 ss[i].name);
        for (size_t j = 0; j < i && rc == EV_OK; j++)
            if (!strcmp(ss[j].name, ss[i].name))
                rc = ev_where_fail(&cw, "name", 0, 1, err, "\"%s\" names streams[%zu] already",
                                   ss[i].name, j);
    }
    if (rc != EV_OK) {
        streams_free(ss, n);
        return rc;
    }
    streams_free(p->streams, p->nstreams);
    p->streams = ss;
    p->nstreams = n;
    p->streams_explicit = 1;
    return EV_OK;
}

/* --set streams.NAME.KEY=VALUE: one stream's setting (KEY: start_after or an
 * event.* / publish.* key). */
static int set_stream(ev_plan *p, const char *key, const char *value, ev_err *err)
{
    const char *name = key + 8, *dot = strchr(name, '.');
    ev_where w = {.file = NULL, .pos = NULL, .set_key = key};
    if (!dot || dot == name || !dot[1])
        return ev_err_set(err, EV_EUSAGE,
                          "--set %s: expected streams.NAME.KEY=VALUE, e.g. --set "
                          "streams.parser.publish.rate=500",
                          key);
    ev_stream *st = NULL;
    for (size_t i = 0; p->streams_explicit && i < p->nstreams; i++)
        if (strlen(p->streams[i].name) == (size_t)(dot - name) &&
            !strncmp(p->streams[i].name, name, (size_t)(dot - name)))
            st = &p->streams[i];
    if (!st)
        return ev_err_set(err, EV_EUSAGE, "--set %s: no stream named \"%.*s\" in the scenario", key,
                          (int)(dot - name), name);
    const char *sub = dot + 1;
    json_t *v = NULL;
    int rc;
    if (!strcmp(sub, "start_after")) {
        if (!(v = json_string(value)))
            return oom(err);
        rc = ev_json_duration(&w, key, v, &st->start_after_ns, err);
    } else {
        const ev_setting *s = stream_setting(sub) ? ev_setting_find(sub) : NULL;
        if (!s) {
            json_decref(v);
            return ev_err_set(err, EV_EUSAGE,
                              "--set %s: a stream takes start_after, event.* and publish.* "
                              "settings; \"%s\" is none of them",
                              key, sub);
        }
        if ((rc = ev_setting_from_text(s, value, &v, &w, err)) == EV_OK)
            rc = apply_one(st->plan, s, v, &w, err);
    }
    json_decref(v);
    return rc;
}

/* "dir/spike.json" → "spike". */
static int default_name(ev_plan *p, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".json") == 0)
        n -= 5;
    if (n == 0)
        return set_string(&p->name, "scenario");
    char *d = strndup(b, n);
    if (!d)
        return -1;
    free(p->name);
    p->name = d;
    return 0;
}

int ev_plan_load_text(const char *text, size_t len, const char *name, ev_plan **out, ev_err *err)
{
    json_error_t je;
    ev_posmap map = {0};
    ev_plan *p = NULL;
    int rc;
    if (!name)
        name = "";
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ev_json_error(name, text, len, &je, err);
    if (!json_is_object(root)) {
        size_t first = 0;
        int line, col;
        while (first < len && strchr(" \t\r\n", text[first]) && text[first])
            first++;
        ev_line_col(text, len, first, &line, &col);
        rc = ev_err_set(err, EV_EUSAGE,
                        "%s:%d:%d: not a JSON object (got %s); a scenario is one JSON object {...}",
                        name, line, col, ev_json_kind(root));
        goto out;
    }

    (void)ev_posmap_scan(text, len, &map); /* on failure (OOM) errors carry fewer positions */

    if ((rc = ev_plan_new_default(&p, err)) != EV_OK)
        goto out;
    if (set_string(&p->path, name) != 0) {
        rc = oom(err);
        goto out;
    }
    ev_where w = {.file = name, .pos = &map, .set_key = NULL};
    if ((rc = walk(p, root, &w, err)) != EV_OK)
        goto out;
    if (plan_int(p)->origin[setting_index(ev_setting_find("name"))].from == EV_FROM_DEFAULT &&
        default_name(p, name) != 0)
        rc = oom(err);
out:
    json_decref(root);
    ev_posmap_free(&map);
    if (rc != EV_OK) {
        ev_plan_free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}

int ev_plan_load(const char *path, ev_plan **out, ev_err *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = EV_OK;
    if (!f)
        return ev_err_set(err, EV_EUSAGE, "%s: cannot open (%s); expected a scenario JSON file",
                          path, strerror(errno));
    for (;;) {
        if (cap - len < 4096) {
            if (cap >= SCENARIO_MAX_BYTES) {
                rc = ev_err_set(err, EV_EUSAGE, "%s: larger than %u MiB; expected a scenario file",
                                path, SCENARIO_MAX_BYTES >> 20);
                goto out;
            }
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = oom(err);
                goto out;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        rc = ev_err_set(err, EV_EUSAGE, "%s: cannot read (%s); expected a scenario JSON file", path,
                        strerror(errno));
        goto out;
    }
    rc = ev_plan_load_text(buf ? buf : "", len, path, out, err);
out:
    fclose(f);
    free(buf);
    return rc;
}

static int plan_set(ev_plan *p, const char *assignment, ev_err *err);

int ev_plan_set(ev_plan *p, const char *assignment, ev_err *err)
{
    int rc = plan_set(p, assignment, err);
    if (rc != EV_OK && err)
        ev_one_line(err->msg); /* argv may hold anything */
    return rc;
}

static int plan_set(ev_plan *p, const char *assignment, ev_err *err)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return ev_err_set(err, EV_EUSAGE,
                          "--set %s: expected KEY=VALUE, e.g. --set publish.rate=500", assignment);
    char *key = strndup(assignment, (size_t)(eq - assignment));
    if (!key)
        return oom(err);
    const char *value = eq + 1;
    ev_where w = {.file = NULL, .pos = NULL, .set_key = key};
    json_t *v = NULL;
    int rc = EV_OK;

    const char *dot = strchr(key, '.');
    if (dot && passthrough(key, (size_t)(dot - key))) {
        if (!dot[1])
            rc = ev_err_set(err, EV_EUSAGE,
                            "--set %s: no property name; expected e.g. --set %sNAME=VALUE", key,
                            key);
        else if (extra_put(p, key, value) != 0)
            rc = oom(err);
        goto out;
    }
    if (!strncmp(key, "streams.", 8)) {
        rc = set_stream(p, key, value, err);
        goto out;
    }
    const ev_setting *s = ev_setting_find(key);
    if (!s) {
        const char *names[EV_SETTINGS_MAX];
        for (size_t i = 0; i < ev_nsettings; i++)
            names[i] = ev_settings[i].key;
        const char *near = ev_nearest(key, names, ev_nsettings);
        if (near)
            rc = ev_err_set(err, EV_EUSAGE, "--set %s: unknown key \"%s\"; did you mean \"%s\"?",
                            key, key, near);
        else
            rc = ev_err_set(err, EV_EUSAGE,
                            "--set %s: unknown key \"%s\"; expected a key listed "
                            "by evload run --help",
                            key, key);
        goto out;
    }
    if ((rc = ev_setting_from_text(s, value, &v, &w, err)) != EV_OK)
        goto out;
    rc = apply_one(p, s, v, &w, err);
out:
    json_decref(v);
    free(key);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Cross-field checks                                                        */

/* An error about setting `key`, located where its value came from. */
static int origin_fail(ev_plan *p, const char *key, ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int origin_fail(ev_plan *p, const char *key, ev_err *err, const char *fmt, ...)
{
    char body[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const ev_origin *o = &plan_int(p)->origin[setting_index(ev_setting_find(key))];
    const char *path = p->path ? p->path : "", *sn = plan_int(p)->stream;
    char k[EV_STREAM_NAME_MAX + 96];
    if (sn[0]) /* a stream's plan: say which stream */
        snprintf(k, sizeof k, "stream \"%s\": %s", sn, key);
    else
        snprintf(k, sizeof k, "%s", key);
    if (o->from == EV_FROM_SET)
        return ev_err_set(err, EV_EUSAGE, "--set %s: %s %s", key, k, body);
    if (o->from == EV_FROM_FILE && o->line > 0)
        return ev_err_set(err, EV_EUSAGE, "%s:%d:%d: %s %s", path, o->line, o->col, k, body);
    if (path[0])
        return ev_err_set(err, EV_EUSAGE, "%s: %s %s", path, k, body);
    return ev_err_set(err, EV_EUSAGE, "%s %s", k, body);
}

void ev_plan_origin(const ev_plan *p, const char *key, char *buf, size_t size)
{
    const ev_setting *s = ev_setting_find(key);
    const ev_origin *o = s ? &((const ev_plan_int *)p)->origin[setting_index(s)] : NULL;
    const char *path = p->path ? p->path : "";
    if (o && o->from == EV_FROM_SET)
        snprintf(buf, size, "--set %s", key);
    else if (o && o->from == EV_FROM_FILE && o->line > 0)
        snprintf(buf, size, "%s:%d:%d", path, o->line, o->col);
    else if (o && o->from == EV_FROM_FILE)
        snprintf(buf, size, "%s", path);
    else
        snprintf(buf, size, "%s (default)", key);
}

static int given(ev_plan *p, const char *key)
{
    return plan_int(p)->origin[setting_index(ev_setting_find(key))].from != EV_FROM_DEFAULT;
}

int ev_plan_given(const ev_plan *p, const char *key)
{
    const ev_setting *s = ev_setting_find(key);
    return s && ((const ev_plan_int *)p)->origin[setting_index(s)].from != EV_FROM_DEFAULT;
}

int ev_plan_default(ev_plan *p, const char *key, const char *value, ev_err *err)
{
    const ev_setting *s = ev_setting_find(key);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "no setting \"%s\"", key);
    if (given(p, key))
        return EV_OK;
    ev_where w = {.file = NULL, .pos = NULL, .set_key = key};
    json_t *v = NULL;
    int rc = ev_setting_from_text(s, value, &v, &w, err);
    if (rc == EV_OK)
        rc = apply_one(p, s, v, &w, err);
    json_decref(v);
    /* Still nobody's choice: errors name it "KEY (default)". */
    plan_int(p)->origin[setting_index(s)] = (ev_origin){EV_FROM_DEFAULT, 0, 0};
    return rc;
}

static const char *executor_name(ev_executor e)
{
    const ev_setting *s = ev_setting_find("publish.executor");
    return (e >= EV_EXEC_CONSTANT && e <= EV_EXEC_MAX) ? s->choices[e] : "?";
}

/* Which executor takes which publish.* setting. */
static const struct {
    const char *key;
    unsigned executors; /* bit per ev_executor */
} executor_settings[] = {
    {"publish.rate", 1u << EV_EXEC_CONSTANT},
    {"publish.duration", 1u << EV_EXEC_CONSTANT | 1u << EV_EXEC_MAX},
    {"publish.start_rate", 1u << EV_EXEC_RAMPING},
    {"publish.stages", 1u << EV_EXEC_RAMPING},
    {"publish.count", 1u << EV_EXEC_MAX},
};

static const char *executor_takes(ev_executor e)
{
    switch (e) {
    case EV_EXEC_CONSTANT:
        return "publish.rate and publish.duration";
    case EV_EXEC_RAMPING:
        return "publish.start_rate and publish.stages";
    case EV_EXEC_MAX:
        break;
    }
    return "publish.count or publish.duration";
}

/* The publish.* rules, for a plan and for each stream's. */
static int finish_publish(ev_plan *p, ev_err *err)
{
    ev_executor ex = p->executor;
    if (ex < EV_EXEC_CONSTANT || ex > EV_EXEC_MAX)
        return ev_err_set(err, EV_EINTERNAL, "plan has an invalid executor (%d)", (int)ex);
    const char *exn = executor_name(ex);

    for (size_t i = 0; i < sizeof executor_settings / sizeof executor_settings[0]; i++) {
        const char *key = executor_settings[i].key;
        unsigned mask = executor_settings[i].executors;
        if (!given(p, key) || (mask & (1u << ex)))
            continue;
        char only[96];
        size_t n = 0;
        only[0] = '\0';
        for (int e = EV_EXEC_CONSTANT; e <= EV_EXEC_MAX; e++)
            if (mask & (1u << e))
                n += (size_t)snprintf(only + n, n < sizeof only ? sizeof only - n : 0, "%s\"%s\"",
                                      n ? " or " : "", executor_name((ev_executor)e));
        return origin_fail(p, key, err,
                           "applies only to executor %s, but the executor is \"%s\" (which takes "
                           "%s)",
                           only, exn, executor_takes(ex));
    }

    if (ex == EV_EXEC_RAMPING) {
        if (p->nstages == 0)
            return origin_fail(p, "publish.executor", err,
                               "\"%s\" needs publish.stages, e.g. \"stages\": [{\"duration\": "
                               "\"1m\", \"target\": 500}]",
                               exn);
        if (ev_plan_publish_ns(p) <= 0)
            return origin_fail(p, "publish.stages", err,
                               "last 0s in all; expected at least one stage with a duration > 0");
    }
    if (ex == EV_EXEC_MAX) {
        if (p->count == 0 && !given(p, "publish.duration"))
            return origin_fail(p, "publish.executor", err,
                               "\"%s\" needs publish.count (how many events) or publish.duration "
                               "(how long)",
                               exn);
        if (p->count > 0 && given(p, "publish.duration"))
            return origin_fail(p, "publish.duration", err,
                               "and publish.count are alternatives for \"%s\"; set only one", exn);
    }
    if (p->work_min_ns > p->work_max_ns) {
        char a[48], b[48];
        ev_format_duration(p->work_min_ns, a, sizeof a);
        ev_format_duration(p->work_max_ns, b, sizeof b);
        return origin_fail(p, "verify.work", err, "min (%s) is greater than max (%s)", a, b);
    }
    if (p->max_in_flight < p->lanes) {
        if (given(p, "publish.max_in_flight") || !given(p, "publish.lanes"))
            return origin_fail(p, "publish.max_in_flight", err,
                               "(%lld) must be at least publish.lanes (%lld): each lane needs "
                               "room for one event in flight",
                               (long long)p->max_in_flight, (long long)p->lanes);
        return origin_fail(p, "publish.lanes", err,
                           "(%lld) must be at most publish.max_in_flight (%lld): each lane needs "
                           "room for one event in flight",
                           (long long)p->lanes, (long long)p->max_in_flight);
    }
    return EV_OK;
}

#define LANES_MAX 1024

/* Streams: each takes the event.* and publish.* settings it does not set
 * from the top level (and the warm-up), then the publish rules; lanes are
 * numbered across streams. Without streams, the plan is its own stream. */
static int finish_streams(ev_plan *p, ev_err *err)
{
    if (!p->streams_explicit) {
        ev_stream *one = calloc(1, sizeof *one);
        if (!one)
            return oom(err);
        one->plan = p;
        free(p->streams);
        p->streams = one;
        p->nstreams = 1;
        return EV_OK;
    }
    uint32_t lane0 = 0;
    for (size_t i = 0; i < p->nstreams; i++) {
        ev_stream *st = &p->streams[i];
        ev_plan *c = st->plan;
        for (size_t k = 0; k < ev_nsettings; k++) {
            const ev_setting *s = &ev_settings[k];
            if (!stream_setting(s->key) || given(c, s->key))
                continue;
            if (ev_setting_copy(s, c, p)) /* stays "not given": a later finish copies again */
                return oom(err);
        }
        c->warmup_ns = p->warmup_ns;
        int rc = finish_publish(c, err);
        if (rc)
            return rc;
        st->lane0 = lane0;
        lane0 += (uint32_t)c->lanes;
    }
    if (lane0 > LANES_MAX)
        return origin_fail(p, "streams", err,
                           "have %u lanes in all; expected at most %d (publish.lanes of every "
                           "stream together)",
                           lane0, LANES_MAX);
    return EV_OK;
}

/* 1 if a phase of the run can be named `v` (a threshold's {stage:v}). */
static int stage_exists(const ev_plan *p, const char *v)
{
    static const char *const fixed[] = {"warmup", "publish", "drain", "sweep"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(v, fixed[i]))
            return 1;
    unsigned a, b;
    char tail;
    if (!p->streams_explicit && sscanf(v, "stage %u/%u%c", &a, &b, &tail) == 2 && a >= 1 &&
        a <= b && b == p->nstages)
        return 1;
    for (size_t s = 0; s < p->nstreams; s++)
        for (size_t i = 0; i < p->streams[s].plan->nstages; i++)
            if (!strcmp(p->streams[s].plan->stages[i].name, v))
                return 1;
    return 0;
}

/* A `recovery` threshold needs a boundary to measure: a stage boundary
 * where the rate drops (ev_plan_drop_after), with {stage:v} the one at the
 * end of stage v. Otherwise the run could only report it "not measured". */
static int check_recovery(ev_plan *p, const ev_threshold *t, ev_err *err)
{
    const char *v = t->tag == EV_TAG_STAGE ? t->tag_value : NULL;
    char names[256], label[EV_STAGE_NAME_MAX + 32];
    size_t n = 0;
    names[0] = '\0';
    for (size_t i = 0; i < p->nstages; i++) {
        if (!ev_plan_drop_after(p, i))
            continue;
        ev_plan_stage_label(p, i, label, sizeof label);
        if (!v || !strcmp(label, v))
            return EV_OK;
        ev_text_put(names, sizeof names, &n, "%s\"%s\"", n ? ", " : "", label);
    }
    if (p->streams_explicit)
        return origin_fail(p, "thresholds", err,
                           "has \"%s\", but recovery is measured after a drop of the "
                           "rate between the stages of a plan without \"streams\"",
                           t->metric);
    if (names[0])
        return origin_fail(p, "thresholds", err,
                           "has \"%s\", but the rate does not drop at the end of stage \"%s\"; "
                           "it drops at the end of %s",
                           t->metric, v, names);
    return origin_fail(p, "thresholds", err,
                       "has \"%s\", but the rate never drops from one stage to the next, so "
                       "there is nothing to recover from; recovery needs stages such as "
                       "[{\"duration\": \"10s\", \"target\": 500}, {\"duration\": \"30s\", "
                       "\"target\": 100}]",
                       t->metric);
}

/* Each tagged threshold names a part the plan has. */
static int finish_tags(ev_plan *p, ev_err *err)
{
    for (size_t i = 0; i < p->nthresholds; i++) {
        const ev_threshold *t = &p->thresholds[i];
        if (t->id == EV_METRIC_recovery && !t->drift) {
            int rc = check_recovery(p, t, err);
            if (rc)
                return rc;
            continue;
        }
        const char *v = t->tag_value;
        char names[256];
        size_t n = 0;
        names[0] = '\0';
        switch (t->tag) {
        case EV_TAG_NONE:
            break;
        case EV_TAG_STREAM:
            if (p->streams_explicit && ev_plan_stream(p, v))
                break;
            for (size_t s = 0; p->streams_explicit && s < p->nstreams; s++)
                ev_text_put(names, sizeof names, &n, "%s%s", s ? ", " : "", p->streams[s].name);
            return origin_fail(p, "thresholds", err, "has \"%s\", but %s%s%s", t->metric,
                               p->streams_explicit ? "no stream is named so; the streams are "
                                                   : "the scenario has no \"streams\"",
                               names, "");
        case EV_TAG_OUTPUT:
            for (size_t o = 0; p->outputs_explicit && o < p->noutputs; o++) {
                if (!strcmp(p->outputs[o].name, v))
                    goto found;
                ev_text_put(names, sizeof names, &n, "%s%s", o ? ", " : "", p->outputs[o].name);
            }
            return origin_fail(p, "thresholds", err, "has \"%s\", but %s%s", t->metric,
                               p->outputs_explicit ? "no output is named so; the outputs are "
                                                   : "the scenario has no verify.outputs",
                               names);
        case EV_TAG_STAGE:
            if (!stage_exists(p, v)) {
                char forms[32] = "";
                if (!p->streams_explicit && p->executor == EV_EXEC_RAMPING)
                    snprintf(forms, sizeof forms, " or \"stage N/%zu\"", p->nstages);
                return origin_fail(p, "thresholds", err,
                                   "has \"%s\", but no phase of the run is named so; expected "
                                   "a stage's \"name\", \"warmup\", \"publish\", \"drain\" "
                                   "or \"sweep\"%s",
                                   t->metric, forms);
            }
            break;
        }
    found:;
    }
    return EV_OK;
}

int ev_plan_finish(ev_plan *p, ev_err *err)
{
    /* With streams the top level's publish.* are only what streams inherit:
     * the rules apply to each stream's plan. */
    int rc = p->streams_explicit ? EV_OK : finish_publish(p, err);
    if (!rc)
        rc = finish_streams(p, err);
    if (rc)
        return rc;
    if (p->groups == 0) {
        /* Publish only: the delivery side is not measured, so a threshold
         * on it could only pass vacuously. */
        for (size_t i = 0; i < p->nthresholds; i++) {
            const char *m = p->thresholds[i].metric;
            if (!ev_threshold_publish_side(m))
                return origin_fail(p, "verify.groups", err,
                                   "is 0 (publish only: nothing is verified), but thresholds has "
                                   "\"%s\", which needs deliveries; expected verify.groups >= 1, "
                                   "or thresholds on ack, sched_lag or publish_errors only "
                                   "(--set 'thresholds={}' drops the file's)",
                                   m);
        }
    }
    if (!p->target || !p->target[0]) {
        const char *path = p->path ? p->path : "";
        return ev_err_set(err, EV_EUSAGE,
                          "%s%sno target; pass --target URL or set \"target\" in the scenario, "
                          "e.g. \"mock://\"",
                          path, path[0] ? ": " : "");
    }
    if (p->outputs_explicit && p->groups == 0)
        return origin_fail(p, "verify.groups", err,
                           "is 0 (publish only), but verify.outputs names places to verify; "
                           "drop one of them");
    if (p->outputs_explicit && p->verify_source)
        return origin_fail(p, "verify.source", err,
                           "and verify.outputs are alternatives: with outputs, each names its "
                           "own source");
    if ((rc = ev_faults_finish(p, err)))
        return rc;
    if ((rc = ev_outputs_finish(p, err)))
        return rc;
    return finish_tags(p, err);
}
