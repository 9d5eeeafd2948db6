/* rabbitmq publisher — one lane: one connection, one channel in confirm mode.
 *
 * Design notes.
 * - Every event handed over by send() is copied into a slot of a ring kept in
 *   send order; the slot lives until the broker settled it (basic.ack or
 *   basic.nack), the confirm timeout expired, or the run ends. The engine's
 *   in-flight window (max_in_flight / lanes) bounds how many are unsettled;
 *   the ring grows when settled slots sit behind an unsettled one.
 * - Confirms (docs/client-libraries.md §1.3): delivery tags count the publishes on the
 *   current channel from 1; acks come out of order and with `multiple`
 *   ("every outstanding tag ≤ N"). tag2abs maps a tag to its slot, and
 *   conf_lo is the lowest tag not known settled, so a multiple-ack settles
 *   exactly the outstanding tags from conf_lo to N — never "the highest tag
 *   seen", which would lose late confirms.
 * - Mandatory: an unroutable event comes back as basic.return *before* its
 *   ack; the returned message's message_id (the CloudEvents id) names the seq,
 *   the slot is marked, and when its ack arrives the outcome is "failed"
 *   (so the ledger classes it unconfirmed, not lost) and counted unroutable.
 * - Flow control: connection.blocked is requested at login; while blocked
 *   the lane publishes nothing (a publish would block forever: docs/client-libraries.md §1.5), and
 * a socket that is not writable is treated the same way. Slots wait as pending; the time blocked is
 * reported.
 * - Connection loss: the slots published on the lost channel become pending
 *   again; poll() reconnects (attempts spaced 100 ms … 1 s, each bounded) and
 *   republishes them in order before anything newer. Their second copies reach
 *   the queue as duplicates when the first had made it; each republished copy
 *   carries the header EV_RMQ_REPUBLISHED_HEADER, which the verifier turns into
 *   the delivery's `redelivered` flag, so those duplicates are reported as
 *   redeliveries from retry. `republished` counts them. After
 *   reconnect_timeout without a connection poll() fails (the lane ends).
 * - Frames are only read in poll(), which the engine calls between sends and
 *   while it waits; heartbeats run inside those library calls.
 * - Writing: amqp_basic_publish makes one send() per frame (three per event)
 *   and waits forever on a full socket. flush() instead encodes the frames
 *   with the library's own encoders (amqp_encode_method/_properties) into one
 *   buffer and writes it with one send() per batch, waiting at most
 *   WRITE_STALL_NS for room; a batch is always written whole (or the
 *   connection given up) before the library writes again, so frames never
 *   interleave. */
#include "brokers/rabbitmq.h"

#include "ev_backoff.h"
#include "ev_buf.h"
#include "ev_cebind.h"
#include "ev_clock.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_MIN 64
#define RING_MAX ((uint64_t)1 << 22)
#define RECONNECT_MIN_NS (100 * EV_NS_PER_MS)
#define RECONNECT_MAX_NS (1 * EV_NS_PER_S)
#define RECONNECT_CONNECT_NS (2 * EV_NS_PER_S)
#define FRAMES_PER_POLL 4096
#define WRITE_CHECK_BYTES 8192
#define BATCH_BYTES 65536
#define FRAME_OVERHEAD 8 /* type 1, channel 2, size 4, frame end 1 */
#define WRITE_STALL_NS (10 * EV_NS_PER_S)
/* A zero-timeout poll (the engine's, after every send) reads the socket only
 * every IDLE_POLL_READS calls, unless the library holds data already: confirms
 * come with `multiple`, so reading them in batches loses nothing and saves a
 * recv() per event. */
#define IDLE_POLL_READS 8

enum { S_FREE = 0, S_PENDING, S_SENT };

