/* ev_cebind — see ev_cebind.h. */
#include "ev_cebind.h"

#include <string.h>
#include <strings.h>

static const char *const write_prefix[] = {
    [EV_CE_BIND_AMQP] = "cloudEvents_",
    [EV_CE_BIND_KAFKA] = "ce_",
    [EV_CE_BIND_HTTP] = "ce-",
};

/* Every prefix a reader accepts, in any case (see the header). */
static const char *const read_prefix[] = {"cloudEvents_", "cloudEvents:", "ce_", "ce-"};

size_t ev_ce_bind_header_name(ev_ce_binding b, const char *attr, size_t attr_len, char *buf,
                              size_t size)
{
    const char *pre = write_prefix[b];
    size_t pl = strlen(pre);
    if (pl + attr_len + 1 > size)
        return 0;
    memcpy(buf, pre, pl);
    memcpy(buf + pl, attr, attr_len);
    buf[pl + attr_len] = '\0';
    return pl + attr_len;
}

const char *ev_ce_bind_content_type_header(ev_ce_binding b)
{
    switch (b) {
    case EV_CE_BIND_KAFKA:
        return "content-type";
    case EV_CE_BIND_HTTP:
        return "Content-Type";
    case EV_CE_BIND_AMQP:
        break;
    }
    return NULL;
}

void ev_ce_headers_init(ev_ce_headers *h, ev_ce_binding b)
{
    h->binding = b;
    h->nattrs = 0;
    h->content_type = NULL;
    h->ct_from_property = 0;
    h->dropped = 0;
    h->used = 0;
}

/* Copies s[0..n) NUL-terminated into h's scratch; NULL when it does not fit. */
static char *keep(ev_ce_headers *h, const char *s, size_t n, int lower)
{
    if (h->used + n + 1 > sizeof h->scratch)
        return NULL;
    char *d = h->scratch + h->used;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        d[i] = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    d[n] = '\0';
    h->used += n + 1;
    return d;
}

static void set_ct(ev_ce_headers *h, const char *ct, size_t len)
{
    const char *c = keep(h, ct, len, 0);
    if (c)
        h->content_type = c;
}

static size_t prefix_len(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof read_prefix / sizeof read_prefix[0]; i++) {
        size_t pl = strlen(read_prefix[i]);
        if (n > pl && strncasecmp(name, read_prefix[i], pl) == 0)
            return pl;
    }
    return 0;
}

int ev_ce_headers_add(ev_ce_headers *h, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    if (!name)
        return 0;
    if (!value)
        value = "", value_len = 0;
    const char *cth = ev_ce_bind_content_type_header(h->binding);
    if (cth && name_len == strlen(cth) && strncasecmp(name, cth, name_len) == 0) {
        if (!h->ct_from_property)
            set_ct(h, value, value_len);
        return 1;
    }
    size_t pl = prefix_len(name, name_len);
    if (!pl)
        return 0;
    const char *attr = name + pl;
    size_t al = name_len - pl;
    if (al == 15 && strncasecmp(attr, "datacontenttype", 15) == 0) {
        /* Producers that put datacontenttype in a header (the Spring AMQP
         * binding does): the content type, unless the protocol gave one. */
        if (!h->content_type)
            set_ct(h, value, value_len);
        return 1;
    }
    const char *lname = NULL;
    if (h->nattrs == EV_CE_HDR_MAX_ATTRS || !(lname = keep(h, attr, al, 1))) {
        h->dropped++;
        return 1;
    }
    h->attrs[h->nattrs++] =
        (ev_ce_attr){.name = lname, .name_len = al, .value = value, .value_len = value_len};
    return 1;
}

void ev_ce_headers_set_content_type(ev_ce_headers *h, const char *ct, size_t len)
{
    if (!ct)
        return;
    set_ct(h, ct, len);
    h->ct_from_property = 1;
}

int ev_ce_headers_binary(const ev_ce_headers *h)
{
    if (h->nattrs == 0)
        return 0;
    return !(h->content_type && strncasecmp(h->content_type, "application/cloudevents", 23) == 0);
}
