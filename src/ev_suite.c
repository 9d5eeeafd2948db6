/* ev_suite — see ev_suite.h.
 *
 * Design notes
 * - A member is an ordinary run: its plan is built the way `evload run`
 *   builds one (ev_plan_load, ev_plan_set for each override, ev_plan_finish,
 *   ev_check) and run by ev_run, or by ev_sweep_run when its scenario sweeps.
 *   The suite adds the loop, the cooldowns, the table and the index only.
 * - Everything that can be checked without connecting is checked for every
 *   member before the first one runs, so a typo in member 5 does not cost the
 *   first four runs. Errors in the suite file point into it; errors inside a
 *   member's scenario keep their own FILE:LINE:COL behind the suite position
 *   of the member's "scenario".
 * - Order of overrides: the scenario file, the member's "set", the command
 *   line's --set, then --target: the command line has the last word, as with
 *   `evload run`.
 * - The index (OUT/suite.json) is rewritten after every member, so a suite
 *   cut short (Ctrl-C, a crash) still says what ran. */
#include "ev_suite.h"
#include "ev_signal.h"

#include "ev_clock.h"
#include "ev_engine.h"
#include "ev_load.h"
#include "ev_render.h"
#include "ev_report.h"
#include "ev_scenario.h"
#include "ev_settings.h"
#include "ev_sweep.h"
#include "ev_text.h"
#include "ev_where.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SUITE_MAX_BYTES (1u << 20)
#define SUITE_MEMBERS_MAX 256

typedef enum { V_PENDING, V_PASS, V_FAIL, V_INCOMPLETE, V_SKIPPED, V_ERROR } verdict;
static const char *const verdict_names[] = {"pending",    "pass",    "fail",
                                            "incomplete", "skipped", "error"};

typedef struct member {
    char *scenario;   /* as written */
    char *path;       /* resolved against the suite file's directory */
    char *name;       /* given, or the scenario's name */
    char **sets;      /* "KEY=VALUE", in file order */
    char **set_paths; /* "members[i].set.KEY", for error positions */
    size_t nsets;
    int64_t cooldown_ns;
    int sweeps; /* its scenario has a "sweep" */
    /* After it ran. */
    verdict v;
    int rc;
    double duration_s;
    char dir[1024];
    char note[sizeof(ev_err) + 64]; /* failing thresholds, the error, or why skipped */
    json_t *failed;                 /* [{metric, expr, value}] of failing thresholds, or NULL */
} member;

typedef struct suite {
    char *path;
    char *name;
    int stop_on_fail;
    member *m;
    size_t n;
    /* The command line. */
    const char *target;
    char *const *sets;
    int nsets;
} suite;

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

