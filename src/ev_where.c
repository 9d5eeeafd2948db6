/* ev_where — where a value came from, for one-line errors: positions of
 * every member in a JSON text (jansson keeps none), jansson's syntax errors
 * reworded as "FILE:LINE:COL: what; expected", and the error formatter that
 * the settings, the scenario loader and suite files share.
 *
 * Design notes
 * - Once jansson has accepted the text, a small scanner walks it again and
 *   records, for every object member and array element down to depth 4, its
 *   dotted path ("publish.stages[1].target") with the line:col of its key and
 *   of its value. Errors look positions up by path. Columns count bytes.
 * - jansson reports syntax errors and duplicate keys with a byte offset just
 *   past the token it read; we back up to the token and word the message in
 *   our one-line shape. */
#include "ev_where.h"

#include "ev_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *r = malloc(la + ls + lb + 1);
    if (r) {
        memcpy(r, a, la);
        memcpy(r + la, sep, ls);
        memcpy(r + la + ls, b, lb + 1);
    }
    return r;
}

#define SCAN_RECORD_DEPTH 4 /* deepest path an error can name: publish.stages[i].target */

typedef struct scan {
    const char *s;
    size_t n, i;
    int line;
    size_t bol; /* offset of the current line's first byte */
    ev_posmap *m;
} scan;

static int sc_col(const scan *c)
{
    return (int)(c->i - c->bol) + 1;
}

