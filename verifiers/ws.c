/* ws verifier — a run of WebSocket subscribers from one thread: one
 * lws_context (libwebsockets 4.1, its own poll loop) per ev_sub, one client
 * connection per subscriber.
 *
 * Design notes (docs/client-libraries.md §7 has the library's facts).
 * - open_groups starts every connection at once and returns when each one
 *   is subscribed: the handshake done (101, with the subprotocol the server
 *   chose, if any, from those offered) and, with subscribe=, the subscribe
 *   message sent and confirmed: by a message holding subscribe_ack, or else
 *   by the pong of a ping sent right after it (a server that handles a
 *   connection's frames in order has handled the subscription by then).
 *   That is the ready barrier. A handshake the server refuses (not 101)
 *   fails the run at once; a refused connection is retried every 100 ms
 *   until connect_timeout.
 * - lws_service() waits for the next socket event or scheduled callback
 *   (its timeout argument is ignored since lws 3.2), so recv() schedules a
 *   no-op callback (an lws_sul) at its deadline to bound the wait.
 * - Messages are gathered from their fragments (lws hands frames over in
 *   pieces of its rx buffer) and queued, as for SSE: recv() hands out the
 *   queue and services the sockets only once it is empty, which keeps the
 *   previous recv's pointers valid and gives a slow consumer TCP
 *   backpressure.
 * - A connection the server closes (a close frame, counted by code; 1006
 *   when it just went away) is reconnected after reconnect_delay; one that
 *   cannot be for reconnect_timeout fails the run.
 * - Storms: a dropped connection is handed to the sub's `zombie` (its
 *   opaque user data), which sends a close frame 1001 (going away, as a
 *   browser leaving the page) and ignores whatever still arrives on it; the
 *   subscriber reconnects on a new connection after its jitter, without
 *   waiting for the old one's close handshake.
 * - lws logs to stderr by default: evload sets its level to errors only,
 *   into a sink of its own, once per process. */
#include "brokers/ws.h"

#include "ev_buf.h"
#include "ev_clock.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_NS (100 * EV_NS_PER_MS)
#define PING_LEN 8

enum { C_IDLE, C_CONNECTING, C_SUBSCRIBING, C_UP };

typedef struct conn {
    ev_sub *s;
    uint32_t g;
    struct lws *wsi; /* NULL while idle */
    int state;
    int want_subscribe, want_ping, ack_ping; /* writes pending; ack_ping: the pong confirms */
    int answered;                            /* the server refused the handshake */
    int close_code;                          /* from the peer's close frame, 0 none */
    int binary;                              /* the message being gathered */
    int64_t next_try, down_since, next_ping, ping_sent;
    int64_t attempt_at; /* when the current attempt started */
    ev_buf msg;         /* the message being gathered */
    ev_buf tx;          /* LWS_PRE bytes, then what to write */
    char last_id[128];  /* the last CloudEvent id received ({last_id}) */
    char why[160];
} conn;

typedef struct qent {
    uint32_t c;
    size_t off, len;
    int64_t wall;
} qent;

struct ev_sub {
    ev_ws_src *src;
    const ev_run_info *ri;
    uint32_t g0, n;
    conn *c;
    conn zombie; /* owner of connections being closed after a storm drop */
    struct lws_context *ctx;
    struct lws_protocols protos[2];
    lws_sorted_usec_list_t wake;
    int64_t wake_at; /* when `wake` is due (monotonic), while wake.us != 0 */
    ev_fleet_thread *ft;
    uint32_t idle;
    int started;
    int closing;       /* ws_sub_close: what lws reports now is evload's own doing */
    int need_last_id;  /* the subscribe message uses {last_id} */
    int64_t next_scan; /* housekeeping's next due time */
    ev_buf arena;
    qent *q;
    size_t qhead, qlen, qcap;
    int fatal;
    ev_err fatal_err;
};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER; /* context create/destroy */

static void log_sink(int level, const char *line)
{
    (void)level;
    (void)line;
}

static void log_init(void)
{
    lws_set_log_level(LLL_ERR, log_sink);
}

static void fail_oom(ev_sub *s)
{
    if (!s->fatal) {
        s->fatal = 1;
        ev_err_set(&s->fatal_err, EV_EINTERNAL, "out of memory");
    }
}

