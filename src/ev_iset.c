/* ev_iset — a set of uint64 as sorted, disjoint, non-adjacent closed intervals.
 *
 * Design notes
 *
 * The ledger adds every delivered sequence number here, millions per second,
 * and almost always in order. So add() is shaped around the last interval:
 *   - seq == last.hi + 1  extends it in place: O(1), no allocation, no
 *     growth of memory however many members follow;
 *   - seq >  last.hi + 1  appends a new interval (amortised O(1));
 *   - anything else (a reordered or duplicate delivery) does a binary search
 *     for the first interval whose hi >= seq, then either finds seq already a
 *     member, extends a neighbour, joins the two neighbours (the gap was one
 *     seq wide), or inserts with memmove. Those cases cost O(log n) plus the
 *     memmove, where n is the number of intervals (gaps), not of members.
 *
 * Invariants (checked by the model test in tests/unit/test_iset.c):
 *   v[i].lo <= v[i].hi;  v[i].hi + 1 < v[i+1].lo (disjoint and non-adjacent,
 *   so each set has exactly one representation and counts are exact);
 *   count == Σ (hi − lo + 1);  n <= cap;  v == NULL iff cap == 0.
 *
 * The arrays grow by doubling. Every function that allocates builds the new
 * state before it frees or overwrites the old, so on -1 (out of memory) the
 * set is exactly as it was.
 *
 * Counting is exact for any set with fewer than 2^64 members; the one set that
 * cannot be counted, [0, UINT64_MAX], cannot arise from the ledger (seq 0 is
 * never added there). */
#include "ev_iset.h"

#include <stdlib.h>
#include <string.h>

/* First allocation: small, because a ledger holds one set per lane and most
 * in-order lanes never need a second interval. */
#define ISET_MIN_CAP 4

/* Makes room for at least `need` intervals. 0, or -1 with s unchanged. */
static int iset_reserve(ev_iset *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : ISET_MIN_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(ev_ival))
            return -1;
        cap *= 2;
    }
    ev_ival *v = realloc(s->v, cap * sizeof(ev_ival));
    if (!v)
        return -1;
    s->v = v;
    s->cap = cap;
    return 0;
}

/* Index of the first interval with hi >= x, or n when there is none. */
static size_t iset_lower(const ev_iset *s, uint64_t x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].hi < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Slow path of add(): seq lies below the last interval's lo, so a first
 * interval with hi >= seq exists. */
static int iset_add_inside(ev_iset *s, uint64_t seq)
{
    size_t i = iset_lower(s, seq);
    ev_ival *v = s->v;
    if (v[i].lo <= seq)
        return 0; /* already a member */
    /* Now v[i-1].hi < seq < v[i].lo, so seq - 1 and seq + 1 cannot overflow
     * where they are used below. */
    int join_left = i > 0 && v[i - 1].hi + 1 == seq;
    int join_right = seq + 1 == v[i].lo;
    if (join_left && join_right) {
        /* seq filled a one-wide gap: the two neighbours become one. */
        v[i - 1].hi = v[i].hi;
        memmove(&v[i], &v[i + 1], (s->n - i - 1) * sizeof(ev_ival));
        s->n--;
    } else if (join_left) {
        v[i - 1].hi = seq;
    } else if (join_right) {
        v[i].lo = seq;
    } else {
        if (iset_reserve(s, s->n + 1) < 0)
            return -1;
        v = s->v;
        memmove(&v[i + 1], &v[i], (s->n - i) * sizeof(ev_ival));
        v[i].lo = v[i].hi = seq;
        s->n++;
    }
    s->count++;
    return 1;
}

int ev_iset_add(ev_iset *s, uint64_t seq)
{
    if (s->n > 0) {
        ev_ival *last = &s->v[s->n - 1];
        if (seq > last->hi) {
            if (seq == last->hi + 1) { /* the hot path: in-order delivery */
                last->hi = seq;
                s->count++;
                return 1;
            }
        } else if (seq >= last->lo) {
            return 0;
        } else {
            return iset_add_inside(s, seq);
        }
    }
    /* Empty set, or seq beyond the last interval with a gap: append. */
    if (iset_reserve(s, s->n + 1) < 0)
        return -1;
    s->v[s->n].lo = s->v[s->n].hi = seq;
    s->n++;
    s->count++;
    return 1;
}

int ev_iset_contains(const ev_iset *s, uint64_t seq)
{
    size_t i = iset_lower(s, seq);
    return i < s->n && s->v[i].lo <= seq;
}

/* Appends [lo, hi] to out[0..*w), coalescing with the last interval when they
 * overlap or touch. Inputs arrive sorted by lo, which is all this needs. */
static void union_push(ev_ival *out, size_t *w, uint64_t lo, uint64_t hi)
{
    if (*w > 0) {
        ev_ival *last = &out[*w - 1];
        /* lo >= last->lo here; "touch" is lo == last->hi + 1, written so that
         * last->hi == UINT64_MAX cannot overflow. */
        if (lo <= last->hi || lo - last->hi == 1) {
            if (hi > last->hi)
                last->hi = hi;
            return;
        }
    }
    out[*w].lo = lo;
    out[*w].hi = hi;
    (*w)++;
}