static void sc_ws(scan *c)
{
    while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]) && c->s[c->i]) {
        if (c->s[c->i] == '\n')
            c->line++, c->bol = c->i + 1;
        c->i++;
    }
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static int read_u4(const scan *c, size_t at, unsigned *out)
{
    unsigned v = 0;
    if (at + 4 > c->n)
        return -1;
    for (int k = 0; k < 4; k++) {
        int h = hexval(c->s[at + (size_t)k]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At '"': skips the string; with out, also decodes it (as jansson does, so
 * paths match jansson's keys) into a new string the caller frees. */
static int sc_string(scan *c, char **out)
{
    size_t start = ++c->i;
    char *o = NULL, *w = NULL;
    /* Decoding never lengthens a JSON string, so its raw length is enough. */
    size_t end = start;
    while (end < c->n && c->s[end] != '"')
        end += (c->s[end] == '\\') ? 2 : 1;
    if (end >= c->n)
        return -1;
    if (out) {
        o = w = malloc(end - start + 1);
        if (!o)
            return -1;
    }
    while (c->i < end) {
        char ch = c->s[c->i++];
        if (ch != '\\') {
            if (w)
                *w++ = ch;
            continue;
        }
        ch = c->s[c->i++];
        unsigned cp;
        switch (ch) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (read_u4(c, c->i, &cp) != 0)
                goto bad;
            c->i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (c->i + 6 > c->n || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u' ||
                    read_u4(c, c->i + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                c->i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default:
            cp = (unsigned char)ch;
            break; /* \" \\ \/ */
        }
        if (w)
            w += put_utf8(w, cp);
    }
    c->i = end + 1;
    if (out) {
        *w = '\0';
        *out = o;
    }
    return 0;
bad:
    free(o);
    return -1;
}

static int posmap_add(ev_posmap *m, char *path, int kl, int kc, int vl, int vc)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        ev_pos *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return -1;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (ev_pos){path, kl, kc, vl, vc};
    return 0;
}

void ev_posmap_free(ev_posmap *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof *m);
}

const ev_pos *ev_posmap_find(const ev_posmap *m, const char *path)
{
    for (size_t i = 0; m && path && i < m->n; i++)
        if (strcmp(m->v[i].path, path) == 0)
            return &m->v[i];
    return NULL;
}

/* Scans one value; records its children's positions when path is non-NULL
 * (the map then owns the children's paths). Returns -1 on text it does not
 * understand, which cannot happen for text jansson accepted, or on OOM. */
static int sc_value(scan *c, const char *path, int depth)
{
    sc_ws(c);
    if (c->i >= c->n)
        return -1;
    char ch = c->s[c->i];
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->i++;
        sc_ws(c);
        if (c->i < c->n && c->s[c->i] == close) {
            c->i++;
            return 0;
        }
        for (size_t idx = 0;; idx++) {
            sc_ws(c);
            int kl = c->line, kc = sc_col(c);
            char *key = NULL, *child = NULL;
            if (ch == '{') {
                if (c->i >= c->n || c->s[c->i] != '"' || sc_string(c, path ? &key : NULL) != 0)
                    return -1;
                sc_ws(c);
                if (c->i >= c->n || c->s[c->i] != ':') {
                    free(key);
                    return -1;
                }
                c->i++;
                sc_ws(c);
            }
            int vl = c->line, vc = sc_col(c);
            if (path && depth < SCAN_RECORD_DEPTH) {
                if (ch == '{') {
                    child = path[0] ? join(path, ".", key) : join("", "", key);
                } else {
                    char ix[32];
                    snprintf(ix, sizeof ix, "[%zu]", idx);
                    child = join(path, "", ix);
                }
                if (!child || posmap_add(c->m, child, kl, kc, vl, vc) != 0) {
                    free(child);
                    free(key);
                    return -1;
                }
            }
            free(key);
            if (sc_value(c, child, depth + 1) != 0)
                return -1;
            sc_ws(c);
            if (c->i < c->n && c->s[c->i] == ',') {
                c->i++;
                continue;
            }
            if (c->i < c->n && c->s[c->i] == close) {
                c->i++;
                return 0;
            }
            return -1;
        }
    }
    if (ch == '"')
        return sc_string(c, NULL);
    /* number, true, false, null */
    size_t start = c->i;
    while (c->i < c->n && !strchr(" \t\r\n,]}", c->s[c->i]) && c->s[c->i])
        c->i++;
    return c->i > start ? 0 : -1;
}

void ev_line_col(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1;
    size_t bol = 0;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            l++, bol = i + 1;
    *line = l;
    *col = (int)(off - bol) + 1;
}

/* ------------------------------------------------------------------------ */
/* jansson's errors, reworded                                                */

static int json_error_raw(const char *name, const char *text, size_t len, const json_error_t *je,
                          ev_err *err)
{
    const char *msg = je->text;
    size_t pos = je->position > 0 ? (size_t)je->position : 0;
    if (pos > len)
        pos = len;

    /* jansson ends most messages with " near 'TOKEN'", TOKEN being the raw
     * text it just read, and position just past it: back up to its start. */
    const char *near = NULL, *q = msg;
    while ((q = strstr(q, " near '")) != NULL)
        near = q++;
    size_t toklen = 0;
    const char *tok = NULL;
    if (near) {
        size_t tl = strlen(near + 7);
        if (tl > 0 && near[7 + tl - 1] == '\'') {
            tok = near + 7;
            toklen = tl - 1;
        }
    }
    size_t start = (tok && toklen <= pos) ? pos - toklen : pos;
    int line, col;

    size_t first = 0; /* first non-blank byte */
    while (first < len && strchr(" \t\r\n", text[first]) && text[first])
        first++;
    if (first == len) {
        return ev_err_set(err, EV_EUSAGE,
                          "%s:1:1: the scenario is empty; expected a JSON object {...}", name);
    }
    if (strncmp(msg, "'[' or '{' expected", 19) == 0) {
        ev_line_col(text, len, first, &line, &col);
        return ev_err_set(err, EV_EUSAGE,
                          "%s:%d:%d: not a JSON object; a scenario is one JSON "
                          "object {...}",
                          name, line, col);
    }
    if (strncmp(msg, "duplicate object key", 20) == 0 && tok) {
        ev_line_col(text, len, start, &line, &col);
        return ev_err_set(err, EV_EUSAGE,
                          "%s:%d:%d: duplicate key %.*s; a key may appear only "
                          "once in an object",
                          name, line, col, (int)toklen, tok);
    }
    if (tok && toklen == 1 && (tok[0] == '}' || tok[0] == ']')) {
        size_t b = start;
        while (b > 0 && strchr(" \t\r\n", text[b - 1]))
            b--;
        if (b > 0 && text[b - 1] == ',') {
            ev_line_col(text, len, b - 1, &line, &col);
            return ev_err_set(err, EV_EUSAGE,
                              "%s:%d:%d: invalid JSON: a comma before '%c'; "
                              "remove it (JSON has no trailing commas)",
                              name, line, col, tok[0]);
        }
    }
    ev_line_col(text, len, start, &line, &col);
    const char *exp = strstr(msg, " expected near ");
    if (exp)
        return ev_err_set(err, EV_EUSAGE, "%s:%d:%d: invalid JSON near %s; expected %.*s", name,
                          line, col, exp + 15, (int)(exp - msg), msg);
    return ev_err_set(err, EV_EUSAGE, "%s:%d:%d: invalid JSON: %s", name, line, col, msg);
}

/* jansson quotes raw input, which may hold control bytes: keep one line. */
int ev_json_error(const char *name, const char *text, size_t len, const json_error_t *je,
                  ev_err *err)
{
    int rc = json_error_raw(name, text, len, je, err);
    if (err)
        ev_one_line(err->msg);
    return rc;
}

int ev_posmap_scan(const char *text, size_t len, ev_posmap *out)
{
    scan sc = {.s = text, .n = len, .i = 0, .line = 1, .bol = 0, .m = out};
    return sc_value(&sc, "", 0);
}

/* ------------------------------------------------------------------------ */
/* Errors with their place                                                   */

const ev_pos *ev_where_pos(const ev_where *w, const char *path)
{
    if (!w->prefix || !w->prefix[0])
        return ev_posmap_find(w->pos, path);
    char full[320];
    snprintf(full, sizeof full, "%s%s", w->prefix, path);
    return ev_posmap_find(w->pos, full);
}

int ev_where_fail(const ev_where *w, const char *path, int at_key, int subject, ev_err *err,
                  const char *fmt, ...)
{
    char body[sizeof err->msg], loc[160], full[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const char *rel = path;
    if (path && w->prefix && w->prefix[0]) {
        snprintf(full, sizeof full, "%s%s", w->prefix, path);
        path = full;
    }

    const char *subj = "", *sep = "";
    if (w->set_key) {
        snprintf(loc, sizeof loc, "--set %s", w->set_key);
        if (subject && path && strcmp(path, w->set_key) != 0)
            subj = path, sep = " ";
    } else {
        const ev_pos *ps = rel ? ev_where_pos(w, rel) : NULL;
        const char *file = w->file ? w->file : "";
        if (ps && at_key)
            snprintf(loc, sizeof loc, "%s:%d:%d", file, ps->kline, ps->kcol);
        else if (ps)
            snprintf(loc, sizeof loc, "%s:%d:%d", file, ps->vline, ps->vcol);
        else
            snprintf(loc, sizeof loc, "%s", file);
        if (subject && path)
            subj = path, sep = " ";
    }
    ev_one_line(body);
    ev_one_line(loc);
    if (!loc[0])
        return ev_err_set(err, EV_EUSAGE, "%s%s%s", subj, sep, body);
    return ev_err_set(err, EV_EUSAGE, "%s: %s%s%s", loc, subj, sep, body);
}

/* "a, b, c" into buf. */
static void join_names(const char *const *names, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        ev_text_put(buf, size, &len, "%s%s", i ? ", " : "", names[i]);
}

int ev_unknown_key(const ev_where *w, const char *parent, const char *key, const char *const *names,
                   size_t n, ev_err *err)
{
    char path[256], in[160], list[300], k[EV_SHOW_SIZE(40)];
    ev_show(key, 40, k, sizeof k);
    if (parent[0]) {
        snprintf(path, sizeof path, "%s.%s", parent, key);
        snprintf(in, sizeof in, " in \"%s%s\"", w->prefix ? w->prefix : "", parent);
    } else {
        snprintf(path, sizeof path, "%s", key);
        in[0] = '\0';
    }
    const char *near = ev_nearest(key, names, n);
    if (near)
        return ev_where_fail(w, path, 1, 0, err, "unknown key \"%s\"%s; did you mean \"%s\"?", k,
                             in, near);
    join_names(names, n, list, sizeof list);
    return ev_where_fail(w, path, 1, 0, err, "unknown key \"%s\"%s; expected one of: %s", k, in,
                         list);
}
