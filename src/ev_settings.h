/* ev_settings — the one table of settings behind scenario keys, `--set` and
 * `evload run --help`, and applying a value of each type to a plan.
 *
 * ev_settings.c owns the table and knows how to apply a value of each type
 * (from JSON, or from `--set` text turned into JSON first) and how to word
 * what is wrong with it; where the value came from (a file position or a
 * --set) travels in an ev_where. ev_scenario.c owns the scenario file:
 * walking the JSON object onto the table, --set, and the cross-field checks. */
#ifndef EV_SETTINGS_H
#define EV_SETTINGS_H

#include "ev_plan.h"
#include "ev_where.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    EV_ST_STRING,     /* char * */
    EV_ST_INT,        /* int64_t; JSON integers, or reals with no fraction */
    EV_ST_NUMBER,     /* double */
    EV_ST_DURATION,   /* int64_t ns, written as a duration string */
    EV_ST_ENUM,       /* an enum stored as int; `choices` in enum order */
    EV_ST_OBJECT,     /* char *: any JSON object, kept as compact text */
    EV_ST_STAGES,     /* ev_plan.stages/nstages */
    EV_ST_WORK,       /* ev_plan.work_min_ns/work_max_ns */
    EV_ST_THRESHOLDS, /* ev_plan.thresholds/nthresholds */
    EV_ST_OUTPUTS,    /* ev_plan.outputs/noutputs (ev_outputs.c) */
    EV_ST_URLS,       /* char **, a count beside: an array of URLs */
    EV_ST_FAULTS,     /* ev_plan.faults/nfaults (ev_faults.c) */
    EV_ST_STREAMS     /* ev_plan.streams: applied by ev_scenario (ev_setting_apply refuses it) */
} ev_stype;

typedef struct ev_setting {
    const char *key; /* dotted: "publish.rate" is {"publish": {"rate": …}} */
    ev_stype type;
    const char *unit;      /* "bytes", "events/s", or "" */
    double min, max;       /* INT/NUMBER/DURATION (ns): inclusive range; max may be INFINITY */
    int min_open;          /* 1: the value must be > min rather than >= min */
    const char *def;       /* default as --set text, applied by ev_plan_new_default; NULL: unset */
    const char *def_shown; /* shown by ev_settings_print instead of def when non-NULL */
    const char *help;      /* short, for `evload run --help` */
    size_t off;            /* offsetof(ev_plan, field) for the simple types */
    const char *const *choices; /* ENUM: names in enum order, NULL-terminated */
    /* STRING: returns NULL if s is acceptable, else what was expected. */
    const char *(*check)(const char *s);
} ev_setting;

/* Upper bound on the table's length (ev_settings.c asserts it at compile time),
 * so a plan can carry one origin per setting without allocating. */
#define EV_SETTINGS_MAX 64

extern const ev_setting ev_settings[];
extern const size_t ev_nsettings;

/* The setting with exactly this dotted key, or NULL. */
const ev_setting *ev_setting_find(const char *key);

/* Writes into names[0..cap-1] the distinct next path segments of the keys that
 * start with prefix (prefix "" or "publish."), in table order; returns how
 * many. The strings are static (the table's) or point into `buf` (size
 * bufsize) which the caller provides. */
size_t ev_settings_level(const char *prefix, const char **names, size_t cap, char *buf,
                         size_t bufsize);

/* Validates v (borrowed) against s and stores it in p, replacing (and
 * freeing) what was there; on error p is unchanged. `w` words the errors. */
int ev_setting_apply(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err);

/* Turns `--set` text into the JSON value ev_setting_apply expects for s:
 * numbers by strtoll/strtod (whole text), strings verbatim, the JSON types
 * (event.data, publish.stages, thresholds, verify.work's object form) parsed
 * as JSON. On success *out is a new reference the caller owns. */
int ev_setting_from_text(const ev_setting *s, const char *text, json_t **out, const ev_where *w,
                         ev_err *err);

/* A duration string >= 0 at path ("30s"), worded as every setting's. */
int ev_json_duration(const ev_where *w, const char *path, const json_t *v, int64_t *out,
                     ev_err *err);

/* Copies setting s's value from src to dst (event.* and publish.* types:
 * strings, numbers, enums, objects, stages). 0, or -1 when out of memory
 * (dst unchanged). */
int ev_setting_copy(const ev_setting *s, ev_plan *dst, const ev_plan *src);

/* "a string", "a number", "an object", … for "(got …)" in type errors. */
const char *ev_json_kind(const json_t *v);

/* Prints the settings table (key, type, unit, range, default, help) for --help. */
void ev_settings_print(FILE *f);

#endif
