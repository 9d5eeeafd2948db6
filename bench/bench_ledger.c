/* bench_ledger — memory and speed of the ledger's hot path (docs/design.md §3.4).
 *
 * Prints one line per case: the number of sightings, the ledger's heap bytes
 * after them (ev_ledger_heap_bytes: the ledger, its lanes and their interval
 * arrays) and the mean time of one ev_ledger_see() on CLOCK_MONOTONIC.
 *
 *   in-order 1 k and 100 M on one lane: the claim to check is that the heap
 *     is the same for both (one interval, however long);
 *   1% random gaps, 10 M sightings: one interval per gap, so the heap grows
 *     with the gaps (~100 k intervals), not with the events.
 *
 * The 1 k case is repeated on fresh ledgers until it has made 10 M calls, so
 * its ns/see is not just clock resolution; only the see() loops are timed.
 * The gap case draws its sequence numbers before the clock starts, so the
 * random generator is not timed either. Links with ev_ledger and ev_iset
 * only. Usage: bench_ledger (no arguments). */
#include "ev_ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_state = 42;

static uint64_t rng_next(void) /* splitmix64, fixed seed: reproducible */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void print_row(const char *name, uint64_t events, size_t heap, int64_t ns)
{
    printf("%-28s %12" PRIu64 " %12zu %8.2f\n", name, events, heap, (double)ns / (double)events);
}

/* Sees 1..n in order on lane 0 of a fresh ledger, `reps` times. Returns 0, or
 * -1 (with a message) on failure. */
static int run_in_order(const char *name, uint64_t n, uint64_t reps)
{
    int64_t total = 0;
    size_t heap = 0;
    for (uint64_t r = 0; r < reps; r++) {
        ev_ledger *l = ev_ledger_new(1, 1, 1);
        if (!l)
            goto oom;
        int64_t t0 = now_ns();
        for (uint64_t q = 1; q <= n; q++)
            if (ev_ledger_see(l, 0, q, 0) != EV_SEE_NEW) {
                ev_ledger_free(l);
                goto oom;
            }
        total += now_ns() - t0;
        heap = ev_ledger_heap_bytes(l);
        ev_ledger_free(l);
    }
    print_row(name, n, heap, total / (int64_t)reps);
    return 0;
oom:
    fprintf(stderr, "bench_ledger: %s: out of memory\n", name);
    return -1;
}

/* n sightings on lane 0, in order, each seq skipped with probability 1%. */
static int run_gaps(const char *name, uint64_t n)
{
    int rc = -1;
    ev_ledger *l = NULL;
    uint64_t *seqs = malloc(n * sizeof(*seqs));
    if (!seqs)
        goto out;
    uint64_t q = 0;
    for (uint64_t i = 0; i < n; i++) {
        q++;
        while (rng_next() % 100 == 0)
            q++;
        seqs[i] = q;
    }
    l = ev_ledger_new(1, 1, 1);
    if (!l)
        goto out;
    int64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        if (ev_ledger_see(l, 0, seqs[i], 0) != EV_SEE_NEW)
            goto out;
    int64_t ns = now_ns() - t0;
    print_row(name, n, ev_ledger_heap_bytes(l), ns);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_ledger: %s: out of memory\n", name);
    ev_ledger_free(l);
    free(seqs);
    return rc;
}

int main(void)
{
    printf("%-28s %12s %12s %8s\n", "case", "sightings", "heap_bytes", "ns/see");
    if (run_in_order("in-order, 1 lane", 1000, 10000) < 0 ||
        run_in_order("in-order, 1 lane", 100000000, 1) < 0 ||
        run_gaps("1% random gaps, 1 lane", 10000000) < 0)
        return 1;
    return 0;
}
