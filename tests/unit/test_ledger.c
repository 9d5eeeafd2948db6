/* Unit tests for ev_ledger: the known scenarios of DESIGN.md §3 one by one,
 * the merge of consumers of one group, the memory bound, and a randomized
 * model (publisher with failures, broker with drop/dup/reorder, three lanes,
 * two consumers) whose every class is compared with a naive per-seq count,
 * over 200 seeds. */
#include "ev_ledger.h"
#include "ev_test.h"

#include <stdint.h>

/* ---- helpers ---------------------------------------------------------------- */

static ev_ledger *new_ledger(uint32_t nlanes, int ordered)
{
    ev_ledger *l = ev_ledger_new(nlanes, ordered, 1);
    CHECK(l != NULL);
    return l;
}

static void see_range(ev_ledger *l, uint32_t lane, uint64_t lo, uint64_t hi)
{
    for (uint64_t q = lo; q <= hi; q++)
        CHECK_INT(ev_ledger_see(l, lane, q, 0), ==, EV_SEE_NEW);
}

static void pub_fail(ev_publane *p, uint64_t seq)
{
    CHECK_INT(ev_iset_add(&p->failed, seq), >=, 0);
}

/* The identities every reconcile must satisfy; U = unreadable deliveries. */
static void check_identities(const ev_ledger_counts *c, const ev_publane *pubs, uint32_t nlanes,
                             uint64_t unknown)
{
    uint64_t sent = 0, failed = 0;
    for (uint32_t i = 0; i < nlanes; i++) {
        sent += pubs[i].sent;
        failed += ev_iset_count_range(&pubs[i].failed, 1, pubs[i].sent);
    }
    CHECK_U64(c->delivered + c->lost, ==, sent - failed);
    CHECK_U64(c->unconfirmed + c->recovered, ==, failed);
    CHECK_U64(c->delivered + c->lost + c->unconfirmed + c->recovered, ==, sent);
    CHECK_U64(c->received, ==, c->delivered + c->recovered + c->duplicated + c->foreign + unknown);
    CHECK_U64(c->redelivered, <=, c->duplicated);
}

static void reconcile(const ev_ledger *l, const ev_publane *pubs, uint32_t nlanes, uint64_t unknown,
                      ev_ledger_counts *c)
{
    ev_ledger_reconcile(l, pubs, 0, c);
    check_identities(c, pubs, nlanes, unknown);
}

/* ---- known scenarios -------------------------------------------------------- */

static void test_in_order(void)
{
    ev_ledger *l = new_ledger(1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 10);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.received, ==, 10);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.lost + c.duplicated + c.redelivered + c.unconfirmed + c.recovered, ==, 0);
    CHECK_U64(c.reordered + c.corrupted + c.foreign, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    CHECK_U64(ev_ledger_received(l), ==, 10);
    CHECK_U64(ev_ledger_distinct(l), ==, 10);
    /* Not everything arrived yet: missing tail is lost, not a gap. */
    p.sent = 12;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.lost, ==, 2);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    ev_ledger_free(l);
    ev_ledger_free(NULL);
}

static void test_drop(void)
{
    ev_ledger *l = new_ledger(1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 3);
    see_range(l, 0, 5, 10);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 9);
    CHECK_U64(c.lost, ==, 1);
    CHECK_U64(c.duplicated + c.reordered + c.unconfirmed + c.recovered, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 1);
    /* gaps is capped at what the publisher has reported sent so far. */
    p.sent = 4;
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 1);
    p.sent = 3;
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    ev_ledger_free(l);
}

static void test_dup(void)
{
    ev_ledger *l = new_ledger(1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 10);
    CHECK_INT(ev_ledger_see(l, 0, 5, 0), ==, EV_SEE_DUP);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.redelivered, ==, 0);
    CHECK_U64(c.reordered, ==, 0); /* a duplicate is never a reorder */
    /* A broker-flagged copy is a redelivery. */
    CHECK_INT(ev_ledger_see(l, 0, 7, EV_SEE_REDELIVERED), ==, EV_SEE_DUP);
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.duplicated, ==, 2);
    CHECK_U64(c.redelivered, ==, 1);
    ev_ledger_free(l);

    /* A flagged first sighting is no extra copy: redelivered stays 0. */
    l = new_ledger(1, 1);
    CHECK_INT(ev_ledger_see(l, 0, 1, EV_SEE_REDELIVERED), ==, EV_SEE_NEW);
    see_range(l, 0, 2, 10);
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.redelivered, ==, 0);
    ev_ledger_free(l);
}

