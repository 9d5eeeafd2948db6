/* sse verifier — a run of SSE subscribers from one thread: one libcurl multi
 * handle driven by the thread's own epoll (curl_multi_socket_action), one
 * easy handle and one streaming request per subscriber.
 *
 * Design notes.
 * - open_groups starts every subscriber's request at once and returns when
 *   each one has its response headers (200, Content-Type text/event-stream):
 *   the ready barrier. A server registers a subscriber before it answers, so
 *   from then on it relays to it. An answer that is not a stream (401, 404,
 *   a wrong content type) fails the run at once (exit 3); a refused or
 *   timed-out connection is retried every 100 ms until connect_timeout.
 * - Bytes go through the SSE parser (ev_sse.h) as they arrive, stamped with
 *   the wall clock once per read; each event's data, id and type are copied
 *   into the sub's arena and queued. recv() hands out the queue and reads
 *   the sockets only once the queue is empty: the arena is reset then, which
 *   is what keeps the previous recv's pointers valid until the next one, and
 *   a consumer that falls behind stops reading, so the server sees TCP
 *   backpressure as from a slow browser.
 * - A stream that ends (the server closed it, an error) is reconnected after
 *   the server's retry: (honour_retry) or reconnect_delay, with
 *   Last-Event-ID: the stream's last event ID (last_event_id=1); a
 *   subscriber that cannot reconnect for reconnect_timeout fails the run.
 * - Storms (storm=): at each storm the subscribers the fleet names drop
 *   their stream (the request is removed, curl closes its connection) and
 *   reconnect after their jitter, exactly as above.
 * - Every connection event and delivery is told to the fleet (ev_fleet.h),
 *   which keeps the latencies, the storms and the resume check. */
#include "brokers/sse.h"

#include "ev_buf.h"
#include "ev_clock.h"
#include "ev_sse.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#define RETRY_NS (100 * EV_NS_PER_MS) /* between failed attempts */
#define EPOLL_BATCH 64
#define HDRS_PER_DELIVERY 2 /* the pseudo-headers id and event */

enum { C_IDLE, C_CONNECTING, C_UP };

typedef struct conn {
    ev_sub *s;
    uint32_t g; /* the subscriber (group within the output) */
    CURL *h;
    struct curl_slist *hdrs;
    ev_sse_parser p;
    int state;
    int in_multi;
    int answered;              /* the current attempt got an HTTP answer that is not a stream */
    int64_t next_try;          /* C_IDLE: when to try again (monotonic) */
    int64_t attempt_at;        /* C_CONNECTING: when the attempt started */
    int64_t down_since;        /* C_IDLE after being up: when it was lost (0: never up yet) */
    long status;               /* of the current response */
    int ct_ok;                 /* Content-Type: text/event-stream */
    int64_t stamp, stamp_mono; /* when the chunk being parsed was read */
    char why[160];             /* why the transfer was aborted here, or the last failure */
    char err[CURL_ERROR_SIZE];
} conn;

typedef struct qent {
    uint32_t c; /* conn index */
    uint32_t id_len, type_len;
    size_t off, len, id_off, type_off;
    int64_t wall;
} qent;

struct ev_sub {
    ev_sse_src *src;
    const ev_run_info *ri;
    uint32_t g0, n;
    conn *c;
    CURLM *m;
    int ep;
    int64_t timer_at; /* curl's timeout (monotonic), -1 none */
    ev_fleet_thread *ft;
    uint32_t idle;        /* conns in C_IDLE */
    int64_t next_overdue; /* when to look for attempts without headers next */
    int started;
    ev_buf arena;
    qent *q;
    size_t qhead, qlen, qcap;
    ev_ce_attr *hdr;
    size_t hdrcap;
    int fatal; /* a subscriber failed beyond repair: every recv fails */
    ev_err fatal_err;
};

/* ---- libcurl callbacks ---------------------------------------------------- */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    ev_sub *s = ud;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL); /* may be closed already: fine */
        curl_multi_assign(s->m, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
                             .data.fd = fd};
    int op = sockp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->ep, op, fd, &ev)) {
        if (errno == EEXIST)
            epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev);
        else if (errno == ENOENT)
            epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    }
    if (!sockp)
        curl_multi_assign(s->m, fd, (void *)1);
    return 0;
}

