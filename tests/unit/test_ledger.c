/* Unit tests for ev_ledger against the contract in src/ev_ledger.h: the known
 * scenarios one by one (drop, duplicate, reorder, failed publishes, foreign,
 * corrupted, unexpected, late, k copies, pending), the merge of a group's
 * consumers, the memory bound, and a randomized model whose every class is
 * compared with a naive per-(lane, seq) count: three lanes, three competing
 * consumers, k ∈ {1, 2, 3} copies, a publisher with failures, a broker that
 * drops, duplicates, reorders and corrupts, noise (foreign, unreadable,
 * unexpected, forged identities), a final sweep flagged late, and several
 * may_remain; merged in three orders; 1800 seeds. */
#include "ev_ledger.h"
#include "ev_test.h"

#include <stdint.h>

/* ---- helpers ---------------------------------------------------------------- */

static ev_ledger *new_ledger(uint32_t nlanes, int ordered, uint32_t copies)
{
    ev_ledger *l = ev_ledger_new(nlanes, ordered, copies);
    CHECK(l != NULL);
    return l;
}

/* Sees lo..hi on lane with flags; each see() must return want. */
static void see_range(ev_ledger *l, uint32_t lane, uint64_t lo, uint64_t hi, unsigned flags,
                      int want)
{
    for (uint64_t q = lo; q <= hi; q++)
        CHECK_INT(ev_ledger_see(l, lane, q, flags), ==, want);
}

static void pub_fail(ev_publane *p, uint64_t seq)
{
    CHECK_INT(ev_iset_add(&p->failed, seq), ==, 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Every identity of ev_ledger.h for c = reconcile(l, pubs, may_remain), with
 * k copies expected per event. */
static void check_identities(const ev_ledger *l, const ev_ledger_counts *c, const ev_publane *pubs,
                             uint32_t nlanes, uint32_t k, uint64_t may_remain)
{
    uint64_t sent = 0, failed = 0;
    for (uint32_t i = 0; i < nlanes; i++) {
        sent += pubs[i].sent;
        failed += ev_iset_count_range(&pubs[i].failed, 1, pubs[i].sent);
    }
    uint64_t acked = sent - failed, missing = c->lost + c->pending;
    CHECK_U64(c->delivered + c->late + c->lost + c->pending, ==, k * acked);
    CHECK_U64(c->unconfirmed + c->recovered, ==, k * failed);
    CHECK_U64(c->delivered + c->late + c->lost + c->pending + c->unconfirmed + c->recovered, ==,
              k * sent);
    CHECK_U64(c->received, ==,
              c->delivered + c->late + c->recovered + c->duplicated + c->corrupted + c->foreign +
                  c->unexpected);
    CHECK_U64(c->received, ==, ev_ledger_received(l));
    CHECK_U64(c->redelivered, <=, c->duplicated);
    CHECK_U64(c->pending, ==, min_u64(missing, may_remain));
    CHECK_U64(missing, ==, ev_ledger_missing(l, pubs));
    if (k > 1)
        CHECK_U64(c->late, ==, 0);
    /* missing_set holds each event short of a copy once: with k = 1 exactly
     * the missing copies, with k > 1 between missing / k and missing. */
    uint64_t listed = 0;
    ev_iset m = EV_ISET_INIT;
    for (uint32_t i = 0; i < nlanes; i++) {
        CHECK_INT(ev_ledger_missing_set(l, pubs, i, &m), ==, 0);
        CHECK_U64(ev_iset_count_common(&m, &pubs[i].failed), ==, 0);
        CHECK_U64(ev_iset_count_range(&m, 1, pubs[i].sent), ==, m.count);
        listed += m.count;
    }
    ev_iset_clear(&m);
    CHECK_U64(listed, <=, missing);
    CHECK_U64(k * listed, >=, missing);
    if (k == 1)
        CHECK_U64(listed, ==, missing);
}

static void reconcile(const ev_ledger *l, const ev_publane *pubs, uint32_t nlanes, uint32_t k,
                      uint64_t may_remain, ev_ledger_counts *c)
{
    ev_ledger_reconcile(l, pubs, may_remain, c);
    check_identities(l, c, pubs, nlanes, k, may_remain);
}

/* missing_set(l, lane) must be exactly the intervals iv[0..n) (lo, hi pairs). */
static void check_missing_set(const ev_ledger *l, const ev_publane *pubs, uint32_t lane,
                              const uint64_t *iv, size_t n)
{
    ev_iset m = EV_ISET_INIT;
    CHECK_INT(ev_iset_add(&m, 999999), ==, 1); /* old contents must go */
    CHECK_INT(ev_ledger_missing_set(l, pubs, lane, &m), ==, 0);
    CHECK_U64(m.n, ==, n);
    for (size_t i = 0; i < n && i < m.n; i++) {
        CHECK_U64(m.v[i].lo, ==, iv[2 * i]);
        CHECK_U64(m.v[i].hi, ==, iv[2 * i + 1]);
    }
    ev_iset_clear(&m);
}

/* ---- known scenarios, one copy ---------------------------------------------- */

static void test_in_order(void)
{
    ev_ledger *l = new_ledger(1, 1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 10, 0, EV_SEE_NEW);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.received, ==, 10);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.late + c.pending + c.lost + c.duplicated + c.redelivered, ==, 0);
    CHECK_U64(c.unconfirmed + c.recovered + c.reordered + c.corrupted + c.foreign, ==, 0);
    CHECK_U64(c.unexpected, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    CHECK_U64(ev_ledger_missing(l, &p), ==, 0);
    CHECK_U64(ev_ledger_received(l), ==, 10);
    CHECK_U64(ev_ledger_distinct(l), ==, 10);
    check_missing_set(l, &p, 0, NULL, 0);
    /* Not everything arrived yet: the missing tail is lost, not a gap. */
    p.sent = 12;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.lost, ==, 2);
    CHECK_U64(c.pending, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    CHECK_U64(ev_ledger_missing(l, &p), ==, 2);
    uint64_t tail[] = {11, 12};
    check_missing_set(l, &p, 0, tail, 1);
    ev_ledger_free(l);
    ev_ledger_free(NULL);
}

static void test_drop(void)
{
    ev_ledger *l = new_ledger(1, 1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 3, 0, EV_SEE_NEW);
    see_range(l, 0, 5, 10, 0, EV_SEE_NEW);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 9);
    CHECK_U64(c.lost, ==, 1);
    CHECK_U64(c.duplicated + c.reordered + c.unconfirmed + c.recovered, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 1);
    uint64_t four[] = {4, 4};
    check_missing_set(l, &p, 0, four, 1);
    /* gaps is capped at what the publisher has reported sent so far. */
    p.sent = 4;
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 1);
    p.sent = 3;
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    ev_ledger_free(l);
}

static void test_dup(void)
{
    ev_ledger *l = new_ledger(1, 1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 10, 0, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_DUP);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.redelivered, ==, 0);
    CHECK_U64(c.reordered, ==, 0); /* a duplicate is never a reorder */
    /* A broker-flagged copy is a redelivery. */
    CHECK_INT(ev_ledger_see(l, 0, 7, EV_SEE_REDELIVERED), ==, EV_SEE_DUP);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.duplicated, ==, 2);
    CHECK_U64(c.redelivered, ==, 1);
    ev_ledger_free(l);

    /* A flagged first sighting is no extra copy: redelivered stays 0. */
    l = new_ledger(1, 1, 1);
    CHECK_INT(ev_ledger_see(l, 0, 1, EV_SEE_REDELIVERED), ==, EV_SEE_NEW);
    see_range(l, 0, 2, 10, 0, EV_SEE_NEW);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.redelivered, ==, 0);
    ev_ledger_free(l);
}

