/* ev_conns — extra connections to a broker (see ev_conns.h).
 *
 * Design notes
 * - One worker thread, one epoll set, level-triggered; every socket is
 *   non-blocking, so the worker never waits on one connection. Each of the
 *   N slots is a small state machine: free → connecting → handshake → open
 *   (→ closing, in handshake mode) → free again or done.
 * - The handshakes are the least a real client sends (ev_conns.h), encoded
 *   by hand: no client library in the core, and no blocking login calls.
 * - Counters are atomics written by the worker alone; the reasons the broker
 *   gave (its own text: "530 NOT_ALLOWED - access to vhost '/' refused …")
 *   sit behind a mutex because the reporter reads them. */
#include "ev_conns.h"

#include "ev_clock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define REASONS_MAX 8
#define IN_MAX (128 * 1024) /* the longest handshake frame accepted */
#define OUT_MAX 1024
#define CLOSE_GRACE_NS (2 * EV_NS_PER_S)
#define RETRY_NS (50 * EV_NS_PER_MS) /* handshake mode: after a refusal or error */
#define SCAN_NS (100 * EV_NS_PER_MS) /* how often deadlines are checked */

typedef enum { C_FREE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_DONE } cstate;

/* Protocol steps inside C_HANDSHAKE. */
enum { AMQP_START, AMQP_TUNE, AMQP_OPENOK, REDIS_AUTH, REDIS_PONG };

typedef struct slot {
    int fd;
    cstate st;
    int step;
    int64_t deadline; /* handshake/closing deadline; C_FREE: earliest retry */
    unsigned char *in;
    size_t inlen, incap;
    unsigned char out[OUT_MAX];
    size_t outlen, outoff;
} slot;

struct ev_conns {
    ev_conns_cfg cfg;
    pthread_t th;
    int started;
    atomic_int stop;
    atomic_ullong attempted, accepted, refused, closed_by_peer, errors, open, peak_open;

    pthread_mutex_t mu; /* reasons, fatal */
    struct {
        char text[160];
        uint64_t n;
    } reasons[REASONS_MAX];
    size_t nreasons;
    uint64_t other_reasons;
    char fatal[400]; /* why the worker could not run at all ("" when it could) */

    /* The worker's own. */
    slot *s;
    int ep;
    struct sockaddr_storage addr;
    socklen_t alen;
    uint32_t inflight; /* connecting or in the handshake */
};

const char *ev_conns_proto_name(ev_conns_proto p)
{
    return p == EV_CONNS_AMQP ? "amqp" : p == EV_CONNS_REDIS ? "redis" : "tcp";
}

const char *ev_conns_mode_name(ev_conns_mode m)
{
    return m == EV_CONNS_HANDSHAKE ? "handshake" : "idle";
}

/* ---- counters and reasons -------------------------------------------------- */

