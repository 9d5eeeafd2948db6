/* The HTTP publisher's rules (src/brokers/http_rules.c): the status rules in
 * their order, Retry-After, backoff, `ce-` header values; and that a retried
 * event (the extension evloadattempt added, structured and binary) still
 * decodes as the same intact event. */
#include "brokers/http.h"
#include "ev_clock.h"
#include "ev_codec.h"
#include "ev_test.h"

#define RUN "a1b2c3"

static void test_verdicts(void)
{
    /* 2xx acked */
    for (long s = 200; s <= 299; s++)
        CHECK_INT(ev_http_verdict_of(s, 1), ==, EV_HTTP_ACKED);
    /* 429 and 503 throttled */
    CHECK_INT(ev_http_verdict_of(429, 1), ==, EV_HTTP_THROTTLED);
    CHECK_INT(ev_http_verdict_of(503, 1), ==, EV_HTTP_THROTTLED);
    /* 408, 404, 409, other 5xx, unlisted: retried */
    static const long retry[] = {408, 404, 409, 500, 502, 504, 599, 100,
                                 199, 301, 302, 304, 307, 399, 600, 999};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        CHECK_INT(ev_http_verdict_of(retry[i], 1), ==, EV_HTTP_RETRY);
    /* every other 4xx: failed */
    int failed = 0;
    for (long s = 400; s <= 499; s++) {
        if (s == 408 || s == 404 || s == 409 || s == 429)
            continue;
        CHECK_INT(ev_http_verdict_of(s, 1), ==, EV_HTTP_FAILED);
        failed++;
    }
    CHECK_INT(failed, ==, 96);
    /* no response: before the request was written retried, after unknown */
    CHECK_INT(ev_http_verdict_of(0, 0), ==, EV_HTTP_RETRY);
    CHECK_INT(ev_http_verdict_of(0, 1), ==, EV_HTTP_UNKNOWN);
    CHECK_STR(ev_http_verdict_name(EV_HTTP_THROTTLED), "throttled");
}

static void test_retry_after(void)
{
    int64_t d = EV_NS_PER_S, cap = 10 * EV_NS_PER_S;
    CHECK_INT(ev_http_retry_after_ns(7, d, cap), ==, 7 * EV_NS_PER_S);
    CHECK_INT(ev_http_retry_after_ns(0, d, cap), ==, d);          /* missing or unparsable */
    CHECK_INT(ev_http_retry_after_ns(-350000000, d, cap), ==, d); /* a date in the past */
    CHECK_INT(ev_http_retry_after_ns(3600, d, cap), ==, cap);
    CHECK_INT(ev_http_retry_after_ns(3600, d, 0), ==, 3600 * EV_NS_PER_S);
}

static void test_backoff(void)
{
    uint64_t rng = 42;
    int64_t base = 100 * EV_NS_PER_MS, max = 5 * EV_NS_PER_S;
    for (int a = 1; a <= 12; a++) {
        int64_t full = base;
        for (int i = 1; i < a; i++)
            full = full * 2 > max ? max : full * 2;
        int64_t lo = INT64_MAX, hi = 0;
        for (int k = 0; k < 200; k++) {
            int64_t b = ev_http_backoff_ns(a, base, max, &rng);
            CHECK_INT(b, >=, full / 2);
            CHECK_INT(b, <=, full);
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
        }
        CHECK_INT(hi - lo, >, full / 4); /* jittered, not constant */
    }
}

