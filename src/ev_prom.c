/* ev_prom — see ev_prom.h. */
#include "ev_prom.h"

#include "ev_json.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Nominal bounds 10 µs … 60 s (1-2-5), each moved up to the end of the HDR
 * slot that holds it: values below 2048 ns are exact slots; above, slots are
 * 2^k ns wide, e.g. 1 ms lies in [999936, 1000447] so its bound is
 * 1000447 ns = 0.001000447 s. Computed once, checked by tests/unit. */
static const int64_t NOMINAL_NS[] = {
    10000,       20000,       50000,       100000,      200000,     500000,
    1000000,     2000000,     5000000,     10000000,    20000000,   50000000,
    100000000,   200000000,   500000000,   1000000000,  2000000000, 5000000000,
    10000000000, 20000000000, 30000000000, 60000000000,
};
#define NB (sizeof NOMINAL_NS / sizeof NOMINAL_NS[0])
static int64_t bounds[NB];
static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

static void bounds_init(void)
{
    for (size_t i = 0; i < NB; i++)
        bounds[i] = ev_hist_highest_equivalent(NOMINAL_NS[i]);
}

const int64_t *ev_prom_bounds(size_t *n)
{
    pthread_once(&bounds_once, bounds_init);
    *n = NB;
    return bounds;
}

/* What one exposition shows: a copy, so formatting needs nothing else. */
typedef struct lat {
    int have;
    uint64_t le[NB], count;
    double sum_s;
} lat;

static const char *const CLASSES[] = {"delivered",   "late",      "pending",    "lost",
                                      "unconfirmed", "recovered", "duplicated", "redelivered",
                                      "reordered",   "corrupted", "foreign",    "unexpected"};
#define NCLASSES (sizeof CLASSES / sizeof CLASSES[0])

typedef struct pstate {
    int have; /* a point arrived */
    char run_id[64], scenario[128], phase[24];
    double t, rate_target, rate_achieved, blocked_s;
    uint64_t sent, acked, failed, received, lost;
    int64_t in_flight, depth;
    lat e2e, ack;
    int finished, verified;
    uint64_t cls[NCLASSES];
    int verdict; /* finished: 0 pass, 1 fail, 2 incomplete */
    uint64_t thresholds_failed;
} pstate;

struct ev_prom {
    pthread_mutex_t mu;
    pstate st; /* under mu */
    int fd;
    int port;
    atomic_int stop;
    pthread_t thread;
    int started;
};

static void lat_fill(lat *l, const ev_hist *h)
{
    pthread_once(&bounds_once, bounds_init);
    memset(l, 0, sizeof *l);
    if (!h)
        return;
    l->have = 1;
    l->count = ev_hist_count(h);
    for (size_t i = 0; i < NB; i++)
        l->le[i] = ev_hist_count_le(h, bounds[i]);
    l->sum_s = ev_hist_mean(h) * (double)l->count / 1e9;
}

/* ---- the exposition --------------------------------------------------- */

static void label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const pstate *s, const char *name, const char *extra, double v)
{
    fprintf(f, "%s{run_id=\"", name);
    label_value(f, s->run_id);
    fprintf(f, "\"%s} %.12g\n", extra ? extra : "", v);
}

static void ns_seconds(int64_t ns, char *b, size_t size)
{
    int n = snprintf(b, size, "%lld.%09lld", (long long)(ns / 1000000000),
                     (long long)(ns % 1000000000));
    while (n > 2 && b[n - 1] == '0' && b[n - 2] != '.')
        b[--n] = 0;
}

static void histogram(FILE *f, const pstate *s, const char *name, const char *help, const lat *l)
{
    char b[64], lb[96];
    if (!l->have)
        return;
    head(f, name, "histogram", help);
    for (size_t i = 0; i < NB; i++) {
        ns_seconds(bounds[i], b, sizeof b);
        snprintf(lb, sizeof lb, ",le=\"%s\"", b);
        char n[128];
        snprintf(n, sizeof n, "%s_bucket", name);
        sample(f, s, n, lb, (double)l->le[i]);
    }
    snprintf(b, sizeof b, "%s_bucket", name);
    sample(f, s, b, ",le=\"+Inf\"", (double)l->count);
    snprintf(b, sizeof b, "%s_sum", name);
    sample(f, s, b, NULL, l->sum_s);
    snprintf(b, sizeof b, "%s_count", name);
    sample(f, s, b, NULL, (double)l->count);
}

