/* ev_codec — the CloudEvents 1.0 envelope of docs/design.md §2. Pure: bytes in,
 * values out; no sockets, no clocks (callers pass times in).
 *
 * Encoding is split in two so the hot path is a few memcpys: a per-lane
 * ev_ce_template holds every constant part pre-escaped; ev_ce_encode_* fills in
 * seq and times. The `data` member is a JSON object
 *     {"seq":N,<members of the scenario's event.data, compact>,"pad":"xx…"}
 * padded so its serialized size is data_size bytes (when data_size is larger
 * than the unpadded object). evloadcrc is CRC-32C of exactly those bytes.
 *
 * Decoding is strict (docs/cloudevents.md §7) and never fails hard: every
 * input ends in one of EV_CE_OK, EV_CE_FOREIGN (valid or not, not from the run
 * we expect) or EV_CE_CORRUPT (claims to be ours, but invalid or checksum
 * mismatch), with a reason. A message that cannot be parsed at all is CORRUPT
 * when its bytes contain our run id, FOREIGN otherwise.
 *
 * Binary mode: the neutral attribute list below (names without any binding
 * prefix, values as canonical strings) is what broker modules map to Kafka `ce_`
 * headers, AMQP `cloudEvents_` headers or HTTP `ce-` headers; datacontenttype
 * travels separately as the protocol's content type; the body is the data. */
#ifndef EV_CODEC_H
#define EV_CODEC_H

#include "ev_buf.h"
#include "ev_err.h"

#include <stddef.h>
#include <stdint.h>

#define EV_CE_CONTENT_TYPE "application/cloudevents+json"
#define EV_CE_DATA_CONTENT_TYPE "application/json"
#define EV_RUN_ID_MAX 32
#define EV_CE_MAX_ATTRS 16
/* Largest data_size a template accepts (CloudEvents only promises 64 KiB; the
 * scenario layer warns above that). */
#define EV_CE_DATA_SIZE_MAX ((size_t)64 << 20)

typedef struct ev_ce_params {
    const char *type;          /* required, non-empty */
    const char *source;        /* required, non-empty URI-reference */
    const char *run;           /* run id: [0-9a-z]{1,32} */
    uint32_t instance, lane;   /* lane index within the instance */
    size_t data_size;          /* target serialized size of `data` in bytes; see below */
    const char *data_template; /* JSON object text whose members go into data, or NULL */
    int traceparent;           /* 1: add a W3C traceparent encoding the event (see below) */
} ev_ce_params;

typedef struct ev_ce_template ev_ce_template;

/* Validates p and builds a template (caller owns; free with ev_ce_template_free).
 * EV_EUSAGE with a message for bad params, EV_EINTERNAL when out of memory.
 * p's strings are copied; p need not outlive the call. type must be a valid
 * CloudEvents String, source a URI-reference (so our own output validates),
 * data_size <= EV_CE_DATA_SIZE_MAX; data_template must parse as a JSON object
 * without members named "seq" or "pad" (its members are re-dumped compactly).
 * The "pad" member is always present: when data_size is not larger than the
 * object with an empty pad, the pad is "" and data is that (minimum) size.
 * A template is immutable after creation: encode calls on one template may run
 * concurrently from several threads. */
int ev_ce_template_new(const ev_ce_params *p, ev_ce_template **out, ev_err *err);
void ev_ce_template_free(ev_ce_template *t); /* NULL is a no-op */

/* Appends one structured-mode event (the whole JSON object) to out.
 * sched_ns/sent_ns are wall-clock ns since the epoch; `time` is sent_ns.
 * seq must be 1..INT64_MAX: data carries it as a JSON number, and JSON parsers
 * (jansson included) reject larger integers. No allocation once out has grown
 * to the event size; no locks. Returns 0 or -1 (out of memory). */
int ev_ce_encode_structured(const ev_ce_template *t, uint64_t seq, int64_t sched_ns,
                            int64_t sent_ns, ev_buf *out);

typedef struct ev_ce_attr {
    const char *name; /* without binding prefix, e.g. "id", "evloadseq" */
    size_t name_len;
    const char *value;
    size_t value_len;
} ev_ce_attr;

/* A binary-mode event. attrs point into `store` and body.p; both owned by the
 * struct (ev_ce_binary_free). content_type is datacontenttype. Start from a
 * zeroed struct ({0}); encoding again reuses the buffers (the previous attr
 * pointers become invalid). Names are static strings; each value is also
 * NUL-terminated in `store` (value_len does not count the NUL). Attribute
 * order: id, source, specversion, type, time, evloadrun, evloadlane,
 * evloadseq, evloadsched, evloadsent, evloadcrc. */
typedef struct ev_ce_binary {
    ev_ce_attr attrs[EV_CE_MAX_ATTRS];
    size_t nattrs;
    const char *content_type;
    ev_buf store; /* backing bytes for attribute values */
    ev_buf body;  /* the data */
} ev_ce_binary;

/* Fills out (reusing its buffers) with one binary-mode event; same seq and time
 * rules as ev_ce_encode_structured. 0 or -1 (OOM). */
int ev_ce_encode_binary(const ev_ce_template *t, uint64_t seq, int64_t sched_ns, int64_t sent_ns,
                        ev_ce_binary *out);
void ev_ce_binary_free(ev_ce_binary *b); /* frees the buffers, zeroes *b; NULL is a no-op */

enum { EV_CE_OK = 0, EV_CE_FOREIGN = 1, EV_CE_CORRUPT = 2 };

