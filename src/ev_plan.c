/* ev_plan — the plan's own queries (see ev_plan.h). */
#include "ev_plan.h"

int64_t ev_plan_publish_ns(const ev_plan *p)
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

double ev_plan_expected_events(const ev_plan *p)
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
