/* Target URLs: splitting, decoding, and passwords never shown. */
#include "ev_url.h"
#include "ev_test.h"

#include <stdlib.h>

/* No 3-byte piece of secret appears in s (NULL s has none). */
static int leaks(const char *s, const char *secret)
{
    size_t n = strlen(secret);
    if (!s)
        return 0;
    for (size_t i = 0; i + 3 <= n; i++) {
        char piece[4] = {secret[i], secret[i + 1], secret[i + 2], '\0'};
        if (strstr(s, piece)) {
            fprintf(stderr, "\"%s\" shows \"%s\" of the secret\n", s, piece);
            return 1;
        }
    }
    return 0;
}

/* Parses text; whatever happens, neither `redacted`, ev_url_redact_text nor
 * the error shows any of secret. Returns the status, *out set on success. */
static int parse_hiding(const char *text, const char *secret, ev_url **out, ev_err *err)
{
    char buf[512];
    *out = NULL;
    memset(err->msg, 0, sizeof err->msg);
    int rc = ev_url_parse(text, out, err);
    ev_url_redact_text(text, buf, sizeof buf);
    CHECK(!leaks(buf, secret));
    CHECK(!leaks(err->msg, secret));
    if (rc == 0) {
        CHECK(!leaks((*out)->redacted, secret));
        CHECK_STR((*out)->redacted, buf); /* one split for both */
    }
    return rc;
}

static void test_full(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(
        ev_url_parse("amqp://guest:s%40cret@127.0.0.1:5672/%2f?exchange=cloud-events&queue=q1", &u,
                     &err),
        ==, 0);
    CHECK_STR(u->scheme, "amqp");
    CHECK_STR(u->user, "guest");
    CHECK_STR(u->password, "s@cret");
    CHECK_STR(u->host, "127.0.0.1");
    CHECK_INT(u->port, ==, 5672);
    CHECK_STR(u->path, "/");
    CHECK_STR(ev_url_param_get(u, "exchange"), "cloud-events");
    CHECK_STR(ev_url_param_get(u, "queue"), "q1");
    CHECK(ev_url_param_get(u, "nope") == NULL);
    CHECK_STR(u->redacted, "amqp://guest:***@127.0.0.1:5672/%2f?exchange=cloud-events&queue=q1");
    ev_url_free(u);
}

static void test_mock_and_multi_host(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(ev_url_parse("mock://?drop=0.01&seed=7", &u, &err), ==, 0);
    CHECK_STR(u->scheme, "mock");
    CHECK_STR(u->host, "");
    CHECK_INT(u->port, ==, 0);
    CHECK_STR(ev_url_param_get(u, "drop"), "0.01");
    CHECK_STR(u->redacted, "mock://?drop=0.01&seed=7");
    ev_url_free(u);
    CHECK_INT(ev_url_parse("kafka://b1:9092,b2:9093/events", &u, &err), ==, 0);
    CHECK_STR(u->hosts, "b1:9092,b2:9093");
    CHECK_STR(u->host, "b1");
    CHECK_INT(u->port, ==, 9092);
    CHECK_STR(u->path, "events");
    ev_url_free(u);
    CHECK_INT(ev_url_parse("redis://[::1]:6380/2?channel=c", &u, &err), ==, 0);
    CHECK_STR(u->host, "::1");
    CHECK_INT(u->port, ==, 6380);
    ev_url_free(u);
}

