/* test_threshold — the k6 grammar: parse table, error table, holds table. */
#include "ev_test.h"
#include "ev_threshold.h"

#define LAT_EXPECTED                                                                               \
    "expected AGG OP NUMBER with AGG one of p(N), avg, min, med, max, count and OP one of < <= > " \
    ">= == != (latencies in ms), e.g. \"p(95)<3000\""
#define CNT_EXPECTED                                                                               \
    "expected AGG OP NUMBER with AGG one of count, rate and OP one of < <= > >= == !=, e.g. "      \
    "\"count==0\", \"rate<0.01\""

static void test_parse_ok(void)
{
    static const struct {
        const char *metric, *expr;
        int latency;
        ev_agg agg;
        double pct;
        ev_op op;
        double bound;
    } t[] = {
        {"e2e", "p(95)<3000", 1, EV_AGG_P, 95, EV_OP_LT, 3000},
        {"e2e", " p( 99.9 ) <= 250.5 ", 1, EV_AGG_P, 99.9, EV_OP_LE, 250.5},
        {"e2e_sched", "p(100)<1e4", 1, EV_AGG_P, 100, EV_OP_LT, 10000},
        {"ack", "avg<500", 1, EV_AGG_AVG, 0, EV_OP_LT, 500},
        {"sched_lag", "min>=0", 1, EV_AGG_MIN, 0, EV_OP_GE, 0},
        {"queue_wait", "med>1", 1, EV_AGG_MED, 0, EV_OP_GT, 1},
        {"processing", "max!=7", 1, EV_AGG_MAX, 0, EV_OP_NE, 7},
        {"e2e", "count>0", 1, EV_AGG_COUNT, 0, EV_OP_GT, 0},
        {"lost", "count==0", 0, EV_AGG_COUNT, 0, EV_OP_EQ, 0},
        {"publish_errors", "rate<0.01", 0, EV_AGG_RATE, 0, EV_OP_LT, 0.01},
        {"duplicated", "count <= 10", 0, EV_AGG_COUNT, 0, EV_OP_LE, 10},
        {"received", "count>=-1", 0, EV_AGG_COUNT, 0, EV_OP_GE, -1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ev_threshold th;
        ev_err e = {{0}};
        int rc = ev_threshold_parse(t[i].metric, t[i].expr, &th, &e);
        if (rc != EV_OK)
            fprintf(stderr, "%s %s: %s\n", t[i].metric, t[i].expr, e.msg);
        CHECK_INT(rc, ==, EV_OK);
        CHECK_STR(th.metric, t[i].metric);
        CHECK_STR(th.expr, t[i].expr);
        CHECK_INT(th.latency, ==, t[i].latency);
        CHECK_INT(th.agg, ==, t[i].agg);
        if (t[i].agg == EV_AGG_P)
            CHECK_DBL(th.pct, ==, t[i].pct);
        CHECK_INT(th.op, ==, t[i].op);
        CHECK_DBL(th.bound, ==, t[i].bound);
    }
}

static void test_parse_errors(void)
{
    static const struct {
        const char *metric, *expr, *msg;
    } t[] = {
        {"e2ee", "p(95)<1", "unknown threshold metric \"e2ee\"; did you mean \"e2e\"?"},
        {"lots", "count==0", "unknown threshold metric \"lots\"; did you mean \"lost\"?"},
        {"publish_error", "rate<1",
         "unknown threshold metric \"publish_error\"; did you mean \"publish_errors\"?"},
        {"zzzzzzzz", "count==0",
         "unknown threshold metric \"zzzzzzzz\"; expected a latency (e2e, e2e_sched, ack, "
         "sched_lag, queue_wait, processing, connect, reconnect, first_event, ping_rtt), a "
         "counter (lost, pending, late, unexpected, "
         "duplicated, redelivered, unconfirmed, recovered, reordered, corrupted, foreign, "
         "delivered, received, publish_errors) or a time in seconds (recovery)"},
        {"e2e", "p95<3000",
         "bad threshold \"p95<3000\" for e2e (p needs a percentile, as in p(95)); " LAT_EXPECTED},
        {"e2e", "p(95<3000",
         "bad threshold \"p(95<3000\" for e2e (missing ')' after the percentile); " LAT_EXPECTED},
        {"e2e", "p(0)<1",
         "bad threshold \"p(0)<1\" for e2e (the percentile must be > 0 and <= 100); " LAT_EXPECTED},
        {"e2e", "p(101)<1",
         "bad threshold \"p(101)<1\" for e2e (the percentile must be > 0 and <= "
         "100); " LAT_EXPECTED},
        {"e2e", "mean<1", "bad threshold \"mean<1\" for e2e (unknown aggregate); " LAT_EXPECTED},
        {"e2e", "", "bad threshold \"\" for e2e (no aggregate); " LAT_EXPECTED},
        {"e2e", "avg 500",
         "bad threshold \"avg 500\" for e2e (no comparison operator); " LAT_EXPECTED},
        {"e2e", "avg=500",
         "bad threshold \"avg=500\" for e2e (no comparison operator); " LAT_EXPECTED},
        {"e2e", "avg<",
         "bad threshold \"avg<\" for e2e (the bound is not a number); " LAT_EXPECTED},
        {"e2e", "avg<3s",
         "bad threshold \"avg<3s\" for e2e (the bound is not a number); " LAT_EXPECTED},
        {"e2e", "avg<inf",
         "bad threshold \"avg<inf\" for e2e (the bound is not a number); " LAT_EXPECTED},
        {"e2e", "avg<0x10",
         "bad threshold \"avg<0x10\" for e2e (the bound is not a number); " LAT_EXPECTED},
        {"e2e", "rate<0.1",
         "bad threshold \"rate<0.1\" for e2e (rate does not apply to a latency); " LAT_EXPECTED},
        {"lost", "count===0",
         "bad threshold \"count===0\" for lost (unknown operator); " CNT_EXPECTED},
        {"lost", "avg<1",
         "bad threshold \"avg<1\" for lost (only count and rate apply to a "
         "counter); " CNT_EXPECTED},
        {"lost", "p(99)<1",
         "bad threshold \"p(99)<1\" for lost (only count and rate apply to a "
         "counter); " CNT_EXPECTED},
        {"lost", "count==0 junk",
         "bad threshold \"count==0 junk\" for lost (the bound is not a number); " CNT_EXPECTED},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ev_threshold th;
        ev_err e = {{0}};
        CHECK_INT(ev_threshold_parse(t[i].metric, t[i].expr, &th, &e), ==, EV_EUSAGE);
        CHECK_STR(e.msg, t[i].msg);
    }
    /* Longer than ev_threshold.expr can hold: shown shortened. */
    char big[120];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "count<", 6);
    ev_threshold th;
    ev_err e = {{0}};
    CHECK_INT(ev_threshold_parse("lost", big, &th, &e), ==, EV_EUSAGE);
    CHECK_HAS(e.msg, "...\" for lost (longer than 95 characters); ");
}