static int on_timer(CURLM *m, long ms, void *ud)
{
    ev_sub *s = ud;
    s->timer_at = ms < 0 ? -1 : ev_mono_ns() + (int64_t)ms * EV_NS_PER_MS;
    return 0;
}

static void fail_oom(ev_sub *s)
{
    if (!s->fatal) {
        s->fatal = 1;
        ev_err_set(&s->fatal_err, EV_EINTERNAL, "out of memory");
    }
}

static void on_event(void *ud, const ev_sse_event *ev)
{
    conn *c = ud;
    ev_sub *s = c->s;
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
    e->wall = c->stamp;
    e->off = s->arena.len;
    e->len = ev->len;
    e->id_off = e->off + ev->len;
    e->id_len = (uint32_t)ev->id_len;
    e->type_off = e->id_off + ev->id_len;
    e->type_len = (uint32_t)ev->type_len;
    if (ev_buf_append(&s->arena, ev->data, ev->len) ||
        ev_buf_append(&s->arena, ev->id, ev->id_len) ||
        ev_buf_append(&s->arena, ev->type, ev->type_len)) {
        fail_oom(s);
        return;
    }
    s->qlen++;
    ev_fleet_event(s->ft, c->g, ev->data, ev->len, c->stamp_mono, c->stamp);
}

static void subscribed(conn *c)
{
    ev_sub *s = c->s;
    c->state = C_UP;
    c->down_since = 0;
    s->src->x[c->g].last_status = c->status;
    ev_fleet_up(s->ft, c->g, ev_mono_ns());
}

static size_t on_header(char *b, size_t size, size_t n, void *ud)
{
    conn *c = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(b, "HTTP/", 5)) {
        const char *sp = memchr(b, ' ', len);
        c->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        c->ct_ok = 0;
        return len;
    }
    if (len > 13 && !strncasecmp(b, "content-type:", 13)) {
        const char *v = b + 13, *end = b + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        c->ct_ok = (size_t)(end - v) >= 17 && !strncasecmp(v, "text/event-stream", 17);
        return len;
    }
    if (len <= 2 && (b[0] == '\r' || b[0] == '\n')) { /* the end of a response's headers */
        if (c->status < 200 || (c->status >= 300 && c->status < 400))
            return len; /* 1xx, or a redirect curl follows */
        if (c->status == 200 && c->ct_ok) {
            subscribed(c);
            return len;
        }
        c->s->src->x[c->g].last_status = c->status;
        c->answered = 1;
        snprintf(c->why, sizeof c->why, "HTTP %ld%s", c->status,
                 c->status == 200 ? " without Content-Type: text/event-stream" : "");
        return 0; /* aborts the transfer */
    }
    return len;
}

static size_t on_data(char *b, size_t size, size_t n, void *ud)
{
    conn *c = ud;
    ev_sub *s = c->s;
    size_t len = size * n;
    if (c->state != C_UP) {
        if (!c->why[0])
            snprintf(c->why, sizeof c->why, "HTTP %ld", c->status);
        c->answered = 1;
        return 0;
    }
    c->stamp = ev_wall_ns();
    c->stamp_mono = ev_mono_ns();
    s->src->x[c->g].bytes += len;
    if (ev_sse_feed(&c->p, b, len, on_event, c)) {
        snprintf(c->why, sizeof c->why, "an SSE line or event longer than max_event (%zu bytes)",
                 s->src->max_event);
        return 0;
    }
    return s->fatal ? 0 : len;
}

/* ---- connections ---------------------------------------------------------- */

static int append_header(struct curl_slist **l, const char *h)
{
    struct curl_slist *n = curl_slist_append(*l, h);
    if (!n)
        return -1;
    *l = n;
    return 0;
}

