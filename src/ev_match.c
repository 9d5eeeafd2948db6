/* ev_match — see ev_match.h. */
#include "ev_match.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

/* The value of a header named name (any case), or NULL. */
static const ev_ce_attr *find_header(const ev_msg_view *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; m->headers && i < m->nheaders; i++)
        if (m->headers[i].name_len == n && !strncasecmp(m->headers[i].name, name, n))
            return &m->headers[i];
    return NULL;
}

static const ev_ce_attr *find_attr(const ev_msg_view *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; m->binary && m->attrs && i < m->nattrs; i++)
        if (m->attrs[i].name_len == n && !memcmp(m->attrs[i].name, name, n))
            return &m->attrs[i];
    return NULL;
}

/* Reads one value (a published id, or a traceparent) into out[0]. */
static int one(ev_match_kind kind, const char *v, size_t len, const char *run, ev_match_id *out)
{
    if (kind == EV_MATCH_TRACEPARENT)
        return ev_ce_traceparent_parse(v, len, run, &out->instance, &out->lane, &out->seq);
    return ev_ce_id_parse(v, len, run, &out->instance, &out->lane, &out->seq);
}

/* RFC 6901: the value at ptr ("" is the whole document), or NULL. */
static json_t *pointer(json_t *doc, const char *ptr)
{
    json_t *cur = doc;
    char tok[256];
    while (cur && *ptr == '/') {
        size_t n = 0;
        for (ptr++; *ptr && *ptr != '/'; ptr++) {
            char c = *ptr;
            if (c == '~') {
                c = ptr[1] == '1' ? '/' : '~'; /* "~0" or "~1": ev_match_parse checked */
                ptr++;
            }
            if (n + 1 >= sizeof tok)
                return NULL;
            tok[n++] = c;
        }
        tok[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end = NULL;
            unsigned long ix = strtoul(tok, &end, 10);
            if (!n || *end || (tok[0] == '0' && n > 1))
                return NULL;
            cur = json_array_get(cur, ix);
        } else {
            return NULL;
        }
    }
    return cur;
}

/* The identities a JSON value holds: a string, or an array of strings. */
static int from_json(ev_match_kind kind, json_t *v, const char *run, ev_match_id *out, int max)
{
    if (json_is_string(v))
        return max > 0 && one(kind, json_string_value(v), json_string_length(v), run, out);
    int n = 0;
    size_t i;
    json_t *x;
    if (json_is_array(v))
        json_array_foreach (v, i, x)
            if (n < max && json_is_string(x) &&
                one(kind, json_string_value(x), json_string_length(x), run, &out[n]))
                n++;
    return n;
}

int ev_match_ids(ev_match_kind kind, const char *arg, const ev_msg_view *m, const char *run,
                 ev_match_id *out, int max)
{
    if (max <= 0)
        return 0;
    const char *name = kind == EV_MATCH_HEADER        ? arg
                       : kind == EV_MATCH_TRACEPARENT ? "traceparent"
                                                      : "id";
    /* Headers and attributes first: no parsing. */
    if (kind != EV_MATCH_JSON) {
        const ev_ce_attr *h = kind == EV_MATCH_ENVELOPE ? NULL : find_header(m, name);
        if (!h)
            h = find_attr(m, name);
        if (h)
            return one(kind, h->value, h->value_len, run, out);
        if (m->binary)
            return 0; /* the body is the data, not the event */
    }
    json_error_t je;
    json_t *doc = m->body ? json_loadb(m->body, m->len, JSON_DECODE_ANY, &je) : NULL;
    if (!doc)
        return 0;
    int n;
    if (kind == EV_MATCH_JSON)
        n = from_json(kind, pointer(doc, arg ? arg : ""), run, out, max);
    else
        n = from_json(kind, json_object_get(doc, name), run, out, 1);
    json_decref(doc);
    return n;
}
