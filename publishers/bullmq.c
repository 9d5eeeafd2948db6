/* bullmq publisher — adds one standard BullMQ job per event with evload's own
 * "add" script (src/brokers/bullmq.c), pipelined on the lane's own connection.
 *
 * Design note. send() only appends an EVALSHA to the context's output buffer
 * and remembers the event's seq in a FIFO; poll() writes the buffer out and
 * reads the replies that have arrived (Redis answers in order, so the FIFO
 * head is the reply's seq). The engine bounds what is in flight to the lane's
 * window (max_in_flight / lanes), which is therefore the pipeline depth.
 * Replies are read through poll() on the socket and only when it is readable,
 * so the socket timeout (a read timeout breaks a hiredis 0.14 context for
 * good) never fires on a slow reply; it bounds a write Redis stops taking.
 * Small sends are coalesced: poll(0) writes only when 64 commands are waiting
 * or the oldest has waited 1 ms; a waiting poll always writes.
 *
 * Each job: id = the CloudEvent id (<run>-<instance>-<lane>-<seq>, so a
 * retried add is idempotent: the script reports a duplicate and stores
 * nothing), name = the event type, data = the structured CloudEvent,
 * opts = {"attempts":N[,"removeOnComplete":…]}, timestamp = now (ms). The
 * reply is the outcome: 1 added, 2 duplicate (acknowledged too), an error
 * reply or a lost connection = failed.
 *
 * A lost connection (Redis restarting): the adds awaiting a reply have an
 * unknown outcome (Redis may have run them), so they are reported failed
 * (`unanswered`): the ledger then counts each recovered if its job is
 * delivered, unconfirmed if not, never acked. The lane reconnects on the
 * schedule of ev_backoff.h and gives up after reconnect_timeout (poll fails,
 * the lane ends). Events sent while it is down are held, as RESP text, and
 * written in order once Redis answers again (the engine's window bounds
 * them). The add script is loaded on every new connection, since a restarted
 * server has lost its script cache. */
#include "brokers/bullmq.h"

#include "ev_backoff.h"
#include "ev_clock.h"
#include "ev_seqq.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_BATCH 64
#define FLUSH_AGE_NS EV_NS_PER_MS

enum { K_WAIT, K_PAUSED, K_META, K_ID, K_EVENTS, K_MARKER, K_ACTIVE, K_JOB, NKEYS };

/* An add sent while the connection was down: its RESP text, until written. */
typedef struct held_add {
    uint64_t seq;
    char *cmd; /* redisFormatCommandArgv's */
    int len;
} held_add;

struct ev_pub {
    ev_bq *q;
    uint32_t lane;
    redisContext *c; /* NULL while down */
    char keys[NKEYS][EV_BQ_KEY_MAX];
    char idpfx[96]; /* "<run>-<instance>-<lane>-" */
    size_t idpfx_len;
    char version[4], maxlen[24];
    ev_seqq pending; /* seqs awaiting replies, oldest first */
    size_t unflushed;
    int64_t first_unflushed;
    int reload;     /* NOSCRIPT seen: load the script once the pipeline is empty */
    held_add *held; /* [hhead, hn): sent while down, oldest first */
    size_t hhead, hn, hcap;
    ev_backoff rc;
    char why[160]; /* why the connection went */
    ev_bq_counts cnt;
};

static int bq_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out, ev_err *err)
{
    ev_bq *q = state;
    ev_pub *p = calloc(1, sizeof *p);
    if (!p)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    p->q = q;
    p->lane = lane;
    static const char *const sfx[NKEYS - 1] = {"wait",   "paused", "meta",  "id",
                                               "events", "marker", "active"};
    for (int i = 0; i < NKEYS - 1; i++)
        ev_bq_key(q, sfx[i], p->keys[i]);
    p->idpfx_len = (size_t)snprintf(p->idpfx, sizeof p->idpfx, "%s-%" PRIu32 "-%" PRIu32 "-",
                                    ri->run_id, ri->instance, lane);
    snprintf(p->version, sizeof p->version, "%d", q->version);
    snprintf(p->maxlen, sizeof p->maxlen, "%" PRId64, q->max_len_events);
    ev_backoff_init(&p->rc, EV_BQ_RECONNECT_MIN_NS, EV_BQ_RECONNECT_MIN_NS, EV_BQ_RECONNECT_MAX_NS,
                    q->reconnect_timeout_ns);
    /* Replies are awaited with poll() and read only when readable, so the
     * socket timeout only bounds a write that Redis stops taking. */
    if (!(p->c = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, err))) {
        free(p);
        return EV_ECONNECT;
    }
    *out = p;
    return EV_OK;
}

