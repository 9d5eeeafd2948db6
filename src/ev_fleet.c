/* ev_fleet — see ev_fleet.h for what is measured and the threading rules.
 *
 * Design notes.
 * - Per subscriber: a record (counters, the current connection's times, the
 *   resume in progress, the first EV_FLEET_RESUMES resumes described) and,
 *   for the resume check, per lane the highest seq seen, the highest seen
 *   before the last drop and whether the lane's first event since has come.
 *   One block of subscribers × lanes for each; a record is touched only by
 *   the thread serving its subscriber.
 * - Recognising evload's events costs a prefix compare and three integers
 *   per delivery: a structured event from evload's encoder starts with
 *   {"specversion":"1.0","id":" (ev_codec.c); anything else is searched for
 *   "id":" in its first 512 bytes. evloadsent is read (memmem) only while a
 *   resume is in progress or for a connection's first event.
 * - Storm membership: subscriber g's place in a fixed permutation,
 *   pos = g × P mod N with P coprime to N (near 0.618 N, so neighbours land
 *   far apart and a storm spreads over the serving threads); storm k takes
 *   the positions [k·m, k·m + m) mod N, m = round(fraction × N). */
#include "ev_fleet.h"

#include "ev_clock.h"
#include "ev_codec.h"
#include "ev_param.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define ID_PREFIX "{\"specversion\":\"1.0\",\"id\":\""
#define ID_SEARCH 512

static const char *const cause_names[EV_FLEET_NCAUSES] = {"storm", "server_closed", "error"};

typedef struct resume_rec {
    uint64_t storm;  /* the storm that dropped it, 0: not a storm */
    int64_t at_ns;   /* when it was lost, since the start of publishing */
    int64_t away_ns; /* until subscribed again, -1 not yet */
    uint64_t replayed, missed, duplicated;
    char ranges[96]; /* the first missed ranges, "lane:from-to ..." */
} resume_rec;

typedef struct subrec {
    _Atomic int up;
    uint64_t attempts, connects, failures, events;
    uint64_t drops[EV_FLEET_NCAUSES];
    uint64_t replayed, missed, duplicated, resumes;
    int64_t attempt_at, attempt_wall, down_at;
    int64_t up_wall;   /* when the current connection was subscribed */
    int64_t age_ns;    /* receive minus publish time of recent events of ours (a maximum
                        * decaying by 1/8 a sample), -1 unknown */
    uint32_t age_tick; /* events since age_ns was last read */
    int connected_once;
    int first_pending; /* no event yet on the current connection */
    int resuming;      /* reconnected, not yet back in step */
    uint64_t storm;    /* the storm of the current absence, 0 none */
    int cur;           /* rec index of the resume in progress, -1 none */
    uint32_t nrec;
    resume_rec rec[EV_FLEET_RESUMES];
    char last_error[96];
} subrec;

typedef struct storm_rec {
    int64_t at;             /* monotonic */
    uint64_t dropped, back; /* subscribers dropped, back in step */
    int64_t last_back_ns;   /* storm to the last one back in step */
    ev_hist *reconnect;     /* this storm's reconnect latencies */
} storm_rec;

struct ev_fleet {
    ev_fleet_conf c;
    char run_id[EV_RUN_ID_MAX + 1];
    size_t run_len;
    uint64_t perm_p; /* the permutation's multiplier */
    uint32_t per_storm;
    subrec *s;          /* [subscribers] */
    uint64_t *hwm;      /* [subscribers × lanes] highest seq seen */
    uint64_t *drop_hwm; /* [subscribers × lanes] highest seen before the last drop */
    uint8_t *awaiting;  /* [subscribers × lanes] 1: no event of the lane since that drop */
    _Atomic int64_t start;
    _Atomic int64_t up_now;

    pthread_mutex_t mu; /* the rest */
    ev_hist *h[EV_FLEET_NHIST];
    storm_rec *storms;
    size_t nstorms;
};

