/* ev_ledger — per-lane interval sets of seen seqs, and the reconcile that turns
 * them into the classes of docs/design.md §3.1 (see ev_ledger.h).
 *
 * Design notes
 *
 * What is stored. Per lane: k nested layers of seen seqs (S_1 ⊇ … ⊇ S_k, one
 * per expected copy), the late set L, the number of sightings recorded on the
 * lane (every copy, late or not), and how many the broker flagged as
 * redeliveries. Per ledger: reordered, corrupted, foreign, unexpected, and
 * received. Nothing is stored per event, so memory is O(lanes × copies +
 * gaps): 100 M in-order sightings on a lane occupy the same single interval
 * as 1 k (bench/bench_ledger.c measures it).
 *
 * What is derived. Every class depends on what the publishers report and on
 * the union over a group's consumers, so it is computed only in reconcile,
 * from interval counts: O(lanes × copies + intervals), never O(events).
 * The late-only set L \ S_1 is counted (L's counts minus L ∩ S_1's) rather
 * than built, so reconcile, missing and gaps never allocate and cannot fail.
 *
 * Seqs above what the lane sent. The caller refuses them before see(), but
 * the ledger does not know sent until reconcile and records them like any
 * other: there each recorded copy of such a seq (every layer, and L \ S_1)
 * is foreign and copies beyond k are duplicates, so every sighting still
 * lands in exactly one class.
 *
 * Why a corrupted copy is not a sighting: its bytes were changed somewhere,
 * so its identity is no proof the event arrived, and a forged identity must
 * not fill a gap, move the lane's maximum (and so make later genuine events
 * look reordered) or make the genuine copy a duplicate.
 *
 * Why redelivered is min(flagged, duplicated) per lane: a broker may flag a
 * copy whose first delivery this group never recorded (e.g. the consumer died
 * before acking); such a copy is not an extra delivery.
 *
 * Merging k > 1 layers: the j-th layer of a multiset sum holds the seqs seen
 * at least j times in all, i.e. ∪ over a + b ≥ j of (S_a ∩ S'_b) with S_0 the
 * universe; computed with interval intersections, O(k²) set operations per
 * lane. k = 1 is a plain union.
 *
 * Failure. see() changes nothing unless the sighting was recorded; merge
 * builds every lane's new layers first and commits only when all succeeded. */
#include "ev_ledger.h"

#include <stdlib.h>
#include <string.h>

typedef struct ev_lane {
    ev_iset *layer;      /* [copies]: S_1 ⊇ S_2 ⊇ … */
    ev_iset late;        /* L: seqs sighted in the final sweep (copies == 1) */
    uint64_t deliveries; /* sightings recorded, every copy, late or not */
    uint64_t flagged;    /* of those, flagged EV_SEE_REDELIVERED */
    /* Per-lane shares of the ledger's reordered and corrupted (a corrupted
     * copy counts on the lane its damaged identity names, when in range), for
     * classes per stream; the ledger's own counters stay the totals. */
    uint64_t reordered, corrupted;
} ev_lane;

struct ev_ledger {
    uint32_t nlanes, copies;
    int ordered;
    ev_lane *lanes;      /* owned, nlanes entries; NULL when nlanes == 0 */
    ev_iset *layers;     /* backing store of every lane's layers */
    uint64_t received;   /* every delivery */
    uint64_t reordered;  /* first sightings below the lane maximum (ordered only) */
    uint64_t corrupted;  /* damaged deliveries (never sightings) */
    uint64_t foreign;    /* foreign messages and out-of-range identities */
    uint64_t unexpected; /* arrivals the output does not expect */
};

ev_ledger *ev_ledger_new(uint32_t nlanes, int ordered, uint32_t copies)
{
    ev_ledger *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->nlanes = nlanes;
    l->ordered = ordered != 0;
    l->copies = copies ? copies : 1;
    if (l->copies > EV_LEDGER_MAX_COPIES) {
        free(l);
        return NULL;
    }
    if (nlanes > 0) {
        /* calloc: an all-zero ev_iset is a valid empty set. */
        l->lanes = calloc(nlanes, sizeof(ev_lane));
        l->layers = calloc((size_t)nlanes * l->copies, sizeof(ev_iset));
        if (!l->lanes || !l->layers) {
            free(l->lanes);
            free(l->layers);
            free(l);
            return NULL;
        }
        for (uint32_t i = 0; i < nlanes; i++)
            l->lanes[i].layer = &l->layers[(size_t)i * l->copies];
    }
    return l;
}

