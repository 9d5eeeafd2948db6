/* Unit tests for ev_codec: round trips in both modes, exact data sizes, the
 * strict validator (one case per rule of cloudevents-rules.md §8), foreign and
 * corrupt classification, and a byte-flip fuzz loop (run it under ASan). */
#include "ev_codec.h"
#include "ev_test.h"

#include <jansson.h>
#include <time.h>

#define RUN "a1b2c3d4e5f6"
#define SCHED 1795809253000000000LL /* 2026-11-27T19:54:13Z */
#define SENT (SCHED + 123456789LL)

static ev_ce_template *make(size_t data_size, const char *tmpl, uint32_t inst, uint32_t lane)
{
    ev_ce_params p = {.type = "network.example.build.start",
                      .source = "/evload",
                      .run = RUN,
                      .instance = inst,
                      .lane = lane,
                      .data_size = data_size,
                      .data_template = tmpl};
    ev_ce_template *t = NULL;
    ev_err err = {{0}};
    int rc = ev_ce_template_new(&p, &t, &err);
    if (rc != 0) fprintf(stderr, "template: %s\n", err.msg);
    CHECK_INT(rc, ==, 0);
    CHECK(t != NULL);
    return t;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The raw text of the "data" value of one of our events (always last). */
static const char *data_of(const ev_buf *b, size_t *n)
{
    const char *d = strstr(b->p, "\"data\":");
    CHECK(d != NULL);
    d += 7;
    *n = (size_t)(b->p + b->len - 1 - d); /* minus the closing '}' */
    return d;
}

static void expect_time(int64_t ns, char *buf, size_t size)
{
    time_t secs = (time_t)(ns / 1000000000LL);
    long frac = (long)(ns % 1000000000LL);
    if (frac < 0) {
        frac += 1000000000L;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void test_structured_roundtrip(void)
{
    ev_ce_template *t =
        make(256, "{\"user\":\"ana\",\"n\":[1,2,{\"k\":true}],\"s\":\"q\\\"x\"}", 3, 7);
    ev_buf b = EV_BUF_INIT;
    static const uint64_t seqs[] = {1, 2, 99, 123456789, INT64_MAX};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        uint64_t seq = seqs[i];
        ev_buf_reset(&b);
        CHECK_INT(ev_ce_encode_structured(t, seq, SCHED, SENT, &b), ==, 0);
        CHECK_U64(strlen(b.p), ==, b.len);

        ev_err err = {{0}};
        int rc = ev_ce_validate_json(b.p, b.len, &err);
        if (rc) fprintf(stderr, "%s\n%s\n", err.msg, b.p);
        CHECK_INT(rc, ==, 0);

        json_error_t je;
        json_t *o = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &je);
        CHECK(o != NULL);
        char want[128], tbuf[64];
        snprintf(want, sizeof want, RUN "-3-7-%" PRIu64, seq);
        CHECK_STR(jstr(o, "id"), want);
        CHECK_STR(jstr(o, "specversion"), "1.0");
        CHECK_STR(jstr(o, "source"), "/evload");
        CHECK_STR(jstr(o, "type"), "network.example.build.start");
        expect_time(SENT, tbuf, sizeof tbuf);
        CHECK_STR(jstr(o, "time"), tbuf);
        CHECK_STR(jstr(o, "time"), "2026-11-27T19:54:13.123456789Z");
        CHECK_STR(jstr(o, "datacontenttype"), "application/json");
        CHECK_STR(jstr(o, "evloadrun"), RUN);
        CHECK_STR(jstr(o, "evloadlane"), "3.7");
        snprintf(want, sizeof want, "%" PRIu64, seq);
        CHECK_STR(jstr(o, "evloadseq"), want);
        snprintf(want, sizeof want, "%lld", SCHED);
        CHECK_STR(jstr(o, "evloadsched"), want);
        snprintf(want, sizeof want, "%lld", SENT);
        CHECK_STR(jstr(o, "evloadsent"), want);

        size_t dn;
        const char *d = data_of(&b, &dn);
        CHECK_U64(dn, ==, 256);
        snprintf(want, sizeof want, "%08x", (unsigned)ev_crc32c(0, d, dn));
        CHECK_STR(jstr(o, "evloadcrc"), want);
        json_t *data = json_object_get(o, "data");
        CHECK(json_is_object(data));
        CHECK(json_is_integer(json_object_get(data, "seq")));
        CHECK_U64((uint64_t)json_integer_value(json_object_get(data, "seq")), ==, seq);
        CHECK_STR(jstr(data, "user"), "ana");
        CHECK_STR(jstr(data, "s"), "q\"x");
        CHECK(json_is_array(json_object_get(data, "n")));
        const char *pad = jstr(data, "pad");
        CHECK(pad != NULL);
        for (const char *c = pad; *c; c++)
            CHECK_INT(*c, ==, 'x');
        /* member order: seq first, template members, pad last */
        CHECK(strncmp(d, "{\"seq\":", 7) == 0);
        CHECK(strstr(d, ",\"user\":\"ana\",\"n\":[1,2,{\"k\":true}],\"s\":\"q\\\"x\",\"pad\":\"") !=
              NULL);
        json_decref(o);

        ev_ce_seen s;
        ev_ce_decode_structured(b.p, b.len, RUN, &s);
        if (s.status) fprintf(stderr, "reason: %s\n", s.reason);
        CHECK_INT(s.status, ==, EV_CE_OK);
        CHECK_STR(s.reason, "");
        CHECK_INT(s.has_identity, ==, 1);
        CHECK_U64(s.instance, ==, 3);
        CHECK_U64(s.lane, ==, 7);
        CHECK_U64(s.seq, ==, seq);
        CHECK_INT(s.sched_ns, ==, SCHED);
        CHECK_INT(s.sent_ns, ==, SENT);
    }
    /* Same inputs, same bytes; appending keeps what was there. */
    ev_buf a = EV_BUF_INIT, c = EV_BUF_INIT;
    CHECK_INT(ev_ce_encode_structured(t, 5, SCHED, SENT, &a), ==, 0);
    CHECK_INT(ev_buf_puts(&c, "prefix"), ==, 0);
    CHECK_INT(ev_ce_encode_structured(t, 5, SCHED, SENT, &c), ==, 0);
    CHECK_U64(c.len, ==, a.len + 6);
    CHECK(memcmp(c.p + 6, a.p, a.len) == 0);
    ev_buf_free(&a);
    ev_buf_free(&c);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

static void test_negative_times(void)
{
    ev_ce_template *t = make(64, NULL, 0, 0);
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_ce_encode_structured(t, 1, -5, -1, &b), ==, 0);
    CHECK(strstr(b.p, "\"time\":\"1969-12-31T23:59:59.999999999Z\"") != NULL);
    ev_ce_seen s;
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    CHECK_INT(s.sched_ns, ==, -5);
    CHECK_INT(s.sent_ns, ==, -1);
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 1, INT64_MIN, INT64_MAX, &b), ==, 0);
    CHECK(strstr(b.p, "\"evloadsched\":\"-9223372036854775808\"") != NULL);
    CHECK(strstr(b.p, "\"time\":\"2262-04-11T23:47:16.854775807Z\"") != NULL);
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    CHECK(s.sched_ns == INT64_MIN);
    CHECK(s.sent_ns == INT64_MAX);
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 1, 0, INT64_MIN, &b), ==, 0);
    CHECK(strstr(b.p, "\"time\":\"1677-09-21T00:12:43.145224192Z\"") != NULL);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

