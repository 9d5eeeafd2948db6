/* ev_yaml — YAML scalars (see ev_yaml.h). */
#include "ev_yaml.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The code point at s[0..n) (n >= 1) and its length in *len, or -1 when the
 * bytes there are not well-formed UTF-8 (overlong forms, surrogates and
 * values above U+10FFFF included). */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
        *len = 1;
        return (int32_t)c;
    }
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, cp = c & 0x07, min = 0x10000;
    else
        return -1;
    if (n < k)
        return -1;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = k;
    return (int32_t)cp;
}

/* What a character needs inside a double-quoted scalar: NULL when it may
 * stand as it is, else its escape (written into buf). */
static const char *escape_of(int32_t cp, char *buf, size_t size)
{
    switch (cp) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\t':
        return "\\t";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case 0x85:
        return "\\N";
    case 0x2028:
        return "\\L";
    case 0x2029:
        return "\\P";
    case 0xFEFF:
    case 0xFFFE:
    case 0xFFFF:
        snprintf(buf, size, "\\u%04X", (unsigned)cp);
        return buf;
    default:
        break;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
        snprintf(buf, size, "\\x%02X", (unsigned)cp);
        return buf;
    }
    return NULL;
}

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '=' || c == '+' || c == '-';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1 when s[0..n) can be written plain and read back as this very string. */
static int plain_ok(const char *s, size_t n)
{
    static const char *const special[] = {"y",     "yes", "n",   "no",   "true",
                                          "false", "on",  "off", "null", NULL};
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (!(is_alpha(u[0]) || u[0] == '_' || u[0] == '/' ||
          (n >= 3 && u[0] == '-' && u[1] == '-' && is_alpha(u[2]))))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_word_char(u[i]))
            return 0;
    for (size_t i = 0; special[i]; i++)
        if (strlen(special[i]) == n && strncasecmp(s, special[i], n) == 0)
            return 0;
    return 1;
}

static int put_quoted(ev_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (ev_buf_puts(b, "\""))
        return -1;
    size_t i = 0, run = 0; /* run: bytes copied as they are, not yet appended */
    while (i < n) {
        size_t len;
        int32_t cp = utf8_next(u + i, n - i, &len);
        if (cp < 0)
            return -1;
        char buf[16];
        const char *esc = escape_of(cp, buf, sizeof buf);
        if (esc) {
            if (ev_buf_append(b, s + i - run, run) || ev_buf_puts(b, esc))
                return -1;
            run = 0;
        } else {
            run += len;
        }
        i += len;
    }
    if (ev_buf_append(b, s + n - run, run) || ev_buf_puts(b, "\""))
        return -1;
    return 0;
}

int ev_yaml_scalar(ev_buf *b, const char *s, size_t n)
{
    if (plain_ok(s, n))
        return ev_buf_append(b, s, n);
    return put_quoted(b, s, n);
}

/* 1 when a literal block carries s[0..n) exactly: every character printable
 * and unescaped (tab and newline aside), no line of only blanks, something
 * besides newlines. -1 when s is not UTF-8. */
static int block_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    int content = 0, line_blank = 1;
    size_t line_len = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int32_t cp = utf8_next(u + i, n - i, &len);
        if (cp < 0)
            return -1;
        char buf[16];
        if (cp == '\n') {
            if (line_len && line_blank)
                return 0;
            line_len = 0, line_blank = 1;
        } else {
            if (cp != '\t' && cp != '"' && cp != '\\' && escape_of(cp, buf, sizeof buf))
                return 0;
            content = 1;
            line_len++;
            if (cp != ' ' && cp != '\t')
                line_blank = 0;
        }
        i += len;
    }
    if (line_len && line_blank)
        return 0;
    return content;
}

int ev_yaml_block(ev_buf *b, const char *s, size_t n, int parent, int indent)
{
    int ok = block_ok(s, n);
    if (ok < 0)
        return -1;
    /* The indentation indicator, when the first line cannot show it, is
     * relative to the parent node's: one digit. */
    int need = ok && (s[0] == ' ' || s[0] == '\n');
    if (!ok || parent < 0 || indent <= parent || (need && indent - parent > 9)) {
        if (ev_buf_puts(b, " ") || put_quoted(b, s, n) || ev_buf_puts(b, "\n"))
            return -1;
        return 0;
    }
    size_t trailing = 0;
    while (trailing < n && s[n - 1 - trailing] == '\n')
        trailing++;
    char head[8];
    int k = 0;
    head[k++] = '|';
    if (need)
        head[k++] = (char)('0' + (indent - parent));
    if (trailing == 0)
        head[k++] = '-';
    else if (trailing > 1)
        head[k++] = '+';
    head[k] = '\0';
    if (ev_buf_puts(b, " ") || ev_buf_puts(b, head) || ev_buf_puts(b, "\n"))
        return -1;
    /* Every line, the last one included, ends with '\n' here; the chomping
     * indicator says how many of the final ones belong to the text. */
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && s[e] != '\n')
            e++;
        if (e > i) {
            for (int j = 0; j < indent; j++)
                if (ev_buf_puts(b, " "))
                    return -1;
            if (ev_buf_append(b, s + i, e - i))
                return -1;
        }
        if (ev_buf_puts(b, "\n"))
            return -1;
        i = e + 1;
    }
    return 0;
}
