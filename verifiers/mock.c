/* mock verifier — a competing consumer of one group's in-process queue. */
#include "brokers/mock.h"

#include "ev_clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct ev_sub {
    ev_mock *m;
    uint32_t group, ngroups; /* groups [group, group + ngroups) */
    ev_mock_msg *taken;      /* the chain handed out by the last recv, freed by the next */
};

static int mock_sub_open(void *state, const ev_run_info *ri, uint32_t group, uint32_t consumer,
                         ev_sub **out, ev_err *err)
{
    ev_sub *s = calloc(1, sizeof *s);
    if (!s)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    s->m = state;
    s->group = group;
    s->ngroups = 1;
    *out = s;
    return EV_OK;
}

/* One sub for several groups from one thread (the engine's multiplexed
 * consumers, as event-loop transports use them): each recv takes what is
 * visible in each group's queue in turn. */
static int mock_sub_open_groups(void *state, const ev_run_info *ri, uint32_t g0, uint32_t n,
                                ev_sub **out, ev_err *err)
{
    int rc = mock_sub_open(state, ri, g0, 0, out, err);
    if (!rc)
        (*out)->ngroups = n;
    return rc;
}

static void release(ev_sub *s)
{
    while (s->taken) {
        ev_mock_msg *n = s->taken->next;
        free(s->taken);
        s->taken = n;
    }
}

/* Takes what is visible now from group g's queue onto *tail; returns how
 * many were taken into d[n..max). */
static int take_visible(ev_sub *s, uint32_t g, ev_delivery *d, int n, int max, ev_mock_msg **tail)
{
    ev_mock_queue *q = &s->m->q[s->group + g];
    int64_t now = ev_mono_ns();
    int k = n;
    pthread_mutex_lock(&q->mu);
    while (k < max && q->head && q->head->visible_at <= now) {
        ev_mock_msg *x = q->head;
        q->head = x->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        x->next = NULL;
        if (*tail)
            (*tail)->next = x;
        else
            s->taken = x;
        *tail = x;
        d[k++] = (ev_delivery){.binary = x->binary,
                               .body = x->body,
                               .len = x->len,
                               .attrs = x->attrs,
                               .nattrs = x->nattrs,
                               .content_type = x->content_type,
                               .group = g};
    }
    pthread_mutex_unlock(&q->mu);
    return k - n;
}

static int mock_sub_recv_groups(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns)
{
    int64_t deadline = ev_mono_ns() + timeout_ns;
    ev_mock_msg *tail = NULL;
    for (;;) {
        int n = 0;
        for (uint32_t g = 0; g < s->ngroups && n < max; g++)
            n += take_visible(s, g, d, n, max, &tail);
        if (n > 0 || ev_mono_ns() >= deadline)
            return n;
        ev_sleep_until(ev_mono_ns() + EV_NS_PER_MS, NULL);
    }
}

static int mock_sub_recv(ev_sub *s, ev_delivery *d, int max, int64_t timeout_ns, ev_err *err)
{
    ev_mock_queue *q = &s->m->q[s->group];
    release(s);
    if (s->ngroups > 1)
        return mock_sub_recv_groups(s, d, max, timeout_ns);
    int64_t deadline = ev_mono_ns() + timeout_ns;
    int n = 0;
    ev_mock_msg *tail = NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t now = ev_mono_ns();
        while (n < max && q->head && q->head->visible_at <= now) {
            ev_mock_msg *x = q->head;
            q->head = x->next;
            if (!q->head)
                q->tail = NULL;
            q->len--;
            x->next = NULL;
            if (tail)
                tail->next = x;
            else
                s->taken = x;
            tail = x;
            d[n++] = (ev_delivery){
                .binary = x->binary,
                .body = x->body,
                .len = x->len,
                .attrs = x->attrs,
                .nattrs = x->nattrs,
                .content_type = x->content_type,
            };
        }
        if (n > 0 || now >= deadline)
            break;
        int64_t until = deadline;
        if (q->head && q->head->visible_at < until)
            until = q->head->visible_at;
        struct timespec ts = {.tv_sec = until / EV_NS_PER_S, .tv_nsec = until % EV_NS_PER_S};
        q->waiters++;
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        q->waiters--;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void mock_sub_close(ev_sub *s)
{
    if (!s)
        return;
    release(s);
    free(s);
}

const ev_sub_ops ev_mock_sub_ops = {
    .open = mock_sub_open,
    .open_groups = mock_sub_open_groups,
    .recv = mock_sub_recv,
    .ack = NULL,
    .close = mock_sub_close,
};
