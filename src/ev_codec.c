/* ev_codec — the CloudEvents 1.0 envelope of DESIGN.md §2 (contract in ev_codec.h).
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
 * call, which would be shared hot state between publisher lanes (DESIGN §8);
 * the unit test checks the arithmetic against gmtime_r.
 *
 * Data is {"seq":N<,members>,"pad":"xx…"}. The pad member is always there, so
 * the shape never changes; when data_size is not larger than the object with
 * an empty pad, the pad is empty and data has that minimum size.
 *
 * Decoding. Structured: jansson with JSON_REJECT_DUPLICATES, then the strict
 * CloudEvents checks of cloudevents-rules.md §8 (validate_object), which
 * ev_ce_validate_json exposes on its own. Binary: the same per-attribute
 * checks over the attribute list (validate_binary). Both then go through
 * classify(), which applies evload's own rules in this order:
 *   1. evloadrun missing, not a string, or another run  -> FOREIGN
 *   2. identity (instance, lane, seq, sched, sent) parsed when possible
 *   3. CloudEvents violation                            -> CORRUPT (the violation)
 *   4. evload attributes missing/malformed              -> CORRUPT
 *   5. id != RUN-I-L-SEQ                                -> CORRUPT
 *   6. CRC-32C of the data bytes != evloadcrc           -> CORRUPT "checksum mismatch"
 *   7. data does not start with {"seq":SEQ             -> CORRUPT
 * Steps 5 and 7 catch damage to the attributes, which the CRC does not cover.
 * In structured mode the CRC runs over the raw bytes of the top-level "data"
 * value in the original text, found by find_data_span (a small scanner that
 * skips JSON values; by then jansson has accepted the text, so the scanner
 * only needs to be bounds-safe, not a validator). Text jansson cannot parse
 * (or whose top level is not an object) is CORRUPT if it contains our run id
 * and FOREIGN otherwise.
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
        if (len > n - i) return "invalid UTF-8";
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return "invalid UTF-8";
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF) return "invalid UTF-8";
        *cp = c;
        if (c >= 0xD800 && c <= 0xDFFF) return "a surrogate code point";
        if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return "a control character";
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) return "a noncharacter";
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
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
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
    if (is_alpha(c) || is_digit(c)) return 1;
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
        if (p[i] == '/' || p[i] == '?' || p[i] == '#') break;
    }
    size_t rest = 0;
    if (colon < n) {
        if (colon == 0 || !is_alpha(p[0])) return 0;
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
            if (n - i < 3 || !is_hex(p[i + 1]) || !is_hex(p[i + 2])) return 0;
            i += 2;
            continue;
        }
        if (!uri_char(c)) return 0;
        if (c == '#' && ++hashes > 1) return 0;
        if ((c == '[' || c == ']') && (i < auth_b || i >= auth_e)) return 0;
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
    if (i == 0 || i >= n || p[i] != '/') return 0;
    size_t j = skip_token(p, n, i + 1);
    if (j == i + 1) return 0;
    i = j;
    while (i < n) {
        i = skip_ows(p, n, i);
        if (i >= n || p[i] != ';') return 0;
        i = skip_ows(p, n, i + 1);
        j = skip_token(p, n, i);
        if (j == i || j >= n || p[j] != '=') return 0;
        i = j + 1;
        if (i < n && p[i] == '"') {
            i++;
            for (;;) {
                if (i >= n) return 0;
                unsigned char c = p[i];
                if (c == '"') {
                    i++;
                    break;
                }
                if (c == '\\') {
                    if (i + 1 >= n) return 0;
                    unsigned char e = p[i + 1];
                    if (e != '\t' && (e < 0x20 || e == 0x7F)) return 0;
                    i += 2;
                    continue;
                }
                if (c != '\t' && (c < 0x20 || c == 0x7F)) return 0;
                i++;
            }
        } else {
            j = skip_token(p, n, i);
            if (j == i) return 0;
            i = j;
        }
    }
    return 1;
}

static int two_digits(const unsigned char *p, unsigned *v)
{
    if (!is_digit(p[0]) || !is_digit(p[1])) return 0;
    *v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
    return 1;
}

/* RFC 3339 date-time: YYYY-MM-DD T hh:mm:ss [.frac] (Z / ±hh:mm), 't' and 'z'
 * allowed, calendar ranges checked (second 60 allowed for leap seconds). */