/* ---- helpers ---------------------------------------------------------------- */

/* The id member of a structured CloudEvent, into buf ("" when none). */
static void ce_id(const char *body, size_t len, char *buf, size_t size)
{
    static const char key[] = "\"id\":\"";
    const char *p = memmem(body, len < 512 ? len : 512, key, sizeof key - 1);
    buf[0] = '\0';
    if (!p)
        return;
    p += sizeof key - 1;
    const char *q = memchr(p, '"', (size_t)(body + len - p));
    if (!q || (size_t)(q - p) >= size)
        return;
    memcpy(buf, p, (size_t)(q - p));
    buf[q - p] = '\0';
}

static void count_code(ev_ws_subx *x, int code)
{
    for (int i = 0; i < EV_WS_CODES; i++) {
        if (x->code_n[i] && x->code[i] == code) {
            x->code_n[i]++;
            return;
        }
        if (!x->code_n[i]) {
            x->code[i] = (uint16_t)code;
            x->code_n[i] = 1;
            return;
        }
    }
    x->codes_other++;
}

/* The subscribe message for c, {sub} and {last_id} filled in, after
 * LWS_PRE bytes of c->tx. */
static int build_subscribe(ev_sub *s, conn *c)
{
    ev_buf_reset(&c->tx);
    if (ev_buf_reserve(&c->tx, LWS_PRE))
        return -1;
    c->tx.len = LWS_PRE;
    const char *t = s->src->subscribe;
    for (;;) {
        const char *a = strstr(t, "{sub}"), *b = strstr(t, "{last_id}");
        const char *next = a && (!b || a < b) ? a : b;
        if (!next)
            return ev_buf_puts(&c->tx, t);
        if (ev_buf_append(&c->tx, t, (size_t)(next - t)))
            return -1;
        if (next == a) {
            if (ev_buf_putu64(&c->tx, c->g))
                return -1;
            t = next + 5;
        } else {
            if (ev_buf_puts(&c->tx, c->last_id))
                return -1;
            t = next + 9;
        }
    }
}

/* ---- connection life ------------------------------------------------------- */

static void to_idle(ev_sub *s, conn *c, int64_t next_try)
{
    c->wsi = NULL;
    c->state = C_IDLE;
    c->want_subscribe = c->want_ping = c->ack_ping = 0;
    c->next_try = next_try;
    s->idle++;
    if (next_try < s->next_scan)
        s->next_scan = next_try;
}

static void subscribed(ev_sub *s, conn *c)
{
    int64_t now = ev_mono_ns();
    c->state = C_UP;
    c->down_since = 0;
    /* The first ping somewhere in [ping/2, ping), spread by subscriber, so
     * that subscribers connected together do not ping together. */
    int64_t p = s->src->ping_ns;
    c->next_ping =
        p ? now + p / 2 + (int64_t)((c->g * 2654435761u) % 1000u) * (p / 2000) : INT64_MAX;
    if (c->next_ping < s->next_scan)
        s->next_scan = c->next_ping;
    ev_fleet_up(s->ft, c->g, now);
}

static int start_attempt(ev_sub *s, conn *c)
{
    const ev_ws_src *src = s->src;
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof i);
    i.context = s->ctx;
    i.address = src->host;
    i.port = src->port;
    i.path = src->path;
    i.host = src->hosthdr;
    i.origin = src->hosthdr;
    i.protocol = src->protocols;
    i.local_protocol_name = s->protos[0].name;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    if (src->tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (src->insecure)
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                LCCSCF_ALLOW_EXPIRED;
    }
    c->answered = 0;
    c->close_code = 0;
    c->why[0] = '\0';
    ev_buf_reset(&c->msg);
    s->idle--;
    c->state = C_CONNECTING;
    c->attempt_at = ev_mono_ns();
    ev_fleet_attempt(s->ft, c->g, c->attempt_at, ev_wall_ns());
    if (!lws_client_connect_via_info(&i) && c->state == C_CONNECTING) {
        /* Refused at once (no callback came): try again later. */
        snprintf(c->why, sizeof c->why, "the connection could not be started");
        ev_fleet_failed(s->ft, c->g, c->why);
        to_idle(s, c, ev_mono_ns() + RETRY_NS);
    }
    return 0;
}

