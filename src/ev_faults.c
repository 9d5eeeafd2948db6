/* ev_faults — the fault schedule: the `faults` setting, its actions during
 * a run, and what each fault did to the run's events (see ev_faults.h and
 * docs/faults.md).
 *
 * Design notes
 * - The plan side is like verify.outputs (ev_outputs.c): one apply function
 *   for the setting (errors at the member's file:line:column), one finish
 *   function for the rules that need other settings (stages, the schedule's
 *   end). Each fault remembers where it was written, so the checks that need
 *   the target (ev_faults_new, at `evload check` and run) point at it too.
 * - Time is the schedule's clock: offsets from t0, the instant every lane
 *   starts (results.timeseries[].t). The schedule runs on a thread of its own,
 *   started by the reporter's first ev_faults_tick (which tells it t0) and
 *   waking every SCHED_NAP_NS, so an action starts within a few ms of its
 *   `at`; results give the times it really started and ended. Not on the
 *   reporter itself: the reporter asks the broker for its figures once a
 *   second over the target's own connection, which goes through the proxy,
 *   so a 800 ms latency toxic stalls it for up to that long (measured: a 4 s
 *   window switched off 1.1 s late when the reporter drove it).
 * - Nothing here blocks: toxics are switched by a call; a command runs as a
 *   child (ev_spawn) polled without waiting; connections live on a thread
 *   of their own (ev_conns). The report joins the schedule's thread first,
 *   then everything it touched is the reporter's.
 * - Measuring (ev_faults_report) reads only what the engine put in
 *   ev_results: the per-second histograms (latency during a fault, the
 *   baseline before it, the recovery after it), the ledgers' missing sets
 *   and the lanes' publish record (events by intended send time), and, for
 *   duplicates, the totals this module sampled once a second during the run
 *   (duplicates have no seq record to place them by intended time). */
#include "ev_faults.h"

#include "ev_clock.h"
#include "ev_conns.h"
#include "ev_pacer.h"
#include "ev_report.h"
#include "ev_spawn.h"
#include "ev_text.h"
#include "ev_tseries.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_TIMEOUT_DEFAULT_NS (60 * EV_NS_PER_S)
#define ARGV_MAX 64
#define BASELINE_SECS 5
#define LOOKBACK_NS EV_NS_PER_S /* events in flight when a fault begins */
#define SCHED_NAP_NS (5 * EV_NS_PER_MS)

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

static const char *kind_name(ev_fault_kind k)
{
    return k == EV_FAULT_PROXY ? "proxy" : k == EV_FAULT_EXEC ? "exec" : "connections";
}

/* ======================================================================== */
/* The plan                                                                  */

void ev_faults_plan_free(ev_fault *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].name);
        free(f[i].spec);
        for (size_t k = 0; f[i].argv && f[i].argv[k]; k++)
            free(f[i].argv[k]);
        free(f[i].argv);
    }
    free(f);
}

/* "FILE:LINE:COL" of path's value, or "--set KEY", or the file alone. */
static void where_of(const ev_where *w, const char *path, char *buf, size_t size)
{
    if (w->set_key) {
        snprintf(buf, size, "--set %s", w->set_key);
        return;
    }
    const ev_pos *ps = ev_posmap_find(w->pos, path);
    if (ps)
        snprintf(buf, size, "%s:%d:%d", w->file ? w->file : "", ps->vline, ps->vcol);
    else
        snprintf(buf, size, "%s", w->file ? w->file : "");
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 40)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

static int get_dur(const ev_where *w, const char *path, json_t *v, int positive, int64_t *out,
                   ev_err *err)
{
    ev_err e;
    if (!json_is_string(v))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be a duration string such as \"10s\" (got %s)",
                             json_is_number(v) ? "a number" : "something else");
    if (ev_parse_duration(json_string_value(v), out, &e))
        return ev_where_fail(w, path, 0, 1, err, "%s", e.msg);
    if (positive && *out <= 0)
        return ev_where_fail(w, path, 0, 1, err, "must be longer than 0s");
    return EV_OK;
}

/* Appends text to a growing spec string. */
static int spec_add(char **spec, const char *sep, const char *text)
{
    size_t a = *spec ? strlen(*spec) : 0, b = strlen(sep), c = strlen(text);
    char *n = realloc(*spec, a + b + c + 1);
    if (!n)
        return -1;
    if (!a)
        b = 0;
    memcpy(n + a, sep, b);
    memcpy(n + a + b, text, c + 1);
    *spec = n;
    return 0;
}

static int parse_proxy(ev_fault *f, json_t *v, const char *path, const ev_where *w, ev_err *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (!(json_is_string(v) || (json_is_array(v) && n >= 1 && n <= EV_FAULT_TOXICS_MAX)))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be a toxic such as \"down:latency=200ms..800ms\", \"reset\", or "
                             "an array of 1 to %d of them",
                             EV_FAULT_TOXICS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
        char sub[200];
        if (json_is_array(v))
            snprintf(sub, sizeof sub, "%.100s[%zu]", path, i);
        else
            snprintf(sub, sizeof sub, "%.100s", path);
        ev_err e;
        if (!json_is_string(x))
            return ev_where_fail(w, sub, 0, 1, err, "must be a toxic string");
        if (ev_proxy_toxic_parse(json_string_value(x), &f->toxics[i], &e))
            return ev_where_fail(w, sub, 0, 0, err, "%s", e.msg);
        for (size_t k = 0; k < i; k++)
            if (f->toxics[k].kind == f->toxics[i].kind && (f->toxics[k].dirs & f->toxics[i].dirs))
                return ev_where_fail(w, sub, 0, 1, err,
                                     "sets %s twice on one direction; a proxy holds one of each",
                                     ev_proxy_kind_name(f->toxics[i].kind));
        char canon[160];
        ev_proxy_toxic_format(&f->toxics[i], canon, sizeof canon);
        if (spec_add(&f->spec, ", ", canon))
            return oom(err);
    }
    f->ntoxics = n;
    return EV_OK;
}

static int parse_exec(ev_fault *f, json_t *v, const char *path, const ev_where *w, ev_err *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!*s)
            return ev_where_fail(w, path, 0, 1, err,
                                 "must be a command, e.g. \"rabbitmqctl stop_app\"");
        if (!(f->argv = calloc(4, sizeof *f->argv)) || !(f->argv[0] = strdup("/bin/sh")) ||
            !(f->argv[1] = strdup("-c")) || !(f->argv[2] = strdup(s)) || !(f->spec = strdup(s)))
            return oom(err);
        return EV_OK;
    }
    if (!json_is_array(v) || n == 0 || n > ARGV_MAX)
        return ev_where_fail(w, path, 0, 1, err,
                             "must be a command string (run by /bin/sh -c) or an array of 1 to %d "
                             "arguments, e.g. [\"rabbitmqctl\", \"stop_app\"]",
                             ARGV_MAX);
    if (!(f->argv = calloc(n + 1, sizeof *f->argv)))
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        char sub[200];
        snprintf(sub, sizeof sub, "%.100s[%zu]", path, i);
        if (!json_is_string(x) || (i == 0 && !json_string_length(x)))
            return ev_where_fail(w, sub, 0, 1, err, "must be a string%s",
                                 i ? "" : " (the program)");
        if (!(f->argv[i] = strdup(json_string_value(x))) ||
            spec_add(&f->spec, " ", json_string_value(x)))
            return oom(err);
    }
    return EV_OK;
}

