/* redis_pubsub — the shared half of the Redis Pub/Sub module: target parsing,
 * connection helpers, the reporter's backpressure sampling and the results.
 * See redis_pubsub.h for the topology and the ground truth.
 *
 * Design notes.
 * - hiredis 0.14.1 is used for connecting, for the setup commands (blocking,
 *   with the connect timeout as socket timeout: a timeout there is fatal to the
 *   context, which is fine because setup fails anyway) and for its RESP reader.
 *   The data path does its own non-blocking read()/write() and poll(), because
 *   a read timeout breaks a 0.14 context for good.
 * - sample() runs on the reporter thread with its own admin connection, asks
 *   `CLIENT LIST ID <our subscriber ids>` for their output buffers (omem: the
 *   sum, the largest, and with up to 16 groups each one as omem_g<N>) and
 *   re-reads the pubsub client-output-buffer-limit (tests lower it mid-run).
 *   Each call is bounded by a 500 ms socket timeout; a failed admin connection
 *   is dropped and retried a second later, never blocking the run.
 * - depth() is -1: Pub/Sub keeps no backlog to ask about. */
#include "brokers/redis_pubsub.h"

#include "ev_clock.h"
#include "ev_text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define ADMIN_TIMEOUT_NS (500 * EV_NS_PER_MS)
#define PER_GROUP_MAX 16 /* up to this many groups, each one's omem is its own key */

const char *const ev_redis_cause_names[EV_REDIS_NCAUSES] = {"killed", "output_buffer_limit",
                                                            "network", "protocol", "cycled"};

/* ---- connection helpers ------------------------------------------------ */

static struct timeval to_tv(int64_t ns)
{
    return (struct timeval){.tv_sec = (time_t)(ns / EV_NS_PER_S),
                            .tv_usec = (suseconds_t)((ns % EV_NS_PER_S) / 1000)};
}

