/* verify.match (ev_match) and the identities it reads: published ids and
 * W3C traceparent values both ways, RFC 6901 pointers (nesting, arrays,
 * ~0/~1 escapes), where each mode looks (headers in any case, binary
 * attributes, structured members), and another run's identities ignored. */
#include "ev_match.h"
#include "ev_outputs.h"
#include "ev_test.h"

static void test_traceparent(void)
{
    char tp[EV_TRACEPARENT_LEN + 1];
    ev_ce_traceparent("run1", 2, 513, 123456789, tp);
    CHECK_INT(strlen(tp), ==, EV_TRACEPARENT_LEN);
    CHECK(!strncmp(tp, "00-", 3));
    CHECK(!strcmp(tp + EV_TRACEPARENT_LEN - 3, "-01"));
    uint32_t in = 0, lane = 0;
    uint64_t seq = 0;
    CHECK_INT(ev_ce_traceparent_parse(tp, strlen(tp), "run1", &in, &lane, &seq), ==, 1);
    CHECK_INT(in, ==, 2);
    CHECK_INT(lane, ==, 513);
    CHECK_U64(seq, ==, 123456789);
    /* Another run's trace id, another version, bad hex, a short value. */
    CHECK_INT(ev_ce_traceparent_parse(tp, strlen(tp), "run2", &in, &lane, &seq), ==, 0);
    char bad[EV_TRACEPARENT_LEN + 1];
    memcpy(bad, tp, sizeof bad);
    bad[1] = '1';
    CHECK_INT(ev_ce_traceparent_parse(bad, strlen(bad), "run1", &in, &lane, &seq), ==, 0);
    memcpy(bad, tp, sizeof bad);
    bad[20] = 'G';
    CHECK_INT(ev_ce_traceparent_parse(bad, strlen(bad), "run1", &in, &lane, &seq), ==, 0);
    CHECK_INT(ev_ce_traceparent_parse(tp, 30, "run1", &in, &lane, &seq), ==, 0);
    /* Other flags are fine (a sampler may set 00). */
    memcpy(bad, tp, sizeof bad);
    bad[EV_TRACEPARENT_LEN - 1] = '0';
    CHECK_INT(ev_ce_traceparent_parse(bad, strlen(bad), "run1", &in, &lane, &seq), ==, 1);
}