void ev_ledger_free(ev_ledger *l)
{
    if (!l)
        return;
    ev_ledger_reset(l);
    free(l->lanes);
    free(l->layers);
    free(l);
}

/* The first layer of ln not holding seq (copies when every one does). */
static uint32_t first_free(const ev_ledger *l, const ev_lane *ln, uint64_t seq)
{
    uint32_t j = 0;
    while (j < l->copies && ev_iset_contains(&ln->layer[j], seq))
        j++;
    return j;
}

int ev_ledger_see(ev_ledger *l, uint32_t lane, uint64_t seq, unsigned flags)
{
    if (flags & EV_SEE_CORRUPTED) {
        l->received++;
        l->corrupted++;
        if (lane < l->nlanes && seq)
            l->lanes[lane].corrupted++;
        return EV_SEE_CORRUPT;
    }
    if (lane >= l->nlanes || seq == 0) {
        ev_ledger_foreign(l);
        return EV_SEE_FOREIGN;
    }
    ev_lane *ln = &l->lanes[lane];
    uint64_t prev_max = ev_iset_max(&ln->layer[0]);
    int r = 0, res = EV_SEE_DUP;
    if ((flags & EV_SEE_LATE) && l->copies == 1) {
        /* The final sweep: late unless already seen in time. */
        if (!ev_iset_contains(&ln->layer[0], seq) && (r = ev_iset_add(&ln->late, seq)) < 0)
            return -1;
        res = r == 1 ? EV_SEE_NEW : EV_SEE_DUP;
    } else {
        uint32_t j = first_free(l, ln, seq);
        if (j < l->copies) {
            if (ev_iset_add(&ln->layer[j], seq) < 0)
                return -1;
            res = j == 0 ? EV_SEE_NEW : EV_SEE_COPY;
        }
    }
    l->received++;
    ln->deliveries++;
    if (flags & EV_SEE_REDELIVERED)
        ln->flagged++;
    if (res == EV_SEE_NEW && !(flags & EV_SEE_LATE) && l->ordered && seq < prev_max) {
        l->reordered++;
        ln->reordered++;
    }
    return res;
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
}

void ev_ledger_unexpected(ev_ledger *l)
{
    l->received++;
    l->unexpected++;
}

/* out[0..k) = the multiset sum of layers a and b, capped at k (see the notes). */
static int layers_sum(ev_iset *out, const ev_iset *a, const ev_iset *b, uint32_t k)
{
    ev_iset tmp = EV_ISET_INIT;
    int rc = 0;
    for (uint32_t j = 1; j <= k && !rc; j++) {
        ev_iset *m = &out[j - 1];
        rc = ev_iset_union(m, &a[j - 1], &b[j - 1]);
        for (uint32_t x = 1; x < j && !rc; x++) {
            rc = ev_iset_intersect(&tmp, &a[x - 1], &b[j - x - 1]);
            if (!rc)
                rc = ev_iset_union(m, m, &tmp);
        }
    }
    ev_iset_clear(&tmp);
    return rc;
}

