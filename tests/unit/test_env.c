/* ${NAME} references to environment variables: the grammar, the escape, errors. */
#include "ev_env.h"
#include "ev_test.h"

#include <stdlib.h>

static char *expand_ok(const char *in)
{
    char *out = NULL;
    ev_err err = {{0}};
    int rc = ev_env_expand(in, &out, &err);
    if (rc != 0)
        EV_FAIL_("ev_env_expand(\"%s\") failed: %s", in, err.msg);
    return out;
}

#define EXPANDS(in, want)                                                                          \
    do {                                                                                           \
        char *ev_o_ = expand_ok(in);                                                               \
        CHECK_STR(ev_o_, want);                                                                    \
        free(ev_o_);                                                                               \
    } while (0)

static void test_expand(void)
{
    setenv("EV_T_A", "alpha", 1);
    setenv("EV_T_RAW", "p@ss:w/rd%40 ${EV_T_A}", 1); /* never expanded again */
    setenv("EV_T_EMPTY", "", 1);
    EXPANDS("", "");
    EXPANDS("plain text", "plain text");
    EXPANDS("${EV_T_A}", "alpha");
    EXPANDS("x${EV_T_A}y${EV_T_A}", "xalphayalpha");
    EXPANDS("${EV_T_RAW}", "p@ss:w/rd%40 ${EV_T_A}");
    EXPANDS("[${EV_T_EMPTY}]", "[]");
    /* The escape, and every other '$' literal. */
    EXPANDS("$${EV_T_A}", "${EV_T_A}");
    EXPANDS("a$${b}c", "a${b}c");
    EXPANDS("$$$${x}", "$$${x}"); /* "$$" then the escape "$${" */
    EXPANDS("$", "$");
    EXPANDS("a$", "a$");
    EXPANDS("$$", "$$");
    EXPANDS("a$$b", "a$$b");
    EXPANDS("$x $HOME {x} $(x)", "$x $HOME {x} $(x)");
    EXPANDS("$$${EV_T_A}", "$${EV_T_A}"); /* "$" then the escape */
}

static void test_errors(void)
{
    char *out = (char *)1;
    ev_err err = {{0}};
    unsetenv("EV_T_UNSET");
    CHECK_INT(ev_env_expand("a${EV_T_UNSET}b", &out, &err), ==, EV_EUSAGE);
    CHECK(out == NULL);
    CHECK_STR(err.msg, "environment variable EV_T_UNSET is not set");
    static const char *const bad[] = {"${",    "x${",    "${}",   "${EV_T_A",
                                      "${1A}", "${A-B}", "${ A}", "s3cr${t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = (char *)1;
        CHECK_INT(ev_env_expand(bad[i], &out, &err), ==, EV_EUSAGE);
        CHECK(out == NULL);
        CHECK_HAS(err.msg, "does not begin a reference");
        CHECK_HAS(err.msg, "$${");
    }
    /* The offset, not the text (which may be a secret). */
    CHECK_INT(ev_env_expand("s3cr${t", &out, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "at byte 5 ");
    CHECK(strstr(err.msg, "s3cr") == NULL);
    /* A name longer than EV_ENV_NAME_MAX is refused, one at the limit is looked up. */
    char name[EV_ENV_NAME_MAX + 5];
    memset(name, 'N', sizeof name);
    name[0] = '$';
    name[1] = '{';
    name[EV_ENV_NAME_MAX + 3] = '}';
    name[EV_ENV_NAME_MAX + 4] = '\0';
    CHECK_INT(ev_env_expand(name, &out, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "does not begin a reference");
    name[EV_ENV_NAME_MAX + 2] = '}';
    name[EV_ENV_NAME_MAX + 3] = '\0';
    CHECK_INT(ev_env_expand(name, &out, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "is not set");
}

static void test_tokens(void)
{
    const char *s = "a$${b}${EV_T_A}$";
    size_t pos = 0, n = 0, len = strlen(s);
    const char *p = NULL;
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_TEXT);
    CHECK_INT(n, ==, 1);
    CHECK(p == s);
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_TEXT);
    CHECK_INT(n, ==, 2);
    CHECK(memcmp(p, "${", 2) == 0);
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_TEXT);
    CHECK_INT(n, ==, 2);
    CHECK(memcmp(p, "b}", 2) == 0);
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_REF);
    CHECK_INT(n, ==, 6);
    CHECK(memcmp(p, "EV_T_A", 6) == 0);
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_TEXT);
    CHECK_INT(n, ==, 1);
    CHECK_INT(ev_env_next(s, len, &pos, &p, &n), ==, EV_ENV_END);
    /* A length bounds the scan: "${A}" cut before its '}' is bad. */
    pos = 0;
    CHECK_INT(ev_env_next("${A}", 3, &pos, &p, &n), ==, EV_ENV_BAD);
    CHECK_INT(pos, ==, 0);

    CHECK_INT(ev_env_refs_only("${A}", 4), ==, 1);
    CHECK_INT(ev_env_refs_only("${A}${B_2}", 10), ==, 1);
    CHECK_INT(ev_env_refs_only("", 0), ==, 0);
    CHECK_INT(ev_env_refs_only("x${A}", 5), ==, 0);
    CHECK_INT(ev_env_refs_only("${A}x", 5), ==, 0);
    CHECK_INT(ev_env_refs_only("$${A}", 5), ==, 0);
    CHECK_INT(ev_env_refs_only("${A", 3), ==, 0);
}

int main(void)
{
    EV_RUN(test_expand);
    EV_RUN(test_errors);
    EV_RUN(test_tokens);
    EV_DONE();
}
