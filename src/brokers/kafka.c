/* kafka — the shared half of the Kafka module (librdkafka 2.0.2): target
 * parsing, the embedded mock cluster, topology checks, lag, results, and the
 * `evload kafka-mock` subcommand.
 *
 * Design notes.
 * - Targets: kafka://host:port[,host:port]/TOPIC uses an existing cluster (the
 *   topic must exist); kafka://embedded/TOPIC starts a librdkafka mock cluster
 *   in this process (rd_kafka_mock_cluster_new on a throw-away producer
 *   handle), creates TOPIC on it and points every lane and member at its
 *   bootstrap servers. The mock is experimental upstream and keeps at most
 *   ~5 MiB per partition (docs/kafka.md).
 * - Every group starts at the topic's high watermarks as read in setup (a
 *   partition without a committed offset is assigned at that offset), so
 *   what an earlier run left in the topic is not re-read.
 * - Ground truth: the producer's delivery reports (publish outcomes) and, at
 *   the end, the high watermarks: `appended` = messages the log gained during
 *   the run. Per (group, partition) the highest offset seen by any member
 *   tells replays (offset below it: a redelivery after a rebalance) from
 *   expiry (offset above it: the log dropped what we had not read yet —
 *   retention / the mock's size cap — reported as `expired`, which is part of
 *   deliver.lost, never hidden in it).
 * - Faults (embedded only): down_broker=N&down_at=D&down_for=D takes mock
 *   broker N down D after the first publish and brings it back up D later
 *   (rd_kafka_mock_broker_set_down/_up), on a thread of its own.
 * - Thread safety: see kafka.h; everything here runs on the main thread
 *   except the fault thread and the atomics the lanes/members update. */
#include "brokers/kafka.h"

#include "ev_clock.h"
#include "ev_env.h"
#include "ev_text.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define META_TIMEOUT_MS 10000
#define MOCK_DEFAULT_BROKERS 3
#define MOCK_DEFAULT_PARTITIONS 4
#define LAG_REFRESH_NS (500 * EV_NS_PER_MS)
/* How long the report waits for fresh offsets, and teardown for lag_main. */
#define REPORT_WAIT_NS (5 * EV_NS_PER_S)
/* depth() is known only if every partition's offsets were read this recently. */
#define DEPTH_FRESH_NS (2 * EV_NS_PER_S)

static const char *const commit_modes[] = {"batch", "interval", "none",
                                           NULL};                  /* EV_KAFKA_COMMIT_* */
static const char *const leave_modes[] = {"close", "crash", NULL}; /* EV_KAFKA_LEAVE_* */

static const ev_param kafka_params[] = {
    {"group", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "consumer group id base: GROUP-g0, GROUP-g1, ... (default evload-RUN-gN)"},
    {"commit", EV_PT_ENUM, "batch", 0, 0, commit_modes, 0,
     "batch: async commit after each processed batch; interval: auto-commit of processed "
     "offsets; none"},
    {"brokers", EV_PT_INT, "3", 1, 16, NULL, 0, "kafka://embedded: brokers in the mock cluster"},
    {"partitions", EV_PT_INT, "4", 1, 1024, NULL, 0, "kafka://embedded: the topic's partitions"},
    {"down_broker", EV_PT_INT, NULL, 1, 16, NULL, 0,
     "kafka://embedded: take this broker down mid-run (fault test)"},
    {"down_at", EV_PT_DURATION, "0s", 0, 0, NULL, 0, "when, after the first publish"},
    {"down_for", EV_PT_DURATION, "2s", 0, 0, NULL, 0, "for how long"},
    {"leave", EV_PT_INT, NULL, 0, 1023, NULL, 0,
     "consumer member N leaves its group mid-run (rebalance test)"},
    {"leave_at", EV_PT_DURATION, "0s", 0, 0, NULL, 0, "when, after the first delivery"},
    {"leave_mode", EV_PT_ENUM, "close", 0, 0, leave_modes, 0,
     "close: commit and leave; crash: vanish (the group notices at session.timeout.ms)"},
    {NULL},
};

/* ---- helpers shared with the publisher and verifier ------------------- */

int64_t ev_kafka_atomic_max(_Atomic int64_t *cell, int64_t v)
{
    int64_t cur = atomic_load(cell);
    while (cur < v && !atomic_compare_exchange_weak(cell, &cur, v))
        ;
    return cur;
}

void ev_kafka_note_error(ev_kafka *k, const char *fmt, ...)
{
    atomic_fetch_add(&k->client_errors, 1);
    pthread_mutex_lock(&k->err_mu);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->last_error, sizeof k->last_error, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&k->err_mu);
}