redisReply *ev_redis_cmd(redisContext *c, const ev_redis *r, ev_err *err, int argc,
                         const char **argv)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    if (!rep) {
        ev_err_set(err, EV_ECONNECT, "redis %s: %s failed: %s; is a redis-server listening there?",
                   r->conf.redacted, argv[0], c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        ev_err_set(err, EV_ECONNECT, "redis %s: %s refused: %.200s", r->conf.redacted, argv[0],
                   rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int connect_timed(const ev_redis *r, const char *role, int64_t timeout_ns,
                         redisContext **out, ev_err *err)
{
    *out = NULL;
    struct timeval tv = to_tv(timeout_ns);
    redisContext *c = redisConnectWithTimeout(r->conf.host, r->conf.port, tv);
    if (!c)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    if (c->err) {
        ev_err_set(err, EV_ECONNECT,
                   "redis %s: cannot connect: %s; is redis-server running there? "
                   "(scripts/brokers start redis)",
                   r->conf.redacted, c->errstr);
        redisFree(c);
        return EV_ECONNECT;
    }
    redisSetTimeout(c, tv);
    redisReply *rep = NULL;
    if (r->conf.pass) {
        const char *av[3] = {"AUTH", r->conf.user ? r->conf.user : r->conf.pass, r->conf.pass};
        if (!(rep = ev_redis_cmd(c, r, err, r->conf.user ? 3 : 2, av)))
            goto fail;
        freeReplyObject(rep);
    }
    if (r->conf.db >= 0) {
        char db[24];
        snprintf(db, sizeof db, "%ld", r->conf.db);
        const char *av[2] = {"SELECT", db};
        if (!(rep = ev_redis_cmd(c, r, err, 2, av)))
            goto fail;
        freeReplyObject(rep);
    }
    char name[96];
    snprintf(name, sizeof name, "evload-%s-%s", r->conf.run_id, role);
    const char *av[3] = {"CLIENT", "SETNAME", name};
    if (!(rep = ev_redis_cmd(c, r, err, 3, av)))
        goto fail;
    freeReplyObject(rep);
    *out = c;
    return EV_OK;
fail:
    redisFree(c);
    return EV_ECONNECT;
}

int ev_redis_connect(const ev_redis *r, const char *role, redisContext **out, ev_err *err)
{
    return connect_timed(r, role, r->conf.connect_timeout_ns, out, err);
}

int ev_redis_nonblock(redisContext *c)
{
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    c->flags &= ~REDIS_BLOCK;
    return 0;
}

#define FEED_CHUNK 4096

int ev_redis_get(redisContext *c, ev_redis_in *in, void **reply)
{
    for (;;) {
        *reply = NULL;
        if (redisReaderGetReply(c->reader, reply) != REDIS_OK)
            return -3;
        if (*reply)
            return 1;
        if (in->pos >= in->len)
            return 0;
        size_t n = in->len - in->pos < FEED_CHUNK ? in->len - in->pos : FEED_CHUNK;
        if (redisReaderFeed(c->reader, in->buf + in->pos, n) != REDIS_OK)
            return -3;
        in->pos += n;
    }
}

int ev_redis_fill(redisContext *c, ev_redis_in *in)
{
    in->pos = in->len = 0;
    for (;;) {
        ssize_t n = read(c->fd, in->buf, sizeof in->buf);
        if (n > 0) {
            in->len = (size_t)n;
            return 1;
        }
        if (n == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -2;
    }
}

int ev_redis_wait(int fd, short events, int64_t timeout_ns)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int ms = timeout_ns <= 0 ? 0 : (int)((timeout_ns + EV_NS_PER_MS - 1) / EV_NS_PER_MS);
    int rc = poll(&pfd, 1, ms);
    if (rc < 0 && errno == EINTR)
        return 0;
    return rc;
}

/* ---- setup ------------------------------------------------------------- */

static void admin_drop(ev_redis *r);
static void parse_obuf_limit(const char *s, long long *hard, long long *soft);

/* The database number of a redis:// path ("0".."1000000"), or -1. */
static long parse_db(const char *path)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(path, &end, 10);
    if (errno || end == path || *end || v > 1000000 || path[0] == '-')
        return -1;
    return (long)v;
}

static const ev_param redis_params[] = {
    {"channel", EV_PT_STRING, "evload", 0, 0, NULL, EV_PF_NONEMPTY,
     "the channel publishers PUBLISH to (and subscribers SUBSCRIBE to)"},
    {"pattern", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "subscribers PSUBSCRIBE this glob instead; it must match channel"},
    {"connect_timeout", EV_PT_DURATION, "2s", EV_NS_PER_MS, 0, NULL, 0,
     "bound on each connection attempt"},
    {"reconnect_delay", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "wait before a subscriber resubscribes after losing its connection"},
    {"reconnect_timeout", EV_PT_DURATION, "10s", 0, 0, NULL, 0,
     "a subscriber that cannot resubscribe for this long fails the run"},
    {"cycle", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "reconnect storm: every subscriber drops and resubscribes this often (0: never; >= 100ms)"},
    {NULL},
};

static int redis_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_plan *p = ri->plan;
    char where[160];
    if (strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: redis:// takes one host (Redis Cluster is not supported); "
                          "expected e.g. redis://127.0.0.1:6379?channel=events",
                          u->redacted);
    if (u->path[0] && parse_db(u->path) < 0)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: the path \"/%s\" is not a database number; expected "
                          "e.g. redis://127.0.0.1:6379/0?channel=events",
                          u->redacted, u->path);
    if (ev_param_given(ri->params, "pattern") && !ev_param_given(ri->params, "channel"))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: pattern= needs channel= too: publishers PUBLISH to the "
                          "channel and subscribers PSUBSCRIBE the pattern, which must match it",
                          u->redacted);
    int64_t cycle = ev_param_dur(ri->params, "cycle");
    if (cycle && cycle < 100 * EV_NS_PER_MS)
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: cycle must be at least 100ms (or 0: never); expected e.g. "
                          "cycle=2s",
                          u->redacted);
    if ((int64_t)ri->consumers > 1) {
        ev_plan_origin(p, "verify.consumers", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.consumers=%" PRId64 " makes no sense for Redis Pub/Sub: "
                          "every subscriber gets every message, so nothing is shared out; use "
                          "verify.groups=N for N independent subscribers",
                          where, (int64_t)ri->consumers);
    }
    if (p->mode == EV_MODE_BINARY) {
        ev_plan_origin(p, "event.mode", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: event.mode \"binary\": Redis Pub/Sub has no CloudEvents binding, "
                          "so there is no binary mode; use \"structured\"",
                          where);
    }
    return EV_OK;
}