static void add_reason(ev_conns *c, const char *text)
{
    char t[160];
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < sizeof t; p++)
        t[n++] = (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f ? '?' : *p;
    t[n] = '\0';
    pthread_mutex_lock(&c->mu);
    size_t i;
    for (i = 0; i < c->nreasons; i++)
        if (!strcmp(c->reasons[i].text, t))
            break;
    if (i < c->nreasons) {
        c->reasons[i].n++;
    } else if (c->nreasons < REASONS_MAX) {
        snprintf(c->reasons[c->nreasons].text, sizeof c->reasons[0].text, "%s", t);
        c->reasons[c->nreasons++].n = 1;
    } else {
        c->other_reasons++;
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- slots -------------------------------------------------------------------- */

static void set_events(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (s->st == C_CONNECTING || s->outoff < s->outlen)
        ev.events |= EPOLLOUT;
    epoll_ctl(c->ep, EPOLL_CTL_MOD, s->fd, &ev);
}

/* Closes slot i; `again`: it may be tried anew (handshake mode), after
 * `delay_ns`. */
static void slot_end(ev_conns *c, uint32_t i, int64_t delay_ns)
{
    slot *s = &c->s[i];
    if (s->fd >= 0)
        close(s->fd); /* also leaves the epoll set: no other descriptor refers to it */
    if (s->st == C_CONNECTING || s->st == C_HANDSHAKE)
        c->inflight--;
    if (s->st == C_OPEN || s->st == C_CLOSING)
        atomic_fetch_sub(&c->open, 1);
    s->fd = -1;
    free(s->in);
    s->in = NULL;
    s->inlen = s->incap = s->outlen = s->outoff = 0;
    if (c->cfg.mode == EV_CONNS_HANDSHAKE) {
        s->st = C_FREE;
        s->deadline = ev_mono_ns() + delay_ns;
    } else if (c->cfg.retry_ns > 0) { /* idle: held again after a while */
        s->st = C_FREE;
        s->deadline = ev_mono_ns() + c->cfg.retry_ns;
    } else {
        s->st = C_DONE;
    }
}

static void refused(ev_conns *c, uint32_t i, const char *why)
{
    atomic_fetch_add(&c->refused, 1);
    add_reason(c, why);
    slot_end(c, i, RETRY_NS);
}

static void failed(ev_conns *c, uint32_t i, const char *why)
{
    atomic_fetch_add(&c->errors, 1);
    add_reason(c, why);
    slot_end(c, i, RETRY_NS);
}

static void peer_closed(ev_conns *c, uint32_t i, const char *why)
{
    atomic_fetch_add(&c->closed_by_peer, 1);
    add_reason(c, why);
    slot_end(c, i, RETRY_NS);
}

static void accepted(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    s->st = C_OPEN;
    c->inflight--;
    atomic_fetch_add(&c->accepted, 1);
    unsigned long long o = atomic_fetch_add(&c->open, 1) + 1;
    if (o > atomic_load(&c->peak_open))
        atomic_store(&c->peak_open, o);
    /* The input buffer goes once the parser is done with it (slot_event):
     * an open connection reads only to notice its end. */
}

/* Sends what is queued; -1 after ending the slot on an error. */
static int flush_out(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    while (s->outoff < s->outlen) {
        ssize_t n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            char why[96];
            snprintf(why, sizeof why, "send: %s", strerror(errno));
            if (s->st == C_OPEN || s->st == C_CLOSING)
                peer_closed(c, i, why);
            else
                refused(c, i, why);
            return -1;
        }
        s->outoff += (size_t)n;
    }
    if (s->outoff == s->outlen)
        s->outoff = s->outlen = 0;
    set_events(c, i);
    return 0;
}

/* ---- AMQP 0-9-1 ------------------------------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int over;
} wbuf;

static void w_bytes(wbuf *w, const void *b, size_t n)
{
    if (w->n + n > w->cap) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->n, b, n);
    w->n += n;
}
static void w_u8(wbuf *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    w_bytes(w, &b, 1);
}
static void w_u16(wbuf *w, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    w_bytes(w, b, 2);
}
static void w_u32(wbuf *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    w_bytes(w, b, 4);
}
static void w_short(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 255) {
        w->over = 1;
        return;
    }
    w_u8(w, (unsigned)n);
    w_bytes(w, s, n);
}
static void w_long(wbuf *w, const void *s, size_t n)
{
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

/* Appends one method frame on channel 0 to slot s's output: `args` (n bytes)
 * after class and method. 0, or -1 when it does not fit. */
static int amqp_method(slot *s, unsigned cls, unsigned meth, const unsigned char *args, size_t n)
{
    wbuf w = {s->out + s->outlen, 0, OUT_MAX - s->outlen, 0};
    w_u8(&w, 1);
    w_u16(&w, 0);
    w_u32(&w, (uint32_t)(4 + n));
    w_u16(&w, cls);
    w_u16(&w, meth);
    w_bytes(&w, args, n);
    w_u8(&w, 0xCE);
    if (w.over)
        return -1;
    s->outlen += w.n;
    return 0;
}

static int amqp_start_ok(ev_conns *c, slot *s)
{
    unsigned char a[OUT_MAX];
    wbuf w = {a, 0, sizeof a, 0};
    unsigned char tab[96];
    wbuf t = {tab, 0, sizeof tab, 0};
    w_short(&t, "product");
    w_u8(&t, 'S');
    w_long(&t, "evload connections fault", 24);
    w_u32(&w, (uint32_t)t.n);
    w_bytes(&w, tab, t.n);
    w_short(&w, "PLAIN");
    const char *user = c->cfg.user[0] ? c->cfg.user : "guest";
    const char *pass = c->cfg.user[0] ? c->cfg.password : "guest";
    size_t lu = strlen(user), lp = strlen(pass);
    w_u32(&w, (uint32_t)(2 + lu + lp));
    w_u8(&w, 0);
    w_bytes(&w, user, lu);
    w_u8(&w, 0);
    w_bytes(&w, pass, lp);
    w_short(&w, "en_US");
    if (w.over || t.over)
        return -1;
    return amqp_method(s, 10, 11, a, w.n);
}

static int amqp_tune_ok_open(ev_conns *c, slot *s, unsigned chmax, uint32_t fmax)
{
    unsigned char a[8];
    wbuf w = {a, 0, sizeof a, 0};
    w_u16(&w, chmax);
    w_u32(&w, fmax);
    w_u16(&w, 0); /* no heartbeats: an idle connection stays open on its own */
    unsigned char o[300];
    wbuf v = {o, 0, sizeof o, 0};
    w_short(&v, c->cfg.vhost[0] ? c->cfg.vhost : "/");
    w_short(&v, "");
    w_u8(&v, 0);
    if (w.over || v.over)
        return -1;
    return amqp_method(s, 10, 31, a, w.n) || amqp_method(s, 10, 40, o, v.n) ? -1 : 0;
}

static int amqp_close(slot *s)
{
    static const unsigned char a[] = {0,   200, 11,  'e', 'v', 'l', 'o', 'a', 'd',
                                      ' ', 'd', 'o', 'n', 'e', 0,   0,   0,   0};
    return amqp_method(s, 10, 50, a, sizeof a);
}

static uint32_t r_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static unsigned r_u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* One frame from the broker. -1 when the slot ended. */
static int amqp_frame(ev_conns *c, uint32_t i, unsigned type, const unsigned char *p, size_t n)
{
    slot *s = &c->s[i];
    if (type != 1 || n < 4)
        return 0; /* heartbeats and anything not a method: ignored */
    unsigned cls = r_u16(p), meth = r_u16(p + 2);
    if (cls != 10)
        return 0;
    if (meth == 10 && s->st == C_HANDSHAKE && s->step == AMQP_START) {
        if (amqp_start_ok(c, s)) {
            failed(c, i, "the user name or password is too long for one frame");
            return -1;
        }
        s->step = AMQP_TUNE;
        return flush_out(c, i);
    }
    if (meth == 30 && s->st == C_HANDSHAKE && s->step == AMQP_TUNE && n >= 12) {
        if (amqp_tune_ok_open(c, s, r_u16(p + 4), r_u32(p + 6))) {
            failed(c, i, "the vhost name is too long");
            return -1;
        }
        s->step = AMQP_OPENOK;
        return flush_out(c, i);
    }
    if (meth == 41 && s->st == C_HANDSHAKE && s->step == AMQP_OPENOK) {
        accepted(c, i);
        if (c->cfg.mode == EV_CONNS_HANDSHAKE) {
            s->st = C_CLOSING;
            s->deadline = ev_mono_ns() + CLOSE_GRACE_NS;
            amqp_close(s);
            return flush_out(c, i);
        }
        set_events(c, i);
        return 0;
    }
    if (meth == 50) { /* Connection.Close from the broker: code, text */
        char why[160];
        unsigned code = n >= 6 ? r_u16(p + 4) : 0;
        size_t tl = n >= 7 ? p[6] : 0;
        if (7 + tl > n)
            tl = n > 7 ? n - 7 : 0;
        snprintf(why, sizeof why, "%u %.*s", code, (int)tl, n > 7 ? (const char *)p + 7 : "");
        amqp_method(s, 10, 51, NULL, 0); /* Close-Ok, best effort */
        (void)!send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);
        if (s->st == C_HANDSHAKE)
            refused(c, i, why);
        else if (s->st == C_OPEN)
            peer_closed(c, i, why);
        else
            slot_end(c, i, 0);
        return -1;
    }
    if (meth == 51 && s->st == C_CLOSING) {
        slot_end(c, i, 0);
        return -1;
    }
    return 0;
}

