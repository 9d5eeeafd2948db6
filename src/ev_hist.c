/* ev_hist — HDR-style log-linear latency histogram (docs/design.md §4.3).
 *
 * Design notes
 * ------------
 * Bucket layout (HdrHistogram's, with a 1 ns unit and 2048 sub-buckets):
 *
 *   bucket 0:      values [0, 2048), 2048 slots of width 1      (exact)
 *   bucket k ≥ 1:  values [1024·2^k, 2048·2^k), 1024 slots of width 2^k
 *
 * A slot's width is therefore ≤ max(1, v/1024) for every v it holds: at least
 * 3 significant decimal digits, which is what HdrHistogram means by
 * "3 significant figures" (2·10^3 rounded up to a power of two is 2048). The
 * lower half of each bucket k ≥ 1 would duplicate bucket k−1's range, so it is
 * not stored; that makes the flat index simply
 *
 *   k   = max(0, bitlen(v) − 11) = 53 − clz(v | 2047)
 *   idx = (k << 10) + (v >> k)
 *
 * one clz, two shifts and an add: no loop, no branch, no division on the
 * record path. Index → value is the inverse (slot_lowest below).
 *
 * EV_HIST_MAX_NS (1 h = 3.6e12 ns) falls in bucket 31 ([2^41, 2^42), width
 * 2^31 ns ≈ 2.1 s); the counts array ends at MAX's slot instead of at the end
 * of that bucket, so it holds exactly COUNTS_LEN = 33421 uint64 counters
 * (≈ 261 KiB). It lives inside the struct: one allocation, and copy is one
 * memcpy.
 *
 * A 1 ns unit (rather than 1 µs, enough for e2e) keeps
 * sub-microsecond in-process intervals such as sched_lag exact, for 9216
 * more counters (72 KiB) than a 512 ns unit would need.
 *
 * Out-of-range values (< 0: clock skew between hosts; > 1 h) never touch a
 * slot. They are counted in `under` and `over` — separately, so that diff can
 * tell which side an interval's strays were on — and they move min/max.
 * count, sum, mean and percentiles are over in-range values only.
 *
 * The in-range sum is an unsigned __int128, so the mean is exact (one rounding
 * in the final division): it cannot overflow before ~9e25 values of 1 h.
 *
 * An empty histogram holds min = INT64_MAX and max = INT64_MIN, so merging and
 * comparing need no special case; the accessors report 0 for it. */
#include "ev_hist.h"

#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 ev_u128;

#define SUB_BITS 11  /* 2048 slots in bucket 0 */
#define HALF_BITS 10 /* 1024 slots in every other bucket */
#define SUB_MASK ((UINT64_C(1) << SUB_BITS) - 1)
#define TOP_BUCKET 31 /* the bucket holding EV_HIST_MAX_NS */
#define COUNTS_LEN (((size_t)TOP_BUCKET << HALF_BITS) + (size_t)(EV_HIST_MAX_NS >> TOP_BUCKET) + 1)

_Static_assert((EV_HIST_MAX_NS >> TOP_BUCKET) >= (INT64_C(1) << HALF_BITS) &&
                   (EV_HIST_MAX_NS >> TOP_BUCKET) < (INT64_C(1) << SUB_BITS),
               "TOP_BUCKET must be the bucket that holds EV_HIST_MAX_NS");

struct ev_hist {
    /* Hot fields first: record touches these and one counter. sum leads so
     * its 16-byte alignment costs no padding. */
    ev_u128 sum;    /* of in-range values */
    uint64_t count; /* in-range values */
    int64_t min;    /* over all values; INT64_MAX when none */
    int64_t max;    /* over all values; INT64_MIN when none */
    uint64_t under; /* values < 0 */
    uint64_t over;  /* values > EV_HIST_MAX_NS */
    uint64_t counts[COUNTS_LEN];
};

/* True when v has a slot. One unsigned compare covers both sides. */
static inline int in_range(int64_t v)
{
    return (uint64_t)v <= (uint64_t)EV_HIST_MAX_NS;
}

