/* httpsink — an embedded CloudEvents HTTP receiver as a source to verify
 * from (scheme http-sink, results under broker.http_sink), private to
 * src/brokers/httpsink.c and verifiers/httpsink.c. docs/http.md explains the
 * knobs and the numbers.
 *
 * Source: http-sink://ADDR:PORT/PATH?[throttle=P][&retry_after=1s][&unavailable=P]
 *         [&error=P][&reset=P][&reject=P][&delay=D|MIN..MAX][&delay_p=P][&seed=N]
 *
 * One libmicrohttpd daemon per run (setup starts it on a socket evload binds
 * itself, so a port in use is EV_ECONNECT naming the address), internal
 * epoll threads, suspend/resume for delayed answers: a delayed request is
 * suspended and a single timer thread resumes it when due, so no thread
 * waits per request. Every POST/PUT to PATH is judged once: a fault (seeded,
 * deterministic per id and attempt, where the attempt is the sink's own count
 * of arrivals of that id) or 202. An accepted request becomes one delivery
 * per event (a batch: several) on the queue the consumers read; a rejected
 * one is booked per id as a rejected attempt, never as a delivery, and the
 * retry audit compares the sender's next arrival with the answer it got.
 *
 * Threads: the daemon's threads, the timer thread and the consumers share
 * `mu` (the id table, the queue and the counters); the queue's condition
 * variable wakes consumers. */
#ifndef EV_BROKERS_HTTPSINK_H
#define EV_BROKERS_HTTPSINK_H

#include "broker.h"
#include "ev_hist.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* What the sink answered an attempt with. */
enum {
    EV_SINK_OK,    /* 202 */
    EV_SINK_429,   /* Retry-After */
    EV_SINK_503,   /* Retry-After */
    EV_SINK_500,   /* no Retry-After: any retry is in time */
    EV_SINK_RESET, /* connection reset, no answer */
    EV_SINK_400,   /* final: the sender must not retry */
    EV_SINK_NFAULTS
};
extern const char *const ev_sink_fault_names[EV_SINK_NFAULTS];

/* Retry audit classes, per fault (not OK). */
enum {
    EV_AUDIT_HONOURED,    /* came back no sooner than asked (any time for 500 and reset) */
    EV_AUDIT_TOO_EARLY,   /* came back before Retry-After */
    EV_AUDIT_NEVER,       /* never came back (after a retryable answer) */
    EV_AUDIT_AFTER_FINAL, /* came back after a final answer (400) */
    EV_AUDIT_NCLASSES
};
extern const char *const ev_sink_audit_names[EV_AUDIT_NCLASSES];

/* A slack for the audit: a retry this much before Retry-After has passed
 * still counts as honoured (the answer's own travel time). */
#define EV_SINK_AUDIT_SLACK_NS (100 * EV_NS_PER_MS)

typedef struct ev_sink_knobs {
    double p[EV_SINK_NFAULTS]; /* probability of each fault (p[OK] unused) */
    int64_t retry_after_ns;
    int64_t delay_min_ns, delay_max_ns;
    double delay_p;
    uint64_t seed;
    int64_t horizon_ns; /* a rejected id may still come back this long after Retry-After */
} ev_sink_knobs;

/* One delivery: the body and the request's headers (raw names; `ce-`
 * values percent-decoded). */
typedef struct ev_sink_item {
    struct ev_sink_item *next;
    char *mem; /* one allocation: body, then header names and values */
    const char *body;
    size_t len;
    ev_ce_attr *headers;
    size_t nheaders;
    int batched; /* one event of a batch: structured, whatever the headers say */
    int64_t recv_wall_ns;
} ev_sink_item;

typedef struct ev_sink_id ev_sink_id;

typedef struct ev_sink {
    ev_sink_knobs k;
    char addr[128]; /* "ADDR:PORT" as bound */
    char *path;     /* "/PATH" */
    const char *redacted;
    int fd;
    struct MHD_Daemon *d;
    struct MHD_Response *resp[EV_SINK_NFAULTS];
    struct MHD_Response *resp404, *resp405, *resp413;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* items queued */
    ev_sink_item *head, *tail;
    uint64_t qlen;

    /* the id table (under mu) */
    ev_sink_id **tab;
    size_t tabn, nids;
    ev_sink_id **open; /* ids whose last answer was a rejection: pending evidence */
    size_t nopen, capopen;

    /* timer thread for delayed answers */
    pthread_t timer;
    int timer_started;
    pthread_cond_t tcv;
    struct ev_sink_wait **heap;
    size_t nheap, capheap;
    uint64_t suspended; /* connections suspended now */
    atomic_int stopping;

    /* counters (under mu) */
    uint64_t requests, answered[EV_SINK_NFAULTS], not_found, bad_method, too_large;
    uint64_t injected[EV_SINK_NFAULTS]; /* requests rejected by each fault */
    uint64_t rejected_attempts;         /* events in rejected requests, booked per id */
    uint64_t events, accepted_first, accepted_again, delayed, no_id;
    uint64_t audit[EV_SINK_NFAULTS][EV_AUDIT_NCLASSES];
    ev_hist *delay_ns;
} ev_sink;

/* Starts the sink for a run's source (the daemon runs until ev_sink_stop).
 * EV_ECONNECT naming the address when it cannot listen. */
int ev_sink_start(const ev_run_info *ri, ev_sink **out, ev_err *err);
/* Stops the daemon (resuming every suspended connection first) and frees. */
void ev_sink_stop(ev_sink *s);
/* Takes up to max items off the queue, waiting up to timeout_ns for the
 * first. The caller owns them (ev_sink_item_free). */
int ev_sink_take(ev_sink *s, ev_sink_item **out, int max, int64_t timeout_ns,
                 const atomic_int *stop);
void ev_sink_item_free(ev_sink_item *it);

extern const ev_sub_ops ev_sink_sub_ops;

#endif