static void suite_free(suite *s)
{
    for (size_t i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        free(m->scenario);
        free(m->path);
        free(m->name);
        for (size_t k = 0; k < m->nsets; k++) {
            free(m->sets[k]);
            free(m->set_paths[k]);
        }
        free(m->sets);
        free(m->set_paths);
        json_decref(m->failed);
    }
    free(s->m);
    free(s->path);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* The whole file into *buf (NUL-terminated; caller frees). */
static int read_file(const char *path, char **buf, size_t *len, ev_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ev_err_set(err, EV_EUSAGE, "%s: cannot open (%s); expected a suite JSON file", path,
                          strerror(errno));
    size_t cap = 0, n = 0;
    char *b = NULL;
    int rc = EV_OK;
    for (;;) {
        if (cap - n < 4097) {
            if (cap >= SUITE_MAX_BYTES) {
                rc = ev_err_set(err, EV_EUSAGE, "%s: larger than 1 MiB; expected a suite file",
                                path);
                goto out;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(b, cap);
            if (!nb) {
                rc = oom(err);
                goto out;
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f))
        rc = ev_err_set(err, EV_EUSAGE, "%s: cannot read (%s)", path, strerror(errno));
out:
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return EV_OK;
}

int ev_suite_is_suite(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, NULL))
        return 0;
    json_t *root = json_loadb(text, len, 0, NULL);
    int yes = json_is_object(root) && json_object_get(root, "members") != NULL;
    json_decref(root);
    free(text);
    return yes;
}

/* A JSON value as the text `--set KEY=VALUE` takes: strings as they are,
 * numbers and booleans as written, objects and arrays as compact JSON. */
static char *set_text(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v))
        return strdup("true");
    if (json_is_false(v))
        return strdup("false");
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        return strdup(b);
    }
    if (json_is_real(v)) {
        char b[40];
        ev_fmt_num(json_real_value(v), b, sizeof b);
        return strdup(b);
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static char *resolve(const char *suite_path, const char *rel)
{
    const char *slash = strrchr(suite_path, '/');
    if (rel[0] == '/' || !slash) {
        return strdup(rel);
    }
    size_t dl = (size_t)(slash - suite_path) + 1, rl = strlen(rel);
    char *p = malloc(dl + rl + 1);
    if (p) {
        memcpy(p, suite_path, dl);
        memcpy(p + dl, rel, rl + 1);
    }
    return p;
}

static int parse_member(suite *s, size_t i, json_t *obj, const ev_where *w, ev_err *err)
{
    static const char *const keys[] = {"scenario", "name", "set", "cooldown"};
    char at[48], path[96];
    member *m = &s->m[i];
    snprintf(at, sizeof at, "members[%zu]", i);
    if (!json_is_object(obj))
        return ev_where_fail(w, at, 0, 1, err,
                             "must be an object {\"scenario\": \"FILE\", ...} (got %s)",
                             ev_json_kind(obj));
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        size_t k = 0;
        while (k < 4 && strcmp(key, keys[k]))
            k++;
        if (k == 4)
            return ev_unknown_key(w, at, key, keys, 4, err);
        snprintf(path, sizeof path, "%s.%s", at, key);
        if (k == 0 || k == 1) {
            if (!json_is_string(v) || !json_string_value(v)[0])
                return ev_where_fail(w, path, 0, 1, err, "must be a non-empty string (got %s)",
                                     ev_json_kind(v));
            if (k == 1 && !ev_valid_name(json_string_value(v), 64))
                return ev_where_fail(w, path, 0, 1, err,
                                     "must be 1..64 letters, digits, '_', '-' or '.' (it names "
                                     "the member's results directory)");
            char *d = strdup(json_string_value(v));
            if (!d)
                return oom(err);
            free(k == 0 ? m->scenario : m->name);
            *(k == 0 ? &m->scenario : &m->name) = d;
        } else if (k == 3) {
            ev_err e2 = {{0}};
            if (!json_is_string(v) || ev_parse_duration(json_string_value(v), &m->cooldown_ns, &e2))
                return ev_where_fail(w, path, 0, 1, err, "%s",
                                     json_is_string(v)
                                         ? e2.msg
                                         : "must be a duration string such as \"10s\" or \"1m\"");
        } else {
            if (!json_is_object(v))
                return ev_where_fail(w, path, 0, 1, err,
                                     "must be an object of settings {\"publish.rate\": 500, ...} "
                                     "(got %s)",
                                     ev_json_kind(v));
            size_t n = json_object_size(v);
            m->sets = calloc(n + 1, sizeof *m->sets);
            m->set_paths = calloc(n + 1, sizeof *m->set_paths);
            if (!m->sets || !m->set_paths)
                return oom(err);
            const char *sk;
            json_t *sv;
            json_object_foreach (v, sk, sv) {
                char *val = set_text(sv), *asg = NULL, *sp = NULL;
                size_t na = val ? strlen(sk) + strlen(val) + 2 : 0;
                size_t np = strlen(path) + strlen(sk) + 2;
                if (val && (asg = malloc(na)))
                    snprintf(asg, na, "%s=%s", sk, val);
                if (asg && (sp = malloc(np)))
                    snprintf(sp, np, "%s.%s", path, sk);
                free(val);
                if (!asg || !sp) {
                    free(asg);
                    free(sp);
                    return oom(err);
                }
                m->sets[m->nsets] = asg;
                m->set_paths[m->nsets++] = sp;
            }
        }
    }
    if (!m->scenario)
        return ev_where_fail(w, at, 0, 1, err,
                             "has no \"scenario\"; expected the path of a scenario file, "
                             "relative to the suite file");
    if (!(m->path = resolve(s->path, m->scenario)))
        return oom(err);
    return EV_OK;
}

