/* amqp_http — publishing into RabbitMQ through its management plugin's HTTP
 * API (POST /api/exchanges/VHOST/EXCHANGE/publish), the way some users'
 * services do, with the HTTP publisher's lanes, pools, status rules and
 * retries (src/brokers/http.h). Publish role only: verify on a queue with
 * an amqp:// source. Results under broker.amqp_http, with `unroutable` for
 * answers {"routed": false} (no queue bound to the routing key: failed, not
 * retried).
 *
 * Target: amqp+http://user:pass@host:15672/VHOST?exchange=NAME&routing_key=KEY
 * The user and password log in to the API (Basic auth); "" or no VHOST is
 * "/"; exchange "" is the default exchange (amq.default). The API confirms
 * nothing about persistence: an answer only says whether the message was
 * routed to a queue. */
#include "brokers/http.h"

#include "ev_buf.h"
#include "ev_clock.h"

#include <stdlib.h>
#include <string.h>

static const ev_param amqp_http_params[] = {
    {"exchange", EV_PT_STRING, "cloud-events", 0, 0, NULL, 0,
     "exchange to publish to (\"\": the default exchange, routing to a queue by name)"},
    {"routing_key", EV_PT_STRING, "", 0, 0, NULL, 0, "routing key of every event"},
    {"persistent", EV_PT_BOOL, "1", 0, 0, NULL, 0, "publish with delivery mode 2"},
    {"header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_MULTI | EV_PF_SECRET | EV_PF_NONEMPTY,
     "an extra request header \"Name: value\" (repeatable; never printed)"},
    {"connections", EV_PT_INT, "4", 1, 10000, NULL, 0,
     "keep-alive connections to the API, all lanes together"},
    {"timeout", EV_PT_DURATION, "10s", EV_NS_PER_MS, 0, NULL, 0, "bound on each request"},
    {"connect_timeout", EV_PT_DURATION, "2s", EV_NS_PER_MS, 0, NULL, 0,
     "bound on each connection attempt"},
    {"attempts", EV_PT_INT, "5", 1, EV_HTTP_ATTEMPTS_MAX, NULL, 0,
     "attempts per event, the first included"},
    {"retry_deadline", EV_PT_DURATION, "10s", 0, 0, NULL, 0,
     "no retry starts later than this after the event's first send"},
    {"backoff", EV_PT_DURRANGE, "100ms..5s", EV_NS_PER_MS, 0, NULL, 0,
     "retries of 5xx and transport errors: first wait..cap, doubling, jittered"},
    {"retry_after", EV_PT_DURATION, "1s", 0, 0, NULL, 0,
     "429/503 without a usable Retry-After wait this long"},
    {"retry_after_max", EV_PT_DURATION, "10s", 0, 0, NULL, 0, "cap on an honoured Retry-After"},
    {NULL},
};

static int amqp_http_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    if (!u->host[0] || strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: expected one host, e.g. "
                          "amqp+http://guest:guest@127.0.0.1:15672/%%2f?exchange=cloud-events",
                          u->redacted);
    return EV_OK;
}

static int amqp_http_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    ev_http *h = calloc(1, sizeof *h);
    if (!h)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    h->fl = &ev_http_flavor_amqp_mgmt;
    const char *ex = ev_param_str(ps, "exchange");
    ev_buf url = EV_BUF_INIT;
    int rc = EV_OK;
    if (ev_buf_puts(&url, "http://") || ev_buf_puts(&url, u->hosts) ||
        ev_buf_puts(&url, "/api/exchanges/") ||
        ev_buf_put_pct(&url, u->path[0] ? u->path : "/", EV_PCT_UNRESERVED) ||
        ev_buf_puts(&url, "/") ||
        ev_buf_put_pct(&url, ex && ex[0] ? ex : "amq.default", EV_PCT_UNRESERVED) ||
        ev_buf_puts(&url, "/publish") ||
        !(h->routing_key = strdup(ev_param_str(ps, "routing_key")))) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    if ((rc = ev_http_init(h, ri, url.p, err)))
        goto out;
    ev_http_conf *c = &h->conf;
    c->batch = 1;
    c->attempts = (int)ev_param_int(ps, "attempts");
    c->retry_deadline_ns = ev_param_dur(ps, "retry_deadline");
    ev_param_durrange(ps, "backoff", &c->backoff_min_ns, &c->backoff_max_ns);
    h->persistent = ev_param_bool(ps, "persistent");
out:
    ev_buf_free(&url);
    if (rc) {
        ev_http_free(h);
        free(h);
        return rc;
    }
    *state = h;
    return EV_OK;
}

static void amqp_http_report(void *state, json_t *out)
{
    ev_http_report(state, out);
}

static void amqp_http_teardown(void *state)
{
    ev_http *h = state;
    if (!h)
        return;
    ev_http_free(h);
    free(h);
}

const ev_broker ev_broker_amqp_http = {
    .name = "amqp_http",
    .schemes = (const char *const[]){"amqp+http", NULL},
    .summary = "RabbitMQ through its management HTTP API (publish only; verify on a queue)",
    .example =
        "amqp+http://guest:guest@127.0.0.1:15672/%2f?exchange=cloud-events&routing_key=build",
    .doc = "docs/http.md",
    .roles = EV_ROLE_PUBLISH,
    .params = amqp_http_params,
    .configure = amqp_http_configure,
    .setup = amqp_http_setup,
    .report = amqp_http_report,
    .teardown = amqp_http_teardown,
    .pub = &ev_http_pub_ops,
};
