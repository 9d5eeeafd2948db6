/* sse — the shared half of the Server-Sent Events source: the source
 * parameters, the connect probe, the results (see sse.h). The subscribers'
 * libcurl machinery is verifiers/sse.c.
 *
 * Design notes.
 * - The source URL's query is evload's parameter table; the request URL is
 *   http(s)://host[:port]/path, plus `query=` when the endpoint takes one.
 *   Userinfo becomes Basic auth (CURLOPT_USERNAME/PASSWORD), never part of
 *   the URL curl sees, so curl's own messages cannot print it. `header` and
 *   `query` are secret parameters: every printed form of the source shows
 *   them as ***; their ${NAME} references are expanded by ev_url.
 * - setup() connects once (TCP and TLS, CURLOPT_CONNECT_ONLY: no request, so
 *   a server counting subscribers sees none) so that an unreachable host
 *   ends the run at once with exit 3, and raises the descriptor limit for
 *   one connection per subscriber (ev_fleet_nofile).
 * - Nothing is durable: a live stream holds nothing for a subscriber that is
 *   not connected (what a server replays on Last-Event-ID is its own), so
 *   depth() is -1 and missing events are lost, never pending. */
#include "brokers/sse.h"

#include "brokers/http.h"
#include "ev_buf.h"
#include "ev_clock.h"
#include "ev_metrics.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const versions[] = {"1.1", "2", NULL};

static const ev_param sse_params[] = {
    {"header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_MULTI | EV_PF_SECRET | EV_PF_NONEMPTY,
     "a request header \"Name: value\" (repeatable; ${VAR} from the environment; never printed)"},
    {"query", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET,
     "the query string the endpoint itself takes (never printed)"},
    {"subscriber_header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY,
     "send each subscriber's number (0, 1, ...) in this request header"},
    {"connect_timeout", EV_PT_DURATION, "10s", 10 * EV_NS_PER_MS, 0, NULL, 0,
     "bound on each connection attempt; every subscriber must be subscribed within it at the "
     "start"},
    {"reconnect_delay", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "wait before reconnecting after the server ended a stream (unless it sent retry:)"},
    {"honour_retry", EV_PT_BOOL, "1", 0, 0, NULL, 0,
     "the server's retry: field sets the reconnect delay, as EventSource does"},
    {"reconnect_timeout", EV_PT_DURATION, "30s", 0, 0, NULL, 0,
     "a subscriber that cannot reconnect for this long fails the run"},
    {"last_event_id", EV_PT_BOOL, "1", 0, 0, NULL, 0,
     "reconnect with Last-Event-ID: the last id: the stream carried"},
    {"storm", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "reconnect storm: this often, drop storm_fraction of the subscribers (0: never; >= 100ms)"},
    {"storm_fraction", EV_PT_PROB, "1", 0, 0, NULL, 0,
     "the share of subscribers each storm drops (rotating; at least one)"},
    {"storm_jitter", EV_PT_DURATION, "0s", 0, 0, NULL, 0,
     "each dropped subscriber reconnects after a random delay up to this"},
    {"version", EV_PT_ENUM, "1.1", 0, 0, versions, 0,
     "HTTP version: 1.1 (a connection per subscriber) or 2 (https: streams share connections)"},
    {"max_event", EV_PT_INT, "4194304", 1024, 1 << 30, NULL, 0,
     "largest SSE line or event data accepted, in bytes"},
    {"insecure", EV_PT_BOOL, "0", 0, 0, NULL, 0, "https: do not verify the server's certificate"},
    {"cacert", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "https: CA bundle (PEM file)"},
    {NULL},
};

static int sse_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    char where[160];
    if (strchr(u->hosts, ',') || !u->host[0])
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: %s:// takes one host; expected e.g. "
                          "sse+http://127.0.0.1:8080/events",
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
    if (ev_param_enum(ps, "version") == 1 && strcmp(u->scheme, "sse+https"))
        return ev_err_set(err, EV_EUSAGE,
                          "source %s: version=2 needs sse+https:// (HTTP/2 is negotiated by "
                          "ALPN)",
                          u->redacted);
    if ((ev_param_given(ps, "insecure") || ev_param_given(ps, "cacert")) &&
        strcmp(u->scheme, "sse+https"))
        return ev_err_set(err, EV_EUSAGE, "source %s: insecure= and cacert= are for sse+https://",
                          u->redacted);
    if (ri->consumers > 1) {
        ev_plan_origin(ri->plan, "verify.consumers", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: verify.consumers=%u makes no sense for an SSE source: every "
                          "subscriber gets every event, so nothing is shared out; use "
                          "verify.groups=N for N subscribers",
                          where, ri->consumers);
    }
    return EV_OK;
}

static void sse_free(ev_sse_src *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nheaders; i++)
        free(s->headers[i]);
    free(s->headers);
    free(s->url);
    free(s->x);
    ev_fleet_free(s->fleet);
    free(s);
}

/* TCP (and TLS) to the server, no request. */
static int probe(const ev_sse_src *s, ev_err *err)
{
    CURL *e = curl_easy_init();
    if (!e)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->connect_timeout_ns / EV_NS_PER_MS));
    if (s->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->cacert);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc == CURLE_OK)
        return EV_OK;
    return ev_err_set(err, EV_ECONNECT, "sse %s: cannot connect: %s; is the server running there?",
                      s->redacted, why[0] ? why : curl_easy_strerror(rc));
}

