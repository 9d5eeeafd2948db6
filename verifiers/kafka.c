/* kafka verifier — one member of one consumer group per thread, each with its
 * own librdkafka consumer.
 *
 * Design notes.
 * - Groups: verify.groups distinct group ids (broker.kafka group names), each
 *   of which must see every event; verify.consumers members per group
 *   compete for its partitions (eager rebalance: range/roundrobin).
 * - Ready barrier: open() returns once the group is stable — every member of
 *   the group holds an assignment (possibly empty: more members than
 *   partitions) and together they cover every partition — or fails after
 *   READY_MAX_NS. The mock cluster delays a new group's first join by ~3 s.
 * - Start: a partition without a committed offset is assigned at the high
 *   watermark read in setup (older messages belong to earlier runs).
 * - Commit policy (target parameter commit=): batch (default) — after the
 *   engine processed a batch, ack() commits its offsets asynchronously, and a
 *   revoke or close commits synchronously; interval — ack() stores the
 *   offsets and librdkafka auto-commits them every auto.commit.interval.ms;
 *   none — never commits (every rebalance replays from the start).
 * - Replays and expiry: per (group, partition) the highest offset seen by
 *   any member is shared (kafka.h). A delivery below it is a replay after a
 *   rebalance → flagged redelivered; one above it means the log no longer
 *   had the offsets in between (retention or the mock's size cap moved the
 *   low watermark past them) → counted as expired.
 * - Lag: several times a second each member writes, for its partitions, the
 *   cached high watermark (updated with every fetch response) minus its
 *   position (the next offset it will hand to the engine) into the shared
 *   cells read by depth()/sample().
 * - Fault: target parameters leave=C&leave_at=D[&leave_mode=close|crash] make
 *   member C of group 0 leave D after the first publish: close commits and
 *   leaves the group (an immediate rebalance); crash destroys the client
 *   without leaving (the group notices after session.timeout.ms, and the
 *   partitions replay from the last commit). */
#include "brokers/kafka.h"

#include "ev_cebind.h"
#include "ev_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READY_MAX_NS (25 * EV_NS_PER_S)
#define JOIN_WAIT_NS (5 * EV_NS_PER_S)
#define LAG_EVERY_NS (50 * EV_NS_PER_MS)
#define PEND_MAX 4096
#define RAW_MAX 32 /* protocol headers kept per delivery */

typedef struct part {
    int assigned;
    int64_t consumed_next; /* next offset for the engine, −1 unknown */
    int64_t acked_next;    /* offset to commit (processed + 1), −1 none */
    int64_t committed;     /* last offset committed/stored */
} part;

struct ev_sub {
    ev_kafka *k;
    ev_kafka_group *gr;
    uint32_t group, member;
    rd_kafka_t *rk;
    part *ps; /* [k->partitions] */
    int own_parts;
    int holds_assignment;
    int left;
    rd_kafka_message_t **batch; /* handed out by the last recv */
    int nbatch, capbatch;
    rd_kafka_message_t **pend; /* received while waiting for the group */
    int npend;
    ev_ce_headers *hdrs; /* [capbatch]: each delivery's attributes */
    ev_ce_attr *raw;     /* [capbatch * RAW_MAX]: each delivery's headers (verify.match) */
    int64_t last_lag;
    int fatal;
    char fatal_msg[256];
};

static void update_lag(ev_sub *s, int force);

/* ---- callbacks (run inside rd_kafka_consumer_poll on the member thread) -- */

static void sub_error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    ev_sub *s = opaque;
    ev_kafka_note_error(s->k, "consumer %s/%u: %s: %s", s->gr->id, s->member,
                        rd_kafka_err2name((rd_kafka_resp_err_t)e), reason);
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
        s->fatal = 1;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s", reason);
    }
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *o,
                      void *opaque)
{
    ev_sub *s = opaque;
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        atomic_fetch_add(&s->k->commit_errors, 1);
        ev_kafka_note_error(s->k, "consumer %s/%u: commit: %s", s->gr->id, s->member,
                            rd_kafka_err2name(e));
    }
}

/* Commits (or stores) every partition's processed offset not yet committed;
 * sync or async. Only partitions this member holds. */
