/* ev_csv — see ev_csv.h. */
#include "ev_csv.h"

#include "ev_json.h"

#include <stdlib.h>
#include <string.h>

static const char *const COLS[] = {"t",       "phase",     "rate_target", "rate_achieved",
                                   "sent",    "acked",     "failed",      "received",
                                   "lost",    "in_flight", "depth",       "blocked_s",
                                   "e2e_p50", "e2e_p99",   "e2e_max",     "sched_lag_p99"};
#define NCOLS (sizeof COLS / sizeof COLS[0])
#define MAX_BROKER_KEYS 32

/* A field, quoted when it holds a comma, quote or line break. */
static void field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void value(FILE *f, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.10g", json_real_value(v));
    else if (json_is_string(v))
        field(f, json_string_value(v));
    else if (json_is_true(v) || json_is_false(v))
        fputs(json_is_true(v) ? "true" : "false", f);
}

static size_t broker_keys(const json_t *runs[], size_t nruns, const char **keys)
{
    size_t n = 0;
    for (size_t r = 0; r < nruns; r++) {
        size_t i;
        const json_t *tp;
        json_array_foreach (ev_jget(runs[r], "timeseries"), i, tp) {
            const char *k;
            const json_t *v;
            json_object_foreach ((json_t *)(uintptr_t)ev_jget(tp, "broker"), k, v) {
                size_t j = 0;
                while (j < n && strcmp(keys[j], k))
                    j++;
                if (j == n && n < MAX_BROKER_KEYS && json_is_number(v))
                    keys[n++] = k;
            }
        }
    }
    return n;
}

int ev_csv_write(FILE *f, const json_t *doc, ev_err *err)
{
    const json_t *runs_a = ev_jget(doc, "runs");
    int sweep = json_is_array(runs_a) && json_is_object(ev_jget(doc, "sweep"));
    if (!sweep && !json_is_object(ev_jget(doc, "run")))
        return ev_err_set(err, EV_EUSAGE,
                          "not an evload results document (no \"run\" and no \"sweep\")");
    size_t nruns = sweep ? json_array_size(runs_a) : 1;
    const json_t **runs = calloc(nruns ? nruns : 1, sizeof *runs);
    const char *keys[MAX_BROKER_KEYS];
    if (!runs)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t r = 0; r < nruns; r++)
        runs[r] = sweep ? json_array_get(runs_a, r) : doc;
    size_t nk = broker_keys(runs, nruns, keys);
    if (sweep) {
        fputs("sweep_key,sweep_value,", f);
    }
    for (size_t c = 0; c < NCOLS; c++)
        fprintf(f, "%s%s", c ? "," : "", COLS[c]);
    for (size_t k = 0; k < nk; k++) {
        char name[160];
        snprintf(name, sizeof name, "broker.%s", keys[k]);
        fputc(',', f);
        field(f, name);
    }
    fputs("\r\n", f);
    for (size_t r = 0; r < nruns; r++) {
        size_t i;
        const json_t *tp;
        json_array_foreach (ev_jget(runs[r], "timeseries"), i, tp) {
            if (sweep) {
                field(f, ev_jstr(doc, "sweep.key"));
                fputc(',', f);
                value(f, ev_jget(json_array_get(ev_jget(doc, "sweep.rows"), r), "value"));
                fputc(',', f);
            }
            for (size_t c = 0; c < NCOLS; c++) {
                if (c)
                    fputc(',', f);
                value(f, json_object_get(tp, COLS[c]));
            }
            for (size_t k = 0; k < nk; k++) {
                fputc(',', f);
                value(f, json_object_get(json_object_get(tp, "broker"), keys[k]));
            }
            fputs("\r\n", f);
        }
    }
    free(runs);
    return ferror(f) ? ev_err_set(err, EV_EINTERNAL, "write error") : EV_OK;
}
