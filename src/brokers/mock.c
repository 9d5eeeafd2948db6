/* mock — the shared half of the in-process broker: target parsing, queues,
 * ground truth and results. See mock.h for the fault model. */
#include "brokers/mock.h"

#include "ev_clock.h"
#include "ev_text.h"

#include <stdlib.h>
#include <string.h>

static const ev_param mock_params[] = {
    {"drop", EV_PT_PROB, "0", 0, 0, NULL, 0,
     "per group, an accepted event is never delivered: lost"},
    {"dup", EV_PT_PROB, "0", 0, 0, NULL, 0, "per group, the event is delivered twice: duplicated"},
    {"reorder", EV_PT_PROB, "0", 0, 0, NULL, 0,
     "per group, the event is delivered right after its lane's next one: reordered"},
    {"corrupt", EV_PT_PROB, "0", 0, 0, NULL, 0,
     "per group, one byte of data is changed: corrupted"},
    {"nack", EV_PT_PROB, "0", 0, 0, NULL, 0,
     "the publish fails and nothing is delivered: unconfirmed, not lost"},
    {"delay", EV_PT_DURRANGE, "0s", 0, 0, NULL, 0,
     "every delivery becomes visible this long (or uniformly MIN..MAX) after it was enqueued"},
    {"seed", EV_PT_INT, "1", 0, 0, NULL, 0, "seed of the fault decisions (each lane its own)"},
    {"capacity", EV_PT_NUMBER, "0", 0, 1e9, NULL, 0,
     "deliveries per second each group's queue can serve; above it a backlog queues and "
     "drains at this rate (0: unlimited)"},
    {"stream", EV_PT_STRING, NULL, 0, 0, NULL, 0,
     "faults only on this stream's events (a scenario with streams); the others pass intact"},
    {NULL},
};

static int mock_configure(const ev_run_info *ri, ev_err *err)
{
    const ev_url *u = ri->url;
    if (u->host[0] || u->path[0])
        return ev_err_set(err, EV_EUSAGE,
                          "target %s: mock:// takes no host or path; expected e.g. "
                          "mock://?drop=0.01&seed=7",
                          u->redacted);
    const char *st = ev_param_str(ri->params, "stream");
    if (st && (!ri->plan->streams_explicit || !ev_plan_stream(ri->plan, st)))
        return ev_err_set(err, EV_EUSAGE, "target %s: stream=%s names no stream of the scenario%s",
                          u->redacted, st,
                          ri->plan->streams_explicit ? "" : " (it has no \"streams\")");
    return EV_OK;
}

