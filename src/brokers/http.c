/* http — the shared half of the CloudEvents HTTP publisher: the target
 * parameters, the connect probe, the results (see http.h). The lanes'
 * libcurl machinery is publishers/http.c.
 *
 * Design notes.
 * - The target's query is evload's parameter table; the request URL is
 *   scheme://host[:port]/path, plus `query=` when the endpoint needs one.
 *   Userinfo becomes Basic auth (CURLOPT_USERNAME/PASSWORD), never part of
 *   the URL curl sees, so curl's own messages cannot print it.
 * - Header values come from the URL, where ${NAME} is already expanded
 *   (ev_url.h); `header` is a secret parameter, so every printed form of the
 *   target shows `header=***`.
 * - Lane 0's open() connects once (TCP and TLS, CURLOPT_CONNECT_ONLY: no
 *   request, so a receiver counting requests sees none) so that an
 *   unreachable host, a refused port or a TLS failure ends the run before
 *   anything is published, with exit 3. Not in setup(): the receiver may be
 *   evload's own sink (verify.source=http-sink://…), which the engine starts
 *   after the target's setup and before any lane opens. */
#include "brokers/http.h"

#include "ev_clock.h"
#include "ev_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ev_http_err_names[EV_HTTP_NERR] = {"connect", "tls", "timeout", "reset", "other"};

static const char *const versions[] = {"1.1", "2", "2-prior-knowledge", NULL};
static const char *const methods[] = {"POST", "PUT", NULL};

static const ev_param http_params[] = {
    {"header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_MULTI | EV_PF_SECRET | EV_PF_NONEMPTY,
     "a request header \"Name: value\" (repeatable; ${VAR} from the environment; never printed)"},
    {"query", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET,
     "the query string the endpoint itself takes (never printed)"},
    {"method", EV_PT_ENUM, "POST", 0, 0, methods, 0, "request method"},
    {"connections", EV_PT_INT, "10", 1, 100000, NULL, 0,
     "keep-alive connections, all lanes together (each lane its own pool)"},
    {"version", EV_PT_ENUM, "1.1", 0, 0, versions, 0,
     "HTTP version: 2 negotiates by ALPN (https), 2-prior-knowledge is cleartext h2c"},
    {"streams", EV_PT_INT, "100", 1, 10000, NULL, 0, "HTTP/2: concurrent streams per connection"},
    {"batch", EV_PT_INT, "1", 1, 10000, NULL, 0,
     "events per request; above 1, batched mode (application/cloudevents-batch+json)"},
    {"linger", EV_PT_DURATION, "2ms", 0, 10 * EV_NS_PER_S, NULL, 0,
     "batched mode: how long a partial batch waits for more events"},
    {"timeout", EV_PT_DURATION, "10s", EV_NS_PER_MS, 0, NULL, 0, "bound on each request"},
    {"connect_timeout", EV_PT_DURATION, "2s", EV_NS_PER_MS, 0, NULL, 0,
     "bound on each connection attempt"},
    {"attempts", EV_PT_INT, "5", 1, EV_HTTP_ATTEMPTS_MAX, NULL, 0,
     "attempts per event, the first included (retries keep the id, add evloadattempt)"},
    {"retry_deadline", EV_PT_DURATION, "10s", 0, 0, NULL, 0,
     "no retry starts later than this after the event's first send"},
    {"backoff", EV_PT_DURRANGE, "100ms..5s", EV_NS_PER_MS, 0, NULL, 0,
     "retries of 408, 404, 409, 5xx and transport errors: first wait..cap, doubling, jittered"},
    {"retry_after", EV_PT_DURATION, "1s", 0, 0, NULL, 0,
     "429/503 without a usable Retry-After wait this long"},
    {"retry_after_max", EV_PT_DURATION, "10s", 0, 0, NULL, 0, "cap on an honoured Retry-After"},
    {"insecure", EV_PT_BOOL, "0", 0, 0, NULL, 0, "https: do not verify the server's certificate"},
    {"cacert", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "https: CA bundle (PEM file)"},
    {"cert", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "https: client certificate (PEM)"},
    {"key", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "https: client private key (PEM)"},
    {"key_password", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET, "https: the key's password"},
    {NULL},
};

/* ---- configuration -------------------------------------------------------- */

