/* ev_ledger — the verifier's exact record of what each group saw
 * (docs/design.md §3 and docs/pipelines.md for late/pending/unexpected).
 *
 * One ev_ledger per consumer thread (no shared hot data); the reporter merges
 * the consumers of a group into one with ev_ledger_merge and reconciles it
 * against what the publisher lanes say they sent (ev_publane). Per lane the
 * ledger keeps the seen sequence numbers as intervals (ev_iset), so memory
 * grows with lanes and gaps, not with events.
 *
 * Copies. An output may expect k copies of each event (fan-out; k = 1 is the
 * usual case). The ledger keeps k nested layers S_1 ⊇ … ⊇ S_k: an event's
 * j-th sighting goes into S_j, and sightings beyond k are duplicates. Merging
 * two ledgers adds the multisets (capped at k), so a seq seen once by each of
 * two consumers is two copies, or one copy and one duplicate when k = 1.
 *
 * Late. Sightings flagged EV_SEE_LATE (the final sweep of a durable source
 * after the drain deadline) go to a set L; with k = 1 an event seen only there
 * is `late`, not delivered. (With k > 1 late sightings fill the layers like any
 * other: late is reported for one-copy outputs.)
 *
 * Classes after reconcile, per lane with seqs 1..sent attempted, F the seqs
 * whose publish failed or whose outcome is unknown (clipped to [1, sent]),
 * A = [1..sent] \ F the acknowledged ones, and `may_remain` the copies the
 * system may still hold at the end (the evidence for pending):
 *   delivered   = Σ_j |S_j ∩ A|                    (copies seen in time)
 *   late        = |(L \ S_1) ∩ A|                 (k = 1 only)
 *   recovered   = Σ_j |S_j ∩ F| + |(L \ S_1) ∩ F|  (failed, yet seen)
 *   unconfirmed = k·|F| − recovered
 *   missing     = k·|A| − delivered − late
 *   pending     = min(missing, may_remain)        (summed over lanes first)
 *   lost        = missing − pending
 *   duplicated  = sightings − Σ_j |S_j| − |L \ S_1| (every copy beyond k)
 *   redelivered = min(sightings flagged by the broker, duplicated)
 *   reordered   = first sightings with seq below the lane's highest seen seq,
 *                 counted only by ledgers created with ordered = 1
 *   corrupted   = deliveries whose checksum or envelope was damaged: counted
 *                 here and nowhere else (never a sighting of their event)
 *   foreign     = messages not of this run (or claiming a seq the lane never
 *                 sent: the caller checks that before see())
 *   unexpected  = arrivals of events the output does not expect (the caller
 *                 decides, before see())
 * so  delivered + late + lost + pending == k·|A|  and
 *     delivered + late + lost + pending + unconfirmed + recovered == k·sent.
 * Every delivery lands in exactly one of
 *   received == Σ copies recorded + duplicated + corrupted + foreign + unexpected.
 * Not thread-safe: a ledger has one owner at a time. */
#ifndef EV_LEDGER_H
#define EV_LEDGER_H

#include "ev_iset.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ev_ledger ev_ledger;

/* Most copies an output may expect per event. */
#define EV_LEDGER_MAX_COPIES 64

/* What one publisher lane reports: every seq in 1..sent was attempted; failed
 * holds those that were nacked, failed or never confirmed. Owned by the lane. */
typedef struct ev_publane {
    uint64_t sent;
    ev_iset failed;
    /* 1: another evload instance's lane, whose record this one does not have
     * (a distributed run): reconcile, gaps and missing skip it entirely; only
     * the merge of every instance's results judges it. */
    int unknown;
} ev_publane;

typedef struct ev_ledger_counts {
    uint64_t received; /* every delivery recorded, including duplicates and corrupted */
    uint64_t delivered, late, pending, lost, duplicated, redelivered, unconfirmed, recovered;
    uint64_t reordered, corrupted, foreign, unexpected;
} ev_ledger_counts;

enum { EV_SEE_REDELIVERED = 1u << 0, EV_SEE_CORRUPTED = 1u << 1, EV_SEE_LATE = 1u << 2 };
/* see() results. EV_SEE_FOREIGN: the lane is >= nlanes or seq is 0 (lanes
 * start at 1): counted foreign, not a sighting. EV_SEE_CORRUPT: flagged
 * EV_SEE_CORRUPTED: counted corrupted, not a sighting. */
enum { EV_SEE_NEW = 0, EV_SEE_DUP = 1, EV_SEE_FOREIGN = 2, EV_SEE_COPY = 3, EV_SEE_CORRUPT = 4 };

/* nlanes: lane indexes 0..nlanes-1 are tracked; a sighting on any other lane
 * is foreign. ordered: count reorders (only where the topology promises
 * order). copies: how many copies of each event are expected (>= 1). Returns
 * NULL when out of memory. Caller owns; free with ev_ledger_free. */
ev_ledger *ev_ledger_new(uint32_t nlanes, int ordered, uint32_t copies);
void ev_ledger_free(ev_ledger *l); /* NULL is a no-op */