/* librdkafka logs (connection refused while a broker is down, config
 * warnings for properties meant for the other role) would drown the status
 * line; they are shown only with EVLOAD_KAFKA_LOG=1. Errors reach the
 * results through error_cb instead. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* Runs on librdkafka's threads: the flag is computed once, atomically. */
    static atomic_int show = -1;
    int v = atomic_load(&show);
    if (v < 0) {
        const char *e = getenv("EVLOAD_KAFKA_LOG");
        v = e && *e && strcmp(e, "0") != 0;
        atomic_store(&show, v);
    }
    if (v)
        fprintf(stderr, "kafka %s: %s: %s\n", rd_kafka_name(rk), fac, buf);
}

static int conf_put(rd_kafka_conf_t *c, const char *key, const char *val, ev_err *err)
{
    char es[256];
    if (rd_kafka_conf_set(c, key, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        return ev_err_set(err, EV_EUSAGE, "kafka.%s=%s: %s", key, val, es);
    return EV_OK;
}

/* A pass-through kafka.* setting: may carry a secret (ssl.key.password,
 * sasl.password, …), so ${NAME} is expanded (ev_env.h) and the value is never
 * echoed (librdkafka quotes a value it refuses only for typed properties,
 * none of them secret). */
static int conf_put_extra(rd_kafka_conf_t *c, const char *key, const char *written, ev_err *err)
{
    char es[256], *val = NULL;
    int rc = ev_env_expand(written, &val, err);
    if (rc) {
        ev_err_prefix(err, "kafka.%s", key);
        return rc;
    }
    if (rd_kafka_conf_set(c, key, val, es, sizeof es) != RD_KAFKA_CONF_OK)
        rc = ev_err_set(err, EV_EUSAGE, "kafka.%s: %s", key, es);
    explicit_bzero(val, strlen(val));
    free(val);
    return rc;
}

int ev_kafka_conf(const ev_kafka *k, int consumer, rd_kafka_conf_t **out, ev_err *err)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (!c)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    rd_kafka_conf_set_log_cb(c, log_cb);
    int rc = conf_put(c, "bootstrap.servers", k->bootstrap ? k->bootstrap : "", err);
    if (!rc)
        rc = conf_put(c, "client.id", "evload", err);
    if (!rc && !consumer) {
        /* Loss tests want every acknowledged event durable and in order. */
        static const char *const def[][2] = {{"acks", "all"},
                                             {"enable.idempotence", "true"},
                                             {"linger.ms", "5"},
                                             {"message.timeout.ms", "30000"},
                                             {"socket.nagle.disable", "true"}};
        for (size_t i = 0; !rc && i < sizeof def / sizeof def[0]; i++)
            rc = conf_put(c, def[i][0], def[i][1], err);
    } else if (!rc) {
        /* Exact accounting: offsets are stored/committed after processing
         * only (verifiers/kafka.c), a fresh group reads from the start, and
         * short session/heartbeat times make a crashed member's partitions
         * move within seconds. */
        const char *autoc = k->commit == EV_KAFKA_COMMIT_INTERVAL ? "true" : "false";
        const char *def[][2] = {
            {"auto.offset.reset", "earliest"},     {"enable.auto.commit", autoc},
            {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "false"},
            {"session.timeout.ms", "6000"},        {"heartbeat.interval.ms", "1000"},
            {"fetch.wait.max.ms", "10"},           {"socket.nagle.disable", "true"}};
        for (size_t i = 0; !rc && i < sizeof def / sizeof def[0]; i++)
            rc = conf_put(c, def[i][0], def[i][1], err);
    }
    /* kafka://user:pass@host/TOPIC: SASL/PLAIN unless kafka.security.protocol
     * and kafka.sasl.mechanisms (set below, they win) say otherwise. The
     * password is never echoed in an error. */
    const ev_url *u = k->ri ? k->ri->url : NULL;
    if (!rc && u && u->user && !k->embedded) {
        char es[256];
        rc = conf_put(c, "security.protocol", "sasl_plaintext", err);
        if (!rc)
            rc = conf_put(c, "sasl.mechanisms", "PLAIN", err);
        if (!rc)
            rc = conf_put(c, "sasl.username", u->user, err);
        if (!rc && rd_kafka_conf_set(c, "sasl.password", u->password ? u->password : "", es,
                                     sizeof es) != RD_KAFKA_CONF_OK)
            rc = ev_err_set(err, EV_EUSAGE, "target %s: the password was refused: %s", u->redacted,
                            es);
    }
    const ev_plan *p = k->ri ? k->ri->plan : NULL;
    for (size_t i = 0; !rc && p && i < p->nextra; i++)
        if (strncmp(p->extra[i].key, "kafka.", 6) == 0)
            rc = conf_put_extra(c, p->extra[i].key + 6, p->extra[i].value, err);
    if (rc) {
        rd_kafka_conf_destroy(c);
        return rc;
    }
    *out = c;
    return EV_OK;
}

/* ---- the mock cluster (embedded and kafka-mock) ----------------------- */

/* Starts a mock cluster of `brokers` brokers and, if topic is non-NULL,
 * creates it with `partitions` partitions. The caller owns the handle and
 * the cluster (mock_stop). */
static int mock_start(int brokers, const char *topic, int partitions, rd_kafka_t **rkp,
                      rd_kafka_mock_cluster_t **mcp, ev_err *err)
{
    char es[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (!c)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    rd_kafka_conf_set_log_cb(c, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es);
    if (!rk) {
        rd_kafka_conf_destroy(c);
        return ev_err_set(err, EV_EINTERNAL, "kafka: cannot create a client handle: %s", es);
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        rd_kafka_destroy(rk);
        return ev_err_set(err, EV_ECONNECT,
                          "kafka: cannot start the mock cluster (%d brokers); are local TCP "
                          "ports available?",
                          brokers);
    }
    if (topic) {
        int repl = brokers < 3 ? brokers : 3;
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, partitions, repl);
        if (e) {
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(rk);
            return ev_err_set(err, EV_ECONNECT, "kafka: cannot create topic %s on the mock: %s",
                              topic, rd_kafka_err2str(e));
        }
    }
    *rkp = rk;
    *mcp = mc;
    return EV_OK;
}

static void mock_stop(rd_kafka_t *rk, rd_kafka_mock_cluster_t *mc)
{
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
}

/* ---- target parsing ---------------------------------------------------- */

static int valid_topic(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249 || !strcmp(t, ".") || !strcmp(t, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* The target into k (pure: configure runs it for `evload check`). */
static int parse_target(ev_kafka *k, const ev_url *u, const ev_params *ps, ev_err *err)
{
    if (!valid_topic(u->path))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: \"%s\" is not a Kafka topic name; expected "
                          "kafka://host:port/TOPIC or kafka://embedded/TOPIC with TOPIC of "
                          "[a-zA-Z0-9._-], 1..249 characters",
                          u->redacted, u->path);
    if (!u->host[0])
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: no broker address; expected kafka://host:port/TOPIC or "
                          "kafka://embedded/TOPIC",
                          u->redacted);
    k->embedded = strcmp(u->host, "embedded") == 0 && u->port == 0 && !strchr(u->hosts, ',');
    if (!k->embedded && (ev_param_given(ps, "brokers") || ev_param_given(ps, "partitions") ||
                         ev_param_given(ps, "down_broker")))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: brokers, partitions and down_broker apply to "
                          "kafka://embedded/TOPIC only (an existing cluster's topic is used as "
                          "it is)",
                          u->redacted);
    k->brokers = (int)ev_param_int(ps, "brokers");
    k->partitions = (int32_t)ev_param_int(ps, "partitions");
    k->commit = ev_param_enum(ps, "commit");
    k->leave_member = ev_param_given(ps, "leave") ? ev_param_int(ps, "leave") : -1;
    k->leave_at_ns = ev_param_dur(ps, "leave_at");
    k->leave_mode = ev_param_enum(ps, "leave_mode");
    if (k->leave_member >= (int64_t)k->ri->consumers)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: leave=%" PRId64 " but verify.consumers is %" PRId64
                          "; members are numbered from 0",
                          u->redacted, k->leave_member, (int64_t)k->ri->consumers);
    k->down_broker = ev_param_given(ps, "down_broker") ? ev_param_int(ps, "down_broker") : -1;
    if (k->down_broker > k->brokers)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: down_broker=%" PRId64 " but the cluster has %d brokers",
                          u->redacted, k->down_broker, k->brokers);
    k->down_at_ns = ev_param_dur(ps, "down_at");
    k->down_for_ns = ev_param_dur(ps, "down_for");
    return EV_OK;
}

