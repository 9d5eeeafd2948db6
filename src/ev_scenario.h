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
#include "ev_threshold.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { EV_EXEC_CONSTANT, EV_EXEC_RAMPING, EV_EXEC_MAX } ev_executor;
typedef enum { EV_MODE_STRUCTURED, EV_MODE_BINARY } ev_event_mode;

typedef struct ev_stage {
    int64_t duration_ns;
    double target; /* events/s at the end of the stage (linear ramp from the previous) */
} ev_stage;

/* A setting given to a broker module verbatim (e.g. "kafka.linger.ms" = "5"). */
typedef struct ev_kv {
    char *key, *value;
} ev_kv;

/* Every string and array is owned by the plan (ev_plan_free). */
typedef struct ev_plan {
    char *path;        /* scenario file as given, or "" */
    char *name;        /* default: file name without .json */
    char *description; /* default "" */
    char *target;      /* URL; may be NULL until --target */
    char *run_id;      /* NULL: random at run time */

    /* event.* */
    char *event_type;      /* default "dev.evload.test" */
    char *event_source;    /* default "/evload" */
    int64_t data_size;     /* bytes, default 256, 16..1048576 */
    ev_event_mode mode;    /* default structured */
    char *event_data_json; /* compact JSON object text of event.data, or NULL */

    /* publish.* */
    ev_executor executor; /* default constant-arrival-rate */
    int64_t lanes;        /* default 1, 1..256 */
    double rate;          /* constant: events/s (all lanes together), default 100 */
    int64_t duration_ns;  /* constant; max-throughput when count is 0; default 10s */
    double start_rate;    /* ramping, default 0 */
    ev_stage *stages;     /* ramping */
    size_t nstages;
    int64_t count;         /* max-throughput: events in all (0: use duration) */
    int64_t max_in_flight; /* unacknowledged events, all lanes together; default 1000 */

    /* verify.* */
    int64_t groups;                   /* default 1, 1..1024 */
    int64_t consumers;                /* per group, default 1, 1..1024 */
    int64_t prefetch;                 /* default 100 */
    int64_t work_min_ns, work_max_ns; /* simulated processing per event, default 0 */
    int64_t drain_timeout_ns;         /* default 10s */
    char *verify_mode;                /* broker-specific (e.g. bullmq worker/observer); NULL */

    int64_t warmup_ns; /* default 0 */

    ev_threshold *thresholds;
    size_t nthresholds;

    ev_kv *extra; /* pass-through broker settings ("kafka.*") in the order given */
    size_t nextra;

    /* "sweep": {"verify.consumers": [1, 2, 4, 8]} — run once per value of one
     * setting. Values are kept as --set text, each already checked against the
     * setting; sweep_key is NULL when the scenario has no sweep. */
    char *sweep_key;
    char **sweep_values;
    size_t nsweep;
} ev_plan;

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
/* Cross-field checks once every source has been applied (e.g. stages only with
 * ramping-arrival-rate, work min ≤ max, a target present). EV_EUSAGE on error. */
int ev_plan_finish(ev_plan *p, ev_err *err);
void ev_plan_free(ev_plan *p); /* NULL is a no-op */

/* Total scheduled publishing time in ns (warm-up excluded), 0 when unknown
 * (max-throughput by count). */
int64_t ev_plan_publish_ns(const ev_plan *p);
/* Expected number of events (all lanes, warm-up excluded), from the schedule. */
double ev_plan_expected_events(const ev_plan *p);

/* Prints the settings table (key, type, unit, range, default, help) for --help. */
void ev_settings_print(FILE *f);

/* "1h30m" → ns. EV_EUSAGE with the expected form on error. */
int ev_parse_duration(const char *s, int64_t *out_ns, ev_err *err);
/* Formats ns as the shortest duration string ("1m30s", "250ms"). */
void ev_format_duration(int64_t ns, char *buf, size_t size);

/* Levenshtein-nearest of candidates[0..n-1] to word, or NULL if none is close
 * (distance > max(2, len/3)). */
const char *ev_nearest(const char *word, const char *const *candidates, size_t n);

#endif
