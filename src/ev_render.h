/* ev_render — the files a person and CI read after a run (docs/reports.md):
 * report.html (ev_html), timeseries.csv (ev_csv), junit.xml (ev_junit) and
 * a Prometheus text exposition (ev_prom), all drawn from a results document
 * alone; `evload run --out DIR` and `evload report` (this module's
 * subcommand) share this code, so the report of a results file is the run's
 * own, byte for byte. */
#ifndef EV_RENDER_H
#define EV_RENDER_H

#include "ev_err.h"

#include <jansson.h>

typedef struct ev_render_opts {
    /* Where to write each (a path, "-" for stdout), NULL: not written. */
    const char *html, *csv, *junit, *prom;
    /* --history DIR: the trend shown in the page (entries up to this run's).
     * Read only here. NULL: no trend. */
    const char *history;
} ev_render_opts;

/* Writes each file o names, from doc. Files are written to NAME.tmp and
 * renamed, so a reader never sees half a file. 0, or EV_EUSAGE (cannot
 * write, not a results document) / EV_EINTERNAL, with err. */
int ev_render(const json_t *doc, const ev_render_opts *o, ev_err *err);

/* `evload run --out DIR [--history HDIR]`: creates DIR, writes
 * DIR/results.json from doc, reads that file back, appends it to HDIR's
 * history (when given), and renders DIR/report.html, timeseries.csv and
 * junit.xml from what it read — exactly what `evload report
 * DIR/results.json` renders. dir NULL: only the history is appended. */
int ev_render_out(const json_t *doc, const char *dir, const char *history, ev_err *err);

/* The subcommand: argv[0] is "report". Returns the exit code. */
int ev_render_main(int argc, char **argv);

#endif
