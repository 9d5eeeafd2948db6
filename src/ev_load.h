/* ev_load — the one way a command turns its arguments into a checked plan:
 * the scenario file, then --set assignments, then a command's own extra ones
 * (a sweep's value, a search's rate), --source, --target, the target
 * transport's defaults (ev_broker.default_mode), ev_plan_finish and ev_check:
 * everything `run` would reject before connecting. `run`, `check`, `sweep`,
 * `search` and `suite` all load through it, so they agree. */
#ifndef EV_LOAD_H
#define EV_LOAD_H

#include "ev_err.h"
#include "ev_scenario.h"

#include <stddef.h>

typedef struct ev_load_args {
    const char *path;   /* the scenario file */
    const char *target; /* --target, or NULL */
    const char *source; /* --source (verify.source), or NULL */
    char *const *sets;  /* --set KEY=VALUE, applied in order */
    size_t nsets;
    const char *const *extra; /* the command's own KEY=VALUE, after the sets */
    size_t nextra;
} ev_load_args;

/* Loads and checks the plan a's arguments describe. On success the caller
 * owns *out (ev_plan_free). Returns 0, or EV_EUSAGE / another status with
 * one line in err; prints nothing. */
int ev_load_plan(const ev_load_args *a, ev_plan **out, ev_err *err);

#endif
