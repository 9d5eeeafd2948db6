/* ws — the shared half of the WebSocket source: the source parameters, the
 * connect probe, the results (see ws.h). The subscribers' libwebsockets
 * machinery is verifiers/ws.c.
 *
 * Design notes.
 * - The source URL's query is evload's parameter table; the request path is
 *   /path plus `query=` when the endpoint takes one. `header`, `query` and
 *   `subscribe` are secret parameters (printed as ***; ${NAME} expanded by
 *   ev_url), since each may carry a token.
 * - setup() opens one TCP connection to the server and closes it (no
 *   handshake, so a server counting subscribers sees none): an unreachable
 *   host ends the run at once with exit 3. It reads subscribe_file and
 *   raises the descriptor limit for one connection per subscriber.
 * - Nothing is durable (as for SSE): depth() is -1, missing events are lost. */
#include "brokers/ws.h"

#include "brokers/http.h"
#include "ev_buf.h"
#include "ev_clock.h"
#include "ev_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const ev_param ws_params[] = {
    {"header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_MULTI | EV_PF_SECRET | EV_PF_NONEMPTY,
     "a handshake header \"Name: value\" (repeatable; ${VAR} from the environment; never "
     "printed)"},
    {"query", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET,
     "the query string the endpoint itself takes (never printed)"},
    {"subscriber_header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "send each subscriber's number (0, 1, ...) in this handshake header"},
    {"subprotocol", EV_PT_STRING, "cloudevents.json", 0, 0, NULL, 0,
     "subprotocols offered, comma-separated (\"\": none); the server's choice is reported"},
    {"subscribe", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET | EV_PF_NONEMPTY,
     "a text message sent first on every connection; {sub}: the subscriber's number, "
     "{last_id}: the id of the last CloudEvent it received (never printed)"},
    {"subscribe_file", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "the subscribe message, read from this file"},
    {"subscribe_ack", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "subscribed once a message holding this text arrives (not a delivery); default: once a "
     "ping sent after the subscribe message has its pong"},
    {"ping", EV_PT_DURATION, "1s", 0, 0, NULL, 0,
     "send a ping this often on every connection and time its pong (0: never)"},
    {"connect_timeout", EV_PT_DURATION, "10s", EV_NS_PER_S, 0, NULL, 0,
     "bound on each connection attempt; every subscriber must be subscribed within it at the "
     "start"},
    {"reconnect_delay", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "wait before reconnecting after the server closed a connection"},
    {"reconnect_timeout", EV_PT_DURATION, "30s", 0, 0, NULL, 0,
     "a subscriber that cannot reconnect for this long fails the run"},
    {"storm", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "reconnect storm: this often, drop storm_fraction of the subscribers (0: never; >= 100ms)"},
    {"storm_fraction", EV_PT_PROB, "1", 0, 0, NULL, 0,
     "the share of subscribers each storm drops (rotating; at least one)"},
    {"storm_jitter", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "each dropped subscriber reconnects after a random delay up to this"},
    {"max_message", EV_PT_INT, "4194304", 1024, 1 << 30, NULL, 0,
     "largest message accepted, in bytes"},
    {"insecure", EV_PT_BOOL, "0", 0, 0, NULL, 0, "wss: do not verify the server's certificate"},
    {"cacert", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "wss: CA bundle (PEM file)"},
    {NULL},
};

