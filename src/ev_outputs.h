/* ev_outputs — verify.outputs and verify.match (see ev_outputs.c). */
#ifndef EV_OUTPUTS_H
#define EV_OUTPUTS_H

#include "ev_err.h"
#include "ev_plan.h"
#include "ev_where.h"

#include <jansson.h>

#define EV_OUTPUTS_MAX 16

/* Parses a verify.match text ("envelope", "header:NAME", "json:/POINTER",
 * "traceparent"). NULL when valid (kind and arg, which points into s, set),
 * else what was expected. */
const char *ev_match_parse(const char *s, ev_match_kind *kind, const char **arg);

/* Validates verify.outputs (v borrowed) and stores it in p (replacing what
 * was there; p unchanged on error). Errors point at the member (w). */
int ev_outputs_apply(ev_plan *p, json_t *v, const ev_where *w, ev_err *err);
/* After every setting is applied: the implicit output when verify.outputs is
 * absent (none with verify.groups 0), and each output's defaults (groups,
 * consumers, match). EV_EINTERNAL on OOM. */
int ev_outputs_finish(ev_plan *p, ev_err *err);
void ev_outputs_free(ev_output *o, size_t n); /* n entries; NULL is a no-op */

#endif
