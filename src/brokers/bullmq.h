/* bullmq — evload's BullMQ module (bullmq://host:port[/db]?queue=NAME&prefix=bull),
 * private to src/brokers/bullmq.c, publishers/bullmq.c and verifiers/bullmq.c.
 *
 * Design note. BullMQ is a Node library whose queue lives in Redis keys
 * P:Q:<suffix> (docs/bullmq-contract.md has the data contract, docs/bullmq.md
 * how evload uses it). evload speaks that contract with its own Lua scripts,
 * loaded once per connection with SCRIPT LOAD and called with EVALSHA (a
 * NOSCRIPT reply, e.g. after a SCRIPT FLUSH, reloads and retries once):
 *   add     one standard job: id counter, job hash, wait list (v5: paused list
 *           while the queue is paused), marker, added/waiting events, maxLenEvents.
 *   work    complete (or fail) one job with retention and events, and/or
 *           fetch + lock the next one (promoting due delayed jobs, honouring
 *           meta paused and concurrency): a Node Worker's moveToFinished with
 *           fetch-next, and moveToActive, in one round trip.
 *   release give back a job fetched ahead but never processed (run stopping).
 *   renew   extend the locks of the jobs a worker holds.
 *   stall   the stalled-job check (requeue jobs whose lock expired).
 *   reclaim give back the job a take locked with a token whose reply never
 *           came (the connection dropped): the take's outcome was unknown.
 * Every connection survives a Redis restart: a thread whose connection fails
 * reconnects on the schedule of ev_backoff.h (100 ms doubling to 1 s) and
 * gives up after the target's reconnect_timeout (then its lane or consumer
 * ends and the run is INCOMPLETE); a fresh connection counts only once Redis
 * answers (not while it is still LOADING its append-only file).
 * Each thread has its own hiredis context (hiredis contexts are not thread
 * safe), except that worker consumers send their work scripts over a shared
 * "line" (ev_bq_line below), one thread at a time. A worker-mode run also has
 * one "keeper" thread with its own context that renews the locks of every job
 * evload's workers hold and runs the stall check; the workers publish the job
 * they hold in their own small slot under the slot's mutex (one lock/unlock
 * per job), so the only shared hot data is the line's queue of calls.
 * A read timeout breaks a hiredis 0.14 context for good, so blocking commands
 * (BZPOPMIN, XREAD BLOCK) always block for less than the socket timeout. */
#ifndef EV_BROKERS_BULLMQ_H
#define EV_BROKERS_BULLMQ_H

#include "broker.h"
#include "ev_clock.h"
#include "ev_hist.h"

#include <hiredis.h>
#include <pthread.h>
#include <stdint.h>

#define EV_BQ_KEY_MAX 512
/* Socket timeout of every context that is not read through poll(). */
#define EV_BQ_IO_TIMEOUT_MS 10000
/* A busy worker (taking each job in its finish's round trip) looks for due
 * delayed jobs at most this often; a worker coming back from a wait looks
 * every time. */
#define EV_BQ_DELAYED_CHECK_MS 10

enum { EV_BQ_WORKER = 0, EV_BQ_OBSERVER = 1 };
enum {
    EV_BQ_S_ADD,
    EV_BQ_S_WORK,
    EV_BQ_S_RELEASE,
    EV_BQ_S_RENEW,
    EV_BQ_S_STALL,
    EV_BQ_S_RECLAIM,
    EV_BQ_NSCRIPTS
};
/* The reconnect schedule (ev_backoff.h): first attempt, doubling to max. */
#define EV_BQ_RECONNECT_MIN_NS (100 * EV_NS_PER_MS)
#define EV_BQ_RECONNECT_MAX_NS (1 * EV_NS_PER_S)

/* The SHA1 hex of each script (computed by SCRIPT LOAD in setup). */
#define EV_BQ_QUEUE_MAX 200 /* bytes of a queue name, NUL included */
#define EV_BQ_PREFIX_MAX 64

typedef struct ev_bq_sha {
    char hex[EV_BQ_NSCRIPTS][41];
} ev_bq_sha;

/* What one worker slot holds: the job being processed, for the keeper. */
typedef struct ev_bq_slot {
    pthread_mutex_t mu;
    int busy;
    char jid[256];
    char token[192];
} ev_bq_slot;

/* A connection shared by up to EV_BQ_LINE_CONSUMERS worker consumers for
 * their work scripts. Each consumer still has one call in flight at a time;
 * the calls that queue up while one consumer is reading its replies are sent
 * together by the next consumer (flat combining: whoever finds the line idle
 * writes the whole queue as one pipeline and hands each caller its reply).
 * Redis then reads and writes one batch per system call instead of one job,
 * which is about a quarter of its CPU per job at concurrency 50. A Node
 * Worker likewise sends all its concurrency's scripts over one connection. */
#define EV_BQ_LINE_CONSUMERS 8
typedef struct ev_bq_call ev_bq_call;
typedef struct ev_bq_line {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    redisContext *c;         /* owned; only the combiner (busy) touches it */
    int busy;                /* a consumer is writing/reading a batch */
    ev_bq_call *head, *last; /* calls waiting for the next batch */
} ev_bq_line;

/* Counters; each thread keeps its own and adds them in at close. */
typedef struct ev_bq_counts {
    /* publisher; unanswered: adds in flight when the connection dropped
     * (outcome unknown, reported failed) */
    uint64_t added, duplicates, add_errors, unanswered, pub_reconnects;
    /* worker; finish_retries: finishes sent again after a reconnect;
     * reclaimed: jobs a take whose reply was lost had locked, given back */
    uint64_t taken, completed, failed_deferred, finish_lock_lost, finish_errors, released;
    uint64_t finish_retries, reclaimed, sub_reconnects;
    int64_t first_take_mono, last_finish_mono;
    int64_t down_ns; /* publishers' and consumers' time without a connection */
    /* keeper */
    uint64_t lock_renewals, locks_lost, stall_checks, stalled_requeued, keeper_reconnects;
    /* observer */
    uint64_t ev_completed, ev_failed, ev_stalled, ev_removed, ev_duplicated, job_missing;
} ev_bq_counts;