static int ws_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    char where[160];
    if (strchr(u->hosts, ',') || !u->host[0])
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: %s:// takes one host; expected e.g. "
                          "ws://127.0.0.1:8080/stream",
                          u->redacted, u->scheme);
    if (u->user)
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: a user or password in a %s:// URL is not sent; use "
                          "header=Authorization:%%20Basic%%20... (or a token header)",
                          u->redacted, u->scheme);
    for (size_t i = 0; i < ev_param_count(ps, "header"); i++)
        if (!ev_http_header_ok(ev_param_at(ps, "header", i)))
            return ev_err_set(err, EV_EUSAGE,
                              "source %s: header number %zu is not \"Name: value\" (a token, a "
                              "colon, a value without line breaks)",
                              u->redacted, i + 1);
    const char *sh = ev_param_str(ps, "subscriber_header");
    if (sh && !ev_http_token_ok(sh, strlen(sh), NULL))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: subscriber_header must be a header name (a token such as "
                          "X-Subscriber)",
                          u->redacted);
    if (ev_param_given(ps, "subscribe") && ev_param_given(ps, "subscribe_file"))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: subscribe= and subscribe_file= both give the subscribe "
                          "message; keep one",
                          u->redacted);
    if (ev_param_given(ps, "subscribe_ack") && !ev_param_given(ps, "subscribe") &&
        !ev_param_given(ps, "subscribe_file"))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: subscribe_ack= confirms a subscribe message: give "
                          "subscribe= or subscribe_file= too",
                          u->redacted);
    const char *proto = ev_param_str(ps, "subprotocol");
    if (proto && !ev_http_token_ok(proto, strlen(proto), ", "))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: subprotocol is a comma-separated list of tokens, "
                          "e.g. cloudevents.json",
                          u->redacted);
    int64_t storm = ev_param_dur(ps, "storm");
    if (storm && storm < 100 * EV_NS_PER_MS)
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: storm must be at least 100ms (or 0: never); expected e.g. "
                          "storm=10s",
                          u->redacted);
    if (storm && ev_param_num(ps, "storm_fraction") <= 0)
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: storm_fraction must be above 0 with storm= (1: every "
                          "subscriber)",
                          u->redacted);
    int64_t ping = ev_param_dur(ps, "ping");
    if (ping && ping < 10 * EV_NS_PER_MS)
        return ev_err_set(err, EV_EUSAGE, "source %s: ping must be at least 10ms (or 0: never)",
                          u->redacted);
    if ((ev_param_given(ps, "insecure") || ev_param_given(ps, "cacert")) &&
        strcmp(u->scheme, "wss"))
        return ev_err_set(err, EV_EUSAGE, "source %s: insecure= and cacert= are for wss://",
                          u->redacted);
    if (ri->consumers > 1) {
        ev_plan_origin(ri->plan, "verify.consumers", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.consumers=%u makes no sense for a WebSocket source: every "
                          "subscriber gets every event, so nothing is shared out; use "
                          "verify.groups=N for N subscribers",
                          where, ri->consumers);
    }
    return EV_OK;
}

static void ws_free(ev_ws_src *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nheaders; i++) {
        free(s->hdr_name ? s->hdr_name[i] : NULL);
        free(s->hdr_value ? s->hdr_value[i] : NULL);
    }
    free(s->hdr_name);
    free(s->hdr_value);
    free(s->subscriber_header_colon);
    free(s->host);
    free(s->path);
    free(s->hosthdr);
    free(s->subscribe);
    free(s->x);
    ev_fleet_free(s->fleet);
    free(s);
}

/* One TCP connection to the server, closed at once. */
static int probe(const ev_ws_src *s, ev_err *err)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(s->host, port, &hints, &ai);
    if (rc)
        return ev_err_set(err, EV_ECONNECT, "ws %s: cannot resolve %s: %s", s->redacted, s->host,
                          gai_strerror(rc));
    int ok = 0, e = 0;
    for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            ok = 1;
        } else if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int ms = (int)(s->connect_timeout_ns / EV_NS_PER_MS);
            if (poll(&p, 1, ms) == 1) {
                socklen_t l = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
                ok = e == 0;
            } else {
                e = ETIMEDOUT;
            }
        } else {
            e = errno;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    if (ok)
        return EV_OK;
    return ev_err_set(err, EV_ECONNECT,
                      "ws %s: cannot connect to %s port %d: %s; is the server running there?",
                      s->redacted, s->host, s->port, strerror(e));
}

static char *read_file(const char *path, size_t max, ev_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ev_err_set(err, EV_EUSAGE, "subscribe_file %s: %s", path, strerror(errno));
        return NULL;
    }
    ev_buf b = EV_BUF_INIT;
    char chunk[4096];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        bad = b.len + n > max || ev_buf_append(&b, chunk, n);
    fclose(f);
    if (bad || !b.len) {
        ev_buf_free(&b);
        ev_err_set(err, EV_EUSAGE, "subscribe_file %s: %s", path,
                   bad ? "larger than max_message (or out of memory)" : "empty");
        return NULL;
    }
    return b.p;
}

