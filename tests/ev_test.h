/* ev_test — a minimal test harness in libuv's manner: one test binary per
 * module, each check prints both sides when it fails, and a failure ends the
 * process with status 1 (CTest reports it). Every test file defines main() as
 * a list of EV_RUN(test_fn) calls and ends with EV_DONE(). */
#ifndef EV_TEST_H
#define EV_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ev_test_checks;

#define EV_FAIL_(...)                                                                              \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        ev_test_checks++;                                                                          \
        if (!(cond))                                                                               \
            EV_FAIL_("check failed: %s", #cond);                                                   \
    } while (0)

#define CHECK_INT(a, op, b)                                                                        \
    do {                                                                                           \
        long long ev_a_ = (long long)(a), ev_b_ = (long long)(b);                                  \
        ev_test_checks++;                                                                          \
        if (!(ev_a_ op ev_b_))                                                                     \
            EV_FAIL_("check failed: %s %s %s (%lld %s %lld)", #a, #op, #b, ev_a_, #op, ev_b_);     \
    } while (0)

#define CHECK_U64(a, op, b)                                                                        \
    do {                                                                                           \
        unsigned long long ev_a_ = (unsigned long long)(a), ev_b_ = (unsigned long long)(b);       \
        ev_test_checks++;                                                                          \
        if (!(ev_a_ op ev_b_))                                                                     \
            EV_FAIL_("check failed: %s %s %s (%llu %s %llu)", #a, #op, #b, ev_a_, #op, ev_b_);     \
    } while (0)

#define CHECK_DBL(a, op, b)                                                                        \
    do {                                                                                           \
        double ev_a_ = (double)(a), ev_b_ = (double)(b);                                           \
        ev_test_checks++;                                                                          \
        if (!(ev_a_ op ev_b_))                                                                     \
            EV_FAIL_("check failed: %s %s %s (%.9g %s %.9g)", #a, #op, #b, ev_a_, #op, ev_b_);     \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *ev_a_ = (a), *ev_b_ = (b);                                                     \
        ev_test_checks++;                                                                          \
        if (!ev_a_ || !ev_b_ || strcmp(ev_a_, ev_b_) != 0)                                         \
            EV_FAIL_("check failed: %s == %s (\"%s\" vs \"%s\")", #a, #b,                          \
                     ev_a_ ? ev_a_ : "(null)", ev_b_ ? ev_b_ : "(null)");                          \
    } while (0)

/* Substring check: haystack a contains b. */
#define CHECK_HAS(a, b)                                                                            \
    do {                                                                                           \
        const char *ev_a_ = (a), *ev_b_ = (b);                                                     \
        ev_test_checks++;                                                                          \
        if (!ev_a_ || !strstr(ev_a_, ev_b_))                                                       \
            EV_FAIL_("check failed: \"%s\" contains \"%s\"", ev_a_ ? ev_a_ : "(null)", ev_b_);     \
    } while (0)

#define EV_RUN(fn)                                                                                 \
    do {                                                                                           \
        fprintf(stderr, "-- %s\n", #fn);                                                           \
        fn();                                                                                      \
    } while (0)

#define EV_DONE()                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "ok: %d checks\n", ev_test_checks);                                        \
        return 0;                                                                                  \
    } while (0)

#endif