static int mock_setup(const ev_run_info *ri, void **state, ev_err *err)
{
    const ev_params *ps = ri->params;
    ev_mock_knobs k = {
        .drop = ev_param_num(ps, "drop"),
        .dup = ev_param_num(ps, "dup"),
        .reorder = ev_param_num(ps, "reorder"),
        .corrupt = ev_param_num(ps, "corrupt"),
        .nack = ev_param_num(ps, "nack"),
        .seed = (uint64_t)ev_param_int(ps, "seed"),
        .capacity = ev_param_num(ps, "capacity"),
        .stream = ev_param_str(ps, "stream"),
    };
    ev_param_durrange(ps, "delay", &k.delay_min_ns, &k.delay_max_ns);
    if (k.capacity > 0) {
        double period = 1e9 / k.capacity;
        k.service_ns = period < 1 ? 1 : (int64_t)(period + 0.5);
    }

    ev_mock *m = calloc(1, sizeof *m);
    if (!m)
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    m->k = k;
    m->groups = ri->groups;
    m->lanes = ri->lanes;
    if (!(m->lane_truth = calloc(m->lanes ? m->lanes : 1, sizeof *m->lane_truth))) {
        free(m);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    m->q = calloc(m->groups ? m->groups : 1, sizeof *m->q); /* 0 groups: publish only */
    if (!m->q) {
        free(m->lane_truth);
        free(m);
        return ev_err_set(err, EV_EINTERNAL, "out of memory");
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    for (uint32_t g = 0; g < m->groups; g++) {
        pthread_mutex_init(&m->q[g].mu, NULL);
        pthread_cond_init(&m->q[g].cv, &ca);
    }
    pthread_condattr_destroy(&ca);
    *state = m;
    return EV_OK;
}

static int mock_ordered(void *state, const ev_run_info *ri)
{
    return ri->consumers == 1;
}

static int64_t mock_depth(void *state)
{
    ev_mock *m = state;
    int64_t d = 0;
    for (uint32_t g = 0; g < m->groups; g++) {
        pthread_mutex_lock(&m->q[g].mu);
        d += m->q[g].len;
        pthread_mutex_unlock(&m->q[g].mu);
    }
    return d;
}

/* The truth's fields into o. */
static void truth_json(json_t *o, const ev_mock_truth *t)
{
    json_object_set_new(o, "accepted", json_integer((json_int_t)t->accepted));
    json_object_set_new(o, "nacked", json_integer((json_int_t)t->nacked));
    json_object_set_new(o, "dropped", json_integer((json_int_t)t->dropped));
    json_object_set_new(o, "duplicated", json_integer((json_int_t)t->duplicated));
    json_object_set_new(o, "reordered", json_integer((json_int_t)t->reordered));
    json_object_set_new(o, "corrupted", json_integer((json_int_t)t->corrupted));
    json_object_set_new(o, "enqueued", json_integer((json_int_t)t->enqueued));
    json_object_set_new(o, "corrupted_events", json_integer((json_int_t)t->corrupted_events));
    json_object_set_new(o, "duplicated_intact", json_integer((json_int_t)t->duplicated_intact));
    json_object_set_new(o, "reordered_intact", json_integer((json_int_t)t->reordered_intact));
}

static void mock_report(void *state, json_t *out)
{
    ev_mock *m = state;
    pthread_mutex_lock(&m->mu);
    ev_mock_truth t = m->truth;
    json_t *lanes = json_array();
    for (uint32_t i = 0; lanes && i < m->lanes; i++) {
        json_t *o = json_object();
        truth_json(o, &m->lane_truth[i]);
        json_array_append_new(lanes, o);
    }
    pthread_mutex_unlock(&m->mu);
    truth_json(out, &t);
    json_object_set_new(out, "lanes", lanes);
    json_object_set_new(out, "left_in_queues", json_integer((json_int_t)mock_depth(m)));
    if (m->k.capacity > 0) {
        int64_t most = 0;
        for (uint32_t g = 0; g < m->groups; g++) {
            pthread_mutex_lock(&m->q[g].mu);
            if (m->q[g].max_len > most)
                most = m->q[g].max_len;
            pthread_mutex_unlock(&m->q[g].mu);
        }
        json_object_set_new(out, "capacity", json_real(m->k.capacity));
        json_object_set_new(out, "max_queue", json_integer((json_int_t)most));
    }
}

static void mock_teardown(void *state)
{
    ev_mock *m = state;
    if (!m)
        return;
    for (uint32_t g = 0; g < m->groups; g++) {
        ev_mock_msg *x = m->q[g].head;
        while (x) {
            ev_mock_msg *next = x->next;
            free(x);
            x = next;
        }
        pthread_mutex_destroy(&m->q[g].mu);
        pthread_cond_destroy(&m->q[g].cv);
    }
    pthread_mutex_destroy(&m->mu);
    free(m->lane_truth);
    free(m->q);
    free(m);
}

ev_mock_msg *ev_mock_msg_new(const ev_msg *m)
{
    size_t nattrs = m->bin ? m->bin->nattrs : 0, bytes = 0;
    const char *body = m->bin ? m->bin->body.p : m->body;
    size_t len = m->bin ? m->bin->body.len : m->len;
    const char *ct = m->bin ? m->bin->content_type : NULL;
    for (size_t i = 0; i < nattrs; i++)
        bytes += m->bin->attrs[i].name_len + m->bin->attrs[i].value_len;
    size_t ctlen = ct ? strlen(ct) + 1 : 0;
    size_t total = sizeof(ev_mock_msg) + nattrs * sizeof(ev_ce_attr) + bytes + ctlen + len + 1;
    ev_mock_msg *x = malloc(total);
    if (!x)
        return NULL;
    memset(x, 0, sizeof *x);
    x->binary = m->bin != NULL;
    x->nattrs = nattrs;
    x->attrs = (ev_ce_attr *)(x + 1);
    char *p = (char *)(x->attrs + nattrs);
    for (size_t i = 0; i < nattrs; i++) {
        const ev_ce_attr *a = &m->bin->attrs[i];
        memcpy(p, a->name, a->name_len);
        x->attrs[i].name = p;
        x->attrs[i].name_len = a->name_len;
        p += a->name_len;
        memcpy(p, a->value, a->value_len);
        x->attrs[i].value = p;
        x->attrs[i].value_len = a->value_len;
        p += a->value_len;
    }
    if (ct) {
        memcpy(p, ct, ctlen);
        x->content_type = p;
        p += ctlen;
    }
    memcpy(p, body, len);
    p[len] = '\0';
    x->body = p;
    x->len = len;
    return x;
}

ev_mock_msg *ev_mock_msg_clone(const ev_mock_msg *src)
{
    size_t total = (size_t)(src->body + src->len + 1 - (const char *)src);
    ev_mock_msg *x = malloc(total);
    if (!x)
        return NULL;
    memcpy(x, src, total);
    /* Re-point the interior pointers into the copy. */
    ptrdiff_t shift = (const char *)x - (const char *)src;
    x->next = NULL;
    x->attrs = (ev_ce_attr *)(x + 1);
    for (size_t i = 0; i < x->nattrs; i++) {
        x->attrs[i].name += shift;
        x->attrs[i].value += shift;
    }
    if (x->content_type)
        x->content_type += shift;
    x->body += shift;
    return x;
}

void ev_mock_msg_corrupt(ev_mock_msg *msg)
{
    /* The pad is all 'x'; changing one keeps the JSON valid and the identity
     * (in the attributes) intact, so the verifier can say exactly which event
     * was damaged. Without a pad, change a digit of data's seq instead. */
    char *pad = memmem(msg->body, msg->len, "\"pad\":\"x", 8);
    if (pad) {
        pad[7] = 'y';
        return;
    }
    char *seq = memmem(msg->body, msg->len, "{\"seq\":", 7);
    if (seq && seq + 7 < msg->body + msg->len) {
        seq[7] = seq[7] == '1' ? '2' : '1';
        return;
    }
    if (msg->len)
        msg->body[msg->len / 2] ^= 0x01; /* no recognisable data: flip a bit */
}

void ev_mock_enqueue(ev_mock *m, uint32_t g, ev_mock_msg *first, ev_mock_msg *last, int64_t n)
{
    ev_mock_queue *q = &m->q[g];
    pthread_mutex_lock(&q->mu);
    /* The service schedule runs in virtual time under the queue's lock, so the
     * order copies are served in is the order they were queued in. */
    for (ev_mock_msg *x = first; m->k.service_ns > 0 && x; x = x->next) {
        int64_t start = x->visible_at > q->service_end ? x->visible_at : q->service_end;
        x->visible_at = q->service_end = start + m->k.service_ns;
    }
    if (q->tail)
        q->tail->next = first;
    else
        q->head = first;
    q->tail = last;
    q->len += n;
    if (q->len > q->max_len)
        q->max_len = q->len;
    if (q->waiters)
        pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void truth_add(ev_mock_truth *d, const ev_mock_truth *t)
{
    d->accepted += t->accepted;
    d->nacked += t->nacked;
    d->dropped += t->dropped;
    d->duplicated += t->duplicated;
    d->reordered += t->reordered;
    d->corrupted += t->corrupted;
    d->enqueued += t->enqueued;
    d->corrupted_events += t->corrupted_events;
    d->duplicated_intact += t->duplicated_intact;
    d->reordered_intact += t->reordered_intact;
}

void ev_mock_add_truth(ev_mock *m, uint32_t lane, const ev_mock_truth *t)
{
    pthread_mutex_lock(&m->mu);
    truth_add(&m->truth, t);
    if (lane < m->lanes)
        truth_add(&m->lane_truth[lane], t);
    pthread_mutex_unlock(&m->mu);
}

const ev_broker ev_broker_mock = {
    .name = "mock",
    .schemes = (const char *const[]){"mock", NULL},
    .summary = "in-process broker with injected faults and its own ground truth",
    .example = "mock://?drop=0.01&dup=0.005&reorder=0.01&delay=20ms..40ms&seed=7",
    .doc = "docs/targets.md",
    .roles = EV_ROLE_PUBLISH | EV_ROLE_VERIFY,
    .durable = 1,
    .params = mock_params,
    .configure = mock_configure,
    .setup = mock_setup,
    .ordered = mock_ordered,
    .depth = mock_depth,
    .report = mock_report,
    .teardown = mock_teardown,
    .pub = &ev_mock_pub_ops,
    .sub = &ev_mock_sub_ops,
};
