/* ev_ledger — per-lane interval sets of seen seqs, and the reconcile that turns
 * them into the classes of docs/design.md §3.1.
 *
 * Design notes
 *
 * What is stored. Per lane: the set S of seqs seen (ev_iset), the number of
 * deliveries recorded on the lane (every copy), and how many of those the
 * broker flagged as redeliveries. Per ledger: reordered, corrupted, foreign
 * messages, unreadable corrupted deliveries, and received. Nothing is stored
 * per event, so memory is O(lanes + gaps): 100 M in-order sightings on a lane
 * occupy the same single interval as 1 k (bench/bench_ledger.c measures it).
 * The lane's highest seen seq is ev_iset_max(S): the last interval's hi, O(1).
 *
 * What is derived. Everything else (delivered, lost, duplicated, recovered,
 * unconfirmed, the above-`sent` part of foreign) depends on what the
 * publishers report and on the union over a group's consumers, so it is
 * computed only in ev_ledger_reconcile / ev_ledger_gaps, from interval counts:
 * O(lanes + intervals), never O(events). The arithmetic is the header's;
 * in particular duplicated = deliveries − |S| per lane, which stays exact
 * across ev_ledger_merge because the counters add and the sets unite (a seq
 * seen once by each of two consumers is one duplicate in the group).
 *
 * Why redelivered is min(flagged, duplicated) per lane: a broker may flag a
 * copy whose first delivery this group never recorded (e.g. the consumer died
 * before acking); such a copy is not an extra delivery. The min caps the
 * flagged count at the extras actually observed on that lane.
 *
 * reordered is decided at see() time, against the lane's maximum in this
 * ledger, because order is a property of one consumer's stream; merged
 * ledgers just add the counts (the header says where it is meaningful).
 *
 * Failure. see() changes nothing unless the sighting was recorded, so an
 * out-of-memory -1 leaves every counter consistent with the sets; merge
 * builds every lane's union first and commits only when all succeeded. */
#include "ev_ledger.h"

#include <stdlib.h>

typedef struct ev_lane {
    ev_iset seen;        /* S: every seq sighted on this lane (>= 1) */
    uint64_t deliveries; /* sightings recorded, every copy */
    uint64_t flagged;    /* of those, flagged EV_SEE_REDELIVERED */
} ev_lane;

struct ev_ledger {
    uint32_t nlanes;
    int ordered;
    ev_lane *lanes;     /* owned, nlanes entries; NULL when nlanes == 0 */
    uint64_t received;  /* every delivery: sightings + foreign + unreadable */
    uint64_t reordered; /* first sightings below the lane maximum (ordered only) */
    uint64_t corrupted; /* damaged deliveries, whatever else they counted as */
    uint64_t foreign;   /* foreign messages and out-of-range identities */
    uint64_t unknown;   /* corrupted so badly the identity was unreadable */
};

ev_ledger *ev_ledger_new(uint32_t nlanes, int ordered)
{
    ev_ledger *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->nlanes = nlanes;
    l->ordered = ordered != 0;
    if (nlanes > 0) {
        /* calloc: an all-zero ev_iset is a valid empty set. */
        l->lanes = calloc(nlanes, sizeof(ev_lane));
        if (!l->lanes) {
            free(l);
            return NULL;
        }
    }
    return l;
}

void ev_ledger_free(ev_ledger *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->nlanes; i++)
        ev_iset_clear(&l->lanes[i].seen);
    free(l->lanes);
    free(l);
}

int ev_ledger_see(ev_ledger *l, uint32_t lane, uint64_t seq, unsigned flags)
{
    if (lane >= l->nlanes || seq == 0) {
        /* Not an identity this run published: foreign. A damaged one is
         * corrupted as well (an attribute); either way it is no sighting. */
        l->received++;
        l->foreign++;
        if (flags & EV_SEE_CORRUPTED)
            l->corrupted++;
        return EV_SEE_FOREIGN;
    }
    ev_lane *ln = &l->lanes[lane];
    uint64_t prev_max = ev_iset_max(&ln->seen);
    int r = ev_iset_add(&ln->seen, seq);
    if (r < 0)
        return -1; /* nothing counted: counters stay consistent with S */
    l->received++;
    ln->deliveries++;
    if (flags & EV_SEE_REDELIVERED)
        ln->flagged++;
    if (flags & EV_SEE_CORRUPTED)
        l->corrupted++;
    if (r == 1) {
        if (l->ordered && seq < prev_max)
            l->reordered++;
        return EV_SEE_NEW;
    }
    return EV_SEE_DUP;
}

void ev_ledger_foreign(ev_ledger *l)
{
    l->received++;
    l->foreign++;
}

