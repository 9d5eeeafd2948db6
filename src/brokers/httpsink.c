/* httpsink — the embedded CloudEvents HTTP receiver (see httpsink.h).
 *
 * Design notes.
 * - The listening socket is evload's own (bind, listen) and handed to
 *   libmicrohttpd with MHD_OPTION_LISTEN_SOCKET, so that a port in use is
 *   reported with errno and the address, and the sink is ready before
 *   setup() returns (the consumers' ready barrier needs nothing else).
 * - A request is judged on its last callback, once the body is in: its ids
 *   (ce-id, the structured event's id, or each batch element's), the attempt
 *   (1 + earlier arrivals of its first id), then the fault and the delay from
 *   a hash of (seed, first id, attempt): the same ids get the same answers
 *   run after run, whatever the timing. The audit looks at every arrival of
 *   an id whose last answer was a rejection. The answer itself (booking,
 *   queueing the deliveries, the response) happens at once or, when
 *   delayed, after the timer thread resumes the suspended connection; a
 *   delivery's receive time is when it was answered.
 * - A reset sets SO_LINGER 0 on the connection's socket and refuses the
 *   request, so the kernel answers with RST instead of a response.
 * - The id table is a chained hash table of the ids seen (about 64 bytes
 *   each); `open` lists the ids whose last answer was a rejection and that
 *   have not been accepted since: the pending evidence (depth) and, at the
 *   end, the audit's "never retried". */
#include "brokers/httpsink.h"

#include "brokers/http.h"
#include "ev_buf.h"
#include "ev_clock.h"

#include <arpa/inet.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BODY (16u << 20)
#define MAX_HEADERS 64

const char *const ev_sink_fault_names[EV_SINK_NFAULTS] = {"202", "429",   "503",
                                                          "500", "reset", "400"};
const char *const ev_sink_audit_names[EV_AUDIT_NCLASSES] = {"honoured", "too_early",
                                                            "never_retried", "after_final"};

struct ev_sink_id {
    ev_sink_id *next; /* hash chain */
    uint32_t arrivals, rejected;
    int accepted;
    int last_fault; /* EV_SINK_* of the last answer */
    int pending;    /* the last answer was a rejection, no arrival since */
    int64_t last_reject, need_ns;
    size_t open_idx; /* in s->open, or SIZE_MAX */
    char id[];
};

/* A delayed answer waiting for the timer thread. */
struct ev_sink_wait {
    int64_t due;
    struct MHD_Connection *conn;
};

/* One request in progress. */
typedef struct req_ctx {
    ev_buf body;
    int state; /* 0 receiving, 1 suspended (delayed), 2 resumed */
    int fault;
    int too_large;
    ev_sink_item *items; /* what an accepted answer delivers */
    size_t nitems;
    ev_sink_id **ids; /* the request's ids (entries of the table) */
    size_t nids;
} req_ctx;

/* ---- hashing -------------------------------------------------------------- */

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
    return h;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/* Uniform in [0, 1) from (seed, key, attempt, salt). */
static double u01(uint64_t seed, uint64_t key, uint32_t attempt, uint32_t salt)
{
    uint64_t x = mix(seed ^ mix(key ^ mix(((uint64_t)attempt << 8) | salt)));
    return (double)(x >> 11) / 9007199254740992.0;
}

/* ---- the id table (under mu) ------------------------------------------------- */

static ev_sink_id *id_get(ev_sink *s, const char *id, size_t n)
{
    if (s->nids * 2 >= s->tabn) {
        size_t nn = s->tabn ? s->tabn * 2 : 4096;
        ev_sink_id **t = calloc(nn, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < s->tabn; i++)
            for (ev_sink_id *e = s->tab[i], *next; e; e = next) {
                next = e->next;
                size_t b = fnv(e->id, strlen(e->id)) & (nn - 1);
                e->next = t[b];
                t[b] = e;
            }
        free(s->tab);
        s->tab = t;
        s->tabn = nn;
    }
    size_t b = fnv(id, n) & (s->tabn - 1);
    for (ev_sink_id *e = s->tab[b]; e; e = e->next)
        if (!strncmp(e->id, id, n) && !e->id[n])
            return e;
    ev_sink_id *e = calloc(1, sizeof *e + n + 1);
    if (!e)
        return NULL;
    memcpy(e->id, id, n);
    e->open_idx = SIZE_MAX;
    e->next = s->tab[b];
    s->tab[b] = e;
    s->nids++;
    return e;
}

