/* rabbitmq verifier — one competing consumer on its group's queue: its own
 * connection, basic.qos(prefetch), basic.consume with manual acks.
 *
 * Design notes.
 * - Deliveries are read off the socket into a local FIFO (at most prefetch of
 *   them, since the broker sends no more unacked ones) and handed to the
 *   engine from there. Reading everything available at each recv() keeps the
 *   prefetched messages counted in the live `unacked` figure that depth()
 *   adds to the broker's ready count, so a slow consumer's backlog shows and
 *   the drain does not end while messages sit in our buffers.
 * - With simulated work the engine sleeps per delivery between recv() and
 *   ack(); recv() then hands out only as many as fit in ~2 s, so library
 *   calls (which run the heartbeats, docs/client-libraries.md §1.6) keep coming.
 * - Acks: the engine acks each batch after processing; deliveries on one
 *   channel are acked in tag order, so one basic.ack(multiple) on the highest
 *   tag settles the batch. With ack_every=N the ack waits until N are due, and
 *   is sent anyway when the consumer goes idle (else the drain would wait on
 *   the unacked ones) and at close.
 * - Connection loss: what we held unacked is requeued by the broker (and comes
 *   back flagged redelivered), so local copies are dropped; recv() reconnects
 *   (attempts spaced out, each bounded) and gives up after reconnect_timeout.
 * - A copy our publisher republished after a reconnect carries the header
 *   EV_RMQ_REPUBLISHED_HEADER; it is handed over with `redelivered` set, so a
 *   duplicate from that retry counts as a redelivery, not an anomaly.
 * - Both CloudEvents modes, by the binding rules of ev_cebind.h: binary
 *   when headers carry attributes and the content type is not
 *   application/cloudevents…; else handed over as structured for the codec
 *   to judge (foreign or corrupt, never a crash). */
#include "brokers/rabbitmq.h"

#include "ev_cebind.h"
#include "ev_clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OUT_MAX 64  /* deliveries handed out per recv() */
#define ATTR_MAX 32 /* integer-valued headers rendered per delivery */
#define FIFO_NOPREFETCH 4096
#define RECONNECT_MIN_NS (100 * EV_NS_PER_MS)
#define RECONNECT_MAX_NS (1 * EV_NS_PER_S)
#define RECONNECT_CONNECT_NS (2 * EV_NS_PER_S)
#define WORK_SLICE_NS (2 * EV_NS_PER_S)

typedef struct out_slot {
    ev_ce_headers h;
    char num[ATTR_MAX][22];    /* native integer header values as text */
    ev_ce_attr hdrs[ATTR_MAX]; /* every header with a text value (verify.match) */
} out_slot;

struct ev_sub {
    ev_rmq *m;
    const ev_run_info *ri;
    uint32_t group, consumer;
    ev_rmq_live *live;
    char queue[EV_RMQ_NAME_MAX];
    amqp_connection_state_t conn;
    uint32_t gen;

    amqp_envelope_t *fifo;             /* ring of cap envelopes */
    uint64_t cap, head, out_end, tail; /* [head,out_end) handed out, [out_end,tail) waiting */
    uint32_t out_gen;
    out_slot *outs; /* [OUT_MAX] */

    int64_t held;    /* delivered on this connection, not acked */
    int64_t pending; /* processed, ack not sent yet (ack_every) */
    uint64_t pending_tag;

    int64_t down_since, next_attempt, backoff;
    char why[600];
    ev_rmq_sub_stats st;
};

static void drop_envelopes(ev_sub *s, uint64_t from, uint64_t to)
{
    for (uint64_t a = from; a < to; a++)
        amqp_destroy_envelope(&s->fifo[a % s->cap]);
}

static void set_down(ev_sub *s, const char *why)
{
    if (s->conn)
        amqp_destroy_connection(s->conn);
    s->conn = NULL;
    snprintf(s->why, sizeof s->why, "%s", why);
    /* The broker requeues all we held; the waiting copies are dropped. The
     * handed-out ones stay valid until the next recv(), but their acks are
     * void (out_gen no longer matches). */
    drop_envelopes(s, s->out_end, s->tail);
    s->tail = s->out_end;
    s->gen++;
    s->held = s->pending = 0;
    s->pending_tag = 0;
    atomic_store(&s->live->unacked, 0);
    int64_t now = ev_mono_ns();
    s->down_since = now;
    s->backoff = RECONNECT_MIN_NS;
    s->next_attempt = now + s->backoff;
    atomic_fetch_add(&s->m->consumers_down, 1);
}

