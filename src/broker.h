/* broker.h — the interface every broker module implements (DESIGN.md §8).
 *
 * A broker module exports one constant ev_broker table, as wrk's `struct sock`
 * or curl's `Curl_protocol` do. The core never includes a broker client
 * header; it only calls through this table:
 *
 *   setup()     once per run: parse the target's parameters, declare topology,
 *               create any shared in-process state (the mock broker's queues).
 *   pub->open   once per publisher lane, on the lane's own thread; its own
 *               connection. send() hands over one encoded event; outcomes
 *               (acked or failed) come back through poll(), in any order.
 *   sub->open   once per consumer (group g, consumer c), on its own thread and
 *               connection; returns only once subscribed (the ready barrier:
 *               Pub/Sub loses whatever is published before that).
 *               recv() returns deliveries; ack() acknowledges processed ones.
 *   report()    after the run: broker-specific counters and ground truth into
 *               results.broker.<name>.
 *   teardown()  last.
 * Thread safety: setup/report/teardown/depth run on the main thread; each
 * ev_pub / ev_sub is used by exactly one thread. `state` is shared, so what a
 * module keeps there must be safe for its own concurrent use. */
#ifndef EV_BROKER_H
#define EV_BROKER_H

#include "ev_codec.h"
#include "ev_err.h"
#include "ev_scenario.h"
#include "ev_url.h"

#include <jansson.h>
#include <stdint.h>

/* What every module call may read about the run. Owned by the engine; valid
 * from setup to teardown. */
typedef struct ev_run_info {
    const ev_plan *plan;
    const ev_url *url;
    const char *run_id;
    uint32_t instance, instances;
    uint32_t lanes;           /* publisher lanes of this instance */
    const volatile int *stop; /* non-zero when the run is being torn down */
} ev_run_info;

/* One event to publish. Exactly one of body (structured) or bin (binary) is set.
 * Borrowed for the duration of send(): a module copies what it keeps. */
typedef struct ev_msg {
    uint64_t seq;
    const char *body;
    size_t len;
    const ev_ce_binary *bin;
} ev_msg;

/* Outcome callback: ok = 1 acknowledged by the broker, 0 nacked/failed. */
typedef void (*ev_outcome_fn)(void *ud, uint64_t seq, int ok);

typedef struct ev_pub ev_pub;
typedef struct ev_pub_ops {
    /* 0, or EV_ECONNECT/EV_EUSAGE/EV_EINTERNAL with the broker address (redacted). */
    int (*open)(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out, ev_err *err);
    /* Queues one event. 0 when handed over (its outcome arrives via poll), or
     * an EV_E* when the event could not even be handed over (counted failed). */
    int (*send)(ev_pub *p, const ev_msg *m, ev_err *err);
    /* Reports the outcomes that have arrived, waiting up to timeout_ns for the
     * first one (0: don't wait). Returns how many were reported, or -1 with err
     * when the connection failed (the engine then ends the lane). The engine
     * polls before every wait and at least every 16 sends, so a module may
     * hold what send() queued until the next poll (and must write it then). */
    int (*poll)(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err);
    /* Flushes and closes; outcomes not yet reported are unknown. NULL-safe. */
    void (*close)(ev_pub *p);
} ev_pub_ops;

/* One received message. Pointers are owned by the ev_sub and valid until its
 * next recv() or close(). */
typedef struct ev_delivery {
    int binary; /* 1: attrs/content_type/body; 0: body is a structured event */
    const char *body;
    size_t len;
    const ev_ce_attr *attrs; /* binary mode, prefix already stripped */
    size_t nattrs;
    const char *content_type; /* may be NULL */
    int redelivered;          /* the broker flagged it as a redelivery */
    int64_t recv_wall_ns;     /* when it came off the socket; 0: the engine stamps it */
    uint64_t tag;             /* module-private, for ack */
} ev_delivery;

typedef struct ev_sub ev_sub;
typedef struct ev_sub_ops {
    int (*open)(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer, ev_sub **out,
                ev_err *err);
    /* Waits up to timeout_ns; fills d[0..max) and returns the count (0 on
     * timeout), or -1 with err when the connection failed beyond repair. */
    int (*recv)(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err);
    /* Acknowledges deliveries after processing; NULL for brokers without acks. */
    int (*ack)(ev_sub *s, const ev_delivery *d, int n, ev_err *err);
    void (*close)(ev_sub *s);
} ev_sub_ops;

typedef struct ev_broker {
    const char *scheme; /* URL scheme, e.g. "mock" */
    const char *name;   /* key under results.broker */
    int (*setup)(const ev_run_info *ri, void **state, ev_err *err);
    /* 1 if one consumer of a group sees each lane's events in publish order
     * (reorders are then counted), else 0. */
    int (*ordered)(void *state, const ev_run_info *ri);
    /* Broker-side backlog summed over groups, or -1 when unknown. Called once a
     * second from the reporter; must be cheap. May be NULL. */
    int64_t (*depth)(void *state);
    void (*report)(void *state, json_t *out);
    /* Optional. Called once a second on the reporter thread: adds broker-side
     * backpressure figures for that second (e.g. "omem", "lag", "wait") to
     * `point`, which becomes part of that timeseries entry under "broker".
     * Numbers only; the engine keeps the maximum of each key and reports it
     * under backpressure.broker. Must be cheap and must not block for long. */
    void (*sample)(void *state, json_t *point);
    /* Optional: the name of group g for the results ("orders-q0"), written
     * into buf. NULL: the engine names groups "g0", "g1", … */
    void (*group_name)(void *state, uint32_t g, char *buf, size_t size);
    void (*teardown)(void *state);
    const ev_pub_ops *pub;
    const ev_sub_ops *sub;
} ev_broker;

/* The registry (ev_brokers.c): the module for a URL scheme, or NULL. */
const ev_broker *ev_broker_find(const char *scheme);
/* "mock, redis, …" for error messages. */
const char *ev_broker_schemes(void);

#endif
