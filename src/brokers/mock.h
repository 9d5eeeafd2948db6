/* mock — evload's in-process broker (docs/design.md §3.5), private to
 * publishers/mock.c, verifiers/mock.c and src/brokers/mock.c.
 *
 * It exists to prove the ledger exact: it injects faults with known
 * probabilities and keeps its own ground truth of what it did, which the
 * results carry under broker.mock and the e2e tests compare with the ledger.
 *
 * Topology: one FIFO queue per group; every accepted event is offered to every
 * group (fan-out); the consumers of a group compete for its queue. Faults, in
 * the order they are decided, with the publisher lane's own PRNG (seeded from
 * `seed` and the lane, so a run is reproducible per lane):
 *   nack     the publish fails: outcome nacked, nothing enqueued anywhere
 *   drop     (per group) accepted but never enqueued        → ledger: lost
 *   corrupt  (per group) one byte of `data` changed          → corrupted
 *            (ground truth counts damaged copies, so ×2 when also dup'ed;
 *            a damaged copy is never a sighting, so a corrupted event is
 *            also lost: corrupted_events)
 *   dup      (per group) enqueued twice, back to back         → duplicated
 *   reorder  (per group) held back and enqueued right after the lane's next
 *            enqueued event, so the verifier sees seq n+1 before n → reordered
 *   delay    every message becomes visible `delay` after enqueue (fixed, or
 *            uniform in min..max); the queue stays FIFO, so a short delay
 *            behind a long one waits (head-of-line), as in a real queue.
 *   capacity N deliveries/s each group's queue can serve, on a virtual-time
 *            schedule: a copy becomes visible at
 *            max(its arrival (after delay), the previous copy's service end)
 *            + 1/N, so above N a backlog builds (the queue's depth) and drains
 *            at N/s, and the latency grows linearly with the backlog: at 2N/s
 *            for T seconds the last copy is served at 2T with a latency of T.
 *            Duplicates are deliveries and take service time too.
 * A message held for reordering when its lane closes is enqueued then, and
 * is not counted as reordered (nothing overtook it). */
#ifndef EV_BROKERS_MOCK_H
#define EV_BROKERS_MOCK_H

#include "broker.h"

#include <pthread.h>
#include <stdint.h>

typedef struct ev_mock_knobs {
    double drop, dup, reorder, corrupt, nack;
    int64_t delay_min_ns, delay_max_ns;
    uint64_t seed;
    double capacity;    /* deliveries/s per group queue; 0: unlimited */
    int64_t service_ns; /* 1/capacity in ns (rounded, >= 1); 0: unlimited */
    const char *stream; /* faults only on this stream's lanes; NULL: every lane */
} ev_mock_knobs;

/* Ground truth: what the mock did. Summed over groups for per-group faults. */
typedef struct ev_mock_truth {
    uint64_t accepted, nacked, dropped, duplicated, reordered, corrupted, enqueued;
    /* What the ledger must report, where corruption changes it: events whose
     * copies were all damaged (lost), duplicates of intact events, and
     * reorders where both the held event and the one that overtook it were
     * intact (a damaged copy is no sighting, so it overtakes nothing). */
    uint64_t corrupted_events, duplicated_intact, reordered_intact;
} ev_mock_truth;

/* One queued copy. attrs/body point into the same allocation. */
typedef struct ev_mock_msg {
    struct ev_mock_msg *next;
    int64_t visible_at; /* monotonic ns */
    int binary;
    int corrupted; /* damaged by the corrupt knob */
    size_t len, nattrs;
    char *body;
    const char *content_type;
    ev_ce_attr *attrs;
} ev_mock_msg;

typedef struct ev_mock_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ev_mock_msg *head, *tail;
    int64_t len, max_len;
    int64_t service_end; /* capacity: when the last queued copy's service ends (monotonic ns) */
    int waiters;
} ev_mock_queue;

typedef struct ev_mock {
    ev_mock_knobs k;
    uint32_t groups;
    ev_mock_queue *q;   /* [groups] */
    pthread_mutex_t mu; /* guards truth and lane_truth */
    ev_mock_truth truth;
    uint32_t lanes;
    ev_mock_truth *lane_truth; /* [lanes]: each lane's own share (streams are lane ranges) */
} ev_mock;

/* Copies an event into one new message (caller owns; free()). NULL on OOM. */
ev_mock_msg *ev_mock_msg_new(const ev_msg *m);
/* Duplicates a queued message (for dup). NULL on OOM. */
ev_mock_msg *ev_mock_msg_clone(const ev_mock_msg *src);
/* Changes one byte inside the message's data so its checksum no longer
 * matches while the event stays parseable and its identity readable. */
void ev_mock_msg_corrupt(ev_mock_msg *msg);
/* Appends a chain of messages (linked through next) to group g's queue,
 * first giving each its service time when the mock has a capacity. */
void ev_mock_enqueue(ev_mock *m, uint32_t g, ev_mock_msg *first, ev_mock_msg *last, int64_t n);
/* Adds lane `lane`'s local truth into the shared one and the lane's share
 * (lane >= lanes: the total only). */
void ev_mock_add_truth(ev_mock *m, uint32_t lane, const ev_mock_truth *t);

/* splitmix64: small, fast, and good enough for fault decisions. */
static inline uint64_t ev_mock_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static inline double ev_mock_unit(uint64_t *s)
{
    return (double)(ev_mock_rand(s) >> 11) * 0x1.0p-53;
}

extern const ev_pub_ops ev_mock_pub_ops;
extern const ev_sub_ops ev_mock_sub_ops;

#endif
