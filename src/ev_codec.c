/* ev_codec — the CloudEvents 1.0 envelope of docs/design.md §2 (contract in ev_codec.h).
 *
 * Design notes.
 *
 * Encoding. A template holds, pre-escaped, every byte of the structured event
 * that does not depend on seq or time, in three pieces:
 *   P0  {"specversion":"1.0","id":"RUN-I-L-
 *   P1  ","source":"…","type":"…","time":"
 *   P2  ","datacontenttype":"application/json","evloadrun":"RUN","evloadlane":"I.L","evloadseq":"
 * plus the data middle `,<template members>,"pad":"`. An encode reserves the
 * worst-case size once and then writes straight into the buffer: memcpy for
 * constants, ev_fmt_u64 for integers, arithmetic civil-from-days for `time`,
 * memset for the pad. evloadcrc comes before data in the text but is a CRC of
 * data, so its 8 bytes are left as a hole, data is written, then the hole is
 * filled. No jansson, no malloc (once the buffer has grown), no snprintf.
 *   `time` is computed with Howard Hinnant's days-to-civil arithmetic rather
 * than gmtime_r: glibc's gmtime_r takes the process-wide tzset lock on every
 * call, which would be shared hot state between publisher lanes (docs/design.md §8.3);
 * the unit test checks the arithmetic against gmtime_r.
 *
 * Data is {"seq":N<,members>,"pad":"xx…"}. The pad member is always there, so
 * the shape never changes; when data_size is not larger than the object with
 * an empty pad, the pad is empty and data has that minimum size.
 *
 * Decoding. Structured, hot path (ev_ce_decode_structured): js_scan, a
 * single-pass, allocation-free scanner that validates the whole text exactly
 * as strictly as jansson 2.14 json_loadb(JSON_REJECT_DUPLICATES) does (rules
 * and one reproduced quirk listed at its section) and hands back the
 * top-level members as (raw name, raw value span, kind); names and string
 * values with escapes are decoded into a stack arena only when present.
 * jansson cost ~10 us per 610-byte event (a hash table and a string per
 * object), a whole core at 100k events/s; the scanner path is ~1 us. What
 * the scanner does not handle cheaply (nesting > 32, > 128 keys in open
 * objects, long escaped names or values, reals near DBL_MAX) goes to the
 * reference. Reference (decode_structured_ref, exported for tests as
 * ev_ce_decode_structured_ref): jansson, then the same checks; the unit test
 * runs both on every vector and on 220k mutated events and requires the same
 * verdicts. Both feed each top-level member to check_member (the per-member
 * rules of docs/cloudevents.md §7.1) and finish with check_tally; the jansson
 * form of that is validate_object, which ev_ce_validate_json (cold) uses.
 * Binary: the same per-attribute checks over the attribute list
 * (validate_binary). All then go through classify(), which applies evload's
 * own rules in this order:
 *   1. evloadrun missing, not a string, or another run  -> FOREIGN
 *   2. identity (instance, lane, seq, sched, sent) parsed when possible
 *   3. CloudEvents violation                            -> CORRUPT (the violation)
 *   4. evload attributes missing/malformed              -> CORRUPT
 *   5. id != RUN-I-L-SEQ                                -> CORRUPT
 *   6. CRC-32C of the data bytes != evloadcrc           -> CORRUPT "checksum mismatch"
 *   7. data does not start with {"seq":SEQ             -> CORRUPT
 * Steps 5 and 7 catch damage to the attributes, which the CRC does not cover.
 * In structured mode the CRC runs over the raw bytes of the top-level "data"
 * value in the original text: its span from js_scan, or in the reference
 * from find_data_span (a small scanner that skips JSON values; by then
 * jansson has accepted the text, so it only needs to be bounds-safe, not a
 * validator). Text that is not JSON (or whose top level is not an object) is
 * CORRUPT if it contains our run id and FOREIGN otherwise; the reason quotes
 * js_scan's or jansson's message, so it is worded differently on the two
 * paths, the verdict is not.
 *
 * Every reason string is sanitised to printable ASCII, because it can quote
 * attacker- or corruption-controlled bytes and ends up on terminals and in
 * JSON reports. */
#include "ev_codec.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define TIME_LEN 30 /* 2026-11-27T19:54:13.123456789Z */
#define CRC_HEX_LEN 8

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

typedef struct piece {
    const char *p;
    size_t n;
} piece;

#define LIT(s) (s), (sizeof(s) - 1)

static char *put(char *q, const char *s, size_t n)
{
    memcpy(q, s, n);
    return q + n;
}

static char *put_i64(char *q, int64_t v)
{
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        *q++ = '-';
        u = 0 - u;
    }
    return q + ev_fmt_u64(q, u);
}

static void put_hex32(char *q, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--) {
        q[i] = hex[v & 15];
        v >>= 4;
    }
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). Howard
 * Hinnant's algorithm: exact for every int64 ns timestamp. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *q, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        q[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return q + width;
}

/* Writes exactly TIME_LEN bytes: RFC 3339 UTC with nanoseconds. int64 ns
 * spans the years 1677..2262, so the year always has four digits. */
static void put_time(char *q, int64_t ns)
{
    int64_t secs = ns / NS_PER_S, frac = ns % NS_PER_S;
    if (frac < 0) {
        frac += NS_PER_S;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    q = put_digits(q, (unsigned)y, 4);
    *q++ = '-';
    q = put_digits(q, mo, 2);
    *q++ = '-';
    q = put_digits(q, d, 2);
    *q++ = 'T';
    q = put_digits(q, (unsigned)(sod / 3600), 2);
    *q++ = ':';
    q = put_digits(q, (unsigned)(sod / 60 % 60), 2);
    *q++ = ':';
    q = put_digits(q, (unsigned)(sod % 60), 2);
    *q++ = '.';
    q = put_digits(q, (unsigned)frac, 9);
    *q = 'Z';
}

/* ------------------------------------------------------------------------ */
/* Lexical checks shared by the template builder and the validator          */
/* ------------------------------------------------------------------------ */

/* NULL when p[0..n) is a valid CloudEvents String: well-formed UTF-8 (no
 * overlongs, no surrogates, <= U+10FFFF), no U+0000-U+001F, U+007F-U+009F,
 * no noncharacters (U+FDD0-U+FDEF, U+xxFFFE, U+xxFFFF). Else what is wrong,
 * and *cp the offending code point (0 for invalid UTF-8). */
static const char *ce_string_problem(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    *cp = 0;
    while (i < n) {
        uint32_t c = p[i];
        size_t len;
        uint32_t min;
        if (c >= 0x20 && c < 0x7F) { /* printable ASCII: the common case, in a run */
            size_t j = i + 1;
            while (j < n && p[j] >= 0x20 && p[j] < 0x7F)
                j++;
            *cp = p[j - 1];
            i = j;
            continue;
        }
        if (c < 0x80) {
            len = 1;
            min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            c &= 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            c &= 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            c &= 0x07;
            min = 0x10000;
        } else {
            return "invalid UTF-8";
        }
        if (len > n - i)
            return "invalid UTF-8";
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return "invalid UTF-8";
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF)
            return "invalid UTF-8";
        *cp = c;
        if (c >= 0xD800 && c <= 0xDFFF)
            return "a surrogate code point";
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
            return "a control character";
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
            return "a noncharacter";
        i += len;
    }
    *cp = 0;
    return NULL;
}

/* Empty or only whitespace: sdk-go trims before its non-empty checks, and so
 * do we, so an event we accept is accepted by Go receivers too. */
static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 characters that may appear literally in a URI reference. */
static int uri_char(unsigned char c)
{
    if (is_alpha(c) || is_digit(c))
        return 1;
    return c != 0 && strchr("-._~:/?#[]@!$&'()*+,;=", c) != NULL;
}

/* RFC 3986 URI-reference (§4.1) syntax: only URI characters and %HH escapes;
 * if the first of ":/?#" is ':', what precedes it must be a scheme
 * (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )); at most one '#'; '[' and ']'
 * only inside an authority (IP literals). With absolute, a scheme is required
 * (URI, §4.3). Emptiness is the caller's business. */
static int valid_uri(const char *s, size_t n, int absolute)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t colon = n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ':') {
            colon = i;
            break;
        }
        if (p[i] == '/' || p[i] == '?' || p[i] == '#')
            break;
    }
    size_t rest = 0;
    if (colon < n) {
        if (colon == 0 || !is_alpha(p[0]))
            return 0;
        for (size_t i = 1; i < colon; i++)
            if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '+' && p[i] != '-' && p[i] != '.')
                return 0;
        rest = colon + 1;
    } else if (absolute) {
        return 0;
    }
    /* Authority span, where IP-literal brackets are allowed. */
    size_t auth_b = n, auth_e = n;
    if (n - rest >= 2 && p[rest] == '/' && p[rest + 1] == '/') {
        auth_b = rest + 2;
        auth_e = auth_b;
        while (auth_e < n && p[auth_e] != '/' && p[auth_e] != '?' && p[auth_e] != '#')
            auth_e++;
    }
    int hashes = 0;
    for (size_t i = rest; i < n; i++) {
        unsigned char c = p[i];
        if (c == '%') {
            if (n - i < 3 || !is_hex(p[i + 1]) || !is_hex(p[i + 2]))
                return 0;
            i += 2;
            continue;
        }
        if (!uri_char(c))
            return 0;
        if (c == '#' && ++hashes > 1)
            return 0;
        if ((c == '[' || c == ']') && (i < auth_b || i >= auth_e))
            return 0;
    }
    return 1;
}

