/* ev_history — `--history DIR`: a run's key figures appended to one index, so
 * the report can show their trend and `evload compare` has every earlier run
 * to compare with.
 *
 *   DIR/index.jsonl       one JSON object per line, oldest first:
 *                         run_id, scenario, started, verdict, target,
 *                         duration_s, attempted, rate_achieved, throughput,
 *                         delivered, lost, pending, e2e_p50, e2e_p95,
 *                         e2e_p99, e2e_max, ack_p99, results
 *   DIR/runs/RUN_ID.json  that run's full results ("results" names it)
 *
 * Appending is one write(2) of one line with O_APPEND, so runs that finish
 * at the same time never interleave their lines. A sweep appends one line
 * per run. */
#ifndef EV_HISTORY_H
#define EV_HISTORY_H

#include "ev_err.h"

#include <jansson.h>

/* The index entry for one run's results (new object, caller owns; NULL on
 * OOM). */
json_t *ev_history_entry(const json_t *run);
/* Creates DIR (and DIR/runs) when missing, stores each run's results there
 * and appends its entry to DIR/index.jsonl. 0, or EV_EUSAGE (cannot write)
 * or EV_EINTERNAL, with err. */
int ev_history_append(const char *dir, const json_t *doc, ev_err *err);
/* The entries of DIR/index.jsonl, oldest first, up to and including the
 * last one of run_id (all of them when run_id is NULL or absent): a new
 * array, caller owns. Lines that are not JSON objects are skipped. A missing
 * index gives an empty array. 0, or EV_EUSAGE/EV_EINTERNAL with err. */
int ev_history_load(const char *dir, const char *run_id, json_t **out, ev_err *err);
/* mkdir -p: 0, or -1 with errno. */
int ev_mkdirs(const char *path);

#endif
