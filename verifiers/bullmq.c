/* bullmq verifier — two modes (verify.mode), see docs/bullmq.md.
 *
 * worker (default): each engine consumer thread is one unit of BullMQ worker
 *   concurrency (verify.consumers = concurrency), compatible with Node
 *   Workers on the same queue. recv() runs the "work" script to fetch + lock
 *   one job into active (as moveToActive does); when there is nothing to
 *   take it blocks on BZPOPMIN P:Q:marker for at most the engine's recv
 *   timeout, as Node workers do, then tries again. The engine then sleeps
 *   verify.work (the simulated processing) and ack() runs the "work" script
 *   again: it completes the job (retention, events; failed when the job
 *   carries a deferred failure from the stall check) and fetches the next
 *   one in the same round trip, as a Node worker's fetch-next does. A job
 *   fetched ahead when the run stops is released back to the head of wait.
 *   The work script goes over a connection shared with up to
 *   EV_BQ_LINE_CONSUMERS - 1 other consumers (a "line", src/brokers/bullmq.c),
 *   pipelined with theirs; BZPOPMIN and release use the consumer's own.
 *   The lock is renewed by the keeper thread
 *   (src/brokers/bullmq.c), which also runs the stalled-job check; each
 *   consumer tells the keeper what it holds through its own slot.
 *
 * observer: evload does not touch jobs. One reader (verify.consumers must be
 *   1) follows the queue's events stream with XREAD from the last id that
 *   existed at setup, and turns every `completed` event into a delivery of
 *   the job's data (read from the job hash), stamped with the job's
 *   finishedOn (the end of that millisecond) as the receive time, so e2e =
 *   add → completed by *your* workers. queue_wait (processedOn − timestamp) and processing
 *   (finishedOn − processedOn) go into histograms reported under
 *   broker.bullmq. `failed`, `stalled`, `removed` and `duplicated` events are
 *   counted; a finally failed job is never delivered, so the ledger counts it
 *   lost (lost = added but never completed by the end of drain). A completed
 *   job whose hash is already gone (removeOnComplete) cannot be delivered and
 *   is counted in observer.job_missing.
 *
 * A lost connection (Redis restarting) is no error: the consumer is down and
 * recv() reconnects on the schedule of ev_backoff.h, failing only after the
 * target's reconnect_timeout. A worker keeps the job it held: its lock
 * (token unchanged, kept alive by the keeper once Redis is back) lets the
 * finish be sent again (`finish_retries`; if the first one had gone through,
 * the lock is gone and it counts in finish_lock_lost). A take whose reply
 * was lost may have locked a job with its token: after reconnecting, the
 * "reclaim" script gives that job back to wait (`reclaimed`), so it is
 * delivered once, not after its lock expired. The observer re-reads the
 * events from the last batch it handed over complete.
 *
 * Pointers handed out in deliveries point into hiredis replies kept until the
 * next recv() or close(). */
#include "brokers/bullmq.h"

#include "ev_backoff.h"
#include "ev_clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W_WAIT, W_ACTIVE, W_PRIO, W_DELAYED, W_META, W_EVENTS, W_MARKER, W_PC, W_TARGET, NWORK };

struct ev_sub {
    ev_bq *q;
    redisContext *c; /* NULL while down */
    uint32_t consumer;
    ev_backoff rc;
    char why[320];    /* why the connection went */
    char unsure[192]; /* a take's token whose reply never came; "" none */
    ev_bq_counts cnt;
    ev_hist *qw, *proc; /* local, merged at close */

    /* worker */
    char wkeys[NWORK][EV_BQ_KEY_MAX];
    char failed_key[EV_BQ_KEY_MAX];
    char name[160];
    char lock_ms[24], keep[24]; /* script arguments fixed for the run */
    int64_t delayed_ms;         /* wall ms of the last take that promoted delayed jobs */
    uint64_t njobs;
    redisReply *job; /* the work reply holding the job held */
    char token[192]; /* the held job's lock token */
    int64_t taken_mono;
    int held;         /* a job is locked by this consumer */
    int delivered;    /* ... and was handed to the engine (else fetched ahead) */
    int finish_again; /* its finish failed with the connection: being sent again */

