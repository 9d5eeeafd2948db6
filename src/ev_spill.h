/* ev_spill — records appended to an unlinked temporary file and read back
 * later: what a run produces a little of every second but needs only at its
 * end (the timeseries points, ev_tseries.h) goes here rather than into
 * memory, so that the process's memory stays flat however long the run.
 *
 * - The file is made in $TMPDIR (else /tmp) and unlinked at once: nothing
 *   is left behind however the process ends, and its space is freed when
 *   the spill is.
 * - Records are opaque bytes, length-prefixed, read back by index. The
 *   index of where each record starts is built only when records are read
 *   (a scan of the lengths), not while they are appended: appending keeps
 *   nothing in memory but one reused buffer.
 * - Errors are sticky: after a failed write or read every later call fails
 *   with the first error's message, so a lost record cannot go unnoticed.
 * - One thread at a time (the engine's reporter appends, the report reads). */
#ifndef EV_SPILL_H
#define EV_SPILL_H

#include "ev_err.h"

#include <stddef.h>

typedef struct ev_spill ev_spill;

/* One piece of a record (a record is written from several). */
typedef struct ev_spill_part {
    const void *p;
    size_t n;
} ev_spill_part;

/* A new, empty spill file in $TMPDIR or /tmp, already unlinked; what is
 * in `what` names it in errors ("the timeseries"). 0 and *out (caller owns:
 * ev_spill_free), or EV_EINTERNAL with err naming the directory and why. */
int ev_spill_open(const char *what, ev_spill **out, ev_err *err);

/* Appends one record, the concatenation of parts[0..nparts). 0, or
 * EV_EINTERNAL with err (the write failed, e.g. the disk is full; the spill
 * then refuses every later call). */
int ev_spill_append(ev_spill *s, const ev_spill_part *parts, size_t nparts, ev_err *err);

/* Records appended so far. */
size_t ev_spill_count(const ev_spill *s);

/* Reads record i (< ev_spill_count) into s's own buffer: *data (borrowed,
 * valid until the next read or ev_spill_free; followed by a NUL byte not
 * counted in *n) and *n bytes. 0, or EV_EINTERNAL with err. */
int ev_spill_read(ev_spill *s, size_t i, const void **data, size_t *n, ev_err *err);

/* Bytes in the file (the records and their length prefixes). */
size_t ev_spill_bytes(const ev_spill *s);

/* Closes (and so deletes) the file and frees s. NULL-safe. */
void ev_spill_free(ev_spill *s);

#endif