static int valid_rfc3339(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned yh, yl, mo, d, h, mi, se;
    if (n < 20) return 0;
    if (!two_digits(p, &yh) || !two_digits(p + 2, &yl) || p[4] != '-' || !two_digits(p + 5, &mo) ||
        p[7] != '-' || !two_digits(p + 8, &d) || (p[10] != 'T' && p[10] != 't') ||
        !two_digits(p + 11, &h) || p[13] != ':' || !two_digits(p + 14, &mi) || p[16] != ':' ||
        !two_digits(p + 17, &se))
        return 0;
    unsigned y = yh * 100 + yl;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) return 0;
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 0;
    size_t i = 19;
    if (p[i] == '.') {
        size_t j = ++i;
        while (i < n && is_digit(p[i]))
            i++;
        if (i == j) return 0;
    }
    if (i >= n) return 0; /* no offset */
    if (p[i] == 'Z' || p[i] == 'z') return i + 1 == n;
    if (p[i] != '+' && p[i] != '-') return 0;
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
    if (n % 4) return 0;
    size_t pad = 0;
    if (n >= 1 && p[n - 1] == '=') pad++;
    if (n >= 2 && p[n - 2] == '=') pad++;
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char(p[i])) return 0;
    return 1;
}

/* [a-z0-9]+ (cloudevents-rules.md §1.2; > 20 is only a SHOULD, not checked). */
static int valid_attr_name(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit((unsigned char)s[i]))) return 0;
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
    if (name_is(name, n, "specversion")) return CORE_SPEC;
    if (name_is(name, n, "id")) return CORE_ID;
    if (name_is(name, n, "source")) return CORE_SOURCE;
    if (name_is(name, n, "type")) return CORE_TYPE;
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
        if (blank(v, vn)) return ev_err_set(err, EV_EUSAGE, "attribute \"source\" is empty");
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

