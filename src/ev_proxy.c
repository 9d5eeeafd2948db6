/* ev_proxy — the TCP fault proxy (contracts in ev_proxy.h, usage in
 * docs/faults.md).
 *
 * Design notes
 * - One loop thread: epoll, edge-triggered on every connection socket (no
 *   epoll_ctl per read or write: the loop remembers which side is readable
 *   and writable and clears the flag on EAGAIN), level-triggered on the
 *   listener, an eventfd for control and one timerfd armed at the earliest
 *   deadline of any connection (a chunk's release, a bandwidth refill, a
 *   timeout or reset deadline). Nothing in the loop sleeps.
 * - Each connection is two pipes: p[0] client → upstream (upstream direction)
 *   and p[1] upstream → client (downstream). A pipe reads from its source
 *   into chunks stamped with a release time ("due") and writes due chunks to
 *   its destination in order. With no toxic on a direction and nothing
 *   queued, a read goes straight to the destination (one recv, one send).
 * - Latency delays each chunk as it arrives, like toxiproxy's latency toxic:
 *   due = max(arrival + delay, previous chunk's due), so bytes keep their
 *   order and a uniform range shows up as each chunk's delay or the wait
 *   behind an earlier, longer one.
 * - Memory is bounded: a pipe stops reading while QUEUE_MAX bytes are held,
 *   so TCP pushes back on the sender, as a slow link would.
 * - Control: the toxic table lives behind `mu`; writers bump `gen` and poke
 *   the eventfd; the loop copies the table only when `gen` moved. Counters
 *   are atomics written only by the loop (relaxed: each is one figure). */
#include "ev_proxy.h"

#include "ev_clock.h"
#include "ev_text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define QUEUE_MAX (16u << 20)  /* bytes a pipe holds before it stops reading */
#define READ_BUDGET (1u << 20) /* bytes a pipe reads per turn (fairness) */
#define SCRATCH (64u << 10)    /* one read */
#define CONNECT_TIMEOUT_NS (10 * EV_NS_PER_S)
#define ACCEPT_PAUSE_NS (100 * EV_NS_PER_MS) /* after EMFILE/ENFILE */
#define MAX_UPSTREAM_ADDRS 4
#define HISTORY_MAX 1000
#define MAX_DELAY_NS (3600 * EV_NS_PER_S)

/* ---- toxics: names, parsing, formatting ------------------------------- */

static const char *const kind_names[EV_PROXY_NKINDS] = {
    "latency", "bandwidth", "timeout", "reset", "slicer", "limit_data",
};

const char *ev_proxy_kind_name(ev_proxy_kind kind)
{
    return (unsigned)kind < EV_PROXY_NKINDS ? kind_names[kind] : NULL;
}

static const char *dir_prefix(unsigned dirs)
{
    return dirs == EV_PROXY_UP ? "up" : dirs == EV_PROXY_DOWN ? "down" : "both";
}

/* The direction word s[0..n), or 0. */
static unsigned dir_word(const char *s, size_t n)
{
    static const struct {
        const char *w;
        unsigned d;
    } words[] = {{"up", EV_PROXY_UP},
                 {"upstream", EV_PROXY_UP},
                 {"down", EV_PROXY_DOWN},
                 {"downstream", EV_PROXY_DOWN},
                 {"both", EV_PROXY_BOTH}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].w) == n && !memcmp(words[i].w, s, n))
            return words[i].d;
    return 0;
}

/* Splits an optional leading "DIRECTION:" or "DIRECTION " off text:
 * *dirs = its bits (0 when there is none), returns the rest. */
static const char *split_dir(const char *text, unsigned *dirs)
{
    const char *s = text;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, ": \t=,");
    *dirs = 0;
    if ((s[n] == ':' || s[n] == ' ' || s[n] == '\t') && (*dirs = dir_word(s, n))) {
        s += n + 1;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    return s;
}

static int kind_lookup(const char *name, ev_proxy_kind *out, ev_err *err)
{
    for (int k = 0; k < EV_PROXY_NKINDS; k++)
        if (!strcmp(name, kind_names[k])) {
            *out = (ev_proxy_kind)k;
            return EV_OK;
        }
    char v[EV_SHOW_SIZE(40)];
    ev_show(name, 40, v, sizeof v);
    const char *near = ev_nearest(name, kind_names, EV_PROXY_NKINDS);
    return ev_err_set(err, EV_EUSAGE,
                      "unknown toxic \"%s\"%s%s%s; expected latency, bandwidth, timeout, reset, "
                      "slicer or limit_data (docs/faults.md)",
                      v, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
}

/* A byte count: a decimal number with an optional unit; whole bytes. With
 * per_s, a trailing "/s" is allowed (bandwidth). */
static int parse_size(const char *what, const char *s, int per_s, int64_t *out, ev_err *err)
{
    static const struct {
        const char *u;
        double mult;
    } units[] = {
        {"", 1},     {"B", 1},           {"kB", 1e3}, {"KB", 1e3},          {"KiB", 1024.0},
        {"MB", 1e6}, {"MiB", 1048576.0}, {"GB", 1e9}, {"GiB", 1073741824.0}};
    char v[EV_SHOW_SIZE(40)];
    char *end = NULL;
    ev_show(s, 40, v, sizeof v);
    if (!(*s >= '0' && *s <= '9'))
        goto bad;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s)
        goto bad;
    size_t ul = strlen(end);
    if (per_s && ul >= 2 && !strcmp(end + ul - 2, "/s"))
        ul -= 2;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].u) != ul || memcmp(units[i].u, end, ul))
            continue;
        double b = d * units[i].mult;
        if (!(b >= 0 && b < 9e15) || fabs(b - round(b)) > 1e-6)
            goto bad;
        *out = (int64_t)llround(b);
        return EV_OK;
    }
bad:
    return ev_err_set(err, EV_EUSAGE,
                      "%s \"%s\": expected a byte count such as 512, 64kB, 1MiB (units B, kB, "
                      "KiB, MB, MiB, GB, GiB%s)",
                      what, v, per_s ? "; \"/s\" optional" : "");
}

static int parse_dur(const char *what, const char *s, int64_t *out, ev_err *err)
{
    int rc = ev_parse_duration(s, out, err);
    if (rc)
        ev_err_prefix(err, "%s", what);
    else if (*out > MAX_DELAY_NS)
        rc = ev_err_set(err, EV_EUSAGE, "%s %s: at most 1h", what, s);
    return rc;
}