/* Member m's plan, through ev_load_plan as `evload run` loads one: its
 * scenario, its set, the command line's --set, `extra` (a sweep point's
 * KEY=VALUE), --target, the transport's defaults, finished and checked.
 * The member's set is first tried one by one on the bare scenario so that
 * an error in it points at its line in the suite file. */
static int member_plan(const suite *s, size_t i, const ev_where *w, const char *extra,
                       ev_plan **out, ev_err *err)
{
    const member *m = &s->m[i];
    char at[64];
    ev_err e = {{0}};
    ev_plan *p = NULL;
    char **sets = NULL;
    int rc;
    snprintf(at, sizeof at, "members[%zu].scenario", i);
    if ((rc = ev_plan_load(m->path, &p, &e)))
        goto fail_at;
    for (size_t k = 0; k < m->nsets; k++)
        if ((rc = ev_plan_set(p, m->sets[k], &e))) {
            ev_plan_free(p);
            /* At the key when it is unknown, else at the value. */
            return ev_where_fail(w, m->set_paths[k], strstr(e.msg, "unknown key") != NULL, 0, err,
                                 "%s", e.msg);
        }
    ev_plan_free(p);
    p = NULL;
    if (!(sets = calloc(m->nsets + (size_t)s->nsets + 1, sizeof *sets)))
        return oom(err);
    for (size_t k = 0; k < m->nsets; k++)
        sets[k] = m->sets[k];
    for (int k = 0; k < s->nsets; k++)
        sets[m->nsets + (size_t)k] = s->sets[k];
    const char *const ex[1] = {extra};
    ev_load_args a = {.path = m->path,
                      .target = s->target,
                      .sets = sets,
                      .nsets = m->nsets + (size_t)s->nsets,
                      .extra = extra ? ex : NULL,
                      .nextra = extra ? 1 : 0};
    rc = ev_load_plan(&a, &p, &e);
    free(sets);
    if (rc)
        goto fail_at;
    *out = p;
    return EV_OK;
fail_at:
    ev_plan_free(p);
    if (rc != EV_EUSAGE)
        return ev_err_set(err, rc, "%s", e.msg);
    /* The suite's position of the member, then the scenario's own error. */
    return ev_where_fail(w, at, 0, 0, err, "member %zu (%s): %s", i + 1,
                         m->name ? m->name : m->scenario, e.msg);
}

/* Parses and checks the suite at path. On success every member's plan was
 * built once (and freed: runs build their own). */