static void commit_acked(ev_sub *s, int sync)
{
    if (s->k->commit == EV_KAFKA_COMMIT_NONE || !s->rk)
        return;
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int32_t p = 0; p < s->k->partitions; p++) {
        part *x = &s->ps[p];
        if (!x->assigned || x->acked_next < 0 || x->acked_next == x->committed)
            continue;
        if (!l && !(l = rd_kafka_topic_partition_list_new(8)))
            return;
        rd_kafka_topic_partition_list_add(l, s->k->topic, p)->offset = x->acked_next;
        x->committed = x->acked_next;
    }
    if (!l)
        return;
    rd_kafka_resp_err_t e;
    if (s->k->commit == EV_KAFKA_COMMIT_INTERVAL)
        e = rd_kafka_offsets_store(s->rk, l);
    else
        e = rd_kafka_commit(s->rk, l, !sync);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
        atomic_fetch_add(&s->k->commit_errors, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    ev_sub *s = opaque;
    ev_kafka *k = s->k;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Committed offsets where the group has them; else where the run
         * started (setup's high watermarks). On failure librdkafka falls back
         * to the committed offset or auto.offset.reset=earliest. */
        if (parts->cnt > 0 && rd_kafka_committed(rk, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                if (tp->offset < 0 && tp->partition < k->partitions)
                    tp->offset = k->start[tp->partition];
            }
        }
        rd_kafka_assign(rk, parts);
        int own = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= k->partitions)
                continue;
            part *x = &s->ps[p];
            x->assigned = 1;
            x->consumed_next = parts->elems[i].offset >= 0 ? parts->elems[i].offset : -1;
            if (x->consumed_next >= 0)
                atomic_store(&s->gr->pos[p], x->consumed_next);
            x->acked_next = -1;
            x->committed = x->consumed_next;
            own++;
        }
        s->own_parts = own;
        if (!s->holds_assignment) {
            s->holds_assignment = 1;
            atomic_fetch_add(&s->gr->assigned_members, 1);
        }
        atomic_fetch_add(&s->gr->assigned_parts, own);
        atomic_fetch_add(&k->rebalances, 1);
    } else {
        /* Revoked: everything handed to the engine has been processed (the
         * engine acks a batch before it polls again), so commit it now and
         * the next owner resumes right after it. */
        commit_acked(s, 1);
        if (k->commit == EV_KAFKA_COMMIT_INTERVAL)
            rd_kafka_commit(rk, NULL, 0); /* what was stored, before the next owner reads */
        update_lag(s, 1);
        rd_kafka_assign(rk, NULL);
        for (int32_t p = 0; p < k->partitions; p++)
            s->ps[p].assigned = 0;
        atomic_fetch_sub(&s->gr->assigned_parts, s->own_parts);
        s->own_parts = 0;
        if (s->holds_assignment) {
            s->holds_assignment = 0;
            atomic_fetch_sub(&s->gr->assigned_members, 1);
        }
    }
}

/* ---- open / close ------------------------------------------------------- */

static void release_batch(ev_sub *s)
{
    for (int i = 0; i < s->nbatch; i++)
        rd_kafka_message_destroy(s->batch[i]);
    s->nbatch = 0;
}

static void sub_free(ev_sub *s)
{
    release_batch(s);
    for (int i = 0; i < s->npend; i++)
        rd_kafka_message_destroy(s->pend[i]);
    s->npend = 0;
    if (s->rk)
        rd_kafka_destroy(s->rk);
    free(s->ps);
    free(s->batch);
    free(s->pend);
    free(s->hdrs);
    free(s->raw);
    free(s);
}

/* Every member of this process's group holds an assignment and, when this
 * process is the whole group, together they hold every partition. With
 * --instance I/N the group's other members live in other processes, so
 * only the first half can be known here: the partitions are shared out
 * among all N processes' members. */
static int group_stable(ev_sub *s)
{
    const ev_run_info *ri = s->k->ri;
    return atomic_load(&s->gr->assigned_members) == (int)ri->consumers &&
           (ri->instances > 1 || atomic_load(&s->gr->assigned_parts) == s->k->partitions);
}

