/* ev_proxy — evload's own TCP fault proxy (docs/faults.md).
 *
 * One proxy listens on one address and forwards every connection it accepts
 * to one upstream address, through "toxics" that can be switched on and off at
 * any time from any thread: latency, bandwidth, timeout (blackhole), reset,
 * slicer and limit_data, each on one direction of the stream:
 *   upstream   = client → server (what the client writes),
 *   downstream = server → client (what the server writes back).
 *
 * Threads: one event loop thread per proxy (epoll, edge-triggered, one
 * timerfd for every delay; no thread per connection, no blocking sleeps).
 * Every other function may be called from any thread: the toxic table is
 * behind a mutex the loop reads only when its generation counter changed,
 * and the counters are C11 atomics the loop alone writes.
 *
 * Typical use (the run engine's fault schedule, or `evload proxy`):
 *   ev_proxy *px;
 *   ev_proxy_new("127.0.0.1:0", "127.0.0.1:6379", &px, &err);   bind, resolve
 *   ev_proxy_start(px, &err);                                    the loop thread
 *   ... point clients at ev_proxy_listen_addr(px) ...
 *   ev_proxy_apply(px, "down:latency=200ms..800ms", &err);       switch on
 *   ev_proxy_remove(px, EV_PROXY_DOWN, EV_PROXY_LATENCY);        switch off
 *   json_t *j = ev_proxy_json(px);                               counters
 *   ev_proxy_stop(px); ev_proxy_free(px);
 *
 * Toxic grammar (one spec; the CLI's --toxic, its `add` command and scenario
 * files share it; ev_proxy_toxic_format writes the canonical form back):
 *   SPEC      = [DIRECTION (":" | " ")] NAME ["=" VALUE] *("," KEY "=" VALUE)
 *   DIRECTION = up | upstream | down | downstream | both
 *   latency=D | latency=D..D [,jitter=D]   every chunk held D (or uniform in
 *                                          D..D) ± jitter; order is kept
 *   bandwidth=RATE                         token bucket, bytes per second:
 *                                          500B, 64kB (64000), 1MiB, "/s" optional
 *   timeout | timeout=D                    blackhole: stop forwarding (data is
 *                                          held, not dropped); =D: close the
 *                                          connection D after the toxic met it
 *   reset | reset=D                        RST (SO_LINGER 0) every connection,
 *                                          now and each new one, or D after the
 *                                          toxic met it; no direction (or both)
 *   slicer=SIZE [,variation=SIZE] [,delay=D]  split into SIZE(±variation)-byte
 *                                          pieces, D apart
 *   limit_data=SIZE                        close the connection once SIZE bytes
 *                                          went this way after the toxic met it
 * D is a duration ("200ms", "1s", "0s"); SIZE a byte count with an optional
 * unit B, kB/KB (1000), KiB (1024), MB, MiB, GB, GiB. Every toxic but reset
 * needs a direction; both: sets the same toxic on each. A proxy holds at most
 * one toxic of each name per direction: adding one replaces the last. */
#ifndef EV_PROXY_H
#define EV_PROXY_H

#include "ev_err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ev_proxy ev_proxy;

/* Directions, as bits (a toxic may be set on both). */
enum { EV_PROXY_UP = 1u << 0, EV_PROXY_DOWN = 1u << 1, EV_PROXY_BOTH = 3u };

typedef enum {
    EV_PROXY_LATENCY,
    EV_PROXY_BANDWIDTH,
    EV_PROXY_TIMEOUT,
    EV_PROXY_RESET,
    EV_PROXY_SLICER,
    EV_PROXY_LIMIT_DATA,
    EV_PROXY_NKINDS
} ev_proxy_kind;

/* One parsed toxic. Plain data: copy it freely. Unused fields are 0. */
typedef struct ev_proxy_toxic {
    ev_proxy_kind kind;
    unsigned dirs;          /* EV_PROXY_UP / _DOWN / _BOTH; reset: always BOTH */
    int64_t min_ns, max_ns; /* latency: uniform in [min, max] (equal: fixed) */
    int64_t jitter_ns;      /* latency: ± uniform on top, never below 0 */
    int64_t after_ns;       /* timeout: close after (0: hold until removed);
                               reset: after (0: at once) */
    int64_t delay_ns;       /* slicer: between pieces */
    int64_t bytes;          /* bandwidth: bytes/s; slicer: piece size;
                               limit_data: the limit */
    int64_t variation;      /* slicer: ± piece size */
} ev_proxy_toxic;

/* "latency", "bandwidth", … (static), or NULL for an out-of-range kind. */
const char *ev_proxy_kind_name(ev_proxy_kind kind);

/* Parses one SPEC (grammar above) into *out. EV_EUSAGE with one line saying
 * what was expected (the nearest toxic or option name for a misspelt one). */
int ev_proxy_toxic_parse(const char *text, ev_proxy_toxic *out, ev_err *err);
/* Parses "[DIRECTION (':' | ' ')] NAME" (what `remove` takes): *dirs is the
 * direction, EV_PROXY_BOTH when none is given. EV_EUSAGE on error. */
int ev_proxy_ref_parse(const char *text, unsigned *dirs, ev_proxy_kind *kind, ev_err *err);
/* Writes t's canonical spec ("down:latency=200ms..800ms") into buf; it
 * parses back to the same toxic. */
void ev_proxy_toxic_format(const ev_proxy_toxic *t, char *buf, size_t size);