/* RFC 7230 tchar. */
static int tchar(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t skip_token(const unsigned char *p, size_t n, size_t i)
{
    while (i < n && tchar(p[i]))
        i++;
    return i;
}

static size_t skip_ows(const unsigned char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i;
}

/* RFC 7231 media-type: type "/" subtype *( OWS ";" OWS token "=" ( token /
 * quoted-string ) ), nothing before or after. */
static int valid_media_type(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = skip_token(p, n, 0);
    if (i == 0 || i >= n || p[i] != '/')
        return 0;
    size_t j = skip_token(p, n, i + 1);
    if (j == i + 1)
        return 0;
    i = j;
    while (i < n) {
        i = skip_ows(p, n, i);
        if (i >= n || p[i] != ';')
            return 0;
        i = skip_ows(p, n, i + 1);
        j = skip_token(p, n, i);
        if (j == i || j >= n || p[j] != '=')
            return 0;
        i = j + 1;
        if (i < n && p[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return 0;
                unsigned char c = p[i];
                if (c == '"') {
                    i++;
                    break;
                }
                if (c == '\\') {
                    if (i + 1 >= n)
                        return 0;
                    unsigned char e = p[i + 1];
                    if (e != '\t' && (e < 0x20 || e == 0x7F))
                        return 0;
                    i += 2;
                    continue;
                }
                if (c != '\t' && (c < 0x20 || c == 0x7F))
                    return 0;
                i++;
            }
        } else {
            j = skip_token(p, n, i);
            if (j == i)
                return 0;
            i = j;
        }
    }
    return 1;
}

static int two_digits(const unsigned char *p, unsigned *v)
{
    if (!is_digit(p[0]) || !is_digit(p[1]))
        return 0;
    *v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    return 1;
}

/* RFC 3339 date-time: YYYY-MM-DD T hh:mm:ss [.frac] (Z / ±hh:mm), 't' and 'z'
 * allowed, calendar ranges checked (second 60 allowed for leap seconds). */
static int valid_rfc3339(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned yh, yl, mo, d, h, mi, se;
    if (n < 20)
        return 0;
    if (!two_digits(p, &yh) || !two_digits(p + 2, &yl) || p[4] != '-' || !two_digits(p + 5, &mo) ||
        p[7] != '-' || !two_digits(p + 8, &d) || (p[10] != 'T' && p[10] != 't') ||
        !two_digits(p + 11, &h) || p[13] != ':' || !two_digits(p + 14, &mi) || p[16] != ':' ||
        !two_digits(p + 17, &se))
        return 0;
    unsigned y = yh * 100 + yl;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return 0;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return 0;
    size_t i = 19;
    if (p[i] == '.') {
        size_t j = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == j)
            return 0;
    }
    if (i >= n)
        return 0; /* no offset */
    if (p[i] == 'Z' || p[i] == 'z')
        return i + 1 == n;
    if (p[i] != '+' && p[i] != '-')
        return 0;
    unsigned oh, om;
    if (n - i != 6 || !two_digits(p + i + 1, &oh) || p[i + 3] != ':' ||
        !two_digits(p + i + 4, &om) || oh > 23 || om > 59)
        return 0;
    return 1;
}

static int b64_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}

/* RFC 4648 §4 Base64 with padding. */
static int valid_base64(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n % 4)
        return 0;
    size_t pad = 0;
    if (n >= 1 && p[n - 1] == '=')
        pad++;
    if (n >= 2 && p[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(p[i]))
            return 0;
    return 1;
}

/* [a-z0-9]+ (docs/cloudevents.md §2.4; > 20 is only a SHOULD, not checked). */
static int valid_attr_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit((unsigned char)s[i])))
            return 0;
    return 1;
}

static int name_is(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    return n == m && memcmp(s, lit, n) == 0;
}

/* A printable-ASCII rendering of untrusted bytes for messages, at most 40. */
static const char *shown(const char *s, size_t n, char buf[48])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c >= 0x20 && c < 0x7F && c != '"') ? (char)c : '?';
    }
    if (n > 40) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k] = '\0';
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Per-attribute validation (both modes)                                    */
/* ------------------------------------------------------------------------ */

enum { CORE_NONE, CORE_SPEC, CORE_ID, CORE_SOURCE, CORE_TYPE, CORE_OTHER };

static int core_kind(const char *name, size_t n)
{
    if (name_is(name, n, "specversion"))
        return CORE_SPEC;
    if (name_is(name, n, "id"))
        return CORE_ID;
    if (name_is(name, n, "source"))
        return CORE_SOURCE;
    if (name_is(name, n, "type"))
        return CORE_TYPE;
    if (name_is(name, n, "time") || name_is(name, n, "datacontenttype") ||
        name_is(name, n, "dataschema") || name_is(name, n, "subject"))
        return CORE_OTHER;
    return CORE_NONE;
}

/* Checks one attribute whose value is a string (every binary attribute, and
 * string members in JSON). The name has already passed valid_attr_name. */
