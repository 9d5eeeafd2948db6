/* ev_pacer — see ev_pacer.h. Times inside are double seconds: 2^53 ns is 104
 * days, so an hours-long schedule keeps sub-nanosecond resolution; offsets go
 * out as integer ns. */
#include "ev_pacer.h"

#include "ev_clock.h"

#include <math.h>
#include <string.h>

static int add_seg(ev_pacer *p, double dur, double r0, double r1, ev_err *err)
{
    if (p->nseg == EV_PACER_MAX_SEGS)
        return ev_err_set(err, EV_EUSAGE, "too many stages (at most %d)", EV_PACER_MAX_SEGS - 2);
    if (!(dur > 0))
        return EV_OK; /* an empty stage adds no events and no time */
    ev_pacer_seg *s = &p->seg[p->nseg];
    s->t0 = p->nseg ? p->seg[p->nseg - 1].t0 + p->seg[p->nseg - 1].dur : 0.0;
    s->dur = dur;
    s->r0 = r0;
    s->r1 = r1;
    s->n0 = p->total;
    s->n = (r0 + r1) / 2.0 * dur;
    p->total += s->n;
    p->nseg++;
    return EV_OK;
}

int ev_pacer_init(ev_pacer *p, const ev_plan *plan, uint32_t lane, ev_err *err)
{
    return ev_pacer_init_shard(p, plan, lane, (uint32_t)plan->lanes, err);
}

int ev_pacer_init_shard(ev_pacer *p, const ev_plan *plan, uint32_t lane, uint32_t lanes,
                        ev_err *err)
{
    memset(p, 0, sizeof *p);
    p->lane = lane;
    p->lanes = lanes;
    p->k = lane;
    p->warmup_ns = plan->warmup_ns;
    double warm = (double)plan->warmup_ns / 1e9;
    int rc = EV_OK;

    switch (plan->executor) {
    case EV_EXEC_MAX:
        p->unpaced = 1;
        p->k = 0; /* counts this lane's events against its quota */
        if (plan->count > 0) {
            uint64_t c = (uint64_t)plan->count, L = p->lanes;
            p->quota = c / L + (lane < c % L ? 1 : 0);
        } else {
            p->end_ns = plan->warmup_ns + plan->duration_ns;
        }
        return EV_OK;
    case EV_EXEC_CONSTANT:
        if (warm > 0)
            rc = add_seg(p, warm, plan->rate, plan->rate, err);
        if (!rc)
            rc = add_seg(p, (double)plan->duration_ns / 1e9, plan->rate, plan->rate, err);
        return rc;
    case EV_EXEC_RAMPING: {
        double r = plan->start_rate;
        if (warm > 0) {
            double wr = r > 0 ? r : (plan->nstages ? plan->stages[0].target : 0);
            rc = add_seg(p, warm, wr, wr, err);
        }
        for (size_t i = 0; !rc && i < plan->nstages; i++) {
            rc = add_seg(p, (double)plan->stages[i].duration_ns / 1e9, r, plan->stages[i].target,
                         err);
            r = plan->stages[i].target;
        }
        return rc;
    }
    }
    return ev_err_set(err, EV_EINTERNAL, "unknown executor");
}

/* Time within segment s at which the cumulative count reaches m events past
 * its start: solves r0·τ + (r1−r0)·τ²/(2·dur) = m in the form that stays
 * accurate when the quadratic term vanishes. */
static double seg_time(const ev_pacer_seg *s, double m)
{
    if (m <= 0)
        return 0.0;
    double a = (s->r1 - s->r0) / (2.0 * s->dur);
    double disc = s->r0 * s->r0 + 4.0 * a * m;
    if (disc < 0)
        disc = 0;
    double den = s->r0 + sqrt(disc);
    if (den <= 0)
        return s->dur;
    double tau = 2.0 * m / den;
    return tau > s->dur ? s->dur : tau;
}

void ev_pacer_shift(ev_pacer *p, int64_t shift_ns)
{
    p->shift_ns = shift_ns;
}

static int64_t pacer_next(ev_pacer *p, int64_t now_off_ns);

int64_t ev_pacer_next(ev_pacer *p, int64_t now_off_ns)
{
    int64_t off = pacer_next(p, now_off_ns - p->shift_ns);
    if (off == EV_PACER_NOW && now_off_ns < p->shift_ns)
        return p->shift_ns; /* an unpaced stream's first event waits for its start */
    return off < 0 ? off : off + p->shift_ns;
}

