/* redis_pubsub publisher — one connection per lane, pipelined PUBLISH.
 *
 * Design notes.
 * - send() appends the RESP command to the lane's output buffer and the
 *   sequence to a FIFO; poll() writes (non-blocking) and reads the replies.
 *   Replies come back in command order, so each one belongs to the FIFO's
 *   head. The engine bounds the FIFO with its window (max_in_flight / lanes).
 * - Batching without added latency: poll(0) writes at once when nothing
 *   written is still awaiting a reply (low rates: every event leaves at once),
 *   and otherwise waits until 256 events or 128 KiB are pending or the oldest
 *   pending one is 50 µs old — the replies of the earlier batch bring the next
 *   poll soon anyway. poll(t > 0) always writes. That is what redis-benchmark
 *   -P does, driven by the schedule instead of a fixed depth.
 * - A reply is an integer: the number of subscribers that received the event
 *   (outcome ok, and ground truth: groups − reply is the lane's shortfall), or
 *   an error (outcome failed).
 * - A lost connection fails every event in the FIFO (their replies never came:
 *   unconfirmed, or recovered if a subscriber saw them anyway), then the lane
 *   reconnects, retrying for up to reconnect_timeout before giving up (poll
 *   returns -1 and the engine ends the lane). */
#include "brokers/redis_pubsub.h"

#include "ev_backoff.h"
#include "ev_buf.h"
#include "ev_clock.h"
#include "ev_seqq.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH_EVENTS 256
#define BATCH_BYTES (128 * 1024)
#define BATCH_AGE_NS (50 * EV_NS_PER_US)
#define RETRY_NS (100 * EV_NS_PER_MS)

struct ev_pub {
    ev_redis *r;
    uint32_t lane;
    redisContext *c;
    char role[32];
    ev_buf prefix; /* "*3\r\n$7\r\nPUBLISH\r\n$<n>\r\n<channel>\r\n" */
    ev_buf out;    /* RESP bytes not yet written start at out_off */
    size_t out_off;
    ev_seqq q;        /* in-flight seqs, oldest first */
    size_t unflushed; /* events appended since the buffer was last fully written */
    int64_t first_unflushed_ns, last_read_ns;
    int broken; /* the connection failed; handled by the next poll */
    char why[128];
    ev_redis_pubtruth t;
    ev_redis_in in;
};

static void set_window(ev_pub *p)
{
    atomic_store_explicit(&p->r->slots[p->lane].in_flight, (int64_t)p->q.n, memory_order_relaxed);
}

static int pub_connect(ev_pub *p, ev_err *err)
{
    int rc = ev_redis_connect(p->r, p->role, &p->c, err);
    if (rc)
        return rc;
    if (ev_redis_nonblock(p->c)) {
        redisFree(p->c);
        p->c = NULL;
        return ev_err_set(err, EV_ECONNECT, "redis %s: cannot make the socket non-blocking",
                          p->r->conf.redacted);
    }
    p->c->reader->maxbuf = 0; /* keep the read buffer: no shrink/regrow per batch */
    p->in.pos = p->in.len = 0;
    return EV_OK;
}