int ev_iset_union(ev_iset *out, const ev_iset *a, const ev_iset *b)
{
    size_t na = a->n, nb = b->n;
    if (na > SIZE_MAX / sizeof(ev_ival) - nb)
        return -1;
    size_t cap = na + nb;
    ev_ival *v = NULL;
    size_t w = 0;
    uint64_t count = 0;
    if (cap > 0) {
        v = malloc(cap * sizeof(ev_ival));
        if (!v)
            return -1;
        size_t i = 0, j = 0;
        while (i < na || j < nb) {
            const ev_ival *x;
            if (j >= nb || (i < na && a->v[i].lo <= b->v[j].lo))
                x = &a->v[i++];
            else
                x = &b->v[j++];
            union_push(v, &w, x->lo, x->hi);
        }
        for (size_t k = 0; k < w; k++)
            count += v[k].hi - v[k].lo + 1;
        /* Heavy overlap leaves much of the array unused: give it back (a
         * failed shrink just keeps the larger block). */
        if (w <= cap / 2 && w >= ISET_MIN_CAP) {
            ev_ival *shrunk = realloc(v, w * sizeof(ev_ival));
            if (shrunk) {
                v = shrunk;
                cap = w;
            }
        }
    }
    /* Commit only now: out may be a or b, which were read above. */
    free(out->v);
    out->v = v;
    out->n = w;
    out->cap = cap;
    out->count = count;
    return 0;
}

/* Replaces out's contents by v[0..n) (owned), counting members. */
static void commit(ev_iset *out, ev_ival *v, size_t n, size_t cap)
{
    uint64_t count = 0;
    for (size_t k = 0; k < n; k++)
        count += v[k].hi - v[k].lo + 1;
    free(out->v);
    out->v = v;
    out->n = n;
    out->cap = cap;
    out->count = count;
}

int ev_iset_intersect(ev_iset *out, const ev_iset *a, const ev_iset *b)
{
    size_t cap = a->n + b->n, w = 0;
    ev_ival *v = cap ? malloc(cap * sizeof(ev_ival)) : NULL;
    if (cap && !v)
        return -1;
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
        uint64_t lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
        uint64_t hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;
        if (lo <= hi)
            v[w++] = (ev_ival){lo, hi}; /* disjoint and non-adjacent, as a's and b's are */
        if (a->v[i].hi < b->v[j].hi)
            i++;
        else
            j++;
    }
    commit(out, v, w, cap);
    return 0;
}

int ev_iset_subtract(ev_iset *out, const ev_iset *a, const ev_iset *b)
{
    size_t cap = a->n + b->n, w = 0;
    ev_ival *v = cap ? malloc(cap * sizeof(ev_ival)) : NULL;
    if (cap && !v)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t lo = a->v[i].lo, hi = a->v[i].hi;
        while (j < b->n && b->v[j].hi < lo)
            j++;
        for (size_t k = j; k < b->n && b->v[k].lo <= hi && lo <= hi; k++) {
            if (b->v[k].lo > lo)
                v[w++] = (ev_ival){lo, b->v[k].lo - 1};
            if (b->v[k].hi >= hi) {
                lo = 1, hi = 0; /* the rest is covered */
                break;
            }
            lo = b->v[k].hi + 1;
        }
        if (lo <= hi)
            v[w++] = (ev_ival){lo, hi};
    }
    commit(out, v, w, cap);
    return 0;
}

int ev_iset_merge(ev_iset *dst, const ev_iset *src)
{
    if (src->n == 0 || src == dst)
        return 0;
    return ev_iset_union(dst, dst, src);
}

uint64_t ev_iset_count_range(const ev_iset *s, uint64_t lo, uint64_t hi)
{
    if (lo > hi)
        return 0;
    uint64_t c = 0;
    for (size_t i = iset_lower(s, lo); i < s->n && s->v[i].lo <= hi; i++) {
        uint64_t a = s->v[i].lo > lo ? s->v[i].lo : lo;
        uint64_t b = s->v[i].hi < hi ? s->v[i].hi : hi;
        c += b - a + 1;
    }
    return c;
}

uint64_t ev_iset_count_common_range(const ev_iset *a, const ev_iset *b, uint64_t lo, uint64_t hi)
{
    if (lo > hi)
        return 0;
    /* Merge walk over the intervals that can meet [lo, hi]: advance whichever
     * interval ends first, since it can overlap nothing further on. */
    size_t i = iset_lower(a, lo), j = iset_lower(b, lo);
    uint64_t c = 0;
    while (i < a->n && j < b->n) {
        const ev_ival *x = &a->v[i], *y = &b->v[j];
        uint64_t s = x->lo > y->lo ? x->lo : y->lo;
        if (s < lo)
            s = lo;
        if (s > hi)
            break; /* every later interval starts later still */
        uint64_t e = x->hi < y->hi ? x->hi : y->hi;
        if (e > hi)
            e = hi;
        if (s <= e)
            c += e - s + 1;
        if (x->hi < y->hi)
            i++;
        else
            j++;
    }
    return c;
}

uint64_t ev_iset_count_common(const ev_iset *a, const ev_iset *b)
{
    return ev_iset_count_common_range(a, b, 0, UINT64_MAX);
}

uint64_t ev_iset_max(const ev_iset *s)
{
    return s->n ? s->v[s->n - 1].hi : 0;
}

size_t ev_iset_heap_bytes(const ev_iset *s)
{
    return s->cap * sizeof(ev_ival);
}

int ev_iset_copy(ev_iset *dst, const ev_iset *src)
{
    if (dst == src)
        return 0;
    ev_ival *v = NULL;
    if (src->n > 0) {
        v = malloc(src->n * sizeof(ev_ival));
        if (!v)
            return -1;
        memcpy(v, src->v, src->n * sizeof(ev_ival));
    }
    free(dst->v);
    dst->v = v;
    dst->n = dst->cap = src->n;
    dst->count = src->count;
    return 0;
}

void ev_iset_clear(ev_iset *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
    s->count = 0;
}