static int64_t pacer_next(ev_pacer *p, int64_t now_off_ns)
{
    if (p->unpaced) {
        if (p->quota) {
            if (p->k >= p->quota)
                return EV_PACER_END;
            p->k++;
            return EV_PACER_NOW;
        }
        return now_off_ns >= p->end_ns ? EV_PACER_END : EV_PACER_NOW;
    }
    double k = (double)p->k;
    /* Events exist for k < total; the last one of a schedule of 10.5 events is 10. */
    if (k >= p->total)
        return EV_PACER_END;
    while (p->cur < p->nseg && k >= p->seg[p->cur].n0 + p->seg[p->cur].n)
        p->cur++;
    if (p->cur == p->nseg)
        return EV_PACER_END;
    const ev_pacer_seg *s = &p->seg[p->cur];
    double t = s->t0 + seg_time(s, k - s->n0);
    p->k += p->lanes;
    return (int64_t)llround(t * 1e9);
}

int64_t ev_pacer_intended(const ev_pacer *p, uint64_t seq)
{
    if (p->unpaced || seq == 0)
        return -1;
    double k = (double)p->lane + (double)(seq - 1) * (double)p->lanes;
    if (k >= p->total)
        return -1;
    int lo = 0, hi = p->nseg - 1; /* the segment holding event k */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (p->seg[mid].n0 <= k)
            lo = mid;
        else
            hi = mid - 1;
    }
    const ev_pacer_seg *s = &p->seg[lo];
    return (int64_t)llround((s->t0 + seg_time(s, k - s->n0)) * 1e9) + p->shift_ns;
}

int64_t ev_pacer_planned_shard(const ev_plan *plan, uint32_t instance, uint32_t instances)
{
    uint64_t L = (uint64_t)plan->lanes, LT = L * instances, n = 0;
    if (plan->executor == EV_EXEC_MAX && plan->count <= 0)
        return -1;
    for (uint64_t g = instance * L; g < (instance + 1) * L; g++) {
        ev_pacer p;
        if (ev_pacer_init_shard(&p, plan, (uint32_t)g, (uint32_t)LT, NULL))
            return -1;
        if (p.unpaced) {
            n += p.quota;
            continue;
        }
        /* Global events k = g, g + LT, … below total (ev_pacer_next). */
        double last = ceil(p.total) - 1;
        if (last >= (double)g)
            n += (uint64_t)((last - (double)g) / (double)LT) + 1;
    }
    return (int64_t)n;
}

int64_t ev_pacer_planned_run(const ev_plan *plan, uint32_t instance, uint32_t instances)
{
    if (!plan->streams_explicit)
        return ev_pacer_planned_shard(plan, instance, instances);
    int64_t n = 0;
    for (size_t i = 0; i < plan->nstreams; i++) {
        int64_t k = ev_pacer_planned_shard(plan->streams[i].plan, instance, instances);
        if (k < 0)
            return -1;
        n += k;
    }
    return n;
}

int64_t ev_pacer_planned_events(const ev_plan *plan)
{
    if (plan->executor == EV_EXEC_MAX)
        return plan->count > 0 ? plan->count : -1;
    ev_pacer p;
    if (ev_pacer_init(&p, plan, 0, NULL))
        return -1;
    /* ev_pacer_next hands out global events k for k < total. */
    double n = ceil(p.total);
    return n < 9e18 ? (int64_t)n : -1;
}

double ev_pacer_rate_at(const ev_pacer *p, int64_t t_ns)
{
    double t = (double)(t_ns - p->shift_ns) / 1e9;
    if (t < 0)
        return 0.0;
    for (int i = 0; i < p->nseg; i++) {
        const ev_pacer_seg *s = &p->seg[i];
        if (t < s->t0 + s->dur)
            return s->r0 + (s->r1 - s->r0) * (t - s->t0) / s->dur;
    }
    return 0.0;
}

double ev_pacer_due(const ev_pacer *p, int64_t t_ns)
{
    double t = (double)(t_ns - p->shift_ns) / 1e9;
    if (t < 0)
        return 0.0;
    for (int i = 0; i < p->nseg; i++) {
        const ev_pacer_seg *s = &p->seg[i];
        if (t < s->t0 + s->dur) {
            double tau = t - s->t0;
            return s->n0 + s->r0 * tau + (s->r1 - s->r0) * tau * tau / (2.0 * s->dur);
        }
    }
    return p->total;
}
