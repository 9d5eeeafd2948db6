/* ev_engine — see ev_engine.h for the lifecycle and the threading model.
 *
 * Design notes.
 * - Phases: ev_run is the lifecycle in order, each phase a function that
 *   either succeeds or returns the error that ends the run:
 *     engine_init      resolve the target, configure, allocate every thread's state
 *     engine_setup     the transport's setup, consumers (the ready barrier), lanes
 *     engine_publish   go; warm-up and stages, a timeseries point a second
 *     engine_drain     until every acknowledged event is seen, or drain_timeout
 *     engine_join      stop and join every thread (always runs)
 *     engine_finish    reconcile, report, the exit code
 *   A connection that fails mid-run is recorded by its thread, not returned
 *   by a phase: the run still reconciles and reports what it saw, and the
 *   verdict says it is incomplete.
 * - Time: the schedule is laid on the monotonic clock from one start instant
 *   t0 shared by every lane; wall = mono + wall_off, with wall_off sampled once,
 *   so the wall-clock stamps in events (evloadsched/evloadsent) are consistent
 *   with each other and never jump mid-run.
 * - A lane's in-flight window is max_in_flight / lanes. Send times of in-flight
 *   events sit in a ring indexed by seq & mask, with the seq that holds each
 *   slot, which gives ack latency and, at the end, the seqs whose outcome
 *   never arrived (those count as failed: unconfirmed, or recovered if seen).
 *   Outcomes come in any order (a transport may retry one event for seconds
 *   while later ones complete), so the ring has room for four windows and a
 *   lane whose next slot is still held by an old event waits for it as it
 *   waits for a full window.
 * - Warm-up events are published and accounted by the ledger like any other
 *   (a lost event is lost), but their latencies and rates are left out.
 * - Drain ends as soon as the merged ledgers show every acknowledged event seen
 *   and the broker reports no backlog, or at drain_timeout.
 * - Cross-thread flags (stop_pub, stop_cons, each thread's rc) are atomics;
 *   everything else a thread shares with the reporter sits behind the
 *   thread's own mutex, held by its owner only while recording. */
#include "ev_engine.h"

#include "broker.h"
#include "ev_clock.h"
#include "ev_codec.h"
#include "ev_drift.h"
#include "ev_faults.h"
#include "ev_hist.h"
#include "ev_ledger.h"
#include "ev_match.h"
#include "ev_metrics.h"
#include "ev_pacer.h"
#include "ev_prom.h"
#include "ev_report.h"
#include "ev_text.h"
#include "ev_tseries.h"
#include "ev_url.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#define RECV_BATCH 64
/* Sends due back to back (max-throughput, or catching up) poll every
 * SEND_BATCH sends rather than after each: a module may hold writes until
 * poll (one write per batch instead of per event); ack latency is then late
 * by at most SEND_BATCH sends' time. */
#define SEND_BATCH 16
#define FLUSH_TIMEOUT_NS (10 * EV_NS_PER_S)
#define INTERRUPT_DRAIN_NS (3 * EV_NS_PER_S)
#define DRAIN_QUIET_NS (EV_NS_PER_S / 2)
#define READY_TIMEOUT_NS (30 * EV_NS_PER_S)
#define STORE_SHIFT 16
#define STORE_CHUNK ((uint64_t)1 << STORE_SHIFT)
#define STORE_CHUNKS ((uint64_t)1 << 16) /* 2^32 events a lane */
#define MATCH_MAX 64                     /* ids one message may carry (json: arrays) */
#define MUX_THREADS 4 /* consumer threads of an open_groups output (SSE, WebSocket) */
#define MUX_MIN 8     /* fewer groups than this get a thread each */

typedef struct engine engine;

/* Fields after `mu` are shared with the reporter and change only under mu. */
typedef struct lane {
    engine *e;
    uint32_t idx;
    uint32_t stream;       /* index into plan->streams */
    const ev_plan *sp;     /* its stream's plan: the event, the schedule */
    int64_t warm_end_wall; /* e2e of its events scheduled before this is not recorded */
    pthread_t th;
    int started;
    ev_pub *pub;
    ev_ce_template *tpl;
    ev_pacer pacer;
    int64_t *ring_sent; /* send mono time per in-flight slot, −1 when free */
    uint64_t *ring_seq; /* the seq holding each slot */
    uint64_t mask, window;
    int64_t warm_end_off; /* offset before which sends are warm-up */
    ev_buf body;          /* the encoded event (structured) */
    ev_ce_binary bin;     /* the encoded event (binary) */
    unsigned unpolled;    /* sends since the last poll */
    /* The highest seq handed to the transport, written before it is sent:
     * a consumer that sees a higher one knows it was never published. */
    _Atomic uint64_t sent_hi;
    ev_pacer sched; /* the schedule as initialised: intended times, read by consumers */
    int trace;      /* events carry traceparent (an output matches by it) */
    /* Actual send times (wall ns) by seq, for outputs matched by something
     * else than the envelope, which carries its own: STORE_CHUNK seqs a
     * chunk, chunks allocated by the lane as it goes; NULL when no output
     * needs them. Consumers read them with atomics. */
    _Atomic(_Atomic int64_t *) *store;

    pthread_mutex_t mu;
    ev_publane pl;
    uint64_t acked, failed, measured_sent;
    int64_t in_flight, blocked_ns, last_send_mono;
    ev_hist *ack, *sched_lag;
    atomic_int rc; /* set once, after err: the lane failed */
    ev_err err;
} lane;

/* One transport endpoint of the run: the target, or an output's source. */
typedef struct endpoint {
    ev_endpoint *ep;
    const ev_broker *br;
    void *state;
    int setup_done;
    ev_run_info ri;
} endpoint;

/* One place evload verifies (verify.outputs, or the implicit one). */
typedef struct output {
    const ev_output *def;
    endpoint own;    /* its own source */
    endpoint *at;    /* &own, or the engine's target when it consumes the target */
    uint32_t group0; /* global index of its first group */
    uint32_t ngroups, consumers, copies;
    int ordered;
    int expects;     /* 1: some stream's events are expected here (expect all/copies,
                      * or type == a stream's event.type); 0: every arrival is unexpected */
    uint8_t *expect; /* [nstreams]: that stream's events are expected here */
    int partial;     /* expects some streams and not others */
    ev_publane *pv;  /* partial: the lanes' record with other streams' lanes unknown */
} output;

/* Consumer threads an output gets: one per (group, consumer), or, for a
 * transport with open_groups, one consumer per group and at least MUX_MIN
 * groups, at most MUX_THREADS threads each serving a run of groups. */
static uint32_t output_threads(const output *o)
{
    if (!o->at->br->sub->open_groups || o->consumers != 1 || o->ngroups < MUX_MIN)
        return o->ngroups * o->consumers;
    return o->ngroups < MUX_THREADS ? o->ngroups : MUX_THREADS;
}

typedef struct cons {
    engine *e;
    output *o;
    uint32_t group, idx; /* (first) group within its output, consumer within its group */
    uint32_t gg;         /* global index of its (first) group (snapshot ledgers) */
    uint32_t ngr;        /* groups it serves: 1, or several with open_groups */
    pthread_t th;
    int started;
    ev_sub *sub;
    uint64_t rng;

    pthread_mutex_t mu;
    ev_ledger **leds; /* [ngr]: a ledger per group served */
    ev_ledger *led;   /* the one the current delivery is accounted in */
    ev_hist *e2e, *e2e_sched;
    ev_hist **se2e, **se2e_sched; /* [nstreams] with several streams, else NULL */
    uint64_t processed;           /* deliveries whose (simulated) work is done and acked */
    uint64_t no_latency;          /* first sightings whose send time evload had no record of */
    atomic_int rc;                /* set once, after err: the consumer failed */
    ev_err err;
} cons;

/* The reporter's merged view of every thread, taken once a second. */
typedef struct snapshot {
    ev_publane *pl;    /* [nlanes] */
    ev_ledger **group; /* [ngroups] merged */
    ev_hist *e2e, *e2e_sched, *ack, *sched_lag;
    ev_hist *prev_e2e, *prev_lag, *prev_ack, *prev_sched, *tmp;
    uint64_t sent, acked, failed, measured_sent, received, processed, no_latency;
    int64_t in_flight, blocked_ns, last_send_mono;
} snapshot;

typedef struct status_ctx {
    int show; /* print the status line */
    int tty;  /* overwrite in place */
} status_ctx;

struct engine {
    const ev_plan *plan;
    const ev_run_opts *opts;
    endpoint tgt;        /* where the lanes publish */
    const ev_broker *br; /* tgt.br */
    output *outs;
    uint32_t nouts;
    endpoint *hops; /* verify.observe: hops inside the user's pipeline, watched only */
    uint32_t nhops;
    char run_id[EV_RUN_ID_MAX + 1];
    uint32_t nlanes, ngroups, ncons; /* nlanes: this instance's; ngroups: over every output */
    uint32_t inst, ninst;            /* --instance I/N (0 of 1 when alone) */
    uint32_t ltotal;                 /* ledger lanes: every instance's, ninst × nlanes */
    uint32_t nstreams;               /* plan->nstreams */
    int multi;                       /* the scenario has streams: tag by stream */
    lane *lanes;
    cons *cons;
    atomic_int sweep; /* the final sweep: sightings are late, no simulated work */
    int64_t wall_off;

    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    int opened, open_failed, go;
    int64_t t0;

    atomic_int stop_pub;  /* lanes stop sending */
    atomic_int stop_cons; /* consumers stop */
    atomic_int lanes_done;

    /* The reporter's (main thread's) own. */
    snapshot S;
    ev_results R;
    status_ctx st;
    ev_pacer *shapes; /* [nstreams]: each stream's schedule, for the target rate at t */
    int64_t started_wall, started_mono, next_tick, pub_end;
    ev_faults *faults; /* faults: the fault schedule (ev_faults.h), NULL without one */
};

/* Ctrl-C/SIGTERM seen so far (main's handler counts them; 0 without one). */
static int interrupts(const engine *e)
{
    return e->opts->interrupt ? atomic_load(e->opts->interrupt) : 0;
}

/* ---- helpers ---------------------------------------------------------- */