static void test_reorder(void)
{
    static const uint64_t order[] = {1, 2, 4, 3, 5, 7, 6, 6, 3, 8};
    ev_publane p = {.sent = 8};
    for (int ordered = 0; ordered <= 1; ordered++) {
        ev_ledger *l = new_ledger(1, ordered);
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            ev_ledger_see(l, 0, order[i], 0);
        ev_ledger_counts c;
        reconcile(l, &p, 1, 0, &c);
        CHECK_U64(c.reordered, ==, ordered ? 2 : 0); /* 3 after 4, 6 after 7 */
        CHECK_U64(c.delivered, ==, 8);
        CHECK_U64(c.duplicated, ==, 2);
        CHECK_U64(c.lost, ==, 0);
        ev_ledger_free(l);
    }
}

static void test_failed_seen_and_unseen(void)
{
    ev_ledger *l = new_ledger(1, 0);
    ev_publane p = {.sent = 10};
    pub_fail(&p, 3);
    pub_fail(&p, 8);
    see_range(l, 0, 1, 7); /* 3 seen: recovered; 8 never seen: unconfirmed */
    see_range(l, 0, 9, 10);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 8);
    CHECK_U64(c.recovered, ==, 1);
    CHECK_U64(c.unconfirmed, ==, 1);
    CHECK_U64(c.lost, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0); /* an unconfirmed seq is no gap */
    /* A failed seq outside 1..sent is ignored. */
    pub_fail(&p, 11);
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.unconfirmed, ==, 1);
    CHECK_U64(c.delivered + c.lost + c.unconfirmed + c.recovered, ==, 10);
    ev_iset_clear(&p.failed);
    ev_ledger_free(l);
}

static void test_corrupted(void)
{
    ev_ledger *l = new_ledger(1, 0);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 4);
    CHECK_INT(ev_ledger_see(l, 0, 5, EV_SEE_CORRUPTED), ==, EV_SEE_NEW);
    see_range(l, 0, 6, 10);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.corrupted, ==, 1);
    CHECK_U64(c.delivered, ==, 10); /* the damaged copy still arrived */
    CHECK_U64(c.lost, ==, 0);
    /* One whose identity was lost counts as corrupted and received only. */
    ev_ledger_corrupt_unknown(l);
    reconcile(l, &p, 1, 1, &c);
    CHECK_U64(c.corrupted, ==, 2);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.foreign, ==, 0);
    ev_ledger_free(l);
}

static void test_foreign(void)
{
    ev_ledger *l = new_ledger(2, 1);
    ev_publane p[2] = {{.sent = 3}, {.sent = 3}};
    see_range(l, 0, 1, 3);
    see_range(l, 1, 1, 3);
    CHECK_INT(ev_ledger_see(l, 2, 1, 0), ==, EV_SEE_FOREIGN);
    CHECK_INT(ev_ledger_see(l, UINT32_MAX, 1, EV_SEE_REDELIVERED), ==, EV_SEE_FOREIGN);
    CHECK_INT(ev_ledger_see(l, 0, 0, 0), ==, EV_SEE_FOREIGN); /* seq 0 is invalid */
    CHECK_INT(ev_ledger_see(l, 5, 1, EV_SEE_CORRUPTED), ==, EV_SEE_FOREIGN);
    ev_ledger_foreign(l);
    ev_ledger_counts c;
    reconcile(l, p, 2, 0, &c);
    CHECK_U64(c.foreign, ==, 5);
    CHECK_U64(c.corrupted, ==, 1);
    CHECK_U64(c.received, ==, 11);
    CHECK_U64(c.delivered, ==, 6);
    CHECK_U64(c.duplicated + c.redelivered + c.reordered + c.lost, ==, 0);
    CHECK_U64(ev_ledger_distinct(l), ==, 6);
    ev_ledger_free(l);
}