static int kafka_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                          ev_sub **out, ev_err *err)
{
    ev_kafka *k = state;
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->k = k;
    s->gr = &k->g[group];
    s->group = group;
    s->member = consumer;
    if (!(s->ps = calloc((size_t)k->partitions, sizeof *s->ps)) ||
        !(s->pend = calloc(PEND_MAX, sizeof *s->pend))) {
        sub_free(s);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    for (int32_t p = 0; p < k->partitions; p++)
        s->ps[p] = (part){0, -1, -1, -1};
    rd_kafka_conf_t *c = NULL;
    int rc = ev_kafka_conf(k, 1, &c, err);
    if (rc) {
        sub_free(s);
        return rc;
    }
    char es[256];
    if (rd_kafka_conf_set(c, "group.id", s->gr->id, es, sizeof es) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(c);
        sub_free(s);
        return ev_err_set(err, EV_EUSAGE, "%s: group.id %s: %s", ri->url->redacted, s->gr->id, es);
    }
    rd_kafka_conf_set_opaque(c, s);
    rd_kafka_conf_set_error_cb(c, sub_error_cb);
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(c, commit_cb);
    if (!(s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, es, sizeof es))) {
        rd_kafka_conf_destroy(c);
        sub_free(s);
        return ev_err_set(err, EV_EUSAGE, "%s: cannot create a consumer: %s", ri->url->redacted,
                          es);
    }
    rd_kafka_poll_set_consumer(s->rk);
    /* Subscribe together: a member whose JoinGroup arrives after the
     * group's first (3 s) join round forces a second round, which the mock
     * drags out to session.timeout.ms − 1 s. So wait (bounded) until every
     * member of the group has its client. */
    atomic_fetch_add(&s->gr->joining, 1);
    int64_t deadline = ev_mono_ns() + READY_MAX_NS; /* join wait included */
    int64_t join_by = ev_mono_ns() + JOIN_WAIT_NS;
    while (atomic_load(&s->gr->joining) < (int)ri->consumers && ev_mono_ns() < join_by &&
           !*ri->stop)
        ev_sleep_until(ev_mono_ns() + 2 * EV_NS_PER_MS, ri->stop);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, k->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        sub_free(s);
        return ev_err_set(err, EV_ECONNECT, "%s: subscribe to %s failed: %s", ri->url->redacted,
                          k->topic, rd_kafka_err2str(e));
    }
    /* The ready barrier: poll (which joins the group and runs the rebalance
     * callback) until the whole group holds the whole topic. */
    while (!group_stable(s)) {
        if (ev_mono_ns() > deadline || *ri->stop || s->fatal) {
            int a = atomic_load(&s->gr->assigned_members), pa = atomic_load(&s->gr->assigned_parts);
            sub_free(s);
            return ev_err_set(err, EV_ECONNECT,
                              "%s: consumer group %s did not settle within %d s (%d of %d "
                              "members assigned, %d of %d partitions); is the cluster at %s "
                              "healthy?",
                              ri->url->redacted, k->g[group].id, (int)(READY_MAX_NS / EV_NS_PER_S),
                              a, (int)ri->consumers, pa, (int)k->partitions, k->bootstrap);
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 100);
        if (!m)
            continue;
        if (m->err || s->npend == PEND_MAX)
            rd_kafka_message_destroy(m); /* errors are noted by error_cb */
        else
            s->pend[s->npend++] = m; /* handed out by the first recv */
    }
    *out = s;
    return EV_OK;
}

static void kafka_sub_close(ev_sub *s)
{
    if (!s)
        return;
    release_batch(s);
    for (int i = 0; i < s->npend; i++)
        rd_kafka_message_destroy(s->pend[i]);
    s->npend = 0;
    if (s->rk) {
        commit_acked(s, 1);
        rd_kafka_consumer_close(s->rk); /* revokes (and commits) through rebalance_cb */
    }
    sub_free(s);
}

/* ---- receiving ------------------------------------------------------------ */

static int grow(ev_sub *s, int max)
{
    if (s->capbatch >= max)
        return 0;
    rd_kafka_message_t **b = realloc(s->batch, (size_t)max * sizeof *b);
    if (!b)
        return -1;
    s->batch = b;
    ev_ce_headers *h = realloc(s->hdrs, (size_t)max * sizeof *h);
    if (!h)
        return -1;
    s->hdrs = h;
    ev_ce_attr *r = realloc(s->raw, (size_t)max * RAW_MAX * sizeof *r);
    if (!r)
        return -1;
    s->raw = r;
    s->capbatch = max;
    return 0;
}

static void update_lag(ev_sub *s, int force)
{
    int64_t now = ev_mono_ns();
    if (!force && now - s->last_lag < LAG_EVERY_NS)
        return;
    s->last_lag = now;
    for (int32_t p = 0; p < s->k->partitions; p++) {
        part *x = &s->ps[p];
        if (!x->assigned)
            continue;
        int64_t lo = -1, hi = -1;
        if (x->consumed_next >= 0)
            atomic_store(&s->gr->pos[p], x->consumed_next);
        if (rd_kafka_get_watermark_offsets(s->rk, s->k->topic, p, &lo, &hi) || hi < 0)
            continue;
        ev_kafka_atomic_max(&s->k->hi[p], hi);
    }
}

