/* ev_settings_int — private to ev_settings.c and ev_scenario.c.
 *
 * ev_settings.c owns the one settings table and knows how to apply a value of
 * each type (from JSON, or from `--set` text turned into JSON first) and how
 * to word errors. ev_scenario.c owns the scenario file: parsing, the position
 * scanner, walking the JSON object onto the table, --set, and the cross-field
 * checks. Positions travel between them through ev_where. */
#ifndef EV_SETTINGS_INT_H
#define EV_SETTINGS_INT_H

#include "ev_scenario.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    EV_ST_STRING,    /* char * */
    EV_ST_INT,       /* int64_t; JSON integers, or reals with no fraction */
    EV_ST_NUMBER,    /* double */
    EV_ST_DURATION,  /* int64_t ns, written as a duration string */
    EV_ST_ENUM,      /* an enum stored as int; `choices` in enum order */
    EV_ST_OBJECT,    /* char *: any JSON object, kept as compact text */
    EV_ST_STAGES,    /* ev_plan.stages/nstages */
    EV_ST_WORK,      /* ev_plan.work_min_ns/work_max_ns */
    EV_ST_THRESHOLDS /* ev_plan.thresholds/nthresholds */
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
#define EV_SETTINGS_MAX 48

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

/* ---- where a value came from, for error messages -------------------------- */

/* Position of one object member (or array element) in the scenario text:
 * `path` is dotted with [i] for elements ("publish.stages[1].target"). Lines
 * and columns are 1-based; columns count bytes. For array elements the key
 * position is the element's. */
typedef struct ev_pos {
    char *path;
    int kline, kcol; /* the member's key (its opening quote) */
    int vline, vcol; /* the first byte of its value */
} ev_pos;

typedef struct ev_posmap {
    ev_pos *v;
    size_t n, cap;
} ev_posmap;

/* The entry for path, or NULL. m may be NULL. */
const ev_pos *ev_posmap_find(const ev_posmap *m, const char *path);

/* Either a scenario file (file non-NULL; pos may be NULL if the scan failed)
 * or one `--set KEY=VALUE` (set_key non-NULL). */
typedef struct ev_where {
    const char *file;
    const ev_posmap *pos;
    const char *set_key;
} ev_where;

/* Formats one error line and returns EV_EUSAGE:
 *   file:  "FILE:LINE:COL: [PATH ]BODY"  (key or value position of path;
 *          "FILE: " alone when path has no recorded position)
 *   --set: "--set KEY: [PATH ]BODY"
 * PATH is written only with subject non-zero ("publish.rate must be > 0"),
 * and for --set only when it is not the --set key itself (already there). */
int ev_where_fail(const ev_where *w, const char *path, int at_key, int subject, ev_err *err,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The unknown-key error for `key` inside the object at `parent` ("" for the
 * top level), suggesting the nearest of names[0..n-1] or listing them all. */
int ev_unknown_key(const ev_where *w, const char *parent, const char *key, const char *const *names,
                   size_t n, ev_err *err);

/* Validates v (borrowed) against s and stores it in p, replacing (and
 * freeing) what was there; on error p is unchanged. `w` words the errors. */
int ev_setting_apply(const ev_setting *s, ev_plan *p, json_t *v, const ev_where *w, ev_err *err);

/* Turns `--set` text into the JSON value ev_setting_apply expects for s:
 * numbers by strtoll/strtod (whole text), strings verbatim, the JSON types
 * (event.data, publish.stages, thresholds, verify.work's object form) parsed
 * as JSON. On success *out is a new reference the caller owns. */
int ev_setting_from_text(const ev_setting *s, const char *text, json_t **out, const ev_where *w,
                         ev_err *err);

/* "a string", "a number", "an object", … for "(got …)" in type errors. */
const char *ev_json_kind(const json_t *v);
/* Shortest decimal text that reads back as d ("0.5", "100", "1e+20"). */
void ev_fmt_num(double d, char *buf, size_t size);

/* Error messages echo what the user wrote; these keep them one line.
 * ev_show writes at most `max` bytes of s into buf (size >= 4 × max + 4) with
 * control bytes escaped (\n, \t, \xHH) and "..." if s was longer.
 * ev_one_line replaces any control byte left in msg with '?'. */
#define EV_SHOW_SIZE(max) (4 * (max) + 4)
void ev_show(const char *s, size_t max, char *buf, size_t size);
void ev_one_line(char *msg);

/* ---- the plan's hidden half ------------------------------------------------ */

enum { EV_FROM_DEFAULT = 0, EV_FROM_FILE, EV_FROM_SET };

/* Where the current value of one setting came from (for the cross-field
 * checks, which must both know whether a value was given and point at it). */
typedef struct ev_origin {
    int from;      /* EV_FROM_* */
    int line, col; /* EV_FROM_FILE: the value's position; 0 if unknown */
} ev_origin;

/* Every ev_plan handed out by ev_plan_new_default/ev_plan_load* is the first
 * member of one of these, so ev_plan_set/ev_plan_finish can find the origins
 * from the public pointer (C11 6.7.2.1p15). */
typedef struct ev_plan_int {
    ev_plan pub;
    ev_origin origin[EV_SETTINGS_MAX];
} ev_plan_int;

#endif