/* Starts (or restarts) c's request. -1 when out of memory. */
static int start_attempt(ev_sub *s, conn *c)
{
    const ev_sse_src *src = s->src;
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    int bad = append_header(&c->hdrs, "Accept: text/event-stream") ||
              append_header(&c->hdrs, "Cache-Control: no-cache");
    for (size_t i = 0; !bad && i < src->nheaders; i++)
        bad = append_header(&c->hdrs, src->headers[i]);
    char line[256];
    if (!bad && src->subscriber_header) {
        snprintf(line, sizeof line, "%s: %u", src->subscriber_header, c->g);
        bad = append_header(&c->hdrs, line);
    }
    const char *last = ev_sse_last_id(&c->p);
    if (!bad && src->last_event_id && last[0]) {
        ev_buf b = EV_BUF_INIT;
        bad = ev_buf_puts(&b, "Last-Event-ID: ") || ev_buf_puts(&b, last) ||
              append_header(&c->hdrs, b.p);
        ev_buf_free(&b);
    }
    if (bad)
        return -1;
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
    c->status = 0;
    c->ct_ok = 0;
    c->answered = 0;
    c->why[0] = '\0';
    c->err[0] = '\0';
    c->attempt_at = ev_mono_ns();
    ev_fleet_attempt(s->ft, c->g, c->attempt_at, ev_wall_ns());
    if (curl_multi_add_handle(s->m, c->h) != CURLM_OK)
        return -1;
    c->in_multi = 1;
    c->state = C_CONNECTING;
    s->idle--;
    return 0;
}

static void to_idle(ev_sub *s, conn *c, int64_t next_try)
{
    if (c->in_multi) {
        curl_multi_remove_handle(s->m, c->h);
        c->in_multi = 0;
    }
    ev_sse_restart(&c->p);
    c->state = C_IDLE;
    c->next_try = next_try;
    s->idle++;
}

/* A transfer ended (curl says DONE). */
static void ended(ev_sub *s, conn *c, CURLcode rc)
{
    const ev_sse_src *src = s->src;
    int64_t now = ev_mono_ns();
    if (!c->why[0]) {
        if (rc == CURLE_OK)
            snprintf(c->why, sizeof c->why, "the server ended the stream");
        else
            snprintf(c->why, sizeof c->why, "%.150s", c->err[0] ? c->err : curl_easy_strerror(rc));
    }
    int64_t delay;
    if (c->state == C_UP) {
        ev_fleet_down(s->ft, c->g, rc == CURLE_OK ? EV_FLEET_CLOSED : EV_FLEET_ERROR, c->why, now);
        c->down_since = now;
        delay = src->honour_retry && c->p.retry_ms >= 0 ? c->p.retry_ms * EV_NS_PER_MS
                                                        : src->reconnect_delay_ns;
    } else {
        ev_fleet_failed(s->ft, c->g, c->why);
        delay = src->reconnect_delay_ns > RETRY_NS ? src->reconnect_delay_ns : RETRY_NS;
    }
    to_idle(s, c, now + delay);
}

static void collect_done(ev_sub *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        conn *c = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c)
            ended(s, c, msg->data.result);
    }
}