static int check_string_attr(const char *name, size_t nn, const char *v, size_t vn, ev_err *err)
{
    char nb[48], vb[48];
    uint32_t cp;
    const char *why = ce_string_problem(v, vn, &cp);
    if (why) {
        if (cp)
            return ev_err_set(err, EV_EUSAGE, "attribute \"%s\" contains %s (U+%04X)",
                              shown(name, nn, nb), why, (unsigned)cp);
        return ev_err_set(err, EV_EUSAGE, "attribute \"%s\" contains %s", shown(name, nn, nb), why);
    }
    if (name_is(name, nn, "specversion")) {
        if (!name_is(v, vn, "1.0"))
            return ev_err_set(err, EV_EUSAGE, "specversion \"%s\" is not \"1.0\"",
                              shown(v, vn, vb));
    } else if (name_is(name, nn, "id") || name_is(name, nn, "type") ||
               name_is(name, nn, "subject")) {
        if (blank(v, vn))
            return ev_err_set(err, EV_EUSAGE, "attribute \"%s\" is empty", shown(name, nn, nb));
    } else if (name_is(name, nn, "source")) {
        if (blank(v, vn))
            return ev_err_set(err, EV_EUSAGE, "attribute \"source\" is empty");
        if (!valid_uri(v, vn, 0))
            return ev_err_set(err, EV_EUSAGE, "source \"%s\" is not a URI-reference",
                              shown(v, vn, vb));
    } else if (name_is(name, nn, "dataschema")) {
        if (vn == 0 || !valid_uri(v, vn, 1))
            return ev_err_set(err, EV_EUSAGE, "dataschema \"%s\" is not an absolute URI",
                              shown(v, vn, vb));
    } else if (name_is(name, nn, "time")) {
        if (!valid_rfc3339(v, vn))
            return ev_err_set(err, EV_EUSAGE, "time \"%s\" is not an RFC 3339 timestamp",
                              shown(v, vn, vb));
    } else if (name_is(name, nn, "datacontenttype")) {
        if (!valid_media_type(v, vn))
            return ev_err_set(err, EV_EUSAGE, "datacontenttype \"%s\" is not a media type",
                              shown(v, vn, vb));
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Structured validation                                                    */
/* ------------------------------------------------------------------------ */

/* What a JSON value is, as far as the CloudEvents checks care. */
enum { JK_NULL, JK_BOOL, JK_INT, JK_REAL, JK_STRING, JK_OBJECT, JK_ARRAY };

/* One top-level member of a structured event, as both decoders present it to
 * check_member: the jansson reference (from a json_t) and the scanner (from
 * the raw text). name and str are decoded (escapes undone) and never contain
 * NUL (JSON with \u0000 is rejected before we get here). */
typedef struct ce_member {
    const char *name;
    size_t name_n;
    int kind;        /* JK_* */
    const char *str; /* JK_STRING: the value */
    size_t str_n;
    int64_t ival; /* JK_INT: the value */
} ce_member;

/* What check_member has seen so far, for the whole-event checks. */
typedef struct ce_tally {
    int have[CORE_OTHER];
    int have_data, have_b64;
} ce_tally;

/* The per-member rules of docs/cloudevents.md §7.1 (2, 3, 8, 9, 10, 11), in
 * member order; the first violation goes to err. */
static int check_member(const ce_member *m, ce_tally *t, ev_err *err)
{
    const char *key = m->name;
    size_t kn = m->name_n;
    int kw = kn > 100 ? 100 : (int)kn; /* for %.*s; messages are short anyway */
    char nb[48];
    if (m->kind == JK_NULL)
        return 0; /* null means absent (docs/cloudevents.md §4.2) */
    if (name_is(key, kn, "data")) {
        t->have_data = 1;
        return 0;
    }
    if (name_is(key, kn, "data_base64")) {
        if (m->kind != JK_STRING || !valid_base64(m->str, m->str_n))
            return ev_err_set(err, EV_EUSAGE, "data_base64 is not a Base64 string");
        t->have_b64 = 1;
        return 0;
    }
    if (!valid_attr_name(key, kn))
        return ev_err_set(err, EV_EUSAGE, "attribute name \"%s\" is not [a-z0-9]+",
                          shown(key, kn, nb));
    int kind = core_kind(key, kn);
    if (kind != CORE_NONE && kind != CORE_OTHER)
        t->have[kind] = 1;
    if (m->kind == JK_STRING)
        return check_string_attr(key, kn, m->str, m->str_n, err) ? EV_EUSAGE : 0;
    if (kind != CORE_NONE)
        return ev_err_set(err, EV_EUSAGE, "attribute \"%.*s\" is not a string", kw, key);
    switch (m->kind) {
    case JK_BOOL: /* a CloudEvents Boolean */
        return 0;
    case JK_INT:
        if (m->ival < INT32_MIN || m->ival > INT32_MAX)
            return ev_err_set(err, EV_EUSAGE,
                              "extension \"%.*s\" is outside the 32-bit Integer range", kw, key);
        return 0;
    case JK_REAL:
        return ev_err_set(err, EV_EUSAGE,
                          "extension \"%.*s\" is a number with a fraction or exponent", kw, key);
    default:
        return ev_err_set(err, EV_EUSAGE, "extension \"%.*s\" is an object or array", kw, key);
    }
}

/* The whole-event rules, once every member has been through check_member. */
static int check_tally(const ce_tally *t, ev_err *err)
{
    static const char *const required[] = {NULL, "specversion", "id", "source", "type"};
    for (int k = CORE_SPEC; k < CORE_OTHER; k++)
        if (!t->have[k])
            return ev_err_set(err, EV_EUSAGE, "required attribute \"%s\" is missing", required[k]);
    if (t->have_data && t->have_b64)
        return ev_err_set(err, EV_EUSAGE, "both data and data_base64 are present");
    return 0;
}

/* The reference: the same checks over a jansson object (member order is
 * insertion order, i.e. document order, as in the scanner). */
static int validate_object(json_t *root, ev_err *err)
{
    if (!json_is_object(root))
        return ev_err_set(err, EV_EUSAGE, "event is not a JSON object");
    ce_tally t;
    memset(&t, 0, sizeof t);
    const char *key;
    json_t *v;
    json_object_foreach (root, key, v) {
        ce_member m = {.name = key, .name_n = strlen(key)};
        switch (json_typeof(v)) {
        case JSON_NULL:
            m.kind = JK_NULL;
            break;
        case JSON_TRUE:
        case JSON_FALSE:
            m.kind = JK_BOOL;
            break;
        case JSON_INTEGER:
            m.kind = JK_INT;
            m.ival = (int64_t)json_integer_value(v);
            break;
        case JSON_REAL:
            m.kind = JK_REAL;
            break;
        case JSON_STRING:
            m.kind = JK_STRING;
            m.str = json_string_value(v);
            m.str_n = json_string_length(v);
            break;
        case JSON_OBJECT:
            m.kind = JK_OBJECT;
            break;
        default:
            m.kind = JK_ARRAY;
            break;
        }
        if (check_member(&m, &t, err))
            return EV_EUSAGE;
    }
    return check_tally(&t, err);
}

/* ------------------------------------------------------------------------ */
/* Binary validation                                                        */
/* ------------------------------------------------------------------------ */

static int validate_binary(const ev_ce_attr *attrs, size_t nattrs, const char *content_type,
                           ev_err *err)
{
    int have[CORE_OTHER] = {0};
    char nb[48];
    for (size_t i = 0; i < nattrs; i++) {
        const ev_ce_attr *a = &attrs[i];
        const char *name = a->name ? a->name : "";
        size_t nn = a->name ? a->name_len : 0;
        const char *val = a->value ? a->value : "";
        size_t vn = a->value ? a->value_len : 0;
        if (!valid_attr_name(name, nn))
            return ev_err_set(err, EV_EUSAGE, "attribute name \"%s\" is not [a-z0-9]+",
                              shown(name, nn, nb));
        if (name_is(name, nn, "data"))
            return ev_err_set(err, EV_EUSAGE, "\"data\" is not an attribute name");
        for (size_t j = 0; j < i; j++)
            if (attrs[j].name && attrs[j].name_len == nn && memcmp(attrs[j].name, name, nn) == 0)
                return ev_err_set(err, EV_EUSAGE, "attribute \"%s\" appears twice",
                                  shown(name, nn, nb));
        int kind = core_kind(name, nn);
        if (kind != CORE_NONE && kind != CORE_OTHER)
            have[kind] = 1;
        if (check_string_attr(name, nn, val, vn, err))
            return EV_EUSAGE;
    }
    static const char *const required[] = {NULL, "specversion", "id", "source", "type"};
    for (int k = CORE_SPEC; k < CORE_OTHER; k++)
        if (!have[k])
            return ev_err_set(err, EV_EUSAGE, "required attribute \"%s\" is missing", required[k]);
    if (content_type && !valid_media_type(content_type, strlen(content_type)))
        return ev_err_set(err, EV_EUSAGE, "content type \"%s\" is not a media type",
                          shown(content_type, strlen(content_type), nb));
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Raw span of the top-level "data" member                                  */
/* ------------------------------------------------------------------------ */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* s[*i] is '"'; on success *i is just past the closing quote. */
static int skip_string(const char *s, size_t n, size_t *i)
{
    size_t k = *i + 1;
    while (k < n) {
        if (s[k] == '\\') {
            k += 2;
            continue;
        }
        if (s[k] == '"') {
            *i = k + 1;
            return 0;
        }
        k++;
    }
    return -1;
}

static int skip_value(const char *s, size_t n, size_t *i)
{
    size_t k = *i;
    if (k >= n)
        return -1;
    if (s[k] == '"')
        return skip_string(s, n, i);
    if (s[k] == '{' || s[k] == '[') {
        size_t depth = 0;
        while (k < n) {
            char c = s[k];
            if (c == '"') {
                if (skip_string(s, n, &k))
                    return -1;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    *i = k + 1;
                    return 0;
                }
            }
            k++;
        }
        return -1;
    }
    /* number, true, false, null */
    size_t b = k;
    while (k < n && s[k] != ',' && s[k] != '}' && s[k] != ']' && s[k] != ' ' && s[k] != '\t' &&
           s[k] != '\n' && s[k] != '\r')
        k++;
    if (k == b)
        return -1;
    *i = k;
    return 0;
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether the raw key text k[0..n) (between the quotes, escapes undone)
 * spells lit, an ASCII string: "d\u0061ta" is also "data". */
static int raw_key_is(const char *k, size_t n, const char *lit)
{
    size_t i = 0, m = 0, litn = strlen(lit);
    while (i < n) {
        unsigned c = (unsigned char)k[i++];
        if (c == '\\') {
            if (i >= n)
                return 0;
            char e = k[i++];
            switch (e) {
            case 'u': {
                if (n - i < 4)
                    return 0;
                c = 0;
                for (int d = 0; d < 4; d++) {
                    int h = hexval((unsigned char)k[i++]);
                    if (h < 0)
                        return 0;
                    c = c << 4 | (unsigned)h;
                }
                break;
            }
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            default:
                c = (unsigned char)e; /* \" \\ \/ */
                break;
            }
        }
        if (m >= litn || c != (unsigned char)lit[m])
            return 0;
        m++;
    }
    return m == litn;
}

/* Finds the raw bytes of the value of the top-level member "data" in JSON
 * object text that jansson has already accepted (so there is one such member
 * at most). Bounds-safe on any input. 0 with [*b, *e), or -1. */
static int find_data_span(const char *s, size_t n, size_t *b, size_t *e)
{
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{')
        return -1;
    i++;
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != '"')
            return -1;
        size_t ks = i + 1;
        if (skip_string(s, n, &i))
            return -1;
        int is_data = raw_key_is(s + ks, i - 1 - ks, "data");
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return -1;
        i = skip_ws(s, n, i + 1);
        size_t vs = i;
        if (skip_value(s, n, &i))
            return -1;
        if (is_data) {
            *b = vs;
            *e = i;
            return 0;
        }
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ',')
            return -1;
        i++;
    }
}

/* ------------------------------------------------------------------------ */
/* Strict JSON scanner: the structured hot path                             */
/* ------------------------------------------------------------------------ */

/* js_scan accepts exactly what jansson 2.14 json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (for the inputs within its limits) and reports the top-level
 * members without allocating. jansson's rules, as read from its load.c and
 * checked by the differential test:
 *   - top level is an object or array; after it only whitespace (' ' \t \n
 *     \r) up to the end of the buffer;
 *   - RFC 8259 grammar: no trailing commas, keywords exactly true/false/null;
 *   - strings: no raw byte below 0x20 (0x7F is allowed); escapes only
 *     \" \\ \/ \b \f \n \r \t \uXXXX; \u0000 rejected (in keys too); a high
 *     surrogate escape must be followed at once by a low one, a low one
 *     alone is rejected; raw UTF-8 must be well formed (no overlongs, no
 *     encoded surrogates, nothing above U+10FFFF);
 *   - numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; an integer
 *     (no fraction, no exponent) must fit int64 like strtoll; a real must not
 *     overflow to infinity like strtod (underflow is fine);
 *   - duplicate keys (compared after decoding escapes) rejected in every
 *     object, at every nesting level;
 *   - a quirk, reproduced: one NUL byte right after a number or keyword is
 *     skipped (jansson "ungets" the terminator into a NUL-terminated buffer
 *     and then reads past it), so [1\0] is accepted and [1\0\0] is not.
 * Limits, beyond which js_scan answers JS_LIMIT and the caller uses jansson
 * (slower, same verdict): nesting deeper than JS_MAX_DEPTH (jansson's own
 * limit is 2048), more than JS_MAX_KEYS keys in the open objects together,
 * a key with escapes longer than JS_KEY_MAX bytes, and reals whose leading
 * digit is at 10^308, where only strtod can tell whether they overflow. */

enum { JS_OK = 0, JS_INVALID = 1, JS_LIMIT = 2 };

#define JS_MAX_DEPTH 32
#define JS_MAX_KEYS 128
#define JS_KEY_MAX 256

/* A key of an open object. For members of the top-level object (keys[0..n)
 * while the scan runs, all of them at the end) also the value. */
typedef struct jkey {
    const char *raw; /* key text between the quotes, escapes not undone */
    size_t raw_n;
    uint32_t hash;      /* FNV-1a of the decoded key */
    unsigned char esc;  /* raw has a backslash */
    unsigned char kind; /* top-level: JK_* of the value */
    unsigned char vesc; /* top-level string value has a backslash */
    const char *val;    /* top-level: raw value text (strings with their quotes) */
    size_t val_n;
    int64_t ival; /* top-level JK_INT */
} jkey;

typedef struct jscan {
    jkey keys[JS_MAX_KEYS];
    size_t nkeys;    /* after JS_OK: the top-level members, in document order */
    int top_object;  /* the top level is an object (else an array) */
    const char *why; /* JS_INVALID: what is wrong (static text) */
    size_t at;       /* JS_INVALID: byte offset */
} jscan;

static int js_fail(jscan *js, const char *why, size_t at)
{
    js->why = why;
    js->at = at;
    return JS_INVALID;
}

static size_t js_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

#define JS_ONES 0x0101010101010101ull
#define JS_HIGHS 0x8080808080808080ull

/* Nonzero when a byte of v is below 0x20, '"', '\\' or 0x80 and above: where
 * the string scan must look byte by byte. False positives are possible (a
 * borrow), misses are not. */
static uint64_t js_special8(uint64_t v)
{
    uint64_t q = v ^ (JS_ONES * '"'), b = v ^ (JS_ONES * '\\');
    return (v | ((v - JS_ONES * 0x20) & ~v) | ((q - JS_ONES) & ~q) | ((b - JS_ONES) & ~b)) &
           JS_HIGHS;
}

/* Length of the well-formed UTF-8 sequence at p[0..avail) whose lead byte is
 * 0x80 or above, or 0 (jansson's utf8_check_first/utf8_check_full). */
static size_t js_utf8(const unsigned char *p, size_t avail)
{
    uint32_t c = p[0], v;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[k] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (len == 3 && v < 0x800) ||
        (len == 4 && v < 0x10000))
        return 0;
    return len;
}

