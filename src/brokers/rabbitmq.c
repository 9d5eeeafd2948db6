/* rabbitmq — the shared half of the RabbitMQ module: target parameters,
 * connections, topology (declare-or-use-existing), queue depth and results.
 * See rabbitmq.h for the design and docs/rabbitmq.md for the parameters.
 *
 * Depth: a passive queue.declare reports the messages *ready* in a queue;
 * RabbitMQ's AMQP interface has no count of unacknowledged ones (that needs
 * the management plugin, which is not assumed). The unacked part comes from
 * our own consumers instead: each keeps the number of deliveries it holds
 * without an ack in its live slot. depth = ready + unacked, summed over groups.
 * The figures are cached for 100 ms, since the engine asks every 10 ms during
 * the drain. */
#include "brokers/rabbitmq.h"

#include "ev_clock.h"
#include "ev_text.h"

#include <amqp_tcp_socket.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_CACHE_NS (100 * EV_NS_PER_MS)
#define MGMT_RETRY_NS (2 * EV_NS_PER_S)
#define MGMT_CONNECT_NS (500 * EV_NS_PER_MS)
#define MGMT_RPC_NS (1 * EV_NS_PER_S)

struct timeval ev_rmq_tv(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    return (struct timeval){.tv_sec = (time_t)(ns / EV_NS_PER_S),
                            .tv_usec = (suseconds_t)(ns % EV_NS_PER_S / 1000)};
}

const char *ev_rmq_reply_str(amqp_rpc_reply_t r, char *buf, size_t size)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, size, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, size, "no reply (missing RPC reply type)");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, size, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD && r.reply.decoded) {
            const amqp_connection_close_t *c = r.reply.decoded;
            snprintf(buf, size, "server closed the connection: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD && r.reply.decoded) {
            const amqp_channel_close_t *c = r.reply.decoded;
            snprintf(buf, size, "server closed the channel: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else {
            snprintf(buf, size, "server error (method 0x%08" PRIx32 ")", r.reply.id);
        }
        break;
    default:
        snprintf(buf, size, "unknown reply");
    }
    return buf;
}

static amqp_table_entry_t bool_entry(const char *k, int v)
{
    amqp_table_entry_t e;
    memset(&e, 0, sizeof e);
    e.key = amqp_cstring_bytes(k);
    e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    e.value.value.boolean = v;
    return e;
}

int ev_rmq_connect(const ev_rmq_cfg *c, int64_t timeout_ns, amqp_connection_state_t *out,
                   ev_err *err)
{
    char why[256];
    amqp_connection_state_t conn = amqp_new_connection();
    if (!conn)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (!sock) {
        amqp_destroy_connection(conn);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    struct timeval tv = ev_rmq_tv(timeout_ns);
    int st = amqp_socket_open_noblock(sock, c->host, c->port, &tv);
    if (st != AMQP_STATUS_OK) {
        amqp_destroy_connection(conn);
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: cannot connect to %s:%d: %s; is rabbitmq-server running "
                          "there? (./scripts/brokers start rabbitmq)",
                          c->redacted, c->host, c->port, amqp_error_string2(st));
    }
    /* RPCs (declare, qos, consume, confirm.select, close) get a little more
     * room than the connect itself: a loaded broker declares slowly. */
    struct timeval rpc = ev_rmq_tv(timeout_ns < 10 * EV_NS_PER_S ? 10 * EV_NS_PER_S : timeout_ns);
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &rpc);

    /* Capabilities: the library only announces its defaults; connection.blocked
     * must be asked for (docs/client-libraries.md §1.2), consumer_cancel_notify so a queue
     * deleted under a consumer is told rather than silent. */
    amqp_table_entry_t caps[2] = {bool_entry("connection.blocked", 1),
                                  bool_entry("consumer_cancel_notify", 1)};
    amqp_table_entry_t props[2];
    memset(props, 0, sizeof props);
    props[0].key = amqp_cstring_bytes("capabilities");
    props[0].value.kind = AMQP_FIELD_KIND_TABLE;
    props[0].value.value.table = (amqp_table_t){.num_entries = 2, .entries = caps};
    props[1].key = amqp_cstring_bytes("product");
    props[1].value.kind = AMQP_FIELD_KIND_UTF8;
    props[1].value.value.bytes = amqp_cstring_bytes("evload");
    amqp_table_t ptable = {.num_entries = 2, .entries = props};

    amqp_rpc_reply_t r =
        amqp_login_with_properties(conn, c->vhost, 0, 131072, c->heartbeat_s, &ptable,
                                   AMQP_SASL_METHOD_PLAIN, c->user, c->pass);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        /* The reply lives in the connection's memory: format it first. */
        ev_rmq_reply_str(r, why, sizeof why);
        amqp_destroy_connection(conn);
        return ev_err_set(err, EV_ECONNECT,
                          "target %s: login failed: %s; check the user, password and vhost "
                          "\"%s\"",
                          c->redacted, why, c->vhost);
    }
    amqp_channel_open(conn, EV_RMQ_CHANNEL);
    r = amqp_get_rpc_reply(conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        ev_rmq_reply_str(r, why, sizeof why);
        amqp_destroy_connection(conn);
        return ev_err_set(err, EV_ECONNECT, "target %s: cannot open a channel: %s", c->redacted,
                          why);
    }
    *out = conn;
    return EV_OK;
}

