/* Target parameters (ev_param): typed values with defaults, every kind of
 * bad value and unknown key worded with the parameter named, secrets never
 * echoed, repeated parameters, and the help forms. */
#include "ev_clock.h"
#include "ev_param.h"
#include "ev_test.h"

static const char *const colours[] = {"red", "green", "blue", NULL};

static const ev_param defs[] = {
    {"queue", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_NONEMPTY, "queue name"},
    {"prefix", EV_PT_STRING, "bull", 0, 0, NULL, 0, "key prefix"},
    {"durable", EV_PT_BOOL, "1", 0, 0, NULL, 0, "durable"},
    {"count", EV_PT_INT, "3", 1, 10, NULL, 0, "a count"},
    {"rate", EV_PT_NUMBER, "0.5", 0, 0, NULL, 0, "a rate"},
    {"drop", EV_PT_PROB, "0", 0, 0, NULL, 0, "a probability"},
    {"timeout", EV_PT_DURATION, "2s", EV_NS_PER_MS, 0, NULL, 0, "a timeout"},
    {"delay", EV_PT_DURRANGE, "0s", 0, 0, NULL, 0, "a delay"},
    {"colour", EV_PT_ENUM, "green", 0, 0, colours, 0, "a colour"},
    {"header", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_MULTI | EV_PF_SECRET, "a header"},
    {"token", EV_PT_STRING, NULL, 0, 0, NULL, EV_PF_SECRET | EV_PF_NONEMPTY, "a secret"},
    {NULL},
};

/* Parses url against defs; returns the status and leaves the message in err. */
static int parse(const char *url, ev_params **ps, ev_err *err)
{
    ev_url *u = NULL;
    *ps = NULL;
    CHECK_INT(ev_url_parse(url, &u, err), ==, 0);
    int rc = ev_params_parse(defs, u, "a hint", ps, err);
    ev_url_free(u);
    return rc;
}

static void bad(const char *url, const char *want)
{
    ev_params *ps = NULL;
    ev_err err;
    CHECK_INT(parse(url, &ps, &err), ==, EV_EUSAGE);
    CHECK(ps == NULL);
    CHECK_STR(err.msg, want);
}

static void test_defaults(void)
{
    ev_params *ps = NULL;
    ev_err err;
    CHECK_INT(parse("x://h", &ps, &err), ==, 0);
    CHECK(ev_param_str(ps, "queue") == NULL);
    CHECK_INT(ev_param_given(ps, "queue"), ==, 0);
    CHECK_STR(ev_param_str(ps, "prefix"), "bull");
    CHECK_INT(ev_param_bool(ps, "durable"), ==, 1);
    CHECK_INT(ev_param_int(ps, "count"), ==, 3);
    CHECK_DBL(ev_param_num(ps, "rate"), ==, 0.5);
    CHECK_DBL(ev_param_num(ps, "drop"), ==, 0.0);
    CHECK_INT(ev_param_dur(ps, "timeout"), ==, 2 * EV_NS_PER_S);
    int64_t lo = -1, hi = -1;
    ev_param_durrange(ps, "delay", &lo, &hi);
    CHECK_INT(lo, ==, 0);
    CHECK_INT(hi, ==, 0);
    CHECK_INT(ev_param_enum(ps, "colour"), ==, 1);
    CHECK_U64(ev_param_count(ps, "header"), ==, 0);
    ev_params_free(ps);
    ev_params_free(NULL);
}

static void test_values(void)
{
    ev_params *ps = NULL;
    ev_err err;
    CHECK_INT(parse("x://h?queue=q%201&durable=false&count=10&rate=2.5&drop=1&timeout=1m30s"
                    "&delay=20ms..40ms&colour=blue&header=a%3A1&header=b%3A2&prefix=p1&prefix=p2",
                    &ps, &err),
              ==, 0);
    CHECK_STR(ev_param_str(ps, "queue"), "q 1");
    CHECK_INT(ev_param_given(ps, "queue"), ==, 1);
    CHECK_STR(ev_param_str(ps, "prefix"), "p2"); /* the last one wins */
    CHECK_U64(ev_param_count(ps, "prefix"), ==, 1);
    CHECK_INT(ev_param_bool(ps, "durable"), ==, 0);
    CHECK_INT(ev_param_int(ps, "count"), ==, 10);
    CHECK_DBL(ev_param_num(ps, "rate"), ==, 2.5);
    CHECK_DBL(ev_param_num(ps, "drop"), ==, 1.0);
    CHECK_INT(ev_param_dur(ps, "timeout"), ==, 90 * EV_NS_PER_S);
    int64_t lo, hi;
    ev_param_durrange(ps, "delay", &lo, &hi);
    CHECK_INT(lo, ==, 20 * EV_NS_PER_MS);
    CHECK_INT(hi, ==, 40 * EV_NS_PER_MS);
    CHECK_INT(ev_param_enum(ps, "colour"), ==, 2);
    CHECK_U64(ev_param_count(ps, "header"), ==, 2); /* multi: every value, in order */
    CHECK_STR(ev_param_at(ps, "header", 0), "a:1");
    CHECK_STR(ev_param_at(ps, "header", 1), "b:2");
    CHECK(ev_param_at(ps, "header", 2) == NULL);
    ev_params_free(ps);
}

