/* ev_param — target parameters (the `?key=value` part of a transport's URL),
 * declared in one table per transport and checked by the core.
 *
 * A transport module lists every parameter it takes in an ev_param table:
 * key, type, default, range, help. The core parses a URL's query against it
 * before anything connects, so `evload check` and `evload run` reject the
 * same things with the same words: an unknown key names the nearest valid
 * one, a bad value says what was expected. The module then reads typed
 * values (defaults applied) and never parses text itself. `evload run --help`
 * and docs/targets.md list the same tables.
 *
 * Types and their text forms:
 *   STRING     any text (percent-decoded)
 *   BOOL       1, 0, true, false
 *   INT        a whole decimal number within [min, max]
 *   NUMBER     a decimal number within [min, max]
 *   PROB       a number from 0 to 1
 *   DURATION   "500ms", "2s", "1m30s" (ev_text's durations) within [min, max] ns
 *   DURRANGE   a duration, or MIN..MAX ("20ms..40ms"); MIN <= MAX
 *   ENUM       one of `choices`
 * A parameter given twice takes its last value, unless it is EV_PF_MULTI
 * (every value kept in order, e.g. HTTP headers). */
#ifndef EV_PARAM_H
#define EV_PARAM_H

#include "ev_err.h"
#include "ev_url.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    EV_PT_STRING,
    EV_PT_BOOL,
    EV_PT_INT,
    EV_PT_NUMBER,
    EV_PT_PROB,
    EV_PT_DURATION,
    EV_PT_DURRANGE,
    EV_PT_ENUM
} ev_param_type;

enum {
    EV_PF_MULTI = 1u << 0,    /* may be given several times; all values kept */
    EV_PF_SECRET = 1u << 1,   /* the value is a secret: printed as *** */
    EV_PF_NONEMPTY = 1u << 2, /* STRING: "" is an error */
};

/* One row of a transport's table. A table ends with a row whose key is NULL. */
typedef struct ev_param {
    const char *key;
    ev_param_type type;
    const char *def;            /* default as URL text; NULL: unset (the module decides) */
    double min, max;            /* INT/NUMBER inclusive; DURATION(RANGE) in ns; max 0: none */
    const char *const *choices; /* ENUM: NULL-terminated */
    unsigned flags;             /* EV_PF_* */
    const char *help;           /* one line for --help and docs */
} ev_param;

typedef struct ev_params ev_params;

/* Checks every query parameter of u against defs and builds the typed values
 * (caller owns: ev_params_free). EV_EUSAGE with one line naming the
 * parameter, the redacted URL, and the nearest valid key or the expected
 * form; `hint` (may be NULL) is appended to the unknown-key message. */
int ev_params_parse(const ev_param *defs, const ev_url *u, const char *hint, ev_params **out,
                    ev_err *err);
void ev_params_free(ev_params *ps); /* NULL is a no-op */
/* Replaces the value of every EV_PF_SECRET parameter in u->redacted by ***,
 * so that every message quoting the URL hides it (the password already is).
 * 0, or EV_EINTERNAL when out of memory. */
int ev_params_mask(const ev_param *defs, ev_url *u, ev_err *err);

/* Typed values, the default when not given. `key` must be in the table with
 * that type (a mismatch is a bug in the module: reported and aborted).
 * Strings are owned by ps. ev_param_given tells whether the URL had it. */
int ev_param_given(const ev_params *ps, const char *key);
const char *ev_param_str(const ev_params *ps, const char *key); /* NULL when unset */
int ev_param_bool(const ev_params *ps, const char *key);
int64_t ev_param_int(const ev_params *ps, const char *key);
double ev_param_num(const ev_params *ps, const char *key); /* NUMBER and PROB */
int64_t ev_param_dur(const ev_params *ps, const char *key);
void ev_param_durrange(const ev_params *ps, const char *key, int64_t *lo, int64_t *hi);
int ev_param_enum(const ev_params *ps, const char *key); /* index into choices */
/* EV_PF_MULTI: how many values, and the i-th. */
size_t ev_param_count(const ev_params *ps, const char *key);
const char *ev_param_at(const ev_params *ps, const char *key, size_t i);

/* "a duration such as 2s", "1..65535", "direct, fanout, topic or headers":
 * the expected form of one parameter, for help and errors. */
void ev_param_form(const ev_param *p, char *buf, size_t size);
/* Prints a table (key, type, default, help) for --help, each row indented. */
void ev_param_print(FILE *f, const ev_param *defs);
/* The same table in Markdown (docs/targets.md). */
void ev_param_print_md(FILE *f, const ev_param *defs);

#endif