static int redis_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_plan *p = ri->plan;
    const ev_params *ps = ri->params;
    long db = u->path[0] ? parse_db(u->path) : -1;
    const char *channel = ev_param_str(ps, "channel");
    const char *pattern = ev_param_str(ps, "pattern");
    ev_redis *r = calloc(1, sizeof *r);
    if (!r)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = EV_OK;
    r->conf.host = strdup(u->host[0] ? u->host : "127.0.0.1");
    r->conf.port = u->port ? u->port : 6379;
    r->conf.user = u->user && u->user[0] ? u->user : NULL;
    r->conf.pass = u->password;
    if (r->conf.user && !r->conf.pass)
        r->conf.pass = ""; /* redis://user@host: an ACL user with an empty password */
    r->conf.db = db;
    r->conf.channel = channel;
    r->conf.pattern = pattern;
    r->conf.redacted = u->redacted;
    r->conf.run_id = ri->run_id;
    r->groups = ri->groups;
    r->lanes = ri->lanes;
    r->window = p->max_in_flight / (p->lanes > 0 ? p->lanes : 1);
    if (r->window < 1)
        r->window = 1;
    r->numsub_ready = -1;
    pthread_mutex_init(&r->mu, NULL);
    r->g = calloc(r->groups ? r->groups : 1, sizeof *r->g); /* 0 groups: publish only */
    r->slots = aligned_alloc(64, (r->lanes ? r->lanes : 1) * sizeof *r->slots);
    if (!r->conf.host || !r->g || !r->slots) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < r->lanes; i++)
        atomic_init(&r->slots[i].in_flight, 0);
    r->conf.connect_timeout_ns = ev_param_dur(ps, "connect_timeout");
    r->conf.reconnect_delay_ns = ev_param_dur(ps, "reconnect_delay");
    r->conf.reconnect_timeout_ns = ev_param_dur(ps, "reconnect_timeout");
    r->conf.cycle_ns = ev_param_dur(ps, "cycle");
    /* Fail fast (exit 3) on an unreachable server or bad credentials, before
     * any thread starts; the connection stays as the reporter's admin link. */
    if ((rc = connect_timed(r, "admin",
                            ADMIN_TIMEOUT_NS > r->conf.connect_timeout_ns
                                ? ADMIN_TIMEOUT_NS
                                : r->conf.connect_timeout_ns,
                            &r->admin, err)))
        goto fail;
    const char *cg[3] = {"CONFIG", "GET", "client-output-buffer-limit"};
    redisReply *rep = redisCommandArgv(r->admin, 3, cg, NULL);
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[1]->type == REDIS_REPLY_STRING)
        parse_obuf_limit(rep->element[1]->str, &r->obuf_hard, &r->obuf_soft);
    if (rep)
        freeReplyObject(rep);
    else
        admin_drop(r); /* CONFIG may be renamed or forbidden: sampling goes on without it */
    *state = r;
    return EV_OK;
fail:
    pthread_mutex_destroy(&r->mu);
    free(r->conf.host);
    free(r->g);
    free(r->slots);
    free(r);
    return rc;
}

