/* kafka — private interface between src/brokers/kafka.c (target, topology,
 * embedded mock cluster, results), publishers/kafka.c and verifiers/kafka.c.
 *
 * Shared state (ev_kafka) is written by setup on the main thread and then only
 * read, except the counters and per-(group, partition) cells below, which are
 * C11 atomics: a partition is consumed by one member of a group at a time, so
 * the cells see no contention in the steady state (no shared hot data). */
#ifndef EV_BROKERS_KAFKA_H
#define EV_BROKERS_KAFKA_H

#include "broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum { EV_KAFKA_COMMIT_BATCH, EV_KAFKA_COMMIT_INTERVAL, EV_KAFKA_COMMIT_NONE };
enum { EV_KAFKA_LEAVE_CLOSE, EV_KAFKA_LEAVE_CRASH };

/* Per-group state shared by the group's members. */
typedef struct ev_kafka_group {
    char id[128];
    /* Highest offset seen + 1 per partition by any member (−1: none yet).
     * Below it: a replay (redelivery); above it: offsets skipped (expired). */
    _Atomic int64_t *next;
    /* Position per partition: the next offset its current owner hands to the
     * engine (set at assignment to the committed/start offset). Lag is
     * hi − pos: a partition whose owner vanished keeps its position while
     * the log grows, and a replay moves the position back. */
    _Atomic int64_t *pos;
    void *next_mem, *pos_mem;    /* the allocations behind next and pos */
    atomic_int joining;          /* members that have a client and are about to subscribe */
    atomic_int assigned_parts;   /* partitions currently assigned over members */
    atomic_int assigned_members; /* members holding a (possibly empty) assignment */
} ev_kafka_group;

typedef struct ev_kafka {
    const ev_run_info *ri;
    char *bootstrap; /* "host:port,…" (owned) */
    char *topic;     /* owned */
    int embedded;
    int brokers; /* embedded: broker count */
    int32_t partitions;
    int64_t *start;   /* [partitions] high watermark at setup: where groups start */
    rd_kafka_t *meta; /* a producer handle for metadata/watermarks (main thread) */
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;

    int commit;           /* EV_KAFKA_COMMIT_* */
    int64_t leave_member; /* member of group 0 that leaves, −1 none */
    int64_t leave_at_ns;
    int leave_mode;
    int64_t down_broker; /* embedded fault: broker id, −1 none */
    int64_t down_at_ns, down_for_ns;
    pthread_t fault_th, lag_th;
    int fault_started, lag_started;
    _Atomic int64_t *hi; /* [partitions] highest high watermark known */
    void *hi_mem;
    /* Low watermarks as lag_main last read them, and its completed rounds
     * (every partition answered): the report takes the log's ground truth
     * from them instead of querying itself, since a ListOffsets query can
     * outlive its timeout when the cluster is gone (librdkafka #4460). */
    _Atomic int64_t *lo;
    void *lo_mem;
    atomic_uint_fast64_t lag_rounds;
    _Atomic int64_t lag_round_mono; /* when the last complete round ended */
    atomic_int lag_kick;            /* set: lag_main skips its pause */
    atomic_int lag_alive;           /* cleared by lag_main as it returns */
    atomic_int fault_stop;
    _Atomic int64_t down_mono, up_mono; /* when the fault happened (0: not) */

    uint32_t ngroups;
    ev_kafka_group *g;

    _Atomic int64_t first_send_mono; /* 0 until the first publish */
    /* When the last successful delivery report reached any lane, and how
     * many succeeded: folded in by each producer at close (no hot sharing).
     * first send -> last ack is the produce time a producer CLI's wall time
     * measures. */
    _Atomic int64_t last_ack_mono;
    atomic_uint_fast64_t acked;
    _Atomic int64_t t_setup_mono;
    /* Counters, summed over lanes/members. */
    atomic_uint_fast64_t blocked_ns, queue_full, dr_failed, expired, replays, rebalances,
        commit_errors, client_errors, members_left;
    atomic_uint_fast64_t errbuf_set;
    char last_error[256]; /* guarded by err_mu */
    pthread_mutex_t err_mu;
} ev_kafka;

/* A new configuration for a client of the run: bootstrap.servers, quiet
 * logging, the defaults for its role (producer or consumer), then every
 * kafka.<property> of the plan verbatim (they win). Caller owns the result.
 * EV_EUSAGE naming the property when librdkafka rejects one. */
int ev_kafka_conf(const ev_kafka *k, int consumer, rd_kafka_conf_t **out, ev_err *err);
/* Records a client error (error_cb) for the results; thread-safe. */
void ev_kafka_note_error(ev_kafka *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Atomically raises *cell to at least v; returns the previous value. */
int64_t ev_kafka_atomic_max(_Atomic int64_t *cell, int64_t v);

extern const ev_pub_ops ev_kafka_pub_ops;
extern const ev_sub_ops ev_kafka_sub_ops;

#endif
