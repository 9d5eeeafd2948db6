/* ev_faults — the `faults` setting: a schedule of faults evload causes on
 * purpose during a run, and what each one did to the run's own events
 * (docs/faults.md, "Fault schedules").
 *
 *   "faults": [
 *     {"name": "slow", "at": "10s", "for": "5s", "proxy": "down:latency=200ms..800ms"},
 *     {"at": "20s", "proxy": "reset"},
 *     {"at": "30s", "exec": "rabbitmqctl stop_app && sleep 3 && rabbitmqctl start_app",
 *      "timeout": "60s"},
 *     {"stage": 2, "connections": {"count": 500, "mode": "idle"}} ]
 *
 * Each fault has a time: "at" (an offset from the schedule's start, warm-up
 * included, the clock of results.timeseries[].t) with an optional "for", or
 * "stage": N (the window of publish.stages[N-1]); and one action:
 *   proxy        toxics (ev_proxy.h grammar; a string or an array of them) on
 *                evload's own TCP proxy, which the run's connections to the
 *                target go through; on at `at`, off after `for`. "reset"
 *                without `for` resets every connection once; with `for` it
 *                is the reset toxic (every connection, and each new one, gets
 *                RST for the window).
 *   exec         a command ("…": /bin/sh -c; ["argv0", …]: run as is) started
 *                at `at`, killed after "timeout" (default 60s); its exit code,
 *                duration and output tail go into the results.
 *   connections  {"count": N, "mode": "idle" | "handshake", "protocol": "auto" |
 *                "tcp" | "amqp" | "redis"}: N extra connections straight to the
 *                target's host:port for the window (ev_conns.h).
 *
 * Life of a run (every call on the engine's reporter thread; the schedule
 * itself runs on a thread of its own between the first tick and the report):
 *   plan:   ev_faults_apply (the setting) → ev_faults_finish (cross-field,
 *           from ev_plan_finish) → ev_faults_plan_free (ev_plan_free).
 *   run:    ev_faults_new (pure checks against the target; `evload check`
 *           stops here) → ev_faults_route (starts the proxy, rewrites the
 *           target URL's host:port) → ev_faults_tick (every reporter wake-up:
 *           the first starts the schedule; never blocks) → ev_faults_report
 *           (stops what still runs, results.faults and results.proxy) →
 *           ev_faults_free (after the transports' teardown: stops the proxy).
 * Every run-time function is a no-op on a NULL ev_faults (a plan without
 * faults). */
#ifndef EV_FAULTS_H
#define EV_FAULTS_H

#include "ev_err.h"
#include "ev_hist.h"
#include "ev_ledger.h"
#include "ev_plan.h"
#include "ev_proxy.h"
#include "ev_recovery.h"
#include "ev_url.h"
#include "ev_where.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define EV_FAULTS_MAX 64
#define EV_FAULT_TOXICS_MAX 8

typedef enum { EV_FAULT_PROXY, EV_FAULT_EXEC, EV_FAULT_CONNECTIONS } ev_fault_kind;

/* One planned fault. Owned by the plan (ev_faults_plan_free). */
typedef struct ev_fault {
    char *name;     /* as given, or "<kind>-<index>" */
    char where[96]; /* where it was written: "FILE:LINE:COL" or "--set faults" */
    ev_fault_kind kind;
    char *spec;     /* the action as written, one line: toxics, command, or count/mode */
    int64_t at_ns;  /* offset from the schedule's start */
    int64_t for_ns; /* -1: none given (proxy, connections: until the run ends) */
    int stage;      /* 1-based stage the time comes from, 0: at/for */
    /* proxy */
    ev_proxy_toxic toxics[EV_FAULT_TOXICS_MAX];
    size_t ntoxics;
    int reset_once; /* "reset" without for: every connection reset once */
    /* exec */
    char **argv; /* NULL-terminated; a string runs as /bin/sh -c STRING */
    int64_t timeout_ns;
    /* connections */
    int64_t count;
    int64_t parallel; /* handshakes at once (0: ev_conns' default) */
    int64_t retry_ns; /* idle: try a refused or closed one again after (0: never) */
    int mode;         /* ev_conns_mode */
    int protocol;     /* ev_conns_proto, or -1: from the target's scheme */
} ev_fault;