static int parse_connections(ev_fault *f, json_t *v, const char *path, const ev_where *w,
                             ev_err *err)
{
    static const char *const keys[] = {"count", "mode", "protocol", "parallel", "retry"};
    static const char *const modes[] = {"idle", "handshake"};
    static const char *const protos[] = {"tcp", "amqp", "redis", "auto"};
    if (!json_is_object(v))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be an object such as {\"count\": 500, \"mode\": \"idle\"}");
    f->mode = EV_CONNS_IDLE;
    f->protocol = -1;
    const char *k;
    json_t *x;
    json_object_foreach (v, k, x) {
        char sub[200];
        snprintf(sub, sizeof sub, "%.100s.%.40s", path, k);
        if (!strcmp(k, "count")) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                json_integer_value(x) > EV_CONNS_MAX)
                return ev_where_fail(w, sub, 0, 1, err, "must be a whole number from 1 to %d",
                                     EV_CONNS_MAX);
            f->count = json_integer_value(x);
        } else if (!strcmp(k, "parallel")) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                json_integer_value(x) > EV_CONNS_PARALLEL_MAX)
                return ev_where_fail(w, sub, 0, 1, err,
                                     "must be a whole number from 1 to %d (handshakes under way at "
                                     "once)",
                                     EV_CONNS_PARALLEL_MAX);
            f->parallel = json_integer_value(x);
        } else if (!strcmp(k, "retry")) {
            int rc = get_dur(w, sub, x, 1, &f->retry_ns, err);
            if (rc)
                return rc;
        } else if (!strcmp(k, "mode") || !strcmp(k, "protocol")) {
            int m = !strcmp(k, "mode");
            const char *const *names = m ? modes : protos;
            size_t nn = m ? 2 : 4, i = 0;
            while (json_is_string(x) && i < nn && strcmp(json_string_value(x), names[i]))
                i++;
            if (!json_is_string(x) || i == nn)
                return ev_where_fail(w, sub, 0, 1, err, "must be %s",
                                     m ? "\"idle\" (open and hold) or \"handshake\" (log in and "
                                         "out in a loop)"
                                       : "\"auto\" (from the target's scheme), \"tcp\", \"amqp\" "
                                         "or \"redis\"");
            if (m)
                f->mode = (int)i;
            else
                f->protocol = i == 3 ? -1 : (int)i;
        } else {
            return ev_unknown_key(w, path, k, keys, 5, err);
        }
    }
    if (!f->count)
        return ev_where_fail(w, path, 0, 1, err, "needs \"count\": how many connections to open");
    if (f->retry_ns && f->mode == EV_CONNS_HANDSHAKE)
        return ev_where_fail(w, path, 0, 1, err,
                             "\"retry\" is for mode idle; handshake mode opens connections anew "
                             "all the time");
    char s[128];
    size_t n = 0;
    s[0] = '\0';
    ev_text_put(s, sizeof s, &n, "%" PRId64 " %s", f->count,
                ev_conns_mode_name((ev_conns_mode)f->mode));
    if (f->protocol >= 0)
        ev_text_put(s, sizeof s, &n, " %s", ev_conns_proto_name((ev_conns_proto)f->protocol));
    if (f->parallel)
        ev_text_put(s, sizeof s, &n, " parallel %" PRId64, f->parallel);
    if (f->retry_ns) {
        char d[32];
        ev_format_duration(f->retry_ns, d, sizeof d);
        ev_text_put(s, sizeof s, &n, " retry %s", d);
    }
    return (f->spec = strdup(s)) ? EV_OK : oom(err);
}

static int parse_fault(ev_fault *f, size_t idx, json_t *v, const ev_where *w, ev_err *err)
{
    static const char *const keys[] = {"name",  "at",   "for",     "stage",
                                       "proxy", "exec", "timeout", "connections"};
    char path[48];
    snprintf(path, sizeof path, "faults[%zu]", idx);
    where_of(w, path, f->where, sizeof f->where);
    f->for_ns = -1;
    f->timeout_ns = EXEC_TIMEOUT_DEFAULT_NS;
    if (!json_is_object(v))
        return ev_where_fail(w, path, 0, 1, err,
                             "must be an object such as {\"at\": \"10s\", \"for\": \"5s\", "
                             "\"proxy\": \"down:latency=200ms..800ms\"}");
    int has_at = 0, has_timeout = 0, actions = 0;
    const char *k;
    json_t *x;
    json_object_foreach (v, k, x) {
        char sub[200];
        snprintf(sub, sizeof sub, "%.100s.%.40s", path, k);
        int rc = EV_OK;
        if (!strcmp(k, "name")) {
            if (!json_is_string(x) || !valid_name(json_string_value(x)))
                return ev_where_fail(w, sub, 0, 1, err,
                                     "must be 1 to 40 letters, digits, '_', '-' or '.'");
            if (!(f->name = strdup(json_string_value(x))))
                return oom(err);
        } else if (!strcmp(k, "at")) {
            rc = get_dur(w, sub, x, 0, &f->at_ns, err);
            has_at = 1;
        } else if (!strcmp(k, "for")) {
            rc = get_dur(w, sub, x, 1, &f->for_ns, err);
        } else if (!strcmp(k, "stage")) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 64)
                return ev_where_fail(w, sub, 0, 1, err,
                                     "must be a stage number of publish.stages, from 1");
            f->stage = (int)json_integer_value(x);
        } else if (!strcmp(k, "timeout")) {
            rc = get_dur(w, sub, x, 1, &f->timeout_ns, err);
            has_timeout = 1;
        } else if (!strcmp(k, "proxy") || !strcmp(k, "exec") || !strcmp(k, "connections")) {
            if (actions++)
                return ev_where_fail(w, sub, 1, 0, err,
                                     "a fault has one action: proxy, exec or connections; write "
                                     "another fault for this one");
            f->kind = k[0] == 'p'   ? EV_FAULT_PROXY
                      : k[0] == 'e' ? EV_FAULT_EXEC
                                    : EV_FAULT_CONNECTIONS;
            rc = f->kind == EV_FAULT_PROXY  ? parse_proxy(f, x, sub, w, err)
                 : f->kind == EV_FAULT_EXEC ? parse_exec(f, x, sub, w, err)
                                            : parse_connections(f, x, sub, w, err);
        } else {
            return ev_unknown_key(w, path, k, keys, sizeof keys / sizeof keys[0], err);
        }
        if (rc)
            return rc;
    }
    if (!actions)
        return ev_where_fail(w, path, 0, 1, err,
                             "needs an action: \"proxy\": TOXIC, \"exec\": COMMAND or "
                             "\"connections\": {\"count\": N}");
    if (has_at == !!f->stage)
        return ev_where_fail(w, path, 0, 1, err,
                             f->stage ? "takes \"stage\" or \"at\" (with \"for\"), not both"
                                      : "needs a time: \"at\": \"10s\" (an offset from the "
                                        "schedule's start) or \"stage\": N");
    if (f->stage && f->for_ns >= 0)
        return ev_where_fail(w, path, 0, 1, err,
                             "has \"stage\": its window is the stage's; drop \"for\" (or use "
                             "\"at\" and \"for\")");
    if (f->kind == EV_FAULT_EXEC && f->for_ns >= 0)
        return ev_where_fail(w, path, 0, 1, err,
                             "exec has no \"for\": its window is the command's run, bounded by "
                             "\"timeout\" (default 60s)");
    if (f->kind != EV_FAULT_EXEC && has_timeout)
        return ev_where_fail(w, path, 0, 1, err, "\"timeout\" applies to exec only");
    if (f->kind == EV_FAULT_PROXY && f->ntoxics == 1 && f->toxics[0].kind == EV_PROXY_RESET &&
        f->toxics[0].after_ns == 0 && f->for_ns < 0 && !f->stage)
        f->reset_once = 1;
    if (!f->name) {
        char n[48]; /* a kind name and a size_t: at most 11 + 1 + 20 + 1 */
        snprintf(n, sizeof n, "%s-%zu", kind_name(f->kind), idx + 1);
        if (!(f->name = strdup(n)))
            return oom(err);
    }
    return EV_OK;
}

