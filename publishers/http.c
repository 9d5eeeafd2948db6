/* http publisher — one libcurl multi handle per lane (see src/brokers/http.h).
 *
 * Design notes.
 * - A request (struct req) owns an easy handle, created once and reused, so
 *   its connection cache and TLS session stay warm; the lane keeps the idle
 *   ones on a free list. A request carries one event, or up to `batch`.
 * - send() copies the event (the engine's buffers are borrowed), builds the
 *   request and adds it to the multi handle; nothing is written until poll()
 *   drives the transfers, as broker.h allows. The lane drives them with
 *   curl_multi_socket_action and an epoll set of its own (libcurl's
 *   socket and timer callbacks keep it current), so each wake-up touches only
 *   the connections that have something to do: curl_multi_perform and
 *   curl_multi_poll walk every transfer and every socket on each call, which
 *   cost more than the request itself at a few dozen connections. In batched mode events join
 *   the lane's open request, which leaves when full or `linger` old.
 * - poll() moves due retries into the multi handle, performs, and judges
 *   every finished transfer by ev_http_verdict_of. Acked and failed events
 *   are reported; throttled (429/503) ones wait until the target's pause
 *   ends, retried ones (408, 404, 409, 5xx, transport errors) for a jittered
 *   exponential backoff, both on the lane's wait list, keeping their slot in
 *   the engine's window. A retry is the same event with the same id plus the
 *   extension `evloadattempt` (its attempt number, from 2), as a `ce-` header
 *   in binary mode or a member of each event in structured and batched mode.
 *   After `attempts` attempts, or past retry_deadline, the event fails.
 * - 429/503 move the target's paused_until forward (atomic compare and
 *   swap); hold_until() hands it to the engine, which then sends nothing
 *   while intended times accrue, and no lane starts a request before it.
 * - A 401 or 403 before any request of the target was acked means the
 *   credentials are wrong, not that events are bad: poll() fails with one
 *   line naming the target, and the run ends with exit 3. */
#include "brokers/http.h"

#include "ev_buf.h"
#include "ev_cebind.h"
#include "ev_clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* A copy of one event, kept for retries. */
typedef struct evcopy {
    uint64_t seq;
    int binary;
    ev_buf body;      /* structured JSON, or binary data */
    ev_ce_binary bin; /* binary: attrs point into bin.store */
    ev_buf store;     /* binary: attribute values */
    char ct[128];     /* binary: datacontenttype */
    char trace[EV_TRACEPARENT_LEN + 1];
} evcopy;

typedef struct req {
    struct req *next;     /* free list or wait list */
    struct req *all_next; /* every request of the lane */
    int in_multi;
    CURL *e;
    struct curl_slist *hdrs, *tail; /* our own nodes; tail->next borrows conf.headers */
    ev_buf body;
    ev_buf resp; /* the answer's body, when the flavour judges it */
    evcopy *ev;  /* [cap] */
    size_t n, cap;
    unsigned attempt;
    int64_t first_sent, due, opened;
    ev_http_verdict last;
} req;

/* HTTP/2: a connection carries at most this many streams, then the lane
 * lets them finish and opens a new one. libcurl 7.88.1 resets every stream
 * it is done with (RST_STREAM), and servers protected against "rapid reset"
 * (nghttp2's Debian 12 build, Node) answer about a thousand of those with
 * GOAWAY (docs/client-libraries.md §4.3). */
#define H2_CYCLE 800

struct ev_pub {
    ev_http *h;
    uint32_t lane;
    CURLM *m;
    req *all;                        /* every request, for close */
    req *free_list, *waiting, *open; /* open: the batch being filled */
    size_t active, nwaiting;
    uint64_t rng;
    ev_http_stats st;
    ev_hist *req_ns;
    int ep;           /* epoll set of the transfers' sockets */
    int h2_ready;     /* HTTP/2: a response came on the current connection */
    uint64_t h2_used; /* HTTP/2: transfers started on the current connection */
    int64_t timer_at; /* libcurl's timeout (monotonic ns), or -1 */
    int fatal;
    char why[320];
};

static void copy_free(evcopy *c)
{
    ev_buf_free(&c->body);
    ev_buf_free(&c->store);
}

