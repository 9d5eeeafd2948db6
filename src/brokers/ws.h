/* ws — WebSocket sources, private to src/brokers/ws.c and verifiers/ws.c
 * (schemes ws, wss; results under broker.ws). docs/ws.md says what the user
 * sees.
 *
 * Source: ws(s)://[host][:port]/path?subprotocol=cloudevents.json
 *         &subscribe=TEXT&subscriber_header=…&ping=1s&storm=10s&…  (ws.c)
 *
 * Topology: every verify group is one subscriber: one WebSocket connection
 * (libwebsockets 4.1 client), offering the CloudEvents subprotocol
 * `cloudevents.json` unless told otherwise, sending a subscribe message
 * first when the server wants one. Each subscriber must see every event
 * (fan-out: verify.consumers > 1 is refused). Every message, text or binary
 * frame, is one structured CloudEvent (JSON).
 *
 * Threads: as for SSE (sse.h): up to 4 runs of subscribers through
 * open_groups, each thread with its own lws_context and event loop; fewer
 * than 8 subscribers get a thread each through open. The fleet (ev_fleet.h)
 * and the per-subscriber extras below are written by the serving thread
 * and read by report() after the threads are joined. */
#ifndef EV_BROKERS_WS_H
#define EV_BROKERS_WS_H

#include "broker.h"
#include "ev_fleet.h"

#include <stdint.h>

#define EV_WS_CODES 6 /* distinct close codes kept per subscriber */

/* What report() adds per subscriber, written by its serving thread. */
typedef struct ev_ws_subx {
    uint64_t text, binary;      /* messages by frame type */
    uint64_t pings, pongs;      /* pings sent, pongs with our payload back */
    char protocol[40];          /* the subprotocol the server chose ("" none) */
    uint16_t code[EV_WS_CODES]; /* close codes seen, 1006: closed without one */
    uint64_t code_n[EV_WS_CODES];
    uint64_t codes_other; /* closes beyond EV_WS_CODES distinct codes */
} ev_ws_subx;

typedef struct ev_ws_src {
    const ev_run_info *ri;
    const char *redacted;
    char *host; /* owned */
    int port;
    char *path;    /* "/path?query", owned */
    char *hosthdr; /* Host: header, owned */
    int tls, insecure;
    const char *cacert;
    char **hdr_name, **hdr_value; /* "Name:" and the value, owned, [nheaders] */
    size_t nheaders;
    const char *subscriber_header; /* NULL: none */
    char *subscriber_header_colon; /* "Name:", owned */
    const char *protocols;         /* offered subprotocols, NULL: none */
    char *subscribe;               /* the subscribe message, owned; NULL: none */
    const char *subscribe_ack;     /* NULL: a ping after the subscribe message confirms */
    int64_t ping_ns;
    int64_t connect_timeout_ns, reconnect_delay_ns, reconnect_timeout_ns;
    size_t max_message;
    uint32_t groups;
    ev_fleet *fleet;
    ev_ws_subx *x; /* [groups] */
    long nofile;
} ev_ws_src;

extern const ev_sub_ops ev_ws_sub_ops;

#endif
