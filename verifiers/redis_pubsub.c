/* redis_pubsub verifier — one subscriber connection per group.
 *
 * Design notes.
 * - open() connects, SUBSCRIBEs (or PSUBSCRIBEs) and returns once Redis has
 *   confirmed the subscription: the engine's ready barrier. The subscriber
 *   that opens last also asks PUBSUB NUMSUB on a short-lived connection and
 *   waits (bounded) until the server counts every group; the figure is
 *   reported as subscribers_at_ready (more than the groups: someone else
 *   listens on the channel, and publish_excess will show it).
 * - recv() reads with poll() and the context's own reader (no socket timeout:
 *   hiredis 0.14 kills a context on a read timeout). Replies handed out stay
 *   alive until the next recv(). Only "message"/"pmessage" become deliveries;
 *   the payload is handed over as is, so a foreign message is counted by the
 *   engine, never dropped here.
 * - A lost connection is recorded with its cause (see ev_redis_cause; Redis
 *   tells a client nothing when it closes it, so killed vs. output_buffer_limit
 *   is inferred from whether the subscriber was behind: its sampled output
 *   buffer, or bytes streaming in until the close with the latest event
 *   ≥ 50 ms old) — then the subscriber waits reconnect_delay and resubscribes,
 *   retrying every 100 ms for up to reconnect_timeout (after which recv fails
 *   and the run ends with exit 3). What was published meanwhile is lost for
 *   this group only; the ledger counts it and PUBLISH's replies account for it
 *   (shortfall).
 * - cycle=: the subscriber leaves on purpose every `cycle` (first departure
 *   staggered by group): UNSUBSCRIBE, keep delivering until the confirmation
 *   (everything Redis queued before it), close, resubscribe after
 *   reconnect_delay. Nothing Redis counted is dropped, so lost == shortfall.
 */
#include "brokers/redis_pubsub.h"

#include "ev_backoff.h"
#include "ev_clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RETRY_NS (100 * EV_NS_PER_MS)
#define NUMSUB_WAIT_NS (5 * EV_NS_PER_S)
#define LEAVE_WAIT_NS (5 * EV_NS_PER_S)
#define STREAMING_NS (100 * EV_NS_PER_MS) /* bytes this recently before a close: streaming */
#define BEHIND_NS (50 * EV_NS_PER_MS)     /* the latest event this old: behind */

struct ev_sub {
    ev_redis *r;
    const ev_run_info *ri;
    uint32_t group;
    char role[32];
    redisContext *c;
    redisReply **held; /* replies behind the last recv's deliveries */
    int nheld, capheld;
    int up;
    ev_backoff rc;      /* the resubscribe schedule */
    int64_t next_cycle; /* cycle=: when to leave next; 0 never */
    int64_t leave_by;   /* leaving: UNSUBSCRIBE sent, forced close at this time; 0 not leaving */
    int64_t last_data;  /* monotonic time of the last read that brought bytes */
    int64_t last_age;   /* receive − evloadsent of the latest delivery, ns; -1 unknown */
    ev_redis_in in;
};