/* The arithmetic calendar against gmtime_r over random times, leap days and
 * century boundaries. */
static void test_time_vs_gmtime(void)
{
    ev_ce_template *t = make(0, NULL, 0, 0);
    ev_buf b = EV_BUF_INIT;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    static const int64_t fixed[] = {0,
                                    951782400LL * 1000000000LL,  /* 2000-02-29 */
                                    951868800LL * 1000000000LL,  /* 2000-03-01 */
                                    4107456000LL * 1000000000LL, /* 2100-02-28 */
                                    4107542400LL * 1000000000LL, /* 2100-03-01 */
                                    -1000000000LL * 86400 * 366,
                                    1};
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ns = i < (int)(sizeof fixed / sizeof fixed[0]) ? fixed[i] : (int64_t)x;
        ev_buf_reset(&b);
        CHECK_INT(ev_ce_encode_structured(t, 1, 0, ns, &b), ==, 0);
        char want[80], got[64];
        expect_time(ns, want, sizeof want);
        const char *p = strstr(b.p, "\"time\":\"");
        CHECK(p != NULL);
        memcpy(got, p + 8, 30);
        got[30] = '\0';
        if (strcmp(got, want) != 0) fprintf(stderr, "ns=%lld\n", (long long)ns);
        CHECK_STR(got, want);
    }
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

static size_t encoded_data_len(ev_ce_template *t, uint64_t seq)
{
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_ce_encode_structured(t, seq, SCHED, SENT, &b), ==, 0);
    size_t n;
    data_of(&b, &n);
    ev_ce_seen s;
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    ev_buf_free(&b);
    return n;
}