/* The 4 hex digits at s[i..i+4) into *v; -1 if they are not there. */
static int js_hex4(const char *s, size_t n, size_t i, uint32_t *v)
{
    if (i > n || n - i < 4)
        return -1;
    uint32_t x = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval((unsigned char)s[i + k]);
        if (h < 0)
            return -1;
        x = x << 4 | (uint32_t)h;
    }
    *v = x;
    return 0;
}

/* s[*pi] is '"'. Validates the string; on JS_OK *pi is past the closing
 * quote and *esc says whether it holds a backslash. */
static int js_string(jscan *js, const char *s, size_t n, size_t *pi, unsigned char *esc)
{
    size_t i = *pi + 1;
    *esc = 0;
    for (;;) {
        while (n - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (js_special8(v))
                break;
            i += 8;
        }
        if (i >= n)
            return js_fail(js, "premature end of input in a string", i);
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            *pi = i + 1;
            return JS_OK;
        }
        if (c < 0x20)
            return js_fail(js, "control character in a string", i);
        if (c < 0x80 && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t len = js_utf8((const unsigned char *)s + i, n - i);
            if (!len)
                return js_fail(js, "invalid UTF-8", i);
            i += len;
            continue;
        }
        *esc = 1;
        if (n - i < 2)
            return js_fail(js, "premature end of input in a string", i);
        unsigned char e = (unsigned char)s[i + 1];
        if (e != 'u') {
            if (!memchr("\"\\/bfnrt", e, 8))
                return js_fail(js, "invalid escape", i);
            i += 2;
            continue;
        }
        uint32_t u, u2;
        if (js_hex4(s, n, i + 2, &u))
            return js_fail(js, "invalid \\u escape", i);
        if (u == 0)
            return js_fail(js, "\\u0000 is not allowed", i);
        if (u >= 0xDC00 && u <= 0xDFFF)
            return js_fail(js, "lone low surrogate escape", i);
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (n - i < 8 || s[i + 6] != '\\' || s[i + 7] != 'u' || js_hex4(s, n, i + 8, &u2) ||
                u2 < 0xDC00 || u2 > 0xDFFF)
                return js_fail(js, "high surrogate escape without a low one", i);
            i += 6;
        }
        i += 6;
    }
}

/* Decodes a string body that js_string accepted, raw[0..n), into out, which
 * has room for n bytes (decoding never makes a string longer); returns the
 * decoded length. Same bytes as jansson: UTF-8 for \u escapes, pairs joined. */
static size_t js_unescape(const char *raw, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        if (raw[i] != '\\') {
            out[o++] = raw[i++];
            continue;
        }
        char e = raw[i + 1];
        i += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            out[o++] = to[(const char *)memchr(from, e, 8) - from];
            continue;
        }
        uint32_t u = 0, u2 = 0;
        js_hex4(raw, n, i, &u);
        i += 4;
        if (u >= 0xD800 && u <= 0xDBFF) {
            js_hex4(raw, n, i + 2, &u2);
            i += 6;
            u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00);
        }
        if (u < 0x80) {
            out[o++] = (char)u;
        } else if (u < 0x800) {
            out[o++] = (char)(0xC0 | u >> 6);
            out[o++] = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            out[o++] = (char)(0xE0 | u >> 12);
            out[o++] = (char)(0x80 | (u >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (u & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | u >> 18);
            out[o++] = (char)(0x80 | (u >> 12 & 0x3F));
            out[o++] = (char)(0x80 | (u >> 6 & 0x3F));
            out[o++] = (char)(0x80 | (u & 0x3F));
        }
    }
    return o;
}

/* A cheap hash of a decoded key for duplicate detection: its length and its
 * first and last 8 bytes. Collisions only cost a compare. */
static uint32_t js_key_hash(const char *p, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else {
        memcpy(&a, p, n);
    }
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xC2B2AE3D27D4EB4Full;
    return (uint32_t)(h >> 32);
}

/* The decoded text of key k: k->raw itself, or decoded into buf (JS_KEY_MAX
 * bytes). -1 when it has escapes and is too long for buf. */
static int js_key_text(const jkey *k, char *buf, const char **p, size_t *n)
{
    if (!k->esc) {
        *p = k->raw;
        *n = k->raw_n;
        return 0;
    }
    if (k->raw_n > JS_KEY_MAX)
        return -1;
    *p = buf;
    *n = js_unescape(k->raw, k->raw_n, buf);
    return 0;
}

/* s[*pi] is '-' or a digit: one number token. *kind is JK_INT (value in
 * *iv) or JK_REAL. */
static int js_number(jscan *js, const char *s, size_t n, size_t *pi, unsigned char *kind,
                     int64_t *iv)
{
    size_t i = *pi, b = i;
    int neg = s[i] == '-';
    i += (size_t)neg;
    size_t ib = i;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
    } else {
        return js_fail(js, "invalid number", b);
    }
    size_t ie = i, fb = i, fe = i;
    int real = 0;
    if (i < n && is_digit((unsigned char)s[i]))
        return js_fail(js, "leading zero", b);
    if (i < n && s[i] == '.') {
        fb = ++i;
        if (i >= n || !is_digit((unsigned char)s[i]))
            return js_fail(js, "invalid number", b);
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        fe = i;
        real = 1;
    }
    int64_t x = 0; /* the exponent, saturated far beyond anything that matters */
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int xneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            xneg = s[i++] == '-';
        if (i >= n || !is_digit((unsigned char)s[i]))
            return js_fail(js, "invalid number", b);
        while (i < n && is_digit((unsigned char)s[i])) {
            if (x < 100000000000000000LL)
                x = x * 10 + (s[i] - '0');
            i++;
        }
        if (xneg)
            x = -x;
        real = 1;
    }
    *pi = i;
    if (!real) {
        /* strtoll's range: up to 2^63-1, down to -2^63 */
        uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, u = 0;
        for (size_t k = ib; k < ie; k++) {
            unsigned d = (unsigned)(s[k] - '0');
            if (u > (lim - d) / 10)
                return js_fail(js, "integer out of range", b);
            u = u * 10 + d;
        }
        *kind = JK_INT;
        *iv = neg ? (int64_t)(0 - u) : (int64_t)u;
        return JS_OK;
    }
    /* strtod overflows to infinity (jansson: "real number overflow") when the
     * value is at least DBL_MAX rounded up, ~1.797693e308. e10 is the decimal
     * exponent of the leading nonzero digit: below 308 never overflows, above
     * always; at 308 ask jansson. Zero never overflows. */
    int64_t e10;
    if (s[ib] != '0') {
        e10 = (int64_t)(ie - ib) - 1;
    } else {
        size_t k = fb;
        while (k < fe && s[k] == '0')
            k++;
        if (k == fe) {
            *kind = JK_REAL;
            return JS_OK;
        }
        e10 = -(int64_t)(k - fb) - 1;
    }
    e10 += x;
    if (e10 > 308)
        return js_fail(js, "real number overflow", b);
    if (e10 == 308)
        return JS_LIMIT;
    *kind = JK_REAL;
    return JS_OK;
}

