/* ev_sweep — one run per value of one setting, then a scaling table
 * ("sweep": {"verify.consumers": [1, 2, 4, 8]}): throughput, e2e p95 and loss
 * per value, the efficiency against linear scaling from the first value, and
 * the knee, where adding more stopped paying for itself.
 *
 * The runs themselves are the caller's (a loader builds each value's plan,
 * ev_run runs it); this module owns the loop, the arithmetic and the table. */
#ifndef EV_SWEEP_H
#define EV_SWEEP_H

#include "ev_engine.h"
#include "ev_plan.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Efficiency below this, against linear scaling from the first value, marks
 * the knee. */
#define EV_SWEEP_KNEE_EFFICIENCY 0.75

/* Efficiency of each point: (thr[i] / thr[0]) / (val[i] / val[0]), NAN where
 * a value is not a positive number or thr[0] is 0. Writes eff[0..n). Returns
 * the index of the knee — the last point before the first whose efficiency
 * falls below EV_SWEEP_KNEE_EFFICIENCY — or -1 when it is not reached. */
int ev_sweep_knee(const double *val, const double *thr, size_t n, double *eff);

/* Builds the plan for one sweep point: `assignment` ("KEY=VALUE") applied
 * over the user's file and --set. 0 and a new plan the caller owns, or an
 * exit code (2..4) after printing the error. */
typedef int (*ev_sweep_loader)(void *ud, const char *assignment, ev_plan **out);

/* Runs base's sweep: one ev_run per value with ro (its json_path is used for
 * the sweep document: {schema, sweep{key, rows, knee}, runs[]}, and its
 * results receives that document too when non-NULL), prints the
 * table to out. Returns the worst exit code of the runs (0 < 1 < 5), or the
 * first 2..4, which ends the sweep. */
int ev_sweep_run(const ev_plan *base, ev_sweep_loader load, void *ud, const ev_run_opts *ro,
                 FILE *out);

#endif