static int suite_load(const char *path, suite *s, ev_err *err)
{
    static const char *const top[] = {"name", "description", "stop_on_fail", "members"};
    char *text = NULL;
    size_t len = 0;
    json_error_t je;
    ev_posmap map = {0};
    json_t *root = NULL;
    int rc = read_file(path, &text, &len, err);
    if (rc)
        return rc;
    if (!(s->path = strdup(path))) {
        rc = oom(err);
        goto out;
    }
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je))) {
        rc = ev_json_error(path, text, len, &je, err);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = ev_err_set(err, EV_EUSAGE,
                        "%s:1:1: not a JSON object (got %s); a suite is one JSON object "
                        "{\"members\": [...]}",
                        path, ev_json_kind(root));
        goto out;
    }
    (void)ev_posmap_scan(text, len, &map); /* on OOM errors carry fewer positions */
    ev_where w = {.file = path, .pos = &map};
    const char *key;
    json_t *v, *members = NULL;
    json_object_foreach (root, key, v) {
        size_t k = 0;
        while (k < 4 && strcmp(key, top[k]))
            k++;
        if (k == 4) {
            rc = ev_unknown_key(&w, "", key, top, 4, err);
            goto out;
        }
        if (k == 0 || k == 1) {
            if (!json_is_string(v)) {
                rc =
                    ev_where_fail(&w, key, 0, 1, err, "must be a string (got %s)", ev_json_kind(v));
                goto out;
            }
            if (k == 0 && !(s->name = strdup(json_string_value(v)))) {
                rc = oom(err);
                goto out;
            }
        } else if (k == 2) {
            if (!json_is_boolean(v)) {
                rc = ev_where_fail(&w, key, 0, 1, err, "must be true or false (got %s)",
                                   ev_json_kind(v));
                goto out;
            }
            s->stop_on_fail = json_is_true(v);
        } else {
            members = v;
        }
    }
    if (!json_is_array(members) || json_array_size(members) == 0 ||
        json_array_size(members) > SUITE_MEMBERS_MAX) {
        rc = members ? ev_where_fail(&w, "members", 0, 1, err,
                                     "must be an array of 1..%d members {\"scenario\": ...} "
                                     "(got %s)",
                                     SUITE_MEMBERS_MAX,
                                     json_is_array(members) ? "too many or none"
                                                            : ev_json_kind(members))
                     : ev_err_set(err, EV_EUSAGE,
                                  "%s: no \"members\"; expected {\"members\": [{\"scenario\": "
                                  "\"FILE\"}, ...]}",
                                  path);
        goto out;
    }
    s->n = json_array_size(members);
    if (!(s->m = calloc(s->n, sizeof *s->m))) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++)
        if ((rc = parse_member(s, i, json_array_get(members, i), &w, err)))
            goto out;
    if (!s->name) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        size_t bl = strlen(b);
        if (bl > 5 && !strcmp(b + bl - 5, ".json"))
            bl -= 5;
        if (!(s->name = strndup(b, bl))) {
            rc = oom(err);
            goto out;
        }
    }
    /* Every member as a run would build it, before anything runs. */
    for (size_t i = 0; i < s->n; i++) {
        ev_plan *p = NULL;
        if ((rc = member_plan(s, i, &w, NULL, &p, err)))
            goto out;
        member *m = &s->m[i];
        m->sweeps = p->nsweep > 0;
        if (!m->name && !(m->name = strdup(p->name))) {
            ev_plan_free(p);
            rc = oom(err);
            goto out;
        }
        ev_plan_free(p);
    }
out:
    json_decref(root);
    ev_posmap_free(&map);
    free(text);
    return rc;
}

/* ---- running ------------------------------------------------------------- */

static int mkdir_p(const char *dir, ev_err *err)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return ev_err_set(err, EV_EUSAGE, "%s: path too long", dir);
    for (char *p = buf + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return ev_err_set(err, EV_EUSAGE, "%s: cannot create (%s)", buf, strerror(errno));
            if (end)
                break;
            *p = '/';
        }
    }
    return EV_OK;
}

/* Sweep members: the loader ev_sweep_run calls for each value. */
typedef struct sweep_ud {
    const suite *s;
    size_t i;
    const ev_where *w;
} sweep_ud;

static int sweep_load(void *ud, const char *assignment, ev_plan **out)
{
    sweep_ud *u = ud;
    ev_err err = {{0}};
    int rc = member_plan(u->s, u->i, u->w, assignment, out, &err);
    if (rc)
        fprintf(stderr, "evload: %s\n", err.msg);
    return rc;
}

/* "e2e p(95)<100 (153.2); lost count==0 (12)" from a results document's
 * failing thresholds (a sweep's: of its runs). */