/* Everything check can know: the target, and every kafka.* property as
 * librdkafka takes it (both client kinds; no connection is made). */
static int kafka_configure(const ev_run_info *ri, ev_err *err)
{
    ev_kafka *k = calloc(1, sizeof *k);
    if (!k)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    k->ri = ri;
    rd_kafka_conf_t *c = NULL;
    int rc = parse_target(k, ri->url, ri->params, err);
    for (int consumer = 0; !rc && consumer < 2; consumer++) {
        if (!(rc = ev_kafka_conf(k, consumer, &c, err)))
            rd_kafka_conf_destroy(c);
    }
    free(k);
    return rc;
}

/* ---- setup: cluster, topic, start offsets ----------------------------- */

static void *fault_main(void *arg)
{
    ev_kafka *k = arg;
    /* The clock starts at the first publish, so down_at means "into the run". */
    while (!atomic_load(&k->fault_stop) && atomic_load(&k->first_send_mono) == 0)
        ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
    int64_t t = atomic_load(&k->first_send_mono);
    while (!atomic_load(&k->fault_stop) && ev_mono_ns() < t + k->down_at_ns)
        ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
    if (atomic_load(&k->fault_stop))
        return NULL;
    rd_kafka_mock_broker_set_down(k->mc, (int32_t)k->down_broker);
    atomic_store(&k->down_mono, ev_mono_ns());
    int64_t up = ev_mono_ns() + k->down_for_ns;
    while (!atomic_load(&k->fault_stop) && ev_mono_ns() < up)
        ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
    rd_kafka_mock_broker_set_up(k->mc, (int32_t)k->down_broker);
    atomic_store(&k->up_mono, ev_mono_ns());
    return NULL;
}