static void test_reorder(void)
{
    static const uint64_t order[] = {1, 2, 4, 3, 5, 7, 6, 6, 3, 8};
    ev_publane p = {.sent = 8};
    for (int ordered = 0; ordered <= 1; ordered++) {
        ev_ledger *l = new_ledger(1, ordered, 1);
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            CHECK_INT(ev_ledger_see(l, 0, order[i], 0), ==,
                      i == 7 || i == 8 ? EV_SEE_DUP : EV_SEE_NEW);
        ev_ledger_counts c;
        reconcile(l, &p, 1, 1, 0, &c);
        CHECK_U64(c.reordered, ==, ordered ? 2 : 0); /* 3 after 4, 6 after 7 */
        CHECK_U64(c.delivered, ==, 8);
        CHECK_U64(c.duplicated, ==, 2);
        CHECK_U64(c.lost, ==, 0);
        ev_ledger_free(l);
    }
}

static void test_failed_seen_and_unseen(void)
{
    ev_ledger *l = new_ledger(1, 0, 1);
    ev_publane p = {.sent = 10};
    pub_fail(&p, 3);
    pub_fail(&p, 8);
    see_range(l, 0, 1, 7, 0, EV_SEE_NEW); /* 3 seen: recovered; 8 never seen: unconfirmed */
    see_range(l, 0, 9, 10, 0, EV_SEE_NEW);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 8);
    CHECK_U64(c.recovered, ==, 1);
    CHECK_U64(c.unconfirmed, ==, 1);
    CHECK_U64(c.lost + c.pending, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0); /* an unconfirmed seq is no gap */
    CHECK_U64(ev_ledger_missing(l, &p), ==, 0);
    check_missing_set(l, &p, 0, NULL, 0); /* nor missing */
    /* A failed seq outside 1..sent is ignored. */
    pub_fail(&p, 11);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.unconfirmed, ==, 1);
    CHECK_U64(c.delivered + c.lost + c.unconfirmed + c.recovered, ==, 10);
    ev_iset_clear(&p.failed);
    ev_ledger_free(l);
}

static void test_foreign(void)
{
    ev_ledger *l = new_ledger(2, 1, 1);
    ev_publane p[2] = {{.sent = 3}, {.sent = 3}};
    see_range(l, 0, 1, 3, 0, EV_SEE_NEW);
    see_range(l, 1, 1, 3, 0, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 2, 1, 0), ==, EV_SEE_FOREIGN);
    CHECK_INT(ev_ledger_see(l, UINT32_MAX, 1, EV_SEE_REDELIVERED), ==, EV_SEE_FOREIGN);
    CHECK_INT(ev_ledger_see(l, 0, 0, 0), ==, EV_SEE_FOREIGN); /* seq 0 is invalid */
    CHECK_INT(ev_ledger_see(l, 5, 1, EV_SEE_LATE), ==, EV_SEE_FOREIGN);
    ev_ledger_foreign(l);
    ev_ledger_counts c;
    reconcile(l, p, 2, 1, 0, &c);
    CHECK_U64(c.foreign, ==, 5);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 6);
    CHECK_U64(c.duplicated + c.redelivered + c.reordered + c.lost + c.late + c.corrupted, ==, 0);
    CHECK_U64(ev_ledger_distinct(l), ==, 6);
    ev_ledger_free(l);
}

static void test_above_sent(void)
{
    ev_ledger *l = new_ledger(1, 1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 12, 0, EV_SEE_NEW);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.foreign, ==, 2);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    /* An extra copy of an above-sent seq is a duplicate; the first copy stays
     * foreign. */
    CHECK_INT(ev_ledger_see(l, 0, 12, 0), ==, EV_SEE_DUP);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.foreign, ==, 2);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.received, ==, 13);
    ev_ledger_free(l);

    /* With k copies, each of the k expected copies of a seq never sent is
     * foreign (the model found reconcile counting only the first, which left
     * the others in no class: received > the sum of the classes); copies
     * beyond k are duplicates, as with one copy. */
    for (uint32_t k = 2; k <= 3; k++) {
        l = new_ledger(1, 1, k);
        p.sent = 3;
        see_range(l, 0, 1, 3, 0, EV_SEE_NEW);
        for (uint32_t j = 0; j < k; j++)
            CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, j ? EV_SEE_COPY : EV_SEE_NEW);
        CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_DUP);
        CHECK_INT(ev_ledger_see(l, 0, 4, EV_SEE_LATE), ==, EV_SEE_NEW);
        reconcile(l, &p, 1, k, 0, &c);
        CHECK_U64(c.received, ==, 3 + k + 1 + 1);
        CHECK_U64(c.foreign, ==, k + 1);
        CHECK_U64(c.duplicated, ==, 1);
        CHECK_U64(c.delivered, ==, 3);
        CHECK_U64(c.lost, ==, 3 * (k - 1));
        ev_ledger_free(l);
    }
}

/* ---- corrupted, unexpected ---------------------------------------------------- */

/* A corrupted delivery is counted corrupted and is never a sighting: it does
 * not fill a gap, move the lane's maximum, or make the genuine copy a
 * duplicate, whatever identity it claims. */
static void test_corrupted_not_a_sighting(void)
{
    ev_publane p = {.sent = 10};
    ev_ledger_counts c;

    /* It does not fill a gap: 5 arrived only damaged, so it is lost. */
    ev_ledger *l = new_ledger(1, 0, 1);
    see_range(l, 0, 1, 4, 0, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    see_range(l, 0, 6, 10, 0, EV_SEE_NEW);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.received, ==, 10);
    CHECK_U64(c.corrupted, ==, 1);
    CHECK_U64(c.delivered, ==, 9);
    CHECK_U64(c.lost, ==, 1);
    CHECK_U64(c.duplicated + c.foreign + c.recovered + c.unconfirmed, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 1);
    CHECK_U64(ev_ledger_distinct(l), ==, 9);
    uint64_t five[] = {5, 5};
    check_missing_set(l, &p, 0, five, 1);
    /* ... nor does one whose identity could not be read at all. */
    ev_ledger_corrupt_unknown(l);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.corrupted, ==, 2);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 9);
    CHECK_U64(c.foreign, ==, 0);
    ev_ledger_free(l);

    /* It does not move the lane maximum: a forged 9 after 1, then the genuine
     * 2..10, is no reorder (and the genuine 9 is new). */
    l = new_ledger(1, 1, 1);
    CHECK_INT(ev_ledger_see(l, 0, 1, 0), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 9, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0); /* nor the provisional loss */
    see_range(l, 0, 2, 10, 0, EV_SEE_NEW);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.reordered, ==, 0);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.corrupted, ==, 1);
    ev_ledger_free(l);

    /* A forged first copy followed by the genuine one: the genuine one is
     * new, not a duplicate; and a flagged damaged copy is no redelivery. */
    l = new_ledger(1, 1, 1);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED | EV_SEE_REDELIVERED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_DUP);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 1);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.redelivered, ==, 0);
    CHECK_U64(c.corrupted, ==, 2);
    CHECK_U64(c.lost, ==, 9);
    ev_ledger_free(l);

    /* With k copies, a damaged copy is not one of them. */
    l = new_ledger(1, 0, 2);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_COPY);
    reconcile(l, &p, 1, 2, 0, &c);
    CHECK_U64(c.delivered, ==, 2);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.corrupted, ==, 2);
    CHECK_U64(c.lost, ==, 18);
    ev_ledger_free(l);

    /* Damaged whatever it claims: an identity that would be foreign, and a
     * damaged late copy, are corrupted only. */
    l = new_ledger(2, 1, 1);
    ev_publane p2[2] = {{.sent = 3}, {.sent = 3}};
    CHECK_INT(ev_ledger_see(l, 5, 1, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 0, 0, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 1, 4, EV_SEE_CORRUPTED), ==, EV_SEE_CORRUPT);
    CHECK_INT(ev_ledger_see(l, 1, 2, EV_SEE_CORRUPTED | EV_SEE_LATE), ==, EV_SEE_CORRUPT);
    reconcile(l, p2, 2, 1, 0, &c);
    CHECK_U64(c.corrupted, ==, 4);
    CHECK_U64(c.received, ==, 4);
    CHECK_U64(c.foreign + c.late + c.delivered, ==, 0);
    CHECK_U64(c.lost, ==, 6);
    CHECK_U64(ev_ledger_distinct(l), ==, 0);
    ev_ledger_free(l);
}