/* Copies m into c (buffers reused). 0 or -1. */
static int copy_msg(evcopy *c, const ev_msg *m)
{
    c->seq = m->seq;
    c->binary = m->bin != NULL;
    c->trace[0] = '\0';
    if (m->traceparent)
        snprintf(c->trace, sizeof c->trace, "%s", m->traceparent);
    ev_buf_reset(&c->body);
    if (!c->binary)
        return ev_buf_append(&c->body, m->body, m->len);
    const ev_ce_binary *b = m->bin;
    if (ev_buf_append(&c->body, b->body.p ? b->body.p : "", b->body.len))
        return -1;
    ev_buf_reset(&c->store);
    size_t offs[EV_CE_MAX_ATTRS];
    for (size_t i = 0; i < b->nattrs; i++) {
        offs[i] = c->store.len;
        if (ev_buf_append(&c->store, b->attrs[i].value, b->attrs[i].value_len) ||
            ev_buf_append(&c->store, "", 1))
            return -1;
    }
    c->bin.nattrs = b->nattrs;
    for (size_t i = 0; i < b->nattrs; i++)
        c->bin.attrs[i] = (ev_ce_attr){.name = b->attrs[i].name,
                                       .name_len = b->attrs[i].name_len,
                                       .value = c->store.p + offs[i],
                                       .value_len = b->attrs[i].value_len};
    snprintf(c->ct, sizeof c->ct, "%s", b->content_type ? b->content_type : "");
    c->bin.content_type = c->ct[0] ? c->ct : NULL;
    c->bin.body = c->body; /* a view: never freed through bin */
    return 0;
}

static ev_msg msg_of(const evcopy *c)
{
    ev_msg m = {.seq = c->seq, .traceparent = c->trace[0] ? c->trace : NULL};
    if (c->binary)
        m.bin = &c->bin;
    else
        m.body = c->body.p, m.len = c->body.len;
    return m;
}

/* ---- the CloudEvents flavour ------------------------------------------------- */

static int add_hdr(struct curl_slist **l, const char *s)
{
    struct curl_slist *n = curl_slist_append(*l, s);
    if (!n)
        return -1;
    *l = n;
    return 0;
}

/* Appends a structured event, with "evloadattempt" as its first member on a
 * retry (the checksum covers data only, so the event stays intact). */
int ev_http_put_structured(ev_buf *body, const char *json, size_t len, unsigned attempt)
{
    if (attempt < 2 || len < 2 || json[0] != '{')
        return ev_buf_append(body, json, len);
    return ev_buf_puts(body, "{\"evloadattempt\":\"") || ev_buf_putu64(body, attempt) ||
           ev_buf_puts(body, "\",") || ev_buf_append(body, json + 1, len - 1);
}

static int ce_build(const ev_http *h, const ev_msg *m, unsigned attempt, ev_buf *body,
                    struct curl_slist **hdrs)
{
    char line[1024], name[64];
    if (m->traceparent) {
        snprintf(line, sizeof line, "traceparent: %s", m->traceparent);
        if (add_hdr(hdrs, line))
            return -1;
    }
    if (!m->bin) {
        return add_hdr(hdrs, "Content-Type: " EV_CE_CONTENT_TYPE) ||
               ev_http_put_structured(body, m->body, m->len, attempt);
    }
    const ev_ce_binary *b = m->bin;
    for (size_t i = 0; i < b->nattrs; i++) {
        size_t nl = ev_ce_bind_header_name(EV_CE_BIND_HTTP, b->attrs[i].name, b->attrs[i].name_len,
                                           name, sizeof name);
        if (!nl)
            continue;
        int o = snprintf(line, sizeof line, "%s: ", name);
        if (!ev_http_pct_encode(b->attrs[i].value, b->attrs[i].value_len, line + o,
                                sizeof line - (size_t)o) ||
            add_hdr(hdrs, line))
            return -1;
    }
    if (attempt >= 2) {
        snprintf(line, sizeof line, "ce-evloadattempt: %u", attempt);
        if (add_hdr(hdrs, line))
            return -1;
    }
    snprintf(line, sizeof line, "Content-Type: %s",
             b->content_type ? b->content_type : EV_CE_DATA_CONTENT_TYPE);
    return add_hdr(hdrs, line) || ev_buf_append(body, b->body.p ? b->body.p : "", b->body.len);
}