/* Scans s[0..n) as a whole JSON text; see the notes above this section.
 * JS_OK with js->keys[0..nkeys) the top-level members when the top level is
 * an object; JS_INVALID with why/at; JS_LIMIT. */
static int js_scan(jscan *js, const char *s, size_t n)
{
    unsigned char open[JS_MAX_DEPTH]; /* '{' or '[' per open container */
    size_t base[JS_MAX_DEPTH];        /* an open object's first key in js->keys */
    size_t depth = 0;
    int rc;
    char kb1[JS_KEY_MAX], kb2[JS_KEY_MAX];
    js->nkeys = 0;
    js->why = NULL;
    js->at = 0;
    size_t i = js_ws(s, n, 0);
    if (i >= n || (s[i] != '{' && s[i] != '['))
        return js_fail(js, "'[' or '{' expected", i);
    js->top_object = s[i] == '{';

value: /* a value starts at s[i] (whitespace skipped) */
    if (i >= n)
        return js_fail(js, "premature end of input", i);
    {
        /* the top-level member whose value this is, if any */
        jkey *m = depth == 1 && js->top_object ? &js->keys[js->nkeys - 1] : NULL;
        unsigned char c = (unsigned char)s[i];
        if (m)
            m->val = s + i;
        if (c == '{' || c == '[') {
            if (depth == JS_MAX_DEPTH)
                return JS_LIMIT;
            if (m)
                m->kind = c == '{' ? JK_OBJECT : JK_ARRAY;
            open[depth] = c;
            base[depth] = js->nkeys;
            depth++;
            i = js_ws(s, n, i + 1);
            if (i < n && (unsigned char)s[i] == c + 2) { /* '{'+2 is '}', '['+2 is ']' */
                i++;
                depth--;
                goto after;
            }
            if (c == '{')
                goto key;
            goto value;
        }
        if (c == '"') {
            unsigned char esc;
            if ((rc = js_string(js, s, n, &i, &esc)))
                return rc;
            if (m) {
                m->kind = JK_STRING;
                m->vesc = esc;
            }
            goto after;
        }
        if (c == '-' || is_digit(c)) {
            unsigned char kind;
            int64_t iv = 0;
            if ((rc = js_number(js, s, n, &i, &kind, &iv)))
                return rc;
            if (m) {
                m->kind = kind;
                m->ival = iv;
            }
        } else if (n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
            i += 4;
            if (m)
                m->kind = JK_NULL;
        } else if (n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
            i += 4;
            if (m)
                m->kind = JK_BOOL;
        } else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
            i += 5;
            if (m)
                m->kind = JK_BOOL;
        } else {
            return js_fail(js, "invalid token", i);
        }
        if (i < n && s[i] == '\0')
            i++; /* jansson's quirk, see above */
    }

after: /* a value ended just before s[i] */
    if (depth == 0) {
        i = js_ws(s, n, i);
        if (i != n)
            return js_fail(js, "end of input expected", i);
        return JS_OK;
    }
    if (depth == 1 && js->top_object) {
        jkey *m = &js->keys[js->nkeys - 1];
        m->val_n = (size_t)(s + i - m->val);
    }
    i = js_ws(s, n, i);
    if (i >= n)
        return js_fail(js, "premature end of input", i);
    if (s[i] == ',') {
        i = js_ws(s, n, i + 1);
        if (open[depth - 1] == '{')
            goto key;
        goto value;
    }
    if ((unsigned char)s[i] == open[depth - 1] + 2) {
        i++;
        depth--;
        if (open[depth] == '{' && depth > 0)
            js->nkeys = base[depth]; /* forget its keys */
        goto after;
    }
    return js_fail(js, open[depth - 1] == '{' ? "',' or '}' expected" : "',' or ']' expected", i);

key : /* a key starts at s[i] (whitespace skipped) in the innermost object */
{
    if (i >= n || s[i] != '"')
        return js_fail(js, "string or '}' expected", i);
    size_t kb = i + 1;
    if (js->nkeys == JS_MAX_KEYS)
        return JS_LIMIT;
    jkey *k = &js->keys[js->nkeys];
    if ((rc = js_string(js, s, n, &i, &k->esc)))
        return rc;
    k->raw = s + kb;
    k->raw_n = i - 1 - kb;
    k->kind = JK_NULL;
    k->vesc = 0;
    k->ival = 0;
    const char *t1, *t2;
    size_t n1, n2;
    if (js_key_text(k, kb1, &t1, &n1))
        return JS_LIMIT;
    k->hash = js_key_hash(t1, n1);
    for (size_t j = base[depth - 1]; j < js->nkeys; j++) {
        if (js->keys[j].hash != k->hash)
            continue;
        if (js_key_text(&js->keys[j], kb2, &t2, &n2))
            return JS_LIMIT;
        if (n1 == n2 && memcmp(t1, t2, n1) == 0)
            return js_fail(js, "duplicate object key", kb - 1);
    }
    js->nkeys++;
    i = js_ws(s, n, i);
    if (i >= n || s[i] != ':')
        return js_fail(js, "':' expected", i);
    i = js_ws(s, n, i + 1);
    goto value;
}
}

/* ------------------------------------------------------------------------ */
/* evload attributes and classification                                     */
/* ------------------------------------------------------------------------ */

/* An attribute value as seen by classify(). */
typedef struct view {
    int state; /* 0 absent, 1 string (p, n), 2 present but not a string */
    const char *p;
    size_t n;
} view;

typedef struct evattrs {
    view id, run, lane, seq, sched, sent, crc;
} evattrs;

/* Strict canonical decimal: digits only, no sign, no leading zero (except
 * "0"), no overflow. Own parser because binary values are not NUL-terminated
 * and strtoull accepts signs and leading blanks. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > EV_FMT_U64_MAX || (n > 1 && p[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_i64(const char *p, size_t n, int64_t *out)
{
    int neg = n > 0 && p[0] == '-';
    uint64_t u;
    if (parse_u64(p + neg, n - (size_t)neg, &u))
        return -1;
    if (neg) {
        if (u == 0 || u > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = (int64_t)(0 - u);
    } else {
        if (u > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)u;
    }
    return 0;
}

static int parse_u32(const char *p, size_t n, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(p, n, &v) || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* "<instance>.<lane>" */
static int parse_lane(const char *p, size_t n, uint32_t *inst, uint32_t *lane)
{
    const char *dot = memchr(p, '.', n);
    if (!dot)
        return -1;
    size_t a = (size_t)(dot - p);
    return parse_u32(p, a, inst) || parse_u32(dot + 1, n - a - 1, lane) ? -1 : 0;
}

/* Exactly 8 lowercase hex digits. */
static int parse_crc(const char *p, size_t n, uint32_t *out)
{
    if (n != CRC_HEX_LEN)
        return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
            return -1;
        v = v << 4 | (uint32_t)hexval(c);
    }
    *out = v;
    return 0;
}

/* Sets status and a reason reduced to printable ASCII. */
__attribute__((format(printf, 3, 4))) static void verdict(ev_ce_seen *out, int status,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    for (char *c = out->reason; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7F)
            *c = '?';
    out->status = status;
}

/* Requires evload attribute v to be a present string; else CORRUPT. */
static int need_string(const view *v, const char *name, ev_ce_seen *out)
{
    if (v->state == 1)
        return 0;
    verdict(out, EV_CE_CORRUPT, "%s is %s", name, v->state ? "not a string" : "missing");
    return -1;
}

/* The evload rules (see the notes at the top). ce_error is NULL when the
 * event is valid CloudEvents; data is NULL when there is no data. */
