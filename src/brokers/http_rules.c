/* http_rules — the HTTP publisher's status rules, backoff and header value
 * encoding (see http.h). Pure: no I/O, no clocks, no allocation. */
#include "brokers/http.h"

#include "ev_clock.h"

#include <string.h>

int ev_http_token_ok(const char *s, size_t n, const char *also)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (!c || !strchr("!#$%&'*+-.^_`|~", c)) && (!also || !c || !strchr(also, c)))
            return 0;
    }
    return 1;
}

int ev_http_header_ok(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h || !ev_http_token_ok(h, (size_t)(colon - h), NULL))
        return 0;
    return !strpbrk(colon + 1, "\r\n");
}

ev_http_verdict ev_http_verdict_of(long status, int written)
{
    if (status >= 200 && status <= 299)
        return EV_HTTP_ACKED;
    if (status == 429 || status == 503)
        return EV_HTTP_THROTTLED;
    if (status == 408 || status == 404 || status == 409)
        return EV_HTTP_RETRY;
    if (status >= 400 && status <= 499)
        return EV_HTTP_FAILED;
    if (status > 0) /* 5xx, and unlisted codes: 1xx, 3xx (never followed), 6xx… */
        return EV_HTTP_RETRY;
    return written ? EV_HTTP_UNKNOWN : EV_HTTP_RETRY;
}

const char *ev_http_verdict_name(ev_http_verdict v)
{
    static const char *const names[] = {"acked", "throttled", "retry", "unknown", "failed"};
    return v >= EV_HTTP_ACKED && v <= EV_HTTP_FAILED ? names[v] : "?";
}

int64_t ev_http_retry_after_ns(long seconds, int64_t dflt, int64_t cap)
{
    int64_t ns =
        seconds > 0 ? (seconds > 86400 ? 86400 * EV_NS_PER_S : seconds * EV_NS_PER_S) : dflt;
    return cap > 0 && ns > cap ? cap : ns;
}

int64_t ev_http_backoff_ns(int attempt, int64_t base, int64_t max, uint64_t *rng)
{
    int64_t d = base > 0 ? base : 1;
    for (int i = 1; i < attempt && d < max; i++)
        d = d > max / 2 ? max : d * 2;
    if (d > max)
        d = max;
    uint64_t x = *rng ? *rng : 0x9E3779B97F4A7C15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    int64_t half = d / 2;
    return half + (int64_t)(x % (uint64_t)(d - half + 1));
}

size_t ev_http_pct_encode(const char *v, size_t n, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c > 0x20 && c < 0x7F && c != '"' && c != '%') {
            if (o + 1 >= size)
                return 0;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= size)
                return 0;
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= size)
        return 0;
    out[o] = '\0';
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k >= n)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

long ev_http_pct_decode(const char *v, size_t n, char *out, size_t size)
{
    /* An old-style quoted-string: "…" with \-escapes. */
    char tmp[1024];
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        size_t o = 0;
        for (size_t i = 1; i + 1 < n; i++) {
            if (v[i] == '\\' && i + 2 < n)
                i++;
            if (o >= sizeof tmp)
                return -1;
            tmp[o++] = v[i];
        }
        v = tmp;
        n = o;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(v[i + 1]), lo = hexval(v[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return utf8_ok((const unsigned char *)out, o) ? (long)o : -1;
}