static void gen_run_id(char *out, size_t size)
{
    unsigned char b[6];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)ev_wall_ns() ^ ((uint64_t)getpid() << 32);
        memcpy(b, &x, sizeof b);
    }
    snprintf(out, size, "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static void gate_opened(engine *e, int failed)
{
    pthread_mutex_lock(&e->gate_mu);
    e->opened++;
    e->open_failed |= failed;
    pthread_cond_broadcast(&e->gate_cv);
    pthread_mutex_unlock(&e->gate_mu);
}

/* Waits until the run may start; 0 to go, else the lane/consumer stops. */
static int gate_wait(engine *e)
{
    pthread_mutex_lock(&e->gate_mu);
    while (!e->go && !atomic_load(&e->stop_pub))
        pthread_cond_wait(&e->gate_cv, &e->gate_mu);
    int go = e->go;
    pthread_mutex_unlock(&e->gate_mu);
    return go && !atomic_load(&e->stop_pub) ? 0 : -1;
}

static int oom(ev_err *err)
{
    return ev_err_set(err, EV_EINTERNAL, "out of memory");
}

/* ---- publisher lanes -------------------------------------------------- */

static void on_outcome(void *ud, uint64_t seq, int ok)
{
    lane *l = ud;
    int64_t *slot = &l->ring_sent[seq & l->mask];
    if (seq == 0 || seq > l->pl.sent || *slot < 0 || l->ring_seq[seq & l->mask] != seq)
        return; /* not in flight (a repeated or stray outcome): ignore */
    int64_t sent = *slot;
    *slot = -1;
    l->in_flight--;
    if (ok) {
        l->acked++;
        if (sent >= l->e->t0 + l->warm_end_off)
            ev_hist_record(l->ack, ev_mono_ns() - sent);
    } else {
        l->failed++;
        ev_iset_add(&l->pl.failed, seq);
    }
}

static int lane_poll(lane *l, int64_t timeout_ns)
{
    pthread_mutex_lock(&l->mu);
    int n = l->e->br->pub->poll(l->pub, timeout_ns, on_outcome, l, &l->err);
    pthread_mutex_unlock(&l->mu);
    if (n < 0)
        atomic_store(&l->rc, EV_ECONNECT);
    return n;
}

static int lane_stopped(lane *l)
{
    return atomic_load(&l->e->stop_pub) || atomic_load(&l->rc);
}

/* 1 while the lane may not send its next event: the window is full, or the
 * next seq's ring slot is still held by an old event. */
static int lane_full(const lane *l)
{
    return (uint64_t)l->in_flight >= l->window || l->ring_sent[(l->pl.sent + 1) & l->mask] >= 0;
}

/* While the window is full, collects outcomes (the publisher is blocked).
 * Returns -1 when the lane must stop. */
static int lane_wait_window(lane *l)
{
    if (!lane_full(l))
        return 0;
    int64_t b0 = ev_mono_ns();
    while (lane_full(l) && !lane_stopped(l))
        lane_poll(l, EV_NS_PER_MS);
    pthread_mutex_lock(&l->mu);
    l->blocked_ns += ev_mono_ns() - b0;
    pthread_mutex_unlock(&l->mu);
    return lane_stopped(l) ? -1 : 0;
}

/* While the transport holds the lane (hold_until: the target asked to be
 * left alone), collects outcomes; intended times keep accruing, so the wait
 * shows in sched_lag. Returns -1 when the lane must stop. */
static int lane_hold(lane *l)
{
    int64_t (*hold)(ev_pub *) = l->e->br->pub->hold_until;
    while (hold && !lane_stopped(l)) {
        int64_t now = ev_mono_ns(), until = hold(l->pub);
        if (until <= now)
            return 0;
        int64_t t = until - now < 10 * EV_NS_PER_MS ? until - now : 10 * EV_NS_PER_MS;
        if (l->in_flight > 0)
            lane_poll(l, t);
        else
            ev_sleep_until(now + t, &l->e->stop_pub);
    }
    return lane_stopped(l) ? -1 : 0;
}

/* Records seq's send time (lane thread only). -1 when out of memory. */
static int store_put(lane *l, uint64_t seq, int64_t sent_wall)
{
    uint64_t c = seq >> STORE_SHIFT;
    if (c >= STORE_CHUNKS)
        return 0; /* beyond 2^32 events: no latency for matched outputs */
    _Atomic int64_t *chunk = atomic_load_explicit(&l->store[c], memory_order_relaxed);
    if (!chunk) {
        if (!(chunk = calloc(STORE_CHUNK, sizeof *chunk)))
            return -1;
        atomic_store_explicit(&l->store[c], chunk, memory_order_release);
    }
    atomic_store_explicit(&chunk[seq & (STORE_CHUNK - 1)], sent_wall, memory_order_relaxed);
    return 0;
}

/* seq's send time (wall ns), or 0 when not recorded (any thread). */
static int64_t store_get(const lane *l, uint64_t seq)
{
    uint64_t c = seq >> STORE_SHIFT;
    if (!l->store || c >= STORE_CHUNKS)
        return 0;
    _Atomic int64_t *chunk = atomic_load_explicit(&l->store[c], memory_order_acquire);
    return chunk ? atomic_load_explicit(&chunk[seq & (STORE_CHUNK - 1)], memory_order_relaxed) : 0;
}

/* Encodes and sends event seq intended at mono time `intended`. Returns -1
 * when the lane must stop. */
static int lane_send(lane *l, uint64_t seq, int64_t intended)
{
    engine *e = l->e;
    int64_t sent_mono = ev_mono_ns();
    int64_t sched_wall = intended + e->wall_off, sent_wall = sent_mono + e->wall_off;
    ev_msg m = {.seq = seq};
    char trace[EV_TRACEPARENT_LEN + 1];
    if (l->trace) {
        ev_ce_traceparent(e->run_id, e->tgt.ri.instance, l->idx, seq, trace);
        m.traceparent = trace;
    }
    int erc;
    if (l->sp->mode == EV_MODE_BINARY) {
        erc = ev_ce_encode_binary(l->tpl, seq, sched_wall, sent_wall, &l->bin);
        m.bin = &l->bin;
    } else {
        ev_buf_reset(&l->body);
        erc = ev_ce_encode_structured(l->tpl, seq, sched_wall, sent_wall, &l->body);
        m.body = l->body.p;
        m.len = l->body.len;
    }
    if (erc) {
        ev_err_set(&l->err, EV_EINTERNAL, "out of memory encoding an event");
        atomic_store(&l->rc, EV_EINTERNAL);
        return -1;
    }
    int measured = intended >= e->t0 + l->warm_end_off;
    if (l->store && store_put(l, seq, sent_wall)) {
        ev_err_set(&l->err, EV_EINTERNAL, "out of memory recording send times");
        atomic_store(&l->rc, EV_EINTERNAL);
        return -1;
    }
    atomic_store_explicit(&l->sent_hi, seq, memory_order_release);
    pthread_mutex_lock(&l->mu);
    l->pl.sent = seq;
    l->last_send_mono = sent_mono;
    if (measured) {
        l->measured_sent++;
        ev_hist_record(l->sched_lag, sent_mono - intended);
    }
    int src = e->br->pub->send(l->pub, &m, &l->err);
    if (src) {
        l->failed++;
        ev_iset_add(&l->pl.failed, seq);
    } else {
        l->ring_sent[seq & l->mask] = sent_mono;
        l->ring_seq[seq & l->mask] = seq;
        l->in_flight++;
    }
    pthread_mutex_unlock(&l->mu);
    if (src == EV_ECONNECT) {
        atomic_store(&l->rc, src);
        return -1;
    }
    l->unpolled++;
    return 0;
}

/* The open-model loop: each event at its intended time (or as soon as the
 * window allows, unpaced), outcomes collected on the way. */
static void lane_publish(lane *l)
{
    engine *e = l->e;
    const int64_t t0 = e->t0;
    ev_clock_precise();
    ev_sleep_until(t0, &e->stop_pub); /* every lane starts on the same instant */
    while (!lane_stopped(l)) {
        int64_t now = ev_mono_ns();
        int64_t off = ev_pacer_next(&l->pacer, now - t0);
        /* Poll before anything that waits, so what the module holds goes out
         * first; back-to-back sends poll every SEND_BATCH. */
        if (l->unpolled && (off == EV_PACER_END || l->unpolled >= SEND_BATCH ||
                            (off != EV_PACER_NOW && t0 + off > now) || lane_full(l))) {
            lane_poll(l, 0);
            l->unpolled = 0;
        }
        if (off == EV_PACER_END || lane_wait_window(l))
            break;
        int64_t intended = ev_mono_ns();
        if (off != EV_PACER_NOW) {
            intended = t0 + off;
            /* Wait for the intended time, collecting outcomes on the way. */
            while (l->in_flight > 0 && intended - ev_mono_ns() > 2 * EV_NS_PER_MS &&
                   !atomic_load(&e->stop_pub))
                lane_poll(l, EV_NS_PER_MS);
            ev_sleep_until(intended, &e->stop_pub);
            if (atomic_load(&e->stop_pub))
                break;
        }
        if (lane_hold(l) || lane_send(l, l->pl.sent + 1, intended))
            break;
    }
}

/* Collects the outcomes still due, then counts the rest as unknown (failed). */
static void lane_flush(lane *l)
{
    int64_t deadline = ev_mono_ns() + FLUSH_TIMEOUT_NS;
    while (l->in_flight > 0 && !atomic_load(&l->rc) && ev_mono_ns() < deadline &&
           interrupts(l->e) < 2)
        lane_poll(l, 10 * EV_NS_PER_MS);
    pthread_mutex_lock(&l->mu);
    for (uint64_t j = 0; j <= l->mask && l->in_flight > 0; j++) {
        if (l->ring_sent[j] >= 0) {
            l->ring_sent[j] = -1;
            l->in_flight--;
            l->failed++;
            ev_iset_add(&l->pl.failed, l->ring_seq[j]);
        }
    }
    pthread_mutex_unlock(&l->mu);
}

static void *lane_main(void *arg)
{
    lane *l = arg;
    engine *e = l->e;
    int rc = e->br->pub->open(e->tgt.state, &e->tgt.ri, l->idx, &l->pub, &l->err);
    if (rc)
        atomic_store(&l->rc, rc);
    gate_opened(e, rc != 0);
    if (!rc && !gate_wait(e)) {
        lane_publish(l);
        lane_flush(l);
    }
    e->br->pub->close(l->pub); /* flushes anything the module still holds */
    l->pub = NULL;
    atomic_fetch_add(&e->lanes_done, 1);
    return NULL;
}

/* ---- consumers -------------------------------------------------------- */

static void work_sleep(cons *c)
{
    const ev_plan *p = c->e->plan;
    if (p->work_max_ns <= 0)
        return;
    int64_t w = p->work_min_ns;
    if (p->work_max_ns > p->work_min_ns) {
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        w += (int64_t)(c->rng % (uint64_t)(p->work_max_ns - p->work_min_ns + 1));
    }
    ev_sleep_until(ev_mono_ns() + w, &c->e->stop_cons);
}

/* 1 when (instance, lane, seq) may be an event of this run: an instance and
 * lane the run has, and, for this instance's own lanes, a seq the lane has
 * sent (another instance's lanes are judged when the results are merged). */
static int known_identity(engine *e, uint32_t instance, uint32_t ln, uint64_t seq)
{
    if (instance >= e->ninst || ln >= e->nlanes || seq == 0)
        return 0;
    if (instance != e->inst)
        return 1;
    return seq <= atomic_load_explicit(&e->lanes[ln].sent_hi, memory_order_acquire);
}

/* One first sighting's latencies, overall and for its stream. */
static void record_e2e(cons *c, uint32_t stream, int64_t e2e, int64_t e2e_sched)
{
    ev_hist_record(c->e2e, e2e);
    ev_hist_record(c->e2e_sched, e2e_sched);
    if (c->se2e) {
        ev_hist_record(c->se2e[stream], e2e);
        ev_hist_record(c->se2e_sched[stream], e2e_sched);
    }
}

/* One sighting of (lane, seq) of this instance, checked against what the
 * lanes sent and what the output expects; latency from evload's own record
 * (the send-time store and the schedule), never from what the service kept.
 * The caller holds c->mu. */
static void account_id(cons *c, const ev_match_id *id, int redelivered, int64_t now)
{
    engine *e = c->e;
    if (!known_identity(e, id->instance, id->lane, id->seq)) {
        ev_ledger_foreign(c->led);
        return;
    }
    uint32_t gl = id->instance * e->nlanes + id->lane; /* the ledger's lane */
    const lane *l = &e->lanes[id->lane];               /* every instance numbers its lanes alike */
    if (!c->o->expect[l->stream]) {
        ev_ledger_unexpected(c->led);
        return;
    }
    int late = atomic_load_explicit(&e->sweep, memory_order_relaxed);
    unsigned flags = (redelivered ? EV_SEE_REDELIVERED : 0) | (late ? EV_SEE_LATE : 0);
    if (ev_ledger_see(c->led, gl, id->seq, flags) != EV_SEE_NEW || late || id->instance != e->inst)
        return; /* another instance's send times are its own */
    int64_t off = ev_pacer_intended(&l->sched, id->seq);
    int64_t sent = store_get(l, id->seq);
    int64_t sched = off >= 0 ? e->t0 + off + e->wall_off : sent;
    if (sched && sched < l->warm_end_wall)
        return;
    if (!sent) {
        c->no_latency++;
        return;
    }
    record_e2e(c, l->stream, now - sent, now - sched);
}

/* A message matched by header, JSON pointer or traceparent (ev_match.h). */
static void account_matched(cons *c, const ev_delivery *d, int64_t now)
{
    const ev_output *def = c->o->def;
    ev_msg_view v = {.binary = d->binary,
                     .body = d->body,
                     .len = d->len,
                     .attrs = d->attrs,
                     .nattrs = d->nattrs,
                     .headers = d->headers,
                     .nheaders = d->nheaders};
    ev_match_id ids[MATCH_MAX];
    int n = ev_match_ids(def->match, def->match_arg, &v, c->e->run_id, ids, MATCH_MAX);
    if (n <= 0) {
        ev_ledger_foreign(c->led);
        return;
    }
    for (int i = 0; i < n; i++)
        account_id(c, &ids[i], d->redelivered, now);
}

/* What one message says about the event it carries: the envelope (its
 * checksum checked), or, for outputs matched otherwise, ev_match. */
static void account(cons *c, const ev_delivery *d)
{
    if (c->o->def->match != EV_MATCH_ENVELOPE) {
        account_matched(c, d, d->recv_wall_ns ? d->recv_wall_ns : ev_wall_ns());
        return;
    }
    engine *e = c->e;
    ev_ce_seen s;
    if (d->binary)
        ev_ce_decode_binary(d->attrs, d->nattrs, d->content_type, d->body, d->len, e->run_id, &s);
    else
        ev_ce_decode_structured(d->body, d->len, e->run_id, &s);
    int64_t now = d->recv_wall_ns ? d->recv_wall_ns : ev_wall_ns();
    if (s.status == EV_CE_FOREIGN) {
        /* The service may have rebuilt the event keeping only its id. */
        ev_msg_view v = {.binary = d->binary,
                         .body = d->body,
                         .len = d->len,
                         .attrs = d->attrs,
                         .nattrs = d->nattrs};
        ev_match_id id;
        if (ev_match_ids(EV_MATCH_ENVELOPE, NULL, &v, e->run_id, &id, 1) == 1)
            account_id(c, &id, d->redelivered, now);
        else
            ev_ledger_foreign(c->led);
        return;
    }
    /* A damaged copy is corrupted and nothing else: never a sighting (its
     * identity, when readable and in range, only says which lane's share of
     * corrupted it is). */
    if (s.status == EV_CE_CORRUPT) {
        if (s.has_identity && s.instance < e->ninst && s.lane < e->nlanes)
            ev_ledger_see(c->led, s.instance * e->nlanes + s.lane, s.seq, EV_SEE_CORRUPTED);
        else
            ev_ledger_corrupt_unknown(c->led);
        return;
    }
    /* An intact identity this instance never published (another instance's,
     * a lane it does not have, a seq beyond what the lane sent) is foreign. */
    if (!known_identity(e, s.instance, s.lane, s.seq)) {
        ev_ledger_foreign(c->led);
        return;
    }
    const lane *l = &e->lanes[s.lane]; /* every instance numbers its lanes alike */
    if (!c->o->expect[l->stream]) {
        ev_ledger_unexpected(c->led);
        return;
    }
    int late = atomic_load_explicit(&e->sweep, memory_order_relaxed);
    unsigned flags = (d->redelivered ? EV_SEE_REDELIVERED : 0) | (late ? EV_SEE_LATE : 0);
    int r = ev_ledger_see(c->led, s.instance * e->nlanes + s.lane, s.seq, flags);
    /* Latency only for first sightings in time after warm-up: a duplicate's
     * latency says nothing about the path of the original. */
    if (r == EV_SEE_NEW && !late && s.sched_ns >= l->warm_end_wall)
        record_e2e(c, l->stream, now - s.sent_ns, now - s.sched_ns);
}

/* Accounts one batch, does its (simulated) work and acknowledges it.
 * Returns -1 when the connection failed. */
static int cons_take(cons *c, ev_delivery *d, int n)
{
    engine *e = c->e;
    int64_t now = ev_wall_ns();
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < n; i++) {
        if (!d[i].recv_wall_ns)
            d[i].recv_wall_ns = now;
        c->led = c->leds[d[i].group < c->ngr ? d[i].group : 0];
        account(c, &d[i]);
    }
    pthread_mutex_unlock(&c->mu);
    /* The final sweep reads what remains, without simulated work. */
    if (e->plan->work_max_ns > 0 && !atomic_load(&e->sweep))
        for (int i = 0; i < n; i++)
            work_sleep(c);
    const ev_broker *br = c->o->at->br;
    if (br->sub->ack && br->sub->ack(c->sub, d, n, &c->err) < 0)
        return -1;
    pthread_mutex_lock(&c->mu);
    c->processed += (uint64_t)n;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void *cons_main(void *arg)
{
    cons *c = arg;
    engine *e = c->e;
    ev_delivery d[RECV_BATCH];
    const endpoint *at = c->o->at;
    int rc = c->ngr > 1 || output_threads(c->o) < c->o->ngroups
                 ? at->br->sub->open_groups(at->state, &at->ri, c->group, c->ngr, &c->sub, &c->err)
                 : at->br->sub->open(at->state, &at->ri, c->group, c->idx, &c->sub, &c->err);
    if (rc)
        atomic_store(&c->rc, rc);
    gate_opened(e, rc != 0);
    if (rc)
        return NULL;
    /* A consumer holds at most `prefetch` unacknowledged deliveries. */
    int batch = e->plan->prefetch < RECV_BATCH ? (int)e->plan->prefetch : RECV_BATCH;
    if (batch < 1)
        batch = 1;
    while (!atomic_load(&e->stop_cons)) {
        int n = at->br->sub->recv(c->sub, d, batch, 50 * EV_NS_PER_MS, &c->err);
        if (n < 0 || (n > 0 && cons_take(c, d, n))) {
            atomic_store(&c->rc, EV_ECONNECT);
            break;
        }
    }
    at->br->sub->close(c->sub);
    c->sub = NULL;
    return NULL;
}
/* ---- reporter --------------------------------------------------------- */

static void snap_free(snapshot *s, uint32_t nlanes, uint32_t ngroups)
{
    if (s->pl)
        for (uint32_t i = 0; i < nlanes; i++)
            ev_iset_clear(&s->pl[i].failed);
    free(s->pl);
    if (s->group)
        for (uint32_t g = 0; g < ngroups; g++)
            ev_ledger_free(s->group[g]);
    free(s->group);
    ev_hist *hs[] = {s->e2e,      s->e2e_sched, s->ack,        s->sched_lag, s->prev_e2e,
                     s->prev_lag, s->prev_ack,  s->prev_sched, s->tmp};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        ev_hist_free(hs[i]);
}

static int snap_init(snapshot *s, engine *e)
{
    memset(s, 0, sizeof *s);
    s->pl = calloc(e->ltotal, sizeof *s->pl);
    s->group = calloc(e->ngroups ? e->ngroups : 1, sizeof *s->group); /* 0: publish only */
    if (!s->pl || !s->group)
        return -1;
    for (uint32_t i = 0; i < e->nouts; i++) {
        const output *o = &e->outs[i];
        for (uint32_t g = 0; g < o->ngroups; g++)
            if (!(s->group[o->group0 + g] = ev_ledger_new(e->ltotal, o->ordered, o->copies)))
                return -1;
    }
    ev_hist **hs[] = {&s->e2e,      &s->e2e_sched, &s->ack,        &s->sched_lag, &s->prev_e2e,
                      &s->prev_lag, &s->prev_ack,  &s->prev_sched, &s->tmp};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!(*hs[i] = ev_hist_new()))
            return -1;
    return 0;
}