/* Checks a toxic built by a parser or by a caller of ev_proxy_add. */
static int toxic_check(const ev_proxy_toxic *t, ev_err *err)
{
    const char *n = ev_proxy_kind_name(t->kind);
    if (!n)
        return ev_err_set(err, EV_EUSAGE, "toxic kind %d is not one of ev_proxy_kind",
                          (int)t->kind);
    if (t->kind == EV_PROXY_RESET && t->dirs != EV_PROXY_BOTH)
        return ev_err_set(err, EV_EUSAGE,
                          "reset closes the whole connection: its directions must be both");
    if (t->kind != EV_PROXY_RESET && (t->dirs == 0 || (t->dirs & ~EV_PROXY_BOTH)))
        return ev_err_set(err, EV_EUSAGE, "%s needs a direction: up:%s…, down:%s… or both:%s…", n,
                          n, n, n);
    if (t->min_ns < 0 || t->max_ns < t->min_ns || t->max_ns > MAX_DELAY_NS || t->jitter_ns < 0 ||
        t->jitter_ns > MAX_DELAY_NS || t->after_ns < 0 || t->after_ns > MAX_DELAY_NS ||
        t->delay_ns < 0 || t->delay_ns > MAX_DELAY_NS || t->bytes < 0 || t->variation < 0)
        return ev_err_set(err, EV_EUSAGE,
                          "%s: a value is out of range (durations 0..1h, MIN <= MAX)", n);
    switch (t->kind) {
    case EV_PROXY_BANDWIDTH:
    case EV_PROXY_LIMIT_DATA:
        if (t->bytes < 1)
            return ev_err_set(err, EV_EUSAGE, "%s: expected at least 1 byte%s", n,
                              t->kind == EV_PROXY_BANDWIDTH ? "/s" : "");
        break;
    case EV_PROXY_SLICER:
        if (t->bytes < 1 || t->variation >= t->bytes)
            return ev_err_set(err, EV_EUSAGE,
                              "slicer: the piece size must be at least 1 byte and more than "
                              "its variation");
        break;
    default:
        break;
    }
    return EV_OK;
}

int ev_proxy_ref_parse(const char *text, unsigned *dirs, ev_proxy_kind *kind, ev_err *err)
{
    char name[64];
    const char *s = split_dir(text, dirs);
    size_t n = strcspn(s, " \t\r\n");
    const char *rest = s + n;
    while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
        rest++;
    if (n == 0 || n >= sizeof name || *rest) {
        char v[EV_SHOW_SIZE(60)];
        ev_show(text, 60, v, sizeof v);
        return ev_err_set(err, EV_EUSAGE,
                          "\"%s\": expected [DIRECTION:]NAME, e.g. down:latency (DIRECTION up, "
                          "down or both)",
                          v);
    }
    memcpy(name, s, n);
    name[n] = '\0';
    if (!*dirs)
        *dirs = EV_PROXY_BOTH;
    return kind_lookup(name, kind, err);
}

int ev_proxy_toxic_parse(const char *text, ev_proxy_toxic *out, ev_err *err)
{
    ev_proxy_toxic t;
    memset(&t, 0, sizeof t);
    char buf[256], shown[EV_SHOW_SIZE(80)];
    int rc = EV_OK;
    ev_show(text ? text : "", 80, shown, sizeof shown);
    if (!text || strlen(text) >= sizeof buf)
        return ev_err_set(err, EV_EUSAGE, "toxic \"%s\": expected at most 255 bytes", shown);
    const char *s = split_dir(text, &t.dirs);
    strcpy(buf, s);
    /* Trailing blanks (a line from stdin) are not part of the spec. */
    for (size_t n = strlen(buf); n && strchr(" \t\r\n", buf[n - 1]); n--)
        buf[n - 1] = '\0';
    char *save = NULL, *item = strtok_r(buf, ",", &save);
    if (!item)
        return ev_err_set(err, EV_EUSAGE,
                          "toxic \"%s\": expected [DIRECTION:]NAME[=VALUE][,KEY=VALUE]…, e.g. "
                          "down:latency=200ms..800ms",
                          shown);
    char *value = strchr(item, '=');
    if (value)
        *value++ = '\0';
    if ((rc = kind_lookup(item, &t.kind, err)))
        goto out;
    const char *name = kind_names[t.kind];
    int needs_value = t.kind == EV_PROXY_LATENCY || t.kind == EV_PROXY_BANDWIDTH ||
                      t.kind == EV_PROXY_SLICER || t.kind == EV_PROXY_LIMIT_DATA;
    if (needs_value && (!value || !*value)) {
        static const char *const ex[EV_PROXY_NKINDS] = {"latency=200ms or latency=200ms..800ms",
                                                        "bandwidth=64kB",
                                                        "",
                                                        "",
                                                        "slicer=64",
                                                        "limit_data=10MB"};
        rc = ev_err_set(err, EV_EUSAGE, "%s needs a value, e.g. %s", name, ex[t.kind]);
        goto out;
    }
    if (value && !*value) {
        rc = ev_err_set(err, EV_EUSAGE, "%s=: expected a duration after '=' or nothing", name);
        goto out;
    }
    switch (t.kind) {
    case EV_PROXY_LATENCY: {
        char *dots = strstr(value, "..");
        if (dots) {
            *dots = '\0';
            if ((rc = parse_dur("latency", value, &t.min_ns, err)) ||
                (rc = parse_dur("latency", dots + 2, &t.max_ns, err)))
                goto out;
            if (t.min_ns > t.max_ns) {
                rc =
                    ev_err_set(err, EV_EUSAGE, "latency=%s..%s: MIN is above MAX", value, dots + 2);
                goto out;
            }
        } else {
            if ((rc = parse_dur("latency", value, &t.min_ns, err)))
                goto out;
            t.max_ns = t.min_ns;
        }
        break;
    }
    case EV_PROXY_BANDWIDTH:
        rc = parse_size("bandwidth", value, 1, &t.bytes, err);
        break;
    case EV_PROXY_TIMEOUT:
    case EV_PROXY_RESET:
        if (value)
            rc = parse_dur(name, value, &t.after_ns, err);
        if (t.kind == EV_PROXY_RESET) {
            if (t.dirs && t.dirs != EV_PROXY_BOTH) {
                rc = ev_err_set(err, EV_EUSAGE,
                                "reset closes the whole connection: give it no direction "
                                "(or both:)");
                goto out;
            }
            t.dirs = EV_PROXY_BOTH;
        }
        break;
    case EV_PROXY_SLICER:
        rc = parse_size("slicer", value, 0, &t.bytes, err);
        break;
    case EV_PROXY_LIMIT_DATA:
        rc = parse_size("limit_data", value, 0, &t.bytes, err);
        break;
    default:
        break;
    }
    if (rc)
        goto out;
    /* Options: ",KEY=VALUE" */
    static const char *const lat_opts[] = {"jitter"};
    static const char *const slicer_opts[] = {"variation", "delay"};
    while ((item = strtok_r(NULL, ",", &save))) {
        char *ov = strchr(item, '=');
        const char *const *allowed = t.kind == EV_PROXY_LATENCY  ? lat_opts
                                     : t.kind == EV_PROXY_SLICER ? slicer_opts
                                                                 : NULL;
        size_t nallowed = t.kind == EV_PROXY_LATENCY ? 1 : t.kind == EV_PROXY_SLICER ? 2 : 0;
        if (ov)
            *ov++ = '\0';
        size_t i = 0;
        while (i < nallowed && strcmp(item, allowed[i]))
            i++;
        if (i == nallowed) {
            char v[EV_SHOW_SIZE(40)];
            ev_show(item, 40, v, sizeof v);
            const char *near = nallowed ? ev_nearest(item, allowed, nallowed) : NULL;
            rc = ev_err_set(err, EV_EUSAGE, "%s has no option \"%s\"%s%s%s; %s", name, v,
                            near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "",
                            t.kind == EV_PROXY_LATENCY  ? "it takes jitter=D"
                            : t.kind == EV_PROXY_SLICER ? "it takes variation=SIZE and delay=D"
                                                        : "it takes none");
            goto out;
        }
        if (!ov || !*ov) {
            rc = ev_err_set(err, EV_EUSAGE, "%s: option %s needs a value (%s=…)", name, item, item);
            goto out;
        }
        if (!strcmp(item, "jitter"))
            rc = parse_dur("jitter", ov, &t.jitter_ns, err);
        else if (!strcmp(item, "delay"))
            rc = parse_dur("delay", ov, &t.delay_ns, err);
        else
            rc = parse_size("variation", ov, 0, &t.variation, err);
        if (rc)
            goto out;
    }
    if (!t.dirs && t.kind != EV_PROXY_RESET) {
        rc = ev_err_set(err, EV_EUSAGE, "%s needs a direction: up:%s…, down:%s… or both:%s…", name,
                        name, name, name);
        goto out;
    }
    rc = toxic_check(&t, err);
out:
    if (rc)
        ev_err_prefix(err, "toxic \"%s\"", shown);
    else
        *out = t;
    return rc;
}