/* Bucket of an in-range value (see the notes at the top). */
static inline int bucket_of(uint64_t v)
{
    return 53 - __builtin_clzll(v | SUB_MASK);
}

/* Slot of an in-range value: < COUNTS_LEN for every 0 ≤ v ≤ EV_HIST_MAX_NS. */
static inline size_t slot_of(uint64_t v)
{
    int k = bucket_of(v);
    return ((size_t)k << HALF_BITS) + (size_t)(v >> k);
}

/* The lowest value of slot idx, and log2 of its width in *shift. Not hot. */
static int64_t slot_lowest(size_t idx, int *shift)
{
    int k = (int)(idx >> HALF_BITS) - 1;
    if (k < 0)
        k = 0;
    *shift = k;
    return (int64_t)((idx - ((size_t)k << HALF_BITS)) << k);
}

/* The highest value of slot idx. The top slot nominally runs past 1 h; values
 * there are out of range, so it ends at EV_HIST_MAX_NS. */
static int64_t slot_highest(size_t idx)
{
    int k;
    int64_t lo = slot_lowest(idx, &k);
    int64_t hi = lo + (INT64_C(1) << k) - 1;
    return hi < EV_HIST_MAX_NS ? hi : EV_HIST_MAX_NS;
}

ev_hist *ev_hist_new(void)
{
    ev_hist *h = malloc(sizeof *h);
    if (h)
        ev_hist_reset(h);
    return h;
}

void ev_hist_free(ev_hist *h)
{
    free(h);
}

void ev_hist_reset(ev_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = INT64_MAX;
    h->max = INT64_MIN;
}

