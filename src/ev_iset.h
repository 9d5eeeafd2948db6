/* ev_iset — a set of uint64 sequence numbers kept as sorted, disjoint,
 * non-adjacent closed intervals. In-order insertion (the common case: seq =
 * last + 1) extends the last interval in O(1) with no allocation, so memory
 * grows with the number of gaps, never with the number of members
 * (docs/design.md §3.4). Not thread-safe. Zero-initialised (EV_ISET_INIT) is a valid empty set. */
#ifndef EV_ISET_H
#define EV_ISET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ev_ival {
    uint64_t lo, hi; /* inclusive */
} ev_ival;

typedef struct ev_iset {
    ev_ival *v; /* owned */
    size_t n, cap;
    uint64_t count; /* members */
} ev_iset;

#define EV_ISET_INIT                                                                               \
    {                                                                                              \
        0                                                                                          \
    }

/* Adds seq. Returns 1 if it was new, 0 if it was already a member, -1 when out
 * of memory (the set is unchanged). */
int ev_iset_add(ev_iset *s, uint64_t seq);
int ev_iset_contains(const ev_iset *s, uint64_t seq);
/* Adds every member of src to dst (union), in one linear pass into a new
 * array. Returns 0, or -1 when out of memory (dst is then unchanged). */
int ev_iset_merge(ev_iset *dst, const ev_iset *src);
/* out = a ∪ b in one linear pass. out may alias a or b; its old contents are
 * freed. Returns 0, or -1 when out of memory (out is then unchanged). Lets a
 * caller build several unions before committing any (ev_ledger_merge). */
int ev_iset_union(ev_iset *out, const ev_iset *a, const ev_iset *b);
/* out = a ∩ b, and out = a \ b, each in one linear pass. out may alias a or
 * b; its old contents are freed. Returns 0, or -1 when out of memory (out is
 * then unchanged). */
int ev_iset_intersect(ev_iset *out, const ev_iset *a, const ev_iset *b);
int ev_iset_subtract(ev_iset *out, const ev_iset *a, const ev_iset *b);
/* Number of members of s that lie in [lo, hi]. */
uint64_t ev_iset_count_range(const ev_iset *s, uint64_t lo, uint64_t hi);
/* |a ∩ b|. */
uint64_t ev_iset_count_common(const ev_iset *a, const ev_iset *b);
/* |a ∩ b ∩ [lo, hi]| (0 when lo > hi). */
uint64_t ev_iset_count_common_range(const ev_iset *a, const ev_iset *b, uint64_t lo, uint64_t hi);
uint64_t ev_iset_max(const ev_iset *s); /* 0 when empty */
/* Bytes held on the heap (for the memory benchmark). */
size_t ev_iset_heap_bytes(const ev_iset *s);
/* dst's old contents are replaced by src's. Returns 0, or -1 when out of
 * memory (dst is then unchanged). */
int ev_iset_copy(ev_iset *dst, const ev_iset *src);
void ev_iset_clear(ev_iset *s); /* frees; s is empty and reusable */

#endif