/* Refreshes the high watermarks of every partition twice a second with the
 * metadata handle (ListOffsets), off the reporter's thread: members only
 * see the partitions they fetch, and a partition nobody owns (its member
 * crashed) must still show its growing lag. */
static void *lag_main(void *arg)
{
    ev_kafka *k = arg;
    while (!atomic_load(&k->fault_stop)) {
        int all = 1;
        for (int32_t p = 0; p < k->partitions && !atomic_load(&k->fault_stop); p++) {
            int64_t lo = 0, hi = 0;
            if (!rd_kafka_query_watermark_offsets(k->meta, k->topic, p, &lo, &hi, 1000)) {
                ev_kafka_atomic_max(&k->hi[p], hi);
                atomic_store(&k->lo[p], lo);
            } else {
                all = 0;
            }
        }
        if (all) {
            atomic_store(&k->lag_round_mono, ev_mono_ns());
            atomic_fetch_add(&k->lag_rounds, 1);
        }
        int64_t until = ev_mono_ns() + LAG_REFRESH_NS;
        while (!atomic_load(&k->fault_stop) && !atomic_exchange(&k->lag_kick, 0) &&
               ev_mono_ns() < until)
            ev_sleep_until(ev_mono_ns() + 10 * EV_NS_PER_MS, NULL);
    }
    atomic_store(&k->lag_alive, 0);
    return NULL;
}

static void meta_error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    (void)rk;
    (void)e;
    (void)reason;
    (void)opaque; /* setup reports the outcome of its own requests */
}

static void kafka_teardown(void *state);