typedef struct slot {
    uint64_t seq, tag; /* tag on channel generation gen; 0 while pending */
    uint32_t gen;
    uint8_t state, sent_before, returned, binary;
    int64_t deadline; /* confirm timeout, monotonic */
    ev_buf body;
    ev_buf hstore; /* header names (AMQP binding prefix + attr) and values */
    amqp_table_entry_t hdr[EV_CE_MAX_ATTRS + 2]; /* + the republished mark, traceparent */
    char trace[EV_TRACEPARENT_LEN + 1];          /* "" when none */
    size_t nhdr;
    char ct[96];
} slot;

struct ev_pub {
    ev_rmq *m;
    const ev_run_info *ri;
    uint32_t lane;
    amqp_connection_state_t conn;
    uint32_t gen; /* channel generation: +1 per connection */
    slot *ring;
    uint64_t *tag2abs;
    uint64_t cap, mask, head, tail, next_pub; /* absolute slot numbers */
    uint64_t last_tag, conf_lo;
    int blocked;
    int64_t blocked_since;
    ev_backoff rc;       /* the reconnect schedule */
    char why[600];       /* the last reason the connection went away */
    size_t unchecked;    /* bytes published since the socket was last seen writable */
    ev_buf wbuf;         /* the batch being written */
    int fatal;           /* out of memory while encoding: poll() fails the lane */
    uint32_t idle_polls; /* zero-timeout polls since frames were last read */
    ev_rmq_pub_stats st;
};

static slot *at(ev_pub *p, uint64_t abs)
{
    return &p->ring[abs & p->mask];
}

static int ring_init(ev_pub *p, uint64_t want)
{
    uint64_t cap = RING_MIN;
    while (cap < want)
        cap <<= 1;
    p->ring = calloc(cap, sizeof *p->ring);
    p->tag2abs = calloc(cap, sizeof *p->tag2abs);
    if (!p->ring || !p->tag2abs)
        return -1;
    p->cap = cap;
    p->mask = cap - 1;
    return 0;
}

/* Doubles the ring, keeping every live slot at its absolute number. */
static int ring_grow(ev_pub *p)
{
    uint64_t cap = p->cap * 2;
    if (cap > RING_MAX)
        return -1;
    slot *r = calloc(cap, sizeof *r);
    uint64_t *t = calloc(cap, sizeof *t);
    if (!r || !t) {
        free(r);
        free(t);
        return -1;
    }
    uint64_t mask = cap - 1;
    for (uint64_t i = 0; i < p->cap; i++) {
        uint64_t abs = p->head + i; /* every old position maps to one abs in [head, head+cap) */
        slot *s = &p->ring[abs & p->mask];
        r[abs & mask] = *s;
        if (s->state == S_SENT && s->gen == p->gen)
            t[s->tag & mask] = abs;
    }
    free(p->ring);
    free(p->tag2abs);
    p->ring = r;
    p->tag2abs = t;
    p->cap = cap;
    p->mask = mask;
    return 0;
}

static void set_down(ev_pub *p, const char *why)
{
    int64_t now = ev_mono_ns();
    if (p->conn)
        amqp_destroy_connection(p->conn);
    p->conn = NULL;
    snprintf(p->why, sizeof p->why, "%s", why);
    if (p->blocked) {
        p->st.blocked_ns += now - p->blocked_since;
        p->blocked = 0;
        atomic_fetch_sub(&p->m->lanes_blocked, 1);
    }
    /* Whatever was published on the lost channel is unsettled: publish again. */
    for (uint64_t a = p->head; a < p->tail; a++) {
        slot *s = at(p, a);
        if (s->state == S_SENT) {
            s->state = S_PENDING;
            s->tag = 0;
        }
    }
    p->next_pub = p->head;
    p->last_tag = 0;
    p->conf_lo = 1;
    p->gen++;
    ev_backoff_down(&p->rc, now);
    atomic_fetch_add(&p->m->lanes_down, 1);
}