void ev_rmq_close(amqp_connection_state_t conn, int polite)
{
    if (!conn)
        return;
    if (polite) {
        struct timeval tv = {1, 0};
        amqp_set_rpc_timeout(conn, &tv);
        amqp_channel_close(conn, EV_RMQ_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn);
}

void ev_rmq_queue_name(const ev_rmq *m, uint32_t g, char *buf, size_t size)
{
    if (m->groups <= 1)
        snprintf(buf, size, "%s", m->c.queue);
    else
        snprintf(buf, size, "%s-g%" PRIu32, m->c.queue, g);
}

void ev_rmq_add_pub(ev_rmq *m, const ev_rmq_pub_stats *s)
{
    pthread_mutex_lock(&m->mu);
    m->pub.published += s->published;
    m->pub.confirmed += s->confirmed;
    m->pub.nacked += s->nacked;
    m->pub.unroutable += s->unroutable;
    m->pub.confirm_timeouts += s->confirm_timeouts;
    m->pub.republished += s->republished;
    m->pub.reconnects += s->reconnects;
    m->pub.blocked_count += s->blocked_count;
    m->pub.not_writable += s->not_writable;
    m->pub.blocked_ns += s->blocked_ns;
    m->pub.down_ns += s->down_ns;
    pthread_mutex_unlock(&m->mu);
}

void ev_rmq_add_sub(ev_rmq *m, const ev_rmq_sub_stats *s)
{
    pthread_mutex_lock(&m->mu);
    m->sub.deliveries += s->deliveries;
    m->sub.redelivered += s->redelivered;
    m->sub.retry_marked += s->retry_marked;
    m->sub.acks_sent += s->acks_sent;
    m->sub.reconnects += s->reconnects;
    m->sub.down_ns += s->down_ns;
    pthread_mutex_unlock(&m->mu);
}

/* ---- parameters ------------------------------------------------------- */

static const char *const exchange_types[] = {"direct", "fanout", "topic", "headers", NULL};
static const char *const queue_types[] = {"classic", "quorum", NULL};

static const ev_param rmq_params[] = {
    {"exchange", EV_PT_STRING, "cloud-events", 0, 0, NULL, 0,
     "exchange to publish to (\"\": the default exchange, routing to queue)"},
    {"exchange_type", EV_PT_ENUM, NULL, 0, 0, exchange_types, 0,
     "type when evload declares it (default: fanout with several groups, else direct)"},
    {"routing_key", EV_PT_STRING, NULL, 0, 0, NULL, 0, "routing key (default: queue)"},
    {"queue", EV_PT_STRING, "evload", 0, 0, NULL, EV_PF_NONEMPTY,
     "queue to consume; with several groups, QUEUE-g0, QUEUE-g1, ..."},
    {"queue_type", EV_PT_ENUM, "classic", 0, 0, queue_types, 0, "queue type when declared"},
    {"durable", EV_PT_BOOL, "1", 0, 0, NULL, 0, "declare durable queues and exchange"},
    {"persistent", EV_PT_BOOL, "1", 0, 0, NULL, 0, "publish with delivery mode 2"},
    {"mandatory", EV_PT_BOOL, "1", 0, 0, NULL, 0,
     "publish mandatory: an unroutable event comes back and counts as failed"},
    {"declare", EV_PT_BOOL, "1", 0, 0, NULL, 0,
     "declare exchange, queues and bindings (0: use what exists)"},
    {"cleanup", EV_PT_BOOL, "0", 0, 0, NULL, 0, "delete the queues evload declared at the end"},
    {"ack_every", EV_PT_INT, "1", 1, 65535, NULL, 0,
     "consumers acknowledge every N deliveries (multiple=true)"},
    {"heartbeat", EV_PT_INT, "15", 0, 3600, NULL, 0, "AMQP heartbeat in seconds (0: none)"},
    {"confirm_timeout", EV_PT_DURATION, "30s", 1, 0, NULL, 0,
     "a publish not confirmed within this counts as failed"},
    {"connect_timeout", EV_PT_DURATION, "5s", 1, 0, NULL, 0, "bound on each connection attempt"},
    {"reconnect_timeout", EV_PT_DURATION, "60s", 1, 0, NULL, 0,
     "a connection that cannot be re-established for this long fails the run"},
    {NULL},
};

static int copy_str(const ev_url *u, const char *key, const char *v, char *dst, size_t size,
                    ev_err *err)
{
    size_t n = strlen(v);
    if (n >= size)
        return ev_err_set(err, EV_EUSAGE, "target %s: %s is too long (%zu bytes; at most %zu)",
                          u->redacted, key, n, size - 1);
    memcpy(dst, v, n + 1);
    return EV_OK;
}

/* The configuration from the target and the plan: pure (configure runs it for
 * `evload check`; setup runs it again and cannot fail where check passed). */
static int parse_cfg(const ev_run_info *ri, ev_rmq_cfg *c, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_plan *p = ri->plan;
    int rc;
    const ev_params *ps = ri->params;
    c->redacted = u->redacted;
    if (!u->host[0])
        return ev_err_set(
            err, EV_EUSAGE,
            "target %s: no host; expected e.g. "
            "amqp://guest:guest@127.0.0.1:5672/%%2f?exchange=cloud-events&queue=evload",
            u->redacted);
    if (strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE, "target %s: amqp:// takes one host:port", u->redacted);
    if ((rc = copy_str(u, "host", u->host, c->host, sizeof c->host, err)))
        return rc;
    c->port = u->port ? u->port : 5672;
    /* The vhost is the path, percent-decoded: "" and "%2f" are both "/". */
    if ((rc = copy_str(u, "vhost", u->path[0] ? u->path : "/", c->vhost, sizeof c->vhost, err)) ||
        (rc = copy_str(u, "user", u->user ? u->user : "guest", c->user, sizeof c->user, err)))
        return rc;
    const char *pw = u->password;
    if ((rc = copy_str(u, "password", pw ? pw : "guest", c->pass, sizeof c->pass, err)))
        return rc;

    if ((rc = copy_str(u, "exchange", ev_param_str(ps, "exchange"), c->exchange, sizeof c->exchange,
                       err)) ||
        (rc = copy_str(u, "queue", ev_param_str(ps, "queue"), c->queue, sizeof c->queue, err)))
        return rc;
    const char *rk = ev_param_str(ps, "routing_key");
    if ((rc = copy_str(u, "routing_key", rk ? rk : c->queue, c->routing_key, sizeof c->routing_key,
                       err)))
        return rc;
    const char *type = ev_param_given(ps, "exchange_type")
                           ? exchange_types[ev_param_enum(ps, "exchange_type")]
                       : (int64_t)ri->groups > 1 ? "fanout"
                                                 : "direct";
    snprintf(c->exchange_type, sizeof c->exchange_type, "%s", type);
    if (!c->exchange[0] && (int64_t)ri->groups > 1)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: the default exchange (exchange=\"\") routes to one queue; "
                          "verify.groups=%" PRId64 " needs a named (fanout) exchange",
                          u->redacted, (int64_t)ri->groups);
    c->quorum = ev_param_enum(ps, "queue_type") == 1;
    c->durable = ev_param_bool(ps, "durable");
    c->persistent = ev_param_bool(ps, "persistent");
    c->mandatory = ev_param_bool(ps, "mandatory");
    /* In a pipeline the exchange and queues are the user's: declared only
     * when asked; watching a hop never declares. */
    c->declare = (ri->roles & EV_ROLE_OBSERVE)   ? 0
                 : ev_param_given(ps, "declare") ? ev_param_bool(ps, "declare")
                                                 : !ri->pipeline;
    c->cleanup = ev_param_bool(ps, "cleanup");
    c->confirm_timeout_ns = ev_param_dur(ps, "confirm_timeout");
    c->connect_timeout_ns = ev_param_dur(ps, "connect_timeout");
    c->reconnect_timeout_ns = ev_param_dur(ps, "reconnect_timeout");
    if (c->quorum && !c->durable)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: quorum queues are always durable; drop durable=0",
                          u->redacted);
    c->ack_every = (uint32_t)ev_param_int(ps, "ack_every");
    if (c->ack_every > 1 && p->prefetch > 0 && (int64_t)c->ack_every > p->prefetch)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: ack_every=%" PRIu32 " is larger than verify.prefetch=%" PRId64
                          "; the broker would stop delivering before an ack is due",
                          u->redacted, c->ack_every, p->prefetch);
    c->heartbeat_s = (int)ev_param_int(ps, "heartbeat");
    return EV_OK;
}

