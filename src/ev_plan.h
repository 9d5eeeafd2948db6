/* ev_plan — what a run is asked to do: the validated scenario. Built by
 * ev_scenario (file and --set over the settings table), read by everything
 * that runs or reports. Every string and array is owned by the plan
 * (ev_plan_free in ev_scenario.h); nothing else writes it after
 * ev_plan_finish. */
#ifndef EV_PLAN_H
#define EV_PLAN_H

#include "ev_threshold.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { EV_EXEC_CONSTANT, EV_EXEC_RAMPING, EV_EXEC_MAX } ev_executor;
typedef enum { EV_MODE_STRUCTURED, EV_MODE_BINARY } ev_event_mode;

#define EV_STAGE_NAME_MAX 24

typedef struct ev_stage {
    int64_t duration_ns;
    double target; /* events/s at the end of the stage (linear ramp from the previous) */
    char name[EV_STAGE_NAME_MAX]; /* "" unless named: phases and {stage:NAME} use it */
} ev_stage;

typedef struct ev_plan ev_plan;

#define EV_STREAMS_MAX 32
#define EV_STREAM_NAME_MAX 40

/* One publish stream (the scenario's "streams"; a plan without them has one
 * implicit stream, the plan itself). Its event.* and publish.* live in its
 * own plan, which holds only those (and warmup); settings a stream does not
 * set come from the top level. */
typedef struct ev_stream {
    char name[EV_STREAM_NAME_MAX + 1]; /* "" for the implicit stream */
    int64_t start_after_ns;            /* its schedule starts this long after the run's */
    ev_plan *plan;                     /* owned when owned, else the plan itself */
    int owned;
    uint32_t lane0; /* its first lane among the run's (this instance's) lanes */
} ev_stream;

/* A setting given to a broker module verbatim (e.g. "kafka.linger.ms" = "5"). */
typedef struct ev_kv {
    char *key, *value;
} ev_kv;

/* verify.match: how an output message is tied to the published event. */
typedef enum {
    EV_MATCH_ENVELOPE,   /* evload's extension attributes, or the CloudEvent id */
    EV_MATCH_HEADER,     /* a protocol header / attribute holding the published id */
    EV_MATCH_JSON,       /* an RFC 6901 pointer into the body: the id, or an array of ids */
    EV_MATCH_TRACEPARENT /* the W3C trace id evload set, propagated by the service */
} ev_match_kind;

/* verify.outputs[].expect */
typedef enum { EV_EXPECT_ALL, EV_EXPECT_NONE, EV_EXPECT_TYPE } ev_expect_kind;

/* One place evload verifies: a source URL with what it expects there. */
typedef struct ev_output {
    char *name;   /* "" for the one implicit output */
    char *source; /* URL; NULL: the target */
    ev_expect_kind expect;
    char *expect_type; /* EV_EXPECT_TYPE: the CloudEvents type expected */
    int64_t copies;    /* per event and group, default 1 */
    ev_match_kind match;
    char *match_arg;   /* header name or JSON pointer; NULL otherwise */
    int match_given;   /* match set on the output itself (else verify.match) */
    int64_t groups;    /* subscriber groups (each sees every event); default verify.groups */
    int64_t consumers; /* competing consumers per group; default verify.consumers */
} ev_output;

/* Every string and array is owned by the plan (ev_plan_free). */
struct ev_plan {
    char *path;        /* scenario file as given, or "" */
    char *name;        /* default: file name without .json */
    char *description; /* default "" */
    char *target;      /* URL; may be NULL until --target */
    char *run_id;      /* NULL: random at run time */

    /* event.* */
    char *event_type;      /* default "dev.evload.test" */
    char *event_source;    /* default "/evload" */
    int64_t data_size;     /* bytes, default 256, 16..1048576 */
    ev_event_mode mode;    /* default structured */
    char *event_data_json; /* compact JSON object text of event.data, or NULL */

