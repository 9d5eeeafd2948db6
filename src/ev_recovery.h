/* ev_recovery — the recovery rule: how long after a disturbance the run is
 * back at its level before it. One rule for the two places that ask:
 *  - after each fault of a fault schedule (ev_faults.c, results.faults[].impact);
 *  - after each stage boundary where the planned rate drops (results.recovery[],
 *    the `recovery` threshold metric, the summary's recovery lines).
 *
 * A second of the timeseries is back when it ends after the disturbance's end,
 * had deliveries, its e2e p99 is within the tolerance of the baseline's p99,
 * no new gaps appeared in it, and, when the baseline knew the broker's depth
 * (queue depth, Kafka lag), the depth sampled at its end is within the depth
 * tolerance too (a second without a depth sample, e.g. while the module's own
 * connection to the broker was being re-established, is judged on p99 alone:
 * RabbitMQ's went unsampled for 5 s after a reset, which would otherwise hold
 * the recovery back for as long). Tolerances: p99 ≤ base × EV_RECOVERY_TOL_FACTOR +
 * EV_RECOVERY_TOL_MS; depth ≤ base × EV_RECOVERY_TOL_FACTOR + max(
 * EV_RECOVERY_DEPTH_MIN, rate × EV_RECOVERY_DEPTH_RATE_S) (rate: the planned
 * rate after the disturbance, events/s: a tenth of a second's worth).
 * The drain time is the depth alone: when the depth first came back within its
 * tolerance, interpolated between the two samples around the crossing. */
#ifndef EV_RECOVERY_H
#define EV_RECOVERY_H

#include "ev_err.h"
#include "ev_report.h"

#include <stddef.h>
#include <stdint.h>

#define EV_RECOVERY_TOL_FACTOR 1.5
#define EV_RECOVERY_TOL_MS 1.0
#define EV_RECOVERY_DEPTH_MIN 10.0
#define EV_RECOVERY_DEPTH_RATE_S 0.1
#define EV_RECOVERY_BASE_SECS 5 /* seconds a baseline reads at most */

/* One second of the timeseries as the rule reads it. */
typedef struct ev_recovery_sec {
    double t0, t1;  /* the interval the point covers (previous point's t, its t) */
    uint64_t count; /* e2e samples in it */
    double p99_ms;
    int gaps_grew; /* the provisional loss (timeseries[].lost) grew during it */
    int64_t depth; /* the broker's depth sampled at t1; -1: not known */
} ev_recovery_sec;

/* The level to come back to. */
typedef struct ev_recovery_base {
    double p99_ms;    /* the baseline's e2e p99 */
    int64_t depth;    /* the baseline's deepest sample; -1: depth not known then */
    double tol_ms;    /* filled by ev_recovery_tolerance */
    double tol_depth; /* idem; meaningless when depth is -1 */
} ev_recovery_base;

/* Sets b's tolerances from its levels and the rate after the disturbance. */
void ev_recovery_tolerance(ev_recovery_base *b, double rate);

/* The seconds of R's timeseries (calloc'd into *out, *n of them; the caller
 * frees *out). EV_EINTERNAL on out of memory. */
int ev_recovery_secs(const ev_results *R, ev_recovery_sec **out, size_t *n, ev_err *err);

/* The first second back after end_s (see above): *recovery_s = max(0, its
 * start − end_s). 1 when found, 0 when none is (not recovered by the end of
 * the run). */
int ev_recovery_find(const ev_recovery_sec *secs, size_t n, double end_s, const ev_recovery_base *b,
                     double *recovery_s);

/* The backlog's drain time after end_s: when the depth first came back
 * within b->tol_depth (interpolated); *backlog = the deepest sample from the
 * last one at or before end_s on. 1 when drained, 0 when never drained, -1
 * when the depth is not known (b->depth −1, or no samples after end_s). */
int ev_recovery_drain(const ev_recovery_sec *secs, size_t n, double end_s,
                      const ev_recovery_base *b, double *drain_s, int64_t *backlog);

/* Recovery after each stage boundary where the planned rate drops: fills
 * R->recovery (results.recovery[]; an empty array for a plan without such a
 * boundary, NULL for a plan without stages or with streams). Idempotent.
 * EV_EINTERNAL on out of memory. */
int ev_recovery_stages(ev_results *R, ev_err *err);

/* The value of a `recovery` threshold over R->recovery: the boundaries that
 * end stage `stage` (NULL: every boundary), aggregated by agg (EV_AGG_MAX,
 * MIN or AVG) in seconds; INFINITY when one of them did not recover, NAN when
 * none is selected. */
double ev_recovery_value(const ev_results *R, const char *stage, int agg);

/* The summary's recovery lines (nothing when R->recovery has none). */
void ev_recovery_summary(FILE *f, const ev_results *R);

#endif