static void open_add(ev_sink *s, ev_sink_id *e)
{
    if (e->open_idx != SIZE_MAX)
        return;
    if (s->nopen == s->capopen) {
        size_t cap = s->capopen ? s->capopen * 2 : 256;
        ev_sink_id **o = realloc(s->open, cap * sizeof *o);
        if (!o)
            return; /* pending evidence is then short of this id */
        s->open = o;
        s->capopen = cap;
    }
    e->open_idx = s->nopen;
    s->open[s->nopen++] = e;
}

static void open_del(ev_sink *s, ev_sink_id *e)
{
    if (e->open_idx == SIZE_MAX)
        return;
    ev_sink_id *last = s->open[--s->nopen];
    s->open[e->open_idx] = last;
    last->open_idx = e->open_idx;
    e->open_idx = SIZE_MAX;
}

/* ---- request parsing --------------------------------------------------------- */

typedef struct hdrs {
    const char *name[MAX_HEADERS], *value[MAX_HEADERS];
    size_t n;
    const char *ct, *ce_id;
} hdrs;

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    hdrs *h = cls;
    if (!key)
        return MHD_YES;
    if (!value)
        value = "";
    if (!strcasecmp(key, "Content-Type"))
        h->ct = value;
    if (!strcasecmp(key, "ce-id"))
        h->ce_id = value;
    if (h->n < MAX_HEADERS) {
        h->name[h->n] = key;
        h->value[h->n] = value;
        h->n++;
    }
    return MHD_YES;
}

/* A new item: body[0..len) and the headers, `ce-` values decoded. */
static ev_sink_item *item_new(const char *body, size_t len, const hdrs *h, int batched)
{
    size_t need = len + 1;
    for (size_t i = 0; i < h->n; i++)
        need += strlen(h->name[i]) + strlen(h->value[i]) + 2;
    ev_sink_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->mem = malloc(need);
    it->headers = calloc(h->n ? h->n : 1, sizeof *it->headers);
    if (!it->mem || !it->headers) {
        ev_sink_item_free(it);
        return NULL;
    }
    char *p = it->mem;
    memcpy(p, body, len);
    p[len] = '\0';
    it->body = p;
    it->len = len;
    p += len + 1;
    for (size_t i = 0; i < h->n; i++) {
        size_t nl = strlen(h->name[i]), vl = strlen(h->value[i]);
        memcpy(p, h->name[i], nl + 1);
        const char *name = p;
        p += nl + 1;
        long dl = -1;
        if (!strncasecmp(name, "ce-", 3))
            dl = ev_http_pct_decode(h->value[i], vl, p, vl + 1);
        if (dl < 0) { /* not a ce- header, or a bad escape: kept as sent */
            memcpy(p, h->value[i], vl + 1);
            dl = (long)vl;
        }
        it->headers[it->nheaders++] =
            (ev_ce_attr){.name = name, .name_len = nl, .value = p, .value_len = (size_t)dl};
        p += vl + 1;
    }
    it->batched = batched;
    return it;
}

void ev_sink_item_free(ev_sink_item *it)
{
    if (!it)
        return;
    free(it->mem);
    free(it->headers);
    free(it);
}

/* The end of the JSON value starting at s[i] (skipping strings), or SIZE_MAX. */
static size_t value_end(const char *s, size_t n, size_t i)
{
    int depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            if (i >= n)
                return SIZE_MAX;
            if (!depth)
                return i + 1;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (--depth == 0)
                return i + 1;
            if (depth < 0)
                return SIZE_MAX;
        } else if (!depth && (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t'))
            return i;
    }
    return depth ? SIZE_MAX : n;
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The "id" of a structured event (copied into buf), or 0. */
static size_t json_id(const char *body, size_t len, char *buf, size_t size)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *v = root ? json_object_get(root, "id") : NULL;
    size_t n = 0;
    if (json_is_string(v)) {
        n = json_string_length(v);
        if (n >= size)
            n = 0;
        else
            memcpy(buf, json_string_value(v), n + 1);
    }
    json_decref(root);
    return n;
}

static int add_id(ev_sink *s, req_ctx *c, const char *id, size_t n)
{
    ev_sink_id **ids = realloc(c->ids, (c->nids + 1) * sizeof *ids);
    if (!ids)
        return -1;
    c->ids = ids;
    pthread_mutex_lock(&s->mu);
    ev_sink_id *e = id_get(s, id, n);
    pthread_mutex_unlock(&s->mu);
    if (!e)
        return -1;
    c->ids[c->nids++] = e;
    return 0;
}