/* "64kB", "1MiB", "100B": a size that parses back to b. */
static void format_size(int64_t b, char *buf, size_t size)
{
    static const struct {
        const char *u;
        int64_t m;
    } units[] = {{"GiB", INT64_C(1) << 30}, {"GB", INT64_C(1000000000)}, {"MiB", INT64_C(1) << 20},
                 {"MB", INT64_C(1000000)},  {"KiB", INT64_C(1024)},      {"kB", INT64_C(1000)}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (b >= units[i].m && b % units[i].m == 0) {
            snprintf(buf, size, "%lld%s", (long long)(b / units[i].m), units[i].u);
            return;
        }
    snprintf(buf, size, "%lldB", (long long)b);
}

void ev_proxy_toxic_format(const ev_proxy_toxic *t, char *buf, size_t size)
{
    char a[32], b[32];
    size_t o = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    const char *n = ev_proxy_kind_name(t->kind);
    if (!n)
        return;
    if (t->kind != EV_PROXY_RESET)
        ev_text_put(buf, size, &o, "%s:", dir_prefix(t->dirs));
    ev_text_put(buf, size, &o, "%s", n);
    switch (t->kind) {
    case EV_PROXY_LATENCY:
        ev_format_duration(t->min_ns, a, sizeof a);
        ev_format_duration(t->max_ns, b, sizeof b);
        if (t->min_ns == t->max_ns)
            ev_text_put(buf, size, &o, "=%s", a);
        else
            ev_text_put(buf, size, &o, "=%s..%s", a, b);
        if (t->jitter_ns) {
            ev_format_duration(t->jitter_ns, a, sizeof a);
            ev_text_put(buf, size, &o, ",jitter=%s", a);
        }
        break;
    case EV_PROXY_BANDWIDTH:
    case EV_PROXY_LIMIT_DATA:
        format_size(t->bytes, a, sizeof a);
        ev_text_put(buf, size, &o, "=%s", a);
        break;
    case EV_PROXY_TIMEOUT:
    case EV_PROXY_RESET:
        if (t->after_ns) {
            ev_format_duration(t->after_ns, a, sizeof a);
            ev_text_put(buf, size, &o, "=%s", a);
        }
        break;
    case EV_PROXY_SLICER:
        format_size(t->bytes, a, sizeof a);
        ev_text_put(buf, size, &o, "=%s", a);
        if (t->variation) {
            format_size(t->variation, a, sizeof a);
            ev_text_put(buf, size, &o, ",variation=%s", a);
        }
        if (t->delay_ns) {
            ev_format_duration(t->delay_ns, a, sizeof a);
            ev_text_put(buf, size, &o, ",delay=%s", a);
        }
        break;
    default:
        break;
    }
}

/* ---- the proxy --------------------------------------------------------- */

/* One toxic slot of the table: direction × kind. */
typedef struct slot {
    int on;
    ev_proxy_toxic t;
    int64_t since_ns; /* monotonic time it was added */
    uint64_t version; /* a new one per add: restarts per-connection state */
} slot;

typedef struct chunk {
    struct chunk *next;
    int64_t due_ns; /* not written before this (monotonic) */
    size_t len, off;
    unsigned char data[];
} chunk;

struct conn;

/* One direction of one connection: reads fd[d], writes fd[!d]. */
typedef struct pipe_ {
    chunk *head, *tail;
    size_t queued;      /* bytes held in chunks */
    int64_t last_due;   /* due time of the last chunk queued (keeps order) */
    int eof;            /* the source ended (FIN) */
    int shut;           /* the destination was shut down for writing */
    double tokens;      /* bandwidth bucket */
    int64_t tok_ns;     /* its last refill */
    int64_t limit_used; /* bytes written since limit_data met this pipe */
} pipe_;

/* epoll's data.ptr for one socket of a connection. */
typedef struct side {
    struct conn *c;
    int i; /* 0 client, 1 upstream */
} side;

typedef struct conn {
    struct conn *prev, *next;
    int fd[2];         /* [0] client, [1] upstream */
    int rd[2], wr[2];  /* edge-triggered readiness of each fd */
    int hup[2];        /* its peer's FIN or an error was reported */
    int connected;     /* the upstream connect completed */
    int ai;            /* which upstream address is being tried */
    int closed, dirty; /* closed: waiting to be freed; dirty: to be stepped */
    int64_t opened_ns;
    int64_t due_ns; /* earliest deadline of this connection, 0: none */
    pipe_ p[2];     /* [0] upstream direction, [1] downstream */
    side s[2];
} conn;

/* Per direction counters (ev_proxy_dir_stats). */
typedef struct dir_counters {
    atomic_ullong bytes_in, bytes_out, bytes_delayed, chunks_delayed, bytes_dropped;
} dir_counters;

struct ev_proxy {
    char listen_text[80], upstream_text[280];
    int port;
    int lfd, epfd, evfd, tfd;
    struct sockaddr_storage up_addr[MAX_UPSTREAM_ADDRS];
    socklen_t up_len[MAX_UPSTREAM_ADDRS];
    int nup;
    int64_t t0_ns;

    pthread_t thread;
    int started, joined;
    atomic_int stop;

    /* Control, shared: the table under mu; gen and reset_req bumped by writers. */
    pthread_mutex_t mu;
    slot table[2][EV_PROXY_NKINDS];
    uint64_t next_version;
    json_t *history;
    atomic_uint gen, reset_req;

    /* Loop-only. */
    slot cur[2][EV_PROXY_NKINDS];
    unsigned seen_gen, seen_reset;
    conn *conns, *dead;
    uint64_t rng;
    int64_t timer_at;     /* what the timerfd is armed for, 0: disarmed */
    int64_t accept_pause; /* listener paused until then (EMFILE), 0: not */
    unsigned char scratch[SCRATCH];

    /* Counters: written by the loop, read by anyone. */
    atomic_ullong accepted, active, closed, reset, timed_out, limited, aborted, errors,
        upstream_failed;
    dir_counters dc[2];
};

static void add_ctr(atomic_ullong *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t get_ctr(atomic_ullong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* splitmix64 */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t rnd_range(uint64_t *s, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* ---- addresses --------------------------------------------------------- */

/* Splits "HOST:PORT", "[V6]:PORT" (or, with bare_port, "PORT") into host
 * and port text. EV_EUSAGE naming `what` on a malformed one. */
static int split_addr(const char *what, const char *text, int bare_port, char *host, size_t hsize,
                      char *port, size_t psize, ev_err *err)
{
    const char *colon;
    char v[EV_SHOW_SIZE(80)];
    ev_show(text ? text : "", 80, v, sizeof v);
    if (!text || !*text)
        goto bad;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= hsize || close == text + 1)
            goto bad;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        colon = close + 1;
    } else if ((colon = strrchr(text, ':'))) {
        if (memchr(text, ':', (size_t)(colon - text)) || (size_t)(colon - text) >= hsize ||
            colon == text)
            goto bad; /* an IPv6 literal needs brackets; a host is needed */
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
    } else if (bare_port) {
        snprintf(host, hsize, "127.0.0.1");
        colon = text - 1;
    } else
        goto bad;
    const char *ps = colon + 1;
    size_t pl = strlen(ps);
    if (pl == 0 || pl >= psize || pl > 5 || strspn(ps, "0123456789") != pl)
        goto bad;
    long pn = strtol(ps, NULL, 10);
    if (pn > 65535 || (!bare_port && pn == 0))
        goto bad;
    memcpy(port, ps, pl + 1);
    return EV_OK;
bad:
    return ev_err_set(err, EV_EUSAGE,
                      "%s \"%s\": expected HOST:PORT or [IPV6]:PORT (port %s65535)%s", what, v,
                      bare_port ? "0.." : "1..", bare_port ? ", or a bare PORT on 127.0.0.1" : "");
}

static void format_sockaddr(const struct sockaddr *sa, char *buf, size_t size)
{
    char h[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof h);
        port = ntohs(s6->sin6_port);
        snprintf(buf, size, "[%s]:%d", h, port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, h, sizeof h);
        port = ntohs(s4->sin_port);
        snprintf(buf, size, "%s:%d", h, port);
    }
}

static int epoll_add(ev_proxy *p, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ev_proxy_new(const char *listen_addr, const char *upstream_addr, ev_proxy **out, ev_err *err)
{
    char lh[256], lp[8], uh[256], up[8];
    struct addrinfo *la = NULL, *ua = NULL;
    int rc = EV_OK, g;
    ev_proxy *p = NULL;
    if ((rc = split_addr("listen address", listen_addr, 1, lh, sizeof lh, lp, sizeof lp, err)) ||
        (rc = split_addr("upstream address", upstream_addr, 0, uh, sizeof uh, up, sizeof up, err)))
        return rc;
    p = calloc(1, sizeof *p);
    if (!p)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    p->lfd = p->epfd = p->evfd = p->tfd = -1;
    pthread_mutex_init(&p->mu, NULL);
    p->t0_ns = ev_mono_ns();
    p->rng = (uint64_t)ev_wall_ns() ^ ((uint64_t)getpid() << 32);
    snprintf(p->upstream_text, sizeof p->upstream_text, "%s", upstream_addr);
    if (!(p->history = json_array())) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    if ((g = getaddrinfo(lh, lp, &hints, &la))) {
        rc = ev_err_set(err, EV_ECONNECT, "cannot listen on %s: %s", listen_addr, gai_strerror(g));
        goto out;
    }
    p->lfd = socket(la->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(p->lfd, la->ai_addr, la->ai_addrlen) || listen(p->lfd, 512)) {
        rc = ev_err_set(err, EV_ECONNECT, "cannot listen on %s: %s", listen_addr, strerror(errno));
        goto out;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(p->lfd, (struct sockaddr *)&bound, &blen)) {
        rc = ev_err_set(err, EV_EINTERNAL, "getsockname: %s", strerror(errno));
        goto out;
    }
    format_sockaddr((struct sockaddr *)&bound, p->listen_text, sizeof p->listen_text);
    p->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);

    struct addrinfo uhints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    if ((g = getaddrinfo(uh, up, &uhints, &ua))) {
        rc = ev_err_set(err, EV_ECONNECT, "cannot resolve upstream %s: %s", upstream_addr,
                        gai_strerror(g));
        goto out;
    }
    for (struct addrinfo *a = ua; a && p->nup < MAX_UPSTREAM_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof p->up_addr[0])
            continue;
        memcpy(&p->up_addr[p->nup], a->ai_addr, a->ai_addrlen);
        p->up_len[p->nup++] = a->ai_addrlen;
    }

    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->epfd < 0 || p->evfd < 0 || p->tfd < 0 || epoll_add(p, p->lfd, EPOLLIN, &p->lfd) ||
        epoll_add(p, p->evfd, EPOLLIN, &p->evfd) || epoll_add(p, p->tfd, EPOLLIN, &p->tfd)) {
        rc = ev_err_set(err, EV_EINTERNAL, "proxy event loop: %s", strerror(errno));
        goto out;
    }