struct ev_fleet_thread {
    ev_fleet *f;
    ev_hist *h[EV_FLEET_NHIST];
    uint64_t storms_done;
    uint64_t rng;
};

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int ev_fleet_new(const ev_fleet_conf *c, ev_fleet **out, ev_err *err)
{
    *out = NULL;
    ev_fleet *f = calloc(1, sizeof *f);
    if (!f)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    f->c = *c;
    uint32_t n = c->subscribers ? c->subscribers : 1, lanes = c->lanes ? c->lanes : 1;
    f->c.lanes = lanes;
    snprintf(f->run_id, sizeof f->run_id, "%s", c->run_id ? c->run_id : "");
    f->c.run_id = f->run_id;
    f->run_len = strlen(f->run_id);
    pthread_mutex_init(&f->mu, NULL);
    atomic_init(&f->start, 0);
    atomic_init(&f->up_now, 0);
    f->perm_p = (uint64_t)((double)n * 0.6180339887) | 1;
    while (f->perm_p > 1 && gcd(f->perm_p, n) != 1)
        f->perm_p++;
    if (f->perm_p == 0 || f->perm_p >= n)
        f->perm_p = 1;
    double m = c->storm_fraction * (double)n + 0.5;
    f->per_storm = m < 1 ? 1 : m > (double)n ? n : (uint32_t)m;
    f->s = calloc(n, sizeof *f->s);
    f->hwm = calloc((size_t)n * lanes, sizeof *f->hwm);
    f->drop_hwm = calloc((size_t)n * lanes, sizeof *f->drop_hwm);
    f->awaiting = calloc((size_t)n * lanes, 1);
    int ok = f->s && f->hwm && f->drop_hwm && f->awaiting;
    for (int i = 0; ok && i < EV_FLEET_NHIST; i++)
        ok = (f->h[i] = ev_hist_new()) != NULL;
    if (!ok) {
        ev_fleet_free(f);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    for (uint32_t g = 0; g < n; g++) {
        atomic_init(&f->s[g].up, 0);
        f->s[g].cur = -1;
        f->s[g].age_ns = -1;
    }
    *out = f;
    return EV_OK;
}

void ev_fleet_free(ev_fleet *f)
{
    if (!f)
        return;
    for (int i = 0; i < EV_FLEET_NHIST; i++)
        ev_hist_free(f->h[i]);
    for (size_t i = 0; i < f->nstorms; i++)
        ev_hist_free(f->storms[i].reconnect);
    free(f->storms);
    free(f->s);
    free(f->hwm);
    free(f->drop_hwm);
    free(f->awaiting);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void ev_fleet_start(ev_fleet *f, int64_t now)
{
    int64_t zero = 0;
    atomic_compare_exchange_strong(&f->start, &zero, now);
}

ev_fleet_thread *ev_fleet_thread_new(ev_fleet *f)
{
    ev_fleet_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->f = f;
    t->rng = f->c.seed ^ (uint64_t)(uintptr_t)t ^ (uint64_t)ev_mono_ns();
    if (!t->rng)
        t->rng = 1;
    for (int i = 0; i < EV_FLEET_NHIST; i++)
        if (!(t->h[i] = ev_hist_new())) {
            for (int j = 0; j < i; j++)
                ev_hist_free(t->h[j]);
            free(t);
            return NULL;
        }
    return t;
}

void ev_fleet_thread_close(ev_fleet_thread *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->f->mu);
    for (int i = 0; i < EV_FLEET_NHIST; i++)
        ev_hist_merge(t->f->h[i], t->h[i]);
    pthread_mutex_unlock(&t->f->mu);
    for (int i = 0; i < EV_FLEET_NHIST; i++)
        ev_hist_free(t->h[i]);
    free(t);
}

/* ---- connections ------------------------------------------------------ */

void ev_fleet_attempt(ev_fleet_thread *t, uint32_t g, int64_t now, int64_t wall)
{
    subrec *s = &t->f->s[g];
    s->attempts++;
    s->attempt_at = now;
    s->attempt_wall = wall;
}

void ev_fleet_failed(ev_fleet_thread *t, uint32_t g, const char *why)
{
    subrec *s = &t->f->s[g];
    s->failures++;
    snprintf(s->last_error, sizeof s->last_error, "%s", why);
}

static storm_rec *storm_at(ev_fleet *f, uint64_t k); /* under mu */

void ev_fleet_up(ev_fleet_thread *t, uint32_t g, int64_t now)
{
    ev_fleet *f = t->f;
    subrec *s = &f->s[g];
    s->connects++;
    s->first_pending = 1;
    s->up_wall = ev_wall_ns();
    int64_t took = now - s->attempt_at;
    if (!s->connected_once) {
        s->connected_once = 1;
        ev_hist_record(t->h[EV_FLEET_CONNECT], took);
    } else {
        ev_hist_record(t->h[EV_FLEET_RECONNECT], took);
        ev_hist_record(t->h[EV_FLEET_AWAY], now - s->down_at);
        s->resuming = 1;
        if (s->cur >= 0)
            s->rec[s->cur].away_ns = now - s->down_at;
        if (s->storm) {
            pthread_mutex_lock(&f->mu);
            storm_rec *st = storm_at(f, s->storm);
            if (st && st->reconnect)
                ev_hist_record(st->reconnect, took);
            pthread_mutex_unlock(&f->mu);
        }
    }
    atomic_store(&s->up, 1);
    atomic_fetch_add(&f->up_now, 1);
}

/* The resume check starts: what the subscriber had when it went away. */
static void resume_begin(ev_fleet *f, subrec *s, uint32_t g, uint64_t storm, int64_t now)
{
    size_t base = (size_t)g * f->c.lanes;
    for (uint32_t l = 0; l < f->c.lanes; l++) {
        f->drop_hwm[base + l] = f->hwm[base + l];
        f->awaiting[base + l] = 1;
    }
    s->resumes++;
    s->storm = storm;
    s->cur = -1;
    if (s->nrec < EV_FLEET_RESUMES) {
        int64_t start = atomic_load(&f->start);
        s->cur = (int)s->nrec++;
        s->rec[s->cur] =
            (resume_rec){.storm = storm, .at_ns = start ? now - start : 0, .away_ns = -1};
    }
}

static void went_down(ev_fleet_thread *t, uint32_t g, ev_fleet_cause cause, const char *why,
                      uint64_t storm, int64_t now)
{
    ev_fleet *f = t->f;
    subrec *s = &f->s[g];
    if (atomic_load(&s->up)) {
        atomic_store(&s->up, 0);
        atomic_fetch_sub(&f->up_now, 1);
    }
    s->drops[cause]++;
    s->down_at = now;
    s->resuming = 0;
    if (why)
        snprintf(s->last_error, sizeof s->last_error, "%s: %s", cause_names[cause], why);
    resume_begin(f, s, g, storm, now);
}

void ev_fleet_down(ev_fleet_thread *t, uint32_t g, ev_fleet_cause cause, const char *why,
                   int64_t now)
{
    went_down(t, g, cause, why, 0, now);
}

int ev_fleet_is_up(const ev_fleet *f, uint32_t g)
{
    return atomic_load(&f->s[g].up);
}

/* ---- events ------------------------------------------------------------ */

static int parse_u64(const char **p, const char *end, char stop, uint64_t *out)
{
    uint64_t v = 0;
    const char *q = *p;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < 20) {
        v = v * 10 + (uint64_t)(*q++ - '0');
        digits++;
    }
    if (!digits || q >= end || *q != stop)
        return -1;
    *p = q + 1;
    *out = v;
    return 0;
}