int ev_faults_apply(ev_plan *p, json_t *v, const ev_where *w, ev_err *err)
{
    if (!json_is_array(v) || json_array_size(v) > EV_FAULTS_MAX)
        return ev_where_fail(w, "faults", 0, 1, err,
                             "must be an array of up to %d faults, e.g. [{\"at\": \"10s\", "
                             "\"for\": \"5s\", \"proxy\": \"down:latency=200ms..800ms\"}]",
                             EV_FAULTS_MAX);
    size_t n = json_array_size(v);
    ev_fault *f = n ? calloc(n, sizeof *f) : NULL;
    if (n && !f)
        return oom(err);
    int rc = EV_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = parse_fault(&f[i], i, json_array_get(v, i), w, err);
        for (size_t k = 0; !rc && k < i; k++)
            if (!strcmp(f[k].name, f[i].name)) {
                char path[48];
                snprintf(path, sizeof path, "faults[%zu]", i);
                rc = ev_where_fail(w, path, 0, 1, err, "has the name \"%s\" of faults[%zu]",
                                   f[i].name, k);
            }
    }
    if (rc) {
        ev_faults_plan_free(f, n);
        return rc;
    }
    ev_faults_plan_free(p->faults, p->nfaults);
    p->faults = f;
    p->nfaults = n;
    return EV_OK;
}