out:
    if (la)
        freeaddrinfo(la);
    if (ua)
        freeaddrinfo(ua);
    if (rc) {
        ev_proxy_free(p);
        return rc;
    }
    *out = p;
    return EV_OK;
}

void ev_proxy_seed(ev_proxy *p, uint64_t seed)
{
    p->rng = seed;
}

int ev_proxy_port(const ev_proxy *p)
{
    return p->port;
}

const char *ev_proxy_listen_addr(const ev_proxy *p)
{
    return p->listen_text;
}

const char *ev_proxy_upstream_addr(const ev_proxy *p)
{
    return p->upstream_text;
}

/* ---- control (any thread) ---------------------------------------------- */

static void wake(ev_proxy *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->evfd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

/* Appends {"t", "action", "toxic"} to the history. Caller holds mu. */
static void history_add(ev_proxy *p, const char *action, const char *toxic)
{
    if (json_array_size(p->history) >= HISTORY_MAX)
        return;
    /* Seconds, to the microsecond. */
    double t = (double)((ev_mono_ns() - p->t0_ns) / EV_NS_PER_US) / 1e6;
    json_t *e = json_pack("{s:f, s:s}", "t", t, "action", action);
    if (e && toxic)
        json_object_set_new(e, "toxic", json_string(toxic));
    if (e)
        json_array_append_new(p->history, e);
}

int ev_proxy_add(ev_proxy *p, const ev_proxy_toxic *t, ev_err *err)
{
    int rc = toxic_check(t, err);
    if (rc)
        return rc;
    char spec[160];
    ev_proxy_toxic_format(t, spec, sizeof spec);
    int64_t now = ev_mono_ns();
    pthread_mutex_lock(&p->mu);
    for (int d = 0; d < 2; d++) {
        /* reset is connection-wide: it lives in the upstream slot only. */
        if (!(t->dirs & (1u << d)) || (t->kind == EV_PROXY_RESET && d == 1))
            continue;
        slot *s = &p->table[d][t->kind];
        s->on = 1;
        s->t = *t;
        s->t.dirs = t->kind == EV_PROXY_RESET ? EV_PROXY_BOTH : 1u << d;
        s->since_ns = now;
        s->version = ++p->next_version;
    }
    history_add(p, "add", spec);
    atomic_fetch_add(&p->gen, 1);
    pthread_mutex_unlock(&p->mu);
    wake(p);
    return EV_OK;
}

int ev_proxy_apply(ev_proxy *p, const char *spec, ev_err *err)
{
    ev_proxy_toxic t;
    int rc = ev_proxy_toxic_parse(spec, &t, err);
    return rc ? rc : ev_proxy_add(p, &t, err);
}

int ev_proxy_remove(ev_proxy *p, unsigned dirs, ev_proxy_kind kind)
{
    int n = 0;
    if ((unsigned)kind >= EV_PROXY_NKINDS)
        return 0;
    if (kind == EV_PROXY_RESET)
        dirs = dirs ? EV_PROXY_UP : 0;
    pthread_mutex_lock(&p->mu);
    for (int d = 0; d < 2; d++)
        if ((dirs & (1u << d)) && p->table[d][kind].on) {
            p->table[d][kind].on = 0;
            n++;
        }
    if (n) {
        char ref[64];
        if (kind == EV_PROXY_RESET)
            snprintf(ref, sizeof ref, "reset");
        else
            snprintf(ref, sizeof ref, "%s:%s", dir_prefix(dirs & EV_PROXY_BOTH), kind_names[kind]);
        history_add(p, "remove", ref);
        atomic_fetch_add(&p->gen, 1);
    }
    pthread_mutex_unlock(&p->mu);
    if (n)
        wake(p);
    return n;
}

void ev_proxy_clear(ev_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < EV_PROXY_NKINDS; k++)
            p->table[d][k].on = 0;
    history_add(p, "clear", NULL);
    atomic_fetch_add(&p->gen, 1);
    pthread_mutex_unlock(&p->mu);
    wake(p);
}

