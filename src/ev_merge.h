/* ev_merge — `evload merge`: combine the results of the instances of one run
 * exactly (see ev_merge.c). */
#ifndef EV_MERGE_H
#define EV_MERGE_H

#include "ev_err.h"

#include <stddef.h>

/* Merges the results files paths[0..n) into one: prints the shards' health
 * and the merged summary (or only the verdict with quiet), writes the merged
 * results to out_path when non-NULL. Returns the merged verdict's exit code
 * (0, 1, 5), or EV_EUSAGE/EV_EINTERNAL with err. */
int ev_merge(char **paths, size_t n, const char *out_path, int quiet, ev_err *err);
/* The subcommand: argv[0] is "merge". Returns the exit code. */
int ev_merge_main(int argc, char **argv);

#endif