static int add_item(req_ctx *c, ev_sink_item *it)
{
    if (!it)
        return -1;
    it->next = c->items;
    c->items = it;
    c->nitems++;
    return 0;
}

/* Splits the request into deliveries and finds its ids. 0 or -1 (memory). */
static int parse_request(ev_sink *s, req_ctx *c, const hdrs *h)
{
    const char *b = c->body.p ? c->body.p : "";
    size_t n = c->body.len;
    char id[512];
    if (h->ct && !strncasecmp(h->ct, "application/cloudevents-batch", 29)) {
        size_t i = skip_ws(b, n, 0);
        if (i >= n || b[i] != '[')
            return add_item(c, item_new(b, n, h, 1)); /* not a batch: foreign */
        i = skip_ws(b, n, i + 1);
        while (i < n && b[i] != ']') {
            size_t e = value_end(b, n, i);
            if (e == SIZE_MAX)
                break;
            if (add_item(c, item_new(b + i, e - i, h, 1)))
                return -1;
            size_t idn = json_id(b + i, e - i, id, sizeof id);
            if (idn && add_id(s, c, id, idn))
                return -1;
            i = skip_ws(b, n, e);
            if (i < n && b[i] == ',')
                i = skip_ws(b, n, i + 1);
        }
        return 0;
    }
    if (add_item(c, item_new(b, n, h, 0)))
        return -1;
    if (h->ct && !strncasecmp(h->ct, "application/cloudevents", 23)) {
        size_t idn = json_id(b, n, id, sizeof id);
        return idn ? add_id(s, c, id, idn) : 0;
    }
    if (h->ce_id) {
        long dl = ev_http_pct_decode(h->ce_id, strlen(h->ce_id), id, sizeof id);
        if (dl > 0)
            return add_id(s, c, id, (size_t)dl);
    }
    return 0;
}

/* ---- judging ------------------------------------------------------------------- */

/* The arrival of the request's ids: audit, attempt, fault and delay. */
static int64_t judge(ev_sink *s, req_ctx *c, int64_t now)
{
    const ev_sink_knobs *k = &s->k;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    uint32_t attempt = 1;
    for (size_t i = 0; i < c->nids; i++) {
        ev_sink_id *e = c->ids[i];
        if (e->pending) {
            int cls = e->last_fault == EV_SINK_400 ? EV_AUDIT_AFTER_FINAL
                      : e->need_ns && now - e->last_reject + EV_SINK_AUDIT_SLACK_NS < e->need_ns
                          ? EV_AUDIT_TOO_EARLY
                          : EV_AUDIT_HONOURED;
            s->audit[e->last_fault][cls]++;
            e->pending = 0;
        }
        if (!i)
            attempt = ++e->arrivals;
        else
            e->arrivals++;
    }
    if (!c->nids)
        s->no_id++;
    pthread_mutex_unlock(&s->mu);
    uint64_t key = c->nids ? fnv(c->ids[0]->id, strlen(c->ids[0]->id))
                           : fnv(c->body.p ? c->body.p : "", c->body.len);
    double u = u01(k->seed, key, attempt, 0), acc = 0;
    c->fault = EV_SINK_OK;
    for (int f = EV_SINK_429; f < EV_SINK_NFAULTS; f++) {
        acc += k->p[f];
        if (u < acc) {
            c->fault = f;
            break;
        }
    }
    if (k->delay_max_ns <= 0 || u01(k->seed, key, attempt, 1) >= k->delay_p)
        return 0;
    uint64_t span = (uint64_t)(k->delay_max_ns - k->delay_min_ns);
    return k->delay_min_ns + (span ? (int64_t)(mix(key ^ attempt ^ k->seed ^ 2) % (span + 1)) : 0);
}

