/* http — CloudEvents over HTTP: the `http`/`https` publisher (libcurl), shared
 * with `amqp+http` (RabbitMQ's management API, src/brokers/amqp_http.c), and
 * private to src/brokers/http*.c, publishers/http.c and publishers/amqp_http.c.
 * docs/http.md says what the numbers mean.
 *
 * Target: http[s]://[user:pass@]host[:port]/path?[header=Name: value]…
 *         [&connections=N][&version=1.1|2|2-prior-knowledge][&batch=N]…
 *
 * Topology: every publisher lane has its own libcurl multi handle with a
 * keep-alive pool of connections/lanes connections (HTTP/1.1: one request per
 * connection at a time; HTTP/2: up to `streams` multiplexed per connection).
 * send() queues one request (or adds the event to the lane's open batch);
 * poll() drives the transfers and judges each answer by the status rules
 * (ev_http_verdict_of). A retried event keeps its place in the engine's
 * window and is reported once, when it is finally acked or failed.
 *
 * Pause: a 429 or 503 sets the target's `paused_until` (shared, atomic, only
 * ever moved forward); every lane's hold_until() reports it, so the engine
 * stops sending while intended send times accrue (sched_lag shows the pause),
 * and no request of any lane starts before it.
 *
 * Threads: each ev_pub is used by its lane's thread only; the shared ev_http
 * holds configuration (read-only after setup), paused_until and `any_ok`
 * (atomics), and the lanes' totals, added under `mu` when a lane closes. */
#ifndef EV_BROKERS_HTTP_H
#define EV_BROKERS_HTTP_H

#include "broker.h"
#include "ev_hist.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- the status rules (http_rules.c; pure) ------------------------------ */

typedef enum {
    EV_HTTP_ACKED,     /* 2xx */
    EV_HTTP_THROTTLED, /* 429, 503: retried after Retry-After, the target paused */
    EV_HTTP_RETRY,     /* 408, 404, 409, 5xx, unlisted (3xx, 1xx, ≥ 600), or a transport
                        * error before the request was written: backoff with jitter */
    EV_HTTP_UNKNOWN,   /* timeout or reset after the request was written: retried, and
                        * if it is never acked its outcome is unknown */
    EV_HTTP_FAILED     /* any other 4xx: failed, never retried */
} ev_http_verdict;

/* The verdict for one attempt (first matching rule wins): status is the
 * response's code, or 0 when none arrived; then `written` says whether any of
 * the request had been written when the transport failed. */
ev_http_verdict ev_http_verdict_of(long status, int written);
/* "acked", "throttled", "retry", "unknown", "failed". */
const char *ev_http_verdict_name(ev_http_verdict v);

/* The wait a 429/503 asks for: curl's CURLINFO_RETRY_AFTER in seconds (0 for
 * a missing or unparsable header, negative for a date in the past; both
 * mean `dflt`), capped at `cap`. */
int64_t ev_http_retry_after_ns(long seconds, int64_t dflt, int64_t cap);
/* Exponential backoff before attempt `attempt` + 1 (attempt ≥ 1 just failed):
 * base·2^(attempt−1) capped at max, then a uniform jitter in [d/2, d]. *rng is
 * an xorshift state (non-zero), advanced. */
int64_t ev_http_backoff_ns(int attempt, int64_t base, int64_t max, uint64_t *rng);
/* 1 when s is an HTTP token (RFC 9110: letters, digits, !#$%&'*+-.^_`|~),
 * the characters in `also` allowed too (", " for a list of tokens). */
int ev_http_token_ok(const char *s, size_t n, const char *also);
/* 1 for "Name: value" with a token name and no line break in the value (a
 * header= parameter). */
int ev_http_header_ok(const char *h);
/* Percent-encodes a CloudEvents attribute value for a `ce-` header
 * (docs/cloudevents.md §5.4): space, `"`, `%` and every byte outside
 * U+0021–U+007E become %XY (uppercase). Writes at most size−1 bytes and a
 * NUL; returns the encoded length, or 0 when it does not fit. */
size_t ev_http_pct_encode(const char *v, size_t n, char *out, size_t size);
/* Decodes a `ce-` header value in place of out (an old-style quoted string
 * first undone, then %XY once, either case). Returns the decoded length, or
 * -1 for a bad escape or a result that is not valid UTF-8. */
long ev_http_pct_decode(const char *v, size_t n, char *out, size_t size);

/* ---- configuration and shared state (http.c) ----------------------------- */

enum { EV_HTTP_V11, EV_HTTP_V2, EV_HTTP_V2_PRIOR };
#define EV_HTTP_ATTEMPTS_MAX 100

