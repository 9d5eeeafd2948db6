/* ev_k8s — `evload k8s render` (see ev_k8s.h and docs/distributed.md).
 *
 * What the output holds, in order:
 *   - a comment: the run (scenario, instances, run id, start instant), the
 *     commands that run it, and where any secret comes from;
 *   - ConfigMap NAME-scenario: the scenario file byte for byte (key: its base
 *     name, so the run's scenario name is the same as on the command line);
 *   - PersistentVolumeClaim CLAIM (ReadWriteMany) for --results pvc:CLAIM;
 *   - Job NAME: Indexed, parallelism = completions = N, no retry of an index
 *     (a rerun would publish that instance's share a second time), each pod
 *     `evload run` with EVLOAD_INSTANCES, EVLOAD_EPOCH and --start-at, its
 *     results in the claim, or after a marker line in its log (stdout);
 *   - Job NAME-merge (pvc): waits for every shard's file (until a deadline
 *     past the run's end), then `evload merge` them; its exit is the verdict.
 *
 * Secrets. The scenario file goes into the ConfigMap as it is, so a URL in it
 * with a password (or a secret target parameter) in clear is refused with its
 * position: it must be written as ${NAME}. The password of --target (and of
 * --source) moves out: the Job passes the URL with ${EVLOAD_TARGET_PASSWORD}
 * (…SOURCE…) in its place, and every ${NAME} any URL uses comes from the
 * Secret NAME-secrets, key NAME, which the user creates. Nothing expanded is
 * ever written.
 *
 * Kubernetes expands $(VAR) in command, args and env values and turns "$$"
 * into "$"; every '$' of ours and the user's is written "$$" so the pod sees
 * exactly what was given, except the one $(JOB_COMPLETION_INDEX) we mean. */
#include "ev_k8s.h"

#include "broker.h"
#include "ev_buf.h"
#include "ev_clock.h"
#include "ev_codec.h"
#include "ev_engine.h"
#include "ev_env.h"
#include "ev_err.h"
#include "ev_load.h"
#include "ev_plan.h"
#include "ev_scenario.h"
#include "ev_text.h"
#include "ev_url.h"
#include "ev_where.h"
#include "ev_yaml.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_ 47      /* NAME-scenario, NAME-secrets, … stay within 63 */
#define MAX_VARS 64       /* distinct ${NAME}s the pods are given */
#define MERGE_SLACK_S 900 /* the merge waits this long past the run's planned end */
#define TARGET_VAR "EVLOAD_TARGET_PASSWORD"
#define SOURCE_VAR "EVLOAD_SOURCE_PASSWORD"

typedef struct k8s {
    /* options */
    const char *path, *image, *ns, *name_opt, *target, *source, *results, *epoch_opt, *run_opt;
    char **sets;
    size_t nsets;
    uint32_t instances;
    int64_t start_in_ns;
    /* derived */
    char *text; /* the scenario file */
    size_t len;
    const char *key; /* its ConfigMap key (base name), into path */
    ev_plan *plan;
    char name[NAME_MAX_ + 1];
    char run_id[EV_RUN_ID_MAX + 1];
    char epoch[32], start[32]; /* RFC 3339 */
    int64_t epoch_s, merge_deadline_s;
    char start_in[32];             /* "30s" */
    char *target_out, *source_out; /* as the pods get them (password → ${VAR}) */
    const char *claim;             /* NULL: --results stdout */
    char claim_buf[NAME_MAX_ + 16];
    const char *vars[MAX_VARS]; /* ${NAME}s of every URL (borrowed: vars_mem) */
    char *vars_mem[MAX_VARS];
    size_t nvars;
} k8s;

/* ---- checks on names and URLs ------------------------------------------ */

/* 1 when s is a DNS-1123 label of at most max bytes. */
static int dns_label(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return 0;
    return 1;
}