/* Books the answer and queues the deliveries of an accepted request. */
static void book(ev_sink *s, req_ctx *c)
{
    int64_t now = ev_mono_ns(), wall = ev_wall_ns();
    pthread_mutex_lock(&s->mu);
    s->answered[c->fault]++;
    if (c->fault == EV_SINK_OK) {
        for (size_t i = 0; i < c->nids; i++) {
            ev_sink_id *e = c->ids[i];
            if (e->accepted)
                s->accepted_again++;
            else
                s->accepted_first++;
            e->accepted = 1;
            e->last_fault = EV_SINK_OK;
            open_del(s, e);
        }
        /* items were prepended: reverse to keep the request's order */
        ev_sink_item *rev = NULL;
        for (ev_sink_item *it = c->items, *next; it; it = next) {
            next = it->next;
            it->next = rev;
            rev = it;
        }
        for (ev_sink_item *it = rev; it; it = it->next) {
            it->recv_wall_ns = wall;
            s->events++;
        }
        if (rev) {
            ev_sink_item *last = rev;
            while (last->next)
                last = last->next;
            if (s->tail)
                s->tail->next = rev;
            else
                s->head = rev;
            s->tail = last;
            s->qlen += c->nitems;
        }
        c->items = NULL;
        c->nitems = 0;
        pthread_cond_broadcast(&s->cv);
    } else {
        s->injected[c->fault]++;
        s->rejected_attempts += c->nids;
        for (size_t i = 0; i < c->nids; i++) {
            ev_sink_id *e = c->ids[i];
            e->rejected++;
            e->pending = 1;
            e->last_fault = c->fault;
            e->last_reject = now;
            e->need_ns =
                c->fault == EV_SINK_429 || c->fault == EV_SINK_503 ? s->k.retry_after_ns : 0;
            if (!e->accepted)
                open_add(s, e);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* Answers a judged request (now, or after its delay). */
static enum MHD_Result answer(ev_sink *s, struct MHD_Connection *conn, req_ctx *c)
{
    book(s, c);
    if (c->fault == EV_SINK_RESET) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        return MHD_NO; /* closes the connection: RST */
    }
    static const unsigned codes[EV_SINK_NFAULTS] = {202, 429, 503, 500, 0, 400};
    return MHD_queue_response(conn, codes[c->fault], s->resp[c->fault]);
}

/* ---- the timer thread ---------------------------------------------------------- */

static void heap_push(ev_sink *s, int64_t due, struct MHD_Connection *conn)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 256;
        struct ev_sink_wait **h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return;
        s->heap = h;
        s->capheap = cap;
    }
    struct ev_sink_wait *w = malloc(sizeof *w);
    if (!w)
        return;
    w->due = due;
    w->conn = conn;
    size_t i = s->nheap++;
    while (i && s->heap[(i - 1) / 2]->due > due) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = w;
}

static struct ev_sink_wait *heap_pop(ev_sink *s)
{
    struct ev_sink_wait *top = s->heap[0], *last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= s->nheap)
            break;
        m = l + 1 < s->nheap && s->heap[l + 1]->due < s->heap[l]->due ? l + 1 : l;
        if (s->heap[m]->due >= last->due)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->nheap)
        s->heap[i] = last;
    return top;
}

static void *timer_main(void *arg)
{
    ev_sink *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int stopping = atomic_load(&s->stopping);
        int64_t now = ev_mono_ns();
        while (s->nheap && (stopping || s->heap[0]->due <= now)) {
            struct ev_sink_wait *w = heap_pop(s);
            pthread_mutex_unlock(&s->mu);
            MHD_resume_connection(w->conn);
            free(w);
            pthread_mutex_lock(&s->mu);
        }
        if (stopping)
            break;
        if (s->nheap) {
            int64_t due = s->heap[0]->due;
            struct timespec ts = {.tv_sec = (time_t)(due / EV_NS_PER_S),
                                  .tv_nsec = (long)(due % EV_NS_PER_S)};
            pthread_cond_timedwait(&s->tcv, &s->mu, &ts);
        } else {
            pthread_cond_wait(&s->tcv, &s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    ev_sink *s = cls;
    req_ctx *c = *con_cls;
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return MHD_NO;
        *con_cls = c;
        return MHD_YES;
    }
    if (c->state == 2)
        return answer(s, conn, c);
    if (*upload_data_size) {
        if (c->body.len + *upload_data_size > MAX_BODY)
            c->too_large = 1;
        else if (ev_buf_append(&c->body, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") && strcmp(method, "PUT")) {
        pthread_mutex_lock(&s->mu);
        s->bad_method++;
        pthread_mutex_unlock(&s->mu);
        return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, s->resp405);
    }
    if (strcmp(url, s->path)) {
        pthread_mutex_lock(&s->mu);
        s->not_found++;
        pthread_mutex_unlock(&s->mu);
        return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, s->resp404);
    }
    if (c->too_large) {
        pthread_mutex_lock(&s->mu);
        s->too_large++;
        pthread_mutex_unlock(&s->mu);
        return MHD_queue_response(conn, 413, s->resp413);
    }
    hdrs h = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &h);
    if (parse_request(s, c, &h))
        return MHD_NO;
    int64_t delay = judge(s, c, ev_mono_ns());
    if (delay <= 0 || atomic_load(&s->stopping))
        return answer(s, conn, c);
    c->state = 2; /* the next call, after the resume, answers */
    MHD_suspend_connection(conn);
    pthread_mutex_lock(&s->mu);
    s->delayed++;
    ev_hist_record(s->delay_ns, delay);
    heap_push(s, ev_mono_ns() + delay, conn);
    pthread_cond_signal(&s->tcv);
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_ctx *c = *con_cls;
    if (!c)
        return;
    for (ev_sink_item *it = c->items, *next; it; it = next) {
        next = it->next;
        ev_sink_item_free(it);
    }
    ev_buf_free(&c->body);
    free(c->ids);
    free(c);
    *con_cls = NULL;
}