typedef struct ev_http_conf {
    char *url;                  /* what curl requests: no userinfo (owned) */
    const char *redacted;       /* the target for messages */
    const char *user, *pass;    /* Basic auth from the URL, or NULL (borrowed) */
    struct curl_slist *headers; /* the user's headers (owned; read-only after setup) */
    const char *method;         /* POST or PUT */
    int version;                /* EV_HTTP_V* */
    long conns;                 /* per lane */
    long streams;               /* HTTP/2 streams per connection */
    int binary;                 /* event.mode binary */
    long batch;                 /* events per request; > 1: batched mode */
    int64_t linger_ns;
    int64_t timeout_ns, connect_timeout_ns;
    int attempts; /* per event, the first included */
    int64_t retry_deadline_ns, backoff_min_ns, backoff_max_ns;
    int64_t retry_after_default_ns, retry_after_max_ns;
    int insecure;
    const char *cacert, *cert, *key, *key_password;
} ev_http_conf;

/* Error kinds of a transfer that got no response. */
enum {
    EV_HTTP_ERR_CONNECT, /* refused, unreachable, name lookup */
    EV_HTTP_ERR_TLS,
    EV_HTTP_ERR_TIMEOUT,
    EV_HTTP_ERR_RESET, /* the connection broke: reset, closed without an answer */
    EV_HTTP_ERR_OTHER,
    EV_HTTP_NERR
};
extern const char *const ev_http_err_names[EV_HTTP_NERR];

/* One lane's counters, added into ev_http.tot at close. */
typedef struct ev_http_stats {
    uint64_t status[600]; /* responses by code (index < 100: none) */
    uint64_t errors[EV_HTTP_NERR];
    uint64_t requests, events_acked, events_failed;
    uint64_t throttled;      /* 429/503 answers */
    uint64_t retries;        /* attempts after an event's first */
    uint64_t rejected_final; /* events failed by a 4xx */
    uint64_t gave_up_attempts, gave_up_deadline, unknown_final;
    uint64_t conn_opened, conn_reused;
    uint64_t unroutable;                         /* amqp+http: {"routed": false} */
    uint64_t attempts[EV_HTTP_ATTEMPTS_MAX + 1]; /* events by attempts at their outcome */
    uint64_t auth_refused;                       /* 401/403 before anything was acked */
} ev_http_stats;

/* What differs between plain CloudEvents HTTP and the management API. */
struct ev_http;
typedef struct ev_http_flavor {
    const char *name;
    /* Appends the request body for event m into body and its headers into
     * *hdrs (curl_slist_append); attempt ≥ 2 marks a retry (evloadattempt).
     * 0 or -1 (out of memory). */
    int (*build)(const struct ev_http *h, const ev_msg *m, unsigned attempt, ev_buf *body,
                 struct curl_slist **hdrs);
    /* Optional: a 2xx answer's body decides (amqp+http's "routed"). Returns
     * the verdict, FAILED with *unroutable = 1 for {"routed": false}. */
    ev_http_verdict (*judge)(const char *body, size_t len, int *unroutable);
    /* Optional: whether a final answer says the endpoint itself is missing
     * (amqp+http: "404 NOT_FOUND - no exchange"), not one event's fault:
     * returns the explanation, and before anything was acked the run then
     * ends (exit 3); NULL: the answer is the event's. */
    const char *(*missing)(long status, const char *body, size_t len);
} ev_http_flavor;

typedef struct ev_http {
    ev_http_conf conf;
    const ev_http_flavor *fl;
    const ev_run_info *ri;
    uint32_t lanes;
    _Atomic int64_t paused_until;    /* monotonic ns; 0: never paused */
    _Atomic int64_t paused_ns_total; /* the pauses' length, overlaps once */
    atomic_int any_ok;               /* some request was acked */
    pthread_mutex_t mu;
    ev_http_stats tot;
    ev_hist *req_ns; /* every response's time, all lanes (merged at close) */
    char last_error[256];
    /* amqp+http */
    char *routing_key;
    int persistent;
} ev_http;

/* Fills h from the run's URL and the parameters both transports have
 * (header, connections, timeout, connect_timeout, retry_after,
 * retry_after_max); url is what curl requests. The caller sets the rest.
 * 0 or EV_EUSAGE/EV_EINTERNAL. */
int ev_http_init(ev_http *h, const ev_run_info *ri, const char *url, ev_err *err);
/* Connects (TCP and TLS, no request) to h's URL within the connect timeout:
 * EV_ECONNECT with the redacted URL and curl's reason when it cannot. */
int ev_http_probe(const ev_http *h, ev_err *err);
/* Results into out (results.broker.<name>). */
void ev_http_report(ev_http *h, json_t *out);
void ev_http_free(ev_http *h);
/* Sets the options every request of h shares on an easy handle. */
void ev_http_easy_common(const ev_http *h, CURL *c);
/* The error kind of a curl result code. */
int ev_http_err_kind(CURLcode rc);

/* The lane machinery (publishers/http.c), shared by both flavours (the
 * flavour is ev_http.fl, set by each transport's setup). */
extern const ev_pub_ops ev_http_pub_ops;
extern const ev_http_flavor ev_http_flavor_ce;        /* publishers/http.c */
extern const ev_http_flavor ev_http_flavor_amqp_mgmt; /* publishers/amqp_http.c */
/* Appends a structured event, with "evloadattempt" as its first member when
 * attempt ≥ 2 (publishers/http.c). 0 or -1. */
int ev_http_put_structured(ev_buf *body, const char *json, size_t len, unsigned attempt);

#endif