/* The connection ended (closed or failed) on its own. */
static void ended(ev_sub *s, conn *c, int failed)
{
    const ev_ws_src *src = s->src;
    int64_t now = ev_mono_ns();
    int64_t delay;
    if (c->state == C_UP) {
        int code = c->close_code ? c->close_code : 1006;
        count_code(&src->x[c->g], code);
        if (!c->why[0])
            snprintf(c->why, sizeof c->why, "closed with code %d%s", code,
                     code == 1006 ? " (no close frame)" : "");
        ev_fleet_down(s->ft, c->g, c->close_code ? EV_FLEET_CLOSED : EV_FLEET_ERROR, c->why, now);
        c->down_since = now;
        delay = src->reconnect_delay_ns;
    } else {
        if (!c->why[0])
            snprintf(c->why, sizeof c->why, "%s",
                     failed ? "the connection failed" : "closed before it was subscribed");
        ev_fleet_failed(s->ft, c->g, c->why);
        if (c->close_code)
            count_code(&src->x[c->g], c->close_code);
        delay = src->reconnect_delay_ns > RETRY_NS ? src->reconnect_delay_ns : RETRY_NS;
    }
    to_idle(s, c, now + delay);
}

static void on_message(ev_sub *s, conn *c)
{
    ev_ws_subx *x = &s->src->x[c->g];
    if (c->binary)
        x->binary++;
    else
        x->text++;
    if (c->state == C_SUBSCRIBING && s->src->subscribe_ack &&
        memmem(c->msg.p, c->msg.len, s->src->subscribe_ack, strlen(s->src->subscribe_ack))) {
        subscribed(s, c);
        return;
    }
    if (s->qhead + s->qlen == s->qcap) {
        size_t cap = s->qcap ? s->qcap * 2 : 256;
        qent *q = realloc(s->q, cap * sizeof *q);
        if (!q) {
            fail_oom(s);
            return;
        }
        s->q = q;
        s->qcap = cap;
    }
    qent *e = &s->q[s->qhead + s->qlen];
    e->c = (uint32_t)(c - s->c);
    e->off = s->arena.len;
    e->len = c->msg.len;
    e->wall = ev_wall_ns();
    if (ev_buf_append(&s->arena, c->msg.p, c->msg.len)) {
        fail_oom(s);
        return;
    }
    s->qlen++;
    if (s->need_last_id)
        ce_id(c->msg.p, c->msg.len, c->last_id, sizeof c->last_id);
    ev_fleet_event(s->ft, c->g, c->msg.p, c->msg.len, ev_mono_ns(), e->wall);
}