static int ws_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    *state = NULL;
    ev_ws_src *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = EV_OK;
    s->ri = ri;
    s->redacted = u->redacted;
    s->groups = ri->groups;
    s->tls = !strcmp(u->scheme, "wss");
    s->port = u->port ? u->port : s->tls ? 443 : 80;
    s->insecure = ev_param_bool(ps, "insecure");
    s->cacert = ev_param_str(ps, "cacert");
    s->subscriber_header = ev_param_str(ps, "subscriber_header");
    const char *proto = ev_param_str(ps, "subprotocol");
    s->protocols = proto && proto[0] ? proto : NULL;
    s->subscribe_ack = ev_param_str(ps, "subscribe_ack");
    s->ping_ns = ev_param_dur(ps, "ping");
    s->connect_timeout_ns = ev_param_dur(ps, "connect_timeout");
    s->reconnect_delay_ns = ev_param_dur(ps, "reconnect_delay");
    s->reconnect_timeout_ns = ev_param_dur(ps, "reconnect_timeout");
    s->max_message = (size_t)ev_param_int(ps, "max_message");
    s->nheaders = ev_param_count(ps, "header");
    s->hdr_name = calloc(s->nheaders ? s->nheaders : 1, sizeof *s->hdr_name);
    s->hdr_value = calloc(s->nheaders ? s->nheaders : 1, sizeof *s->hdr_value);
    s->x = calloc(s->groups ? s->groups : 1, sizeof *s->x);
    s->host = strdup(u->host);
    if (!s->hdr_name || !s->hdr_value || !s->x || !s->host)
        goto oom;
    for (size_t i = 0; i < s->nheaders; i++) {
        const char *h = ev_param_at(ps, "header", i), *colon = strchr(h, ':');
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (!(s->hdr_name[i] = strndup(h, (size_t)(colon - h) + 1)) ||
            !(s->hdr_value[i] = strdup(v)))
            goto oom;
    }
    if (s->subscriber_header) {
        size_t n = strlen(s->subscriber_header);
        if (!(s->subscriber_header_colon = malloc(n + 2)))
            goto oom;
        memcpy(s->subscriber_header_colon, s->subscriber_header, n);
        memcpy(s->subscriber_header_colon + n, ":", 2);
    }
    if (ev_param_given(ps, "subscribe")) {
        if (!(s->subscribe = strdup(ev_param_str(ps, "subscribe"))))
            goto oom;
    } else if (ev_param_given(ps, "subscribe_file")) {
        if (!(s->subscribe = read_file(ev_param_str(ps, "subscribe_file"), s->max_message, err))) {
            rc = err->msg[0] && strstr(err->msg, "out of memory") ? EV_EINTERNAL : EV_EUSAGE;
            goto fail;
        }
    }
    ev_buf b = EV_BUF_INIT;
    const char *q = ev_param_str(ps, "query");
    if (ev_buf_puts(&b, "/") || ev_buf_put_pct(&b, u->path, EV_PCT_PATH) ||
        (q && q[0] && (ev_buf_puts(&b, "?") || ev_buf_puts(&b, q)))) {
        ev_buf_free(&b);
        goto oom;
    }
    s->path = b.p;
    char hh[300];
    if (u->port)
        snprintf(hh, sizeof hh, "%s:%d", u->host, u->port);
    else
        snprintf(hh, sizeof hh, "%s", u->host);
    if (!(s->hosthdr = strdup(hh)))
        goto oom;
    char what[300];
    snprintf(what, sizeof what, "ws %s", s->redacted);
    if ((rc = ev_fleet_setup(ps, s->groups, ri->plan->lanes > 0 ? (uint32_t)ri->plan->lanes : 1,
                             ri->run_id, ri->instance, what, &s->fleet, &s->nofile, err)))
        goto fail;
    if ((rc = probe(s, err)))
        goto fail;
    *state = s;
    return EV_OK;
oom:
    rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
fail:
    ws_free(s);
    return rc;
}

static int ws_ordered(void *state, const ev_run_info *ri)
{
    return 1; /* one connection per subscriber: a relay of one ordered source keeps order */
}

static int64_t ws_depth(void *state)
{
    return -1;
}

static void ws_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    snprintf(buf, size, "ws#%u", g);
}

static void name_fn(void *ud, uint32_t g, char *buf, size_t size)
{
    ws_group_name(ud, g, buf, size);
}

static json_t *codes_json(const ev_ws_subx *x, uint64_t *total)
{
    json_t *o = json_object();
    for (int i = 0; o && i < EV_WS_CODES && x->code_n[i]; i++) {
        char k[8];
        snprintf(k, sizeof k, "%u", x->code[i]);
        json_object_set_new(o, k, json_integer((json_int_t)x->code_n[i]));
        if (total)
            *total += x->code_n[i];
    }
    if (o && x->codes_other)
        json_object_set_new(o, "other", json_integer((json_int_t)x->codes_other));
    return o;
}