/* Merges every thread's state into s. Each thread's lock is held only while
 * its own part is copied. hists = 0 leaves the histograms as they were: the
 * drain's frequent checks need only counters and ledgers, and merging a few
 * hundred KiB of buckets per thread every 10 ms would be wasted work. */
static int snap_take(snapshot *s, engine *e, int hists)
{
    int rc = 0;
    s->sent = s->acked = s->failed = s->measured_sent = s->received = s->processed = 0;
    s->no_latency = 0;
    s->in_flight = s->blocked_ns = s->last_send_mono = 0;
    if (hists) {
        ev_hist_reset(s->ack);
        ev_hist_reset(s->sched_lag);
        ev_hist_reset(s->e2e);
        ev_hist_reset(s->e2e_sched);
    }
    /* The consumers before the lanes: an event is counted sent before it can
     * be seen, so a live snapshot never shows more received than sent. */
    for (uint32_t g = 0; g < e->ngroups; g++)
        ev_ledger_reset(s->group[g]);
    for (uint32_t i = 0; i < e->ncons; i++) {
        cons *c = &e->cons[i];
        pthread_mutex_lock(&c->mu);
        for (uint32_t k = 0; k < c->ngr; k++)
            rc |= ev_ledger_merge(s->group[c->gg + k], c->leds[k]);
        if (hists) {
            ev_hist_merge(s->e2e, c->e2e);
            ev_hist_merge(s->e2e_sched, c->e2e_sched);
        }
        s->processed += c->processed;
        s->no_latency += c->no_latency;
        pthread_mutex_unlock(&c->mu);
    }
    for (uint32_t i = 0; i < e->ltotal; i++)
        s->pl[i].unknown = i / e->nlanes != e->inst; /* another instance's lane */
    for (uint32_t i = 0; i < e->nlanes; i++) {
        lane *l = &e->lanes[i];
        ev_publane *pl = &s->pl[e->inst * e->nlanes + i];
        pthread_mutex_lock(&l->mu);
        pl->sent = l->pl.sent;
        rc |= ev_iset_copy(&pl->failed, &l->pl.failed);
        s->sent += l->pl.sent;
        s->acked += l->acked;
        s->failed += l->failed;
        s->measured_sent += l->measured_sent;
        s->in_flight += l->in_flight;
        s->blocked_ns += l->blocked_ns;
        if (l->last_send_mono > s->last_send_mono)
            s->last_send_mono = l->last_send_mono;
        if (hists) {
            ev_hist_merge(s->ack, l->ack);
            ev_hist_merge(s->sched_lag, l->sched_lag);
        }
        pthread_mutex_unlock(&l->mu);
    }
    for (uint32_t g = 0; g < e->ngroups; g++)
        s->received += ev_ledger_received(s->group[g]);
    return rc ? -1 : 0;
}

/* Provisional loss for the status line: gaps behind each lane's highest
 * sighting (a late or reordered delivery may still fill them). */
static uint64_t snap_gaps(const snapshot *s, engine *e)
{
    uint64_t gaps = 0;
    for (uint32_t g = 0; g < e->ngroups; g++)
        gaps += ev_ledger_gaps(s->group[g], s->pl);
    return gaps;
}

/* The lanes' record pl as output o judges it: pl itself, or, when o expects
 * some streams only, a view (o->pv, borrowing pl's sets) in which the other
 * streams' lanes are unknown, so reconcile skips them. Reporter only. */
static const ev_publane *output_pubs(const engine *e, const output *o, const ev_publane *pl)
{
    if (!o->partial)
        return pl;
    for (uint32_t i = 0; i < e->ltotal; i++) {
        o->pv[i] = pl[i];
        if (!o->expect[e->lanes[i % e->nlanes].stream])
            o->pv[i].unknown = 1;
    }
    return o->pv;
}

/* Copies output o still misses (what the drain waits for). */
static uint64_t snap_missing(const engine *e, const snapshot *s, const output *o)
{
    uint64_t m = 0;
    const ev_publane *pl = output_pubs(e, o, s->pl);
    for (uint32_t g = 0; o->expects && g < o->ngroups; g++)
        m += ev_ledger_missing(s->group[o->group0 + g], pl);
    return m;
}