static int fault_fail(const ev_fault *f, ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fault_fail(const ev_fault *f, ev_err *err, const char *fmt, ...)
{
    char body[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return ev_err_set(err, EV_EUSAGE, "%s%sfault %s: %s", f->where, f->where[0] ? ": " : "",
                      f->name, body);
}

/* [start, end) of a planned fault's hold on its toxics; end INT64_MAX: to the
 * end of the run. */
static int64_t planned_end(const ev_fault *f)
{
    return f->for_ns >= 0 ? f->at_ns + f->for_ns : INT64_MAX;
}

int ev_faults_finish(ev_plan *p, ev_err *err)
{
    int64_t sched_end = ev_plan_publish_ns(p);
    if (sched_end > 0)
        sched_end += p->warmup_ns;
    for (size_t i = 0; i < p->nfaults; i++) {
        ev_fault *f = &p->faults[i];
        if (f->stage) {
            if (p->executor != EV_EXEC_RAMPING)
                return fault_fail(f, err,
                                  "\"stage\": %d needs publish.executor ramping-arrival-rate (with "
                                  "publish.stages); use \"at\" and \"for\"",
                                  f->stage);
            if ((size_t)f->stage > p->nstages)
                return fault_fail(f, err, "\"stage\": %d, but publish.stages has %zu stage%s",
                                  f->stage, p->nstages, p->nstages == 1 ? "" : "s");
            int64_t t = p->warmup_ns;
            for (int s = 0; s + 1 < f->stage; s++)
                t += p->stages[s].duration_ns;
            f->at_ns = t;
            /* An exec keeps its own window (the command's run). */
            f->for_ns = f->kind == EV_FAULT_EXEC ? -1 : p->stages[f->stage - 1].duration_ns;
            if (f->for_ns == 0)
                return fault_fail(f, err, "stage %d lasts 0s: nothing to overlap", f->stage);
        }
        if (sched_end > 0 && f->at_ns >= sched_end) {
            char a[32], b[32];
            ev_format_duration(f->at_ns, a, sizeof a);
            ev_format_duration(sched_end, b, sizeof b);
            return fault_fail(f, err,
                              "starts at %s, but publishing ends at %s: it would overlap none of "
                              "the run's events",
                              a, b);
        }
    }
    /* One toxic of each name per direction: two faults holding the same one
     * at overlapping times would switch each other off. */
    for (size_t i = 0; i < p->nfaults; i++)
        for (size_t j = i + 1; j < p->nfaults; j++) {
            const ev_fault *a = &p->faults[i], *b = &p->faults[j];
            if (a->kind != EV_FAULT_PROXY || b->kind != EV_FAULT_PROXY || a->reset_once ||
                b->reset_once)
                continue;
            if (!(a->at_ns < planned_end(b) && b->at_ns < planned_end(a)))
                continue;
            for (size_t x = 0; x < a->ntoxics; x++)
                for (size_t y = 0; y < b->ntoxics; y++)
                    if (a->toxics[x].kind == b->toxics[y].kind &&
                        (a->toxics[x].dirs & b->toxics[y].dirs))
                        return fault_fail(b, err,
                                          "holds %s on a direction while fault %s does (their "
                                          "windows overlap): a proxy has one %s per direction",
                                          ev_proxy_kind_name(b->toxics[y].kind), a->name,
                                          ev_proxy_kind_name(b->toxics[y].kind));
        }
    return EV_OK;
}

/* "at 10s for 5s", "stage 2 (20s for 10s)", "at 30s". */
static void when_text(const ev_fault *f, char *buf, size_t size)
{
    char a[32], d[32];
    size_t n = 0;
    ev_format_duration(f->at_ns, a, sizeof a);
    if (f->for_ns >= 0)
        ev_format_duration(f->for_ns, d, sizeof d);
    buf[0] = '\0';
    if (f->stage)
        ev_text_put(buf, size, &n, "stage %d (at %s%s%s)", f->stage, a,
                    f->for_ns >= 0 ? " for " : "", f->for_ns >= 0 ? d : "");
    else
        ev_text_put(buf, size, &n, "at %s%s%s", a, f->for_ns >= 0 ? " for " : "",
                    f->for_ns >= 0 ? d : "");
}

void ev_faults_print_plan(FILE *out, const ev_plan *p)
{
    for (size_t i = 0; i < p->nfaults; i++) {
        const ev_fault *f = &p->faults[i];
        char when[96], t[32];
        when_text(f, when, sizeof when);
        fprintf(out, "%s %s: %s  %s %s", i ? "         " : "faults   ", f->name, when,
                kind_name(f->kind), f->spec);
        if (f->reset_once)
            fprintf(out, " (every connection through the proxy, once)");
        else if (f->kind == EV_FAULT_PROXY && f->for_ns < 0)
            fprintf(out, " (until the run ends)");
        if (f->kind == EV_FAULT_EXEC) {
            ev_format_duration(f->timeout_ns, t, sizeof t);
            fprintf(out, " (timeout %s)", t);
        }
        fputc('\n', out);
    }
}

/* ======================================================================== */
/* The run                                                                   */

typedef enum { F_PLANNED, F_ACTIVE, F_DONE, F_SKIPPED, F_FAILED } fstate;

static const char *const state_names[] = {"not started", "running", "done", "skipped", "failed"};

typedef struct frun {
    const ev_fault *def;
    fstate st;
    int64_t started, ended;    /* offsets from t0; ended -1 while on */
    char note[sizeof(ev_err)]; /* why skipped, failed or stopped early */
    ev_spawn *sp;
    ev_conns *cn;
    ev_proxy_stats ps0, ps1; /* the proxy's counters at its start and a second after its end */
    int ps1_taken;
} frun;

typedef struct dsample {
    int64_t off;
    uint64_t dup, redeliv;
} dsample;

struct ev_faults {
    const ev_plan *plan;
    frun *r;
    size_t n;
    uint32_t instance;
    int need_proxy;
    char upstream[300]; /* HOST:PORT the proxy forwards to */
    ev_proxy *px;
    int64_t px_mono; /* when the proxy was made (its history's clock) */
    ev_conns_cfg ccfg;
    int64_t t0; /* the schedule's start, mono; 0 until the first tick */
    dsample *ds;
    size_t nds, capds;
    int64_t next_sample;
    pthread_t th; /* the schedule's thread */
    int th_started;
    atomic_int stop;
};

/* The port the transport would use when the URL gives none (0: unknown). */
static int default_port(const char *scheme)
{
    if (!strcmp(scheme, "redis") || !strcmp(scheme, "bullmq"))
        return 6379;
    if (!strcmp(scheme, "amqp"))
        return 5672;
    if (!strcmp(scheme, "amqps"))
        return 5671;
    return 0;
}

static int needs_network(const ev_fault *f)
{
    return f->kind == EV_FAULT_PROXY || f->kind == EV_FAULT_CONNECTIONS;
}

int ev_faults_new(const ev_plan *plan, const ev_url *url, uint32_t instance, ev_faults **out,
                  ev_err *err)
{
    *out = NULL;
    if (!plan->nfaults)
        return EV_OK;
    const char *scheme = url->scheme;
    int embedded = !strcmp(scheme, "kafka") && !strcmp(url->host, "embedded");
    int port = url->port ? url->port : default_port(scheme);
    for (size_t i = 0; i < plan->nfaults; i++) {
        const ev_fault *f = &plan->faults[i];
        if (!needs_network(f))
            continue;
        if (!strcmp(scheme, "mock") || embedded)
            return fault_fail(f, err,
                              "%s needs a target on the network; %s has none (in-process): "
                              "use exec faults, or the target's own fault parameters (docs/%s)",
                              kind_name(f->kind), embedded ? "kafka://embedded" : "mock://",
                              embedded ? "kafka.md: down_broker" : "targets.md");
        if (f->kind == EV_FAULT_PROXY && !strcmp(scheme, "kafka"))
            return fault_fail(
                f, err,
                "a proxy cannot stand in front of Kafka: its clients connect to the brokers the "
                "cluster advertises, not to the bootstrap address (that would need one proxy per "
                "broker and the brokers advertising them); use exec with `evload kafka-mock`'s "
                "down/up/rtt commands (docs/faults.md)");
        if (strchr(url->hosts, ','))
            return fault_fail(f, err, "%s needs one host:port; target %s has several",
                              kind_name(f->kind), url->redacted);
        if (!url->host[0] || !port)
            return fault_fail(f, err, "%s needs the target's host and port; %s gives %s",
                              kind_name(f->kind), url->redacted,
                              url->host[0] ? "no port" : "no host");
    }
    ev_faults *F = calloc(1, sizeof *F);
    if (!F || !(F->r = calloc(plan->nfaults, sizeof *F->r))) {
        free(F);
        return oom(err);
    }
    F->plan = plan;
    F->n = plan->nfaults;
    F->instance = instance;
    for (size_t i = 0; i < F->n; i++) {
        F->r[i].def = &plan->faults[i];
        F->r[i].ended = -1;
        F->need_proxy |= plan->faults[i].kind == EV_FAULT_PROXY;
    }
    int v6 = strchr(url->host, ':') != NULL;
    snprintf(F->upstream, sizeof F->upstream, "%s%s%s:%d", v6 ? "[" : "", url->host, v6 ? "]" : "",
             port);
    ev_conns_cfg *c = &F->ccfg;
    snprintf(c->host, sizeof c->host, "%s", url->host);
    c->port = port;
    c->proto = !strcmp(scheme, "amqp")                                 ? EV_CONNS_AMQP
               : !strcmp(scheme, "redis") || !strcmp(scheme, "bullmq") ? EV_CONNS_REDIS
                                                                       : EV_CONNS_TCP;
    snprintf(c->user, sizeof c->user, "%s", url->user ? url->user : "");
    snprintf(c->password, sizeof c->password, "%s", url->password ? url->password : "");
    snprintf(c->vhost, sizeof c->vhost, "%s", url->path[0] ? url->path : "/");
    if (c->proto == EV_CONNS_AMQP && !url->user) { /* what the amqp transport logs in as */
        snprintf(c->user, sizeof c->user, "guest");
        snprintf(c->password, sizeof c->password, "guest");
    }
    *out = F;
    return EV_OK;
}

int ev_faults_route(ev_faults *f, ev_url *url, ev_err *err)
{
    if (!f || !f->need_proxy)
        return EV_OK;
    f->px_mono = ev_mono_ns();
    int rc = ev_proxy_new("127.0.0.1:0", f->upstream, &f->px, err);
    if (!rc)
        rc = ev_proxy_start(f->px, err);
    if (rc) {
        ev_err_prefix(err, "faults: the proxy in front of %s", url->redacted);
        return rc;
    }
    char *host = strdup("127.0.0.1"), *hosts = strdup(ev_proxy_listen_addr(f->px));
    if (!host || !hosts) {
        free(host);
        free(hosts);
        return oom(err);
    }
    free(url->host);
    free(url->hosts);
    url->host = host;
    url->hosts = hosts;
    url->port = ev_proxy_port(f->px);
    return EV_OK;
}

/* Switches a proxy fault's toxics on (on = 1) or off. */
static int proxy_switch(ev_faults *F, frun *r, int on, ev_err *err)
{
    const ev_fault *d = r->def;
    if (r->def->reset_once) {
        if (on)
            ev_proxy_reset_now(F->px);
        return EV_OK;
    }
    for (size_t k = 0; k < d->ntoxics; k++) {
        if (!on)
            ev_proxy_remove(F->px, d->toxics[k].dirs, d->toxics[k].kind);
        else if (ev_proxy_add(F->px, &d->toxics[k], err))
            return EV_EUSAGE;
    }
    return EV_OK;
}

static void start_fault(ev_faults *F, frun *r, int64_t off)
{
    const ev_fault *d = r->def;
    ev_err e = {{0}};
    r->started = off;
    if (d->kind != EV_FAULT_PROXY && F->instance != 0) {
        r->st = F_SKIPPED;
        snprintf(r->note, sizeof r->note, "%s runs on instance 0 only", kind_name(d->kind));
        return;
    }
    int rc = EV_OK;
    switch (d->kind) {
    case EV_FAULT_PROXY:
        ev_proxy_stats_get(F->px, &r->ps0);
        rc = proxy_switch(F, r, 1, &e);
        if (!rc && d->reset_once)
            r->ended = off;
        break;
    case EV_FAULT_EXEC:
        rc = ev_spawn_start(d->argv, d->timeout_ns, &r->sp, &e);
        break;
    case EV_FAULT_CONNECTIONS: {
        ev_conns_cfg c = F->ccfg;
        c.count = (uint32_t)d->count;
        c.parallel = (uint32_t)d->parallel;
        c.retry_ns = d->retry_ns;
        c.mode = (ev_conns_mode)d->mode;
        if (d->protocol >= 0)
            c.proto = (ev_conns_proto)d->protocol;
        rc = ev_conns_start(&c, &r->cn, &e);
        explicit_bzero(c.password, sizeof c.password);
        break;
    }
    }
    if (rc) {
        r->st = F_FAILED;
        r->ended = off;
        snprintf(r->note, sizeof r->note, "%s", e.msg);
        return;
    }
    r->st = r->ended >= 0 ? F_DONE : F_ACTIVE;
}

/* Ends an active fault at off (the run's end when `final`). */
static void end_fault(ev_faults *F, frun *r, int64_t off, int final, int interrupted)
{
    const ev_fault *d = r->def;
    switch (d->kind) {
    case EV_FAULT_PROXY:
        proxy_switch(F, r, 0, NULL);
        break;
    case EV_FAULT_EXEC: {
        if (interrupted)
            ev_spawn_kill(r->sp);
        else
            while (!ev_spawn_poll(r->sp)) /* bounded: its timeout, then SIGTERM, SIGKILL */
                ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
        ev_spawn_status st;
        ev_spawn_get(r->sp, &st);
        off = r->started + st.dur_ns;
        break;
    }
    case EV_FAULT_CONNECTIONS:
        ev_conns_stop(r->cn);
        break;
    }
    if (final && d->kind != EV_FAULT_EXEC)
        snprintf(r->note, sizeof r->note, "%s",
                 d->for_ns >= 0 ? "cut short: the run ended before its window did"
                                : "on until the run ended");
    r->ended = off;
    r->st = F_DONE;
}

/* Duplicates and redeliveries seen so far, over every group. */
static void sample_dups(ev_faults *F, int64_t off, ev_ledger *const *groups, uint32_t ngroups,
                        const ev_publane *pubs)
{
    if (F->nds == F->capds) {
        size_t nc = F->capds ? F->capds * 2 : 64;
        dsample *n = realloc(F->ds, nc * sizeof *n);
        if (!n)
            return; /* a missing sample widens the figure's window, never drops it */
        F->ds = n;
        F->capds = nc;
    }
    dsample s = {.off = off};
    for (uint32_t g = 0; g < ngroups; g++) {
        ev_ledger_counts c;
        ev_ledger_reconcile(groups[g], pubs, 0, &c);
        s.dup += c.duplicated;
        s.redeliv += c.redelivered;
    }
    F->ds[F->nds++] = s;
}

/* One step of the schedule at offset off: starts and ends what is due. */
static void sched_step(ev_faults *F, int64_t off)
{
    for (size_t i = 0; i < F->n; i++) {
        frun *r = &F->r[i];
        const ev_fault *d = r->def;
        if (r->st == F_PLANNED && off >= d->at_ns)
            start_fault(F, r, off);
        else if (r->st == F_ACTIVE && d->kind == EV_FAULT_EXEC && ev_spawn_poll(r->sp))
            end_fault(F, r, off, 0, 0);
        else if (r->st == F_ACTIVE && d->kind != EV_FAULT_EXEC && d->for_ns >= 0 &&
                 off >= r->started + d->for_ns) /* the window lasts `for`, however late it began */
            end_fault(F, r, off, 0, 0);
        if (d->kind == EV_FAULT_PROXY && r->st == F_DONE && !r->ps1_taken &&
            off >= r->ended + EV_NS_PER_S) {
            ev_proxy_stats_get(F->px, &r->ps1);
            r->ps1_taken = 1;
        }
    }
}

static void *sched_main(void *arg)
{
    ev_faults *F = arg;
    while (!atomic_load(&F->stop)) {
        sched_step(F, ev_mono_ns() - F->t0);
        ev_sleep_until(ev_mono_ns() + SCHED_NAP_NS, &F->stop);
    }
    return NULL;
}

static void sched_stop(ev_faults *F)
{
    if (!F->th_started)
        return;
    atomic_store(&F->stop, 1);
    pthread_join(F->th, NULL);
    F->th_started = 0;
}

void ev_faults_tick(ev_faults *F, int64_t off, ev_ledger *const *groups, uint32_t ngroups,
                    const ev_publane *pubs)
{
    if (!F)
        return;
    if (!F->t0) {
        F->t0 = ev_mono_ns() - off;
        F->th_started = !pthread_create(&F->th, NULL, sched_main, F);
    }
    if (!F->th_started && !atomic_load(&F->stop))
        sched_step(F, off); /* no thread to be had: the reporter runs it */
    if (off >= F->next_sample && groups && pubs) {
        sample_dups(F, off, groups, ngroups, pubs);
        F->next_sample = (off / EV_NS_PER_S + 1) * EV_NS_PER_S;
    }
}

void ev_faults_free(ev_faults *F)
{
    if (!F)
        return;
    sched_stop(F);
    for (size_t i = 0; i < F->n; i++) {
        ev_spawn_free(F->r[i].sp);
        ev_conns_free(F->r[i].cn);
    }
    ev_proxy_free(F->px);
    explicit_bzero(F->ccfg.password, sizeof F->ccfg.password);
    free(F->r);
    free(F->ds);
    free(F);
}

/* ======================================================================== */
/* Measuring                                                                 */

int ev_faults_seq_range(const struct ev_pacer *p, uint64_t sent, int64_t from_ns, int64_t to_ns,
                        uint64_t *lo, uint64_t *hi)
{
    if (p->unpaced || sent == 0 || from_ns > to_ns)
        return -1;
    uint64_t a = 1, b = sent + 1; /* the first seq intended at or after from */
    while (a < b) {
        uint64_t m = a + (b - a) / 2;
        int64_t t = ev_pacer_intended(p, m);
        if (t < 0 || t >= from_ns)
            b = m;
        else
            a = m + 1;
    }
    uint64_t l = a;
    a = 0, b = sent; /* the last seq intended at or before to */
    while (a < b) {
        uint64_t m = a + (b - a + 1) / 2;
        int64_t t = ev_pacer_intended(p, m);
        if (t >= 0 && t <= to_ns)
            a = m;
        else
            b = m - 1;
    }
    if (l > sent || a < l)
        return -1;
    *lo = l;
    *hi = a;
    return 0;
}

/* Adds the histograms (e2e or ack) of the seconds overlapping [from, to]
 * (an instant when from == to) into h. */
static void window_hist(const ev_results *R, double from, double to, int ack, ev_hist *h)
{
    for (size_t i = 0; i < R->nts; i++) {
        double t0 = i ? R->ts[i - 1].t : 0.0, t1 = R->ts[i].t;
        if (!(t1 > from && (t0 < to || (from == to && t0 <= from))))
            continue;
        const ev_tpoint *tp = ev_tseries_point(R, i); /* NULL: ev_tseries_error */
        const char *s = !tp ? NULL : ack ? tp->hist_ack : tp->hist_e2e;
        if (s)
            ev_hist_decode(s, strlen(s), h);
    }
}

static json_t *lat_json(const ev_hist *h)
{
    uint64_t n = ev_hist_count(h);
    json_t *o = json_object();
    json_object_set_new(o, "p50",
                        n ? json_real((double)ev_hist_percentile(h, 50) / 1e6) : json_null());
    json_object_set_new(o, "p99",
                        n ? json_real((double)ev_hist_percentile(h, 99) / 1e6) : json_null());
    json_object_set_new(o, "max", n ? json_real((double)ev_hist_max(h) / 1e6) : json_null());
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    return o;
}

/* Values in h above thr_ns (to the histogram's resolution). */
static uint64_t count_above(const ev_hist *h, int64_t thr_ns)
{
    uint64_t n = ev_hist_count(h), a = 0, b = n; /* the highest rank at or below thr */
    while (a < b) {
        uint64_t m = a + (b - a + 1) / 2;
        if (ev_hist_percentile(h, 100.0 * (double)m / (double)n) <= thr_ns)
            a = m;
        else
            b = m - 1;
    }
    return n - a;
}

/* 1 when output o's groups expect this run's events (as the engine decides). */
static int expects(const ev_plan *p, const ev_output *o)
{
    return o->expect == EV_EXPECT_ALL ||
           (o->expect == EV_EXPECT_TYPE && !strcmp(o->expect_type, p->event_type));
}

typedef struct impact {
    int have_events; /* a schedule to place events by (not max-throughput) */
    uint64_t sent, failed, missing, lost, pending;
    int split; /* lost and pending are known apart */
} impact;

/* Events of this instance's lanes intended in [from, to] (ns offsets): how
 * many were sent, failed, and are missing now in each expecting group. */
static int events_in(const ev_faults *F, const ev_results *R, int64_t from, int64_t to, impact *im)
{
    const ev_plan *p = F->plan;
    uint32_t nl = R->lanes_per_instance;
    uint64_t *lo = calloc(nl ? nl : 1, sizeof *lo), *hi = calloc(nl ? nl : 1, sizeof *hi);
    int *has = calloc(nl ? nl : 1, sizeof *has), rc = 0;
    ev_iset m = EV_ISET_INIT;
    memset(im, 0, sizeof *im);
    im->split = 1;
    if (!lo || !hi || !has) {
        rc = -1;
        goto out;
    }
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t gl = R->instance * nl + l;
        ev_pacer pc;
        if (ev_pacer_init_shard(&pc, p, gl, R->lanes_total, NULL))
            goto out;
        if (pc.unpaced)
            goto out; /* no intended times: have_events stays 0 */
        im->have_events = 1;
        if (ev_faults_seq_range(&pc, R->publanes[gl].sent, from, to, &lo[l], &hi[l]))
            continue;
        has[l] = 1;
        im->sent += hi[l] - lo[l] + 1;
        im->failed += ev_iset_count_range(&R->publanes[gl].failed, lo[l], hi[l]);
    }
    for (size_t g = 0; g < R->ngroups; g++) {
        const ev_group_result *gr = &R->groups[g];
        if (!gr->ledger || !expects(p, R->outputs[gr->output].def))
            continue;
        uint64_t mg = 0;
        for (uint32_t l = 0; l < nl; l++) {
            if (!has[l])
                continue;
            if (ev_ledger_missing_set(gr->ledger, R->publanes, R->instance * nl + l, &m)) {
                rc = -1;
                goto out;
            }
            mg += ev_iset_count_range(&m, lo[l], hi[l]);
        }
        im->missing += mg;
        if (!gr->c.pending)
            im->lost += mg;
        else if (!gr->c.lost)
            im->pending += mg;
        else if (mg)
            im->split = 0; /* both in this group: the ledger cannot say which these are */
    }
out:
    ev_iset_clear(&m);
    free(lo);
    free(hi);
    free(has);
    return rc;
}

/* Duplicates (dup = 1) or redeliveries seen between offsets a and b. */
static uint64_t dups_between(const ev_faults *F, const ev_results *R, int64_t a, int64_t b, int dup)
{
    uint64_t va = 0, vb = dup ? R->total.duplicated : R->total.redelivered;
    for (size_t i = 0; i < F->nds; i++)
        if (F->ds[i].off <= a)
            va = dup ? F->ds[i].dup : F->ds[i].redeliv;
    for (size_t i = F->nds; i-- > 0;)
        if (F->ds[i].off >= b)
            vb = dup ? F->ds[i].dup : F->ds[i].redeliv;
    return vb > va ? vb - va : 0;
}

static json_t *proxy_delta(const frun *r)
{
    const ev_proxy_stats *a = &r->ps0, *b = &r->ps1;
#define D(f) (json_int_t)(b->f - a->f)
    return json_pack("{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:{s:I, s:I}, s:{s:I, s:I}}}", "connections",
                     "accepted", D(accepted), "reset", D(reset), "aborted", D(aborted), "timed_out",
                     D(timed_out), "upstream_failed", D(upstream_failed), "traffic", "upstream",
                     "bytes_out", D(up.bytes_out), "bytes_delayed", D(up.bytes_delayed),
                     "downstream", "bytes_out", D(down.bytes_out), "bytes_delayed",
                     D(down.bytes_delayed));
#undef D
}

static json_t *exec_json(const frun *r)
{
    ev_spawn_status st;
    char tail[EV_SPAWN_TAIL + 8];
    ev_spawn_get(r->sp, &st);
    ev_spawn_tail(r->sp, tail, sizeof tail);
    return json_pack("{s:o, s:o, s:b, s:f, s:s}", "exit",
                     st.exited ? json_integer(st.exit_code) : json_null(), "signal",
                     st.signal ? json_integer(st.signal) : json_null(), "timed_out", st.timed_out,
                     "duration_s", (double)st.dur_ns / 1e9, "output_tail", tail);
}

static json_t *num_or_null(int ok, double v)
{
    return ok ? json_real(v) : json_null();
}

/* One fault's entry of results.faults. */
static json_t *fault_json(const ev_faults *F, const frun *r, const ev_results *R,
                          const ev_recovery_sec *secs, ev_hist *h, ev_hist *base)
{
    const ev_fault *d = r->def;
    int ran = r->st == F_DONE || r->st == F_FAILED;
    double s0 = (double)r->started / 1e9, s1 = (double)r->ended / 1e9;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:f, s:o, s:o, s:s}", "name", d->name, "kind",
                  kind_name(d->kind), "spec", d->spec, "at_s", (double)d->at_ns / 1e9, "for_s",
                  num_or_null(d->for_ns >= 0, (double)d->for_ns / 1e9), "stage",
                  d->stage ? json_integer(d->stage) : json_null(), "status", state_names[r->st]);
    if (!o)
        return NULL;
    json_object_set_new(o, "started_s", num_or_null(r->st != F_PLANNED, s0));
    json_object_set_new(o, "ended_s", num_or_null(ran, s1));
    if (r->note[0])
        json_object_set_new(o, "note", json_string(r->note));
    if (d->kind == EV_FAULT_PROXY && F->px && r->st != F_PLANNED && r->st != F_SKIPPED)
        json_object_set_new(o, "proxy", proxy_delta(r));
    if (d->kind == EV_FAULT_EXEC && r->sp)
        json_object_set_new(o, "exec", exec_json(r));
    if (d->kind == EV_FAULT_CONNECTIONS && r->cn)
        json_object_set_new(o, "connections", ev_conns_json(r->cn));
    if (r->st != F_DONE)
        return o; /* nothing happened to measure */

    /* The baseline: up to BASELINE_SECS seconds with deliveries before it,
     * outside every other fault's window. */
    ev_hist_reset(base);
    ev_recovery_base rb = {.depth = -1};
    size_t used = 0;
    for (size_t i = R->nts; i-- > 0 && used < BASELINE_SECS;) {
        if (secs[i].t1 > s0 || !secs[i].count)
            continue;
        int inside = 0;
        for (size_t k = 0; k < F->n; k++) {
            const frun *x = &F->r[k];
            if (x == r || x->st != F_DONE)
                continue;
            double a = (double)x->started / 1e9, b = (double)x->ended / 1e9;
            inside |= secs[i].t1 > a && secs[i].t0 <= b;
        }
        if (inside)
            continue;
        const ev_tpoint *tp = ev_tseries_point(R, i); /* NULL: ev_tseries_error */
        if (tp && tp->hist_e2e)
            ev_hist_decode(tp->hist_e2e, strlen(tp->hist_e2e), base);
        if (secs[i].depth > rb.depth)
            rb.depth = secs[i].depth;
        used++;
    }
    int have_base = ev_hist_count(base) > 0;
    double base_ms = have_base ? (double)ev_hist_percentile(base, 99) / 1e6 : 0.0;
    rb.p99_ms = base_ms;
    /* The depth tolerance scales with the rate planned after the fault. */
    double rate = 0;
    for (size_t i = 0; i < R->nts; i++)
        if (secs[i].t1 > s1) {
            rate = R->ts[i].rate_target;
            break;
        }
    ev_recovery_tolerance(&rb, rate);
    double rec = 0;
    int recovered = have_base && ev_recovery_find(secs, R->nts, s1, &rb, &rec);

    json_t *imp = json_object();
    ev_hist_reset(h);
    window_hist(R, s0, s1, 0, h);
    json_object_set_new(imp, "e2e", lat_json(h));
    if (have_base) {
        double tol = rb.tol_ms;
        json_object_set_new(imp, "delayed",
                            json_integer((json_int_t)count_above(h, (int64_t)(tol * 1e6))));
    } else {
        json_object_set_new(imp, "delayed", json_null());
    }
    ev_hist_reset(h);
    window_hist(R, s0, s1, 1, h);
    json_object_set_new(imp, "ack", lat_json(h));
    json_object_set_new(imp, "baseline_e2e_p99", num_or_null(have_base, base_ms));
    json_object_set_new(imp, "baseline_depth",
                        have_base && rb.depth >= 0 ? json_integer(rb.depth) : json_null());
    json_object_set_new(imp, "recovered", json_boolean(recovered));
    json_object_set_new(imp, "recovery_s", num_or_null(recovered, rec));
    if (!have_base)
        json_object_set_new(imp, "recovery_note",
                            json_string("no second with deliveries before it to compare with"));

    /* Events by intended send time: from a second before it began (what was
     * in flight) to its recovery (the run's end when it never recovered; its
     * end when there was nothing to compare with). */
    int64_t from = r->started > LOOKBACK_NS ? r->started - LOOKBACK_NS : 0;
    int64_t to = recovered   ? r->ended + (int64_t)llround(rec * 1e9)
                 : have_base ? INT64_MAX
                             : r->ended;
    impact im;
    if (events_in(F, R, from, to, &im) == 0 && im.have_events && R->ngroups) {
        json_object_set_new(
            imp, "events",
            json_pack("{s:f, s:o, s:I, s:I, s:I, s:o, s:o}", "from_s", (double)from / 1e9, "to_s",
                      to == INT64_MAX ? json_null() : json_real((double)to / 1e9), "sent",
                      (json_int_t)im.sent, "publish_failed", (json_int_t)im.failed, "missing",
                      (json_int_t)im.missing, "lost",
                      im.split ? json_integer((json_int_t)im.lost) : json_null(), "pending",
                      im.split ? json_integer((json_int_t)im.pending) : json_null()));
    } else {
        json_object_set_new(imp, "events", json_null());
    }
    int64_t dto = recovered ? to : INT64_MAX;
    json_object_set_new(imp, "duplicated",
                        json_integer((json_int_t)dups_between(F, R, r->started, dto, 1)));
    json_object_set_new(imp, "redelivered",
                        json_integer((json_int_t)dups_between(F, R, r->started, dto, 0)));
    json_object_set_new(o, "impact", imp);
    return o;
}