static int rmq_configure(const ev_run_info *ri, ev_err *err)
{
    ev_rmq_cfg c;
    return parse_cfg(ri, &c, err);
}

/* ---- topology ---------------------------------------------------------- */

/* After a server exception on the channel: acknowledge the close and open the
 * channel again. 0, or -1 when the connection is gone too. */
static int reopen_channel(amqp_connection_state_t conn, amqp_rpc_reply_t r)
{
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t ok = {0};
        if (amqp_send_method(conn, EV_RMQ_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok))
            return -1;
        amqp_channel_open(conn, EV_RMQ_CHANNEL);
        return amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL ? 0 : -1;
    }
    return -1;
}

static int is_not_found(amqp_rpc_reply_t r)
{
    return r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
           r.reply.id == AMQP_CHANNEL_CLOSE_METHOD && r.reply.decoded &&
           ((const amqp_channel_close_t *)r.reply.decoded)->reply_code == AMQP_NOT_FOUND;
}

/* Declare-or-use-existing: a passive declare first; only when the object does
 * not exist (404) is it declared with our arguments, so an existing exchange or
 * queue is used as it is, whatever its arguments. */
static int declare_topology(ev_rmq *m, amqp_connection_state_t conn, ev_err *err)
{
    const ev_rmq_cfg *c = &m->c;
    char why[256];
    amqp_rpc_reply_t r;
    if (c->exchange[0]) {
        amqp_exchange_declare(conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(c->exchange),
                              amqp_cstring_bytes(c->exchange_type), 1, 0, 0, 0, amqp_empty_table);
        r = amqp_get_rpc_reply(conn);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            m->exchange_existed = 1;
        } else if (is_not_found(r) && c->declare) {
            if (reopen_channel(conn, r))
                goto lost;
            amqp_exchange_declare(conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(c->exchange),
                                  amqp_cstring_bytes(c->exchange_type), 0, c->durable, 0, 0,
                                  amqp_empty_table);
            r = amqp_get_rpc_reply(conn);
            if (r.reply_type != AMQP_RESPONSE_NORMAL)
                return ev_err_set(err, EV_ECONNECT, "target %s: cannot declare exchange \"%s\": %s",
                                  c->redacted, c->exchange, ev_rmq_reply_str(r, why, sizeof why));
        } else {
            return ev_err_set(err, EV_ECONNECT, "target %s: exchange \"%s\" %s: %s%s", c->redacted,
                              c->exchange, c->declare ? "cannot be used" : "is not there",
                              ev_rmq_reply_str(r, why, sizeof why),
                              c->declare ? "" : "; create it or drop declare=0");
        }
    }
    for (uint32_t g = 0; g < m->groups; g++) {
        char q[EV_RMQ_NAME_MAX];
        ev_rmq_queue_name(m, g, q, sizeof q);
        amqp_queue_declare(conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(q), 1, 0, 0, 0,
                           amqp_empty_table);
        r = amqp_get_rpc_reply(conn);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            m->queues_existed++;
        } else if (is_not_found(r) && c->declare) {
            if (reopen_channel(conn, r))
                goto lost;
            amqp_table_entry_t qt;
            memset(&qt, 0, sizeof qt);
            qt.key = amqp_cstring_bytes("x-queue-type");
            qt.value.kind = AMQP_FIELD_KIND_UTF8;
            qt.value.value.bytes = amqp_cstring_bytes("quorum");
            amqp_table_t args =
                c->quorum ? (amqp_table_t){.num_entries = 1, .entries = &qt} : amqp_empty_table;
            amqp_queue_declare(conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(q), 0, c->durable, 0, 0,
                               args);
            r = amqp_get_rpc_reply(conn);
            if (r.reply_type != AMQP_RESPONSE_NORMAL)
                return ev_err_set(err, EV_ECONNECT, "target %s: cannot declare queue \"%s\": %s",
                                  c->redacted, q, ev_rmq_reply_str(r, why, sizeof why));
        } else {
            return ev_err_set(err, EV_ECONNECT, "target %s: queue \"%s\" %s: %s%s", c->redacted, q,
                              c->declare ? "cannot be used" : "is not there",
                              ev_rmq_reply_str(r, why, sizeof why),
                              c->declare ? "" : "; create it or drop declare=0");
        }
        if (c->exchange[0] && c->declare) {
            amqp_queue_bind(conn, EV_RMQ_CHANNEL, amqp_cstring_bytes(q),
                            amqp_cstring_bytes(c->exchange), amqp_cstring_bytes(c->routing_key),
                            amqp_empty_table);
            r = amqp_get_rpc_reply(conn);
            if (r.reply_type != AMQP_RESPONSE_NORMAL)
                return ev_err_set(
                    err, EV_ECONNECT, "target %s: cannot bind queue \"%s\" to exchange \"%s\": %s",
                    c->redacted, q, c->exchange, ev_rmq_reply_str(r, why, sizeof why));
        }
    }
    return EV_OK;
