/* ev_json — reading results documents back (a leaf module): the dotted-path
 * accessors `evload merge`, `report` and `compare` share, and the lossless
 * histogram strings ("h1:…", docs/results.md) decoded from a path. Every
 * accessor tolerates a missing or mistyped value and says what it returns
 * then, so a renderer never needs a special case for an older file. */
#ifndef EV_JSON_H
#define EV_JSON_H

#include "ev_hist.h"

#include <jansson.h>
#include <stdint.h>

/* The value at a dotted path ("latency.e2e.p99") under o, borrowed; NULL when
 * any step is missing (o NULL included). Keys are at most 63 bytes. */
json_t *ev_jget(const json_t *o, const char *path);
/* The number there, or 0.0 when it is missing or not a number. */
double ev_jnum(const json_t *o, const char *path);
/* The positive integer there, or 0 when missing, not an integer, or ≤ 0. */
uint64_t ev_jint(const json_t *o, const char *path);
/* The string there (borrowed), or "" when missing or not a string. */
const char *ev_jstr(const json_t *o, const char *path);
/* ADDS the histogram encoded at path (an "h1:…" string) into h. 0 when it
 * was added, 1 when there is no string at path (h unchanged), -1 when the
 * string is not an encoding. */
int ev_jhist(const json_t *o, const char *path, ev_hist *h);

#endif