/* Every whole frame in the input. -1 when the slot ended. */
static int amqp_input(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    size_t off = 0;
    if (s->inlen >= 4 && !memcmp(s->in, "AMQP", 4)) {
        failed(c, i, "the server does not speak AMQP 0-9-1 (it answered with its own header)");
        return -1;
    }
    while (s->inlen - off >= 8) {
        const unsigned char *h = s->in + off;
        uint32_t size = r_u32(h + 3);
        if (size > IN_MAX - 8) {
            failed(c, i, "a frame larger than 128 KiB during the handshake");
            return -1;
        }
        if (s->inlen - off < (size_t)size + 8)
            break;
        if (h[7 + size] != 0xCE) {
            failed(c, i, "a malformed AMQP frame (no frame end)");
            return -1;
        }
        if (amqp_frame(c, i, h[0], h + 7, size))
            return -1;
        off += (size_t)size + 8;
    }
    if (s->in && off) {
        memmove(s->in, s->in + off, s->inlen - off);
        s->inlen -= off;
    }
    return 0;
}

/* ---- Redis (RESP) ----------------------------------------------------------- */

static void resp_cmd(slot *s, int argc, const char *const *argv)
{
    wbuf w = {s->out + s->outlen, 0, OUT_MAX - s->outlen, 0};
    char num[32];
    int n = snprintf(num, sizeof num, "*%d\r\n", argc);
    w_bytes(&w, num, (size_t)n);
    for (int k = 0; k < argc; k++) {
        size_t l = strlen(argv[k]);
        n = snprintf(num, sizeof num, "$%zu\r\n", l);
        w_bytes(&w, num, (size_t)n);
        w_bytes(&w, argv[k], l);
        w_bytes(&w, "\r\n", 2);
    }
    if (!w.over)
        s->outlen += w.n;
}