    /* observer */
    char events[EV_BQ_KEY_MAX];
    char last_id[64];
    redisReply *xr;  /* the XREAD reply, until the next recv */
    redisReply **hm; /* HMGET replies, until the next recv */
    size_t nhm, caphm;
};

/* The connection failed during `what` (detail: the context's error, or
 * `detail`): down until recv() reconnects. */
static void went_down(ev_sub *s, const char *what, const char *detail)
{
    if (!detail || !detail[0])
        detail = s->c && s->c->errstr[0] ? s->c->errstr : "EOF";
    snprintf(s->why, sizeof s->why, "%s: %.280s", what, ev_bq_err_detail(s->q, detail));
    redisFree(s->c);
    s->c = NULL;
    ev_backoff_down(&s->rc, ev_mono_ns());
}

/* While down: one attempt when due (a worker with an unsure take also
 * reclaims its job). 0 (up again, or not yet: s->c says), or -1 with err
 * once reconnect_timeout has passed. */
static int sub_reconnect(ev_sub *s, ev_err *err)
{
    ev_bq *q = s->q;
    if (!ev_backoff_due(&s->rc, ev_mono_ns()))
        return 0;
    ev_err e2;
    redisContext *c = ev_bq_reconnect(q, q->mode == EV_BQ_WORKER ? EV_BQ_S_RECLAIM : -1, &e2);
    if (c && s->unsure[0]) {
        const char *keys[5] = {s->wkeys[W_ACTIVE], s->wkeys[W_WAIT], s->wkeys[W_EVENTS],
                               s->wkeys[W_MARKER], s->wkeys[W_META]};
        const char *args[2] = {q->base, s->unsure};
        redisReply *r = ev_bq_eval(q, c, EV_BQ_S_RECLAIM, 5, keys, 2, args, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER) {
            s->cnt.reclaimed += r->integer == 1;
            s->unsure[0] = '\0';
        } else {
            ev_err_set(&e2, EV_ECONNECT, "reclaiming a job: %s",
                       r && r->type == REDIS_REPLY_ERROR ? r->str
                       : c->errstr[0]                    ? c->errstr
                                                         : "unexpected reply");
            redisFree(c);
            c = NULL;
        }
        freeReplyObject(r);
    }
    if (!c) {
        if (ev_backoff_failed(&s->rc, ev_mono_ns()) < 0)
            return ev_err_set(err, EV_ECONNECT,
                              "bullmq target %s: consumer %" PRIu32 " lost its connection to "
                              "Redis (%s) and could not reconnect within the reconnect_timeout "
                              "(%.1f s); the last attempt: %s",
                              q->ri->url->redacted, s->consumer, s->why,
                              (double)q->reconnect_timeout_ns / 1e9, ev_bq_err_detail(q, e2.msg)),
                   -1;
        return 0;
    }
    s->c = c;
    s->cnt.down_ns += ev_backoff_up(&s->rc, ev_mono_ns());
    s->cnt.sub_reconnects++;
    return 0;
}