lost:
    return ev_err_set(err, EV_ECONNECT, "target %s: the connection closed while declaring",
                      c->redacted);
}

/* ---- the broker table -------------------------------------------------- */

static void rmq_teardown(void *state);

static void refresh(ev_rmq *m);

static int rmq_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    ev_rmq *m = calloc(1, sizeof *m);
    if (!m)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->mgmt_mu, NULL);
    int rc = parse_cfg(ri, &m->c, err);
    if (rc)
        goto fail;
    m->groups = ri->groups;
    m->consumers = ri->consumers;
    if (ri->roles & EV_ROLE_OBSERVE) { /* watch one queue: `queue` itself */
        m->groups = 1;
        m->consumers = 1; /* no consumer runs: its unacked count stays 0 */
    }
    m->lanes = ri->lanes;
    m->work_max_ns = ri->plan->work_max_ns;
    /* 0 groups (publish only) declares no queue and starts no consumer. */
    size_t ng = m->groups ? m->groups : 1;
    m->live = aligned_alloc(64, sizeof(ev_rmq_live) * ng * m->consumers);
    m->ready = calloc(ng, sizeof *m->ready);
    m->consumer_n = calloc(ng, sizeof *m->consumer_n);
    if (!m->live || !m->ready || !m->consumer_n) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < m->groups * m->consumers; i++)
        atomic_init(&m->live[i].unacked, 0);
    for (uint32_t g = 0; g < m->groups; g++)
        m->ready[g] = m->consumer_n[g] = -1;
    m->depth_cached = -1;
    if ((rc = ev_rmq_connect(&m->c, m->c.connect_timeout_ns, &m->mgmt, err)))
        goto fail;
    if (!(ri->roles & EV_ROLE_OBSERVE) && (rc = declare_topology(m, m->mgmt, err)))
        goto fail;
    struct timeval tv = ev_rmq_tv(MGMT_RPC_NS);
    amqp_set_rpc_timeout(m->mgmt, &tv);
    if (ri->roles & EV_ROLE_OBSERVE) {
        refresh(m); /* a hop that is not there is a mistake, not an unknown depth */
        if (m->depth_cached < 0) {
            rc = ev_err_set(err, EV_ECONNECT,
                            "%s: queue \"%s\" cannot be watched (it is not there, or the broker "
                            "refused to say how many messages it holds)",
                            m->c.redacted, m->c.queue);
            goto fail;
        }
    }
    *state = m;
    return EV_OK;