static void redis_greet(ev_conns *c, slot *s)
{
    if (c->cfg.password[0]) {
        const char *a3[] = {"AUTH", c->cfg.user, c->cfg.password};
        const char *a2[] = {"AUTH", c->cfg.password};
        if (c->cfg.user[0])
            resp_cmd(s, 3, a3);
        else
            resp_cmd(s, 2, a2);
        s->step = REDIS_AUTH;
    } else {
        s->step = REDIS_PONG;
    }
    const char *ping[] = {"PING"};
    resp_cmd(s, 1, ping);
}

/* Every whole reply line. -1 when the slot ended. */
static int redis_input(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    for (;;) {
        unsigned char *nl = s->in ? memchr(s->in, '\n', s->inlen) : NULL;
        if (!nl)
            return 0;
        size_t len = (size_t)(nl - s->in) + 1;
        char line[160];
        size_t ll = len - 1 > 0 && s->in[len - 2] == '\r' ? len - 2 : len - 1;
        snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1),
                 (const char *)s->in);
        memmove(s->in, s->in + len, s->inlen - len);
        s->inlen -= len;
        if (s->st == C_CLOSING)
            continue; /* QUIT's +OK; the end comes as EOF */
        if (s->st != C_HANDSHAKE)
            continue;
        if (line[0] == '-') {
            refused(c, i, line + 1);
            return -1;
        }
        if (line[0] != '+') {
            failed(c, i, "an unexpected reply to PING (not RESP +/-)");
            return -1;
        }
        if (s->step == REDIS_AUTH) {
            s->step = REDIS_PONG;
            continue;
        }
        accepted(c, i);
        if (c->cfg.mode == EV_CONNS_HANDSHAKE) {
            const char *quit[] = {"QUIT"};
            s->st = C_CLOSING;
            s->deadline = ev_mono_ns() + CLOSE_GRACE_NS;
            resp_cmd(s, 1, quit);
            return flush_out(c, i);
        }
        set_events(c, i);
        return 0;
    }
}

/* ---- the loop ----------------------------------------------------------------- */

static void slot_connected(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    if (c->cfg.proto == EV_CONNS_TCP) {
        accepted(c, i);
        if (c->cfg.mode == EV_CONNS_HANDSHAKE) {
            slot_end(c, i, 0);
            return;
        }
        set_events(c, i);
        return;
    }
    s->st = C_HANDSHAKE;
    if (c->cfg.proto == EV_CONNS_AMQP) {
        memcpy(s->out, "AMQP\x00\x00\x09\x01", 8);
        s->outlen = 8;
        s->step = AMQP_START;
    } else {
        redis_greet(c, s);
    }
    flush_out(c, i);
}

static void slot_start(ev_conns *c, uint32_t i)
{
    slot *s = &c->s[i];
    atomic_fetch_add(&c->attempted, 1);
    s->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s->st = C_CONNECTING;
    s->deadline = ev_mono_ns() + c->cfg.handshake_timeout_ns;
    c->inflight++;
    if (s->fd < 0) {
        char why[96];
        snprintf(why, sizeof why, "socket: %s", strerror(errno));
        failed(c, i, why);
        return;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(s->fd, (const struct sockaddr *)&c->addr, c->alen);
    if (r < 0 && errno != EINPROGRESS) {
        int e = errno;
        if (e == ECONNREFUSED)
            refused(c, i, "connection refused");
        else {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(e));
            failed(c, i, why);
        }
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, s->fd, &ev)) {
        failed(c, i, "epoll_ctl failed");
        return;
    }
    if (r == 0)
        slot_connected(c, i);
}