/* evload's identity of an event, from the id member: 1 when it is one of
 * this run's and instance's. */
static int event_id(const ev_fleet *f, const char *body, size_t len, uint32_t *lane, uint64_t *seq)
{
    const char *p = NULL;
    size_t pl = sizeof ID_PREFIX - 1;
    if (len > pl && !memcmp(body, ID_PREFIX, pl)) {
        p = body + pl;
    } else {
        static const char key[] = "\"id\":\"";
        const char *k = memmem(body, len < ID_SEARCH ? len : ID_SEARCH, key, sizeof key - 1);
        if (!k)
            return 0;
        p = k + sizeof key - 1;
    }
    const char *end = body + len;
    if ((size_t)(end - p) <= f->run_len || memcmp(p, f->run_id, f->run_len) || p[f->run_len] != '-')
        return 0;
    p += f->run_len + 1;
    uint64_t inst, l, s;
    if (parse_u64(&p, end, '-', &inst) || parse_u64(&p, end, '-', &l) ||
        parse_u64(&p, end, '"', &s))
        return 0;
    if (inst != f->c.instance || l >= f->c.lanes || s == 0)
        return 0;
    *lane = (uint32_t)l;
    *seq = s;
    return 1;
}

/* evloadsent (wall ns), or -1. */
static int64_t event_sent(const char *body, size_t len)
{
    static const char key[] = "\"evloadsent\":\"";
    const char *p = memmem(body, len, key, sizeof key - 1);
    if (!p)
        return -1;
    p += sizeof key - 1;
    uint64_t v;
    if (parse_u64(&p, body + len, '"', &v) || v > (uint64_t)INT64_MAX)
        return -1;
    return (int64_t)v;
}