static void test_unexpected(void)
{
    ev_ledger *l = new_ledger(1, 0, 1);
    ev_publane p = {.sent = 3};
    see_range(l, 0, 1, 3, 0, EV_SEE_NEW);
    ev_ledger_unexpected(l);
    ev_ledger_unexpected(l);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.unexpected, ==, 2);
    CHECK_U64(c.received, ==, 5);
    CHECK_U64(c.delivered, ==, 3);
    CHECK_U64(c.duplicated + c.foreign + c.corrupted + c.lost, ==, 0);
    /* An output that expects nothing: reconciled against lanes that sent
     * nothing, every arrival is unexpected and nothing is missing. */
    ev_ledger *none = new_ledger(1, 0, 1);
    ev_publane zero = {.sent = 0};
    for (int i = 0; i < 4; i++)
        ev_ledger_unexpected(none);
    reconcile(none, &zero, 1, 1, UINT64_MAX, &c);
    CHECK_U64(c.unexpected, ==, 4);
    CHECK_U64(c.received, ==, 4);
    CHECK_U64(c.delivered + c.lost + c.pending + c.unconfirmed, ==, 0);
    /* Counters add in a merge. */
    CHECK_INT(ev_ledger_merge(l, none), ==, 0);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.unexpected, ==, 6);
    CHECK_U64(c.received, ==, 9);
    ev_ledger_free(none);
    ev_ledger_free(l);
}

/* ---- late -------------------------------------------------------------------- */

static void test_late_one_copy(void)
{
    ev_ledger *l = new_ledger(1, 1, 1);
    ev_publane p = {.sent = 10};
    pub_fail(&p, 9);
    see_range(l, 0, 1, 5, 0, EV_SEE_NEW);
    /* The sweep finds 7 and 3 (in no order), 9 (failed), 4 again, 7 again and
     * 12 (never sent). */
    CHECK_INT(ev_ledger_see(l, 0, 7, EV_SEE_LATE), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 6, EV_SEE_LATE), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 9, EV_SEE_LATE), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 4, EV_SEE_LATE | EV_SEE_REDELIVERED), ==, EV_SEE_DUP);
    CHECK_INT(ev_ledger_see(l, 0, 7, EV_SEE_LATE), ==, EV_SEE_DUP);
    CHECK_INT(ev_ledger_see(l, 0, 12, EV_SEE_LATE), ==, EV_SEE_NEW);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 5);
    CHECK_U64(c.late, ==, 2);        /* 6 and 7 */
    CHECK_U64(c.recovered, ==, 1);   /* 9 */
    CHECK_U64(c.lost, ==, 2);        /* 8 and 10 */
    CHECK_U64(c.duplicated, ==, 2);  /* 4 and 7 again */
    CHECK_U64(c.redelivered, ==, 1); /* 4's flag: late copies may be redeliveries */
    CHECK_U64(c.foreign, ==, 1);     /* 12 */
    CHECK_U64(c.reordered, ==, 0);   /* the sweep's order is no reorder */
    CHECK_U64(ev_ledger_missing(l, &p), ==, 2);
    /* Late sightings are not in S_1: the provisional loss stops at 5. */
    CHECK_U64(ev_ledger_distinct(l), ==, 5);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    uint64_t lost[] = {8, 8, 10, 10};
    check_missing_set(l, &p, 0, lost, 2);
    /* An in-time sighting after a late one (not what the engine does, but
     * within the contract) makes it delivered, the late one a duplicate. */
    CHECK_INT(ev_ledger_see(l, 0, 6, 0), ==, EV_SEE_NEW);
    reconcile(l, &p, 1, 1, 0, &c);
    CHECK_U64(c.late, ==, 1);
    CHECK_U64(c.delivered, ==, 6);
    CHECK_U64(c.duplicated, ==, 3);
    CHECK_U64(c.received, ==, 12);
    ev_iset_clear(&p.failed);
    ev_ledger_free(l);
}

/* One consumer saw 4..6 in time, another saw 5..8 in the sweep: the group has
 * 4..6 delivered, 7..8 late and 5..6's late copies as duplicates, merged
 * either way round. */
static void test_late_merge(void)
{
    ev_publane p = {.sent = 8};
    for (int order = 0; order < 2; order++) {
        ev_ledger *a = new_ledger(1, 0, 1), *b = new_ledger(1, 0, 1), *g = new_ledger(1, 0, 1);
        see_range(a, 0, 4, 6, 0, EV_SEE_NEW);
        see_range(b, 0, 5, 8, EV_SEE_LATE, EV_SEE_NEW);
        CHECK_INT(ev_ledger_merge(g, order ? b : a), ==, 0);
        CHECK_INT(ev_ledger_merge(g, order ? a : b), ==, 0);
        ev_ledger_counts c;
        reconcile(g, &p, 1, 1, 0, &c);
        CHECK_U64(c.delivered, ==, 3);
        CHECK_U64(c.late, ==, 2);
        CHECK_U64(c.duplicated, ==, 2);
        CHECK_U64(c.lost, ==, 3);
        CHECK_U64(c.received, ==, 7);
        uint64_t lost[] = {1, 3};
        check_missing_set(g, &p, 0, lost, 1);
        /* b alone: everything it saw is late. */
        reconcile(b, &p, 1, 1, 0, &c);
        CHECK_U64(c.late, ==, 4);
        CHECK_U64(c.delivered + c.duplicated, ==, 0);
        CHECK_U64(c.lost, ==, 4);
        ev_ledger_free(a);
        ev_ledger_free(b);
        ev_ledger_free(g);
    }
    /* The same with failed seqs: 2 seen in time by a and late by b is
     * recovered once (L ∩ S_1 ∩ F is no late copy); 3 seen late only is
     * recovered; 4, failed and seen in time only, too. reconcile counts L \ S_1
     * without building it, so this is the three-set count. */
    ev_publane f = {.sent = 4};
    pub_fail(&f, 2);
    pub_fail(&f, 3);
    pub_fail(&f, 4);
    ev_ledger *a = new_ledger(1, 0, 1), *b = new_ledger(1, 0, 1);
    see_range(a, 0, 1, 2, 0, EV_SEE_NEW);
    see_range(a, 0, 4, 4, 0, EV_SEE_NEW);
    see_range(b, 0, 2, 3, EV_SEE_LATE, EV_SEE_NEW);
    CHECK_INT(ev_ledger_merge(a, b), ==, 0);
    ev_ledger_counts c;
    reconcile(a, &f, 1, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 1);
    CHECK_U64(c.recovered, ==, 3);
    CHECK_U64(c.late + c.lost + c.unconfirmed, ==, 0);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.received, ==, 5);
    ev_iset_clear(&f.failed);
    ev_ledger_free(a);
    ev_ledger_free(b);
}