fail:
    rmq_teardown(m);
    return rc;
}

/* One consumer on one queue sees each lane's events in publish order: a queue
 * is FIFO and a lane publishes on one channel, which RabbitMQ keeps in order.
 * A requeue breaks that (a redelivered message comes back at its old place
 * while newer ones went ahead), and so do several consumers; the ledger counts
 * a redelivered duplicate as a duplicate, not as a reorder, but events that
 * overtook a requeued one would be miscounted, so order is only promised
 * with one consumer per group. A reconnect requeues; the results then carry
 * broker.rabbitmq.consumer_reconnects to explain any reorders. */
static int rmq_ordered(void *state, const ev_run_info *ri)
{
    (void)state;
    return ri->consumers == 1;
}

/* Refreshes the ready counts (main thread). Holds mgmt_mu. */
static void refresh(ev_rmq *m)
{
    int64_t now = ev_mono_ns();
    if (m->depth_at && now - m->depth_at < DEPTH_CACHE_NS)
        return;
    m->depth_at = now;
    if (!m->mgmt) {
        if (now < m->mgmt_retry_at)
            goto unknown;
        m->mgmt_retry_at = now + MGMT_RETRY_NS;
        ev_err e2;
        if (ev_rmq_connect(&m->c, MGMT_CONNECT_NS, &m->mgmt, &e2))
            goto unknown;
        /* The reporter must not stall on a hung broker. */
        struct timeval tv = ev_rmq_tv(MGMT_RPC_NS);
        amqp_set_rpc_timeout(m->mgmt, &tv);
    }
    int64_t total = 0;
    for (uint32_t g = 0; g < m->groups; g++) {
        char q[EV_RMQ_NAME_MAX];
        ev_rmq_queue_name(m, g, q, sizeof q);
        amqp_queue_declare_ok_t *ok = amqp_queue_declare(
            m->mgmt, EV_RMQ_CHANNEL, amqp_cstring_bytes(q), 1, 0, 0, 0, amqp_empty_table);
        if (!ok) {
            ev_rmq_close(m->mgmt, 0);
            m->mgmt = NULL;
            m->mgmt_retry_at = now + MGMT_RETRY_NS;
            goto unknown;
        }
        m->ready[g] = ok->message_count;
        m->consumer_n[g] = ok->consumer_count;
        int64_t un = 0;
        for (uint32_t i = 0; i < m->consumers; i++)
            un += atomic_load(&m->live[g * m->consumers + i].unacked);
        total += m->ready[g] + un;
    }
    amqp_maybe_release_buffers(m->mgmt);
    m->depth_cached = total;
    return;
unknown:
    for (uint32_t g = 0; g < m->groups; g++)
        m->ready[g] = m->consumer_n[g] = -1;
    m->depth_cached = -1;
}