static void classify(const evattrs *a, const char *ce_error, const char *data, size_t data_n,
                     const char *expect_run, ev_ce_seen *out)
{
    char vb[48];
    if (!expect_run)
        expect_run = "";
    if (a->run.state == 0) {
        verdict(out, EV_CE_FOREIGN, "no evloadrun attribute");
        return;
    }
    if (a->run.state == 2) {
        verdict(out, EV_CE_FOREIGN, "evloadrun is not a string");
        return;
    }
    if (!name_is(a->run.p, a->run.n, expect_run)) {
        verdict(out, EV_CE_FOREIGN, "evloadrun \"%s\" is another run",
                shown(a->run.p, a->run.n, vb));
        return;
    }

    /* Ours. Learn what we can before judging. */
    uint32_t inst = 0, lane = 0;
    uint64_t seq = 0;
    int lane_ok = a->lane.state == 1 && parse_lane(a->lane.p, a->lane.n, &inst, &lane) == 0;
    int seq_ok = a->seq.state == 1 && parse_u64(a->seq.p, a->seq.n, &seq) == 0;
    if (lane_ok && seq_ok) {
        out->has_identity = 1;
        out->instance = inst;
        out->lane = lane;
        out->seq = seq;
    }
    int sched_ok = a->sched.state == 1 && parse_i64(a->sched.p, a->sched.n, &out->sched_ns) == 0;
    int sent_ok = a->sent.state == 1 && parse_i64(a->sent.p, a->sent.n, &out->sent_ns) == 0;

    if (ce_error) {
        verdict(out, EV_CE_CORRUPT, "%s", ce_error);
        return;
    }
    if (need_string(&a->lane, "evloadlane", out) || need_string(&a->seq, "evloadseq", out) ||
        need_string(&a->sched, "evloadsched", out) || need_string(&a->sent, "evloadsent", out) ||
        need_string(&a->crc, "evloadcrc", out))
        return;
    if (!lane_ok) {
        verdict(out, EV_CE_CORRUPT, "evloadlane \"%s\" is not <instance>.<lane>",
                shown(a->lane.p, a->lane.n, vb));
        return;
    }
    if (!seq_ok) {
        verdict(out, EV_CE_CORRUPT, "evloadseq \"%s\" is not a decimal number",
                shown(a->seq.p, a->seq.n, vb));
        return;
    }
    if (!sched_ok || !sent_ok) {
        const view *bad = sched_ok ? &a->sent : &a->sched;
        verdict(out, EV_CE_CORRUPT, "%s \"%s\" is not a decimal nanosecond time",
                sched_ok ? "evloadsent" : "evloadsched", shown(bad->p, bad->n, vb));
        return;
    }
    uint32_t want_crc;
    if (parse_crc(a->crc.p, a->crc.n, &want_crc)) {
        verdict(out, EV_CE_CORRUPT, "evloadcrc \"%s\" is not 8 lowercase hex digits",
                shown(a->crc.p, a->crc.n, vb));
        return;
    }

    /* id must be exactly RUN-I-L-SEQ: catches damage to id, lane or seq. */
    char want_id[EV_RUN_ID_MAX + 3 * (EV_FMT_U64_MAX + 1)];
    size_t rn = strlen(expect_run);
    if (rn > EV_RUN_ID_MAX)
        rn = EV_RUN_ID_MAX; /* cannot match then; only keeps the buffer safe */
    char *q = put(want_id, expect_run, rn);
    *q++ = '-';
    q += ev_fmt_u64(q, inst);
    *q++ = '-';
    q += ev_fmt_u64(q, lane);
    *q++ = '-';
    q += ev_fmt_u64(q, seq);
    if (a->id.state != 1 || a->id.n != (size_t)(q - want_id) || memcmp(a->id.p, want_id, a->id.n)) {
        verdict(out, EV_CE_CORRUPT, "id does not match evloadrun/evloadlane/evloadseq");
        return;
    }

    if (!data) {
        verdict(out, EV_CE_CORRUPT, "no data");
        return;
    }
    if (ev_crc32c(0, data, data_n) != want_crc) {
        verdict(out, EV_CE_CORRUPT, "checksum mismatch");
        return;
    }
    /* The CRC proves data is what some encoder wrote; its seq proves that
     * encoder wrote it for this seq. */
    char head[7 + EV_FMT_U64_MAX];
    q = put(head, LIT("{\"seq\":"));
    q += ev_fmt_u64(q, seq);
    size_t hn = (size_t)(q - head);
    if (data_n <= hn || memcmp(data, head, hn) != 0 || (data[hn] != ',' && data[hn] != '}')) {
        verdict(out, EV_CE_CORRUPT, "data.seq does not match evloadseq");
        return;
    }
    out->status = EV_CE_OK;
    out->reason[0] = '\0';
}

static void seen_reset(ev_ce_seen *out)
{
    memset(out, 0, sizeof *out);
}

/* Unparseable: ours if our run id appears anywhere in the bytes. */
static void classify_unparseable(const char *body, size_t len, const char *expect_run,
                                 const char *what, ev_ce_seen *out)
{
    size_t rn = expect_run ? strlen(expect_run) : 0;
    int ours = body && rn > 0 && memmem(body, len, expect_run, rn) != NULL;
    verdict(out, ours ? EV_CE_CORRUPT : EV_CE_FOREIGN, "%s", what);
}

static void view_json(json_t *root, const char *name, view *v)
{
    json_t *j = json_object_get(root, name);
    if (!j || json_is_null(j)) {
        v->state = 0;
    } else if (json_is_string(j)) {
        v->state = 1;
        v->p = json_string_value(j);
        v->n = json_string_length(j);
    } else {
        v->state = 2;
    }
}

/* The reference decoder: jansson, then the same checks. Also the fallback of
 * the fast path for inputs beyond the scanner's limits. */
static void decode_structured_ref(const char *body, size_t len, const char *expect_run,
                                  ev_ce_seen *out)
{
    seen_reset(out);
    if (!body) {
        verdict(out, EV_CE_FOREIGN, "empty message");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char what[128];
        snprintf(what, sizeof what, "not JSON: %.80s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        classify_unparseable(body, len, expect_run, what, out);
        return;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        classify_unparseable(body, len, expect_run, "not a JSON object", out);
        return;
    }
    ev_err e;
    int bad = validate_object(root, &e);

    evattrs a;
    memset(&a, 0, sizeof a);
    view_json(root, "id", &a.id);
    view_json(root, "evloadrun", &a.run);
    view_json(root, "evloadlane", &a.lane);
    view_json(root, "evloadseq", &a.seq);
    view_json(root, "evloadsched", &a.sched);
    view_json(root, "evloadsent", &a.sent);
    view_json(root, "evloadcrc", &a.crc);

    const char *data = NULL;
    size_t data_n = 0, db, de;
    json_t *dj = json_object_get(root, "data");
    if (dj && !json_is_null(dj) && find_data_span(body, len, &db, &de) == 0) {
        data = body + db;
        data_n = de - db;
    }
    classify(&a, bad ? e.msg : NULL, data, data_n, expect_run, out);
    json_decref(root);
}

void ev_ce_decode_structured_ref(const char *body, size_t len, const char *expect_run,
                                 ev_ce_seen *out)
{
    decode_structured_ref(body, len, expect_run, out);
}

/* The evload attribute that a top-level member named name[0..n) feeds, if any. */
static view *member_view(evattrs *a, const char *name, size_t n)
{
    if (name_is(name, n, "id"))
        return &a->id;
    if (n < 9 || memcmp(name, "evload", 6) != 0)
        return NULL;
    if (name_is(name, n, "evloadrun"))
        return &a->run;
    if (name_is(name, n, "evloadlane"))
        return &a->lane;
    if (name_is(name, n, "evloadseq"))
        return &a->seq;
    if (name_is(name, n, "evloadsched"))
        return &a->sched;
    if (name_is(name, n, "evloadsent"))
        return &a->sent;
    if (name_is(name, n, "evloadcrc"))
        return &a->crc;
    return NULL;
}

/* Room for the decoded names and string values of top-level members that
 * contain escapes (ours contain none); an event needing more goes to the
 * reference decoder. */
#define FAST_ARENA 2048

/* The hot path: js_scan instead of jansson, then exactly the checks of the
 * reference (check_member, check_tally, classify) over the scanned members.
 * Invalid JSON gets the scanner's reason instead of jansson's; the verdict
 * is the same (classify_unparseable). */
void ev_ce_decode_structured(const char *body, size_t len, const char *expect_run, ev_ce_seen *out)
{
    seen_reset(out);
    if (!body) {
        verdict(out, EV_CE_FOREIGN, "empty message");
        return;
    }
    jscan js;
    int rc = js_scan(&js, body, len);
    if (rc == JS_LIMIT)
        goto fallback;
    if (rc == JS_INVALID) {
        char what[128];
        snprintf(what, sizeof what, "not JSON: %s (byte %zu)", js.why, js.at);
        classify_unparseable(body, len, expect_run, what, out);
        return;
    }
    if (!js.top_object) {
        classify_unparseable(body, len, expect_run, "not a JSON object", out);
        return;
    }

    char arena[FAST_ARENA];
    size_t used = 0;
    ce_tally t;
    memset(&t, 0, sizeof t);
    ev_err e;
    int bad = 0;
    evattrs a;
    memset(&a, 0, sizeof a);
    const char *data = NULL;
    size_t data_n = 0;
    for (size_t k = 0; k < js.nkeys; k++) {
        const jkey *j = &js.keys[k];
        ce_member m = {.name = j->raw, .name_n = j->raw_n, .kind = j->kind, .ival = j->ival};
        if (j->esc) {
            if (j->raw_n > FAST_ARENA - used)
                goto fallback;
            m.name = arena + used;
            m.name_n = js_unescape(j->raw, j->raw_n, arena + used);
            used += m.name_n;
        }
        if (j->kind == JK_STRING) {
            m.str = j->val + 1; /* inside the quotes */
            m.str_n = j->val_n - 2;
            if (j->vesc) {
                if (m.str_n > FAST_ARENA - used)
                    goto fallback;
                char *d = arena + used;
                m.str_n = js_unescape(m.str, m.str_n, d);
                m.str = d;
                used += m.str_n;
            }
        }
        if (!bad && check_member(&m, &t, &e))
            bad = 1;
        view *v = member_view(&a, m.name, m.name_n);
        if (v) {
            v->state = m.kind == JK_NULL ? 0 : m.kind == JK_STRING ? 1 : 2;
            v->p = m.str;
            v->n = m.str_n;
        }
        if (m.kind != JK_NULL && name_is(m.name, m.name_n, "data")) {
            data = j->val;
            data_n = j->val_n;
        }
    }
    if (!bad && check_tally(&t, &e))
        bad = 1;
    classify(&a, bad ? e.msg : NULL, data, data_n, expect_run, out);
    return;
fallback:
    decode_structured_ref(body, len, expect_run, out);
}

int ev_ce_json_scan_check(const char *body, size_t len)
{
    if (!body)
        return 0;
    jscan js;
    int rc = js_scan(&js, body, len);
    return rc == JS_OK ? 1 : rc == JS_INVALID ? 0 : -1;
}

static void view_attr(const ev_ce_attr *attrs, size_t nattrs, const char *name, view *v)
{
    size_t n = strlen(name);
    v->state = 0;
    for (size_t i = 0; i < nattrs; i++) {
        if (attrs[i].name && attrs[i].name_len == n && memcmp(attrs[i].name, name, n) == 0) {
            v->state = 1;
            v->p = attrs[i].value ? attrs[i].value : "";
            v->n = attrs[i].value ? attrs[i].value_len : 0;
            return;
        }
    }
}

void ev_ce_decode_binary(const ev_ce_attr *attrs, size_t nattrs, const char *content_type,
                         const char *body, size_t len, const char *expect_run, ev_ce_seen *out)
{
    seen_reset(out);
    if (!attrs)
        nattrs = 0;
    ev_err e;
    int bad = validate_binary(attrs, nattrs, content_type, &e);
    evattrs a;
    memset(&a, 0, sizeof a);
    view_attr(attrs, nattrs, "id", &a.id);
    view_attr(attrs, nattrs, "evloadrun", &a.run);
    view_attr(attrs, nattrs, "evloadlane", &a.lane);
    view_attr(attrs, nattrs, "evloadseq", &a.seq);
    view_attr(attrs, nattrs, "evloadsched", &a.sched);
    view_attr(attrs, nattrs, "evloadsent", &a.sent);
    view_attr(attrs, nattrs, "evloadcrc", &a.crc);
    classify(&a, bad ? e.msg : NULL, body, body ? len : 0, expect_run, out);
}

int ev_ce_validate_json(const char *body, size_t len, ev_err *err)
{
    if (!body)
        return ev_err_set(err, EV_EUSAGE, "no event");
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ev_err_set(err, EV_EUSAGE, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                          jerr.column);
    int rc = validate_object(root, err);
    json_decref(root);
    return rc ? EV_EUSAGE : 0;
}

/* ------------------------------------------------------------------------ */
/* Templates and encoding                                                   */
/* ------------------------------------------------------------------------ */

struct ev_ce_template {
    ev_buf mem; /* owns every piece below */
    /* structured constants (see the notes at the top) */
    piece p0, p1, p2;
    piece dmid; /* `,<members>,"pad":"` */
    /* binary values, unescaped */
    piece id_prefix, source, type, run, lane;
    size_t data_size;
    size_t max_structured, max_data;
    int trace;             /* add traceparent */
    char trace_prefix[20]; /* "00-" + run hash, instance, lane: 19 hex/dash chars */
};

#define DATA_HEAD "{\"seq\":"
#define DATA_TAIL "\"}"
#define S_SCHED "\",\"evloadsched\":\""
#define S_SENT "\",\"evloadsent\":\""
#define S_CRC "\",\"evloadcrc\":\""
#define S_TRACE "\",\"traceparent\":\""
#define S_DATA "\",\"data\":"

/* Writes data for seq at q (room for t->max_data); returns its length. */
static size_t write_data(const ev_ce_template *t, uint64_t seq, char *q)
{
    char *b = q;
    q = put(q, LIT(DATA_HEAD));
    q += ev_fmt_u64(q, seq);
    q = put(q, t->dmid.p, t->dmid.n);
    size_t unpadded = (size_t)(q - b) + sizeof(DATA_TAIL) - 1;
    if (t->data_size > unpadded) {
        memset(q, 'x', t->data_size - unpadded);
        q += t->data_size - unpadded;
    }
    q = put(q, LIT(DATA_TAIL));
    return (size_t)(q - b);
}

static const char hexdig[] = "0123456789abcdef";

/* v as n lowercase hex digits. */
static char *put_hexn(char *q, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        q[i] = hexdig[v & 15];
    return q + n;
}

/* The traceparent of seq after the template's prefix: "SSSS…-SSSS…-01". */
static char *put_trace(char *q, const ev_ce_template *t, uint64_t seq)
{
    q = put(q, t->trace_prefix, 19);
    q = put_hexn(q, seq, 16);
    *q++ = '-';
    q = put_hexn(q, seq, 16);
    return put(q, "-01", 3);
}

static uint32_t fnv1a32(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void trace_prefix(const char *run, uint32_t instance, uint32_t lane, char *out)
{
    char *q = put(out, "00-", 3);
    q = put_hexn(q, fnv1a32(run), 8);
    q = put_hexn(q, instance & 0xffff, 4);
    q = put_hexn(q, lane & 0xffff, 4);
    *q = '\0';
}

void ev_ce_traceparent(const char *run, uint32_t instance, uint32_t lane, uint64_t seq, char *buf)
{
    ev_ce_template t;
    trace_prefix(run, instance, lane, t.trace_prefix);
    *put_trace(buf, &t, seq) = '\0';
}

/* n hex digits of v into *out; 0, or -1 when one is not lowercase hex. */
static int get_hexn(const char *v, int n, uint64_t *out)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++) {
        const char *d = strchr(hexdig, v[i]);
        if (!v[i] || !d)
            return -1;
        x = x << 4 | (uint64_t)(d - hexdig);
    }
    *out = x;
    return 0;
}