/* Cold path, kept out of line so record stays small. */
static __attribute__((noinline)) void record_out(ev_hist *h, int64_t v, uint64_t n)
{
    if (v < 0)
        h->under += n;
    else
        h->over += n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static inline void record(ev_hist *h, int64_t v, uint64_t n)
{
    if (__builtin_expect(!in_range(v), 0)) {
        record_out(h, v, n);
        return;
    }
    h->counts[slot_of((uint64_t)v)] += n;
    h->count += n;
    h->sum += (ev_u128)(uint64_t)v * n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void ev_hist_record(ev_hist *h, int64_t value_ns)
{
    record(h, value_ns, 1);
}

/* n == 0 records nothing (min/max do not move). */
void ev_hist_record_n(ev_hist *h, int64_t value_ns, uint64_t n)
{
    if (n)
        record(h, value_ns, n);
}

/* dst may be src (doubles every count). */
void ev_hist_merge(ev_hist *dst, const ev_hist *src)
{
    for (size_t i = 0; i < COUNTS_LEN; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->sum += src->sum;
    dst->under += src->under;
    dst->over += src->over;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* Counts only grow, so b ≤ a slot by slot; a violation (b not a snapshot of a)
 * yields 0 there rather than a wrapped 2^64-ish count.
 *
 * min/max of the interval: when a's min (max) moved after the snapshot, a value
 * equal to it was recorded in the interval, so it is exact. Otherwise it is a
 * bound: a's min (max) if the interval holds values below 0 (above 1 h), else
 * the lowest (highest) value of the interval's first (last) non-empty slot,
 * kept within a's min/max; with no in-range value either, the edge of the
 * out-of-range side it has (EV_HIST_MAX_NS + 1, or −1). Either way
 * min ≤ every value of the interval ≤ max.
 *
 * dst may be a or b: every field of a and b is read before dst's is written. */
void ev_hist_diff(ev_hist *dst, const ev_hist *a, const ev_hist *b)
{
    uint64_t under = a->under >= b->under ? a->under - b->under : 0;
    uint64_t over = a->over >= b->over ? a->over - b->over : 0;
    uint64_t count = a->count >= b->count ? a->count - b->count : 0;
    ev_u128 sum = a->sum >= b->sum ? a->sum - b->sum : 0;
    int min_moved = (a->min < b->min);
    int max_moved = (a->max > b->max);
    int64_t amin = a->min, amax = a->max;
    size_t first = COUNTS_LEN, last = 0;

    for (size_t i = 0; i < COUNTS_LEN; i++) {
        uint64_t ca = a->counts[i], cb = b->counts[i];
        uint64_t c = ca >= cb ? ca - cb : 0;
        dst->counts[i] = c;
        if (c) {
            if (first == COUNTS_LEN)
                first = i;
            last = i;
        }
    }
    dst->count = count;
    dst->sum = sum;
    dst->under = under;
    dst->over = over;

    dst->min = INT64_MAX;
    dst->max = INT64_MIN;
    if (under + over + count == 0)
        return;
    if (min_moved || under) {
        dst->min = amin;
    } else if (first < COUNTS_LEN) {
        int k;
        int64_t lo = slot_lowest(first, &k);
        dst->min = lo > amin ? lo : amin;
    } else {
        dst->min = EV_HIST_MAX_NS + 1; /* only strays above range */
    }
    if (max_moved || over) {
        dst->max = amax;
    } else if (first < COUNTS_LEN) {
        int64_t hi = slot_highest(last);
        dst->max = hi < amax ? hi : amax;
    } else {
        dst->max = -1; /* only strays below range */
    }
}

void ev_hist_copy(ev_hist *dst, const ev_hist *src)
{
    if (dst != src)
        memcpy(dst, src, sizeof *dst);
}

uint64_t ev_hist_count(const ev_hist *h)
{
    return h->count;
}

uint64_t ev_hist_out_of_range(const ev_hist *h)
{
    return h->under + h->over;
}

int64_t ev_hist_min(const ev_hist *h)
{
    return h->min == INT64_MAX ? 0 : h->min;
}

int64_t ev_hist_max(const ev_hist *h)
{
    return h->max == INT64_MIN ? 0 : h->max;
}

double ev_hist_mean(const ev_hist *h)
{
    if (!h->count)
        return 0.0;
    return (double)h->sum / (double)h->count;
}

/* The value at percentile p: the smallest slot such that at least p% of the
 * in-range counts are in it or below, reported as the slot's highest value,
 * clamped to max (so p100 == max when max is in range); never above 1 h.
 * p outside (0, 100] is taken as the nearest end (rank 1 or rank count). */
int64_t ev_hist_percentile(const ev_hist *h, double p)
{
    uint64_t n = h->count, rank;
    if (!n)
        return 0;

    /* rank = ceil(p/100 · n). p is rarely exact in binary (99.9 is
     * 99.900000000000006), which would push p/100 · n just past an integer and
     * the rank one too far; shaving a relative 1e-12 absorbs that noise and is
     * less than one rank for any n below 1e12. */
    double x = p / 100.0 * (double)n;
    x -= x * 1e-12;
    if (!(x > 1.0))
        rank = 1; /* also NaN */
    else if (x >= (double)n)
        rank = n;
    else {
        rank = (uint64_t)x;
        if ((double)rank < x)
            rank++;
        if (rank > n) /* (double)n may have rounded up */
            rank = n;
    }
    return ev_hist_at_rank(h, rank);
}

int64_t ev_hist_at_rank(const ev_hist *h, uint64_t rank)
{
    if (!h->count)
        return 0;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;

    /* Start at min's slot: every in-range value is ≥ min. */
    size_t i = h->min > 0 && in_range(h->min) ? slot_of((uint64_t)h->min) : 0;
    uint64_t seen = 0;
    for (; i < COUNTS_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            break;
    }
    if (i == COUNTS_LEN) /* only when counts and count disagree; not reached */
        i = COUNTS_LEN - 1;

    int64_t v = slot_highest(i);
    if (v > h->max)
        v = h->max;
    return v;
}

uint64_t ev_hist_count_le(const ev_hist *h, int64_t v)
{
    if (v < 0 || !h->count)
        return 0;
    if (v >= EV_HIST_MAX_NS)
        return h->count;
    size_t last = slot_of((uint64_t)v);
    uint64_t n = 0;
    for (size_t i = 0; i <= last; i++)
        n += h->counts[i];
    return n;
}

/* For an out-of-range value (which has no slot) both return the value itself:
 * such values are kept exactly, in min/max. The top slot's range ends at
 * EV_HIST_MAX_NS (see slot_highest). */
int64_t ev_hist_lowest_equivalent(int64_t value_ns)
{
    if (!in_range(value_ns))
        return value_ns;
    int k = bucket_of((uint64_t)value_ns);
    return (value_ns >> k) << k;
}

int64_t ev_hist_highest_equivalent(int64_t value_ns)
{
    if (!in_range(value_ns))
        return value_ns;
    return slot_highest(slot_of((uint64_t)value_ns));
}

/* ---- encoding --------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* An LEB128 varint into p; returns the bytes written (<= 10). */
static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v & 0x7f;
        v >>= 7;
        p[n++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

char *ev_hist_encode(const ev_hist *h)
{
    size_t nz = 0;
    for (size_t i = 0; i < COUNTS_LEN; i++)
        nz += h->counts[i] != 0;
    size_t cap = 10 * (7 + 2 * nz);
    unsigned char *raw = malloc(cap);
    if (!raw)
        return NULL;
    size_t n = 0;
    n += put_varint(raw + n, h->count);
    n += put_varint(raw + n, h->under);
    n += put_varint(raw + n, h->over);
    n += put_varint(raw + n, zigzag(h->min));
    n += put_varint(raw + n, zigzag(h->max));
    n += put_varint(raw + n, (uint64_t)h->sum);
    n += put_varint(raw + n, (uint64_t)(h->sum >> 64));
    size_t prev = 0;
    for (size_t i = 0; i < COUNTS_LEN; i++) {
        if (!h->counts[i])
            continue;
        n += put_varint(raw + n, i - prev);
        n += put_varint(raw + n, h->counts[i]);
        prev = i;
    }
    char *out = malloc(3 + (n + 2) / 3 * 4 + 1), *o = out;
    if (!out) {
        free(raw);
        return NULL;
    }
    memcpy(o, "h1:", 3);
    o += 3;
    for (size_t i = 0; i < n; i += 3) { /* base64url, no padding */
        uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
                     (i + 2 < n ? raw[i + 2] : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        if (i + 1 < n)
            *o++ = b64[(v >> 6) & 63];
        if (i + 2 < n)
            *o++ = b64[v & 63];
    }
    *o = '\0';
    free(raw);
    return out;
}

/* Reads a varint at *pos of p[0..n); -1 past the end or when too long. */
static int get_varint(const unsigned char *p, size_t n, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n)
            return -1;
        unsigned char b = p[(*pos)++];
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int ev_hist_decode(const char *s, size_t len, ev_hist *h)
{
    if (len < 3 || memcmp(s, "h1:", 3))
        return -1;
    s += 3, len -= 3;
    size_t cap = len * 3 / 4 + 3, n = 0;
    unsigned char *raw = malloc(cap);
    ev_hist *t = ev_hist_new();
    int rc = -1;
    if (!raw || !t)
        goto out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *c = memchr(b64, s[i], 64);
        if (!c || !s[i])
            goto out;
        acc = acc << 6 | (uint32_t)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits >= 6 || acc)
        goto out; /* a dangling sextet, or non-zero pad bits */
    size_t pos = 0;
    uint64_t f[7];
    for (int k = 0; k < 7; k++)
        if (get_varint(raw, n, &pos, &f[k]))
            goto out;
    t->count = f[0];
    t->under = f[1];
    t->over = f[2];
    t->min = unzigzag(f[3]);
    t->max = unzigzag(f[4]);
    t->sum = (ev_u128)f[6] << 64 | f[5];
    uint64_t idx = 0, total = 0;
    int first = 1;
    while (pos < n) {
        uint64_t gap, c;
        if (get_varint(raw, n, &pos, &gap) || get_varint(raw, n, &pos, &c) || !c ||
            (!first && !gap) || gap >= COUNTS_LEN - idx)
            goto out;
        idx += gap;
        first = 0;
        t->counts[idx] = c;
        if (__builtin_add_overflow(total, c, &total))
            goto out;
    }
    if (total != t->count)
        goto out; /* the slots must add up to the count */
    ev_hist_merge(h, t);
    rc = 0;
out:
    free(raw);
    ev_hist_free(t);
    return rc;
}