static void failing_thresholds(member *m, json_t *doc)
{
    size_t n = 0;
    m->failed = json_array();
    json_t *runs = json_object_get(doc, "runs");
    size_t nr = json_is_array(runs) ? json_array_size(runs) : 1;
    for (size_t r = 0; r < nr; r++) {
        json_t *d = json_is_array(runs) ? json_array_get(runs, r) : doc;
        json_t *thr = json_object_get(d, "thresholds"), *t;
        size_t k;
        json_array_foreach (thr, k, t) {
            if (json_is_true(json_object_get(t, "pass")))
                continue;
            json_t *val = json_object_get(t, "value");
            char num[40] = "-";
            if (json_is_number(val))
                ev_fmt_num(json_number_value(val), num, sizeof num);
            const char *metric = json_string_value(json_object_get(t, "metric"));
            const char *expr = json_string_value(json_object_get(t, "expr"));
            /* One threshold failing in several sweep runs is named once. */
            int seen = 0;
            size_t q;
            json_t *f;
            json_array_foreach (m->failed, q, f)
                seen |= !strcmp(json_string_value(json_object_get(f, "metric")), metric) &&
                        !strcmp(json_string_value(json_object_get(f, "expr")), expr);
            if (seen)
                continue;
            if (m->failed)
                json_array_append_new(m->failed, json_pack("{s:s, s:s, s:O}", "metric", metric,
                                                           "expr", expr, "value", val));
            ev_text_put(m->note, sizeof m->note, &n, "%s%s %s (%s)", n ? "; " : "", metric, expr,
                        num);
        }
    }
}

static json_t *index_doc(const suite *s, const char *out, double elapsed, int rc, int interrupted)
{
    json_t *ms = json_array();
    for (size_t i = 0; ms && i < s->n; i++) {
        const member *m = &s->m[i];
        json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:i, s:f}", "index", (int)(i + 1), "name",
                              m->name, "scenario", m->scenario, "verdict", verdict_names[m->v],
                              "exit_code", m->rc, "duration_s", m->duration_s);
        if (!e)
            continue;
        if (m->dir[0]) {
            char rp[1100];
            snprintf(rp, sizeof rp, "%s/results.json", m->dir);
            json_object_set_new(e, "dir", json_string(m->dir));
            json_object_set_new(e, "results", json_string(rp));
        }
        if (m->v == V_PENDING || m->v == V_SKIPPED)
            json_object_set_new(e, "exit_code", json_null());
        json_object_set_new(e, "sweep", json_boolean(m->sweeps));
        if (m->failed)
            json_object_set(e, "failed_thresholds", m->failed);
        if (m->note[0] && (m->v == V_SKIPPED || m->v == V_ERROR || m->v == V_INCOMPLETE))
            json_object_set_new(e, m->v == V_SKIPPED ? "skipped_reason" : "reason",
                                json_string(m->note));
        json_array_append_new(ms, e);
    }
    const char *v = rc == 0 ? "pass" : rc == 1 ? "fail" : rc == 5 ? "incomplete" : "error";
    return json_pack("{s:i, s:{s:s, s:s, s:b}, s:s, s:s, s:i, s:b, s:f, s:o}", "schema", 1, "suite",
                     "name", s->name, "path", s->path, "stop_on_fail", s->stop_on_fail, "out", out,
                     "verdict", v, "exit_code", rc, "interrupted", interrupted, "duration_s",
                     elapsed, "members", ms ? ms : json_array());
}

static void write_index(const suite *s, const char *out, double elapsed, int rc, int interrupted)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/suite.json", out);
    json_t *doc = index_doc(s, out, elapsed, rc, interrupted);
    ev_err err = {{0}};
    if (!doc || ev_report_write(doc, p, &err))
        fprintf(stderr, "evload: suite index: %s\n", doc ? err.msg : "out of memory");
    json_decref(doc);
}