static int redis_ordered(void *state, const ev_run_info *ri)
{
    /* One connection per lane, one subscriber per group: Redis delivers a
     * connection's PUBLISHes to each subscriber in order. */
    return 1;
}

static int64_t redis_depth(void *state)
{
    return -1;
}

static void redis_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    ev_redis *r = state;
    snprintf(buf, size, "%.40s#%u", r->conf.pattern ? r->conf.pattern : r->conf.channel, g);
}

/* ---- sampling (reporter thread) ----------------------------------------- */

static void admin_drop(ev_redis *r)
{
    redisFree(r->admin);
    r->admin = NULL;
    r->admin_retry_at = ev_mono_ns() + EV_NS_PER_S;
}

/* "normal 0 0 0 slave … pubsub 33554432 8388608 60" → hard, soft. */
static void parse_obuf_limit(const char *s, long long *hard, long long *soft)
{
    const char *p = strstr(s, "pubsub ");
    if (!p)
        return;
    char *end = NULL;
    long long h = strtoll(p + 7, &end, 10);
    if (end == p + 7)
        return;
    const char *q = end;
    long long so = strtoll(q, &end, 10);
    if (end == q)
        return;
    *hard = h;
    *soft = so;
}

/* Reads "key=value" from a CLIENT LIST line as a number; -1 if absent. */
static long long line_field(const char *line, const char *eol, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; p && p < eol;) {
        if ((p == line || p[-1] == ' ') && (size_t)(eol - p) > kl && !strncmp(p, key, kl) &&
            p[kl] == '=')
            return strtoll(p + kl + 1, NULL, 10);
        p = memchr(p, ' ', (size_t)(eol - p));
        if (p)
            p++;
    }
    return -1;
}