/* With k > 1, late sightings fill the layers like any other: late is 0. */
static void test_late_many_copies(void)
{
    ev_ledger *l = new_ledger(1, 1, 2);
    ev_publane p = {.sent = 4};
    see_range(l, 0, 1, 2, 0, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 1, EV_SEE_LATE), ==, EV_SEE_COPY);
    CHECK_INT(ev_ledger_see(l, 0, 3, EV_SEE_LATE), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 0, 3, EV_SEE_LATE), ==, EV_SEE_COPY);
    CHECK_INT(ev_ledger_see(l, 0, 3, EV_SEE_LATE), ==, EV_SEE_DUP);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 2, 0, &c);
    CHECK_U64(c.late, ==, 0);
    CHECK_U64(c.delivered, ==, 2 + 1 + 2);
    CHECK_U64(c.lost, ==, 1 + 2);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(ev_ledger_distinct(l), ==, 3);
    uint64_t short_of_one[] = {2, 2, 4, 4};
    check_missing_set(l, &p, 0, short_of_one, 2);
    ev_ledger_free(l);
}

/* ---- k copies ---------------------------------------------------------------- */

static void test_copies(void)
{
    ev_ledger *l = new_ledger(2, 1, 3);
    ev_publane p[2] = {{.sent = 6}, {.sent = 2}};
    pub_fail(&p[0], 5);
    pub_fail(&p[0], 6);
    /* Lane 0: 1 three times, 2 twice (the second flagged), 3 once, 4 never, 5
     * (failed) twice, 6 (failed) never; 1 a fourth and fifth time. */
    static const struct {
        uint64_t seq;
        unsigned flags;
        int want;
    } seq0[] = {{1, 0, EV_SEE_NEW},
                {2, 0, EV_SEE_NEW},
                {1, 0, EV_SEE_COPY},
                {3, 0, EV_SEE_NEW},
                {2, EV_SEE_REDELIVERED, EV_SEE_COPY},
                {1, 0, EV_SEE_COPY},
                {5, 0, EV_SEE_NEW},
                {1, 0, EV_SEE_DUP},
                {5, 0, EV_SEE_COPY},
                {1, 0, EV_SEE_DUP}};
    for (size_t i = 0; i < sizeof seq0 / sizeof seq0[0]; i++)
        CHECK_INT(ev_ledger_see(l, 0, seq0[i].seq, seq0[i].flags), ==, seq0[i].want);
    /* Lane 1: both events three times, out of order (2 before 1: one reorder;
     * later copies are never reorders). */
    CHECK_INT(ev_ledger_see(l, 1, 2, 0), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(l, 1, 1, 0), ==, EV_SEE_NEW);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(ev_ledger_see(l, 1, 2, 0), ==, EV_SEE_COPY);
        CHECK_INT(ev_ledger_see(l, 1, 1, 0), ==, EV_SEE_COPY);
    }
    ev_ledger_counts c;
    reconcile(l, p, 2, 3, 0, &c);
    CHECK_U64(c.received, ==, 10 + 6);
    CHECK_U64(c.delivered, ==, 3 + 2 + 1 + 0 + 6);
    CHECK_U64(c.lost, ==, 0 + 1 + 2 + 3);
    CHECK_U64(c.recovered, ==, 2);
    CHECK_U64(c.unconfirmed, ==, 1 + 3);
    CHECK_U64(c.duplicated, ==, 2);
    CHECK_U64(c.redelivered, ==, 1); /* min(flagged 1, duplicated 2) */
    CHECK_U64(c.reordered, ==, 1);
    CHECK_U64(c.late, ==, 0);
    CHECK_U64(ev_ledger_distinct(l), ==, 4 + 2);
    CHECK_U64(ev_ledger_missing(l, p), ==, 6);
    /* Provisional loss looks at first sightings: 4 only. */
    CHECK_U64(ev_ledger_gaps(l, p), ==, 1);
    /* Every acked event short of a copy: 2, 3 and 4. */
    uint64_t short0[] = {2, 4};
    check_missing_set(l, p, 0, short0, 1);
    check_missing_set(l, p, 1, NULL, 0);
    ev_iset_clear(&p[0].failed);
    ev_ledger_free(l);
}

/* Merging adds the multisets, capped at k; with k = 1 that is a union. */
static void test_merge_copies(void)
{
    ev_publane p = {.sent = 6};
    /* a sees 1 twice, 2 once, 3 once, 5 three times; b sees 1 twice, 2 once,
     * 4 once, 6 once, 3 once: per seq 4, 2, 2, 1, 3, 1 sightings. */
    static const uint64_t sa[] = {1, 1, 2, 3, 5, 5, 5}, sb[] = {1, 1, 2, 4, 6, 3};
    static const uint64_t total[] = {0, 4, 2, 2, 1, 3, 1};
    for (uint32_t k = 1; k <= 3; k++) {
        ev_ledger *a = new_ledger(1, 0, k), *b = new_ledger(1, 0, k);
        for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
            CHECK_INT(ev_ledger_see(a, 0, sa[i], 0), >=, 0);
        for (size_t i = 0; i < sizeof sb / sizeof sb[0]; i++)
            CHECK_INT(ev_ledger_see(b, 0, sb[i], 0), >=, 0);
        uint64_t delivered = 0, dup = 0;
        for (int q = 1; q <= 6; q++) {
            delivered += min_u64(total[q], k);
            dup += total[q] - min_u64(total[q], k);
        }
        ev_ledger_counts c[3];
        for (int order = 0; order < 3; order++) {
            ev_ledger *g = new_ledger(1, 0, k);
            if (order == 2) { /* into a non-empty ledger directly */
                for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
                    CHECK_INT(ev_ledger_see(g, 0, sa[i], 0), >=, 0);
                CHECK_INT(ev_ledger_merge(g, b), ==, 0);
            } else {
                CHECK_INT(ev_ledger_merge(g, order ? b : a), ==, 0);
                CHECK_INT(ev_ledger_merge(g, order ? a : b), ==, 0);
            }
            reconcile(g, &p, 1, k, 0, &c[order]);
            CHECK_U64(c[order].delivered, ==, delivered);
            CHECK_U64(c[order].duplicated, ==, dup);
            CHECK_U64(c[order].lost, ==, 6 * k - delivered);
            CHECK_U64(c[order].received, ==, 13);
            CHECK_U64(ev_ledger_distinct(g), ==, 6);
            ev_ledger_free(g);
        }
        CHECK(memcmp(&c[0], &c[1], sizeof c[0]) == 0);
        CHECK(memcmp(&c[0], &c[2], sizeof c[0]) == 0);
        ev_ledger_free(a);
        ev_ledger_free(b);
    }
    /* The figures above, spelled out for k = 2: 1, 2, 3 and 5 complete, 4 and 6
     * one copy each; 1 twice and 5 once beyond. */
    ev_ledger *a = new_ledger(1, 0, 2), *b = new_ledger(1, 0, 2);
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++)
        ev_ledger_see(a, 0, sa[i], 0);
    for (size_t i = 0; i < sizeof sb / sizeof sb[0]; i++)
        ev_ledger_see(b, 0, sb[i], 0);
    CHECK_INT(ev_ledger_merge(a, b), ==, 0);
    ev_ledger_counts c;
    reconcile(a, &p, 1, 2, 0, &c);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.duplicated, ==, 3);
    CHECK_U64(c.lost, ==, 2);
    uint64_t short_of_one[] = {4, 4, 6, 6};
    check_missing_set(a, &p, 0, short_of_one, 2);
    /* Ledgers expecting different copies do not merge; dst is unchanged. */
    ev_ledger *three = new_ledger(1, 0, 3);
    CHECK_INT(ev_ledger_see(three, 0, 4, 0), ==, EV_SEE_NEW);
    CHECK_INT(ev_ledger_merge(a, three), ==, -1);
    ev_ledger_counts same;
    reconcile(a, &p, 1, 2, 0, &same);
    CHECK(memcmp(&c, &same, sizeof c) == 0);
    ev_ledger_free(three);
    ev_ledger_free(a);
    ev_ledger_free(b);
}

