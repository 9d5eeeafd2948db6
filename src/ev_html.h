/* ev_html — report.html: one self-contained page for a person (docs/reports.md).
 *
 * Drawn from the results document alone (a run's results, schema 1, or a
 * sweep document {schema, sweep, runs[]}), never from the engine's live
 * structures, so `evload report results.json` reproduces a run's own page
 * byte for byte. The output is a pure function of its inputs: no clock, no
 * environment, no hash-order iteration (objects are walked in document
 * order), numbers formatted with fixed printf formats in the C locale.
 *
 * The page needs no network: inline CSS, SVG drawn here, no script (hover
 * text is SVG <title>). It prints on white, one chart per block.
 *
 * Sections, in order: verdict and thresholds (with a per-second threshold
 * timeline), key figures, achieved vs target rate with the stages shaded
 * (one marker per timeseries point: circle.pt in svg#NAMErate), per-second
 * latency (p50, p99, max), the percentile spectrum (e2e, e2e_sched, ack; log
 * axes), stages, delivery classes per output with the first missing ids,
 * backpressure, the broker's own panels, the history trend (when given),
 * and the scenario and environment. A sweep document gets the sweep chart
 * (throughput and e2e p95 against the swept value, knee marked) and then
 * each run's sections. */
#ifndef EV_HTML_H
#define EV_HTML_H

#include "ev_err.h"

#include <jansson.h>
#include <stdio.h>

/* Writes the page for doc to f. history: the history index entries to show
 * as a trend (a JSON array of ev_history entries, oldest first), or NULL.
 * Returns 0, EV_EUSAGE when doc is neither a results nor a sweep document,
 * or EV_EINTERNAL (out of memory, write error), with err. */
int ev_html_write(FILE *f, const json_t *doc, const json_t *history, ev_err *err);

#endif
