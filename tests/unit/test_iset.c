/* Unit tests for ev_iset: the hand-made cases of each add() path and of the
 * queries and of the set operations (union, intersect, subtract, with their
 * aliasings), then a randomized model test that replays seeded operations on
 * two ev_isets and on naive bitmaps (adds, union, merge, intersect and
 * subtract into a third set or in place as out == a and out == b, copy,
 * clear) and compares every query and the invariants after every step. */
#include "ev_iset.h"
#include "ev_test.h"

#include <stdint.h>

/* The representation invariants of ev_iset.c: sorted, disjoint, non-adjacent,
 * count equal to the sum of the interval lengths, n within cap. */
static void check_invariants(const ev_iset *s)
{
    uint64_t count = 0;
    CHECK(s->n <= s->cap);
    CHECK((s->v == NULL) == (s->cap == 0));
    for (size_t i = 0; i < s->n; i++) {
        CHECK_U64(s->v[i].lo, <=, s->v[i].hi);
        if (i > 0)
            CHECK_U64(s->v[i - 1].hi + 1, <, s->v[i].lo);
        count += s->v[i].hi - s->v[i].lo + 1;
    }
    CHECK_U64(count, ==, s->count);
    CHECK_U64(ev_iset_max(s), ==, s->n ? s->v[s->n - 1].hi : 0);
}

/* Checks that s is exactly the intervals iv[0..n) (given as lo, hi pairs). */
static void check_ivals(const ev_iset *s, const uint64_t *iv, size_t n)
{
    check_invariants(s);
    CHECK_U64(s->n, ==, n);
    for (size_t i = 0; i < n && i < s->n; i++) {
        CHECK_U64(s->v[i].lo, ==, iv[2 * i]);
        CHECK_U64(s->v[i].hi, ==, iv[2 * i + 1]);
    }
}

static void test_empty(void)
{
    ev_iset s = EV_ISET_INIT;
    check_invariants(&s);
    CHECK_U64(s.count, ==, 0);
    CHECK_U64(ev_iset_max(&s), ==, 0);
    CHECK_INT(ev_iset_contains(&s, 0), ==, 0);
    CHECK_INT(ev_iset_contains(&s, 1), ==, 0);
    CHECK_U64(ev_iset_count_range(&s, 0, UINT64_MAX), ==, 0);
    CHECK_U64(ev_iset_count_common(&s, &s), ==, 0);
    CHECK_U64(ev_iset_heap_bytes(&s), ==, 0);
    ev_iset_clear(&s); /* clearing an empty set is fine */
    check_invariants(&s);
}

static void test_in_order_no_growth(void)
{
    ev_iset s = EV_ISET_INIT;
    CHECK_INT(ev_iset_add(&s, 1), ==, 1);
    size_t bytes = ev_iset_heap_bytes(&s);
    CHECK_U64(bytes, >, 0);
    for (uint64_t q = 2; q <= 100000; q++)
        CHECK_INT(ev_iset_add(&s, q), ==, 1);
    uint64_t one[] = {1, 100000};
    check_ivals(&s, one, 1);
    CHECK_U64(s.count, ==, 100000);
    CHECK_U64(ev_iset_heap_bytes(&s), ==, bytes); /* memory did not grow */
    /* Appends past a gap also take the fast path. */
    CHECK_INT(ev_iset_add(&s, 100002), ==, 1);
    uint64_t two[] = {1, 100000, 100002, 100002};
    check_ivals(&s, two, 2);
    ev_iset_clear(&s);
    check_invariants(&s);
    CHECK_U64(ev_iset_heap_bytes(&s), ==, 0);
    /* Reusable after clear. */
    CHECK_INT(ev_iset_add(&s, 7), ==, 1);
    CHECK_U64(s.count, ==, 1);
    ev_iset_clear(&s);
}

