/* ev_scenario — scenario files and settings → a validated run plan.
 *
 * One settings table (ev_settings.c) is behind the scenario's JSON keys and
 * `--set KEY=VALUE`: each entry has a dotted key ("publish.rate" is
 * {"publish": {"rate": …}}), a type, a unit, a range, a default and help text.
 * Scenario files are parsed with jansson (JSON_REJECT_DUPLICATES); every error
 * is one line "FILE:LINE:COLUMN: what is wrong; what was expected", and a
 * misspelt key names the nearest valid one. Durations are strings such as
 * "500ms", "30s", "5m", "1h30m" (units ns, us, ms, s, m, h; combined largest
 * first); a bare number is not a duration. */
#ifndef EV_SCENARIO_H
#define EV_SCENARIO_H

#include "ev_err.h"
#include "ev_plan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Reads and validates a scenario file. On error returns EV_EUSAGE (or
 * EV_EINTERNAL) with "path:line:col: …" in err and *out untouched.
 * On success *out is a new plan the caller owns. */
int ev_plan_load(const char *path, ev_plan **out, ev_err *err);
/* Parses scenario text held in memory; `name` stands in for the path in errors. */
int ev_plan_load_text(const char *text, size_t len, const char *name, ev_plan **out, ev_err *err);
/* A plan with every default (for tests and for runs without a file). */
int ev_plan_new_default(ev_plan **out, ev_err *err);

/* Applies one `--set KEY=VALUE` (the same table, same checks, error
 * "--set KEY: …"). Call ev_plan_finish afterwards. `--target URL` is
 * ev_plan_set(p, "target=URL"). p must come from ev_plan_load* or
 * ev_plan_new_default (never a caller-made ev_plan): the plan carries, out of
 * sight, where each setting's value came from, for ev_plan_finish's errors. */
int ev_plan_set(ev_plan *p, const char *assignment, ev_err *err);
/* 1 when the scenario file or a --set gave `key` a value, 0 when it holds
 * the default. */
int ev_plan_given(const ev_plan *p, const char *key);
/* Gives `key` the value `value` (text, as --set takes it) when neither the
 * file nor a --set did: a transport's own default (ev_broker.default_mode).
 * Errors still name the setting as a default. Call before ev_plan_finish. */
int ev_plan_default(ev_plan *p, const char *key, const char *value, ev_err *err);
/* Cross-field checks once every source has been applied (e.g. stages only with
 * ramping-arrival-rate, work min ≤ max, a target present). EV_EUSAGE on error. */
int ev_plan_finish(ev_plan *p, ev_err *err);
void ev_plan_free(ev_plan *p); /* NULL is a no-op */

/* Where setting `key` got its value, for errors found after loading (by a
 * transport's configure): "FILE:LINE:COL", "--set KEY" or "KEY (default)". */
void ev_plan_origin(const ev_plan *p, const char *key, char *buf, size_t size);

/* Prefixes of settings the scenario takes verbatim for a transport ("kafka":
 * a "kafka" object in the file, --set kafka.NAME=VALUE), NULL-terminated and
 * static; the program sets them once from the transport registry. Until then
 * there are none. */
void ev_scenario_passthrough(const char *const *prefixes);

#endif