static void test_above_sent(void)
{
    ev_ledger *l = new_ledger(1, 1);
    ev_publane p = {.sent = 10};
    see_range(l, 0, 1, 12);
    ev_ledger_counts c;
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.delivered, ==, 10);
    CHECK_U64(c.foreign, ==, 2);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(ev_ledger_gaps(l, &p), ==, 0);
    /* An extra copy of an above-sent seq is a duplicate (no multiplicity is
     * kept per seq); the first copy stays foreign. */
    CHECK_INT(ev_ledger_see(l, 0, 12, 0), ==, EV_SEE_DUP);
    reconcile(l, &p, 1, 0, &c);
    CHECK_U64(c.foreign, ==, 2);
    CHECK_U64(c.duplicated, ==, 1);
    CHECK_U64(c.received, ==, 13);
    ev_ledger_free(l);
}

static void test_zero_lanes_and_reset(void)
{
    ev_ledger *l = new_ledger(0, 0);
    CHECK_INT(ev_ledger_see(l, 0, 1, 0), ==, EV_SEE_FOREIGN);
    ev_ledger_counts c;
    ev_ledger_reconcile(l, NULL, 0, &c);
    CHECK_U64(c.foreign, ==, 1);
    CHECK_U64(c.received, ==, 1);
    CHECK_U64(ev_ledger_gaps(l, NULL), ==, 0);
    ev_ledger_free(l);

    l = new_ledger(2, 1);
    ev_publane p[2] = {{.sent = 5}, {.sent = 5}};
    size_t empty_bytes = ev_ledger_heap_bytes(l);
    see_range(l, 0, 2, 5);
    ev_ledger_see(l, 0, 1, EV_SEE_CORRUPTED | EV_SEE_REDELIVERED);
    ev_ledger_see(l, 1, 4, 0);
    ev_ledger_foreign(l);
    ev_ledger_corrupt_unknown(l);
    ev_ledger_reset(l);
    CHECK_U64(ev_ledger_heap_bytes(l), ==, empty_bytes);
    reconcile(l, p, 2, 0, &c);
    CHECK_U64(c.received + c.delivered + c.duplicated + c.redelivered + c.recovered, ==, 0);
    CHECK_U64(c.reordered + c.corrupted + c.foreign + c.unconfirmed, ==, 0);
    CHECK_U64(c.lost, ==, 10);
    /* Still ordered and usable after reset. */
    ev_ledger_see(l, 0, 2, 0);
    ev_ledger_see(l, 0, 1, 0);
    reconcile(l, p, 2, 0, &c);
    CHECK_U64(c.reordered, ==, 1);
    ev_ledger_free(l);
}

/* Two consumers of one group with overlapping sightings: the union counts
 * once, every extra copy is duplicated, counters add. */