static int write_ping(ev_sub *s, conn *c, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + PING_LEN];
    int64_t now = ev_mono_ns();
    memcpy(buf + LWS_PRE, &now, PING_LEN);
    c->want_ping = 0;
    c->ping_sent = now;
    s->src->x[c->g].pings++;
    return lws_write(wsi, buf + LWS_PRE, PING_LEN, LWS_WRITE_PING) < PING_LEN ? -1 : 0;
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!c)
        return 0;
    ev_sub *s = c->s;
    if (s->closing)
        return 0;
    if (c == &s->zombie) { /* dropped by a storm: close it, ignore the rest */
        if (reason == LWS_CALLBACK_CLIENT_WRITEABLE) {
            unsigned char why[] = "storm";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, why, sizeof why - 1);
            return -1;
        }
        return 0;
    }
    if (c->wsi && c->wsi != wsi)
        return 0; /* not the connection c has now */
    const ev_ws_src *src = s->src;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        for (size_t i = 0; i < src->nheaders; i++)
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)src->hdr_name[i],
                                            (const unsigned char *)src->hdr_value[i],
                                            (int)strlen(src->hdr_value[i]), p, end))
                return -1;
        if (src->subscriber_header_colon) {
            char v[16];
            int n = snprintf(v, sizeof v, "%u", c->g);
            if (lws_add_http_header_by_name(wsi,
                                            (const unsigned char *)src->subscriber_header_colon,
                                            (const unsigned char *)v, n, p, end))
                return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: {
        ev_ws_subx *x = &src->x[c->g];
        if (lws_hdr_copy(wsi, x->protocol, (int)sizeof x->protocol, WSI_TOKEN_PROTOCOL) < 0)
            x->protocol[0] = '\0';
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->wsi = wsi;
        if (src->subscribe) {
            if (build_subscribe(s, c)) {
                fail_oom(s);
                return -1;
            }
            c->state = C_SUBSCRIBING;
            c->want_subscribe = 1;
            if (c->attempt_at + src->connect_timeout_ns < s->next_scan)
                s->next_scan = c->attempt_at + src->connect_timeout_ns;
            lws_callback_on_writable(wsi);
        } else {
            subscribed(s, c);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c->want_subscribe) {
            size_t n = c->tx.len - LWS_PRE;
            c->want_subscribe = 0;
            if (lws_write(wsi, (unsigned char *)c->tx.p + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
            if (!src->subscribe_ack) {
                c->want_ping = c->ack_ping = 1;
                lws_callback_on_writable(wsi);
            }
            return 0;
        }
        if (c->want_ping)
            return write_ping(s, c, wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            ev_buf_reset(&c->msg);
            c->binary = lws_frame_is_binary(wsi);
        }
        if (c->msg.len + len > src->max_message) {
            snprintf(c->why, sizeof c->why, "a message longer than max_message (%zu bytes)",
                     src->max_message);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
            return -1;
        }
        if (ev_buf_append(&c->msg, in, len)) {
            fail_oom(s);
            return -1;
        }
        if (lws_is_final_fragment(wsi)) {
            on_message(s, c);
            ev_buf_reset(&c->msg);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (len == PING_LEN) {
            int64_t sent;
            memcpy(&sent, in, PING_LEN);
            if (sent == c->ping_sent) {
                src->x[c->g].pongs++;
                ev_fleet_ping_rtt(s->ft, ev_mono_ns() - sent);
                if (c->state == C_SUBSCRIBING && c->ack_ping) {
                    c->ack_ping = 0;
                    subscribed(s, c);
                }
            }
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        c->close_code = len >= 2
                            ? (((const unsigned char *)in)[0] << 8) | ((const unsigned char *)in)[1]
                            : 1005;
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c->state == C_IDLE)
            return 0;
        snprintf(c->why, sizeof c->why, "%.150s", in ? (const char *)in : "connection error");
        c->answered = in && !strncmp((const char *)in, "HS:", 3);
        ended(s, c, 1);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c->state != C_IDLE)
            ended(s, c, 0);
        return 0;
    default:
        return 0;
    }
}

/* ---- the loop --------------------------------------------------------------- */

#define HEARTBEAT_NS (10 * EV_NS_PER_MS)

/* The sub's wake-up callback. It re-arms itself HEARTBEAT_NS ahead, so one
 * is always pending: lws_service runs a callback that is already due before
 * its poll(), which then waits for the next one only — without this one,
 * that can be a connection timer 25 s away. */
static void wake_cb(lws_sorted_usec_list_t *sul)
{
    ev_sub *s = (ev_sub *)(void *)((char *)sul - offsetof(ev_sub, wake));
    if (s->closing)
        return;
    s->wake_at = ev_mono_ns() + HEARTBEAT_NS;
    lws_sul_schedule(s->ctx, 0, &s->wake, wake_cb, HEARTBEAT_NS / 1000);
}

/* One pass of the event loop, waiting until `until` at the latest (a
 * little later when the thread was held up: up to HEARTBEAT_NS). */
static void drive(ev_sub *s, int64_t until)
{
    int64_t now = ev_mono_ns(), left = until - now;
    if (left < EV_NS_PER_MS) {
        lws_service(s->ctx, -1); /* services what is ready, does not wait */
        return;
    }
    /* Rescheduling sorts the callback into lws's list, which holds every
     * connection's timers: done only when the pending one is too late. */
    if (!s->wake.us || until < s->wake_at - EV_NS_PER_MS) {
        lws_sul_schedule(s->ctx, 0, &s->wake, wake_cb, left / 1000);
        s->wake_at = until;
    }
    lws_service(s->ctx, 0);
}

static int64_t housekeeping(ev_sub *s, int64_t now)
{
    const ev_ws_src *src = s->src;
    uint64_t k;
    int stormed = 0;
    while ((k = ev_fleet_storm_due(s->ft, now))) {
        stormed = 1;
        for (uint32_t i = 0; i < s->n; i++) {
            conn *c = &s->c[i];
            if (c->state != C_UP || !ev_fleet_storm_member(src->fleet, k, c->g))
                continue;
            int64_t at = ev_fleet_storm_drop(s->ft, c->g, k, now);
            lws_set_opaque_user_data(c->wsi, &s->zombie);
            lws_callback_on_writable(c->wsi);
            c->down_since = now;
            to_idle(s, c, at);
        }
    }
    int64_t storm_next = ev_fleet_storm_next(s->ft);
    if (!stormed && now < s->next_scan)
        return storm_next < s->next_scan ? storm_next : s->next_scan;
    int64_t next = INT64_MAX;
    for (uint32_t i = 0; i < s->n && !s->fatal; i++) {
        conn *c = &s->c[i];
        if (c->state == C_UP && src->ping_ns) {
            if (c->next_ping <= now) {
                c->next_ping = now + src->ping_ns;
                c->want_ping = 1;
                lws_callback_on_writable(c->wsi);
            }
            if (c->next_ping < next)
                next = c->next_ping;
        }
        if (c->state == C_SUBSCRIBING) {
            /* Connected, but the subscription was never confirmed (lws bounds
             * the connect and the handshake itself): give up this attempt. */
            int64_t due = c->attempt_at + src->connect_timeout_ns;
            if (now >= due) {
                snprintf(c->why, sizeof c->why,
                         "subscribe message not confirmed within connect_timeout");
                ev_fleet_failed(s->ft, c->g, c->why);
                lws_set_opaque_user_data(c->wsi, &s->zombie);
                lws_callback_on_writable(c->wsi);
                to_idle(s, c, now + RETRY_NS);
            } else if (due < next) {
                next = due;
            }
        }
        if (c->state != C_IDLE)
            continue;
        if (c->down_since && now - c->down_since > src->reconnect_timeout_ns) {
            s->fatal = 1;
            ev_err_set(&s->fatal_err, EV_ECONNECT,
                       "ws %s: subscriber %u lost its connection and could not reconnect "
                       "within the reconnect_timeout: %s",
                       src->redacted, c->g, c->why);
            break;
        }
        if (c->next_try <= now) {
            start_attempt(s, c);
            if (c->state == C_IDLE && c->next_try < next)
                next = c->next_try;
        } else if (c->next_try < next) {
            next = c->next_try;
        }
    }
    s->next_scan = next;
    return storm_next < next ? storm_next : next;
}

/* ---- the sub ---------------------------------------------------------------- */

static void ws_sub_close(ev_sub *s)
{
    if (!s)
        return;
    s->closing = 1;
    if (s->ctx) {
        lws_sul_cancel(&s->wake);
        pthread_mutex_lock(&ctx_mu);
        lws_context_destroy(s->ctx); /* closes every connection; callbacks run */
        pthread_mutex_unlock(&ctx_mu);
    }
    for (uint32_t i = 0; s->c && i < s->n; i++) {
        ev_buf_free(&s->c[i].msg);
        ev_buf_free(&s->c[i].tx);
    }
    ev_fleet_thread_close(s->ft);
    ev_buf_free(&s->arena);
    free(s->q);
    free(s->c);
    free(s);
}

static int ws_sub_open_groups(void *state, const ev_run_info *ri, uint32_t g0, uint32_t n,
                              ev_sub **out, ev_err *err)
{
    ev_ws_src *src = state;
    *out = NULL;
    pthread_once(&log_once, log_init);
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->src = src;
    s->ri = ri;
    s->g0 = g0;
    s->n = n;
    s->zombie.s = s;
    s->need_last_id = src->subscribe && strstr(src->subscribe, "{last_id}");
    s->c = calloc(n, sizeof *s->c);
    s->ft = ev_fleet_thread_new(src->fleet);
    int rc = EV_OK;
    if (!s->c || !s->ft)
        goto oom;
    s->protos[0] = (struct lws_protocols){.name = "evload-ws", .callback = ws_cb};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s->protos;
    info.gid = -1;
    info.uid = -1;
    info.user = s;
    info.options = src->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    info.timeout_secs = (unsigned)(src->connect_timeout_ns / EV_NS_PER_S);
    info.connect_timeout_secs = info.timeout_secs;
    /* fd_limit_per_thread stays 0: below the ulimit, lws would look every
     * descriptor up by a linear search instead of by index. */
    if (src->cacert)
        info.client_ssl_ca_filepath = src->cacert;
    pthread_mutex_lock(&ctx_mu);
    s->ctx = lws_create_context(&info);
    pthread_mutex_unlock(&ctx_mu);
    if (!s->ctx) {
        rc = ev_err_set(err, EV_EINTERNAL, "ws %s: libwebsockets could not create a context",
                        src->redacted);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        conn *c = &s->c[i];
        c->s = s;
        c->g = g0 + i;
        c->state = C_IDLE;
        s->idle++;
    }
    for (uint32_t i = 0; i < n; i++)
        start_attempt(s, &s->c[i]);
    /* The ready barrier: every subscriber connected and subscribed. */
    int64_t deadline = ev_mono_ns() + src->connect_timeout_ns;
    for (;;) {
        uint32_t up = 0;
        const conn *refused = NULL, *late = NULL;
        for (uint32_t i = 0; i < n; i++) {
            const conn *c = &s->c[i];
            up += c->state == C_UP;
            if (c->state == C_IDLE && c->answered && !refused)
                refused = c;
            if (c->state != C_UP && !late)
                late = c;
        }
        if (up == n)
            break;
        if (s->fatal) {
            rc = ev_err_set(err, EV_EINTERNAL, "%s", s->fatal_err.msg);
            goto fail;
        }
        if (refused) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "ws %s: subscriber %u was refused: %s (check the path, header= and "
                            "the server's log)",
                            src->redacted, refused->g, refused->why);
            goto fail;
        }
        int64_t now = ev_mono_ns();
        if (now >= deadline || (ri->stop && atomic_load(ri->stop))) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "ws %s: %u of %u subscribers were not subscribed within "
                            "connect_timeout; subscriber %u: %s",
                            src->redacted, n - up, n, late->g,
                            late->why[0]                   ? late->why
                            : late->state == C_SUBSCRIBING ? "subscribe message not confirmed"
                                                           : "no answer yet");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            conn *c = &s->c[i];
            if (c->state == C_IDLE && c->next_try <= now)
                start_attempt(s, c);
        }
        int64_t until = now + 20 * EV_NS_PER_MS;
        drive(s, until < deadline ? until : deadline);
    }
    s->next_scan = 0;
    *out = s;
    return EV_OK;
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
fail:
    ws_sub_close(s);
    return rc;
}

