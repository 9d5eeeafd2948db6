/* ev_engine — one run, start to verdict (docs/design.md §6):
 * setup → ready barrier → warm-up → stages → drain → reconcile → report.
 *
 * Threads: one per publisher lane and one per consumer, each with its own
 * broker connection, histograms and counters behind its own mutex (held by
 * its owner only while recording, so uncontended but for one reporter visit a
 * second); the calling thread is the reporter, merging once a second (wrk2's
 * per-thread histograms). Ctrl-C (SIGINT/SIGTERM) ends the current stage early,
 * drains briefly and still reports; a second one skips the drain. */
#ifndef EV_ENGINE_H
#define EV_ENGINE_H

#include "ev_err.h"
#include "ev_scenario.h"

#include <jansson.h>
#include <stdatomic.h>

struct ev_prom;

typedef struct ev_run_opts {
    const char *json_path;    /* results file, or NULL */
    const char *missing_path; /* --missing: ids of lost and pending events, or NULL */
    int quiet;                /* no status line, no summary: only errors and the verdict line */
    int silent;               /* no summary and no verdict line (the caller reports: search) */
    int progress;             /* 1: status line even when stderr is not a terminal; 0: auto */
    json_t **results;         /* if non-NULL: receives the results JSON (caller owns) */
    /* Ctrl-C/SIGTERM count, kept by the program's signal handler (NULL: none).
     * The first ends the current stage early, drains briefly and still
     * reports; a second skips the drain. */
    const atomic_int *interrupt;
    /* --instance I/N: this process is instance I of N taking part in one run
     * (same run id): its event ids carry I, and its ledgers record every
     * instance's events so the results merge exactly (evload merge).
     * instances 0: alone (0 of 1). */
    uint32_t instance, instances;
    /* --start-at: the wall time (ns since the epoch) every instance starts the
     * schedule at, 0: as soon as ready. An instance that is ready later keeps
     * the common start (its overdue events go out at once; sched_lag shows
     * it) and reports how late it was. */
    int64_t start_at_wall;
    /* --barrier DIR: before starting, each instance writes DIR/ready-I and
     * waits until all N have (a directory every instance shares). */
    const char *barrier_dir;
    /* --metrics: the exporter the reporter hands each second's point to
     * (ev_prom.h), or NULL. Borrowed. */
    struct ev_prom *prom;
} ev_run_opts;

/* Everything `evload check` can know about plan without connecting: the
 * target's and every source's transport, their parameters, and what each
 * transport can honour (its configure()), exactly as ev_run checks them.
 * 0, or EV_EUSAGE (EV_EINTERNAL) with one line in err. */
int ev_check(const ev_plan *plan, ev_err *err);

/* Runs plan (which ev_plan_finish accepted). Returns the process exit code:
 * 0 thresholds passed, 1 a threshold failed, 2 usage, 3 could not connect or
 * set up (also: a connection failed for good mid-run; the run still
 * reports), 4 internal, 5 the run was interrupted and its results are
 * partial; err says why for 2, 3 and 4. */
int ev_run(const ev_plan *plan, const ev_run_opts *o, ev_err *err);

#endif