/* Opens the connection and confirm mode. 0 on success, else EV_E* in err. */
static int pub_connect(ev_pub *p, int64_t timeout_ns, ev_err *err)
{
    char why[256];
    int rc = ev_rmq_connect(&p->m->c, timeout_ns, &p->conn, err);
    if (rc)
        return rc;
    amqp_confirm_select(p->conn, EV_RMQ_CHANNEL);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(p->conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        ev_rmq_reply_str(r, why, sizeof why); /* before the connection's memory goes */
        ev_rmq_close(p->conn, 0);
        p->conn = NULL;
        return ev_err_set(err, EV_ECONNECT, "target %s: confirm.select failed: %s",
                          p->m->c.redacted, why);
    }
    p->last_tag = 0;
    p->conf_lo = 1;
    return EV_OK;
}

/* While down: one bounded attempt when due. -1 (err set) once the connection
 * has been down longer than reconnect_timeout. */
static int pub_reconnect(ev_pub *p, ev_err *err)
{
    if (!ev_backoff_due(&p->rc, ev_mono_ns()))
        return 0;
    ev_err e2;
    int64_t t = p->m->c.connect_timeout_ns < RECONNECT_CONNECT_NS ? p->m->c.connect_timeout_ns
                                                                  : RECONNECT_CONNECT_NS;
    if (pub_connect(p, t, &e2)) {
        snprintf(p->why, sizeof p->why, "%s", e2.msg);
        if (ev_backoff_failed(&p->rc, ev_mono_ns()) < 0)
            return ev_err_set(err, EV_ECONNECT,
                              "target %s: lane %" PRIu32 " lost its connection (%s) and could not "
                              "reconnect within %.0f s",
                              p->m->c.redacted, p->lane, p->why,
                              (double)p->m->c.reconnect_timeout_ns / 1e9),
                   -1;
        return 0;
    }
    p->st.reconnects++;
    p->st.down_ns += ev_backoff_up(&p->rc, ev_mono_ns());
    atomic_fetch_sub(&p->m->lanes_down, 1);
    return 0;
}

static int writable(amqp_connection_state_t conn)
{
    struct pollfd pf = {.fd = amqp_get_sockfd(conn), .events = POLLOUT};
    return poll(&pf, 1, 0) == 1 && (pf.revents & POLLOUT);
}

static void put16(char *b, uint16_t v)
{
    b[0] = (char)(v >> 8);
    b[1] = (char)v;
}
static void put32(char *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}
static void put64(char *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b + 4, (uint32_t)v);
}

/* Appends one basic.publish (method, content header and body frames) to out,
 * encoded as rabbitmq-c's own amqp_send_frame would: 0, or -1 (out of memory
 * or properties too large to encode). */
