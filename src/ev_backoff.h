/* ev_backoff — the reconnect schedule every broker module uses: when a lost
 * connection is tried again, and when to give up.
 *
 * After ev_backoff_down(now) the first attempt is due at now + first_ns; each
 * failed attempt spaces the next one by a backoff that starts at min_ns and
 * doubles up to max_ns (with first = min = 100 ms, max = 1 s: attempts at
 * 100 ms, then 200, 400, 800 ms and every second). The connection is given
 * up once an attempt fails at or after down + first_ns + timeout_ns (the
 * reconnect_timeout counts from the first attempt): an attempt that is due is
 * always made, so a server back at the last moment is still found.
 *
 * Pure functions on monotonic nanoseconds passed in by the caller (so a unit
 * test drives them with made-up times); the state is the caller's, used by
 * one thread. */
#ifndef EV_BACKOFF_H
#define EV_BACKOFF_H

#include <stdint.h>

typedef struct ev_backoff {
    int64_t first_ns, min_ns, max_ns, timeout_ns; /* the schedule (ev_backoff_init) */
    int down;                                     /* 1 between down() and up() */
    int64_t down_since, next_attempt, backoff;    /* monotonic ns; valid while down */
    uint64_t attempts;                            /* failed attempts since down() */
} ev_backoff;

/* Sets the schedule (min_ns > 0, max_ns >= min_ns, first_ns, timeout_ns >= 0); up. */
void ev_backoff_init(ev_backoff *b, int64_t first_ns, int64_t min_ns, int64_t max_ns,
                     int64_t timeout_ns);
/* The connection went away at now: the first attempt is due at now + first_ns.
 * A second call while down changes nothing (the outage goes on). */
void ev_backoff_down(ev_backoff *b, int64_t now);
/* 1 when down and an attempt is due at now. */
int ev_backoff_due(const ev_backoff *b, int64_t now);
/* An attempt ending at now failed: 0 with the next one scheduled (doubled
 * spacing), or -1 when the outage has outlasted the timeout (give up). */
int ev_backoff_failed(ev_backoff *b, int64_t now);
/* An attempt succeeded at now: up again. Returns how long it was down (ns). */
int64_t ev_backoff_up(ev_backoff *b, int64_t now);
/* The time to wait until: the next attempt, or `until` if that is sooner
 * (or if up). */
int64_t ev_backoff_wake(const ev_backoff *b, int64_t until);

#endif