/* An endpoint's backlog, or -1 when it does not say. */
static int64_t endpoint_depth(const endpoint *ep)
{
    return ep->br->depth ? ep->br->depth(ep->state) : -1;
}

/* The backlog over every output's source (each endpoint once), or -1 when
 * one of them does not say. */
static int64_t outputs_depth(engine *e)
{
    int64_t d = 0;
    for (uint32_t i = 0; i < e->nouts; i++) { /* at most one output consumes the target */
        int64_t x = endpoint_depth(e->outs[i].at);
        if (x < 0)
            return -1;
        d += x;
    }
    return d;
}

/* The transports' own figures for this second: the target's, and each
 * separate source's under its output's name. */
static int sample_point(engine *e, json_t *point)
{
    if (e->br->sample)
        e->br->sample(e->tgt.state, point);
    for (uint32_t i = 0; i < e->nouts; i++) {
        const output *o = &e->outs[i];
        if (o->at != &o->own || !o->own.br->sample)
            continue;
        json_t *sub = json_object();
        if (!sub)
            return -1;
        o->own.br->sample(o->own.state, sub);
        json_object_set_new(point, o->def->name[0] ? o->def->name : "source", sub);
    }
    for (uint32_t i = 0; i < e->nhops; i++) {
        char key[32];
        snprintf(key, sizeof key, "hop%u_depth", i);
        int64_t d = endpoint_depth(&e->hops[i]);
        json_object_set_new(point, key, d >= 0 ? json_integer(d) : json_null());
    }
    return 0;
}

static double pct_ms(const ev_hist *h, double p)
{
    return ev_hist_count(h) ? (double)ev_hist_percentile(h, p) / 1e6 : 0.0;
}

/* Adds one second's histogram (ack: 0 e2e, 1 ack) to the stage tp belongs
 * to, opening a new stage when tp's phase differs from the last one's (the
 * e2e call comes first for each point, so it opens it); prev is the point
 * before tp, NULL for the first. -1 on OOM. */
static int stage_add(ev_results *r, const ev_tpoint *tp, const ev_tpoint *prev, const ev_hist *h,
                     int ack)
{
    ev_stage_result *st = r->nstages ? &r->stages[r->nstages - 1] : NULL;
    /* The final point closes the last stage rather than opening its own. */
    if (!ack && (!st || (strcmp(st->name, tp->phase) && strcmp(tp->phase, "end")))) {
        ev_stage_result *ns = realloc(r->stages, (r->nstages + 1) * sizeof *ns);
        if (!ns)
            return -1;
        r->stages = ns;
        st = &ns[r->nstages++];
        memset(st, 0, sizeof *st);
        snprintf(st->name, sizeof st->name, "%s", tp->phase);
        st->t0 = prev ? prev->t : 0.0;
        if (!(st->e2e = ev_hist_new()) || !(st->ack = ev_hist_new()))
            return -1;
    }
    if (!st)
        return -1;
    st->t1 = tp->t;
    if (!ack) {
        st->sent += tp->sent - (prev ? prev->sent : 0);
        st->received += tp->received - (prev ? prev->received : 0);
    }
    ev_hist_merge(ack ? st->ack : st->e2e, h);
    return 0;
}

static double target_rate(const engine *e, int64_t off);

/* The point of the second just ended: its figures, the status line, and
 * into the results' timeseries (which keeps it on file: ev_tseries.h).
 * 0, or EV_EINTERNAL with err (out of memory, the timeseries' spill file). */