static void test_adjacent_merging(void)
{
    ev_iset s = EV_ISET_INIT;
    ev_iset_add(&s, 10);
    ev_iset_add(&s, 20);
    ev_iset_add(&s, 30);
    /* Extends the middle interval on its left, then on its right. */
    CHECK_INT(ev_iset_add(&s, 19), ==, 1);
    CHECK_INT(ev_iset_add(&s, 21), ==, 1);
    uint64_t a[] = {10, 10, 19, 21, 30, 30};
    check_ivals(&s, a, 3);
    /* Left of the first interval and right of the last one. */
    CHECK_INT(ev_iset_add(&s, 9), ==, 1);
    CHECK_INT(ev_iset_add(&s, 31), ==, 1);
    uint64_t b[] = {9, 10, 19, 21, 30, 31};
    check_ivals(&s, b, 3);
    /* Extends the last interval on its left (not the fast path). */
    CHECK_INT(ev_iset_add(&s, 29), ==, 1);
    uint64_t c[] = {9, 10, 19, 21, 29, 31};
    check_ivals(&s, c, 3);
    CHECK_U64(s.count, ==, 2 + 3 + 3);
    ev_iset_clear(&s);
}

static void test_insert_middle_and_fill_gap(void)
{
    ev_iset s = EV_ISET_INIT;
    ev_iset_add(&s, 100);
    ev_iset_add(&s, 1);
    ev_iset_add(&s, 50);
    ev_iset_add(&s, 75);
    ev_iset_add(&s, 25);
    uint64_t a[] = {1, 1, 25, 25, 50, 50, 75, 75, 100, 100};
    check_ivals(&s, a, 5);
    /* Filling one-wide gaps joins two intervals into one. */
    ev_iset_add(&s, 2);
    ev_iset_add(&s, 4);
    CHECK_INT(ev_iset_add(&s, 3), ==, 1);
    uint64_t b[] = {1, 4, 25, 25, 50, 50, 75, 75, 100, 100};
    check_ivals(&s, b, 5);
    ev_iset_add(&s, 51);
    ev_iset_add(&s, 53);
    CHECK_INT(ev_iset_add(&s, 52), ==, 1);
    uint64_t c[] = {1, 4, 25, 25, 50, 53, 75, 75, 100, 100};
    check_ivals(&s, c, 5);
    /* The join at the very end: last interval and its left neighbour. */
    ev_iset_add(&s, 98);
    CHECK_INT(ev_iset_add(&s, 99), ==, 1);
    uint64_t d[] = {1, 4, 25, 25, 50, 53, 75, 75, 98, 100};
    check_ivals(&s, d, 5);
    /* The join at the very start. */
    ev_iset_add(&s, 6);
    CHECK_INT(ev_iset_add(&s, 5), ==, 1);
    uint64_t e[] = {1, 6, 25, 25, 50, 53, 75, 75, 98, 100};
    check_ivals(&s, e, 5);
    CHECK_U64(s.count, ==, 6 + 1 + 4 + 1 + 3);
    ev_iset_clear(&s);
}

static void test_duplicates(void)
{
    ev_iset s = EV_ISET_INIT;
    for (uint64_t q = 10; q <= 20; q++)
        ev_iset_add(&s, q);
    ev_iset_add(&s, 30);
    ev_iset_add(&s, 40);
    uint64_t before = s.count;
    uint64_t dups[] = {10, 15, 20, 30, 40};
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++)
        CHECK_INT(ev_iset_add(&s, dups[i]), ==, 0);
    CHECK_U64(s.count, ==, before);
    uint64_t a[] = {10, 20, 30, 30, 40, 40};
    check_ivals(&s, a, 3);
    CHECK_INT(ev_iset_contains(&s, 9), ==, 0);
    CHECK_INT(ev_iset_contains(&s, 10), ==, 1);
    CHECK_INT(ev_iset_contains(&s, 20), ==, 1);
    CHECK_INT(ev_iset_contains(&s, 21), ==, 0);
    CHECK_INT(ev_iset_contains(&s, 40), ==, 1);
    CHECK_INT(ev_iset_contains(&s, 41), ==, 0);
    ev_iset_clear(&s);
}

