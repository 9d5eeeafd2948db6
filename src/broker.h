/* broker.h — the one door between evload's core and its transports (brokers,
 * and the HTTP, SSE and WebSocket endpoints to come).
 *
 * A transport module exports one constant ev_broker table, as wrk's `struct
 * sock` or curl's `Curl_protocol` do, and is listed once in CMakeLists.txt
 * (EV_TRANSPORTS); the core never includes a client library header and never
 * names a transport. Everything the core needs to know about a transport is
 * in its table: the URL scheme(s), an example URL, the target parameters
 * (ev_param.h: checked by the core, so `check` and `run` agree), the settings
 * prefix it takes verbatim (`kafka.*`), its verify modes and its own
 * subcommands. docs/development.md shows what adding one takes.
 *
 * Lifecycle of one run (every call but the pub/sub ones on the main thread):
 *   configure() pure: no I/O, no threads. Checks the plan against what the
 *               transport can honour (modes, counts, parameter combinations)
 *               with one-line errors. `evload check` runs it; so does run.
 *   setup()     once: connect (fail fast: EV_ECONNECT with the redacted
 *               address), declare topology, create shared state.
 *   pub->open   once per publisher lane, on the lane's own thread; its own
 *               connection. send() hands over one encoded event; outcomes
 *               (acked or failed) come back through poll(), in any order.
 *   sub->open   once per consumer (group g, consumer c), on its own thread and
 *               connection; returns only once subscribed (the ready barrier:
 *               Pub/Sub loses whatever is published before that).
 *               recv() returns deliveries; ack() acknowledges processed ones.
 *   depth(), sample()  once a second from the reporter.
 *   report()    after the run: transport-specific counters and ground truth
 *               into results.broker.<name>.
 *   teardown()  last.
 * Thread safety: each ev_pub / ev_sub is used by exactly one thread. `state`
 * is shared, so what a module keeps there must be safe for its own concurrent
 * use. Flags other threads read are atomics. */
#ifndef EV_BROKER_H
#define EV_BROKER_H

#include "ev_codec.h"
#include "ev_err.h"
#include "ev_hist.h"
#include "ev_param.h"
#include "ev_scenario.h"
#include "ev_url.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

/* What a transport is asked to do in a run. */
enum {
    EV_ROLE_PUBLISH = 1u << 0, /* evload publishes into it */
    EV_ROLE_VERIFY = 1u << 1,  /* evload consumes and verifies from it */
    EV_ROLE_OBSERVE = 1u << 2  /* evload only watches its depth (verify.observe: a hop inside
                                * the user's pipeline); setup declares nothing, depth() says
                                * what the hop holds */
};

/* What every module call may read about the run. Owned by the engine (or by
 * `evload check`); valid from configure/setup to teardown. */
typedef struct ev_run_info {
    const ev_plan *plan;
    const ev_url *url;       /* the endpoint's URL (password only in url->password) */
    const ev_params *params; /* its target parameters, checked against the table */
    unsigned roles;          /* EV_ROLE_*: publish into it, verify from it, or both */
    uint32_t groups;         /* verify role: independent subscriber groups (0: none) */
    uint32_t consumers;      /* verify role: competing consumers per group */
    int pipeline;            /* 1: evload publishes here and verifies elsewhere (or the other
                              * way round): declare nothing the user's service owns unless
                              * a parameter asks for it */
    const char *run_id;
    uint32_t instance, instances;
    uint32_t lanes;         /* publisher lanes of this instance */
    const atomic_int *stop; /* non-zero when the run is being torn down */
} ev_run_info;

/* One event to publish. Exactly one of body (structured) or bin (binary) is set.
 * Borrowed for the duration of send(): a module copies what it keeps. */
typedef struct ev_msg {
    uint64_t seq;
    const char *body;
    size_t len;
    const ev_ce_binary *bin;
    /* W3C trace context to send as a plain `traceparent` protocol header
     * where the transport has headers (services propagate it), or NULL. */
    const char *traceparent;
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
    /* Optional (NULL: never holds): the monotonic time before which the lane
     * must not send, because the target asked to be left alone (HTTP 429 or
     * 503 with Retry-After pauses the whole target), or 0. The engine asks
     * before each send and waits, collecting outcomes, while intended send
     * times keep accruing, so the pause shows in sched_lag. Lane thread. */
    int64_t (*hold_until)(ev_pub *p);
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
    /* Every protocol header with a text value, raw names (for verify.match
     * header:NAME and traceparent); NULL for transports without headers. */
    const ev_ce_attr *headers;
    size_t nheaders;
    int redelivered;      /* the broker flagged it as a redelivery */
    int64_t recv_wall_ns; /* when it came off the socket; 0: the engine stamps it */
    uint32_t group;       /* open_groups subs: the group it arrived for, from g0 */
    uint64_t tag;         /* module-private, for ack */
} ev_delivery;

