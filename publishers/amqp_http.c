/* amqp_http publisher — RabbitMQ's management API as the request format of
 * the HTTP lane machinery (publishers/http.c): one POST to
 * /api/exchanges/VHOST/EXCHANGE/publish per event, the answer's
 * {"routed": true|false} deciding (see src/brokers/amqp_http.c).
 *
 * The body: {"properties": {content_type, delivery_mode, message_id,
 * headers}, "routing_key", "payload", "payload_encoding": "string"}, as
 * evload's AMQP publisher would send it: structured mode the JSON event as
 * payload; binary mode the data as payload and every attribute as a
 * `cloudEvents_` header (docs/cloudevents.md §5.2), evloadattempt among them
 * on a retry. */
#include "brokers/http.h"

#include "ev_cebind.h"

#include <string.h>

/* The event id of a structured event (evload writes it without escapes). */
static const char *find_id(const char *json, size_t len, size_t *n)
{
    static const char key[] = "\"id\":\"";
    const char *p = memmem(json, len, key, sizeof key - 1);
    if (!p)
        return NULL;
    p += sizeof key - 1;
    const char *e = memchr(p, '"', len - (size_t)(p - json));
    if (!e)
        return NULL;
    *n = (size_t)(e - p);
    return p;
}

static int put_hdr(ev_buf *b, int *first, const char *name, size_t nl, const char *v, size_t vl)
{
    int bad = (!*first && ev_buf_puts(b, ",")) || ev_buf_put_json_string(b, name, nl) ||
              ev_buf_puts(b, ":") || ev_buf_put_json_string(b, v, vl);
    *first = 0;
    return bad;
}

static int mgmt_build(const ev_http *h, const ev_msg *m, unsigned attempt, ev_buf *body,
                      struct curl_slist **hdrs)
{
    struct curl_slist *n = curl_slist_append(*hdrs, "Content-Type: application/json");
    if (!n)
        return -1;
    *hdrs = n;
    ev_buf ev = EV_BUF_INIT;
    const char *ct = EV_CE_CONTENT_TYPE, *id = NULL;
    size_t idn = 0;
    int bad = 0, first = 1;
    bad = ev_buf_puts(body, "{\"properties\":{\"delivery_mode\":") ||
          ev_buf_puts(body, h->persistent ? "2" : "1") || ev_buf_puts(body, ",\"headers\":{");
    if (m->traceparent)
        bad =
            bad || put_hdr(body, &first, "traceparent", 11, m->traceparent, strlen(m->traceparent));
    if (m->bin) {
        const ev_ce_binary *b = m->bin;
        char name[64];
        for (size_t i = 0; !bad && i < b->nattrs; i++) {
            size_t nl = ev_ce_bind_header_name(EV_CE_BIND_AMQP, b->attrs[i].name,
                                               b->attrs[i].name_len, name, sizeof name);
            if (nl)
                bad = put_hdr(body, &first, name, nl, b->attrs[i].value, b->attrs[i].value_len);
            if (b->attrs[i].name_len == 2 && !memcmp(b->attrs[i].name, "id", 2))
                id = b->attrs[i].value, idn = b->attrs[i].value_len;
        }
        if (!bad && attempt >= 2) {
            char a[16];
            int al = snprintf(a, sizeof a, "%u", attempt);
            bad = put_hdr(body, &first, "cloudEvents_evloadattempt", 25, a, (size_t)al);
        }
        ct = b->content_type ? b->content_type : EV_CE_DATA_CONTENT_TYPE;
        bad = bad || ev_buf_append(&ev, b->body.p ? b->body.p : "", b->body.len);
    } else {
        id = find_id(m->body, m->len, &idn);
        bad = bad || ev_http_put_structured(&ev, m->body, m->len, attempt);
    }
    bad = bad || ev_buf_puts(body, "},\"content_type\":") ||
          ev_buf_put_json_string(body, ct, strlen(ct));
    if (id)
        bad = bad || ev_buf_puts(body, ",\"message_id\":") || ev_buf_put_json_string(body, id, idn);
    bad = bad || ev_buf_puts(body, "},\"routing_key\":") ||
          ev_buf_put_json_string(body, h->routing_key, strlen(h->routing_key)) ||
          ev_buf_puts(body, ",\"payload\":") ||
          ev_buf_put_json_string(body, ev.p ? ev.p : "", ev.len) ||
          ev_buf_puts(body, ",\"payload_encoding\":\"string\"}");
    ev_buf_free(&ev);
    return bad ? -1 : 0;
}

/* {"routed":true} acks; {"routed":false} is unroutable: failed, not retried. */
static ev_http_verdict mgmt_judge(const char *body, size_t len, int *unroutable)
{
    if (memmem(body, len, "\"routed\":true", 13))
        return EV_HTTP_ACKED;
    if (memmem(body, len, "\"routed\":false", 14)) {
        *unroutable = 1;
        return EV_HTTP_FAILED;
    }
    return EV_HTTP_RETRY; /* a 2xx without the answer the API gives: not a confirmation */
}

/* RabbitMQ answers a publish to an exchange that does not exist with 400
 * and the AMQP error "404 NOT_FOUND - no exchange 'X' in vhost 'V'". */
static const char *mgmt_missing(long status, const char *body, size_t len)
{
    static const char tag[] = "NOT_FOUND - no exchange";
    if (status != 400 && status != 404)
        return NULL;
    for (size_t i = 0; i + sizeof tag - 1 <= len; i++)
        if (!memcmp(body + i, tag, sizeof tag - 1))
            return "the exchange does not exist in this vhost (check exchange= and the URL's "
                   "/vhost; evload declares nothing through the management API)";
    return NULL;
}

const ev_http_flavor ev_http_flavor_amqp_mgmt = {
    .name = "amqp+http", .build = mgmt_build, .judge = mgmt_judge, .missing = mgmt_missing};
