/* ev_fleet — what the event-loop subscriber transports (sse+http://, ws://)
 * share: a fleet of subscriber connections, each one verify group, served a
 * run at a time from a few threads (broker.h's open_groups), and what the
 * verifier reports about them beyond the ledger's classes (which already
 * says, per subscriber, what was delivered, lost and duplicated):
 *
 *   - latencies, as histograms (ns):
 *       connect      a first connection: start of the attempt to subscribed
 *       reconnect    a later attempt: its start to subscribed (the reconnect
 *                    delay or jitter before it is not included)
 *       away         lost to subscribed again (delays included)
 *       first_event  start of a connection's attempt to its first event; for
 *                    a first connection, from the start of publishing
 *                    (ev_fleet_start) when that is later
 *       ping_rtt     WebSocket ping to pong
 *   - reconnect storms: every `storm` period after the start of publishing,
 *     round(storm_fraction × subscribers) subscribers (at least one) drop
 *     their connection; which ones rotates from storm to storm over a fixed
 *     permutation, so with fractions below 1 each storm takes others. Each
 *     reconnects after a uniform random delay in [0, storm_jitter]. Per
 *     storm: how many dropped, how many came back, and the time from the
 *     storm until the last of them was back in step (its first live event:
 *     one published after its reconnect attempt began);
 *   - the resume check after every reconnection, for evload's own events
 *     (recognised by their id "<run>-<instance>-<lane>-<seq>"):
 *       missed     per lane, the seqs the subscriber jumped over until it
 *                  was back in step: from the highest it had before the drop
 *                  to the first after it, and any jump within a replay (what
 *                  the server did not send again); the first ranges are kept,
 *                  so the report says which
 *       replayed   events that arrived on the new connection though they
 *                  were published so long before its attempt began that
 *                  they had passed the pipeline before the server could
 *                  know the subscriber was back (publish time before the
 *                  attempt, less a decaying maximum of the recent events'
 *                  age): only a server that resumes (Last-Event-ID) sends
 *                  those. A lower bound: a replayed event published just
 *                  before the attempt is taken for a live one
 *       duplicated replayed events the subscriber already had (seq at or
 *                  below its highest before the drop)
 *     Events that are not evload's (another id shape) are not tracked.
 *
 * Threads. The fleet is created by the transport's setup and shared. Each
 * subscriber's record is written only by the one thread serving it and read
 * by ev_fleet_report after those threads are joined; the counts sampled live
 * (subscribers up) are atomics; histograms are per thread (ev_fleet_thread)
 * and merged into the fleet's when the thread closes; storm records sit
 * behind the fleet's mutex (a few updates per storm). */
#ifndef EV_FLEET_H
#define EV_FLEET_H

#include "ev_err.h"
#include "ev_hist.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ev_fleet_conf {
    uint32_t subscribers;  /* the groups */
    uint32_t lanes;        /* publisher lanes (the resume check keeps a seq per lane) */
    const char *run_id;    /* copied */
    uint32_t instance;     /* this instance's events only */
    int64_t storm_ns;      /* 0: no storms */
    double storm_fraction; /* (0, 1] of the subscribers drop in each storm */
    int64_t storm_jitter_ns;
    uint64_t seed; /* the reconnect jitter's */
} ev_fleet_conf;

/* Why a subscriber's connection ended. */
typedef enum {
    EV_FLEET_STORM,  /* evload dropped it: a reconnect storm */
    EV_FLEET_CLOSED, /* the server ended it (the stream ended, a close frame) */
    EV_FLEET_ERROR,  /* a network or protocol error */
    EV_FLEET_NCAUSES
} ev_fleet_cause;

/* The histograms (ev_fleet_latency). */
typedef enum {
    EV_FLEET_CONNECT,
    EV_FLEET_RECONNECT,
    EV_FLEET_AWAY,
    EV_FLEET_FIRST_EVENT,
    EV_FLEET_PING_RTT,
    EV_FLEET_NHIST
} ev_fleet_hist;

#define EV_FLEET_RESUMES 8 /* resumes described one by one per subscriber */

typedef struct ev_fleet ev_fleet;
typedef struct ev_fleet_thread ev_fleet_thread;

/* A new fleet (caller owns: ev_fleet_free). EV_EINTERNAL when out of memory. */
int ev_fleet_new(const ev_fleet_conf *c, ev_fleet **out, ev_err *err);
void ev_fleet_free(ev_fleet *f); /* NULL is a no-op */

/* The start of publishing, as near as the transport can tell (its first
 * recv): storms count from here. The first call sets it; later ones do
 * nothing. Any thread. */
