/* Target URLs: splitting, decoding, and passwords never shown. */
#include "ev_url.h"
#include "ev_test.h"

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

int main(void)
{
    EV_RUN(test_full);
    EV_RUN(test_mock_and_multi_host);
    EV_RUN(test_errors);
    EV_DONE();
}
