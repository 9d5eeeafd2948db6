/* Unit tests for ev_buf: growth and NUL termination, integer formatting
 * against snprintf, and JSON string escaping checked by parsing the result
 * back with jansson. */
#include "ev_buf.h"
#include "ev_test.h"

#include <jansson.h>
#include <stddef.h>

static void test_append_and_reset(void)
{
    ev_buf b = EV_BUF_INIT;
    CHECK(b.p == NULL);
    ev_buf_reset(&b); /* on an empty buffer: fine */
    CHECK_INT(ev_buf_append(&b, "", 0), ==, 0);
    CHECK(b.p != NULL);
    CHECK_STR(b.p, "");
    CHECK_INT(ev_buf_puts(&b, "abc"), ==, 0);
    CHECK_INT(ev_buf_append(&b, "de\0f", 4), ==, 0);
    CHECK_U64(b.len, ==, 7);
    CHECK(memcmp(b.p, "abcde\0f", 8) == 0); /* includes the trailing NUL */
    for (int i = 0; i < 10000; i++)
        CHECK_INT(ev_buf_puts(&b, "0123456789"), ==, 0);
    CHECK_U64(b.len, ==, 100007);
    CHECK(b.cap > b.len);
    CHECK_INT(b.p[b.len], ==, '\0');
    size_t cap = b.cap;
    ev_buf_reset(&b);
    CHECK_U64(b.len, ==, 0);
    CHECK_U64(b.cap, ==, cap);
    CHECK_STR(b.p, "");
    CHECK_INT(ev_buf_reserve(&b, 500), ==, 0);
    CHECK(b.cap >= 501);
    CHECK_INT(ev_buf_reserve(&b, SIZE_MAX), ==, -1); /* would wrap: refused */
    CHECK_INT(ev_buf_reserve(&b, SIZE_MAX - 1), ==, -1);
    CHECK_INT(ev_buf_reserve(&b, (size_t)PTRDIFF_MAX), ==, -1); /* no object is that big */
    CHECK_U64(b.cap, ==, cap);
    ev_buf_free(&b);
    CHECK(b.p == NULL);
    CHECK_U64(b.len + b.cap, ==, 0);
    CHECK_INT(ev_buf_puts(&b, "again"), ==, 0); /* reusable after free */
    CHECK_STR(b.p, "again");
    ev_buf_free(&b);
}

static void test_integers(void)
{
    ev_buf b = EV_BUF_INIT;
    static const uint64_t u[] = {0,
                                 1,
                                 9,
                                 10,
                                 99,
                                 100,
                                 999,
                                 1000,
                                 9999,
                                 10000,
                                 4294967295u,
                                 4294967296ull,
                                 UINT64_MAX / 10,
                                 UINT64_MAX - 1,
                                 UINT64_MAX};
    char want[32];
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        ev_buf_reset(&b);
        CHECK_INT(ev_buf_putu64(&b, u[i]), ==, 0);
        snprintf(want, sizeof want, "%" PRIu64, u[i]);
        CHECK_STR(b.p, want);
        CHECK_U64(b.len, ==, strlen(want));
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = x >> (x % 64); /* all magnitudes */
        char dst[EV_FMT_U64_MAX + 1];
        size_t n = ev_fmt_u64(dst, v);
        dst[n] = '\0';
        snprintf(want, sizeof want, "%" PRIu64, v);
        CHECK_STR(dst, want);
        ev_buf_reset(&b);
        CHECK_INT(ev_buf_puti64(&b, (int64_t)v), ==, 0);
        snprintf(want, sizeof want, "%" PRId64, (int64_t)v);
        CHECK_STR(b.p, want);
    }
    static const int64_t s[] = {0, -1, 1, INT64_MIN, INT64_MAX, -10, -1000000007};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        ev_buf_reset(&b);
        CHECK_INT(ev_buf_puti64(&b, s[i]), ==, 0);
        snprintf(want, sizeof want, "%" PRId64, s[i]);
        CHECK_STR(b.p, want);
    }
    /* appends, does not overwrite */
    ev_buf_reset(&b);
    CHECK_INT(ev_buf_puts(&b, "n="), ==, 0);
    CHECK_INT(ev_buf_putu64(&b, 42), ==, 0);
    CHECK_INT(ev_buf_puts(&b, ","), ==, 0);
    CHECK_INT(ev_buf_puti64(&b, -7), ==, 0);
    CHECK_STR(b.p, "n=42,-7");
    ev_buf_free(&b);
}

static void check_escape(const char *in, size_t n, const char *want)
{
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_buf_puts(&b, "["), ==, 0);
    CHECK_INT(ev_buf_put_json_string(&b, in, n), ==, 0);
    CHECK_INT(ev_buf_puts(&b, "]"), ==, 0);
    CHECK_U64(strlen(b.p), ==, b.len);
    if (want) {
        CHECK(b.len >= 2);
        b.p[b.len - 1] = '\0';
        CHECK_STR(b.p + 1, want);
        b.p[b.len - 1] = ']';
    }
    /* Whatever it is, jansson reads back exactly the input. */
    json_error_t je;
    json_t *a = json_loadb(b.p, b.len, JSON_ALLOW_NUL, &je);
    if (!a)
        fprintf(stderr, "%s: %s\n", b.p, je.text);
    CHECK(a != NULL);
    json_t *s = json_array_get(a, 0);
    CHECK(json_is_string(s));
    CHECK_U64(json_string_length(s), ==, n);
    CHECK(memcmp(json_string_value(s), in, n) == 0);
    json_decref(a);
    ev_buf_free(&b);
}

static void test_json_string(void)
{
    check_escape("", 0, "\"\"");
    check_escape("plain", 5, "\"plain\"");
    check_escape("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
    check_escape("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
    check_escape("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    check_escape("a\0b", 3, "\"a\\u0000b\"");
    check_escape("h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80", 15,
                 "\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80\"");
    /* every control character and every printable ASCII byte */
    char all[128];
    for (int i = 1; i < 128; i++)
        all[i - 1] = (char)i;
    check_escape(all, 127, NULL);
    /* long runs between escapes */
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (i % 97 == 0) ? '"' : (i % 101 == 0) ? '\n' : (char)('a' + i % 26);
    check_escape(big, sizeof big, NULL);
}

/* Percent-encoding for URLs: a path keeps its '/' and sub-delims, a segment
 * keeps only the unreserved marks; every other byte is %XX, uppercase. */
static void test_pct(void)
{
    ev_buf b = EV_BUF_INIT;
    CHECK_INT(ev_buf_put_pct(&b, "/ns/a b%/é~", EV_PCT_PATH), ==, 0);
    CHECK_STR(b.p, "/ns/a%20b%25/%C3%A9~");
    ev_buf_reset(&b);
    CHECK_INT(ev_buf_put_pct(&b, "/", EV_PCT_UNRESERVED), ==, 0);
    CHECK_STR(b.p, "%2F");
    ev_buf_reset(&b);
    CHECK_INT(ev_buf_put_pct(&b, "cloud-events_1.x~Z", EV_PCT_UNRESERVED), ==, 0);
    CHECK_STR(b.p, "cloud-events_1.x~Z");
    ev_buf_free(&b);
}

int main(void)
{
    EV_RUN(test_append_and_reset);
    EV_RUN(test_pct);
    EV_RUN(test_integers);
    EV_RUN(test_json_string);
    EV_DONE();
}