    /* publish.* */
    ev_executor executor; /* default constant-arrival-rate */
    int64_t lanes;        /* default 1, 1..256 */
    double rate;          /* constant: events/s (all lanes together), default 100 */
    int64_t duration_ns;  /* constant; max-throughput when count is 0; default 10s */
    double start_rate;    /* ramping, default 0 */
    ev_stage *stages;     /* ramping */
    size_t nstages;
    int64_t count;         /* max-throughput: events in all (0: use duration) */
    int64_t max_in_flight; /* unacknowledged events, all lanes together; default 1000 */

    /* verify.* */
    int64_t groups;                   /* default 1, 1..1024 */
    int64_t consumers;                /* per group, default 1, 1..1024 */
    int64_t prefetch;                 /* default 100 */
    int64_t work_min_ns, work_max_ns; /* simulated processing per event, default 0 */
    int64_t drain_timeout_ns;         /* default 10s */
    char *verify_mode;                /* broker-specific (e.g. bullmq worker/observer); NULL */
    char *verify_source;              /* where the implicit output consumes; NULL: the target */
    char *verify_match;       /* "envelope" (default), "header:N", "json:/P", "traceparent" */
    int64_t sweep_timeout_ns; /* final sweep of a durable source after drain; 0: none */
    char *outputs_json;       /* verify.outputs as given (compact JSON), or NULL */
    char **observe;           /* verify.observe: hops whose depth is watched */
    size_t nobserve;
    /* The outputs, after ev_plan_finish: verify.outputs, or one implicit output
     * from verify.source/match/groups/consumers; none for publish only. */
    ev_output *outputs;
    size_t noutputs;
    int outputs_explicit; /* outputs came from verify.outputs */

    int64_t warmup_ns;         /* default 0 */
    int64_t drift_interval_ns; /* drift.interval: the soak trend's point length, default 60 s */

    ev_threshold *thresholds;
    size_t nthresholds;

    struct ev_fault *faults; /* the fault schedule (ev_faults.h), in the order given */
    size_t nfaults;

    ev_kv *extra; /* pass-through broker settings ("kafka.*") in the order given */
    size_t nextra;

    /* "sweep": {"verify.consumers": [1, 2, 4, 8]} — run once per value of one
     * setting. Values are kept as --set text, each already checked against the
     * setting; sweep_key is NULL when the scenario has no sweep. */
    char *sweep_key;
    char **sweep_values;
    size_t nsweep;

    /* After ev_plan_finish: the publish streams, at least one (the implicit
     * one, stream 0 = this plan, when the scenario has no "streams"). Lanes
     * are numbered across streams in order. */
    ev_stream *streams;
    size_t nstreams;
    int streams_explicit;
};

/* Total scheduled publishing time in ns (warm-up excluded), 0 when unknown
 * (max-throughput by count). With streams: from the end of the warm-up to the
 * end of the last stream's schedule. */
int64_t ev_plan_publish_ns(const ev_plan *p);
/* Expected number of events (all lanes, warm-up excluded), from the schedule;
 * with streams, of every stream. */
double ev_plan_expected_events(const ev_plan *p);
/* Publisher lanes of every stream (plan->lanes without streams). */
uint32_t ev_plan_lanes(const ev_plan *p);
/* The stream lane `lane` (0-based, this instance's numbering) belongs to. */
const ev_stream *ev_plan_lane_stream(const ev_plan *p, uint32_t lane);
/* The stream named name, or NULL. */
const ev_stream *ev_plan_stream(const ev_plan *p, const char *name);
/* Where the recovery rule measures (ev_recovery.h): the index of the stage
 * after stage i when the planned rate drops there (the next stage of
 * non-zero duration has a lower target), else 0. Ramping plans without
 * streams only; the end of publishing is not a boundary. */
size_t ev_plan_drop_after(const ev_plan *p, size_t i);
/* Stage i's name as results and thresholds ({stage:…}) give it: its "name",
 * else "stage N/M" (1-based). */
void ev_plan_stage_label(const ev_plan *p, size_t i, char *buf, size_t size);

#endif