static int encode_publish(ev_pub *p, const slot *s, const amqp_basic_properties_t *props,
                          ev_buf *out)
{
    const ev_rmq_cfg *c = &p->m->c;
    size_t fmax = (size_t)amqp_get_frame_max(p->conn);
    if (fmax < 4096)
        fmax = 4096;
    /* Method frame: type, channel, size, method id, arguments, frame end. */
    size_t cap = 64 + strlen(c->exchange) + strlen(c->routing_key);
    if (ev_buf_reserve(out, FRAME_OVERHEAD + 4 + cap))
        return -1;
    char *f = out->p + out->len;
    amqp_basic_publish_t m = {.ticket = 0,
                              .exchange = amqp_cstring_bytes(c->exchange),
                              .routing_key = amqp_cstring_bytes(c->routing_key),
                              .mandatory = (amqp_boolean_t)c->mandatory,
                              .immediate = 0};
    int r = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m,
                               (amqp_bytes_t){.len = cap, .bytes = f + 11});
    if (r < 0)
        return -1;
    f[0] = AMQP_FRAME_METHOD;
    put16(f + 1, EV_RMQ_CHANNEL);
    put32(f + 3, (uint32_t)r + 4);
    put32(f + 7, AMQP_BASIC_PUBLISH_METHOD);
    f[11 + r] = (char)AMQP_FRAME_END;
    out->len += FRAME_OVERHEAD + 4 + (size_t)r;
    /* Content header frame: class, weight, body size, flags + properties. */
    cap = 512 + 2 * s->hstore.len + 32 * (s->nhdr + 1);
    if (ev_buf_reserve(out, FRAME_OVERHEAD + 12 + cap))
        return -1;
    f = out->p + out->len;
    r = amqp_encode_properties(AMQP_BASIC_CLASS, (void *)(uintptr_t)props,
                               (amqp_bytes_t){.len = cap, .bytes = f + 19});
    if (r < 0)
        return -1;
    f[0] = AMQP_FRAME_HEADER;
    put16(f + 1, EV_RMQ_CHANNEL);
    put32(f + 3, (uint32_t)r + 12);
    put16(f + 7, AMQP_BASIC_CLASS);
    put16(f + 9, 0);
    put64(f + 11, s->body.len);
    f[19 + r] = (char)AMQP_FRAME_END;
    out->len += FRAME_OVERHEAD + 12 + (size_t)r;
    /* Body frames of at most frame_max bytes each. */
    size_t chunk = fmax - FRAME_OVERHEAD;
    for (size_t off = 0; off < s->body.len; off += chunk) {
        size_t n = s->body.len - off < chunk ? s->body.len - off : chunk;
        if (ev_buf_reserve(out, FRAME_OVERHEAD + n))
            return -1;
        f = out->p + out->len;
        f[0] = AMQP_FRAME_BODY;
        put16(f + 1, EV_RMQ_CHANNEL);
        put32(f + 3, (uint32_t)n);
        memcpy(f + 7, s->body.p + off, n);
        f[7 + n] = (char)AMQP_FRAME_END;
        out->len += FRAME_OVERHEAD + n;
    }
    return 0;
}

/* Writes the whole batch on the connection's socket, waiting (bounded) while
 * the socket is full. It must finish or give up the connection: a partial
 * frame left behind would corrupt the stream the library writes next. */
static int write_all(ev_pub *p, const char *b, size_t len, char *why, size_t whysize)
{
    int fd = amqp_get_sockfd(p->conn);
    int64_t deadline = ev_mono_ns() + WRITE_STALL_NS;
    while (len) {
        ssize_t w = send(fd, b, len, MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t left = deadline - ev_mono_ns();
            if (left <= 0) {
                snprintf(why, whysize, "the socket accepted nothing for %.0f s",
                         (double)WRITE_STALL_NS / 1e9);
                return -1;
            }
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, left > 100 * EV_NS_PER_MS ? 100 : (int)(left / EV_NS_PER_MS) + 1);
            continue;
        }
        snprintf(why, whysize, "send: %s", w < 0 ? strerror(errno) : "closed");
        return -1;
    }
    return 0;
}

/* Publishes pending slots in order while the connection takes them: encoded
 * here into one buffer and written with one send() per batch, where
 * amqp_basic_publish would make three per event (method, header, body). */