const ev_http_flavor ev_http_flavor_ce = {.name = "http", .build = ce_build};

/* ---- requests ------------------------------------------------------------------ */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb;
    if (r->resp.len < 65536)
        ev_buf_append(&r->resp, ptr, n); /* a judge reads at most this much */
    return n;
}

static req *req_get(ev_pub *p)
{
    req *r = p->free_list;
    if (r) {
        p->free_list = r->next;
        r->next = NULL;
        r->n = 0;
        r->attempt = 1;
        return r;
    }
    if (!(r = calloc(1, sizeof *r)))
        return NULL;
    size_t cap = p->h->conf.batch > 1 ? (size_t)p->h->conf.batch : 1;
    if (!(r->ev = calloc(cap, sizeof *r->ev)) || !(r->e = curl_easy_init())) {
        free(r->ev);
        free(r);
        return NULL;
    }
    r->cap = cap;
    r->attempt = 1;
    r->all_next = p->all;
    p->all = r;
    ev_http_easy_common(p->h, r->e);
    curl_easy_setopt(r->e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->e, CURLOPT_CUSTOMREQUEST,
                     strcmp(p->h->conf.method, "POST") ? p->h->conf.method : NULL);
    curl_easy_setopt(r->e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->e, CURLOPT_WRITEDATA, r);
    return r;
}

static void hdrs_clear(req *r)
{
    if (r->tail)
        r->tail->next = NULL; /* conf.headers are not ours */
    curl_slist_free_all(r->hdrs);
    r->hdrs = r->tail = NULL;
}

static void req_put(ev_pub *p, req *r)
{
    hdrs_clear(r);
    r->next = p->free_list;
    p->free_list = r;
}

static void req_free(req *r)
{
    hdrs_clear(r);
    curl_easy_cleanup(r->e);
    for (size_t i = 0; i < r->cap; i++)
        copy_free(&r->ev[i]);
    free(r->ev);
    ev_buf_free(&r->body);
    ev_buf_free(&r->resp);
    free(r);
}