void ev_proxy_reset_now(ev_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    history_add(p, "reset_now", NULL);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->reset_req, 1);
    wake(p);
}

size_t ev_proxy_toxics(ev_proxy *p, ev_proxy_toxic *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < EV_PROXY_NKINDS; k++)
            if (p->table[d][k].on) {
                if (n < max)
                    out[n] = p->table[d][k].t;
                n++;
            }
    pthread_mutex_unlock(&p->mu);
    return n;
}

void ev_proxy_stats_get(ev_proxy *p, ev_proxy_stats *o)
{
    memset(o, 0, sizeof *o);
    o->accepted = get_ctr(&p->accepted);
    o->active = get_ctr(&p->active);
    o->closed = get_ctr(&p->closed);
    o->reset = get_ctr(&p->reset);
    o->timed_out = get_ctr(&p->timed_out);
    o->limited = get_ctr(&p->limited);
    o->aborted = get_ctr(&p->aborted);
    o->errors = get_ctr(&p->errors);
    o->upstream_failed = get_ctr(&p->upstream_failed);
    for (int d = 0; d < 2; d++) {
        ev_proxy_dir_stats *s = d ? &o->down : &o->up;
        s->bytes_in = get_ctr(&p->dc[d].bytes_in);
        s->bytes_out = get_ctr(&p->dc[d].bytes_out);
        s->bytes_delayed = get_ctr(&p->dc[d].bytes_delayed);
        s->chunks_delayed = get_ctr(&p->dc[d].chunks_delayed);
        s->bytes_dropped = get_ctr(&p->dc[d].bytes_dropped);
    }
}

static json_t *dir_json(const ev_proxy_dir_stats *s)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
                     (json_int_t)s->bytes_out, "bytes_delayed", (json_int_t)s->bytes_delayed,
                     "chunks_delayed", (json_int_t)s->chunks_delayed, "bytes_dropped",
                     (json_int_t)s->bytes_dropped);
}

