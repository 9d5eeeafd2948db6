/* ev_text — small text helpers every layer shares: echoing user text in
 * one-line errors, durations ("1h30m") both ways, the nearest name for "did
 * you mean", numbers as their shortest text, and the help tables.
 *
 * Design notes
 * - Durations are parsed with integer arithmetic only, so "0.1s" is exactly
 *   100000000 ns and overflow is caught; units go largest first, each once
 *   (Go's and k6's forms: "1h30m", "1.5s", "250us", "500ms").
 * - A leaf: depends on nothing of evload but ev_err. */
#include "ev_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRINT_WIDTH 100

/* ------------------------------------------------------------------------ */
/* Echoing user text in one-line errors                                      */

void ev_show(const char *s, size_t max, char *buf, size_t size)
{
    size_t o = 0, i;
    if (size == 0)
        return;
    for (i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[5];
        size_t k;
        if (c == '\n')
            k = 2, memcpy(esc, "\\n", 2);
        else if (c == '\t')
            k = 2, memcpy(esc, "\\t", 2);
        else if (c < 0x20 || c == 0x7f)
            k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            k = 1, esc[0] = (char)c;
        if (o + k + 4 > size)
            break;
        memcpy(buf + o, esc, k);
        o += k;
    }
    if (s[i] && o + 4 <= size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
}

void ev_one_line(char *msg)
{
    for (; *msg; msg++)
        if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
            *msg = '?';
}

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */

#define DURATION_EXAMPLES "expected e.g. \"500ms\", \"30s\", \"5m\", \"1h30m\""

/* Units largest first; ns per unit is mult × 10^pow10, which keeps the
 * fraction arithmetic exact and small (see parse_component). */
static const struct {
    const char *name;
    int rank; /* order: a duration's units must strictly increase in rank */
    int64_t mult;
    int pow10;
} units[] = {
    {"h", 0, 36, 11},       {"m", 1, 6, 10}, {"s", 2, 1, 9},
    {"ms", 3, 1, 6},        {"us", 4, 1, 3}, {"\xc2\xb5s", 4, 1, 3}, /* U+00B5 micro sign */
    {"\xce\xbcs", 4, 1, 3},                                          /* U+03BC Greek mu */
    {"ns", 5, 1, 0},
};

static int64_t pow10_i64(int k)
{
    int64_t r = 1;
    while (k-- > 0)
        r *= 10;
    return r;
}

static int duration_error(const char *s, const char *detail, ev_err *err)
{
    char v[EV_SHOW_SIZE(40)];
    ev_show(s, 40, v, sizeof v);
    if (detail)
        return ev_err_set(err, EV_EUSAGE, "\"%s\" is not a duration (%s); " DURATION_EXAMPLES, v,
                          detail);
    return ev_err_set(err, EV_EUSAGE, "\"%s\" is not a duration; " DURATION_EXAMPLES, v);
}

int ev_parse_duration(const char *s, int64_t *out_ns, ev_err *err)
{
    if (!s || !*s)
        return duration_error(s ? s : "", NULL, err);
    if (*s == '-')
        return duration_error(s, "negative", err);

    const char *p = s;
    int64_t total = 0;
    int last_rank = -1;
    while (*p) {
        /* NUMBER: digits, optionally '.' and more digits; at least one digit. */
        int64_t ip = 0;
        int ndig = 0, overflow = 0;
        while (isdigit((unsigned char)*p)) {
            if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *p - '0', &ip))
                overflow = 1;
            p++, ndig++;
        }
        int64_t frac = 0;
        int k = 0, nfrac = 0, too_fine = 0;
        if (*p == '.') {
            p++;
            const char *f = p;
            while (isdigit((unsigned char)*p))
                p++, nfrac++;
            /* Keep the fraction without its trailing zeros: frac / 10^k. */
            const char *e = p;
            while (e > f && e[-1] == '0')
                e--;
            for (const char *q = f; q < e; q++) {
                if (k == 17) {
                    too_fine = 1; /* below 1 ns for every unit */
                    break;
                }
                frac = frac * 10 + (*q - '0');
                k++;
            }
        }
        if (ndig == 0 && nfrac == 0)
            return duration_error(s, NULL, err);

        /* UNIT: the run of bytes up to the next digit, '.' or the end. */
        const char *u = p;
        while (*p && !isdigit((unsigned char)*p) && *p != '.')
            p++;
        size_t ulen = (size_t)(p - u);
        if (ulen == 0)
            return duration_error(s, "a number without a unit", err);
        size_t ui;
        for (ui = 0; ui < sizeof units / sizeof units[0]; ui++)
            if (strlen(units[ui].name) == ulen && memcmp(units[ui].name, u, ulen) == 0)
                break;
        if (ui == sizeof units / sizeof units[0])
            return duration_error(s, NULL, err);
        if (units[ui].rank <= last_rank)
            return duration_error(s, "units must go from largest to smallest, each once", err);
        last_rank = units[ui].rank;

        int64_t unit_ns = units[ui].mult * pow10_i64(units[ui].pow10), whole, part = 0;
        if (overflow || __builtin_mul_overflow(ip, unit_ns, &whole))
            goto too_long;
        if (k > 0) {
            /* frac/10^k × mult×10^pow10: exact while it is a whole number of ns. */
            int64_t fb = frac * units[ui].mult; /* < 10^17 × 36: fits */
            if (too_fine)
                return duration_error(s, "finer than 1ns", err);
            if (k <= units[ui].pow10) {
                part = fb * pow10_i64(units[ui].pow10 - k); /* < unit_ns */
            } else {
                int64_t d = pow10_i64(k - units[ui].pow10);
                if (fb % d != 0)
                    return duration_error(s, "finer than 1ns", err);
                part = fb / d;
            }
        }
        if (__builtin_add_overflow(whole, part, &whole) ||
            __builtin_add_overflow(total, whole, &total))
            goto too_long;
    }
    *out_ns = total;
    return EV_OK;
