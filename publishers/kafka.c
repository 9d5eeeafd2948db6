/* kafka publisher — one librdkafka producer per lane.
 *
 * Design notes.
 * - Order: every event of a lane carries the key "<instance>.<lane>", so the
 *   partitioner puts the whole lane in one partition; with the default
 *   enable.idempotence=true (acks=all, ≤ 5 in flight, retries) the broker
 *   keeps the lane's order through retries and broker outages.
 * - Outcomes: the delivery-report callback runs inside rd_kafka_poll on this
 *   lane's thread (from poll() or from send() while the local queue is full);
 *   it only buffers (seq, ok), and poll() hands the buffer to the engine. The
 *   seq travels as the message opaque. A failed report (message timed out,
 *   fatal idempotence error …) is a failed outcome: unconfirmed, or
 *   recovered if a verifier sees the event anyway (POSSIBLY_PERSISTED).
 * - Backpressure: RD_KAFKA_RESP_ERR__QUEUE_FULL → serve delivery reports for
 *   up to 10 ms and retry; the time is counted as blocked
 *   (broker.kafka.blocked_s). Bounded: after QUEUE_FULL_MAX_NS the event fails.
 * - A cluster that stops answering: librdkafka retries silently, so each
 *   event's wait is bounded by message.timeout.ms (default here 30 s, as
 *   RabbitMQ's confirm_timeout), and once every broker has been down for
 *   ALL_DOWN_MAX_NS with events still waiting, the lane fails (exit 3)
 *   instead of publishing into the void.
 * - CloudEvents Kafka binding: binary mode puts every attribute but
 *   datacontenttype in a `ce_<name>` header and datacontenttype in
 *   `content-type`; structured mode sends the JSON event with
 *   `content-type: application/cloudevents+json` (always set, so a strict
 *   receiver never mistakes it for binary). */
#include "brokers/kafka.h"

#include "ev_cebind.h"
#include "ev_clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_FULL_MAX_NS (30 * EV_NS_PER_S)
#define ALL_DOWN_MAX_NS (60 * EV_NS_PER_S) /* as RabbitMQ's reconnect_timeout */
#define CLOSE_FLUSH_MS 10000
#define POLL_EVERY 64
#define POLL_EVERY_NS (200 * EV_NS_PER_US)

typedef struct outcome {
    uint64_t seq;
    int ok;
} outcome;

struct ev_pub {
    ev_kafka *k;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char key[32];
    size_t keylen;
    outcome *out; /* reports not yet handed to the engine */
    size_t nout, capout;
    int oom;
    int64_t all_down_since; /* librdkafka said ALL_BROKERS_DOWN; 0 after an ack */
    unsigned sends_since_poll;
    int64_t last_poll;
    int64_t last_ack_mono; /* when a poll last returned a successful report */
    uint64_t acked;
    char names[EV_CE_MAX_ATTRS][40]; /* "ce_<name>" for binary headers */
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ev_pub *p = opaque;
    if (p->nout == p->capout) {
        size_t cap = p->capout ? p->capout * 2 : 256;
        outcome *o = realloc(p->out, cap * sizeof *o);
        if (!o) {
            p->oom = 1;
            return;
        }
        p->out = o;
        p->capout = cap;
    }
    int ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!ok)
        atomic_fetch_add(&p->k->dr_failed, 1);
    else
        p->all_down_since = 0;
    p->out[p->nout++] = (outcome){(uint64_t)(uintptr_t)m->_private, ok};
}

static void pub_error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    ev_pub *p = opaque;
    if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !p->all_down_since)
        p->all_down_since = ev_mono_ns();
    ev_kafka_note_error(p->k, "producer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)e),
                        reason);
}