static int sub_connect(ev_sub *s, int64_t timeout_ns, ev_err *err)
{
    char why[256];
    const ev_rmq_cfg *c = &s->m->c;
    int rc = ev_rmq_connect(c, timeout_ns, &s->conn, err);
    if (rc)
        return rc;
    int64_t pf = s->ri->plan->prefetch;
    amqp_basic_qos(s->conn, EV_RMQ_CHANNEL, 0, (uint16_t)(pf > 65535 ? 65535 : pf < 0 ? 0 : pf), 0);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(s->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        amqp_basic_consume(s->conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(s->queue), amqp_empty_bytes,
                           0, 0, 0, amqp_empty_table);
        r = amqp_get_rpc_reply(s->conn);
    }
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        ev_rmq_reply_str(r, why, sizeof why); /* before the connection's memory goes */
        ev_rmq_close(s->conn, 0);
        s->conn = NULL;
        return ev_err_set(err, EV_ECONNECT, "target %s: cannot consume from queue \"%s\": %s",
                          c->redacted, s->queue, why);
    }
    return EV_OK;
}

static int sub_reconnect(ev_sub *s, ev_err *err)
{
    int64_t now = ev_mono_ns();
    if (now < s->next_attempt)
        return 0;
    const ev_rmq_cfg *c = &s->m->c;
    if (now - s->down_since > c->reconnect_timeout_ns)
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: consumer %" PRIu32 " of queue \"%s\" lost its connection "
                          "(%s) and could not reconnect within %.0f s",
                          c->redacted, s->consumer, s->queue, s->why,
                          (double)c->reconnect_timeout_ns / 1e9),
               -1;
    ev_err e2;
    int64_t t =
        c->connect_timeout_ns < RECONNECT_CONNECT_NS ? c->connect_timeout_ns : RECONNECT_CONNECT_NS;
    if (sub_connect(s, t, &e2)) {
        snprintf(s->why, sizeof s->why, "%s", e2.msg);
        s->backoff = s->backoff * 2 > RECONNECT_MAX_NS ? RECONNECT_MAX_NS : s->backoff * 2;
        s->next_attempt = ev_mono_ns() + s->backoff;
        return 0;
    }
    s->st.reconnects++;
    s->st.down_ns += ev_mono_ns() - s->down_since;
    atomic_fetch_sub(&s->m->consumers_down, 1);
    return 0;
}

static int rmq_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                        ev_sub **out, ev_err *err)
{
    ev_rmq *m = state;
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->m = m;
    s->ri = ri;
    s->group = group;
    s->consumer = consumer;
    s->live = &m->live[group * m->consumers + consumer];
    s->gen = 1;
    ev_rmq_queue_name(m, group, s->queue, sizeof s->queue);
    int64_t pf = ri->plan->prefetch;
    s->cap = (uint64_t)(pf > 0 ? pf : FIFO_NOPREFETCH) + OUT_MAX;
    s->fifo = calloc(s->cap, sizeof *s->fifo);
    s->outs = calloc(OUT_MAX, sizeof *s->outs);
    int rc;
    if (!s->fifo || !s->outs) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto fail;
    }
    if ((rc = sub_connect(s, m->c.connect_timeout_ns, err)))
        goto fail;
    *out = s;
    return EV_OK;
fail:
    free(s->fifo);
    free(s->outs);
    free(s);
    return rc;
}

static int send_ack(ev_sub *s)
{
    if (!s->pending || !s->conn)
        return 0;
    int st = amqp_basic_ack(s->conn, EV_RMQ_CHANNEL, s->pending_tag, 1);
    if (st != AMQP_STATUS_OK) {
        char why[160];
        snprintf(why, sizeof why, "ack failed: %s", amqp_error_string2(st));
        set_down(s, why);
        return -1;
    }
    s->st.acks_sent++;
    s->held -= s->pending;
    s->pending = 0;
    atomic_store(&s->live->unacked, s->held);
    return 0;
}

/* A non-delivery frame that interrupted amqp_consume_message. 0 to go on, 1
 * when the connection went down, -1 fatal (err set). */