/* One wait on the sockets (until `until` at the latest) and what follows. */
static void drive(ev_sub *s, int64_t until)
{
    int64_t now = ev_mono_ns(), wake = until;
    if (s->timer_at >= 0 && s->timer_at < wake)
        wake = s->timer_at;
    int ms = wake <= now ? 0 : (int)((wake - now + EV_NS_PER_MS - 1) / EV_NS_PER_MS);
    struct epoll_event evs[EPOLL_BATCH];
    int n = epoll_wait(s->ep, evs, EPOLL_BATCH, ms);
    int running = 0;
    for (int i = 0; i < n; i++) {
        int fl = ((evs[i].events & (EPOLLIN | EPOLLHUP)) ? CURL_CSELECT_IN : 0) |
                 ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                 ((evs[i].events & EPOLLERR) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(s->m, evs[i].data.fd, fl, &running);
    }
    if (s->timer_at >= 0 && ev_mono_ns() >= s->timer_at) {
        s->timer_at = -1;
        curl_multi_socket_action(s->m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    collect_done(s);
}

/* Attempts that have connected but got no response headers within
 * connect_timeout (curl's own bound covers only the connect): failed. */
static void overdue(ev_sub *s, int64_t now)
{
    const ev_sse_src *src = s->src;
    if (now < s->next_overdue)
        return;
    s->next_overdue = now + 100 * EV_NS_PER_MS;
    for (uint32_t i = 0; i < s->n; i++) {
        conn *c = &s->c[i];
        if (c->state != C_CONNECTING || now - c->attempt_at < src->connect_timeout_ns)
            continue;
        snprintf(c->why, sizeof c->why, "no response headers within connect_timeout");
        ev_fleet_failed(s->ft, c->g, c->why);
        to_idle(s, c, now + RETRY_NS);
    }
}

/* Storms due, reconnects due, subscribers away too long. Returns the
 * earliest time something is due next. */
static int64_t housekeeping(ev_sub *s, int64_t now)
{
    const ev_sse_src *src = s->src;
    overdue(s, now);
    uint64_t k;
    while ((k = ev_fleet_storm_due(s->ft, now)))
        for (uint32_t i = 0; i < s->n; i++) {
            conn *c = &s->c[i];
            if (c->state != C_UP || !ev_fleet_storm_member(src->fleet, k, c->g))
                continue;
            int64_t at = ev_fleet_storm_drop(s->ft, c->g, k, now);
            c->down_since = now;
            to_idle(s, c, at);
        }
    int64_t next = ev_fleet_storm_next(s->ft);
    for (uint32_t i = 0; s->idle && i < s->n && !s->fatal; i++) {
        conn *c = &s->c[i];
        if (c->state != C_IDLE)
            continue;
        if (c->down_since && now - c->down_since > src->reconnect_timeout_ns) {
            s->fatal = 1;
            ev_err_set(&s->fatal_err, EV_ECONNECT,
                       "sse %s: subscriber %u lost its stream and could not reconnect within "
                       "the reconnect_timeout: %s",
                       src->redacted, c->g, c->why);
            break;
        }
        if (c->next_try <= now) {
            if (start_attempt(s, c))
                fail_oom(s);
        } else if (c->next_try < next) {
            next = c->next_try;
        }
    }
    return next;
}

/* ---- the sub -------------------------------------------------------------- */

static void sse_sub_close(ev_sub *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->c && i < s->n; i++) {
        conn *c = &s->c[i];
        if (c->h) {
            ev_sse_subx *x = &s->src->x[c->g];
            snprintf(x->last_id, sizeof x->last_id, "%s", ev_sse_last_id(&c->p));
            x->retry_ms = c->p.retry_ms;
            x->comments = c->p.comments;
            if (c->in_multi)
                curl_multi_remove_handle(s->m, c->h);
            curl_easy_cleanup(c->h);
        }
        curl_slist_free_all(c->hdrs);
        ev_sse_free(&c->p);
    }
    if (s->m)
        curl_multi_cleanup(s->m);
    if (s->ep >= 0)
        close(s->ep);
    ev_fleet_thread_close(s->ft);
    ev_buf_free(&s->arena);
    free(s->q);
    free(s->hdr);
    free(s->c);
    free(s);
}

static int conn_init(ev_sub *s, conn *c, uint32_t g)
{
    const ev_sse_src *src = s->src;
    c->s = s;
    c->g = g;
    c->state = C_IDLE;
    s->idle++;
    ev_sse_init(&c->p, src->max_event);
    if (!(c->h = curl_easy_init()))
        return -1;
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_URL, src->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)c);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(src->connect_timeout_ns / EV_NS_PER_MS));
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     src->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    if (src->http2)
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    if (src->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, src->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, src->pass);
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    }
    if (src->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (src->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, src->cacert);
    return 0;
}

