/* ev_hist — an HDR-style latency histogram (docs/design.md §4.3), written here.
 *
 * Log-linear buckets over integer nanoseconds: values 0 .. EV_HIST_MAX_NS
 * (1 hour) are kept with at least 3 significant decimal digits (relative bucket
 * width ≤ 1/1024). Values outside that range (negative, e.g. clock skew across
 * hosts, or above 1 h) are *counted* in out_of_range and in min/max, never clamped
 * into a bucket and never dropped. Percentiles, count and mean are over the
 * in-range values; a value reported for a percentile is the highest value
 * equivalent to its bucket (as HdrHistogram does), so p100 == max exactly.
 *
 * Histograms of the same kind merge by adding counts (wrk2's per-thread
 * histograms, merged by the reporter). Not thread-safe: one owner at a time. */
#ifndef EV_HIST_H
#define EV_HIST_H

#include <stddef.h>
#include <stdint.h>

#define EV_HIST_MAX_NS (INT64_C(3600) * 1000000000)

typedef struct ev_hist ev_hist;

/* Returns a new empty histogram owned by the caller (free with ev_hist_free),
 * or NULL when out of memory. */
ev_hist *ev_hist_new(void);
void ev_hist_free(ev_hist *h); /* NULL is a no-op */
void ev_hist_reset(ev_hist *h);

void ev_hist_record(ev_hist *h, int64_t value_ns);
void ev_hist_record_n(ev_hist *h, int64_t value_ns, uint64_t n);

/* dst += src. */
void ev_hist_merge(ev_hist *dst, const ev_hist *src);
/* dst = a - b, where b is an earlier snapshot of a (counts only grow): gives the
 * histogram of what was recorded in between. min/max of dst are bucket bounds. */
void ev_hist_diff(ev_hist *dst, const ev_hist *a, const ev_hist *b);
void ev_hist_copy(ev_hist *dst, const ev_hist *src);

uint64_t ev_hist_count(const ev_hist *h);        /* in-range values */
uint64_t ev_hist_out_of_range(const ev_hist *h); /* values < 0 or > EV_HIST_MAX_NS */
/* Value at percentile p (0 < p ≤ 100) in ns; 0 when empty. */
int64_t ev_hist_percentile(const ev_hist *h, double p);
/* The value of the rank-th smallest in-range value (1-based; rank is clamped
 * to 1..count), reported as ev_hist_percentile does (its slot's highest
 * value, clamped to max); 0 when empty. For confidence bounds on ranks. */
int64_t ev_hist_at_rank(const ev_hist *h, uint64_t rank);
/* In-range values in v's slot or below: exactly the count of values
 * <= ev_hist_highest_equivalent(v) (for a v below 0: 0). For exporting
 * cumulative buckets whose bounds are slot ends. */
uint64_t ev_hist_count_le(const ev_hist *h, int64_t v);
int64_t ev_hist_min(const ev_hist *h); /* over every recorded value, in range or not */
int64_t ev_hist_max(const ev_hist *h);
double ev_hist_mean(const ev_hist *h); /* ns, over in-range values; 0 when empty */

/* Lossless text encoding, for results files that later steps merge, compare
 * and render without rerunning (docs/results.md):
 *   "h1:" base64url( varint fields )
 * with the fields count, under, over, min (zigzag), max (zigzag), sum (two
 * u64 halves), then for each non-empty slot: the gap in slot index from the
 * previous one and its count. An empty histogram is "h1:" plus its header.
 * ev_hist_encode writes it NUL-terminated into a new string the caller frees
 * (NULL when out of memory); ev_hist_decode ADDS the encoded histogram to h
 * (so decoding several shards into one histogram merges them) and returns 0,
 * or -1 when s is not such an encoding (h is then unchanged). */
char *ev_hist_encode(const ev_hist *h);
int ev_hist_decode(const char *s, size_t len, ev_hist *h);

/* The lowest and highest values that share value_ns's bucket (for tests and for
 * stating the resolution in docs). */
int64_t ev_hist_lowest_equivalent(int64_t value_ns);
int64_t ev_hist_highest_equivalent(int64_t value_ns);

#endif