static int push_point(ev_results *r, snapshot *s, engine *e, const char *phase, double prog,
                      int64_t now, int scheduled, const status_ctx *st, ev_err *err)
{
    ev_tpoint point, *tp = &point;
    const ev_tpoint *prev = ev_tseries_last(r);
    memset(tp, 0, sizeof *tp);
    int rc = -1; /* until the point is complete: out of memory */
    int64_t off = now - e->t0;
    tp->t = (double)off / 1e9;
    snprintf(tp->phase, sizeof tp->phase, "%s", phase);
    /* This instance's share of the schedule (all of it when alone). */
    tp->rate_target = scheduled ? target_rate(e, off) * e->nlanes / e->ltotal : 0.0;
    if (prev && tp->t > prev->t)
        tp->rate_achieved = (double)(s->sent - prev->sent) / (tp->t - prev->t);
    else if (tp->t > 0)
        tp->rate_achieved = (double)s->sent / tp->t;
    tp->sent = s->sent;
    tp->acked = s->acked;
    tp->failed = s->failed;
    tp->received = s->received;
    tp->lost = snap_gaps(s, e);
    tp->in_flight = s->in_flight;
    tp->depth = e->nouts ? outputs_depth(e) : endpoint_depth(&e->tgt);
    tp->blocked_ns = s->blocked_ns;
    tp->rss_bytes = ev_drift_rss_bytes();
    int64_t planned = ev_plan_publish_ns(e->plan);
    tp->planned_s = planned > 0 ? (double)(planned + e->plan->warmup_ns) / 1e9 : -1.0;
    tp->remaining_s = planned > 0 ? (tp->t < tp->planned_s ? tp->planned_s - tp->t : 0.0) : -1.0;
    ev_hist_diff(s->tmp, s->e2e, s->prev_e2e);
    tp->e2e_p50_ms = pct_ms(s->tmp, 50.0);
    tp->e2e_p99_ms = pct_ms(s->tmp, 99.0);
    tp->e2e_max_ms = ev_hist_count(s->tmp) ? (double)ev_hist_max(s->tmp) / 1e6 : 0.0;
    if (!(tp->hist_e2e = ev_hist_encode(s->tmp)) || stage_add(r, tp, prev, s->tmp, 0))
        goto out;
    ev_hist_copy(s->prev_e2e, s->e2e);
    ev_hist_diff(s->tmp, s->ack, s->prev_ack);
    if (!(tp->hist_ack = ev_hist_encode(s->tmp)) || stage_add(r, tp, prev, s->tmp, 1))
        goto out;
    ev_hist_copy(s->prev_ack, s->ack);
    ev_hist_diff(s->tmp, s->e2e_sched, s->prev_sched);
    if (!(tp->hist_e2e_sched = ev_hist_encode(s->tmp)))
        goto out;
    ev_hist_copy(s->prev_sched, s->e2e_sched);
    ev_hist_diff(s->tmp, s->sched_lag, s->prev_lag);
    tp->sched_lag_p99_ms = pct_ms(s->tmp, 99.0);
    ev_hist_copy(s->prev_lag, s->sched_lag);
    ev_prom_update(e->opts ? e->opts->prom : NULL, e->run_id, e->plan->name, tp, s->e2e, s->ack);
    if (tp->in_flight > r->max_in_flight)
        r->max_in_flight = tp->in_flight;
    if (tp->depth > r->max_depth)
        r->max_depth = tp->depth;
    if (e->br->sample || e->nouts || e->nhops) {
        tp->broker = json_object();
        if (!tp->broker || sample_point(e, tp->broker))
            goto out;
        if (!r->bp_broker && !(r->bp_broker = json_object()))
            goto out;
        const char *k;
        json_t *v;
        json_object_foreach (tp->broker, k, v) {
            json_t *m = json_object_get(r->bp_broker, k);
            if (json_is_number(v) && (!m || json_number_value(v) > json_number_value(m)))
                json_object_set(r->bp_broker, k, v);
        }
    }
    if (st->show) {
        char line[256];
        ev_report_status(tp, prog, e->ngroups > 0, line, sizeof line);
        if (st->tty)
            fprintf(stderr, "\r\033[K%s", line);
        else
            fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    rc = ev_tseries_append(r, tp, err);
out:
    free(tp->hist_e2e);
    free(tp->hist_ack);
    free(tp->hist_e2e_sched);
    json_decref(tp->broker);
    return rc < 0 ? oom(err) : rc;
}

/* Stream plan p's stage at offset off from its own start: its index, the
 * offset where it began in *t0; -1 before the stages (warm-up) or for an
 * executor without stages. */
static int stage_at(const ev_plan *p, int64_t off, int64_t *t0)
{
    int64_t t = p->warmup_ns;
    if (off < t || p->executor != EV_EXEC_RAMPING)
        return -1;
    for (size_t i = 0; i < p->nstages; i++) {
        int64_t d = p->stages[i].duration_ns;
        if (off < t + d || i + 1 == p->nstages) {
            *t0 = t;
            return (int)i;
        }
        t += d;
    }
    return -1;
}

/* The phase at offset off and how far through it the run is (0..1, < 0
 * unknown), for the timeseries and the status line's progress bar. One
 * stream: "warmup", the stage's name or "stage i/n", or "publish". Several:
 * the first stream's named stage at off, else "publish". */
static double phase_at(const engine *e, int64_t off, char *buf, size_t size)
{
    const ev_plan *plan = e->plan;
    int64_t total = ev_plan_publish_ns(plan), t0 = 0;
    for (uint32_t s = 0; e->multi && s < e->nstreams; s++) {
        const ev_stream *st = &plan->streams[s];
        int i = stage_at(st->plan, off - st->start_after_ns, &t0);
        if (i >= 0 && st->plan->stages[i].name[0] && off >= st->start_after_ns) {
            int64_t d = st->plan->stages[i].duration_ns;
            snprintf(buf, size, "%s", st->plan->stages[i].name);
            return d > 0 ? (double)(off - st->start_after_ns - t0) / (double)d : 1.0;
        }
    }
    if (e->multi) {
        snprintf(buf, size, "%s", off < plan->warmup_ns ? "warmup" : "publish");
        return total > 0 ? (double)(off - plan->warmup_ns) / (double)total : -1.0;
    }
    if (off < plan->warmup_ns) {
        snprintf(buf, size, "warmup");
        return (double)off / (double)plan->warmup_ns;
    }
    int i = stage_at(plan, off, &t0);
    if (i >= 0 && (plan->nstages > 1 || plan->stages[i].name[0])) {
        const ev_stage *sg = &plan->stages[i];
        if (sg->name[0])
            snprintf(buf, size, "%s", sg->name);
        else
            snprintf(buf, size, "stage %u/%u", (unsigned)(i + 1) % 1000u,
                     (unsigned)plan->nstages % 1000u);
        return sg->duration_ns > 0 ? (double)(off - t0) / (double)sg->duration_ns : 1.0;
    }
    snprintf(buf, size, "publish");
    return total > 0 ? (double)(off - plan->warmup_ns) / (double)total : -1.0;
}

/* ---- the run: phases -------------------------------------------------- */

static int first_thread_error(engine *e, ev_err *err)
{
    for (uint32_t i = 0; i < e->ncons; i++) {
        int rc = atomic_load(&e->cons[i].rc);
        if (rc) {
            ev_err_set(err, rc, "%s", e->cons[i].err.msg);
            return rc;
        }
    }
    for (uint32_t i = 0; i < e->nlanes; i++) {
        int rc = atomic_load(&e->lanes[i].rc);
        if (rc) {
            ev_err_set(err, rc, "%s", e->lanes[i].err.msg);
            return rc;
        }
    }
    return 0;
}

/* Lane i of stream st: its window, ring, schedule (its stream's, split by
 * lane across instances and delayed by start_after) and event template. */
static int lane_init(engine *e, lane *l, uint32_t i, const ev_stream *st, int needs_store,
                     int trace, ev_err *err)
{
    const ev_plan *sp = st->plan;
    uint64_t window = (uint64_t)(sp->max_in_flight / sp->lanes);
    if (window < 1)
        window = 1;
    uint64_t ring = 1;
    while (ring < 4 * window)
        ring <<= 1;
    l->e = e;
    l->idx = i;
    l->stream = (uint32_t)(st - e->plan->streams);
    l->sp = sp;
    l->window = window;
    l->mask = ring - 1;
    l->warm_end_off = st->start_after_ns + sp->warmup_ns;
    l->body = (ev_buf)EV_BUF_INIT;
    pthread_mutex_init(&l->mu, NULL);
    if (!(l->ring_sent = malloc(ring * sizeof *l->ring_sent)) ||
        !(l->ring_seq = calloc(ring, sizeof *l->ring_seq)) || !(l->ack = ev_hist_new()) ||
        !(l->sched_lag = ev_hist_new()))
        return oom(err);
    for (uint64_t j = 0; j < ring; j++)
        l->ring_sent[j] = -1;
    /* The stream's lanes of every instance: instance I's lane k of the
     * stream is lane I × lanes + k of instances × lanes. */
    uint32_t ls = (uint32_t)sp->lanes, k = i - st->lane0;
    int rc = ev_pacer_init_shard(&l->pacer, sp, e->inst * ls + k, e->ninst * ls, err);
    if (rc)
        return rc;
    ev_pacer_shift(&l->pacer, st->start_after_ns);
    l->sched = l->pacer;
    l->trace = trace;
    if (needs_store && !(l->store = calloc(STORE_CHUNKS, sizeof *l->store)))
        return oom(err);
    ev_ce_params cp = {.type = sp->event_type,
                       .source = sp->event_source,
                       .run = e->run_id,
                       .instance = e->tgt.ri.instance,
                       .lane = i,
                       .data_size = (size_t)sp->data_size,
                       .data_template = sp->event_data_json,
                       .traceparent = trace};
    return ev_ce_template_new(&cp, &l->tpl, err);
}

static int alloc_lanes(engine *e, ev_err *err)
{
    const ev_plan *plan = e->plan;
    int needs_store = 0, trace = 0;
    for (uint32_t i = 0; i < e->nouts; i++) {
        needs_store |= e->outs[i].def->match != EV_MATCH_ENVELOPE;
        trace |= e->outs[i].def->match == EV_MATCH_TRACEPARENT;
    }
    if (!(e->lanes = calloc(e->nlanes, sizeof *e->lanes)) ||
        !(e->shapes = calloc(e->nstreams, sizeof *e->shapes)))
        return oom(err);
    for (uint32_t i = 0; i < e->nlanes; i++) {
        int rc =
            lane_init(e, &e->lanes[i], i, ev_plan_lane_stream(plan, i), needs_store, trace, err);
        if (rc)
            return rc;
    }
    for (uint32_t s = 0; s < e->nstreams; s++) {
        const ev_stream *st = &plan->streams[s];
        int rc = ev_pacer_init(&e->shapes[s], st->plan, 0, err);
        if (rc)
            return rc;
        ev_pacer_shift(&e->shapes[s], st->start_after_ns);
    }
    return EV_OK;
}

/* The schedule's rate (events/s, every instance) at offset off. */
static double target_rate(const engine *e, int64_t off)
{
    double r = 0;
    for (uint32_t s = 0; s < e->nstreams; s++)
        r += ev_pacer_rate_at(&e->shapes[s], off);
    return r;
}

static int alloc_cons(engine *e, ev_err *err)
{
    e->ncons = 0;
    for (uint32_t k = 0; k < e->nouts; k++)
        e->ncons += output_threads(&e->outs[k]);
    if (!(e->cons = calloc(e->ncons ? e->ncons : 1, sizeof *e->cons))) /* 0: publish only */
        return oom(err);
    uint32_t i = 0;
    for (uint32_t k = 0; k < e->nouts; k++) {
        output *o = &e->outs[k];
        uint32_t nt = output_threads(o), per = o->consumers;
        int mux = nt < o->ngroups * o->consumers;
        for (uint32_t t = 0; t < nt; t++, i++) {
            cons *c = &e->cons[i];
            c->e = e;
            c->o = o;
            if (mux) { /* groups [g0, g1) */
                uint32_t g0 = (uint32_t)((uint64_t)o->ngroups * t / nt);
                uint32_t g1 = (uint32_t)((uint64_t)o->ngroups * (t + 1) / nt);
                c->group = g0;
                c->ngr = g1 - g0;
                c->idx = 0;
            } else {
                c->group = t / per;
                c->idx = t % per;
                c->ngr = 1;
            }
            c->gg = o->group0 + c->group;
            c->rng = 0x9E3779B97F4A7C15u ^ ((uint64_t)i << 17) ^ 1;
            pthread_mutex_init(&c->mu, NULL);
        }
    }
    return EV_OK;
}

/* ri for an endpoint of this run. */
static ev_run_info run_info(engine *e, const ev_endpoint *ep, unsigned roles, uint32_t groups,
                            uint32_t consumers, int pipeline)
{
    return (ev_run_info){.plan = e->plan,
                         .url = ep->url,
                         .params = ep->params,
                         .roles = roles,
                         .groups = groups,
                         .consumers = consumers,
                         .pipeline = pipeline,
                         .run_id = e->run_id,
                         .instance = e->inst,
                         .instances = e->ninst,
                         .lanes = e->nlanes,
                         .stop = &e->stop_cons};
}

/* 1 when output o's source is the target itself (the broker test). */
static int consumes_target(const ev_plan *plan, const ev_output *o)
{
    return !o->source || !strcmp(o->source, plan->target);
}

/* Each output: its source endpoint (the target's, or its own), its groups
 * and what it expects. */
static int init_outputs(engine *e, ev_err *err)
{
    const ev_plan *plan = e->plan;
    int pipeline = 0, on_target = 0;
    e->nouts = (uint32_t)plan->noutputs;
    if (e->nouts && !(e->outs = calloc(e->nouts, sizeof *e->outs)))
        return oom(err);
    for (uint32_t i = 0; i < e->nouts; i++) {
        output *o = &e->outs[i];
        o->def = &plan->outputs[i];
        o->group0 = e->ngroups;
        o->ngroups = (uint32_t)o->def->groups;
        o->consumers = (uint32_t)o->def->consumers;
        o->copies = (uint32_t)o->def->copies;
        if (!(o->expect = calloc(e->nstreams, 1)))
            return oom(err);
        uint32_t nexp = 0;
        for (uint32_t s = 0; s < e->nstreams; s++) {
            const ev_plan *sp = plan->streams[s].plan;
            o->expect[s] =
                o->def->expect == EV_EXPECT_ALL ||
                (o->def->expect == EV_EXPECT_TYPE && !strcmp(o->def->expect_type, sp->event_type));
            nexp += o->expect[s];
        }
        o->expects = nexp > 0;
        o->partial = nexp > 0 && nexp < e->nstreams;
        if (o->partial && !(o->pv = calloc(e->ltotal, sizeof *o->pv)))
            return oom(err);
        e->ngroups += o->ngroups;
        if (consumes_target(plan, o->def)) {
            if (on_target++)
                return ev_err_set(err, EV_EUSAGE,
                                  "verify.outputs: two outputs consume the target itself; give "
                                  "one of them its own source");
            o->at = &e->tgt;
        } else {
            o->at = &o->own;
            pipeline = 1;
        }
    }
    for (uint32_t i = 0; i < e->nouts; i++) {
        output *o = &e->outs[i];
        if (o->at == &e->tgt) {
            e->tgt.ri.roles |= EV_ROLE_VERIFY;
            e->tgt.ri.groups = o->ngroups;
            e->tgt.ri.consumers = o->consumers;
            continue;
        }
        int rc = ev_endpoint_open(o->def->source, EV_ROLE_VERIFY, &o->own.ep, err);
        if (rc) {
            ev_err_prefix(err, "verify%s%s", o->def->name[0] ? ".outputs." : ".source",
                          o->def->name);
            return rc;
        }
        o->own.br = o->own.ep->br;
        o->own.ri = run_info(e, o->own.ep, EV_ROLE_VERIFY, o->ngroups, o->consumers, 1);
    }
    e->tgt.ri.pipeline = pipeline;
    return EV_OK;
}

/* verify.observe: each hop opened for watching, configured. */
static int init_hops(engine *e, ev_err *err)
{
    const ev_plan *plan = e->plan;
    e->nhops = (uint32_t)plan->nobserve;
    if (e->nhops && !(e->hops = calloc(e->nhops, sizeof *e->hops)))
        return oom(err);
    for (uint32_t i = 0; i < e->nhops; i++) {
        endpoint *h = &e->hops[i];
        int rc = ev_endpoint_open(plan->observe[i], EV_ROLE_OBSERVE, &h->ep, err);
        if (rc) {
            ev_err_prefix(err, "verify.observe[%u]", i);
            return rc;
        }
        h->br = h->ep->br;
        h->ri = run_info(e, h->ep, EV_ROLE_OBSERVE, 0, 0, 1);
        if ((rc = ev_endpoint_configure(h->ep, &h->ri, err)))
            return rc;
    }
    return EV_OK;
}

/* What the watched hops hold now: the sum, or -1 when one cannot say. */
static int64_t hops_depth(engine *e)
{
    int64_t d = 0;
    for (uint32_t i = 0; i < e->nhops; i++) {
        int64_t x = endpoint_depth(&e->hops[i]);
        if (x < 0)
            return -1;
        d += x;
    }
    return d;
}

/* Resolves the target and every output's source to their transports and
 * runs every check that needs no connection (`evload check` stops here). */
static int engine_resolve(engine *e, ev_err *err)
{
    const ev_plan *plan = e->plan;
    if (plan->run_id)
        snprintf(e->run_id, sizeof e->run_id, "%s", plan->run_id);
    else
        gen_run_id(e->run_id, sizeof e->run_id);
    e->nlanes = ev_plan_lanes(plan);
    e->nstreams = (uint32_t)plan->nstreams;
    e->multi = plan->streams_explicit;
    e->ninst = e->opts && e->opts->instances ? e->opts->instances : 1;
    e->inst = e->opts && e->opts->instances ? e->opts->instance : 0;
    e->ltotal = e->ninst * e->nlanes;
    /* The target is opened for publishing; an output consuming it adds the
     * verify role before it is configured. */
    int rc = ev_endpoint_open(plan->target, EV_ROLE_PUBLISH, &e->tgt.ep, err);
    if (rc)
        return rc;
    e->br = e->tgt.br = e->tgt.ep->br;
    e->tgt.ri = run_info(e, e->tgt.ep, EV_ROLE_PUBLISH, 0, 0, 0);
    if ((rc = init_outputs(e, err)))
        return rc;
    if ((e->tgt.ri.roles & EV_ROLE_VERIFY) && !(e->br->roles & EV_ROLE_VERIFY))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: %s:// cannot be verified from; set verify.source to where "
                          "your services put the events",
                          e->tgt.ri.url->redacted, e->tgt.ri.url->scheme);
    if ((rc = ev_endpoint_configure(e->tgt.ep, &e->tgt.ri, err)))
        return rc;
    if ((rc = ev_faults_new(plan, e->tgt.ri.url, e->inst, &e->faults, err))) /* faults */
        return rc;
    for (uint32_t i = 0; i < e->nouts; i++)
        if (e->outs[i].at == &e->outs[i].own &&
            (rc = ev_endpoint_configure(e->outs[i].own.ep, &e->outs[i].own.ri, err)))
            return rc;
    return init_hops(e, err);
}

/* Resolves and configures (engine_resolve), then allocates every thread's
 * state before any thread starts. */
static int engine_init(engine *e, ev_err *err)
{
    e->started_wall = ev_wall_ns();
    e->started_mono = ev_mono_ns();
    e->R.max_depth = -1; /* until the broker reports a depth */
    int rc = engine_resolve(e, err);
    if (rc || (rc = alloc_lanes(e, err)) || (rc = alloc_cons(e, err)))
        return rc;
    return EV_OK;
}