static void test_errors(void)
{
    bad("x://u:pw@h?qeue=a",
        "target x://u:***@h?qeue=a: unknown parameter \"qeue\" (did you mean \"queue\"?); x:// "
        "takes queue, prefix, durable, count, rate, drop, timeout, delay, colour, header, token; "
        "a hint");
    bad("x://h?zzzzzzzz=1", "target x://h?zzzzzzzz=1: unknown parameter \"zzzzzzzz\"; x:// takes "
                            "queue, prefix, durable, count, rate, drop, timeout, delay, colour, "
                            "header, token; a hint");
    bad("x://h?queue=", "target x://h?queue=: queue=\"\" is not a non-empty string");
    bad("x://h?durable=yes",
        "target x://h?durable=yes: durable=\"yes\" is not 1, 0, true or false; expected e.g. "
        "durable=1");
    bad("x://h?count=11",
        "target x://h?count=11: count=\"11\" is not a whole number from 1 to 10; expected e.g. "
        "count=3");
    bad("x://h?count=2x", "target x://h?count=2x: count=\"2x\" is not a whole number from 1 to "
                          "10; expected e.g. count=3");
    bad("x://h?rate=inf", "target x://h?rate=inf: rate=\"inf\" is not a number; expected e.g. "
                          "rate=0.5");
    bad("x://h?drop=1.5", "target x://h?drop=1.5: drop=\"1.5\" is not a probability from 0 to 1");
    bad("x://h?timeout=0s", "target x://h?timeout=0s: timeout=\"0s\" is not a duration such as "
                            "2s of at least 1ms; expected e.g. timeout=2s");
    bad("x://h?timeout=5", "target x://h?timeout=5: timeout=\"5\" is not a duration such as 2s "
                           "of at least 1ms; expected e.g. timeout=2s");
    bad("x://h?delay=40ms..20ms", "target x://h?delay=40ms..20ms: delay=\"40ms..20ms\" is not a "
                                  "duration or MIN..MAX such as 20ms..40ms");
    bad("x://h?colour=Blue", "target x://h?colour=Blue: colour=\"Blue\" is not red, green or "
                             "blue; expected e.g. colour=green");
    /* A secret's value is never echoed. */
    bad("x://h?token=", "target x://h?token=: token=\"***\" is not a non-empty string");
}

static void test_mask(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(
        ev_url_parse("x://me:pw@h/p?queue=q&token=s3cret&header=A%3Ab&token&header=x#f", &u, &err),
        ==, 0);
    CHECK_INT(ev_params_mask(defs, u, &err), ==, 0);
    CHECK_STR(u->redacted, "x://me:***@h/p?queue=q&token=***&header=***&token&header=***#f");
    ev_url_free(u);
    CHECK_INT(ev_url_parse("x://h", &u, &err), ==, 0);
    CHECK_INT(ev_params_mask(defs, u, &err), ==, 0);
    CHECK_STR(u->redacted, "x://h");
    ev_url_free(u);
}

static void test_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    ev_param_print(f, defs);
    ev_param_print_md(f, defs);
    fclose(f);
    CHECK_HAS(buf, "  colour");
    CHECK_HAS(buf, "(red, green or blue)");
    CHECK_HAS(buf, "| `count` | integer | `3` | a count (a whole number from 1 to 10) |");
    CHECK_HAS(buf, "may be given more than once");
    free(buf);
    char form[128];
    ev_param_form(&defs[6], form, sizeof form);
    CHECK_STR(form, "a duration such as 2s of at least 1ms");
}

int main(void)
{
    EV_RUN(test_defaults);
    EV_RUN(test_values);
    EV_RUN(test_errors);
    EV_RUN(test_mask);
    EV_RUN(test_help);
    EV_DONE();
}
