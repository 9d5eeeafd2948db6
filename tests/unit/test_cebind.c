/* The bindings' header rules (ev_cebind): names written per binding, the
 * prefixes and cases a reader accepts, where the content type comes from, and
 * that an event written through headers decodes back to itself. */
#include "ev_cebind.h"
#include "ev_codec.h"
#include "ev_test.h"

static void test_names(void)
{
    char buf[64];
    CHECK_INT(ev_ce_bind_header_name(EV_CE_BIND_AMQP, "id", 2, buf, sizeof buf), ==, 14);
    CHECK_STR(buf, "cloudEvents_id");
    CHECK_INT(ev_ce_bind_header_name(EV_CE_BIND_KAFKA, "evloadseq", 9, buf, sizeof buf), ==, 12);
    CHECK_STR(buf, "ce_evloadseq");
    CHECK_INT(ev_ce_bind_header_name(EV_CE_BIND_HTTP, "type", 4, buf, sizeof buf), ==, 7);
    CHECK_STR(buf, "ce-type");
    CHECK_INT(ev_ce_bind_header_name(EV_CE_BIND_HTTP, "type", 4, buf, 7), ==, 0); /* no room */
    CHECK(ev_ce_bind_content_type_header(EV_CE_BIND_AMQP) == NULL);
    CHECK_STR(ev_ce_bind_content_type_header(EV_CE_BIND_KAFKA), "content-type");
    CHECK_STR(ev_ce_bind_content_type_header(EV_CE_BIND_HTTP), "Content-Type");
}

static void test_prefixes_and_case(void)
{
    static ev_ce_headers h;
    ev_ce_headers_init(&h, EV_CE_BIND_HTTP);
    CHECK_INT(ev_ce_headers_add(&h, "Ce-Id", 5, "a", 1), ==, 1);
    CHECK_INT(ev_ce_headers_add(&h, "CE_SpecVersion", 14, "1.0", 3), ==, 1);
    CHECK_INT(ev_ce_headers_add(&h, "cloudEvents:type", 16, "t", 1), ==, 1);
    CHECK_INT(ev_ce_headers_add(&h, "cloudevents_source", 18, "/s", 2), ==, 1);
    CHECK_INT(ev_ce_headers_add(&h, "X-Other", 7, "x", 1), ==, 0);
    CHECK_INT(ev_ce_headers_add(&h, "ce-", 3, "x", 1), ==, 0); /* a prefix alone is no name */
    CHECK_INT(ev_ce_headers_add(&h, "content-TYPE", 12, "application/json", 16), ==, 1);
    CHECK_U64(h.nattrs, ==, 4);
    CHECK_STR(h.attrs[0].name, "id");
    CHECK_STR(h.attrs[1].name, "specversion");
    CHECK_STR(h.attrs[2].name, "type");
    CHECK_STR(h.attrs[3].name, "source");
    CHECK_STR(h.content_type, "application/json");
    CHECK_INT(ev_ce_headers_binary(&h), ==, 1);

    /* A structured event's content type: not binary, whatever headers say. */
    ev_ce_headers_init(&h, EV_CE_BIND_KAFKA);
    ev_ce_headers_add(&h, "ce_id", 5, "a", 1);
    ev_ce_headers_add(&h, "content-type", 12, "application/cloudevents+json; charset=utf-8", 43);
    CHECK_INT(ev_ce_headers_binary(&h), ==, 0);
    /* No attributes at all: not binary. */
    ev_ce_headers_init(&h, EV_CE_BIND_KAFKA);
    ev_ce_headers_add(&h, "content-type", 12, "application/json", 16);
    CHECK_INT(ev_ce_headers_binary(&h), ==, 0);
}

static void test_content_type_sources(void)
{
    static ev_ce_headers h;
    /* AMQP: the property wins over a datacontenttype header, whatever the order. */
    ev_ce_headers_init(&h, EV_CE_BIND_AMQP);
    ev_ce_headers_add(&h, "cloudEvents_datacontenttype", 27, "text/plain", 10);
    ev_ce_headers_set_content_type(&h, "application/json", 16);
    CHECK_STR(h.content_type, "application/json");
    ev_ce_headers_init(&h, EV_CE_BIND_AMQP);
    ev_ce_headers_set_content_type(&h, "application/json", 16);
    ev_ce_headers_add(&h, "cloudEvents_datacontenttype", 27, "text/plain", 10);
    CHECK_STR(h.content_type, "application/json");
    CHECK_U64(h.nattrs, ==, 0); /* datacontenttype is never an attribute here */
    /* Without a property, the header gives it (Spring's AMQP binding). */
    ev_ce_headers_init(&h, EV_CE_BIND_AMQP);
    ev_ce_headers_add(&h, "cloudEvents_datacontenttype", 27, "application/cloudevents+json", 28);
    ev_ce_headers_add(&h, "cloudEvents_id", 14, "x", 1);
    CHECK_INT(ev_ce_headers_binary(&h), ==, 0);
    /* AMQP has no content-type header: it is not an attribute either. */
    ev_ce_headers_init(&h, EV_CE_BIND_AMQP);
    CHECK_INT(ev_ce_headers_add(&h, "content-type", 12, "text/plain", 10), ==, 0);
    CHECK(h.content_type == NULL);
}

