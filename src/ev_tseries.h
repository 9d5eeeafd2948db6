/* ev_tseries — a run's per-second timeseries (results.timeseries[]) kept
 * off the heap while the run goes, so that a soak's memory stays flat.
 *
 * Each point the engine finishes goes whole (its scalars, its three
 * ev_hist_encode'd histograms and the broker's figures) to an unlinked
 * spill file (ev_spill.h); in memory stays only the last point's scalars,
 * which the next point needs. Once the run is over, ev_tseries_finish gives
 * R->ts the scalars of every point (about 200 bytes each) for the
 * computations that walk them (drift, recovery, fault impact), and
 * ev_tseries_point reads a point back whole, one at a time: the report
 * streams them into the results file (ev_report_results).
 *
 * Results built in memory (evload merge, tests) have no spill: R->ts holds
 * every point whole, and ev_tseries_point returns &R->ts[i]. Consumers read
 * histograms and broker figures through ev_tseries_point only, scalars from
 * R->ts, so both kinds read the same.
 *
 * A spill error (the file cannot be made or written, e.g. the disk is
 * full) fails the run with EV_EINTERNAL and says so: no point is dropped
 * silently. A read error at the end is sticky (ev_tseries_error). */
#ifndef EV_TSERIES_H
#define EV_TSERIES_H

#include "ev_err.h"
#include "ev_report.h"

#include <stddef.h>

typedef struct ev_tseries ev_tseries;

/* Appends tp, the point after the last, to R's timeseries: its scalars,
 * histograms and broker figures go to R's spill file (made on the first
 * point); tp and what it points to stay the caller's. 0, or EV_EINTERNAL
 * with err. */
int ev_tseries_append(ev_results *R, const ev_tpoint *tp, ev_err *err);

/* The last point appended, scalars only (histograms and broker NULL), or
 * NULL before the first. Borrowed from R. */
const ev_tpoint *ev_tseries_last(const ev_results *R);

/* After the last point: R->ts becomes the scalars of every point appended
 * (histograms and broker NULL: they stay on file) and R->nts their number.
 * 0, or EV_EINTERNAL with err. Nothing to do for R without a spill. */
int ev_tseries_finish(ev_results *R, ev_err *err);

/* Point i (< R->nts) whole: &R->ts[i] when R has no spill, else read back
 * (borrowed: valid until the next ev_tseries_point for R, or
 * ev_results_free). NULL when the read failed: ev_tseries_error says why. */
const ev_tpoint *ev_tseries_point(const ev_results *R, size_t i);

/* 0, or EV_EINTERNAL with err once a write or read of R's spill failed. */
int ev_tseries_error(const ev_results *R, ev_err *err);

/* Bytes in R's spill file (0 without one): for figures, not for logic. */
size_t ev_tseries_bytes(const ev_results *R);

/* Frees t (ev_results_free calls it). NULL-safe. */
void ev_tseries_free(ev_tseries *t);

#endif