static int bq_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                       ev_sub **out, ev_err *err)
{
    ev_bq *q = state;
    (void)group;
    ev_sub *s = calloc(1, sizeof *s);
    if (!s || !(s->qw = ev_hist_new()) || !(s->proc = ev_hist_new())) {
        if (s) {
            ev_hist_free(s->qw);
            free(s);
        }
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    s->q = q;
    s->consumer = consumer;
    ev_backoff_init(&s->rc, EV_BQ_RECONNECT_MIN_NS, EV_BQ_RECONNECT_MIN_NS, EV_BQ_RECONNECT_MAX_NS,
                    q->reconnect_timeout_ns);
    static const char *const wsfx[NWORK] = {"wait",   "active", "prioritized", "delayed",  "meta",
                                            "events", "marker", "pc",          "completed"};
    for (int i = 0; i < NWORK; i++)
        ev_bq_key(q, wsfx[i], s->wkeys[i]);
    ev_bq_key(q, "failed", s->failed_key);
    ev_bq_key(q, "events", s->events);
    snprintf(s->last_id, sizeof s->last_id, "%s", q->start_id);
    snprintf(s->name, sizeof s->name, "evload-%s-%" PRIu32, ri->run_id, consumer);
    snprintf(s->lock_ms, sizeof s->lock_ms, "%" PRId64, q->lock_ms);
    snprintf(s->keep, sizeof s->keep, "%" PRId64, q->keep_completed);
    /* Blocking commands block for at most the recv timeout (50 ms), well
     * under the socket timeout. */
    if (!(s->c = ev_bq_connect(q, EV_BQ_IO_TIMEOUT_MS, err))) {
        ev_hist_free(s->qw);
        ev_hist_free(s->proc);
        free(s);
        return EV_ECONNECT;
    }
    *out = s;
    return EV_OK;
}

/* ---- worker --------------------------------------------------------------- */

static void slot_set(ev_sub *s, const char *jid)
{
    ev_bq_slot *sl = &s->q->slots[s->consumer];
    pthread_mutex_lock(&sl->mu);
    sl->busy = jid != NULL;
    if (jid) {
        snprintf(sl->jid, sizeof sl->jid, "%s", jid);
        snprintf(sl->token, sizeof sl->token, "%s", s->token);
    }
    pthread_mutex_unlock(&sl->mu);
}

/* Runs the work script: finishes the held job if `finish` (completed, or
 * failed when it carries a deferred failure) and takes the next job if
 * `fetch`. Afterwards the new job (if any) is held, not yet delivered.
 * 0; 1 when the connection failed (down; a job being finished stays held,
 * its finish to be sent again); -1 with err on a script error. */
static int work(ev_sub *s, int finish, int fetch, ev_err *err)
{
    char now[32], next[sizeof s->token], flags[3];
    int64_t now_ms = ev_wall_ns() / EV_NS_PER_MS;
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    next[0] = '\0';
    if (fetch)
        snprintf(next, sizeof next, "%s:%" PRIu64, s->name, ++s->njobs);
    redisReply *j = finish && s->held ? s->job : NULL;
    /* The script's flags (see SCRIPT_WORK): a take chained on a finish
     * consumed no marker, so it need not re-arm it; due delayed jobs are
     * promoted by every unchained take and at least every
     * EV_BQ_DELAYED_CHECK_MS by each worker's chained ones (a Node worker
     * checks on every fetch; this bounds the extra promotion latency). */
    int nf = 0;
    if (fetch && !j)
        flags[nf++] = 'm';
    if (fetch && (!j || now_ms - s->delayed_ms >= EV_BQ_DELAYED_CHECK_MS)) {
        flags[nf++] = 'd';
        s->delayed_ms = now_ms;
    }
    flags[nf] = '\0';
    int deferred = j && j->element[3]->len > 0;
    const char *keys[NWORK];
    for (int i = 0; i < NWORK; i++)
        keys[i] = s->wkeys[i];
    if (deferred)
        keys[W_TARGET] = s->failed_key;
    char atm[24];
    snprintf(atm, sizeof atm, "%lld", j ? j->element[8]->integer : 0LL);
    const char *args[15] = {s->q->base,
                            now,
                            s->lock_ms,
                            s->name,
                            next,
                            j ? j->element[1]->str : "",
                            j ? s->token : "",
                            deferred ? "failed" : "completed",
                            deferred ? "failedReason" : "returnvalue",
                            deferred ? j->element[3]->str : "null",
                            s->keep,
                            s->q->trim_len,
                            atm,
                            j ? j->element[7]->str : "",
                            flags};
    char lerr[256];
    redisReply *r =
        ev_bq_line_eval(s->q, s->consumer, EV_BQ_S_WORK, NWORK, keys, 15, args, lerr, sizeof lerr);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        freeReplyObject(r);
        r = ev_bq_eval(s->q, s->c, EV_BQ_S_WORK, NWORK, keys, 15, args, NULL);
        lerr[0] = '\0';
    }
    if (!r) {
        /* Unknown whether Redis ran it. The held job keeps its lock (and
         * its slot, so the keeper renews it): the finish is sent again. A
         * take may have locked a job with `next`: reclaimed on reconnect. */
        if (fetch)
            snprintf(s->unsure, sizeof s->unsure, "%s", next);
        if (j)
            s->finish_again = 1;
        went_down(s, "finishing/taking a job", lerr);
        return 1;
    }
    if (j) {
        ev_hist_record(s->proc, ev_mono_ns() - s->taken_mono);
        s->job = NULL;
        s->held = 0;
        freeReplyObject(j);
        if (s->finish_again) {
            s->cnt.finish_retries++;
            s->finish_again = 0;
        }
    }
    if (r->type == REDIS_REPLY_ERROR) {
        ev_err_set(err, EV_EINTERNAL, "bullmq target %s: the work script failed: %s",
                   s->q->ri->url->redacted, r->str);
        freeReplyObject(r);
        slot_set(s, NULL);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        slot_set(s, NULL);
        return ev_err_set(err, EV_EINTERNAL,
                          "bullmq target %s: the work script's reply is "
                          "not what it returns",
                          s->q->ri->url->redacted),
               -1;
    }
    if (j) {
        long long fin = r->element[0]->integer;
        if (fin == 0) {
            if (deferred)
                s->cnt.failed_deferred++;
            else
                s->cnt.completed++;
            s->cnt.last_finish_mono = ev_mono_ns();
        } else if (fin == -2 || fin == -6) {
            s->cnt.finish_lock_lost++; /* the stall check gave it to another worker */
        } else {
            s->cnt.finish_errors++;
        }
    }
    if (r->elements == 9 && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING && r->element[3]->type == REDIS_REPLY_STRING &&
        r->element[4]->type == REDIS_REPLY_INTEGER && r->element[5]->type == REDIS_REPLY_INTEGER &&
        r->element[6]->type == REDIS_REPLY_STRING && r->element[7]->type == REDIS_REPLY_STRING &&
        r->element[8]->type == REDIS_REPLY_INTEGER) {
        s->job = r;
        s->held = 1;
        s->delivered = 0;
        snprintf(s->token, sizeof s->token, "%s", next);
        s->taken_mono = ev_mono_ns();
        if (!s->cnt.first_take_mono)
            s->cnt.first_take_mono = s->taken_mono;
        s->cnt.taken++;
        long long ts = strtoll(r->element[6]->str, NULL, 10);
        if (ts > 0)
            ev_hist_record(s->qw, ev_wall_ns() - ts * EV_NS_PER_MS);
        slot_set(s, r->element[1]->str);
        return 0;
    }
    freeReplyObject(r);
    slot_set(s, NULL);
    return 0;
}

