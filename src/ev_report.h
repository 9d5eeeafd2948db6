/* ev_report — what a person and a machine read about a run: the live status
 * line (stderr), the end summary (stdout), thresholds and verdict, and the
 * results JSON (schema 1, docs/results.md). Reporting never changes a number:
 * the engine fills ev_results, this module only evaluates and prints it. */
#ifndef EV_REPORT_H
#define EV_REPORT_H

#include "ev_codec.h"
#include "ev_drift.h"
#include "ev_err.h"
#include "ev_hist.h"
#include "ev_ledger.h"
#include "ev_metrics.h"
#include "ev_scenario.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define EV_RESULTS_SCHEMA 1

typedef struct ev_group_result {
    char name[112];  /* "OUTPUT/group", or the transport's group name */
    uint32_t output; /* index into ev_results.outputs */
    ev_ledger_counts c;
    uint64_t may_remain;     /* the pending evidence reconcile used (UINT64_MAX: cannot tell) */
    const ev_ledger *ledger; /* borrowed, for results as data; NULL: not exported */
} ev_group_result;

/* One place verified (ev_plan.outputs). */
typedef struct ev_output_result {
    const ev_output *def; /* the plan's */
    const char *source;   /* redacted URL (the target's when it consumes the target) */
    uint32_t group0, ngroups;
    int integrity;            /* the checksum was checked (match envelope) */
    int64_t holds_at_end;     /* what the source still held: 0, > 0, or -1 cannot tell */
    int64_t hops_at_end;      /* what the watched hops (verify.observe) held, -1 cannot tell */
    ev_ledger_counts c;       /* over its groups */
    ev_hist *e2e, *e2e_sched; /* owned: its consumers' first sightings (e2e{output:NAME}) */
} ev_output_result;

/* One publish stream of a scenario with "streams": its publish side, its
 * classes over every output that expects its events (ev_ledger_reconcile_lanes:
 * lost is what is known lost from it), its latencies. */
typedef struct ev_stream_result {
    const ev_stream *def;
    uint64_t attempted, acked, failed, measured_sent;
    int64_t expected; /* events its schedule fixes for this instance, -1: none */
    double rate_target, rate_achieved;
    ev_ledger_counts c;
    ev_hist *lat[EV_METRIC_COUNT]; /* owned: e2e, e2e_sched, ack, sched_lag; others NULL */
} ev_stream_result;

/* One second of the run. Counters are cumulative since the start; latency
 * figures are for that second alone. */
typedef struct ev_tpoint {
    double t;             /* seconds since publishing started */
    char phase[24];       /* "warmup", "stage 2/3", "drain" */
    double rate_target;   /* events/s the schedule asked for at t */
    double rate_achieved; /* events/s sent since the previous point */
    uint64_t sent, acked, failed, received;
    uint64_t lost;            /* provisional: gaps behind the highest seq seen */
    int64_t in_flight, depth; /* depth −1: the broker does not say */
    int64_t blocked_ns;       /* cumulative publisher time blocked */
    double e2e_p50_ms, e2e_p99_ms, e2e_max_ms, sched_lag_p99_ms;
    char *hist_e2e, *hist_ack; /* owned: that second's histograms, ev_hist_encode'd */
    char *hist_e2e_sched;      /* owned, likewise (NULL: not recorded) */
    json_t *broker;            /* owned: the broker module's figures for that second, or NULL */
    int64_t rss_bytes;         /* evload's resident set at t, -1: unknown */
    /* The schedule's whole length and what is left of it at t (seconds; the
     * status line shows them for long runs), < 0: unknown. */
    double planned_s, remaining_s;
} ev_tpoint;

/* One phase of the run as the timeseries names it ("warmup", "stage 2/3",
 * "publish", "drain", "sweep"), with what happened in it. */
typedef struct ev_stage_result {
    char name[24];
    double t0, t1;           /* seconds since publishing started */
    uint64_t sent, received; /* during the stage */
    ev_hist *e2e, *ack;      /* owned: recorded during the stage */
} ev_stage_result;