static int validate_object(json_t *root, ev_err *err)
{
    if (!json_is_object(root)) return ev_err_set(err, EV_EUSAGE, "event is not a JSON object");
    int have[CORE_OTHER] = {0}, have_data = 0, have_b64 = 0;
    const char *key;
    json_t *v;
    char nb[48];
    json_object_foreach(root, key, v)
    {
        size_t kn = strlen(key);
        if (json_is_null(v)) continue; /* null means absent (rules §2.2) */
        if (name_is(key, kn, "data")) {
            have_data = 1;
            continue;
        }
        if (name_is(key, kn, "data_base64")) {
            if (!json_is_string(v) || !valid_base64(json_string_value(v), json_string_length(v)))
                return ev_err_set(err, EV_EUSAGE, "data_base64 is not a Base64 string");
            have_b64 = 1;
            continue;
        }
        if (!valid_attr_name(key, kn))
            return ev_err_set(err, EV_EUSAGE, "attribute name \"%s\" is not [a-z0-9]+",
                              shown(key, kn, nb));
        int kind = core_kind(key, kn);
        if (kind != CORE_NONE && kind != CORE_OTHER) have[kind] = 1;
        if (json_is_string(v)) {
            if (check_string_attr(key, kn, json_string_value(v), json_string_length(v), err))
                return EV_EUSAGE;
        } else if (kind != CORE_NONE) {
            return ev_err_set(err, EV_EUSAGE, "attribute \"%s\" is not a string", key);
        } else if (json_is_boolean(v)) {
            /* a CloudEvents Boolean */
        } else if (json_is_integer(v)) {
            json_int_t i = json_integer_value(v);
            if (i < INT32_MIN || i > INT32_MAX)
                return ev_err_set(err, EV_EUSAGE,
                                  "extension \"%s\" is outside the 32-bit Integer range", key);
        } else if (json_is_real(v)) {
            return ev_err_set(err, EV_EUSAGE,
                              "extension \"%s\" is a number with a fraction or exponent", key);
        } else {
            return ev_err_set(err, EV_EUSAGE, "extension \"%s\" is an object or array", key);
        }
    }
    static const char *const required[] = {NULL, "specversion", "id", "source", "type"};
    for (int k = CORE_SPEC; k < CORE_OTHER; k++)
        if (!have[k])
            return ev_err_set(err, EV_EUSAGE, "required attribute \"%s\" is missing", required[k]);
    if (have_data && have_b64)
        return ev_err_set(err, EV_EUSAGE, "both data and data_base64 are present");
    return 0;
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
        if (kind != CORE_NONE && kind != CORE_OTHER) have[kind] = 1;
        if (check_string_attr(name, nn, val, vn, err)) return EV_EUSAGE;
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
    if (k >= n) return -1;
    if (s[k] == '"') return skip_string(s, n, i);
    if (s[k] == '{' || s[k] == '[') {
        size_t depth = 0;
        while (k < n) {
            char c = s[k];
            if (c == '"') {
                if (skip_string(s, n, &k)) return -1;
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
    if (k == b) return -1;
    *i = k;
    return 0;
}

static int hexval(unsigned char c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
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
            if (i >= n) return 0;
            char e = k[i++];
            switch (e) {
            case 'u': {
                if (n - i < 4) return 0;
                c = 0;
                for (int d = 0; d < 4; d++) {
                    int h = hexval((unsigned char)k[i++]);
                    if (h < 0) return 0;
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
        if (m >= litn || c != (unsigned char)lit[m]) return 0;
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
    if (i >= n || s[i] != '{') return -1;
    i++;
    for (;;) {
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != '"') return -1;
        size_t ks = i + 1;
        if (skip_string(s, n, &i)) return -1;
        int is_data = raw_key_is(s + ks, i - 1 - ks, "data");
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':') return -1;
        i = skip_ws(s, n, i + 1);
        size_t vs = i;
        if (skip_value(s, n, &i)) return -1;
        if (is_data) {
            *b = vs;
            *e = i;
            return 0;
        }
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ',') return -1;
        i++;
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
    if (n == 0 || n > EV_FMT_U64_MAX || (n > 1 && p[0] == '0')) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i])) return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_i64(const char *p, size_t n, int64_t *out)
{
    int neg = n > 0 && p[0] == '-';
    uint64_t u;
    if (parse_u64(p + neg, n - (size_t)neg, &u)) return -1;
    if (neg) {
        if (u == 0 || u > (uint64_t)INT64_MAX + 1) return -1;
        *out = (int64_t)(0 - u);
    } else {
        if (u > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)u;
    }
    return 0;
}

static int parse_u32(const char *p, size_t n, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(p, n, &v) || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* "<instance>.<lane>" */
static int parse_lane(const char *p, size_t n, uint32_t *inst, uint32_t *lane)
{
    const char *dot = memchr(p, '.', n);
    if (!dot) return -1;
    size_t a = (size_t)(dot - p);
    return parse_u32(p, a, inst) || parse_u32(dot + 1, n - a - 1, lane) ? -1 : 0;
}

/* Exactly 8 lowercase hex digits. */
static int parse_crc(const char *p, size_t n, uint32_t *out)
{
    if (n != CRC_HEX_LEN) return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!is_digit(c) && !(c >= 'a' && c <= 'f')) return -1;
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
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7F) *c = '?';
    out->status = status;
}

/* Requires evload attribute v to be a present string; else CORRUPT. */
static int need_string(const view *v, const char *name, ev_ce_seen *out)
{
    if (v->state == 1) return 0;
    verdict(out, EV_CE_CORRUPT, "%s is %s", name, v->state ? "not a string" : "missing");
    return -1;
}

/* The evload rules (see the notes at the top). ce_error is NULL when the
 * event is valid CloudEvents; data is NULL when there is no data. */
static void classify(const evattrs *a, const char *ce_error, const char *data, size_t data_n,
                     const char *expect_run, ev_ce_seen *out)
{
    char vb[48];
    if (!expect_run) expect_run = "";
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
    if (rn > EV_RUN_ID_MAX) rn = EV_RUN_ID_MAX; /* cannot match then; only keeps the buffer safe */
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

void ev_ce_decode_structured(const char *body, size_t len, const char *expect_run, ev_ce_seen *out)
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
    if (!attrs) nattrs = 0;
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
    if (!body) return ev_err_set(err, EV_EUSAGE, "no event");
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
};

#define DATA_HEAD "{\"seq\":"
#define DATA_TAIL "\"}"
#define S_SCHED "\",\"evloadsched\":\""
#define S_SENT "\",\"evloadsent\":\""
#define S_CRC "\",\"evloadcrc\":\""
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

int ev_ce_encode_structured(const ev_ce_template *t, uint64_t seq, int64_t sched_ns,
                            int64_t sent_ns, ev_buf *out)
{
    if (ev_buf_reserve(out, t->max_structured) != 0) return -1;
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
    if (ev_buf_reserve(&out->body, t->max_data) != 0) return -1;
    size_t dn = write_data(t, seq, out->body.p);
    out->body.len = dn;
    out->body.p[dn] = '\0';
    uint32_t crc = ev_crc32c(0, out->body.p, dn);

    /* Every value, each followed by a NUL; offsets first, pointers after,
     * because only now is the store's address final. */
    ev_buf_reset(&out->store);
    size_t need = t->id_prefix.n + t->source.n + t->type.n + t->run.n + t->lane.n + TIME_LEN +
                  CRC_HEX_LEN + 3 * EV_FMT_U64_MAX + 2 * (EV_FMT_U64_MAX + 1) + 3 + 11;
    if (ev_buf_reserve(&out->store, need) != 0) return -1;
    static const char *const names[] = {"id",          "source",     "specversion", "type",
                                        "time",        "evloadrun",  "evloadlane",  "evloadseq",
                                        "evloadsched", "evloadsent", "evloadcrc"};
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
#undef BEGIN
#undef END
    out->store.len = (size_t)(q - b) - 1; /* the last NUL is the buffer's own */
    for (size_t k = 0; k < NV; k++) {
        out->attrs[k].name = names[k];
        out->attrs[k].name_len = strlen(names[k]);
        out->attrs[k].value = b + off[k];
        out->attrs[k].value_len = len[k];
    }
    out->nattrs = NV;
    out->content_type = EV_CE_DATA_CONTENT_TYPE;
    return 0;
}

void ev_ce_binary_free(ev_ce_binary *b)
{
    if (!b) return;
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
    if (n == 0 || n > EV_RUN_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((run[i] >= 'a' && run[i] <= 'z') || is_digit((unsigned char)run[i]))) return 0;
    return 1;
}

int ev_ce_template_new(const ev_ce_params *p, ev_ce_template **out, ev_err *err)
{
    *out = NULL;
    if (!p) return ev_err_set(err, EV_EUSAGE, "no event parameters");
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
    if (members_n) oom = oom || ev_buf_puts(m, ",") || ev_buf_append(m, members, members_n);
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
                        sizeof(S_CRC) + CRC_HEX_LEN + sizeof(S_DATA) + t->max_data + 1;
    *out = t;
    return rc;
}

void ev_ce_template_free(ev_ce_template *t)
{
    if (!t) return;
    ev_buf_free(&t->mem);
    free(t);
}