/* ---- pending ----------------------------------------------------------------- */

/* pending = min(missing, may_remain) with missing summed over the lanes
 * first (not a per-lane minimum); lost is the rest. */
static void test_pending(void)
{
    ev_ledger *l = new_ledger(2, 0, 1);
    ev_publane p[2] = {{.sent = 10}, {.sent = 10}};
    see_range(l, 0, 1, 7, 0, EV_SEE_NEW);  /* 3 missing */
    see_range(l, 1, 4, 10, 0, EV_SEE_NEW); /* 3 missing */
    static const struct {
        uint64_t may_remain, pending, lost;
    } cases[] = {{0, 0, 6}, {1, 1, 5}, {4, 4, 2}, {6, 6, 0}, {7, 6, 0}, {UINT64_MAX, 6, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ev_ledger_counts c;
        reconcile(l, p, 2, 1, cases[i].may_remain, &c);
        CHECK_U64(c.pending, ==, cases[i].pending);
        CHECK_U64(c.lost, ==, cases[i].lost);
        CHECK_U64(c.delivered, ==, 14);
    }
    CHECK_U64(ev_ledger_missing(l, p), ==, 6);
    uint64_t m0[] = {8, 10}, m1[] = {1, 3};
    check_missing_set(l, p, 0, m0, 1);
    check_missing_set(l, p, 1, m1, 1);
    /* With copies: missing counts copies, not events. */
    ev_ledger *k2 = new_ledger(1, 0, 2);
    ev_publane q = {.sent = 3};
    see_range(k2, 0, 1, 3, 0, EV_SEE_NEW);
    CHECK_INT(ev_ledger_see(k2, 0, 2, 0), ==, EV_SEE_COPY);
    ev_ledger_counts c;
    reconcile(k2, &q, 1, 2, 1, &c);
    CHECK_U64(c.pending, ==, 1);
    CHECK_U64(c.lost, ==, 1);
    reconcile(k2, &q, 1, 2, UINT64_MAX, &c);
    CHECK_U64(c.pending, ==, 2);
    CHECK_U64(c.lost, ==, 0);
    ev_ledger_free(k2);
    ev_ledger_free(l);
}

static void test_missing_set_edges(void)
{
    ev_ledger *l = new_ledger(2, 0, 1);
    ev_publane p[2] = {{.sent = 0}, {.sent = 1}};
    /* Nothing sent: nothing missing; one sent, not seen: [1, 1]. */
    check_missing_set(l, p, 0, NULL, 0);
    uint64_t one[] = {1, 1};
    check_missing_set(l, p, 1, one, 1);
    /* A lane the ledger does not have: -1, out untouched. */
    ev_iset m = EV_ISET_INIT;
    CHECK_INT(ev_iset_add(&m, 42), ==, 1);
    CHECK_INT(ev_ledger_missing_set(l, p, 2, &m), ==, -1);
    CHECK_U64(m.count, ==, 1);
    CHECK_INT(ev_iset_contains(&m, 42), ==, 1);
    ev_iset_clear(&m);
    /* Failed seqs are never missing; a failed seq above sent changes nothing. */
    p[1].sent = 20;
    for (uint64_t q = 5; q <= 9; q++)
        pub_fail(&p[1], q);
    pub_fail(&p[1], 25);
    see_range(l, 1, 12, 14, 0, EV_SEE_NEW);
    see_range(l, 1, 30, 30, 0, EV_SEE_NEW); /* above sent: foreign */
    uint64_t want[] = {1, 4, 10, 11, 15, 20};
    check_missing_set(l, p, 1, want, 3);
    ev_ledger_counts c;
    reconcile(l, p, 2, 1, 0, &c);
    CHECK_U64(c.lost, ==, 4 + 2 + 6);
    CHECK_U64(c.unconfirmed, ==, 5);
    CHECK_U64(c.foreign, ==, 1);
    ev_iset_clear(&p[1].failed);
    ev_ledger_free(l);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void test_zero_lanes_and_reset(void)
{
    ev_ledger *l = new_ledger(0, 0, 1);
    CHECK_INT(ev_ledger_see(l, 0, 1, 0), ==, EV_SEE_FOREIGN);
    ev_ledger_counts c;
    ev_ledger_reconcile(l, NULL, 0, &c);
    CHECK_U64(c.foreign, ==, 1);
    CHECK_U64(c.received, ==, 1);
    CHECK_U64(ev_ledger_gaps(l, NULL), ==, 0);
    CHECK_U64(ev_ledger_missing(l, NULL), ==, 0);
    ev_ledger_free(l);

    for (uint32_t k = 1; k <= 2; k++) {
        l = new_ledger(2, 1, k);
        ev_publane p[2] = {{.sent = 5}, {.sent = 5}};
        size_t empty_bytes = ev_ledger_heap_bytes(l);
        see_range(l, 0, 2, 5, 0, EV_SEE_NEW);
        see_range(l, 0, 2, 5, 0, k == 2 ? EV_SEE_COPY : EV_SEE_DUP);
        see_range(l, 0, 9, 9, EV_SEE_LATE, EV_SEE_NEW);
        ev_ledger_see(l, 0, 1, EV_SEE_CORRUPTED | EV_SEE_REDELIVERED);
        ev_ledger_see(l, 1, 4, 0);
        ev_ledger_see(l, 1, 3, EV_SEE_REDELIVERED);
        ev_ledger_foreign(l);
        ev_ledger_corrupt_unknown(l);
        ev_ledger_unexpected(l);
        ev_ledger_reset(l);
        CHECK_U64(ev_ledger_heap_bytes(l), ==, empty_bytes);
        reconcile(l, p, 2, k, 0, &c);
        CHECK_U64(c.received + c.delivered + c.duplicated + c.redelivered + c.recovered, ==, 0);
        CHECK_U64(c.reordered + c.corrupted + c.foreign + c.unconfirmed + c.unexpected, ==, 0);
        CHECK_U64(c.late + c.pending, ==, 0);
        CHECK_U64(c.lost, ==, 10 * k);
        CHECK_U64(ev_ledger_distinct(l), ==, 0);
        /* Still ordered, with the same copies, and usable after reset. */
        CHECK_INT(ev_ledger_see(l, 0, 2, 0), ==, EV_SEE_NEW);
        CHECK_INT(ev_ledger_see(l, 0, 1, 0), ==, EV_SEE_NEW);
        CHECK_INT(ev_ledger_see(l, 0, 1, 0), ==, k == 2 ? EV_SEE_COPY : EV_SEE_DUP);
        reconcile(l, p, 2, k, 0, &c);
        CHECK_U64(c.reordered, ==, 1);
        ev_ledger_free(l);
    }
}

/* Two consumers of one group with overlapping sightings: the union counts
 * once, every extra copy is duplicated, counters add. */
static void test_merge_overlap(void)
{
    ev_ledger *a = new_ledger(2, 0, 1), *b = new_ledger(2, 0, 1), *g = new_ledger(2, 0, 1);
    ev_publane p[2] = {{.sent = 100}, {.sent = 50}};
    see_range(a, 0, 1, 60, 0, EV_SEE_NEW);
    see_range(b, 0, 40, 100, 0, EV_SEE_NEW); /* 40..60 overlap: 21 duplicates */
    see_range(a, 1, 1, 50, 0, EV_SEE_NEW);
    for (uint64_t q = 1; q <= 50; q += 2) /* 25 flagged copies on lane 1 */
        CHECK_INT(ev_ledger_see(b, 1, q, EV_SEE_REDELIVERED), ==, EV_SEE_NEW);
    ev_ledger_foreign(b);
    CHECK_INT(ev_ledger_merge(g, a), ==, 0);
    CHECK_INT(ev_ledger_merge(g, b), ==, 0);
    ev_ledger_counts c;
    reconcile(g, p, 2, 1, 0, &c);
    CHECK_U64(c.received, ==, 60 + 61 + 50 + 25 + 1);
    CHECK_U64(c.delivered, ==, 150);
    CHECK_U64(c.duplicated, ==, 21 + 25);
    CHECK_U64(c.redelivered, ==, 25);
    CHECK_U64(c.lost, ==, 0);
    CHECK_U64(c.foreign, ==, 1);
    CHECK_U64(ev_ledger_distinct(g), ==, 150);
    /* Each consumer alone sees no duplicate, only losses. */
    reconcile(a, p, 2, 1, 0, &c);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.lost, ==, 40);
    /* Contract violations are refused and leave dst unchanged. */
    ev_ledger *three = new_ledger(3, 0, 1);
    CHECK_INT(ev_ledger_merge(g, three), ==, -1);
    CHECK_INT(ev_ledger_merge(g, g), ==, -1);
    reconcile(g, p, 2, 1, 0, &c);
    CHECK_U64(c.received, ==, 197);
    CHECK_U64(c.duplicated, ==, 46);
    ev_ledger_free(three);
    ev_ledger_free(a);
    ev_ledger_free(b);
    ev_ledger_free(g);
}

/* docs/design.md §3.4: 100 M in-order events need no more memory than 1 k.
 * The bench measures 100 M; here 1 M keeps the test fast. With k copies each
 * layer is one interval too. */
static void test_memory_bound(void)
{
    ev_ledger *l = new_ledger(4, 1, 1);
    see_range(l, 2, 1, 1000, 0, EV_SEE_NEW);
    size_t small = ev_ledger_heap_bytes(l);
    see_range(l, 2, 1001, 1000000, 0, EV_SEE_NEW);
    CHECK_U64(ev_ledger_heap_bytes(l), ==, small);
    CHECK_U64(ev_ledger_distinct(l), ==, 1000000);
    ev_ledger_free(l);

    l = new_ledger(1, 1, 2);
    see_range(l, 0, 1, 1000, 0, EV_SEE_NEW);
    see_range(l, 0, 1, 1000, 0, EV_SEE_COPY);
    small = ev_ledger_heap_bytes(l);
    see_range(l, 0, 1001, 1000000, 0, EV_SEE_NEW);
    see_range(l, 0, 1001, 1000000, 0, EV_SEE_COPY);
    CHECK_U64(ev_ledger_heap_bytes(l), ==, small);
    ev_publane p = {.sent = 1000000};
    ev_ledger_counts c;
    reconcile(l, &p, 1, 2, 0, &c);
    CHECK_U64(c.delivered, ==, 2000000);
    ev_ledger_free(l);
}

/* ---- randomized model ------------------------------------------------------- */

#define NL 3          /* lanes */
#define NC 3          /* competing consumers of one group */
#define MAXSENT 250   /* sent per lane < MAXSENT */
#define MAXSEQ 320    /* > MAXSENT + above-sent margin */
#define MAXDELIV 8192 /* deliveries per run, bounded below */
#define NSEEDS 1800

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* 1 with probability permille/1000. */
static int chance(unsigned permille)
{
    return rng_next() % 1000 < permille;
}

enum { D_SEE, D_FOREIGN, D_UNKNOWN, D_UNEXPECTED };

typedef struct delivery {
    int kind;
    uint32_t lane;
    uint64_t seq;
    unsigned flags;
} delivery;

static delivery dl[MAXDELIV];

/* What some deliveries amount to, per (lane, seq): the naive model. For one
 * consumer it also drives see()'s expected result and reorders. */
typedef struct tally {
    uint32_t t[NL][MAXSEQ]; /* sightings into the layers: not late, or any when k > 1 */
    uint32_t x[NL][MAXSEQ]; /* late sightings (k == 1) */
    uint64_t flagged[NL];   /* sightings flagged EV_SEE_REDELIVERED */
    uint64_t max[NL];       /* highest seq with t > 0 (S_1's maximum) */
    uint64_t received, corrupted, foreign, unexpected, reordered;
} tally;

/* One delivery into consumer tally T (k copies, ordered ledger or not);
 * returns what see() must return, or -1 for the kinds see() does not take. */
static int tally_see(tally *T, const delivery *d, uint32_t k, int ordered)
{
    T->received++;
    switch (d->kind) {
    case D_FOREIGN:
        T->foreign++;
        return -1;
    case D_UNKNOWN:
        T->corrupted++;
        return -1;
    case D_UNEXPECTED:
        T->unexpected++;
        return -1;
    }
    if (d->flags & EV_SEE_CORRUPTED) {
        T->corrupted++;
        return EV_SEE_CORRUPT;
    }
    if (d->lane >= NL || d->seq == 0) {
        T->foreign++;
        return EV_SEE_FOREIGN;
    }
    uint32_t i = d->lane;
    uint64_t q = d->seq;
    if (d->flags & EV_SEE_REDELIVERED)
        T->flagged[i]++;
    if (k == 1 && (d->flags & EV_SEE_LATE)) {
        int r = T->t[i][q] || T->x[i][q] ? EV_SEE_DUP : EV_SEE_NEW;
        T->x[i][q]++;
        return r;
    }
    uint32_t n = T->t[i][q]++;
    if (n >= k)
        return EV_SEE_DUP;
    if (n > 0)
        return EV_SEE_COPY;
    if (ordered && !(d->flags & EV_SEE_LATE) && q < T->max[i])
        T->reordered++;
    if (q > T->max[i])
        T->max[i] = q;
    return EV_SEE_NEW;
}

static void tally_add(tally *dst, const tally *src)
{
    for (int i = 0; i < NL; i++) {
        for (int q = 0; q < MAXSEQ; q++) {
            dst->t[i][q] += src->t[i][q];
            dst->x[i][q] += src->x[i][q];
        }
        dst->flagged[i] += src->flagged[i];
        if (src->max[i] > dst->max[i])
            dst->max[i] = src->max[i];
    }
    dst->received += src->received;
    dst->corrupted += src->corrupted;
    dst->foreign += src->foreign;
    dst->unexpected += src->unexpected;
    dst->reordered += src->reordered;
}

/* Copies of (lane i, seq q) the ledger records, and whether the one copy is
 * late (seen only in the sweep, k == 1). */
static uint32_t tally_recorded(const tally *T, int i, uint64_t q, uint32_t k, int *late)
{
    uint32_t t = T->t[i][q];
    *late = k == 1 && t == 0 && T->x[i][q] > 0;
    return (t < k ? t : k) + (uint32_t)*late;
}

/* The classes of ev_ledger.h, counted per (lane, seq) from T. */
static void naive_counts(const tally *T, const ev_publane *pubs, uint32_t k, uint64_t may_remain,
                         ev_ledger_counts *c, uint64_t *gaps, uint64_t *distinct)
{
    memset(c, 0, sizeof *c);
    uint64_t missing = 0;
    *gaps = *distinct = 0;
    for (int i = 0; i < NL; i++) {
        uint64_t dup = 0, sent = pubs[i].sent, hwm = min_u64(T->max[i], sent);
        for (uint64_t q = 1; q < MAXSEQ; q++) {
            int late;
            uint32_t rec = tally_recorded(T, i, q, k, &late);
            dup += T->t[i][q] + T->x[i][q] - rec;
            *distinct += T->t[i][q] > 0;
            if (q > sent) {
                c->foreign += rec; /* every recorded copy of a seq never sent */
                continue;
            }
            if (ev_iset_contains(&pubs[i].failed, q)) {
                c->recovered += rec;
                c->unconfirmed += k - rec;
                continue;
            }
            if (late)
                c->late++;
            else
                c->delivered += rec;
            missing += k - rec;
            if (q <= hwm && T->t[i][q] == 0)
                ++*gaps;
        }
        c->duplicated += dup;
        c->redelivered += min_u64(T->flagged[i], dup);
    }
    c->pending = min_u64(missing, may_remain);
    c->lost = missing - c->pending;
    c->received = T->received;
    c->corrupted = T->corrupted;
    c->foreign += T->foreign;
    c->unexpected = T->unexpected;
    c->reordered = T->reordered;
}

static void check_counts(const ev_ledger_counts *got, const ev_ledger_counts *want)
{
    CHECK_U64(got->received, ==, want->received);
    CHECK_U64(got->delivered, ==, want->delivered);
    CHECK_U64(got->late, ==, want->late);
    CHECK_U64(got->pending, ==, want->pending);
    CHECK_U64(got->lost, ==, want->lost);
    CHECK_U64(got->duplicated, ==, want->duplicated);
    CHECK_U64(got->redelivered, ==, want->redelivered);
    CHECK_U64(got->unconfirmed, ==, want->unconfirmed);
    CHECK_U64(got->recovered, ==, want->recovered);
    CHECK_U64(got->reordered, ==, want->reordered);
    CHECK_U64(got->corrupted, ==, want->corrupted);
    CHECK_U64(got->foreign, ==, want->foreign);
    CHECK_U64(got->unexpected, ==, want->unexpected);
}

/* Ledger l against tally T: every class at each may_remain, every identity,
 * gaps, missing, distinct, received, and each lane's missing set. */
static void check_against(const ev_ledger *l, const tally *T, const ev_publane *pubs, uint32_t k,
                          const uint64_t *may_remain, int nmay)
{
    for (int r = 0; r < nmay; r++) {
        ev_ledger_counts got, want;
        uint64_t gaps, distinct;
        naive_counts(T, pubs, k, may_remain[r], &want, &gaps, &distinct);
        reconcile(l, pubs, NL, k, may_remain[r], &got);
        check_counts(&got, &want);
        CHECK_U64(ev_ledger_missing(l, pubs), ==, want.lost + want.pending);
        CHECK_U64(ev_ledger_gaps(l, pubs), ==, gaps);
        CHECK_U64(ev_ledger_distinct(l), ==, distinct);
        CHECK_U64(ev_ledger_received(l), ==, T->received);
    }
    /* missing_set: acked seqs short of a copy (k = 1: neither in time nor
     * late), compared member by member. */
    ev_iset m = EV_ISET_INIT;
    for (int i = 0; i < NL; i++) {
        CHECK_INT(ev_ledger_missing_set(l, pubs, (uint32_t)i, &m), ==, 0);
        uint64_t want = 0;
        for (uint64_t q = 1; q < MAXSEQ; q++) {
            int late;
            int miss = q <= pubs[i].sent && !ev_iset_contains(&pubs[i].failed, q) &&
                       tally_recorded(T, i, q, k, &late) < k;
            want += (uint64_t)miss;
            CHECK_INT(ev_iset_contains(&m, q), ==, miss);
        }
        CHECK_U64(m.count, ==, want);
    }
    ev_iset_clear(&m);
}

static uint64_t model_seed; /* printed if a check fails inside the model */

static void print_model_seed(void)
{
    if (model_seed)
        fprintf(stderr, "model: failed at seed %llu\n", (unsigned long long)model_seed);
}

/* What the model covered, over all seeds, so no branch goes untested. */
static struct {
    uint64_t runs[4], late, corrupt, unexpected, foreign, dup, copy, reorders, above_sent;
    uint64_t pending_partial, redelivered, recovered;
} cover;

static void model_run(uint64_t seed)
{
    model_seed = seed;
    rng_state = seed * 0x2545f4914f6cdd1du + 1;
    uint32_t k = 1 + (uint32_t)(seed % 3);
    int ordered = (int)(seed / 3 % 2);
    cover.runs[k]++;
    /* Per-seed fault rates, so some runs are clean and some are heavy. */
    unsigned p_fail = (unsigned)(rng_next() % 200), p_fail_seen = (unsigned)(rng_next() % 1000);
    unsigned p_drop = (unsigned)(rng_next() % 150), p_dup = (unsigned)(rng_next() % 150);
    unsigned p_reord = (unsigned)(rng_next() % 200), p_flag = (unsigned)(rng_next() % 1000);
    unsigned p_corrupt = (unsigned)(rng_next() % 40), p_noise = (unsigned)(rng_next() % 40);
    unsigned p_fail_above = (unsigned)(rng_next() % 4 == 0);

    ev_publane pubs[NL];
    memset(pubs, 0, sizeof pubs);
    for (int i = 0; i < NL; i++) {
        pubs[i].sent = rng_next() % 8 == 0 ? 0 : rng_next() % MAXSENT;
        if (p_fail_above) /* outside 1..sent: must be ignored */
            CHECK_INT(ev_iset_add(&pubs[i].failed, pubs[i].sent + 1 + rng_next() % 3), ==, 1);
    }

    /* Publisher + broker: lanes interleave at random; each attempted seq may
     * fail (and then still reach the broker or not); each of its k copies may
     * be dropped, duplicated, or arrive damaged instead; noise (foreign,
     * unreadable, unexpected, bad lane, seq 0, seq above sent, forged damaged
     * identities) is sprinkled in. */
    size_t nd = 0;
    uint64_t next[NL] = {1, 1, 1};
    for (;;) {
        int live = 0;
        for (int i = 0; i < NL; i++)
            live += next[i] <= pubs[i].sent;
        if (!live)
            break;
        uint32_t lane;
        do
            lane = (uint32_t)(rng_next() % NL);
        while (next[lane] > pubs[lane].sent);
        uint64_t seq = next[lane]++;
        int reaches = 1;
        if (chance(p_fail)) {
            CHECK_INT(ev_iset_add(&pubs[lane].failed, seq), ==, 1);
            reaches = chance(p_fail_seen);
        }
        for (uint32_t j = 0; reaches && j < k; j++) {
            if (chance(p_drop))
                continue;
            int n = 1;
            while (n < 4 && chance(p_dup))
                n++;
            for (int m = 0; m < n && nd < MAXDELIV; m++) {
                unsigned f = 0;
                if (m > 0 ? chance(p_flag) : chance(20))
                    f |= EV_SEE_REDELIVERED;
                if (chance(p_corrupt))
                    f |= EV_SEE_CORRUPTED;
                dl[nd++] = (delivery){D_SEE, lane, seq, f};
            }
        }
        if (nd < MAXDELIV && chance(p_noise)) {
            delivery d = {D_SEE, lane, 0, 0};
            switch (rng_next() % 8) {
            case 0:
                d.kind = D_FOREIGN;
                break;
            case 1:
                d.kind = D_UNKNOWN;
                break;
            case 2:
                d.kind = D_UNEXPECTED;
                break;
            case 3:
                d.lane = NL + (uint32_t)(rng_next() % 3);
                d.seq = seq;
                break;
            case 4:
                d.seq = 0;
                break;
            case 5: /* a forged identity, damaged */
                d.lane = (uint32_t)(rng_next() % (NL + 1));
                d.seq = rng_next() % MAXSEQ;
                d.flags = EV_SEE_CORRUPTED;
                break;
            default:
                d.seq = pubs[lane].sent + 1 + rng_next() % 5;
                break;
            }
            if (chance(100))
                d.flags |= EV_SEE_REDELIVERED;
            dl[nd++] = d;
        }
    }
    /* Broker reordering: swap with a nearby later delivery. */
    for (size_t i = 0; i + 1 < nd; i++) {
        if (chance(p_reord)) {
            size_t j = i + 1 + (size_t)(rng_next() % 6);
            if (j < nd) {
                delivery t = dl[i];
                dl[i] = dl[j];
                dl[j] = t;
            }
        }
    }
    /* The final sweep: every delivery from a random cut on is flagged late
     * (in a third of the runs there is no sweep). */
    size_t cut = rng_next() % 3 == 0 ? nd : (size_t)(rng_next() % (nd + 1));

    /* Consumers: each delivery goes to one of NC competing consumers, each
     * with its own ledger and tally. */
    static tally ct[NC], gt;
    memset(ct, 0, sizeof ct);
    memset(&gt, 0, sizeof gt);
    ev_ledger *cons[NC];
    for (int c = 0; c < NC; c++)
        cons[c] = new_ledger(NL, ordered, k);
    for (size_t i = 0; i < nd; i++) {
        delivery d = dl[i];
        if (i >= cut && d.kind == D_SEE)
            d.flags |= EV_SEE_LATE;
        int c = (int)(rng_next() % NC);
        int want = tally_see(&ct[c], &d, k, ordered);
        switch (d.kind) {
        case D_FOREIGN:
            ev_ledger_foreign(cons[c]);
            break;
        case D_UNKNOWN:
            ev_ledger_corrupt_unknown(cons[c]);
            break;
        case D_UNEXPECTED:
            ev_ledger_unexpected(cons[c]);
            break;
        default:
            CHECK_INT(ev_ledger_see(cons[c], d.lane, d.seq, d.flags), ==, want);
            cover.dup += want == EV_SEE_DUP;
            cover.copy += want == EV_SEE_COPY;
            cover.late += want == EV_SEE_NEW && (d.flags & EV_SEE_LATE) && k == 1;
            break;
        }
    }
    for (int c = 0; c < NC; c++)
        tally_add(&gt, &ct[c]);

    /* may_remain: none, a few, about what is missing, cannot tell. */
    ev_ledger_counts probe;
    uint64_t gaps, distinct;
    naive_counts(&gt, pubs, k, UINT64_MAX, &probe, &gaps, &distinct);
    uint64_t may[4] = {0, 1 + rng_next() % 8, probe.pending / 2 + rng_next() % 3, UINT64_MAX};

    /* The group ledger, merged three ways: in order, in reverse, and as a
     * tree with a partial merge into a non-empty ledger. Same answers. */
    ev_ledger *g[3];
    for (int v = 0; v < 3; v++)
        g[v] = new_ledger(NL, ordered, k);
    for (int c = 0; c < NC; c++) {
        CHECK_INT(ev_ledger_merge(g[0], cons[c]), ==, 0);
        CHECK_INT(ev_ledger_merge(g[1], cons[NC - 1 - c]), ==, 0);
    }
    ev_ledger *t = new_ledger(NL, ordered, k);
    CHECK_INT(ev_ledger_merge(t, cons[2]), ==, 0);
    CHECK_INT(ev_ledger_merge(t, cons[0]), ==, 0);
    CHECK_INT(ev_ledger_merge(g[2], cons[1]), ==, 0);
    CHECK_INT(ev_ledger_merge(g[2], t), ==, 0);
    ev_ledger_free(t);
    for (int v = 0; v < 3; v++)
        check_against(g[v], &gt, pubs, k, may, 4);
    /* Each consumer alone. */
    for (int c = 0; c < NC; c++)
        check_against(cons[c], &ct[c], pubs, k, may, 4);

    ev_ledger_counts w;
    naive_counts(&gt, pubs, k, may[1], &w, &gaps, &distinct);
    cover.corrupt += w.corrupted;
    cover.unexpected += w.unexpected;
    cover.foreign += w.foreign;
    cover.reorders += w.reordered;
    cover.redelivered += w.redelivered;
    cover.recovered += w.recovered;
    cover.pending_partial += w.pending > 0 && w.lost > 0;
    for (int i = 0; i < NL; i++)
        for (uint64_t q = pubs[i].sent + 1; q < MAXSEQ; q++)
            cover.above_sent += gt.t[i][q] + gt.x[i][q];

    for (int c = 0; c < NC; c++)
        ev_ledger_free(cons[c]);
    for (int v = 0; v < 3; v++)
        ev_ledger_free(g[v]);
    for (int i = 0; i < NL; i++)
        ev_iset_clear(&pubs[i].failed);
    model_seed = 0;
}

static void test_model(void)
{
    atexit(print_model_seed);
    for (uint64_t seed = 1; seed <= NSEEDS; seed++)
        model_run(seed);
    /* Every kind of event the model can produce was produced, for every k. */
    for (uint32_t k = 1; k <= 3; k++)
        CHECK_U64(cover.runs[k], ==, NSEEDS / 3);
    CHECK_U64(cover.late, >, 1000);
    CHECK_U64(cover.corrupt, >, 1000);
    CHECK_U64(cover.unexpected, >, 100);
    CHECK_U64(cover.foreign, >, 1000);
    CHECK_U64(cover.dup, >, 1000);
    CHECK_U64(cover.copy, >, 1000);
    CHECK_U64(cover.reorders, >, 1000);
    CHECK_U64(cover.redelivered, >, 1000);
    CHECK_U64(cover.recovered, >, 1000);
    CHECK_U64(cover.above_sent, >, 100);
    CHECK_U64(cover.pending_partial, >, 100);
    fprintf(stderr,
            "model: %d seeds; late %llu, corrupted %llu, unexpected %llu, foreign %llu, dup %llu, "
            "copy %llu, reordered %llu, above sent %llu, partial pending %llu\n",
            NSEEDS, (unsigned long long)cover.late, (unsigned long long)cover.corrupt,
            (unsigned long long)cover.unexpected, (unsigned long long)cover.foreign,
            (unsigned long long)cover.dup, (unsigned long long)cover.copy,
            (unsigned long long)cover.reorders, (unsigned long long)cover.above_sent,
            (unsigned long long)cover.pending_partial);
}

int main(void)
{
    EV_RUN(test_in_order);
    EV_RUN(test_drop);
    EV_RUN(test_dup);
    EV_RUN(test_reorder);
    EV_RUN(test_failed_seen_and_unseen);
    EV_RUN(test_foreign);
    EV_RUN(test_above_sent);
    EV_RUN(test_corrupted_not_a_sighting);
    EV_RUN(test_unexpected);
    EV_RUN(test_late_one_copy);
    EV_RUN(test_late_merge);
    EV_RUN(test_late_many_copies);
    EV_RUN(test_copies);
    EV_RUN(test_merge_copies);
    EV_RUN(test_pending);
    EV_RUN(test_missing_set_edges);
    EV_RUN(test_zero_lanes_and_reset);
    EV_RUN(test_merge_overlap);
    EV_RUN(test_memory_bound);
    EV_RUN(test_model);
    EV_DONE();
}