/* Keeps the add of an event sent while down. 0 or -1 (out of memory). */
static int hold(ev_pub *p, uint64_t seq, char *cmd, int len)
{
    if (p->hhead == p->hn)
        p->hhead = p->hn = 0;
    if (p->hn == p->hcap) {
        if (p->hhead > 0) {
            memmove(p->held, p->held + p->hhead, (p->hn - p->hhead) * sizeof *p->held);
            p->hn -= p->hhead;
            p->hhead = 0;
        } else {
            size_t cap = p->hcap ? p->hcap * 2 : 64;
            held_add *h = realloc(p->held, cap * sizeof *h);
            if (!h)
                return -1;
            p->held = h;
            p->hcap = cap;
        }
    }
    p->held[p->hn++] = (held_add){.seq = seq, .cmd = cmd, .len = len};
    return 0;
}

static int bq_pub_send(ev_pub *p, const ev_msg *m, ev_err *err)
{
    if (!m->body)
        return ev_err_set(err, EV_EUSAGE, "bullmq: only structured events can be published");
    char id[160], ts[32];
    int idlen = snprintf(id, sizeof id, "%s%" PRIu64, p->idpfx, m->seq);
    if (idlen < 0 || (size_t)idlen >= sizeof id)
        return ev_err_set(err, EV_EINTERNAL, "bullmq: job id too long");
    ev_bq_now_ms(ts, sizeof ts);
    snprintf(p->keys[K_JOB], sizeof p->keys[K_JOB], "%s%s", p->q->base, id);
    const char *keys[NKEYS];
    for (int i = 0; i < NKEYS; i++)
        keys[i] = p->keys[i];
    const char *args[7] = {
        id, p->q->ri->plan->event_type, m->body, p->q->opts_json, ts, p->version, p->maxlen};
    size_t lens[7] = {(size_t)idlen, (size_t)-1, m->len,    (size_t)-1,
                      (size_t)-1,    (size_t)-1, (size_t)-1};
    if (!p->c) {
        char *cmd = NULL;
        int len = ev_bq_eval_format(p->q, &cmd, EV_BQ_S_ADD, NKEYS, keys, 7, args, lens);
        if (len < 0 || hold(p, m->seq, cmd, len)) {
            free(cmd);
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        }
        return EV_OK;
    }
    if (ev_seqq_push(&p->pending, m->seq))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    if (ev_bq_eval_append(p->q, p->c, EV_BQ_S_ADD, NKEYS, keys, 7, args, lens)) {
        ev_seqq_unpush(&p->pending);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    if (p->unflushed++ == 0)
        p->first_unflushed = ev_mono_ns();
    return EV_OK;
}

/* The connection failed: every add awaiting its reply is reported failed
 * (its outcome is unknown), and the lane is down. Returns how many. */
static int went_down(ev_pub *p, ev_outcome_fn fn, void *ud)
{
    snprintf(p->why, sizeof p->why, "%s", p->c->errstr[0] ? p->c->errstr : "EOF");
    int n = 0;
    while (p->pending.n) {
        fn(ud, ev_seqq_pop(&p->pending), 0);
        p->cnt.unanswered++;
        n++;
    }
    redisFree(p->c);
    p->c = NULL;
    p->unflushed = 0;
    p->reload = 0;
    ev_backoff_down(&p->rc, ev_mono_ns());
    return n;
}

/* While down: one attempt when due; on success the held adds are queued
 * for the next write. 0, or -1 (err set) when reconnect_timeout has passed. */
static int reconnect(ev_pub *p, ev_err *err)
{
    if (!ev_backoff_due(&p->rc, ev_mono_ns()))
        return 0;
    ev_err e2;
    redisContext *c = ev_bq_reconnect(p->q, EV_BQ_S_ADD, &e2);
    if (!c) {
        if (ev_backoff_failed(&p->rc, ev_mono_ns()) < 0)
            return ev_err_set(err, EV_ECONNECT,
                              "bullmq target %s: lane %" PRIu32 " lost its connection to Redis "
                              "(%s) and could not reconnect within the reconnect_timeout "
                              "(%.1f s); the last attempt: %s",
                              p->q->ri->url->redacted, p->lane, p->why,
                              (double)p->q->reconnect_timeout_ns / 1e9,
                              ev_bq_err_detail(p->q, e2.msg)),
                   -1;
        return 0;
    }
    p->c = c;
    p->cnt.down_ns += ev_backoff_up(&p->rc, ev_mono_ns());
    p->cnt.pub_reconnects++;
    for (; p->hhead < p->hn; p->hhead++) {
        held_add *h = &p->held[p->hhead];
        if (ev_seqq_push(&p->pending, h->seq) ||
            redisAppendFormattedCommand(c, h->cmd, (size_t)h->len) != REDIS_OK)
            return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
        free(h->cmd);
        h->cmd = NULL;
        if (p->unflushed++ == 0)
            p->first_unflushed = ev_mono_ns();
    }
    return 0;
}

/* Writes the output buffer. 0, or -1 when the connection failed. */
static int flush(ev_pub *p)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(p->c, &done) != REDIS_OK)
            return -1;
    p->unflushed = 0;
    return 0;
}

