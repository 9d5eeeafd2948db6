/* ev_where — positions in JSON text and one-line errors that point at them
 * ("FILE:LINE:COL: what is wrong; what was expected", or "--set KEY: …"). */
#ifndef EV_WHERE_H
#define EV_WHERE_H

#include "ev_err.h"

#include <jansson.h>
#include <stddef.h>

/* Position of one object member (or array element) in the text: `path` is
 * dotted with [i] for elements ("publish.stages[1].target"). Lines and
 * columns are 1-based; columns count bytes. For array elements the key
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

/* Records the positions of text (which jansson must already have accepted)
 * into out (start from {0}; the map owns its paths: ev_posmap_free). Returns
 * 0, or -1 when out of memory (out then holds what was recorded so far). */
int ev_posmap_scan(const char *text, size_t len, ev_posmap *out);
void ev_posmap_free(ev_posmap *m);
/* The entry for path, or NULL. m may be NULL. */
const ev_pos *ev_posmap_find(const ev_posmap *m, const char *path);
/* LINE:COL (1-based, bytes) of byte offset off in text. */
void ev_line_col(const char *text, size_t len, size_t off, int *line, int *col);

/* jansson's error for text named `name`, reworded into one line
 * "NAME:LINE:COL: …; expected …" (empty text, not an object, duplicate key,
 * trailing comma get their own wording). Returns EV_EUSAGE. */
int ev_json_error(const char *name, const char *text, size_t len, const json_error_t *je,
                  ev_err *err);

/* Either a file (file non-NULL; pos may be NULL if the scan failed) or one
 * `--set KEY=VALUE` (set_key non-NULL). prefix, when non-NULL, is where the
 * object being applied sits ("streams[1]." for a stream's settings): paths
 * are looked up and shown with it. Borrowed pointers. */
typedef struct ev_where {
    const char *file;
    const ev_posmap *pos;
    const char *set_key;
    const char *prefix;
} ev_where;

/* The recorded position of path under w's prefix, or NULL. */
const ev_pos *ev_where_pos(const ev_where *w, const char *path);

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

#endif