int ev_ce_traceparent_parse(const char *v, size_t len, const char *run, uint32_t *instance,
                            uint32_t *lane, uint64_t *seq)
{
    uint64_t h, in, ln, sq, flags;
    if (len != EV_TRACEPARENT_LEN || memcmp(v, "00-", 3) || v[35] != '-' || v[52] != '-' ||
        get_hexn(v + 3, 8, &h) || get_hexn(v + 11, 4, &in) || get_hexn(v + 15, 4, &ln) ||
        get_hexn(v + 19, 16, &sq) || get_hexn(v + 53, 2, &flags) || h != fnv1a32(run) || sq == 0)
        return 0;
    *instance = (uint32_t)in;
    *lane = (uint32_t)ln;
    *seq = sq;
    return 1;
}

int ev_ce_id_parse(const char *v, size_t len, const char *run, uint32_t *instance, uint32_t *lane,
                   uint64_t *seq)
{
    size_t rl = strlen(run);
    if (len <= rl + 1 || memcmp(v, run, rl) || v[rl] != '-')
        return 0;
    uint64_t part[3] = {0, 0, 0};
    size_t i = rl + 1;
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        while (i < len && v[i] >= '0' && v[i] <= '9' && i - start < 20) {
            uint64_t d = (uint64_t)(v[i] - '0');
            if (part[k] > (UINT64_MAX - d) / 10)
                return 0;
            part[k] = part[k] * 10 + d;
            i++;
        }
        if (i == start || (k < 2 && (i >= len || v[i] != '-')))
            return 0;
        if (k < 2)
            i++;
    }
    if (i != len || part[0] > UINT32_MAX || part[1] > UINT32_MAX || part[2] == 0)
        return 0;
    *instance = (uint32_t)part[0];
    *lane = (uint32_t)part[1];
    *seq = part[2];
    return 1;
}

int ev_ce_encode_structured(const ev_ce_template *t, uint64_t seq, int64_t sched_ns,
                            int64_t sent_ns, ev_buf *out)
{
    if (ev_buf_reserve(out, t->max_structured) != 0)
        return -1;
    char *q = out->p + out->len;
    q = put(q, t->p0.p, t->p0.n);
    q += ev_fmt_u64(q, seq);
    q = put(q, t->p1.p, t->p1.n);
    put_time(q, sent_ns);
    q += TIME_LEN;
    q = put(q, t->p2.p, t->p2.n);
    q += ev_fmt_u64(q, seq);
    q = put(q, LIT(S_SCHED));
    q = put_i64(q, sched_ns);
    q = put(q, LIT(S_SENT));
    q = put_i64(q, sent_ns);
    if (t->trace) {
        q = put(q, LIT(S_TRACE));
        q = put_trace(q, t, seq);
    }
    q = put(q, LIT(S_CRC));
    char *crc_hole = q;
    q += CRC_HEX_LEN;
    q = put(q, LIT(S_DATA));
    size_t dn = write_data(t, seq, q);
    put_hex32(crc_hole, ev_crc32c(0, q, dn));
    q += dn;
    *q++ = '}';
    out->len = (size_t)(q - out->p);
    out->p[out->len] = '\0';
    return 0;
}