static void print_table(FILE *f, const suite *s, int rc)
{
    char d[32];
    fprintf(f, "\nsuite %s: %zu member%s\n", s->name, s->n, s->n == 1 ? "" : "s");
    fprintf(f, "  %-3s %-24s %-10s %9s %4s  %s\n", "#", "member", "verdict", "duration", "exit",
            "notes");
    for (size_t i = 0; i < s->n; i++) {
        const member *m = &s->m[i];
        char code[8] = "-";
        if (m->v != V_SKIPPED && m->v != V_PENDING) {
            snprintf(code, sizeof code, "%d", m->rc);
            ev_format_duration((int64_t)(m->duration_s * 1000.0 + 0.5) * 1000000, d, sizeof d);
        } else {
            snprintf(d, sizeof d, "-");
        }
        fprintf(f, "  %-3zu %-24s %-10s %9s %4s  %s\n", i + 1, m->name, verdict_names[m->v], d,
                code, m->note);
    }
    fprintf(f, "suite verdict: %s (exit %d)\n",
            rc == 0   ? "PASS"
            : rc == 1 ? "FAIL"
            : rc == 5 ? "INCOMPLETE"
                      : "ERROR",
            rc);
}

/* Exit code of the suite so far: 5 interrupted, else the first 2..4 of a
 * member, else 1 if any failed or ended incomplete, else 0. */
static int suite_rc(const suite *s, int interrupted)
{
    if (interrupted)
        return EV_EINCOMPLETE;
    int any_fail = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->m[i].v == V_ERROR)
            return s->m[i].rc;
        any_fail |= s->m[i].v == V_FAIL || s->m[i].v == V_INCOMPLETE;
    }
    return any_fail ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: evload suite SUITE.json [--target URL] [--out DIR] [--set KEY=VALUE]...\n"
               "                    [--quiet] [--progress]\n"
               "\n"
               "Runs the suite's members (scenarios) in order, each an ordinary run with its own\n"
               "\"set\" overrides and an optional \"cooldown\" after it, then prints one table of\n"
               "verdicts. The whole suite is checked before the first member runs.\n"
               "\n"
               "  -t, --target URL      every member publishes there (overrides each scenario's)\n"
               "  -o, --out DIR         OUT/NN-NAME/ per member (what `evload run --out` writes:\n"
               "                        results.json, report.html, timeseries.csv, junit.xml;\n"
               "                        a sweep: results.json) and OUT/suite.json\n"
               "                        (default results/SUITE-YYYYMMDDTHHMMSSZ)\n"
               "  -s, --set KEY=VALUE   applied to every member, after the member's own \"set\"\n"
               "  -q, --quiet           each run prints only its verdict line\n"
               "  -p, --progress        status lines even when stderr is not a terminal\n"
               "\n"
               "suite file: {\"name\": \"...\", \"stop_on_fail\": false, \"members\": [\n"
               "  {\"scenario\": \"FILE (relative to the suite file)\", \"name\": \"...\",\n"
               "   \"set\": {\"publish.rate\": 500}, \"cooldown\": \"10s\"}, ...]}\n"
               "\n"
               "exit codes: 0 every member passed · 1 a member failed · 2 bad suite (nothing ran)\n"
               "            · 3 a member could not connect · 4 internal · 5 interrupted (Ctrl-C\n"
               "            stops the current member and skips the rest)\n");
}

int ev_suite_check(const char *path, const char *target, char *const *sets, int nsets)
{
    suite s = {.target = target, .sets = sets, .nsets = nsets};
    ev_err err = {{0}};
    int rc = suite_load(path, &s, &err);
    if (rc) {
        fprintf(stderr, "evload: %s\n", err.msg);
    } else {
        printf("suite     %s%s (%zu member%s)\n", s.name, s.stop_on_fail ? ", stop_on_fail" : "",
               s.n, s.n == 1 ? "" : "s");
        for (size_t i = 0; i < s.n; i++) {
            char d[32] = "";
            if (s.m[i].cooldown_ns)
                ev_format_duration(s.m[i].cooldown_ns, d, sizeof d);
            printf("  %2zu %-24s %s%s%s%s%zu override%s\n", i + 1, s.m[i].name, s.m[i].scenario,
                   d[0] ? "  cooldown " : "", d, "  ", s.m[i].nsets, s.m[i].nsets == 1 ? "" : "s");
        }
        printf("ok: %s is valid\n", path);
    }
    suite_free(&s);
    return rc;
}

