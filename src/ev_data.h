/* ev_data — the parts of a results file that later steps need without
 * rerunning (docs/results.md "Results as data"): each group's ledger (the
 * seen intervals per lane), each lane's publish record, and where the run
 * happened. `evload merge` reads them back and combines instances exactly:
 * ledgers unioned before classes are computed.
 *
 *   ledger   {"copies": k, "ordered": b, "totals": {received, reordered,
 *             corrupted, foreign, unexpected},
 *             "lanes": {"<lane>": {"layers": [[[lo, hi], …], …], "late": […],
 *                                  "deliveries": n, "flagged": n}, …}}
 *            lanes are global (instance × lanes per instance + lane); lanes
 *            nothing was seen on are left out
 *   publanes [{"lane": <global lane>, "sent": n, "failed": [[lo, hi], …]}, …]
 *            this instance's lanes only */
#ifndef EV_DATA_H
#define EV_DATA_H

#include "ev_err.h"
#include "ev_ledger.h"

#include <jansson.h>
#include <stdint.h>

/* New JSON for l (caller owns), or NULL when out of memory. */
json_t *ev_data_ledger(const ev_ledger *l);
/* A new ledger of nlanes lanes from j (caller owns: ev_ledger_free). EV_EUSAGE
 * with err naming what is wrong (`what` says where, e.g. "shard 2 group g0"). */
int ev_data_ledger_load(const json_t *j, uint32_t nlanes, const char *what, ev_ledger **out,
                        ev_err *err);

/* The known lanes of pl[0..n) as JSON (caller owns), or NULL on OOM. */
json_t *ev_data_publanes(const ev_publane *pl, uint32_t n);
/* Loads j's lanes into pl[0..n) (each loaded lane becomes known; a lane
 * given twice is an error). EV_EUSAGE with err, or 0. */
int ev_data_publanes_load(const json_t *j, ev_publane *pl, uint32_t n, const char *what,
                          ev_err *err);

/* Where and with what the run happened: evload's version, host, cores,
 * kernel, the C libraries' versions. New JSON (caller owns). */
json_t *ev_data_environment(void);

#endif