static void test_id(void)
{
    uint32_t in, lane;
    uint64_t seq;
    CHECK_INT(ev_ce_id_parse("abc-0-3-17", 10, "abc", &in, &lane, &seq), ==, 1);
    CHECK_INT(lane, ==, 3);
    CHECK_U64(seq, ==, 17);
    static const char *const bad[] = {
        "abc-0-3-0",   "abc-0-3-",    "abc-0--17",   "abd-0-3-17",
        "abc-0-3-17x", "abc-0-3-1-7", "abcd-0-3-17", "abc-0-3-99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(ev_ce_id_parse(bad[i], strlen(bad[i]), "abc", &in, &lane, &seq), ==, 0);
}

static int ids(ev_match_kind kind, const char *arg, const ev_msg_view *m, ev_match_id *out)
{
    return ev_match_ids(kind, arg, m, "r9", out, 8);
}

static void test_json(void)
{
    ev_match_id id[8];
    const char *body = "{\"input\": {\"id\": \"r9-0-1-5\", \"all\": [\"r9-0-0-1\", \"x\", "
                       "\"r9-0-0-2\"], \"a/b\": \"r9-0-2-3\", \"m~n\": \"r9-0-2-4\"}, "
                       "\"other\": \"zz-0-0-1\"}";
    ev_msg_view m = {.body = body, .len = strlen(body)};
    CHECK_INT(ids(EV_MATCH_JSON, "/input/id", &m, id), ==, 1);
    CHECK_INT(id[0].lane, ==, 1);
    CHECK_U64(id[0].seq, ==, 5);
    CHECK_INT(ids(EV_MATCH_JSON, "/input/all", &m, id), ==, 2); /* "x" is not an id */
    CHECK_U64(id[1].seq, ==, 2);
    CHECK_INT(ids(EV_MATCH_JSON, "/input/all/2", &m, id), ==, 1);
    CHECK_INT(ids(EV_MATCH_JSON, "/input/all/02", &m, id), ==, 0); /* no leading zeros */
    CHECK_INT(ids(EV_MATCH_JSON, "/input/a~1b", &m, id), ==, 1);
    CHECK_U64(id[0].seq, ==, 3);
    CHECK_INT(ids(EV_MATCH_JSON, "/input/m~0n", &m, id), ==, 1);
    CHECK_U64(id[0].seq, ==, 4);
    CHECK_INT(ids(EV_MATCH_JSON, "/other", &m, id), ==, 0);   /* another run */
    CHECK_INT(ids(EV_MATCH_JSON, "/missing", &m, id), ==, 0); /* nothing there */
    ev_msg_view junk = {.body = "not json", .len = 8};
    CHECK_INT(ids(EV_MATCH_JSON, "/input/id", &junk, id), ==, 0);
    ev_msg_view whole = {.body = "\"r9-0-0-9\"", .len = 10};
    CHECK_INT(ids(EV_MATCH_JSON, "", &whole, id), ==, 1); /* "" is the whole document */
}

static void test_header_and_trace(void)
{
    ev_match_id id[8];
    char tp[EV_TRACEPARENT_LEN + 1];
    ev_ce_traceparent("r9", 0, 4, 77, tp);
    ev_ce_attr hdr[] = {{"X-Source-Id", 11, "r9-0-1-8", 8}, {"traceparent", 11, tp, strlen(tp)}};
    ev_msg_view m = {.body = "{}", .len = 2, .headers = hdr, .nheaders = 2};
    CHECK_INT(ids(EV_MATCH_HEADER, "x-source-id", &m, id), ==, 1); /* any case */
    CHECK_U64(id[0].seq, ==, 8);
    CHECK_INT(ids(EV_MATCH_TRACEPARENT, NULL, &m, id), ==, 1);
    CHECK_INT(id[0].lane, ==, 4);
    CHECK_U64(id[0].seq, ==, 77);
    /* Binary mode: the CloudEvents attribute. */
    ev_ce_attr at[] = {{"traceparent", 11, tp, strlen(tp)}, {"id", 2, "r9-0-3-2", 8}};
    ev_msg_view b = {.binary = 1, .body = "{}", .len = 2, .attrs = at, .nattrs = 2};
    CHECK_INT(ids(EV_MATCH_TRACEPARENT, NULL, &b, id), ==, 1);
    CHECK_INT(ids(EV_MATCH_ENVELOPE, NULL, &b, id), ==, 1); /* the id attribute */
    CHECK_U64(id[0].seq, ==, 2);
    CHECK_INT(ids(EV_MATCH_HEADER, "nope", &b, id), ==, 0);
    /* Structured: a top-level member. */
    char body[200];
    snprintf(body, sizeof body,
             "{\"id\": \"new-1\", \"traceparent\": \"%s\", \"src\": \"r9-0-0-6\"}", tp);
    ev_msg_view s = {.body = body, .len = strlen(body)};
    CHECK_INT(ids(EV_MATCH_TRACEPARENT, NULL, &s, id), ==, 1);
    CHECK_INT(ids(EV_MATCH_HEADER, "src", &s, id), ==, 1);
    CHECK_U64(id[0].seq, ==, 6);
    CHECK_INT(ids(EV_MATCH_ENVELOPE, NULL, &s, id), ==, 0); /* a new id: not ours */
}

static void test_parse_forms(void)
{
    ev_match_kind k;
    const char *arg;
    CHECK(ev_match_parse("envelope", &k, &arg) == NULL && k == EV_MATCH_ENVELOPE);
    CHECK(ev_match_parse("traceparent", &k, &arg) == NULL && k == EV_MATCH_TRACEPARENT);
    CHECK(ev_match_parse("header:x-id", &k, &arg) == NULL && k == EV_MATCH_HEADER);
    CHECK_STR(arg, "x-id");
    CHECK(ev_match_parse("json:/a/b", &k, &arg) == NULL && k == EV_MATCH_JSON);
    CHECK_STR(arg, "/a/b");
    CHECK(ev_match_parse("json:", &k, &arg) == NULL);
    CHECK(ev_match_parse("json:a", &k, &arg) != NULL);
    CHECK(ev_match_parse("json:/a~2", &k, &arg) != NULL);
    CHECK(ev_match_parse("header:", &k, &arg) != NULL);
    CHECK(ev_match_parse("header:a b", &k, &arg) != NULL);
    CHECK(ev_match_parse("id", &k, &arg) != NULL);
}

int main(void)
{
    EV_RUN(test_traceparent);
    EV_RUN(test_id);
    EV_RUN(test_json);
    EV_RUN(test_header_and_trace);
    EV_RUN(test_parse_forms);
    EV_DONE();
}