/* Gives back a job fetched ahead that will not be processed (the run stops);
 * without a connection (gone for good) only lets go of it: the job stays
 * locked in active until the stall check of a worker requeues it. */
static void release(ev_sub *s)
{
    if (!s->held)
        return;
    if (s->c) {
        const char *keys[5] = {s->wkeys[W_ACTIVE], s->wkeys[W_WAIT], s->wkeys[W_EVENTS],
                               s->wkeys[W_MARKER], s->wkeys[W_META]};
        const char *args[3] = {s->q->base, s->job->element[1]->str, s->token};
        redisReply *r = ev_bq_eval(s->q, s->c, EV_BQ_S_RELEASE, 5, keys, 3, args, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            s->cnt.released++;
        freeReplyObject(r);
    }
    freeReplyObject(s->job);
    s->job = NULL;
    s->held = 0;
    slot_set(s, NULL);
}

static int worker_recv(ev_sub *s, ev_delivery *d, int64_t timeout_ns, ev_err *err)
{
    int64_t deadline = ev_mono_ns() + timeout_ns;
    int w;
    if (!s->c) {
        if (sub_reconnect(s, err))
            return -1;
        if (!s->c) {
            ev_sleep_until(ev_backoff_wake(&s->rc, deadline), s->q->ri->stop);
            return 0;
        }
    }
    /* Never acked, or its finish lost with the connection: finish it. */
    if (s->held && s->delivered && (w = work(s, 1, 0, err)))
        return w < 0 ? -1 : 0;
    for (;;) {
        if (!s->held && (w = work(s, 0, 1, err)))
            return w < 0 ? -1 : 0;
        if (s->held) {
            redisReply *r = s->job;
            s->delivered = 1;
            d[0] = (ev_delivery){
                .binary = 0,
                .body = r->element[2]->str,
                .len = r->element[2]->len,
                .redelivered = r->element[4]->integer > 1 || r->element[5]->integer > 0,
            };
            return 1;
        }
        int64_t left = deadline - ev_mono_ns();
        if (left <= 0 || *s->q->ri->stop)
            return 0;
        /* Wait for the marker (what a Node worker blocks on). */
        char tmo[32];
        double sec = (double)left / 1e9;
        if (sec < 0.01)
            sec = 0.01;
        snprintf(tmo, sizeof tmo, "%.3f", sec);
        redisReply *r = redisCommand(s->c, "BZPOPMIN %s %s", s->wkeys[W_MARKER], tmo);
        if (!r) {
            went_down(s, "BZPOPMIN on the marker", NULL);
            return 0;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->type == REDIS_REPLY_STRING) {
            /* A delayed-job marker due in the future: put it back for the
             * other workers and wait out this recv; work() promotes it when due. */
            long long due = strtoll(r->element[2]->str, NULL, 10);
            if (due > ev_wall_ns() / EV_NS_PER_MS) {
                redisReply *z = redisCommand(s->c, "ZADD %s %lld %s", s->wkeys[W_MARKER], due,
                                             r->element[1]->str);
                freeReplyObject(z);
                freeReplyObject(r);
                ev_sleep_until(deadline, s->q->ri->stop);
                continue;
            }
        }
        freeReplyObject(r);
    }
}

/* Completes the job processed and, unless the run is stopping, fetches the
 * next one in the same round trip (delivered by the next recv). */
static int worker_ack(ev_sub *s, ev_err *err)
{
    if (!s->held || !s->delivered || !s->c)
        return 0; /* down: recv() finishes it once reconnected */
    return work(s, 1, !*s->q->ri->stop, err) < 0 ? -1 : 0;
}

/* ---- observer ------------------------------------------------------------- */

static void obs_release(ev_sub *s)
{
    freeReplyObject(s->xr);
    s->xr = NULL;
    for (size_t i = 0; i < s->nhm; i++)
        freeReplyObject(s->hm[i]);
    s->nhm = 0;
}

static const redisReply *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name))
            return kv->element[i + 1];
    return NULL;
}