json_t *ev_proxy_json(ev_proxy *p)
{
    ev_proxy_stats s;
    ev_proxy_stats_get(p, &s);
    json_t *toxics = json_array(), *hist = NULL;
    pthread_mutex_lock(&p->mu);
    for (int d = 0; toxics && d < 2; d++)
        for (int k = 0; k < EV_PROXY_NKINDS; k++)
            if (p->table[d][k].on) {
                char spec[160];
                ev_proxy_toxic_format(&p->table[d][k].t, spec, sizeof spec);
                json_array_append_new(toxics, json_string(spec));
            }
    hist = json_deep_copy(p->history);
    pthread_mutex_unlock(&p->mu);
    json_t *conns = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "accepted",
                              (json_int_t)s.accepted, "active", (json_int_t)s.active, "closed",
                              (json_int_t)s.closed, "reset", (json_int_t)s.reset, "timed_out",
                              (json_int_t)s.timed_out, "limited", (json_int_t)s.limited, "aborted",
                              (json_int_t)s.aborted, "errors", (json_int_t)s.errors,
                              "upstream_failed", (json_int_t)s.upstream_failed);
    json_t *o = NULL;
    if (toxics && hist && conns)
        o = json_pack("{s:s, s:s, s:o, s:{s:o, s:o}, s:o, s:o}", "listen", p->listen_text,
                      "upstream", p->upstream_text, "connections", conns, "traffic", "upstream",
                      dir_json(&s.up), "downstream", dir_json(&s.down), "toxics", toxics, "history",
                      hist);
    else {
        json_decref(toxics);
        json_decref(hist);
        json_decref(conns);
    }
    return o;
}

/* ---- connections (loop thread) ---------------------------------------- */

static void due_min(conn *c, int64_t at)
{
    if (!c->due_ns || at < c->due_ns)
        c->due_ns = at;
}

static void pipe_drop(ev_proxy *p, conn *c, int d)
{
    pipe_ *pp = &c->p[d];
    while (pp->head) {
        chunk *k = pp->head;
        pp->head = k->next;
        free(k);
    }
    if (pp->queued)
        add_ctr(&p->dc[d].bytes_dropped, pp->queued);
    pp->tail = NULL;
    pp->queued = 0;
}

enum { CLOSE_FIN, CLOSE_RST };

/* Closes both sockets (RST: SO_LINGER 0, so the peer sees ECONNRESET),
 * drops what was held and moves c to the dead list, freed after this turn
 * (events of this batch may still point at it). */
static void conn_close(ev_proxy *p, conn *c, int how)
{
    if (c->closed)
        return;
    c->closed = 1;
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] < 0)
            continue;
        if (how == CLOSE_RST) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(c->fd[i]); /* also leaves the epoll set */
        c->fd[i] = -1;
    }
    pipe_drop(p, c, 0);
    pipe_drop(p, c, 1);
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = p->dead;
    p->dead = c;
    atomic_fetch_sub_explicit(&p->active, 1, memory_order_relaxed);
    add_ctr(&p->closed, 1);
}

/* Starts a non-blocking connect to the next upstream address. 0 when under
 * way (or done), -1 when no address is left. */
static int up_connect(ev_proxy *p, conn *c)
{
    for (; c->ai < p->nup; c->ai++) {
        const struct sockaddr *sa = (const struct sockaddr *)&p->up_addr[c->ai];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int r = connect(fd, sa, p->up_len[c->ai]);
        if ((r == 0 || errno == EINPROGRESS) &&
            !epoll_add(p, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->s[1])) {
            c->fd[1] = fd;
            c->connected = r == 0;
            c->wr[1] = r == 0;
            return 0;
        }
        close(fd);
    }
    return -1;
}

static void upstream_failed(ev_proxy *p, conn *c)
{
    add_ctr(&p->upstream_failed, 1);
    conn_close(p, c, CLOSE_RST);
}

/* The upstream socket reported readiness before the connect completed. */
static void up_connect_done(ev_proxy *p, conn *c)
{
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0) {
        c->connected = 1;
        c->wr[1] = 1;
        return;
    }
    if (e == EINPROGRESS || e == EALREADY)
        return;
    close(c->fd[1]);
    c->fd[1] = -1;
    c->ai++;
    if (up_connect(p, c))
        upstream_failed(p, c);
}

static void accept_all(ev_proxy *p, int64_t now)
{
    for (;;) {
        int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop watching the listener for a while
                 * (level-triggered, it would wake the loop at once again). */
                struct epoll_event ev = {.events = 0, .data.ptr = &p->lfd};
                epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->lfd, &ev);
                p->accept_pause = now + ACCEPT_PAUSE_NS;
            }
            return;
        }
        add_ctr(&p->accepted, 1);
        add_ctr(&p->active, 1);
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            close(fd);
            atomic_fetch_sub_explicit(&p->active, 1, memory_order_relaxed);
            add_ctr(&p->closed, 1);
            add_ctr(&p->errors, 1);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd[0] = fd;
        c->fd[1] = -1;
        c->opened_ns = now;
        c->dirty = 1;
        for (int i = 0; i < 2; i++) {
            c->s[i].c = c;
            c->s[i].i = i;
            c->p[i].tok_ns = now;
        }
        c->next = p->conns;
        if (p->conns)
            p->conns->prev = c;
        p->conns = c;
        const slot *rs = &p->cur[0][EV_PROXY_RESET];
        if (rs->on && rs->t.after_ns == 0) {
            add_ctr(&p->reset, 1);
            conn_close(p, c, CLOSE_RST);
            continue;
        }
        if (epoll_add(p, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->s[0])) {
            add_ctr(&p->errors, 1);
            conn_close(p, c, CLOSE_RST);
            continue;
        }
        if (up_connect(p, c))
            upstream_failed(p, c);
    }
}

/* Queues n bytes read from pipe d's source, with the release times the
 * toxics give them. -1 when out of memory (the connection is then closed). */