typedef struct ev_results {
    const ev_plan *plan;
    char run_id[EV_RUN_ID_MAX + 1];
    const char *target;      /* redacted */
    const char *broker_name; /* "mock" */
    int64_t started_wall_ns;
    double duration_s; /* whole run, setup to reconcile */
    double publish_s;  /* publishing after warm-up */
    double cpu_s;      /* user + system CPU of the whole process (getrusage) */
    double settle_s;   /* publishing start → drain end (everything seen, or timeout) */
    uint32_t instance, instances;
    int merged;          /* evload merge's result of every instance, not one instance's */
    int interrupted;     /* Ctrl-C ended the run early */
    double start_late_s; /* ready after --start-at by this much (0: on time or no start) */
    int incomplete;      /* interrupted, or a connection failed for good: never a pass */
    char end_reason[sizeof(ev_err)]; /* why it is incomplete; "" when it completed */
    int drain_timed_out;

    uint64_t attempted, acked, failed; /* publish side, warm-up included */
    uint64_t measured_sent;            /* sent after warm-up (for the achieved rate) */
    int64_t expected; /* events the plan fixes (ev_pacer_planned_events), -1: none */
    double rate_target, rate_achieved;

    ev_group_result *groups; /* owned, every output's in order */
    size_t ngroups;
    ev_output_result *outputs; /* owned */
    size_t noutputs;
    char missing_first[256]; /* the first ids of lost/pending events, "" when none */
    uint64_t no_latency;     /* first sightings without a send time on record (matched outputs) */
    int swept;               /* the final sweep ran */
    double sweep_s;          /* how long it read */
    ev_ledger_counts total;
    ev_stream_result *streams; /* owned; 0 without "streams" in the scenario */
    size_t nstreams;

    /* Latencies by ev_metric_id (owned, warm-up excluded); NULL: not measured.
     * e2e, e2e_sched, ack and sched_lag are always there. */
    ev_hist *lat[EV_METRIC_COUNT];

    int64_t max_in_flight, max_depth, blocked_ns;
    json_t *bp_broker; /* owned: maximum of each broker figure over the timeseries */
    json_t *broker;    /* owned: {"<name>": {...}} */
    json_t *faults;    /* owned: results.faults (ev_faults.h), NULL without a fault schedule */
    json_t *proxy;     /* owned: results.proxy, the fault proxy's counters; NULL: none ran */
    json_t *recovery;  /* owned: results.recovery (ev_recovery.h), set by ev_report_evaluate;
                          NULL: the plan has no stages */

    /* The per-second timeseries. A run's points go to a spill file as it
     * goes (tseries, ev_tseries.h) and ts holds only their scalars once it
     * is over (ev_tseries_finish); results built in memory (merge, tests)
     * have every point whole in ts and no tseries. Read a point's
     * histograms and broker figures through ev_tseries_point. */
    ev_tpoint *ts; /* owned */
    size_t nts;
    struct ev_tseries *tseries; /* owned; NULL: ts holds every point whole */
    ev_stage_result *stages;    /* owned */
    size_t nstages;
    /* Results as data (ev_data.h): the lanes' publish record, borrowed. */
    const ev_publane *publanes;
    uint32_t lanes_total, lanes_per_instance;

    /* Filled by ev_report_evaluate. */
    ev_drift drift;    /* the trend over drift.interval points (ev_drift.h) */
    double *thr_value; /* owned, [plan->nthresholds] */
    int *thr_pass;
    int pass;
} ev_results;

void ev_results_free(ev_results *r); /* frees what r owns; NULL-safe */

/* Evaluates every threshold against r and sets thr_value/thr_pass/pass.
 * Returns 0 or EV_EINTERNAL (out of memory). */
int ev_report_evaluate(ev_results *r, ev_err *err);
/* "PASS", "FAIL" or "INCOMPLETE" (a run cut short never reads as a pass,
 * whatever its thresholds say). After ev_report_evaluate. */
const char *ev_report_verdict(const ev_results *r);
/* Writes the summary (tables, thresholds with ✓/✗, verdict) to f. */
void ev_report_summary(FILE *f, const ev_results *r);
/* Results JSON schema 1 as a new object (caller owns), or NULL on OOM or
 * when a timeseries point could not be read back (ev_tseries_error). The
 * whole timeseries is then in memory: ev_report_results writes a file
 * without building it. */
json_t *ev_report_build(const ev_results *r);
/* Writes a JSON document to path ("-" for stdout), atomically for files. */
int ev_report_write(json_t *doc, const char *path, ev_err *err);
/* r's results: written to path when non-NULL (as ev_report_write writes
 * ev_report_build's document, byte for byte), and built into *doc (caller
 * owns) when doc is non-NULL. Without doc the timeseries goes from the
 * spill file to path one point at a time, never whole in memory. 0, or
 * EV_EINTERNAL (out of memory, the spill file), EV_EUSAGE (path) with err. */
int ev_report_results(const ev_results *r, const char *path, json_t **doc, ev_err *err);
/* One status line for tp into buf (no newline); progress is how far through
 * the current phase (0..1), or < 0 when unknown (no bar); verified = 0 for a
 * publish-only run (acked instead of received/lost/p99). */
void ev_report_status(const ev_tpoint *tp, double progress, int verified, char *buf, size_t size);

#endif