static long long num(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

static int observer_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    if (!s->c) {
        if (sub_reconnect(s, err))
            return -1;
        if (!s->c) {
            ev_sleep_until(ev_backoff_wake(&s->rc, ev_mono_ns() + timeout_ns), s->q->ri->stop);
            return 0;
        }
    }
    /* A batch is handed over whole or not at all: on a lost connection the
     * next read starts again from here, with the counts as they were. */
    char prev_id[sizeof s->last_id];
    memcpy(prev_id, s->last_id, sizeof prev_id);
    ev_bq_counts prev_cnt = s->cnt;
    char count[16], block[24];
    snprintf(count, sizeof count, "%d", max);
    int64_t ms = timeout_ns / EV_NS_PER_MS;
    snprintf(block, sizeof block, "%" PRId64, ms < 1 ? 1 : ms);
    redisReply *x = redisCommand(s->c, "XREAD COUNT %s BLOCK %s STREAMS %s %s", count, block,
                                 s->events, s->last_id);
    if (!x) {
        went_down(s, "XREAD on the events stream", NULL);
        return 0;
    }
    s->xr = x;
    if (x->type == REDIS_REPLY_ERROR && !strncmp(x->str, "LOADING", 7)) {
        went_down(s, "XREAD on the events stream", x->str); /* a restart: not back yet */
        return 0;
    }
    if (x->type == REDIS_REPLY_ERROR)
        return ev_err_set(err, EV_ECONNECT, "bullmq target %s: XREAD %s failed: %s",
                          s->q->ri->url->redacted, s->events, x->str),
               -1;
    if (x->type != REDIS_REPLY_ARRAY || x->elements < 1 ||
        x->element[0]->type != REDIS_REPLY_ARRAY || x->element[0]->elements < 2)
        return 0; /* nil: nothing new within the timeout */
    const redisReply *entries = x->element[0]->element[1];
    if (entries->type != REDIS_REPLY_ARRAY)
        return 0;
    if (s->caphm < entries->elements) {
        redisReply **hm = realloc(s->hm, entries->elements * sizeof *hm);
        if (!hm)
            return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
        s->hm = hm;
        s->caphm = entries->elements;
    }
    /* Pass 1: count events and pipeline an HMGET for every completed job. */
    const char *jids[1024];
    size_t nj = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        snprintf(s->last_id, sizeof s->last_id, "%s", e->element[0]->str);
        const redisReply *ev = field(e->element[1], "event");
        const redisReply *jid = field(e->element[1], "jobId");
        if (!ev || ev->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(ev->str, "completed")) {
            s->cnt.ev_completed++;
            if (jid && jid->type == REDIS_REPLY_STRING && nj < sizeof jids / sizeof jids[0]) {
                jids[nj++] = jid->str;
                redisAppendCommand(s->c, "HMGET %s%s data timestamp processedOn finishedOn ats",
                                   s->q->base, jid->str);
            }
        } else if (!strcmp(ev->str, "failed")) {
            s->cnt.ev_failed++;
        } else if (!strcmp(ev->str, "stalled")) {
            s->cnt.ev_stalled++;
        } else if (!strcmp(ev->str, "removed")) {
            s->cnt.ev_removed++;
        } else if (!strcmp(ev->str, "duplicated")) {
            s->cnt.ev_duplicated++;
        }
    }
    for (size_t i = 0; i < nj; i++) {
        void *rv = NULL;
        if (redisGetReply(s->c, &rv) != REDIS_OK || !rv) {
            memcpy(s->last_id, prev_id, sizeof prev_id);
            s->cnt = prev_cnt;
            went_down(s, "reading a completed job", NULL);
            return 0; /* the replies held are freed by the next recv */
        }
        s->hm[s->nhm++] = rv;
    }
    int n = 0;
    for (size_t i = 0; i < nj; i++) {
        redisReply *h = s->hm[i];
        if (h->type != REDIS_REPLY_ARRAY || h->elements != 5 ||
            h->element[0]->type != REDIS_REPLY_STRING) {
            s->cnt.job_missing++;
            continue;
        }
        long long ts = num(h->element[1]), pon = num(h->element[2]), fon = num(h->element[3]);
        if (pon && ts)
            ev_hist_record(s->qw, (pon - ts) * EV_NS_PER_MS);
        if (fon && pon)
            ev_hist_record(s->proc, (fon - pon) * EV_NS_PER_MS);
        if (n < max)
            d[n++] = (ev_delivery){
                .binary = 0,
                .body = h->element[0]->str,
                .len = h->element[0]->len,
                .redelivered = num(h->element[4]) > 1,
                /* finishedOn has ms resolution: take the end of that ms, so
                 * e2e is never below the true value (at most 1 ms above). */
                .recv_wall_ns = fon ? (fon + 1) * EV_NS_PER_MS - 1 : 0,
            };
    }
    return n;
}

