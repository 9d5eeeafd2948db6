/* ev_plan — the plan's own queries (see ev_plan.h). */
#include "ev_plan.h"

#include <stdio.h>
#include <string.h>

static int64_t one_publish_ns(const ev_plan *p)
{
    int64_t total = 0;
    switch (p->executor) {
    case EV_EXEC_CONSTANT:
        return p->duration_ns;
    case EV_EXEC_RAMPING:
        for (size_t i = 0; i < p->nstages; i++)
            if (__builtin_add_overflow(total, p->stages[i].duration_ns, &total))
                return INT64_MAX;
        return total;
    case EV_EXEC_MAX:
        return p->count > 0 ? 0 : p->duration_ns;
    }
    return 0;
}

static double one_expected(const ev_plan *p)
{
    double total = 0, r0 = p->start_rate;
    switch (p->executor) {
    case EV_EXEC_CONSTANT:
        return p->rate * ((double)p->duration_ns / 1e9);
    case EV_EXEC_RAMPING:
        /* Linear ramps: each stage sends its mean rate for its duration. */
        for (size_t i = 0; i < p->nstages; i++) {
            total += (r0 + p->stages[i].target) / 2 * ((double)p->stages[i].duration_ns / 1e9);
            r0 = p->stages[i].target;
        }
        return total;
    case EV_EXEC_MAX:
        return p->count > 0 ? (double)p->count : 0;
    }
    return 0;
}

int64_t ev_plan_publish_ns(const ev_plan *p)
{
    if (!p->streams_explicit)
        return one_publish_ns(p);
    int64_t end = 0;
    for (size_t i = 0; i < p->nstreams; i++) {
        const ev_stream *s = &p->streams[i];
        int64_t d = one_publish_ns(s->plan), e;
        if (d == 0 && s->plan->executor == EV_EXEC_MAX)
            return 0; /* by count: unknown */
        if (__builtin_add_overflow(s->start_after_ns, d, &e))
            return INT64_MAX;
        if (e > end)
            end = e;
    }
    return end;
}

double ev_plan_expected_events(const ev_plan *p)
{
    if (!p->streams_explicit)
        return one_expected(p);
    double total = 0;
    for (size_t i = 0; i < p->nstreams; i++)
        total += one_expected(p->streams[i].plan);
    return total;
}

uint32_t ev_plan_lanes(const ev_plan *p)
{
    if (!p->nstreams)
        return (uint32_t)p->lanes;
    uint32_t n = 0;
    for (size_t i = 0; i < p->nstreams; i++)
        n += (uint32_t)p->streams[i].plan->lanes;
    return n;
}

const ev_stream *ev_plan_lane_stream(const ev_plan *p, uint32_t lane)
{
    for (size_t i = p->nstreams; i-- > 0;)
        if (lane >= p->streams[i].lane0)
            return &p->streams[i];
    return p->nstreams ? &p->streams[0] : NULL;
}

void ev_plan_stage_label(const ev_plan *p, size_t i, char *buf, size_t size)
{
    if (p->stages[i].name[0])
        snprintf(buf, size, "%s", p->stages[i].name);
    else
        snprintf(buf, size, "stage %zu/%zu", i + 1, p->nstages);
}

size_t ev_plan_drop_after(const ev_plan *p, size_t i)
{
    if (p->executor != EV_EXEC_RAMPING || p->streams_explicit || i >= p->nstages ||
        p->stages[i].duration_ns <= 0)
        return 0;
    size_t j = i + 1;
    while (j < p->nstages && p->stages[j].duration_ns <= 0)
        j++;
    return j < p->nstages && p->stages[j].target < p->stages[i].target ? j : 0;
}

const ev_stream *ev_plan_stream(const ev_plan *p, const char *name)
{
    for (size_t i = 0; i < p->nstreams; i++)
        if (!strcmp(p->streams[i].name, name))
            return &p->streams[i];
    return NULL;
}