/* The proxy's counters with its history on the run's clock. */
static json_t *proxy_json(const ev_faults *F)
{
    json_t *j = ev_proxy_json(F->px);
    if (!j)
        return NULL;
    double shift = (double)(F->px_mono - F->t0) / 1e9;
    json_t *h = json_object_get(j, "history"), *e;
    size_t i;
    json_array_foreach (h, i, e) {
        json_t *t = json_object_get(e, "t");
        if (json_is_number(t))
            json_object_set_new(e, "t", json_real(json_number_value(t) + shift));
    }
    return j;
}

int ev_faults_report(ev_faults *F, ev_results *R, ev_err *err)
{
    if (!F)
        return EV_OK;
    sched_stop(F);
    atomic_store(&F->stop, 1); /* no tick runs the schedule from now on */
    int64_t now = F->t0 ? ev_mono_ns() - F->t0 : 0;
    for (size_t i = 0; i < F->n; i++) {
        frun *r = &F->r[i];
        if (r->st == F_ACTIVE)
            end_fault(F, r, now, 1, R->interrupted);
        else if (r->st == F_PLANNED)
            snprintf(r->note, sizeof r->note, "the run ended before its time came");
        if (r->def->kind == EV_FAULT_PROXY && r->st == F_DONE && !r->ps1_taken) {
            ev_proxy_stats_get(F->px, &r->ps1);
            r->ps1_taken = 1;
        }
    }
    if (F->px)
        ev_proxy_clear(F->px); /* the transports' teardown goes through it unharmed */
    json_t *arr = json_array();
    ev_hist *h = ev_hist_new(), *base = ev_hist_new();
    ev_recovery_sec *secs = NULL;
    size_t nsecs = 0;
    int rc = ev_recovery_secs(R, &secs, &nsecs, err);
    if (rc)
        goto out;
    if (!arr || !h || !base) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < F->n; i++) {
        json_t *o = fault_json(F, &F->r[i], R, secs, h, base);
        if (!o || json_array_append_new(arr, o)) {
            rc = oom(err);
            goto out;
        }
    }
    if ((rc = ev_tseries_error(R, err))) /* a point of the timeseries not read back */
        goto out;
    json_decref(R->faults);
    R->faults = arr;
    arr = NULL;
    if (F->px) {
        json_decref(R->proxy);
        if (!(R->proxy = proxy_json(F)))
            rc = oom(err);
    }