int ev_ledger_merge(ev_ledger *dst, const ev_ledger *src)
{
    if (dst == src || dst->nlanes != src->nlanes || dst->copies != src->copies)
        return -1;
    uint32_t k = dst->copies;
    size_t nsets = (size_t)dst->nlanes * (k + 1);
    int rc = -1;
    ev_iset *u = nsets ? calloc(nsets, sizeof(ev_iset)) : NULL;
    if (nsets && !u)
        goto out;
    /* Phase 1: every new set into scratch; nothing of dst changes yet. */
    for (uint32_t i = 0; i < dst->nlanes; i++) {
        ev_iset *ui = &u[(size_t)i * (k + 1)];
        const ev_lane *a = &dst->lanes[i], *b = &src->lanes[i];
        if ((k == 1 ? ev_iset_union(&ui[0], &a->layer[0], &b->layer[0])
                    : layers_sum(ui, a->layer, b->layer, k)) < 0 ||
            ev_iset_union(&ui[k], &a->late, &b->late) < 0)
            goto out;
    }
    /* Phase 2: commit (cannot fail); scratch then holds dst's old sets. */
    for (uint32_t i = 0; i < dst->nlanes; i++) {
        ev_iset *ui = &u[(size_t)i * (k + 1)];
        ev_lane *a = &dst->lanes[i];
        for (uint32_t j = 0; j < k; j++) {
            ev_iset old = a->layer[j];
            a->layer[j] = ui[j];
            ui[j] = old;
        }
        ev_iset old = a->late;
        a->late = ui[k];
        ui[k] = old;
        a->deliveries += src->lanes[i].deliveries;
        a->flagged += src->lanes[i].flagged;
        a->reordered += src->lanes[i].reordered;
        a->corrupted += src->lanes[i].corrupted;
    }
    dst->received += src->received;
    dst->reordered += src->reordered;
    dst->corrupted += src->corrupted;
    dst->foreign += src->foreign;
    dst->unexpected += src->unexpected;
    rc = 0;
out:
    for (size_t i = 0; u && i < nsets; i++)
        ev_iset_clear(&u[i]);
    free(u);
    return rc;
}

void ev_ledger_reset(ev_ledger *l)
{
    for (uint32_t i = 0; i < l->nlanes; i++) {
        for (uint32_t j = 0; j < l->copies; j++)
            ev_iset_clear(&l->lanes[i].layer[j]);
        ev_iset_clear(&l->lanes[i].late);
        l->lanes[i].deliveries = l->lanes[i].flagged = 0;
        l->lanes[i].reordered = l->lanes[i].corrupted = 0;
    }
    l->received = l->reordered = l->corrupted = l->foreign = l->unexpected = 0;
}

/* Per-lane figures of reconcile before pending is decided. */
typedef struct lane_sums {
    uint64_t delivered, late, recovered, unconfirmed, missing, duplicated, redelivered, foreign;
} lane_sums;

/* |a ∩ b ∩ c ∩ [lo, hi]|, without allocating: the merge walk of a and b
 * (as ev_iset_count_common_range), each common piece counted in c. */
static uint64_t count_common3(const ev_iset *a, const ev_iset *b, const ev_iset *c, uint64_t lo,
                              uint64_t hi)
{
    uint64_t n = 0;
    for (size_t i = 0, j = 0; lo <= hi && i < a->n && j < b->n;) {
        const ev_ival *x = &a->v[i], *y = &b->v[j];
        uint64_t s = x->lo > y->lo ? x->lo : y->lo, e = x->hi < y->hi ? x->hi : y->hi;
        if (s > hi)
            break; /* every later piece starts later still */
        if (s < lo)
            s = lo;
        if (e > hi)
            e = hi;
        if (s <= e)
            n += ev_iset_count_range(c, s, e);
        if (x->hi < y->hi)
            i++;
        else
            j++;
    }
    return n;
}

/* Counts only, never allocates: reconcile cannot fail. Seq 0 is never in a
 * layer or in L (see() refuses it), so a set's members above sent are its
 * count minus those in [1, sent] (sent + 1 could wrap). */
static void lane_reconcile(const ev_ledger *l, const ev_lane *ln, const ev_publane *pub,
                           lane_sums *s)
{
    const ev_iset *F = &pub->failed, *S1 = &ln->layer[0], *L = &ln->late;
    uint64_t sent = pub->sent, k = l->copies, recorded = 0;
    /* F is clipped to [1, sent]: the lane attempted nothing else. */
    uint64_t f = ev_iset_count_range(F, 1, sent);
    memset(s, 0, sizeof *s);
    for (uint32_t j = 0; j < l->copies; j++) {
        const ev_iset *Sj = &ln->layer[j];
        uint64_t in = ev_iset_count_range(Sj, 1, sent);
        uint64_t sf = ev_iset_count_common_range(Sj, F, 1, sent);
        s->delivered += in - sf;
        s->recovered += sf;
        /* Every recorded copy of a seq above sent is foreign, not only the
         * first: S_1 alone would leave the others in no class. */
        s->foreign += Sj->count - in;
        recorded += Sj->count;
    }
    if (L->count) {
        /* L' = L \ S_1: seen only in the sweep (a merge may have brought a
         * consumer's in-time sighting of a seq another saw late). Counted as
         * L minus L ∩ S_1, range by range, rather than built: building it
         * could fail, and reconcile has no way to say so. */
        uint64_t all = L->count - ev_iset_count_common(L, S1);
        uint64_t in = ev_iset_count_range(L, 1, sent) - ev_iset_count_common_range(L, S1, 1, sent);
        uint64_t lf = ev_iset_count_common_range(L, F, 1, sent) - count_common3(L, S1, F, 1, sent);
        s->late = in - lf;
        s->recovered += lf;
        s->foreign += all - in;
        recorded += all;
    }
    s->unconfirmed = k * f - s->recovered;
    s->missing = k * (sent - f) - s->delivered - s->late;
    s->duplicated = ln->deliveries - recorded;
    s->redelivered = ln->flagged < s->duplicated ? ln->flagged : s->duplicated;
}