/* Connects and subscribes; on success the group is up again. */
static int sub_connect(ev_sub *s, ev_err *err)
{
    ev_redis *r = s->r;
    redisContext *c = NULL;
    int rc = ev_redis_connect(r, s->role, &c, err);
    if (rc)
        return rc;
    const char *idv[2] = {"CLIENT", "ID"};
    redisReply *rep = ev_redis_cmd(c, r, err, 2, idv);
    if (!rep)
        goto fail;
    long long id = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    const char *sv[2] = {r->conf.pattern ? "PSUBSCRIBE" : "SUBSCRIBE",
                         r->conf.pattern ? r->conf.pattern : r->conf.channel};
    if (!(rep = ev_redis_cmd(c, r, err, 2, sv)))
        goto fail;
    int ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
             rep->element[0]->type == REDIS_REPLY_STRING &&
             !strcasecmp(rep->element[0]->str, r->conf.pattern ? "psubscribe" : "subscribe");
    freeReplyObject(rep);
    if (!ok) {
        ev_err_set(err, EV_ECONNECT, "redis %s: %s was not confirmed", r->conf.redacted, sv[0]);
        goto fail;
    }
    if (ev_redis_nonblock(c)) {
        ev_err_set(err, EV_ECONNECT, "redis %s: cannot make the socket non-blocking",
                   r->conf.redacted);
        goto fail;
    }
    c->reader->maxbuf = 0;
    s->in.pos = s->in.len = 0;
    s->c = c;
    s->up = 1;
    s->leave_by = 0;
    if (r->conf.cycle_ns) {
        /* The first departure is staggered by group, so the storm is spread out. */
        int64_t first = r->conf.cycle_ns * (int64_t)(s->group + 1) / (int64_t)r->groups;
        s->next_cycle = ev_mono_ns() + (s->next_cycle ? r->conf.cycle_ns : first);
    }
    pthread_mutex_lock(&r->mu);
    r->g[s->group].client_id = id;
    r->g[s->group].up = 1;
    r->g[s->group].omem = 0;
    r->g[s->group].omem_conn_max = 0;
    pthread_mutex_unlock(&r->mu);
    s->last_age = -1;
    return EV_OK;
fail:
    redisFree(c);
    return EV_ECONNECT;
}

/* PUBSUB NUMSUB channel on a short-lived connection, until it counts every
 * group (bounded). Pattern subscriptions have no per-pattern count
 * (NUMPAT counts distinct patterns), so there the confirmations suffice. */
static void confirm_numsub(ev_sub *s)
{
    ev_redis *r = s->r;
    long long n = -1;
    redisContext *c = NULL;
    ev_err e2;
    if (!r->conf.pattern && ev_redis_connect(r, "check", &c, &e2) == EV_OK) {
        int64_t deadline = ev_mono_ns() + NUMSUB_WAIT_NS;
        const char *av[3] = {"PUBSUB", "NUMSUB", r->conf.channel};
        for (;;) {
            redisReply *rep = ev_redis_cmd(c, r, &e2, 3, av);
            if (!rep)
                break;
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
                rep->element[1]->type == REDIS_REPLY_INTEGER)
                n = rep->element[1]->integer;
            freeReplyObject(rep);
            if (n >= (long long)r->groups || ev_mono_ns() >= deadline)
                break;
            ev_sleep_until(ev_mono_ns() + 20 * EV_NS_PER_MS, s->ri->stop);
        }
        redisFree(c);
    }
    pthread_mutex_lock(&r->mu);
    r->numsub_ready = n;
    pthread_mutex_unlock(&r->mu);
}

