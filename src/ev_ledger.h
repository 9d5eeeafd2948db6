/* ev_ledger — the verifier's exact record of what each group saw (docs/design.md §3).
 *
 * One ev_ledger per consumer thread (no shared hot data); the reporter merges
 * the consumers of a group into one with ev_ledger_merge and reconciles it
 * against what the publisher lanes say they sent (ev_publane). Per lane the
 * ledger keeps the set of seen sequence numbers as intervals (ev_iset), so
 * memory grows with lanes and gaps, not with events.
 *
 * Classes after reconcile, per lane with seqs 1..sent attempted and F the
 * seqs whose publish failed or whose outcome is unknown, S the seqs seen:
 *   delivered   = |S ∩ acked|             (acked = [1..sent] \ F)
 *   lost        = |acked| − delivered
 *   recovered   = |S ∩ F|
 *   unconfirmed = |F| − recovered
 *   duplicated  = deliveries − |S|        (every extra copy, corrupted or not)
 *   redelivered = min(deliveries flagged by the broker, duplicated)
 *   reordered   = first sightings with seq below the lane's highest seen seq,
 *                 counted only by ledgers created with ordered = 1
 *   corrupted   = deliveries whose checksum or evload attributes were damaged;
 *                 a corrupted copy whose lane and seq could still be read counts
 *                 as a sighting (it arrived), one whose identity was lost cannot
 *   foreign     = messages not of this run, plus seqs seen above `sent`
 *
 * Precisely, with S_in = S ∩ [1..sent] and F clipped to [1..sent] (a failed
 * seq outside what the lane sent is ignored):
 *   delivered = |S_in| − |S ∩ F|,  recovered = |S ∩ F|,
 *   lost = (sent − |F|) − delivered,  unconfirmed = |F| − recovered,
 * so  delivered + lost == acked  and
 *     delivered + lost + unconfirmed + recovered == sent   hold exactly.
 * A seq seen above `sent` was never published by the lane: its first copy
 * counts once in foreign (|S| − |S_in|), its extra copies in duplicated (the
 * ledger keeps no per-seq multiplicity, so it cannot tell them apart).
 * Every delivery then lands in exactly one of
 *   received == delivered + recovered + duplicated + foreign + U
 * where U is the number of ev_ledger_corrupt_unknown calls. corrupted is an
 * attribute, not a class: it also counts damaged deliveries that were
 * recorded as sightings (EV_SEE_CORRUPTED) or as foreign.
 * Not thread-safe: a ledger has one owner at a time. */
#ifndef EV_LEDGER_H
#define EV_LEDGER_H

#include "ev_iset.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ev_ledger ev_ledger;

/* What one publisher lane reports: every seq in 1..sent was attempted; failed
 * holds those that were nacked, failed or never confirmed. Owned by the lane. */
typedef struct ev_publane {
    uint64_t sent;
    ev_iset failed;
} ev_publane;

typedef struct ev_ledger_counts {
    uint64_t received; /* every delivery recorded, including duplicates and corrupted */
    uint64_t delivered, lost, duplicated, redelivered, unconfirmed, recovered;
    uint64_t reordered, corrupted, foreign;
} ev_ledger_counts;

enum { EV_SEE_REDELIVERED = 1u << 0, EV_SEE_CORRUPTED = 1u << 1 };
/* EV_SEE_FOREIGN: the lane is >= nlanes or seq is 0 (lanes start at 1): the
 * delivery counts as foreign (and as corrupted if so flagged), is not
 * recorded as a sighting, and its EV_SEE_REDELIVERED flag is ignored. */
enum { EV_SEE_NEW = 0, EV_SEE_DUP = 1, EV_SEE_FOREIGN = 2 };

/* nlanes: lane indexes 0..nlanes-1 are tracked; a sighting on any other lane
 * is foreign. ordered: count reorders (only where the topology promises order).
 * Returns NULL when out of memory. Caller owns; free with ev_ledger_free. */
ev_ledger *ev_ledger_new(uint32_t nlanes, int ordered);
void ev_ledger_free(ev_ledger *l); /* NULL is a no-op */

/* Records one delivery of (lane, seq). flags: EV_SEE_*. Returns EV_SEE_NEW,
 * EV_SEE_DUP, EV_SEE_FOREIGN, or -1 when out of memory (the delivery is then
 * not counted at all). A first sighting below the lane's highest seen seq
 * counts as reordered when the ledger is ordered; duplicates never do. */
int ev_ledger_see(ev_ledger *l, uint32_t lane, uint64_t seq, unsigned flags);
void ev_ledger_foreign(ev_ledger *l);
/* A delivery so damaged that its lane/seq could not be read. */
void ev_ledger_corrupt_unknown(ev_ledger *l);

/* dst ∪= src (sets), dst += src (counters). Both must have the same nlanes.
 * Returns 0, or -1 when out of memory, when nlanes differ or when dst == src;
 * on -1 dst is unchanged. */
int ev_ledger_merge(ev_ledger *dst, const ev_ledger *src);
/* Empties l (keeps nlanes and ordered). */
void ev_ledger_reset(ev_ledger *l);

/* Final classes of l against the publishers' record (pubs[0..nlanes-1]);
 * overwrites *out. O(lanes + intervals). */
void ev_ledger_reconcile(const ev_ledger *l, const ev_publane *pubs, ev_ledger_counts *out);
/* Live, provisional loss: acked seqs below the highest seq seen in their lane
 * that have not been seen (a late or reordered delivery may still fill them).
 * Exactly Σ over lanes of |acked ∩ [1, hwm] \ S| with hwm = min(max S, sent). */
uint64_t ev_ledger_gaps(const ev_ledger *l, const ev_publane *pubs);

/* Every delivery counted so far: sightings, foreign, unknown corrupted. */
uint64_t ev_ledger_received(const ev_ledger *l);
/* Σ over lanes of |S| (distinct (lane, seq) sighted, whatever `sent` is). */
uint64_t ev_ledger_distinct(const ev_ledger *l);
size_t ev_ledger_heap_bytes(const ev_ledger *l);

#endif