/* ---- start and stop -------------------------------------------------------------- */

static int listen_on(ev_sink *s, const char *host, int port, ev_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int g = getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai);
    if (g)
        return ev_err_set(err, EV_ECONNECT, "http-sink %s: cannot resolve \"%s\": %s", s->redacted,
                          host, gai_strerror(g));
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return ev_err_set(err, EV_ECONNECT, "http-sink %s: cannot listen on %s:%d: %s%s",
                          s->redacted, host[0] ? host : "*", port, strerror(e),
                          e == EADDRINUSE ? " (another process has that port)" : "");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s->fd = fd;
    snprintf(s->addr, sizeof s->addr, "%s:%d", host[0] ? host : "*", port);
    return EV_OK;
}

extern const ev_broker ev_broker_httpsink;

static const ev_param sink_params[] = {
    {"throttle", EV_PT_PROB, "0", 0, 0, NULL, 0, "share of attempts answered 429 with Retry-After"},
    {"unavailable", EV_PT_PROB, "0", 0, 0, NULL, 0, "share answered 503 with Retry-After"},
    {"error", EV_PT_PROB, "0", 0, 0, NULL, 0, "share answered 500 (retryable, no Retry-After)"},
    {"reset", EV_PT_PROB, "0", 0, 0, NULL, 0, "share whose connection is reset, no answer"},
    {"reject", EV_PT_PROB, "0", 0, 0, NULL, 0, "share answered 400: final, must not be retried"},
    {"retry_after", EV_PT_DURATION, "1s", EV_NS_PER_S, 3600 * EV_NS_PER_S, NULL, 0,
     "the Retry-After of 429 and 503 answers (whole seconds)"},
    {"delay", EV_PT_DURRANGE, "0s", 0, 3600 * EV_NS_PER_S, NULL, 0,
     "answer this late (or uniformly MIN..MAX), without a thread waiting per request"},
    {"delay_p", EV_PT_PROB, "1", 0, 0, NULL, 0, "share of attempts that are delayed"},
    {"seed", EV_PT_INT, "1", 0, 0, NULL, 0, "seed of the fault decisions (per id and attempt)"},
    {"threads", EV_PT_INT, "2", 1, 64, NULL, 0, "server threads"},
    {"retry_horizon", EV_PT_DURATION, "10s", 0, 0, NULL, 0,
     "a rejected event may still come back this long after its Retry-After (pending)"},
    {NULL},
};

int ev_sink_start(const ev_run_info *ri, ev_sink **out, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    ev_sink *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->fd = -1;
    s->redacted = u->redacted;
    s->k.p[EV_SINK_429] = ev_param_num(ps, "throttle");
    s->k.p[EV_SINK_503] = ev_param_num(ps, "unavailable");
    s->k.p[EV_SINK_500] = ev_param_num(ps, "error");
    s->k.p[EV_SINK_RESET] = ev_param_num(ps, "reset");
    s->k.p[EV_SINK_400] = ev_param_num(ps, "reject");
    s->k.retry_after_ns = ev_param_dur(ps, "retry_after") / EV_NS_PER_S * EV_NS_PER_S;
    ev_param_durrange(ps, "delay", &s->k.delay_min_ns, &s->k.delay_max_ns);
    s->k.delay_p = ev_param_num(ps, "delay_p");
    s->k.seed = (uint64_t)ev_param_int(ps, "seed");
    s->k.horizon_ns = ev_param_dur(ps, "retry_horizon");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->tcv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->stopping, 0);
    int rc = EV_OK;
    size_t pl = strlen(u->path);
    if (!(s->path = malloc(pl + 2)) || !(s->delay_ns = ev_hist_new())) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto fail;
    }
    s->path[0] = '/';
    memcpy(s->path + 1, u->path, pl + 1);
    char ra[24];
    snprintf(ra, sizeof ra, "%lld", (long long)(s->k.retry_after_ns / EV_NS_PER_S));
    for (int f = 0; f < EV_SINK_NFAULTS; f++) {
        if (!(s->resp[f] = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "",
                                                           MHD_RESPMEM_PERSISTENT))) {
            rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
            goto fail;
        }
        if (f == EV_SINK_429 || f == EV_SINK_503)
            MHD_add_response_header(s->resp[f], "Retry-After", ra);
    }
    s->resp404 = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    s->resp405 = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    s->resp413 = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    if (!s->resp404 || !s->resp405 || !s->resp413) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto fail;
    }
    MHD_add_response_header(s->resp405, "Allow", "POST, PUT");
    if ((rc = listen_on(s, u->host, u->port, err)))
        goto fail;
    if (pthread_create(&s->timer, NULL, timer_main, s)) {
        rc = ev_err_set(err, EV_EINTERNAL, "cannot start the sink's timer thread");
        goto fail;
    }
    s->timer_started = 1;
    unsigned threads = (unsigned)ev_param_int(ps, "threads");
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
        on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 10000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!s->d) {
        rc = ev_err_set(err, EV_ECONNECT, "http-sink %s: libmicrohttpd could not start on %s",
                        s->redacted, s->addr);
        goto fail;
    }
    *out = s;
    return EV_OK;
