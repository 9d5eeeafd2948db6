/* ev_merge — `evload merge SHARD.json… -o MERGED.json`: the results of N
 * evload instances that ran one scenario together (--instance I/N, one run
 * id), combined exactly:
 *   - every instance present once: a missing or duplicated shard is refused
 *     (Kubernetes Indexed Jobs may run an index twice);
 *   - ledgers unioned per group before the classes are computed, against
 *     every instance's publish record, so an event one instance published and
 *     another consumed is delivered, and one that no instance saw is lost —
 *     which no single instance could know;
 *   - histograms added (lossless encodings), per run, per stage, per second;
 *   - thresholds evaluated once, on the merged result.
 * The shards' own health (verdict, completion, counts) is printed beside the
 * merged verdict; the exit code is the merged verdict's. */
#include "ev_merge.h"

#include "ev_clock.h"
#include "ev_data.h"
#include "ev_json.h"
#include "ev_metrics.h"
#include "ev_outputs.h"
#include "ev_report.h"
#include "ev_scenario.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct merge {
    size_t nshards;
    json_t **shard; /* [nshards], by instance after check_shards */
    uint32_t ninst, lanes, ltotal;
    ev_plan *plan;
    ev_output *defs; /* [noutputs] */
    ev_results R;
    ev_ledger **ledgers; /* [R.ngroups] */
    ev_publane *pl;      /* [ltotal] */
} merge;

/* Every shard one run's, every instance 0..N-1 exactly once; orders shard[]
 * by instance. */
static int check_shards(merge *m, char **paths, ev_err *err)
{
    const json_t *s0 = m->shard[0];
    m->ninst = (uint32_t)ev_jint(s0, "run.instances");
    m->lanes = (uint32_t)ev_jint(s0, "data.lanes_per_instance");
    if (!m->ninst || !m->lanes || !ev_jget(s0, "data.publanes"))
        return ev_err_set(err, EV_EUSAGE,
                          "%s: no results as data (data.*): written by an evload without merge "
                          "support, or not a results file",
                          paths[0]);
    if (m->nshards != m->ninst)
        return ev_err_set(err, EV_EUSAGE,
                          "%zu result files for a run of %u instances: every instance must be "
                          "given exactly once",
                          m->nshards, m->ninst);
    json_t **by = calloc(m->ninst, sizeof *by);
    if (!by)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = EV_OK;
    for (size_t i = 0; i < m->nshards && !rc; i++) {
        const json_t *s = m->shard[i];
        uint32_t in = (uint32_t)ev_jint(s, "run.instance");
        if (strcmp(ev_jstr(s, "run.id"), ev_jstr(s0, "run.id")))
            rc = ev_err_set(err, EV_EUSAGE, "%s: run %s, but %s is run %s: not one run", paths[i],
                            ev_jstr(s, "run.id"), paths[0], ev_jstr(s0, "run.id"));
        else if (ev_jint(s, "run.instances") != m->ninst ||
                 ev_jint(s, "data.lanes_per_instance") != m->lanes)
            rc = ev_err_set(err, EV_EUSAGE, "%s: instances or lanes differ from %s", paths[i],
                            paths[0]);
        else if (in >= m->ninst)
            rc = ev_err_set(err, EV_EUSAGE, "%s: instance %u of %u", paths[i], in, m->ninst);
        else if (by[in])
            rc = ev_err_set(err, EV_EUSAGE,
                            "instance %u given twice (%s and another file): a duplicated shard "
                            "is refused",
                            in, paths[i]);
        else if (!json_equal(ev_jget(s, "thresholds"), ev_jget(s0, "thresholds")) &&
                 json_array_size(ev_jget(s, "thresholds")) !=
                     json_array_size(ev_jget(s0, "thresholds")))
            rc = ev_err_set(err, EV_EUSAGE, "%s: its thresholds differ from %s's", paths[i],
                            paths[0]);
        else
            by[in] = m->shard[i];
    }
    for (uint32_t i = 0; !rc && i < m->ninst; i++)
        if (!by[i])
            rc = ev_err_set(err, EV_EUSAGE, "instance %u is missing", i);
    if (!rc)
        memcpy(m->shard, by, m->ninst * sizeof *by);
    free(by);
    return rc;
}

/* The plan the merged run is judged by: the scenario's name and the
 * thresholds every shard had. */