static int wait_opened(engine *e, int want, ev_err *err)
{
    int64_t deadline = ev_mono_ns() + READY_TIMEOUT_NS;
    pthread_mutex_lock(&e->gate_mu);
    while (e->opened < want && !e->open_failed && ev_mono_ns() < deadline && !interrupts(e)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= EV_NS_PER_S) {
            ts.tv_sec++;
            ts.tv_nsec -= EV_NS_PER_S;
        }
        pthread_cond_timedwait(&e->gate_cv, &e->gate_mu, &ts);
    }
    int ok = e->opened >= want && !e->open_failed;
    pthread_mutex_unlock(&e->gate_mu);
    if (ok)
        return 0;
    int rc = first_thread_error(e, err);
    if (rc)
        return rc;
    if (interrupts(e))
        return ev_err_set(err, EV_ECONNECT, "interrupted during setup");
    return ev_err_set(err, EV_ECONNECT, "%s: not every connection was ready within %d s",
                      e->tgt.ri.url->redacted, (int)(READY_TIMEOUT_NS / EV_NS_PER_S));
}

static int endpoint_setup(endpoint *ep, ev_err *err)
{
    int rc = ep->br->setup(&ep->ri, &ep->state, err);
    ep->setup_done = rc == 0;
    return rc;
}

/* The transports' setup (the target, then each output's own source), then
 * the consumers (the ready barrier: every group subscribed before anything
 * is published), then the lanes. */
static int engine_setup(engine *e, ev_err *err)
{
    int rc = ev_faults_route(e->faults, e->tgt.ep->url, err); /* faults: the proxy, if any */
    if (!rc)
        rc = endpoint_setup(&e->tgt, err);
    for (uint32_t i = 0; !rc && i < e->nhops; i++)
        rc = endpoint_setup(&e->hops[i], err);
    for (uint32_t i = 0; !rc && i < e->nouts; i++) {
        output *o = &e->outs[i];
        if (o->at == &o->own)
            rc = endpoint_setup(&o->own, err);
        if (!rc)
            o->ordered = o->at->br->ordered ? o->at->br->ordered(o->at->state, &o->at->ri) : 0;
    }
    if (rc)
        return rc;
    for (uint32_t i = 0; i < e->ncons; i++) {
        cons *c = &e->cons[i];
        if (!(c->leds = calloc(c->ngr, sizeof *c->leds)) || !(c->e2e = ev_hist_new()) ||
            !(c->e2e_sched = ev_hist_new()))
            return oom(err);
        if (e->multi && (!(c->se2e = calloc(e->nstreams, sizeof *c->se2e)) ||
                         !(c->se2e_sched = calloc(e->nstreams, sizeof *c->se2e_sched))))
            return oom(err);
        for (uint32_t s = 0; c->se2e && s < e->nstreams; s++)
            if (!(c->se2e[s] = ev_hist_new()) || !(c->se2e_sched[s] = ev_hist_new()))
                return oom(err);
        for (uint32_t k = 0; k < c->ngr; k++)
            if (!(c->leds[k] = ev_ledger_new(e->ltotal, c->o->ordered, c->o->copies)))
                return oom(err);
        c->led = c->leds[0];
    }
    if (snap_init(&e->S, e))
        return oom(err);
    for (uint32_t i = 0; i < e->ncons; i++) {
        if (pthread_create(&e->cons[i].th, NULL, cons_main, &e->cons[i]))
            return ev_err_set(err, EV_EINTERNAL, "cannot start a consumer thread");
        e->cons[i].started = 1;
    }
    if ((rc = wait_opened(e, (int)e->ncons, err)))
        return rc;
    for (uint32_t i = 0; i < e->nlanes; i++) {
        if (pthread_create(&e->lanes[i].th, NULL, lane_main, &e->lanes[i]))
            return ev_err_set(err, EV_EINTERNAL, "cannot start a publisher thread");
        e->lanes[i].started = 1;
    }
    return wait_opened(e, (int)(e->ncons + e->nlanes), err);
}

/* --barrier DIR: announce this instance ready and wait for every other
 * (bounded by READY_TIMEOUT_NS × 4; Ctrl-C ends the wait). */
static int barrier_wait(engine *e, ev_err *err)
{
    const char *dir = e->opts->barrier_dir;
    char path[4096];
    snprintf(path, sizeof path, "%s/ready-%u", dir, e->inst);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", e->run_id) < 0 || fclose(f))
        return ev_err_set(err, EV_ECONNECT, "--barrier %s: cannot write %s (%s)", dir, path,
                          strerror(errno));
    int64_t deadline = ev_mono_ns() + 4 * READY_TIMEOUT_NS;
    for (;;) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < e->ninst; i++) {
            snprintf(path, sizeof path, "%s/ready-%u", dir, i);
            n += access(path, F_OK) == 0;
        }
        if (n == e->ninst)
            return EV_OK;
        if (ev_mono_ns() > deadline || interrupts(e))
            return ev_err_set(err, EV_ECONNECT, "--barrier %s: %u of %u instances ready after %d s",
                              dir, n, e->ninst, (int)(4 * READY_TIMEOUT_NS / EV_NS_PER_S));
        ev_sleep_until(ev_mono_ns() + 50 * EV_NS_PER_MS, NULL);
    }
}

/* The schedule's start on the monotonic clock: --start-at's wall time, or
 * 20 ms from now. */
static int64_t start_instant(engine *e)
{
    int64_t now = ev_mono_ns();
    if (!e->opts->start_at_wall)
        return now + 20 * EV_NS_PER_MS;
    int64_t t0 = e->opts->start_at_wall - e->wall_off;
    if (t0 < now)
        e->R.start_late_s = (double)(now - t0) / 1e9;
    return t0;
}

/* Go: every lane starts its schedule on one instant, t0; then a point a
 * second until every lane is done. */
static int engine_publish(engine *e, ev_err *err)
{
    const ev_plan *plan = e->plan;
    if (e->opts->barrier_dir) {
        int rc = barrier_wait(e, err);
        if (rc)
            return rc;
    }
    e->wall_off = ev_wall_ns() - ev_mono_ns();
    pthread_mutex_lock(&e->gate_mu);
    e->t0 = start_instant(e);
    /* Without a warm-up nothing is cut (another instance may have started a
     * little earlier: its first events are measured too). */
    for (uint32_t i = 0; i < e->nlanes; i++)
        e->lanes[i].warm_end_wall =
            plan->warmup_ns ? e->t0 + e->lanes[i].warm_end_off + e->wall_off : INT64_MIN;
    e->go = 1;
    pthread_cond_broadcast(&e->gate_cv);
    pthread_mutex_unlock(&e->gate_mu);

    e->st.tty = isatty(STDERR_FILENO);
    e->st.show =
        !e->opts->quiet && (e->opts->progress == 1 || (e->opts->progress == 0 && e->st.tty));
    e->next_tick = e->t0 + EV_NS_PER_S;
    while (atomic_load(&e->lanes_done) < (int)e->nlanes) {
        int64_t now = ev_mono_ns();
        if (interrupts(e) && !atomic_load(&e->stop_pub)) {
            atomic_store(&e->stop_pub, 1);
            e->R.interrupted = 1;
        }
        if (now >= e->next_tick) {
            char phase[24];
            /* The phase of the second that just ended: its middle. */
            double prog = phase_at(e, now - e->t0 - EV_NS_PER_S / 2, phase, sizeof phase);
            if (snap_take(&e->S, e, 1))
                return oom(err);
            int rc = push_point(&e->R, &e->S, e, phase, prog, now, 1, &e->st, err);
            if (rc)
                return rc;
            e->next_tick += EV_NS_PER_S;
        }
        ev_faults_tick(e->faults, now - e->t0, e->S.group, e->ngroups, e->S.pl); /* faults */
        int64_t nap = now + 20 * EV_NS_PER_MS;
        ev_sleep_until(nap < e->next_tick ? nap : e->next_tick, NULL);
    }
    for (uint32_t i = 0; i < e->nlanes; i++) {
        pthread_join(e->lanes[i].th, NULL);
        e->lanes[i].started = 0;
    }
    e->pub_end = ev_mono_ns();
    return EV_OK;
}

/* Where the drain stands, from one snapshot. */
typedef struct drain_state {
    uint64_t missing;  /* copies still missing over every output */
    int empty;         /* every output with something missing has a source that says
                        * it holds nothing and consumes the target (no service
                        * between: nothing more can come) */
    int sources_empty; /* every source with something missing says it holds nothing */
    uint64_t last_received;
    int64_t quiet_since; /* when deliveries last arrived */
} drain_state;

/* What output o's source holds: 0 nothing, > 0 that many, -1 cannot tell. A
 * source that keeps nothing (Pub/Sub) holds nothing whatever its depth. */
static int64_t source_holds(const output *o)
{
    int64_t depth = endpoint_depth(o->at);
    if (depth < 0)
        return o->at->br->durable ? -1 : 0;
    return depth;
}

static void drain_look(engine *e, int64_t now, drain_state *d)
{
    snapshot *s = &e->S;
    d->missing = 0;
    d->empty = d->sources_empty = 1;
    for (uint32_t i = 0; i < e->nouts; i++) {
        const output *o = &e->outs[i];
        uint64_t m = snap_missing(e, s, o);
        int64_t holds = source_holds(o);
        d->missing += m;
        if (holds != 0)
            d->sources_empty = 0;
        if (m && (holds != 0 || o->at != &e->tgt))
            d->empty = 0;
    }
    if (s->received != d->last_received) {
        d->last_received = s->received;
        d->quiet_since = now;
    }
}

/* 1 when the drain may end now: nothing missing, every source empty and
 * the consumers done with the work they took; or, for outputs that read the
 * target itself, the broker says it holds nothing and nothing arrived for
 * DRAIN_QUIET_NS (what is missing then is lost: waiting would not change
 * it). A pipeline's source being empty proves nothing: the user's service
 * may still be carrying events, so its drain waits for them or the timeout. */
static int drain_done(engine *e, int64_t now, const drain_state *d)
{
    const snapshot *s = &e->S;
    if (s->processed != s->received)
        return 0;
    if (d->missing == 0 && d->sources_empty)
        return 1;
    return d->empty && now - d->quiet_since >= DRAIN_QUIET_NS;
}

/* The status line and timeseries during the drain and the sweep. */
static int drain_tick(engine *e, int64_t now, const char *phase, int64_t from, int64_t span,
                      ev_err *err)
{
    if (now < e->next_tick)
        return EV_OK;
    double prog = span > 0 ? (double)(now - from) / (double)span : 1.0;
    char name[24];
    int64_t mid = now - e->t0 - EV_NS_PER_S / 2;
    if (e->t0 + mid < e->pub_end) /* the second that ended was mostly publishing */
        phase = name, phase_at(e, mid, name, sizeof name);
    int rc = push_point(&e->R, &e->S, e, phase, prog, now, 1, &e->st, err);
    if (rc)
        return rc;
    e->next_tick += EV_NS_PER_S;
    return EV_OK;
}

/* Until every acknowledged event is seen and the sources are empty, or the
 * drain timeout (shortened by Ctrl-C; a second one ends it). A publish-only
 * run (no output) has nothing to wait for. */
static int engine_drain(engine *e, ev_err *err)
{
    int64_t drain_ns = e->plan->drain_timeout_ns;
    if (e->R.interrupted && drain_ns > INTERRUPT_DRAIN_NS)
        drain_ns = INTERRUPT_DRAIN_NS;
    int64_t drain_end = e->pub_end + drain_ns;
    drain_state d = {.last_received = UINT64_MAX, .quiet_since = e->pub_end};
    while (e->nouts > 0) {
        int64_t now = ev_mono_ns();
        if (snap_take(&e->S, e, now >= e->next_tick))
            return oom(err);
        drain_look(e, now, &d);
        if (drain_done(e, now, &d))
            break;
        if (interrupts(e) && !e->R.interrupted) {
            e->R.interrupted = 1;
            if (drain_end > now + INTERRUPT_DRAIN_NS)
                drain_end = now + INTERRUPT_DRAIN_NS;
        }
        if (now >= drain_end || interrupts(e) >= 2 || first_thread_error(e, NULL)) {
            e->R.drain_timed_out = now >= drain_end;
            break;
        }
        int rc = drain_tick(e, now, "drain", e->pub_end, drain_ns, err);
        if (rc)
            return rc;
        ev_faults_tick(e->faults, now - e->t0, e->S.group, e->ngroups, e->S.pl); /* faults */
        ev_sleep_until(now + 10 * EV_NS_PER_MS, NULL);
    }
    e->R.settle_s = (double)(ev_mono_ns() - e->t0) / 1e9;
    return EV_OK;
}