/* ---- the plan ------------------------------------------------------------ */

/* Validates the `faults` value (v borrowed) and stores it in p (replacing
 * what was there; p unchanged on error). Errors point at the member (w). */
int ev_faults_apply(ev_plan *p, json_t *v, const ev_where *w, ev_err *err);
/* Cross-field checks once every setting is applied (called by
 * ev_plan_finish): stage numbers against publish.stages (whose windows then
 * become at/for), times past the schedule's end, two faults switching the
 * same toxic at overlapping times. EV_EUSAGE naming the fault's position. */
int ev_faults_finish(ev_plan *p, ev_err *err);
void ev_faults_plan_free(ev_fault *f, size_t n); /* NULL is a no-op */
/* The plan's faults for `evload check`, one line each (nothing without). */
void ev_faults_print_plan(FILE *out, const ev_plan *p);

/* ---- the run ------------------------------------------------------------- */

typedef struct ev_faults ev_faults;

/* Checks the plan's faults against the target (url: its parsed URL, the
 * user's text): a proxy or connections fault needs a network target with
 * one host:port (not mock://, not Kafka: its clients follow the advertised
 * brokers, so a proxy in front of the bootstrap address is not enough).
 * No I/O. instance: this process's --instance (exec and connections run on
 * instance 0 only). *out is NULL when the plan has no faults, else a new
 * ev_faults the caller owns (ev_faults_free). EV_EUSAGE with one line. */
int ev_faults_new(const ev_plan *plan, const ev_url *url, uint32_t instance, ev_faults **out,
                  ev_err *err);
/* When a proxy fault is planned: starts evload's proxy in front of the
 * target's host:port and points url (the target's, which the transport reads)
 * at it: url->host, ->hosts and ->port change, url->redacted (what reports
 * print) stays the user's. EV_ECONNECT when it cannot bind or resolve. */
int ev_faults_route(ev_faults *f, ev_url *url, ev_err *err);
/* Called by the reporter at every wake-up; off_ns is now − t0. The first call
 * starts the schedule's own thread (which starts and ends each action on
 * time, whatever stalls the reporter), from then on on t0's clock. groups
 * (ngroups merged ledgers, the reporter's latest) and pubs (the lanes'
 * record) are sampled once a second for the duplicates that arrive during a
 * fault. Never blocks. */
void ev_faults_tick(ev_faults *f, int64_t off_ns, ev_ledger *const *groups, uint32_t ngroups,
                    const ev_publane *pubs);

struct ev_results;
/* Ends every action still on (a running command is given the rest of its
 * timeout, or killed at once when the run was interrupted; toxics are
 * switched off), then measures each fault against r (after the engine
 * reconciled it: ledgers, publish record, timeseries) and stores
 * results.faults and results.proxy in r->faults (owned by r). EV_EINTERNAL
 * when out of memory. */
int ev_faults_report(ev_faults *f, struct ev_results *r, ev_err *err);
/* Stops everything (a command still running: SIGTERM to its process group,
 * SIGKILL 2 s later; connections closed; the proxy stopped) and frees. */
void ev_faults_free(ev_faults *f);

/* The summary's faults section from results' "faults" value (nothing for
 * NULL or an empty array). */
void ev_faults_summary(FILE *out, const json_t *faults);

/* ---- measuring (exported for the unit tests) ------------------------------ */

/* The recovery after a fault: ev_recovery_find (ev_recovery.h) from the
 * fault's end, against the baseline before it (e2e p99 and, where the broker
 * reports it, depth). */
/* The seqs 1..sent of one lane whose intended offset lies in [from_ns, to_ns]
 * (lane_pacer: that lane's pacer as ev_pacer_init_shard made it): *lo..*hi,
 * by binary search. 0 when some are, -1 when none is or the lane has no
 * schedule (unpaced). */
struct ev_pacer;
int ev_faults_seq_range(const struct ev_pacer *lane_pacer, uint64_t sent, int64_t from_ns,
                        int64_t to_ns, uint64_t *lo, uint64_t *hi);

#endif