static int sse_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    *state = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return ev_err_set(err, EV_EINTERNAL, "libcurl could not be initialized");
    ev_sse_src *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    int rc = EV_OK;
    s->ri = ri;
    s->redacted = u->redacted;
    s->groups = ri->groups;
    s->user = u->user && u->user[0] ? u->user : NULL;
    s->pass = u->password;
    if (s->user && !s->pass)
        s->pass = "";
    s->subscriber_header = ev_param_str(ps, "subscriber_header");
    s->connect_timeout_ns = ev_param_dur(ps, "connect_timeout");
    s->reconnect_delay_ns = ev_param_dur(ps, "reconnect_delay");
    s->reconnect_timeout_ns = ev_param_dur(ps, "reconnect_timeout");
    s->honour_retry = ev_param_bool(ps, "honour_retry");
    s->last_event_id = ev_param_bool(ps, "last_event_id");
    s->insecure = ev_param_bool(ps, "insecure");
    s->cacert = ev_param_str(ps, "cacert");
    s->http2 = ev_param_enum(ps, "version") == 1;
    s->max_event = (size_t)ev_param_int(ps, "max_event");
    s->nheaders = ev_param_count(ps, "header");
    s->headers = calloc(s->nheaders ? s->nheaders : 1, sizeof *s->headers);
    s->x = calloc(s->groups ? s->groups : 1, sizeof *s->x);
    if (!s->headers || !s->x)
        goto oom;
    for (size_t i = 0; i < s->nheaders; i++)
        if (!(s->headers[i] = strdup(ev_param_at(ps, "header", i))))
            goto oom;
    for (uint32_t g = 0; g < s->groups; g++)
        s->x[g].retry_ms = -1;
    ev_buf b = EV_BUF_INIT;
    const char *q = ev_param_str(ps, "query");
    /* sse+http → http, sse+https → https */
    if (ev_buf_puts(&b, u->scheme + 4) || ev_buf_puts(&b, "://") || ev_buf_puts(&b, u->hosts) ||
        ev_buf_puts(&b, "/") || ev_buf_put_pct(&b, u->path, EV_PCT_PATH) ||
        (q && q[0] && (ev_buf_puts(&b, "?") || ev_buf_puts(&b, q)))) {
        ev_buf_free(&b);
        goto oom;
    }
    s->url = b.p;
    char what[300];
    snprintf(what, sizeof what, "sse %s", s->redacted);
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
    sse_free(s);
    return rc;
}

static int sse_ordered(void *state, const ev_run_info *ri)
{
    /* One stream per subscriber: a server relaying one ordered source keeps
     * each lane's order (the Node relays do). */
    return 1;
}

static int64_t sse_depth(void *state)
{
    return -1;
}

static void sse_group_name(void *state, uint32_t g, char *buf, size_t size)
{
    snprintf(buf, size, "sse#%u", g);
}

static void name_fn(void *ud, uint32_t g, char *buf, size_t size)
{
    sse_group_name(ud, g, buf, size);
}

static void extra_fn(void *ud, uint32_t g, json_t *o)
{
    const ev_sse_src *s = ud;
    const ev_sse_subx *x = &s->x[g];
    json_object_set_new(o, "last_event_id", json_string(x->last_id));
    json_object_set_new(o, "retry_ms", x->retry_ms >= 0 ? json_integer(x->retry_ms) : json_null());
    json_object_set_new(o, "comments", json_integer((json_int_t)x->comments));
    json_object_set_new(o, "bytes", json_integer((json_int_t)x->bytes));
    json_object_set_new(o, "last_status",
                        x->last_status ? json_integer(x->last_status) : json_null());
}

static void sse_sample(void *state, json_t *point)
{
    ev_sse_src *s = state;
    ev_fleet_sample(s->fleet, point);
}

static ev_hist *sse_latency(void *state, int metric)
{
    ev_sse_src *s = state;
    switch (metric) {
    case EV_METRIC_connect:
        return ev_fleet_latency(s->fleet, EV_FLEET_CONNECT);
    case EV_METRIC_reconnect:
        return ev_fleet_latency(s->fleet, EV_FLEET_RECONNECT);
    case EV_METRIC_first_event:
        return ev_fleet_latency(s->fleet, EV_FLEET_FIRST_EVENT);
    }
    return NULL;
}

static void sse_report(void *state, json_t *out)
{
    ev_sse_src *s = state;
    uint64_t comments = 0, bytes = 0;
    for (uint32_t g = 0; g < s->groups; g++) {
        comments += s->x[g].comments;
        bytes += s->x[g].bytes;
    }
    json_object_set_new(out, "subscribers_planned", json_integer(s->groups));
    json_object_set_new(out, "http_version", json_string(s->http2 ? "2" : "1.1"));
    json_object_set_new(out, "nofile_limit", json_integer(s->nofile));
    json_object_set_new(out, "comments", json_integer((json_int_t)comments));
    json_object_set_new(out, "bytes", json_integer((json_int_t)bytes));
    ev_fleet_report(s->fleet, out, name_fn, extra_fn, s);
}

static void sse_teardown(void *state)
{
    sse_free(state);
}

const ev_broker ev_broker_sse = {
    .name = "sse",
    .schemes = (const char *const[]){"sse+http", "sse+https", NULL},
    .summary = "Server-Sent Events: a stream per subscriber, each must see every event",
    .example = "sse+http://127.0.0.1:8080/events?subscriber_header=X-Subscriber",
    .doc = "docs/sse.md",
    .roles = EV_ROLE_VERIFY,
    .params = sse_params,
    .configure = sse_configure,
    .setup = sse_setup,
    .ordered = sse_ordered,
    .depth = sse_depth,
    .report = sse_report,
    .sample = sse_sample,
    .group_name = sse_group_name,
    .latency = sse_latency,
    .teardown = sse_teardown,
    .sub = &ev_sse_sub_ops,
};