/* Records one delivery of (lane, seq). flags: EV_SEE_*. Returns EV_SEE_NEW (a
 * first sighting), EV_SEE_COPY (another expected copy), EV_SEE_DUP,
 * EV_SEE_FOREIGN, EV_SEE_CORRUPT, or -1 when out of memory (the delivery is
 * then not counted at all). A first sighting below the lane's highest seen
 * seq counts as reordered when the ledger is ordered; nothing else does. */
int ev_ledger_see(ev_ledger *l, uint32_t lane, uint64_t seq, unsigned flags);
void ev_ledger_foreign(ev_ledger *l);
/* A delivery so damaged that its lane/seq could not be read. */
void ev_ledger_corrupt_unknown(ev_ledger *l);
/* An arrival of an event the output does not expect. */
void ev_ledger_unexpected(ev_ledger *l);

/* dst += src (multisets of sightings, capped at the copies; counters add).
 * Both must have the same nlanes and copies. Returns 0, or -1 when out of
 * memory, when they differ or when dst == src; on -1 dst is unchanged. */
int ev_ledger_merge(ev_ledger *dst, const ev_ledger *src);
/* Empties l (keeps nlanes, ordered and copies). */
void ev_ledger_reset(ev_ledger *l);

/* Final classes of l against the publishers' record (pubs[0..nlanes-1]);
 * may_remain: copies the system may still hold (0: none, so every missing
 * copy is lost; UINT64_MAX: cannot tell, so every missing copy is pending).
 * Overwrites *out. O(lanes × copies + intervals). */
void ev_ledger_reconcile(const ev_ledger *l, const ev_publane *pubs, uint64_t may_remain,
                         ev_ledger_counts *out);
/* The classes of the lanes with sel[lane] != 0 alone (one stream's), as
 * reconcile computes them over every lane: per-lane sums, with reordered and
 * corrupted from each lane's share, received = the lanes' sightings and
 * corrupted copies, and foreign (beyond what the lane sent) as reconcile;
 * unexpected and the foreign without a lane belong to no lane and are 0.
 * pending = min(missing of these lanes, may_remain): what the system still
 * holds may be any stream's, so per selection lost is what is known lost. */
void ev_ledger_reconcile_lanes(const ev_ledger *l, const ev_publane *pubs, const uint8_t *sel,
                               uint64_t may_remain, ev_ledger_counts *out);
/* Live, provisional loss: acked seqs below the highest seq seen in their lane
 * that have not been seen (a late or reordered delivery may still fill them).
 * Exactly Σ over lanes of |acked ∩ [1, hwm] \ S_1| with hwm = min(max S_1, sent). */
uint64_t ev_ledger_gaps(const ev_ledger *l, const ev_publane *pubs);
/* Copies still missing now: k·|acked| − Σ_j |S_j ∩ acked| − late (what the
 * drain waits for). */
uint64_t ev_ledger_missing(const ev_ledger *l, const ev_publane *pubs);

/* Every delivery counted so far: sightings, foreign, corrupted, unexpected. */
uint64_t ev_ledger_received(const ev_ledger *l);
/* Σ over lanes of |S_1| (distinct (lane, seq) sighted, whatever `sent` is). */
uint64_t ev_ledger_distinct(const ev_ledger *l);
/* The seqs of lane that are acked and missing a copy (not in S_k ∪ L; with
 * k = 1, seen neither in time nor late), into out (its old contents
 * replaced), for --missing. 0, or -1 when out of memory or lane >= nlanes
 * (out is then unchanged). */
int ev_ledger_missing_set(const ev_ledger *l, const ev_publane *pubs, uint32_t lane, ev_iset *out);
size_t ev_ledger_heap_bytes(const ev_ledger *l);

/* ---- export and import, for results that later steps merge ---------------- */

/* One lane's record, borrowed from l (valid until l changes). */
typedef struct ev_ledger_lane_view {
    const ev_iset *layers; /* [copies]: S_1 ⊇ … ⊇ S_k */
    const ev_iset *late;
    uint64_t deliveries, flagged;
    uint64_t reordered, corrupted; /* the lane's shares of the ledger's totals */
} ev_ledger_lane_view;

typedef struct ev_ledger_totals {
    uint64_t received, reordered, corrupted, foreign, unexpected;
} ev_ledger_totals;

uint32_t ev_ledger_lanes(const ev_ledger *l);
uint32_t ev_ledger_copies(const ev_ledger *l);
int ev_ledger_ordered(const ev_ledger *l);
void ev_ledger_lane(const ev_ledger *l, uint32_t lane, ev_ledger_lane_view *v);
void ev_ledger_get_totals(const ev_ledger *l, ev_ledger_totals *t);
/* Replaces lane's record with copies of v's sets and counters (v.layers has
 * l's copies entries). 0, or -1 when out of memory or lane is out of range
 * (l's other lanes are unchanged either way). */
int ev_ledger_set_lane(ev_ledger *l, uint32_t lane, const ev_ledger_lane_view *v);
void ev_ledger_set_totals(ev_ledger *l, const ev_ledger_totals *t);

#endif