typedef struct ev_sub ev_sub;
typedef struct ev_sub_ops {
    int (*open)(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer, ev_sub **out,
                ev_err *err);
    /* Optional, for event-loop transports (SSE, WebSocket) where a group is one
     * subscriber connection and thousands must be routine: one sub serving
     * groups [g0, g0 + n) from one thread, each group its own connection.
     * When present and the output has one consumer per group, the engine opens
     * a few of these instead of a thread per group, and recv() sets each
     * delivery's `group` (0..n-1). Returns only once every group is subscribed. */
    int (*open_groups)(void *state, const ev_run_info *ri, uint32_t g0, uint32_t n, ev_sub **out,
                       ev_err *err);
    /* Waits up to timeout_ns; fills d[0..max) and returns the count (0 on
     * timeout), or -1 with err when the connection failed beyond repair. */
    int (*recv)(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err);
    /* Acknowledges deliveries after processing; NULL for brokers without acks. */
    int (*ack)(ev_sub *s, const ev_delivery *d, int n, ev_err *err);
    void (*close)(ev_sub *s);
} ev_sub_ops;

/* A subcommand a transport adds to evload (`evload kafka-mock`). main() gets
 * argv[0] = the subcommand's name; returns the process exit code. */
typedef struct ev_subcommand {
    const char *name;
    const char *summary; /* one line for `evload --help` */
    int (*main)(int argc, char **argv);
} ev_subcommand;

typedef struct ev_broker {
    /* ---- what the core and the help know about the transport ---- */
    const char *name;           /* key under results.broker; also its file name */
    const char *const *schemes; /* URL schemes, NULL-terminated ("redis") */
    const char *summary;        /* one line for --help ("Redis Pub/Sub") */
    const char *example;        /* an example URL for --help and errors */
    const char *doc;            /* its page under docs/ ("docs/redis.md"), or NULL */
    unsigned roles;             /* EV_ROLE_* it can take */
    int durable;             /* as a source it keeps what is not yet consumed (a queue, a log): an
                              * unknown depth then means "cannot tell", and a final sweep can read
                              * what remains */
    const ev_param *params;  /* target parameters; NULL: none */
    const char *params_hint; /* appended to unknown-parameter errors, or NULL */
    const char *settings_prefix;     /* "kafka": scenario object / --set kafka.X taken verbatim */
    const char *settings_help;       /* help for PREFIX.PROPERTY in `run --help` */
    const char *const *verify_modes; /* verify.mode values, first the default; NULL: none */
    /* event.mode when the plan does not set it, given the target's
     * parameters ("binary"); NULL (or returning NULL): evload's own default. */
    const char *(*default_mode)(const ev_params *params);
    const ev_subcommand *commands; /* NULL-terminated by name == NULL, or NULL */

    /* ---- the run ---- */
    /* Pure checks of the plan and parameters (see the top). May be NULL. */
    int (*configure)(const ev_run_info *ri, ev_err *err);
    int (*setup)(const ev_run_info *ri, void **state, ev_err *err);
    /* 1 if one consumer of a group sees each lane's events in publish order
     * (reorders are then counted), else 0. */
    int (*ordered)(void *state, const ev_run_info *ri);
    /* Broker-side backlog summed over groups, or -1 when unknown. Called once a
     * second from the reporter; must be cheap. May be NULL. */
    int64_t (*depth)(void *state);
    /* Optional: group g's own backlog (-1: unknown), for pending per group.
     * NULL: depth() stands for every group. */
    int64_t (*group_depth)(void *state, uint32_t g);
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
    /* Optional: a latency the transport measures itself (queue_wait,
     * processing: an ev_metric_id), as a new histogram the caller owns, or
     * NULL when it has none. Called after the drain, before report(). */
    ev_hist *(*latency)(void *state, int metric);
    void (*teardown)(void *state);
    const ev_pub_ops *pub; /* NULL: cannot publish */
    const ev_sub_ops *sub; /* NULL: cannot verify */
} ev_broker;

/* ---- the registry (ev_brokers.c): every transport this build has ---- */

/* The transport for a URL scheme, or NULL. */
const ev_broker *ev_broker_find(const char *scheme);
/* The i-th transport (0-based), or NULL past the last. */
const ev_broker *ev_broker_at(size_t i);
/* "mock, redis, …" for error messages. */
const char *ev_broker_schemes(void);
/* The subcommand called name, or NULL. */
const ev_subcommand *ev_broker_command(const char *name);
/* Every transport's settings prefix, NULL-terminated (static). */
const char *const *ev_broker_prefixes(void);

/* ---- endpoints: a URL resolved to its transport and checked parameters ---- */

typedef struct ev_endpoint {
    ev_url *url;
    const ev_broker *br;
    ev_params *params;
} ev_endpoint;

/* Parses text, finds the transport for its scheme, checks that it can take
 * `roles` and checks its parameters against the transport's table. Caller
 * owns *out (ev_endpoint_free). EV_EUSAGE with one line naming what is wrong
 * (URL redacted). */
int ev_endpoint_open(const char *text, unsigned roles, ev_endpoint **out, ev_err *err);
void ev_endpoint_free(ev_endpoint *ep); /* NULL is a no-op */
/* Runs everything `evload check` can know about plan on endpoint ep without
 * connecting: verify.mode against the transport's modes, then its
 * configure(). 0 or EV_EUSAGE with one line. */
int ev_endpoint_configure(const ev_endpoint *ep, const ev_run_info *ri, ev_err *err);

/* Prints every transport: scheme, summary, example and its parameter table
 * (for `evload run --help`), or the same in Markdown (docs/targets.md). */
void ev_broker_print_targets(FILE *f, int markdown);

#endif