static int redis_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                          ev_sub **out, ev_err *err)
{
    ev_redis *r = state;
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->r = r;
    s->ri = ri;
    s->group = group;
    snprintf(s->role, sizeof s->role, "sub%u", group);
    ev_backoff_init(&s->rc, r->conf.reconnect_delay_ns, RETRY_NS, RETRY_NS,
                    r->conf.reconnect_timeout_ns);
    int rc = sub_connect(s, err);
    if (rc) {
        free(s);
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    int last = ++r->opened == r->groups;
    pthread_mutex_unlock(&r->mu);
    if (last)
        confirm_numsub(s);
    *out = s;
    return EV_OK;
}

static void release(ev_sub *s)
{
    for (int i = 0; i < s->nheld; i++)
        freeReplyObject(s->held[i]);
    s->nheld = 0;
}

static void went_down(ev_sub *s, ev_redis_cause cause, const char *what)
{
    ev_redis *r = s->r;
    int64_t now = ev_mono_ns();
    pthread_mutex_lock(&r->mu);
    ev_redis_group *g = &r->g[s->group];
    if (cause == EV_REDIS_CAUSE_KILLED) {
        long long lim = r->obuf_soft > 0 && (r->obuf_hard <= 0 || r->obuf_soft < r->obuf_hard)
                            ? r->obuf_soft
                            : r->obuf_hard;
        int behind_sampled = lim > 0 && g->omem_conn_max * 2 >= lim;
        int behind_seen = now - s->last_data <= STREAMING_NS && s->last_age >= BEHIND_NS;
        if (behind_sampled || behind_seen)
            cause = EV_REDIS_CAUSE_OBUF;
    }
    g->up = 0;
    g->client_id = 0;
    g->disconnects++;
    g->by_cause[cause]++;
    g->down_since = now;
    snprintf(g->last_error, sizeof g->last_error, "%s: %.100s", ev_redis_cause_names[cause], what);
    pthread_mutex_unlock(&r->mu);
    redisFree(s->c);
    s->c = NULL;
    s->up = 0;
    ev_backoff_down(&s->rc, now);
}

/* While down: try to resubscribe when due. 0 (up again or not yet), -1 when
 * reconnect_timeout has passed. */
static int try_reconnect(ev_sub *s, ev_err *err)
{
    ev_redis *r = s->r;
    if (!ev_backoff_due(&s->rc, ev_mono_ns()))
        return 0;
    ev_err e2;
    if (sub_connect(s, &e2) == EV_OK) {
        int64_t down = ev_backoff_up(&s->rc, ev_mono_ns());
        pthread_mutex_lock(&r->mu);
        r->g[s->group].reconnects++;
        r->g[s->group].down_ns += down;
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    if (ev_backoff_failed(&s->rc, ev_mono_ns()) < 0)
        return ev_err_set(err, EV_ECONNECT,
                          "redis %s: subscriber %u lost its connection and could not "
                          "resubscribe within the reconnect_timeout: %s",
                          r->conf.redacted, s->group, e2.msg);
    return 0;
}

static int hold(ev_sub *s, redisReply *rep)
{
    if (s->nheld == s->capheld) {
        int cap = s->capheld ? s->capheld * 2 : 64;
        redisReply **h = realloc(s->held, (size_t)cap * sizeof *h);
        if (!h)
            return -1;
        s->held = h;
        s->capheld = cap;
    }
    s->held[s->nheld++] = rep;
    return 0;
}

/* A "message"/"pmessage" reply's payload, or NULL for anything else. */
static const redisReply *payload(const redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return NULL;
    const char *kind = rep->element[0]->str;
    const redisReply *p = NULL;
    if (rep->elements == 3 && !strcmp(kind, "message"))
        p = rep->element[2];
    else if (rep->elements == 4 && !strcmp(kind, "pmessage"))
        p = rep->element[3];
    return p && p->type == REDIS_REPLY_STRING ? p : NULL;
}

/* cycle=: asks to leave. Messages published before Redis handles the
 * UNSUBSCRIBE still arrive ahead of its confirmation, so leaving loses
 * nothing that PUBLISH counted: the loss is exactly the shortfall. */
static void start_leaving(ev_sub *s)
{
    const ev_redis *r = s->r;
    const char *cmd = r->conf.pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE";
    char buf[64];
    int n = snprintf(buf, sizeof buf, "*1\r\n$%zu\r\n%s\r\n", strlen(cmd), cmd);
    ssize_t w = send(s->c->fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (w != n) {
        went_down(s, EV_REDIS_CAUSE_NETWORK, w < 0 ? strerror(errno) : "short write");
        return;
    }
    s->leave_by = ev_mono_ns() + LEAVE_WAIT_NS;
}

/* The confirmation that ends a departure: ["unsubscribe", channel, 0]. */
static int is_unsub_done(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
           rep->element[0]->type == REDIS_REPLY_STRING &&
           (!strcmp(rep->element[0]->str, "unsubscribe") ||
            !strcmp(rep->element[0]->str, "punsubscribe")) &&
           rep->element[2]->type == REDIS_REPLY_INTEGER && rep->element[2]->integer == 0;
}

/* How old a delivery was when it came off the socket, from the evloadsent
 * of evload's structured envelope; -1 when it has none (a foreign message).
 * Only read to tell an overrun subscriber from a killed one. */
static int64_t event_age(const ev_delivery *d)
{
    static const char key[] = "\"evloadsent\":\"";
    const char *p = memmem(d->body, d->len, key, sizeof key - 1);
    if (!p)
        return -1;
    p += sizeof key - 1;
    const char *end = d->body + d->len;
    int64_t v = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 19) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || p >= end || *p != '"')
        return -1;
    return d->recv_wall_ns - v;
}

static int redis_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    release(s);
    int64_t deadline = ev_mono_ns() + timeout_ns;
    if (!s->up) {
        if (try_reconnect(s, err))
            return -1;
        if (!s->up) {
            ev_sleep_until(ev_backoff_wake(&s->rc, deadline), s->ri->stop);
            return 0;
        }
    }
    int64_t now = ev_mono_ns();
    if (s->next_cycle && !s->leave_by && now >= s->next_cycle)
        start_leaving(s);
    else if (s->leave_by && now >= s->leave_by)
        went_down(s, EV_REDIS_CAUSE_CYCLED, "left (cycle=), no UNSUBSCRIBE confirmation");
    if (!s->up)
        return 0;
    int n = 0, waited = 0;
    int64_t stamp = ev_wall_ns();
    while (n < max) {
        void *v = NULL;
        int g = ev_redis_get(s->c, &s->in, &v);
        if (g < 0) {
            went_down(s, EV_REDIS_CAUSE_PROTOCOL, "unparseable reply");
            break;
        }
        if (v) {
            redisReply *rep = v;
            const redisReply *p = payload(rep);
            if (!p) {
                int done = s->leave_by && is_unsub_done(rep);
                freeReplyObject(rep); /* (un)subscribe confirmations and the like */
                if (done) {
                    went_down(s, EV_REDIS_CAUSE_CYCLED, "left on purpose (cycle=)");
                    break;
                }
                continue;
            }
            if (hold(s, rep)) {
                freeReplyObject(rep);
                return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
            }
            d[n++] = (ev_delivery){.body = p->str, .len = p->len, .recv_wall_ns = stamp};
            continue;
        }
        int rc = ev_redis_fill(s->c, &s->in);
        if (rc == 1) {
            stamp = ev_wall_ns();
            s->last_data = ev_mono_ns();
            continue;
        }
        if (rc == -1) {
            went_down(s, EV_REDIS_CAUSE_KILLED, "the server closed the connection");
            break;
        }
        if (rc == -2) {
            went_down(s, EV_REDIS_CAUSE_NETWORK, strerror(errno));
            break;
        }
        /* Nothing buffered and nothing on the socket. */
        if (n > 0 || waited)
            break;
        int64_t left = deadline - ev_mono_ns();
        if (left <= 0)
            break;
        waited = 1;
        if (ev_redis_wait(s->c->fd, POLLIN, left) < 0) {
            went_down(s, EV_REDIS_CAUSE_NETWORK, strerror(errno));
            break;
        }
    }
    if (n > 0)
        s->last_age = event_age(&d[n - 1]);
    return n;
}

static void redis_sub_close(ev_sub *s)
{
    if (!s)
        return;
    release(s);
    free(s->held);
    ev_redis *r = s->r;
    pthread_mutex_lock(&r->mu);
    if (!s->up)
        r->g[s->group].down_ns += ev_backoff_up(&s->rc, ev_mono_ns());
    r->g[s->group].up = 0;
    pthread_mutex_unlock(&r->mu);
    redisFree(s->c);
    free(s);
}

const ev_sub_ops ev_redis_sub_ops = {
    .open = redis_sub_open,
    .recv = redis_sub_recv,
    .ack = NULL,
    .close = redis_sub_close,
};