static void redis_sample(void *state, json_t *point)
{
    ev_redis *r = state;
    int64_t now = ev_mono_ns();
    if (!r->admin && now >= r->admin_retry_at) {
        ev_err e2;
        if (connect_timed(r, "admin", ADMIN_TIMEOUT_NS, &r->admin, &e2))
            r->admin_retry_at = now + EV_NS_PER_S;
    }
    int64_t in_flight = 0, pct_max = 0;
    for (uint32_t i = 0; i < r->lanes; i++) {
        int64_t f = atomic_load_explicit(&r->slots[i].in_flight, memory_order_relaxed);
        in_flight += f;
        int64_t pct = f * 100 / r->window;
        if (pct > pct_max)
            pct_max = pct;
    }
    json_object_set_new(point, "window", json_integer(in_flight));
    json_object_set_new(point, "window_pct", json_integer(pct_max));

    /* Our subscribers' ids, then one CLIENT LIST for all of them. */
    long long *ids = calloc(r->groups + 1, sizeof *ids);
    const char **av = calloc((size_t)r->groups + 3, sizeof *av);
    char(*idtxt)[24] = calloc(r->groups + 1, sizeof *idtxt);
    uint32_t up = 0, nid = 0;
    if (!ids || !av || !idtxt)
        goto out;
    pthread_mutex_lock(&r->mu);
    for (uint32_t g = 0; g < r->groups; g++) {
        ids[g] = r->g[g].up ? r->g[g].client_id : 0;
        up += (uint32_t)r->g[g].up;
    }
    pthread_mutex_unlock(&r->mu);
    json_object_set_new(point, "subscribers_up", json_integer(up));
    if (!r->admin)
        goto out;
    const char *cg[3] = {"CONFIG", "GET", "client-output-buffer-limit"};
    redisReply *rep = redisCommandArgv(r->admin, 3, cg, NULL);
    if (!rep) {
        admin_drop(r);
        goto out;
    }
    long long hard = -1, soft = -1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[1]->type == REDIS_REPLY_STRING)
        parse_obuf_limit(rep->element[1]->str, &hard, &soft);
    freeReplyObject(rep);
    /* The server's memory, for the soak trend (results.drift.broker_memory). */
    const char *im[2] = {"INFO", "memory"};
    if (!(rep = redisCommandArgv(r->admin, 2, im, NULL))) {
        admin_drop(r);
        goto out;
    }
    if (rep->type == REDIS_REPLY_STRING) {
        const char *um = strstr(rep->str, "\nused_memory:");
        um = um ? um + 1 : !strncmp(rep->str, "used_memory:", 12) ? rep->str : NULL;
        if (um)
            json_object_set_new(point, "memory", json_integer(strtoll(um + 12, NULL, 10)));
    }
    freeReplyObject(rep);
    av[0] = "CLIENT";
    av[1] = "LIST";
    av[2] = "ID";
    for (uint32_t g = 0; g < r->groups; g++)
        if (ids[g] > 0) {
            snprintf(idtxt[nid], sizeof idtxt[nid], "%lld", ids[g]);
            av[3 + nid] = idtxt[nid];
            nid++;
        }
    int64_t omem_sum = 0, omem_max = 0;
    if (nid) {
        rep = redisCommandArgv(r->admin, 3 + (int)nid, av, NULL);
        if (!rep) {
            admin_drop(r);
            goto out;
        }
        if (rep->type == REDIS_REPLY_STRING) {
            pthread_mutex_lock(&r->mu);
            for (const char *line = rep->str; line && *line;) {
                const char *eol = strchr(line, '\n');
                if (!eol)
                    eol = line + strlen(line);
                long long id = line_field(line, eol, "id");
                long long om = line_field(line, eol, "omem");
                for (uint32_t g = 0; g < r->groups && id > 0 && om >= 0; g++)
                    if (r->g[g].client_id == id) {
                        if (r->groups <= PER_GROUP_MAX) {
                            char key[24];
                            snprintf(key, sizeof key, "omem_g%u", g);
                            json_object_set_new(point, key, json_integer(om));
                        }
                        r->g[g].omem = om;
                        if (om > r->g[g].omem_max)
                            r->g[g].omem_max = om;
                        if (om > r->g[g].omem_conn_max)
                            r->g[g].omem_conn_max = om;
                        omem_sum += om;
                        if (om > omem_max)
                            omem_max = om;
                    }
                line = *eol ? eol + 1 : NULL;
            }
            pthread_mutex_unlock(&r->mu);
        }
        freeReplyObject(rep);
    }
    json_object_set_new(point, "omem", json_integer(omem_sum));
    json_object_set_new(point, "omem_max", json_integer(omem_max));
    if (hard >= 0) {
        pthread_mutex_lock(&r->mu);
        r->obuf_hard = hard;
        r->obuf_soft = soft;
        pthread_mutex_unlock(&r->mu);
    }
out:
    free(ids);
    free(av);
    free(idtxt);
}

/* ---- results ------------------------------------------------------------ */

static json_t *causes_json(const uint64_t *c)
{
    json_t *o = json_object();
    for (int i = 0; o && i < EV_REDIS_NCAUSES; i++)
        json_object_set_new(o, ev_redis_cause_names[i], json_integer((json_int_t)c[i]));
    return o;
}