too_long:;
    char v[EV_SHOW_SIZE(40)];
    ev_show(s, 40, v, sizeof v);
    return ev_err_set(err, EV_EUSAGE,
                      "\"%s\" is too long a duration; expected at most 2562047h47m16.854775807s",
                      v);
}

void ev_text_put(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(*n < size ? buf + *n : NULL, *n < size ? size - *n : 0, fmt, ap);
    va_end(ap);
    if (r > 0)
        *n += (size_t)r;
}

/* "V" or "V.FFF" for v + frac/10^digits, trailing zeros dropped. */
static void put_decimal(char *buf, size_t size, size_t *n, uint64_t v, uint64_t frac, int digits)
{
    ev_text_put(buf, size, n, "%llu", (unsigned long long)v);
    if (frac == 0)
        return;
    while (frac % 10 == 0)
        frac /= 10, digits--;
    ev_text_put(buf, size, n, ".%0*llu", digits, (unsigned long long)frac);
}

void ev_format_duration(int64_t ns, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    buf[0] = '\0';
    size_t n = 0;
    if (ns == 0) {
        ev_text_put(buf, size, &n, "0s");
        return;
    }
    uint64_t u = (uint64_t)ns;
    if (ns < 0) {
        ev_text_put(buf, size, &n, "-");
        u = 0 - u; /* also right for INT64_MIN */
    }
    const uint64_t S = 1000000000u, M = 60 * S, H = 60 * M;
    if (u < S) {
        /* Below a second: the largest unit that keeps a whole part (Go's choice). */
        if (u >= 1000000u)
            put_decimal(buf, size, &n, u / 1000000u, u % 1000000u, 6),
                ev_text_put(buf, size, &n, "ms");
        else if (u >= 1000u)
            put_decimal(buf, size, &n, u / 1000u, u % 1000u, 3), ev_text_put(buf, size, &n, "us");
        else
            ev_text_put(buf, size, &n, "%lluns", (unsigned long long)u);
        return;
    }
    if (u >= H)
        ev_text_put(buf, size, &n, "%lluh", (unsigned long long)(u / H));
    u %= H;
    if (u >= M)
        ev_text_put(buf, size, &n, "%llum", (unsigned long long)(u / M));
    u %= M;
    if (u > 0) {
        put_decimal(buf, size, &n, u / S, u % S, 9);
        ev_text_put(buf, size, &n, "s");
    }
}

/* ------------------------------------------------------------------------ */
/* Nearest name                                                              */

#define NEAREST_MAXLEN 64

static size_t levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[NEAREST_MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ev_nearest(const char *word, const char *const *candidates, size_t n)
{
    if (!word)
        return NULL;
    size_t lw = strlen(word);
    if (lw > NEAREST_MAXLEN)
        return NULL;
    size_t limit = lw / 3 > 2 ? lw / 3 : 2, best_d = limit + 1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t lc = candidates[i] ? strlen(candidates[i]) : NEAREST_MAXLEN + 1;
        if (lc > NEAREST_MAXLEN)
            continue;
        size_t d = levenshtein(word, lw, candidates[i], lc);
        if (d < best_d)
            best_d = d, best = candidates[i];
    }
    return best;
}

void ev_fmt_num(double d, char *buf, size_t size)
{
    snprintf(buf, size, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, size, "%.17g", d);
}

void ev_text_row(FILE *f, const char *const cells[5], const int col[5])
{
    int cur = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && !cells[i][0])
            continue; /* an empty cell needs no room, so it pushes nothing */
        if (i > 0) {
            if (cur + 2 > col[i]) {
                fputc('\n', f);
                cur = 0;
            }
            cur += fprintf(f, "%*s", col[i] - cur, "");
        }
        cur += fprintf(f, "%s", cells[i]);
    }
    const char *h = cells[4];
    int width = PRINT_WIDTH - col[4];
    while (*h) {
        int len = (int)strlen(h), take = len;
        if (len > width) {
            take = width;
            while (take > 0 && h[take] != ' ')
                take--;
            if (take == 0)
                take = width; /* one long word: cut it */
        }
        if (cur + 2 > col[4]) {
            fputc('\n', f);
            cur = 0;
        }
        fprintf(f, "%*s%.*s\n", col[4] - cur, "", take, h);
        cur = 0;
        h += take;
        while (*h == ' ')
            h++;
    }
    if (cur > 0)
        fputc('\n', f);
}

int ev_valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

void ev_fput_markup(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(c < 0x20 && c != '\t' && c != '\n' ? '?' : c, f);
        }
    }
}