/* Turns message m into delivery slot d[i]; m is kept in the batch. */
static void fill(ev_sub *s, rd_kafka_message_t *m, ev_delivery *d, int i)
{
    ev_kafka *k = s->k;
    int32_t p = m->partition;
    int redelivered = 0;
    if (p >= 0 && p < k->partitions) {
        int64_t o = m->offset;
        int64_t prev = ev_kafka_atomic_max(&s->gr->next[p], o + 1);
        if (o < prev) {
            redelivered = 1;
            atomic_fetch_add(&k->replays, 1);
        } else if (o > prev && prev >= 0) {
            atomic_fetch_add(&k->expired, (uint64_t)(o - prev));
        }
        s->ps[p].consumed_next = o + 1;
    }
    ev_ce_headers *ch = &s->hdrs[i];
    ev_ce_attr *raw = &s->raw[(size_t)i * RAW_MAX];
    size_t nraw = 0;
    ev_ce_headers_init(ch, EV_CE_BIND_KAFKA);
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t j = 0; !rd_kafka_header_get_all(h, j, &name, &val, &size); j++) {
            ev_ce_headers_add(ch, name, strlen(name), val, val ? size : 0);
            if (nraw < RAW_MAX)
                raw[nraw++] = (ev_ce_attr){name, strlen(name), val ? val : "", val ? size : 0};
        }
    }
    const char *body = m->payload ? (const char *)m->payload : "";
    int binary = ev_ce_headers_binary(ch);
    d[i] = (ev_delivery){
        .binary = binary,
        .body = body,
        .len = m->payload ? m->len : 0,
        .attrs = binary ? ch->attrs : NULL,
        .nattrs = binary ? ch->nattrs : 0,
        .content_type = ch->content_type,
        .headers = raw,
        .nheaders = nraw,
        .redelivered = redelivered,
        .tag = (uint64_t)i,
    };
}

static void leave(ev_sub *s)
{
    release_batch(s);
    if (s->k->leave_mode == EV_KAFKA_LEAVE_CLOSE) {
        commit_acked(s, 1);
        rd_kafka_consumer_close(s->rk);
        rd_kafka_destroy(s->rk);
    } else {
        /* A crash: no final commit, no LeaveGroup. */
        atomic_fetch_sub(&s->gr->assigned_parts, s->own_parts);
        if (s->holds_assignment)
            atomic_fetch_sub(&s->gr->assigned_members, 1);
        rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    s->rk = NULL;
    s->left = 1;
    atomic_fetch_add(&s->k->members_left, 1);
}

static int kafka_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    ev_kafka *k = s->k;
    release_batch(s);
    if (!s->left && s->group == 0 && (int64_t)s->member == k->leave_member) {
        int64_t t0 = atomic_load(&k->first_send_mono);
        if (t0 && ev_mono_ns() >= t0 + k->leave_at_ns)
            leave(s);
    }
    if (s->left) {
        ev_sleep_until(ev_mono_ns() + timeout_ns, k->ri->stop);
        return 0;
    }
    if (grow(s, max))
        return ev_err_set(err, EV_EINTERNAL, "out of memory"), -1;
    int n = 0;
    int pi = 0;
    while (n < max && pi < s->npend) {
        s->batch[s->nbatch++] = s->pend[pi++];
        fill(s, s->batch[n], d, n);
        n++;
    }
    if (pi) {
        memmove(s->pend, s->pend + pi, (size_t)(s->npend - pi) * sizeof *s->pend);
        s->npend -= pi;
    }
    int wait_ms = n ? 0 : (int)(timeout_ns / EV_NS_PER_MS);
    while (n < max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, wait_ms);
        wait_ms = 0;
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                ev_kafka_note_error(k, "consumer %s/%u: %s", s->gr->id, s->member,
                                    rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        s->batch[s->nbatch++] = m;
        fill(s, m, d, n);
        n++;
    }
    update_lag(s, 0);
    if (s->fatal)
        return ev_err_set(err, EV_ECONNECT, "%s: consumer group %s: fatal error: %s",
                          k->ri->url->redacted, s->gr->id, s->fatal_msg),
               -1;
    return n;
}

static int kafka_sub_ack(ev_sub *s, const ev_delivery *d, int n, ev_err *err)
{
    if (s->left)
        return 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = d[i].tag;
        if (t >= (uint64_t)s->nbatch)
            continue;
        const rd_kafka_message_t *m = s->batch[t];
        if (m->partition >= 0 && m->partition < s->k->partitions &&
            s->ps[m->partition].acked_next < m->offset + 1)
            s->ps[m->partition].acked_next = m->offset + 1;
    }
    commit_acked(s, 0);
    return 0;
}

const ev_sub_ops ev_kafka_sub_ops = {
    .open = kafka_sub_open,
    .recv = kafka_sub_recv,
    .ack = kafka_sub_ack,
    .close = kafka_sub_close,
};