/* Runs member i into OUT/NN-name/ as `evload run --out` would (a sweep
 * member: results.json only) and records its exit code, duration, verdict
 * and failing thresholds in s->m[i]. Sets *interrupted when Ctrl-C came.
 * Returns 0, or the status of a results directory that cannot be made. */
static int run_member(suite *s, size_t i, const char *out, const ev_where *w, const ev_run_opts *ro,
                      int *interrupted, ev_err *err)
{
    member *m = &s->m[i];
    char dirname[96];
    snprintf(dirname, sizeof dirname, "%02zu-%s", i + 1, m->name);
    snprintf(m->dir, sizeof m->dir, "%s/%s", out, dirname);
    int rc = mkdir_p(m->dir, err);
    if (rc)
        return rc;
    char results[1100];
    snprintf(results, sizeof results, "%s/results.json", m->dir);
    printf("\n== suite %s: member %zu/%zu: %s (%s) ==\n", s->name, i + 1, s->n, m->name,
           m->scenario);
    fflush(stdout);
    int64_t t0 = ev_mono_ns();
    json_t *doc = NULL;
    ev_plan *p = NULL;
    int mrc = member_plan(s, i, w, NULL, &p, err);
    if (mrc) {
        snprintf(m->note, sizeof m->note, "%s", err->msg);
    } else if (p->nsweep) {
        ev_run_opts o = *ro;
        o.json_path = results;
        sweep_ud u = {s, i, w};
        mrc = ev_sweep_run(p, sweep_load, &u, &o, stdout);
        json_error_t je;
        doc = json_load_file(results, 0, &je);
    } else {
        /* As `evload run --out DIR`: results.json, report.html,
         * timeseries.csv and junit.xml in the member's directory. */
        ev_run_opts o = *ro;
        o.results = &doc;
        mrc = ev_run(p, &o, err);
        if (mrc >= EV_EUSAGE && mrc <= EV_EINTERNAL) {
            fprintf(stderr, "evload: %s\n", err->msg);
            snprintf(m->note, sizeof m->note, "%s", err->msg);
        }
        ev_err rerr = {{0}};
        if (doc && ev_render_out(doc, m->dir, NULL, &rerr)) {
            fprintf(stderr, "evload: %s\n", rerr.msg);
            if (!(mrc >= EV_EUSAGE && mrc <= EV_EINTERNAL)) {
                mrc = EV_EUSAGE;
                snprintf(m->note, sizeof m->note, "%s", rerr.msg);
            }
        }
    }
    ev_plan_free(p);
    m->rc = mrc;
    m->duration_s = (double)(ev_mono_ns() - t0) / 1e9;
    if (doc)
        failing_thresholds(m, doc);
    json_decref(doc);
    if (atomic_load(ro->interrupt) > 0) {
        *interrupted = 1;
        if (mrc == 0 || mrc == 1)
            mrc = m->rc = EV_EINCOMPLETE; /* stopped by the signal: never a pass */
    }
    m->v = mrc == 0 ? V_PASS : mrc == 1 ? V_FAIL : mrc == EV_EINCOMPLETE ? V_INCOMPLETE : V_ERROR;
    return 0;
}

/* results/NAME-UTCSTAMP, the default --out. */
static void default_out(const char *name, char *buf, size_t size)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(buf, size, "results/%s-%s", name, stamp);
}

/* The cooldown after a member: until it ends or Ctrl-C (then *interrupted). */
static void cooldown(int64_t ns, const ev_run_opts *ro, int *interrupted)
{
    char d[32];
    ev_format_duration(ns, d, sizeof d);
    printf("cooldown %s\n", d);
    fflush(stdout);
    int64_t end = ev_mono_ns() + ns;
    while (ev_mono_ns() < end && atomic_load(ro->interrupt) == 0) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(ro->interrupt) > 0)
        *interrupted = 1;
}