static int kafka_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    ev_kafka *k = calloc(1, sizeof *k);
    if (!k)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    pthread_mutex_init(&k->err_mu, NULL);
    k->ri = ri;
    atomic_store(&k->t_setup_mono, ev_mono_ns());
    const ev_url *u = ri->url;
    int rc = parse_target(k, u, ri->params, err);
    rd_kafka_conf_t *c = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    if (rc)
        goto fail;
    if (!(k->topic = strdup(u->path)))
        goto oom;

    /* Check every kafka.<property> before anything connects: a typo is a
     * usage error (exit 2), not a failed run. */
    for (int role = 0; role < 2; role++) {
        if ((rc = ev_kafka_conf(k, role, &c, err)))
            goto fail;
        rd_kafka_conf_destroy(c);
        c = NULL;
    }
    if (k->embedded) {
        if ((rc = mock_start(k->brokers, k->topic, k->partitions, &k->mock_rk, &k->mc, err)))
            goto fail;
        if (!(k->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(k->mc))))
            goto oom;
    } else if (u->port == 0) {
        size_t n = strlen(u->hosts) + 8;
        if (!(k->bootstrap = malloc(n)))
            goto oom;
        snprintf(k->bootstrap, n, "%s:9092", u->hosts);
    } else if (!(k->bootstrap = strdup(u->hosts))) {
        goto oom;
    }

    /* The metadata handle: partitions now, watermarks now and at the end. */
    char es[256];
    if ((rc = ev_kafka_conf(k, 0, &c, err)))
        goto fail;
    rd_kafka_conf_set_error_cb(c, meta_error_cb);
    conf_put(c, "enable.idempotence", "false", NULL);
    if (!(k->meta = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es))) {
        rc = ev_err_set(err, EV_EUSAGE, "target %s: cannot create a Kafka client: %s", u->redacted,
                        es);
        goto fail;
    }
    c = NULL;
    if (!(rkt = rd_kafka_topic_new(k->meta, k->topic, NULL)))
        goto oom;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->meta, 0, rkt, &md, META_TIMEOUT_MS);
    if (e) {
        rc = ev_err_set(err, EV_ECONNECT,
                        "target %s: no Kafka broker answered at %s within %d s (%s); is Kafka "
                        "running there? (kafka://embedded/TOPIC needs none)",
                        u->redacted, k->bootstrap, META_TIMEOUT_MS / 1000, rd_kafka_err2str(e));
        goto fail;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
        rd_kafka_resp_err_t te = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN;
        rc = ev_err_set(err, EV_ECONNECT,
                        "target %s: topic \"%s\" is not usable at %s (%s); create it first "
                        "(e.g. kafka-topics.sh --create --topic %s --partitions 4) or start "
                        "`evload kafka-mock --topic %s`",
                        u->redacted, k->topic, k->bootstrap,
                        te ? rd_kafka_err2str(te) : "no partitions", k->topic, k->topic);
        goto fail;
    }
    k->partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    md = NULL;
    rd_kafka_topic_destroy(rkt);
    rkt = NULL;

    if (!(k->start = calloc((size_t)k->partitions, sizeof *k->start)))
        goto oom;
    for (int32_t p = 0; p < k->partitions; p++) {
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(k->meta, k->topic, p, &lo, &hi, META_TIMEOUT_MS);
        if (e) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "target %s: cannot read the offsets of %s [%d] at %s: %s", u->redacted,
                            k->topic, (int)p, k->bootstrap, rd_kafka_err2str(e));
            goto fail;
        }
        k->start[p] = hi;
    }

    k->ngroups = ri->groups;
    if (!(k->g = calloc(k->ngroups ? k->ngroups : 1, sizeof *k->g))) /* 0: publish only */
        goto oom;
    for (uint32_t g = 0; g < k->ngroups; g++) {
        ev_kafka_group *gr = &k->g[g];
        const char *base = ev_param_str(ri->params, "group");
        if (base)
            snprintf(gr->id, sizeof gr->id, "%s-g%u", base, g);
        else
            snprintf(gr->id, sizeof gr->id, "evload-%s-g%u", ri->run_id, g);
        gr->next_mem = calloc((size_t)k->partitions, sizeof *gr->next);
        gr->pos_mem = calloc((size_t)k->partitions, sizeof *gr->pos);
        if (!gr->next_mem || !gr->pos_mem)
            goto oom;
        gr->next = gr->next_mem;
        gr->pos = gr->pos_mem;
        for (int32_t p = 0; p < k->partitions; p++) {
            atomic_init(&gr->next[p], k->start[p]);
            atomic_init(&gr->pos[p], k->start[p]);
        }
    }
    if (!(k->hi_mem = calloc((size_t)k->partitions, sizeof *k->hi)) ||
        !(k->lo_mem = calloc((size_t)k->partitions, sizeof *k->lo)))
        goto oom;
    k->hi = k->hi_mem;
    k->lo = k->lo_mem;
    for (int32_t p = 0; p < k->partitions; p++) {
        atomic_init(&k->hi[p], k->start[p]);
        atomic_init(&k->lo[p], 0);
    }
    atomic_init(&k->lag_alive, 1);
    if (pthread_create(&k->lag_th, NULL, lag_main, k))
        goto oom;
    k->lag_started = 1;
    if (k->down_broker > 0 && k->embedded) {
        if (pthread_create(&k->fault_th, NULL, fault_main, k))
            goto oom;
        k->fault_started = 1;
    }
    *state = k;
    return EV_OK;
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
fail:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (c)
        rd_kafka_conf_destroy(c);
    kafka_teardown(k);
    return rc;
}

/* Each lane's key maps it to one partition, and a partition is consumed by
 * one member of a group at a time, resuming after a rebalance at a committed
 * offset no lower than anything the new owner had not seen: so a member's
 * first sightings of a lane are in publish order unless the producer itself
 * reordered (retries without idempotence). Replays are duplicates, never
 * reorders. Hence reorders are counted, whatever verify.consumers is. */
static int kafka_ordered(void *state, const ev_run_info *ri)
{
    return 1;
}

static void lag_sum(ev_kafka *k, int64_t *total, int64_t *max)
{
    *total = 0;
    *max = 0;
    for (uint32_t g = 0; g < k->ngroups; g++)
        for (int32_t p = 0; p < k->partitions; p++) {
            int64_t l = atomic_load(&k->hi[p]) - atomic_load(&k->g[g].pos[p]);
            if (l > 0) {
                *total += l;
                if (l > *max)
                    *max = l;
            }
        }
}

/* Consumer lag summed over groups and partitions: high watermark (the
 * freshest of the members' fetch responses and lag_main's queries) minus the
 * position of the partition's owner. Unknown (-1) while lag_main has not
 * completed a round lately: a partition whose leader was down keeps its old
 * high watermark, and a stale 0 would let the drain end ("empty and quiet")
 * while that partition still holds events nobody has fetched. */
static int64_t kafka_depth(void *state)
{
    ev_kafka *k = state;
    if (ev_mono_ns() - atomic_load(&k->lag_round_mono) > DEPTH_FRESH_NS)
        return -1;
    int64_t t, m;
    lag_sum(k, &t, &m);
    return t;
}