typedef struct ev_bq {
    const ev_run_info *ri;
    char host[256];
    int port, db;
    const char *user, *password; /* borrowed from the URL; NULL if absent */
    char queue[EV_BQ_QUEUE_MAX], prefix[EV_BQ_PREFIX_MAX];
    char base[280]; /* "P:Q:" (prefix < 64, queue < 200) */
    int version;    /* 5 or 6 */
    int mode;       /* EV_BQ_WORKER / EV_BQ_OBSERVER */
    int64_t attempts;
    int64_t keep_completed; /* -1 keep all, 0 remove, N keep the newest N */
    int64_t max_len_events;
    char trim_len[24]; /* the events cap workers trim to: meta's, else max_len_events */
    int64_t lock_ms, stalled_ms, max_stalled;
    int64_t reconnect_timeout_ns; /* a lost connection is given up after this */
    char opts_json[128];          /* the job opts JSON every add writes */
    char start_id[64];            /* observer: the events stream id before the run */
    ev_bq_sha sha;

    pthread_mutex_t admin_mu; /* guards admin, last_counts, cached depth */
    redisContext *admin;      /* depth/sample/report; reconnected on error */
    int64_t counts[8];        /* wait active prioritized delayed completed failed paused id */
    int64_t counts_mono;      /* when counts were read; 0: never */

    /* worker mode: one slot per consumer, watched by the keeper thread */
    ev_bq_slot *slots;
    uint32_t nslots;
    ev_bq_line *lines; /* consumer i uses lines[i / EV_BQ_LINE_CONSUMERS] */
    uint32_t nlines;
    pthread_t keeper;
    int keeper_started;
    atomic_int keeper_stop; /* the keeper thread stops when set */

    pthread_mutex_t mu; /* guards total, queue_wait, processing */
    ev_bq_counts total;
    ev_hist *queue_wait, *processing; /* observer (and worker) */
} ev_bq;

/* Connects to the target (connect timeout 3 s), authenticates, selects the
 * db and sets the socket timeout (io_timeout_ms; 0: none). Returns a context
 * owned by the caller (redisFree), or NULL with EV_ECONNECT in err naming the
 * redacted address and what to do. */
redisContext *ev_bq_connect(const ev_bq *q, int io_timeout_ms, ev_err *err);
/* A connection again after a loss: ev_bq_connect, then SCRIPT LOAD of script s
 * (or PING when s < 0), so a server still loading its data (-LOADING) or
 * without the script counts as not back yet. NULL with err when not. */
redisContext *ev_bq_reconnect(const ev_bq *q, int s, ev_err *err);
/* msg without its leading "bullmq target <address>: " (for nesting one
 * error in another); msg itself when it has none. */
const char *ev_bq_err_detail(const ev_bq *q, const char *msg);
/* Loads every script into the server (SCRIPT LOAD on c) and keeps their SHA1
 * in q->sha. 0 or EV_ECONNECT. Setup only (q->sha is read-only afterwards). */
int ev_bq_load_scripts(ev_bq *q, redisContext *c, ev_err *err);
/* The text of script s (static). */
const char *ev_bq_script(int s);
/* Writes "P:Q:<suffix>" into buf (EV_BQ_KEY_MAX). */
void ev_bq_key(const ev_bq *q, const char *suffix, char *buf);
/* EVALSHA script s with keys and args (binary-safe lengths may be NULL: strlen).
 * On NOSCRIPT loads the script and retries once. Returns the reply (caller
 * frees) or NULL when the connection failed. */
redisReply *ev_bq_eval(const ev_bq *q, redisContext *c, int s, int nkeys, const char *const *keys,
                       int nargs, const char *const *args, const size_t *arglens);
/* Appends (pipelines) an EVALSHA of script s; the reply comes with redisGetReply. */
int ev_bq_eval_append(const ev_bq *q, redisContext *c, int s, int nkeys, const char *const *keys,
                      int nargs, const char *const *args, const size_t *arglens);
/* The same EVALSHA as RESP text in *cmd (malloc'd: redisFreeCommand), for
 * a connection that is not there yet. Its length, or -1 (out of memory). */
int ev_bq_eval_format(const ev_bq *q, char **cmd, int s, int nkeys, const char *const *keys,
                      int nargs, const char *const *args, const size_t *arglens);
/* ev_bq_eval over the line of worker consumer `consumer` (worker mode): the
 * call may be pipelined with other consumers' calls. Returns the reply
 * (caller frees), or NULL when the line's connection failed, with its error
 * text copied into errstr (size bytes). NOSCRIPT replies are returned as is
 * (the caller retries with ev_bq_eval on its own context). Thread safe. */
redisReply *ev_bq_line_eval(ev_bq *q, uint32_t consumer, int s, int nkeys, const char *const *keys,
                            int nargs, const char *const *args, char *errstr, size_t size);
/* Wall clock in Unix ms as a decimal string. */
void ev_bq_now_ms(char *buf, size_t size);
/* Adds a thread's counters (and histograms, may be NULL) into the shared ones. */
void ev_bq_add_counts(ev_bq *q, const ev_bq_counts *c, const ev_hist *qw, const ev_hist *proc);

extern const ev_pub_ops ev_bq_pub_ops;
extern const ev_sub_ops ev_bq_sub_ops;

#endif