static void test_data_sizes(void)
{
    static const char *tmpls[] = {NULL, "{}", "{\"a\":1}", "{\"name\":\"h\\u00e9llo \\u2603\"}"};
    static const size_t sizes[] = {0, 1, 10, 20, 33, 34, 35, 64, 100, 256, 1000, 1024, 4096, 65536};
    static const uint64_t seqs[] = {1, 9, 10, 1000000, INT64_MAX};
    for (size_t ti = 0; ti < sizeof tmpls / sizeof tmpls[0]; ti++) {
        for (size_t si = 0; si < sizeof seqs / sizeof seqs[0]; si++) {
            /* The minimum: data with an empty pad, whatever data_size says. */
            ev_ce_template *t0 = make(0, tmpls[ti], 0, 0);
            size_t min = encoded_data_len(t0, seqs[si]);
            ev_ce_template_free(t0);
            char want[256];
            int w = snprintf(want, sizeof want, "{\"seq\":%" PRIu64 "%s%s,\"pad\":\"\"}", seqs[si],
                             tmpls[ti] && strlen(tmpls[ti]) > 2 ? "," : "",
                             ti == 2   ? "\"a\":1"
                             : ti == 3 ? "\"name\":\"h\xc3\xa9llo \xe2\x98\x83\""
                                       : "");
            CHECK_U64(min, ==, (size_t)w);
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                ev_ce_template *t = make(sizes[k], tmpls[ti], 0, 0);
                size_t n = encoded_data_len(t, seqs[si]);
                CHECK_U64(n, ==, sizes[k] > min ? sizes[k] : min);
                ev_ce_template_free(t);
            }
            ev_ce_template *t = make(min + 1, tmpls[ti], 0, 0);
            CHECK_U64(encoded_data_len(t, seqs[si]), ==, min + 1);
            ev_ce_template_free(t);
        }
    }
}

static const char *bin_val(const ev_ce_binary *b, const char *name)
{
    static char buf[256];
    for (size_t i = 0; i < b->nattrs; i++)
        if (strcmp(b->attrs[i].name, name) == 0) {
            CHECK(b->attrs[i].name_len == strlen(name));
            CHECK(b->attrs[i].value_len < sizeof buf);
            memcpy(buf, b->attrs[i].value, b->attrs[i].value_len);
            buf[b->attrs[i].value_len] = '\0';
            /* values are NUL-terminated in the store too */
            CHECK_INT(b->attrs[i].value[b->attrs[i].value_len], ==, '\0');
            return buf;
        }
    return NULL;
}

static void test_binary_roundtrip(void)
{
    ev_ce_template *t = make(1024, "{\"k\":\"v\"}", 1, 2);
    ev_ce_binary bin = {0};
    ev_buf sb = EV_BUF_INIT;
    static const char *order[] = {"id",          "source",     "specversion", "type",
                                  "time",        "evloadrun",  "evloadlane",  "evloadseq",
                                  "evloadsched", "evloadsent", "evloadcrc"};
    for (uint64_t seq = 1; seq < 2000; seq += 37) {
        CHECK_INT(ev_ce_encode_binary(t, seq, SCHED, SENT, &bin), ==, 0);
        CHECK_U64(bin.nattrs, ==, 11);
        for (size_t i = 0; i < 11; i++)
            CHECK_STR(bin.attrs[i].name, order[i]);
        CHECK_STR(bin.content_type, "application/json");
        char want[128];
        snprintf(want, sizeof want, RUN "-1-2-%" PRIu64, seq);
        CHECK_STR(bin_val(&bin, "id"), want);
        CHECK_STR(bin_val(&bin, "source"), "/evload");
        CHECK_STR(bin_val(&bin, "specversion"), "1.0");
        CHECK_STR(bin_val(&bin, "type"), "network.example.build.start");
        CHECK_STR(bin_val(&bin, "time"), "2026-11-27T19:54:13.123456789Z");
        CHECK_STR(bin_val(&bin, "evloadrun"), RUN);
        CHECK_STR(bin_val(&bin, "evloadlane"), "1.2");
        snprintf(want, sizeof want, "%" PRIu64, seq);
        CHECK_STR(bin_val(&bin, "evloadseq"), want);
        snprintf(want, sizeof want, "%lld", SCHED);
        CHECK_STR(bin_val(&bin, "evloadsched"), want);
        snprintf(want, sizeof want, "%lld", SENT);
        CHECK_STR(bin_val(&bin, "evloadsent"), want);
        CHECK_U64(bin.body.len, ==, 1024);
        snprintf(want, sizeof want, "%08x", (unsigned)ev_crc32c(0, bin.body.p, bin.body.len));
        CHECK_STR(bin_val(&bin, "evloadcrc"), want);

        /* The body is exactly the structured event's data. */
        ev_buf_reset(&sb);
        CHECK_INT(ev_ce_encode_structured(t, seq, SCHED, SENT, &sb), ==, 0);
        size_t dn;
        const char *d = data_of(&sb, &dn);
        CHECK_U64(dn, ==, bin.body.len);
        CHECK(memcmp(d, bin.body.p, dn) == 0);

        ev_ce_seen s;
        ev_ce_decode_binary(bin.attrs, bin.nattrs, bin.content_type, bin.body.p, bin.body.len, RUN,
                            &s);
        if (s.status) fprintf(stderr, "reason: %s\n", s.reason);
        CHECK_INT(s.status, ==, EV_CE_OK);
        CHECK_INT(s.has_identity, ==, 1);
        CHECK_U64(s.instance, ==, 1);
        CHECK_U64(s.lane, ==, 2);
        CHECK_U64(s.seq, ==, seq);
        CHECK_INT(s.sched_ns, ==, SCHED);
        CHECK_INT(s.sent_ns, ==, SENT);
        /* content type is optional in CloudEvents */
        ev_ce_decode_binary(bin.attrs, bin.nattrs, NULL, bin.body.p, bin.body.len, RUN, &s);
        CHECK_INT(s.status, ==, EV_CE_OK);
    }
    ev_ce_binary_free(&bin);
    ev_ce_binary_free(&bin); /* freed struct is empty and reusable */
    ev_ce_binary_free(NULL);
    ev_buf_free(&sb);
    ev_ce_template_free(t);
}