static void slot_event(ev_conns *c, uint32_t i, uint32_t events)
{
    slot *s = &c->s[i];
    if (s->fd < 0)
        return;
    if (s->st == C_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e == ECONNREFUSED) {
            refused(c, i, "connection refused");
        } else if (e) {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(e));
            failed(c, i, why);
        } else if (events & (EPOLLOUT | EPOLLIN)) {
            slot_connected(c, i);
        }
        return;
    }
    if ((events & EPOLLOUT) && flush_out(c, i))
        return;
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    for (;;) {
        unsigned char sink[4096];
        unsigned char *dst = sink;
        size_t room = sizeof sink;
        if (s->st == C_HANDSHAKE || (s->st == C_CLOSING && c->cfg.proto != EV_CONNS_TCP)) {
            if (s->incap - s->inlen < 4096) {
                size_t nc = s->incap ? s->incap * 2 : 8192;
                unsigned char *nb = nc <= IN_MAX ? realloc(s->in, nc) : NULL;
                if (!nb) {
                    failed(c, i, "the broker's handshake is too long (or out of memory)");
                    return;
                }
                s->in = nb;
                s->incap = nc;
            }
            dst = s->in + s->inlen;
            room = s->incap - s->inlen;
        }
        ssize_t n = recv(s->fd, dst, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            const char *why = n == 0 ? "closed by the broker" : "reset by the broker";
            char b[96];
            if (n < 0 && errno != ECONNRESET) {
                snprintf(b, sizeof b, "recv: %s", strerror(errno));
                why = b;
            }
            if (s->st == C_HANDSHAKE)
                refused(c, i,
                        n == 0 ? "closed by the broker during the handshake"
                               : "reset by the broker during the handshake");
            else if (s->st == C_OPEN)
                peer_closed(c, i, why);
            else
                slot_end(c, i, 0); /* closing: the end we asked for */
            return;
        }
        if (dst == sink)
            continue; /* open: nothing to read but the end */
        s->inlen += (size_t)n;
        int r = c->cfg.proto == EV_CONNS_AMQP ? amqp_input(c, i) : redis_input(c, i);
        if (r)
            return;
        if (s->st == C_OPEN) {
            free(s->in);
            s->in = NULL;
            s->inlen = s->incap = 0;
        }
    }
}

static void scan_deadlines(ev_conns *c, int64_t now)
{
    for (uint32_t i = 0; i < c->cfg.count; i++) {
        slot *s = &c->s[i];
        if ((s->st == C_CONNECTING || s->st == C_HANDSHAKE) && now > s->deadline)
            failed(c, i, s->st == C_CONNECTING ? "connect timed out" : "handshake timed out");
        else if (s->st == C_CLOSING && now > s->deadline)
            slot_end(c, i, 0);
    }
}

static void close_all(ev_conns *c)
{
    for (uint32_t i = 0; i < c->cfg.count; i++) {
        slot *s = &c->s[i];
        if (s->fd < 0)
            continue;
        if (s->st == C_OPEN && c->cfg.proto == EV_CONNS_AMQP && !amqp_close(s))
            (void)!send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);
        else if (s->st == C_OPEN && c->cfg.proto == EV_CONNS_REDIS) {
            const char *quit[] = {"QUIT"};
            resp_cmd(s, 1, quit);
            (void)!send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_NOSIGNAL);
        }
        int st = s->st;
        close(s->fd);
        s->fd = -1;
        free(s->in);
        s->in = NULL;
        if (st == C_OPEN || st == C_CLOSING)
            atomic_fetch_sub(&c->open, 1);
        s->st = C_DONE;
    }
}