static int kafka_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out,
                          ev_err *err)
{
    ev_kafka *k = state;
    ev_pub *p = calloc(1, sizeof *p);
    if (!p)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    p->k = k;
    p->keylen = (size_t)snprintf(p->key, sizeof p->key, "%u.%u", ri->instance, lane);
    rd_kafka_conf_t *c = NULL;
    int rc = ev_kafka_conf(k, 0, &c, err);
    if (rc) {
        free(p);
        return rc;
    }
    rd_kafka_conf_set_opaque(c, p);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_error_cb(c, pub_error_cb);
    char es[256];
    if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es))) {
        rd_kafka_conf_destroy(c);
        free(p);
        return ev_err_set(err, EV_EUSAGE, "%s: cannot create a producer: %s", ri->url->redacted,
                          es);
    }
    if (!(p->rkt = rd_kafka_topic_new(p->rk, k->topic, NULL))) {
        rd_kafka_destroy(p->rk);
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    /* Connect now (metadata for the topic), so the run starts with warm
     * connections and an unreachable cluster is an error here, not later. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, p->rkt, &md, 10000);
    if (e) {
        rd_kafka_topic_destroy(p->rkt);
        rd_kafka_destroy(p->rk);
        free(p);
        return ev_err_set(err, EV_ECONNECT,
                          "%s: lane %u: no Kafka broker answered at %s within 10 s (%s)",
                          ri->url->redacted, lane, k->bootstrap, rd_kafka_err2str(e));
    }
    rd_kafka_metadata_destroy(md);
    *out = p;
    return EV_OK;
}

static int kafka_pub_send(ev_pub *p, const ev_msg *m, ev_err *err)
{
    ev_kafka *k = p->k;
    int64_t zero = 0;
    atomic_compare_exchange_strong(&k->first_send_mono, &zero, ev_mono_ns());
    rd_kafka_vu_t vu[EV_CE_MAX_ATTRS + 8];
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = p->rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = p->key;
    vu[n++].u.mem.size = p->keylen;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = (void *)(uintptr_t)m->seq;
    if (m->bin) {
        const ev_ce_binary *b = m->bin;
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[n].u.mem.ptr = b->body.p;
        vu[n++].u.mem.size = b->body.len;
        for (size_t i = 0; i < b->nattrs && i < EV_CE_MAX_ATTRS; i++) {
            ev_ce_bind_header_name(EV_CE_BIND_KAFKA, b->attrs[i].name, b->attrs[i].name_len,
                                   p->names[i], sizeof p->names[i]);
            vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
            vu[n].u.header.name = p->names[i];
            vu[n].u.header.val = b->attrs[i].value;
            vu[n++].u.header.size = (ssize_t)b->attrs[i].value_len;
        }
        if (b->content_type) {
            vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
            vu[n].u.header.name = ev_ce_bind_content_type_header(EV_CE_BIND_KAFKA);
            vu[n].u.header.val = b->content_type;
            vu[n++].u.header.size = -1;
        }
    }
    if (m->traceparent) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[n].u.header.name = "traceparent";
        vu[n].u.header.val = m->traceparent;
        vu[n++].u.header.size = -1;
    }
    if (!m->bin) {
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[n].u.mem.ptr = (void *)(uintptr_t)m->body; /* copied: MSG_F_COPY */
        vu[n].u.mem.size = m->len;
        n++;
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[n].u.header.name = ev_ce_bind_content_type_header(EV_CE_BIND_KAFKA);
        vu[n].u.header.val = EV_CE_CONTENT_TYPE;
        vu[n++].u.header.size = -1;
    }
    int64_t blocked_from = 0;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_produceva(p->rk, vu, n);
        if (!e)
            break;
        rd_kafka_resp_err_t code = rd_kafka_error_code(e);
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* Fatal (idempotence state lost): the lane ends. Anything else
             * (message too large, unknown partition …): this event counts
             * as failed and the lane goes on. */
            int rc = ev_err_set(err, code == RD_KAFKA_RESP_ERR__FATAL ? EV_ECONNECT : EV_EINTERNAL,
                                "%s: produce to %s failed: %s", k->ri->url->redacted, k->topic,
                                rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return rc;
        }
        rd_kafka_error_destroy(e);
        /* Local queue full: serve delivery reports, then retry. */
        int64_t now = ev_mono_ns();
        if (!blocked_from) {
            blocked_from = now;
            atomic_fetch_add(&k->queue_full, 1);
        }
        if (now - blocked_from > QUEUE_FULL_MAX_NS || *k->ri->stop) {
            atomic_fetch_add(&k->blocked_ns, (uint64_t)(now - blocked_from));
            return ev_err_set(err, EV_EUSAGE, "%s: the producer's local queue stayed full for %d s",
                              k->ri->url->redacted, (int)(QUEUE_FULL_MAX_NS / EV_NS_PER_S));
        }
        rd_kafka_poll(p->rk, 10);
    }
    p->sends_since_poll++;
    if (blocked_from)
        atomic_fetch_add(&k->blocked_ns, (uint64_t)(ev_mono_ns() - blocked_from));
    return EV_OK;
}