static int pipe_enqueue(ev_proxy *p, conn *c, int d, const unsigned char *data, size_t n,
                        int64_t now)
{
    pipe_ *pp = &c->p[d];
    const slot *lat = &p->cur[d][EV_PROXY_LATENCY], *sl = &p->cur[d][EV_PROXY_SLICER];
    int64_t due = now;
    if (lat->on) {
        int64_t delay = rnd_range(&p->rng, lat->t.min_ns, lat->t.max_ns);
        if (lat->t.jitter_ns)
            delay += rnd_range(&p->rng, -lat->t.jitter_ns, lat->t.jitter_ns);
        due = now + (delay > 0 ? delay : 0);
    }
    if (sl->on && pp->head && due < pp->last_due + sl->t.delay_ns)
        due = pp->last_due + sl->t.delay_ns; /* the gap after the last piece still held */
    if (due < pp->last_due)
        due = pp->last_due;
    size_t off = 0;
    while (off < n) {
        size_t len = n - off;
        if (sl->on) {
            int64_t piece =
                rnd_range(&p->rng, sl->t.bytes - sl->t.variation, sl->t.bytes + sl->t.variation);
            if ((uint64_t)piece < len)
                len = (size_t)piece;
            if (off > 0)
                due += sl->t.delay_ns;
        }
        chunk *k = malloc(sizeof *k + len);
        if (!k)
            return -1;
        k->next = NULL;
        k->due_ns = due;
        k->len = len;
        k->off = 0;
        memcpy(k->data, data + off, len);
        if (pp->tail)
            pp->tail->next = k;
        else
            pp->head = k;
        pp->tail = k;
        pp->queued += len;
        pp->last_due = due;
        if (due > now) {
            add_ctr(&p->dc[d].chunks_delayed, 1);
            add_ctr(&p->dc[d].bytes_delayed, len);
        }
        off += len;
    }
    return 0;
}

/* Outcome of a send: bytes written, 0 when the destination is full, -1 when
 * the connection was closed because of an error. */
static ssize_t pipe_send(ev_proxy *p, conn *c, int d, const void *buf, size_t n)
{
    for (;;) {
        ssize_t w = send(c->fd[!d], buf, n, MSG_NOSIGNAL);
        if (w >= 0) {
            add_ctr(&p->dc[d].bytes_out, (uint64_t)w);
            return w;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->wr[!d] = 0;
            return 0;
        }
        /* The destination reset or failed: pass it on as a reset. */
        add_ctr(&p->aborted, 1);
        conn_close(p, c, CLOSE_RST);
        return -1;
    }
}

/* Writes pipe d's due chunks as far as the destination, the bandwidth
 * bucket and limit_data allow. -1 when the connection was closed. */
static int pipe_flush(ev_proxy *p, conn *c, int d, int64_t now)
{
    pipe_ *pp = &c->p[d];
    const slot *bw = &p->cur[d][EV_PROXY_BANDWIDTH], *lim = &p->cur[d][EV_PROXY_LIMIT_DATA];
    while (pp->head) {
        chunk *k = pp->head;
        if (k->due_ns > now) {
            due_min(c, k->due_ns);
            break;
        }
        if ((d == 0 && !c->connected) || !c->wr[!d])
            break;
        size_t n = k->len - k->off;
        if (bw->on) {
            double rate = (double)bw->t.bytes, burst = rate / 50 > 1 ? rate / 50 : 1;
            pp->tokens += (double)(now - pp->tok_ns) * rate / 1e9;
            if (pp->tokens > burst)
                pp->tokens = burst;
            pp->tok_ns = now;
            if (pp->tokens < 1) {
                double need = (double)n < burst ? (double)n : burst;
                due_min(c, now + 1 + (int64_t)ceil((need - pp->tokens) * 1e9 / rate));
                break;
            }
            if ((double)n > pp->tokens)
                n = (size_t)pp->tokens;
        }
        if (lim->on && (int64_t)n > lim->t.bytes - pp->limit_used)
            n = (size_t)(lim->t.bytes - pp->limit_used);
        ssize_t w = n ? pipe_send(p, c, d, k->data + k->off, n) : 0;
        if (w < 0)
            return -1;
        if (w == 0 && n)
            break;
        k->off += (size_t)w;
        pp->queued -= (size_t)w;
        pp->limit_used += w;
        if (bw->on)
            pp->tokens -= (double)w;
        if (k->off == k->len) {
            pp->head = k->next;
            if (!pp->head)
                pp->tail = NULL;
            free(k);
        }
        if (lim->on && pp->limit_used >= lim->t.bytes) {
            add_ctr(&p->limited, 1);
            conn_close(p, c, CLOSE_FIN);
            return -1;
        }
    }
    return 0;
}

/* One turn of pipe d: flush, read, flush, … within the read budget. -1 when
 * the connection was closed. */
static int pipe_step(ev_proxy *p, conn *c, int d, int64_t now)
{
    pipe_ *pp = &c->p[d];
    const slot *T = p->cur[d];
    if (T[EV_PROXY_TIMEOUT].on) {
        /* Blackhole: neither read nor write; TCP pushes back on the sender. */
        const slot *to = &T[EV_PROXY_TIMEOUT];
        if (to->t.after_ns) {
            int64_t start = to->since_ns > c->opened_ns ? to->since_ns : c->opened_ns;
            if (now >= start + to->t.after_ns) {
                add_ctr(&p->timed_out, 1);
                conn_close(p, c, CLOSE_FIN);
                return -1;
            }
            due_min(c, start + to->t.after_ns);
        }
        return 0;
    }
    int direct = !T[EV_PROXY_LATENCY].on && !T[EV_PROXY_SLICER].on && !T[EV_PROXY_BANDWIDTH].on &&
                 !T[EV_PROXY_LIMIT_DATA].on;
    size_t budget = READ_BUDGET;
    for (;;) {
        if (pipe_flush(p, c, d, now))
            return -1;
        if (pp->eof || !c->rd[d] || pp->queued >= QUEUE_MAX)
            break;
        /* With no toxic, read only what can go straight on: a full
         * destination then pushes back on the source through TCP, as with
         * no proxy, instead of the proxy copying it aside. */
        if (direct && (pp->head || !c->wr[!d] || (d == 0 && !c->connected)))
            break;
        if (budget == 0) {
            c->dirty = 1; /* more to read: come back next turn */
            break;
        }
        ssize_t n = recv(c->fd[d], p->scratch, SCRATCH, 0);
        if (n > 0) {
            size_t got = (size_t)n, sent = 0;
            budget = got >= budget ? 0 : budget - got;
            /* A short read drained the socket: the next data raises a new
             * edge, so no recv just to see EAGAIN. Not once the peer's FIN
             * or an error was reported: that edge has passed. */
            if (got < SCRATCH && !c->hup[d])
                c->rd[d] = 0;
            add_ctr(&p->dc[d].bytes_in, got);
            if (direct) {
                ssize_t w = pipe_send(p, c, d, p->scratch, got);
                if (w < 0)
                    return -1;
                sent = (size_t)w;
            }
            if (sent < got && pipe_enqueue(p, c, d, p->scratch + sent, got - sent, now)) {
                add_ctr(&p->errors, 1);
                conn_close(p, c, CLOSE_RST);
                return -1;
            }
            continue;
        }
        if (n == 0) {
            pp->eof = 1;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->rd[d] = 0;
            break;
        }
        add_ctr(&p->aborted, 1); /* the source reset or failed: pass it on */
        conn_close(p, c, CLOSE_RST);
        return -1;
    }
    if (pp->eof && !pp->head && !pp->shut && (d == 1 || c->connected)) {
        shutdown(c->fd[!d], SHUT_WR);
        pp->shut = 1;
    }
    return 0;
}