fail:
    ev_sink_stop(s);
    return rc;
}

void ev_sink_stop(ev_sink *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    if (s->timer_started) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->tcv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->timer, NULL); /* it resumes every delayed connection first */
    }
    if (s->d) {
        /* Let the resumed connections be answered before the daemon stops:
         * stopping with connections still suspended violates the API. */
        pthread_mutex_lock(&s->mu);
        uint64_t delayed = s->delayed;
        pthread_mutex_unlock(&s->mu);
        if (delayed)
            ev_sleep_until(ev_mono_ns() + 50 * EV_NS_PER_MS, NULL);
        MHD_stop_daemon(s->d);
    }
    if (s->fd >= 0)
        close(s->fd);
    for (int f = 0; f < EV_SINK_NFAULTS; f++)
        if (s->resp[f])
            MHD_destroy_response(s->resp[f]);
    if (s->resp404)
        MHD_destroy_response(s->resp404);
    if (s->resp405)
        MHD_destroy_response(s->resp405);
    if (s->resp413)
        MHD_destroy_response(s->resp413);
    for (ev_sink_item *it = s->head, *next; it; it = next) {
        next = it->next;
        ev_sink_item_free(it);
    }
    for (size_t i = 0; i < s->tabn; i++)
        for (ev_sink_id *e = s->tab[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    for (size_t i = 0; i < s->nheap; i++)
        free(s->heap[i]);
    free(s->heap);
    free(s->tab);
    free(s->open);
    free(s->path);
    ev_hist_free(s->delay_ns);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->tcv);
    free(s);
}

int ev_sink_take(ev_sink *s, ev_sink_item **out, int max, int64_t timeout_ns,
                 const atomic_int *stop)
{
    int64_t deadline = ev_mono_ns() + timeout_ns;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->head && !(stop && atomic_load(stop))) {
        int64_t wall_deadline = ev_wall_ns() + (deadline - ev_mono_ns());
        if (deadline <= ev_mono_ns())
            break;
        struct timespec ts = {.tv_sec = (time_t)(wall_deadline / EV_NS_PER_S),
                              .tv_nsec = (long)(wall_deadline % EV_NS_PER_S)};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    while (n < max && s->head) {
        ev_sink_item *it = s->head;
        s->head = it->next;
        if (!s->head)
            s->tail = NULL;
        it->next = NULL;
        out[n++] = it;
        s->qlen--;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- the transport ----------------------------------------------------------------- */

static int sink_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    char where[160];
    if (!u->port || strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: expected http-sink://ADDR:PORT/PATH, e.g. "
                          "http-sink://127.0.0.1:8090/events",
                          u->redacted);
    double sum = 0;
    static const char *const keys[] = {"throttle", "unavailable", "error", "reset", "reject"};
    for (size_t i = 0; i < 5; i++)
        sum += ev_param_num(ri->params, keys[i]);
    if (sum > 1.0)
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: throttle + unavailable + error + reset + reject is %.3g; "
                          "they share one draw, so together at most 1",
                          u->redacted, sum);
    if (ri->groups > 1) {
        ev_plan_origin(ri->plan, "verify.groups", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.groups=%u: an HTTP sink is one receiver, so one group "
                          "(verify.consumers share its queue)",
                          where, ri->groups);
    }
    return EV_OK;
}