static void flush(ev_pub *p)
{
    const ev_rmq_cfg *c = &p->m->c;
    if (p->next_pub < p->head)
        p->next_pub = p->head;
    while (p->conn && !p->blocked && !p->fatal && p->next_pub < p->tail) {
        /* One poll() per ~8 KiB: the kernel says writable only with a good
         * part of the send buffer free, so a batch rarely has to wait. */
        if (p->unchecked >= WRITE_CHECK_BYTES) {
            if (!writable(p->conn)) {
                p->st.not_writable++;
                return;
            }
            p->unchecked = 0;
        }
        ev_buf_reset(&p->wbuf);
        uint64_t a = p->next_pub;
        for (; a < p->tail && p->wbuf.len < BATCH_BYTES; a++) {
            slot *s = at(p, a);
            if (s->state != S_PENDING)
                continue;
            char id[EV_RUN_ID_MAX + 64];
            snprintf(id, sizeof id, "%s-%" PRIu32 "-%" PRIu32 "-%" PRIu64, p->ri->run_id,
                     p->ri->instance, p->lane, s->seq);
            amqp_basic_properties_t props;
            memset(&props, 0, sizeof props);
            props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
            props.content_type = amqp_cstring_bytes(s->ct);
            props.message_id = amqp_cstring_bytes(id);
            if (c->persistent) {
                props._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
                props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
            }
            size_t nh = s->nhdr;
            if (s->sent_before) {
                /* A republished copy says so: the verifier feeds it to the
                 * ledger as a redelivery, so a duplicate it causes is
                 * reported as one from retry, not as an anomaly. */
                amqp_table_entry_t *e = &s->hdr[nh++];
                memset(e, 0, sizeof *e);
                e->key = amqp_cstring_bytes(EV_RMQ_REPUBLISHED_HEADER);
                e->value.kind = AMQP_FIELD_KIND_UTF8;
                e->value.value.bytes = amqp_cstring_bytes("1");
            }
            if (s->trace[0]) {
                amqp_table_entry_t *e = &s->hdr[nh++];
                memset(e, 0, sizeof *e);
                e->key = amqp_cstring_bytes("traceparent");
                e->value.kind = AMQP_FIELD_KIND_UTF8;
                e->value.value.bytes = amqp_cstring_bytes(s->trace);
            }
            if (nh) {
                props._flags |= AMQP_BASIC_HEADERS_FLAG;
                props.headers = (amqp_table_t){.num_entries = (int)nh, .entries = s->hdr};
            }
            size_t before = p->wbuf.len;
            if (encode_publish(p, s, &props, &p->wbuf)) {
                /* Only out of memory (the buffers are sized from the slot):
                 * the lane cannot go on. */
                p->wbuf.len = before;
                p->fatal = 1;
                break;
            }
            /* Tagged (and counted as sent) before the write: if the write
             * fails half way, the broker may have some of it, so a resend
             * must be marked as a republish. */
            s->tag = ++p->last_tag;
            s->gen = p->gen;
            s->state = S_SENT;
            s->returned = 0;
            p->tag2abs[s->tag & p->mask] = a;
            if (s->sent_before)
                p->st.republished++;
            s->sent_before = 1;
            p->st.published++;
        }
        p->next_pub = a;
        if (!p->wbuf.len)
            continue;
        p->unchecked += p->wbuf.len;
        char why[160];
        if (write_all(p, p->wbuf.p, p->wbuf.len, why, sizeof why)) {
            set_down(p, why);
            return;
        }
    }
}

/* The slot published with tag t on the current channel and not yet settled. */
static slot *by_tag(ev_pub *p, uint64_t t)
{
    if (t == 0 || t > p->last_tag)
        return NULL;
    uint64_t abs = p->tag2abs[t & p->mask];
    if (abs < p->head || abs >= p->tail)
        return NULL;
    slot *s = at(p, abs);
    return s->state == S_SENT && s->gen == p->gen && s->tag == t ? s : NULL;
}

static int settle(ev_pub *p, slot *s, int ok, ev_outcome_fn fn, void *ud)
{
    if (ok && !s->returned) {
        p->st.confirmed++;
        fn(ud, s->seq, 1);
    } else {
        if (!ok)
            p->st.nacked++;
        else
            p->st.unroutable++;
        fn(ud, s->seq, 0);
    }
    s->state = S_FREE;
    return 1;
}

static int on_confirm(ev_pub *p, uint64_t tag, int multiple, int ok, ev_outcome_fn fn, void *ud)
{
    int n = 0;
    if (multiple) {
        for (uint64_t t = p->conf_lo; t <= tag && t <= p->last_tag; t++) {
            slot *s = by_tag(p, t);
            if (s)
                n += settle(p, s, ok, fn, ud);
        }
        if (tag >= p->conf_lo)
            p->conf_lo = tag + 1;
    } else {
        slot *s = by_tag(p, tag);
        if (s)
            n += settle(p, s, ok, fn, ud);
    }
    while (p->conf_lo <= p->last_tag && !by_tag(p, p->conf_lo))
        p->conf_lo++;
    return n;
}