static int kafka_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    int ms = 0;
    if (timeout_ns > 0 && p->nout == 0)
        ms = timeout_ns < EV_NS_PER_MS ? 1 : (int)(timeout_ns / EV_NS_PER_MS);
    /* The engine polls after every send; serving librdkafka's queue that
     * often costs more than the send itself at 100k+ events/s. A no-wait
     * poll is served every POLL_EVERY sends or POLL_EVERY_NS, whichever
     * comes first (ack latency is then late by at most that). */
    int64_t now = ev_mono_ns();
    if (ms == 0 && p->nout == 0 && p->sends_since_poll < POLL_EVERY &&
        now - p->last_poll < POLL_EVERY_NS)
        return 0;
    p->sends_since_poll = 0;
    p->last_poll = now;
    rd_kafka_poll(p->rk, ms);
    char es[256];
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(p->rk, es, sizeof es);
    size_t n = p->nout, ok = 0;
    for (size_t i = 0; i < n; i++) {
        fn(ud, p->out[i].seq, p->out[i].ok);
        ok += (size_t)p->out[i].ok;
    }
    if (ok) {
        p->acked += ok;
        p->last_ack_mono = ev_mono_ns();
    }
    p->nout = 0;
    if (p->oom)
        return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
    if (fe)
        return ev_err_set(err, EV_ECONNECT, "%s: fatal producer error: %s (%s)",
                          p->k->ri->url->redacted, es, rd_kafka_err2name(fe)),
               -1;
    if (p->all_down_since && now - p->all_down_since > ALL_DOWN_MAX_NS &&
        rd_kafka_outq_len(p->rk) > 0)
        return ev_err_set(err, EV_ECONNECT,
                          "%s: no Kafka broker at %s has answered for %d s, with events waiting",
                          p->k->ri->url->redacted, p->k->bootstrap,
                          (int)(ALL_DOWN_MAX_NS / EV_NS_PER_S)),
               -1;
    return (int)n;
}

static void kafka_pub_close(ev_pub *p)
{
    if (!p)
        return;
    /* The engine has collected what it waits for; give stragglers a bounded
     * chance, then drop the rest (their outcome stays unknown). */
    atomic_fetch_add(&p->k->acked, p->acked);
    int64_t seen = atomic_load(&p->k->last_ack_mono);
    while (p->last_ack_mono > seen &&
           !atomic_compare_exchange_weak(&p->k->last_ack_mono, &seen, p->last_ack_mono))
        ;
    rd_kafka_flush(p->rk, CLOSE_FLUSH_MS);
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(p->rk, 0);
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    free(p->out);
    free(p);
}

const ev_pub_ops ev_kafka_pub_ops = {
    .open = kafka_pub_open,
    .send = kafka_pub_send,
    .poll = kafka_pub_poll,
    .close = kafka_pub_close,
};