static void test_merge_overlap(void)
{
    ev_ledger *a = new_ledger(2, 0), *b = new_ledger(2, 0), *g = new_ledger(2, 0);
    ev_publane p[2] = {{.sent = 100}, {.sent = 50}};
    see_range(a, 0, 1, 60);
    see_range(b, 0, 40, 100); /* 40..60 overlap: 21 duplicates */
    see_range(a, 1, 1, 50);
    for (uint64_t q = 1; q <= 50; q += 2) /* 25 flagged copies on lane 1 */
        CHECK_INT(ev_ledger_see(b, 1, q, EV_SEE_REDELIVERED), ==, EV_SEE_NEW);
    ev_ledger_foreign(b);
    CHECK_INT(ev_ledger_merge(g, a), ==, 0);
    CHECK_INT(ev_ledger_merge(g, b), ==, 0);
    ev_ledger_counts c;
    reconcile(g, p, 2, 0, &c);
    CHECK_U64(c.received, ==, 60 + 61 + 50 + 25 + 1);
    CHECK_U64(c.delivered, ==, 150);
    CHECK_U64(c.duplicated, ==, 21 + 25);
    CHECK_U64(c.redelivered, ==, 25);
    CHECK_U64(c.lost, ==, 0);
    CHECK_U64(c.foreign, ==, 1);
    CHECK_U64(ev_ledger_distinct(g), ==, 150);
    /* Each consumer alone sees no duplicate, only losses. */
    reconcile(a, p, 2, 0, &c);
    CHECK_U64(c.duplicated, ==, 0);
    CHECK_U64(c.lost, ==, 40);
    /* Contract violations are refused and leave dst unchanged. */
    ev_ledger *three = new_ledger(3, 0);
    CHECK_INT(ev_ledger_merge(g, three), ==, -1);
    CHECK_INT(ev_ledger_merge(g, g), ==, -1);
    reconcile(g, p, 2, 0, &c);
    CHECK_U64(c.received, ==, 197);
    CHECK_U64(c.duplicated, ==, 46);
    ev_ledger_free(three);
    ev_ledger_free(a);
    ev_ledger_free(b);
    ev_ledger_free(g);
}

/* DESIGN.md §3: 100 M in-order events need no more memory than 1 k. The
 * bench measures 100 M; here 1 M keeps the test fast. */
static void test_memory_bound(void)
{
    ev_ledger *l = new_ledger(4, 1);
    see_range(l, 2, 1, 1000);
    size_t small = ev_ledger_heap_bytes(l);
    for (uint64_t q = 1001; q <= 1000000; q++)
        ev_ledger_see(l, 2, q, 0);
    CHECK_U64(ev_ledger_heap_bytes(l), ==, small);
    CHECK_U64(ev_ledger_distinct(l), ==, 1000000);
    ev_ledger_free(l);
}

/* ---- randomized model ------------------------------------------------------- */

#define NL 3          /* lanes */
#define NC 2          /* consumers */
#define MAXSEQ 512    /* > max sent + above-sent margin */
#define MAXDELIV 4096 /* deliveries per run, bounded below */

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* 1 with probability pct/1000. */
static int chance(unsigned permille)
{
    return rng_next() % 1000 < permille;
}

enum { D_SEE, D_FOREIGN, D_UNKNOWN };

typedef struct delivery {
    int kind;
    uint32_t lane;
    uint64_t seq;
    unsigned flags;
} delivery;

static delivery dl[MAXDELIV];

/* What the naive model expects, from per-seq copy counts. */
typedef struct naive {
    uint32_t copies[NL][MAXSEQ]; /* group-wide deliveries per (lane, seq) */
    uint64_t flagged[NL];
    uint64_t foreign, corrupted, unknown, received, reordered;
} naive;

