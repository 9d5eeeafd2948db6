/* ev_text — shared text helpers (a leaf module): one-line echoes of user
 * text, durations, nearest names, number formatting, help tables. */
#ifndef EV_TEXT_H
#define EV_TEXT_H

#include "ev_err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Error messages echo what the user wrote; these keep them one line.
 * ev_show writes at most `max` bytes of s into buf (size >= EV_SHOW_SIZE(max))
 * with control bytes escaped (\n, \t, \xHH) and "..." if s was longer.
 * ev_one_line replaces any control byte left in msg with '?'. */
#define EV_SHOW_SIZE(max) (4 * (max) + 4)
void ev_show(const char *s, size_t max, char *buf, size_t size);
void ev_one_line(char *msg);
/* 1 when s is a name of 1..max letters, digits, '_', '-' or '.' (outputs,
 * streams, stages: names that tag metrics and stand in file names). */
int ev_valid_name(const char *s, size_t max);

/* "1h30m" → ns (units h, m, s, ms, us/µs, ns; combined largest first, each
 * once; a fraction is allowed while the result is whole ns; a bare number is
 * not a duration). EV_EUSAGE with the expected form on error. */
int ev_parse_duration(const char *s, int64_t *out_ns, ev_err *err);
/* Formats ns as the shortest duration string ("1m30s", "250ms"); the result
 * parses back to ns. */
void ev_format_duration(int64_t ns, char *buf, size_t size);

/* Levenshtein-nearest of candidates[0..n-1] to word, or NULL if none is close
 * (distance > max(2, len/3)). Returns one of the candidates (borrowed). */
const char *ev_nearest(const char *word, const char *const *candidates, size_t n);

/* Shortest decimal text that reads back as d ("0.5", "100", "1e+20"). */
void ev_fmt_num(double d, char *buf, size_t size);

/* Appends to buf at *n with snprintf semantics: *n may pass size (then the
 * text was cut), buf stays NUL-terminated. */
void ev_text_put(char *buf, size_t size, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes s (NULL: nothing) to f as XML/HTML text or attribute value: & < >
 * " ' escaped; control bytes other than tab and newline (not allowed in XML
 * 1.0) become '?'. */
void ev_fput_markup(FILE *f, const char *s);

/* One row of a help table: cells[0..3] at columns col[0..3], a cell that runs
 * into the next column pushes the rest to a new line; cells[4] (the help) is
 * wrapped at word breaks within 100 columns. */
void ev_text_row(FILE *f, const char *const cells[5], const int col[5]);

#endif