static int resolve(ev_conns *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", c->cfg.port);
    int r = getaddrinfo(c->cfg.host, port, &hints, &res);
    if (r || !res) {
        pthread_mutex_lock(&c->mu);
        snprintf(c->fatal, sizeof c->fatal, "cannot resolve %.255s: %.100s", c->cfg.host,
                 r ? gai_strerror(r) : "no address");
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
    c->alen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void *worker(void *arg)
{
    ev_conns *c = arg;
    if (resolve(c))
        return NULL;
    struct epoll_event evs[256];
    int64_t next_scan = ev_mono_ns() + SCAN_NS;
    while (!atomic_load(&c->stop)) {
        int64_t now = ev_mono_ns();
        for (uint32_t i = 0; i < c->cfg.count && c->inflight < c->cfg.parallel; i++)
            if (c->s[i].st == C_FREE && c->s[i].deadline <= now)
                slot_start(c, i);
        int n = epoll_wait(c->ep, evs, 256, 20);
        for (int k = 0; k < n; k++)
            slot_event(c, evs[k].data.u32, evs[k].events);
        now = ev_mono_ns();
        if (now >= next_scan) {
            scan_deadlines(c, now);
            next_scan = now + SCAN_NS;
        }
    }
    close_all(c);
    return NULL;
}

/* ---- the API ------------------------------------------------------------------ */

/* More open files when count needs them (the soft limit is often 1024). */
static void raise_nofile(uint32_t count)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    rlim_t need = (rlim_t)count + 512;
    if (rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int ev_conns_start(const ev_conns_cfg *cfg, ev_conns **out, ev_err *err)
{
    if (cfg->count == 0 || cfg->count > EV_CONNS_MAX)
        return ev_err_set(err, EV_EUSAGE, "connections: count must be 1..%d", EV_CONNS_MAX);
    ev_conns *c = calloc(1, sizeof *c);
    if (!c)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    c->cfg = *cfg;
    if (c->cfg.parallel == 0 || c->cfg.parallel > EV_CONNS_PARALLEL_MAX)
        c->cfg.parallel = EV_CONNS_PARALLEL;
    if (c->cfg.handshake_timeout_ns <= 0)
        c->cfg.handshake_timeout_ns = 10 * EV_NS_PER_S;
    pthread_mutex_init(&c->mu, NULL);
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    c->s = calloc(cfg->count, sizeof *c->s);
    if (c->ep < 0 || !c->s) {
        ev_conns_free(c);
        return ev_err_set(err, EV_EINTERNAL, "connections: out of memory or descriptors");
    }
    for (uint32_t i = 0; i < cfg->count; i++)
        c->s[i].fd = -1;
    raise_nofile(cfg->count);
    if (pthread_create(&c->th, NULL, worker, c)) {
        ev_conns_free(c);
        return ev_err_set(err, EV_EINTERNAL, "connections: cannot start a thread");
    }
    c->started = 1;
    *out = c;
    return EV_OK;
}

void ev_conns_stop(ev_conns *c)
{
    if (!c || !c->started)
        return;
    atomic_store(&c->stop, 1);
    pthread_join(c->th, NULL);
    c->started = 0;
}

json_t *ev_conns_json(ev_conns *c)
{
    char target[300];
    int v6 = strchr(c->cfg.host, ':') != NULL;
    snprintf(target, sizeof target, "%s%s%s:%d", v6 ? "[" : "", c->cfg.host, v6 ? "]" : "",
             c->cfg.port);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "protocol",
        ev_conns_proto_name(c->cfg.proto), "mode", ev_conns_mode_name(c->cfg.mode), "target",
        target, "count", (json_int_t)c->cfg.count, "attempted",
        (json_int_t)atomic_load(&c->attempted), "accepted", (json_int_t)atomic_load(&c->accepted),
        "refused", (json_int_t)atomic_load(&c->refused), "closed_by_peer",
        (json_int_t)atomic_load(&c->closed_by_peer), "errors", (json_int_t)atomic_load(&c->errors),
        "open", (json_int_t)atomic_load(&c->open), "peak_open",
        (json_int_t)atomic_load(&c->peak_open));
    json_t *r = json_object();
    if (!o || !r) {
        json_decref(o);
        json_decref(r);
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nreasons; i++)
        json_object_set_new(r, c->reasons[i].text, json_integer((json_int_t)c->reasons[i].n));
    if (c->other_reasons)
        json_object_set_new(r, "(other reasons)", json_integer((json_int_t)c->other_reasons));
    if (c->fatal[0])
        json_object_set_new(o, "error", json_string(c->fatal));
    pthread_mutex_unlock(&c->mu);
    json_object_set_new(o, "reasons", r);
    json_object_set_new(o, "parallel", json_integer((json_int_t)c->cfg.parallel));
    return o;
}

void ev_conns_free(ev_conns *c)
{
    if (!c)
        return;
    ev_conns_stop(c);
    if (c->s) {
        close_all(c);
        free(c->s);
    }
    if (c->ep >= 0)
        close(c->ep);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