static void conn_step(ev_proxy *p, conn *c, int64_t now)
{
    c->dirty = 0;
    c->due_ns = 0;
    const slot *rs = &p->cur[0][EV_PROXY_RESET];
    if (rs->on) {
        int64_t at = (rs->since_ns > c->opened_ns ? rs->since_ns : c->opened_ns) + rs->t.after_ns;
        if (now >= at) {
            add_ctr(&p->reset, 1);
            conn_close(p, c, CLOSE_RST);
            return;
        }
        due_min(c, at);
    }
    if (!c->connected) {
        if (now >= c->opened_ns + CONNECT_TIMEOUT_NS) {
            upstream_failed(p, c);
            return;
        }
        due_min(c, c->opened_ns + CONNECT_TIMEOUT_NS);
    }
    for (int d = 0; d < 2; d++)
        if (pipe_step(p, c, d, now))
            return;
    if (c->p[0].shut && c->p[1].shut)
        conn_close(p, c, CLOSE_FIN); /* both ways ended cleanly */
}

/* Applies a new toxic table and one-shot resets. */
static void sync_control(ev_proxy *p, int64_t now)
{
    unsigned g = atomic_load(&p->gen);
    if (g != p->seen_gen) {
        slot tab[2][EV_PROXY_NKINDS];
        pthread_mutex_lock(&p->mu);
        memcpy(tab, p->table, sizeof tab);
        pthread_mutex_unlock(&p->mu);
        p->seen_gen = g;
        for (int d = 0; d < 2; d++) {
            int bw = tab[d][EV_PROXY_BANDWIDTH].on &&
                     tab[d][EV_PROXY_BANDWIDTH].version != p->cur[d][EV_PROXY_BANDWIDTH].version;
            int lim = tab[d][EV_PROXY_LIMIT_DATA].on &&
                      tab[d][EV_PROXY_LIMIT_DATA].version != p->cur[d][EV_PROXY_LIMIT_DATA].version;
            for (conn *c = p->conns; c; c = c->next) {
                if (bw) {
                    c->p[d].tokens = 0;
                    c->p[d].tok_ns = now;
                }
                if (lim)
                    c->p[d].limit_used = 0;
            }
        }
        memcpy(p->cur, tab, sizeof tab);
        for (conn *c = p->conns; c; c = c->next)
            c->dirty = 1;
    }
    unsigned r = atomic_load(&p->reset_req);
    if (r != p->seen_reset) {
        p->seen_reset = r;
        conn *next;
        for (conn *c = p->conns; c; c = next) {
            next = c->next;
            add_ctr(&p->reset, 1);
            conn_close(p, c, CLOSE_RST);
        }
    }
}

static void arm_timer(ev_proxy *p, int64_t at)
{
    if (at == p->timer_at)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (at) {
        its.it_value.tv_sec = at / EV_NS_PER_S;
        its.it_value.tv_nsec = at % EV_NS_PER_S;
    }
    timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    p->timer_at = at;
}

static void free_dead(ev_proxy *p)
{
    while (p->dead) {
        conn *c = p->dead;
        p->dead = c->next;
        free(c);
    }
}

static void *loop_main(void *arg)
{
    ev_proxy *p = arg;
    struct epoll_event evs[128];
    int busy = 1;
    while (!atomic_load(&p->stop)) {
        int n = epoll_wait(p->epfd, evs, 128, busy ? 0 : -1);
        if (n < 0 && errno != EINTR)
            break;
        int64_t now = ev_mono_ns();
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            uint64_t v;
            if (tag == &p->lfd)
                accept_all(p, now);
            else if (tag == &p->evfd || tag == &p->tfd) {
                ssize_t r = read(tag == &p->evfd ? p->evfd : p->tfd, &v, sizeof v);
                (void)r;
                if (tag == &p->tfd)
                    p->timer_at = 0;
            } else {
                side *s = tag;
                conn *c = s->c;
                uint32_t e = evs[i].events;
                if (c->closed)
                    continue;
                if (s->i == 1 && !c->connected) {
                    if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                        up_connect_done(p, c);
                    if (c->closed || !c->connected)
                        continue;
                }
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->rd[s->i] = 1;
                if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->hup[s->i] = 1;
                if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                    c->wr[s->i] = 1;
                c->dirty = 1;
            }
        }
        sync_control(p, now);
        if (p->accept_pause && now >= p->accept_pause) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->lfd};
            epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->lfd, &ev);
            p->accept_pause = 0;
        }
        now = ev_mono_ns();
        int64_t next = p->accept_pause;
        busy = 0;
        conn *cn;
        for (conn *c = p->conns; c; c = cn) {
            cn = c->next;
            if (c->dirty || (c->due_ns && c->due_ns <= now))
                conn_step(p, c, now);
            if (c->closed)
                continue;
            busy |= c->dirty;
            if (c->due_ns && (!next || c->due_ns < next))
                next = c->due_ns;
        }
        free_dead(p);
        arm_timer(p, next);
    }
    return NULL;
}

int ev_proxy_start(ev_proxy *p, ev_err *err)
{
    if (p->started)
        return ev_err_set(err, EV_EUSAGE, "proxy %s: already started", p->listen_text);
    /* The loop takes no signals: they belong to the program's main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&p->thread, NULL, loop_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e)
        return ev_err_set(err, EV_EINTERNAL, "proxy %s: cannot start its thread: %s",
                          p->listen_text, strerror(e));
    p->started = 1;
    return EV_OK;
}

void ev_proxy_stop(ev_proxy *p)
{
    if (!p || !p->started || p->joined)
        return;
    atomic_store(&p->stop, 1);
    wake(p);
    pthread_join(p->thread, NULL);
    p->joined = 1;
    while (p->conns)
        conn_close(p, p->conns, CLOSE_FIN);
    free_dead(p);
}

void ev_proxy_free(ev_proxy *p)
{
    if (!p)
        return;
    ev_proxy_stop(p);
    int fds[] = {p->lfd, p->epfd, p->evfd, p->tfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    json_decref(p->history);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
