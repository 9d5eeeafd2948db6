/* ev_conns — extra connections to a broker, for the `connections` fault
 * (docs/faults.md): N connections opened straight to host:port for a window,
 * on one thread of their own (epoll, non-blocking sockets), to find out how
 * many the broker accepts, refuses or closes while evload's own run goes on.
 *
 * A broker counts a connection against its limits only once the client is
 * logged in (RabbitMQ checks a vhost's or user's max-connections at
 * connection.open; Redis answers a client past maxclients with an error),
 * so each connection speaks just enough of the broker's protocol to be a
 * real client, written here with no client library:
 *   amqp   AMQP 0-9-1: protocol header, Start-Ok (PLAIN), Tune-Ok (no
 *          heartbeats), Open(vhost); accepted at Open-Ok, refused at a
 *          Connection.Close (530 connection limit, 403 access refused) or EOF.
 *   redis  [AUTH [user] pass,] PING: accepted at +PONG, refused at an error
 *          reply ("-ERR max number of clients reached") or EOF.
 *   tcp    accepted once connected.
 * Refused also covers ECONNREFUSED. Modes:
 *   idle       each of the N connections is opened and, once accepted, held
 *              open (silent) until the window ends; one refused or closed
 *              is tried again after `retry_ns` (0: never);
 *   handshake  N connections in a loop: connect, log in, log out, again.
 * At most `parallel` handshakes are under way at once (default
 * EV_CONNS_PARALLEL): a broker's accept backlog is small, so a flood of SYNs
 * would only measure the backlog, and a broker checks its limits against
 * the connections it has registered, which a burst of parallel logins can
 * overtake (RabbitMQ lets a few past max-connections then; parallel 1 opens
 * them one after the other and the limit holds exactly).
 *
 * Threads: ev_conns_start makes the thread; every other function is for the
 * thread that started it. Counters are atomics the worker alone writes. */
#ifndef EV_CONNS_H
#define EV_CONNS_H

#include "ev_err.h"

#include <jansson.h>
#include <stdint.h>

#define EV_CONNS_MAX 100000
#define EV_CONNS_PARALLEL 16
#define EV_CONNS_PARALLEL_MAX 1024

typedef enum { EV_CONNS_IDLE, EV_CONNS_HANDSHAKE } ev_conns_mode;
typedef enum { EV_CONNS_TCP, EV_CONNS_AMQP, EV_CONNS_REDIS } ev_conns_proto;

/* Plain data, copied by ev_conns_start. */
typedef struct ev_conns_cfg {
    char host[256];
    int port;
    ev_conns_proto proto;
    ev_conns_mode mode;
    uint32_t count;
    uint32_t parallel; /* handshakes under way at once (0: EV_CONNS_PARALLEL) */
    int64_t retry_ns;  /* idle: a refused or closed connection is tried again after (0: never) */
    char user[128], password[256]; /* amqp (default guest/guest), redis AUTH ("" none) */
    char vhost[256];               /* amqp */
    int64_t handshake_timeout_ns;  /* per connection, connect to accepted (0: 10 s) */
} ev_conns_cfg;

typedef struct ev_conns ev_conns;

/* "tcp", "amqp", "redis" / "idle", "handshake". */
const char *ev_conns_proto_name(ev_conns_proto p);
const char *ev_conns_mode_name(ev_conns_mode m);

/* Starts the worker thread (it resolves the host and opens the connections).
 * Caller owns *out (ev_conns_free). EV_EINTERNAL when the thread or memory
 * cannot be had. Raises the process's open-files soft limit toward its hard
 * limit when count needs it. */
int ev_conns_start(const ev_conns_cfg *cfg, ev_conns **out, ev_err *err);
/* Asks the worker to close everything and waits for it (well under 1 s). */
void ev_conns_stop(ev_conns *c);
/* The counters and what the broker said, as a new JSON object (NULL: OOM):
 *   {"protocol", "mode", "target", "count", "attempted", "accepted", "refused",
 *    "closed_by_peer", "errors", "open", "peak_open", "reasons": {TEXT: N, …}}
 * attempted = accepted + refused + errors + those still connecting. */
json_t *ev_conns_json(ev_conns *c);
void ev_conns_free(ev_conns *c); /* stops it first; NULL is a no-op */

#endif