static void add_range(resume_rec *r, uint32_t lane, uint64_t from, uint64_t to)
{
    size_t n = strlen(r->ranges);
    char one[64];
    int w = from == to ? snprintf(one, sizeof one, "%s%u:%" PRIu64, n ? " " : "", lane, from)
                       : snprintf(one, sizeof one, "%s%u:%" PRIu64 "-%" PRIu64, n ? " " : "", lane,
                                  from, to);
    if (w <= 0)
        return;
    if (n + (size_t)w < sizeof r->ranges) {
        memcpy(r->ranges + n, one, (size_t)w + 1);
    } else if (n + 4 < sizeof r->ranges && !strstr(r->ranges, "...")) {
        memcpy(r->ranges + n, " ...", 5);
    }
}

static void back_in_step(ev_fleet *f, subrec *s, int64_t now)
{
    s->resuming = 0;
    if (!s->storm)
        return;
    pthread_mutex_lock(&f->mu);
    storm_rec *st = storm_at(f, s->storm);
    if (st) {
        st->back++;
        if (now - st->at > st->last_back_ns)
            st->last_back_ns = now - st->at;
    }
    pthread_mutex_unlock(&f->mu);
    s->storm = 0;
}

void ev_fleet_event(ev_fleet_thread *t, uint32_t g, const char *body, size_t len, int64_t now,
                    int64_t recv_wall)
{
    ev_fleet *f = t->f;
    subrec *s = &f->s[g];
    s->events++;
    if (s->first_pending) {
        s->first_pending = 0;
        int64_t from = s->attempt_at, start = atomic_load(&f->start);
        if (start > from)
            from = start;
        ev_hist_record(t->h[EV_FLEET_FIRST_EVENT], now - from);
    }
    uint32_t lane;
    uint64_t seq;
    int ours = event_id(f, body, len, &lane, &seq);
    if (!ours) {
        if (s->resuming)
            back_in_step(f, s, now); /* not ours: it says nothing about what was replayed */
        return;
    }
    size_t i = (size_t)g * f->c.lanes + lane;
    resume_rec *r = s->cur >= 0 ? &s->rec[s->cur] : NULL;
    /* Until the subscriber is back in step (and on each lane until its
     * first event since the drop): what it had again is a duplicate, a
     * jump past the highest seq it has is missed. */
    if (s->resuming || f->awaiting[i]) {
        if (seq <= f->drop_hwm[i]) {
            s->duplicated++;
            if (r)
                r->duplicated++;
        } else {
            f->awaiting[i] = 0;
            if (seq > f->hwm[i] + 1) {
                uint64_t gap = seq - f->hwm[i] - 1;
                s->missed += gap;
                if (r) {
                    r->missed += gap;
                    add_range(r, lane, f->hwm[i] + 1, seq - 1);
                }
            }
        }
    }
    if (seq > f->hwm[i])
        f->hwm[i] = seq;
    if (s->resuming) {
        /* Replayed: published so long before the reconnect attempt began
         * that it had passed the pipeline (the recent events' age, a
         * decaying maximum) before the server could know the subscriber
         * was back: a lower bound, never a live event. */
        int64_t sent = event_sent(body, len);
        int64_t boundary = s->attempt_wall - (s->age_ns > 0 ? s->age_ns : 0);
        if (sent >= 0 && sent < boundary) {
            if (seq > f->drop_hwm[i]) { /* duplicates of the replay are counted above */
                s->replayed++;
                if (r)
                    r->replayed++;
            }
        } else {
            back_in_step(f, s, now);
        }
    } else if ((s->age_tick++ & 7) == 0) {
        int64_t sent = event_sent(body, len);
        int64_t age = sent >= 0 ? recv_wall - sent : -1;
        s->age_ns = age > s->age_ns - s->age_ns / 8 ? age : s->age_ns - s->age_ns / 8;
    }
}