int ev_http_init(ev_http *h, const ev_run_info *ri, const char *url, ev_err *err)
{
    const ev_url *u = ri->url;
    const ev_params *ps = ri->params;
    ev_http_conf *c = &h->conf;
    h->ri = ri;
    h->lanes = ri->lanes ? ri->lanes : 1;
    c->redacted = u->redacted;
    c->user = u->user && u->user[0] ? u->user : NULL;
    c->pass = u->password;
    if (c->user && !c->pass)
        c->pass = "";
    c->binary = ri->plan->mode == EV_MODE_BINARY;
    c->method = "POST";
    c->version = EV_HTTP_V11;
    c->streams = 100;
    long conns = (long)ev_param_int(ps, "connections");
    c->conns = (conns + (long)h->lanes - 1) / (long)h->lanes;
    c->timeout_ns = ev_param_dur(ps, "timeout");
    c->connect_timeout_ns = ev_param_dur(ps, "connect_timeout");
    c->retry_after_default_ns = ev_param_dur(ps, "retry_after");
    c->retry_after_max_ns = ev_param_dur(ps, "retry_after_max");
    atomic_init(&h->paused_until, 0);
    atomic_init(&h->any_ok, 0);
    atomic_init(&h->paused_ns_total, 0);
    pthread_mutex_init(&h->mu, NULL);
    if (!(h->req_ns = ev_hist_new()))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    for (size_t i = 0; i < ev_param_count(ps, "header"); i++) {
        const char *v = ev_param_at(ps, "header", i);
        if (!ev_http_header_ok(v))
            return ev_err_set(err, EV_EUSAGE,
                              "target %s: header number %zu is not \"Name: value\" (a token, a "
                              "colon, a value without line breaks)",
                              u->redacted, i + 1);
        struct curl_slist *n = curl_slist_append(c->headers, v);
        if (!n)
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        c->headers = n;
    }
    if (!(c->url = strdup(url)))
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    return EV_OK;
}

void ev_http_easy_common(const ev_http *h, CURL *e)
{
    const ev_http_conf *c = &h->conf;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* 3xx is never followed */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout_ns / EV_NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_ns / EV_NS_PER_MS));
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    long v = c->version == EV_HTTP_V11  ? CURL_HTTP_VERSION_1_1
             : c->version == EV_HTTP_V2 ? CURL_HTTP_VERSION_2TLS
                                        : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, v);
    if (c->user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, c->pass);
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    }
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cacert);
    if (c->cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
    if (c->key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
    if (c->key_password)
        curl_easy_setopt(e, CURLOPT_KEYPASSWD, c->key_password);
}

int ev_http_err_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return EV_HTTP_ERR_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
        return EV_HTTP_ERR_TLS;
    case CURLE_OPERATION_TIMEDOUT:
        return EV_HTTP_ERR_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return EV_HTTP_ERR_RESET;
    default:
        return EV_HTTP_ERR_OTHER;
    }
}

int ev_http_probe(const ev_http *h, ev_err *err)
{
    CURL *e = curl_easy_init();
    if (!e)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    char why[CURL_ERROR_SIZE] = "";
    ev_http_easy_common(h, e);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, why);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     (long)(h->conf.connect_timeout_ns / EV_NS_PER_MS) * 2 + 100);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc == CURLE_OK)
        return EV_OK;
    const char *hint = "";
    switch (ev_http_err_kind(rc)) {
    case EV_HTTP_ERR_CONNECT:
        hint = "; is the receiver running there?";
        break;
    case EV_HTTP_ERR_TLS:
        hint = "; the TLS handshake failed (cacert=, insecure=1 for a self-signed test server)";
        break;
    case EV_HTTP_ERR_TIMEOUT:
        hint = "; nothing answered within connect_timeout";
        break;
    }
    return ev_err_set(err, EV_ECONNECT, "http %s: cannot connect: %s%s", h->conf.redacted,
                      why[0] ? why : curl_easy_strerror(rc), hint);
}

void ev_http_free(ev_http *h)
{
    curl_slist_free_all(h->conf.headers);
    free(h->conf.url);
    ev_hist_free(h->req_ns);
    free(h->routing_key);
    pthread_mutex_destroy(&h->mu);
}

/* ---- results ------------------------------------------------------------- */

static json_t *hist_json(const ev_hist *x)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "count", json_integer((json_int_t)ev_hist_count(x)));
    static const double ps[] = {50, 90, 95, 99};
    static const char *const ks[] = {"p50", "p90", "p95", "p99"};
    for (int i = 0; i < 4; i++)
        json_object_set_new(
            o, ks[i],
            json_real(ev_hist_count(x) ? (double)ev_hist_percentile(x, ps[i]) / 1e6 : 0.0));
    json_object_set_new(o, "max", json_real(ev_hist_count(x) ? (double)ev_hist_max(x) / 1e6 : 0.0));
    return o;
}