void ev_ledger_reconcile(const ev_ledger *l, const ev_publane *pubs, uint64_t may_remain,
                         ev_ledger_counts *out)
{
    ev_ledger_counts c = {0};
    uint64_t missing = 0;
    for (uint32_t i = 0; i < l->nlanes; i++) {
        lane_sums s;
        if (pubs[i].unknown)
            continue;
        lane_reconcile(l, &l->lanes[i], &pubs[i], &s);
        c.delivered += s.delivered;
        c.late += s.late;
        c.recovered += s.recovered;
        c.unconfirmed += s.unconfirmed;
        c.duplicated += s.duplicated;
        c.redelivered += s.redelivered;
        c.foreign += s.foreign;
        missing += s.missing;
    }
    /* What may still be in the system is pending, not lost: lost is never a
     * guess (ev_ledger.h). */
    c.pending = missing < may_remain ? missing : may_remain;
    c.lost = missing - c.pending;
    c.received = l->received;
    c.reordered = l->reordered;
    c.corrupted = l->corrupted;
    c.foreign += l->foreign;
    c.unexpected = l->unexpected;
    *out = c;
}

void ev_ledger_reconcile_lanes(const ev_ledger *l, const ev_publane *pubs, const uint8_t *sel,
                               uint64_t may_remain, ev_ledger_counts *out)
{
    ev_ledger_counts c = {0};
    uint64_t missing = 0;
    for (uint32_t i = 0; i < l->nlanes; i++) {
        lane_sums s;
        const ev_lane *ln = &l->lanes[i];
        if (!sel[i] || pubs[i].unknown) {
            /* Another stream's, or another instance's lane: only the copies
             * it holds of this lane are not this selection's. */
            continue;
        }
        lane_reconcile(l, ln, &pubs[i], &s);
        c.delivered += s.delivered;
        c.late += s.late;
        c.recovered += s.recovered;
        c.unconfirmed += s.unconfirmed;
        c.duplicated += s.duplicated;
        c.redelivered += s.redelivered;
        c.foreign += s.foreign;
        c.reordered += ln->reordered;
        c.corrupted += ln->corrupted;
        c.received += ln->deliveries + ln->corrupted;
        missing += s.missing;
    }
    c.pending = missing < may_remain ? missing : may_remain;
    c.lost = missing - c.pending;
    *out = c;
}

