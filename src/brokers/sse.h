/* sse — Server-Sent Events sources, private to src/brokers/sse.c and
 * verifiers/sse.c (schemes sse+http, sse+https; results under broker.sse).
 * docs/sse.md says what the user sees.
 *
 * Source: sse+http(s)://[user:pass@]host[:port]/path?header=Name:%20value
 *         &query=…&subscriber_header=…&storm=10s&…   (the table in sse.c)
 *
 * Topology: every verify group is one subscriber: one HTTP request
 * (GET path, Accept: text/event-stream) whose response streams events, as a
 * browser's EventSource does. Each subscriber must see every event (fan-out:
 * verify.consumers > 1 is refused). Deliveries are the `data:` of each SSE
 * event, decoded as a structured CloudEvent (multi-line data joined with
 * \n); the SSE `id:` and `event:` fields travel as the pseudo-headers `id`
 * and `event` for verify.match header:NAME.
 *
 * Threads: the engine serves up to 4 runs of subscribers through
 * open_groups, each from one thread driving a libcurl multi handle over its
 * own epoll (curl_multi_socket_action); fewer than 8 subscribers get a
 * thread each through open. Everything a thread touches is its own except
 * the fleet (ev_fleet.h: per-subscriber records written by their thread,
 * storms behind a mutex) and the per-subscriber extras below, written by the
 * serving thread and read by report() after the threads are joined. */
#ifndef EV_BROKERS_SSE_H
#define EV_BROKERS_SSE_H

#include "broker.h"
#include "ev_fleet.h"

#include <stdint.h>

/* What report() adds per subscriber, written by its serving thread. */
typedef struct ev_sse_subx {
    char last_id[64];  /* the stream's last event ID (truncated for the report) */
    int64_t retry_ms;  /* the last retry: the server sent, -1 none */
    uint64_t comments; /* comment lines (keep-alives) */
    uint64_t bytes;    /* response body bytes */
    long last_status;  /* HTTP status of the last response, 0 none */
} ev_sse_subx;

typedef struct ev_sse_src {
    const ev_run_info *ri;
    const char *redacted;
    char *url;               /* the request URL (query included), owned */
    const char *user, *pass; /* borrowed from the URL: Basic auth; NULL none */
    char **headers;          /* "Name: value", owned, [nheaders] */
    size_t nheaders;
    const char *subscriber_header; /* NULL: none */
    int64_t connect_timeout_ns, reconnect_delay_ns, reconnect_timeout_ns;
    int honour_retry, last_event_id, insecure, http2;
    const char *cacert;
    size_t max_event;
    uint32_t groups;
    ev_fleet *fleet;
    ev_sse_subx *x; /* [groups] */
    long nofile;    /* RLIMIT_NOFILE soft limit after setup */
} ev_sse_src;

extern const ev_sub_ops ev_sse_sub_ops;

#endif