static int sink_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    ev_sink *s = NULL;
    int rc = ev_sink_start(ri, &s, err);
    if (!rc)
        *state = s;
    return rc;
}

/* Ids whose last answer was a retryable rejection, not accepted since, whose
 * sender may still come back: the pending evidence. */
static int64_t sink_open_now(ev_sink *s)
{
    int64_t now = ev_mono_ns(), n = 0;
    for (size_t i = 0; i < s->nopen; i++) {
        const ev_sink_id *e = s->open[i];
        if (e->last_fault != EV_SINK_400 && now < e->last_reject + e->need_ns + s->k.horizon_ns)
            n++;
    }
    return n;
}

static int64_t sink_depth(void *state)
{
    ev_sink *s = state;
    pthread_mutex_lock(&s->mu);
    int64_t d = (int64_t)s->qlen + sink_open_now(s);
    pthread_mutex_unlock(&s->mu);
    return d;
}

static int64_t sink_group_depth(void *state, uint32_t g)
{
    return sink_depth(state);
}

static void sink_sample(void *state, json_t *point)
{
    ev_sink *s = state;
    pthread_mutex_lock(&s->mu);
    json_object_set_new(point, "sink_queue", json_integer((json_int_t)s->qlen));
    json_object_set_new(point, "sink_delayed_now", json_integer((json_int_t)s->nheap));
    json_object_set_new(point, "sink_rejected_open", json_integer(sink_open_now(s)));
    pthread_mutex_unlock(&s->mu);
}

static void sink_report(void *state, json_t *out)
{
    ev_sink *s = state;
    pthread_mutex_lock(&s->mu);
    json_object_set_new(out, "address", json_string(s->addr));
    json_object_set_new(out, "path", json_string(s->path));
    json_object_set_new(out, "requests", json_integer((json_int_t)s->requests));
    json_t *ans = json_object(), *inj = json_object();
    uint64_t injected = 0;
    for (int f = 0; f < EV_SINK_NFAULTS; f++) {
        json_object_set_new(ans, ev_sink_fault_names[f], json_integer((json_int_t)s->answered[f]));
        if (f != EV_SINK_OK) {
            json_object_set_new(inj, ev_sink_fault_names[f],
                                json_integer((json_int_t)s->injected[f]));
            injected += s->injected[f];
        }
    }
    json_object_set_new(out, "answered", ans);
    json_object_set_new(out, "injected", inj);
    json_object_set_new(out, "injected_total", json_integer((json_int_t)injected));
    json_object_set_new(out, "rejected_attempts", json_integer((json_int_t)s->rejected_attempts));
    json_object_set_new(out, "events", json_integer((json_int_t)s->events));
    json_object_set_new(out, "accepted_first", json_integer((json_int_t)s->accepted_first));
    json_object_set_new(out, "accepted_again", json_integer((json_int_t)s->accepted_again));
    json_object_set_new(out, "ids", json_integer((json_int_t)s->nids));
    json_object_set_new(out, "without_id", json_integer((json_int_t)s->no_id));
    json_object_set_new(out, "not_found", json_integer((json_int_t)s->not_found));
    json_object_set_new(out, "bad_method", json_integer((json_int_t)s->bad_method));
    json_object_set_new(out, "too_large", json_integer((json_int_t)s->too_large));
    json_object_set_new(out, "delayed", json_integer((json_int_t)s->delayed));
    json_t *dl = json_object();
    json_object_set_new(dl, "p50", json_real((double)ev_hist_percentile(s->delay_ns, 50) / 1e6));
    json_object_set_new(
        dl, "min",
        json_real(ev_hist_count(s->delay_ns) ? (double)ev_hist_min(s->delay_ns) / 1e6 : 0.0));
    json_object_set_new(
        dl, "max",
        json_real(ev_hist_count(s->delay_ns) ? (double)ev_hist_max(s->delay_ns) / 1e6 : 0.0));
    json_object_set_new(out, "delay_ms", dl);
    /* The audit: ids still waiting for a retry at the end never came back. */
    uint64_t audit[EV_SINK_NFAULTS][EV_AUDIT_NCLASSES];
    memcpy(audit, s->audit, sizeof audit);
    for (size_t i = 0; i < s->nopen; i++) {
        const ev_sink_id *e = s->open[i];
        if (e->pending)
            audit[e->last_fault]
                 [e->last_fault == EV_SINK_400 ? EV_AUDIT_HONOURED : EV_AUDIT_NEVER]++;
    }
    json_t *au = json_object(), *tot = json_object();
    uint64_t sums[EV_AUDIT_NCLASSES] = {0};
    for (int f = EV_SINK_429; f < EV_SINK_NFAULTS; f++) {
        json_t *o = json_object();
        for (int k = 0; k < EV_AUDIT_NCLASSES; k++) {
            json_object_set_new(o, ev_sink_audit_names[k], json_integer((json_int_t)audit[f][k]));
            sums[k] += audit[f][k];
        }
        json_object_set_new(au, ev_sink_fault_names[f], o);
    }
    for (int k = 0; k < EV_AUDIT_NCLASSES; k++)
        json_object_set_new(tot, ev_sink_audit_names[k], json_integer((json_int_t)sums[k]));
    json_object_set_new(au, "total", tot);
    json_object_set_new(out, "retry_audit", au);
    json_object_set_new(out, "rejected_open_at_end", json_integer(sink_open_now(s)));
    pthread_mutex_unlock(&s->mu);
}