/* What a verifier learns from one message. */
typedef struct ev_ce_seen {
    int status;       /* EV_CE_* */
    char reason[128]; /* why FOREIGN/CORRUPT; "" when OK */
    int has_identity; /* lane and seq could be read (also possible when CORRUPT) */
    uint32_t instance, lane;
    uint64_t seq;
    int64_t sched_ns, sent_ns; /* wall ns from evloadsched/evloadsent */
} ev_ce_seen;

/* Decodes a structured-mode message. expect_run: the run id of this run.
 * Never fails: the outcome is in out->status (out is fully overwritten).
 * FOREIGN: evloadrun missing, not a string or another run (nothing else is
 * filled). Otherwise the identity and times are filled whenever evloadlane,
 * evloadseq (and evloadsched/evloadsent) parse, and the message is CORRUPT when
 * it is invalid CloudEvents, an evload attribute is missing or malformed, id
 * is not <run>-<instance>-<lane>-<seq>, the CRC-32C of the data bytes differs
 * from evloadcrc ("checksum mismatch"), or data does not begin {"seq":<seq>.
 * Thread-safe. Allocation-free: a strict single-pass scanner accepts exactly
 * the JSON that jansson (JSON_REJECT_DUPLICATES) accepts; inputs beyond its
 * limits (nesting deeper than 32, more than 128 keys in open objects, long
 * escaped names or values, reals near DBL_MAX) go through
 * ev_ce_decode_structured_ref instead, which allocates inside jansson. */
void ev_ce_decode_structured(const char *body, size_t len, const char *expect_run, ev_ce_seen *out);
/* The reference decoder: jansson json_loadb(JSON_REJECT_DUPLICATES), then the
 * same checks. ev_ce_decode_structured must give the same status,
 * has_identity, instance, lane, seq, sched_ns and sent_ns for every input
 * (reasons for invalid JSON are worded differently). For tests; slow. */
void ev_ce_decode_structured_ref(const char *body, size_t len, const char *expect_run,
                                 ev_ce_seen *out);
/* The scanner behind ev_ce_decode_structured on its own, for tests: 1 when
 * body[0..len) is JSON that jansson 2.14 json_loadb(JSON_REJECT_DUPLICATES)
 * accepts, 0 when jansson rejects it, -1 when it is beyond the scanner's
 * limits (then only jansson can tell). */
int ev_ce_json_scan_check(const char *body, size_t len);
/* Decodes a binary-mode message: attrs as extracted by the broker module
 * (prefix stripped and lowercased: names compare exactly), content_type may be
 * NULL; body/len are the data, over which the CRC is checked. Same outcomes as
 * ev_ce_decode_structured; every attribute value is checked as a CloudEvents
 * String (UTF-8, no controls/noncharacters); a repeated name is CORRUPT. */
void ev_ce_decode_binary(const ev_ce_attr *attrs, size_t nattrs, const char *content_type,
                         const char *body, size_t len, const char *expect_run, ev_ce_seen *out);

/* W3C trace context. With ev_ce_params.traceparent, every event carries the
 * CloudEvents distributed-tracing extension attribute `traceparent`,
 *   00-RRRRRRRRIIIILLLLSSSSSSSSSSSSSSSS-SSSSSSSSSSSSSSSS-01
 * whose trace-id is the run id's FNV-1a 32-bit hash (R), the instance (I),
 * the lane (L, 16 bits each) and the seq (S, 64 bits), lowercase hex, and
 * whose parent-id is the seq. A service that propagates trace context keeps
 * it even when it mints a new event id, so evload can tie its output back. */
#define EV_TRACEPARENT_LEN 55
/* Writes the traceparent of (run, instance, lane, seq) into buf (at least
 * EV_TRACEPARENT_LEN + 1 bytes, NUL-terminated). */
void ev_ce_traceparent(const char *run, uint32_t instance, uint32_t lane, uint64_t seq, char *buf);
/* Reads a traceparent value (exactly the form above, any flags). 1 and the
 * identity when its trace-id belongs to run `run`, 0 otherwise. */
int ev_ce_traceparent_parse(const char *v, size_t len, const char *run, uint32_t *instance,
                            uint32_t *lane, uint64_t *seq);
/* Reads a published event id "<run>-<instance>-<lane>-<seq>". 1 and the
 * identity when it is one of run `run`'s, 0 otherwise. */
int ev_ce_id_parse(const char *v, size_t len, const char *run, uint32_t *instance, uint32_t *lane,
                   uint64_t *seq);

/* Strict CloudEvents 1.0 validation of a structured (JSON) event, for tests and
 * for interop checks; returns 0 when valid, else EV_EUSAGE with the first
 * violation in err. */
int ev_ce_validate_json(const char *body, size_t len, ev_err *err);

/* CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, init and final xor
 * ~0), hardware-accelerated where the CPU has it (SSE4.2, chosen once).
 * Start with crc = 0; chaining works like zlib's crc32:
 * ev_crc32c(ev_crc32c(0, a, n), b, m) is the CRC of a followed by b.
 * ev_crc32c(0, "123456789", 9) == 0xE3069283. Thread-safe. */
uint32_t ev_crc32c(uint32_t crc, const void *data, size_t n);
/* The portable table-driven implementation that ev_crc32c falls back to; same
 * results. Exposed so tests can compare both paths. */
uint32_t ev_crc32c_sw(uint32_t crc, const void *data, size_t n);
/* 1 when ev_crc32c uses the CPU's crc32 instruction, else 0 (for tests, logs). */
int ev_crc32c_hw_active(void);

#endif