static void format(FILE *f, const pstate *s)
{
    pthread_once(&bounds_once, bounds_init);
    head(f, "evload_info", "gauge", "The run being measured (value 1).");
    fputs("evload_info{run_id=\"", f);
    label_value(f, s->run_id);
    fputs("\",scenario=\"", f);
    label_value(f, s->scenario);
    fputs("\",phase=\"", f);
    label_value(f, s->finished ? "finished" : s->phase);
    fputs("\"} 1\n", f);
    if (!s->have)
        return;
    head(f, "evload_run_finished", "gauge",
         "1 once the run has ended and these are its final figures.");
    sample(f, s, "evload_run_finished", NULL, s->finished);
    head(f, "evload_elapsed_seconds", "gauge", "Seconds since publishing started.");
    sample(f, s, "evload_elapsed_seconds", NULL, s->t);
    head(f, "evload_rate_target_events_per_second", "gauge", "The schedule's rate now.");
    sample(f, s, "evload_rate_target_events_per_second", NULL, s->rate_target);
    head(f, "evload_rate_achieved_events_per_second", "gauge",
         "Events sent per second over the last second.");
    sample(f, s, "evload_rate_achieved_events_per_second", NULL, s->rate_achieved);
    head(f, "evload_published_events_total", "counter", "Events the publishers sent.");
    sample(f, s, "evload_published_events_total", NULL, (double)s->sent);
    head(f, "evload_acked_events_total", "counter", "Events the broker acknowledged.");
    sample(f, s, "evload_acked_events_total", NULL, (double)s->acked);
    head(f, "evload_publish_failed_events_total", "counter",
         "Publishes nacked, failed or never confirmed.");
    sample(f, s, "evload_publish_failed_events_total", NULL, (double)s->failed);
    head(f, "evload_received_events_total", "counter",
         "Messages the verifiers took, duplicates included.");
    sample(f, s, "evload_received_events_total", NULL, (double)s->received);
    head(f, "evload_lost_events", "gauge",
         "Acknowledged events not seen: provisional (gaps behind the highest seen) during the run, "
         "the final class once evload_run_finished is 1.");
    sample(f, s, "evload_lost_events", NULL, (double)s->lost);
    head(f, "evload_in_flight_events", "gauge", "Published, not yet acknowledged.");
    sample(f, s, "evload_in_flight_events", NULL, (double)s->in_flight);
    if (s->depth >= 0) {
        head(f, "evload_broker_depth_events", "gauge", "The broker's backlog, where it says.");
        sample(f, s, "evload_broker_depth_events", NULL, (double)s->depth);
    }
    head(f, "evload_blocked_seconds_total", "counter",
         "Time publishers waited on a full in-flight window.");
    sample(f, s, "evload_blocked_seconds_total", NULL, s->blocked_s);
    histogram(f, s, "evload_e2e_latency_seconds",
              "Receive time minus send time of first sightings (warm-up excluded); bucket bounds "
              "are ends of evload's HDR slots, so counts are exact.",
              &s->e2e);
    histogram(f, s, "evload_ack_latency_seconds",
              "Broker acknowledgement minus send (warm-up excluded); bucket bounds are ends of "
              "evload's HDR slots.",
              &s->ack);
    if (s->finished) {
        if (s->verified) {
            head(f, "evload_delivery_events", "gauge",
                 "The final delivery classes (docs/results.md).");
            for (size_t k = 0; k < NCLASSES; k++) {
                char lb[64];
                snprintf(lb, sizeof lb, ",class=\"%s\"", CLASSES[k]);
                sample(f, s, "evload_delivery_events", lb, (double)s->cls[k]);
            }
        }
        head(f, "evload_verdict", "gauge", "The run's verdict: 0 pass, 1 fail, 2 incomplete.");
        sample(f, s, "evload_verdict", NULL, s->verdict);
        head(f, "evload_thresholds_failed", "gauge", "Thresholds that did not hold.");
        sample(f, s, "evload_thresholds_failed", NULL, (double)s->thresholds_failed);
    }
}

/* The final state of one run's results document. -1 on OOM or a malformed
 * histogram. */