static void test_extremes(void)
{
    ev_iset s = EV_ISET_INIT;
    CHECK_INT(ev_iset_add(&s, UINT64_MAX), ==, 1);
    CHECK_INT(ev_iset_add(&s, UINT64_MAX), ==, 0);
    CHECK_INT(ev_iset_add(&s, UINT64_MAX - 1), ==, 1);
    CHECK_INT(ev_iset_add(&s, 0), ==, 1);
    CHECK_INT(ev_iset_add(&s, 1), ==, 1);
    uint64_t a[] = {0, 1, UINT64_MAX - 1, UINT64_MAX};
    check_ivals(&s, a, 2);
    CHECK_U64(ev_iset_max(&s), ==, UINT64_MAX);
    CHECK_U64(ev_iset_count_range(&s, 0, UINT64_MAX), ==, 4);
    CHECK_U64(ev_iset_count_range(&s, UINT64_MAX, UINT64_MAX), ==, 1);
    CHECK_U64(ev_iset_count_common(&s, &s), ==, 4);
    ev_iset t = EV_ISET_INIT;
    ev_iset_add(&t, UINT64_MAX - 2);
    CHECK_INT(ev_iset_merge(&t, &s), ==, 0);
    uint64_t b[] = {0, 1, UINT64_MAX - 2, UINT64_MAX};
    check_ivals(&t, b, 2);
    ev_iset_clear(&s);
    ev_iset_clear(&t);
}

static void test_count_range(void)
{
    ev_iset s = EV_ISET_INIT;
    for (uint64_t q = 10; q <= 19; q++) /* [10,19] [30,39] [50,50] */
        ev_iset_add(&s, q);
    for (uint64_t q = 30; q <= 39; q++)
        ev_iset_add(&s, q);
    ev_iset_add(&s, 50);
    CHECK_U64(ev_iset_count_range(&s, 5, 4), ==, 0); /* lo > hi */
    CHECK_U64(ev_iset_count_range(&s, 0, UINT64_MAX), ==, 21);
    CHECK_U64(ev_iset_count_range(&s, 0, 9), ==, 0);
    CHECK_U64(ev_iset_count_range(&s, 0, 10), ==, 1);
    CHECK_U64(ev_iset_count_range(&s, 19, 19), ==, 1);
    CHECK_U64(ev_iset_count_range(&s, 20, 29), ==, 0);
    CHECK_U64(ev_iset_count_range(&s, 19, 30), ==, 2);
    CHECK_U64(ev_iset_count_range(&s, 15, 35), ==, 5 + 6);
    CHECK_U64(ev_iset_count_range(&s, 10, 50), ==, 21);
    CHECK_U64(ev_iset_count_range(&s, 11, 49), ==, 19);
    CHECK_U64(ev_iset_count_range(&s, 50, 50), ==, 1);
    CHECK_U64(ev_iset_count_range(&s, 51, UINT64_MAX), ==, 0);
    ev_iset_clear(&s);
}

static void test_count_common(void)
{
    ev_iset a = EV_ISET_INIT, b = EV_ISET_INIT, e = EV_ISET_INIT;
    for (uint64_t q = 1; q <= 100; q++) /* a = [1,100] minus multiples of 10 */
        if (q % 10)
            ev_iset_add(&a, q);
    for (uint64_t q = 50; q <= 150; q++) /* b = [50,150] */
        ev_iset_add(&b, q);
    CHECK_U64(ev_iset_count_common(&a, &b), ==, 51 - 6); /* 50..100 minus 50,60..100 */
    CHECK_U64(ev_iset_count_common(&b, &a), ==, 45);
    CHECK_U64(ev_iset_count_common(&a, &a), ==, a.count);
    CHECK_U64(ev_iset_count_common(&a, &e), ==, 0);
    CHECK_U64(ev_iset_count_common(&e, &b), ==, 0);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 1, 49), ==, 0);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 51, 59), ==, 9);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 55, 55), ==, 1);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 60, 60), ==, 0);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 99, 1000), ==, 1);
    CHECK_U64(ev_iset_count_common_range(&a, &b, 9, 8), ==, 0);
    ev_iset_clear(&a);
    ev_iset_clear(&b);
}