void ev_fleet_ping_rtt(ev_fleet_thread *t, int64_t rtt_ns)
{
    ev_hist_record(t->h[EV_FLEET_PING_RTT], rtt_ns);
}

/* ---- storms ------------------------------------------------------------ */

/* Storm k's record, created as needed. Under mu. */
static storm_rec *storm_at(ev_fleet *f, uint64_t k)
{
    if (k == 0 || k > 1000000)
        return NULL;
    while (f->nstorms < k) {
        storm_rec *n = realloc(f->storms, (f->nstorms + 1) * sizeof *n);
        if (!n)
            return NULL;
        f->storms = n;
        int64_t start = atomic_load(&f->start);
        f->storms[f->nstorms] = (storm_rec){
            .at = start + (int64_t)(f->nstorms + 1) * f->c.storm_ns,
            .reconnect = ev_hist_new(),
        };
        f->nstorms++;
    }
    return &f->storms[k - 1];
}

uint64_t ev_fleet_storm_due(ev_fleet_thread *t, int64_t now)
{
    ev_fleet *f = t->f;
    int64_t start = atomic_load(&f->start);
    if (!f->c.storm_ns || !start || now < start)
        return 0;
    uint64_t due = (uint64_t)((now - start) / f->c.storm_ns);
    if (due <= t->storms_done)
        return 0;
    return ++t->storms_done;
}

int64_t ev_fleet_storm_next(const ev_fleet_thread *t)
{
    const ev_fleet *f = t->f;
    int64_t start = atomic_load(&f->start);
    if (!f->c.storm_ns || !start)
        return INT64_MAX;
    return start + (int64_t)(t->storms_done + 1) * f->c.storm_ns;
}

int ev_fleet_storm_member(const ev_fleet *f, uint64_t k, uint32_t g)
{
    uint64_t n = f->c.subscribers ? f->c.subscribers : 1;
    uint64_t pos = ((uint64_t)g * f->perm_p) % n;
    uint64_t first = (k * f->per_storm) % n;
    return (pos + n - first) % n < f->per_storm;
}

int64_t ev_fleet_storm_drop(ev_fleet_thread *t, uint32_t g, uint64_t k, int64_t now)
{
    ev_fleet *f = t->f;
    pthread_mutex_lock(&f->mu);
    storm_rec *st = storm_at(f, k);
    if (st)
        st->dropped++;
    pthread_mutex_unlock(&f->mu);
    went_down(t, g, EV_FLEET_STORM, NULL, k, now);
    int64_t j = f->c.storm_jitter_ns;
    if (j <= 0)
        return now;
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return now + (int64_t)(t->rng % (uint64_t)(j + 1));
}

/* ---- results ----------------------------------------------------------- */

ev_hist *ev_fleet_latency(ev_fleet *f, ev_fleet_hist which)
{
    ev_hist *h = NULL;
    pthread_mutex_lock(&f->mu);
    if (ev_hist_count(f->h[which]) && (h = ev_hist_new()))
        ev_hist_copy(h, f->h[which]);
    pthread_mutex_unlock(&f->mu);
    return h;
}

void ev_fleet_sample(ev_fleet *f, json_t *point)
{
    int64_t up = atomic_load(&f->up_now);
    json_object_set_new(point, "subscribers_up", json_integer(up));
    json_object_set_new(point, "subscribers_down", json_integer((json_int_t)f->c.subscribers - up));
}