static void extra_fn(void *ud, uint32_t g, json_t *o)
{
    const ev_ws_src *s = ud;
    const ev_ws_subx *x = &s->x[g];
    json_object_set_new(o, "subprotocol", json_string(x->protocol));
    json_object_set_new(o, "text_messages", json_integer((json_int_t)x->text));
    json_object_set_new(o, "binary_messages", json_integer((json_int_t)x->binary));
    json_object_set_new(o, "pings", json_integer((json_int_t)x->pings));
    json_object_set_new(o, "pongs", json_integer((json_int_t)x->pongs));
    json_object_set_new(o, "close_codes", codes_json(x, NULL));
}

static void ws_sample(void *state, json_t *point)
{
    ev_ws_src *s = state;
    ev_fleet_sample(s->fleet, point);
}

static ev_hist *ws_latency(void *state, int metric)
{
    ev_ws_src *s = state;
    switch (metric) {
    case EV_METRIC_connect:
        return ev_fleet_latency(s->fleet, EV_FLEET_CONNECT);
    case EV_METRIC_reconnect:
        return ev_fleet_latency(s->fleet, EV_FLEET_RECONNECT);
    case EV_METRIC_first_event:
        return ev_fleet_latency(s->fleet, EV_FLEET_FIRST_EVENT);
    case EV_METRIC_ping_rtt:
        return ev_fleet_latency(s->fleet, EV_FLEET_PING_RTT);
    }
    return NULL;
}

static void ws_report(void *state, json_t *out)
{
    ev_ws_src *s = state;
    uint64_t text = 0, binary = 0, pings = 0, pongs = 0;
    json_t *codes = json_object(), *protos = json_object();
    for (uint32_t g = 0; g < s->groups; g++) {
        const ev_ws_subx *x = &s->x[g];
        text += x->text;
        binary += x->binary;
        pings += x->pings;
        pongs += x->pongs;
        for (int i = 0; codes && i < EV_WS_CODES && x->code_n[i]; i++) {
            char k[8];
            snprintf(k, sizeof k, "%u", x->code[i]);
            json_t *v = json_object_get(codes, k);
            json_object_set_new(
                codes, k, json_integer((v ? json_integer_value(v) : 0) + (json_int_t)x->code_n[i]));
        }
        const char *p = x->protocol[0] ? x->protocol : "(none)";
        json_t *v = protos ? json_object_get(protos, p) : NULL;
        if (protos)
            json_object_set_new(protos, p, json_integer((v ? json_integer_value(v) : 0) + 1));
    }
    json_object_set_new(out, "subscribers_planned", json_integer(s->groups));
    json_object_set_new(out, "subprotocol_offered",
                        s->protocols ? json_string(s->protocols) : json_null());
    json_object_set_new(out, "subprotocols", protos);
    json_object_set_new(out, "subscribe_message", json_boolean(s->subscribe != NULL));
    json_object_set_new(out, "nofile_limit", json_integer(s->nofile));
    json_object_set_new(out, "text_messages", json_integer((json_int_t)text));
    json_object_set_new(out, "binary_messages", json_integer((json_int_t)binary));
    json_object_set_new(out, "pings", json_integer((json_int_t)pings));
    json_object_set_new(out, "pongs", json_integer((json_int_t)pongs));
    json_object_set_new(out, "close_codes", codes);
    ev_fleet_report(s->fleet, out, name_fn, extra_fn, s);
}

static void ws_teardown(void *state)
{
    ws_free(state);
}

const ev_broker ev_broker_ws = {
    .name = "ws",
    .schemes = (const char *const[]){"ws", "wss", NULL},
    .summary = "WebSocket: a connection per subscriber, each must see every event",
    .example = "ws://127.0.0.1:8080/stream?subscribe=%7B%22op%22%3A%22subscribe%22%7D",
    .doc = "docs/ws.md",
    .roles = EV_ROLE_VERIFY,
    .params = ws_params,
    .configure = ws_configure,
    .setup = ws_setup,
    .ordered = ws_ordered,
    .depth = ws_depth,
    .report = ws_report,
    .sample = ws_sample,
    .group_name = ws_group_name,
    .latency = ws_latency,
    .teardown = ws_teardown,
    .sub = &ev_ws_sub_ops,
};