static void kafka_sample(void *state, json_t *point)
{
    ev_kafka *k = state;
    int64_t t, m;
    lag_sum(k, &t, &m);
    json_object_set_new(point, "lag", json_integer(t));
    json_object_set_new(point, "lag_partition_max", json_integer(m));
    json_object_set_new(point, "queue_full_blocked_s",
                        json_real((double)atomic_load(&k->blocked_ns) / 1e9));
}

static void kafka_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    ev_kafka *k = state;
    snprintf(buf, size, "%s", g < k->ngroups ? k->g[g].id : "?");
}

static void kafka_report(void *state, json_t *out)
{
    ev_kafka *k = state;
    json_object_set_new(out, "bootstrap", json_string(k->bootstrap));
    json_object_set_new(out, "topic", json_string(k->topic));
    json_object_set_new(out, "embedded", json_boolean(k->embedded));
    if (k->embedded)
        json_object_set_new(out, "brokers", json_integer(k->brokers));
    json_object_set_new(out, "partitions", json_integer(k->partitions));
    static const char *const cm[] = {"batch", "interval", "none"};
    json_object_set_new(out, "commit", json_string(cm[k->commit]));
    /* Ground truth from the log: what each partition gained during the run,
     * from a round of lag_main's that began after this point (at most
     * REPORT_WAIT_NS; a round in progress may have begun before the drain
     * ended, hence two). No answer in time: the last values, marked stale. */
    uint64_t r0 = atomic_load(&k->lag_rounds);
    int64_t give_up = ev_mono_ns() + REPORT_WAIT_NS;
    while (k->lag_started && atomic_load(&k->lag_rounds) < r0 + 2 && ev_mono_ns() < give_up) {
        atomic_store(&k->lag_kick, 1);
        ev_sleep_until(ev_mono_ns() + 5 * EV_NS_PER_MS, NULL);
    }
    int fresh = atomic_load(&k->lag_rounds) >= r0 + 2;
    if (!fresh)
        fprintf(stderr,
                "evload: kafka: %s did not report the offsets of %s within %d s: the results' "
                "watermarks are the last ones read, and appended is unknown\n",
                k->bootstrap, k->topic, (int)(REPORT_WAIT_NS / EV_NS_PER_S));
    int64_t appended = 0;
    json_t *hw = json_array();
    for (int32_t p = 0; p < k->partitions; p++) {
        int64_t lo = atomic_load(&k->lo[p]), hi = atomic_load(&k->hi[p]);
        appended += hi - k->start[p];
        json_array_append_new(hw, json_pack("{s:i,s:I,s:I}", "partition", (int)p, "low",
                                            (json_int_t)lo, "high", (json_int_t)hi));
    }
    json_object_set_new(out, "appended", fresh ? json_integer(appended) : json_null());
    json_object_set_new(out, "watermarks", hw);
    json_object_set_new(out, "watermarks_stale", json_boolean(!fresh));
    int64_t t, m;
    lag_sum(k, &t, &m);
    json_object_set_new(out, "lag_end", json_integer(t));
    json_object_set_new(out, "expired", json_integer((json_int_t)atomic_load(&k->expired)));
    json_object_set_new(out, "replays", json_integer((json_int_t)atomic_load(&k->replays)));
    json_object_set_new(out, "rebalances", json_integer((json_int_t)atomic_load(&k->rebalances)));
    json_object_set_new(out, "members_left",
                        json_integer((json_int_t)atomic_load(&k->members_left)));
    int64_t first = atomic_load(&k->first_send_mono), last = atomic_load(&k->last_ack_mono);
    double produce_s = first && last > first ? (double)(last - first) / 1e9 : 0.0;
    uint64_t acked = atomic_load(&k->acked);
    json_object_set_new(out, "produce_s", json_real(produce_s));
    json_object_set_new(out, "produce_rate",
                        json_real(produce_s > 0 ? (double)acked / produce_s : 0.0));
    json_object_set_new(out, "queue_full", json_integer((json_int_t)atomic_load(&k->queue_full)));
    json_object_set_new(out, "blocked_s", json_real((double)atomic_load(&k->blocked_ns) / 1e9));
    json_object_set_new(out, "delivery_failed",
                        json_integer((json_int_t)atomic_load(&k->dr_failed)));
    json_object_set_new(out, "commit_errors",
                        json_integer((json_int_t)atomic_load(&k->commit_errors)));
    json_object_set_new(out, "client_errors",
                        json_integer((json_int_t)atomic_load(&k->client_errors)));
    pthread_mutex_lock(&k->err_mu);
    json_object_set_new(out, "last_client_error",
                        k->last_error[0] ? json_string(k->last_error) : json_null());
    pthread_mutex_unlock(&k->err_mu);
    if (k->down_broker > 0) {
        int64_t t0 = atomic_load(&k->first_send_mono), d = atomic_load(&k->down_mono),
                up = atomic_load(&k->up_mono);
        json_object_set_new(out, "fault",
                            json_pack("{s:i,s:o,s:o}", "broker", (int)k->down_broker, "down_at_s",
                                      d && t0 ? json_real((double)(d - t0) / 1e9) : json_null(),
                                      "up_at_s",
                                      up && t0 ? json_real((double)(up - t0) / 1e9) : json_null()));
    }
    uint64_t exp = atomic_load(&k->expired);
    if (exp)
        fprintf(stderr,
                "evload: kafka: %" PRIu64 " events expired from %s before a group read them "
                "(retention or the mock's ~5 MiB per-partition cap); they count in lost\n",
                exp, k->topic);
}

