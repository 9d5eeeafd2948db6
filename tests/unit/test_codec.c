/* Unit tests for ev_codec: round trips in both modes, exact data sizes, the
 * strict validator (one case per rule of cloudevents-rules.md §8), foreign and
 * corrupt classification, a byte-flip fuzz loop (run it under ASan), and the
 * differential test of the fast structured decoder against the jansson
 * reference: every structured decode in this file goes through decode(),
 * which runs both and compares, and test_differential adds 220k mutations
 * of valid events plus edge-case JSON texts. */
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
    if (rc != 0)
        fprintf(stderr, "template: %s\n", err.msg);
    CHECK_INT(rc, ==, 0);
    CHECK(t != NULL);
    return t;
}

/* ------------------------------------------------------------------------ */
/* Differential harness                                                     */
/* ------------------------------------------------------------------------ */

static long diff_runs, diff_limit, diff_valid;

static int jansson_accepts(const char *p, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    int ok = j != NULL;
    json_decref(j);
    return ok;
}

static void dump_input(const char *p, size_t n)
{
    fprintf(stderr, "input (%zu bytes): ", n);
    for (size_t i = 0; p && i < n && i < 3000; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

static void dump_seen(const char *who, const ev_ce_seen *s)
{
    fprintf(stderr,
            "%s: status %d reason \"%s\" has_identity %d instance %u lane %u seq %llu sched %lld "
            "sent %lld\n",
            who, s->status, s->reason, s->has_identity, (unsigned)s->instance, (unsigned)s->lane,
            (unsigned long long)s->seq, (long long)s->sched_ns, (long long)s->sent_ns);
}

/* The structured decoder under test: runs the fast decoder and the jansson
 * reference and requires the same status, has_identity, instance, lane, seq,
 * sched_ns and sent_ns; the same reason too when jansson accepts the JSON
 * (both then run the same checks); and the scanner on its own must say
 * "JSON" exactly when jansson does (unless it is beyond its limits). The
 * fast decoder's verdict is returned in *s. */
static void decode(const char *p, size_t n, const char *run, ev_ce_seen *s)
{
    ev_ce_seen r;
    ev_ce_decode_structured(p, n, run, s);
    ev_ce_decode_structured_ref(p, n, run, &r);
    int valid = p ? jansson_accepts(p, n) : 0;
    int sc = ev_ce_json_scan_check(p, n);
    diff_runs++;
    diff_valid += valid;
    if (sc < 0)
        diff_limit++;
    int same = s->status == r.status && s->has_identity == r.has_identity &&
               s->instance == r.instance && s->lane == r.lane && s->seq == r.seq &&
               s->sched_ns == r.sched_ns && s->sent_ns == r.sent_ns;
    if (valid && strcmp(s->reason, r.reason) != 0)
        same = 0;
    if (sc >= 0 && sc != valid)
        same = 0;
    if (!same) {
        dump_input(p, n);
        fprintf(stderr, "jansson accepts: %d, scanner: %d\n", valid, sc);
        dump_seen("fast", s);
        dump_seen("ref ", &r);
        EV_FAIL_("fast and reference structured decoders disagree");
    }
    ev_test_checks++;
}

/* A validator vector through both decoders too: as it is (foreign unless it
 * carries evloadrun) and with our evloadrun spliced in first, so that the
 * CloudEvents checks decide the verdict. */
static void decode_vector(const char *text, size_t n)
{
    ev_ce_seen s;
    decode(text, n, RUN, &s);
    if (n == 0 || text[0] != '{')
        return;
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_buf_puts(&b, "{\"evloadrun\":\"" RUN "\""), ==, 0);
    if (n > 1 && text[1] != '}')
        CHECK_INT(ev_buf_puts(&b, ","), ==, 0);
    CHECK_INT(ev_buf_append(&b, text + 1, n - 1), ==, 0);
    decode(b.p, b.len, RUN, &s);
    ev_buf_free(&b);
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
        if (rc)
            fprintf(stderr, "%s\n%s\n", err.msg, b.p);
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
        decode(b.p, b.len, RUN, &s);
        if (s.status)
            fprintf(stderr, "reason: %s\n", s.reason);
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
    decode(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);
    CHECK_INT(s.sched_ns, ==, -5);
    CHECK_INT(s.sent_ns, ==, -1);
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 1, INT64_MIN, INT64_MAX, &b), ==, 0);
    CHECK(strstr(b.p, "\"evloadsched\":\"-9223372036854775808\"") != NULL);
    CHECK(strstr(b.p, "\"time\":\"2262-04-11T23:47:16.854775807Z\"") != NULL);
    decode(b.p, b.len, RUN, &s);
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
        if (strcmp(got, want) != 0)
            fprintf(stderr, "ns=%lld\n", (long long)ns);
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
    decode(b.p, b.len, RUN, &s);
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
        if (s.status)
            fprintf(stderr, "reason: %s\n", s.reason);
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
    decode_vector(buf, strlen(buf));
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
        if (rc)
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
        CHECK_INT(rc, ==, 0);
    }
    static const char *sources[] = {"\"1-555-123-4567\"", "\"urn:event:from:x\"",
                                    "\"https://[::1]:8080/a%20b?q#f\"", "\"mailto:a@b.c\""};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":%s,\"type\":\"t\"}", sources[i]);
        ev_err err = {{0}};
        decode_vector(buf, strlen(buf));
        int rc = ev_ce_validate_json(buf, strlen(buf), &err);
        if (rc)
            fprintf(stderr, "%s: %s\n", sources[i], err.msg);
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
        decode_vector(bad[i].text, strlen(bad[i].text));
        int rc = ev_ce_validate_json(bad[i].text, strlen(bad[i].text), &err);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i].text);
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

    decode(b.p, b.len, "0123456789ab", &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_HAS(s.reason, "another run");
    CHECK_INT(s.has_identity, ==, 0);

    replace(&b, "\"evloadrun\":\"" RUN "\",", "");
    decode(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_STR(s.reason, "no evloadrun attribute");

    static const char hello[] = "hello";
    decode(hello, 5, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    CHECK_HAS(s.reason, "not JSON");

    static const char other[] =
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/o\",\"type\":\"t\"}";
    decode(other, sizeof other - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    /* Invalid CloudEvents from another run is still just foreign. */
    static const char inv[] = "{\"specversion\":\"2.0\",\"evloadrun\":\"zzz\"}";
    decode(inv, sizeof inv - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    static const char num[] = "{\"specversion\":\"1.0\",\"evloadrun\":5}";
    decode(num, sizeof num - 1, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    decode(NULL, 0, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);
    decode("", 0, RUN, &s);
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
    decode(b.p, b.len, RUN, &s);
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
    decode(b.p, b.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "evloadseq");
    CHECK_INT(s.has_identity, ==, 0);

    /* truncated, with our run id in it */
    ev_buf_reset(&b);
    CHECK_INT(ev_ce_encode_structured(t, 77, SCHED, SENT, &b), ==, 0);
    decode(b.p, b.len / 2, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_HAS(s.reason, "not JSON");
    /* truncated before the run id: nothing says it is ours */
    decode(b.p, 20, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_FOREIGN);

    /* our run but invalid CloudEvents: corrupt with the violation, identity kept */
    ev_buf c = EV_BUF_INIT;
    CHECK_INT(ev_buf_append(&c, b.p, b.len), ==, 0);
    replace(&c, "\"specversion\":\"1.0\"", "\"specversion\":\"1.1\"");
    decode(c.p, c.len, RUN, &s);
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
        decode(c.p, c.len, RUN, &s);
        CHECK_INT(s.status, ==, EV_CE_CORRUPT);
        CHECK_HAS(s.reason, why[i]);
    }

    /* no data at all */
    ev_buf_reset(&c);
    CHECK_INT(ev_buf_append(&c, b.p, (size_t)(strstr(b.p, ",\"data\":") - b.p)), ==, 0);
    CHECK_INT(ev_buf_puts(&c, "}"), ==, 0);
    decode(c.p, c.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_CORRUPT);
    CHECK_STR(s.reason, "no data");
    CHECK_INT(s.has_identity, ==, 1);

    /* data written with an escaped key still finds its bytes */
    ev_buf_reset(&c);
    CHECK_INT(ev_buf_append(&c, b.p, b.len), ==, 0);
    replace(&c, "\"data\":", "\"d\\u0061ta\" : ");
    decode(c.p, c.len, RUN, &s);
    CHECK_INT(s.status, ==, EV_CE_OK);

    /* a reason never carries control bytes */
    static const char ctl[] = "{\"evloadrun\":\"\\u0007\\n\"}";
    decode(ctl, sizeof ctl - 1, RUN, &s);
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
        if (next() % 8 == 0)
            n = (size_t)(next() % (b.len + 1)); /* truncation */
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
        decode(m, n, RUN, &s);
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
            if (vn)
                val[next() % vn] = (char)next();
            a[k].value = val;
        }
        body = malloc(body_n);
        CHECK(body != NULL);
        memcpy(body, bin.body.p, body_n);
        if (k == bin.nattrs)
            body[next() % body_n] ^= (char)(1 + next() % 255);
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

/* ------------------------------------------------------------------------ */
/* Differential test: fast decoder vs jansson reference                     */
/* ------------------------------------------------------------------------ */

typedef struct snip {
    const char *p;
    size_t n;
} snip;
#define SN(s)                                                                                      \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

/* JSON-significant bytes and short texts to insert anywhere. */
static const snip tokens[] = {
    SN("{"),
    SN("}"),
    SN("["),
    SN("]"),
    SN("\""),
    SN(":"),
    SN(","),
    SN("\\"),
    SN(" "),
    SN("\t"),
    SN("\n"),
    SN("\r"),
    SN("0"),
    SN("1"),
    SN("-"),
    SN("+"),
    SN("."),
    SN("e"),
    SN("E"),
    SN("x"),
    SN("null"),
    SN("true"),
    SN("false"),
    SN("nul"),
    SN("True"),
    SN("\\u0001"),
    SN("\\ud800"),
    SN("\\udc00"),
    SN("\\ud800\\udc00"),
    SN("\\ud83f\\udfff"),
    SN("\\ud800\\u0041"),
    SN("\\u0000"),
    SN("\\u00e9"),
    SN("\\uFFFE"),
    SN("\\u002e"),
    SN("\\/"),
    SN("\\x"),
    SN("\\u12"),
    SN("\\uZZZZ"),
    SN("\xc0\xaf"),
    SN("\xe0\x80\xaf"),
    SN("\xed\xa0\x80"),
    SN("\xf4\x90\x80\x80"),
    SN("\xf0\x9f\x98\x80"),
    SN("\xc3\xa9"),
    SN("\xef\xbf\xbe"),
    SN("\xc2\x85"),
    SN("\x7f"),
    SN("\x80"),
    SN("\xff"),
    SN("\xc3"),
    SN("\x01"),
    SN("\x1f"),
    SN("\0"),
    SN("01"),
    SN("-0"),
    SN("1e999"),
    SN("-1e999"),
    SN("1e308"),
    SN("9e308"),
    SN("2e308"),
    SN("0.1e309"),
    SN("1.7976931348623157e308"),
    SN("1.7976931348623159e308"),
    SN("9223372036854775807"),
    SN("9223372036854775808"),
    SN("-9223372036854775808"),
    SN("-9223372036854775809"),
    SN("2147483648"),
    SN("-2147483649"),
    SN("1.5"),
    SN("1e-400"),
    SN("0e99999999999999999999"),
    SN("1."),
    SN(".5"),
    SN("1e"),
    SN("1e+"),
    SN("[]"),
    SN("{}"),
    SN("[1,]"),
    SN("{\"a\":1,}"),
    SN("{\"a\":1,\"a\":2}"),
    SN("{\"a\":1,\"\\u0061\":2}"),
    SN("\"\""),
    SN("1\0"),
    SN("true\0"),
};

/* Members to insert right after a '{' or ',' (top level or inside data). */
static const snip members[] = {
    SN("\"id\":\"x\","),
    SN("\"evloadrun\":\"" RUN "\","),
    SN("\"evloadrun\":\"zz\","),
    SN("\"seq\":1,"),
    SN("\"pad\":\"\","),
    SN("\"ext\":1,"),
    SN("\"ext\":1.0,"),
    SN("\"ext\":01,"),
    SN("\"ext\":1e999,"),
    SN("\"ext\":1e308,"),
    SN("\"ext\":9223372036854775808,"),
    SN("\"ext\":-9223372036854775808,"),
    SN("\"ext\":2147483648,"),
    SN("\"ext\":-2147483648,"),
    SN("\"ext\":true,"),
    SN("\"ext\":null,"),
    SN("\"ext\":[1,{\"a\":1,\"a\":2}],"),
    SN("\"ext\":[{\"a\":1},{\"a\":2}],"),
    SN("\"ext\":{\"b\":{\"c\":1,\"c\":1}},"),
    SN("\"ext\":{\"b\":{\"c\":1,\"d\":1}},"),
    SN("\"ext\":\"\\u0001\","),
    SN("\"ext\":\"\\ud83d\\ude00\","),
    SN("\"ext\":\"\\ufdd0\","),
    SN("\"e\\u0078t\":\"x\","),
    SN("\"data_base64\":\"aGk=\","),
    SN("\"data_base64\":\"aGk\","),
    SN("\"Ext\":\"x\","),
    SN("\"evl\\u006fadrun\":\"zz\","),
    SN("\"\\u0064ata\":1,"),
    SN("\"data\":null,"),
    SN("\"subject\":\"\","),
    SN("\"time\":\"2026-02-29T00:00:00Z\","),
    SN("\"dataschema\":\"http://x/\\u00e9\","),
    SN("\"ext\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","),
    SN("\"a\":1,\"a\":1,"),
    SN("\"\":0,"),
    SN("\"\\u0000\":0,"),
};

/* Values to put in place of an existing value. */
static const snip values[] = {
    SN("01"),
    SN("-0"),
    SN("1e999"),
    SN("9223372036854775808"),
    SN("9223372036854775807"),
    SN("-9223372036854775809"),
    SN("1.5"),
    SN("1E+2"),
    SN("2147483648"),
    SN("true"),
    SN("null"),
    SN("[]"),
    SN("{}"),
    SN("\"\""),
    SN("\"\\u0001\""),
    SN("\"\\ud800\""),
    SN("\"\\u0000\""),
    SN("\"\\u0031\""),
    SN("\"0\\u002e3\""),
    SN("\"a1b2c3d4e5f\\u0036\""),
    SN("\"\xc0\xaf\""),
    SN("{\"seq\":1,\"seq\":1}"),
    SN("[1,2"),
    SN("\"x"),
    SN("1\0"),
    SN("{\"a\":[{\"b\":{}}]}"),
};

static size_t pick(size_t n)
{
    return n ? (size_t)(next() % n) : 0;
}

/* Position of a random occurrence of one of chars in m[0..n), or n. */
static size_t random_of(const char *m, size_t n, const char *chars)
{
    unsigned char in[256] = {0};
    for (const char *c = chars; *c; c++)
        in[(unsigned char)*c] = 1;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += in[(unsigned char)m[i]];
    if (!hits)
        return n;
    size_t want = pick(hits);
    for (size_t i = 0; i < n; i++)
        if (in[(unsigned char)m[i]] && want-- == 0)
            return i;
    return n;
}

static void splice(ev_buf *b, size_t at, size_t del, const char *p, size_t n)
{
    ev_buf o = EV_BUF_INIT;
    if (at > b->len)
        at = b->len;
    if (del > b->len - at)
        del = b->len - at;
    CHECK_INT(ev_buf_append(&o, b->p, at), ==, 0);
    CHECK_INT(ev_buf_append(&o, p, n), ==, 0);
    CHECK_INT(ev_buf_append(&o, b->p + at + del, b->len - at - del), ==, 0);
    ev_buf_free(b);
    *b = o;
}

/* One random mutation of b (see the list in test_differential). */
static void mutate(ev_buf *b)
{
    size_t n = b->len;
    switch (next() % 14) {
    case 0: /* bit flip */
        if (n)
            b->p[pick(n)] ^= (char)(1 << (next() & 7));
        break;
    case 1: /* random byte */
        if (n)
            b->p[pick(n)] = (char)next();
        break;
    case 2: { /* token anywhere */
        const snip *t = &tokens[pick(sizeof tokens / sizeof tokens[0])];
        splice(b, pick(n + 1), 0, t->p, t->n);
        break;
    }
    case 3: { /* token at a structural place, or replacing a structural byte */
        const snip *t = &tokens[pick(sizeof tokens / sizeof tokens[0])];
        size_t at = random_of(b->p, n, "{}[]:,\"");
        splice(b, at + (next() & 1), next() % 3 == 0, t->p, t->n);
        break;
    }
    case 4: /* deletion */
        splice(b, pick(n), 1 + pick(4), "", 0);
        break;
    case 5: /* truncation */
        b->len = pick(n + 1);
        break;
    case 6: { /* a member after '{' or ',' (duplicates among them) */
        const snip *m = &members[pick(sizeof members / sizeof members[0])];
        size_t at = random_of(b->p, n, "{,");
        if (at < n)
            splice(b, at + 1, 0, m->p, m->n);
        break;
    }
    case 7: { /* a value replaced after ':' */
        const snip *v = &values[pick(sizeof values / sizeof values[0])];
        size_t at = random_of(b->p, n, ":");
        if (at < n) {
            size_t e = at + 1;
            if (e < n && b->p[e] == '"') {
                e++;
                while (e < n && b->p[e] != '"')
                    e += b->p[e] == '\\' ? 2 : 1;
                e++;
            } else {
                while (e < n && b->p[e] != ',' && b->p[e] != '}')
                    e++;
            }
            if (e > n)
                e = n;
            splice(b, at + 1, e - at - 1, v->p, v->n);
        }
        break;
    }
    case 8: { /* an ASCII letter or digit written as a \u escape (same text) */
        size_t at = random_of(b->p, n, "abcdefghijklmnopqrstuvwxyz0123456789.-/:");
        if (at < n && at > 0 && b->p[at - 1] != '\\') {
            char e[7];
            snprintf(e, sizeof e, "\\u%04x", (unsigned char)b->p[at]);
            splice(b, at, 1, e, 6);
        }
        break;
    }
    case 9: { /* a member duplicated: copy "…": … up to the next ',' */
        size_t at = random_of(b->p, n, "{,");
        if (at + 1 < n && b->p[at + 1] == '"') {
            size_t e = at + 1;
            while (e < n && b->p[e] != ',' && b->p[e] != '}')
                e++;
            if (e < n) {
                ev_buf m = EV_BUF_INIT;
                CHECK_INT(ev_buf_append(&m, b->p + at + 1, e - at - 1), ==, 0);
                CHECK_INT(ev_buf_puts(&m, ","), ==, 0);
                splice(b, at + 1, 0, m.p, m.len);
                ev_buf_free(&m);
            }
        }
        break;
    }
    case 10: { /* NUL after a number or keyword (jansson skips one) */
        size_t at = random_of(b->p, n, "0123456789el");
        if (at < n)
            splice(b, at + 1, 0, next() & 1 ? "\0" : "\0\0", next() & 1 ? 1 : 2);
        break;
    }
    case 11: { /* whitespace at a structural place */
        static const char *const ws[] = {" ", "\t", "\n", "\r", " \n ", "\f", "\v"};
        const char *w = ws[pick(7)];
        size_t at = random_of(b->p, n, "{}[]:,");
        splice(b, at + (next() & 1), 0, w, strlen(w));
        break;
    }
    case 12: { /* deep nesting in place of a value */
        /* around the scanner's limit (32) often, around jansson's (2048)
         * now and then: those are slow to build and parse */
        static const size_t depths[] = {30, 31, 32, 33, 34, 100, 2047, 2048, 2049};
        static char kinds[2049];
        size_t d = depths[next() % 16 ? pick(6) : 6 + pick(3)];
        size_t at = random_of(b->p, n, ":");
        if (at < n) {
            ev_buf v = EV_BUF_INIT;
            for (size_t k = 0; k < d; k++) {
                kinds[k] = next() % 4 ? '[' : '{';
                CHECK_INT(ev_buf_puts(&v, kinds[k] == '[' ? "[" : "{\"k\":"), ==, 0);
            }
            if (kinds[d - 1] == '{')
                CHECK_INT(ev_buf_puts(&v, "1"), ==, 0);
            for (size_t k = d; k-- > 0;)
                CHECK_INT(ev_buf_puts(&v, kinds[k] == '[' ? "]" : "}"), ==, 0);
            CHECK_INT(ev_buf_puts(&v, next() & 1 ? "," : ",\"old\":"), ==, 0);
            splice(b, at + 1, 0, v.p, v.len); /* the old value follows */
            ev_buf_free(&v);
        }
        break;
    }
    default: { /* many keys in one object (beyond the scanner's table) */
        size_t at = random_of(b->p, n, "{");
        if (at < n) {
            ev_buf v = EV_BUF_INIT;
            size_t k = 100 + pick(60);
            for (size_t q = 0; q < k; q++) {
                char m[64];
                snprintf(m, sizeof m, "\"k%zu\":%zu,", next() % 8 == 0 ? (size_t)7 : q, q);
                CHECK_INT(ev_buf_puts(&v, m), ==, 0);
            }
            splice(b, at + 1, 0, v.p, v.len);
            ev_buf_free(&v);
        }
        break;
    }
    }
}

/* Edge cases of jansson's acceptance, each decoded raw and as data. */
static void test_json_edges(void)
{
    static const snip docs[] = {
        SN("[1\0]"),
        SN("{\"a\":1\0}"),
        SN("{\"a\":true\0}"),
        SN("[1\0\0]"),
        SN("[1.5\0]"),
        SN("[\"a\"\0]"),
        SN("[1]\0"),
        SN("[null\0,1]"),
        SN("[tru\0e]"),
        SN("[-\0]"),
        SN("{\"a\":1,\"\\u0061\":2}"),
        SN("[1e308]"),
        SN("[1.7976931348623157e308]"),
        SN("[1.7976931348623159e308]"),
        SN("[1e309]"),
        SN("[1e-999]"),
        SN("[-0]"),
        SN("[-0.0e-0]"),
        SN("[9223372036854775807]"),
        SN("[9223372036854775808]"),
        SN("[-9223372036854775808]"),
        SN("[-9223372036854775809]"),
        SN("[\"\x7f\"]"),
        SN("[\"\\ud800\"]"),
        SN("{\"a\":{\"b\":1,\"b\":2}}"),
        SN("[{\"b\":1},{\"b\":2}]"),
        SN("[\"\\u0000\"]"),
        SN("{\"\\u0000\":1}"),
        SN("[1 ]"),
        SN(" [1] \n"),
        SN("[01]"),
        SN("[1,]"),
        SN("[,1]"),
        SN("[\xef\xbf\xbe]"),
        SN("[\"\xed\xa0\x80\"]"),
        SN("[\"\xf4\x90\x80\x80\"]"),
        SN("[\"\xc0\x80\"]"),
        SN("[\"\xe0\x9f\xbf\"]"),
        SN("[\"\xf0\x8f\xbf\xbf\"]"),
        SN("[\"\xf4\x8f\xbf\xbf\"]"),
        SN("[\"\xc3\"]"),
        SN("[\"\xe2\x82\"]"),
        SN("[true\0 ]"),
        SN(""),
        SN(" "),
        SN("1"),
        SN("\"a\""),
        SN("null"),
        SN("[]"),
        SN("{}"),
        SN("[[]]"),
        SN("{\"a\":[]}"),
        SN("{\"a\"}"),
        SN("{\"a\" 1}"),
        SN("{1:1}"),
        SN("[1 2]"),
        SN("[\"\\a\"]"),
        SN("[\"\\u00G0\"]"),
        SN("[\"\\uD83D\\uDE00\"]"),
        SN("[\"\\uDE00\\uD83D\"]"),
        SN("[\"\\uD83D\\\\uDE00\"]"),
        SN("[\"\t\"]"),
        SN("\xef\xbb\xbf[]"),
        SN("[1]]"),
        SN("[[1]"),
        SN("{\"a\":1}}"),
        SN("[-]"),
        SN("[1.e1]"),
        SN("[1e+1]"),
        SN("[1E-1]"),
        SN("[+1]"),
        SN("[0x1]"),
        SN("[Infinity]"),
        SN("[NaN]"),
        SN("[1e99999999999999999999999]"),
        SN("[0e99999999999999999999999]"),
        SN("[0.00000e400]"),
        SN("[0.001e311]"),
        SN("[0.001e312]"),
        SN("[100e306]"),
        SN("[10e307]"),
        SN("[9.9e307]"),
        SN("[123456789012345678901234567890e280]"),
        SN("[\"\\/\"]"),
        SN("[\"/\"]"),
        SN("{\"a\":1,\"b\":2,\"a\":3}"),
        SN("{\"\":1,\"\":2}"),
        SN("{\"abcdefghij\":1,\"abcdefghik\":2}"),
        SN("{\"abcdefghijklmnopq\":1,\"abcdefghXjklmnopq\":2}"),
        SN("{\"abcdefghijklmnopq\":1,\"abcdefgh\\u0069jklmnopq\":2}"),
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        ev_ce_seen s;
        decode(docs[i].p, docs[i].n, RUN, &s);
        decode(docs[i].p, docs[i].n, NULL, &s);
        /* as the data of an event of ours, and as an extension value */
        char buf[512];
        int k = snprintf(buf, sizeof buf,
                         "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\","
                         "\"evloadrun\":\"" RUN "\",\"data\":");
        CHECK(k > 0 && (size_t)k + docs[i].n + 1 < sizeof buf);
        memcpy(buf + k, docs[i].p, docs[i].n);
        buf[(size_t)k + docs[i].n] = '}';
        decode(buf, (size_t)k + docs[i].n + 1, RUN, &s);
        memcpy(buf + k - 7, "\"ext\": ", 7); /* "data": -> "ext": , same length */
        decode(buf, (size_t)k + docs[i].n + 1, RUN, &s);
    }
}

/* A random JSON value (often with duplicate keys: keys come from a small
 * alphabet) appended to b. */
static void gen_value(ev_buf *b, int depth)
{
    static const char *const scalars[] = {"0",
                                          "-0",
                                          "1",
                                          "-1",
                                          "12.5e-3",
                                          "1E9",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "9223372036854775808",
                                          "1e308",
                                          "1e309",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"a\"",
                                          "\"\\u00e9\\ud83d\\ude00\\n\"",
                                          "\"\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\"",
                                          "\"\\u0000\"",
                                          "\"\\udc00\"",
                                          "\"\x7f\"",
                                          "\"\\\"\\\\\\/\""};
    static const char *const keys[] = {"a",       "b", "\\u0061",   "seq",          "data",
                                       "\\u0062", "",  "evloadrun", "abcdefghijkl", "abcdefghijkm"};
    unsigned r = (unsigned)(next() % 10);
    if (depth >= 4 || r < 5) {
        CHECK_INT(ev_buf_puts(b, scalars[pick(sizeof scalars / sizeof scalars[0])]), ==, 0);
        return;
    }
    int obj = r < 8;
    size_t k = pick(5);
    CHECK_INT(ev_buf_puts(b, obj ? "{" : "["), ==, 0);
    for (size_t i = 0; i < k; i++) {
        if (i)
            CHECK_INT(ev_buf_puts(b, next() % 3 ? "," : " , "), ==, 0);
        if (obj) {
            CHECK_INT(ev_buf_puts(b, "\""), ==, 0);
            CHECK_INT(ev_buf_puts(b, keys[pick(sizeof keys / sizeof keys[0])]), ==, 0);
            CHECK_INT(ev_buf_puts(b, next() % 3 ? "\":" : "\"\n:\t"), ==, 0);
        }
        gen_value(b, depth + 1);
    }
    CHECK_INT(ev_buf_puts(b, obj ? "}" : "]"), ==, 0);
}

/* The scanner alone against jansson on 60k random JSON texts, half of them
 * mutated, top-level objects and arrays; each also through decode(). */
static void test_scan_random(void)
{
    rng = 0xD1B54A32D192ED03ull; /* fixed seed */
    ev_buf b = EV_BUF_INIT;
    long valid = 0, limit = 0;
    for (int it = 0; it < 60000; it++) {
        ev_buf_reset(&b);
        if (next() % 4 == 0)
            CHECK_INT(ev_buf_puts(&b, " "), ==, 0);
        CHECK_INT(ev_buf_puts(&b, next() % 4 ? "{\"evloadrun\":\"" RUN "\",\"x\":" : "["), ==, 0);
        gen_value(&b, 1);
        CHECK_INT(ev_buf_puts(&b, b.p[b.p[0] == ' '] == '{' ? "}" : "]"), ==, 0);
        if (next() & 1)
            mutate(&b);
        char *m = malloc(b.len ? b.len : 1);
        CHECK(m != NULL);
        memcpy(m, b.p, b.len);
        int sc = ev_ce_json_scan_check(m, b.len), ok = jansson_accepts(m, b.len);
        if (sc >= 0 && sc != ok) {
            dump_input(m, b.len);
            EV_FAIL_("scanner says %d, jansson %d", sc, ok);
        }
        ev_test_checks++;
        valid += ok;
        limit += sc < 0;
        ev_ce_seen s;
        decode(m, b.len, RUN, &s);
        free(m);
    }
    fprintf(stderr, "   60000 random texts: %ld valid JSON, %ld beyond the scanner's limits\n",
            valid, limit);
    ev_buf_free(&b);
}

/* 220k random mutations of valid events (fixed seed): byte flips and random
 * bytes, JSON tokens and bad escapes/UTF-8/numbers inserted anywhere or at
 * structural places, deletions, truncations, members inserted at the top
 * level and inside data (duplicates, odd numbers, escaped names), values
 * replaced, letters rewritten as \u escapes (same text: must stay OK),
 * members duplicated, NULs after numbers, whitespace, deep nesting and
 * objects with more keys than the scanner's table. */
static void test_differential(void)
{
    static const char *const tmpls[] = {
        NULL,
        "{\"k\":[1,{\"z\":\"w\"}],\"s\":\"\\\"\"}",
        "{\"name\":\"h\\u00e9llo \\u2603\",\"n\":-0.5e-3,\"arr\":[true,false,null,{}],"
        "\"o\":{\"x\":{\"y\":[]}},\"big\":9223372036854775807}",
    };
    static const size_t sizes[] = {0, 64, 256};
    ev_ce_template *t[3][3];
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            t[i][j] = make(sizes[j], tmpls[i], (uint32_t)i, (uint32_t)(j + 1));
    rng = 0x9E3779B97F4A7C15ull; /* fixed seed */
    long before = diff_runs, limit0 = diff_limit, valid0 = diff_valid;
    int counts[3] = {0};
    ev_buf b = EV_BUF_INIT;
    const long n_mut = 220000;
    for (long it = 0; it < n_mut; it++) {
        ev_ce_template *tt = t[pick(3)][pick(3)];
        ev_buf_reset(&b);
        CHECK_INT(ev_ce_encode_structured(tt, 1 + next() % 1000000, SCHED, SENT, &b), ==, 0);
        int ops = 1 + (int)(next() % 3);
        for (int k = 0; k < ops; k++)
            mutate(&b);
        /* an exact-size heap copy, so ASan sees any overread */
        char *m = malloc(b.len ? b.len : 1);
        CHECK(m != NULL);
        memcpy(m, b.p, b.len);
        ev_ce_seen s;
        decode(m, b.len, RUN, &s);
        counts[s.status]++;
        free(m);
    }
    fprintf(stderr,
            "   %ld mutations: ok %d, foreign %d, corrupt %d; valid JSON %ld; beyond the "
            "scanner's limits %ld\n",
            diff_runs - before, counts[0], counts[1], counts[2], diff_valid - valid0,
            diff_limit - limit0);
    CHECK_INT(diff_runs - before, ==, n_mut);
    CHECK_INT(counts[0], >, 1000);
    CHECK_INT(counts[2], >, 1000);
    ev_buf_free(&b);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            ev_ce_template_free(t[i][j]);
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
    EV_RUN(test_json_edges);
    EV_RUN(test_differential);
    EV_RUN(test_scan_random);
    fprintf(stderr,
            "   differential: %ld structured decodes compared, %ld beyond the scanner's limits\n",
            diff_runs, diff_limit);
    EV_DONE();
}