static int bq_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    int64_t now = ev_mono_ns();
    int64_t deadline = now + timeout_ns;
    int reported = 0;
    if (!p->c) {
        if (reconnect(p, err))
            return -1;
        if (!p->c) {
            ev_sleep_until(ev_backoff_wake(&p->rc, deadline), p->q->ri->stop);
            return 0;
        }
    }
    if (p->unflushed &&
        (timeout_ns > 0 || p->unflushed >= FLUSH_BATCH || now - p->first_unflushed >= FLUSH_AGE_NS))
        if (flush(p))
            return went_down(p, fn, ud);
    while (p->pending.n > p->unflushed) {
        void *rv = NULL;
        if (redisGetReplyFromReader(p->c, &rv) != REDIS_OK)
            return reported + went_down(p, fn, ud);
        if (rv) {
            redisReply *r = rv;
            uint64_t seq = ev_seqq_pop(&p->pending);
            int ok = r->type == REDIS_REPLY_INTEGER && (r->integer == 1 || r->integer == 2);
            if (ok && r->integer == 1)
                p->cnt.added++;
            else if (ok)
                p->cnt.duplicates++;
            else {
                p->cnt.add_errors++;
                if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
                    p->reload = 1;
            }
            freeReplyObject(r);
            fn(ud, seq, ok);
            reported++;
            continue;
        }
        int64_t left = reported ? 0 : deadline - ev_mono_ns();
        struct pollfd pfd = {.fd = p->c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, left > 0 ? (int)((left + EV_NS_PER_MS - 1) / EV_NS_PER_MS) : 0);
        if (pr <= 0)
            break;
        if (redisBufferRead(p->c) != REDIS_OK)
            return reported + went_down(p, fn, ud);
    }
    if (p->reload && p->pending.n == 0) {
        /* The server lost its scripts: load the add script again (the
         * failed adds were reported; the engine counts them). */
        redisReply *r = redisCommand(p->c, "SCRIPT LOAD %s", ev_bq_script(EV_BQ_S_ADD));
        if (!r)
            return reported + went_down(p, fn, ud);
        freeReplyObject(r);
        p->reload = 0;
    }
    return reported;
}

static void bq_pub_close(ev_pub *p)
{
    if (!p)
        return;
    if (!p->c)
        p->cnt.down_ns += ev_backoff_up(&p->rc, ev_mono_ns());
    ev_bq_add_counts(p->q, &p->cnt, NULL, NULL);
    redisFree(p->c);
    for (size_t i = p->hhead; i < p->hn; i++)
        free(p->held[i].cmd);
    free(p->held);
    ev_seqq_free(&p->pending);
    free(p);
}

const ev_pub_ops ev_bq_pub_ops = {
    .open = bq_pub_open,
    .send = bq_pub_send,
    .poll = bq_pub_poll,
    .close = bq_pub_close,
};