static void test_holds(void)
{
    static const struct {
        const char *metric, *expr;
        double value;
        int holds;
    } t[] = {
        {"lost", "count==0", 0, 1},
        {"lost", "count==0", 1, 0},
        {"lost", "count!=0", 1, 1},
        {"lost", "count!=0", 0, 0},
        {"e2e", "p(95)<3000", 2999.9, 1},
        {"e2e", "p(95)<3000", 3000, 0},
        {"e2e", "p(95)<=3000", 3000, 1},
        {"e2e", "p(95)<=3000", 3000.1, 0},
        {"ack", "avg>5", 5.1, 1},
        {"ack", "avg>5", 5, 0},
        {"ack", "avg>=5", 5, 1},
        {"ack", "avg>=5", 4.9, 0},
        {"publish_errors", "rate<0.01", 0.009, 1},
        {"publish_errors", "rate<0.01", 0.01, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ev_threshold th;
        CHECK_INT(ev_threshold_parse(t[i].metric, t[i].expr, &th, NULL), ==, EV_OK);
        CHECK_INT(ev_threshold_holds(&th, t[i].value), ==, t[i].holds);
    }
}

static void test_metric_known(void)
{
    static const char *const known[] = {
        "e2e",       "e2e_sched",  "ack",         "sched_lag",   "queue_wait",  "processing",
        "connect",   "reconnect",  "first_event", "ping_rtt",    "lost",        "pending",
        "late",      "unexpected", "duplicated",  "redelivered", "unconfirmed", "recovered",
        "reordered", "corrupted",  "foreign",     "delivered",   "received",    "publish_errors"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        CHECK_INT(ev_threshold_metric_known(known[i]), ==, 1);
    CHECK_INT(ev_threshold_metric_known("E2E"), ==, 0);
    CHECK_INT(ev_threshold_metric_known(""), ==, 0);
    /* Publish side: what a publish-only run (verify.groups 0) can judge. */
    CHECK_INT(ev_threshold_publish_side("ack"), ==, 1);
    CHECK_INT(ev_threshold_publish_side("sched_lag"), ==, 1);
    CHECK_INT(ev_threshold_publish_side("publish_errors"), ==, 1);
    CHECK_INT(ev_threshold_publish_side("e2e"), ==, 0);
    CHECK_INT(ev_threshold_publish_side("lost"), ==, 0);
    CHECK_INT(ev_threshold_publish_side(NULL), ==, 0);
    CHECK_INT(ev_threshold_metric_known(NULL), ==, 0);
}

static void test_tags(void)
{
    ev_threshold t;
    ev_err e = {{0}};
    CHECK_INT(ev_threshold_parse("e2e{stream:parser}", "p(95)<3000", &t, &e), ==, EV_OK);
    CHECK_STR(t.metric, "e2e{stream:parser}");
    CHECK_STR(t.base, "e2e");
    CHECK_INT(t.tag, ==, EV_TAG_STREAM);
    CHECK_STR(t.tag_value, "parser");
    CHECK_INT(t.latency, ==, 1);
    CHECK_INT(ev_threshold_parse("lost{output:dlq}", "count==0", &t, &e), ==, EV_OK);
    CHECK_INT(t.tag, ==, EV_TAG_OUTPUT);
    CHECK_INT(ev_threshold_parse("ack{stage:stage 2/3}", "p(99)<5", &t, &e), ==, EV_OK);
    CHECK_STR(t.tag_value, "stage 2/3");
    CHECK_INT(ev_threshold_publish_side("ack{stage:x}"), ==, 1);
    CHECK_INT(ev_threshold_publish_side("lost{stream:x}"), ==, 0);
    static const struct {
        const char *metric, *want;
    } bad[] = {
        {"e2e{strem:a}", "threshold metric \"e2e{strem:a}\": unknown tag; expected {stream:NAME}, "
                         "{output:NAME} or {stage:NAME}"},
        {"e2e{stream:}", "threshold metric \"e2e{stream:}\": expected METRIC{KEY:VALUE} with one "
                         "tag, e.g. \"e2e{stream:parser}\""},
        {"e2e{stream:a", "threshold metric \"e2e{stream:a\": expected METRIC{KEY:VALUE} with one "
                         "tag, e.g. \"e2e{stream:parser}\""},
        {"foreign{stream:a}", "threshold metric \"foreign{stream:a}\": {stream:…} applies to "
                              "every metric but queue_wait, processing, foreign, unexpected and "
                              "recovery"},
        {"lost{stage:spike}",
         "threshold metric \"lost{stage:spike}\": {stage:…} applies to e2e, ack and recovery"},
        {"ack{output:o}",
         "threshold metric \"ack{output:o}\": {output:…} applies to the counters, e2e and "
         "e2e_sched"},
        {"e3e{stream:a}", "unknown threshold metric \"e3e\"; did you mean \"e2e\"?"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(ev_threshold_parse(bad[i].metric, "count==0", &t, &e), ==, EV_EUSAGE);
        CHECK_STR(e.msg, bad[i].want);
        CHECK_INT(ev_threshold_metric_known(bad[i].metric), ==, 0);
    }
}

int main(void)
{
    EV_RUN(test_parse_ok);
    EV_RUN(test_parse_errors);
    EV_RUN(test_holds);
    EV_RUN(test_metric_known);
    EV_RUN(test_tags);
    EV_DONE();
}
