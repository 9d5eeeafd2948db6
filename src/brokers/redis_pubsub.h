/* redis_pubsub — Redis Pub/Sub, private to src/brokers/redis_pubsub.c,
 * publishers/redis_pubsub.c and verifiers/redis_pubsub.c (scheme "redis",
 * results under broker.redis). See docs/redis.md for what the numbers mean.
 *
 * Target: redis://[user:pass@]host[:port][/db]?channel=NAME[&pattern=GLOB]
 *         [&connect_timeout=2s][&reconnect_delay=0s][&reconnect_timeout=10s][&cycle=D]
 *
 * Topology: every publisher lane has its own connection and PUBLISHes to
 * `channel`, pipelined: the engine bounds the lane's window (max_in_flight /
 * lanes) and the replies come back in order, so the oldest in-flight sequence
 * owns the next reply. Every group is one subscriber connection (SUBSCRIBE
 * channel, or PSUBSCRIBE pattern): Redis hands each message to every
 * subscriber, so groups are independent and consumers inside a group would
 * compete for nothing — setup() rejects verify.consumers > 1.
 *
 * Ground truth: PUBLISH replies with the number of subscribers the message was
 * put in front of (in their output buffers). Redis is single-threaded, so for
 * every event Σ(groups − reply) counts exactly the subscribers that were not
 * subscribed at that instant (publish_shortfall). A subscriber that is cut off
 * with messages still in its output buffer (CLIENT KILL, the pubsub
 * client-output-buffer-limit) loses those too, and they are not in the
 * shortfall: then lost ≥ shortfall; with empty buffers lost == shortfall.
 *
 * Threads: each ev_pub / ev_sub has its own hiredis context (contexts are not
 * thread-safe). The shared ev_redis holds configuration (read-only after
 * setup), per-group status behind `mu` (written by the group's thread, read by
 * the reporter's sample()), one padded atomic window figure per lane, and the
 * publishers' totals, added once when a lane closes. The admin connection is
 * used by the reporter thread only (sample()). */
#ifndef EV_BROKERS_REDIS_PUBSUB_H
#define EV_BROKERS_REDIS_PUBSUB_H

#include "broker.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Why a subscriber lost its connection. */
typedef enum {
    EV_REDIS_CAUSE_KILLED,   /* the server closed it (CLIENT KILL, timeout, shutdown) */
    EV_REDIS_CAUSE_OBUF,     /* the server closed it while the subscriber was behind: an
                              * output buffer sampled at ≥ half the pubsub
                              * client-output-buffer-limit, or data streaming in until the
                              * close with the last event ≥ 50 ms old (inferred: Redis
                              * tells the client nothing) */
    EV_REDIS_CAUSE_NETWORK,  /* a socket error (reset, timeout, unreachable) */
    EV_REDIS_CAUSE_PROTOCOL, /* an unparseable reply */
    EV_REDIS_CAUSE_CYCLED,   /* evload left on purpose (cycle=): UNSUBSCRIBE, drained, closed */
    EV_REDIS_NCAUSES
} ev_redis_cause;

extern const char *const ev_redis_cause_names[EV_REDIS_NCAUSES];

typedef struct ev_redis_conf {
    char *host; /* owned */
    int port;
    const char *user, *pass; /* borrowed from the URL; NULL if absent */
    long db;                 /* -1: none given */
    const char *channel;     /* borrowed from the URL, or "evload" */
    const char *pattern;     /* NULL: SUBSCRIBE channel */
    int64_t connect_timeout_ns, reconnect_delay_ns, reconnect_timeout_ns;
    int64_t cycle_ns;     /* 0, or every subscriber leaves and rejoins this often (staggered) */
    const char *redacted; /* the target for messages */
    const char *run_id;
} ev_redis_conf;