static int sse_sub_open_groups(void *state, const ev_run_info *ri, uint32_t g0, uint32_t n,
                               ev_sub **out, ev_err *err)
{
    ev_sse_src *src = state;
    *out = NULL;
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->src = src;
    s->ri = ri;
    s->g0 = g0;
    s->n = n;
    s->timer_at = -1;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->c = calloc(n, sizeof *s->c);
    s->m = curl_multi_init();
    s->ft = ev_fleet_thread_new(src->fleet);
    int rc = EV_OK;
    if (s->ep < 0 || !s->c || !s->m || !s->ft)
        goto oom;
    curl_multi_setopt(s->m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(s->m, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(s->m, CURLMOPT_TIMERDATA, s);
    curl_multi_setopt(s->m, CURLMOPT_PIPELINING,
                      src->http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    for (uint32_t i = 0; i < n; i++)
        if (conn_init(s, &s->c[i], g0 + i) || start_attempt(s, &s->c[i]))
            goto oom;
    /* The ready barrier: every subscriber has its stream. */
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
            rc = ev_err_set(err, s->fatal_err.msg[0] ? EV_EINTERNAL : EV_ECONNECT, "%s",
                            s->fatal_err.msg);
            goto fail;
        }
        if (refused) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "sse %s: subscriber %u was refused: %s (check the path, header= "
                            "and the server's log)",
                            src->redacted, refused->g, refused->why);
            goto fail;
        }
        int64_t now = ev_mono_ns();
        if (now >= deadline || (ri->stop && atomic_load(ri->stop))) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "sse %s: %u of %u subscribers had no stream within connect_timeout; "
                            "subscriber %u: %s",
                            src->redacted, n - up, n, late->g,
                            late->why[0] ? late->why : "no answer yet");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            conn *c = &s->c[i];
            if (c->state == C_IDLE && c->next_try <= now && start_attempt(s, c))
                goto oom;
        }
        int64_t until = now + 20 * EV_NS_PER_MS;
        drive(s, until < deadline ? until : deadline);
    }
    *out = s;
    return EV_OK;
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
fail:
    sse_sub_close(s);
    return rc;
}

static int sse_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                        ev_sub **out, ev_err *err)
{
    return sse_sub_open_groups(state, ri, group, 1, out, err);
}

static int sse_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    int64_t now = ev_mono_ns(), deadline = now + timeout_ns;
    if (!s->started) {
        s->started = 1;
        ev_fleet_start(s->src->fleet, now);
    }
    if (s->qlen == 0) {
        ev_buf_reset(&s->arena); /* the previous recv's deliveries are released now */
        s->qhead = 0;
        for (;;) {
            int64_t next = housekeeping(s, now);
            if (s->fatal)
                break;
            if (s->qlen > 0 || now >= deadline)
                break;
            drive(s, next < deadline ? next : deadline);
            now = ev_mono_ns();
        }
    }
    if (s->fatal) {
        *err = s->fatal_err;
        return -1;
    }
    if ((size_t)max * HDRS_PER_DELIVERY > s->hdrcap) {
        ev_ce_attr *h = realloc(s->hdr, (size_t)max * HDRS_PER_DELIVERY * sizeof *h);
        if (!h)
            return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
        s->hdr = h;
        s->hdrcap = (size_t)max * HDRS_PER_DELIVERY;
    }
    int k = s->qlen < (size_t)max ? (int)s->qlen : max;
    for (int j = 0; j < k; j++) {
        const qent *e = &s->q[s->qhead + (size_t)j];
        const char *a = s->arena.p;
        ev_ce_attr *h = &s->hdr[(size_t)j * HDRS_PER_DELIVERY];
        size_t nh = 0;
        if (e->id_len)
            h[nh++] = (ev_ce_attr){"id", 2, a + e->id_off, e->id_len};
        h[nh++] = (ev_ce_attr){"event", 5, a + e->type_off, e->type_len};
        d[j] = (ev_delivery){.body = a + e->off,
                             .len = e->len,
                             .headers = h,
                             .nheaders = nh,
                             .recv_wall_ns = e->wall,
                             .group = s->c[e->c].g - s->g0};
    }
    s->qhead += (size_t)k;
    s->qlen -= (size_t)k;
    return k;
}

const ev_sub_ops ev_sse_sub_ops = {
    .open = sse_sub_open,
    .open_groups = sse_sub_open_groups,
    .recv = sse_sub_recv,
    .ack = NULL,
    .close = sse_sub_close,
};
