/* ev_sse — the Server-Sent Events wire format (WHATWG HTML, "Server-sent
 * events", §9.2.6 "Interpreting an event stream"): a pure, streaming parser.
 * Bytes go in as they come off a connection, in chunks of any size (a CR LF
 * may be split between two chunks); complete events come out through a
 * callback. No sockets, no clocks.
 *
 * What the parser does, as the specification says:
 *   - lines end with CR LF, LF or CR; one U+FEFF (BOM) at the very start of a
 *     stream is skipped;
 *   - a line starting with ':' is a comment (counted, otherwise ignored);
 *   - "field:value" (one space after the colon is dropped) or "field" alone
 *     (empty value); field names compare exactly (case matters);
 *   - data: appends the value and a LF to the data buffer; event: sets the
 *     type; id: sets the last event ID buffer unless the value holds a NUL;
 *     retry: sets the reconnection time when the value is ASCII digits only
 *     (otherwise ignored); any other field is ignored (counted);
 *   - an empty line dispatches: the last event ID buffer becomes the stream's
 *     last event ID (even when no event follows: an `id:` alone moves it);
 *     with an empty data buffer nothing is dispatched, else the data loses
 *     its final LF and the event goes out with its type ("message" when none
 *     was given) and the last event ID; data and type are then cleared;
 *   - an event not finished when the stream ends is discarded (ev_sse_restart).
 * Ownership: the parser owns its buffers; an event handed to the callback
 * points into them and is valid only during the call. One parser per
 * connection; not thread-safe. */
#ifndef EV_SSE_H
#define EV_SSE_H

#include "ev_buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ev_sse_event {
    const char *data; /* the data lines joined with \n, without a final \n */
    size_t len;
    const char *type; /* "message" when the event had no event: field */
    size_t type_len;
    const char *id; /* the last event ID ("" when none was ever set) */
    size_t id_len;
} ev_sse_event;

/* Called once per dispatched event. */
typedef void (*ev_sse_event_fn)(void *ud, const ev_sse_event *ev);

typedef struct ev_sse_parser {
    size_t max;     /* a line or an event's data longer than this is an error */
    ev_buf line;    /* the start of a line that has not ended yet */
    ev_buf data;    /* the data buffer */
    ev_buf type;    /* the event type buffer */
    ev_buf id_buf;  /* the last event ID buffer */
    ev_buf last_id; /* the stream's last event ID (NUL-terminated), set at dispatch */
    int after_cr;   /* the previous chunk ended with CR: a LF first is part of it */
    int bom_left;   /* bytes of a leading BOM still to check (3 at a stream's start) */
    char bom[3];
    int64_t retry_ms; /* the last valid retry: value, -1 when none */
    /* Counters over the parser's life (every restart included). */
    uint64_t events, comments, ignored_fields, bad_retry, ignored_ids, empty_dispatches;
} ev_sse_parser;

/* Initializes p for a first stream; max bounds a line and an event's data
 * (bytes). */
void ev_sse_init(ev_sse_parser *p, size_t max);
/* A new stream on the same parser (a reconnection): the unfinished line and
 * event are discarded and the buffers cleared, as for a new stream; the last
 * event ID (for the Last-Event-ID header), retry_ms and the counters stay. */
void ev_sse_restart(ev_sse_parser *p);
void ev_sse_free(ev_sse_parser *p);
/* Parses buf[0..n), calling fn for each event completed in it. 0, or -1
 * when a line or an event's data would pass p->max or memory ran out (the
 * stream is then unusable: restart it). */
int ev_sse_feed(ev_sse_parser *p, const char *buf, size_t n, ev_sse_event_fn fn, void *ud);
/* The stream's last event ID, NUL-terminated ("" when none). */
const char *ev_sse_last_id(const ev_sse_parser *p);

#endif