static int state_from_doc(pstate *s, const json_t *run)
{
    const json_t *ts = ev_jget(run, "timeseries");
    const json_t *last = json_array_get(ts, json_array_size(ts) ? json_array_size(ts) - 1 : 0);
    memset(s, 0, sizeof *s);
    snprintf(s->run_id, sizeof s->run_id, "%s", ev_jstr(run, "run.id"));
    snprintf(s->scenario, sizeof s->scenario, "%s", ev_jstr(run, "run.scenario"));
    snprintf(s->phase, sizeof s->phase, "finished");
    s->have = s->finished = 1;
    s->t = ev_jnum(last, "t");
    s->rate_target = ev_jnum(run, "publish.rate_target");
    s->rate_achieved = ev_jnum(run, "publish.rate_achieved");
    s->sent = ev_jint(run, "publish.attempted");
    s->acked = ev_jint(run, "publish.acked");
    s->failed = ev_jint(run, "publish.failed");
    s->received = ev_jint(run, "deliver.received");
    s->lost = ev_jint(run, "deliver.lost");
    s->in_flight = (int64_t)ev_jint(last, "in_flight");
    s->depth = json_is_integer(ev_jget(last, "depth")) ? (int64_t)ev_jint(last, "depth") : -1;
    s->blocked_s = ev_jnum(run, "backpressure.blocked_s");
    s->verified = !json_is_false(ev_jget(run, "deliver.verified"));
    for (size_t k = 0; k < NCLASSES; k++) {
        char path[48];
        snprintf(path, sizeof path, "deliver.%s", CLASSES[k]);
        s->cls[k] = ev_jint(run, path);
    }
    const char *v = ev_jstr(run, "verdict");
    s->verdict = !strcmp(v, "pass") ? 0 : !strcmp(v, "fail") ? 1 : 2;
    size_t i;
    const json_t *t;
    json_array_foreach (ev_jget(run, "thresholds"), i, t)
        s->thresholds_failed += !json_is_true(ev_jget(t, "pass"));
    static const char *const paths[2] = {"latency.e2e.hist", "latency.ack.hist"};
    for (int k = 0; k < 2; k++) {
        ev_hist *h = ev_hist_new();
        if (!h)
            return -1;
        int rc = ev_jhist(run, paths[k], h);
        lat_fill(k ? &s->ack : &s->e2e, rc == 0 ? h : NULL);
        ev_hist_free(h);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int ev_prom_text(FILE *f, const json_t *doc, ev_err *err)
{
    const json_t *runs = ev_jget(doc, "runs");
    const json_t *run = json_is_array(runs) && json_array_size(runs)
                            ? json_array_get(runs, json_array_size(runs) - 1)
                            : doc;
    if (!json_is_object(ev_jget(run, "run")))
        return ev_err_set(err, EV_EUSAGE, "not an evload results document (no \"run\")");
    pstate *s = malloc(sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = state_from_doc(s, run);
    if (!rc)
        format(f, s);
    free(s);
    if (rc)
        return ev_err_set(err, EV_EUSAGE, "a latency histogram is malformed");
    return ferror(f) ? ev_err_set(err, EV_EINTERNAL, "write error") : EV_OK;
}

/* ---- the live exporter ------------------------------------------------ */

void ev_prom_update(ev_prom *p, const char *run_id, const char *scenario, const ev_tpoint *tp,
                    const ev_hist *e2e, const ev_hist *ack)
{
    if (!p)
        return;
    lat le, la; /* computed outside the lock: a scrape waits only for the copy */
    lat_fill(&le, e2e);
    lat_fill(&la, ack);
    pthread_mutex_lock(&p->mu);
    pstate *s = &p->st;
    if (s->finished) { /* a sweep's next run: start over */
        memset(s, 0, sizeof *s);
    }
    s->have = 1;
    snprintf(s->run_id, sizeof s->run_id, "%s", run_id ? run_id : "");
    snprintf(s->scenario, sizeof s->scenario, "%s", scenario ? scenario : "");
    snprintf(s->phase, sizeof s->phase, "%s", tp->phase);
    s->t = tp->t;
    s->rate_target = tp->rate_target;
    s->rate_achieved = tp->rate_achieved;
    s->sent = tp->sent, s->acked = tp->acked, s->failed = tp->failed;
    s->received = tp->received, s->lost = tp->lost;
    s->in_flight = tp->in_flight, s->depth = tp->depth;
    s->blocked_s = (double)tp->blocked_ns / 1e9;
    s->e2e = le, s->ack = la;
    pthread_mutex_unlock(&p->mu);
}

void ev_prom_finish(ev_prom *p, const json_t *doc)
{
    if (!p || !doc)
        return;
    const json_t *runs = ev_jget(doc, "runs");
    const json_t *run = json_is_array(runs) && json_array_size(runs)
                            ? json_array_get(runs, json_array_size(runs) - 1)
                            : doc;
    pstate *s = malloc(sizeof *s);
    if (!s)
        return;
    if (state_from_doc(s, run) == 0) {
        pthread_mutex_lock(&p->mu);
        p->st = *s;
        pthread_mutex_unlock(&p->mu);
    }
    free(s);
}

int ev_prom_port(const ev_prom *p)
{
    return p ? p->port : 0;
}

/* Reads the request head (up to a blank line, 8 KiB, or 2 s) and answers. */
static void serve(ev_prom *p, int fd)
{
    char req[8192];
    size_t n = 0;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (n + 1 < sizeof req) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[n] = 0;
    const char *status = "200 OK";
    char *body = NULL;
    size_t blen = 0;
    FILE *m = open_memstream(&body, &blen);
    if (!m)
        return;
    int get = !strncmp(req, "GET ", 4), head_only = !strncmp(req, "HEAD ", 5);
    const char *path = req + (get ? 4 : 5);
    size_t plen = strcspn(path, " ?\r\n");
    if (!get && !head_only) {
        status = "405 Method Not Allowed";
        fputs("GET /metrics\n", m);
    } else if ((plen == 8 && !strncmp(path, "/metrics", 8)) || (plen == 1 && path[0] == '/')) {
        pthread_mutex_lock(&p->mu);
        format(m, &p->st);
        pthread_mutex_unlock(&p->mu);
    } else {
        status = "404 Not Found";
        fputs("evload serves /metrics\n", m);
    }
    if (fclose(m))
        return;
    char hdr[256];
    int hl = snprintf(hdr, sizeof hdr,
                      "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, blen);
    size_t off = 0, total = (size_t)hl + (head_only ? 0 : blen);
    while (off < total) {
        const char *src = off < (size_t)hl ? hdr + off : body + (off - (size_t)hl);
        size_t len = off < (size_t)hl ? (size_t)hl - off : total - off;
        ssize_t w = send(fd, src, len, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(body);
}

static void *server(void *arg)
{
    ev_prom *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        int r = poll(&pfd, 1, 100);
        if (r <= 0)
            continue;
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve(p, c);
        close(c);
    }
    return NULL;
}

int ev_prom_start(const char *addr, ev_prom **out, ev_err *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1])
        return ev_err_set(err, EV_EUSAGE,
                          "--metrics %s: expected HOST:PORT or :PORT, e.g. --metrics :9464", addr);
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host)
        return ev_err_set(err, EV_EUSAGE, "--metrics %s: host too long", addr);
    memcpy(host, addr, hl);
    host[hl] = 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return ev_err_set(err, EV_EUSAGE, "--metrics %s: the port must be 0..65535", addr);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (g)
        return ev_err_set(err, EV_EUSAGE, "--metrics %s: %s", addr, gai_strerror(g));
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 16)) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return ev_err_set(err, EV_EUSAGE, "--metrics %s: cannot listen (%s)", addr,
                          strerror(e ? e : EADDRNOTAVAIL));
    ev_prom *p = calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        p->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    p->fd = fd;
    p->st.depth = -1;
    pthread_mutex_init(&p->mu, NULL);
    atomic_init(&p->stop, 0);
    if (pthread_create(&p->thread, NULL, server, p)) {
        pthread_mutex_destroy(&p->mu);
        close(fd);
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "--metrics: cannot start the server thread");
    }
    p->started = 1;
    int v6 = strchr(host, ':') != NULL;
    fprintf(stderr, "evload: metrics at http://%s%s%s:%d/metrics\n", v6 ? "[" : "",
            host[0] ? host : "0.0.0.0", v6 ? "]" : "", p->port);
    *out = p;
    return EV_OK;
}

void ev_prom_stop(ev_prom *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    if (p->started)
        pthread_join(p->thread, NULL);
    close(p->fd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
