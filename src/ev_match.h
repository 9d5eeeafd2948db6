/* ev_match — ties an output message back to the events evload published,
 * when the user's service did not pass the envelope through unchanged
 * (verify.match, docs/pipelines.md):
 *
 *   header:NAME     a protocol header (any case), a binary-mode attribute, or a
 *                   top-level member of a JSON body, holding a published id
 *   json:/POINTER   an RFC 6901 pointer into a JSON body: a published id, or
 *                   an array of them (one output covering several inputs)
 *   traceparent     the W3C trace context evload set (ev_codec.h), found as
 *                   a `traceparent` header, attribute or member
 *   envelope        only the published id in the `id` attribute or member,
 *                   for messages whose evload attributes were dropped (the
 *                   envelope itself is ev_codec's decode)
 *
 * Pure: bytes in, identities out; JSON bodies are parsed with jansson. */
#ifndef EV_MATCH_H
#define EV_MATCH_H

#include "ev_codec.h"
#include "ev_plan.h"

#include <stddef.h>
#include <stdint.h>

/* What a matcher may look at in one message. Borrowed. */
typedef struct ev_msg_view {
    int binary; /* 1: attrs are the CloudEvents attributes, body the data */
    const char *body;
    size_t len;
    const ev_ce_attr *attrs; /* binary mode */
    size_t nattrs;
    const ev_ce_attr *headers; /* every protocol header as text, raw names; may be NULL */
    size_t nheaders;
} ev_msg_view;

typedef struct ev_match_id {
    uint32_t instance, lane;
    uint64_t seq;
} ev_match_id;

/* Fills out[0..max) with the identities of run `run` that m carries under
 * (kind, arg). Returns how many were found (0: none of this run's: the
 * message is foreign); an array longer than max yields the first max. */
int ev_match_ids(ev_match_kind kind, const char *arg, const ev_msg_view *m, const char *run,
                 ev_match_id *out, int max);

#endif