/* basic.return: reads the returned message and marks its slot. */
static int on_return(ev_pub *p, amqp_channel_t ch)
{
    amqp_message_t msg;
    amqp_rpc_reply_t r = amqp_read_message(p->conn, ch, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return -1;
    uint64_t seq = 0;
    if (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        const char *b = msg.properties.message_id.bytes;
        size_t len = msg.properties.message_id.len, i = len;
        while (i > 0 && b[i - 1] >= '0' && b[i - 1] <= '9')
            i--;
        for (; i < len && seq < UINT64_MAX / 10; i++)
            seq = seq * 10 + (uint64_t)(b[i] - '0');
    }
    amqp_destroy_message(&msg);
    /* Slots are in seq order: binary search among the live ones. */
    uint64_t lo = p->head, hi = p->tail;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (at(p, mid)->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->tail && at(p, lo)->seq == seq && at(p, lo)->state == S_SENT)
        at(p, lo)->returned = 1;
    return 0;
}

/* Handles one frame. Returns outcomes reported, or -1 for a fatal error (err set). */
static int on_frame(ev_pub *p, const amqp_frame_t *f, ev_outcome_fn fn, void *ud, ev_err *err)
{
    if (f->frame_type != AMQP_FRAME_METHOD)
        return 0;
    int64_t now = ev_mono_ns();
    switch (f->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *a = f->payload.method.decoded;
        return on_confirm(p, a->delivery_tag, a->multiple, 1, fn, ud);
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *a = f->payload.method.decoded;
        return on_confirm(p, a->delivery_tag, a->multiple, 0, fn, ud);
    }
    case AMQP_BASIC_RETURN_METHOD:
        if (on_return(p, f->channel))
            set_down(p, "reading a returned message failed");
        return 0;
    case AMQP_CONNECTION_BLOCKED_METHOD:
        if (!p->blocked) {
            p->blocked = 1;
            p->blocked_since = now;
            p->st.blocked_count++;
            atomic_fetch_add(&p->m->lanes_blocked, 1);
        }
        return 0;
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        if (p->blocked) {
            p->blocked = 0;
            p->st.blocked_ns += now - p->blocked_since;
            atomic_fetch_sub(&p->m->lanes_blocked, 1);
        }
        return 0;
    case AMQP_CONNECTION_CLOSE_METHOD: {
        /* A forced close (320, e.g. broker stopping or close_all_connections):
         * say close-ok and reconnect. */
        const amqp_connection_close_t *c = f->payload.method.decoded;
        char why[200];
        snprintf(why, sizeof why, "server closed the connection: %u %.*s", c->reply_code,
                 (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(p->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        set_down(p, why);
        return 0;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        /* The broker refused something on our channel (typically 404: the
         * exchange was deleted). Retrying the same thing cannot help. */
        const amqp_channel_close_t *c = f->payload.method.decoded;
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: the broker closed lane %" PRIu32 "'s channel: %u %.*s",
                          p->m->c.redacted, p->lane, c->reply_code, (int)c->reply_text.len,
                          (const char *)c->reply_text.bytes),
               -1;
    }
    default:
        return 0;
    }
}

/* Confirm timeouts: slots are in send order, so deadlines ascend from head. */
static int expire(ev_pub *p, ev_outcome_fn fn, void *ud)
{
    int64_t now = ev_mono_ns();
    int n = 0;
    for (uint64_t a = p->head; a < p->tail; a++) {
        slot *s = at(p, a);
        if (s->state == S_FREE)
            continue;
        if (s->deadline > now)
            break;
        s->state = S_FREE;
        p->st.confirm_timeouts++;
        fn(ud, s->seq, 0);
        n++;
    }
    while (p->head < p->tail && at(p, p->head)->state == S_FREE)
        p->head++;
    return n;
}

static int rmq_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out,
                        ev_err *err)
{
    ev_rmq *m = state;
    ev_pub *p = calloc(1, sizeof *p);
    if (!p)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    p->m = m;
    p->ri = ri;
    ev_backoff_init(&p->rc, RECONNECT_MIN_NS, RECONNECT_MIN_NS, RECONNECT_MAX_NS,
                    m->c.reconnect_timeout_ns);
    p->lane = lane;
    p->gen = 1;
    uint64_t window = (uint64_t)(ri->plan->max_in_flight / (ri->lanes ? ri->lanes : 1));
    if (ring_init(p, 2 * window + 2)) {
        free(p->ring);
        free(p->tag2abs);
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    int rc = pub_connect(p, m->c.connect_timeout_ns, err);
    if (rc) {
        free(p->ring);
        free(p->tag2abs);
        free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}

/* Copies the event into a new pending slot. */
static int fill_slot(ev_pub *p, slot *s, const ev_msg *m)
{
    s->seq = m->seq;
    s->tag = 0;
    s->state = S_PENDING;
    s->sent_before = s->returned = 0;
    s->deadline = ev_mono_ns() + p->m->c.confirm_timeout_ns;
    ev_buf_reset(&s->body);
    s->nhdr = 0;
    snprintf(s->trace, sizeof s->trace, "%s", m->traceparent ? m->traceparent : "");
    if (!m->bin) {
        s->binary = 0;
        snprintf(s->ct, sizeof s->ct, "%s", EV_CE_CONTENT_TYPE);
        return ev_buf_append(&s->body, m->body, m->len);
    }
    /* Binary mode: every attribute as a string header named by the AMQP
     * binding (ev_cebind.h); datacontenttype as the content_type property. */
    char pre[16];
    const size_t plen = ev_ce_bind_header_name(EV_CE_BIND_AMQP, "", 0, pre, sizeof pre);
    s->binary = 1;
    snprintf(s->ct, sizeof s->ct, "%s",
             m->bin->content_type ? m->bin->content_type : EV_CE_DATA_CONTENT_TYPE);
    size_t total = 0, n = m->bin->nattrs < EV_CE_MAX_ATTRS ? m->bin->nattrs : EV_CE_MAX_ATTRS;
    for (size_t i = 0; i < n; i++)
        total += plen + m->bin->attrs[i].name_len + m->bin->attrs[i].value_len;
    ev_buf_reset(&s->hstore);
    if (ev_buf_reserve(&s->hstore, total))
        return -1;
    char *w = s->hstore.p;
    for (size_t i = 0; i < n; i++) {
        const ev_ce_attr *a = &m->bin->attrs[i];
        amqp_table_entry_t *e = &s->hdr[i];
        memset(e, 0, sizeof *e);
        memcpy(w, pre, plen);
        memcpy(w + plen, a->name, a->name_len);
        e->key = (amqp_bytes_t){.len = plen + a->name_len, .bytes = w};
        w += plen + a->name_len;
        memcpy(w, a->value, a->value_len);
        e->value.kind = AMQP_FIELD_KIND_UTF8;
        e->value.value.bytes = (amqp_bytes_t){.len = a->value_len, .bytes = w};
        w += a->value_len;
    }
    s->hstore.len = total;
    s->nhdr = n;
    return ev_buf_append(&s->body, m->bin->body.p, m->bin->body.len);
}

static int rmq_pub_send(ev_pub *p, const ev_msg *m, ev_err *err)
{
    if (p->tail - p->head >= p->cap && ring_grow(p))
        return ev_err_set(err, EV_EINTERNAL, "out of memory (rabbitmq publisher ring)");
    slot *s = at(p, p->tail);
    if (fill_slot(p, s, m)) {
        s->state = S_FREE;
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    p->tail++;
    /* Written by the engine's next poll (before any wait, at least every 16
     * sends: broker.h), so back-to-back events share one write. */
    if (p->tail - p->next_pub >= 64)
        flush(p);
    return EV_OK;
}

static int rmq_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    int64_t deadline = ev_mono_ns() + timeout_ns;
    int n = 0;
    for (;;) {
        if (p->fatal)
            return ev_err_set(err, EV_EINTERNAL, "out of memory encoding a publish"), -1;
        if (!p->conn && pub_reconnect(p, err) < 0)
            return -1;
        if (p->conn && timeout_ns <= 0 && ++p->idle_polls < IDLE_POLL_READS &&
            !amqp_frames_enqueued(p->conn) && !amqp_data_in_buffer(p->conn)) {
            flush(p);
            n += expire(p, fn, ud);
            break;
        }
        if (p->conn) {
            p->idle_polls = 0;
            flush(p);
            for (int i = 0; p->conn && i < FRAMES_PER_POLL; i++) {
                int64_t left = n > 0 || i > 0 ? 0 : deadline - ev_mono_ns();
                /* The wait is ours: rabbitmq-c 0.11 recomputes its poll()
                 * timeout in whole milliseconds rounded down, so a 1 ms wait
                 * became poll(0) calls in a loop (a core spinning for every
                 * lane whose window was full). */
                if (left > 0 && !amqp_frames_enqueued(p->conn) && !amqp_data_in_buffer(p->conn)) {
                    struct pollfd pf = {.fd = amqp_get_sockfd(p->conn), .events = POLLIN};
                    if (poll(&pf, 1, (int)((left + EV_NS_PER_MS - 1) / EV_NS_PER_MS)) == 0)
                        break;
                    left = 0;
                }
                struct timeval tv = ev_rmq_tv(left);
                amqp_frame_t f;
                int st = amqp_simple_wait_frame_noblock(p->conn, &f, &tv);
                if (st == AMQP_STATUS_TIMEOUT)
                    break;
                if (st != AMQP_STATUS_OK) {
                    char why[160];
                    snprintf(why, sizeof why, "%s", amqp_error_string2(st));
                    set_down(p, why);
                    break;
                }
                int r = on_frame(p, &f, fn, ud, err);
                if (r < 0)
                    return -1;
                n += r;
            }
            if (p->conn) {
                amqp_maybe_release_buffers(p->conn);
                flush(p);
            }
        }
        n += expire(p, fn, ud);
        int64_t now = ev_mono_ns();
        if (n > 0 || now >= deadline)
            break;
        if (!p->conn)
            ev_sleep_until(ev_backoff_wake(&p->rc, deadline), p->ri->stop);
    }
    return n;
}

static void rmq_pub_close(ev_pub *p)
{
    if (!p)
        return;
    int64_t now = ev_mono_ns();
    if (p->blocked) {
        p->st.blocked_ns += now - p->blocked_since;
        atomic_fetch_sub(&p->m->lanes_blocked, 1);
    }
    if (!p->conn) {
        p->st.down_ns += ev_backoff_up(&p->rc, now);
        atomic_fetch_sub(&p->m->lanes_down, 1);
    }
    ev_rmq_close(p->conn, 1);
    ev_rmq_add_pub(p->m, &p->st);
    for (uint64_t i = 0; i < p->cap; i++) {
        ev_buf_free(&p->ring[i].body);
        ev_buf_free(&p->ring[i].hstore);
    }
    ev_buf_free(&p->wbuf);
    free(p->ring);
    free(p->tag2abs);
    free(p);
}

const ev_pub_ops ev_rmq_pub_ops = {
    .open = rmq_pub_open,
    .send = rmq_pub_send,
    .poll = rmq_pub_poll,
    .close = rmq_pub_close,
};
