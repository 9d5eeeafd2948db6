/* ev_buf — a growable byte buffer (see ev_buf.h for the contract).
 *
 * Design notes:
 * - Growth doubles the capacity (at least 64 bytes) so a buffer that is reset
 *   and refilled for every event stops allocating after the first few events:
 *   the codec's steady state is allocation-free.
 * - Every append reserves first and only then writes, so a failed append
 *   leaves the buffer exactly as it was (the header promises that).
 * - One byte beyond `len` is always reserved for the NUL terminator.
 * - Integers are formatted with a two-digits-at-a-time table instead of
 *   snprintf: the codec formats five integers per event on the hot path. */
#include "ev_buf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 64

int ev_buf_reserve(ev_buf *b, size_t extra)
{
    /* Room needed, with the NUL. Refuse sizes no object can have (C objects
     * stay below PTRDIFF_MAX), which also keeps the arithmetic from wrapping. */
    if (extra > (size_t)PTRDIFF_MAX - b->len - 1)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap < MIN_CAP ? MIN_CAP : b->cap;
    while (cap < need)
        cap = cap > (size_t)PTRDIFF_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int ev_buf_append(ev_buf *b, const void *data, size_t n)
{
    if (ev_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int ev_buf_puts(ev_buf *b, const char *s)
{
    return ev_buf_append(b, s, strlen(s));
}

int ev_buf_put_pct(ev_buf *b, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c && strchr(keep, c));
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (plain ? ev_buf_append(b, s, 1) : ev_buf_append(b, e, 3))
            return -1;
    }
    return 0;
}

/* "00" "01" … "99": two digits per lookup halves the divisions. */
static const char digits2[201] = "00010203040506070809"
                                 "10111213141516171819"
                                 "20212223242526272829"
                                 "30313233343536373839"
                                 "40414243444546474849"
                                 "50515253545556575859"
                                 "60616263646566676869"
                                 "70717273747576777879"
                                 "80818283848586878889"
                                 "90919293949596979899";

static size_t count_digits(uint64_t v)
{
    size_t n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t ev_fmt_u64(char *dst, uint64_t v)
{
    size_t n = count_digits(v);
    char *q = dst + n;
    while (v >= 100) {
        unsigned i = (unsigned)(v % 100) * 2;
        v /= 100;
        *--q = digits2[i + 1];
        *--q = digits2[i];
    }
    if (v >= 10) {
        unsigned i = (unsigned)v * 2;
        *--q = digits2[i + 1];
        *--q = digits2[i];
    } else {
        *--q = (char)('0' + v);
    }
    return n;
}

int ev_buf_putu64(ev_buf *b, uint64_t v)
{
    if (ev_buf_reserve(b, EV_FMT_U64_MAX) != 0)
        return -1;
    b->len += ev_fmt_u64(b->p + b->len, v);
    b->p[b->len] = '\0';
    return 0;
}

int ev_buf_puti64(ev_buf *b, int64_t v)
{
    if (ev_buf_reserve(b, EV_FMT_U64_MAX + 1) != 0)
        return -1;
    /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        b->p[b->len++] = '-';
        u = 0 - u;
    }
    b->len += ev_fmt_u64(b->p + b->len, u);
    b->p[b->len] = '\0';
    return 0;
}

/* Bytes that need an escape: controls, quote, backslash. */
static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Size of the escaped form of one byte that needs an escape. */
static size_t escape_len(unsigned char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '\b':
    case '\f':
    case '\n':
    case '\r':
    case '\t':
        return 2;
    default:
        return 6; /* \u00XX */
    }
}

int ev_buf_put_json_string(ev_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;

    /* First pass: exact output size, so a single reserve makes the write
     * infallible and a failure leaves the buffer untouched. */
    size_t out = 2;
    for (size_t i = 0; i < n; i++) {
        size_t add = needs_escape(u[i]) ? escape_len(u[i]) : 1;
        if (out > (size_t)PTRDIFF_MAX - add)
            return -1;
        out += add;
    }
    if (ev_buf_reserve(b, out) != 0)
        return -1;

    char *q = b->p + b->len;
    *q++ = '"';
    size_t i = 0;
    while (i < n) {
        /* Copy the run of plain bytes in one go. */
        size_t j = i;
        while (j < n && !needs_escape(u[j]))
            j++;
        memcpy(q, u + i, j - i);
        q += j - i;
        if (j == n)
            break;
        unsigned char c = u[j];
        *q++ = '\\';
        switch (c) {
        case '"':
            *q++ = '"';
            break;
        case '\\':
            *q++ = '\\';
            break;
        case '\b':
            *q++ = 'b';
            break;
        case '\f':
            *q++ = 'f';
            break;
        case '\n':
            *q++ = 'n';
            break;
        case '\r':
            *q++ = 'r';
            break;
        case '\t':
            *q++ = 't';
            break;
        default:
            *q++ = 'u';
            *q++ = '0';
            *q++ = '0';
            *q++ = hex[c >> 4];
            *q++ = hex[c & 15];
            break;
        }
        i = j + 1;
    }
    *q++ = '"';
    b->len = (size_t)(q - b->p);
    b->p[b->len] = '\0';
    return 0;
}

void ev_buf_reset(ev_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void ev_buf_free(ev_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