static void sink_teardown(void *state)
{
    ev_sink_stop(state);
}

/* ---- evload http-sink: the sink on its own ------------------------------------------ */

static atomic_int sink_quit;

static void on_signal(int sig)
{
    atomic_store(&sink_quit, 1);
}

/* evload http-sink URL [SECONDS]: serves until SIGINT/SIGTERM (or for
 * SECONDS), taking and dropping every delivery (it verifies nothing: for
 * other clients, benchmarks and tests), then prints its report as JSON. */
static int sink_main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: evload http-sink http-sink://ADDR:PORT/PATH[?knobs] [SECONDS]\n"
                        "  serves CloudEvents until interrupted (or for SECONDS), answering "
                        "with the knobs' faults;\n  prints \"listening ADDR:PORT\", then its "
                        "counts as JSON at the end (docs/http.md)\n");
        return EV_EUSAGE;
    }
    ev_err err = {{0}};
    ev_endpoint *ep = NULL;
    ev_sink *s = NULL;
    int rc = ev_endpoint_open(argv[1], EV_ROLE_VERIFY, &ep, &err);
    if (!rc && ep->br != &ev_broker_httpsink)
        rc = ev_err_set(&err, EV_EUSAGE, "%s is not an http-sink:// URL", ep->url->redacted);
    ev_run_info ri = {0};
    if (!rc) {
        ri = (ev_run_info){.url = ep->url,
                           .params = ep->params,
                           .roles = EV_ROLE_VERIFY,
                           .groups = 1,
                           .consumers = 1,
                           .stop = &sink_quit};
        rc = ev_sink_start(&ri, &s, &err);
    }
    if (rc) {
        fprintf(stderr, "evload: %s\n", err.msg);
        ev_endpoint_free(ep);
        return rc;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("listening %s\n", s->addr);
    fflush(stdout);
    int64_t end = argc == 3 ? ev_mono_ns() + (int64_t)(atof(argv[2]) * 1e9) : INT64_MAX;
    ev_sink_item *items[64];
    while (!atomic_load(&sink_quit) && ev_mono_ns() < end) {
        int n = ev_sink_take(s, items, 64, 100 * EV_NS_PER_MS, &sink_quit);
        for (int i = 0; i < n; i++)
            ev_sink_item_free(items[i]);
    }
    json_t *o = json_object();
    sink_report(s, o);
    char *txt = json_dumps(o, JSON_COMPACT);
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(o);
    ev_sink_stop(s);
    ev_endpoint_free(ep);
    return EV_OK;
}

static const ev_subcommand sink_commands[] = {
    {"http-sink",
     "run the HTTP sink on its own (seeded faults, counts as JSON at the end; docs/http.md)",
     sink_main},
    {NULL, NULL, NULL},
};

const ev_broker ev_broker_httpsink = {
    .name = "http_sink",
    .schemes = (const char *const[]){"http-sink", NULL},
    .summary = "an embedded CloudEvents HTTP receiver to verify at (libmicrohttpd; seeded faults: "
               "429, 503, 500, resets, delays)",
    .example = "http-sink://127.0.0.1:8090/events?throttle=0.1&delay=200ms..800ms",
    .doc = "docs/http.md",
    .roles = EV_ROLE_VERIFY,
    .params = sink_params,
    .commands = sink_commands,
    .configure = sink_configure,
    .setup = sink_setup,
    .depth = sink_depth,
    .group_depth = sink_group_depth,
    .report = sink_report,
    .sample = sink_sample,
    .teardown = sink_teardown,
    .sub = &ev_sink_sub_ops,
};