static void model_run(uint64_t seed)
{
    rng_state = seed * 0x2545f4914f6cdd1du + 1;
    /* Per-seed fault rates, so some runs are clean and some are heavy. */
    unsigned p_fail = (unsigned)(rng_next() % 200), p_fail_seen = (unsigned)(rng_next() % 1000);
    unsigned p_drop = (unsigned)(rng_next() % 100), p_dup = (unsigned)(rng_next() % 150);
    unsigned p_reord = (unsigned)(rng_next() % 200), p_flag = (unsigned)(rng_next() % 1000);
    unsigned p_corrupt = (unsigned)(rng_next() % 30), p_noise = (unsigned)(rng_next() % 20);
    int ordered = (int)(seed % 2);

    ev_publane pubs[NL];
    memset(pubs, 0, sizeof pubs);
    for (int i = 0; i < NL; i++)
        pubs[i].sent = rng_next() % 8 == 0 ? 0 : rng_next() % 400;

    /* Publisher + broker: lanes interleave at random; each attempted seq may
     * fail (and then still reach the broker or not), be dropped, or be
     * delivered with extra copies; noise (foreign, unreadable, bad lane, seq
     * 0, seq above sent) is sprinkled in. */
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
        if (!reaches || chance(p_drop))
            continue;
        int copies = 1;
        while (copies < 4 && chance(p_dup))
            copies++;
        for (int k = 0; k < copies && nd < MAXDELIV; k++) {
            unsigned f = 0;
            if (k > 0 ? chance(p_flag) : chance(20))
                f |= EV_SEE_REDELIVERED;
            if (chance(p_corrupt))
                f |= EV_SEE_CORRUPTED;
            dl[nd++] = (delivery){D_SEE, lane, seq, f};
        }
        if (nd < MAXDELIV && chance(p_noise)) {
            delivery d = {D_SEE, lane, 0, 0};
            switch (rng_next() % 5) {
            case 0:
                d.kind = D_FOREIGN;
                break;
            case 1:
                d.kind = D_UNKNOWN;
                break;
            case 2:
                d.lane = NL + (uint32_t)(rng_next() % 3);
                d.seq = seq;
                break;
            case 3:
                d.seq = 0;
                break;
            default:
                d.seq = pubs[lane].sent + 1 + rng_next() % 5;
                break;
            }
            if (chance(100))
                d.flags |= EV_SEE_CORRUPTED;
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

    /* Consumers: each delivery goes to one of NC competing consumers. The
     * naive model tracks, per consumer, the seen bits and lane maxima (for
     * see()'s return value and reorders) and, group-wide, copies per seq. */
    static naive nv;
    static unsigned char cseen[NC][NL][MAXSEQ];
    uint64_t cmax[NC][NL];
    memset(&nv, 0, sizeof nv);
    memset(cseen, 0, sizeof cseen);
    memset(cmax, 0, sizeof cmax);
    ev_ledger *cons[NC];
    for (int k = 0; k < NC; k++)
        cons[k] = new_ledger(NL, ordered);
    for (size_t i = 0; i < nd; i++) {
        const delivery *d = &dl[i];
        int k = (int)(rng_next() % NC);
        nv.received++;
        if (d->kind == D_FOREIGN) {
            ev_ledger_foreign(cons[k]);
            nv.foreign++;
            continue;
        }
        if (d->kind == D_UNKNOWN) {
            ev_ledger_corrupt_unknown(cons[k]);
            nv.unknown++;
            nv.corrupted++;
            continue;
        }
        if (d->flags & EV_SEE_CORRUPTED)
            nv.corrupted++;
        int want;
        if (d->lane >= NL || d->seq == 0) {
            nv.foreign++;
            want = EV_SEE_FOREIGN;
        } else {
            nv.copies[d->lane][d->seq]++;
            if (d->flags & EV_SEE_REDELIVERED)
                nv.flagged[d->lane]++;
            if (cseen[k][d->lane][d->seq]) {
                want = EV_SEE_DUP;
            } else {
                want = EV_SEE_NEW;
                cseen[k][d->lane][d->seq] = 1;
                if (ordered && d->seq < cmax[k][d->lane])
                    nv.reordered++;
                if (d->seq > cmax[k][d->lane])
                    cmax[k][d->lane] = d->seq;
            }
        }
        CHECK_INT(ev_ledger_see(cons[k], d->lane, d->seq, d->flags), ==, want);
    }

    /* Naive classes for the group. */
    ev_ledger_counts want = {0};
    want.received = nv.received;
    want.reordered = nv.reordered;
    want.corrupted = nv.corrupted;
    want.foreign = nv.foreign;
    uint64_t want_gaps = 0, distinct = 0;
    for (int i = 0; i < NL; i++) {
        uint64_t dup = 0, hwm = 0;
        for (uint64_t q = 1; q < MAXSEQ; q++) {
            uint32_t n = nv.copies[i][q];
            if (n > 0)
                hwm = q;
            distinct += n > 0;
            dup += n > 1 ? n - 1 : 0;
            if (q > pubs[i].sent) {
                want.foreign += n > 0;
                continue;
            }
            int failed = ev_iset_contains(&pubs[i].failed, q);
            if (failed)
                *(n ? &want.recovered : &want.unconfirmed) += 1;
            else
                *(n ? &want.delivered : &want.lost) += 1;
        }
        want.duplicated += dup;
        want.redelivered += nv.flagged[i] < dup ? nv.flagged[i] : dup;
        if (hwm > pubs[i].sent)
            hwm = pubs[i].sent;
        for (uint64_t q = 1; q <= hwm; q++)
            want_gaps += nv.copies[i][q] == 0 && !ev_iset_contains(&pubs[i].failed, q);
    }

    /* The group ledger, merged both ways round: same answer. */
    ev_ledger *g1 = new_ledger(NL, ordered), *g2 = new_ledger(NL, ordered);
    for (int k = 0; k < NC; k++) {
        CHECK_INT(ev_ledger_merge(g1, cons[k]), ==, 0);
        CHECK_INT(ev_ledger_merge(g2, cons[NC - 1 - k]), ==, 0);
    }
    ev_ledger_counts got, got2;
    reconcile(g1, pubs, NL, nv.unknown, &got);
    ev_ledger_reconcile(g2, pubs, 0, &got2);
    CHECK_U64(got.received, ==, want.received);
    CHECK_U64(got.delivered, ==, want.delivered);
    CHECK_U64(got.lost, ==, want.lost);
    CHECK_U64(got.duplicated, ==, want.duplicated);
    CHECK_U64(got.redelivered, ==, want.redelivered);
    CHECK_U64(got.unconfirmed, ==, want.unconfirmed);
    CHECK_U64(got.recovered, ==, want.recovered);
    CHECK_U64(got.reordered, ==, want.reordered);
    CHECK_U64(got.corrupted, ==, want.corrupted);
    CHECK_U64(got.foreign, ==, want.foreign);
    CHECK(memcmp(&got, &got2, sizeof got) == 0);
    CHECK_U64(ev_ledger_gaps(g1, pubs), ==, want_gaps);
    CHECK_U64(ev_ledger_distinct(g1), ==, distinct);
    CHECK_U64(ev_ledger_received(g1), ==, nv.received);

    /* Each consumer alone satisfies the identities and its own gap count. */
    for (int k = 0; k < NC; k++) {
        ev_ledger_counts ck;
        ev_ledger_reconcile(cons[k], pubs, 0, &ck);
        uint64_t sent = 0, failed = 0;
        for (int i = 0; i < NL; i++) {
            sent += pubs[i].sent;
            failed += pubs[i].failed.count;
        }
        CHECK_U64(ck.delivered + ck.lost + ck.unconfirmed + ck.recovered, ==, sent);
        CHECK_U64(ck.delivered + ck.lost, ==, sent - failed);
        uint64_t gaps = 0;
        for (int i = 0; i < NL; i++) {
            uint64_t hwm = 0;
            for (uint64_t q = 1; q < MAXSEQ; q++)
                if (cseen[k][i][q])
                    hwm = q;
            if (hwm > pubs[i].sent)
                hwm = pubs[i].sent;
            for (uint64_t q = 1; q <= hwm; q++)
                gaps += !cseen[k][i][q] && !ev_iset_contains(&pubs[i].failed, q);
        }
        CHECK_U64(ev_ledger_gaps(cons[k], pubs), ==, gaps);
    }

    for (int k = 0; k < NC; k++)
        ev_ledger_free(cons[k]);
    ev_ledger_free(g1);
    ev_ledger_free(g2);
    for (int i = 0; i < NL; i++)
        ev_iset_clear(&pubs[i].failed);
}

static void test_model(void)
{
    for (uint64_t seed = 1; seed <= 200; seed++)
        model_run(seed);
}

int main(void)
{
    EV_RUN(test_in_order);
    EV_RUN(test_drop);
    EV_RUN(test_dup);
    EV_RUN(test_reorder);
    EV_RUN(test_failed_seen_and_unseen);
    EV_RUN(test_corrupted);
    EV_RUN(test_foreign);
    EV_RUN(test_above_sent);
    EV_RUN(test_zero_lanes_and_reset);
    EV_RUN(test_merge_overlap);
    EV_RUN(test_memory_bound);
    EV_RUN(test_model);
    EV_DONE();
}