static int on_other_frame(ev_sub *s, ev_err *err)
{
    amqp_frame_t f;
    struct timeval zero = {0, 0};
    int st = amqp_simple_wait_frame_noblock(s->conn, &f, &zero);
    if (st == AMQP_STATUS_TIMEOUT)
        return 0;
    if (st != AMQP_STATUS_OK) {
        set_down(s, amqp_error_string2(st));
        return 1;
    }
    if (f.frame_type != AMQP_FRAME_METHOD)
        return 0;
    switch (f.payload.method.id) {
    case AMQP_CONNECTION_CLOSE_METHOD: {
        const amqp_connection_close_t *c = f.payload.method.decoded;
        char why[200];
        snprintf(why, sizeof why, "server closed the connection: %u %.*s", c->reply_code,
                 (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(s->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        set_down(s, why);
        return 1;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        const amqp_channel_close_t *c = f.payload.method.decoded;
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: the broker closed consumer %" PRIu32 "'s channel on queue "
                          "\"%s\": %u %.*s",
                          s->m->c.redacted, s->consumer, s->queue, c->reply_code,
                          (int)c->reply_text.len, (const char *)c->reply_text.bytes),
               -1;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: the broker cancelled the consumer on queue \"%s\" (was the "
                          "queue deleted?)",
                          s->m->c.redacted, s->queue),
               -1;
    default:
        return 0;
    }
}

/* Reads what the socket has (waiting up to timeout_ns for the first) into the
 * FIFO. 0, or -1 fatal (err set). */
static int fill(ev_sub *s, int64_t timeout_ns, ev_err *err)
{
    int first = 1;
    while (s->conn && s->tail - s->head < s->cap) {
        struct timeval tv = ev_rmq_tv(first ? timeout_ns : 0);
        amqp_envelope_t *e = &s->fifo[s->tail % s->cap];
        amqp_maybe_release_buffers(s->conn);
        amqp_rpc_reply_t r = amqp_consume_message(s->conn, e, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            s->tail++;
            s->held++;
            s->st.deliveries++;
            if (e->redelivered)
                s->st.redelivered++;
            first = 0;
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT)
            break;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            int o = on_other_frame(s, err);
            if (o < 0)
                return -1;
            first = 0;
            continue;
        }
        char why[256];
        set_down(s, ev_rmq_reply_str(r, why, sizeof why));
    }
    atomic_store(&s->live->unacked, s->held);
    return 0;
}

/* An AMQP header value as text for the binding collector (the AMQP binding
 * allows native integers and booleans: canonical decimal / true, false).
 * Numbers are rendered into num (22 bytes). NULL for a type with no text. */
static const char *header_text(const amqp_field_value_t *v, char *num, size_t *len)
{
    long long x;
    switch (v->kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
        *len = v->value.bytes.len;
        return v->value.bytes.bytes ? v->value.bytes.bytes : "";
    case AMQP_FIELD_KIND_BOOLEAN:
        *len = v->value.boolean ? 4 : 5;
        return v->value.boolean ? "true" : "false";
    case AMQP_FIELD_KIND_I8:
        x = v->value.i8;
        break;
    case AMQP_FIELD_KIND_I16:
        x = v->value.i16;
        break;
    case AMQP_FIELD_KIND_I32:
        x = v->value.i32;
        break;
    case AMQP_FIELD_KIND_I64:
        x = v->value.i64;
        break;
    case AMQP_FIELD_KIND_U8:
        x = v->value.u8;
        break;
    case AMQP_FIELD_KIND_U16:
        x = v->value.u16;
        break;
    case AMQP_FIELD_KIND_U32:
        x = (long long)v->value.u32;
        break;
    case AMQP_FIELD_KIND_U64:
        x = (long long)v->value.u64;
        break;
    default:
        return NULL; /* a type we cannot render: the attribute is absent */
    }
    *len = (size_t)snprintf(num, 22, "%lld", x);
    return num;
}

/* Fills d from one envelope, using out's storage. */
static void to_delivery(ev_sub *s, const amqp_envelope_t *e, out_slot *o, ev_delivery *d)
{
    const amqp_basic_properties_t *pr = &e->message.properties;
    memset(d, 0, sizeof *d);
    d->body = e->message.body.bytes ? e->message.body.bytes : "";
    d->len = e->message.body.len;
    d->redelivered = e->redelivered != 0;
    d->tag = e->delivery_tag;
    ev_ce_headers *h = &o->h;
    ev_ce_headers_init(h, EV_CE_BIND_AMQP);
    if (pr->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
        ev_ce_headers_set_content_type(h, pr->content_type.bytes, pr->content_type.len);
    if (pr->_flags & AMQP_BASIC_HEADERS_FLAG) {
        size_t nums = 0;
        for (int i = 0; i < pr->headers.num_entries; i++) {
            const amqp_table_entry_t *t = &pr->headers.entries[i];
            if (t->key.len == sizeof EV_RMQ_REPUBLISHED_HEADER - 1 &&
                !memcmp(t->key.bytes, EV_RMQ_REPUBLISHED_HEADER, t->key.len)) {
                /* Our own publisher's retry after a reconnect. */
                d->redelivered = 1;
                s->st.retry_marked++;
                continue;
            }
            size_t vl = 0;
            char *num = nums < ATTR_MAX ? o->num[nums] : NULL;
            const char *val = num || t->value.kind == AMQP_FIELD_KIND_UTF8 ||
                                      t->value.kind == AMQP_FIELD_KIND_BYTES ||
                                      t->value.kind == AMQP_FIELD_KIND_BOOLEAN
                                  ? header_text(&t->value, num, &vl)
                                  : NULL;
            if (num && val == num)
                nums++;
            if (!val)
                continue;
            ev_ce_headers_add(h, t->key.bytes, t->key.len, val, vl);
            if (d->nheaders < ATTR_MAX)
                o->hdrs[d->nheaders++] = (ev_ce_attr){
                    .name = t->key.bytes, .name_len = t->key.len, .value = val, .value_len = vl};
        }
    }
    d->content_type = h->content_type;
    d->headers = o->hdrs;
    if (!ev_ce_headers_binary(h)) {
        d->binary = 0;
        return;
    }
    d->binary = 1;
    d->attrs = h->attrs;
    d->nattrs = h->nattrs;
}

static int rmq_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    /* The previous batch has been processed (and acked or queued for it). */
    drop_envelopes(s, s->head, s->out_end);
    s->head = s->out_end;
    if (!s->conn) {
        if (sub_reconnect(s, err) < 0)
            return -1;
        if (!s->conn) {
            int64_t until = ev_mono_ns() + timeout_ns;
            ev_sleep_until(s->next_attempt < until ? s->next_attempt : until, s->ri->stop);
            return 0;
        }
    }
    if (fill(s, s->tail > s->out_end ? 0 : timeout_ns, err) < 0)
        return -1;
    int limit = max < OUT_MAX ? max : OUT_MAX;
    if (s->m->work_max_ns > 0) {
        int64_t fit = WORK_SLICE_NS / s->m->work_max_ns;
        if (fit < limit)
            limit = fit < 1 ? 1 : (int)fit;
    }
    int n = 0;
    int64_t now = ev_wall_ns();
    while (n < limit && s->out_end < s->tail) {
        to_delivery(s, &s->fifo[s->out_end % s->cap], &s->outs[n], &d[n]);
        d[n].recv_wall_ns = now;
        s->out_end++;
        n++;
    }
    s->out_gen = s->gen;
    if (n == 0 && s->pending && send_ack(s) < 0)
        return 0; /* went down; reconnects on the next call */
    return n;
}

static int rmq_sub_ack(ev_sub *s, const ev_delivery *d, int n, ev_err *err)
{
    (void)err;
    if (s->out_gen != s->gen || !s->conn || n <= 0)
        return 0; /* the connection they came on is gone: the broker requeued them */
    uint64_t hi = 0;
    for (int i = 0; i < n; i++)
        if (d[i].tag > hi)
            hi = d[i].tag;
    s->pending += n;
    if (hi > s->pending_tag)
        s->pending_tag = hi;
    if ((uint64_t)s->pending >= s->m->c.ack_every)
        send_ack(s);
    return 0;
}

static void rmq_sub_close(ev_sub *s)
{
    if (!s)
        return;
    send_ack(s);
    if (!s->conn) {
        s->st.down_ns += ev_mono_ns() - s->down_since;
        atomic_fetch_sub(&s->m->consumers_down, 1);
    }
    ev_rmq_close(s->conn, 1);
    drop_envelopes(s, s->head, s->tail);
    /* What we held unacked goes back to the queue, but the broker may count
     * it as ready only a moment after our channel closed: keep it in the
     * group's depth (the evidence that missing copies may remain), at worst
     * twice for a moment, never not at all (lost is never a guess). The
     * next depth read asks the broker afresh. */
    pthread_mutex_lock(&s->m->mgmt_mu);
    s->m->depth_at = 0;
    pthread_mutex_unlock(&s->m->mgmt_mu);
    ev_rmq_add_sub(s->m, &s->st);
    free(s->fifo);
    free(s->outs);
    free(s);
}

const ev_sub_ops ev_rmq_sub_ops = {
    .open = rmq_sub_open,
    .recv = rmq_sub_recv,
    .ack = rmq_sub_ack,
    .close = rmq_sub_close,
};