static int ws_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                       ev_sub **out, ev_err *err)
{
    return ws_sub_open_groups(state, ri, group, 1, out, err);
}

static int ws_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    int64_t now = ev_mono_ns(), deadline = now + timeout_ns;
    if (!s->started) {
        s->started = 1;
        ev_fleet_start(s->src->fleet, now);
    }
    if (s->qlen == 0) {
        ev_buf_reset(&s->arena);
        s->qhead = 0;
        for (;;) {
            int64_t next = housekeeping(s, now);
            if (s->fatal || s->qlen > 0 || now >= deadline)
                break;
            drive(s, next < deadline ? next : deadline);
            now = ev_mono_ns();
        }
    }
    if (s->fatal) {
        *err = s->fatal_err;
        return -1;
    }
    int k = s->qlen < (size_t)max ? (int)s->qlen : max;
    for (int j = 0; j < k; j++) {
        const qent *e = &s->q[s->qhead + (size_t)j];
        d[j] = (ev_delivery){.body = s->arena.p + e->off,
                             .len = e->len,
                             .recv_wall_ns = e->wall,
                             .group = s->c[e->c].g - s->g0};
    }
    s->qhead += (size_t)k;
    s->qlen -= (size_t)k;
    return k;
}

const ev_sub_ops ev_ws_sub_ops = {
    .open = ws_sub_open,
    .open_groups = ws_sub_open_groups,
    .recv = ws_sub_recv,
    .ack = NULL,
    .close = ws_sub_close,
};