static int64_t rmq_group_depth(void *state, uint32_t g)
{
    ev_rmq *m = state;
    pthread_mutex_lock(&m->mgmt_mu);
    refresh(m);
    int64_t d = g < m->groups ? m->ready[g] : -1;
    for (uint32_t i = 0; d >= 0 && i < m->consumers; i++)
        d += atomic_load(&m->live[g * m->consumers + i].unacked);
    pthread_mutex_unlock(&m->mgmt_mu);
    return d;
}

static int64_t rmq_depth(void *state)
{
    ev_rmq *m = state;
    pthread_mutex_lock(&m->mgmt_mu);
    refresh(m);
    int64_t d = m->depth_cached;
    pthread_mutex_unlock(&m->mgmt_mu);
    return d;
}

static void rmq_sample(void *state, json_t *point)
{
    ev_rmq *m = state;
    pthread_mutex_lock(&m->mgmt_mu);
    refresh(m);
    int64_t ready = 0, unacked = 0;
    int known_ready = 1;
    for (uint32_t g = 0; g < m->groups; g++) {
        if (m->ready[g] < 0)
            known_ready = 0;
        else
            ready += m->ready[g];
    }
    pthread_mutex_unlock(&m->mgmt_mu);
    for (uint32_t i = 0; i < m->groups * m->consumers; i++)
        unacked += atomic_load(&m->live[i].unacked);
    if (known_ready)
        json_object_set_new(point, "ready", json_integer(ready));
    json_object_set_new(point, "unacked", json_integer(unacked));
    json_object_set_new(point, "lanes_blocked", json_integer(atomic_load(&m->lanes_blocked)));
    json_object_set_new(point, "lanes_down", json_integer(atomic_load(&m->lanes_down)));
    json_object_set_new(point, "consumers_down", json_integer(atomic_load(&m->consumers_down)));
}

static void rmq_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    ev_rmq_queue_name(state, g, buf, size);
}