/* Binds listen_addr and resolves upstream_addr (both "HOST:PORT", IPv6 as
 * "[::1]:PORT"; listen port 0 = any free port; a bare "PORT" listens on
 * 127.0.0.1). Nothing is accepted until ev_proxy_start. Caller owns *out
 * (ev_proxy_free). EV_EUSAGE for a malformed address, EV_ECONNECT naming
 * the address when it cannot bind (e.g. the port is in use) or resolve,
 * EV_EINTERNAL when out of memory or descriptors. */
int ev_proxy_new(const char *listen_addr, const char *upstream_addr, ev_proxy **out, ev_err *err);
/* Seeds the random choices (latency within a range, jitter, slicer sizes).
 * Call before ev_proxy_start; without it the seed comes from the clock. */
void ev_proxy_seed(ev_proxy *p, uint64_t seed);
/* Starts the event loop thread: from now on connections are accepted.
 * Once per proxy; EV_EINTERNAL if the thread cannot start, EV_EUSAGE if it
 * was started before. */
int ev_proxy_start(ev_proxy *p, ev_err *err);
/* Stops the loop thread (waits for it) and closes every open connection
 * (FIN; data still held by a toxic is dropped and counted). The listening
 * socket stays bound until ev_proxy_free. Idempotent; a no-op if never
 * started. Call from one thread, not concurrently with ev_proxy_free. */
void ev_proxy_stop(ev_proxy *p);
/* Stops it if running and frees everything. NULL is a no-op. */
void ev_proxy_free(ev_proxy *p);

/* The bound port (the real one when the listen port was 0). */
int ev_proxy_port(const ev_proxy *p);
/* "127.0.0.1:43210" or "[::1]:43210": the bound address, ready to put in a
 * URL in place of the upstream's host:port. Owned by p. */
const char *ev_proxy_listen_addr(const ev_proxy *p);
/* The upstream address as given. Owned by p. */
const char *ev_proxy_upstream_addr(const ev_proxy *p);

/* Switches toxic t on, in each of its directions, replacing a toxic of the
 * same name there; it meets open connections now and new ones as they come.
 * t is copied. Any thread, any time (before start too). 0, or EV_EUSAGE
 * when t is not valid (values out of range, reset with one direction). */
int ev_proxy_add(ev_proxy *p, const ev_proxy_toxic *t, ev_err *err);
/* ev_proxy_toxic_parse + ev_proxy_add. */
int ev_proxy_apply(ev_proxy *p, const char *spec, ev_err *err);
/* Switches toxic `kind` off in `dirs`. Returns how many were on (0, 1 or 2).
 * Data a latency or slicer toxic already holds keeps its release time. */
int ev_proxy_remove(ev_proxy *p, unsigned dirs, ev_proxy_kind kind);
/* Switches every toxic off. */
void ev_proxy_clear(ev_proxy *p);
/* Resets (RST) every connection open now, once; new ones are untouched. */
void ev_proxy_reset_now(ev_proxy *p);
/* Copies the toxics that are on into out[0..max): one entry per direction
 * (a both: toxic appears twice, once per direction), upstream first, in
 * kind order. Returns how many are on (may exceed max). */
size_t ev_proxy_toxics(ev_proxy *p, ev_proxy_toxic *out, size_t max);

/* Counters since ev_proxy_new, read atomically one by one (a snapshot of
 * each, not of all together). Bytes "in" were read from the direction's
 * source, "out" written to its destination; "delayed" went through a
 * latency or slicer delay (their chunks: chunks_delayed); "dropped" were
 * held when their connection closed. */
typedef struct ev_proxy_dir_stats {
    uint64_t bytes_in, bytes_out, bytes_delayed, chunks_delayed, bytes_dropped;
} ev_proxy_dir_stats;

typedef struct ev_proxy_stats {
    uint64_t accepted;        /* connections accepted */
    uint64_t active;          /* open now */
    uint64_t closed;          /* closed, for any reason (includes the ones below) */
    uint64_t reset;           /* closed with RST by the reset toxic or ev_proxy_reset_now */
    uint64_t timed_out;       /* closed by timeout=D */
    uint64_t limited;         /* closed by limit_data */
    uint64_t aborted;         /* a peer reset its side (or its socket failed): passed on
                                 to the other side as RST. RabbitMQ ends connections so */
    uint64_t errors;          /* closed (RST) because the proxy itself failed: out of
                                 memory, epoll_ctl */
    uint64_t upstream_failed; /* the upstream connect failed: the client got RST */
    ev_proxy_dir_stats up, down;
} ev_proxy_stats;

void ev_proxy_stats_get(ev_proxy *p, ev_proxy_stats *out);

/* The counters, the toxics on now and the history of changes as a new JSON
 * object (caller owns the reference; NULL when out of memory):
 *   {"listen": "127.0.0.1:43210", "upstream": "127.0.0.1:6379",
 *    "connections": {"accepted", "active", "closed", "reset", "timed_out",
 *                    "limited", "aborted", "errors", "upstream_failed"},
 *    "traffic": {"upstream": {"bytes_in", "bytes_out", "bytes_delayed",
 *                             "chunks_delayed", "bytes_dropped"},
 *                "downstream": {...}},
 *    "toxics": ["down:latency=200ms..800ms", ...],
 *    "history": [{"t": 1.25, "action": "add", "toxic": "down:latency=..."},
 *                {"t": 3.5, "action": "remove", "toxic": "down:latency"}, ...]}
 * "t" is seconds since ev_proxy_new (monotonic); the history keeps the
 * first 1000 changes. docs/faults.md describes each figure. */
json_t *ev_proxy_json(ev_proxy *p);

/* `evload proxy LISTEN UPSTREAM [--toxic SPEC]... [--control FILE|-]`
 * (ev_proxy_cmd.c): argv[0] is "proxy"; returns the exit code. */
int ev_proxy_main(int argc, char **argv);

#endif
