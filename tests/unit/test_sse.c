/* The SSE parser against the WHATWG rules: fields, multi-line data, comments,
 * retry, ids, line ends (CR LF, LF, CR) split anywhere between chunks, the
 * BOM, limits, and a restart after a broken stream. */
#include "ev_sse.h"
#include "ev_test.h"

#include <stdlib.h>
#include <string.h>

/* Every dispatched event as "type|id|data", one per line of `out`. */
typedef struct seen {
    char out[4096];
    size_t n;
    int events;
} seen;

static void on_event(void *ud, const ev_sse_event *ev)
{
    seen *s = ud;
    int w = snprintf(s->out + s->n, sizeof s->out - s->n, "%.*s|%.*s|%.*s\n", (int)ev->type_len,
                     ev->type, (int)ev->id_len, ev->id, (int)ev->len, ev->data);
    if (w > 0 && (size_t)w < sizeof s->out - s->n)
        s->n += (size_t)w;
    s->events++;
}

/* Parses text in chunks of `chunk` bytes (0: all at once). */
static seen parse(ev_sse_parser *p, const char *text, size_t len, size_t chunk)
{
    seen s = {{0}, 0, 0};
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        CHECK_INT(ev_sse_feed(p, text + i, n, on_event, &s), ==, 0);
    }
    return s;
}

/* text must give `want` whatever the chunking: all at once, byte by byte,
 * and split in two at every position. */
static void expect(const char *text, size_t len, const char *want)
{
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        ev_sse_parser p;
        ev_sse_init(&p, 1 << 20);
        seen s = parse(&p, text, len, chunk);
        CHECK_STR(s.out, want);
        ev_sse_free(&p);
    }
    for (size_t cut = 1; cut < len; cut++) {
        ev_sse_parser p;
        ev_sse_init(&p, 1 << 20);
        seen s = {{0}, 0, 0};
        CHECK_INT(ev_sse_feed(&p, text, cut, on_event, &s), ==, 0);
        CHECK_INT(ev_sse_feed(&p, text + cut, len - cut, on_event, &s), ==, 0);
        if (strcmp(s.out, want) != 0)
            EV_FAIL_("split at %zu: \"%s\" vs \"%s\"", cut, s.out, want);
        ev_sse_free(&p);
    }
}
#define EXPECT(text, want) expect(text, sizeof(text) - 1, want)
#define PARSE(p, text, chunk) parse(p, text, sizeof(text) - 1, chunk)

static void test_fields(void)
{
    EXPECT("data: hello\n\n", "message||hello\n");
    EXPECT("data:hello\n\n", "message||hello\n");
    EXPECT("data:  two spaces\n\n", "message|| two spaces\n"); /* only one space is dropped */
    EXPECT("data: a\ndata: b\ndata: c\n\n", "message||a\nb\nc\n");
    EXPECT("data\n\n", "message||\n");         /* a field alone: empty value */
    EXPECT("data\ndata\n\n", "message||\n\n"); /* two empty lines of data */
    EXPECT("event: tick\ndata: 1\n\n", "tick||1\n");
    EXPECT("event:\ndata: 1\n\n", "message||1\n"); /* an empty type is "message" */
    EXPECT("data: {\"a\":1}\n\n", "message||{\"a\":1}\n");
    EXPECT("data: x: y\n\n", "message||x: y\n"); /* only the first colon splits */
    EXPECT("Data: no\nDATA: no\n\n", "");        /* field names are case-sensitive */
    EXPECT("foo: bar\n\n", "");                  /* unknown fields are ignored */
    EXPECT("data: unfinished", "");              /* no blank line: not dispatched */
    EXPECT("data: unfinished\n", "");
}

static void test_ids(void)
{
    EXPECT("id: 1\ndata: a\n\ndata: b\n\n", "message|1|a\nmessage|1|b\n");    /* the id persists */
    EXPECT("id: 1\ndata: a\n\nid\ndata: b\n\n", "message|1|a\nmessage||b\n"); /* "id" resets */
    EXPECT("data: a\nid: 7\n\n", "message|7|a\n");   /* order within the event does not matter */
    EXPECT("id: 5\n\ndata: a\n\n", "message|5|a\n"); /* an id-only block moves the id */
    /* An id holding a NUL is ignored. */
    EXPECT("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n", "message|1|a\nmessage|1|b\n");

    ev_sse_parser p;
    ev_sse_init(&p, 1 << 20);
    seen s = PARSE(&p, "id: 41\n\n", 0);
    CHECK_INT(s.events, ==, 0);
    CHECK_STR(ev_sse_last_id(&p), "41"); /* moved without an event */
    CHECK_U64(p.empty_dispatches, ==, 1);
    s = PARSE(&p, "id: 42\ndata: x\n", 0);
    CHECK_STR(ev_sse_last_id(&p), "41"); /* not yet: no blank line */
    /* The stream breaks: the unfinished event is gone, the last id stays. */
    ev_sse_restart(&p);
    CHECK_STR(ev_sse_last_id(&p), "41");
    s = PARSE(&p, "data: y\n\n", 0);
    CHECK_STR(s.out, "message||y\n"); /* a new stream starts with an empty id buffer */
    CHECK_STR(ev_sse_last_id(&p), "");
    CHECK_U64(p.events, ==, 1);
    ev_sse_free(&p);
}

