/* ev_clock — the two clocks of docs/design.md §4.1, in integer nanoseconds.
 * Monotonic for every interval inside one process; wall only for the CloudEvents
 * `time` attribute and for latency that crosses processes. Never mix them. */
#ifndef EV_CLOCK_H
#define EV_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

#define EV_NS_PER_US INT64_C(1000)
#define EV_NS_PER_MS INT64_C(1000000)
#define EV_NS_PER_S INT64_C(1000000000)

int64_t ev_mono_ns(void);
int64_t ev_wall_ns(void);

/* Sleeps until the monotonic clock reaches `deadline_ns` (absolute). Sleeps in
 * the kernel for the bulk and spins for the last few tens of microseconds, so a
 * pacer can hit intended send times at 100k events/s. Returns early, without
 * error, if *stop becomes non-zero (checked between short sleeps); stop may be
 * NULL. */
void ev_sleep_until(int64_t deadline_ns, const atomic_int *stop);

/* Lowers the calling thread's timer slack to 1 µs (Linux prctl), so its
 * sleeps end within microseconds of their deadline. For pacing threads. */
void ev_clock_precise(void);

/* Writes `wall_ns` as RFC 3339 UTC with nanoseconds ("2026-11-27T19:54:13.123456789Z")
 * into buf (at least 31 bytes). Returns the length written. */
int ev_rfc3339(int64_t wall_ns, char *buf, int size);
/* Reads RFC 3339 ("2026-11-27T19:54:13Z", "…13.5+01:00") into ns since the
 * epoch. 0, or -1 when s is not such a time. */
int ev_rfc3339_parse(const char *s, int64_t *wall_ns);

#endif
