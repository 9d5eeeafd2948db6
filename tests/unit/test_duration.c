/* test_duration — ev_parse_duration and ev_format_duration, as tables. */
#include "ev_scenario.h"
#include "ev_test.h"
#include "ev_text.h"

#define EXPECTED "expected e.g. \"500ms\", \"30s\", \"5m\", \"1h30m\""

static void test_parse_ok(void)
{
    static const struct {
        const char *text;
        int64_t ns;
    } t[] = {
        {"0s", 0},
        {"100ns", 100},
        {"250us", 250000},
        {"250\xc2\xb5s", 250000}, /* µs, micro sign */
        {"250\xce\xbcs", 250000}, /* μs, Greek mu */
        {"500ms", 500000000},
        {"30s", INT64_C(30000000000)},
        {"5m", INT64_C(300000000000)},
        {"1h", INT64_C(3600000000000)},
        {"1h30m", INT64_C(5400000000000)},
        {"1.5s", 1500000000},
        {"1.5h", INT64_C(5400000000000)},
        {".5s", 500000000},
        {"0.1s", 100000000},
        {"1.000s", 1000000000},
        {"0.000000001s", 1},
        {"1.5ms", 1500000},
        {"1m30.25s", INT64_C(90250000000)},
        {"1h2m3s4ms5us6ns", INT64_C(3723004005006)},
        {"2562047h47m16.854775807s", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t ns = -1;
        ev_err e = {{0}};
        int rc = ev_parse_duration(t[i].text, &ns, &e);
        if (rc != EV_OK)
            fprintf(stderr, "%s: %s\n", t[i].text, e.msg);
        CHECK_INT(rc, ==, EV_OK);
        CHECK_INT(ns, ==, t[i].ns);
    }
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *msg;
    } t[] = {
        {"", "\"\" is not a duration; " EXPECTED},
        {"30", "\"30\" is not a duration (a number without a unit); " EXPECTED},
        {"1h30", "\"1h30\" is not a duration (a number without a unit); " EXPECTED},
        {"30x", "\"30x\" is not a duration; " EXPECTED},
        {"s", "\"s\" is not a duration; " EXPECTED},
        {"5 s", "\"5 s\" is not a duration; " EXPECTED},
        {" 5s", "\" 5s\" is not a duration; " EXPECTED},
        {"5S", "\"5S\" is not a duration; " EXPECTED},
        {"1.2.3s", "\"1.2.3s\" is not a duration (a number without a unit); " EXPECTED},
        {"-5s", "\"-5s\" is not a duration (negative); " EXPECTED},
        {"1m1h", "\"1m1h\" is not a duration (units must go from largest to smallest, each "
                 "once); " EXPECTED},
        {"1s1s", "\"1s1s\" is not a duration (units must go from largest to smallest, each "
                 "once); " EXPECTED},
        {"1us1\xc2\xb5s", "\"1us1\xc2\xb5s\" is not a duration (units must go from largest to "
                          "smallest, each once); " EXPECTED},
        {"0.5ns", "\"0.5ns\" is not a duration (finer than 1ns); " EXPECTED},
        {"0.0000000001s", "\"0.0000000001s\" is not a duration (finer than 1ns); " EXPECTED},
        {"2562047h47m16.854775808s",
         "\"2562047h47m16.854775808s\" is too long a duration; expected at most "
         "2562047h47m16.854775807s"},
        {"99999999999999999999s",
         "\"99999999999999999999s\" is too long a duration; expected at most "
         "2562047h47m16.854775807s"},
        {"2562048h", "\"2562048h\" is too long a duration; expected at most "
                     "2562047h47m16.854775807s"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t ns = 42;
        ev_err e = {{0}};
        CHECK_INT(ev_parse_duration(t[i].text, &ns, &e), ==, EV_EUSAGE);
        CHECK_STR(e.msg, t[i].msg);
        CHECK_INT(ns, ==, 42); /* untouched */
    }
    ev_err e;
    int64_t ns;
    CHECK_INT(ev_parse_duration(NULL, &ns, &e), ==, EV_EUSAGE);
    CHECK_INT(ev_parse_duration("5s", &ns, NULL), ==, EV_OK); /* err may be NULL */
    CHECK_INT(ev_parse_duration("5", &ns, NULL), ==, EV_EUSAGE);
}

static void test_format(void)
{
    static const struct {
        int64_t ns;
        const char *text;
    } t[] = {
        {0, "0s"},
        {1, "1ns"},
        {999, "999ns"},
        {1000, "1us"},
        {1500, "1.5us"},
        {250000000, "250ms"},
        {1500000, "1.5ms"},
        {123456789, "123.456789ms"},
        {1000000000, "1s"},
        {1500000000, "1.5s"},
        {INT64_C(90000000000), "1m30s"},
        {INT64_C(60000000000), "1m"},
        {INT64_C(3600000000000), "1h"},
        {INT64_C(5400000000000), "1h30m"},
        {INT64_C(3600500000000), "1h0.5s"},
        {INT64_C(3723004005006), "1h2m3.004005006s"},
        {INT64_C(-90000000000), "-1m30s"},
        {INT64_MAX, "2562047h47m16.854775807s"},
        {INT64_MIN, "-2562047h47m16.854775808s"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char buf[64];
        ev_format_duration(t[i].ns, buf, sizeof buf);
        CHECK_STR(buf, t[i].text);
        /* Every non-negative form reads back exactly. */
        int64_t back = -1;
        if (t[i].ns >= 0) {
            CHECK_INT(ev_parse_duration(buf, &back, NULL), ==, EV_OK);
            CHECK_INT(back, ==, t[i].ns);
        }
    }
    char small[4];
    ev_format_duration(INT64_C(90000000000), small, sizeof small);
    CHECK_STR(small, "1m3");         /* truncated, still terminated */
    ev_format_duration(1, small, 0); /* no room: writes nothing */
}

int main(void)
{
    EV_RUN(test_parse_ok);
    EV_RUN(test_parse_errors);
    EV_RUN(test_format);
    EV_DONE();
}
