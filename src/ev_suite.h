/* ev_suite — `evload suite FILE`: scenarios run one after another, each an
 * ordinary run (ev_run, or ev_sweep_run for a member whose scenario sweeps),
 * with its own `set` overrides and an optional cooldown after it; one table
 * of verdicts at the end, one exit code, per member the files `evload run
 * --out DIR` writes (results.json only for a sweep), and a suite index
 * (docs/scenarios.md, "Suites").
 *
 *   {"name": "nightly", "stop_on_fail": true,
 *    "members": [
 *      {"scenario": "../smoke.json", "name": "smoke", "cooldown": "5s"},
 *      {"scenario": "../smoke.json", "name": "high", "set": {"publish.rate": 2000}}]}
 *
 * The file is read with the scenario parser's rules (jansson with duplicate
 * keys refused; every error one line "FILE:LINE:COL: …"), and checked whole
 * before anything runs: every member's scenario (paths relative to the suite
 * file), its set overrides, the command line's --target and --set on top, and
 * its target's transport, exactly as `evload check` checks one scenario. */
#ifndef EV_SUITE_H
#define EV_SUITE_H

#include "ev_err.h"

#include <stddef.h>

/* 1 when the file at path is a suite (a JSON object with "members"), else 0
 * (not readable, not JSON, or a scenario: the scenario loader says why). */
int ev_suite_is_suite(const char *path);

/* `evload check SUITE`: loads and checks the suite and every member as a run
 * would, prints one plan line per member. target may be NULL; sets are
 * "KEY=VALUE" applied to every member after its own. Exit code 0 or 2 (4). */
int ev_suite_check(const char *path, const char *target, char *const *sets, int nsets);

/* `evload suite FILE [--target URL] [--out DIR] [--set K=V]... [--quiet]`:
 * exit 0 every member passed, 1 one failed (or ended incomplete), 2 a bad
 * suite file (nothing ran), 3 a member could not connect, 4 internal, 5
 * interrupted (Ctrl-C stops the current member and skips the rest). */
int ev_suite_main(int argc, char **argv);

#endif
