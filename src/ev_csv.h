/* ev_csv — timeseries.csv: the results' timeseries[] as one table (RFC 4180),
 * for spreadsheets and plotting tools. One row per second, in order; the
 * columns are the fixed per-second keys of docs/results.md, then one column
 * per numeric key of timeseries[].broker (first-seen order, prefixed
 * "broker."). A sweep document gives one block of rows per run, with the
 * swept setting and its value as the first two columns. Deterministic: the
 * numbers are written as the results file holds them (integers exactly,
 * reals with 10 significant digits), an absent value as an empty cell. */
#ifndef EV_CSV_H
#define EV_CSV_H

#include "ev_err.h"

#include <jansson.h>
#include <stdio.h>

/* Writes doc's timeseries to f. 0, EV_EUSAGE (not a results document) or
 * EV_EINTERNAL (write error), with err. */
int ev_csv_write(FILE *f, const json_t *doc, ev_err *err);

#endif
