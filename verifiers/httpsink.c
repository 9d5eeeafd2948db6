/* httpsink verifier — consumers of the embedded HTTP sink's queue (see
 * src/brokers/httpsink.h). Every consumer of the one group takes from the
 * same queue; the sink is listening before setup() returns, so open() has
 * nothing to wait for. A delivery's headers are the request's, `ce-` values
 * percent-decoded; binary mode is told by ev_cebind's rule, except that the
 * events of a batch are always structured. */
#include "brokers/httpsink.h"

#include "ev_cebind.h"

#include <stdlib.h>

#define TAKE_MAX 64

struct ev_sub {
    ev_sink *s;
    const ev_run_info *ri;
    ev_sink_item *held[TAKE_MAX];
    int nheld;
    ev_ce_headers col[TAKE_MAX];
};

static int sink_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                         ev_sub **out, ev_err *err)
{
    ev_sub *c = calloc(1, sizeof *c);
    if (!c)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    c->s = state;
    c->ri = ri;
    *out = c;
    return EV_OK;
}

static void release(ev_sub *c)
{
    for (int i = 0; i < c->nheld; i++)
        ev_sink_item_free(c->held[i]);
    c->nheld = 0;
}

static int sink_sub_recv(ev_sub *c, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    release(c);
    if (max > TAKE_MAX)
        max = TAKE_MAX;
    int n = ev_sink_take(c->s, c->held, max, timeout_ns, c->ri->stop);
    c->nheld = n;
    for (int i = 0; i < n; i++) {
        const ev_sink_item *it = c->held[i];
        ev_ce_headers *h = &c->col[i];
        ev_ce_headers_init(h, EV_CE_BIND_HTTP);
        for (size_t j = 0; j < it->nheaders; j++)
            ev_ce_headers_add(h, it->headers[j].name, it->headers[j].name_len, it->headers[j].value,
                              it->headers[j].value_len);
        int binary = !it->batched && ev_ce_headers_binary(h);
        d[i] = (ev_delivery){.binary = binary,
                             .body = it->body,
                             .len = it->len,
                             .attrs = binary ? h->attrs : NULL,
                             .nattrs = binary ? h->nattrs : 0,
                             .content_type = binary ? h->content_type : NULL,
                             .headers = it->headers,
                             .nheaders = it->nheaders,
                             .recv_wall_ns = it->recv_wall_ns};
    }
    return n;
}

static void sink_sub_close(ev_sub *c)
{
    if (!c)
        return;
    release(c);
    free(c);
}

const ev_sub_ops ev_sink_sub_ops = {
    .open = sink_sub_open,
    .recv = sink_sub_recv,
    .ack = NULL,
    .close = sink_sub_close,
};