uint64_t ev_ledger_gaps(const ev_ledger *l, const ev_publane *pubs)
{
    uint64_t gaps = 0;
    for (uint32_t i = 0; i < l->nlanes; i++) {
        const ev_iset *S = &l->lanes[i].layer[0], *F = &pubs[i].failed;
        if (pubs[i].unknown)
            continue;
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

uint64_t ev_ledger_missing(const ev_ledger *l, const ev_publane *pubs)
{
    uint64_t missing = 0;
    for (uint32_t i = 0; i < l->nlanes; i++) {
        lane_sums s;
        if (pubs[i].unknown)
            continue;
        lane_reconcile(l, &l->lanes[i], &pubs[i], &s);
        missing += s.missing;
    }
    return missing;
}

int ev_ledger_missing_set(const ev_ledger *l, const ev_publane *pubs, uint32_t lane, ev_iset *out)
{
    ev_iset all = EV_ISET_INIT, tmp = EV_ISET_INIT;
    int rc = -1;
    if (lane >= l->nlanes)
        goto out;
    if (pubs[lane].unknown) {
        ev_iset_clear(out);
        rc = 0;
        goto out;
    }
    const ev_lane *ln = &l->lanes[lane];
    uint64_t sent = pubs[lane].sent;
    if (sent && ev_iset_add(&all, 1) < 0)
        goto out;
    if (sent > 1) { /* [1, sent] as one interval */
        all.v[0].hi = sent;
        all.count = sent;
    }
    /* An event is missing while its last expected copy is: S_k. */
    if (ev_iset_subtract(&tmp, &all, &pubs[lane].failed) < 0 ||
        ev_iset_subtract(&tmp, &tmp, &ln->layer[l->copies - 1]) < 0 ||
        ev_iset_subtract(out, &tmp, &ln->late) < 0)
        goto out;
    rc = 0;
out:
    ev_iset_clear(&all);
    ev_iset_clear(&tmp);
    return rc;
}

uint64_t ev_ledger_received(const ev_ledger *l)
{
    return l->received;
}

uint64_t ev_ledger_distinct(const ev_ledger *l)
{
    uint64_t d = 0;
    for (uint32_t i = 0; i < l->nlanes; i++)
        d += l->lanes[i].layer[0].count;
    return d;
}

size_t ev_ledger_heap_bytes(const ev_ledger *l)
{
    size_t b = sizeof(*l) + (size_t)l->nlanes * (sizeof(ev_lane) + l->copies * sizeof(ev_iset));
    for (uint32_t i = 0; i < l->nlanes; i++) {
        for (uint32_t j = 0; j < l->copies; j++)
            b += ev_iset_heap_bytes(&l->lanes[i].layer[j]);
        b += ev_iset_heap_bytes(&l->lanes[i].late);
    }
    return b;
}

uint32_t ev_ledger_lanes(const ev_ledger *l)
{
    return l->nlanes;
}

uint32_t ev_ledger_copies(const ev_ledger *l)
{
    return l->copies;
}

int ev_ledger_ordered(const ev_ledger *l)
{
    return l->ordered;
}

void ev_ledger_lane(const ev_ledger *l, uint32_t lane, ev_ledger_lane_view *v)
{
    const ev_lane *ln = &l->lanes[lane];
    *v = (ev_ledger_lane_view){.layers = ln->layer,
                               .late = &ln->late,
                               .deliveries = ln->deliveries,
                               .flagged = ln->flagged,
                               .reordered = ln->reordered,
                               .corrupted = ln->corrupted};
}

void ev_ledger_get_totals(const ev_ledger *l, ev_ledger_totals *t)
{
    *t = (ev_ledger_totals){l->received, l->reordered, l->corrupted, l->foreign, l->unexpected};
}

int ev_ledger_set_lane(ev_ledger *l, uint32_t lane, const ev_ledger_lane_view *v)
{
    if (lane >= l->nlanes)
        return -1;
    ev_iset tmp[EV_LEDGER_MAX_COPIES + 1];
    memset(tmp, 0, sizeof tmp);
    uint32_t k = l->copies;
    int rc = 0;
    for (uint32_t j = 0; j < k && !rc; j++)
        rc = ev_iset_copy(&tmp[j], &v->layers[j]);
    if (!rc)
        rc = ev_iset_copy(&tmp[k], v->late);
    if (!rc) {
        ev_lane *ln = &l->lanes[lane];
        for (uint32_t j = 0; j < k; j++) {
            ev_iset old = ln->layer[j];
            ln->layer[j] = tmp[j];
            tmp[j] = old;
        }
        ev_iset old = ln->late;
        ln->late = tmp[k];
        tmp[k] = old;
        ln->deliveries = v->deliveries;
        ln->flagged = v->flagged;
        ln->reordered = v->reordered;
        ln->corrupted = v->corrupted;
    }
    for (uint32_t j = 0; j <= k; j++)
        ev_iset_clear(&tmp[j]);
    return rc ? -1 : 0;
}

void ev_ledger_set_totals(ev_ledger *l, const ev_ledger_totals *t)
{
    l->received = t->received;
    l->reordered = t->reordered;
    l->corrupted = t->corrupted;
    l->foreign = t->foreign;
    l->unexpected = t->unexpected;
}
