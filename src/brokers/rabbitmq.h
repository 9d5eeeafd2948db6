/* rabbitmq — evload's RabbitMQ (AMQP 0-9-1) module over rabbitmq-c 0.11,
 * private to src/brokers/rabbitmq.c, publishers/rabbitmq.c and
 * verifiers/rabbitmq.c. docs/rabbitmq.md is the user-facing description.
 *
 * Design notes.
 * - Topology: one exchange (declared durable/typed from the target's
 *   parameters) and verify.groups queues bound to it: group g's queue is
 *   `queue` when there is one group, else `queue-g<g>`. With several groups the
 *   exchange defaults to fanout, so every queue sees every event (independent
 *   groups); verify.consumers consumers compete on each queue.
 * - Connections: one per publisher lane and one per consumer (rabbitmq-c
 *   connections must not be shared between threads), plus one "management"
 *   connection used only from the main/reporter thread for depth() (passive
 *   queue.declare: messages ready) and teardown.
 * - Every connection attempt is bounded (connect_timeout for TCP, handshake
 *   and RPCs); an unreachable broker at setup is EV_ECONNECT, never a hang.
 * - Connection loss during a run is repaired: publishers and consumers
 *   reconnect (attempts spaced out, each bounded) and give up only after
 *   reconnect_timeout without a connection.
 * - Counters that the lanes and consumers keep privately are added into the
 *   shared state under its mutex when they close; the few figures the
 *   reporter needs live (unacked deliveries, lanes blocked or down) are
 *   atomics in per-thread slots. */
#ifndef EV_BROKERS_RABBITMQ_H
#define EV_BROKERS_RABBITMQ_H

#include "broker.h"

#include <amqp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define EV_RMQ_NAME_MAX 256
#define EV_RMQ_CHANNEL 1
/* Header on a copy the publisher republished after a reconnect; the verifier
 * reports such a delivery as redelivered (a retry), like AMQP's flag. */
#define EV_RMQ_REPUBLISHED_HEADER "evload-republished"

typedef struct ev_rmq_cfg {
    char host[EV_RMQ_NAME_MAX];
    int port;
    char vhost[EV_RMQ_NAME_MAX];
    char user[EV_RMQ_NAME_MAX];
    char pass[EV_RMQ_NAME_MAX];
    char exchange[EV_RMQ_NAME_MAX];
    char exchange_type[32];
    char routing_key[EV_RMQ_NAME_MAX];
    char queue[EV_RMQ_NAME_MAX - 16]; /* base name; room for "-g<g>" */
    int durable, quorum, persistent, mandatory, declare, cleanup;
    uint32_t ack_every;
    int heartbeat_s;
    int64_t confirm_timeout_ns, connect_timeout_ns, reconnect_timeout_ns;
    const char *redacted; /* the target URL, password hidden */
} ev_rmq_cfg;

/* What the lanes add up when they close. */
typedef struct ev_rmq_pub_stats {
    uint64_t published, confirmed, nacked, unroutable, confirm_timeouts, republished, reconnects,
        blocked_count, not_writable;
    int64_t blocked_ns, down_ns;
} ev_rmq_pub_stats;

/* What the consumers add up when they close. */
typedef struct ev_rmq_sub_stats {
    uint64_t deliveries, redelivered, retry_marked, acks_sent, reconnects;
    int64_t down_ns;
} ev_rmq_sub_stats;

/* A per-consumer live figure, on its own cache line. */
typedef struct ev_rmq_live {
    _Alignas(64) atomic_llong unacked; /* delivered to this consumer, not yet acked */
} ev_rmq_live;

typedef struct ev_rmq {
    ev_rmq_cfg c;
    uint32_t groups, consumers, lanes;
    int64_t work_max_ns;

    ev_rmq_live *live; /* [groups * consumers] */
    atomic_int lanes_blocked, lanes_down, consumers_down;

    /* The management connection and its cache: main thread only, but guarded
     * anyway since depth/sample/report are separate entry points. */
    pthread_mutex_t mgmt_mu;
    amqp_connection_state_t mgmt;
    int64_t mgmt_retry_at;
    int64_t depth_at;    /* monotonic time of the cached figures, 0: none */
    int64_t *ready;      /* [groups] messages ready, −1 unknown */
    int64_t *consumer_n; /* [groups] consumers the broker counts */
    int64_t depth_cached;

    pthread_mutex_t mu; /* guards the totals below */
    ev_rmq_pub_stats pub;
    ev_rmq_sub_stats sub;
    int exchange_existed, queues_existed;
} ev_rmq;

/* Opens a connection and channel EV_RMQ_CHANNEL within timeout_ns, with
 * heartbeats and the connection.blocked capability. On success *out is a new
 * connection the caller owns (ev_rmq_close). Otherwise EV_ECONNECT (or
 * EV_EINTERNAL) with a message naming the redacted target. */
int ev_rmq_connect(const ev_rmq_cfg *c, int64_t timeout_ns, amqp_connection_state_t *out,
                   ev_err *err);
/* Closes politely when `polite` (bounded by the RPC timeout), then frees.
 * NULL is a no-op. */
void ev_rmq_close(amqp_connection_state_t conn, int polite);
/* Describes a failed RPC reply in buf ("server: 404 NOT_FOUND - no queue 'x'"). */
const char *ev_rmq_reply_str(amqp_rpc_reply_t r, char *buf, size_t size);
/* Group g's queue name into buf. */
void ev_rmq_queue_name(const ev_rmq *m, uint32_t g, char *buf, size_t size);
/* Sets a timeval from nanoseconds. */
struct timeval ev_rmq_tv(int64_t ns);

/* Adds a lane's or a consumer's private counters into the shared totals. */
void ev_rmq_add_pub(ev_rmq *m, const ev_rmq_pub_stats *s);
void ev_rmq_add_sub(ev_rmq *m, const ev_rmq_sub_stats *s);

extern const ev_pub_ops ev_rmq_pub_ops;
extern const ev_sub_ops ev_rmq_sub_ops;

#endif