json_t *ev_fleet_hist_json(const ev_hist *h)
{
    static const struct {
        const char *key;
        double p;
    } ps[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}};
    json_t *o = json_object();
    if (!o)
        return NULL;
    int any = ev_hist_count(h) > 0;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        json_object_set_new(o, ps[i].key,
                            any ? json_real((double)ev_hist_percentile(h, ps[i].p) / 1e6)
                                : json_null());
    json_object_set_new(o, "max", any ? json_real((double)ev_hist_max(h) / 1e6) : json_null());
    json_object_set_new(o, "mean", any ? json_real(ev_hist_mean(h) / 1e6) : json_null());
    json_object_set_new(o, "count", json_integer((json_int_t)ev_hist_count(h)));
    return o;
}

static json_t *causes_json(const uint64_t *c)
{
    json_t *o = json_object();
    for (int i = 0; o && i < EV_FLEET_NCAUSES; i++)
        json_object_set_new(o, cause_names[i], json_integer((json_int_t)c[i]));
    return o;
}

static json_t *resume_json(const resume_rec *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "storm", r->storm ? json_integer((json_int_t)r->storm) : json_null());
    json_object_set_new(o, "at_s", json_real((double)r->at_ns / 1e9));
    json_object_set_new(o, "away_ms",
                        r->away_ns >= 0 ? json_real((double)r->away_ns / 1e6) : json_null());
    json_object_set_new(o, "replayed", json_integer((json_int_t)r->replayed));
    json_object_set_new(o, "missed", json_integer((json_int_t)r->missed));
    json_object_set_new(o, "duplicated", json_integer((json_int_t)r->duplicated));
    json_object_set_new(o, "missed_seqs", json_string(r->ranges));
    return o;
}