void ev_http_report(ev_http *h, json_t *out)
{
    pthread_mutex_lock(&h->mu);
    const ev_http_stats *t = &h->tot;
    json_t *st = json_object();
    uint64_t responses = 0;
    for (int code = 100; st && code < 600; code++)
        if (t->status[code]) {
            char k[8];
            snprintf(k, sizeof k, "%d", code);
            json_object_set_new(st, k, json_integer((json_int_t)t->status[code]));
            responses += t->status[code];
        }
    json_object_set_new(out, "requests", json_integer((json_int_t)t->requests));
    json_object_set_new(out, "responses", json_integer((json_int_t)responses));
    json_object_set_new(out, "status", st);
    json_t *er = json_object();
    uint64_t nerr = 0;
    for (int i = 0; er && i < EV_HTTP_NERR; i++) {
        json_object_set_new(er, ev_http_err_names[i], json_integer((json_int_t)t->errors[i]));
        nerr += t->errors[i];
    }
    json_object_set_new(out, "transport_errors", json_integer((json_int_t)nerr));
    json_object_set_new(out, "transport_error_kinds", er);
    json_object_set_new(out, "throttled", json_integer((json_int_t)t->throttled));
    json_object_set_new(out, "retries", json_integer((json_int_t)t->retries));
    json_object_set_new(out, "rejected", json_integer((json_int_t)t->rejected_final));
    json_object_set_new(out, "gave_up_attempts", json_integer((json_int_t)t->gave_up_attempts));
    json_object_set_new(out, "gave_up_deadline", json_integer((json_int_t)t->gave_up_deadline));
    json_object_set_new(out, "unknown", json_integer((json_int_t)t->unknown_final));
    json_object_set_new(out, "events_acked", json_integer((json_int_t)t->events_acked));
    json_object_set_new(out, "events_failed", json_integer((json_int_t)t->events_failed));
    json_object_set_new(out, "paused_s", json_real((double)atomic_load(&h->paused_ns_total) / 1e9));
    json_object_set_new(out, "connections_opened", json_integer((json_int_t)t->conn_opened));
    json_object_set_new(out, "connections_reused", json_integer((json_int_t)t->conn_reused));
    json_object_set_new(out, "connections_per_lane", json_integer(h->conf.conns));
    /* Attempts per event: a histogram summary (events by attempts). */
    json_t *at = json_object();
    uint64_t n = 0, sum = 0;
    int maxa = 0;
    for (int a = 1; at && a <= EV_HTTP_ATTEMPTS_MAX; a++)
        if (t->attempts[a]) {
            char k[8];
            snprintf(k, sizeof k, "%d", a);
            json_object_set_new(at, k, json_integer((json_int_t)t->attempts[a]));
            n += t->attempts[a];
            sum += t->attempts[a] * (uint64_t)a;
            maxa = a;
        }
    json_t *ao = json_object();
    json_object_set_new(ao, "events", at);
    json_object_set_new(ao, "mean", json_real(n ? (double)sum / (double)n : 0.0));
    json_object_set_new(ao, "max", json_integer(maxa));
    json_object_set_new(out, "attempts", ao);
    json_object_set_new(out, "response_ms", hist_json(h->req_ns));
    if (h->fl && !strcmp(h->fl->name, "amqp+http"))
        json_object_set_new(out, "unroutable", json_integer((json_int_t)t->unroutable));
    const char *mode = h->conf.batch > 1 ? "batched" : h->conf.binary ? "binary" : "structured";
    json_object_set_new(out, "mode", json_string(mode));
    json_object_set_new(out, "version", json_string(versions[h->conf.version]));
    if (h->last_error[0])
        json_object_set_new(out, "last_error", json_string(h->last_error));
    pthread_mutex_unlock(&h->mu);
}

/* ---- the http transport ----------------------------------------------------- */