static void test_merge_interleaved(void)
{
    ev_iset odd = EV_ISET_INIT, even = EV_ISET_INIT, e = EV_ISET_INIT;
    for (uint64_t q = 1; q <= 100; q++)
        ev_iset_add(q % 2 ? &odd : &even, q);
    CHECK_U64(odd.n, ==, 50);
    CHECK_U64(ev_iset_count_common(&odd, &even), ==, 0);
    ev_iset u = EV_ISET_INIT;
    CHECK_INT(ev_iset_union(&u, &odd, &even), ==, 0);
    uint64_t one[] = {1, 100};
    check_ivals(&u, one, 1);
    CHECK_U64(u.count, ==, 100);
    /* merge = union into dst; merging the empty set or itself changes nothing. */
    CHECK_INT(ev_iset_merge(&odd, &even), ==, 0);
    check_ivals(&odd, one, 1);
    CHECK_INT(ev_iset_merge(&odd, &e), ==, 0);
    CHECK_INT(ev_iset_merge(&odd, &odd), ==, 0);
    check_ivals(&odd, one, 1);
    CHECK_INT(ev_iset_merge(&e, &even), ==, 0);
    CHECK_U64(e.count, ==, 50);
    CHECK_U64(e.n, ==, 50);
    check_invariants(&e);
    /* Interleaved blocks with overlaps and touching ends. */
    ev_iset a = EV_ISET_INIT, b = EV_ISET_INIT;
    uint64_t ab[][2] = {{1, 5}, {10, 20}, {30, 30}, {40, 45}, {60, 70}};
    uint64_t bb[][2] = {{6, 8}, {15, 25}, {31, 39}, {50, 55}, {70, 80}, {90, 90}};
    for (size_t i = 0; i < 5; i++)
        for (uint64_t q = ab[i][0]; q <= ab[i][1]; q++)
            ev_iset_add(&a, q);
    for (size_t i = 0; i < 6; i++)
        for (uint64_t q = bb[i][0]; q <= bb[i][1]; q++)
            ev_iset_add(&b, q);
    CHECK_INT(ev_iset_union(&u, &a, &b), ==, 0); /* u had content: replaced */
    uint64_t want[] = {1, 8, 10, 25, 30, 45, 50, 55, 60, 80, 90, 90};
    check_ivals(&u, want, 6);
    /* union may alias its output with an input. */
    CHECK_INT(ev_iset_union(&b, &a, &b), ==, 0);
    check_ivals(&b, want, 6);
    ev_iset_clear(&odd);
    ev_iset_clear(&even);
    ev_iset_clear(&e);
    ev_iset_clear(&u);
    ev_iset_clear(&a);
    ev_iset_clear(&b);
}

static void test_copy(void)
{
    ev_iset a = EV_ISET_INIT, b = EV_ISET_INIT, e = EV_ISET_INIT;
    ev_iset_add(&a, 3);
    ev_iset_add(&a, 4);
    ev_iset_add(&a, 9);
    ev_iset_add(&b, 100);
    CHECK_INT(ev_iset_copy(&b, &a), ==, 0);
    uint64_t want[] = {3, 4, 9, 9};
    check_ivals(&b, want, 2);
    CHECK_U64(b.count, ==, 3);
    CHECK(b.v != a.v);
    ev_iset_add(&b, 5); /* the copy is independent */
    CHECK_U64(a.count, ==, 3);
    CHECK_INT(ev_iset_copy(&a, &a), ==, 0);
    check_ivals(&a, want, 2);
    CHECK_INT(ev_iset_copy(&b, &e), ==, 0);
    check_invariants(&b);
    CHECK_U64(b.count, ==, 0);
    CHECK_U64(ev_iset_heap_bytes(&b), ==, 0);
    ev_iset_clear(&a);
    ev_iset_clear(&b);
}