/* Builds r's body and headers for its current attempt. 0 or -1. */
static int req_build(ev_pub *p, req *r)
{
    const ev_http *h = p->h;
    hdrs_clear(r);
    ev_buf_reset(&r->body);
    ev_buf_reset(&r->resp);
    int bad;
    if (h->conf.batch > 1) {
        bad = add_hdr(&r->hdrs, "Content-Type: application/cloudevents-batch+json") ||
              ev_buf_puts(&r->body, "[");
        for (size_t i = 0; !bad && i < r->n; i++)
            bad = (i && ev_buf_puts(&r->body, ",")) ||
                  ev_http_put_structured(&r->body, r->ev[i].body.p, r->ev[i].body.len, r->attempt);
        bad = bad || ev_buf_puts(&r->body, "]");
    } else {
        ev_msg m = msg_of(&r->ev[0]);
        bad = h->fl->build(h, &m, r->attempt, &r->body, &r->hdrs);
    }
    bad = bad || add_hdr(&r->hdrs, "Expect:");
    if (bad)
        return -1;
    for (r->tail = r->hdrs; r->tail->next; r->tail = r->tail->next)
        ;
    r->tail->next = h->conf.headers; /* the user's, last: they may override ours */
    curl_easy_setopt(r->e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->e, CURLOPT_POSTFIELDS, r->body.p ? r->body.p : "");
    curl_easy_setopt(r->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    return 0;
}

static int start(ev_pub *p, req *r)
{
    if (p->h->conf.version != EV_HTTP_V11) {
        int fresh = p->h2_used >= H2_CYCLE; /* gated() let everything finish first */
        if (fresh)
            p->h2_ready = 0, p->h2_used = 0;
        p->h2_used++;
        curl_easy_setopt(r->e, CURLOPT_FRESH_CONNECT, (long)fresh);
    }
    if (p->h->conf.version == EV_HTTP_V2_PRIOR)
        /* libcurl 7.88.1 fails a transfer that reuses a connection made with
         * prior knowledge (CURLE_HTTP2: it sets up HTTP/2 on it a second time;
         * fixed in 8.0.0). Once a connection is up, transfers ask for plain
         * HTTP/2, which takes the multiplexed connection as it is. */
        curl_easy_setopt(r->e, CURLOPT_HTTP_VERSION,
                         p->h2_ready ? (long)CURL_HTTP_VERSION_2_0
                                     : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    if (curl_multi_add_handle(p->m, r->e) != CURLM_OK)
        return -1;
    r->in_multi = 1;
    p->active++;
    p->st.requests++;
    if (r->attempt > 1)
        p->st.retries += r->n;
    return 0;
}

static int64_t paused_until(const ev_pub *p)
{
    return atomic_load_explicit(&p->h->paused_until, memory_order_acquire);
}

/* Queues r to (re)start at r->due. */
static void wait_list(ev_pub *p, req *r)
{
    r->next = p->waiting;
    p->waiting = r;
    p->nwaiting++;
}

/* HTTP/2: until a response has come on the lane's connection only one
 * transfer runs; then every other one finds the multiplexed connection and
 * gets a stream of its own at once, instead of opening connections of its
 * own or waiting for this one (PIPEWAIT), which with h2c prior knowledge
 * would fail in libcurl 7.88.1 (see start(); docs/client-libraries.md §4.3);
 * and no more run than the connections have streams. */
static int gated(const ev_pub *p)
{
    const ev_http_conf *c = &p->h->conf;
    return c->version != EV_HTTP_V11 &&
           ((!p->h2_ready && p->active > 0) || (long)p->active >= c->conns * c->streams ||
            (p->h2_used >= H2_CYCLE && p->active > 0));
}

/* Starts r now, or queues it while the target is paused (or gated). */
static int launch(ev_pub *p, req *r, int64_t now)
{
    r->opened = now;
    int64_t pu = paused_until(p);
    if (gated(p)) {
        r->due = now;
        wait_list(p, r);
        return 0;
    }
    if (pu > now) {
        r->due = pu;
        wait_list(p, r);
        return 0;
    }
    return start(p, r);
}

/* ---- ops ------------------------------------------------------------------------ */

/* libcurl tells which sockets to watch for what. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
    ev_pub *p = ud;
    struct epoll_event ev = {.data.fd = s};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(p->ep, EPOLL_CTL_DEL, s, &ev);
        curl_multi_assign(p->m, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (sockp) {
        epoll_ctl(p->ep, EPOLL_CTL_MOD, s, &ev);
    } else {
        if (epoll_ctl(p->ep, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
            epoll_ctl(p->ep, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(p->m, s, p); /* any non-NULL: "known" */
    }
    return 0;
}

/* ... and when to call it back without socket activity. */
static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    ev_pub *p = ud;
    p->timer_at = timeout_ms < 0 ? -1 : ev_mono_ns() + (int64_t)timeout_ms * EV_NS_PER_MS;
    return 0;
}