static int http_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    char where[160];
    if (!u->host[0] || strchr(u->hosts, ','))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: expected one host, e.g. http://127.0.0.1:8080/events",
                          u->redacted);
    long batch = (long)ev_param_int(ri->params, "batch");
    if (batch > 1 && ri->plan->mode == EV_MODE_BINARY) {
        ev_plan_origin(ri->plan, "event.mode", where, sizeof where);
        return ev_err_set(err, EV_EUSAGE,
                          "%s: event.mode \"binary\" with batch=%ld: a batch holds structured "
                          "events (application/cloudevents-batch+json); use \"structured\" or "
                          "batch=1",
                          where, batch);
    }
    if (!strcmp(u->scheme, "http") &&
        (ev_param_given(ri->params, "cacert") || ev_param_given(ri->params, "cert") ||
         ev_param_given(ri->params, "key")))
        return ev_err_set(err, EV_EUSAGE, "target %s: TLS parameters need an https:// URL",
                          u->redacted);
    if (ev_param_enum(ri->params, "version") == EV_HTTP_V2 && !strcmp(u->scheme, "http"))
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: version=2 negotiates HTTP/2 by TLS ALPN, which http:// "
                          "has not; use version=2-prior-knowledge for cleartext h2c",
                          u->redacted);
    return EV_OK;
}

static int http_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    ev_http *h = calloc(1, sizeof *h);
    if (!h)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    h->fl = &ev_http_flavor_ce;
    const ev_params *ps = ri->params;
    const ev_url *u = ri->url;
    ev_buf b = EV_BUF_INIT;
    const char *q = ev_param_str(ps, "query");
    int rc = EV_OK;
    if (ev_buf_puts(&b, u->scheme) || ev_buf_puts(&b, "://") || ev_buf_puts(&b, u->hosts) ||
        ev_buf_puts(&b, "/") || ev_buf_put_pct(&b, u->path, EV_PCT_PATH) ||
        (q && q[0] && (ev_buf_puts(&b, "?") || ev_buf_puts(&b, q))))
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
    else
        rc = ev_http_init(h, ri, b.p, err);
    ev_buf_free(&b);
    if (!rc) {
        ev_http_conf *c = &h->conf;
        c->method = methods[ev_param_enum(ps, "method")];
        c->version = ev_param_enum(ps, "version");
        c->streams = (long)ev_param_int(ps, "streams");
        c->insecure = ev_param_bool(ps, "insecure");
        c->cacert = ev_param_str(ps, "cacert");
        c->cert = ev_param_str(ps, "cert");
        c->key = ev_param_str(ps, "key");
        c->key_password = ev_param_str(ps, "key_password");
        c->batch = (long)ev_param_int(ps, "batch");
        c->linger_ns = ev_param_dur(ps, "linger");
        c->attempts = (int)ev_param_int(ps, "attempts");
        c->retry_deadline_ns = ev_param_dur(ps, "retry_deadline");
        ev_param_durrange(ps, "backoff", &c->backoff_min_ns, &c->backoff_max_ns);
    }
    if (rc) {
        ev_http_free(h);
        free(h);
        return rc;
    }
    *state = h;
    return EV_OK;
}

static int http_ordered(void *state, const ev_run_info *ri)
{
    return 0; /* concurrent requests on several connections: no order */
}

static void http_report(void *state, json_t *out)
{
    ev_http_report(state, out);
}

static void http_sample(void *state, json_t *point)
{
    ev_http *h = state;
    int64_t until = atomic_load_explicit(&h->paused_until, memory_order_relaxed);
    json_object_set_new(point, "paused", json_integer(until > ev_mono_ns()));
}

static void http_teardown(void *state)
{
    ev_http *h = state;
    if (!h)
        return;
    ev_http_free(h);
    free(h);
}

/* Binary mode, as CloudEvents HTTP senders (the SDKs' emitters, Knative)
 * default to; a batch is structured by definition. */
static const char *http_default_mode(const ev_params *params)
{
    return ev_param_int(params, "batch") > 1 ? NULL : "binary";
}

const ev_broker ev_broker_http = {
    .name = "http",
    .schemes = (const char *const[]){"http", "https", NULL},
    .summary = "CloudEvents over HTTP (libcurl: keep-alive pools, HTTP/2, retries, 429 pauses)",
    .example = "http://127.0.0.1:8080/events?connections=100",
    .doc = "docs/http.md",
    .roles = EV_ROLE_PUBLISH,
    .params = http_params,
    .default_mode = http_default_mode,
    .configure = http_configure,
    .setup = http_setup,
    .ordered = http_ordered,
    .report = http_report,
    .sample = http_sample,
    .teardown = http_teardown,
    .pub = &ev_http_pub_ops,
};