/* Builds s from lo, hi pairs (s's old contents are kept). */
static void add_ivals(ev_iset *s, const uint64_t *iv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (uint64_t q = iv[2 * i];; q++) {
            CHECK_INT(ev_iset_add(s, q), >=, 0);
            if (q == iv[2 * i + 1])
                break;
        }
}

static void test_intersect(void)
{
    ev_iset a = EV_ISET_INIT, b = EV_ISET_INIT, e = EV_ISET_INIT, out = EV_ISET_INIT;
    uint64_t av[] = {1, 5, 10, 20, 30, 30, 40, 45, 60, 70};
    uint64_t bv[] = {3, 12, 15, 15, 20, 31, 46, 50, 55, 60, 70, 80};
    add_ivals(&a, av, 5);
    add_ivals(&b, bv, 6);
    /* Partial overlaps on either side, one interval inside another, single
     * points where ends touch, and an interval of b between two of a. */
    uint64_t want[] = {3, 5, 10, 12, 15, 15, 20, 20, 30, 30, 60, 60, 70, 70};
    CHECK_INT(ev_iset_intersect(&out, &a, &b), ==, 0);
    check_ivals(&out, want, 7);
    CHECK_U64(out.count, ==, 3 + 3 + 1 + 1 + 1 + 1 + 1);
    CHECK_U64(out.count, ==, ev_iset_count_common(&a, &b));
    CHECK_INT(ev_iset_intersect(&out, &b, &a), ==, 0); /* old contents replaced */
    check_ivals(&out, want, 7);
    /* With the empty set and with itself. */
    CHECK_INT(ev_iset_intersect(&out, &a, &e), ==, 0);
    check_ivals(&out, NULL, 0);
    CHECK_INT(ev_iset_intersect(&out, &e, &b), ==, 0);
    check_ivals(&out, NULL, 0);
    CHECK_INT(ev_iset_intersect(&out, &e, &e), ==, 0);
    check_ivals(&out, NULL, 0);
    CHECK_INT(ev_iset_intersect(&out, &a, &a), ==, 0);
    check_ivals(&out, av, 5);
    /* Disjoint sets. */
    ev_iset c = EV_ISET_INIT;
    uint64_t cv[] = {6, 9, 21, 29, 31, 39};
    add_ivals(&c, cv, 3);
    CHECK_INT(ev_iset_intersect(&out, &a, &c), ==, 0);
    check_ivals(&out, NULL, 0);
    /* out may alias a, b or both. */
    ev_iset a2 = EV_ISET_INIT, b2 = EV_ISET_INIT;
    CHECK_INT(ev_iset_copy(&a2, &a), ==, 0);
    CHECK_INT(ev_iset_copy(&b2, &b), ==, 0);
    CHECK_INT(ev_iset_intersect(&a2, &a2, &b), ==, 0);
    check_ivals(&a2, want, 7);
    CHECK_INT(ev_iset_intersect(&b2, &a, &b2), ==, 0);
    check_ivals(&b2, want, 7);
    CHECK_INT(ev_iset_copy(&a2, &a), ==, 0);
    CHECK_INT(ev_iset_intersect(&a2, &a2, &a2), ==, 0);
    check_ivals(&a2, av, 5);
    /* The ends of the range. */
    ev_iset x = EV_ISET_INIT, y = EV_ISET_INIT;
    uint64_t xv[] = {0, 3, UINT64_MAX - 5, UINT64_MAX};
    uint64_t yv[] = {2, 10, UINT64_MAX, UINT64_MAX};
    add_ivals(&x, xv, 2);
    add_ivals(&y, yv, 2);
    uint64_t xy[] = {2, 3, UINT64_MAX, UINT64_MAX};
    CHECK_INT(ev_iset_intersect(&out, &x, &y), ==, 0);
    check_ivals(&out, xy, 2);
    CHECK_U64(out.count, ==, 3);
    ev_iset *all[] = {&a, &b, &c, &e, &out, &a2, &b2, &x, &y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ev_iset_clear(all[i]);
}

static void test_subtract(void)
{
    ev_iset a = EV_ISET_INIT, b = EV_ISET_INIT, e = EV_ISET_INIT, out = EV_ISET_INIT;
    uint64_t av[] = {1, 5, 10, 20, 30, 30, 40, 45, 60, 70};
    uint64_t bv[] = {3, 12, 15, 15, 20, 31, 46, 50, 55, 60, 70, 80};
    add_ivals(&a, av, 5);
    add_ivals(&b, bv, 6);
    /* a \ b: a cut on the right, on the left, split in two, untouched, and
     * trimmed at both ends. */
    uint64_t amb[] = {1, 2, 13, 14, 16, 19, 40, 45, 61, 69};
    CHECK_INT(ev_iset_subtract(&out, &a, &b), ==, 0);
    check_ivals(&out, amb, 5);
    CHECK_U64(out.count, ==, a.count - ev_iset_count_common(&a, &b));
    uint64_t bma[] = {6, 9, 21, 29, 31, 31, 46, 50, 55, 59, 71, 80};
    CHECK_INT(ev_iset_subtract(&out, &b, &a), ==, 0); /* old contents replaced */
    check_ivals(&out, bma, 6);
    /* With the empty set and with itself. */
    CHECK_INT(ev_iset_subtract(&out, &a, &e), ==, 0);
    check_ivals(&out, av, 5);
    CHECK_INT(ev_iset_subtract(&out, &e, &a), ==, 0);
    check_ivals(&out, NULL, 0);
    CHECK_INT(ev_iset_subtract(&out, &a, &a), ==, 0);
    check_ivals(&out, NULL, 0);
    /* One interval of b covering all of a; many of b inside one of a. */
    ev_iset big = EV_ISET_INIT, holes = EV_ISET_INIT, one = EV_ISET_INIT;
    uint64_t bigv[] = {0, 100};
    add_ivals(&big, bigv, 1);
    CHECK_INT(ev_iset_subtract(&out, &a, &big), ==, 0);
    check_ivals(&out, NULL, 0);
    for (uint64_t q = 10; q <= 90; q += 10)
        CHECK_INT(ev_iset_add(&holes, q), ==, 1);
    uint64_t onev[] = {5, 95};
    add_ivals(&one, onev, 1);
    uint64_t split[] = {5,  9,  11, 19, 21, 29, 31, 39, 41, 49,
                        51, 59, 61, 69, 71, 79, 81, 89, 91, 95};
    CHECK_INT(ev_iset_subtract(&out, &one, &holes), ==, 0);
    check_ivals(&out, split, 10);
    CHECK_U64(out.count, ==, 91 - 9);
    /* out may alias a, b or both. */
    ev_iset a2 = EV_ISET_INIT, b2 = EV_ISET_INIT;
    CHECK_INT(ev_iset_copy(&a2, &a), ==, 0);
    CHECK_INT(ev_iset_copy(&b2, &b), ==, 0);
    CHECK_INT(ev_iset_subtract(&a2, &a2, &b), ==, 0);
    check_ivals(&a2, amb, 5);
    CHECK_INT(ev_iset_subtract(&b2, &a, &b2), ==, 0);
    check_ivals(&b2, amb, 5);
    CHECK_INT(ev_iset_copy(&a2, &a), ==, 0);
    CHECK_INT(ev_iset_subtract(&a2, &a2, &a2), ==, 0);
    check_ivals(&a2, NULL, 0);
    /* The ends of the range. */
    ev_iset x = EV_ISET_INIT, y = EV_ISET_INIT;
    uint64_t xv[] = {0, 3, UINT64_MAX - 5, UINT64_MAX};
    uint64_t yv[] = {0, 0, 2, 2, UINT64_MAX - 1, UINT64_MAX - 1};
    add_ivals(&x, xv, 2);
    add_ivals(&y, yv, 3);
    uint64_t xmy[] = {1, 1, 3, 3, UINT64_MAX - 5, UINT64_MAX - 2, UINT64_MAX, UINT64_MAX};
    CHECK_INT(ev_iset_subtract(&out, &x, &y), ==, 0);
    check_ivals(&out, xmy, 4);
    CHECK_U64(out.count, ==, 1 + 1 + 4 + 1);
    ev_iset *all[] = {&a, &b, &e, &out, &big, &holes, &one, &a2, &b2, &x, &y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ev_iset_clear(all[i]);
}

/* ---- randomized model test ------------------------------------------------ */

#define UNIVERSE 1500

static uint64_t rng_state;

static uint64_t rng_next(void) /* splitmix64: fixed seeds, reproducible */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

typedef struct model {
    ev_iset s;
    unsigned char bit[UNIVERSE];
    uint64_t next; /* for in-order runs */
} model;

static void model_add(model *m, uint64_t q)
{
    int r = ev_iset_add(&m->s, q);
    CHECK_INT(r, ==, m->bit[q] ? 0 : 1);
    m->bit[q] = 1;
}

/* One random mutation: mostly in-order runs (the ledger's shape), some
 * random points, some points next to existing members. */
static void model_mutate(model *m)
{
    uint64_t k = rng_below(10);
    if (k < 5) {
        uint64_t len = 1 + rng_below(8);
        for (uint64_t i = 0; i < len && m->next < UNIVERSE; i++)
            model_add(m, m->next++);
        if (rng_below(4) == 0)
            m->next += rng_below(5); /* leave a gap */
        if (m->next >= UNIVERSE)
            m->next = rng_below(UNIVERSE);
    } else if (k < 8) {
        model_add(m, rng_below(UNIVERSE));
    } else {
        uint64_t q = rng_below(UNIVERSE);
        if (q > 0 && m->bit[q - 1] == 0 && q + 1 < UNIVERSE && m->bit[q + 1])
            model_add(m, q - 1);
        else
            model_add(m, q);
    }
}

static uint64_t naive_count(const model *m, uint64_t lo, uint64_t hi)
{
    uint64_t c = 0;
    for (uint64_t q = lo; q <= hi && q < UNIVERSE; q++)
        c += m->bit[q];
    return c;
}

static void model_check(const model *a, const model *b)
{
    check_invariants(&a->s);
    CHECK_U64(a->s.count, ==, naive_count(a, 0, UNIVERSE - 1));
    uint64_t mx = 0;
    for (uint64_t q = 0; q < UNIVERSE; q++)
        if (a->bit[q])
            mx = q;
    CHECK_U64(ev_iset_max(&a->s), ==, mx);
    for (int i = 0; i < 8; i++) {
        uint64_t q = rng_below(UNIVERSE + 2);
        CHECK_INT(ev_iset_contains(&a->s, q), ==, q < UNIVERSE ? a->bit[q] : 0);
        uint64_t lo = rng_below(UNIVERSE + 2), hi = lo + rng_below(UNIVERSE / 2);
        CHECK_U64(ev_iset_count_range(&a->s, lo, hi), ==, naive_count(a, lo, hi));
        uint64_t common = 0;
        for (uint64_t x = lo; x <= hi && x < UNIVERSE; x++)
            common += a->bit[x] & b->bit[x];
        CHECK_U64(ev_iset_count_common_range(&a->s, &b->s, lo, hi), ==, common);
    }
    uint64_t common = 0;
    for (uint64_t x = 0; x < UNIVERSE; x++)
        common += a->bit[x] & b->bit[x];
    CHECK_U64(ev_iset_count_common(&a->s, &b->s), ==, common);
    CHECK_U64(ev_iset_count_common(&b->s, &a->s), ==, common);
}

/* x = a ∩ b or a \ b with the bitmap model, in every aliasing: into a third
 * set (checked there), or in place as x = x op y or x = y op x. */
static unsigned setops[2][3]; /* runs per [subtract][how], so none goes untested */

static void model_setop(model *m, model *x)
{
    model *y = &m[x == &m[0]];
    int sub = (int)rng_below(2);
    uint64_t how = rng_below(3);
    setops[sub][how]++;
    static model r;
    memset(&r, 0, sizeof r);
    const model *a = how == 2 ? y : x, *b = how == 2 ? x : y;
    for (uint64_t q = 0; q < UNIVERSE; q++)
        r.bit[q] = sub ? a->bit[q] & !b->bit[q] : a->bit[q] & b->bit[q];
    if (how == 0) { /* a third set, with old contents to replace */
        ev_iset out = EV_ISET_INIT;
        CHECK_INT(ev_iset_add(&out, rng_below(UNIVERSE)), ==, 1);
        CHECK_INT((sub ? ev_iset_subtract : ev_iset_intersect)(&out, &x->s, &y->s), ==, 0);
        r.s = out;
        model_check(&r, y);
        ev_iset_clear(&r.s);
        return;
    }
    /* how 1: out == a (x = x op y); how 2: out == b (x = y op x). */
    CHECK_INT((sub ? ev_iset_subtract : ev_iset_intersect)(&x->s, &a->s, &b->s), ==, 0);
    memcpy(x->bit, r.bit, UNIVERSE);
}

static void model_run(uint64_t seed)
{
    rng_state = seed;
    static model m[2];
    memset(m, 0, sizeof m);
    m[1].next = UNIVERSE / 3;
    for (int op = 0; op < 4000; op++) {
        model *x = &m[rng_below(2)];
        uint64_t k = rng_below(100);
        if (k < 86) {
            model_mutate(x);
        } else if (k < 90) {
            /* Union of the two, checked against the bitmap, into a third set
             * so the two models keep evolving independently. */
            ev_iset u = EV_ISET_INIT;
            CHECK_INT(ev_iset_union(&u, &m[0].s, &m[1].s), ==, 0);
            static model mu;
            memset(&mu, 0, sizeof mu);
            for (uint64_t q = 0; q < UNIVERSE; q++)
                mu.bit[q] = m[0].bit[q] | m[1].bit[q];
            mu.s = u;
            model_check(&mu, x);
            ev_iset_clear(&mu.s);
        } else if (k < 92) {
            /* merge in place, the other way round too */
            model *y = &m[x == &m[0]];
            CHECK_INT(ev_iset_merge(&x->s, &y->s), ==, 0);
            for (uint64_t q = 0; q < UNIVERSE; q++)
                x->bit[q] |= y->bit[q];
        } else if (k < 97) {
            model_setop(m, x);
        } else if (k < 98) {
            model *y = &m[x == &m[0]];
            CHECK_INT(ev_iset_copy(&x->s, &y->s), ==, 0);
            memcpy(x->bit, y->bit, UNIVERSE);
        } else if (k < 99) {
            ev_iset_clear(&x->s);
            memset(x->bit, 0, UNIVERSE);
        }
        model_check(x, &m[x == &m[0]]);
    }
    ev_iset_clear(&m[0].s);
    ev_iset_clear(&m[1].s);
}

static void test_model(void)
{
    for (uint64_t seed = 1; seed <= 12; seed++)
        model_run(seed * 7919);
    for (int sub = 0; sub < 2; sub++)
        for (int how = 0; how < 3; how++)
            CHECK_U64(setops[sub][how], >=, 100);
}

int main(void)
{
    EV_RUN(test_empty);
    EV_RUN(test_in_order_no_growth);
    EV_RUN(test_adjacent_merging);
    EV_RUN(test_insert_middle_and_fill_gap);
    EV_RUN(test_duplicates);
    EV_RUN(test_extremes);
    EV_RUN(test_count_range);
    EV_RUN(test_count_common);
    EV_RUN(test_merge_interleaved);
    EV_RUN(test_copy);
    EV_RUN(test_intersect);
    EV_RUN(test_subtract);
    EV_RUN(test_model);
    EV_DONE();
}