/* 1 when s may be a ConfigMap key ([-._a-zA-Z0-9]+, at most 253). */
static int cm_key(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* What url (as written) holds in clear that is a secret: NULL when nothing,
 * else "a password", "parameter KEY" (into buf) or the ambiguous case. A
 * password or secret parameter written only as ${NAME} references is not in
 * clear (names are not secrets). */
static const char *clear_secret(const char *url, char *buf, size_t size)
{
    size_t off = 0, len = 0;
    int r = ev_url_password_span(url, &off, &len);
    if (r < 0)
        return "a user name or password that cannot be told apart from the host (an '@' "
               "after it)";
    if (r > 0 && len && !ev_env_refs_only(url + off, len))
        return "a password";
    const char *sep = strstr(url, "://"), *q = strchr(url, '?');
    char scheme[32];
    size_t sn = sep ? (size_t)(sep - url) : 0;
    if (!sep || !q || sn >= sizeof scheme)
        return NULL;
    for (size_t i = 0; i < sn; i++)
        scheme[i] = (char)tolower((unsigned char)url[i]);
    scheme[sn] = '\0';
    const ev_broker *br = ev_broker_find(scheme);
    if (!br || !br->params)
        return NULL;
    for (const char *p = q + 1; *p && *p != '#';) {
        size_t seg = strcspn(p, "&#"), klen = strcspn(p, "=&#");
        for (const ev_param *d = br->params; klen < seg && d->key; d++) {
            if (!(d->flags & EV_PF_SECRET) || strlen(d->key) != klen || strncmp(p, d->key, klen))
                continue;
            const char *v = p + klen + 1;
            size_t vlen = seg - klen - 1;
            if (vlen && !ev_env_refs_only(v, vlen)) {
                snprintf(buf, size, "parameter %s", d->key);
                return buf;
            }
        }
        p += seg;
        if (*p == '&')
            p++;
    }
    return NULL;
}

/* Adds every ${NAME} of url to k->vars (once each). 0, or an EV_E*. */
static int collect_vars(k8s *k, const char *url, ev_err *err)
{
    size_t pos = 0, n, len = strlen(url);
    const char *p;
    ev_env_kind kind;
    while ((kind = ev_env_next(url, len, &pos, &p, &n)) != EV_ENV_END) {
        if (kind == EV_ENV_BAD)
            return ev_err_set(err, EV_EUSAGE, "a URL has a \"${\" that is not ${NAME}");
        if (kind != EV_ENV_REF)
            continue;
        /* The rendered Job sets these itself. */
        if ((n == 16 && !strncmp(p, "EVLOAD_INSTANCES", n)) ||
            (n == 12 && !strncmp(p, "EVLOAD_EPOCH", n)) ||
            (n == 20 && !strncmp(p, "JOB_COMPLETION_INDEX", n)))
            continue;
        size_t i = 0;
        while (i < k->nvars && !(strlen(k->vars[i]) == n && !strncmp(k->vars[i], p, n)))
            i++;
        if (i < k->nvars)
            continue;
        if (k->nvars == MAX_VARS)
            return ev_err_set(err, EV_EUSAGE, "the URLs use more than %d ${NAME}s", MAX_VARS);
        char *v = strndup(p, n);
        if (!v)
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        k->vars_mem[k->nvars] = v;
        k->vars[k->nvars++] = v;
    }
    return EV_OK;
}

/* Every string of the scenario file that is a URL: no secret in clear (the
 * file goes into the ConfigMap as it is), and its ${NAME}s collected. */
static int scan_json(k8s *k, const json_t *v, char *path, size_t plen, size_t size,
                     const ev_posmap *pos, ev_err *err)
{
    int rc = EV_OK;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char buf[96];
        const char *what;
        if (ev_url_shape(s))
            return EV_OK;
        if ((what = clear_secret(s, buf, sizeof buf))) {
            const ev_pos *at = ev_posmap_find(pos, path);
            return ev_err_set(err, EV_EUSAGE,
                              "%s:%d:%d: %s holds %s in clear, and the scenario file goes into the "
                              "ConfigMap as it is: write it as ${NAME} (the pods get every ${NAME} "
                              "of a URL from the Secret), or leave the URL out of the file and "
                              "give it with --target",
                              k->path, at ? at->vline : 1, at ? at->vcol : 1, path, what);
        }
        return collect_vars(k, s, err);
    }
    if (json_is_object(v)) {
        const char *key;
        const json_t *m;
        json_object_foreach ((json_t *)(uintptr_t)v, key, m) {
            int n = snprintf(path + plen, size - plen, "%s%s", plen ? "." : "", key);
            if (n < 0 || (size_t)n >= size - plen)
                continue; /* too deep to name: no URL lives there */
            if ((rc = scan_json(k, m, path, plen + (size_t)n, size, pos, err)))
                break;
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *m;
        json_array_foreach (v, i, m) {
            int n = snprintf(path + plen, size - plen, "[%zu]", i);
            if (n < 0 || (size_t)n >= size - plen)
                continue;
            if ((rc = scan_json(k, m, path, plen + (size_t)n, size, pos, err)))
                break;
        }
    }
    path[plen] = '\0';
    return rc;
}

static int scan_file(k8s *k, ev_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(k->text, k->len, 0, &je);
    if (!root) /* the loader accepted it: cannot happen unless the file changed */
        return ev_err_set(err, EV_EUSAGE, "%s: changed while being read", k->path);
    ev_posmap pos = {0};
    char path[512] = "";
    (void)ev_posmap_scan(k->text, k->len, &pos); /* on OOM, errors carry fewer positions */
    int rc = scan_json(k, root, path, 0, sizeof path, &pos, err);
    ev_posmap_free(&pos);
    json_decref(root);
    return rc;
}

/* url as the pods get it: its password, when written in clear, replaced by
 * ${var}. A secret parameter in clear is refused. */
static int move_password(const char *opt, const char *url, const char *var, char **out, ev_err *err)
{
    size_t off = 0, len = 0;
    char buf[96];
    const char *what;
    int r = ev_url_password_span(url, &off, &len);
    if (r > 0 && len && !ev_env_refs_only(url + off, len)) {
        size_t n = strlen(url) - len + strlen(var) + 4;
        if (!(*out = malloc(n)))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        snprintf(*out, n, "%.*s${%s}%s", (int)off, url, var, url + off + len);
        return EV_OK;
    }
    if ((what = clear_secret(url, buf, sizeof buf)))
        return ev_err_set(err, EV_EUSAGE,
                          "%s holds %s in clear: write it as ${NAME} (the pods get it from the "
                          "Secret)",
                          opt, what);
    if (!(*out = strdup(url)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    return EV_OK;
}

/* ---- loading ------------------------------------------------------------ */

static int read_file(k8s *k, ev_err *err)
{
    FILE *f = fopen(k->path, "rb");
    ev_buf b = EV_BUF_INIT;
    char chunk[8192];
    size_t n;
    if (!f)
        return ev_err_set(err, EV_EUSAGE, "%s: cannot read the scenario file", k->path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (ev_buf_append(&b, chunk, n)) {
            fclose(f);
            ev_buf_free(&b);
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        }
    int bad = ferror(f);
    fclose(f);
    if (bad || !b.p) {
        ev_buf_free(&b);
        return ev_err_set(err, EV_EUSAGE, "%s: cannot read the scenario file (or it is empty)",
                          k->path);
    }
    k->text = b.p;
    k->len = b.len;
    return EV_OK;
}

/* The plan exactly as `evload check` builds it (ev_load_plan): the file,
 * each --set, run_id when given, --source, --target, the checks; a sweep
 * cannot be one Job. */
static int load_plan(k8s *k, ev_err *err)
{
    char set[64];
    const char *extra[1] = {set};
    if (k->run_opt)
        snprintf(set, sizeof set, "run_id=%.40s", k->run_opt);
    ev_load_args a = {.path = k->path,
                      .target = k->target,
                      .source = k->source,
                      .sets = k->sets,
                      .nsets = k->nsets,
                      .extra = extra,
                      .nextra = k->run_opt ? 1 : 0};
    ev_plan *p = NULL;
    int rc = ev_load_plan(&a, &p, err);
    if (!rc && p->nsweep)
        rc = ev_err_set(err, EV_EUSAGE,
                        "%s: a sweep is several runs, one Job is one: render one per value "
                        "with --set %s=VALUE",
                        k->path, p->sweep_key);
    if (rc) {
        ev_plan_free(p);
        return rc;
    }
    k->plan = p;
    return EV_OK;
}

static void random_run_id(char *out, size_t size)
{
    unsigned char b[6];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        memcpy(b, &x, sizeof b);
    }
    snprintf(out, size, "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static void rfc3339_s(int64_t s, char *buf, size_t size)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The names, the run id, the instants and the URLs the pods get. */
static int derive(k8s *k, ev_err *err)
{
    const ev_plan *p = k->plan;
    int rc;
    const char *slash = strrchr(k->path, '/');
    k->key = slash ? slash + 1 : k->path;
    if (!cm_key(k->key))
        return ev_err_set(err, EV_EUSAGE,
                          "%s: the file's name must be letters, digits, '-', '_' and '.' (it "
                          "becomes the ConfigMap key)",
                          k->path);
    if (k->name_opt) {
        if (!dns_label(k->name_opt, NAME_MAX_))
            return ev_err_set(err, EV_EUSAGE,
                              "--name %s: expected 1 to %d lowercase letters, digits and '-', "
                              "starting and ending with a letter or digit",
                              k->name_opt, NAME_MAX_);
        snprintf(k->name, sizeof k->name, "%s", k->name_opt);
    } else {
        /* evload-<scenario name>, lowercased, other characters as '-'. */
        size_t n = (size_t)snprintf(k->name, sizeof k->name, "evload-");
        for (const char *s = p->name; *s && n < NAME_MAX_; s++) {
            char c = (char)tolower((unsigned char)*s);
            if (!(islower((unsigned char)c) || isdigit((unsigned char)c)))
                c = '-';
            if (c == '-' && k->name[n - 1] == '-')
                continue;
            k->name[n++] = c;
        }
        while (n > 0 && k->name[n - 1] == '-')
            n--;
        k->name[n] = '\0';
    }
    if (k->ns && !dns_label(k->ns, 63))
        return ev_err_set(err, EV_EUSAGE,
                          "--namespace %s: expected 1 to 63 lowercase letters, digits and '-'",
                          k->ns);
    if (p->run_id)
        snprintf(k->run_id, sizeof k->run_id, "%s", p->run_id);
    else
        random_run_id(k->run_id, sizeof k->run_id);
    if (k->epoch_opt) {
        int64_t ns;
        if (ev_rfc3339_parse(k->epoch_opt, &ns))
            return ev_err_set(err, EV_EUSAGE,
                              "--epoch %s: expected an RFC 3339 time such as 2026-12-03T15:00:00Z",
                              k->epoch_opt);
        k->epoch_s = ns / 1000000000;
        if (ns % 1000000000)
            return ev_err_set(err, EV_EUSAGE, "--epoch %s: whole seconds only", k->epoch_opt);
    } else {
        k->epoch_s = (int64_t)time(NULL);
    }
    rfc3339_s(k->epoch_s, k->epoch, sizeof k->epoch);
    if (k->start_in_ns % 1000000000)
        return ev_err_set(err, EV_EUSAGE, "--start-in: whole seconds only");
    ev_format_duration(k->start_in_ns, k->start_in, sizeof k->start_in);
    int64_t start_s = k->epoch_s + k->start_in_ns / 1000000000;
    rfc3339_s(start_s, k->start, sizeof k->start);
    int64_t run_ns = p->warmup_ns + ev_plan_publish_ns(p) + p->drain_timeout_ns;
    k->merge_deadline_s = start_s + run_ns / 1000000000 + 1 + MERGE_SLACK_S;
    if (!k->results) { /* the default claim is named after the Job */
        snprintf(k->claim_buf, sizeof k->claim_buf, "%s-results", k->name);
        k->claim = k->claim_buf;
    } else if (!strcmp(k->results, "stdout"))
        k->claim = NULL;
    else if (!strncmp(k->results, "pvc:", 4)) {
        k->claim = k->results + 4;
        if (!dns_label(k->claim, 63))
            return ev_err_set(err, EV_EUSAGE,
                              "--results %s: the claim's name must be 1 to 63 lowercase "
                              "letters, digits and '-'",
                              k->results);
    } else
        return ev_err_set(err, EV_EUSAGE, "--results %s: expected pvc:CLAIM or stdout", k->results);
    /* Secrets: the file's URLs, the --set values that are URLs, --target and
     * --source. */
    if ((rc = scan_file(k, err)))
        return rc;
    for (size_t i = 0; i < k->nsets; i++) {
        const char *eq = strchr(k->sets[i], '=');
        char buf[96];
        const char *what;
        if (!eq || ev_url_shape(eq + 1))
            continue;
        if ((what = clear_secret(eq + 1, buf, sizeof buf)))
            return ev_err_set(err, EV_EUSAGE,
                              "--set %.*s holds %s in clear: write it as ${NAME} (the pods get "
                              "it from the Secret), or give the URL with --target or --source",
                              (int)(eq - k->sets[i]), k->sets[i], what);
        if ((rc = collect_vars(k, eq + 1, err)))
            return rc;
    }
    if (k->target &&
        ((rc = move_password("--target", k->target, TARGET_VAR, &k->target_out, err)) ||
         (rc = collect_vars(k, k->target_out, err))))
        return rc;
    if (k->source &&
        ((rc = move_password("--source", k->source, SOURCE_VAR, &k->source_out, err)) ||
         (rc = collect_vars(k, k->source_out, err))))
        return rc;
    return EV_OK;
}

/* ---- output ------------------------------------------------------------- */

typedef struct out {
    ev_buf b;
    int rc; /* the first failure: EV_EINTERNAL (memory) or EV_EUSAGE (not UTF-8) */
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (o->rc || n < 0 || ev_buf_reserve(&o->b, (size_t)n)) {
        o->rc = o->rc ? o->rc : EV_EINTERNAL;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(o->b.p + o->b.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->b.len += (size_t)n;
}

/* s as a YAML scalar. */
static void scalar(out *o, const char *s)
{
    if (!o->rc && ev_yaml_scalar(&o->b, s, strlen(s)))
        o->rc = EV_EUSAGE;
}

/* s as a scalar Kubernetes will not expand: every '$' doubled. */
static void kscalar(out *o, const char *s)
{
    size_t n = strlen(s), d = 0;
    for (size_t i = 0; i < n; i++)
        d += s[i] == '$';
    char *t = malloc(n + d + 1), *w = t;
    if (!t) {
        o->rc = o->rc ? o->rc : EV_EINTERNAL;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        *w++ = s[i];
        if (s[i] == '$')
            *w++ = '$';
    }
    *w = '\0';
    scalar(o, t);
    free(t);
}

/* "<ind>- s\n" (a list item Kubernetes does not expand). */
static void item(out *o, int ind, const char *s)
{
    put(o, "%*s- ", ind, "");
    kscalar(o, s);
    put(o, "\n");
}

static void metadata(out *o, const k8s *k, const char *suffix, const char *component)
{
    put(o, "metadata:\n  name: %s%s\n", k->name, suffix);
    if (k->ns)
        put(o, "  namespace: %s\n", k->ns);
    put(o,
        "  labels:\n"
        "    app.kubernetes.io/name: evload\n"
        "    app.kubernetes.io/instance: %s\n"
        "    app.kubernetes.io/component: %s\n"
        "    evload/run-id: %s\n",
        k->name, component, k->run_id);
}

static void header(out *o, const k8s *k)
{
    put(o,
        "# evload k8s render: one run of the scenario file %s, split over\n"
        "# %u instances by an Indexed Job (the pod with JOB_COMPLETION_INDEX=I is\n"
        "# instance I and sends its share of the schedule).\n"
        "#   run id  %s\n"
        "#   start   %s (EVLOAD_EPOCH %s + %s)\n"
        "# A pod that is ready later catches up and reports how late it was\n"
        "# (run.start_late_s). Render again for another run.\n"
        "#\n",
        k->key, k->instances, k->run_id, k->start, k->epoch, k->start_in);
    if (k->nvars) {
        int moved = (k->target_out && strstr(k->target_out, "${" TARGET_VAR "}")) ||
                    (k->source_out && strstr(k->source_out, "${" SOURCE_VAR "}"));
        put(o,
            "# Secrets: this file holds no password. evload expands each ${NAME} in the\n"
            "# URLs at run time from the pod's environment, which takes it from the\n"
            "# Secret %s-secrets%s.\n"
            "# Create the Secret before applying, each value as it is (not\n"
            "# percent-encoded):\n"
            "#   kubectl create secret generic %s-secrets%s%s",
            k->name,
            moved ? " (the password given on the command line is\n# passed as ${" TARGET_VAR
                    "} or ${" SOURCE_VAR "})"
                  : "",
            k->name, k->ns ? " -n " : "", k->ns ? k->ns : "");
        for (size_t i = 0; i < k->nvars; i++)
            put(o, " \\\n#     --from-literal=%s='...'", k->vars[i]);
        put(o, "\n#\n");
    }
    const char *nsopt = k->ns ? " -n " : "", *ns = k->ns ? k->ns : "";
    if (k->claim) {
        put(o,
            "# Run it; the merge Job waits for every instance's results, then prints\n"
            "# each shard's health and the merged summary and exits with the merged\n"
            "# verdict's code (0 pass, 1 a threshold failed, 2 a shard is missing, 5\n"
            "# incomplete):\n"
            "#   kubectl apply%s%s -f THIS_FILE\n"
            "#   kubectl logs%s%s -f --pod-running-timeout=10m job/%s-merge\n"
            "#   kubectl get pods%s%s -l job-name=%s-merge -o \\\n"
            "#     jsonpath='{.items[0].status.containerStatuses[0].state.terminated.exitCode}'\n",
            nsopt, ns, nsopt, ns, k->name, nsopt, ns, k->name);
    } else {
        put(o,
            "# Run it, wait until the Job has ended, collect each instance's results\n"
            "# from its log (after the line #evload-results) and merge them where evload\n"
            "# is installed (the exit code is the merged verdict's):\n"
            "#   kubectl apply%s%s -f THIS_FILE\n"
            "#   until kubectl get job%s%s %s -o jsonpath='{.status.conditions[*].type}' \\\n"
            "#     | grep -qE 'Complete|Failed'; do sleep 10; done\n"
            "#   for i in $(seq 0 %u); do\n"
            "#     kubectl logs%s%s --tail=-1 \\\n"
            "#       -l job-name=%s,batch.kubernetes.io/job-completion-index=$i \\\n"
            "#       | sed '1,/^#evload-results$/d' >shard-$i.json\n"
            "#   done\n"
            "#   evload merge shard-*.json -o merged.json\n",
            nsopt, ns, nsopt, ns, k->name, k->instances - 1, nsopt, ns, k->name);
    }
}

static void configmap(out *o, const k8s *k)
{
    put(o, "---\n# The scenario file, byte for byte.\napiVersion: v1\nkind: ConfigMap\n");
    metadata(o, k, "-scenario", "scenario");
    put(o, "data:\n  ");
    scalar(o, k->key);
    put(o, ":");
    if (!o->rc && ev_yaml_block(&o->b, k->text, k->len, 2, 4))
        o->rc = EV_EUSAGE;
}

static void claim(out *o, const k8s *k)
{
    put(o,
        "---\n"
        "# Where every instance writes its results and the merge Job reads them: %u pods\n"
        "# write at once, so the claim must be ReadWriteMany (NFS, CephFS, EFS, Azure\n"
        "# Files, …). Remove this object to use an existing claim of this name.\n"
        "apiVersion: v1\n"
        "kind: PersistentVolumeClaim\n"
        "metadata:\n"
        "  name: %s\n",
        k->instances, k->claim);
    if (k->ns)
        put(o, "  namespace: %s\n", k->ns);
    put(o,
        "  labels:\n"
        "    app.kubernetes.io/name: evload\n"
        "    app.kubernetes.io/instance: %s\n"
        "spec:\n"
        "  accessModes:\n"
        "    - ReadWriteMany\n"
        "  resources:\n"
        "    requests:\n"
        "      storage: 1Gi\n",
        k->name);
}

static void env(out *o, const k8s *k)
{
    char n[16];
    snprintf(n, sizeof n, "%u", k->instances);
    put(o, "          env:\n            - name: EVLOAD_INSTANCES\n              value: ");
    scalar(o, n);
    put(o, "\n            - name: EVLOAD_EPOCH\n              value: ");
    scalar(o, k->epoch);
    put(o, "\n");
    for (size_t i = 0; i < k->nvars; i++)
        put(o,
            "            - name: %s\n"
            "              valueFrom:\n"
            "                secretKeyRef:\n"
            "                  name: %s-secrets\n"
            "                  key: %s\n"
            "                  optional: true # unset: evload names it and exits 2\n",
            k->vars[i], k->name, k->vars[i]);
}

static void shard_job(out *o, const k8s *k)
{
    char path[512], set[64];
    put(o, "---\n# The instances: pod I runs instance I of %u.\napiVersion: batch/v1\nkind: Job\n",
        k->instances);
    metadata(o, k, "", "shard");
    put(o,
        "spec:\n"
        "  completionMode: Indexed\n"
        "  completions: %u\n"
        "  parallelism: %u\n"
        "  # An instance that fails is not run again: a second pod would publish its\n"
        "  # share once more under the same run id, and evload merge would judge\n"
        "  # that. backoffLimitPerIndex needs Kubernetes 1.29 or later (1.28 with the\n"
        "  # JobBackoffLimitPerIndex feature gate); a cluster that lacks it rejects or\n"
        "  # drops the field: then delete this line and set backoffLimit: 0 (the first\n"
        "  # failed pod then stops the whole Job).\n"
        "  backoffLimitPerIndex: 0\n"
        "  template:\n"
        "    metadata:\n"
        "      labels:\n"
        "        app.kubernetes.io/name: evload\n"
        "        app.kubernetes.io/instance: %s\n"
        "        app.kubernetes.io/component: shard\n"
        "    spec:\n"
        "      restartPolicy: Never\n"
        "      containers:\n"
        "        - name: evload\n"
        "          image: ",
        k->instances, k->instances, k->name);
    scalar(o, k->image);
    put(o, "\n");
    if (k->claim) {
        put(o, "          command:\n");
        item(o, 12, "evload");
    } else {
        /* The results go after a marker line in the log: sh runs evload
         * with the args as "$@", so no argument is ever parsed by a shell. */
        put(o, "          command:\n");
        item(o, 12, "sh");
        item(o, 12, "-c");
        item(o, 12,
             "evload \"$@\"; rc=$?; echo '#evload-results'; cat /results/shard.json; exit $rc");
        item(o, 12, "evload");
    }
    put(o, "          args:\n");
    item(o, 12, "run");
    snprintf(path, sizeof path, "/scenario/%s", k->key);
    item(o, 12, path);
    if (k->target_out) {
        item(o, 12, "--target");
        item(o, 12, k->target_out);
    }
    if (k->source_out) {
        item(o, 12, "--source");
        item(o, 12, k->source_out);
    }
    for (size_t i = 0; i < k->nsets; i++) {
        item(o, 12, "--set");
        item(o, 12, k->sets[i]);
    }
    snprintf(set, sizeof set, "run_id=%s", k->run_id);
    item(o, 12, "--set");
    item(o, 12, set);
    snprintf(set, sizeof set, "+%s", k->start_in);
    item(o, 12, "--start-at");
    item(o, 12, set);
    item(o, 12, "--json");
    if (k->claim) /* the one $(…) Kubernetes is meant to expand */
        put(o, "            - \"/results/%s-shard-$(JOB_COMPLETION_INDEX).json\"\n", k->run_id);
    else
        item(o, 12, "/results/shard.json");
    env(o, k);
    put(o,
        "          volumeMounts:\n"
        "            - name: scenario\n"
        "              mountPath: /scenario\n"
        "              readOnly: true\n"
        "            - name: results\n"
        "              mountPath: /results\n"
        "      volumes:\n"
        "        - name: scenario\n"
        "          configMap:\n"
        "            name: %s-scenario\n"
        "        - name: results\n",
        k->name);
    if (k->claim)
        put(o, "          persistentVolumeClaim:\n            claimName: %s\n", k->claim);
    else
        put(o, "          emptyDir: {}\n");
}

static void merge_job(out *o, const k8s *k)
{
    char script[512], path[128];
    put(o, "---\n"
           "# Merges the instances' results once every one has written them (or, 15\n"
           "# minutes past the run's planned end, reports the missing ones); exits\n"
           "# with the merged verdict.\n"
           "apiVersion: batch/v1\n"
           "kind: Job\n");
    metadata(o, k, "-merge", "merge");
    put(o,
        "spec:\n"
        "  backoffLimit: 0\n"
        "  template:\n"
        "    metadata:\n"
        "      labels:\n"
        "        app.kubernetes.io/name: evload\n"
        "        app.kubernetes.io/instance: %s\n"
        "        app.kubernetes.io/component: merge\n"
        "    spec:\n"
        "      restartPolicy: Never\n"
        "      containers:\n"
        "        - name: merge\n"
        "          image: ",
        k->name);
    scalar(o, k->image);
    put(o, "\n          command:\n");
    item(o, 12, "sh");
    item(o, 12, "-c");
    snprintf(script, sizeof script,
             "for f in \"$$@\"; do\n"
             "  while [ ! -e \"$$f\" ] && [ \"$$(date +%%s)\" -lt %lld ]; do sleep 5; done\n"
             "done\n"
             "exec evload merge \"$$@\" -o /results/%s-merged.json\n",
             (long long)k->merge_deadline_s, k->run_id);
    put(o, "            -"); /* a literal block; its '$'s already doubled */
    if (!o->rc && ev_yaml_block(&o->b, script, strlen(script), 12, 14))
        o->rc = EV_EINTERNAL;
    item(o, 12, "merge");
    put(o, "          args:\n");
    for (uint32_t i = 0; i < k->instances; i++) {
        snprintf(path, sizeof path, "/results/%s-shard-%u.json", k->run_id, i);
        item(o, 12, path);
    }
    put(o,
        "          volumeMounts:\n"
        "            - name: results\n"
        "              mountPath: /results\n"
        "      volumes:\n"
        "        - name: results\n"
        "          persistentVolumeClaim:\n"
        "            claimName: %s\n",
        k->claim);
}

static int render(const k8s *k, ev_err *err)
{
    out o = {EV_BUF_INIT, 0};
    header(&o, k);
    configmap(&o, k);
    if (k->claim)
        claim(&o, k);
    shard_job(&o, k);
    if (k->claim)
        merge_job(&o, k);
    int rc = o.rc;
    if (rc == EV_EUSAGE)
        ev_err_set(err, rc, "a value to write is not UTF-8 text (YAML cannot carry it)");
    else if (rc)
        ev_err_set(err, rc, "out of memory");
    else if (fwrite(o.b.p, 1, o.b.len, stdout) != o.b.len || fflush(stdout))
        rc = ev_err_set(err, EV_EINTERNAL, "cannot write the manifests to stdout");
    ev_buf_free(&o.b);
    return rc;
}

/* ---- the command -------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: evload k8s render SCENARIO.json --instances N [--image IMG]\n"
            "                         [--namespace NS] [--name NAME] [--target URL]\n"
            "                         [--source URL] [--set KEY=VALUE]...\n"
            "                         [--results pvc:CLAIM|stdout] [--epoch TIME]\n"
            "                         [--start-in DURATION] [--run-id ID]\n"
            "\n"
            "Prints the Kubernetes manifests (YAML) of one run split over N evload\n"
            "instances (docs/distributed.md): a ConfigMap with the scenario file as it is,\n"
            "an Indexed Job of N pods (instance I = JOB_COMPLETION_INDEX; EVLOAD_INSTANCES,\n"
            "one EVLOAD_EPOCH and --start-at for all), and their results on a shared claim\n"
            "with a Job that merges them, or in each pod's log. The scenario and the\n"
            "options are checked as `evload check` checks them (exit 2 on an error, with\n"
            "FILE:LINE:COL). No password is written: --target's goes to the Secret\n"
            "NAME-secrets, key " TARGET_VAR ", and every ${NAME} a URL uses is\n"
            "taken from that Secret.\n"
            "\n"
            "  -n, --instances N     how many instances (pods), 1 to 1024 (required)\n"
            "  -i, --image IMG       the evload image (default evload:%s; deploy/Dockerfile)\n"
            "      --namespace NS    put every object in NS (default: kubectl's)\n"
            "      --name NAME       the Job's name; the other objects are NAME-… (default\n"
            "                        evload-SCENARIO)\n"
            "  -t, --target URL      where to publish (a password in it goes to the Secret)\n"
            "  -S, --source URL      where to verify (likewise)\n"
            "  -s, --set KEY=VALUE   a setting for every instance (repeatable)\n"
            "  -r, --results WHERE   pvc:CLAIM (default pvc:NAME-results, a ReadWriteMany\n"
            "                        claim rendered here) or stdout (each pod's log)\n"
            "      --epoch TIME      EVLOAD_EPOCH, RFC 3339 in whole seconds (default now)\n"
            "      --start-in D      every instance starts D after the epoch (default 30s)\n"
            "      --run-id ID       the run id (default: the scenario's, or random)\n"
            "  -h, --help            this text\n"
            "\n"
            "example:\n"
            "  evload k8s render scenarios/rabbitmq-shards.json --instances 4 \\\n"
            "    --target 'amqp://evload:${RABBITMQ_PASSWORD}@rabbitmq:5672/%%2f?queue=evload' \\\n"
            "    | kubectl apply -f -\n",
            EV_VERSION);
}

static void k8s_free(k8s *k)
{
    free(k->text);
    free(k->target_out);
    free(k->source_out);
    for (size_t i = 0; i < k->nvars; i++)
        free(k->vars_mem[i]);
    ev_plan_free(k->plan);
    free(k->sets);
}

int ev_k8s_main(int argc, char **argv)
{
    enum { O_NS = 256, O_NAME, O_EPOCH, O_START_IN, O_RUN_ID };
    static const struct option opts[] = {{"instances", required_argument, NULL, 'n'},
                                         {"image", required_argument, NULL, 'i'},
                                         {"namespace", required_argument, NULL, O_NS},
                                         {"name", required_argument, NULL, O_NAME},
                                         {"target", required_argument, NULL, 't'},
                                         {"source", required_argument, NULL, 'S'},
                                         {"set", required_argument, NULL, 's'},
                                         {"results", required_argument, NULL, 'r'},
                                         {"epoch", required_argument, NULL, O_EPOCH},
                                         {"start-in", required_argument, NULL, O_START_IN},
                                         {"run-id", required_argument, NULL, O_RUN_ID},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    k8s K, *k = &K;
    memset(k, 0, sizeof *k);
    ev_err err = {{0}};
    int rc = EV_OK, c;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "render")) {
        fprintf(stderr, "evload: k8s: expected `evload k8s render SCENARIO.json --instances N`; "
                        "see `evload k8s --help`\n");
        return EV_EUSAGE;
    }
    argc--, argv++; /* getopt sees "render" as the program name */
    k->image = "evload:" EV_VERSION;
    k->start_in_ns = 30 * INT64_C(1000000000);
    if (!(k->sets = calloc((size_t)argc, sizeof *k->sets)))
        return EV_EINTERNAL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:i:t:S:s:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-' || v < 1 || v > 1024) {
                fprintf(stderr, "evload: k8s render: --instances %s: expected 1 to 1024\n", optarg);
                rc = EV_EUSAGE;
                goto out;
            }
            k->instances = (uint32_t)v;
            break;
        }
        case 'i':
            k->image = optarg;
            break;
        case O_NS:
            k->ns = optarg;
            break;
        case O_NAME:
            k->name_opt = optarg;
            break;
        case 't':
            k->target = optarg;
            break;
        case 'S':
            k->source = optarg;
            break;
        case 's':
            k->sets[k->nsets++] = optarg;
            break;
        case 'r':
            k->results = optarg;
            break;
        case O_EPOCH:
            k->epoch_opt = optarg;
            break;
        case O_START_IN:
            if (ev_parse_duration(optarg, &k->start_in_ns, &err) || k->start_in_ns < 0) {
                fprintf(stderr, "evload: k8s render: --start-in %s: %s\n", optarg,
                        err.msg[0] ? err.msg : "must not be negative");
                rc = EV_EUSAGE;
                goto out;
            }
            break;
        case O_RUN_ID:
            k->run_opt = optarg;
            break;
        case 'h':
            usage(stdout);
            goto out;
        default:
            fprintf(stderr, "evload: see `evload k8s --help`\n");
            rc = EV_EUSAGE;
            goto out;
        }
    }
    if (argc - optind != 1 || !k->instances) {
        fprintf(stderr, "evload: k8s render needs one scenario file and --instances N, e.g. "
                        "`evload k8s render scenarios/rabbitmq-shards.json --instances 4`\n");
        rc = EV_EUSAGE;
        goto out;
    }
    k->path = argv[optind];
    if ((rc = read_file(k, &err)) || (rc = load_plan(k, &err)) || (rc = derive(k, &err)) ||
        (rc = render(k, &err)))
        goto fail;
    goto out;
fail:
    fprintf(stderr, "evload: %s\n", err.msg);
out:
    k8s_free(k);
    return rc;
}
