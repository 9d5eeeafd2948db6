/* ev_sse — see ev_sse.h for the rules. A complete line found inside one
 * chunk is parsed where it lies; only a line split between chunks is
 * gathered in p->line first. */
#include "ev_sse.h"

#include <string.h>

void ev_sse_init(ev_sse_parser *p, size_t max)
{
    memset(p, 0, sizeof *p);
    p->max = max;
    p->retry_ms = -1;
    p->bom_left = 3;
}

void ev_sse_restart(ev_sse_parser *p)
{
    ev_buf_reset(&p->line);
    ev_buf_reset(&p->data);
    ev_buf_reset(&p->type);
    ev_buf_reset(&p->id_buf);
    p->after_cr = 0;
    p->bom_left = 3;
}

void ev_sse_free(ev_sse_parser *p)
{
    ev_buf_free(&p->line);
    ev_buf_free(&p->data);
    ev_buf_free(&p->type);
    ev_buf_free(&p->id_buf);
    ev_buf_free(&p->last_id);
}

const char *ev_sse_last_id(const ev_sse_parser *p)
{
    return p->last_id.len ? p->last_id.p : "";
}

static int field_is(const char *f, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(f, name, n) == 0;
}

static int set_buf(ev_buf *b, const char *s, size_t n)
{
    ev_buf_reset(b);
    return ev_buf_append(b, s, n);
}

static int dispatch(ev_sse_parser *p, ev_sse_event_fn fn, void *ud)
{
    /* The stream's last event ID moves at every dispatch, event or not. */
    if (set_buf(&p->last_id, p->id_buf.p, p->id_buf.len)) /* ev_buf keeps a NUL after it */
        return -1;
    if (p->data.len == 0) {
        ev_buf_reset(&p->type);
        p->empty_dispatches++;
        return 0;
    }
    ev_sse_event ev = {
        .data = p->data.p,
        .len = p->data.len - 1, /* without the final LF */
        .type = p->type.len ? p->type.p : "message",
        .type_len = p->type.len ? p->type.len : 7,
        .id = ev_sse_last_id(p),
        .id_len = p->last_id.len,
    };
    p->events++;
    fn(ud, &ev);
    ev_buf_reset(&p->data);
    ev_buf_reset(&p->type);
    return 0;
}

/* One complete line, without its end. */
static int line(ev_sse_parser *p, const char *s, size_t n, ev_sse_event_fn fn, void *ud)
{
    if (n == 0)
        return dispatch(p, fn, ud);
    if (s[0] == ':') {
        p->comments++;
        return 0;
    }
    const char *colon = memchr(s, ':', n);
    size_t fl = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vl = colon ? n - fl - 1 : 0;
    if (vl && *v == ' ') {
        v++;
        vl--;
    }
    if (field_is(s, fl, "data")) {
        if (p->data.len + vl + 1 > p->max)
            return -1;
        return ev_buf_append(&p->data, v, vl) || ev_buf_append(&p->data, "\n", 1) ? -1 : 0;
    }
    if (field_is(s, fl, "event"))
        return set_buf(&p->type, v, vl);
    if (field_is(s, fl, "id")) {
        if (memchr(v, '\0', vl)) {
            p->ignored_ids++;
            return 0;
        }
        return set_buf(&p->id_buf, v, vl);
    }
    if (field_is(s, fl, "retry")) {
        int64_t ms = 0;
        size_t i = 0;
        for (; i < vl && v[i] >= '0' && v[i] <= '9'; i++)
            if (ms < INT64_C(1000000000000)) /* caps at about 31 years */
                ms = ms * 10 + (v[i] - '0');
        if (vl == 0 || i != vl)
            p->bad_retry++;
        else
            p->retry_ms = ms;
        return 0;
    }
    p->ignored_fields++;
    return 0;
}

static int feed_body(ev_sse_parser *p, const char *buf, size_t n, ev_sse_event_fn fn, void *ud)
{
    size_t i = 0;
    while (i < n) {
        if (p->after_cr) {
            p->after_cr = 0;
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        /* The line's end: the first LF or CR (memchr scans many bytes at a
         * time; a CR is looked for only before the LF). */
        const char *lf = memchr(buf + i, '\n', n - i);
        size_t upto = lf ? (size_t)(lf - buf) : n;
        const char *cr = memchr(buf + i, '\r', upto - i);
        size_t j = cr ? (size_t)(cr - buf) : upto;
        if (j == n) { /* the line goes on in the next chunk */
            if (p->line.len + (n - i) > p->max)
                return -1;
            return ev_buf_append(&p->line, buf + i, n - i) ? -1 : 0;
        }
        int rc;
        if (p->line.len) {
            if (p->line.len + (j - i) > p->max || ev_buf_append(&p->line, buf + i, j - i))
                return -1;
            rc = line(p, p->line.p, p->line.len, fn, ud);
            ev_buf_reset(&p->line);
        } else {
            rc = line(p, buf + i, j - i, fn, ud);
        }
        if (rc)
            return -1;
        if (buf[j] == '\r') {
            if (j + 1 < n) {
                if (buf[j + 1] == '\n')
                    j++;
            } else {
                p->after_cr = 1;
            }
        }
        i = j + 1;
    }
    return 0;
}

int ev_sse_feed(ev_sse_parser *p, const char *buf, size_t n, ev_sse_event_fn fn, void *ud)
{
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    size_t i = 0;
    /* A BOM at the start of the stream, possibly split between chunks. */
    while (p->bom_left > 0 && i < n) {
        int at = 3 - p->bom_left;
        if (buf[i] == bom[at]) {
            p->bom[at] = buf[i];
            p->bom_left--;
            i++;
            continue;
        }
        p->bom_left = 0; /* not a BOM: what was held back is ordinary text */
        if (at && feed_body(p, p->bom, (size_t)at, fn, ud))
            return -1;
    }
    return feed_body(p, buf + i, n - i, fn, ud);
}