void ev_fleet_report(ev_fleet *f, json_t *out, ev_fleet_name_fn name_fn, ev_fleet_extra_fn extra,
                     void *ud)
{
    static const char *const hnames[EV_FLEET_NHIST] = {"connect", "reconnect", "away",
                                                       "first_event", "ping_rtt"};
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < EV_FLEET_NHIST; i++)
        json_object_set_new(out, hnames[i], ev_fleet_hist_json(f->h[i]));
    uint64_t drops[EV_FLEET_NCAUSES] = {0}, attempts = 0, connects = 0, failures = 0;
    uint64_t replayed = 0, missed = 0, dup = 0, resumes = 0, events = 0;
    json_t *subs = json_array();
    for (uint32_t g = 0; g < f->c.subscribers; g++) {
        const subrec *s = &f->s[g];
        for (int i = 0; i < EV_FLEET_NCAUSES; i++)
            drops[i] += s->drops[i];
        attempts += s->attempts;
        connects += s->connects;
        failures += s->failures;
        replayed += s->replayed;
        missed += s->missed;
        dup += s->duplicated;
        resumes += s->resumes;
        events += s->events;
        json_t *o = json_object();
        if (!o)
            continue;
        char name[64];
        if (name_fn)
            name_fn(ud, g, name, sizeof name);
        else
            snprintf(name, sizeof name, "g%u", g);
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "up", json_boolean(atomic_load(&s->up)));
        json_object_set_new(o, "connects", json_integer((json_int_t)s->connects));
        json_object_set_new(o, "reconnects",
                            json_integer((json_int_t)(s->connects ? s->connects - 1 : 0)));
        json_object_set_new(o, "failed_attempts", json_integer((json_int_t)s->failures));
        json_object_set_new(o, "drops", causes_json(s->drops));
        json_object_set_new(o, "events", json_integer((json_int_t)s->events));
        json_object_set_new(o, "replayed", json_integer((json_int_t)s->replayed));
        json_object_set_new(o, "resume_missed", json_integer((json_int_t)s->missed));
        json_object_set_new(o, "resume_duplicated", json_integer((json_int_t)s->duplicated));
        json_t *rs = json_array();
        for (uint32_t i = 0; rs && i < s->nrec; i++)
            json_array_append_new(rs, resume_json(&s->rec[i]));
        json_object_set_new(o, "resumes", rs);
        json_object_set_new(o, "last_error",
                            s->last_error[0] ? json_string(s->last_error) : json_null());
        if (extra)
            extra(ud, g, o);
        json_array_append_new(subs, o);
    }
    json_object_set_new(out, "subscribers_up_at_end", json_integer(atomic_load(&f->up_now)));
    json_object_set_new(out, "attempts", json_integer((json_int_t)attempts));
    json_object_set_new(out, "connects", json_integer((json_int_t)connects));
    json_object_set_new(
        out, "reconnects",
        json_integer((json_int_t)(connects > f->c.subscribers ? connects - f->c.subscribers : 0)));
    json_object_set_new(out, "failed_attempts", json_integer((json_int_t)failures));
    json_object_set_new(out, "drops", causes_json(drops));
    json_object_set_new(out, "events", json_integer((json_int_t)events));
    json_t *res = json_object();
    json_object_set_new(res, "resumes", json_integer((json_int_t)resumes));
    json_object_set_new(res, "replayed", json_integer((json_int_t)replayed));
    json_object_set_new(res, "missed", json_integer((json_int_t)missed));
    json_object_set_new(res, "duplicated", json_integer((json_int_t)dup));
    json_object_set_new(out, "resume", res);
    json_t *storms = json_array();
    int64_t start = atomic_load(&f->start);
    for (size_t i = 0; storms && i < f->nstorms; i++) {
        const storm_rec *st = &f->storms[i];
        json_t *o = json_object();
        if (!o)
            continue;
        json_object_set_new(o, "storm", json_integer((json_int_t)(i + 1)));
        json_object_set_new(o, "at_s", json_real((double)(st->at - start) / 1e9));
        json_object_set_new(o, "dropped", json_integer((json_int_t)st->dropped));
        json_object_set_new(o, "back_in_step", json_integer((json_int_t)st->back));
        json_object_set_new(o, "all_back_s",
                            st->back == st->dropped && st->dropped
                                ? json_real((double)st->last_back_ns / 1e9)
                                : json_null());
        json_object_set_new(o, "reconnect",
                            st->reconnect ? ev_fleet_hist_json(st->reconnect) : json_null());
        json_array_append_new(storms, o);
    }
    json_t *storm = json_object();
    json_object_set_new(storm, "every_s", json_real((double)f->c.storm_ns / 1e9));
    json_object_set_new(storm, "per_storm", json_integer(f->c.storm_ns ? f->per_storm : 0));
    json_object_set_new(storm, "jitter_ms", json_real((double)f->c.storm_jitter_ns / 1e6));
    json_object_set_new(storm, "storms", storms);
    json_object_set_new(out, "storm", storm);
    json_object_set_new(out, "subscribers", subs);
    pthread_mutex_unlock(&f->mu);
}

int ev_fleet_setup(const ev_params *ps, uint32_t subscribers, uint32_t lanes, const char *run_id,
                   uint32_t instance, const char *what, ev_fleet **out, long *nofile, ev_err *err)
{
    ev_fleet_conf fc = {
        .subscribers = subscribers,
        .lanes = lanes ? lanes : 1,
        .run_id = run_id,
        .instance = instance,
        .storm_ns = ev_param_dur(ps, "storm"),
        .storm_fraction = ev_param_num(ps, "storm_fraction"),
        .storm_jitter_ns = ev_param_dur(ps, "storm_jitter"),
        .seed = (uint64_t)ev_mono_ns(),
    };
    *out = NULL;
    /* 256 for the rest of the process; refused below 64 spare. */
    long lim = ev_fleet_nofile((uint64_t)subscribers + 256);
    *nofile = lim;
    if (lim >= 0 && lim < (long)subscribers + 64)
        return ev_err_set(err, EV_ECONNECT,
                          "%s: %u subscribers need as many open files, but the limit is %ld "
                          "and cannot be raised (ulimit -n)",
                          what, subscribers, lim);
    return ev_fleet_new(&fc, out, err);
}

long ev_fleet_nofile(uint64_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? (long)INT32_MAX : (long)rl.rlim_cur;
}