static void test_errors(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(ev_url_parse("localhost:5672", &u, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "not a URL");
    CHECK_INT(ev_url_parse("redis://u:pw@h:99999", &u, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "bad port");
    CHECK(strstr(err.msg, "pw@") == NULL);
    CHECK_INT(ev_url_parse("amqp://u:secret@h:5672/%zz", &u, &err), ==, EV_EUSAGE);
    CHECK(strstr(err.msg, "secret") == NULL);
    char buf[128];
    ev_url_redact_text("amqp://me:hunter2@host/", buf, sizeof buf);
    CHECK_STR(buf, "amqp://me:***@host/");
    ev_url_redact_text("redis://host:6379", buf, sizeof buf);
    CHECK_STR(buf, "redis://host:6379");
}

/* The review's case: the password holds '@'; the userinfo ends at the LAST
 * '@' of the authority, for connecting and for showing alike. */
static void test_password_chars(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(
        parse_hiding("amqp://guest:p@ss@127.0.0.1:5672/%2f?exchange=x&queue=q", "p@ss", &u, &err),
        ==, 0);
    CHECK_STR(u->user, "guest");
    CHECK_STR(u->password, "p@ss");
    CHECK_STR(u->host, "127.0.0.1");
    CHECK_INT(u->port, ==, 5672);
    CHECK_STR(u->redacted, "amqp://guest:***@127.0.0.1:5672/%2f?exchange=x&queue=q");
    ev_url_free(u);

    /* Raw in the URL: '@', ':', spaces, non-ASCII, '$' need no encoding. */
    static const struct {
        const char *written, *password;
    } ok[] = {
        {"a:b:c", "a:b:c"},
        {"@@x@@", "@@x@@"},
        {"s%40cr%3Aet", "s@cr:et"},
        {"sp ace d", "sp ace d"},
        {"p\xc3\xa4ss\xe2\x82\xac", "p\xc3\xa4ss\xe2\x82\xac"},
        {"%2F%3F%23%25", "/?#%"},
        {"d$ll$r", "d$ll$r"},
        {"$${NOT_A_VAR}", "${NOT_A_VAR}"},
        {"%24{NOT_A_VAR}", "${NOT_A_VAR}"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "redis://usr:%s@127.0.0.1:6379/3?channel=c", ok[i].written);
        CHECK_INT(parse_hiding(text, ok[i].password, &u, &err), ==, 0);
        CHECK_STR(u->user, "usr");
        CHECK_STR(u->password, ok[i].password);
        CHECK_STR(u->host, "127.0.0.1");
        CHECK_INT(u->port, ==, 6379);
        CHECK_STR(u->path, "3");
        CHECK_STR(u->redacted, "redis://usr:***@127.0.0.1:6379/3?channel=c");
        ev_url_free(u);
    }
    /* No password, or none but an empty user: nothing to hide, shown as is. */
    CHECK_INT(ev_url_parse("kafka://alice@b1:9092/t", &u, &err), ==, 0);
    CHECK_STR(u->user, "alice");
    CHECK(u->password == NULL);
    CHECK_STR(u->redacted, "kafka://alice@b1:9092/t");
    ev_url_free(u);
    CHECK_INT(ev_url_parse("redis://:s3cret@h:6379?channel=c", &u, &err), ==, 0);
    CHECK_STR(u->user, "");
    CHECK_STR(u->password, "s3cret");
    CHECK_STR(u->redacted, "redis://:***@h:6379?channel=c");
    ev_url_free(u);
}

/* Found by tests/fuzz/fuzz_url.c on the code before the single split: an '@'
 * in the user name, before the ':', made the redaction (which stopped at the
 * first '@') find no password and print the URL whole. */
static void test_at_in_user(void)
{
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(parse_hiding("bullmq://u@x:s@cret@127.0.0.1:6379?queue=q", "s@cret", &u, &err), ==,
              0);
    CHECK_STR(u->user, "u@x");
    CHECK_STR(u->password, "s@cret");
    CHECK_STR(u->redacted, "bullmq://u@x:***@127.0.0.1:6379?queue=q");
    ev_url_free(u);
    CHECK_INT(parse_hiding("redis://me@corp:hunter2@h:99999", "hunter2", &u, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "redis://me@corp:***@h:99999");
}

/* '/', '?' or '#' unencoded in the userinfo (or '@' after the authority):
 * ambiguous, refused, and the whole userinfo hidden up to the last '@'. */
static void test_ambiguous(void)
{
    static const struct {
        const char *text, *secret, *shown;
    } amb[] = {
        {"amqp://guest:pa/ss@127.0.0.1:5672/%2f?queue=q", "pa/ss",
         "amqp://***@127.0.0.1:5672/%2f?queue=q"},
        /* a numeric start once parsed as port 123 and printed in clear */
        {"amqp://guest:123/abc@127.0.0.1:5672/", "123/abc", "amqp://***@127.0.0.1:5672/"},
        {"redis://usr:pa?ss@h:6379?channel=c", "pa?ss", "redis://***@h:6379?channel=c"},
        {"redis://usr:pa#ss@h:6379?channel=c", "pa#ss", "redis://***@h:6379?channel=c"},
        /* "://" in it (checked in two halves: "://" itself is in every URL) */
        {"amqp://u:zqa://bwv@h/", "zqa:/", "amqp://***@h/"},
        {"amqp://u:zqa://bwv@h/", "//bwv", "amqp://***@h/"},
        {"amqp://u:x/y@z@h/", "x/y@z", "amqp://***@h/"},
        {"redis://h:6379/0?channel=mail@example", "mail", "redis://***@example"},
    };
    for (size_t i = 0; i < sizeof amb / sizeof amb[0]; i++) {
        ev_url *u = NULL;
        ev_err err;
        char buf[256];
        CHECK_INT(parse_hiding(amb[i].text, amb[i].secret, &u, &err), ==, EV_EUSAGE);
        CHECK(u == NULL);
        CHECK_HAS(err.msg, amb[i].shown);
        CHECK_HAS(err.msg, "percent-encode");
        CHECK_HAS(err.msg, "${VAR}");
        ev_url_redact_text(amb[i].text, buf, sizeof buf);
        CHECK_STR(buf, amb[i].shown);
    }
    /* Encoded, they parse. */
    ev_url *u = NULL;
    ev_err err;
    CHECK_INT(ev_url_parse("amqp://guest:123%2Fabc@127.0.0.1:5672/", &u, &err), ==, 0);
    CHECK_STR(u->password, "123/abc");
    CHECK_STR(u->host, "127.0.0.1");
    ev_url_free(u);
    CHECK_INT(ev_url_parse("redis://h:6379/0?channel=mail%40example", &u, &err), ==, 0);
    CHECK_STR(ev_url_param_get(u, "channel"), "mail@example");
    ev_url_free(u);
}

/* Every error of ev_url_parse quotes the redacted text and names the part. */
static void test_errors_hide(void)
{
    static const struct {
        const char *text, *secret, *has;
    } bad[] = {
        {"redis://u:p@ss:w@h:99999?channel=c", "p@ss:w", "bad port"},
        {"redis://u:p@ss:w@h:6379x", "p@ss:w", "bad port"},
        {"amqp://u:50%off@h:5672/", "50%off", "bad percent-escape in the password"},
        {"amqp://u:s3cr%zzet@h:5672/", "s3cr%zzet", "in the password"},
        {"amqp://u:s3cret@h:5672/%zz", "s3cret", "bad percent-escape in the path"},
        {"amqp://u:s3cret@h:5672/?q=%z", "s3cret", "in the parameters"},
        {"amqp://u%zz:s3cret@h:5672/", "s3cret", "in the user name"},
        {"amqp://u:s3cret@[::1:5672/", "s3cret", "unclosed '['"},
        {"am qp://u:s3cret@h/", "s3cret", "bad character in the scheme"},
        {"amqp:/u:s3cret@h/", "s3cret", "not a URL"},
        {"u:s3cr@t@h:5672", "s3cr@t", "not a URL"},
        {"://u:s3cret@h/", "s3cret", "not a URL"},
        {"a:b://u:s3cret@h/", "s3cret", "bad character in the scheme"},
        {"amqp://u:s3c${ret@h/", "s3c${ret", "does not begin a reference"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev_url *u = NULL;
        ev_err err;
        CHECK_INT(parse_hiding(bad[i].text, bad[i].secret, &u, &err), ==, EV_EUSAGE);
        CHECK_HAS(err.msg, bad[i].has);
        CHECK_HAS(err.msg, "***@");
    }
}

/* ${NAME}: expanded after the split, into its part, verbatim; printed as
 * written. */
static void test_env(void)
{
    const char *raw = "p@ss:w/rd%40 #?&=\xc3\xa4";
    ev_url *u = NULL;
    ev_err err;
    setenv("EV_T_PASS", raw, 1);
    setenv("EV_T_USER", "us:er", 1);
    setenv("EV_T_HOSTS", "b1:9092,b2:9093", 1);
    setenv("EV_T_Q", "a&b=c", 1);
    unsetenv("EV_T_UNSET");

    CHECK_INT(parse_hiding("amqp://guest:${EV_T_PASS}@127.0.0.1:5672/%2f?queue=q", raw, &u, &err),
              ==, 0);
    CHECK_STR(u->user, "guest");
    CHECK_STR(u->password, raw);
    CHECK_STR(u->host, "127.0.0.1");
    CHECK_INT(u->port, ==, 5672);
    CHECK_STR(u->path, "/");
    CHECK_STR(ev_url_param_get(u, "queue"), "q");
    CHECK_STR(u->redacted, "amqp://guest:${EV_T_PASS}@127.0.0.1:5672/%2f?queue=q");
    ev_url_free(u);

    /* Literal text around a reference is a secret too: all of it is ***. */
    CHECK_INT(parse_hiding("amqp://guest:x%41${EV_T_PASS}${EV_T_PASS}@h/", raw, &u, &err), ==, 0);
    {
        char want[128];
        snprintf(want, sizeof want, "xA%s%s", raw, raw);
        CHECK_STR(u->password, want);
    }
    CHECK_STR(u->redacted, "amqp://guest:***@h/");
    CHECK(strstr(u->redacted, "x%41") == NULL);
    ev_url_free(u);

    /* Every other part: user, host list, path, parameter values. */
    CHECK_INT(ev_url_parse("kafka://${EV_T_USER}:${EV_T_PASS}@${EV_T_HOSTS}/t-${EV_T_USER}"
                           "?k=${EV_T_Q}&x=%24{EV_T_Q}",
                           &u, &err),
              ==, 0);
    CHECK_STR(u->user, "us:er");
    CHECK_STR(u->password, raw);
    CHECK_STR(u->hosts, "b1:9092,b2:9093");
    CHECK_STR(u->host, "b1");
    CHECK_INT(u->port, ==, 9092);
    CHECK_STR(u->path, "t-us:er");
    CHECK_INT(u->nparams, ==, 2);
    CHECK_STR(ev_url_param_get(u, "k"), "a&b=c");
    CHECK_STR(ev_url_param_get(u, "x"), "${EV_T_Q}");
    CHECK_STR(u->redacted, "kafka://${EV_T_USER}:${EV_T_PASS}@${EV_T_HOSTS}/t-${EV_T_USER}"
                           "?k=${EV_T_Q}&x=%24{EV_T_Q}");
    ev_url_free(u);

    /* Unset: named when the printable form shows the name anyway. */
    CHECK_INT(ev_url_parse("amqp://guest:${EV_T_UNSET}@h/", &u, &err), ==, EV_EUSAGE);
    CHECK_STR(err.msg, "target \"amqp://guest:${EV_T_UNSET}@h/\": environment variable "
                       "EV_T_UNSET (in the password) is not set");
    CHECK_INT(ev_url_parse("redis://${EV_T_UNSET}:6379?channel=c", &u, &err), ==, EV_EUSAGE);
    CHECK_HAS(err.msg, "environment variable EV_T_UNSET (in the host) is not set");
    /* ... but not inside a literal password, where "${...}" may be its text. */
    CHECK_INT(parse_hiding("amqp://guest:zkq${EV_T_UNSET}9@h/", "zkq${EV_T_UNSET}9", &u, &err), ==,
              EV_EUSAGE);
    CHECK_HAS(err.msg, "amqp://guest:***@h/");
    CHECK_HAS(err.msg, "a variable named in the password is not set");
    CHECK_HAS(err.msg, "$${");
}

int main(void)
{
    EV_RUN(test_full);
    EV_RUN(test_mock_and_multi_host);
    EV_RUN(test_errors);
    EV_RUN(test_password_chars);
    EV_RUN(test_at_in_user);
    EV_RUN(test_ambiguous);
    EV_RUN(test_errors_hide);
    EV_RUN(test_env);
    EV_DONE();
}