static int redis_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out,
                          ev_err *err)
{
    ev_redis *r = state;
    ev_pub *p = calloc(1, sizeof *p);
    if (!p)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    p->r = r;
    p->lane = lane;
    snprintf(p->role, sizeof p->role, "pub%u", lane);
    size_t cl = strlen(r->conf.channel);
    if (ev_buf_puts(&p->prefix, "*3\r\n$7\r\nPUBLISH\r\n$") || ev_buf_putu64(&p->prefix, cl) ||
        ev_buf_puts(&p->prefix, "\r\n") || ev_buf_append(&p->prefix, r->conf.channel, cl) ||
        ev_buf_puts(&p->prefix, "\r\n$")) {
        ev_buf_free(&p->prefix);
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    int rc = pub_connect(p, err);
    if (rc) {
        ev_buf_free(&p->prefix);
        free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}

static void mark_broken(ev_pub *p, const char *what)
{
    if (!p->broken)
        snprintf(p->why, sizeof p->why, "%s", what);
    p->broken = 1;
}

/* Writes what it can without blocking. */
static void flush_out(ev_pub *p)
{
    while (!p->broken && p->out_off < p->out.len) {
        ssize_t w = send(p->c->fd, p->out.p + p->out_off, p->out.len - p->out_off, MSG_NOSIGNAL);
        if (w > 0) {
            p->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        mark_broken(p, w < 0 ? strerror(errno) : "write returned 0");
        return;
    }
    if (p->out_off == p->out.len) {
        ev_buf_reset(&p->out);
        p->out_off = 0;
        p->unflushed = 0;
    }
}

static int redis_pub_send(ev_pub *p, const ev_msg *m, ev_err *err)
{
    if (p->out_off > (1u << 20) && p->out_off * 2 > p->out.len) {
        memmove(p->out.p, p->out.p + p->out_off, p->out.len - p->out_off);
        p->out.len -= p->out_off;
        p->out_off = 0;
    }
    size_t before = p->out.len;
    if (ev_seqq_push(&p->q, m->seq))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    if (ev_buf_append(&p->out, p->prefix.p, p->prefix.len) || ev_buf_putu64(&p->out, m->len) ||
        ev_buf_puts(&p->out, "\r\n") || ev_buf_append(&p->out, m->body, m->len) ||
        ev_buf_puts(&p->out, "\r\n")) {
        p->out.len = before;
        ev_seqq_unpush(&p->q);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    p->t.bytes += m->len;
    if (!p->unflushed++)
        p->first_unflushed_ns = ev_mono_ns();
    set_window(p);
    if (p->out.len - p->out_off >= 4 * BATCH_BYTES)
        flush_out(p); /* never let the buffer grow without bound between polls */
    return EV_OK;
}

/* Handles one reply for the FIFO's head. 0, or -1 on a reply that is not
 * PUBLISH's (a protocol error: the connection is then treated as broken). */
static int on_reply(ev_pub *p, redisReply *rep, ev_outcome_fn fn, void *ud)
{
    if (!p->q.n || (rep->type != REDIS_REPLY_INTEGER && rep->type != REDIS_REPLY_ERROR)) {
        mark_broken(p, "unexpected reply to PUBLISH");
        return -1;
    }
    uint64_t seq = ev_seqq_pop(&p->q);
    if (rep->type == REDIS_REPLY_ERROR) {
        p->t.errors++;
        pthread_mutex_lock(&p->r->mu);
        snprintf(p->r->pub_last_error, sizeof p->r->pub_last_error, "%.120s", rep->str);
        pthread_mutex_unlock(&p->r->mu);
        fn(ud, seq, 0);
        return 0;
    }
    long long got = rep->integer, want = p->r->groups;
    p->t.replies++;
    if (got < want)
        p->t.shortfall += (uint64_t)(want - got);
    else if (got > want)
        p->t.excess += (uint64_t)(got - want);
    if (got == 0)
        p->t.zero++;
    p->t.receivers[got < EV_REDIS_RECV_BUCKETS - 1 ? (got < 0 ? 0 : got)
                                                   : EV_REDIS_RECV_BUCKETS - 1]++;
    fn(ud, seq, 1);
    return 0;
}

/* Reads and hands over every reply available now. Returns how many. */
static int drain_replies(ev_pub *p, ev_outcome_fn fn, void *ud)
{
    int n = 0;
    for (;;) {
        void *rep = NULL;
        int g = ev_redis_get(p->c, &p->in, &rep);
        if (g < 0) {
            mark_broken(p, "protocol error in a reply");
            return n;
        }
        if (!g) {
            int rc = ev_redis_fill(p->c, &p->in);
            if (rc == 1)
                continue;
            if (rc == -1)
                mark_broken(p, "server closed the connection");
            else if (rc == -2)
                mark_broken(p, strerror(errno));
            return n;
        }
        int bad = on_reply(p, rep, fn, ud);
        freeReplyObject(rep);
        if (bad)
            return n;
        n++;
    }
}

/* The connection failed: fail what is in flight, then reconnect (bounded). */
static int recover(ev_pub *p, ev_outcome_fn fn, void *ud, int *reported, ev_err *err)
{
    ev_redis *r = p->r;
    p->t.disconnects++;
    pthread_mutex_lock(&r->mu);
    snprintf(r->pub_last_error, sizeof r->pub_last_error, "lane %u: %.100s", p->lane, p->why);
    pthread_mutex_unlock(&r->mu);
    while (p->q.n) {
        fn(ud, ev_seqq_pop(&p->q), 0);
        (*reported)++;
    }
    set_window(p);
    ev_buf_reset(&p->out);
    p->out_off = 0;
    p->unflushed = 0;
    redisFree(p->c);
    p->c = NULL;
    /* At once, then every RETRY_NS, for up to reconnect_timeout. */
    ev_backoff b;
    ev_backoff_init(&b, 0, RETRY_NS, RETRY_NS, r->conf.reconnect_timeout_ns);
    ev_backoff_down(&b, ev_mono_ns());
    for (;;) {
        ev_sleep_until(b.next_attempt, NULL);
        ev_err e2;
        if (pub_connect(p, &e2) == EV_OK)
            break;
        if (ev_backoff_failed(&b, ev_mono_ns()) < 0)
            return ev_err_set(err, EV_ECONNECT,
                              "redis %s: publisher lane %u lost its connection (%s) and could "
                              "not reconnect within the reconnect_timeout: %s",
                              r->conf.redacted, p->lane, p->why, e2.msg);
    }
    ev_backoff_up(&b, ev_mono_ns());
    p->t.reconnects++;
    p->broken = 0;
    return EV_OK;
}

static int redis_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    int reported = 0;
    int64_t now = ev_mono_ns(), deadline = now + timeout_ns;
    for (int round = 0;; round++) {
        if (p->broken) {
            if (recover(p, fn, ud, &reported, err))
                return -1;
            return reported;
        }
        /* poll(0) reads at most every BATCH_AGE_NS: one read() per event
         * would cost more than the PUBLISH itself at high rates. */
        if (p->q.n && (timeout_ns > 0 || round > 0 || now - p->last_read_ns >= BATCH_AGE_NS)) {
            p->last_read_ns = now;
            reported += drain_replies(p, fn, ud);
        }
        if (p->broken)
            continue;
        size_t pending = p->out.len - p->out_off;
        if (pending && (timeout_ns > 0 || p->unflushed >= BATCH_EVENTS || pending >= BATCH_BYTES ||
                        p->q.n == p->unflushed || now - p->first_unflushed_ns >= BATCH_AGE_NS))
            flush_out(p);
        if (p->broken)
            continue;
        set_window(p);
        if (reported || timeout_ns <= 0 || (round > 0 && now >= deadline))
            return reported;
        if (!p->q.n)
            return reported; /* nothing to wait for */
        short ev = POLLIN | (p->out_off < p->out.len ? POLLOUT : 0);
        if (ev_redis_wait(p->c->fd, ev, deadline - now) < 0) {
            mark_broken(p, strerror(errno));
            continue;
        }
        now = ev_mono_ns();
        if (now >= deadline)
            deadline = now; /* one more round to collect, then return */
    }
}

static void redis_pub_close(ev_pub *p)
{
    if (!p)
        return;
    p->t.unanswered += p->q.n;
    p->q.n = 0;
    set_window(p);
    ev_redis *r = p->r;
    pthread_mutex_lock(&r->mu);
    ev_redis_pubtruth *t = &r->pt;
    t->replies += p->t.replies;
    t->shortfall += p->t.shortfall;
    t->excess += p->t.excess;
    t->zero += p->t.zero;
    t->errors += p->t.errors;
    t->unanswered += p->t.unanswered;
    t->disconnects += p->t.disconnects;
    t->reconnects += p->t.reconnects;
    t->bytes += p->t.bytes;
    for (int i = 0; i < EV_REDIS_RECV_BUCKETS; i++)
        t->receivers[i] += p->t.receivers[i];
    pthread_mutex_unlock(&r->mu);
    redisFree(p->c);
    ev_buf_free(&p->prefix);
    ev_buf_free(&p->out);
    ev_seqq_free(&p->q);
    free(p);
}

const ev_pub_ops ev_redis_pub_ops = {
    .open = redis_pub_open,
    .send = redis_pub_send,
    .poll = redis_pub_poll,
    .close = redis_pub_close,
};
