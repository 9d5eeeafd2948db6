/* mock publisher — applies the fault model of src/brokers/mock.h to each event
 * a lane sends. Publishing is synchronous (the "broker" is in this process), so
 * outcomes are known at send and handed back by the next poll(). */
#include "brokers/mock.h"

#include "ev_clock.h"

#include <stdlib.h>
#include <string.h>

typedef struct outcome {
    uint64_t seq;
    int ok;
} outcome;

struct ev_pub {
    ev_mock *m;
    uint32_t lane;
    uint64_t rng;
    outcome *out; /* outcomes not yet polled */
    size_t nout, capout;
    ev_mock_msg **held; /* [groups]: a chain held back for reordering, or NULL */
    int faults;         /* the knobs apply to this lane (mock://?stream= names its stream) */
    ev_mock_truth truth;
};

static int mock_pub_open(void *state, const ev_run_info *ri, uint32_t lane, ev_pub **out,
                         ev_err *err)
{
    ev_mock *m = state;
    ev_pub *p = calloc(1, sizeof *p);
    if (!p || !(p->held = calloc(m->groups, sizeof *p->held))) {
        free(p);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    p->m = m;
    p->lane = lane;
    p->faults = !m->k.stream || !strcmp(ev_plan_lane_stream(ri->plan, lane)->name, m->k.stream);
    p->rng = m->k.seed * UINT64_C(0x100000001B3) + ri->instance * 1000003u + lane;
    ev_mock_rand(&p->rng);
    *out = p;
    return EV_OK;
}

static int push_outcome(ev_pub *p, uint64_t seq, int ok)
{
    if (p->nout == p->capout) {
        size_t cap = p->capout ? p->capout * 2 : 64;
        outcome *o = realloc(p->out, cap * sizeof *o);
        if (!o)
            return -1;
        p->out = o;
        p->capout = cap;
    }
    p->out[p->nout++] = (outcome){seq, ok};
    return 0;
}

static int64_t pick_delay(ev_pub *p)
{
    const ev_mock_knobs *k = &p->m->k; /* delay is the broker's, not a fault: every lane */
    if (k->delay_max_ns == k->delay_min_ns)
        return k->delay_min_ns;
    return k->delay_min_ns +
           (int64_t)(ev_mock_unit(&p->rng) * (double)(k->delay_max_ns - k->delay_min_ns + 1));
}

static int mock_pub_send(ev_pub *p, const ev_msg *msg, ev_err *err)
{
    static const ev_mock_knobs none = {0};
    const ev_mock_knobs *k = p->faults ? &p->m->k : &none;
    if (k->nack > 0 && ev_mock_unit(&p->rng) < k->nack) {
        p->truth.nacked++;
        return push_outcome(p, msg->seq, 0) ? ev_err_set(err, EV_EINTERNAL, "out of memory")
                                            : EV_OK;
    }
    p->truth.accepted++;
    int64_t now = ev_mono_ns();
    for (uint32_t g = 0; g < p->m->groups; g++) {
        if (k->drop > 0 && ev_mock_unit(&p->rng) < k->drop) {
            p->truth.dropped++;
            continue;
        }
        ev_mock_msg *x = ev_mock_msg_new(msg);
        if (!x)
            return ev_err_set(err, EV_EINTERNAL, "out of memory");
        x->visible_at = now + pick_delay(p);
        int corrupted = k->corrupt > 0 && ev_mock_unit(&p->rng) < k->corrupt;
        if (corrupted) {
            ev_mock_msg_corrupt(x);
            x->corrupted = 1;
            p->truth.corrupted_events++;
        }
        ev_mock_msg *last = x;
        int64_t n = 1;
        if (k->dup > 0 && ev_mock_unit(&p->rng) < k->dup) {
            ev_mock_msg *y = ev_mock_msg_clone(x);
            if (!y) {
                free(x);
                return ev_err_set(err, EV_EINTERNAL, "out of memory");
            }
            x->next = y;
            last = y;
            n = 2;
            p->truth.duplicated++;
            p->truth.duplicated_intact += !corrupted;
        }
        /* Ground truth counts damaged copies: a corrupted event that is also
         * duplicated reaches the verifier damaged twice. */
        if (corrupted)
            p->truth.corrupted += (uint64_t)n;
        if (p->held[g]) {
            /* This event overtakes the held one. */
            ev_mock_msg *h = p->held[g];
            int64_t hn = 1;
            ev_mock_msg *ht = h;
            while (ht->next) {
                ht = ht->next;
                hn++;
            }
            last->next = h;
            /* The held copies become visible no earlier than the one that overtook them. */
            for (ev_mock_msg *c = h; c; c = c->next)
                if (c->visible_at < x->visible_at)
                    c->visible_at = x->visible_at;
            last = ht;
            n += hn;
            p->held[g] = NULL;
            p->truth.reordered++;
            p->truth.reordered_intact += !corrupted && !h->corrupted;
        } else if (k->reorder > 0 && ev_mock_unit(&p->rng) < k->reorder) {
            p->held[g] = x;
            continue;
        }
        p->truth.enqueued += (uint64_t)n;
        ev_mock_enqueue(p->m, g, x, last, n);
    }
    return push_outcome(p, msg->seq, 1) ? ev_err_set(err, EV_EINTERNAL, "out of memory") : EV_OK;
}

static int mock_pub_poll(ev_pub *p, int64_t timeout_ns, ev_outcome_fn fn, void *ud, ev_err *err)
{
    size_t n = p->nout;
    for (size_t i = 0; i < n; i++)
        fn(ud, p->out[i].seq, p->out[i].ok);
    p->nout = 0;
    return (int)n;
}

static void mock_pub_close(ev_pub *p)
{
    if (!p)
        return;
    for (uint32_t g = 0; g < p->m->groups; g++) {
        ev_mock_msg *h = p->held[g];
        if (!h)
            continue;
        int64_t n = 1;
        ev_mock_msg *t = h;
        while (t->next) {
            t = t->next;
            n++;
        }
        p->truth.enqueued += (uint64_t)n;
        ev_mock_enqueue(p->m, g, h, t, n);
    }
    ev_mock_add_truth(p->m, p->lane, &p->truth);
    free(p->held);
    free(p->out);
    free(p);
}

const ev_pub_ops ev_mock_pub_ops = {
    .open = mock_pub_open,
    .send = mock_pub_send,
    .poll = mock_pub_poll,
    .close = mock_pub_close,
};