static void rmq_report(void *state, json_t *out)
{
    ev_rmq *m = state;
    pthread_mutex_lock(&m->mu);
    ev_rmq_pub_stats p = m->pub;
    ev_rmq_sub_stats s = m->sub;
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&m->mgmt_mu);
    m->depth_at = 0; /* fresh figures for the record */
    refresh(m);
    json_t *queues = json_array();
    for (uint32_t g = 0; g < m->groups && queues; g++) {
        char q[EV_RMQ_NAME_MAX];
        ev_rmq_queue_name(m, g, q, sizeof q);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(q));
        json_object_set_new(o, "ready_at_end", json_integer(m->ready[g]));
        json_array_append_new(queues, o);
    }
    pthread_mutex_unlock(&m->mgmt_mu);
#define U(k, v) json_object_set_new(out, k, json_integer((json_int_t)(v)))
    json_object_set_new(out, "exchange", json_string(m->c.exchange));
    json_object_set_new(out, "exchange_type", json_string(m->c.exchange_type));
    json_object_set_new(out, "queue_type", json_string(m->c.quorum ? "quorum" : "classic"));
    json_object_set_new(out, "durable", json_boolean(m->c.durable));
    json_object_set_new(out, "persistent", json_boolean(m->c.persistent));
    json_object_set_new(out, "mandatory", json_boolean(m->c.mandatory));
    json_object_set_new(out, "exchange_existed", json_boolean(m->exchange_existed));
    U("queues_existed", m->queues_existed);
    U("published", p.published);
    U("confirmed", p.confirmed);
    U("nacked", p.nacked);
    U("unroutable", p.unroutable);
    U("confirm_timeouts", p.confirm_timeouts);
    U("republished", p.republished);
    U("publisher_reconnects", p.reconnects);
    U("blocked_count", p.blocked_count);
    json_object_set_new(out, "blocked_s", json_real((double)p.blocked_ns / 1e9));
    U("socket_full", p.not_writable);
    json_object_set_new(out, "publisher_down_s", json_real((double)p.down_ns / 1e9));
    U("deliveries", s.deliveries);
    U("redelivered_flagged", s.redelivered);
    U("republished_seen", s.retry_marked);
    U("acks_sent", s.acks_sent);
    U("consumer_reconnects", s.reconnects);
    json_object_set_new(out, "consumer_down_s", json_real((double)s.down_ns / 1e9));
    U("ack_every", m->c.ack_every);
#undef U
    json_object_set_new(out, "queues", queues);
}

static void rmq_teardown(void *state)
{
    ev_rmq *m = state;
    if (!m)
        return;
    if (m->mgmt && m->c.cleanup) {
        /* Only what this run created: an existing exchange or queue stays. */
        for (uint32_t g = 0; g < m->groups && !m->queues_existed; g++) {
            char q[EV_RMQ_NAME_MAX];
            ev_rmq_queue_name(m, g, q, sizeof q);
            amqp_queue_delete(m->mgmt, EV_RMQ_CHANNEL, amqp_cstring_bytes(q), 0, 0);
        }
        if (m->c.exchange[0] && !m->exchange_existed)
            amqp_exchange_delete(m->mgmt, EV_RMQ_CHANNEL, amqp_cstring_bytes(m->c.exchange), 0);
    }
    ev_rmq_close(m->mgmt, 1);
    free(m->live);
    free(m->ready);
    free(m->consumer_n);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->mgmt_mu);
    /* The password copy is not left in freed memory. */
    memset(m->c.pass, 0, sizeof m->c.pass);
    free(m);
}

const ev_broker ev_broker_rabbitmq = {
    .name = "rabbitmq",
    .schemes = (const char *const[]){"amqp", NULL},
    .summary = "RabbitMQ over AMQP 0-9-1 (publisher confirms, acknowledging consumers)",
    .example = "amqp://guest:guest@127.0.0.1:5672/%2f?exchange=cloud-events&queue=evload",
    .doc = "docs/rabbitmq.md",
    .roles = EV_ROLE_PUBLISH | EV_ROLE_VERIFY | EV_ROLE_OBSERVE,
    .durable = 1,
    .group_depth = rmq_group_depth,
    .params = rmq_params,
    .configure = rmq_configure,
    .setup = rmq_setup,
    .ordered = rmq_ordered,
    .depth = rmq_depth,
    .report = rmq_report,
    .sample = rmq_sample,
    .group_name = rmq_group_name,
    .teardown = rmq_teardown,
    .pub = &ev_rmq_pub_ops,
    .sub = &ev_rmq_sub_ops,
};