static void test_binary_classification(void)
{
    ev_ce_template *t = make(128, NULL, 0, 4);
    ev_ce_binary bin = {0};
    CHECK_INT(ev_ce_encode_binary(t, 42, SCHED, SENT, &bin), ==, 0);
    ev_ce_attr a[EV_CE_MAX_ATTRS];
    size_t n = bin.nattrs;
    ev_ce_seen s;

    /* body flipped: checksum mismatch, identity kept */
    char body[256];
    memcpy(body, bin.body.p, bin.body.len);
    body[bin.body.len - 5] ^= 1;
    ev_ce_decode_binary(bin.attrs, n, bin.content_type, body, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_STR(s.reason, "checksum mismatch");
    CHECK_INT(s.has_identity, ==, 1);
    CHECK_U64(s.seq, ==, 42);
    CHECK_U64(s.lane, ==, 4);

    /* other run */
    ev_ce_decode_binary(bin.attrs, n, bin.content_type, bin.body.p, bin.body.len, "ffffffffffff",
                        &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_INT(s.has_identity, ==, 0);

    /* no evloadrun (index 5) */
    memcpy(a, bin.attrs, sizeof a);
    a[5] = a[10];
    ev_ce_decode_binary(a, n - 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_HAS(s.reason, "evloadrun");

    /* missing id: corrupt, identity still known */
    memcpy(a, bin.attrs, sizeof a);
    a[0] = a[10];
    ev_ce_decode_binary(a, n - 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "\"id\" is missing");
    CHECK_INT(s.has_identity, ==, 1);

    /* duplicated attribute */
    memcpy(a, bin.attrs, sizeof a);
    a[n] = a[3];
    ev_ce_decode_binary(a, n + 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "twice");

    /* upper-case name (modules lowercase; an exact compare sees a bad name) */
    memcpy(a, bin.attrs, sizeof a);
    a[n] = (ev_ce_attr){"Extra", 5, "x", 1};
    ev_ce_decode_binary(a, n + 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "[a-z0-9]+");

    /* a valid unknown extension is fine */
    a[n] = (ev_ce_attr){"traceparent", 11, "00-abc-01", 9};
    ev_ce_decode_binary(a, n + 1, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);

    /* seq attribute changed: id no longer matches */
    memcpy(a, bin.attrs, sizeof a);
    a[7] = (ev_ce_attr){"evloadseq", 9, "43", 2};
    ev_ce_decode_binary(a, n, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "id does not match");
    CHECK_U64(s.seq, ==, 43);

    /* seq and id both changed consistently: caught by data.seq */
    a[0] = (ev_ce_attr){"id", 2, RUN "-0-4-43", sizeof(RUN "-0-4-43") - 1};
    ev_ce_decode_binary(a, n, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "data.seq");

    /* bad content type, bad time */
    ev_ce_decode_binary(bin.attrs, n, "application json", bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "media type");
    memcpy(a, bin.attrs, sizeof a);
    a[4] = (ev_ce_attr){"time", 4, "2026-11-27 19:54:13Z", 20};
    ev_ce_decode_binary(a, n, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "RFC 3339");

    /* invalid UTF-8 in a header value */
    memcpy(a, bin.attrs, sizeof a);
    a[3] = (ev_ce_attr){"type", 4, "t\xc0\xa0", 3};
    ev_ce_decode_binary(a, n, bin.content_type, bin.body.p, bin.body.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "UTF-8");

    /* nothing at all */
    ev_ce_decode_binary(NULL, 0, NULL, NULL, 0, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    ev_ce_binary_free(&bin);
    ev_ce_template_free(t);
}

/* A minimal valid event with `extra` members spliced in. */
static int validate_with(const char *extra, ev_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"%s}", extra);
    return ev_ce_validate_json(buf, strlen(buf), err);
}

static void test_validate_accepts(void)
{
    static const char *ok[] = {
        "",
        ",\"subject\":null",
        ",\"datacontenttype\":null",
        ",\"time\":\"2026-11-27T19:54:13Z\"",
        ",\"time\":\"2026-11-27t19:54:13.5+02:00\"",
        ",\"time\":\"2024-02-29T23:59:60-00:30\"",
        ",\"datacontenttype\":\"application/json; charset=utf-8\"",
        ",\"datacontenttype\":\"text/plain;charset=\\\"us-ascii\\\"\"",
        ",\"dataschema\":\"https://example.com/s.json\"",
        ",\"flag\":true,\"num\":-2147483648,\"big\":2147483647,\"str\":\"\\u00e9\"",
        ",\"data\":\"I'm just a string\"",
        ",\"data\":null,\"data_base64\":\"aGk=\"",
        ",\"data_base64\":\"\"",
        ",\"data\":{\"x\":[1,2.5,\"\\u0001\"]}",
        ",\"thisisaverylongextensionname\":\"only a warning\"",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ev_err err = {{0}};
        int rc = validate_with(ok[i], &err);
        if (rc) fprintf(stderr, "case %zu: %s\n", i, err.msg);
        CHECK_INT(rc, ==, 0);
    }
    static const char *sources[] = {"\"1-555-123-4567\"", "\"urn:event:from:x\"",
                                    "\"https://[::1]:8080/a%20b?q#f\"", "\"mailto:a@b.c\""};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":%s,\"type\":\"t\"}", sources[i]);
        ev_err err = {{0}};
        int rc = ev_ce_validate_json(buf, strlen(buf), &err);
        if (rc) fprintf(stderr, "%s: %s\n", sources[i], err.msg);
        CHECK_INT(rc, ==, 0);
    }
}

static void test_validate_rejects(void)
{
    static const struct {
        const char *text; /* whole event */
        const char *why;  /* substring of the message */
    } bad[] = {
        {"{\"specversion\":\"0.3\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}", "\"1.0\""},
        {"{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}", "\"id\" is missing"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"\",\"type\":\"t\"}",
         "\"source\" is empty"},
        {"{\"specversion\":\"1.0\",\"id\":\" \",\"source\":\"/s\",\"type\":\"t\"}",
         "\"id\" is empty"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"time\":\"2026-13-01T00:00:00Z\"}",
         "RFC 3339"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"time\":\"2023-02-29T00:00:00Z\"}",
         "RFC 3339"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"time\":\"2026-11-27T19:54:13\"}",
         "RFC 3339"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"time\":\"2026-11-27T19:54:13.Z\"}",
         "RFC 3339"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"datacontenttype\":\"json\"}",
         "media type"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"datacontenttype\":\"text/plain; charset\"}",
         "media type"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"evLoad\":\"x\"}",
         "[a-z0-9]+"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"ev_load\":\"x\"}",
         "[a-z0-9]+"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"ratio\":1.5}",
         "fraction"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"ratio\":1e3}",
         "fraction"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"n\":2147483648}",
         "32-bit"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"n\":-2147483649}",
         "32-bit"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"obj\":{\"a\":1}}",
         "object or array"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"arr\":[]}",
         "object or array"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":{}}", "not a string"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\\u0001\"}",
         "control character (U+0001)"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\xc2\x85\"}",
         "control character (U+0085)"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"x\":\"\\ufffe\"}",
         "noncharacter"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"x\":\"\\ufdd0\"}",
         "noncharacter"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"x\":\"\\ud83f\\udfff\"}",
         "noncharacter"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"id\":\"b\",\"source\":\"/s\",\"type\":\"t\"}",
         "duplicate"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"data\":1,\"data_base64\":\"aGk=\"}",
         "both data"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/"
         "s\",\"type\":\"t\",\"data_base64\":\"aGk\"}",
         "Base64"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"} x", "not JSON"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}{}", "not JSON"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"a b\",\"type\":\"t\"}",
         "URI-reference"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"1x:y\",\"type\":\"t\"}",
         "URI-reference"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/%zz\",\"type\":\"t\"}",
         "URI-reference"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"dataschema\":\"/"
         "rel\"}",
         "absolute URI"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"subject\":\"\"}",
         "\"subject\" is empty"},
        {"[{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}]",
         "not a JSON object"},
        {"{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\"}", "\"type\" is missing"},
        {"{\"specversion\":null,\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}",
         "\"specversion\" is missing"},
        {"", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev_err err = {{0}};
        int rc = ev_ce_validate_json(bad[i].text, strlen(bad[i].text), &err);
        if (rc == 0) fprintf(stderr, "accepted: %s\n", bad[i].text);
        CHECK_INT(rc, ==, EV_EUSAGE);
        CHECK_HAS(err.msg, bad[i].why);
    }
    ev_err err = {{0}};
    CHECK_INT(ev_ce_validate_json(NULL, 0, &err), ==, EV_EUSAGE);
    CHECK_INT(ev_ce_validate_json("{}", 2, NULL), ==, EV_EUSAGE);
}

/* Replaces the first occurrence of from with to in b (test helper). */
static void replace(ev_buf *b, const char *from, const char *to)
{
    char *p = strstr(b->p, from);
    CHECK(p != NULL);
    ev_buf out = EV_BUF_INIT;
    CHECK_INT(ev_buf_append(&out, b->p, (size_t)(p - b->p)), ==, 0);
    CHECK_INT(ev_buf_puts(&out, to), ==, 0);
    CHECK_INT(ev_buf_puts(&out, p + strlen(from)), ==, 0);
    ev_buf_free(b);
    *b = out;
}

static void test_foreign(void)
{
    ev_ce_template *t = make(256, NULL, 0, 1);
    ev_buf b = EV_BUF_INIT;
    ev_ce_seen s;
    CHECK_INT(ev_ce_encode_structured(t, 7, SCHED, SENT, &b), ==, 0);

    ev_ce_decode_structured(b.p, b.len, "0123456789ab", &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_HAS(s.reason, "another run");
    CHECK_INT(s.has_identity, ==, 0);

    replace(&b, "\"evloadrun\":\"" RUN "\",", "");
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_STR(s.reason, "no evloadrun attribute");

    static const char hello[] = "hello";
    ev_ce_decode_structured(hello, 5, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_HAS(s.reason, "not JSON");

    static const char other[] =
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/o\",\"type\":\"t\"}";
    ev_ce_decode_structured(other, sizeof other - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    /* Invalid CloudEvents from another run is still just foreign. */
    static const char inv[] = "{\"specversion\":\"2.0\",\"evloadrun\":\"zzz\"}";
    ev_ce_decode_structured(inv, sizeof inv - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    static const char num[] = "{\"specversion\":\"1.0\",\"evloadrun\":5}";
    ev_ce_decode_structured(num, sizeof num - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    ev_ce_decode_structured(NULL, 0, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    ev_ce_decode_structured("", 0, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

static void test_corrupt(void)
{
    ev_ce_template *t = make(256, "{\"a\":\"b\"}", 2, 5);
    ev_buf b = EV_BUF_INIT;
    ev_ce_seen s;

    /* one byte of data flipped (a pad byte, so the JSON stays valid) */
    CHECK_INT(ev_ce_encode_structured(t, 77, SCHED, SENT, &b), ==, 0);
    char *pad = strstr(b.p, "xxxx");
    CHECK(pad != NULL);
    pad[2] = 'y';
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_STR(s.reason, "checksum mismatch");
    CHECK_INT(s.has_identity, ==, 1);
    CHECK_U64(s.instance, ==, 2);
    CHECK_U64(s.lane, ==, 5);
    CHECK_U64(s.seq, ==, 77);
    CHECK_INT(s.sent_ns, ==, SENT);

    /* evloadseq not numeric: corrupt, no identity */
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 77, SCHED, SENT, &b), ==, 0);
    replace(&b, "\"evloadseq\":\"77\"", "\"evloadseq\":\"7x\"");
    ev_ce_decode_structured(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "evloadseq");
    CHECK_INT(s.has_identity, ==, 0);

    /* truncated, with our run id in it */
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 77, SCHED, SENT, &b), ==, 0);
    ev_ce_decode_structured(b.p, b.len / 2, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "not JSON");
    /* truncated before the run id: nothing says it is ours */
    ev_ce_decode_structured(b.p, 20, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    /* our run but invalid CloudEvents: corrupt with the violation, identity kept */
    ev_buf c = EV_BUF_INIT;
    CHECK_INT(ev_buf_append(&c, b.p, b.len), ==, 0);
    replace(&c, "\"specversion\":\"1.0\"", "\"specversion\":\"1.1\"");
    ev_ce_decode_structured(c.p, c.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "specversion");
    CHECK_INT(s.has_identity, ==, 1);
    CHECK_U64(s.seq, ==, 77);

    /* evload attributes as numbers, crc in upper case, lane bad, data null */
    static const char *const from[] = {"\"evloadsched\":\"", "\"evloadcrc\":\"",
                                       "\"evloadlane\":\"2.5\"", "\"data\":"};
    static const char *const to[] = {"\"evloadsched\":1,\"x\":\"", "\"evloadcrc\":\"A",
                                     "\"evloadlane\":\"2:5\"", "\"data\":null,\"x\":0,\"y\":"};
    static const char *const why[] = {"evloadsched is not a string", "evloadcrc", "evloadlane",
                                      "extension \"y\""};
    for (size_t i = 0; i < 4; i++) {
        ev_buf_reset(&c);
        CHECK_INT(ev_buf_append(&c, b.p, b.len), ==, 0);
        replace(&c, from[i], to[i]);
        ev_ce_decode_structured(c.p, c.len, RUN, &s);
        CHECK_INT(s.status, ==, EV_CE_CORRUPT);
        CHECK_HAS(s.reason, why[i]);
    }

    /* no data at all */
    ev_buf_reset(&c);
    CHECK_INT(ev_buf_append(&c, b.p, (size_t)(strstr(b.p, ",\"data\":") - b.p)), ==, 0);
    CHECK_INT(ev_buf_puts(&c, "}"), ==, 0);
    ev_ce_decode_structured(c.p, c.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_STR(s.reason, "no data");
    CHECK_INT(s.has_identity, ==, 1);

    /* data written with an escaped key still finds its bytes */
    ev_buf_reset(&c);
    CHECK_INT(ev_buf_append(&c, b.p, b.len), ==, 0);
    replace(&c, "\"data\":", "\"d\\u0061ta\" : ");
    ev_ce_decode_structured(c.p, c.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);

    /* a reason never carries control bytes */
    static const char ctl[] = "{\"evloadrun\":\"\\u0007\\n\"}";
    ev_ce_decode_structured(ctl, sizeof ctl - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    for (const char *r = s.reason; *r; r++)
        CHECK((unsigned char)*r >= 0x20 && (unsigned char)*r < 0x7F);
    ev_buf_free(&c);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

static void test_template_errors(void)
{
    ev_ce_template *t = (ev_ce_template *)&t; /* must be reset to NULL on failure */
    ev_err err = {{0}};
    ev_ce_params p = {.type = "t", .source = "/s", .run = RUN, .data_size = 10};
    struct {
        const char *run, *type, *source, *tmpl;
        size_t size;
        const char *why;
    } cases[] = {
        {"", "t", "/s", NULL, 1, "run id"},
        {"ABC", "t", "/s", NULL, 1, "run id"},
        {"a-b", "t", "/s", NULL, 1, "run id"},
        {"012345678901234567890123456789012", "t", "/s", NULL, 1, "run id"},
        {RUN, "", "/s", NULL, 1, "type"},
        {RUN, "t\x01", "/s", NULL, 1, "type"},
        {RUN, "t", "", NULL, 1, "source"},
        {RUN, "t", "a b", NULL, 1, "source"},
        {RUN, "t", "/s", "[1]", 1, "JSON object"},
        {RUN, "t", "/s", "{\"a\":", 1, "line 1"},
        {RUN, "t", "/s", "{\"seq\":1}", 1, "\"seq\""},
        {RUN, "t", "/s", "{\"a\":1,\"pad\":\"\"}", 1, "\"pad\""},
        {RUN, "t", "/s", "{\"a\":1,\"a\":2}", 1, "duplicate"},
        {RUN, "t", "/s", NULL, EV_CE_DATA_SIZE_MAX + 1, "data_size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        p.run = cases[i].run;
        p.type = cases[i].type;
        p.source = cases[i].source;
        p.data_template = cases[i].tmpl;
        p.data_size = cases[i].size;
        CHECK_INT(ev_ce_template_new(&p, &t, &err), ==, EV_EUSAGE);
        CHECK(t == NULL);
        CHECK_HAS(err.msg, cases[i].why);
    }
    CHECK_INT(ev_ce_template_new(NULL, &t, &err), ==, EV_EUSAGE);
    ev_ce_template_free(NULL);
}

/* A type with characters that need escaping survives the round trip. */
static void test_escaped_type(void)
{
    ev_ce_params p = {.type = "t\"q\\b/\xc3\xa9\xe2\x98\x83",
                      .source = "https://example.com/a?b=c&d=%20#f",
                      .run = RUN,
                      .data_size = 100};
    ev_ce_template *t = NULL;
    ev_err err = {{0}};
    CHECK_INT(ev_ce_template_new(&p, &t, &err), ==, 0);
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_ce_encode_structured(t, 1, SCHED, SENT, &b), ==, 0);
    CHECK_INT(ev_ce_validate_json(b.p, b.len, &err), ==, 0);
    json_t *o = json_loadb(b.p, b.len, 0, NULL);
    CHECK(o != NULL);
    CHECK_STR(jstr(o, "type"), p.type);
    CHECK_STR(jstr(o, "source"), p.source);
    json_decref(o);
    ev_ce_binary bin = {0};
    CHECK_INT(ev_ce_encode_binary(t, 1, SCHED, SENT, &bin), ==, 0);
    CHECK_STR(bin_val(&bin, "type"), p.type);
    ev_ce_binary_free(&bin);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random byte flips of valid events: the decoder must never crash or read
 * out of bounds (ASan), must always classify, and an OK must be right. */
static void test_fuzz(void)
{
    ev_ce_template *t = make(200, "{\"k\":[1,{\"z\":\"w\"}],\"s\":\"\\\"\"}", 1, 3);
    ev_buf b = EV_BUF_INIT;
    ev_ce_binary bin = {0};
    int counts[3] = {0};
    for (int it = 0; it < 20000; it++) {
        uint64_t seq = 1 + next() % 100000;
        ev_buf_reset(&b);
        CHECK_INT(ev_ce_encode_structured(t, seq, SCHED, SENT, &b), ==, 0);
        /* An exact-size heap copy, so ASan sees any overread. */
        size_t n = b.len;
        if (next() % 8 == 0) n = (size_t)(next() % (b.len + 1)); /* truncation */
        char *m = malloc(n ? n : 1);
        CHECK(m != NULL);
        memcpy(m, b.p, n);
        int flips = 1 + (int)(next() % 3);
        for (int f = 0; f < flips && n; f++) {
            size_t at = (size_t)(next() % n);
            uint64_t r = next();
            m[at] = (r & 256) ? (char)(m[at] ^ (1 << (r & 7))) : (char)r;
        }
        ev_ce_seen s;
        ev_ce_decode_structured(m, n, RUN, &s);
        CHECK(s.status == EV_CE_OK || s.status == EV_CE_FOREIGN || s.status == EV_CE_CORRUPT);
        CHECK(strlen(s.reason) < sizeof s.reason);
        counts[s.status]++;
        if (s.status == EV_CE_OK) {
            CHECK_INT(s.has_identity, ==, 1);
            CHECK_U64(s.instance, ==, 1);
            CHECK_U64(s.lane, ==, 3);
            CHECK_U64(s.seq, ==, seq);
        }
        free(m);

        /* Binary: flip bytes in the body or in one attribute value. */
        CHECK_INT(ev_ce_encode_binary(t, seq, SCHED, SENT, &bin), ==, 0);
        ev_ce_attr a[EV_CE_MAX_ATTRS];
        memcpy(a, bin.attrs, sizeof a);
        size_t k = (size_t)(next() % (bin.nattrs + 1));
        char *val = NULL, *body = NULL;
        size_t body_n = bin.body.len;
        if (k < bin.nattrs) {
            size_t vn = a[k].value_len;
            val = malloc(vn ? vn : 1);
            CHECK(val != NULL);
            memcpy(val, a[k].value, vn);
            if (vn) val[next() % vn] = (char)next();
            a[k].value = val;
        }
        body = malloc(body_n);
        CHECK(body != NULL);
        memcpy(body, bin.body.p, body_n);
        if (k == bin.nattrs) body[next() % body_n] ^= (char)(1 + next() % 255);
        ev_ce_decode_binary(a, bin.nattrs, bin.content_type, body, body_n, RUN, &s);
        CHECK(s.status == EV_CE_OK || s.status == EV_CE_FOREIGN || s.status == EV_CE_CORRUPT);
        if (s.status == EV_CE_OK) {
            CHECK_U64(s.lane, ==, 3);
            CHECK_U64(s.seq, ==, seq);
        }
        free(val);
        free(body);
    }
    fprintf(stderr, "   structured fuzz: ok %d, foreign %d, corrupt %d\n", counts[0], counts[1],
            counts[2]);
    CHECK_INT(counts[2], >, 0);
    ev_ce_binary_free(&bin);
    ev_buf_free(&b);
    ev_ce_template_free(t);
}

int main(void)
{
    EV_RUN(test_structured_roundtrip);
    EV_RUN(test_negative_times);
    EV_RUN(test_time_vs_gmtime);
    EV_RUN(test_data_sizes);
    EV_RUN(test_binary_roundtrip);
    EV_RUN(test_binary_classification);
    EV_RUN(test_validate_accepts);
    EV_RUN(test_validate_rejects);
    EV_RUN(test_foreign);
    EV_RUN(test_corrupt);
    EV_RUN(test_template_errors);
    EV_RUN(test_escaped_type);
    EV_RUN(test_fuzz);
    EV_DONE();
}
