/* ev_compare — `evload compare BASE.json NEW.json`: did NEW regress against
 * BASE? Per-metric deltas (latency percentiles with their confidence
 * intervals, throughput, every delivery class, thresholds) and a rule that
 * respects noise (docs/reports.md "Comparing runs"):
 *
 *  - a latency percentile regresses only when NEW's lower confidence bound
 *    exceeds BASE's upper bound by more than the tolerance (relative) and
 *    by more than the noise floor (absolute): the bounds come from the
 *    histograms' own counts (distribution-free, binomial on the rank),
 *    widened by the design effect the per-second histograms show (samples
 *    that arrive in bursts count as fewer), so a change the samples can
 *    explain is never a regression;
 *  - a percentile either run has too few samples for (fewer than 10 beyond
 *    it on either side) is "inconclusive", as is a change beyond the
 *    tolerance that the intervals cannot separate;
 *  - throughput and rate-like classes: Poisson bounds on the counts, the
 *    same tolerance;
 *  - lost, pending, unconfirmed and corrupted are strict: any increase is a
 *    regression; so is a threshold that held in BASE and fails in NEW, and a
 *    NEW run that did not complete.
 *
 * Exit 0 no regression (inconclusive rows are shown, not failed), 1 a
 * regression, 2 usage (unreadable files, a sweep document, bad options). */
#ifndef EV_COMPARE_H
#define EV_COMPARE_H

#include "ev_err.h"

#include <jansson.h>
#include <stdio.h>

typedef enum { EV_CMP_TEXT, EV_CMP_MD, EV_CMP_JSON } ev_cmp_format;

typedef struct ev_cmp_opts {
    double tolerance;    /* relative, e.g. 0.10 */
    double min_delta_ms; /* absolute noise floor for latencies */
    double z;            /* two-sided normal quantile of the confidence */
    double confidence;   /* e.g. 0.99, for the report */
    ev_cmp_format format;
} ev_cmp_opts;

/* Compares two results documents and writes the report to f. Returns 0 (no
 * regression), 1 (a regression) or EV_EUSAGE/EV_EINTERNAL with err. */
int ev_compare(const json_t *base, const json_t *neu, const char *base_name, const char *new_name,
               const ev_cmp_opts *o, FILE *f, ev_err *err);

/* The subcommand: argv[0] is "compare". Returns the exit code. */
int ev_compare_main(int argc, char **argv);

#endif