int ev_ce_encode_binary(const ev_ce_template *t, uint64_t seq, int64_t sched_ns, int64_t sent_ns,
                        ev_ce_binary *out)
{
    out->nattrs = 0; /* nothing half-built is visible if we fail below */
    ev_buf_reset(&out->body);
    if (ev_buf_reserve(&out->body, t->max_data) != 0)
        return -1;
    size_t dn = write_data(t, seq, out->body.p);
    out->body.len = dn;
    out->body.p[dn] = '\0';
    uint32_t crc = ev_crc32c(0, out->body.p, dn);

    /* Every value, each followed by a NUL; offsets first, pointers after,
     * because only now is the store's address final. */
    ev_buf_reset(&out->store);
    size_t need = t->id_prefix.n + t->source.n + t->type.n + t->run.n + t->lane.n + TIME_LEN +
                  CRC_HEX_LEN + 3 * EV_FMT_U64_MAX + 2 * (EV_FMT_U64_MAX + 1) + 3 + 12 +
                  EV_TRACEPARENT_LEN;
    if (ev_buf_reserve(&out->store, need) != 0)
        return -1;
    static const char *const names[] = {"id",          "source",     "specversion", "type",
                                        "time",        "evloadrun",  "evloadlane",  "evloadseq",
                                        "evloadsched", "evloadsent", "evloadcrc",   "traceparent"};
    enum { NV = sizeof names / sizeof names[0] };
    size_t off[NV], len[NV];
    char *b = out->store.p, *q = b;
#define BEGIN(k) (off[k] = (size_t)(q - b))
#define END(k) (len[k] = (size_t)(q - b) - off[k], *q++ = '\0')
    BEGIN(0);
    q = put(q, t->id_prefix.p, t->id_prefix.n);
    q += ev_fmt_u64(q, seq);
    END(0);
    BEGIN(1);
    q = put(q, t->source.p, t->source.n);
    END(1);
    BEGIN(2);
    q = put(q, LIT("1.0"));
    END(2);
    BEGIN(3);
    q = put(q, t->type.p, t->type.n);
    END(3);
    BEGIN(4);
    put_time(q, sent_ns);
    q += TIME_LEN;
    END(4);
    BEGIN(5);
    q = put(q, t->run.p, t->run.n);
    END(5);
    BEGIN(6);
    q = put(q, t->lane.p, t->lane.n);
    END(6);
    BEGIN(7);
    q += ev_fmt_u64(q, seq);
    END(7);
    BEGIN(8);
    q = put_i64(q, sched_ns);
    END(8);
    BEGIN(9);
    q = put_i64(q, sent_ns);
    END(9);
    BEGIN(10);
    put_hex32(q, crc);
    q += CRC_HEX_LEN;
    END(10);
    BEGIN(11);
    if (t->trace)
        q = put_trace(q, t, seq);
    END(11);
#undef BEGIN
#undef END
    out->store.len = (size_t)(q - b) - 1; /* the last NUL is the buffer's own */
    size_t nv = t->trace ? NV : NV - 1;
    for (size_t k = 0; k < nv; k++) {
        out->attrs[k].name = names[k];
        out->attrs[k].name_len = strlen(names[k]);
        out->attrs[k].value = b + off[k];
        out->attrs[k].value_len = len[k];
    }
    out->nattrs = nv;
    out->content_type = EV_CE_DATA_CONTENT_TYPE;
    return 0;
}

void ev_ce_binary_free(ev_ce_binary *b)
{
    if (!b)
        return;
    ev_buf_free(&b->store);
    ev_buf_free(&b->body);
    memset(b, 0, sizeof *b);
}

/* Members of data_template as compact JSON text without the braces, into
 * *members (caller frees). 0 or an EV_E* code. */
static int template_members(const char *text, char **members, size_t *n, ev_err *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ev_err_set(err, EV_EUSAGE, "event data: line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    int rc = 0;
    char *dump = NULL;
    if (!json_is_object(root)) {
        rc = ev_err_set(err, EV_EUSAGE, "event data must be a JSON object");
        goto out;
    }
    if (json_object_get(root, "seq") || json_object_get(root, "pad")) {
        rc = ev_err_set(err, EV_EUSAGE,
                        "event data must not have a member named \"seq\" or \"pad\" (evload "
                        "writes those)");
        goto out;
    }
    dump = json_dumps(root, JSON_COMPACT);
    if (!dump) {
        rc = ev_err_set(err, EV_EINTERNAL, "out of memory");
        goto out;
    }
    size_t dn = strlen(dump); /* "{...}" */
    memmove(dump, dump + 1, dn - 2);
    dump[dn - 2] = '\0';
    *members = dump;
    *n = dn - 2;
    dump = NULL;
out:
    free(dump);
    json_decref(root);
    return rc;
}

static int valid_run(const char *run)
{
    size_t n = strlen(run);
    if (n == 0 || n > EV_RUN_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((run[i] >= 'a' && run[i] <= 'z') || is_digit((unsigned char)run[i])))
            return 0;
    return 1;
}

int ev_ce_template_new(const ev_ce_params *p, ev_ce_template **out, ev_err *err)
{
    *out = NULL;
    if (!p)
        return ev_err_set(err, EV_EUSAGE, "no event parameters");
    if (!p->run || !valid_run(p->run))
        return ev_err_set(err, EV_EUSAGE, "run id must be 1 to %d characters of [0-9a-z]",
                          EV_RUN_ID_MAX);
    uint32_t cp;
    if (!p->type || blank(p->type, strlen(p->type)))
        return ev_err_set(err, EV_EUSAGE, "event type must not be empty");
    if (ce_string_problem(p->type, strlen(p->type), &cp))
        return ev_err_set(err, EV_EUSAGE,
                          "event type must be UTF-8 without control characters or noncharacters");
    if (!p->source || blank(p->source, strlen(p->source)))
        return ev_err_set(err, EV_EUSAGE, "event source must not be empty");
    if (!valid_uri(p->source, strlen(p->source), 0))
        return ev_err_set(err, EV_EUSAGE,
                          "event source must be a URI-reference (RFC 3986), e.g. /evload");
    if (p->data_size > EV_CE_DATA_SIZE_MAX)
        return ev_err_set(err, EV_EUSAGE, "event data_size %zu is above the limit of %zu bytes",
                          p->data_size, EV_CE_DATA_SIZE_MAX);

    int rc = 0;
    char *members = NULL;
    size_t members_n = 0;
    if (p->data_template && (rc = template_members(p->data_template, &members, &members_n, err)))
        return rc;

    ev_ce_template *t = calloc(1, sizeof *t);
    if (!t) {
        free(members);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    t->data_size = p->data_size;
    t->trace = p->traceparent != 0;
    trace_prefix(p->run, p->instance, p->lane, t->trace_prefix);

    /* Build every piece into t->mem, remembering offsets; pointers are set at
     * the end, once the buffer no longer moves. */
    enum { P0, P1, P2, DMID, IDP, SRC, TYP, RUN, LANE, NP };
    size_t off[NP], len[NP];
    ev_buf *m = &t->mem;
    char lane[2 * EV_FMT_U64_MAX + 2];
    size_t ln = ev_fmt_u64(lane, p->instance);
    lane[ln++] = '.';
    ln += ev_fmt_u64(lane + ln, p->lane);
    /* || sequences the appends left to right and stops at the first failure. */
    int oom = 0;
#define BEGIN(k) (off[k] = m->len)
#define END(k) (len[k] = m->len - off[k])
    BEGIN(P0);
    oom = oom || ev_buf_puts(m, "{\"specversion\":\"1.0\",\"id\":\"");
    END(P0);
    BEGIN(IDP); /* the id prefix is also the tail of P0: P0 grows with it */
    oom = oom || ev_buf_puts(m, p->run) || ev_buf_puts(m, "-") || ev_buf_putu64(m, p->instance) ||
          ev_buf_puts(m, "-") || ev_buf_putu64(m, p->lane) || ev_buf_puts(m, "-");
    END(IDP);
    len[P0] += len[IDP];
    BEGIN(P1);
    oom = oom || ev_buf_puts(m, "\",\"source\":") ||
          ev_buf_put_json_string(m, p->source, strlen(p->source)) || ev_buf_puts(m, ",\"type\":") ||
          ev_buf_put_json_string(m, p->type, strlen(p->type)) || ev_buf_puts(m, ",\"time\":\"");
    END(P1);
    BEGIN(P2);
    oom =
        oom ||
        ev_buf_puts(m, "\",\"datacontenttype\":\"" EV_CE_DATA_CONTENT_TYPE "\",\"evloadrun\":\"") ||
        ev_buf_puts(m, p->run) || ev_buf_puts(m, "\",\"evloadlane\":\"") ||
        ev_buf_append(m, lane, ln) || ev_buf_puts(m, "\",\"evloadseq\":\"");
    END(P2);
    BEGIN(DMID);
    if (members_n)
        oom = oom || ev_buf_puts(m, ",") || ev_buf_append(m, members, members_n);
    oom = oom || ev_buf_puts(m, ",\"pad\":\"");
    END(DMID);
    BEGIN(SRC);
    oom = oom || ev_buf_puts(m, p->source);
    END(SRC);
    BEGIN(TYP);
    oom = oom || ev_buf_puts(m, p->type);
    END(TYP);
    BEGIN(RUN);
    oom = oom || ev_buf_puts(m, p->run);
    END(RUN);
    BEGIN(LANE);
    oom = oom || ev_buf_append(m, lane, ln);
    END(LANE);
#undef BEGIN
#undef END
    free(members);
    if (oom) {
        ev_ce_template_free(t);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    piece *pc[NP] = {&t->p0,     &t->p1,   &t->p2,  &t->dmid, &t->id_prefix,
                     &t->source, &t->type, &t->run, &t->lane};
    for (int k = 0; k < NP; k++) {
        pc[k]->p = m->p + off[k];
        pc[k]->n = len[k];
    }

    size_t min_data = sizeof(DATA_HEAD) - 1 + EV_FMT_U64_MAX + t->dmid.n + sizeof(DATA_TAIL) - 1;
    t->max_data = (t->data_size > min_data ? t->data_size : min_data);
    t->max_structured = t->p0.n + t->p1.n + t->p2.n + 2 * EV_FMT_U64_MAX + TIME_LEN +
                        sizeof(S_SCHED) + sizeof(S_SENT) + 2 * (EV_FMT_U64_MAX + 1) +
                        sizeof(S_CRC) + CRC_HEX_LEN + sizeof(S_DATA) + t->max_data + 1 +
                        (t->trace ? sizeof(S_TRACE) + EV_TRACEPARENT_LEN : 0);
    *out = t;
    return rc;
}

void ev_ce_template_free(ev_ce_template *t)
{
    if (!t)
        return;
    ev_buf_free(&t->mem);
    free(t);
}