/* 1 when some output still misses copies and reads a durable source: the
 * final sweep can tell late from lost there. */
static int sweep_wanted(engine *e)
{
    if (!e->R.drain_timed_out || e->plan->sweep_timeout_ns <= 0 || interrupts(e) >= 2 ||
        first_thread_error(e, NULL))
        return 0;
    for (uint32_t i = 0; i < e->nouts; i++)
        if (e->outs[i].at->br->durable && e->outs[i].copies == 1 &&
            snap_missing(e, &e->S, &e->outs[i]))
            return 1;
    return 0;
}

/* After the drain deadline: read what the durable sources still hold,
 * without simulated work; what is found is late, not lost. Ends when nothing
 * is missing, when every source is empty and quiet, or at sweep_timeout. */
static int engine_sweep(engine *e, ev_err *err)
{
    if (!sweep_wanted(e))
        return EV_OK;
    int64_t from = ev_mono_ns(), end = from + e->plan->sweep_timeout_ns;
    atomic_store(&e->sweep, 1);
    e->R.swept = 1;
    drain_state d = {.last_received = UINT64_MAX, .quiet_since = from};
    for (;;) {
        int64_t now = ev_mono_ns();
        if (snap_take(&e->S, e, now >= e->next_tick))
            return oom(err);
        drain_look(e, now, &d);
        if (d.missing == 0 || (d.sources_empty && now - d.quiet_since >= DRAIN_QUIET_NS) ||
            now >= end || interrupts(e) || first_thread_error(e, NULL))
            break;
        int rc = drain_tick(e, now, "sweep", from, end - from, err);
        if (rc)
            return rc;
        ev_faults_tick(e->faults, now - e->t0, e->S.group, e->ngroups, e->S.pl); /* faults */
        ev_sleep_until(now + 10 * EV_NS_PER_MS, NULL);
    }
    e->R.sweep_s = (double)(ev_mono_ns() - from) / 1e9;
    return EV_OK;
}

/* Stops and joins every thread that was started; safe in any phase. */
static void engine_join(engine *e)
{
    atomic_store(&e->stop_pub, 1);
    atomic_store(&e->stop_cons, 1);
    pthread_mutex_lock(&e->gate_mu);
    pthread_cond_broadcast(&e->gate_cv);
    pthread_mutex_unlock(&e->gate_mu);
    for (uint32_t i = 0; e->lanes && i < e->nlanes; i++)
        if (e->lanes[i].started) {
            pthread_join(e->lanes[i].th, NULL);
            e->lanes[i].started = 0;
        }
    for (uint32_t i = 0; e->cons && i < e->ncons; i++)
        if (e->cons[i].started) {
            pthread_join(e->cons[i].th, NULL);
            e->cons[i].started = 0;
        }
    if (e->st.show && e->st.tty)
        fputc('\n', stderr);
    e->st.show = 0;
}

/* The publish side into R: counts, the achieved rate over the span the
 * target is defined on. */
static void reconcile_publish(engine *e)
{
    ev_results *R = &e->R;
    const ev_plan *plan = e->plan;
    snapshot *S = &e->S;
    R->attempted = S->sent;
    R->acked = S->acked;
    R->failed = S->failed;
    R->measured_sent = S->measured_sent;
    R->expected = ev_pacer_planned_run(plan, e->inst, e->ninst);
    int64_t measured_from = e->t0 + plan->warmup_ns;
    R->publish_s =
        S->last_send_mono > measured_from ? (double)(S->last_send_mono - measured_from) / 1e9 : 0.0;
    int64_t planned = ev_plan_publish_ns(plan);
    double expected = ev_plan_expected_events(plan) * e->nlanes / e->ltotal;
    R->rate_target = planned > 0 && expected > 0 ? expected / ((double)planned / 1e9) : 0.0;
    /* The last event of a schedule is due one interval before its end. */
    double span = R->publish_s;
    int paced = 1;
    for (uint32_t s = 0; s < e->nstreams; s++)
        paced &= plan->streams[s].plan->executor != EV_EXEC_MAX;
    if (planned > 0 && paced && !R->interrupted) {
        /* A late publisher stretches the actual span past the planned one. */
        double interval = expected > 0 ? ((double)planned / 1e9) / expected : 0.0;
        span = (double)planned / 1e9;
        if (R->publish_s + interval > span)
            span = R->publish_s + interval;
    }
    R->rate_achieved = span > 0 ? (double)R->measured_sent / span : 0.0;
    R->blocked_ns = S->blocked_ns;
}

static void counts_add(ev_ledger_counts *t, const ev_ledger_counts *c)
{
    t->received += c->received;
    t->delivered += c->delivered;
    t->late += c->late;
    t->pending += c->pending;
    t->lost += c->lost;
    t->duplicated += c->duplicated;
    t->redelivered += c->redelivered;
    t->unconfirmed += c->unconfirmed;
    t->recovered += c->recovered;
    t->reordered += c->reordered;
    t->corrupted += c->corrupted;
    t->foreign += c->foreign;
    t->unexpected += c->unexpected;
}

/* Copies group g of output o may still hold at the end: the evidence that
 * turns missing into pending (ev_ledger.h). A source that cannot tell what
 * it holds makes every missing copy pending: lost is never a guess. */
static uint64_t may_remain(engine *e, const output *o, uint32_t g)
{
    const endpoint *at = o->at;
    int64_t d = at->br->group_depth ? at->br->group_depth(at->state, g) : endpoint_depth(at);
    if (d < 0 && at->br->durable)
        return UINT64_MAX;
    uint64_t held = d > 0 ? (uint64_t)d : 0;
    /* Events still in a watched hop of the user's pipeline may yet come out. */
    int64_t h = hops_depth(e);
    if (h < 0)
        return UINT64_MAX;
    return held + (uint64_t)h;
}

/* Each output's groups: classes against the lanes' record (an output that
 * expects none of this run's events against a record of nothing sent), and
 * the totals per output and over the run. */
static int reconcile_outputs(engine *e)
{
    ev_results *R = &e->R;
    R->ngroups = e->ngroups;
    R->noutputs = e->nouts;
    if (!(R->groups = calloc(R->ngroups ? R->ngroups : 1, sizeof *R->groups)) ||
        !(R->outputs = calloc(R->noutputs ? R->noutputs : 1, sizeof *R->outputs)))
        return -1;
    ev_publane *none = calloc(e->ltotal, sizeof *none);
    if (!none)
        return -1;
    for (uint32_t i = 0; i < e->nouts; i++) {
        const output *o = &e->outs[i];
        ev_output_result *orr = &R->outputs[i];
        orr->def = o->def;
        orr->source = o->at->ri.url->redacted;
        orr->group0 = o->group0;
        orr->ngroups = o->ngroups;
        orr->integrity = o->def->match == EV_MATCH_ENVELOPE;
        orr->holds_at_end = source_holds(o);
        orr->hops_at_end = e->nhops ? hops_depth(e) : 0;
        for (uint32_t g = 0; g < o->ngroups; g++) {
            ev_group_result *gr = &R->groups[o->group0 + g];
            char name[48];
            if (o->at->br->group_name)
                o->at->br->group_name(o->at->state, g, name, sizeof name);
            else
                snprintf(name, sizeof name, "g%u", g);
            snprintf(gr->name, sizeof gr->name, "%s%s%s", o->def->name, o->def->name[0] ? "/" : "",
                     name);
            gr->output = i;
            gr->may_remain = may_remain(e, o, g);
            gr->ledger = e->S.group[o->group0 + g];
            /* One of several instances cannot know whether another one's
             * consumers took what it misses: only the merge of every
             * instance's results can (it uses may_remain, the evidence). */
            ev_ledger_reconcile(gr->ledger, o->expects ? output_pubs(e, o, e->S.pl) : none,
                                e->ninst > 1 ? UINT64_MAX : gr->may_remain, &gr->c);
            counts_add(&orr->c, &gr->c);
            counts_add(&R->total, &gr->c);
        }
    }
    free(none);
    return 0;
}

/* Each output's own e2e histograms, from its consumers (threads joined). */
static int output_latencies(engine *e)
{
    for (uint32_t i = 0; i < e->nouts; i++) {
        ev_output_result *orr = &e->R.outputs[i];
        if (!(orr->e2e = ev_hist_new()) || !(orr->e2e_sched = ev_hist_new()))
            return -1;
        for (uint32_t k = 0; k < e->ncons; k++)
            if (e->cons[k].o == &e->outs[i]) {
                ev_hist_merge(orr->e2e, e->cons[k].e2e);
                ev_hist_merge(orr->e2e_sched, e->cons[k].e2e_sched);
            }
    }
    return 0;
}

/* Stream s's publish side from its lanes (threads joined). */
static void stream_publish(engine *e, uint32_t s, ev_stream_result *sr)
{
    const ev_stream *st = sr->def;
    const ev_plan *sp = st->plan;
    for (uint32_t i = st->lane0; i < st->lane0 + (uint32_t)sp->lanes; i++) {
        const lane *l = &e->lanes[i];
        sr->attempted += l->pl.sent;
        sr->acked += l->acked;
        sr->failed += l->failed;
        sr->measured_sent += l->measured_sent;
        ev_hist_merge(sr->lat[EV_METRIC_ack], l->ack);
        ev_hist_merge(sr->lat[EV_METRIC_sched_lag], l->sched_lag);
    }
    for (uint32_t k = 0; k < e->ncons; k++)
        if (e->cons[k].se2e) {
            ev_hist_merge(sr->lat[EV_METRIC_e2e], e->cons[k].se2e[s]);
            ev_hist_merge(sr->lat[EV_METRIC_e2e_sched], e->cons[k].se2e_sched[s]);
        }
    sr->expected = ev_pacer_planned_shard(sp, e->inst, e->ninst);
    int64_t planned = ev_plan_publish_ns(sp);
    double expected = ev_plan_expected_events(sp) / e->ninst;
    sr->rate_target = planned > 0 && expected > 0 ? expected / ((double)planned / 1e9) : 0.0;
    if (planned > 0 && sp->executor != EV_EXEC_MAX && !e->R.interrupted)
        sr->rate_achieved = (double)sr->measured_sent / ((double)planned / 1e9);
    else if (e->R.publish_s > 0)
        sr->rate_achieved = (double)sr->measured_sent / e->R.publish_s;
}

/* Per stream (a scenario with "streams"): the publish side, the classes of
 * its lanes over every output that expects it, its latencies. */