/* One subscriber's status. Guarded by ev_redis.mu. */
typedef struct ev_redis_group {
    long long client_id; /* CLIENT ID of the current connection, 0 while down */
    int up;
    uint64_t disconnects, reconnects, by_cause[EV_REDIS_NCAUSES];
    int64_t down_since, down_ns; /* monotonic */
    int64_t omem, omem_max;      /* last and highest sampled output buffer (bytes) */
    int64_t omem_conn_max;       /* highest sampled on the current connection */
    char last_error[128];
} ev_redis_group;

/* Per-lane window occupancy for sample(); one cache line each. */
typedef struct ev_redis_slot {
    _Atomic int64_t in_flight;
    char pad[64 - sizeof(int64_t)];
} ev_redis_slot;

/* A publisher lane's totals, summed into ev_redis at close. */
typedef struct ev_redis_pubtruth {
    uint64_t replies, shortfall, excess, zero, errors, unanswered;
    uint64_t disconnects, reconnects;
    uint64_t bytes;              /* message bytes handed to PUBLISH */
#define EV_REDIS_RECV_BUCKETS 17 /* replies 0..15, and 16 or more */
    uint64_t receivers[EV_REDIS_RECV_BUCKETS];
} ev_redis_pubtruth;

typedef struct ev_redis {
    ev_redis_conf conf;
    uint32_t groups, lanes;
    int64_t window; /* per lane */

    pthread_mutex_t mu;
    ev_redis_group *g;      /* [groups] */
    uint32_t opened;        /* subscribers that finished open() */
    long long numsub_ready; /* PUBSUB NUMSUB (or NUMPAT) when the last one opened; -1 unknown */
    ev_redis_pubtruth pt;
    char pub_last_error[128];

    ev_redis_slot *slots; /* [lanes] */

    /* Reporter thread only. */
    redisContext *admin;
    int64_t admin_retry_at;
    long long obuf_hard, obuf_soft; /* pubsub client-output-buffer-limit, bytes; 0 = none */
} ev_redis;

/* Connects to the target, authenticates, selects the db and names the
 * connection "evload-<run>-<role>". The context is blocking with the connect
 * timeout as its read/write timeout (fatal to it on expiry: callers use it only
 * for setup commands, then switch to ev_redis_nonblock). On failure *out is
 * NULL and err says EV_ECONNECT with the redacted address. Caller owns *out
 * (redisFree). */
int ev_redis_connect(const ev_redis *r, const char *role, redisContext **out, ev_err *err);
/* Runs one command (argv form) on a blocking context. Returns the reply
 * (caller frees) or NULL with err set; an error reply is returned as NULL too. */
redisReply *ev_redis_cmd(redisContext *c, const ev_redis *r, ev_err *err, int argc,
                         const char **argv);
/* Makes the context's socket non-blocking for the caller's own poll() loop
 * (hiredis 0.14 would kill the context on a read timeout). 0 or -1. */
int ev_redis_nonblock(redisContext *c);
/* A connection's input: bytes read from the socket and not yet fed to the
 * hiredis reader. The reader is fed in small chunks because hiredis 0.14
 * moves its unparsed bytes down after every reply once 1 KiB is consumed:
 * feeding it 64 KiB at once costs a 64 KiB memmove per reply. */
typedef struct ev_redis_in {
    char buf[65536];
    size_t pos, len;
} ev_redis_in;

/* The next reply: 1 (*reply set, caller frees), 0 none without reading the
 * socket, -3 protocol error. */
int ev_redis_get(redisContext *c, ev_redis_in *in, void **reply);
/* Reads what the (non-blocking) socket has into `in`, which ev_redis_get must
 * have emptied. 1 bytes read, 0 nothing yet (EAGAIN), -1 EOF (the server
 * closed the connection), -2 socket error (errno kept). */
int ev_redis_fill(redisContext *c, ev_redis_in *in);
/* poll()s fd for events for up to timeout_ns. >0 ready, 0 timeout, -1 error. */
int ev_redis_wait(int fd, short events, int64_t timeout_ns);

extern const ev_pub_ops ev_redis_pub_ops;
extern const ev_sub_ops ev_redis_sub_ops;

#endif