static int build_plan(merge *m, ev_err *err)
{
    const json_t *s0 = m->shard[0];
    int rc = ev_plan_new_default(&m->plan, err);
    if (rc)
        return rc;
    free(m->plan->name);
    if (!(m->plan->name = strdup(ev_jstr(s0, "run.scenario"))))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    json_t *thr = json_object();
    size_t i;
    json_t *t;
    json_array_foreach (ev_jget(s0, "thresholds"), i, t) {
        const char *metric = ev_jstr(t, "metric");
        json_t *list = json_object_get(thr, metric);
        if (!list)
            json_object_set_new(thr, metric, list = json_array());
        json_array_append_new(list, json_string(ev_jstr(t, "expr")));
    }
    char *text = json_dumps(thr, JSON_COMPACT);
    json_decref(thr);
    size_t n = text ? strlen(text) + 16 : 0;
    char *set = text ? malloc(n) : NULL;
    if (!set) {
        free(text);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    snprintf(set, n, "thresholds=%s", text);
    rc = ev_plan_set(m->plan, set, err);
    free(set);
    free(text);
    return rc;
}

/* Every instance's publish record, and the publish totals. */
static int merge_publish(merge *m, ev_err *err)
{
    m->ltotal = m->ninst * m->lanes;
    if (!(m->pl = calloc(m->ltotal, sizeof *m->pl)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (uint32_t i = 0; i < m->ltotal; i++)
        m->pl[i].unknown = 1;
    ev_results *R = &m->R;
    R->expected = 0;
    for (uint32_t in = 0; in < m->ninst; in++) {
        const json_t *s = m->shard[in];
        char what[64];
        snprintf(what, sizeof what, "instance %u", in);
        int rc = ev_data_publanes_load(ev_jget(s, "data.publanes"), m->pl, m->ltotal, what, err);
        if (rc)
            return rc;
        R->attempted += ev_jint(s, "publish.attempted");
        R->acked += ev_jint(s, "publish.acked");
        R->failed += ev_jint(s, "publish.failed");
        R->measured_sent += ev_jint(s, "publish.measured");
        const json_t *ex = ev_jget(s, "publish.expected");
        R->expected = json_is_integer(ex) && R->expected >= 0
                          ? R->expected + (int64_t)json_integer_value(ex)
                          : -1;
        R->rate_target += ev_jnum(s, "publish.rate_target");
        R->rate_achieved += ev_jnum(s, "publish.rate_achieved");
        if (ev_jnum(s, "publish.duration_s") > R->publish_s)
            R->publish_s = ev_jnum(s, "publish.duration_s");
        if (ev_jnum(s, "run.duration_s") > R->duration_s)
            R->duration_s = ev_jnum(s, "run.duration_s");
        R->cpu_s += ev_jnum(s, "run.cpu_s");
        R->interrupted |= json_is_true(ev_jget(s, "run.interrupted"));
        if (json_is_false(ev_jget(s, "run.completed"))) {
            R->incomplete = 1;
            snprintf(R->end_reason, sizeof R->end_reason, "instance %u ended early: %s", in,
                     ev_jstr(s, "run.end_reason"));
        }
    }
    for (uint32_t i = 0; i < m->ltotal; i++)
        if (m->pl[i].unknown)
            return ev_err_set(err, EV_EUSAGE, "lane %u of instance %u has no publish record",
                              i % m->lanes, i / m->lanes);
    return EV_OK;
}

/* The outputs as the shards describe them (deliver.outputs). */
static int merge_outputs(merge *m, ev_err *err)
{
    const json_t *outs = ev_jget(m->shard[0], "deliver.outputs");
    size_t n = json_array_size(outs);
    ev_results *R = &m->R;
    if (!(m->defs = calloc(n ? n : 1, sizeof *m->defs)) ||
        !(R->outputs = calloc(n ? n : 1, sizeof *R->outputs)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    R->noutputs = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(outs, i);
        ev_output *d = &m->defs[i];
        const char *expect = ev_jstr(o, "expect"), *arg = NULL;
        if (!(d->name = strdup(ev_jstr(o, "name"))))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        d->copies = ev_jint(o, "copies") ? (int64_t)ev_jint(o, "copies") : 1;
        if (!strcmp(expect, "expect none"))
            d->expect = EV_EXPECT_NONE;
        else if (!strncmp(expect, "expect type ", 12)) {
            d->expect = EV_EXPECT_TYPE;
            d->expect_type = strdup(expect + 12);
        }
        if (ev_match_parse(ev_jstr(o, "match"), &d->match, &arg))
            d->match = EV_MATCH_ENVELOPE;
        else if (arg)
            d->match_arg = strdup(arg);
        R->outputs[i].def = d;
        R->outputs[i].source = json_string_value(json_object_get(o, "source"));
        R->outputs[i].integrity = json_is_true(json_object_get(o, "integrity_checked"));
        R->outputs[i].holds_at_end = json_is_integer(json_object_get(o, "holds_at_end"))
                                         ? json_integer_value(json_object_get(o, "holds_at_end"))
                                         : -1;
    }
    m->plan->outputs_explicit = n > 1 || (n == 1 && m->defs[0].name[0]);
    return EV_OK;
}

static size_t output_index(const merge *m, const char *name)
{
    for (size_t i = 0; i < m->R.noutputs; i++)
        if (!strcmp(m->defs[i].name, name))
            return i;
    return 0;
}

/* Groups by name across shards: their ledgers unioned, then reconciled
 * against every lane's record. */
static int merge_groups(merge *m, ev_err *err)
{
    ev_results *R = &m->R;
    size_t cap = 0;
    for (uint32_t in = 0; in < m->ninst; in++)
        cap += json_array_size(ev_jget(m->shard[in], "data.groups"));
    if (!(R->groups = calloc(cap ? cap : 1, sizeof *R->groups)) ||
        !(m->ledgers = calloc(cap ? cap : 1, sizeof *m->ledgers)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (uint32_t in = 0; in < m->ninst; in++) {
        size_t i;
        json_t *g;
        json_array_foreach (ev_jget(m->shard[in], "data.groups"), i, g) {
            const char *name = ev_jstr(g, "name");
            size_t k = 0;
            while (k < R->ngroups && strcmp(R->groups[k].name, name))
                k++;
            char what[160];
            snprintf(what, sizeof what, "instance %u group %s", in, name);
            ev_ledger *l = NULL;
            int rc = ev_data_ledger_load(ev_jget(g, "ledger"), m->ltotal, what, &l, err);
            if (rc)
                return rc;
            const json_t *mr = json_object_get(g, "may_remain");
            uint64_t may = json_is_integer(mr) ? (uint64_t)json_integer_value(mr) : UINT64_MAX;
            if (k == R->ngroups) {
                ev_group_result *gr = &R->groups[R->ngroups++];
                snprintf(gr->name, sizeof gr->name, "%s", name);
                gr->output = (uint32_t)output_index(m, ev_jstr(g, "output"));
                gr->may_remain = may;
                m->ledgers[k] = l;
                continue;
            }
            /* The same group seen from another instance (competing
             * consumers of one queue): what it may hold is one figure. */
            if (may > R->groups[k].may_remain)
                R->groups[k].may_remain = may;
            rc = ev_ledger_merge(m->ledgers[k], l);
            ev_ledger_free(l);
            if (rc)
                return ev_err_set(err, EV_EUSAGE, "%s: its ledger does not merge with the others'",
                                  what);
        }
    }
    ev_publane *none = calloc(m->ltotal, sizeof *none);
    if (!none)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t k = 0; k < R->ngroups; k++) {
        ev_group_result *gr = &R->groups[k];
        ev_output_result *o = &R->outputs[gr->output];
        int expects = o->def->expect == EV_EXPECT_ALL; /* typed outputs: judged per shard */
        gr->ledger = m->ledgers[k];
        ev_ledger_reconcile(gr->ledger, expects ? m->pl : none, gr->may_remain, &gr->c);
        if (!o->ngroups)
            o->group0 = (uint32_t)k;
        o->ngroups++;
        ev_ledger_counts *t = &R->total, *oc = &o->c, *c = &gr->c;
        for (int pass = 0; pass < 2; pass++) {
            ev_ledger_counts *d = pass ? oc : t;
            d->received += c->received, d->delivered += c->delivered, d->late += c->late;
            d->pending += c->pending, d->lost += c->lost, d->duplicated += c->duplicated;
            d->redelivered += c->redelivered, d->unconfirmed += c->unconfirmed;
            d->recovered += c->recovered, d->reordered += c->reordered;
            d->corrupted += c->corrupted, d->foreign += c->foreign;
            d->unexpected += c->unexpected;
        }
    }
    free(none);
    return EV_OK;
}

/* Adds shard s's encoded histogram at path (…"hist") into *h (created). */
static int add_hist(ev_hist **h, const json_t *s, const char *path)
{
    const json_t *v = ev_jget(s, path);
    if (!json_is_string(v))
        return 0;
    if (!*h && !(*h = ev_hist_new()))
        return -1;
    return ev_hist_decode(json_string_value(v), json_string_length(v), *h);
}

/* Latencies, per stage and per second: histograms added. */
static int merge_latency(merge *m, ev_err *err)
{
    ev_results *R = &m->R;
    for (int k = 0; k < EV_METRIC_COUNT; k++) {
        char path[64];
        snprintf(path, sizeof path, "latency.%s.hist", ev_metrics[k].name);
        for (uint32_t in = 0; in < m->ninst; in++)
            if (add_hist(&R->lat[k], m->shard[in], path))
                return ev_err_set(err, EV_EUSAGE, "instance %u: %s is not a histogram", in, path);
    }
    const json_t *ts0 = ev_jget(m->shard[0], "timeseries");
    size_t n = json_array_size(ts0);
    for (uint32_t in = 1; in < m->ninst; in++)
        if (json_array_size(ev_jget(m->shard[in], "timeseries")) < n)
            n = json_array_size(ev_jget(m->shard[in], "timeseries"));
    if (n && !(R->ts = calloc(n, sizeof *R->ts)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    R->nts = n; /* the seconds every instance has */
    for (size_t i = 0; i < n; i++) {
        ev_tpoint *tp = &R->ts[i];
        ev_hist *e2e = NULL, *ack = NULL, *sched = NULL;
        for (uint32_t in = 0; in < m->ninst; in++) {
            const json_t *p = json_array_get(ev_jget(m->shard[in], "timeseries"), i);
            if (!in) {
                tp->t = ev_jnum(p, "t");
                snprintf(tp->phase, sizeof tp->phase, "%s", ev_jstr(p, "phase"));
            }
            tp->rate_target += ev_jnum(p, "rate_target");
            tp->rate_achieved += ev_jnum(p, "rate_achieved");
            tp->sent += ev_jint(p, "sent"), tp->acked += ev_jint(p, "acked");
            tp->failed += ev_jint(p, "failed"), tp->received += ev_jint(p, "received");
            tp->lost += ev_jint(p, "lost"), tp->in_flight += (int64_t)ev_jint(p, "in_flight");
            if ((int64_t)ev_jint(p, "depth") > tp->depth)
                tp->depth = (int64_t)ev_jint(p, "depth"); /* a shared queue: the same figure */
            if (add_hist(&e2e, p, "hist.e2e") || add_hist(&ack, p, "hist.ack") ||
                add_hist(&sched, p, "hist.e2e_sched"))
                return ev_err_set(err, EV_EUSAGE,
                                  "instance %u: second %zu's histograms are "
                                  "malformed",
                                  in, i);
        }
        if (e2e && ev_hist_count(e2e)) {
            tp->e2e_p50_ms = (double)ev_hist_percentile(e2e, 50) / 1e6;
            tp->e2e_p99_ms = (double)ev_hist_percentile(e2e, 99) / 1e6;
            tp->e2e_max_ms = (double)ev_hist_max(e2e) / 1e6;
        }
        tp->hist_e2e = e2e ? ev_hist_encode(e2e) : NULL;
        tp->hist_ack = ack ? ev_hist_encode(ack) : NULL;
        tp->hist_e2e_sched = sched ? ev_hist_encode(sched) : NULL;
        ev_hist_free(e2e);
        ev_hist_free(ack);
        ev_hist_free(sched);
        if (tp->in_flight > R->max_in_flight)
            R->max_in_flight = tp->in_flight;
        if (tp->depth > R->max_depth)
            R->max_depth = tp->depth;
    }
    return EV_OK;
}

/* One line per instance: what it did and whether it finished. */
static void print_health(FILE *f, const merge *m)
{
    fprintf(f, "\nshards    instance  verdict      completed  attempted      acked   duration_s\n");
    for (uint32_t in = 0; in < m->ninst; in++) {
        const json_t *s = m->shard[in];
        fprintf(f, "          %8u  %-11s  %-9s  %9llu  %9llu  %11.1f\n", in, ev_jstr(s, "verdict"),
                json_is_false(ev_jget(s, "run.completed")) ? "no" : "yes",
                (unsigned long long)ev_jint(s, "publish.attempted"),
                (unsigned long long)ev_jint(s, "publish.acked"), ev_jnum(s, "run.duration_s"));
    }
}

static json_t *health_json(const merge *m)
{
    json_t *a = json_array();
    for (uint32_t in = 0; a && in < m->ninst; in++) {
        const json_t *s = m->shard[in];
        json_array_append_new(a, json_pack("{s:I, s:s, s:b, s:I, s:I, s:f, s:s}", "instance",
                                           (json_int_t)in, "verdict", ev_jstr(s, "verdict"),
                                           "completed", !json_is_false(ev_jget(s, "run.completed")),
                                           "attempted", (json_int_t)ev_jint(s, "publish.attempted"),
                                           "acked", (json_int_t)ev_jint(s, "publish.acked"),
                                           "duration_s", ev_jnum(s, "run.duration_s"), "started",
                                           ev_jstr(s, "run.started")));
    }
    return a;
}

static void merge_free(merge *m)
{
    for (size_t i = 0; i < m->nshards; i++)
        json_decref(m->shard[i]);
    free(m->shard);
    for (size_t k = 0; m->ledgers && k < m->R.ngroups; k++)
        ev_ledger_free(m->ledgers[k]);
    free(m->ledgers);
    for (uint32_t i = 0; m->pl && i < m->ltotal; i++)
        ev_iset_clear(&m->pl[i].failed);
    free(m->pl);
    ev_outputs_free(m->defs, m->R.noutputs);
    ev_results_free(&m->R);
    ev_plan_free(m->plan);
}

int ev_merge(char **paths, size_t n, const char *out_path, int quiet, ev_err *err)
{
    merge M, *m = &M;
    memset(m, 0, sizeof *m);
    int rc = EV_OK;
    if (!(m->shard = calloc(n, sizeof *m->shard)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++, m->nshards++) {
        json_error_t je;
        if (!(m->shard[i] = json_load_file(paths[i], 0, &je))) {
            rc = ev_err_set(err, EV_EUSAGE, "%s: %s (line %d)", paths[i], je.text, je.line);
            goto out;
        }
    }
    ev_results *R = &m->R;
    R->max_depth = -1;
    if ((rc = check_shards(m, paths, err)) || (rc = build_plan(m, err)) ||
        (rc = merge_publish(m, err)) || (rc = merge_outputs(m, err)) ||
        (rc = merge_groups(m, err)) || (rc = merge_latency(m, err)))
        goto out;
    R->plan = m->plan;
    snprintf(R->run_id, sizeof R->run_id, "%s", ev_jstr(m->shard[0], "run.id"));
    R->target = ev_jstr(m->shard[0], "run.target");
    for (uint32_t in = 0; in < m->ninst; in++) { /* the earliest start */
        int64_t t;
        if (!ev_rfc3339_parse(ev_jstr(m->shard[in], "run.started"), &t) &&
            (!R->started_wall_ns || t < R->started_wall_ns))
            R->started_wall_ns = t;
    }
    R->broker_name = "";
    R->instance = 0;
    R->instances = m->ninst;
    R->merged = 1;
    R->publanes = m->pl;
    R->lanes_total = m->ltotal;
    R->lanes_per_instance = m->lanes;
    if ((rc = ev_report_evaluate(R, err)))
        goto out;
    if (!quiet) {
        print_health(stdout, m);
        ev_report_summary(stdout, R);
    } else {
        printf("%s\n", ev_report_verdict(R));
    }
    if (out_path) {
        json_t *doc = ev_report_build(R);
        if (!doc) {
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto out;
        }
        json_object_set_new(json_object_get(doc, "run"), "merged_from",
                            json_integer((json_int_t)m->ninst));
        json_object_set_new(doc, "shards", health_json(m));
        rc = ev_report_write(doc, out_path, err);
        json_decref(doc);
        if (rc)
            goto out;
    }
    rc = R->incomplete ? EV_EINCOMPLETE : R->pass ? EV_OK : EV_ETHRESH;
out:
    merge_free(m);
    return rc;
}

int ev_merge_main(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            printf("usage: evload merge SHARD.json... [-o MERGED.json] [--quiet]\n"
                   "\n"
                   "Combines the results of the N instances of one run (evload run --instance\n"
                   "I/N, one run_id) exactly: every instance must be given once; ledgers are\n"
                   "unioned before the classes are computed, so an event no instance saw is\n"
                   "lost even when each instance alone could not know; histograms are added;\n"
                   "thresholds are evaluated once, on the merged result. Prints each shard's\n"
                   "health and the merged summary; exits with the merged verdict (0, 1, 5;\n"
                   "2 for missing, duplicated or foreign shards).\n");
            return 0;
        default:
            fprintf(stderr, "evload: see `evload merge --help`\n");
            return EV_EUSAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "evload: merge needs the results files of every instance, e.g. `evload "
                        "merge r0.json r1.json -o merged.json`\n");
        return EV_EUSAGE;
    }
    ev_err err = {{0}};
    int rc = ev_merge(argv + optind, (size_t)(argc - optind), out, quiet, &err);
    if (rc >= EV_EUSAGE && rc <= EV_EINTERNAL)
        fprintf(stderr, "evload: merge: %s\n", err.msg);
    return rc;
}