static void test_pct(void)
{
    char out[256];
    CHECK_INT(ev_http_pct_encode("a b\"%Zoë", 9, out, sizeof out), ==, 19);
    CHECK_STR(out, "a%20b%22%25Zo%C3%AB");
    char dec[256], small[3];
    CHECK_INT(ev_http_pct_encode("abc", 3, small, sizeof small), ==, 0); /* does not fit */
    CHECK_INT(ev_http_pct_decode(out, strlen(out), dec, sizeof dec), ==, 9);
    CHECK_STR(dec, "a b\"%Zoë");
    CHECK_INT(ev_http_pct_decode("%c3%ab", 6, dec, sizeof dec), ==, 2); /* lowercase hex */
    CHECK_STR(dec, "ë");
    CHECK_INT(ev_http_pct_decode("\"x%20y\"", 7, dec, sizeof dec), ==, 3); /* quoted-string */
    CHECK_STR(dec, "x y");
    CHECK_INT(ev_http_pct_decode("%C3", 3, dec, sizeof dec), ==, -1);       /* not UTF-8 */
    CHECK_INT(ev_http_pct_decode("%ZZ", 3, dec, sizeof dec), ==, -1);       /* bad escape */
    CHECK_INT(ev_http_pct_decode("ab%4", 4, dec, sizeof dec), ==, -1);      /* cut escape */
    CHECK_INT(ev_http_pct_decode("%ED%A0%80", 9, dec, sizeof dec), ==, -1); /* a surrogate */
}

/* A retried event carries evloadattempt and is still the same intact event. */
static void test_attempt_extension(void)
{
    ev_ce_params p = {
        .type = "dev.evload.http", .source = "/evload", .run = RUN, .lane = 3, .data_size = 200};
    ev_ce_template *t = NULL;
    ev_err err;
    CHECK_INT(ev_ce_template_new(&p, &t, &err), ==, 0);
    ev_buf b = EV_BUF_INIT, r = EV_BUF_INIT;
    CHECK_INT(ev_ce_encode_structured(t, 17, 1000, 2000, &b), ==, 0);
    /* what publishers/http.c sends on attempt 2 */
    CHECK_INT(ev_buf_puts(&r, "{\"evloadattempt\":\"2\","), ==, 0);
    CHECK_INT(ev_buf_append(&r, b.p + 1, b.len - 1), ==, 0);
    ev_ce_seen s;
    ev_ce_decode_structured(r.p, r.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    CHECK_U64(s.seq, ==, 17);
    CHECK_INT(s.lane, ==, 3);
    CHECK_INT(ev_ce_validate_json(r.p, r.len, &err), ==, 0);
    ev_ce_decode_structured_ref(r.p, r.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);

    ev_ce_binary bin = {0};
    CHECK_INT(ev_ce_encode_binary(t, 18, 1000, 2000, &bin), ==, 0);
    ev_ce_attr a[EV_CE_MAX_ATTRS + 1];
    memcpy(a, bin.attrs, bin.nattrs * sizeof a[0]);
    a[bin.nattrs] = (ev_ce_attr){"evloadattempt", 13, "3", 1};
    ev_ce_decode_binary(a, bin.nattrs + 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    CHECK_U64(s.seq, ==, 18);
    /* the same attribute twice is not the same event any more */
    a[bin.nattrs + 0] = (ev_ce_attr){"id", 2, "x", 1};
    ev_ce_decode_binary(a, bin.nattrs + 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    ev_ce_binary_free(&bin);
    ev_buf_free(&b);
    ev_buf_free(&r);
    ev_ce_template_free(t);
}

/* Tokens and header= values (RFC 9110). */
static void test_tokens(void)
{
    CHECK_INT(ev_http_token_ok("X-Api_Key", 9, NULL), ==, 1);
    CHECK_INT(ev_http_token_ok("a b", 3, NULL), ==, 0);
    CHECK_INT(ev_http_token_ok("cloudevents.json, v2", 20, ", "), ==, 1);
    CHECK_INT(ev_http_token_ok("a:b", 3, ", "), ==, 0);
    CHECK_INT(ev_http_header_ok("Authorization: Bearer x"), ==, 1);
    CHECK_INT(ev_http_header_ok("Bad Name: x"), ==, 0);
    CHECK_INT(ev_http_header_ok(": x"), ==, 0);
    CHECK_INT(ev_http_header_ok("X-A: b\r\nX-B: c"), ==, 0);
    CHECK_INT(ev_http_header_ok("no colon"), ==, 0);
}

int main(void)
{
    EV_RUN(test_verdicts);
    EV_RUN(test_tokens);
    EV_RUN(test_retry_after);
    EV_RUN(test_backoff);
    EV_RUN(test_pct);
    EV_RUN(test_attempt_extension);
    EV_DONE();
}