static void kafka_teardown(void *state)
{
    ev_kafka *k = state;
    if (!k)
        return;
    atomic_store(&k->fault_stop, 1);
    if (k->fault_started) {
        pthread_join(k->fault_th, NULL);
    }
    if (k->lag_started) {
        /* lag_main may be inside a query that outlives its timeout (a gone
         * cluster): wait a bounded time, then leave it and everything it
         * touches behind rather than hang at exit. */
        int64_t give_up = ev_mono_ns() + REPORT_WAIT_NS;
        while (atomic_load(&k->lag_alive) && ev_mono_ns() < give_up)
            ev_sleep_until(ev_mono_ns() + 5 * EV_NS_PER_MS, NULL);
        if (atomic_load(&k->lag_alive)) {
            pthread_detach(k->lag_th);
            fprintf(stderr, "evload: kafka: %s stopped answering; not waiting for it at exit\n",
                    k->bootstrap);
            return;
        }
        pthread_join(k->lag_th, NULL);
    }
    if (k->meta)
        rd_kafka_destroy(k->meta);
    free(k->hi_mem);
    free(k->lo_mem);
    mock_stop(k->mock_rk, k->mc);
    if (k->g) {
        for (uint32_t g = 0; g < k->ngroups; g++) {
            free(k->g[g].next_mem);
            free(k->g[g].pos_mem);
        }
        free(k->g);
    }
    free(k->start);
    free(k->bootstrap);
    free(k->topic);
    pthread_mutex_destroy(&k->err_mu);
    free(k);
}

static int kafka_mock_main(int argc, char **argv);

static const ev_subcommand kafka_commands[] = {
    {"kafka-mock", "a Kafka mock cluster for other processes (docs/kafka.md)", kafka_mock_main},
    {NULL, NULL, NULL},
};

const ev_broker ev_broker_kafka = {
    .name = "kafka",
    .schemes = (const char *const[]){"kafka", NULL},
    .summary = "Kafka (consumer groups, lag, order per partition); kafka://embedded runs a "
               "mock cluster in-process",
    .example = "kafka://127.0.0.1:9092/events  or  kafka://embedded/events",
    .doc = "docs/kafka.md",
    .roles = EV_ROLE_PUBLISH | EV_ROLE_VERIFY,
    .durable = 1,
    .params = kafka_params,
    .params_hint = "librdkafka properties go in --set kafka.PROPERTY=VALUE",
    .settings_prefix = "kafka",
    .settings_help = "a librdkafka property, passed verbatim (e.g. --set kafka.linger.ms=5)",
    .commands = kafka_commands,
    .configure = kafka_configure,
    .setup = kafka_setup,
    .ordered = kafka_ordered,
    .depth = kafka_depth,
    .report = kafka_report,
    .sample = kafka_sample,
    .group_name = kafka_group_name,
    .teardown = kafka_teardown,
    .pub = &ev_kafka_pub_ops,
    .sub = &ev_kafka_sub_ops,
};

/* ---- evload kafka-mock ------------------------------------------------- */

static volatile sig_atomic_t mock_signalled;

static void mock_on_signal(int sig)
{
    (void)sig;
    mock_signalled = 1;
}

static void mock_usage(FILE *f)
{
    fputs("usage: evload kafka-mock [--brokers N] [--partitions N] [--topic NAME]...\n"
          "\n"
          "Runs a librdkafka mock cluster (in memory; experimental upstream; keeps at most\n"
          "~5 MiB per partition) until SIGINT/SIGTERM or \"quit\" on stdin, and prints its\n"
          "bootstrap servers as one line on stdout, e.g.\n"
          "  evload run scenarios/kafka-smoke.json --target kafka://$(servers)/evload-smoke\n"
          "\n"
          "  -b, --brokers N      brokers in the cluster (1..16, default 3)\n"
          "  -p, --partitions N   partitions of each --topic (1..1024, default 4)\n"
          "  -t, --topic NAME     create NAME (repeatable; other topics are auto-created\n"
          "                       with 4 partitions on first use)\n"
          "  -h, --help           this text\n"
          "\n"
          "Commands on stdin, one a line (for fault tests), each answered on stdout:\n"
          "  down ID | up ID      take broker ID (1..N) down / bring it back\n"
          "  rtt ID MS            add MS milliseconds of round-trip time to broker ID\n"
          "  topic NAME PARTS     create a topic\n"
          "  quit                 stop\n",
          f);
}