void ev_fleet_start(ev_fleet *f, int64_t now);

/* A serving thread's part (caller owns; NULL when out of memory). close
 * merges its histograms into the fleet's and frees it; NULL is a no-op. */
ev_fleet_thread *ev_fleet_thread_new(ev_fleet *f);
void ev_fleet_thread_close(ev_fleet_thread *t);

/* Subscriber g's connection events, on the thread that serves g. now is
 * monotonic ns, wall the wall clock (ns since the epoch). */
void ev_fleet_attempt(ev_fleet_thread *t, uint32_t g, int64_t now, int64_t wall);
void ev_fleet_failed(ev_fleet_thread *t, uint32_t g, const char *why); /* an attempt failed */
void ev_fleet_up(ev_fleet_thread *t, uint32_t g, int64_t now);
/* The connection ended (g was up). why: a short reason for the report. */
void ev_fleet_down(ev_fleet_thread *t, uint32_t g, ev_fleet_cause cause, const char *why,
                   int64_t now);
/* One delivery on g's connection (body as received); recv_wall when it came
 * off the socket. */
void ev_fleet_event(ev_fleet_thread *t, uint32_t g, const char *body, size_t len, int64_t now,
                    int64_t recv_wall);
void ev_fleet_ping_rtt(ev_fleet_thread *t, int64_t rtt_ns);
/* 1 when g is up. */
int ev_fleet_is_up(const ev_fleet *f, uint32_t g);

/* Storms. ev_fleet_storm_due returns the next storm (k >= 1) due by now that
 * this thread has not handled yet, or 0; call it until 0. For each of its
 * subscribers with ev_fleet_storm_member(k, g), the transport drops the
 * connection (if up) and calls ev_fleet_storm_drop, which records the drop
 * (cause storm) and returns when g may reconnect (now + jitter).
 * ev_fleet_storm_next: when the next storm is due (INT64_MAX: none). */
uint64_t ev_fleet_storm_due(ev_fleet_thread *t, int64_t now);
int ev_fleet_storm_member(const ev_fleet *f, uint64_t k, uint32_t g);
int64_t ev_fleet_storm_drop(ev_fleet_thread *t, uint32_t g, uint64_t k, int64_t now);
int64_t ev_fleet_storm_next(const ev_fleet_thread *t);

/* A copy of one histogram (caller owns), or NULL when it is empty (or out
 * of memory). After the serving threads are closed. */
ev_hist *ev_fleet_latency(ev_fleet *f, ev_fleet_hist which);
/* Live figures for the timeseries: subscribers_up, subscribers_down. */
void ev_fleet_sample(ev_fleet *f, json_t *point);
/* Everything into out: the histograms as {p50, p90, p95, p99, p999, max,
 * mean, count}, totals, storms, the resume check and one entry per
 * subscriber (name from name_fn, or "gN" when NULL; extra, if not NULL, adds the transport's
 * own members to it). After the serving threads are closed. */
typedef void (*ev_fleet_name_fn)(void *ud, uint32_t g, char *buf, size_t size);
typedef void (*ev_fleet_extra_fn)(void *ud, uint32_t g, json_t *sub);
void ev_fleet_report(ev_fleet *f, json_t *out, ev_fleet_name_fn name_fn, ev_fleet_extra_fn extra,
                     void *ud);
/* Raises the soft RLIMIT_NOFILE (towards the hard limit) so that at least
 * `need` descriptors can be open: one per subscriber connection plus what
 * the rest of the process uses. Returns the soft limit now (-1: unknown);
 * a limit that cannot be raised far enough is for the caller to report. */
long ev_fleet_nofile(uint64_t need);
/* The setup an edge transport (SSE, WebSocket) shares: a fleet of
 * `subscribers` for the run (storms from the source's parameters `storm`,
 * `storm_fraction` and `storm_jitter`), and the open-files limit raised for
 * one connection per subscriber. what names the source in errors ("sse
 * http://…", redacted). *out (caller owns) and *nofile (the soft limit, -1:
 * unknown) are set on success; EV_ECONNECT when the limit is too low and
 * cannot be raised, EV_EINTERNAL when out of memory. */
struct ev_params;
int ev_fleet_setup(const struct ev_params *ps, uint32_t subscribers, uint32_t lanes,
                   const char *run_id, uint32_t instance, const char *what, ev_fleet **out,
                   long *nofile, ev_err *err);
/* Histogram summary as the report writes it (ms), for a transport's own. */
json_t *ev_fleet_hist_json(const ev_hist *h);

#endif