static int reconcile_streams(engine *e)
{
    ev_results *R = &e->R;
    if (!e->multi)
        return 0;
    uint8_t *sel = calloc(e->ltotal, 1);
    if (!sel || !(R->streams = calloc(e->nstreams, sizeof *R->streams))) {
        free(sel);
        return -1;
    }
    R->nstreams = e->nstreams;
    int rc = 0;
    for (uint32_t s = 0; s < e->nstreams && !rc; s++) {
        ev_stream_result *sr = &R->streams[s];
        sr->def = &e->plan->streams[s];
        const int ms[] = {EV_METRIC_e2e, EV_METRIC_e2e_sched, EV_METRIC_ack, EV_METRIC_sched_lag};
        for (size_t m = 0; m < sizeof ms / sizeof ms[0]; m++)
            if (!(sr->lat[ms[m]] = ev_hist_new()))
                rc = -1;
        if (rc)
            break;
        stream_publish(e, s, sr);
        for (uint32_t i = 0; i < e->ltotal; i++)
            sel[i] = e->lanes[i % e->nlanes].stream == s;
        for (uint32_t o = 0; o < e->nouts; o++) {
            const output *out = &e->outs[o];
            for (uint32_t g = 0; out->expect[s] && g < out->ngroups; g++) {
                const ev_group_result *gr = &R->groups[out->group0 + g];
                ev_ledger_counts c;
                ev_ledger_reconcile_lanes(gr->ledger, e->S.pl, sel,
                                          e->ninst > 1 ? UINT64_MAX : gr->may_remain, &c);
                counts_add(&sr->c, &c);
            }
        }
    }
    free(sel);
    return rc;
}

/* One endpoint's own latencies (queue_wait, processing) and report into R:
 * results.broker.<name>, or .<name>@<output> for an output's own source. */
static int endpoint_report(engine *e, const endpoint *ep, const char *oname)
{
    ev_results *R = &e->R;
    for (int m = 0; ep->br->latency && m < EV_METRIC_COUNT; m++)
        if (ev_metrics[m].latency && !R->lat[m])
            R->lat[m] = ep->br->latency(ep->state, m);
    char key[128];
    snprintf(key, sizeof key, "%s%s%s", ep->br->name, oname ? "@" : "",
             oname ? (oname[0] ? oname : "source") : "");
    json_t *bobj = json_object();
    if (!bobj)
        return -1;
    json_object_set_new(R->broker, key, bobj);
    if (ep->br->report)
        ep->br->report(ep->state, bobj);
    return 0;
}

/* Everything measured, into R: the last point, the publish side, the
 * groups, the latencies (the engine's and the transport's own) and the
 * transport's report. */
static int engine_reconcile(engine *e, ev_err *err)
{
    ev_results *R = &e->R;
    if (snap_take(&e->S, e, 1))
        return oom(err);
    int rc = push_point(R, &e->S, e, "end", 1.0, ev_mono_ns(), 0, &(status_ctx){0}, err);
    if (!rc) /* the last point: R->ts gets every point's figures */
        rc = ev_tseries_finish(R, err);
    if (rc)
        return rc;
    R->plan = e->plan;
    memcpy(R->run_id, e->run_id, sizeof e->run_id); /* both EV_RUN_ID_MAX + 1 */
    R->target = e->tgt.ri.url->redacted;
    R->broker_name = e->br->name;
    R->started_wall_ns = e->started_wall;
    R->duration_s = (double)(ev_mono_ns() - e->started_mono) / 1e9;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        R->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    R->instance = e->tgt.ri.instance;
    R->instances = e->tgt.ri.instances;
    reconcile_publish(e);
    if (reconcile_outputs(e) || output_latencies(e) || reconcile_streams(e))
        return oom(err);
    R->publanes = e->S.pl;
    R->lanes_total = e->ltotal;
    R->lanes_per_instance = e->nlanes;
    R->no_latency = e->S.no_latency;
    R->lat[EV_METRIC_e2e] = e->S.e2e;
    R->lat[EV_METRIC_e2e_sched] = e->S.e2e_sched;
    R->lat[EV_METRIC_ack] = e->S.ack;
    R->lat[EV_METRIC_sched_lag] = e->S.sched_lag;
    e->S.e2e = e->S.e2e_sched = e->S.ack = e->S.sched_lag = NULL;
    if (!(R->broker = json_object()))
        return oom(err);
    rc = endpoint_report(e, &e->tgt, NULL);
    for (uint32_t i = 0; !rc && i < e->nouts; i++)
        if (e->outs[i].at == &e->outs[i].own)
            rc = endpoint_report(e, &e->outs[i].own, e->outs[i].def->name);
    return rc ? oom(err) : EV_OK;
}

/* The ids of lost and pending events (not seen, expected, acknowledged):
 * ranges per group and lane into path (when given), and the first few into
 * R.missing_first for the summary. 0, or -1 when the file cannot be written
 * or memory runs out (err says which). */
static int missing_ids(engine *e, ev_err *err)
{
    ev_results *R = &e->R;
    const char *path = e->opts->missing_path;
    FILE *f = NULL;
    if (path && !(f = fopen(path, "w")))
        return ev_err_set(err, EV_EUSAGE, "--missing %s: cannot write (%s)", path, strerror(errno));
    if (f)
        fprintf(f,
                "# evload run %s: events not seen (lost or pending), per group and lane\n"
                "# GROUP LANE FIRST_ID LAST_ID COUNT   (ids are RUN-INSTANCE-LANE-SEQ)\n",
                e->run_id);
    ev_iset m = EV_ISET_INIT;
    size_t shown = 0, used = 0;
    int rc = 0;
    for (uint32_t i = 0; i < e->nouts && !rc; i++) {
        const output *o = &e->outs[i];
        for (uint32_t g = 0; o->expects && g < o->ngroups && !rc; g++) {
            const ev_ledger *led = e->S.group[o->group0 + g];
            for (uint32_t l = 0; l < e->nlanes && !rc; l++) {
                if (!o->expect[e->lanes[l].stream])
                    continue;
                if ((rc = ev_ledger_missing_set(led, e->S.pl, e->inst * e->nlanes + l, &m)))
                    break;
                for (size_t k = 0; k < m.n; k++) {
                    const ev_ival *v = &m.v[k];
                    if (f)
                        fprintf(f, "%s %u %s-%u-%u-%llu %s-%u-%u-%llu %llu\n",
                                R->groups[o->group0 + g].name, l, e->run_id, e->inst, l,
                                (unsigned long long)v->lo, e->run_id, e->inst, l,
                                (unsigned long long)v->hi, (unsigned long long)(v->hi - v->lo + 1));
                    for (uint64_t q = v->lo; q <= v->hi && shown < 5; q++, shown++)
                        ev_text_put(R->missing_first, sizeof R->missing_first, &used,
                                    "%s%s-%u-%u-%llu", shown ? ", " : "", e->run_id, e->inst, l,
                                    (unsigned long long)q);
                }
            }
        }
    }
    ev_iset_clear(&m);
    if (f && (fclose(f) != 0 || rc))
        return rc ? oom(err) : ev_err_set(err, EV_EUSAGE, "--missing %s: write failed", path);
    return rc ? oom(err) : EV_OK;
}

/* Thresholds, the summary (or the verdict line), the results file; the
 * exit code: a connection that failed mid-run (3), a run cut short (5), or
 * the thresholds' verdict. */
static int engine_report(engine *e, int thread_rc, ev_err *err)
{
    ev_results *R = &e->R;
    const ev_run_opts *o = e->opts;
    R->incomplete = thread_rc != 0 || R->interrupted;
    if (thread_rc)
        snprintf(R->end_reason, sizeof R->end_reason, "%s", err->msg);
    else if (R->interrupted)
        snprintf(R->end_reason, sizeof R->end_reason, "interrupted (Ctrl-C or SIGTERM)");
    int rc = ev_report_evaluate(R, err);
    if (!rc && (R->total.lost || R->total.pending || o->missing_path))
        rc = missing_ids(e, err);
    if (rc)
        return rc;
    if (!o->silent && !o->quiet)
        ev_report_summary(stdout, R);
    else if (!o->silent)
        printf("%s\n", ev_report_verdict(R));
    fflush(stdout);
    if (o->json_path || o->results) {
        /* Without a document to hand back, the timeseries goes from its
         * spill file to the results file a point at a time. */
        rc = ev_report_results(R, o->json_path, o->results, err);
        if (rc)
            return rc;
    }
    if (thread_rc)
        return thread_rc;
    if (R->interrupted)
        return EV_EINCOMPLETE;
    return R->pass ? EV_OK : EV_ETHRESH;
}

static void engine_free(engine *e)
{
    for (uint32_t i = 0; e->outs && i < e->nouts; i++) {
        endpoint *own = &e->outs[i].own;
        if (own->setup_done)
            own->br->teardown(own->state);
        ev_endpoint_free(own->ep);
        free(e->outs[i].expect);
        free(e->outs[i].pv);
    }
    free(e->outs);
    free(e->shapes);
    for (uint32_t i = 0; e->hops && i < e->nhops; i++) {
        if (e->hops[i].setup_done)
            e->hops[i].br->teardown(e->hops[i].state);
        ev_endpoint_free(e->hops[i].ep);
    }
    free(e->hops);
    if (e->tgt.setup_done)
        e->br->teardown(e->tgt.state);
    ev_faults_free(e->faults); /* faults: after the teardown, which may go through the proxy */
    snap_free(&e->S, e->ltotal, e->ngroups);
    ev_results_free(&e->R);
    for (uint32_t i = 0; e->lanes && i < e->nlanes; i++) {
        lane *l = &e->lanes[i];
        ev_ce_template_free(l->tpl);
        free(l->ring_sent);
        free(l->ring_seq);
        ev_iset_clear(&l->pl.failed);
        ev_hist_free(l->ack);
        ev_hist_free(l->sched_lag);
        ev_buf_free(&l->body);
        ev_ce_binary_free(&l->bin);
        for (uint64_t c = 0; l->store && c < STORE_CHUNKS; c++)
            free((void *)(uintptr_t)atomic_load(&l->store[c])); /* no thread runs now */
        free((void *)(uintptr_t)l->store);
        pthread_mutex_destroy(&l->mu);
    }
    free(e->lanes);
    for (uint32_t i = 0; e->cons && i < e->ncons; i++) {
        for (uint32_t k = 0; e->cons[i].leds && k < e->cons[i].ngr; k++)
            ev_ledger_free(e->cons[i].leds[k]);
        free(e->cons[i].leds);
        ev_hist_free(e->cons[i].e2e);
        ev_hist_free(e->cons[i].e2e_sched);
        for (uint32_t s = 0; e->cons[i].se2e && s < e->nstreams; s++) {
            ev_hist_free(e->cons[i].se2e[s]);
            ev_hist_free(e->cons[i].se2e_sched[s]);
        }
        free(e->cons[i].se2e);
        free(e->cons[i].se2e_sched);
        pthread_mutex_destroy(&e->cons[i].mu);
    }
    free(e->cons);
    ev_endpoint_free(e->tgt.ep);
    pthread_mutex_destroy(&e->gate_mu);
    pthread_cond_destroy(&e->gate_cv);
}

int ev_check(const ev_plan *plan, ev_err *err)
{
    engine E, *e = &E;
    memset(e, 0, sizeof *e);
    e->plan = plan;
    pthread_mutex_init(&e->gate_mu, NULL);
    pthread_cond_init(&e->gate_cv, NULL);
    int rc = engine_resolve(e, err);
    engine_free(e);
    return rc;
}

int ev_run(const ev_plan *plan, const ev_run_opts *o, ev_err *err)
{
    engine E, *e = &E;
    memset(e, 0, sizeof *e);
    e->plan = plan;
    e->opts = o;
    pthread_mutex_init(&e->gate_mu, NULL);
    pthread_cond_init(&e->gate_cv, NULL);

    int rc = engine_init(e, err);
    if (!rc)
        rc = engine_setup(e, err);
    if (!rc)
        rc = engine_publish(e, err);
    if (!rc)
        rc = engine_drain(e, err);
    if (!rc)
        rc = engine_sweep(e, err);
    engine_join(e);
    if (!rc) {
        /* A connection that failed for good mid-run still gets its report:
         * what was seen until then is exact, and the verdict says it ended
         * early. */
        int thread_rc = first_thread_error(e, err);
        rc = engine_reconcile(e, err);
        if (!rc)
            rc = ev_faults_report(e->faults, &e->R, err); /* faults */
        if (!rc)
            rc = engine_report(e, thread_rc, err);
    }
    engine_free(e);
    return rc;
}