/* ---- the ops -------------------------------------------------------------- */

static int bq_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    if (s->q->mode == EV_BQ_OBSERVER) {
        obs_release(s);
        return observer_recv(s, d, max, timeout_ns, err);
    }
    return worker_recv(s, d, timeout_ns, err);
}

static int bq_sub_ack(ev_sub *s, const ev_delivery *d, int n, ev_err *err)
{
    (void)d;
    (void)n;
    if (s->q->mode == EV_BQ_OBSERVER)
        return 0;
    return worker_ack(s, err);
}

static void bq_sub_close(ev_sub *s)
{
    if (!s)
        return;
    if (s->held && s->delivered && s->c) {
        ev_err e;
        work(s, 1, 0, &e);
    }
    if (!s->c)
        s->cnt.down_ns += ev_backoff_up(&s->rc, ev_mono_ns());
    release(s);
    obs_release(s);
    free(s->hm);
    ev_bq_add_counts(s->q, &s->cnt, s->qw, s->proc);
    ev_hist_free(s->qw);
    ev_hist_free(s->proc);
    redisFree(s->c);
    free(s);
}

const ev_sub_ops ev_bq_sub_ops = {
    .open = bq_sub_open,
    .recv = bq_sub_recv,
    .ack = bq_sub_ack,
    .close = bq_sub_close,
};
