/* ev_metrics — the one list of metrics a threshold can judge, a report shows
 * and the tests check. Each list is an X-macro: a module that needs the names
 * (thresholds), the values (the report) or both expands it, so adding a
 * metric is one line here plus, for a new counter, the field it reads.
 *
 * Latencies (milliseconds in thresholds and reports; nanoseconds inside):
 *   X(NAME, SIDE, HELP)
 * Counters (events; `rate` divides by events attempted):
 *   X(NAME, SIDE, FIELD, HELP)   FIELD: the ev_results member it reads
 * Durations after an event of the run (seconds in thresholds and reports):
 *   X(NAME, SIDE, HELP)
 * SIDE says where it is measured: EV_SIDE_PUBLISH metrics mean something in
 * a publish-only run (verify.groups 0), EV_SIDE_DELIVER ones need a verifier. */
#ifndef EV_METRICS_H
#define EV_METRICS_H

#include <stddef.h>

enum { EV_SIDE_PUBLISH, EV_SIDE_DELIVER };

#define EV_LATENCY_METRICS(X)                                                                      \
    X(e2e, EV_SIDE_DELIVER, "receive time minus the actual send time")                             \
    X(e2e_sched, EV_SIDE_DELIVER,                                                                  \
      "receive time minus the intended send time (coordinated omission corrected)")                \
    X(ack, EV_SIDE_PUBLISH, "broker acknowledgement minus send (monotonic)")                       \
    X(sched_lag, EV_SIDE_PUBLISH, "actual send minus intended send")                               \
    X(queue_wait, EV_SIDE_DELIVER, "time in the queue before a worker took it (BullMQ)")           \
    X(processing, EV_SIDE_DELIVER, "time a worker spent on it (BullMQ)")                           \
    X(connect, EV_SIDE_DELIVER,                                                                    \
      "a subscriber's first connection until subscribed (SSE, WebSocket)")                         \
    X(reconnect, EV_SIDE_DELIVER,                                                                  \
      "a subscriber's later connection attempt until subscribed again (SSE, WebSocket)")           \
    X(first_event, EV_SIDE_DELIVER,                                                                \
      "a subscriber connection's attempt (or the start of publishing) to its first event")         \
    X(ping_rtt, EV_SIDE_DELIVER, "WebSocket ping until its pong")

#define EV_COUNTER_METRICS(X)                                                                      \
    X(lost, EV_SIDE_DELIVER, total.lost, "acknowledged, never seen, and nothing says it may come") \
    X(pending, EV_SIDE_DELIVER, total.pending,                                                     \
      "not seen, but the system still held events at the end")                                     \
    X(late, EV_SIDE_DELIVER, total.late, "seen only by the final sweep, after the drain deadline") \
    X(unexpected, EV_SIDE_DELIVER, total.unexpected,                                               \
      "arrived where the output expects none of them")                                             \
    X(duplicated, EV_SIDE_DELIVER, total.duplicated, "extra copies seen")                          \
    X(redelivered, EV_SIDE_DELIVER, total.redelivered, "extra copies the broker flagged")          \
    X(unconfirmed, EV_SIDE_DELIVER, total.unconfirmed, "publish failed and never seen")            \
    X(recovered, EV_SIDE_DELIVER, total.recovered, "publish failed or unknown, yet seen")          \
    X(reordered, EV_SIDE_DELIVER, total.reordered, "seen after a later event of its lane")         \
    X(corrupted, EV_SIDE_DELIVER, total.corrupted, "copies with a bad envelope or checksum")       \
    X(foreign, EV_SIDE_DELIVER, total.foreign, "messages that are not this run's events")          \
    X(delivered, EV_SIDE_DELIVER, total.delivered, "acknowledged and seen")                        \
    X(received, EV_SIDE_DELIVER, total.received, "every message the verifiers took")               \
    X(publish_errors, EV_SIDE_PUBLISH, failed, "publishes nacked, failed or never confirmed")

#define EV_SECONDS_METRICS(X)                                                                      \
    X(recovery, EV_SIDE_DELIVER,                                                                   \
      "seconds after a stage boundary where the rate drops until e2e p99 and depth are back "      \
      "(ev_recovery.h)")

typedef enum {
#define EV_X_(name, ...) EV_METRIC_##name,
    EV_LATENCY_METRICS(EV_X_) EV_COUNTER_METRICS(EV_X_) EV_SECONDS_METRICS(EV_X_)
#undef EV_X_
        EV_METRIC_COUNT
} ev_metric_id;

typedef struct ev_metric_def {
    const char *name;
    int latency; /* 1: a latency (ms), 0: a counter or seconds */
    int seconds; /* 1: a duration in seconds (EV_SECONDS_METRICS), not a counter */
    int side;    /* EV_SIDE_* */
    const char *help;
} ev_metric_def;

/* Indexed by ev_metric_id. */
extern const ev_metric_def ev_metrics[EV_METRIC_COUNT];

/* The id of the metric with this exact name, or -1. */
int ev_metric_find(const char *name);
/* Writes "a, b, c" of every latency (latency = 1), counter (0) or seconds
 * metric (2) name into buf, for error messages. */
void ev_metric_names(int latency, char *buf, size_t size);

#endif