/* Runs the members in order (skipping the rest after Ctrl-C, or after a
 * member that did not pass with stop_on_fail), rewriting OUT's index after
 * each. Returns 0, or the status of a results directory that cannot be made. */
static int run_all(suite *s, const char *out, const ev_where *w, const ev_run_opts *ro,
                   int64_t t_suite, int *interrupted, ev_err *err)
{
    int failed_before = 0;
    for (size_t i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        if (*interrupted || (s->stop_on_fail && failed_before)) {
            m->v = V_SKIPPED;
            snprintf(m->note, sizeof m->note, "%s",
                     *interrupted ? "interrupted before it ran"
                                  : "stop_on_fail: an earlier member did not pass");
            continue;
        }
        int rc = run_member(s, i, out, w, ro, interrupted, err);
        if (rc)
            return rc;
        if (m->v == V_INCOMPLETE && !m->note[0])
            snprintf(m->note, sizeof m->note, "%s",
                     *interrupted ? "interrupted (Ctrl-C)" : "ended incomplete");
        if (m->v != V_PASS)
            failed_before = 1;
        write_index(s, out, (double)(ev_mono_ns() - t_suite) / 1e9, suite_rc(s, *interrupted),
                    *interrupted);
        /* Not after the last member, nor when the rest is skipped. */
        if (m->cooldown_ns && i + 1 < s->n && !*interrupted && !(s->stop_on_fail && failed_before))
            cooldown(m->cooldown_ns, ro, interrupted);
    }
    return EV_OK;
}

int ev_suite_main(int argc, char **argv)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"set", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    suite s = {0};
    ev_run_opts ro = {0};
    const char *out = NULL, *target = NULL;
    char outbuf[512];
    int nsets = 0, rc = 0, ch, interrupted = 0;
    ev_err err = {{0}};
    ev_posmap map = {0};
    if (!sets)
        return EV_EINTERNAL;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "t:o:s:qph", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            target = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 's':
            sets[nsets++] = optarg;
            break;
        case 'q':
            ro.quiet = 1;
            break;
        case 'p':
            ro.progress = 1;
            break;
        case 'h':
            usage(stdout);
            goto done;
        default:
            fprintf(stderr, "evload: see `evload suite --help`\n");
            rc = EV_EUSAGE;
            goto done;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "evload: suite needs exactly one suite file, e.g. `evload suite "
                        "scenarios/suites/s0-s4.json`; see `evload suite --help`\n");
        rc = EV_EUSAGE;
        goto done;
    }
    s.target = target;
    s.sets = sets;
    s.nsets = nsets;
    if ((rc = suite_load(argv[optind], &s, &err))) {
        fprintf(stderr, "evload: %s\n", err.msg);
        goto done;
    }
    if (!out) {
        default_out(s.name, outbuf, sizeof outbuf);
        out = outbuf;
    }
    if ((rc = mkdir_p(out, &err))) {
        fprintf(stderr, "evload: --out %s\n", err.msg);
        goto done;
    }
    /* Positions again, for a sweep member's loader (its errors come late). */
    {
        char *text = NULL;
        size_t len = 0;
        if (read_file(s.path, &text, &len, NULL) == 0)
            (void)ev_posmap_scan(text, len, &map);
        free(text);
    }
    ev_where w = {.file = s.path, .pos = &map};

    ro.interrupt = ev_signal_install();

    int64_t t_suite = ev_mono_ns();
    if ((rc = run_all(&s, out, &w, &ro, t_suite, &interrupted, &err))) {
        fprintf(stderr, "evload: --out %s\n", err.msg);
        goto done;
    }
    rc = suite_rc(&s, interrupted);
    write_index(&s, out, (double)(ev_mono_ns() - t_suite) / 1e9, rc, interrupted);
    print_table(stdout, &s, rc);
    printf("index: %s/suite.json\n", out);
done:
    ev_posmap_free(&map);
    suite_free(&s);
    free(sets);
    return rc;
}