static void test_comments_retry(void)
{
    EXPECT(": hello\ndata: a\n:\n\n", "message||a\n");
    ev_sse_parser p;
    ev_sse_init(&p, 1 << 20);
    CHECK_INT(p.retry_ms, ==, -1);
    seen s = PARSE(&p, ": ping\n: ping\nretry: 3000\n\n", 1);
    CHECK_INT(s.events, ==, 0);
    CHECK_U64(p.comments, ==, 2);
    CHECK_INT(p.retry_ms, ==, 3000);
    PARSE(&p, "retry: 3s\nretry: \nretry: -1\nretry\n", 0);
    CHECK_INT(p.retry_ms, ==, 3000); /* none of those is digits only */
    CHECK_U64(p.bad_retry, ==, 4);
    PARSE(&p, "retry:250\nfoo: 1\n", 0);
    CHECK_INT(p.retry_ms, ==, 250);
    CHECK_U64(p.ignored_fields, ==, 1);
    ev_sse_free(&p);
}

static void test_line_ends(void)
{
    EXPECT("data: a\r\ndata: b\r\n\r\n", "message||a\nb\n");
    EXPECT("data: a\rdata: b\r\r", "message||a\nb\n");
    EXPECT("data: a\r\ndata: b\rdata: c\n\r\n", "message||a\nb\nc\n");
    /* CR then LF is one line end, CR then CR two. */
    EXPECT("data: a\r\r\ndata: b\n\n", "message||a\nmessage||b\n");
    EXPECT("data: a\n\r\n\rdata: b\r\n\n", "message||a\nmessage||b\n");
}

static void test_bom(void)
{
    EXPECT("\xEF\xBB\xBF"
           "data: a\n\n",
           "message||a\n");
    /* Only at the very start: a second BOM is part of the field name. */
    EXPECT("\xEF\xBB\xBF\xEF\xBB\xBF"
           "data: a\n\n",
           "");
    /* Something that starts like a BOM but is not one is text. */
    EXPECT("\xEF\xBB"
           "data: a\n\ndata: b\n\n",
           "message||b\n");
    ev_sse_parser p;
    ev_sse_init(&p, 1 << 20);
    seen s = PARSE(&p,
                   "\xEF\xBB\xBF"
                   "data: a\n\n",
                   0);
    CHECK_STR(s.out, "message||a\n");
    ev_sse_restart(&p); /* every stream may start with one */
    s = PARSE(&p,
              "\xEF\xBB\xBF"
              "data: b\n\n",
              1);
    CHECK_STR(s.out, "message||b\n");
    ev_sse_free(&p);
}

static void test_limits(void)
{
    ev_sse_parser p;
    ev_sse_init(&p, 16);
    seen s = {{0}, 0, 0};
    CHECK_INT(ev_sse_feed(&p, "data: 0123456789\n\n", 18, on_event, &s), ==, 0);
    CHECK_STR(s.out, "message||0123456789\n");
    /* A line longer than max, whole or in pieces. */
    CHECK_INT(ev_sse_feed(&p, "data: 0123456789abcdef\n", 23, on_event, &s), ==, -1);
    ev_sse_restart(&p);
    CHECK_INT(ev_sse_feed(&p, "data: 0123456", 13, on_event, &s), ==, 0);
    CHECK_INT(ev_sse_feed(&p, "789abcdef", 9, on_event, &s), ==, -1);
    ev_sse_restart(&p);
    /* Data gathered over several lines. */
    CHECK_INT(ev_sse_feed(&p, "data: 01234567\n", 15, on_event, &s), ==, 0);
    CHECK_INT(ev_sse_feed(&p, "data: 01234567\n", 15, on_event, &s), ==, -1);
    ev_sse_free(&p);
}

/* Many events through small odd-sized chunks: none lost or merged. */
static void test_stream(void)
{
    char text[64 * 1024];
    size_t n = 0;
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "id: %d\r\nevent: e\r\ndata: {\"i\":%d}\r\n%s\r\n", i, i,
                              i % 7 == 0 ? ": keep-alive\r\n" : "");
    for (size_t chunk = 1; chunk < 40; chunk += 3) {
        ev_sse_parser p;
        ev_sse_init(&p, 1 << 20);
        seen s = {{0}, 0, 0};
        for (size_t i = 0; i < n; i += chunk) {
            size_t k = n - i < chunk ? n - i : chunk;
            s.n = 0; /* only the count matters here */
            CHECK_INT(ev_sse_feed(&p, text + i, k, on_event, &s), ==, 0);
        }
        CHECK_INT(s.events, ==, 500);
        CHECK_STR(ev_sse_last_id(&p), "499");
        CHECK_U64(p.comments, ==, 72);
        ev_sse_free(&p);
    }
}

int main(void)
{
    EV_RUN(test_fields);
    EV_RUN(test_ids);
    EV_RUN(test_comments_retry);
    EV_RUN(test_line_ends);
    EV_RUN(test_bom);
    EV_RUN(test_limits);
    EV_RUN(test_stream);
    EV_DONE();
}
