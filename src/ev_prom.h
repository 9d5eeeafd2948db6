/* ev_prom — evload's figures for Prometheus (docs/reports.md "Prometheus"):
 *
 *  - `--metrics ADDR`: an HTTP endpoint (GET /metrics) served during the run
 *    from the reporter's once-a-second point, and for a while after the end
 *    with the final figures, for a last scrape;
 *  - `evload report --prom FILE`: the same exposition for a results file's
 *    final figures (node_exporter's textfile collector, a Pushgateway).
 *
 * Latency is a Prometheus histogram whose bucket bounds are ends of evload's
 * own HDR slots (ev_hist.h): each `le` is ev_hist_highest_equivalent() of a
 * nominal 1-2-5 value from 10 µs to 60 s, so a bucket's count is exact — the
 * number of recorded values <= le — never interpolated, and buckets summed
 * over instances equal the buckets of the merged histogram (evload merge).
 *
 * The HTTP side is a small HTTP/1.1 responder on its own thread (one
 * connection at a time, GET only, Connection: close): no dependency, and a
 * scrape never touches the engine — the reporter thread hands each point to
 * ev_prom_update, which copies what it needs under the exporter's mutex;
 * the server thread only formats that copy. */
#ifndef EV_PROM_H
#define EV_PROM_H

#include "ev_err.h"
#include "ev_hist.h"
#include "ev_report.h"

#include <jansson.h>
#include <stdio.h>

typedef struct ev_prom ev_prom;

/* The bucket bounds in ns, ascending (static), and how many in *n. */
const int64_t *ev_prom_bounds(size_t *n);

/* Starts serving on addr ("HOST:PORT", "[V6]:PORT" or ":PORT" for every
 * interface; port 0 picks a free one). Prints the URL on stderr. 0 and a new
 * exporter (caller owns: ev_prom_stop), or EV_EUSAGE with err. */
int ev_prom_start(const char *addr, ev_prom **out, ev_err *err);
/* The reporter's point for the second just ended: tp (cumulative counters)
 * and the run's cumulative histograms so far (warm-up excluded). Copies what
 * it needs; never blocks on a scrape for longer than a format takes.
 * NULL p is a no-op. */
void ev_prom_update(ev_prom *p, const char *run_id, const char *scenario, const ev_tpoint *tp,
                    const ev_hist *e2e, const ev_hist *ack);
/* The run's final figures from its results document (classes, verdict,
 * whole-run histograms): served from then on. NULL p is a no-op. */
void ev_prom_finish(ev_prom *p, const json_t *doc);
/* The bound port (for ":0"). */
int ev_prom_port(const ev_prom *p);
/* Stops the server thread, closes the socket, frees p. NULL-safe. */
void ev_prom_stop(ev_prom *p);

/* The exposition of a results document's final figures (a sweep document:
 * its last run's) to f. 0, or EV_EUSAGE (not results) / EV_EINTERNAL. */
int ev_prom_text(FILE *f, const json_t *doc, ev_err *err);

#endif