static int mock_num(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* One stdin command; replies on stdout. Returns 1 on quit. */
static int mock_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
    char *a1 = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    long id = 0, v = 0;
    if (!cmd)
        return 0;
    if (!strcmp(cmd, "quit"))
        return 1;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && a1 && !a2 &&
        !mock_num(a1, 1, brokers, &id)) {
        e = cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)id)
                          : rd_kafka_mock_broker_set_up(mc, (int32_t)id);
    } else if (!strcmp(cmd, "rtt") && a1 && a2 && !mock_num(a1, 1, brokers, &id) &&
               !mock_num(a2, 0, 60000, &v)) {
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)id, (int)v);
    } else if (!strcmp(cmd, "topic") && a1 && a2 && valid_topic(a1) && !mock_num(a2, 1, 1024, &v)) {
        e = rd_kafka_mock_topic_create(mc, a1, (int)v, brokers < 3 ? brokers : 3);
    } else {
        printf("error: bad command or argument in \"%s …\"; expected down ID, up ID (ID "
               "1..%d), rtt ID MS, topic NAME PARTS or quit\n",
               cmd, brokers);
        fflush(stdout);
        return 0;
    }
    if (e)
        printf("error: %s\n", rd_kafka_err2str(e));
    else
        printf("ok %s%s%s\n", cmd, a1 ? " " : "", a1 ? a1 : "");
    fflush(stdout);
    return 0;
}

static int kafka_mock_main(int argc, char **argv)
{
    static const struct option opts[] = {{"brokers", required_argument, NULL, 'b'},
                                         {"partitions", required_argument, NULL, 'p'},
                                         {"topic", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    long brokers = MOCK_DEFAULT_BROKERS, parts = MOCK_DEFAULT_PARTITIONS;
    const char *topics[64];
    int ntopics = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:p:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (mock_num(optarg, 1, 16, &brokers)) {
                fprintf(stderr, "evload kafka-mock: --brokers %s: expected 1..16\n", optarg);
                return EV_EUSAGE;
            }
            break;
        case 'p':
            if (mock_num(optarg, 1, 1024, &parts)) {
                fprintf(stderr, "evload kafka-mock: --partitions %s: expected 1..1024\n", optarg);
                return EV_EUSAGE;
            }
            break;
        case 't':
            if (!valid_topic(optarg) || ntopics == 64) {
                fprintf(stderr,
                        "evload kafka-mock: --topic %s: expected [a-zA-Z0-9._-]{1,249} (at "
                        "most 64 topics)\n",
                        optarg);
                return EV_EUSAGE;
            }
            topics[ntopics++] = optarg;
            break;
        case 'h':
            mock_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "evload kafka-mock: see `evload kafka-mock --help`\n");
            return EV_EUSAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "evload kafka-mock: unexpected argument \"%s\"; see --help\n",
                argv[optind]);
        return EV_EUSAGE;
    }
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    ev_err err;
    int rc = mock_start((int)brokers, ntopics ? topics[0] : NULL, (int)parts, &rk, &mc, &err);
    if (rc) {
        fprintf(stderr, "evload kafka-mock: %s\n", err.msg);
        return rc;
    }
    for (int i = 1; i < ntopics; i++) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, topics[i], (int)parts, brokers < 3 ? (int)brokers : 3);
        if (e) {
            fprintf(stderr, "evload kafka-mock: cannot create topic %s: %s\n", topics[i],
                    rd_kafka_err2str(e));
            mock_stop(rk, mc);
            return EV_ECONNECT;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mock_on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[512];
    size_t used = 0;
    int stdin_open = 1;
    while (!mock_signalled) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, stdin_open ? 1 : 0, 200);
        if (n <= 0 || !(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t r = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (r <= 0) {
            stdin_open = 0; /* EOF (e.g. </dev/null): run until a signal */
            continue;
        }
        used += (size_t)r;
        line[used] = '\0';
        char *nl;
        int quit = 0;
        while (!quit && (nl = strchr(line, '\n'))) {
            *nl = '\0';
            quit = mock_command(mc, (int)brokers, line);
            size_t rest = used - (size_t)(nl + 1 - line);
            memmove(line, nl + 1, rest + 1);
            used = rest;
        }
        if (quit)
            break;
        if (used == sizeof line - 1)
            used = 0; /* an over-long line: drop it */
    }
    mock_stop(rk, mc);
    return 0;
}
