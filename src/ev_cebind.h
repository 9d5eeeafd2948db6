/* ev_cebind — the CloudEvents protocol bindings' header rules, in one place
 * for every transport that carries binary-mode events as protocol headers
 * (docs/cloudevents.md has the rules in full):
 *
 *   binding  header for attribute NAME        content type travels in
 *   AMQP     cloudEvents_NAME                 the content_type property
 *   Kafka    ce_NAME                          the `content-type` header
 *   HTTP     ce-NAME                          the `Content-Type` header
 *
 * Publishers ask for header names; verifiers offer every header of a message
 * to a collector, which keeps the CloudEvents attributes (prefix stripped,
 * name lower-cased) and the content type, and then decodes. Readers are
 * lenient where producers in the wild differ: every binding accepts the
 * prefixes `ce_`, `ce-`, `cloudEvents_` and `cloudEvents:` in any case (the
 * AMQP binding names `cloudEvents_`/`cloudEvents:`, the Spring and Java SDKs
 * write `ce_`, HTTP gateways forward `ce-`), and AMQP also takes the content
 * type from a `cloudEvents_datacontenttype` header when the property is
 * absent. A message is binary mode when it carries at least one attribute
 * and its content type is not `application/cloudevents…`.
 *
 * Pure: no allocation, no I/O; a collector is owned by one thread. */
#ifndef EV_CEBIND_H
#define EV_CEBIND_H

#include "ev_codec.h"

#include <stddef.h>

typedef enum { EV_CE_BIND_AMQP, EV_CE_BIND_KAFKA, EV_CE_BIND_HTTP } ev_ce_binding;

/* Writes the header name a publisher uses for attribute attr[0..attr_len) in
 * binding b into buf (NUL-terminated). Returns its length, or 0 when it does
 * not fit in size bytes. datacontenttype is never a header: it travels as the
 * protocol's content type (ev_ce_bind_content_type_header). */
size_t ev_ce_bind_header_name(ev_ce_binding b, const char *attr, size_t attr_len, char *buf,
                              size_t size);
/* The header that carries the content type ("content-type" for Kafka,
 * "Content-Type" for HTTP), or NULL for AMQP (a message property). */
const char *ev_ce_bind_content_type_header(ev_ce_binding b);

/* Attributes beyond this many are ignored (an event has 11 of evload's own). */
#define EV_CE_HDR_MAX_ATTRS 32
/* Bytes for lower-cased names and the content type. */
#define EV_CE_HDR_SCRATCH 1536

typedef struct ev_ce_headers {
    ev_ce_binding binding;
    ev_ce_attr attrs[EV_CE_HDR_MAX_ATTRS];
    size_t nattrs;
    const char *content_type; /* NUL-terminated, in scratch; NULL when none */
    int ct_from_property;     /* the content type came from the protocol's own field */
    size_t dropped;           /* attributes that did not fit */
    size_t used;
    char scratch[EV_CE_HDR_SCRATCH];
} ev_ce_headers;

/* Empties h for the next message. */
void ev_ce_headers_init(ev_ce_headers *h, ev_ce_binding b);
/* Offers one protocol header. A CloudEvents attribute is kept (its value is
 * BORROWED: value must stay valid until the message has been decoded); the
 * content type header is copied. Returns 1 when the header was one of those,
 * else 0 (the caller may look at it for its own purposes). */
int ev_ce_headers_add(ev_ce_headers *h, const char *name, size_t name_len, const char *value,
                      size_t value_len);
/* Sets the content type from the protocol's own field (AMQP content_type);
 * it wins over a header. The value is copied. */
void ev_ce_headers_set_content_type(ev_ce_headers *h, const char *ct, size_t len);
/* 1 when the collected message is binary mode (see the top), else 0: the body
 * is then a structured event (or not an event at all). */
int ev_ce_headers_binary(const ev_ce_headers *h);

#endif