out:
    json_decref(arr);
    ev_hist_free(h);
    ev_hist_free(base);
    free(secs);
    return rc;
}

/* ======================================================================== */
/* The summary                                                               */

static double jnum(const json_t *o, const char *key, double dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

void ev_faults_summary(FILE *out, const json_t *faults)
{
    if (!json_is_array(faults) || !json_array_size(faults))
        return;
    fprintf(out, "\nfaults   (times in seconds from the schedule's start)\n");
    size_t i;
    const json_t *f;
    json_array_foreach (faults, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *kind = json_string_value(json_object_get(f, "kind"));
        const char *spec = json_string_value(json_object_get(f, "spec"));
        const char *status = json_string_value(json_object_get(f, "status"));
        fprintf(out, "  %-12s %s %.70s%s\n", name, kind, spec, strlen(spec) > 70 ? "..." : "");
        double s0 = jnum(f, "started_s", NAN), s1 = jnum(f, "ended_s", NAN);
        if (isnan(s0)) {
            fprintf(out, "               %s: %s\n", status,
                    json_string_value(json_object_get(f, "note")));
            continue;
        }
        fprintf(out, "               %s %.2f → %s", status, s0, isnan(s1) ? "" : "");
        if (!isnan(s1))
            fprintf(out, "%.2f", s1);
        const json_t *x = json_object_get(f, "exec");
        if (x) {
            const json_t *ex = json_object_get(x, "exit"), *sg = json_object_get(x, "signal");
            fprintf(out, "  exec %s",
                    json_is_true(json_object_get(x, "timed_out")) ? "TIMED OUT, " : "");
            if (json_is_integer(ex))
                fprintf(out, "exit %lld", (long long)json_integer_value(ex));
            else if (json_is_integer(sg))
                fprintf(out, "killed by signal %lld", (long long)json_integer_value(sg));
            fprintf(out, " after %.2f s", jnum(x, "duration_s", 0));
        }
        x = json_object_get(f, "connections");
        if (x)
            fprintf(out,
                    "  connections: attempted %.0f, accepted %.0f, refused %.0f, closed by "
                    "the broker %.0f, errors %.0f",
                    jnum(x, "attempted", 0), jnum(x, "accepted", 0), jnum(x, "refused", 0),
                    jnum(x, "closed_by_peer", 0), jnum(x, "errors", 0));
        fputc('\n', out);
        const char *note = json_string_value(json_object_get(f, "note"));
        if (note)
            fprintf(out, "               (%s)\n", note);
        const json_t *imp = json_object_get(f, "impact");
        if (!imp)
            continue;
        const json_t *e2e = json_object_get(imp, "e2e");
        double p50 = jnum(e2e, "p50", NAN), p99 = jnum(e2e, "p99", NAN);
        double base = jnum(imp, "baseline_e2e_p99", NAN), rec = jnum(imp, "recovery_s", NAN);
        fprintf(out, "               during: e2e ");
        if (isnan(p50))
            fprintf(out, "none delivered");
        else
            fprintf(out, "p50 %.1f ms p99 %.1f ms", p50, p99);
        if (!isnan(base))
            fprintf(out, " (p99 before %.2f ms)", base);
        if (!isnan(rec))
            fprintf(out, "; back to it after %.2f s", rec);
        else if (!isnan(base))
            fprintf(out, "; NOT back by the end of the run");
        const json_t *ev = json_object_get(imp, "events");
        if (json_is_object(ev)) {
            fprintf(out, "\n               events intended %.2f → ", jnum(ev, "from_s", 0));
            if (json_is_number(json_object_get(ev, "to_s")))
                fprintf(out, "%.2f", jnum(ev, "to_s", 0));
            else
                fprintf(out, "end");
            fprintf(out, ": %.0f sent, %.0f missing", jnum(ev, "sent", 0), jnum(ev, "missing", 0));
            if (json_is_number(json_object_get(ev, "lost")))
                fprintf(out, " (lost %.0f, pending %.0f)", jnum(ev, "lost", 0),
                        jnum(ev, "pending", 0));
        }
        fprintf(out, "; duplicated %.0f (redelivered %.0f)\n", jnum(imp, "duplicated", 0),
                jnum(imp, "redelivered", 0));
    }
}
