/* ev_pacer — the open-model schedule (docs/design.md §4.4; wrk2's constant-rate
 * schedule generalised to linear ramps).
 *
 * The plan's rate curve R(t) (warm-up first, then the stages) defines the
 * cumulative count N(t) = ∫R. Global event k (0-based) is due at the t with
 * N(t) = k; lane l of L sends the events k ≡ l (mod L), so the lanes together
 * follow the curve exactly and interleave evenly. Intended times come from the
 * curve alone and never stretch when a sender falls behind: the lag is measured
 * (sched_lag), not absorbed. max-throughput has no schedule (the closed model).
 * A pacer is owned by one lane thread. */
#ifndef EV_PACER_H
#define EV_PACER_H

#include "ev_scenario.h"

#include <stdint.h>

#define EV_PACER_MAX_SEGS 66

typedef struct ev_pacer_seg {
    double t0, dur; /* seconds from the start of the schedule */
    double r0, r1;  /* events/s at t0 and t0 + dur */
    double n0, n;   /* events due before t0, and within the segment */
} ev_pacer_seg;

typedef struct ev_pacer {
    ev_pacer_seg seg[EV_PACER_MAX_SEGS];
    int nseg, cur;
    uint32_t lane, lanes;
    uint64_t k;     /* next global event index for this lane */
    double total;   /* events in the whole schedule */
    int unpaced;    /* max-throughput */
    uint64_t quota; /* max-throughput by count: this lane's events, else 0 */
    int64_t end_ns; /* max-throughput by duration: end offset, else 0 */
    int64_t warmup_ns;
    int64_t shift_ns; /* a stream's start_after: the schedule starts this late */
} ev_pacer;

enum { EV_PACER_END = -1, EV_PACER_NOW = -2 };

/* Builds lane `lane`'s schedule from the plan (ev_plan_finish must have
 * passed). Returns 0, or EV_EUSAGE when the plan has too many stages. */
int ev_pacer_init(ev_pacer *p, const ev_plan *plan, uint32_t lane, ev_err *err);
/* The same for one of `lanes` lanes in all, the plan's lanes of several
 * instances together (a distributed run splits the schedule by lane:
 * instance I's lane l is lane I × plan->lanes + l of instances × plan->lanes,
 * so the instances together send exactly the plan's events). */
int ev_pacer_init_shard(ev_pacer *p, const ev_plan *plan, uint32_t lane, uint32_t lanes,
                        ev_err *err);
/* Delays the whole schedule by shift_ns (a stream's start_after): every
 * offset in and out is from the run's start. Call right after init. */
void ev_pacer_shift(ev_pacer *p, int64_t shift_ns);
/* Events instance `instance` of `instances` sends under that split (warm-up
 * included), or -1 when the plan fixes no number. One stream's plan. */
int64_t ev_pacer_planned_shard(const ev_plan *plan, uint32_t instance, uint32_t instances);
/* The same summed over every stream of a finished plan. */
int64_t ev_pacer_planned_run(const ev_plan *plan, uint32_t instance, uint32_t instances);
/* The intended offset in ns from the schedule's start of this lane's next
 * event; EV_PACER_NOW for unpaced executors (send as soon as the window
 * allows; the caller passes its current offset in now_off_ns so a duration
 * limit can end the lane), or EV_PACER_END when the lane is done. */
int64_t ev_pacer_next(ev_pacer *p, int64_t now_off_ns);
/* Events the plan schedules in all (all lanes, warm-up included), or -1 when
 * the plan does not fix the number (max-throughput for a duration). A run that
 * was not cut short attempts exactly this many. */
int64_t ev_pacer_planned_events(const ev_plan *plan);
/* The intended offset in ns from the schedule's start of this lane's event
 * seq (1-based), from the schedule alone; -1 for unpaced executors (whose
 * events are due when sent) or past the schedule's end. p must be as
 * ev_pacer_init left it or any later state (only the segments are read). */
int64_t ev_pacer_intended(const ev_pacer *p, uint64_t seq);
/* Target rate (events/s, all lanes) at offset t_ns, for the status line. */
double ev_pacer_rate_at(const ev_pacer *p, int64_t t_ns);
/* Events due (all lanes) by offset t_ns. */
double ev_pacer_due(const ev_pacer *p, int64_t t_ns);

#endif