static int http_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out,
                         ev_err *err)
{
    ev_http *h = state;
    if (lane == 0) {
        int rc = ev_http_probe(h, err);
        if (rc)
            return rc;
    }
    ev_pub *p = calloc(1, sizeof *p);
    if (!p || !(p->m = curl_multi_init()) || !(p->req_ns = ev_hist_new()) ||
        (p->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        if (p) {
            curl_multi_cleanup(p->m);
            ev_hist_free(p->req_ns);
        }
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    p->h = h;
    p->timer_at = -1;
    curl_multi_setopt(p->m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(p->m, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(p->m, CURLMOPT_TIMERDATA, p);
    p->lane = lane;
    p->rng = 0x9E3779B97F4A7C15u ^ ((uint64_t)(lane + 1) << 32) ^ (uint64_t)ev_mono_ns();
    curl_multi_setopt(p->m, CURLMOPT_MAXCONNECTS, h->conf.conns);
    /* HTTP/2 may need one more while a cycled connection is being closed. */
    long most = h->conf.conns + (h->conf.version != EV_HTTP_V11);
    curl_multi_setopt(p->m, CURLMOPT_MAX_HOST_CONNECTIONS, most);
    curl_multi_setopt(p->m, CURLMOPT_MAX_TOTAL_CONNECTIONS, most);
    if (h->conf.version != EV_HTTP_V11) {
        curl_multi_setopt(p->m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        /* The lane itself keeps at most conns × streams transfers running
         * (gated()); libcurl's own limit has room above that, because it
         * may count a finished stream a moment longer, and a transfer that
         * found no free stream would wait for a new connection. */
        curl_multi_setopt(p->m, CURLMOPT_MAX_CONCURRENT_STREAMS, 2 * h->conf.streams);
    } else {
        curl_multi_setopt(p->m, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    }
    *out = p;
    return EV_OK;
}

static int http_pub_send(ev_pub *p, const ev_msg *m, ev_err *err)
{
    const ev_http *h = p->h;
    int64_t now = ev_mono_ns();
    req *r = p->open;
    if (!r) {
        if (!(r = req_get(p)))
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        r->first_sent = now;
    }
    if (copy_msg(&r->ev[r->n], m)) {
        if (!r->n)
            req_put(p, r);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    r->n++;
    if (h->conf.batch > 1 && r->n < r->cap) {
        p->open = r; /* leaves when full or linger old (poll) */
        return EV_OK;
    }
    p->open = NULL;
    if (req_build(p, r) || launch(p, r, now)) {
        /* Out of memory: the events already in this request are in flight
         * and end unknown at close; the engine counts this one failed. */
        r->n--;
        if (!r->n)
            req_put(p, r);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    return EV_OK;
}

/* The event outcomes of a finished request. */
static int report(ev_pub *p, req *r, int ok, ev_outcome_fn fn, void *ud)
{
    for (size_t i = 0; i < r->n; i++) {
        fn(ud, r->ev[i].seq, ok);
        p->st.attempts[r->attempt <= EV_HTTP_ATTEMPTS_MAX ? r->attempt : EV_HTTP_ATTEMPTS_MAX]++;
        if (ok)
            p->st.events_acked++;
        else
            p->st.events_failed++;
    }
    int n = (int)r->n;
    req_put(p, r);
    return n;
}

/* Keeps "CODE what" as the target's last error (status, or curl's code). */
static void note_error(ev_pub *p, long code, const char *what)
{
    ev_http *h = p->h;
    pthread_mutex_lock(&h->mu);
    snprintf(h->last_error, sizeof h->last_error, "%ld %s", code, what);
    pthread_mutex_unlock(&h->mu);
}

/* Moves the target's pause forward to `until`. */
static void pause_target(ev_pub *p, int64_t until, int64_t now)
{
    ev_http *h = p->h;
    int64_t cur = paused_until(p);
    while (cur < until && !atomic_compare_exchange_weak(&h->paused_until, &cur, until))
        ;
    if (cur < until)
        atomic_fetch_add(&h->paused_ns_total, until - (cur > now ? cur : now));
}

/* Judges one finished transfer. Returns the events reported. */
static int finish(ev_pub *p, req *r, CURLcode rc, ev_outcome_fn fn, void *ud)
{
    ev_http *h = p->h;
    const ev_http_conf *c = &h->conf;
    int64_t now = ev_mono_ns();
    long status = 0, nconn = 0, reqsize = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(r->e, CURLINFO_NUM_CONNECTS, &nconn);
    curl_easy_getinfo(r->e, CURLINFO_REQUEST_SIZE, &reqsize);
    if (nconn > 0)
        p->st.conn_opened += (uint64_t)nconn;
    else if (rc == CURLE_OK)
        p->st.conn_reused++;
    ev_http_verdict v;
    if (rc == CURLE_OK) {
        p->h2_ready = 1;
        curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &status);
        p->st.status[status >= 100 && status < 600 ? status : 0]++;
        curl_off_t tt = 0;
        if (curl_easy_getinfo(r->e, CURLINFO_TOTAL_TIME_T, &tt) == CURLE_OK)
            ev_hist_record(p->req_ns, (int64_t)tt * 1000);
        v = ev_http_verdict_of(status, 1);
        int unroutable = 0;
        if (v == EV_HTTP_ACKED && h->fl->judge) {
            v = h->fl->judge(r->resp.p ? r->resp.p : "", r->resp.len, &unroutable);
            if (unroutable) {
                p->st.unroutable += r->n;
                note_error(p, status, "routed: false (no queue bound to the routing key)");
            }
        }
        if ((status == 401 || status == 403) && !atomic_load(&h->any_ok)) {
            p->st.auth_refused++;
            if (!p->fatal)
                snprintf(p->why, sizeof p->why,
                         "http %s: %ld %s on the first requests: the target refuses the "
                         "credentials (check header= or user:password@)",
                         c->redacted, status, status == 401 ? "Unauthorized" : "Forbidden");
            p->fatal = 1;
            return report(p, r, 0, fn, ud);
        }
        const char *missing = v == EV_HTTP_FAILED && h->fl->missing && !atomic_load(&h->any_ok)
                                  ? h->fl->missing(status, r->resp.p ? r->resp.p : "", r->resp.len)
                                  : NULL;
        if (missing) {
            if (!p->fatal)
                snprintf(p->why, sizeof p->why, "target %s: %ld on the first requests: %s",
                         c->redacted, status, missing);
            p->fatal = 1;
            return report(p, r, 0, fn, ud);
        }
        if (v == EV_HTTP_FAILED && !unroutable)
            note_error(p, status, "(rejected, not retried)");
    } else {
        int kind = ev_http_err_kind(rc);
        p->st.errors[kind]++;
        p->h2_ready = 0; /* the next connection starts with one transfer again */
        v = ev_http_verdict_of(0, reqsize > 0);
        note_error(p, (long)rc, curl_easy_strerror(rc));
    }
    curl_multi_remove_handle(p->m, r->e);
    r->in_multi = 0;
    r->last = v;
    switch (v) {
    case EV_HTTP_ACKED:
        atomic_store_explicit(&h->any_ok, 1, memory_order_relaxed);
        return report(p, r, 1, fn, ud);
    case EV_HTTP_FAILED:
        p->st.rejected_final += r->n;
        return report(p, r, 0, fn, ud);
    case EV_HTTP_THROTTLED:
        p->st.throttled++;
        curl_easy_getinfo(r->e, CURLINFO_RETRY_AFTER, &retry_after);
        r->due = now + ev_http_retry_after_ns((long)retry_after, c->retry_after_default_ns,
                                              c->retry_after_max_ns);
        pause_target(p, r->due, now);
        break;
    case EV_HTTP_RETRY:
    case EV_HTTP_UNKNOWN:
        r->due = now +
                 ev_http_backoff_ns((int)r->attempt, c->backoff_min_ns, c->backoff_max_ns, &p->rng);
        break;
    }
    if ((int)r->attempt >= c->attempts || r->due - r->first_sent > c->retry_deadline_ns) {
        if ((int)r->attempt >= c->attempts)
            p->st.gave_up_attempts += r->n;
        else
            p->st.gave_up_deadline += r->n;
        if (v == EV_HTTP_UNKNOWN)
            p->st.unknown_final += r->n;
        return report(p, r, 0, fn, ud);
    }
    r->attempt++;
    if (req_build(p, r)) {
        snprintf(p->why, sizeof p->why, "out of memory building a retry");
        p->fatal = 1;
        return report(p, r, 0, fn, ud);
    }
    wait_list(p, r);
    return 0;
}

/* Starts every waiting request that is due (and not held by a pause), and
 * the open batch once it is linger old. Returns the earliest time something
 * else becomes due, or INT64_MAX. */
static int64_t submit_due(ev_pub *p, int64_t now)
{
    int64_t next = INT64_MAX, pu = paused_until(p);
    req **pp = &p->waiting;
    while (*pp) {
        req *r = *pp;
        int64_t due = r->due > pu ? r->due : pu;
        if (due <= now && gated(p)) {
            next = now + EV_NS_PER_MS;
            break;
        }
        if (due <= now) {
            *pp = r->next;
            r->next = NULL;
            p->nwaiting--;
            if (start(p, r)) {
                wait_list(p, r); /* cannot happen short of memory: try again later */
                r->due = now + EV_NS_PER_MS;
                return now + EV_NS_PER_MS;
            }
            continue;
        }
        if (due < next)
            next = due;
        pp = &r->next;
    }
    req *o = p->open;
    if (o) {
        int64_t due = o->first_sent + p->h->conf.linger_ns;
        if (due <= now) {
            p->open = NULL;
            if (req_build(p, o) || launch(p, o, now)) {
                snprintf(p->why, sizeof p->why, "out of memory starting a batch");
                p->fatal = 1;
            }
        } else if (due < next) {
            next = due;
        }
    }
    return next;
}

static int collect(ev_pub *p, ev_outcome_fn fn, void *ud)
{
    int n = 0, left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(p->m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = msg->data.result;
        p->active--;
        n += finish(p, r, rc, fn, ud);
    }
    return n;
}

/* Runs libcurl on what is ready: sockets epoll reports within wait_ms
 * (0: none waited for) and an expired timer. CURLM_OK or libcurl's error. */
static CURLMcode drive(ev_pub *p, int wait_ms)
{
    struct epoll_event evs[64];
    int running = 0;
    CURLMcode mc = CURLM_OK;
    int n = epoll_wait(p->ep, evs, 64, wait_ms);
    for (int i = 0; i < n && mc == CURLM_OK; i++) {
        int f = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        mc = curl_multi_socket_action(p->m, evs[i].data.fd, f, &running);
    }
    if (mc == CURLM_OK && p->timer_at >= 0 && p->timer_at <= ev_mono_ns()) {
        p->timer_at = -1;
        mc = curl_multi_socket_action(p->m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return mc;
}

static int http_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    int reported = 0, wait_ms = 0;
    int64_t now = ev_mono_ns(), deadline = now + (timeout_ns > 0 ? timeout_ns : 0);
    for (;;) {
        int64_t next = submit_due(p, now);
        CURLMcode mc = drive(p, wait_ms);
        if (mc != CURLM_OK) {
            ev_err_set(err, EV_ECONNECT, "http %s: libcurl: %s", p->h->conf.redacted,
                       curl_multi_strerror(mc));
            return -1;
        }
        reported += collect(p, fn, ud);
        if (p->fatal) {
            ev_err_set(err, EV_ECONNECT, "%s", p->why);
            return -1;
        }
        now = ev_mono_ns();
        if (reported || timeout_ns <= 0 || now >= deadline)
            return reported;
        int64_t until = next < deadline ? next : deadline;
        if (p->timer_at >= 0 && p->timer_at < until)
            until = p->timer_at;
        wait_ms = until <= now ? 0 : (int)((until - now + EV_NS_PER_MS - 1) / EV_NS_PER_MS);
        now = ev_mono_ns();
    }
}

static int64_t http_pub_hold_until(ev_pub *p)
{
    return paused_until(p);
}

static void http_pub_close(ev_pub *p)
{
    if (!p)
        return;
    ev_http *h = p->h;
    pthread_mutex_lock(&h->mu);
    ev_http_stats *t = &h->tot;
    for (int i = 0; i < 600; i++)
        t->status[i] += p->st.status[i];
    for (int i = 0; i < EV_HTTP_NERR; i++)
        t->errors[i] += p->st.errors[i];
    for (int i = 0; i <= EV_HTTP_ATTEMPTS_MAX; i++)
        t->attempts[i] += p->st.attempts[i];
    t->requests += p->st.requests;
    t->events_acked += p->st.events_acked;
    t->events_failed += p->st.events_failed;
    t->throttled += p->st.throttled;
    t->retries += p->st.retries;
    t->rejected_final += p->st.rejected_final;
    t->gave_up_attempts += p->st.gave_up_attempts;
    t->gave_up_deadline += p->st.gave_up_deadline;
    t->unknown_final += p->st.unknown_final;
    t->conn_opened += p->st.conn_opened;
    t->conn_reused += p->st.conn_reused;
    t->unroutable += p->st.unroutable;
    t->auth_refused += p->st.auth_refused;
    ev_hist_merge(h->req_ns, p->req_ns);
    pthread_mutex_unlock(&h->mu);
    /* Every request: in the multi handle, waiting, open or idle. */
    for (req *r = p->all; r;) {
        req *next = r->all_next;
        if (r->in_multi)
            curl_multi_remove_handle(p->m, r->e);
        req_free(r);
        r = next;
    }
    curl_multi_cleanup(p->m);
    close(p->ep);
    ev_hist_free(p->req_ns);
    free(p);
}

const ev_pub_ops ev_http_pub_ops = {
    .open = http_pub_open,
    .send = http_pub_send,
    .poll = http_pub_poll,
    .close = http_pub_close,
    .hold_until = http_pub_hold_until,
};