static void redis_report(void *state, json_t *out)
{
    ev_redis *r = state;
    pthread_mutex_lock(&r->mu);
    const ev_redis_pubtruth *t = &r->pt;
    json_object_set_new(out, "channel", json_string(r->conf.channel));
    json_object_set_new(out, "pattern",
                        r->conf.pattern ? json_string(r->conf.pattern) : json_null());
    json_object_set_new(out, "expected_receivers", json_integer(r->groups));
    json_object_set_new(out, "subscribers_at_ready", json_integer(r->numsub_ready));
    json_object_set_new(out, "publish_replies", json_integer((json_int_t)t->replies));
    json_object_set_new(out, "publish_bytes", json_integer((json_int_t)t->bytes));
    json_object_set_new(out, "publish_shortfall", json_integer((json_int_t)t->shortfall));
    json_object_set_new(out, "publish_excess", json_integer((json_int_t)t->excess));
    json_object_set_new(out, "publish_zero_receivers", json_integer((json_int_t)t->zero));
    json_object_set_new(out, "publish_errors", json_integer((json_int_t)t->errors));
    json_object_set_new(out, "publish_unanswered", json_integer((json_int_t)t->unanswered));
    json_t *rcv = json_object();
    for (int i = 0; rcv && i < EV_REDIS_RECV_BUCKETS; i++) {
        if (!t->receivers[i])
            continue;
        char k[8];
        snprintf(k, sizeof k, i == EV_REDIS_RECV_BUCKETS - 1 ? "%d+" : "%d", i);
        json_object_set_new(rcv, k, json_integer((json_int_t)t->receivers[i]));
    }
    json_object_set_new(out, "publish_receivers", rcv);
    json_object_set_new(out, "publisher_disconnects", json_integer((json_int_t)t->disconnects));
    json_object_set_new(out, "publisher_reconnects", json_integer((json_int_t)t->reconnects));
    if (r->pub_last_error[0])
        json_object_set_new(out, "publisher_last_error", json_string(r->pub_last_error));
    uint64_t total = 0, by[EV_REDIS_NCAUSES] = {0};
    json_t *subs = json_array();
    for (uint32_t g = 0; g < r->groups; g++) {
        const ev_redis_group *x = &r->g[g];
        total += x->disconnects;
        for (int i = 0; i < EV_REDIS_NCAUSES; i++)
            by[i] += x->by_cause[i];
        char name[64];
        redis_group_name(r, g, name, sizeof name);
        json_t *o = json_object();
        if (!o)
            continue;
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "disconnects", json_integer((json_int_t)x->disconnects));
        json_object_set_new(o, "reconnects", json_integer((json_int_t)x->reconnects));
        json_object_set_new(o, "causes", causes_json(x->by_cause));
        json_object_set_new(o, "down_s", json_real((double)x->down_ns / 1e9));
        json_object_set_new(o, "omem_max", json_integer(x->omem_max));
        json_object_set_new(o, "last_error",
                            x->last_error[0] ? json_string(x->last_error) : json_null());
        json_array_append_new(subs, o);
    }
    json_object_set_new(out, "disconnects", json_integer((json_int_t)total));
    json_object_set_new(out, "disconnect_causes", causes_json(by));
    json_object_set_new(out, "subscribers", subs);
    json_t *lim = json_object();
    json_object_set_new(lim, "hard", json_integer(r->obuf_hard));
    json_object_set_new(lim, "soft", json_integer(r->obuf_soft));
    json_object_set_new(out, "pubsub_output_buffer_limit", lim);
    pthread_mutex_unlock(&r->mu);
}

static void redis_teardown(void *state)
{
    ev_redis *r = state;
    if (!r)
        return;
    redisFree(r->admin);
    pthread_mutex_destroy(&r->mu);
    free(r->conf.host);
    free(r->g);
    free(r->slots);
    free(r);
}

const ev_broker ev_broker_redis_pubsub = {
    .name = "redis",
    .schemes = (const char *const[]){"redis", NULL},
    .summary = "Redis Pub/Sub (a subscriber per group; loss = PUBLISH's shortfall)",
    .example = "redis://127.0.0.1:6379?channel=events",
    .doc = "docs/redis.md",
    .roles = EV_ROLE_PUBLISH | EV_ROLE_VERIFY,
    .params = redis_params,
    .configure = redis_configure,
    .setup = redis_setup,
    .ordered = redis_ordered,
    .depth = redis_depth,
    .report = redis_report,
    .sample = redis_sample,
    .group_name = redis_group_name,
    .teardown = redis_teardown,
    .pub = &ev_redis_pub_ops,
    .sub = &ev_redis_sub_ops,
};