static void test_limits(void)
{
    static ev_ce_headers h;
    ev_ce_headers_init(&h, EV_CE_BIND_KAFKA);
    char name[16];
    for (int i = 0; i < EV_CE_HDR_MAX_ATTRS + 5; i++) {
        int n = snprintf(name, sizeof name, "ce_a%d", i);
        CHECK_INT(ev_ce_headers_add(&h, name, (size_t)n, "v", 1), ==, 1);
    }
    CHECK_U64(h.nattrs, ==, EV_CE_HDR_MAX_ATTRS);
    CHECK_U64(h.dropped, ==, 5);
    /* A name longer than the scratch space is dropped, not truncated. */
    ev_ce_headers_init(&h, EV_CE_BIND_KAFKA);
    static char big[EV_CE_HDR_SCRATCH + 10];
    memset(big, 'a', sizeof big);
    memcpy(big, "ce_", 3);
    ev_ce_headers_add(&h, big, sizeof big, "v", 1);
    CHECK_U64(h.nattrs, ==, 0);
    CHECK_U64(h.dropped, ==, 1);
    /* NULL value: an empty attribute, never a crash. */
    ev_ce_headers_init(&h, EV_CE_BIND_KAFKA);
    CHECK_INT(ev_ce_headers_add(&h, "ce_id", 5, NULL, 3), ==, 1);
    CHECK_U64(h.attrs[0].value_len, ==, 0);
}

/* Encode binary, carry every attribute as a header of each binding, collect
 * and decode: the event is ours and intact. */
static void test_roundtrip(void)
{
    ev_ce_params p = {
        .type = "t.x", .source = "/s", .run = "r1", .instance = 0, .lane = 2, .data_size = 64};
    ev_ce_template *t = NULL;
    ev_err err;
    CHECK_INT(ev_ce_template_new(&p, &t, &err), ==, 0);
    ev_ce_binary b = {0};
    CHECK_INT(ev_ce_encode_binary(t, 7, 1000, 2000, &b), ==, 0);
    for (int bind = EV_CE_BIND_AMQP; bind <= EV_CE_BIND_HTTP; bind++) {
        static ev_ce_headers h;
        static char names[EV_CE_MAX_ATTRS][48];
        ev_ce_headers_init(&h, (ev_ce_binding)bind);
        for (size_t i = 0; i < b.nattrs; i++) {
            size_t n = ev_ce_bind_header_name((ev_ce_binding)bind, b.attrs[i].name,
                                              b.attrs[i].name_len, names[i], sizeof names[i]);
            CHECK(n > 0);
            CHECK_INT(ev_ce_headers_add(&h, names[i], n, b.attrs[i].value, b.attrs[i].value_len),
                      ==, 1);
        }
        const char *cth = ev_ce_bind_content_type_header((ev_ce_binding)bind);
        if (cth)
            ev_ce_headers_add(&h, cth, strlen(cth), b.content_type, strlen(b.content_type));
        else
            ev_ce_headers_set_content_type(&h, b.content_type, strlen(b.content_type));
        CHECK_INT(ev_ce_headers_binary(&h), ==, 1);
        ev_ce_seen s;
        ev_ce_decode_binary(h.attrs, h.nattrs, h.content_type, b.body.p, b.body.len, "r1", &s);
        CHECK_INT(s.status, ==, EV_CE_OK);
        CHECK_INT(s.lane, ==, 2);
        CHECK_U64(s.seq, ==, 7);
    }
    ev_ce_binary_free(&b);
    ev_ce_template_free(t);
}

int main(void)
{
    EV_RUN(test_names);
    EV_RUN(test_prefixes_and_case);
    EV_RUN(test_content_type_sources);
    EV_RUN(test_limits);
    EV_RUN(test_roundtrip);
    EV_DONE();
}
