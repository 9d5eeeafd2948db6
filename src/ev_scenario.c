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
        s->type == EV_ST_THRESHOLDS || !strcmp(key, "target") || !strcmp(key, "name"))
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
        const ev_pos *ps = ev_posmap_find(w->pos, s->key);
        *o = (ev_origin){EV_FROM_FILE, ps ? ps->vline : 0, ps ? ps->vcol : 0};
    }
}

static int apply_one(ev_plan *p, const ev_setting *s, json_t *v, const ev_where *w, ev_err *err)
{
    int rc = ev_setting_apply(s, p, v, w, err);
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
    const char *path = p->path ? p->path : "";
    if (o->from == EV_FROM_SET)
        return ev_err_set(err, EV_EUSAGE, "--set %s: %s %s", key, key, body);
    if (o->from == EV_FROM_FILE && o->line > 0)
        return ev_err_set(err, EV_EUSAGE, "%s:%d:%d: %s %s", path, o->line, o->col, key, body);
    if (path[0])
        return ev_err_set(err, EV_EUSAGE, "%s: %s %s", path, key, body);
    return ev_err_set(err, EV_EUSAGE, "%s %s", key, body);
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

int ev_plan_finish(ev_plan *p, ev_err *err)
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
    int rc = ev_faults_finish(p, err);
    return rc ? rc : ev_outputs_finish(p, err);
}