void ev_ledger_corrupt_unknown(ev_ledger *l)
{
    l->received++;
    l->corrupted++;
    l->unknown++;
}

int ev_ledger_merge(ev_ledger *dst, const ev_ledger *src)
{
    if (dst == src || dst->nlanes != src->nlanes)
        return -1;
    int rc = -1;
    ev_iset *u = NULL;
    if (dst->nlanes > 0) {
        u = calloc(dst->nlanes, sizeof(ev_iset));
        if (!u)
            goto out;
    }
    /* Phase 1: every union into scratch sets; nothing of dst changes yet. */
    for (uint32_t i = 0; i < dst->nlanes; i++)
        if (ev_iset_union(&u[i], &dst->lanes[i].seen, &src->lanes[i].seen) < 0)
            goto out;
    /* Phase 2: commit (cannot fail). The scratch array then holds dst's old
     * sets, freed below. */
    for (uint32_t i = 0; i < dst->nlanes; i++) {
        ev_iset old = dst->lanes[i].seen;
        dst->lanes[i].seen = u[i];
        u[i] = old;
        dst->lanes[i].deliveries += src->lanes[i].deliveries;
        dst->lanes[i].flagged += src->lanes[i].flagged;
    }
    dst->received += src->received;
    dst->reordered += src->reordered;
    dst->corrupted += src->corrupted;
    dst->foreign += src->foreign;
    dst->unknown += src->unknown;
    rc = 0;
out:
    if (u) {
        for (uint32_t i = 0; i < dst->nlanes; i++)
            ev_iset_clear(&u[i]);
        free(u);
    }
    return rc;
}

void ev_ledger_reset(ev_ledger *l)
{
    for (uint32_t i = 0; i < l->nlanes; i++) {
        ev_iset_clear(&l->lanes[i].seen);
        l->lanes[i].deliveries = l->lanes[i].flagged = 0;
    }
    l->received = l->reordered = l->corrupted = l->foreign = l->unknown = 0;
}

void ev_ledger_reconcile(const ev_ledger *l, const ev_publane *pubs, ev_ledger_counts *out)
{
    ev_ledger_counts c = {0};
    for (uint32_t i = 0; i < l->nlanes; i++) {
        const ev_lane *ln = &l->lanes[i];
        const ev_iset *S = &ln->seen, *F = &pubs[i].failed;
        uint64_t sent = pubs[i].sent;
        /* F is clipped to [1, sent]: the lane attempted nothing else. S holds
         * no 0, so S ∩ [1, sent] is everything seen that the lane sent. */
        uint64_t f = ev_iset_count_range(F, 1, sent);
        uint64_t s_in = ev_iset_count_range(S, 1, sent);
        uint64_t sf = ev_iset_count_common_range(S, F, 1, sent);
        uint64_t delivered = s_in - sf;
        uint64_t dup = ln->deliveries - S->count;
        c.delivered += delivered;
        c.recovered += sf;
        c.lost += (sent - f) - delivered;
        c.unconfirmed += f - sf;
        c.duplicated += dup;
        c.redelivered += ln->flagged < dup ? ln->flagged : dup;
        c.foreign += S->count - s_in; /* seqs seen above sent, once each */
    }
    c.received = l->received;
    c.reordered = l->reordered;
    c.corrupted = l->corrupted;
    c.foreign += l->foreign;
    *out = c;
}

uint64_t ev_ledger_gaps(const ev_ledger *l, const ev_publane *pubs)
{
    uint64_t gaps = 0;
    for (uint32_t i = 0; i < l->nlanes; i++) {
        const ev_iset *S = &l->lanes[i].seen, *F = &pubs[i].failed;
        uint64_t hwm = ev_iset_max(S);
        if (hwm > pubs[i].sent)
            hwm = pubs[i].sent;
        if (hwm == 0)
            continue;
        uint64_t acked = hwm - ev_iset_count_range(F, 1, hwm);
        uint64_t seen_acked =
            ev_iset_count_range(S, 1, hwm) - ev_iset_count_common_range(S, F, 1, hwm);
        gaps += acked - seen_acked;
    }
    return gaps;
}

uint64_t ev_ledger_received(const ev_ledger *l)
{
    return l->received;
}

uint64_t ev_ledger_distinct(const ev_ledger *l)
{
    uint64_t d = 0;
    for (uint32_t i = 0; i < l->nlanes; i++)
        d += l->lanes[i].seen.count;
    return d;
}

size_t ev_ledger_heap_bytes(const ev_ledger *l)
{
    size_t b = sizeof(*l) + (size_t)l->nlanes * sizeof(ev_lane);
    for (uint32_t i = 0; i < l->nlanes; i++)
        b += ev_iset_heap_bytes(&l->lanes[i].seen);
    return b;
}
